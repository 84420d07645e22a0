//! Door commands through the site link (7.6 open, 7.12 normally-open).
//!
//! A door is the reader `doorno` of access controller `controllerno`. The
//! agent knows doors by device id; the cloud names a door
//! `{controllerno}-{doorno}` and, for reader 1, falls back to the controller
//! number itself, which is how a single-door controller is usually listed in
//! the agent's device file. Timeouts and an offline site answer as the lane
//! hardware does (620, 500 "site offline").

use crate::park::hardware::{ack_error, command, deadline};
use onecard_core::kit::{self, Int, RouteDef, Text};
use onecard_core::link::{ack_code, action, DoorNormalOpen};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub fn door_device(controller_no: &str, door_no: &str) -> String {
    format!("{controller_no}-{door_no}")
}

/// Sends to the door's own id, then (reader 1 only) to its controller number.
async fn door_command(ctx: &Ctx, req: &Req, controller: &str, door: &str, act: &str, params: Value) -> ApiResult<()> {
    let until = deadline(req);
    let mut device = door_device(controller, door);
    let mut ack = command(ctx, req, &device, act, params.clone(), until).await?;
    if ack.code == ack_code::UNKNOWN_DEVICE && door == "1" {
        device = controller.to_string();
        ack = command(ctx, req, &device, act, params, until).await?;
    }
    if ack.ok {
        Ok(())
    } else {
        Err(ack_error(&device, act, &ack))
    }
}

/// 7.6 / 7.12 output. A door that did not open is an error, not `flag` 0: the
/// caller learns why (620, site offline, refused).
#[derive(Serialize, JsonSchema)]
pub struct DoneOut {
    /// 1 success.
    pub flag: String,
    pub memo: String,
}

fn done() -> DoneOut {
    DoneOut { flag: "1".into(), memo: String::new() }
}

/// 7.6 input.
#[derive(Deserialize, JsonSchema)]
pub struct OpenIn {
    /// On whose behalf; logged with the opening.
    pub userid: Text,
    pub controllerno: Text,
    /// The reader number.
    pub doorno: Text,
}

/// 7.6.
async fn open(ctx: Ctx, req: Req, input: OpenIn) -> ApiResult<DoneOut> {
    door_command(&ctx, &req, &input.controllerno, &input.doorno, action::DOOR_OPEN, json!({})).await?;
    tracing::info!(branch = req.branchno(), user = %input.userid, controller = %input.controllerno, door = %input.doorno, "door opened");
    Ok(done())
}

/// 7.12 input.
#[derive(Deserialize, JsonSchema)]
pub struct NormalOpenIn {
    pub controllerno: Text,
    pub doorno: Text,
    /// 0 set normally-open, 1 cancel it.
    pub controltype: Int,
}

/// 7.12.
async fn normal_open(ctx: Ctx, req: Req, input: NormalOpenIn) -> ApiResult<DoneOut> {
    let on = match input.controltype.get() {
        0 => true,
        1 => false,
        v => return Err(ApiError::field("controltype", format!("'{v}' is not 0 (set) or 1 (cancel)"))),
    };
    let params = serde_json::to_value(DoorNormalOpen { on }).unwrap_or(Value::Null);
    door_command(&ctx, &req, &input.controllerno, &input.doorno, action::DOOR_NORMALOPEN, params).await?;
    Ok(done())
}

/// Both drive a door.
pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("acss.door.open", open), kit::write("acss.door.normalopen", normal_open)]
}
