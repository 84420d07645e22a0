//! The records pushed to partners, one builder per section the push module (or
//! a module that emits through it) sends. Values are strings (decision 5: the
//! sections give no types); money is "x.xx"; times as each section prints them.

use crate::park::cartype::CarType;
use crate::tariff::{price_rule_text, TempTariff};
use chrono::NaiveDateTime;
use onecard_core::config::{Controller, Lane};
use serde_json::{json, Value};

/// 13.6 and chapter 14 print times with milliseconds.
pub fn time_millis(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

/// Who opened a gate by hand (13.6's optional fields).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Operator {
    pub id: Option<String>,
    pub name: Option<String>,
    pub workstation_no: Option<String>,
    pub workstation_name: Option<String>,
}

/// 13.6 `report/parkAbnormalOpenGate`: a gate opened by command with no car
/// record. `ioFlag` is 1 entry / 2 exit here (unlike chapters 9 and 14).
pub fn abnormal_open_gate(record_id: &str, lane: &Controller, at: NaiveDateTime, op: &Operator) -> Value {
    let mut r = json!({
        "recordId": record_id,
        "controllerNo": lane.controller_no,
        "controllerName": lane.name,
        "ioFlag": match lane.lane { Lane::In => "1", Lane::Out => "2" },
        "occurDate": time_millis(at),
        "abnormalType": "1",
        "abnormalName": "手工开闸",
    });
    for (k, v) in [
        ("operId", &op.id),
        ("operName", &op.name),
        ("workstationNo", &op.workstation_no),
        ("workstationName", &op.workstation_name),
    ] {
        if let Some(v) = v {
            r[k] = json!(v);
        }
    }
    r
}

/// Where a queued 13.7 record names its picture. Decision 16 keeps pictures
/// out of queue messages: the event carries the blob key, and the push
/// (`crate::pictures::resolve_event`) puts the base64 `plateImage` in its place.
pub const PLATE_IMAGE_KEY: &str = "plateImageKey";

/// 13.7 `report/parkInOutImage` as queued. `eventType` is 1 entry / 2 exit.
pub fn in_out_image(card_in_id: &str, occur: &str, plate_no: &str, lane: Lane, picture_key: &str) -> Value {
    json!({
        "cardInId": card_in_id,
        "occurDate": occur,
        "plateNo": plate_no,
        "eventType": match lane { Lane::In => "1", Lane::Out => "2" },
        PLATE_IMAGE_KEY: picture_key,
    })
}

/// 13.8 `report/parkTempCarChargeRule`: one temporary tariff, described in the
/// same words `calc` answers as `priceRule`.
pub fn temp_tariff_rule(tariff_id: i64, car_type: &CarType, tariff: &TempTariff) -> Value {
    let mut r = json!({
        "carTariffID": tariff_id.to_string(),
        "carTypeID": car_type.id.to_string(),
        "carTypeName": car_type.name,
        "description": price_rule_text(tariff),
        "timeLtd": if car_type.time_ltd { "1" } else { "0" },
        "storedLtd": if car_type.stored_ltd { "1" } else { "0" },
    });
    if let Some(m) = car_type.free_min {
        r["freeMin"] = json!(m.to_string());
    }
    r
}

/// 13.9 `report/parkHeartbeat`. The section defines no fields; the branch and
/// the time let a partner tell which car park is alive and since when.
pub fn heartbeat(branchno: &str, at: NaiveDateTime) -> Value {
    json!({"branchno": branchno, "time": onecard_core::time::format(at)})
}

/// The device fields every chapter 14 notification starts with.
#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    pub device_id: String,
    pub controller_no: String,
    pub full_name: String,
    /// As the site sent it (chapter 9 and 14 print `.fff` milliseconds).
    pub time: String,
}

impl Device {
    fn base(&self) -> Value {
        json!({"deviceID": self.device_id, "controllerNo": self.controller_no, "fullName": self.full_name, "time": self.time})
    }
}

fn with(mut v: Value, pairs: &[(&str, String)]) -> Value {
    for (k, x) in pairs {
        v[*k] = json!(x);
    }
    v
}

/// 14.2 `notify/parkGateFault` (gateFault 1 arm lost/hit, 2 arm normal, 3 online, 4 offline).
pub fn park_gate_fault(d: &Device, io_flag: &str, gate_fault: i64) -> Value {
    with(d.base(), &[("ioFlag", io_flag.into()), ("gateFault", gate_fault.to_string())])
}

/// 14.3 `notify/gateStatus` (pedestrian channel status 1-11).
pub fn gate_status(d: &Device, io_flag: &str, gate_status: i64) -> Value {
    with(d.base(), &[("ioFlag", io_flag.into()), ("gateStatus", gate_status.to_string())])
}

/// 14.4 `notify/gateFault` (pedestrian channel fault 1-24).
pub fn gate_fault(d: &Device, io_flag: &str, gate_fault: i64) -> Value {
    with(d.base(), &[("ioFlag", io_flag.into()), ("gateFault", gate_fault.to_string())])
}

/// 14.5 `notify/acssDoorStatus` (1000 closed, 1001 opened, 1002 opened abnormally, ...).
pub fn door_status(d: &Device, doorno: &str, door_status: i64) -> Value {
    with(d.base(), &[("doorno", doorno.into()), ("doorStatus", door_status.to_string())])
}

/// 14.6 `notify/acssDoorFault` (1999 unknown, 2000 not pried, 2001 pried).
pub fn door_fault(d: &Device, doorno: &str, door_fault: i64) -> Value {
    with(d.base(), &[("doorno", doorno.into()), ("doorFault", door_fault.to_string())])
}

/// 14.7 `notify/parkGateState` (arm limit state 0-5).
pub fn park_gate_state(d: &Device, in_out: &str, gate_limit_state: i64) -> Value {
    with(d.base(), &[("inOut", in_out.into()), ("gateLimitState", gate_limit_state.to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abnormal_open_gate_uses_1_2_and_millis() {
        let lane = Controller { device_id: "2".into(), controller_no: "C0000002".into(), name: "出口1".into(), lane: Lane::Out, area: "1".into() };
        let at = onecard_core::time::parse("2020-07-08 17:31:59").unwrap();
        let op = Operator { name: Some("小明".into()), ..Operator::default() };
        let r = abnormal_open_gate("7", &lane, at, &op);
        assert_eq!(r["ioFlag"], "2");
        assert_eq!(r["occurDate"], "2020-07-08 17:31:59.000");
        assert_eq!(r["controllerName"], "出口1");
        assert_eq!(r["operName"], "小明");
        assert!(r.get("operId").is_none());
    }

    #[test]
    fn notifications_carry_the_device_fields() {
        let d = Device { device_id: "1".into(), controller_no: "C1".into(), full_name: "西出口".into(), time: "2020-07-08 12:31:59.999".into() };
        let r = park_gate_state(&d, "0", 1);
        assert_eq!(r, json!({"deviceID": "1", "controllerNo": "C1", "fullName": "西出口", "time": "2020-07-08 12:31:59.999", "inOut": "0", "gateLimitState": "1"}));
        assert_eq!(door_status(&d, "3", 1001)["doorStatus"], "1001");
        assert_eq!(in_out_image("5", "t", "粤B1", Lane::In, "AAAA")["eventType"], "1");
    }
}
