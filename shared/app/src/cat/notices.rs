//! The site's notices 9.19-9.25: plate reads, barrier-arm states, gate and
//! door faults. Each is checked against its section, kept in the branch's
//! notice history, and forwarded to the partners as its outbound counterpart
//! (13.7 for a read carrying a picture, 14.2-14.7 for the rest); the history
//! item and the event are one transaction (the outbox), so a partner hears of
//! exactly the notices that were recorded.

use crate::keys;
use crate::push::records::{self, Device};
use onecard_core::config::{Controller, Lane};
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::queue::OutEvent;
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{handler, ApiError, ApiResult, Ctx, Data, Registry, Reply, Req};
use serde_json::{json, Value};

/// The lane a notice names, when the branch's configuration knows it: it
/// supplies the name and direction when the site leaves them out.
fn lane_of<'a>(req: &'a Req, device_id: &str, controller_no: &str) -> Option<&'a Controller> {
    req.branch.controller(controller_no).or_else(|| req.branch.controller(device_id))
}

/// deviceID, controllerNo, fullName and time, common to every notice.
fn device(req: &Req) -> ApiResult<(Device, Option<&Controller>)> {
    let d = &req.data;
    let device_id = d.str("deviceID")?;
    let controller_no = d.str("controllerNo")?;
    let lane = lane_of(req, &device_id, &controller_no);
    let full_name = match d.opt_str("fullName")? {
        Some(n) => n,
        None => lane.map(|c| c.name.clone()).ok_or_else(|| ApiError::missing("fullName"))?,
    };
    let time = d.str("time")?;
    if onecard_core::time::parse(&time).is_none() {
        return Err(ApiError::field("time", format!("'{time}' is not a time yyyy-MM-dd HH:mm:ss[.fff]")));
    }
    Ok((Device { device_id, controller_no, full_name, time }, lane))
}

/// A 0 entrance / 1 exit flag under one of `names`, or the configured lane's.
fn flag(d: &Data, names: &[&str], lane: Option<&Controller>) -> ApiResult<String> {
    match d.opt_str_any(names)? {
        Some(f) if f == "0" || f == "1" => Ok(f),
        Some(f) => Err(ApiError::field(names[0], format!("'{f}' is not 0 (entrance) or 1 (exit)"))),
        None => lane.map(|c| c.lane.flag().to_string()).ok_or_else(|| ApiError::missing(names[0])),
    }
}

fn code_in(d: &Data, name: &str, ok: impl Fn(i64) -> bool, what: &str) -> ApiResult<i64> {
    let v = d.i64(name)?;
    if ok(v) {
        Ok(v)
    } else {
        Err(ApiError::field(name, format!("{v} is not {what}")))
    }
}

fn opt_code_in(d: &Data, name: &str, ok: impl Fn(i64) -> bool, what: &str) -> ApiResult<Option<i64>> {
    match d.opt_i64(name)? {
        Some(v) if !ok(v) => Err(ApiError::field(name, format!("{v} is not {what}"))),
        v => Ok(v),
    }
}

/// Time-ordered like event ids, so a route's notices list in time order.
fn new_id() -> String {
    format!("{:013}-{}", chrono::Utc::now().timestamp_millis(), uuid::Uuid::new_v4().simple())
}

/// Records the notice and, when it has one, its event, in one transaction.
async fn record(ctx: &Ctx, req: &Req, notice: Value, event: Option<(&str, Value)>) -> ApiResult<Reply> {
    let branch = req.branchno();
    let ev = event.map(|(route, rec)| OutEvent::new(branch, route, rec, req.now));
    let id = ev.as_ref().map(|e| e.id.clone()).unwrap_or_else(new_id);
    let body = json!({
        "route": req.route.route,
        "receivedAt": onecard_core::time::format(req.now),
        "notice": notice,
        "event": ev.as_ref().map(|e| e.route.clone()),
    });
    let item = Item::new(keys::site_notices(branch), format!("{}#{id}", req.route.route), body);
    let mut writes = vec![Write::put(item, Cond::MustNotExist)];
    writes.extend(ev.iter().map(outbox_write));
    ctx.store.transact(writes).await?;
    if let Some(ev) = ev {
        publish_committed(ctx, &[ev]).await;
    }
    Ok(Reply::data(Value::Null))
}

/// Base64 picture data (optionally a `data:` URI). The seed's 9.19 sends a
/// path on the site's disk, which the cloud cannot read, so only pictures sent
/// as data can be pushed on as 13.7.
fn picture_data(image: &str) -> Option<&str> {
    let b64 = match image.split_once(";base64,") {
        Some((head, tail)) if head.starts_with("data:") => tail,
        _ => image,
    };
    let b64 = b64.trim();
    let alphabet = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
    (b64.len() >= 16 && b64.len() % 4 == 0 && b64.chars().all(alphabet)).then_some(b64)
}

/// 9.19 `cat.car.inout.notice`: a plate read at a lane.
async fn car_inout(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let (dev, lane) = device(&req)?;
    let d = &req.data;
    let in_out = flag(d, &["inOut", "inOrOut"], lane)?;
    let plate = onecard_core::fields::normalize_plate(&d.str_any(&["plateNo", "licensePlate"])?);
    let color = d.str("plateColor")?;
    let image = d.str("image")?;
    let mut notice = json!({
        "deviceID": dev.device_id, "controllerNo": dev.controller_no, "fullName": dev.full_name,
        "inOut": in_out, "plateNo": plate, "plateColor": color, "time": dev.time,
    });
    let event = match picture_data(&image) {
        Some(pic) => {
            let card_in_id = match d.opt_str("cardInId")? {
                Some(c) => c,
                // 9.19 carries no record number: the read gets its own.
                None => new_id(),
            };
            let lane_kind = if in_out == "0" { Lane::In } else { Lane::Out };
            notice["cardInId"] = json!(card_in_id);
            Some(("report/parkInOutImage", records::in_out_image(&card_in_id, &dev.time, &plate, lane_kind, pic)))
        }
        None => {
            notice["image"] = json!(image);
            None
        }
    };
    record(&ctx, &req, notice, event).await
}

/// 9.20 `cat.gate.state.notice` → 14.7.
async fn gate_state(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let (dev, lane) = device(&req)?;
    let d = &req.data;
    let in_out = flag(d, &["inOut", "inOrOut"], lane)?;
    let state = match d.opt_str("gateLimitState")? {
        Some(_) => code_in(d, "gateLimitState", |v| (0..=5).contains(&v), "an arm state 0-5")?,
        // The agent reports what it commanded: open (or held open for peak
        // hours) is the upper limit, closed the lower.
        None => match d.opt_str("state")?.as_deref() {
            Some("open" | "peak") => 1,
            Some("closed") => 0,
            Some(other) => return Err(ApiError::field("state", format!("'{other}' is not open, closed or peak"))),
            None => return Err(ApiError::missing("gateLimitState")),
        },
    };
    let coil = opt_code_in(d, "coilGateState", |v| (1..=4).contains(&v), "a roller-door state 1-4")?;
    let rec = records::park_gate_state(&dev, &in_out, state);
    let mut notice = rec.clone();
    if let Some(c) = coil {
        notice["coilGateState"] = json!(c.to_string());
    }
    record(&ctx, &req, notice, Some(("notify/parkGateState", rec))).await
}

/// 9.21 `cat.park.gateFault` → 14.2.
async fn park_gate_fault(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let (dev, lane) = device(&req)?;
    let d = &req.data;
    let io = flag(d, &["ioFlag", "inOut", "inOrOut"], lane)?;
    let fault = match d.opt_str("gateFault")? {
        Some(_) => code_in(d, "gateFault", |v| (1..=4).contains(&v), "a gate fault 1-4")?,
        // The agent's "board stayed silent" (620) is the gate going offline.
        None if d.opt_i64("code")? == Some(620) => 4,
        None => return Err(ApiError::missing("gateFault")),
    };
    let coil = opt_code_in(d, "coilGateFaultType", |v| (0..=24).contains(&v), "a roller-door fault 0-24")?;
    let reader = opt_code_in(d, "LicensePlateReaderState", |v| v == 1 || v == 2, "1 (online) or 2 (offline)")?;
    let rec = records::park_gate_fault(&dev, &io, fault);
    let mut notice = rec.clone();
    if let Some(c) = coil {
        notice["coilGateFaultType"] = json!(c.to_string());
    }
    if let Some(r) = reader {
        notice["LicensePlateReaderState"] = json!(r.to_string());
    }
    if let Some(m) = d.opt_str("message")? {
        notice["message"] = json!(m);
    }
    record(&ctx, &req, notice, Some(("notify/parkGateFault", rec))).await
}

/// 9.22 `cat.gate.gateStatus` → 14.3 (9.22 lists no codes; 14.3's are 1-11 and
/// the seed's own example sends 0).
async fn channel_status(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let (dev, lane) = device(&req)?;
    let d = &req.data;
    let io = flag(d, &["ioFlag", "inOut"], lane)?;
    let status = code_in(d, "gateStatus", |v| (0..=11).contains(&v), "a channel status 0-11")?;
    let rec = records::gate_status(&dev, &io, status);
    record(&ctx, &req, rec.clone(), Some(("notify/gateStatus", rec))).await
}

/// 9.23 `cat.gate.gateFault` → 14.4 (9.23 lists 1-3; 14.4 extends them to 24).
async fn channel_fault(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let (dev, lane) = device(&req)?;
    let d = &req.data;
    let io = flag(d, &["ioFlag", "inOut"], lane)?;
    let fault = code_in(d, "gateFault", |v| (0..=24).contains(&v), "a channel fault 0-24")?;
    let rec = records::gate_fault(&dev, &io, fault);
    record(&ctx, &req, rec.clone(), Some(("notify/gateFault", rec))).await
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

/// 9.24 `cat.acss.doorStatus` → 14.5.
async fn door_status(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let (dev, _) = device(&req)?;
    let d = &req.data;
    let doorno = d.str("doorno")?;
    let raw = d.i64("doorStatus")?;
    let status = door_status_code(raw).ok_or_else(|| ApiError::field("doorStatus", format!("{raw} is not 0, 1 or 2")))?;
    let rec = records::door_status(&dev, &doorno, status);
    let mut notice = rec.clone();
    notice["doorStatus"] = json!(raw.to_string());
    record(&ctx, &req, notice, Some(("notify/acssDoorStatus", rec))).await
}

/// 9.25 `cat.acss.doorFault` → 14.6 (9.25 lists no codes; 14.6's are
/// 1999/2000/2001 and the seed's example sends 0: passed on as sent).
async fn door_fault(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let (dev, _) = device(&req)?;
    let d = &req.data;
    let doorno = d.str("doorno")?;
    let fault = code_in(d, "doorFault", |v| v >= 0, "a door fault code")?;
    let rec = records::door_fault(&dev, &doorno, fault);
    record(&ctx, &req, rec.clone(), Some(("notify/acssDoorFault", rec))).await
}

/// A branch's recorded notices of one route, oldest first (admin, tests).
pub async fn list(ctx: &Ctx, branch: &str, route: &str) -> ApiResult<Vec<Value>> {
    let items = ctx.store.query_all(&Query::prefix(keys::site_notices(branch), format!("{route}#"))).await?;
    Ok(items.into_iter().map(|i| i.body).collect())
}

pub fn register(reg: &mut Registry) {
    reg.handle("cat.car.inout.notice", handler(car_inout));
    reg.handle("cat.gate.state.notice", handler(gate_state));
    reg.handle("cat.park.gateFault", handler(park_gate_fault));
    reg.handle("cat.gate.gateStatus", handler(channel_status));
    reg.handle("cat.gate.gateFault", handler(channel_fault));
    reg.handle("cat.acss.doorStatus", handler(door_status));
    reg.handle("cat.acss.doorFault", handler(door_fault));
}

#[cfg(test)]
mod tests;
