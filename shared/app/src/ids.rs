//! Small integer ids (car type 3, tariff 12), as the spec's clients expect, drawn
//! from a per-branch counter with a compare-and-set loop so that concurrent
//! creators (several Lambdas) never get the same id.

use crate::keys;
use onecard_core::retry::{on_conflict, Step};
use onecard_core::store::{Cond, Item, ItemStore};
use onecard_core::{ApiResult, Ctx};
use serde_json::json;

pub async fn next_id(ctx: &Ctx, branch: &str, what: &str) -> ApiResult<i64> {
    next_id_in(ctx.store(), branch, what).await
}

/// Reserves `n` consecutive ids at once and answers the first: a bulk import
/// draws a block rather than writing the counter once per record.
pub async fn reserve_in(store: &dyn ItemStore, branch: &str, what: &str, n: i64) -> ApiResult<i64> {
    let pk = keys::counters(branch);
    on_conflict(&format!("reserving {what} ids"), || async {
        let current = store.get(&pk, what).await?;
        let (next, cond, version) = match &current {
            Some(item) => (item.body["next"].as_i64().unwrap_or(1), Cond::VersionIs(item.version), item.version + 1),
            None => (1, Cond::MustNotExist, 1),
        };
        let item = Item::new(pk.clone(), what, json!({ "next": next + n.max(1) })).with_version(version);
        Step::of(store.put(item, cond).await, next)
    })
    .await
}

/// `next_id` on a bare store, for admin commands and imports that have no `Ctx`.
pub async fn next_id_in(store: &dyn ItemStore, branch: &str, what: &str) -> ApiResult<i64> {
    reserve_in(store, branch, what, 1).await
}
