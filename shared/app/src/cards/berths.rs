//! The parking spaces of a card's group (6.65 `berthNumber`) and how many of
//! the group's cars stand in the park: 6.4 `Berth`/`UsedBerthNum` and 6.5
//! `berth`. Groups are written by the lanes module, which depends on cards, so
//! they are read here by their key rather than through that module.

use super::in_park::in_park;
use super::model::Card;
use crate::keys;
use onecard_core::store::Query;
use onecard_core::{ApiResult, Ctx};
use std::collections::HashMap;

/// Group id → its spaces, for every group of the branch (one query).
pub async fn of_groups(ctx: &Ctx, branch: &str) -> ApiResult<HashMap<String, i64>> {
    let items = ctx.store.query_all(&Query::partition(keys::groups(branch))).await?;
    Ok(items.iter().filter_map(|i| Some((i.body.get("id")?.as_i64()?.to_string(), i.body.get("berths")?.as_i64()?))).collect())
}

/// How many of `group`'s cards have their car in the park now.
pub async fn used(ctx: &Ctx, branch: &str, cards: &[Card], group: &str) -> ApiResult<usize> {
    let mut n = 0;
    for c in cards.iter().filter(|c| c.group_id.as_deref() == Some(group)) {
        if in_park(ctx, branch, &c.plates, &c.card_no).await?.is_some() {
            n += 1;
        }
    }
    Ok(n)
}
