//! Consumption points (6.49): the discount machines of a merchant. Set up by
//! operators (`onecard merchant point ...`); the API only reads them.

use crate::keys;
use chrono::NaiveDateTime;
use onecard_core::store::{Cond, Item, Query};
use onecard_core::{ApiResult, Ctx};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TollDevice {
    pub toll_dev_id: i64,
    pub business_id: i64,
    pub device_id: String,
    pub name: String,
    #[serde(default)]
    pub remark: String,
    #[serde(default)]
    pub create_oper: String,
    #[serde(default)]
    pub create_date: Option<NaiveDateTime>,
    #[serde(default)]
    pub update_oper: String,
    #[serde(default)]
    pub update_date: Option<NaiveDateTime>,
}

pub async fn get(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<Option<TollDevice>> {
    match ctx.store.get(&keys::toll_devices(branch), &keys::id_sk(id)).await? {
        Some(i) => Ok(Some(i.parse()?)),
        None => Ok(None),
    }
}

pub async fn list(ctx: &Ctx, branch: &str) -> ApiResult<Vec<TollDevice>> {
    let items = ctx.store.query_all(&Query::partition(keys::toll_devices(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

/// Creates or replaces a consumption point (admin).
pub async fn put(ctx: &Ctx, branch: &str, d: &TollDevice) -> ApiResult<()> {
    let item = Item::new(keys::toll_devices(branch), keys::id_sk(d.toll_dev_id), serde_json::to_value(d).unwrap_or_default());
    ctx.store.put(item, Cond::None).await?;
    Ok(())
}
