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
use onecard_core::config::{Branch, Controller};
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::kit::{self, Empty, Flag, Int, RouteDef, Text};
use onecard_core::link::{action, ack_code, AllInOne, LedFixed, LedTemp, Voice};
use onecard_core::queue::OutEvent;
use onecard_core::sitelink::{Ack, Command, SiteError};
use onecard_core::store::{Cond, Item, Write};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Origin, Req};
use schemars::JsonSchema;
use serde::Deserialize;
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

/// The lane controller `id` names: its device id or its controller number.
pub fn controller<'a>(branch: &'a Branch, id: &str) -> ApiResult<&'a Controller> {
    branch
        .controller(id)
        .ok_or_else(|| ApiError::field("deviceID", format!("no lane controller '{id}' in branch {}", branch.branchno)))
}

/// 6.83 marks every field optional: without `deviceID` a branch with a single
/// lane controller means that one.
fn controller_or_only<'a>(branch: &'a Branch, id: Option<&str>) -> ApiResult<&'a Controller> {
    match id {
        Some(id) => controller(branch, id),
        None if branch.controllers.len() == 1 => Ok(&branch.controllers[0]),
        None => Err(ApiError::missing("deviceID")),
    }
}

/// `time` of 6.80/6.83: display seconds, 1-207 as printed; 5 when not given.
fn display_seconds(time: Option<Int>) -> ApiResult<u8> {
    match time.map(Int::get) {
        None => Ok(5),
        Some(s) if (1..=207).contains(&s) => Ok(s as u8),
        Some(s) => Err(ApiError::field("time", format!("{s} is outside 1-207 seconds"))),
    }
}

/// The temporary lines of 6.80/6.83 that carry text.
fn temp_lines(lin1: Option<Text>, lin2: Option<Text>, color: u8, seconds: u8) -> Vec<LedTemp> {
    [(1u8, lin1), (2u8, lin2)]
        .into_iter()
        .filter_map(|(line, text)| text.map(|t| LedTemp { line, color, seconds, text: t.into_string() }))
        .collect()
}

fn to_params<T: serde::Serialize>(p: &T) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

/// 6.25 / 6.58 input: the lane controller (6.25's table spells it
/// `deviceId`, its example `deviceID`).
#[derive(Deserialize, JsonSchema)]
pub struct GateIn {
    #[serde(rename = "deviceID", alias = "deviceId", alias = "deviceid")]
    pub device_id: Text,
}

/// 6.25: opens the barrier regardless of any car; reported as a manual
/// (abnormal) opening, 13.6, because no car record explains it.
async fn gate_open(ctx: Ctx, req: Req, input: GateIn) -> ApiResult<Empty> {
    let c = controller(&req.branch, &input.device_id)?.clone();
    send(&ctx, &req, &c.device_id, action::GATE_OPEN, json!({}), deadline(&req)).await?;
    record_abnormal_open(&ctx, &req, &c).await?;
    Ok(Empty {})
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
async fn gate_close(ctx: Ctx, req: Req, input: GateIn) -> ApiResult<Empty> {
    let c = controller(&req.branch, &input.device_id)?;
    send(&ctx, &req, &c.device_id, action::GATE_CLOSE, json!({}), deadline(&req)).await?;
    Ok(Empty {})
}

/// 6.61 input.
#[derive(Deserialize, JsonSchema)]
pub struct PeakModeIn {
    #[serde(rename = "deviceID", alias = "deviceId", alias = "deviceid")]
    pub device_id: Text,
    /// 1 enable, 2 cancel.
    #[serde(rename = "peakMode")]
    pub peak_mode: Int,
}

/// 6.61: `peakMode` 1 holds the gate open for a stream of cars, 2 cancels.
async fn peak_mode(ctx: Ctx, req: Req, input: PeakModeIn) -> ApiResult<Empty> {
    let on = match input.peak_mode.get() {
        1 => true,
        2 => false,
        v => return Err(ApiError::field("peakMode", format!("'{v}' is not 1 (enable) or 2 (cancel)"))),
    };
    let c = controller(&req.branch, &input.device_id)?;
    send(&ctx, &req, &c.device_id, action::GATE_PEAKMODE, json!({ "on": on }), deadline(&req)).await?;
    Ok(Empty {})
}

/// 6.80 input. The table requires both lines; an absent one is left as the
/// board shows it, so only "no line at all" is refused.
#[derive(Deserialize, JsonSchema)]
pub struct LedTempIn {
    #[serde(rename = "deviceID", alias = "deviceId", alias = "deviceid")]
    pub device_id: Text,
    pub lin1: Option<Text>,
    pub lin2: Option<Text>,
    /// 0 green, 1 red.
    pub color: Int,
    /// Display seconds, 1-207.
    pub time: Int,
}

/// 6.80.
async fn led_temp(ctx: Ctx, req: Req, input: LedTempIn) -> ApiResult<Empty> {
    let color = board_color(input.color.get())?;
    let seconds = display_seconds(Some(input.time))?;
    let lines = temp_lines(input.lin1, input.lin2, color, seconds);
    if lines.is_empty() {
        return Err(ApiError::missing("lin1"));
    }
    let c = controller(&req.branch, &input.device_id)?;
    let until = deadline(&req);
    for l in &lines {
        send(&ctx, &req, &c.device_id, action::LED_TEMP, to_params(l), until).await?;
    }
    Ok(Empty {})
}

/// 6.81 input; as in 6.80, at least one line.
#[derive(Deserialize, JsonSchema)]
pub struct LedFixedIn {
    #[serde(rename = "deviceID", alias = "deviceId", alias = "deviceid")]
    pub device_id: Text,
    pub lin1: Option<Text>,
    pub lin2: Option<Text>,
}

/// 6.81: written to the board's flash; the agent spaces repeated writes out.
async fn led_fixed(ctx: Ctx, req: Req, input: LedFixedIn) -> ApiResult<Empty> {
    let lines: Vec<LedFixed> = [(1u8, input.lin1), (2u8, input.lin2)]
        .into_iter()
        .filter_map(|(line, text)| text.map(|t| LedFixed { line, text: t.into_string() }))
        .collect();
    if lines.is_empty() {
        return Err(ApiError::missing("lin1"));
    }
    let c = controller(&req.branch, &input.device_id)?;
    let until = deadline(&req);
    for l in &lines {
        send(&ctx, &req, &c.device_id, action::LED_FIXED, to_params(l), until).await?;
    }
    Ok(Empty {})
}

/// 6.82 input.
#[derive(Deserialize, JsonSchema)]
pub struct VoiceIn {
    #[serde(rename = "deviceID", alias = "deviceId", alias = "deviceid")]
    pub device_id: Text,
    #[serde(rename = "hintVoice")]
    pub hint_voice: Text,
}

/// 6.82: plays now, replacing anything queued (a lane message is stale once
/// the next car arrives).
async fn voice(ctx: Ctx, req: Req, input: VoiceIn) -> ApiResult<Empty> {
    let c = controller(&req.branch, &input.device_id)?;
    let v = Voice { text: input.hint_voice.into_string(), opt: 2 };
    send(&ctx, &req, &c.device_id, action::VOICE, to_params(&v), deadline(&req)).await?;
    Ok(Empty {})
}

/// 6.83 input: every field optional, as printed.
#[derive(Deserialize, JsonSchema)]
pub struct AllInOneIn {
    #[serde(rename = "deviceID", alias = "deviceId", alias = "deviceid")]
    pub device_id: Option<Text>,
    pub lin1: Option<Text>,
    pub lin2: Option<Text>,
    /// 0 green, 1 red; green when not given.
    pub color: Option<Int>,
    pub time: Option<Int>,
    #[serde(rename = "hintVoice")]
    pub hint_voice: Option<Text>,
    #[serde(rename = "openGate")]
    pub open_gate: Option<Flag>,
}

/// 6.83: text and voice in one board frame, then the gate when `openGate` is 1.
async fn all_in_one(ctx: Ctx, req: Req, input: AllInOneIn) -> ApiResult<Empty> {
    let color = match input.color {
        Some(v) => board_color(v.get())?,
        None => 2,
    };
    let seconds = display_seconds(input.time)?;
    let lines = temp_lines(input.lin1, input.lin2, color, seconds);
    let voice = input.hint_voice.map(Text::into_string).unwrap_or_default();
    let open = input.open_gate.is_some_and(Flag::get);
    if lines.is_empty() && voice.is_empty() && !open {
        return Err(ApiError::bad_input("nothing to do: give lin1/lin2, hintVoice or openGate=1"));
    }
    let c = controller_or_only(&req.branch, input.device_id.as_deref())?;
    let until = deadline(&req);
    if !lines.is_empty() || !voice.is_empty() {
        send(&ctx, &req, &c.device_id, action::ALLINONE, to_params(&AllInOne { lines, voice }), until).await?;
    }
    if open {
        send(&ctx, &req, &c.device_id, action::GATE_OPEN, json!({}), until).await?;
    }
    Ok(Empty {})
}

/// 6.104 input.
#[derive(Deserialize, JsonSchema)]
pub struct IntercomCallIn {
    #[serde(rename = "controllerNo")]
    pub controller_no: Text,
    #[serde(rename = "roomId")]
    pub room_id: Text,
}

/// 6.104: the intercom unit is named by controller number, which need not be
/// a lane controller, so it is passed to the site as given.
async fn intercom_request(ctx: Ctx, req: Req, input: IntercomCallIn) -> ApiResult<Empty> {
    let params = json!({ "roomId": input.room_id });
    send(&ctx, &req, &input.controller_no, action::INTERCOM_CALL, params, deadline(&req)).await?;
    crate::people::intercom::advance(&ctx, req.branchno(), &input.controller_no, crate::people::intercom::CallState::Talking, Some(&input.room_id), &kit::stamp(req.now)).await?;
    Ok(Empty {})
}

/// 6.105 input.
#[derive(Deserialize, JsonSchema)]
pub struct IntercomStopIn {
    #[serde(rename = "controllerNo")]
    pub controller_no: Text,
}

/// 6.105.
async fn intercom_stop(ctx: Ctx, req: Req, input: IntercomStopIn) -> ApiResult<Empty> {
    send(&ctx, &req, &input.controller_no, action::INTERCOM_HANGUP, json!({}), deadline(&req)).await?;
    // A unit hung up with no call recorded (one placed before this was kept) is still hung up.
    let _ = crate::people::intercom::advance(&ctx, req.branchno(), &input.controller_no, crate::people::intercom::CallState::Ended, None, &kit::stamp(req.now)).await;
    Ok(Empty {})
}

/// Every route drives a device (and 6.25 logs the opening): all writes, so a
/// replayed request does not move the barrier twice.
pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("park.gate.open", gate_open),
        kit::write("park.gate.close", gate_close),
        kit::write("park.gate.setpeakmode", peak_mode),
        kit::write("park.led.temp", led_temp),
        kit::write("park.led.fixed", led_fixed),
        kit::write("park.voice", voice),
        kit::write("park.allinone", all_in_one),
        kit::write("park.intercom.request", intercom_request),
        kit::write("park.intercom.stop", intercom_stop),
    ]
}

#[cfg(test)]
#[path = "hardware_tests.rs"]
pub(crate) mod tests;
