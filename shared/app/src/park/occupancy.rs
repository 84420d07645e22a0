//! How many cars are in the park, per area, without reading the in-park index
//! (6.3 and 6.27 answer from it in one batch get, whatever the park's size).
//!
//! The count lives in `SHARDS` counter items (`keys::in_park_count`), so
//! concurrent entries and exits of different cars seldom write the same item
//! (each stay counts in the shard of its `cardInId`). Every change of the
//! in-park index changes a shard in the same transaction: an entry that adds
//! an index item adds 1 for its area, an exit that deletes one takes 1 away,
//! an entry that moves the index from a superseded stay moves the 1 between
//! the areas. A shard only holds deltas, so one may be negative (a car counted
//! in at one shard, out at another after a supersede); only the sum means
//! anything.
//!
//! Starting point: the `init` item, written once by `recount` from the index
//! itself. A store written before the counter existed has no `init`; the
//! first read recounts. The recount reads the shards first, then the index,
//! then writes every shard conditioned on the version it read: an entry or
//! exit committed after that read changed a shard and fails the recount,
//! which starts again; one committed before it is in the index it counted.
//! So the count never drifts from the index, even while cars move.

use crate::keys;
use onecard_core::retry::{self, Step};
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{ApiResult, Ctx};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Shards of the counter: more shards, fewer conflicts between racing entries;
/// the read stays one batch get, the recount one transaction.
pub const SHARDS: u32 = 16;
const INIT: &str = "init";
// The recount writes every shard and `init` in one transaction.
const _: () = assert!(SHARDS as usize + 1 <= onecard_core::store::MAX_TRANSACTION_ITEMS);

/// Cars in the park per area id.
pub type PerArea = BTreeMap<String, i64>;

fn shard_sk(n: u32) -> String {
    format!("s{n:02}")
}

/// The shard a stay counts in: FNV-1a of its cardInId, stable across builds
/// (std's hasher is randomly seeded per process).
pub fn shard_of(card_in_id: &str) -> String {
    let h = card_in_id.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    shard_sk(h % SHARDS)
}

/// The key a change for `card_in_id` reads and writes, to batch with its other reads.
pub fn shard_key(branch: &str, card_in_id: &str) -> (String, String) {
    (keys::in_park_count(branch), shard_of(card_in_id))
}

fn areas_of(item: &Item) -> impl Iterator<Item = (&String, i64)> {
    item.body.get("areas").and_then(Value::as_object).into_iter().flatten().map(|(a, n)| (a, n.as_i64().unwrap_or(0)))
}

/// The write that applies `deltas` (area, change) to a shard read as `current`
/// (None: the shard does not exist yet). Areas that come to 0 are dropped, so
/// a shard stays as small as the areas it has cars in.
pub fn adjust(branch: &str, card_in_id: &str, current: Option<&Item>, deltas: &[(&str, i64)]) -> Write {
    let mut areas: BTreeMap<String, i64> = current.map(|i| areas_of(i).map(|(a, n)| (a.clone(), n)).collect()).unwrap_or_default();
    for (area, d) in deltas {
        *areas.entry((*area).to_string()).or_insert(0) += d;
    }
    areas.retain(|_, n| *n != 0);
    let (pk, sk) = shard_key(branch, card_in_id);
    let body: Map<String, Value> = areas.into_iter().map(|(a, n)| (a, json!(n))).collect();
    let item = Item::new(pk, sk, json!({ "areas": body }));
    match current {
        Some(c) => Write::put(item.with_version(c.version + 1), Cond::VersionIs(c.version)),
        None => Write::put(item.with_version(1), Cond::MustNotExist),
    }
}

/// Cars in the park per area: one batch get once counted.
pub async fn per_area(ctx: &Ctx, branch: &str) -> ApiResult<PerArea> {
    let pk = keys::in_park_count(branch);
    let mut wanted: Vec<(String, String)> = (0..SHARDS).map(|n| (pk.clone(), shard_sk(n))).collect();
    wanted.push((pk.clone(), INIT.to_string()));
    let mut items = ctx.store.get_many(&wanted).await?;
    if items.pop().flatten().is_none() {
        return recount(ctx, branch).await;
    }
    Ok(sum(items.iter().flatten()))
}

fn sum<'a>(shards: impl Iterator<Item = &'a Item>) -> PerArea {
    let mut out = PerArea::new();
    for s in shards {
        for (a, n) in areas_of(s) {
            *out.entry(a.clone()).or_insert(0) += n;
        }
    }
    out.retain(|_, n| *n != 0);
    out
}

/// Counts the in-park index and stores that as the counter's starting point
/// (see the module doc for why this cannot race an entry or an exit).
pub async fn recount(ctx: &Ctx, branch: &str) -> ApiResult<PerArea> {
    let pk = keys::in_park_count(branch);
    retry::on_conflict("occupancy not recounted", || async {
        let mut wanted: Vec<(String, String)> = (0..SHARDS).map(|n| (pk.clone(), shard_sk(n))).collect();
        wanted.push((pk.clone(), INIT.to_string()));
        let current = ctx.store.get_many(&wanted).await?;
        let index = ctx.store.query_all(&Query::partition(keys::in_park(branch))).await?;
        let mut counted = PerArea::new();
        for i in &index {
            *counted.entry(i.body["area"].as_str().unwrap_or_default().to_string()).or_insert(0) += 1;
        }
        // Shard 0 holds the whole count; the others start from nothing. Every
        // shard is written, so every concurrent change conflicts with this.
        let mut writes = Vec::with_capacity(current.len());
        for ((pk, sk), cur) in wanted.iter().zip(&current) {
            let body = if sk == INIT {
                json!({ "cars": index.len() })
            } else if sk == &shard_sk(0) {
                json!({ "areas": counted.iter().map(|(a, n)| (a.clone(), json!(n))).collect::<Map<String, Value>>() })
            } else {
                json!({ "areas": {} })
            };
            let item = Item::new(pk.clone(), sk.clone(), body);
            writes.push(match cur {
                Some(c) => Write::put(item.with_version(c.version + 1), Cond::VersionIs(c.version)),
                None => Write::put(item.with_version(1), Cond::MustNotExist),
            });
        }
        Step::of(ctx.store.transact(writes).await, counted.clone())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(shard_of("IN1"), shard_of("IN1"));
        let used: std::collections::BTreeSet<String> = (0..200).map(|i| shard_of(&format!("IN{i}"))).collect();
        assert!(used.len() > (SHARDS as usize) / 2, "200 ids fall in only {} shards", used.len());
        assert!(used.iter().all(|s| s.len() == 3 && s.starts_with('s')));
    }

    #[test]
    fn adjusting_a_shard_keeps_other_areas_and_drops_zeros() {
        let cur = Item::new("p", "s01", json!({"areas": {"1": 2, "2": 1}})).with_version(4);
        let Write::Put { item, cond } = adjust("B", "x", Some(&cur), &[("2", -1), ("3", 1)]) else { panic!("a put") };
        assert_eq!(item.body, json!({"areas": {"1": 2, "3": 1}}));
        assert_eq!(item.version, 5);
        assert!(matches!(cond, Cond::VersionIs(4)));
        let Write::Put { item, cond } = adjust("B", "x", None, &[("1", -1)]) else { panic!("a put") };
        assert_eq!(item.body, json!({"areas": {"1": -1}}));
        assert!(matches!(cond, Cond::MustNotExist));
    }
}
