//! The third party a branch relays its detectors' statuses to (9.14: "when
//! the compatible system is Aibee, the parking-space information is pushed to
//! the Aibee server"). Configured per branch with `onecard guidance relay`;
//! without one nothing is relayed.

use super::model::SpaceStatus;
use crate::keys;
use onecard_core::store::{Cond, Item, ItemStore, StoreResult};
use onecard_core::Ctx;
use serde::{Deserialize, Serialize};

const SK: &str = "config";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relay {
    /// Where each status is POSTed as JSON.
    pub url: String,
}

pub async fn get(s: &dyn ItemStore, branch: &str) -> StoreResult<Option<Relay>> {
    match s.get(&keys::pls(branch, "relay"), SK).await? {
        Some(i) => Ok(Some(i.parse()?)),
        None => Ok(None),
    }
}

/// Sets (Some) or removes (None) the branch's relay.
pub async fn set(s: &dyn ItemStore, branch: &str, relay: Option<&Relay>) -> StoreResult<()> {
    match relay {
        Some(r) => s.put(Item::new(keys::pls(branch, "relay"), SK, serde_json::to_value(r).unwrap_or_default()), Cond::None).await,
        None => s.delete(&keys::pls(branch, "relay"), SK, Cond::None).await,
    }
}

/// Tells the relay one status; Ok when there is none. Errors say why, for
/// the 521 answer.
pub async fn tell(ctx: &Ctx, branch: &str, space_no: &str, status: SpaceStatus, plate: Option<&str>, at: &chrono::NaiveDateTime) -> Result<(), String> {
    let relay = match get(ctx.store(), branch).await {
        Ok(Some(r)) => r,
        Ok(None) => return Ok(()),
        Err(e) => return Err(format!("relay configuration not read: {e}")),
    };
    let body = serde_json::json!({
        "parkId": branch,
        "parkLotNo": space_no,
        "status": status.code().to_string(),
        "licensePlate": plate.unwrap_or_default(),
        "updateDate": onecard_core::time::format(*at),
    });
    match ctx.http().post_json(&relay.url, body.to_string()).await {
        Ok(a) if (200..300).contains(&a.status) => Ok(()),
        Ok(a) => Err(format!("{} answered HTTP {}", relay.url, a.status)),
        Err(e) => Err(e),
    }
}
