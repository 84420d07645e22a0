//! Chapter 11's outbound calls at the lanes. The entry code (9.1) calls
//! these hooks, so they build wherever parking does, even in a function that
//! serves no partner route.
//!
//! A lane never waits for a partner: what a partner must be told goes into
//! the entry's own transaction as an outbox event, and the push function
//! delivers it like a chapter 13 push (chapter 5 envelope to the subscribed
//! partner's URL + "/" + route, decision 10; retries on decision 18's
//! schedule, then the dead-letter queue). A partner that is down therefore
//! delays nothing and loses nothing: the car is let in, the call is retried.
//!
//! Subscribing: `onecard partner add --branch 1001 --name hisense --url URL
//! --secret S --events hisense.regIn`. A partner subscribed to `*` (every
//! chapter 13/14 push) does not get these: they are partner-specific.

#[path = "aibee.rs"]
pub mod aibee;
#[path = "paylater.rs"]
pub mod paylater;

use crate::park::cardlink::TEMPORARY;
use crate::park::stays::Stay;
use crate::push::subscriptions;
use onecard_core::config::Branch;
use onecard_core::kit::stamp;
use onecard_core::queue::OutEvent;
use onecard_core::{ApiResult, Ctx};
use serde_json::json;

/// 11.31, Hisense Tianyue's entry request.
pub const HISENSE_ENTRY: &str = "hisense.regIn";

/// The outbound routes only a partner that names them receives.
pub const PARTNER_ROUTES: &[&str] = &[HISENSE_ENTRY, aibee::DEVICE_INFO, aibee::LIGHT_STATUS, aibee::SCREEN_STATUS];

/// Hisense leaves out cars entering the underground garage. The areas that
/// are underground are the hisense setting `undergroundAreas` (area ids,
/// comma-separated: `onecard partners set --partner hisense --option
/// undergroundAreas=2,3`); the branch's areas carry no such kind.
async fn underground(ctx: &Ctx, branch: &str, area: &str) -> ApiResult<bool> {
    let Some(item) = ctx.store().get(&crate::keys::partner_settings(branch), "hisense").await? else { return Ok(false) };
    let listed = item.body.pointer("/options/undergroundAreas").and_then(serde_json::Value::as_str).unwrap_or("");
    Ok(!area.is_empty() && listed.split(',').map(str::trim).any(|a| a == area))
}

/// 11.31: a temporary car entering without a booking is announced to
/// Hisense Tianyue, when the branch has a partner subscribed to it. Monthly
/// cards and booked cars are not (the seed's exclusions).
pub async fn entry_events(ctx: &Ctx, branch: &Branch, stay: &Stay) -> ApiResult<Vec<OutEvent>> {
    if stay.func_type != TEMPORARY || stay.booking_no.is_some() || stay.plate.is_empty() {
        return Ok(Vec::new());
    }
    let subscribed = subscriptions::list(ctx.store(), &branch.branchno).await?.iter().any(|p| p.enabled && p.events.iter().any(|e| e == HISENSE_ENTRY));
    if !subscribed || underground(ctx, &branch.branchno, &stay.area).await? {
        return Ok(Vec::new());
    }
    // `inPic` is a path in the seed: the picture's URL (decision 16), else its key.
    let picture = match &stay.photo_in {
        Some(key) => ctx.blobs().url(key).await.ok().flatten().unwrap_or_else(|| key.clone()),
        None => String::new(),
    };
    let dev_id = branch.controller(&stay.in_controller_no).map(|c| c.device_id.clone()).unwrap_or_else(|| stay.in_controller_no.clone());
    let record = json!({
        "licensePlate": stay.display_plate(),
        "inTime": stamp(stay.entry),
        "devId": dev_id,
        "devName": stay.in_controller_name,
        "inPic": picture,
    });
    Ok(vec![OutEvent::new(&branch.branchno, HISENSE_ENTRY, record, stay.entry)])
}
