//! 10.4 `hb`: a site's data service reports its name, address and port, so the
//! cloud knows where it is and when it was last seen.

use crate::keys;
use onecard_core::kit::{self, Null, RouteDef, Text};
use onecard_core::store::{Cond, Item, Query};
use onecard_core::{ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

/// 10.4 input.
#[derive(Deserialize, JsonSchema)]
pub struct HeartbeatIn {
    pub no: Text,
    pub name: Text,
    pub localip: Text,
    pub port: Text,
    /// The site's key: required by the seed but a secret, so checked for
    /// presence and never stored.
    pub pk: Text,
}

async fn hb(ctx: Ctx, req: Req, input: HeartbeatIn) -> ApiResult<Null> {
    let record = json!({
        "no": input.no,
        "name": input.name,
        "localip": input.localip,
        "port": input.port,
        "lastSeen": kit::stamp(req.now),
    });
    ctx.store.put(Item::new(keys::heartbeats(req.branchno()), input.no.into_string(), record), Cond::None).await?;
    Ok(Null)
}

/// Every site heartbeat of a branch, for admin and monitoring.
pub async fn list(ctx: &Ctx, branch: &str) -> ApiResult<Vec<Value>> {
    let items = ctx.store.query_all(&Query::partition(keys::heartbeats(branch))).await?;
    Ok(items.into_iter().map(|i| i.body).collect())
}

/// A write: it records when the site was last seen.
pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("hb", hb)]
}
