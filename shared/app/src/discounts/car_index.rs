//! Which discounts a car has: ONE item per car (`keys::car_discount_sets`)
//! listing its coupons, merchant discounts and plate discounts, so that
//! `calc` reads it in the batch get it already makes for the car's stay
//! (issue 11: `calc` in 3 round trips). Every write that gives, moves or uses
//! a discount changes the car's item over the version it read, in the same
//! transaction as the discount itself: a discount and its index entry never
//! disagree, and two changes of one car's discounts cannot lose each other.
//!
//! Stores written before: the index was one item per discount under
//! `keys::car_discounts` (read with a partition query). The first read or
//! change of a branch's index rebuilds it (`rebuild`): one item per car from
//! the old entries, then the `built` marker; until the marker exists nothing
//! trusts the per-car items, and once it exists nothing reads the old form.
//! A migration rather than a fallback to the query: with a fallback, a car
//! without any discount (most cars) could not be told from a car of the old
//! form, and would cost the query for ever.

use crate::keys;
use onecard_core::fields::normalize_plate;
use onecard_core::retry::{self, Step};
use onecard_core::store::{Cond, Item, Query, StoreError, Write, MAX_TRANSACTION_ITEMS};
use onecard_core::{ApiResult, Ctx};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const BUILT: &str = "built";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Coupon(String),
    Toll(i64),
    Plate(i64),
}

impl Entry {
    /// The entry as the item lists it; sorted, coupons come first, then plate
    /// discounts, then merchant discounts (the old index's key order, which
    /// decides which lines an order that cannot carry them all gets).
    fn suffix(&self) -> String {
        match self {
            Entry::Coupon(b) => format!("C#{b}"),
            Entry::Toll(id) => format!("T#{}", keys::id_sk(*id)),
            Entry::Plate(id) => format!("P#{}", keys::id_sk(*id)),
        }
    }

    fn parse(suffix: &str) -> Option<Entry> {
        let (kind, id) = suffix.split_once('#')?;
        match kind {
            "C" => Some(Entry::Coupon(id.to_string())),
            "T" => id.parse().ok().map(Entry::Toll),
            "P" => id.parse().ok().map(Entry::Plate),
            _ => None,
        }
    }
}

/// The car of a stay: its plate, or its entry for a card-only stay.
pub fn car_key(plate: &str, card_in_id: &str) -> String {
    match normalize_plate(plate) {
        p if p.is_empty() => format!("#{card_in_id}"),
        p => p,
    }
}

fn built_key(branch: &str) -> (String, String) {
    (keys::car_discount_sets_built(branch), BUILT.to_string())
}

/// What to read, in any batch, to know a car's discounts: its item and the
/// branch's `built` marker. `from_items` reads the answer.
pub fn wanted(branch: &str, car: &str) -> [(String, String); 2] {
    [(keys::car_discount_sets(branch), car.to_string()), built_key(branch)]
}

/// A car's discounts as read, to look at or to change in a transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct CarDiscounts {
    pub car: String,
    entries: BTreeSet<String>,
    /// None: the car has no item (no discounts).
    version: Option<u64>,
}

impl CarDiscounts {
    /// From the two items read at `wanted(branch, car)`, in that order. None
    /// while the branch's index is of the old form (`rebuild` first).
    pub fn from_items(car: &str, items: &[Option<Item>]) -> Result<Option<CarDiscounts>, StoreError> {
        let [item, built] = items else {
            return Err(StoreError::Backend(format!("{} items for a car's discounts, not 2", items.len())));
        };
        if built.is_none() {
            return Ok(None);
        }
        let entries = match item {
            Some(i) => i
                .body
                .get("entries")
                .and_then(Value::as_array)
                .ok_or_else(|| StoreError::Corrupt(format!("{}/{}: no entries", i.pk, i.sk)))?
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            None => BTreeSet::new(),
        };
        Ok(Some(CarDiscounts { car: car.to_string(), entries, version: item.as_ref().map(|i| i.version) }))
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.entries.iter().filter_map(|s| Entry::parse(s)).collect()
    }

    pub fn add(&mut self, e: &Entry) {
        self.entries.insert(e.suffix());
    }

    pub fn remove(&mut self, e: &Entry) {
        self.entries.remove(&e.suffix());
    }

    /// The write that stores the entries over the version read: a car left
    /// without discounts loses its item; None when there is nothing to store
    /// and nothing was there.
    pub fn write(&self, branch: &str) -> Option<Write> {
        let pk = keys::car_discount_sets(branch);
        match (self.entries.is_empty(), self.version) {
            (true, None) => None,
            (true, Some(v)) => Some(Write::delete(pk, self.car.clone(), Cond::VersionIs(v))),
            (false, v) => {
                let item = Item::new(pk, self.car.clone(), json!({ "entries": self.entries }));
                Some(match v {
                    Some(v) => Write::put(item.with_version(v + 1), Cond::VersionIs(v)),
                    None => Write::put(item.with_version(1), Cond::MustNotExist),
                })
            }
        }
    }
}

/// The discounts of `cars` (each once, in the order asked), in one batch get;
/// the branch's index is rebuilt first when it is still of the old form.
pub async fn load(ctx: &Ctx, branch: &str, cars: &[&str]) -> ApiResult<Vec<CarDiscounts>> {
    let mut cars: Vec<&str> = cars.to_vec();
    let mut seen = BTreeSet::new();
    cars.retain(|c| seen.insert(*c));
    for _ in 0..2 {
        let mut wanted_keys: Vec<(String, String)> = cars.iter().map(|c| (keys::car_discount_sets(branch), c.to_string())).collect();
        wanted_keys.push(built_key(branch));
        let mut items = ctx.store.get_many(&wanted_keys).await?;
        let built = items.pop().flatten();
        if built.is_none() {
            rebuild(ctx, branch).await?;
            continue;
        }
        let mut out = Vec::with_capacity(cars.len());
        for (car, item) in cars.iter().zip(items) {
            // Some: the marker was read present.
            out.extend(CarDiscounts::from_items(car, &[item, built.clone()])?);
        }
        return Ok(out);
    }
    Err(StoreError::Backend("the car discount index is still not built after rebuilding it".into()).into())
}

/// One car's discounts.
pub async fn of_car(ctx: &Ctx, branch: &str, car: &str) -> ApiResult<CarDiscounts> {
    let mut found = load(ctx, branch, &[car]).await?;
    found.pop().ok_or_else(|| StoreError::Backend("no answer for the car's discounts".into()).into())
}

/// A change of a car's discounts.
#[derive(Clone, Debug)]
pub enum Change {
    Add(String, Entry),
    Remove(String, Entry),
}

impl Change {
    fn car(&self) -> &str {
        match self {
            Change::Add(c, _) | Change::Remove(c, _) => c,
        }
    }
}

/// The writes that make `changes` (in order) to the cars' items, one write per
/// car, conditioned on what was read now: to join the transaction of the
/// discounts they index, inside its retry loop (a conflict means another
/// change of the car's discounts; the next attempt reads it).
pub async fn writes(ctx: &Ctx, branch: &str, changes: &[Change]) -> ApiResult<Vec<Write>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let cars: Vec<&str> = changes.iter().map(Change::car).collect();
    let mut read = load(ctx, branch, &cars).await?;
    for ch in changes {
        let Some(car) = read.iter_mut().find(|c| c.car == ch.car()) else { continue };
        match ch {
            Change::Add(_, e) => car.add(e),
            Change::Remove(_, e) => car.remove(e),
        }
    }
    Ok(read.iter().filter_map(|c| c.write(branch)).collect())
}

/// Splits a key of the old index, `{car}#{kind}#{id}`. The car may hold a
/// `#` (a card-only car is `#{cardInId}`), a barcode too: the kind is the
/// last `#T#`/`#P#` before a number, else the first `#C#` after the car's
/// first character.
fn split_old(sk: &str) -> Option<(String, String)> {
    if let Some((rest, id)) = sk.rsplit_once('#') {
        if let Some((car, kind)) = rest.rsplit_once('#') {
            if (kind == "T" || kind == "P") && !car.is_empty() && id.parse::<i64>().is_ok() {
                return Some((car.to_string(), format!("{kind}#{id}")));
            }
        }
    }
    let first = sk.chars().next()?.len_utf8();
    let at = sk[first..].find("#C#")? + first;
    let (car, suffix) = (&sk[..at], &sk[at + 1..]);
    Entry::parse(suffix).map(|_| (car.to_string(), suffix.to_string()))
}

/// Builds the per-car items from the old index, then writes the `built`
/// marker. Every transaction checks that the marker is still absent, so a
/// rebuild that lost a race never writes over a newer index; one that
/// conflicts starts again and skips the cars already built. The old items
/// are deleted once their car's item exists (nothing reads them after).
pub async fn rebuild(ctx: &Ctx, branch: &str) -> ApiResult<()> {
    let (bpk, bsk) = built_key(branch);
    retry::on_conflict("car discount index not rebuilt", || async {
        if ctx.store.get(&bpk, &bsk).await?.is_some() {
            return Ok(Step::Done(()));
        }
        let old = ctx.store.query_all(&Query::partition(keys::car_discounts(branch))).await?;
        let mut per_car: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for item in &old {
            match split_old(&item.sk) {
                Some((car, suffix)) => {
                    per_car.entry(car).or_default().insert(suffix);
                }
                None => tracing::warn!(branch, sk = %item.sk, "unreadable car discount index entry left out"),
            }
        }
        let pk = keys::car_discount_sets(branch);
        let wanted: Vec<(String, String)> = per_car.keys().map(|c| (pk.clone(), c.clone())).collect();
        let existing = ctx.store.get_many(&wanted).await?;
        // The cars' items before the old entries' deletes: a rebuild stopped
        // half-way leaves no car without its discounts.
        let mut writes: Vec<Write> = per_car
            .iter()
            .zip(&existing)
            .filter(|(_, have)| have.is_none())
            .map(|((car, entries), _)| Write::put(Item::new(pk.clone(), car.clone(), json!({ "entries": entries })).with_version(1), Cond::MustNotExist))
            .collect();
        writes.extend(old.iter().map(|i| Write::delete(i.pk.clone(), i.sk.clone(), Cond::None)));
        for chunk in writes.chunks(MAX_TRANSACTION_ITEMS - 1) {
            let mut tx = chunk.to_vec();
            tx.push(Write::check(bpk.clone(), bsk.clone(), Cond::MustNotExist));
            match ctx.store.transact(tx).await {
                Ok(()) => {}
                Err(e) if e.is_conflict() => return Ok(Step::Conflict),
                Err(e) => return Err(e.into()),
            }
        }
        let marker = Item::new(bpk.clone(), bsk.clone(), json!({ "cars": per_car.len() })).with_version(1);
        Step::of(ctx.store.put(marker, Cond::MustNotExist).await, ())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecard_core::memstore::MemStore;
    use onecard_core::sitelink::NoSites;
    use onecard_core::time::{parse, to_utc, FixedClock, DEFAULT_TZ};
    use onecard_core::Ports;
    use std::sync::Arc;

    #[test]
    fn entries_round_trip_and_cars_are_keyed() {
        for e in [Entry::Coupon("0012000001234".into()), Entry::Toll(7), Entry::Plate(12)] {
            assert_eq!(Entry::parse(&e.suffix()), Some(e));
        }
        assert_eq!(car_key(" 浙a 12345", "IN1"), "浙A12345");
        assert_eq!(car_key("", "IN1"), "#IN1");
    }

    #[test]
    fn old_keys_split_into_car_and_entry() {
        assert_eq!(split_old("浙A12345#C#0012000001234"), Some(("浙A12345".into(), "C#0012000001234".into())));
        assert_eq!(split_old("#IN1#T#0000000007"), Some(("#IN1".into(), "T#0000000007".into())));
        assert_eq!(split_old("#IN#P#1#P#0000000012"), Some(("#IN#P#1".into(), "P#0000000012".into())));
        assert_eq!(split_old("#IN1#C#AB#9"), Some(("#IN1".into(), "C#AB#9".into())));
        assert_eq!(split_old("浙A12345"), None);
    }

    fn ctx() -> Ctx {
        let dir = std::env::temp_dir().join(format!("onecard-carindex-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let queue = Arc::new(onecard_adapters::embedded_queue::EmbeddedQueue::open(&dir.join("queue.db")).unwrap());
        let clock = FixedClock::new(to_utc(parse("2026-03-02 12:00:00").unwrap(), DEFAULT_TZ));
        Ctx::new(Ports { store: Arc::new(MemStore::new()), queue, sites: Arc::new(NoSites), clock })
    }

    async fn apply(ctx: &Ctx, changes: &[Change]) {
        let w = writes(ctx, "B1", changes).await.unwrap();
        ctx.store.transact(w).await.unwrap();
    }

    #[tokio::test]
    async fn changes_keep_one_item_per_car_and_remove_it_when_empty() {
        let ctx = ctx();
        let car = "浙A12345".to_string();
        apply(&ctx, &[Change::Add(car.clone(), Entry::Toll(3)), Change::Add(car.clone(), Entry::Coupon("77".into()))]).await;
        apply(&ctx, &[Change::Add(car.clone(), Entry::Plate(5))]).await;
        let found = of_car(&ctx, "B1", &car).await.unwrap();
        assert_eq!(found.entries(), vec![Entry::Coupon("77".into()), Entry::Plate(5), Entry::Toll(3)]);
        // A stale read loses: its write is conditioned on the version it read.
        let mut stale = found.clone();
        apply(&ctx, &[Change::Remove(car.clone(), Entry::Toll(3))]).await;
        stale.add(&Entry::Toll(9));
        assert!(ctx.store.transact(vec![stale.write("B1").unwrap()]).await.unwrap_err().is_conflict());
        apply(&ctx, &[Change::Remove(car.clone(), Entry::Coupon("77".into())), Change::Remove(car.clone(), Entry::Plate(5))]).await;
        assert!(of_car(&ctx, "B1", &car).await.unwrap().entries().is_empty());
        assert!(ctx.store.get(&keys::car_discount_sets("B1"), &car).await.unwrap().is_none(), "an empty car keeps no item");
    }

    /// A store of the old form (one item per discount) answers the same after
    /// the rebuild its first read makes; the old items are gone.
    #[tokio::test]
    async fn an_old_index_is_rebuilt_on_first_read() {
        let ctx = ctx();
        let old = keys::car_discounts("B1");
        for sk in ["浙A12345#C#0012000001234", "浙A12345#P#0000000012", "#IN1#T#0000000007", "浙B00001#T#0000000008"] {
            ctx.store.put(Item::new(old.clone(), sk, json!({})), Cond::None).await.unwrap();
        }
        let cars = load(&ctx, "B1", &["浙A12345", "#IN1", "浙C99999"]).await.unwrap();
        assert_eq!(cars[0].entries(), vec![Entry::Coupon("0012000001234".into()), Entry::Plate(12)]);
        assert_eq!(cars[1].entries(), vec![Entry::Toll(7)]);
        assert!(cars[2].entries().is_empty());
        assert_eq!(of_car(&ctx, "B1", "浙B00001").await.unwrap().entries(), vec![Entry::Toll(8)]);
        assert!(ctx.store.query_all(&Query::partition(old)).await.unwrap().is_empty());
        // Built once: a second rebuild changes nothing.
        rebuild(&ctx, "B1").await.unwrap();
        assert_eq!(of_car(&ctx, "B1", "#IN1").await.unwrap().entries(), vec![Entry::Toll(7)]);
    }

    /// A rebuild that finds a car already built (by a rebuild that stopped
    /// half-way) keeps that car's item and still clears the old entries.
    #[tokio::test]
    async fn a_rebuild_stopped_half_way_is_finished() {
        let ctx = ctx();
        let old = keys::car_discounts("B1");
        ctx.store.put(Item::new(old.clone(), "浙A12345#T#0000000001", json!({})), Cond::None).await.unwrap();
        ctx.store.put(Item::new(old.clone(), "浙B12345#T#0000000002", json!({})), Cond::None).await.unwrap();
        let first = Item::new(keys::car_discount_sets("B1"), "浙A12345", json!({"entries": ["T#0000000001"]})).with_version(1);
        ctx.store.put(first, Cond::MustNotExist).await.unwrap();
        rebuild(&ctx, "B1").await.unwrap();
        let cars = load(&ctx, "B1", &["浙A12345", "浙B12345"]).await.unwrap();
        assert_eq!((cars[0].entries(), cars[1].entries()), (vec![Entry::Toll(1)], vec![Entry::Toll(2)]));
        assert!(ctx.store.query_all(&Query::partition(old)).await.unwrap().is_empty());
    }
}
