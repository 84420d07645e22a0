//! 9.18 `cat.pass.validate`: the site asks whether a car may pass a lane; the
//! answer is `park::lane::decide`.
//!
//! Direction: the seed's `inOutFlag` is 1 entry, 2 exit; 0 is also read as
//! entry (the 0/1 convention of the site's other records, e.g. 9.19). Without a
//! flag the configured lane of `deviceID` decides.
//!
//! The decision is remembered as the lane's presence (`lanes::presence`), so
//! an unlock can let a held car out and other routes can name the car by its
//! lane. Writing it is the only thing 9.18 writes.

use crate::lanes::presence;
use crate::park::lane::{decide, live_time, LaneRef, PassOut};
use onecard_core::config::Lane;
use onecard_core::kit::{self, EndTime, Int, Plate, RouteDef, Text};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::Deserialize;

/// 9.18 input. The agent also sends `plateNo`/`licensePlate` and `inOrOut`
/// (the site link fills `carNo` and `inOutFlag` from them), so those are not
/// aliases here: two spellings of one field would be refused as given twice.
#[derive(Deserialize, JsonSchema)]
pub struct ValidateIn {
    #[serde(rename = "deviceID")]
    pub device_id: Text,
    #[serde(rename = "carNo")]
    pub plate: Plate,
    /// `1970-01-01 00:00:00` means now.
    #[serde(rename = "passTime")]
    pub at: EndTime,
    /// 1 entry (0 read as entry too), 2 exit.
    #[serde(rename = "inOutFlag")]
    pub in_out: Option<Int>,
}

async fn validate(ctx: Ctx, req: Req, input: ValidateIn) -> ApiResult<PassOut> {
    let device = input.device_id.as_str();
    let lane = match input.in_out.map(Int::get) {
        Some(0 | 1) => LaneRef::DeviceAs(device, Lane::In),
        Some(2) => LaneRef::DeviceAs(device, Lane::Out),
        Some(f) => return Err(ApiError::field("inOutFlag", format!("{f} is not 1 (entry) or 2 (exit)"))),
        None => LaneRef::Device(device),
    };
    let at = live_time(req.branchno(), input.at.or_now(req.now), req.now);
    let decision = decide(&ctx, &req.branch, lane, &input.plate, at).await?;
    presence::decided(&ctx, req.branchno(), device, &decision, at, "9.18").await?;
    let mut out = decision.to_wire();
    // The seed echoes the plate as the site sent it (spaces and case kept);
    // the decision itself compares the normalised plate.
    out.car_no = input.plate.original().to_string();
    Ok(out)
}

/// The passage itself arrives as 9.1/9.2; the lane's presence is the only
/// write, and the latest sighting wins, so a repeated question is harmless
/// and the route needs no replay marker.
pub fn routes() -> Vec<RouteDef> {
    vec![kit::read("cat.pass.validate", validate)]
}
