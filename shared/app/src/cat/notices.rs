//! The site's notices 9.19-9.25: plate reads, barrier-arm states, gate and
//! door faults. Each is checked against its section, kept in the branch's
//! notice history, and forwarded to the partners as its outbound counterpart
//! (13.7 for a read carrying a picture, 14.2-14.7 for the rest); the history
//! item and the event are one transaction (the outbox), so a partner hears of
//! exactly the notices that were recorded.

use super::site_time::SiteTime;
use crate::keys;
use crate::pictures;
use crate::push::records::{self, Device};
use onecard_core::config::{Branch, Controller, Lane};
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::kit::{self, Int, Null, Plate, RouteDef, Text};
use onecard_core::queue::OutEvent;
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

const CAR_INOUT: &str = "cat.car.inout.notice";
const GATE_STATE: &str = "cat.gate.state.notice";
const PARK_GATE_FAULT: &str = "cat.park.gateFault";
const CHANNEL_STATUS: &str = "cat.gate.gateStatus";
const CHANNEL_FAULT: &str = "cat.gate.gateFault";
const DOOR_STATUS: &str = "cat.acss.doorStatus";
const DOOR_FAULT: &str = "cat.acss.doorFault";

/// Declares a notice's input: the four fields every notice carries, then its
/// own. Written out in each struct rather than flattened from a shared one,
/// because an error inside a flattened struct would not name its field.
macro_rules! notice_in {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident : $t:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Deserialize, JsonSchema)]
        pub struct $name {
            #[serde(rename = "deviceID")]
            pub device_id: Text,
            #[serde(rename = "controllerNo")]
            pub controller_no: Text,
            /// The lane's or door's name; the configured lane's when absent.
            #[serde(rename = "fullName")]
            pub full_name: Option<Text>,
            pub time: SiteTime,
            $($(#[$fm])* pub $f: $t,)*
        }

        impl $name {
            /// The device fields, and the lane the branch configures for it.
            fn device<'b>(&self, branch: &'b Branch) -> ApiResult<(Device, Option<&'b Controller>)> {
                device(branch, &self.device_id, &self.controller_no, self.full_name.as_ref(), &self.time)
            }
        }
    };
}

/// The lane a notice names, when the branch's configuration knows it: it
/// supplies the name and direction when the site leaves them out.
fn device<'b>(branch: &'b Branch, device_id: &Text, controller_no: &Text, full_name: Option<&Text>, time: &SiteTime) -> ApiResult<(Device, Option<&'b Controller>)> {
    let lane = branch.controller(controller_no).or_else(|| branch.controller(device_id));
    let full_name = match full_name {
        Some(n) => n.to_string(),
        None => lane.map(|c| c.name.clone()).ok_or_else(|| ApiError::missing("fullName"))?,
    };
    let dev = Device { device_id: device_id.to_string(), controller_no: controller_no.to_string(), full_name, time: time.text.clone() };
    Ok((dev, lane))
}

/// A 0 entrance / 1 exit flag (field `name`), or the configured lane's.
fn flag(value: Option<&Text>, name: &str, lane: Option<&Controller>) -> ApiResult<String> {
    match value.map(Text::as_str) {
        Some(f @ ("0" | "1")) => Ok(f.to_string()),
        Some(f) => Err(ApiError::field(name, format!("'{f}' is not 0 (entrance) or 1 (exit)"))),
        None => lane.map(|c| c.lane.flag().to_string()).ok_or_else(|| ApiError::missing(name)),
    }
}

fn code_in(v: Int, name: &str, ok: impl Fn(i64) -> bool, what: &str) -> ApiResult<i64> {
    let v = v.get();
    if ok(v) {
        Ok(v)
    } else {
        Err(ApiError::field(name, format!("{v} is not {what}")))
    }
}

fn opt_code_in(v: Option<Int>, name: &str, ok: impl Fn(i64) -> bool, what: &str) -> ApiResult<Option<i64>> {
    v.map(|v| code_in(v, name, ok, what)).transpose()
}

/// Time-ordered like event ids, so a route's notices list in time order.
fn new_id(ctx: &Ctx) -> String {
    format!("{:013}-{}", ctx.clock.now().timestamp_millis(), uuid::Uuid::new_v4().simple())
}

/// Records the notice and, when it has one, its event, in one transaction.
async fn record(ctx: &Ctx, req: &Req, route: &str, notice: Value, event: Option<(&str, Value)>) -> ApiResult<Null> {
    let branch = req.branchno();
    let ev = event.map(|(out, rec)| OutEvent::new(branch, out, rec, req.now));
    let id = ev.as_ref().map(|e| e.id.clone()).unwrap_or_else(|| new_id(ctx));
    let body = json!({
        "route": route,
        "receivedAt": kit::stamp(req.now),
        "notice": notice,
        "event": ev.as_ref().map(|e| e.route.clone()),
    });
    let item = Item::new(keys::site_notices(branch), format!("{route}#{id}"), body);
    let mut writes = vec![Write::put(item, Cond::MustNotExist)];
    writes.extend(ev.iter().map(outbox_write));
    ctx.store.transact(writes).await?;
    if let Some(ev) = ev {
        publish_committed(ctx, &[ev]).await;
    }
    Ok(Null)
}

/// Does 9.19's `image` hold picture data rather than a path? The seed sends a
/// path on the site's disk (`D:\\pic\\...jpg`), which the cloud cannot read;
/// some sites send the picture itself as base64 or a `data:` URI.
fn is_picture_data(image: &str) -> bool {
    let t = image.trim();
    t.starts_with("data:") || (t.len() >= 16 && t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\r' | b'\n')))
}

notice_in!(
    /// 9.19 input. The agent sends the plate as both `plateNo` and
    /// `licensePlate`, so they are two fields (the first wins), not aliases.
    CarInOutIn {
        /// 0 entrance, 1 exit (the agent's `inOrOut`).
        #[serde(rename = "inOut", alias = "inOrOut")]
        in_out: Option<Text>,
        #[serde(rename = "plateNo")]
        plate_no: Option<Plate>,
        #[serde(rename = "licensePlate")]
        license_plate: Option<Plate>,
        #[serde(rename = "plateColor")]
        plate_color: Text,
        /// A path on the site's disk, or a base64 picture. Not `Text`: a
        /// picture is longer than its 2,000 characters; the body limit bounds it.
        /// Required unless `imageKey` names an uploaded picture.
        image: Option<String>,
        /// The blob key of the picture the agent uploaded.
        #[serde(rename = "imageKey")]
        image_key: Option<Text>,
        /// Not in the seed: the record a read belongs to, when the site knows it.
        #[serde(rename = "cardInId")]
        card_in_id: Option<Text>,
    }
);

/// 9.19 `cat.car.inout.notice`: a plate read at a lane.
async fn car_inout(ctx: Ctx, req: Req, input: CarInOutIn) -> ApiResult<Null> {
    let (dev, lane) = input.device(&req.branch)?;
    let in_out = flag(input.in_out.as_ref(), "inOut", lane)?;
    let plate = input.plate_no.as_ref().or(input.license_plate.as_ref()).ok_or_else(|| ApiError::missing("plateNo"))?;
    let plate = plate.norm();
    let mut notice = json!({
        "deviceID": dev.device_id, "controllerNo": dev.controller_no, "fullName": dev.full_name,
        "inOut": in_out, "plateNo": plate, "plateColor": input.plate_color, "time": dev.time,
    });
    let image = input.image.as_deref().filter(|i| !i.trim().is_empty());
    if image.is_none() && input.image_key.is_none() {
        return Err(ApiError::missing("image"));
    }
    let record_id = match &input.card_in_id {
        Some(c) => c.to_string(),
        // 9.19 carries no record number: the read gets its own.
        None => new_id(&ctx),
    };
    crate::lanes::presence::seen(&ctx, req.branchno(), &dev.device_id, plate, if in_out == "0" { Lane::In } else { Lane::Out }, req.now, "9.19").await?;
    let data = image.filter(|i| is_picture_data(i));
    let key = pictures::key_for_record(&ctx, req.branchno(), CAR_INOUT, &record_id, input.image_key.as_deref(), data).await;
    if let (Some(path), None) = (image, data) {
        notice["image"] = json!(path);
    }
    let event = key.map(|k| {
        let lane_kind = if in_out == "0" { Lane::In } else { Lane::Out };
        notice["cardInId"] = json!(record_id);
        notice["imageKey"] = json!(k);
        ("report/parkInOutImage", records::in_out_image(&record_id, &dev.time, plate, lane_kind, &k))
    });
    record(&ctx, &req, CAR_INOUT, notice, event).await
}

notice_in!(
    /// 9.20 input; the agent reports `state` (open/closed/peak) instead of
    /// `gateLimitState`.
    GateStateIn {
        #[serde(rename = "inOut", alias = "inOrOut")]
        in_out: Option<Text>,
        /// 0 lower limit (closed), 1 upper limit (open), 2-5 moving or stopped.
        #[serde(rename = "gateLimitState")]
        gate_limit_state: Option<Int>,
        state: Option<Text>,
        /// Roller door: 1 opening, 2 open, 3 closing, 4 closed.
        #[serde(rename = "coilGateState")]
        coil_gate_state: Option<Int>,
    }
);

/// 9.20 `cat.gate.state.notice` → 14.7.
async fn gate_state(ctx: Ctx, req: Req, input: GateStateIn) -> ApiResult<Null> {
    let (dev, lane) = input.device(&req.branch)?;
    let in_out = flag(input.in_out.as_ref(), "inOut", lane)?;
    let state = match input.gate_limit_state {
        Some(v) => code_in(v, "gateLimitState", |v| (0..=5).contains(&v), "an arm state 0-5")?,
        // The agent reports what it commanded: open (or held open for peak
        // hours) is the upper limit, closed the lower.
        None => match input.state.as_deref() {
            Some("open" | "peak") => 1,
            Some("closed") => 0,
            Some(other) => return Err(ApiError::field("state", format!("'{other}' is not open, closed or peak"))),
            None => return Err(ApiError::missing("gateLimitState")),
        },
    };
    let coil = opt_code_in(input.coil_gate_state, "coilGateState", |v| (1..=4).contains(&v), "a roller-door state 1-4")?;
    let rec = records::park_gate_state(&dev, &in_out, state);
    let mut notice = rec.clone();
    if let Some(c) = coil {
        notice["coilGateState"] = json!(c.to_string());
    }
    record(&ctx, &req, GATE_STATE, notice, Some(("notify/parkGateState", rec))).await
}

notice_in!(
    /// 9.21 input; the agent reports a silent board as `code` 620.
    ParkGateFaultIn {
        #[serde(rename = "ioFlag", alias = "inOut", alias = "inOrOut")]
        io_flag: Option<Text>,
        /// 1 arm lost or hit, 2 arm normal, 3 gate online, 4 gate offline.
        #[serde(rename = "gateFault")]
        gate_fault: Option<Int>,
        code: Option<Int>,
        #[serde(rename = "coilGateFaultType")]
        coil_gate_fault_type: Option<Int>,
        /// 1 online, 2 offline.
        #[serde(rename = "LicensePlateReaderState")]
        reader_state: Option<Int>,
        message: Option<Text>,
    }
);

/// 9.21 `cat.park.gateFault` → 14.2.
async fn park_gate_fault(ctx: Ctx, req: Req, input: ParkGateFaultIn) -> ApiResult<Null> {
    let (dev, lane) = input.device(&req.branch)?;
    let io = flag(input.io_flag.as_ref(), "ioFlag", lane)?;
    let fault = match input.gate_fault {
        Some(v) => code_in(v, "gateFault", |v| (1..=4).contains(&v), "a gate fault 1-4")?,
        // The agent's "board stayed silent" (620) is the gate going offline.
        None if input.code.map(Int::get) == Some(620) => 4,
        None => return Err(ApiError::missing("gateFault")),
    };
    let coil = opt_code_in(input.coil_gate_fault_type, "coilGateFaultType", |v| (0..=24).contains(&v), "a roller-door fault 0-24")?;
    let reader = opt_code_in(input.reader_state, "LicensePlateReaderState", |v| v == 1 || v == 2, "1 (online) or 2 (offline)")?;
    let rec = records::park_gate_fault(&dev, &io, fault);
    let mut notice = rec.clone();
    if let Some(c) = coil {
        notice["coilGateFaultType"] = json!(c.to_string());
    }
    if let Some(r) = reader {
        notice["LicensePlateReaderState"] = json!(r.to_string());
    }
    if let Some(m) = input.message {
        notice["message"] = json!(m);
    }
    record(&ctx, &req, PARK_GATE_FAULT, notice, Some(("notify/parkGateFault", rec))).await
}

notice_in!(
    /// 9.22 input.
    ChannelStatusIn {
        #[serde(rename = "ioFlag", alias = "inOut")]
        io_flag: Option<Text>,
        #[serde(rename = "gateStatus")]
        gate_status: Int,
    }
);

/// 9.22 `cat.gate.gateStatus` → 14.3 (9.22 lists no codes; 14.3's are 1-11 and
/// the seed's own example sends 0).
async fn channel_status(ctx: Ctx, req: Req, input: ChannelStatusIn) -> ApiResult<Null> {
    let (dev, lane) = input.device(&req.branch)?;
    let io = flag(input.io_flag.as_ref(), "ioFlag", lane)?;
    let status = code_in(input.gate_status, "gateStatus", |v| (0..=11).contains(&v), "a channel status 0-11")?;
    let rec = records::gate_status(&dev, &io, status);
    record(&ctx, &req, CHANNEL_STATUS, rec.clone(), Some(("notify/gateStatus", rec))).await
}

notice_in!(
    /// 9.23 input.
    ChannelFaultIn {
        #[serde(rename = "ioFlag", alias = "inOut")]
        io_flag: Option<Text>,
        #[serde(rename = "gateFault")]
        gate_fault: Int,
    }
);

/// 9.23 `cat.gate.gateFault` → 14.4 (9.23 lists 1-3; 14.4 extends them to 24).
async fn channel_fault(ctx: Ctx, req: Req, input: ChannelFaultIn) -> ApiResult<Null> {
    let (dev, lane) = input.device(&req.branch)?;
    let io = flag(input.io_flag.as_ref(), "ioFlag", lane)?;
    let fault = code_in(input.gate_fault, "gateFault", |v| (0..=24).contains(&v), "a channel fault 0-24")?;
    let rec = records::gate_fault(&dev, &io, fault);
    record(&ctx, &req, CHANNEL_FAULT, rec.clone(), Some(("notify/gateFault", rec))).await
}

/// 14.5's door codes for 9.24's (0 closed, 1 opened, 2 opened abnormally);
/// a site already speaking 14.5's codes is passed through.
fn door_status_code(v: i64) -> Option<i64> {
    match v {
        0..=2 => Some(1000 + v),
        1000 | 1001 | 1002 | 1010 | 1011 | 1012 | 1015 => Some(v),
        _ => None,
    }
}

notice_in!(
    /// 9.24 input.
    DoorStatusIn {
        /// The reader number.
        doorno: Text,
        /// 0 closed, 1 opened, 2 opened abnormally.
        #[serde(rename = "doorStatus")]
        door_status: Int,
    }
);

/// 9.24 `cat.acss.doorStatus` → 14.5.
async fn door_status(ctx: Ctx, req: Req, input: DoorStatusIn) -> ApiResult<Null> {
    let (dev, _) = input.device(&req.branch)?;
    let raw = input.door_status.get();
    let status = door_status_code(raw).ok_or_else(|| ApiError::field("doorStatus", format!("{raw} is not 0, 1 or 2")))?;
    let rec = records::door_status(&dev, &input.doorno, status);
    let mut notice = rec.clone();
    notice["doorStatus"] = json!(raw.to_string());
    record(&ctx, &req, DOOR_STATUS, notice, Some(("notify/acssDoorStatus", rec))).await
}

notice_in!(
    /// 9.25 input.
    DoorFaultIn {
        doorno: Text,
        #[serde(rename = "doorFault")]
        door_fault: Int,
    }
);

/// 9.25 `cat.acss.doorFault` → 14.6 (9.25 lists no codes; 14.6's are
/// 1999/2000/2001 and the seed's example sends 0: passed on as sent).
async fn door_fault(ctx: Ctx, req: Req, input: DoorFaultIn) -> ApiResult<Null> {
    let (dev, _) = input.device(&req.branch)?;
    let fault = code_in(input.door_fault, "doorFault", |v| v >= 0, "a door fault code")?;
    let rec = records::door_fault(&dev, &input.doorno, fault);
    record(&ctx, &req, DOOR_FAULT, rec.clone(), Some(("notify/acssDoorFault", rec))).await
}

/// A branch's recorded notices of one route, oldest first (admin, tests). A
/// 9.19 read with a stored picture answers its `image` as a URL (the seed's
/// field is a path), where the blob store can hand one out.
pub async fn list(ctx: &Ctx, branch: &str, route: &str) -> ApiResult<Vec<Value>> {
    let items = ctx.store.query_all(&Query::prefix(keys::site_notices(branch), format!("{route}#"))).await?;
    let mut out = Vec::with_capacity(items.len());
    for mut body in items.into_iter().map(|i| i.body) {
        if let Some(key) = body["notice"]["imageKey"].as_str().map(str::to_string) {
            match ctx.blobs().url(&key).await {
                Ok(Some(url)) => body["notice"]["image"] = json!(url),
                Ok(None) => {}
                Err(e) => tracing::warn!(key, error = %e, "no URL for a notice's picture"),
            }
        }
        out.push(body);
    }
    Ok(out)
}

/// Every notice is kept and forwarded: all writes.
pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write(CAR_INOUT, car_inout),
        kit::write(GATE_STATE, gate_state),
        kit::write(PARK_GATE_FAULT, park_gate_fault),
        kit::write(CHANNEL_STATUS, channel_status),
        kit::write(CHANNEL_FAULT, channel_fault),
        kit::write(DOOR_STATUS, door_status),
        kit::write(DOOR_FAULT, door_fault),
    ]
}

#[cfg(test)]
mod tests;
