//! 6.103 `park.platerecognition.push` (China Merchants CMPark): a lane's
//! camera reports a plate it read. The lane's presence record (one per lane,
//! `lanes::presence`) names the car; nothing is decided or opened here: the
//! plate read is a sighting, the decision stays with 9.18.

use crate::lanes::presence;
use onecard_core::kit::{self, DateTime, Null, Plate, RouteDef, Text};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::Deserialize;

/// 6.103 input.
#[derive(Deserialize, JsonSchema)]
pub struct PlateReportIn {
    pub plate: Plate,
    /// 蓝, 黄, 咖啡 ...; kept in the log line only (the presence record has no colour).
    pub color: Text,
    pub timestamp: DateTime,
    /// The exit controller's number (or device id).
    pub exit: Text,
}

async fn push(ctx: Ctx, req: Req, input: PlateReportIn) -> ApiResult<Null> {
    let c = req
        .branch
        .controller(&input.exit)
        .ok_or_else(|| ApiError::field("exit", format!("controller '{}' is not a lane of branch {}", input.exit, req.branchno())))?;
    presence::seen(&ctx, req.branchno(), &c.device_id, input.plate.norm(), c.lane, input.timestamp.get(), "6.103").await?;
    tracing::info!(branch = req.branchno(), device = %c.device_id, plate = input.plate.norm(), color = %input.color, "plate reported (6.103)");
    Ok(Null)
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("park.platerecognition.push", push)]
}
