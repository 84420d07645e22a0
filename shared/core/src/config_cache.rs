//! A read-through cache of configuration items in front of the item store.
//!
//! Every request reads its caller and branch, and `calc` its car type and
//! tariffs: small items that change rarely, read thousands of times a second.
//! The cache answers those reads from memory for a short TTL.
//!
//! Freshness: a change written through this store (the same process) drops
//! the whole partition it touches before the write returns, so in-process
//! changes are seen at once. A change from another process (an admin command
//! while `onecard serve` runs, another Lambda instance) is seen after at most
//! the TTL. A conditional write that fails on a cached partition also drops it,
//! so an optimistic retry re-reads the item instead of its cached version.
//! Misses of a caller or branch are not cached: one created a moment ago by
//! an admin command must work at once. Misses in a branch's configuration
//! (no tariff of its own for an area, no booking configuration) are, for the
//! TTL like any change from another process: `calc` looks for an area's own
//! tariff before the park-wide one on every request.

use crate::store::{Item, ItemStore, Page, Query, StoreResult, Write, Cond};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Long enough to serve thousands of requests per read, short enough that an
/// admin command from another process takes effect before anyone retries.
pub const DEFAULT_TTL: Duration = Duration::from_secs(1);

/// Which partitions hold configuration: a fixed key prefix (`cfg#`) or a
/// branch partition kind (`b#{branch}#{kind}`).
#[derive(Clone, Debug)]
pub struct ConfigPartitions {
    prefixes: Vec<&'static str>,
    branch_kinds: Vec<&'static str>,
}

impl ConfigPartitions {
    pub fn new(prefixes: &[&'static str], branch_kinds: &[&'static str]) -> Self {
        ConfigPartitions { prefixes: prefixes.to_vec(), branch_kinds: branch_kinds.to_vec() }
    }

    /// Callers, branches, site agents; car types, tariffs, the booking
    /// configuration (6.3 reads it on every call), discount sets and discount
    /// settings of every branch.
    pub fn standard() -> Self {
        Self::new(&["cfg#"], &["cartype", "ttariff", "mtariff", "bookingcfg", "dset", "discset"])
    }

    fn holds(&self, pk: &str) -> bool {
        self.prefixes.iter().any(|p| pk.starts_with(p)) || self.is_branch_config(pk)
    }

    /// `b#{branch}#{kind}`: the kind is everything after the second '#'.
    fn is_branch_config(&self, pk: &str) -> bool {
        pk.strip_prefix("b#").and_then(|rest| rest.split_once('#')).is_some_and(|(_, kind)| self.branch_kinds.contains(&kind))
    }
}

#[derive(Clone)]
enum Cached {
    /// Shared: a `get_shared` hands it over as it is.
    Item(Arc<Item>),
    /// Known absent (branch configuration only, see the module doc).
    Absent,
    Page(Page),
}

struct Entry {
    at: Instant,
    value: Cached,
}

#[derive(Default)]
struct Partition {
    gets: HashMap<String, Entry>,
    queries: HashMap<QueryKey, Entry>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct QueryKey(String);

impl QueryKey {
    fn of(q: &Query) -> Self {
        QueryKey(format!("{:?}|{}|{:?}|{:?}", q.range, q.forward, q.limit, q.cursor))
    }
}

#[derive(Default)]
struct State {
    parts: HashMap<String, Partition>,
    /// Bumped by every invalidation, so that a read that started before a
    /// change cannot put the old value back into the cache after it.
    generation: u64,
}

pub struct ConfigCache {
    inner: Arc<dyn ItemStore>,
    parts: ConfigPartitions,
    ttl: Duration,
    state: Mutex<State>,
}

impl ConfigCache {
    pub fn new(inner: Arc<dyn ItemStore>, parts: ConfigPartitions, ttl: Duration) -> Self {
        ConfigCache { inner, parts, ttl, state: Mutex::new(State::default()) }
    }

    /// The standard partitions with the default TTL.
    pub fn standard(inner: Arc<dyn ItemStore>) -> Arc<dyn ItemStore> {
        Arc::new(ConfigCache::new(inner, ConfigPartitions::standard(), DEFAULT_TTL))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(&self, e: &Entry) -> bool {
        e.at.elapsed() < self.ttl
    }

    fn invalidate<'a>(&self, pks: impl Iterator<Item = &'a str>) {
        let mut touched = false;
        let mut st = self.lock();
        for pk in pks.filter(|pk| self.parts.holds(pk)) {
            st.parts.remove(pk);
            touched = true;
        }
        if touched {
            st.generation += 1;
        }
    }

    /// Writes go to the store first; the partition is dropped afterwards too,
    /// so a read racing the write cannot keep the old value (the generation
    /// check refuses its insert).
    async fn write<T>(&self, pks: Vec<String>, f: impl std::future::Future<Output = StoreResult<T>>) -> StoreResult<T> {
        self.invalidate(pks.iter().map(String::as_str));
        let r = f.await;
        self.invalidate(pks.iter().map(String::as_str));
        r
    }
}

#[async_trait]
impl ItemStore for ConfigCache {
    async fn get(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        if !self.parts.holds(pk) {
            return self.inner.get(pk, sk).await;
        }
        Ok(self.get_shared(pk, sk).await?.map(Arc::unwrap_or_clone))
    }

    async fn get_shared(&self, pk: &str, sk: &str) -> StoreResult<Option<Arc<Item>>> {
        if !self.parts.holds(pk) {
            return self.inner.get_shared(pk, sk).await;
        }
        let generation = {
            let st = self.lock();
            match st.parts.get(pk).and_then(|p| p.gets.get(sk)).filter(|e| self.fresh(e)).map(|e| &e.value) {
                Some(Cached::Item(item)) => return Ok(Some(item.clone())),
                Some(Cached::Absent) => return Ok(None),
                _ => {}
            }
            st.generation
        };
        let got = self.inner.get(pk, sk).await?.map(Arc::new);
        let value = match &got {
            Some(item) => Some(Cached::Item(item.clone())),
            None if self.parts.is_branch_config(pk) => Some(Cached::Absent),
            None => None,
        };
        if let Some(value) = value {
            let mut st = self.lock();
            if st.generation == generation {
                let entry = Entry { at: Instant::now(), value };
                st.parts.entry(pk.to_string()).or_default().gets.insert(sk.to_string(), entry);
            }
        }
        Ok(got)
    }

    async fn put(&self, item: Item, cond: Cond) -> StoreResult<()> {
        let pks = vec![item.pk.clone()];
        self.write(pks, self.inner.put(item, cond)).await
    }

    async fn delete(&self, pk: &str, sk: &str, cond: Cond) -> StoreResult<()> {
        self.write(vec![pk.to_string()], self.inner.delete(pk, sk, cond)).await
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        if !self.parts.holds(&q.pk) {
            return self.inner.query(q).await;
        }
        let key = QueryKey::of(q);
        let generation = {
            let st = self.lock();
            if let Some(Entry { value: Cached::Page(page), .. }) = st.parts.get(&q.pk).and_then(|p| p.queries.get(&key)).filter(|e| self.fresh(e)) {
                return Ok(page.clone());
            }
            st.generation
        };
        let page = self.inner.query(q).await?;
        let mut st = self.lock();
        if st.generation == generation {
            let entry = Entry { at: Instant::now(), value: Cached::Page(page.clone()) };
            st.parts.entry(q.pk.clone()).or_default().queries.insert(key, entry);
        }
        Ok(page)
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        let pks: Vec<String> = writes.iter().map(|w| w.key().0.to_string()).collect();
        self.write(pks, self.inner.transact(writes)).await
    }

    async fn put_decided(&self, item: Item, cond: Cond) -> StoreResult<()> {
        let pks = vec![item.pk.clone()];
        self.write(pks, self.inner.put_decided(item, cond)).await
    }

    async fn put_behind(&self, item: Item) -> StoreResult<()> {
        let pks = vec![item.pk.clone()];
        self.write(pks, self.inner.put_behind(item)).await
    }

    fn delivers_outbox(&self) -> bool {
        self.inner.delivers_outbox()
    }

    async fn get_many(&self, keys: &[(String, String)]) -> StoreResult<Vec<Option<Item>>> {
        // Only a batch with no configuration in it goes straight through;
        // otherwise each key takes the cached path (configuration is read
        // one item at a time anyway).
        if keys.iter().all(|(pk, _)| !self.parts.holds(pk)) {
            return self.inner.get_many(keys).await;
        }
        let mut out = Vec::with_capacity(keys.len());
        for (pk, sk) in keys {
            out.push(self.get(pk, sk).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memstore::MemStore;
    use serde_json::json;

    fn cached(ttl: Duration) -> (Arc<MemStore>, ConfigCache) {
        let mem = Arc::new(MemStore::new());
        let inner: Arc<dyn ItemStore> = mem.clone();
        (mem, ConfigCache::new(inner, ConfigPartitions::standard(), ttl))
    }

    #[tokio::test]
    async fn config_reads_are_served_from_memory() {
        let (mem, c) = cached(Duration::from_secs(60));
        c.put(Item::new("cfg#caller", "demo", json!({"n": 1})), Cond::None).await.unwrap();
        let before = mem.counts().reads;
        for _ in 0..10 {
            assert_eq!(c.get("cfg#caller", "demo").await.unwrap().unwrap().body, json!({"n": 1}));
            assert_eq!(c.query(&Query::partition("b#1001#ttariff")).await.unwrap().items.len(), 0);
        }
        assert_eq!(mem.counts().reads - before, 2, "one get and one query reached the store");
    }

    #[tokio::test]
    async fn branch_config_misses_are_cached_until_a_change() {
        let (mem, c) = cached(Duration::from_secs(60));
        let before = mem.counts().reads;
        for _ in 0..3 {
            assert!(c.get("b#1001#ttariff", "A1#1").await.unwrap().is_none());
            assert!(c.get("cfg#caller", "new").await.unwrap().is_none());
        }
        assert_eq!(mem.counts().reads - before, 4, "the tariff miss once, the caller miss every time");
        c.put(Item::new("b#1001#ttariff", "A1#1", json!(1)), Cond::None).await.unwrap();
        assert!(c.get("b#1001#ttariff", "A1#1").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn business_items_are_never_cached() {
        let (mem, c) = cached(Duration::from_secs(60));
        c.put(Item::new("b#1001#order", "1", json!(1)), Cond::None).await.unwrap();
        let before = mem.counts().reads;
        for _ in 0..3 {
            c.get("b#1001#order", "1").await.unwrap();
        }
        assert_eq!(mem.counts().reads - before, 3);
    }

    #[tokio::test]
    async fn a_change_through_the_cache_is_seen_at_once() {
        let (_, c) = cached(Duration::from_secs(60));
        c.put(Item::new("cfg#branch", "1001", json!({"v": 1})), Cond::None).await.unwrap();
        assert_eq!(c.get("cfg#branch", "1001").await.unwrap().unwrap().body["v"], 1);
        assert_eq!(c.query(&Query::partition("cfg#branch")).await.unwrap().items.len(), 1);
        c.transact(vec![
            Write::put(Item::new("cfg#branch", "1001", json!({"v": 2})), Cond::None),
            Write::put(Item::new("cfg#branch", "1002", json!({"v": 1})), Cond::None),
        ])
        .await
        .unwrap();
        assert_eq!(c.get("cfg#branch", "1001").await.unwrap().unwrap().body["v"], 2);
        assert_eq!(c.query(&Query::partition("cfg#branch")).await.unwrap().items.len(), 2);
        c.delete("cfg#branch", "1001", Cond::None).await.unwrap();
        assert!(c.get("cfg#branch", "1001").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_change_from_elsewhere_is_seen_after_the_ttl() {
        let (mem, c) = cached(Duration::from_millis(50));
        mem.put(Item::new("cfg#caller", "demo", json!({"enabled": true})), Cond::None).await.unwrap();
        assert_eq!(c.get("cfg#caller", "demo").await.unwrap().unwrap().body["enabled"], true);
        // Another process disables the caller, behind the cache's back.
        mem.put(Item::new("cfg#caller", "demo", json!({"enabled": false})), Cond::None).await.unwrap();
        assert_eq!(c.get("cfg#caller", "demo").await.unwrap().unwrap().body["enabled"], true, "within the TTL");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(c.get("cfg#caller", "demo").await.unwrap().unwrap().body["enabled"], false);
    }

    #[tokio::test]
    async fn misses_are_not_cached() {
        let (mem, c) = cached(Duration::from_secs(60));
        assert!(c.get("cfg#caller", "new").await.unwrap().is_none());
        mem.put(Item::new("cfg#caller", "new", json!({})), Cond::None).await.unwrap();
        assert!(c.get("cfg#caller", "new").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_failed_conditional_write_drops_the_stale_version() {
        let (mem, c) = cached(Duration::from_secs(60));
        mem.put(Item::new("b#1001#cartype", "1", json!({})).with_version(1), Cond::None).await.unwrap();
        assert_eq!(c.get("b#1001#cartype", "1").await.unwrap().unwrap().version, 1);
        mem.put(Item::new("b#1001#cartype", "1", json!({})).with_version(2), Cond::None).await.unwrap();
        let stale = c.put(Item::new("b#1001#cartype", "1", json!({})).with_version(2), Cond::VersionIs(1)).await;
        assert!(stale.is_err());
        assert_eq!(c.get("b#1001#cartype", "1").await.unwrap().unwrap().version, 2, "the retry reads the new version");
    }
}
