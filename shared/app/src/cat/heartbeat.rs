//! 10.4 `hb`: a site's data service reports its name, address and port, so the
//! cloud knows where it is and when it was last seen.

use crate::keys;
use onecard_core::store::{Cond, Item, Query};
use onecard_core::{handler, ApiResult, Ctx, Registry, Reply, Req};
use serde_json::{json, Value};

async fn hb(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let d = &req.data;
    let no = d.str("no")?;
    let record = json!({
        "no": no,
        "name": d.str("name")?,
        "localip": d.str("localip")?,
        "port": d.str("port")?,
        "lastSeen": onecard_core::time::format(req.now),
    });
    // `pk` (the site's key) is required by the seed but is a secret: checked for
    // presence, never stored.
    d.str("pk")?;
    ctx.store.put(Item::new(keys::heartbeats(req.branchno()), no, record), Cond::None).await?;
    Ok(Reply::data(Value::Null))
}

/// Every site heartbeat of a branch, for admin and monitoring.
pub async fn list(ctx: &Ctx, branch: &str) -> ApiResult<Vec<Value>> {
    let items = ctx.store.query_all(&Query::partition(keys::heartbeats(branch))).await?;
    Ok(items.into_iter().map(|i| i.body).collect())
}

pub fn register(reg: &mut Registry) {
    reg.handle("hb", handler(hb));
}
