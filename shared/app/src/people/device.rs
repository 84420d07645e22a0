//! One command to one site device, for the people side (faces, kiosks): the
//! same contract as the lane hardware (`park::hardware`), which a `pub`-only
//! build does not have. Silent past the branch's ack timeout: 620.

use onecard_core::link::ack_code;
use onecard_core::sitelink::{Command, SiteError};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Req};
use serde_json::Value;
use std::time::Duration;

pub async fn send(ctx: &Ctx, req: &Req, device: &str, act: &str, params: Value) -> ApiResult<()> {
    let timeout = req.branch.settings.ack_timeout_secs.max(1);
    let cmd = Command { id: format!("c-{}", uuid::Uuid::new_v4().simple()), device: device.to_string(), action: act.to_string(), params };
    let ack = match ctx.sites.command(req.branchno(), cmd, Duration::from_secs(timeout)).await {
        Ok(ack) => ack,
        Err(SiteError::Timeout(_)) => return Err(ApiError::new(Code::DEVICE_TIMEOUT, format!("device '{device}' did not answer within {timeout} s"))),
        Err(e) => return Err(ApiError::failed(e.to_string())),
    };
    if ack.ok {
        return Ok(());
    }
    Err(match ack.code {
        ack_code::DEVICE_TIMEOUT => ApiError::new(Code::DEVICE_TIMEOUT, format!("device '{device}' did not answer: {}", ack.message)),
        ack_code::UNKNOWN_DEVICE => ApiError::failed(format!("device '{device}' is not connected at the site")),
        _ => ApiError::failed(format!("device '{device}' refused '{act}' ({}): {}", ack.code, ack.message)),
    })
}
