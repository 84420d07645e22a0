//! 9.18 `cat.pass.validate`: the site asks whether a car may pass a lane; the
//! answer is `park::lane::decide`.
//!
//! Direction: the seed's `inOutFlag` is 1 entry, 2 exit; 0 is also read as
//! entry (the 0/1 convention of the site's other records, e.g. 9.19). Without a
//! flag the configured lane of `deviceID` decides.

use crate::park::lane::{decide, LaneRef};
use onecard_core::config::Lane;
use onecard_core::{handler, ApiError, ApiResult, Ctx, Registry, Reply, Req};

async fn validate(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let d = &req.data;
    let device = d.str("deviceID")?;
    let plate = d.str("carNo")?;
    let at = match d.opt_str("passTime")? {
        Some(s) if s == onecard_core::time::NOW_SENTINEL => req.now,
        Some(_) => d.time("passTime")?,
        None => return Err(ApiError::missing("passTime")),
    };
    let lane = match d.opt_i64("inOutFlag")? {
        Some(0 | 1) => LaneRef::DeviceAs(&device, Lane::In),
        Some(2) => LaneRef::DeviceAs(&device, Lane::Out),
        Some(f) => return Err(ApiError::field("inOutFlag", format!("{f} is not 1 (entry) or 2 (exit)"))),
        None => LaneRef::Device(&device),
    };
    let decision = decide(&ctx, &req.branch, lane, &plate, at).await?;
    Ok(Reply::data(decision.to_wire()))
}

pub fn register(reg: &mut Registry) {
    reg.handle("cat.pass.validate", handler(validate));
}
