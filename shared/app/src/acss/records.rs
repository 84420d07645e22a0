//! What the doors report, as the API reads it: 7.7 swipe records (the site's
//! 9.1/9.2 uploads with `sourceType` 1), 7.8 alarms, 7.9/7.10 door states (the
//! site's 9.24/9.25 notices), and 7.14, an IBMS door point driven through the
//! site link.

use super::model::Door;
use super::store;
use crate::keys;
use crate::park::hardware::{ack_error, command, deadline};
use chrono::NaiveDateTime;
use onecard_core::kit::{self, DateTime, Empty, Int, RouteDef, Text};
use onecard_core::link::action;
use onecard_core::store::Query;
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const DOOR_STATUS: &str = "cat.acss.doorStatus";
const DOOR_FAULT: &str = "cat.acss.doorFault";

/// A door notice as kept by `cat::notices`: when, which door, what.
struct Notice {
    at: NaiveDateTime,
    controller: String,
    door: String,
    status: Option<i64>,
    fault: Option<i64>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn parse_time(s: &str) -> Option<NaiveDateTime> {
    onecard_core::time::parse(s.get(..19).unwrap_or(s))
}

async fn notices(ctx: &Ctx, branch: &str, route: &str) -> ApiResult<Vec<Notice>> {
    let items = ctx.store.query_all(&Query::prefix(keys::site_notices(branch), format!("{route}#"))).await?;
    Ok(items
        .into_iter()
        .filter_map(|i| {
            let n = &i.body["notice"];
            let at = parse_time(&text(&n["time"])).or_else(|| parse_time(&text(&i.body["receivedAt"])))?;
            Some(Notice {
                at,
                controller: text(&n["controllerNo"]),
                door: text(&n["doorno"]),
                status: text(&n["doorStatus"]).parse().ok(),
                fault: text(&n["doorFault"]).parse().ok(),
            })
        })
        .collect())
}

/// 9.24's codes (0-2) and 14.5's (1000-1015) in one scale: 14.5's.
fn status_code(raw: i64) -> i64 {
    if (0..=2).contains(&raw) {
        1000 + raw
    } else {
        raw
    }
}

/// The alarm a status or fault stands for, in the seed's words.
fn alarm_of(n: &Notice) -> Option<&'static str> {
    match (n.status.map(status_code), n.fault) {
        (Some(1002), _) => Some("门非法打开"),
        (Some(1011), _) => Some("超时未开门"),
        (Some(1012), _) => Some("超时未关门"),
        (Some(1015), _) => Some("无门磁信号"),
        (_, Some(2001)) => Some("设备被撬"),
        _ => None,
    }
}

/// 7.8 input.
#[derive(Deserialize, JsonSchema)]
pub struct AlarmsIn {
    pub starttime: DateTime,
    pub endtime: Option<DateTime>,
}

#[derive(Serialize, JsonSchema)]
pub struct AlarmRow {
    pub controllerno: String,
    pub doorno: String,
    /// As printed (7.8's table and example).
    pub iodatettime: DateTime,
    pub description: String,
    pub roomname: String,
    pub controllername: String,
}

fn door_named<'a>(doors: &'a [Door], controller: &str, door: &str) -> Option<&'a Door> {
    doors.iter().find(|d| d.controller_no == controller && d.door_no == door)
}

/// 7.8: newest first.
async fn alarms(ctx: Ctx, req: Req, input: AlarmsIn) -> ApiResult<Vec<AlarmRow>> {
    let from = input.starttime.get();
    let to = input.endtime.map(DateTime::get).unwrap_or(req.now);
    kit::check_window(from, to, "endtime")?;
    let b = req.branchno();
    let doors = store::doors(ctx.store(), b).await?;
    let mut all = notices(&ctx, b, DOOR_STATUS).await?;
    all.extend(notices(&ctx, b, DOOR_FAULT).await?);
    let mut rows: Vec<AlarmRow> = all
        .iter()
        .filter(|n| n.at >= from && n.at <= to)
        .filter_map(|n| {
            let what = alarm_of(n)?;
            let d = door_named(&doors, &n.controller, &n.door);
            Some(AlarmRow {
                controllerno: n.controller.clone(),
                doorno: n.door.clone(),
                iodatettime: DateTime(n.at),
                description: what.into(),
                roomname: d.map(|d| d.name.clone()).unwrap_or_default(),
                controllername: d.map(|d| d.controller_name.clone()).unwrap_or_default(),
            })
        })
        .collect();
    rows.sort_by(|a, b| b.iodatettime.get().cmp(&a.iodatettime.get()));
    Ok(rows)
}

/// A door's last known state.
#[derive(Default)]
struct State {
    last_heard: Option<NaiveDateTime>,
    opened: Option<(NaiveDateTime, i64)>,
    fault: Option<(NaiveDateTime, i64)>,
}

/// A door that spoke within this long counts as connected (7.10): sites
/// report door states as they change and at least daily.
const CONNECTED_HOURS: i64 = 24;

async fn states(ctx: &Ctx, branch: &str, doors: &[Door]) -> ApiResult<Vec<State>> {
    let mut out: Vec<State> = doors.iter().map(|_| State::default()).collect();
    let mut all = notices(ctx, branch, DOOR_STATUS).await?;
    all.extend(notices(ctx, branch, DOOR_FAULT).await?);
    for n in all {
        let Some(i) = doors.iter().position(|d| d.controller_no == n.controller && d.door_no == n.door) else { continue };
        let s = &mut out[i];
        s.last_heard = s.last_heard.max(Some(n.at));
        if let Some(v) = n.status {
            if s.opened.is_none_or(|(t, _)| n.at >= t) {
                s.opened = Some((n.at, status_code(v)));
            }
        }
        if let Some(v) = n.fault {
            if s.fault.is_none_or(|(t, _)| n.at >= t) {
                s.fault = Some((n.at, v));
            }
        }
    }
    Ok(out)
}

fn in_alarm(s: &State) -> bool {
    matches!(s.opened.map(|(_, c)| c), Some(1002 | 1011 | 1012 | 1015)) || s.fault.map(|(_, c)| c) == Some(2001)
}

#[derive(Serialize, JsonSchema)]
pub struct TotalOut {
    pub total: String,
    pub alarmcount: String,
}

/// 7.9.
async fn state_total(ctx: Ctx, req: Req, _input: Empty) -> ApiResult<TotalOut> {
    let doors = store::doors(ctx.store(), req.branchno()).await?;
    let st = states(&ctx, req.branchno(), &doors).await?;
    Ok(TotalOut { total: doors.len().to_string(), alarmcount: st.iter().filter(|s| in_alarm(s)).count().to_string() })
}

#[derive(Serialize, JsonSchema)]
pub struct StateRow {
    pub controllerno: String,
    pub doorno: String,
    pub roomname: String,
    pub controllername: String,
    pub connected: String,
    pub connectedname: String,
    pub broken: String,
    pub brokenname: String,
    pub openedtimeout: String,
    pub openedtimeoutname: String,
    pub opened: String,
    pub openedname: String,
    pub addr: String,
}

fn state_row(d: &Door, s: &State, now: NaiveDateTime) -> StateRow {
    let connected = s.last_heard.is_some_and(|t| (now - t).num_hours() < CONNECTED_HOURS);
    let broken: i64 = match s.fault.map(|(_, c)| c) {
        Some(2001) => 1,
        Some(2000) => 0,
        _ => -1,
    };
    let code = s.opened.map(|(_, c)| c);
    let timeout: i64 = match code {
        Some(1012) => 1,
        Some(1000..=1002) => 0,
        _ => -1,
    };
    let opened: i64 = match code {
        Some(1000) => 0,
        Some(1001 | 1010 | 1012) => 1,
        Some(1002) => 2,
        _ => -1,
    };
    let name = |v: i64, names: [&str; 3]| if v < 0 { "未知" } else { names[v as usize] }.to_string();
    StateRow {
        controllerno: d.controller_no.clone(),
        doorno: d.door_no.clone(),
        roomname: d.name.clone(),
        controllername: d.controller_name.clone(),
        connected: if connected { "1" } else { "0" }.into(),
        connectedname: if connected { "连接" } else { "断开" }.into(),
        broken: broken.to_string(),
        brokenname: name(broken, ["正常", "撬设备", ""]),
        openedtimeout: timeout.to_string(),
        openedtimeoutname: name(timeout, ["正常", "超时未关门", ""]),
        opened: opened.to_string(),
        openedname: name(opened, ["关门", "开门", "强行开门"]),
        addr: d.addr.clone(),
    }
}

/// 7.10.
async fn state_list(ctx: Ctx, req: Req, _input: Empty) -> ApiResult<Vec<StateRow>> {
    let doors = store::doors(ctx.store(), req.branchno()).await?;
    let st = states(&ctx, req.branchno(), &doors).await?;
    Ok(doors.iter().zip(st.iter()).map(|(d, s)| state_row(d, s, req.now)).collect())
}

/// 7.7 input.
#[derive(Deserialize, JsonSchema)]
pub struct IoRecordsIn {
    #[serde(rename = "CardNo")]
    pub card_no: Option<Text>,
    #[serde(rename = "CardID")]
    pub card_id: Option<Text>,
    #[serde(rename = "NumNo")]
    pub num_no: Option<Text>,
    #[serde(rename = "ControllerNo")]
    pub controller_no: Option<Text>,
    #[serde(rename = "DoorNo")]
    pub door_no: Option<Text>,
    #[serde(rename = "IOType")]
    pub io_type: Option<Text>,
    /// Matched fuzzily.
    #[serde(rename = "IOTypeName")]
    pub io_type_name: Option<Text>,
    #[serde(rename = "IOTimeStart")]
    pub from: Option<DateTime>,
    #[serde(rename = "IOTimeEnd")]
    pub to: Option<DateTime>,
}

#[derive(Serialize, JsonSchema)]
pub struct IoRow {
    #[serde(rename = "CardNo")]
    pub card_no: String,
    #[serde(rename = "CardID")]
    pub card_id: String,
    #[serde(rename = "NumNo")]
    pub num_no: String,
    #[serde(rename = "ControllerNo")]
    pub controller_no: String,
    #[serde(rename = "DoorNo")]
    pub door_no: String,
    #[serde(rename = "RoomName")]
    pub room_name: String,
    #[serde(rename = "IOType")]
    pub io_type: String,
    #[serde(rename = "IOTypeName")]
    pub io_type_name: String,
    #[serde(rename = "IOTime")]
    pub io_time: DateTime,
}

/// The door a passage names: `controllerNo`/`doorNo` as the agent sends them,
/// else its `gateno` (`{controller}-{door}`).
fn door_of(r: &Value) -> (String, String) {
    let (c, d) = (text(&r["controllerNo"]), text(&r["doorNo"]));
    if !c.is_empty() && !d.is_empty() {
        return (c, d);
    }
    let g = text(&r["gateno"]);
    match g.rsplit_once('-') {
        Some((c, d)) => (c.to_string(), d.to_string()),
        None => (g, "1".into()),
    }
}

/// 7.7: the door passages (sourceType 1), newest first.
async fn io_records(ctx: Ctx, req: Req, input: IoRecordsIn) -> ApiResult<Vec<IoRow>> {
    kit::check_open_window(input.from.map(DateTime::get), input.to.map(DateTime::get), "IOTimeEnd")?;
    let b = req.branchno();
    let doors = store::doors(ctx.store(), b).await?;
    let cards: std::collections::HashMap<String, crate::cards::Card> =
        crate::cards::store::list_cards(&ctx, b).await?.into_iter().map(|c| (c.card_no.clone(), c)).collect();
    let items = ctx.store.query_all(&Query::prefix(keys::passages(b), "1#")).await?;
    let same = |f: &Option<Text>, v: &str| f.as_ref().is_none_or(|f| f.as_str() == v);
    let mut rows = Vec::new();
    for i in items {
        let r = &i.body["record"];
        let Some(at) = parse_time(&text(&r["inDate"])).or_else(|| parse_time(&text(&r["outDate"]))) else { continue };
        let no = text(&r["cardNo"]);
        let card = cards.get(&no).or_else(|| cards.values().find(|c| c.num_no == no || c.card_id == no));
        let (controller, door) = door_of(r);
        let row = IoRow {
            card_no: card.map(|c| c.card_no.clone()).unwrap_or_else(|| no.clone()),
            card_id: card.map(|c| c.card_id.clone()).unwrap_or_default(),
            num_no: card.map(|c| c.num_no.clone()).unwrap_or_default(),
            room_name: door_named(&doors, &controller, &door).map(|d| d.name.clone()).unwrap_or_else(|| text(&r["gatename"])),
            controller_no: controller,
            door_no: door,
            io_type: text(&r["openmode"]),
            io_type_name: text(&r["openmodename"]),
            io_time: DateTime(at),
        };
        let keep = same(&input.card_no, &row.card_no)
            && same(&input.card_id, &row.card_id)
            && same(&input.num_no, &row.num_no)
            && same(&input.controller_no, &row.controller_no)
            && same(&input.door_no, &row.door_no)
            && same(&input.io_type, &row.io_type)
            && input.io_type_name.as_ref().is_none_or(|n| row.io_type_name.contains(n.as_str()))
            && input.from.is_none_or(|f| at >= f.get())
            && input.to.is_none_or(|t| at <= t.get());
        if keep {
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| b.io_time.get().cmp(&a.io_time.get()));
    Ok(rows)
}

/// 7.14 input.
#[derive(Deserialize, JsonSchema)]
pub struct IbmsControlIn {
    pub controllerno: Text,
    pub doorno: Text,
    /// 0 open, 1 close.
    pub controltype: Int,
}

#[derive(Serialize, JsonSchema)]
pub struct IbmsControlOut {
    /// 1 the point is now as asked, 0 not.
    #[serde(rename = "ctrlResult")]
    pub result: String,
    /// With milliseconds.
    #[serde(rename = "ctrlTime")]
    pub time: String,
}

/// 7.14: only for a door with IBMS mode on (7.13). A device that stays silent
/// answers 620; one that refuses answers `ctrlResult` 0.
async fn ibms_control(ctx: Ctx, req: Req, input: IbmsControlIn) -> ApiResult<IbmsControlOut> {
    let open = match input.controltype.get() {
        0 => true,
        1 => false,
        v => return Err(ApiError::field("controltype", format!("'{v}' is not 0 (open) or 1 (close)"))),
    };
    let b = req.branchno();
    let Some(d) = store::door(ctx.store(), b, &input.controllerno, &input.doorno).await? else {
        return Err(ApiError::field("doorno", format!("no door {}-{} in branch {b}", input.controllerno.as_str(), input.doorno.as_str())));
    };
    if !d.ibms {
        return Err(ApiError::failed(format!("door {} has IBMS mode off (7.13)", d.device())));
    }
    let ack = command(&ctx, &req, &d.device(), action::IBMS_CONTROL, json!({ "open": open }), deadline(&req)).await?;
    if !ack.ok && ack.code == onecard_core::link::ack_code::DEVICE_TIMEOUT {
        return Err(ack_error(&d.device(), action::IBMS_CONTROL, &ack));
    }
    let t = onecard_core::time::to_local(ctx.clock.now(), &req.branch.tz);
    Ok(IbmsControlOut { result: if ack.ok { "1" } else { "0" }.into(), time: t.format("%Y-%m-%d %H:%M:%S%.3f").to_string() })
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("acss.iorecords.get", io_records),
        kit::read("acss.io.alarms", alarms),
        kit::read("acss.door.state.total", state_total),
        kit::read("acss.door.state.list", state_list),
        kit::write("acss.door.ibms.control", ibms_control),
    ]
}
