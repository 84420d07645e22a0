//! Lane hardware through the site link (6.25, 6.58, 6.61, 6.80-6.83, 6.104,
//! 6.105): each route turns its fields into a device command for the branch's
//! agent and answers once the device acknowledged.
//!
//! Failures a caller can act on keep distinct codes: a device that stays
//! silent past the branch's `ack_timeout_secs` answers 620 (seed 6.104); a
//! branch with no agent connected answers 500 "site offline: ..."; a device
//! the site does not have, or that refused, answers 500 with the agent's
//! reason.

use crate::ids;
use crate::keys;
use crate::push::records::{abnormal_open_gate, Operator};
use onecard_core::config::Controller;
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::link::{action, ack_code, AllInOne, LedFixed, LedTemp, Voice};
use onecard_core::queue::OutEvent;
use onecard_core::sitelink::{Ack, Command, SiteError};
use onecard_core::store::{Cond, Item, Write};
use onecard_core::{handler, ApiError, ApiResult, Code, Ctx, Data, Origin, Registry, Reply, Req};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::Instant;

/// 13.6's route.
pub const ABNORMAL_OPEN_ROUTE: &str = "report/parkAbnormalOpenGate";

/// Seed colours (6.80: 0 green, 1 red) in the board's palette (1 red, 2 green).
fn board_color(seed: i64) -> ApiResult<u8> {
    match seed {
        0 => Ok(2),
        1 => Ok(1),
        _ => Err(ApiError::field("color", format!("'{seed}' is not 0 (green) or 1 (red)"))),
    }
}

/// The deadline every command of one request shares, so a route that sends
/// two frames still answers within the branch's ack timeout.
pub fn deadline(req: &Req) -> Instant {
    Instant::now() + Duration::from_secs(req.branch.settings.ack_timeout_secs.max(1))
}

/// Sends one command and turns anything but a done ack into the route's error.
pub async fn send(ctx: &Ctx, req: &Req, device: &str, act: &str, params: Value, until: Instant) -> ApiResult<Ack> {
    let ack = command(ctx, req, device, act, params, until).await?;
    if ack.ok {
        Ok(ack)
    } else {
        Err(ack_error(device, act, &ack))
    }
}

/// Sends one command and answers the agent's ack, whatever it says; only a
/// missing ack (timeout, no agent) is an error here.
pub async fn command(ctx: &Ctx, req: &Req, device: &str, act: &str, params: Value, until: Instant) -> ApiResult<Ack> {
    let left = until.saturating_duration_since(Instant::now());
    let timeout = req.branch.settings.ack_timeout_secs.max(1);
    if left.is_zero() {
        return Err(ApiError::new(Code::DEVICE_TIMEOUT, format!("device '{device}' did not answer within {timeout} s")));
    }
    let cmd = Command { id: format!("c-{}", uuid::Uuid::new_v4().simple()), device: device.to_string(), action: act.to_string(), params };
    match ctx.sites.command(req.branchno(), cmd, left).await {
        Ok(ack) => Ok(ack),
        Err(SiteError::Timeout(_)) => {
            Err(ApiError::new(Code::DEVICE_TIMEOUT, format!("device '{device}' did not answer within {timeout} s")))
        }
        Err(e @ SiteError::Offline(_)) => Err(ApiError::failed(e.to_string())),
        Err(e @ SiteError::Link(_)) => Err(ApiError::failed(e.to_string())),
    }
}

pub fn ack_error(device: &str, act: &str, ack: &Ack) -> ApiError {
    match ack.code {
        ack_code::DEVICE_TIMEOUT => {
            ApiError::new(Code::DEVICE_TIMEOUT, format!("device '{device}' did not answer: {}", ack.message))
        }
        ack_code::UNKNOWN_DEVICE => ApiError::failed(format!("device '{device}' is not connected at the site")),
        ack_code::UNSUPPORTED_ACTION => ApiError::failed(format!("device '{device}' cannot do '{act}': {}", ack.message)),
        ack_code::BAD_PARAMS => ApiError::bad_input(format!("the device refused the parameters: {}", ack.message)),
        _ => ApiError::failed(format!("device '{device}' refused '{act}' ({}): {}", ack.code, ack.message)),
    }
}

/// The lane controller a request names by `deviceID` (also spelt `deviceId`,
/// or given as its controller number).
pub fn controller<'a>(req: &'a Req) -> ApiResult<&'a Controller> {
    let id = req.data.str_any(&["deviceID", "deviceId", "deviceid"])?;
    req.branch
        .controller(&id)
        .ok_or_else(|| ApiError::field("deviceID", format!("no lane controller '{id}' in branch {}", req.branchno())))
}

/// 6.83 marks every field optional: without `deviceID` a branch with a single
/// lane controller means that one.
fn controller_or_only<'a>(req: &'a Req) -> ApiResult<&'a Controller> {
    match req.data.opt_str_any(&["deviceID", "deviceId", "deviceid"])? {
        Some(_) => controller(req),
        None if req.branch.controllers.len() == 1 => Ok(&req.branch.controllers[0]),
        None => Err(ApiError::missing("deviceID")),
    }
}

/// `time` of 6.80/6.83: display seconds, 1-207 as printed.
fn display_seconds(d: &Data, required: bool) -> ApiResult<u8> {
    let v = if required { Some(d.i64("time")?) } else { d.opt_i64("time")? };
    match v {
        None => Ok(5),
        Some(s) if (1..=207).contains(&s) => Ok(s as u8),
        Some(s) => Err(ApiError::field("time", format!("{s} is outside 1-207 seconds"))),
    }
}

/// The temporary lines of 6.80/6.83 that carry text.
fn temp_lines(d: &Data, color: u8, seconds: u8) -> ApiResult<Vec<LedTemp>> {
    let mut lines = Vec::new();
    for (n, name) in [(1u8, "lin1"), (2u8, "lin2")] {
        if let Some(text) = d.opt_str(name)? {
            lines.push(LedTemp { line: n, color, seconds, text });
        }
    }
    Ok(lines)
}

fn to_params<T: serde::Serialize>(p: &T) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

/// 6.25: opens the barrier regardless of any car; reported as a manual
/// (abnormal) opening, 13.6, because no car record explains it.
async fn gate_open(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let c = controller(&req)?.clone();
    send(&ctx, &req, &c.device_id, action::GATE_OPEN, json!({}), deadline(&req)).await?;
    record_abnormal_open(&ctx, &req, &c).await?;
    Ok(Reply::empty())
}

/// Stores the 13.6 record and queues its push in one transaction. The gate
/// has already opened: if the store fails here the caller gets 100002 and the
/// opening is still logged.
async fn record_abnormal_open(ctx: &Ctx, req: &Req, c: &Controller) -> ApiResult<()> {
    let id = ids::next_id(ctx, req.branchno(), "abnormalopen").await?;
    let who = match &req.origin {
        Origin::Caller(caller) => Some(caller.from.clone()),
        Origin::Site { agent_id } => Some(agent_id.clone()),
        Origin::Provider | Origin::Internal => None,
    };
    let op = Operator { id: who.clone(), name: who, ..Operator::default() };
    let record = abnormal_open_gate(&id.to_string(), c, req.now, &op);
    let ev = OutEvent::new(req.branchno(), ABNORMAL_OPEN_ROUTE, record.clone(), req.now);
    let item = Item::new(keys::abnormal_openings(req.branchno()), keys::id_sk(id), record);
    ctx.store.transact(vec![Write::put(item, Cond::MustNotExist), outbox_write(&ev)]).await.inspect_err(|e| {
        tracing::error!(branch = req.branchno(), device = %c.device_id, error = %e, "gate opened but the 13.6 record was not stored");
    })?;
    publish_committed(ctx, &[ev]).await;
    Ok(())
}

/// 6.58.
async fn gate_close(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let c = controller(&req)?;
    send(&ctx, &req, &c.device_id, action::GATE_CLOSE, json!({}), deadline(&req)).await?;
    Ok(Reply::empty())
}

/// 6.61: `peakMode` 1 holds the gate open for a stream of cars, 2 cancels.
async fn peak_mode(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let c = controller(&req)?;
    let on = match req.data.i64("peakMode")? {
        1 => true,
        2 => false,
        v => return Err(ApiError::field("peakMode", format!("'{v}' is not 1 (enable) or 2 (cancel)"))),
    };
    send(&ctx, &req, &c.device_id, action::GATE_PEAKMODE, json!({ "on": on }), deadline(&req)).await?;
    Ok(Reply::empty())
}

/// 6.80: both lines are required by the table; an empty one is left as it is.
async fn led_temp(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let c = controller(&req)?;
    let color = board_color(req.data.i64("color")?)?;
    let seconds = display_seconds(&req.data, true)?;
    let lines = temp_lines(&req.data, color, seconds)?;
    if lines.is_empty() {
        return Err(ApiError::missing("lin1"));
    }
    let until = deadline(&req);
    for l in &lines {
        send(&ctx, &req, &c.device_id, action::LED_TEMP, to_params(l), until).await?;
    }
    Ok(Reply::empty())
}

/// 6.81: written to the board's flash; the agent spaces repeated writes out.
async fn led_fixed(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let c = controller(&req)?;
    let mut lines = Vec::new();
    for (n, name) in [(1u8, "lin1"), (2u8, "lin2")] {
        if let Some(text) = req.data.opt_str(name)? {
            lines.push(LedFixed { line: n, text });
        }
    }
    if lines.is_empty() {
        return Err(ApiError::missing("lin1"));
    }
    let until = deadline(&req);
    for l in &lines {
        send(&ctx, &req, &c.device_id, action::LED_FIXED, to_params(l), until).await?;
    }
    Ok(Reply::empty())
}

/// 6.82: plays now, replacing anything queued (a lane message is stale once
/// the next car arrives).
async fn voice(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let c = controller(&req)?;
    let text = req.data.str("hintVoice")?;
    send(&ctx, &req, &c.device_id, action::VOICE, to_params(&Voice { text, opt: 2 }), deadline(&req)).await?;
    Ok(Reply::empty())
}

/// 6.83: text and voice in one board frame, then the gate when `openGate` is 1.
async fn all_in_one(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let c = controller_or_only(&req)?.clone();
    let color = match req.data.opt_i64("color")? {
        Some(v) => board_color(v)?,
        None => 2,
    };
    let seconds = display_seconds(&req.data, false)?;
    let lines = temp_lines(&req.data, color, seconds)?;
    let voice = req.data.opt_str("hintVoice")?.unwrap_or_default();
    let open = req.data.opt_bool("openGate")?.unwrap_or(false);
    if lines.is_empty() && voice.is_empty() && !open {
        return Err(ApiError::bad_input("nothing to do: give lin1/lin2, hintVoice or openGate=1"));
    }
    let until = deadline(&req);
    if !lines.is_empty() || !voice.is_empty() {
        send(&ctx, &req, &c.device_id, action::ALLINONE, to_params(&AllInOne { lines, voice }), until).await?;
    }
    if open {
        send(&ctx, &req, &c.device_id, action::GATE_OPEN, json!({}), until).await?;
    }
    Ok(Reply::empty())
}

/// 6.104: the intercom unit is named by controller number, which need not be
/// a lane controller, so it is passed to the site as given.
async fn intercom_request(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let unit = req.data.str("controllerNo")?;
    let room = req.data.str("roomId")?;
    send(&ctx, &req, &unit, action::INTERCOM_CALL, json!({ "roomId": room }), deadline(&req)).await?;
    Ok(Reply::empty())
}

/// 6.105.
async fn intercom_stop(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let unit = req.data.str("controllerNo")?;
    send(&ctx, &req, &unit, action::INTERCOM_HANGUP, json!({}), deadline(&req)).await?;
    Ok(Reply::empty())
}

pub fn register(reg: &mut Registry) {
    reg.handle("park.gate.open", handler(gate_open));
    reg.handle("park.gate.close", handler(gate_close));
    reg.handle("park.gate.setpeakmode", handler(peak_mode));
    reg.handle("park.led.temp", handler(led_temp));
    reg.handle("park.led.fixed", handler(led_fixed));
    reg.handle("park.voice", handler(voice));
    reg.handle("park.allinone", handler(all_in_one));
    reg.handle("park.intercom.request", handler(intercom_request));
    reg.handle("park.intercom.stop", handler(intercom_stop));
}

#[cfg(test)]
#[path = "hardware_tests.rs"]
pub(crate) mod tests;
