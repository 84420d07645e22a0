//! Lvdeng 绿灯停车 (11.24-11.25): the lane system asks, at entry and at exit,
//! whether the car may pass; the answer's `message` is spoken or shown on the
//! lane's LED. The decision is the lane's one decision (`park::lane::decide`,
//! as 9.18), and the car is recorded in front of the lane (`presence`), so a
//! payment by lane (Upark 11.5, Changting 11.26) finds it.

use crate::lanes::presence;
use crate::park::lane::{self, LaneRef};
use onecard_core::config::Lane;
use onecard_core::kit::{self, Plate, RouteDef, Text};
use onecard_core::{ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, JsonSchema)]
pub struct LaneIn {
    pub plate_number: Plate,
    /// The lane: a controller's device id or number.
    pub channel: Text,
}

/// `status` 1 may pass, 0 may not; `msg_code` the deciding rule; `message`
/// the text for the voice and the LED (the table's reading; the printed
/// example puts the text in `msg_code`).
#[derive(Serialize, JsonSchema)]
pub struct LaneOut {
    pub status: i64,
    pub msg_code: String,
    pub message: String,
}

async fn request(ctx: &Ctx, req: &Req, input: LaneIn, dir: Lane, source: &str) -> ApiResult<LaneOut> {
    let d = lane::decide(ctx, &req.branch, LaneRef::DeviceAs(input.channel.as_str(), dir), &input.plate_number, req.now).await?;
    if let Some(c) = req.branch.controller(input.channel.as_str()) {
        presence::decided(ctx, req.branchno(), &c.device_id, &d, req.now, source).await?;
    }
    Ok(LaneOut { status: i64::from(d.pass), msg_code: d.rule.to_string(), message: d.hint_voice.clone().unwrap_or(d.hint_text) })
}

async fn park_in(ctx: Ctx, req: Req, input: LaneIn) -> ApiResult<LaneOut> {
    request(&ctx, &req, input, Lane::In, "11.24").await
}

async fn park_out(ctx: Ctx, req: Req, input: LaneIn) -> ApiResult<LaneOut> {
    request(&ctx, &req, input, Lane::Out, "11.25").await
}

pub fn routes() -> Vec<RouteDef> {
    // A decision writes the lane's presence record: a write.
    vec![kit::write("cat.parkIn.request", park_in), kit::write("cat.parkOut.request", park_out)]
}
