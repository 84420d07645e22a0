//! Door commands through the site link (7.6 open, 7.12 normally-open).
//!
//! A door is the reader `doorno` of access controller `controllerno`. The
//! agent knows doors by device id; the cloud names a door
//! `{controllerno}-{doorno}` and, for reader 1, falls back to the controller
//! number itself, which is how a single-door controller is usually listed in
//! the agent's device file. Timeouts and an offline site answer as the lane
//! hardware does (620, 500 "site offline").

use crate::park::hardware::{ack_error, command, deadline};
use onecard_core::link::{ack_code, action, DoorNormalOpen};
use onecard_core::{handler, ApiError, ApiResult, Ctx, Registry, Reply, Req};
use serde_json::{json, Value};

pub fn door_device(controller_no: &str, door_no: &str) -> String {
    format!("{controller_no}-{door_no}")
}

/// Sends to the door's own id, then (reader 1 only) to its controller number.
async fn door_command(ctx: &Ctx, req: &Req, act: &str, params: Value) -> ApiResult<()> {
    let controller = req.data.str("controllerno")?;
    let door = req.data.str("doorno")?;
    let until = deadline(req);
    let mut device = door_device(&controller, &door);
    let mut ack = command(ctx, req, &device, act, params.clone(), until).await?;
    if ack.code == ack_code::UNKNOWN_DEVICE && door == "1" {
        device = controller;
        ack = command(ctx, req, &device, act, params, until).await?;
    }
    if ack.ok {
        Ok(())
    } else {
        Err(ack_error(&device, act, &ack))
    }
}

fn done() -> Reply {
    Reply::data(json!({ "flag": "1", "memo": "" }))
}

/// 7.6: `userid` says on whose behalf; it is logged with the opening.
async fn open(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let user = req.data.str("userid")?;
    door_command(&ctx, &req, action::DOOR_OPEN, json!({})).await?;
    tracing::info!(branch = req.branchno(), user, controller = ?req.data.get("controllerno"), door = ?req.data.get("doorno"), "door opened");
    Ok(done())
}

/// 7.12: `controltype` 0 sets normally-open, 1 cancels it.
async fn normal_open(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let on = match req.data.i64("controltype")? {
        0 => true,
        1 => false,
        v => return Err(ApiError::field("controltype", format!("'{v}' is not 0 (set) or 1 (cancel)"))),
    };
    let params = serde_json::to_value(DoorNormalOpen { on }).unwrap_or(Value::Null);
    door_command(&ctx, &req, action::DOOR_NORMALOPEN, params).await?;
    Ok(done())
}

pub fn register(reg: &mut Registry) {
    reg.handle("acss.door.open", handler(open));
    reg.handle("acss.door.normalopen", handler(normal_open));
}
