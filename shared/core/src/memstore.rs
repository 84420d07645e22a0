//! An in-memory `ItemStore` for unit tests: the whole contract (conditions,
//! versions, TTL on read, ranges, order, limits and cursors) on a `BTreeMap`,
//! with counters of round trips so a test can prove what a route does to the
//! store (a read route writes nothing; `calc` takes at most N round trips).

use crate::store::{Cond, Item, ItemStore, Page, Query, SkRange, StoreError, StoreResult, Write};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
pub struct MemStore {
    items: Mutex<BTreeMap<(String, String), Item>>,
    reads: AtomicU64,
    writes: AtomicU64,
}

/// Round trips so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// `get` and `query` calls.
    pub reads: u64,
    /// `put`, `delete` and `transact` calls (a transaction is one).
    pub writes: u64,
}

impl MemStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn counts(&self) -> Counts {
        Counts { reads: self.reads.load(Ordering::SeqCst), writes: self.writes.load(Ordering::SeqCst) }
    }

    pub fn len(&self) -> usize {
        self.items.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn now() -> i64 {
        crate::store::now_unix()
    }

    fn live(item: &Item) -> bool {
        item.ttl.is_none_or(|t| t > Self::now())
    }

    fn apply(&self, writes: Vec<Write>) -> StoreResult<()> {
        let mut m = self.items.lock().unwrap_or_else(|e| e.into_inner());
        for (i, w) in writes.iter().enumerate() {
            let (pk, sk) = w.key();
            let cur = m.get(&(pk.to_string(), sk.to_string())).filter(|c| Self::live(c));
            let cond = match w {
                Write::Put { cond, .. } | Write::Delete { cond, .. } | Write::Check { cond, .. } => cond,
            };
            let ok = match cond {
                Cond::None => true,
                Cond::MustNotExist => cur.is_none(),
                Cond::MustExist => cur.is_some(),
                Cond::VersionIs(v) => cur.is_some_and(|c| c.version == *v),
            };
            if !ok {
                return Err(StoreError::TransactionCancelled { index: Some(i) });
            }
        }
        for w in writes {
            match w {
                Write::Put { item, .. } => {
                    m.insert((item.pk.clone(), item.sk.clone()), item);
                }
                Write::Delete { pk, sk, .. } => {
                    m.remove(&(pk, sk));
                }
                Write::Check { .. } => {}
            }
        }
        Ok(())
    }
}

fn single(r: StoreResult<()>) -> StoreResult<()> {
    r.map_err(|e| if e.is_conflict() { StoreError::ConditionFailed } else { e })
}

#[async_trait]
impl ItemStore for MemStore {
    async fn get(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let m = self.items.lock().unwrap_or_else(|e| e.into_inner());
        Ok(m.get(&(pk.to_string(), sk.to_string())).filter(|i| Self::live(i)).cloned())
    }

    /// One round trip, like DynamoDB's BatchGetItem.
    async fn get_many(&self, keys: &[(String, String)]) -> StoreResult<Vec<Option<Item>>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let m = self.items.lock().unwrap_or_else(|e| e.into_inner());
        Ok(keys.iter().map(|k| m.get(k).filter(|i| Self::live(i)).cloned()).collect())
    }

    async fn put(&self, item: Item, cond: Cond) -> StoreResult<()> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        single(self.apply(vec![Write::put(item, cond)]))
    }

    async fn delete(&self, pk: &str, sk: &str, cond: Cond) -> StoreResult<()> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        single(self.apply(vec![Write::delete(pk, sk, cond)]))
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let m = self.items.lock().unwrap_or_else(|e| e.into_inner());
        let in_range = |sk: &str| match &q.range {
            SkRange::All => true,
            SkRange::Prefix(p) => sk.starts_with(p.as_str()),
            SkRange::Between(lo, hi) => sk >= lo.as_str() && sk <= hi.as_str(),
        };
        let mut items: Vec<Item> =
            m.values().filter(|i| i.pk == q.pk && in_range(&i.sk) && Self::live(i)).cloned().collect();
        if !q.forward {
            items.reverse();
        }
        if let Some(c) = &q.cursor {
            items.retain(|i| if q.forward { i.sk.as_str() > c.as_str() } else { i.sk.as_str() < c.as_str() });
        }
        let cursor = match q.limit {
            Some(n) if items.len() > n => {
                items.truncate(n);
                items.last().map(|i| i.sk.clone())
            }
            _ => None,
        };
        Ok(Page { items, cursor })
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        // The real stores refuse what DynamoDB refuses; so must the stand-in,
        // or a unit test passes a transaction production would reject.
        crate::store::validate_transaction(&writes)?;
        self.apply(writes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn conditions_ranges_and_counts() {
        let s = MemStore::new();
        s.put(Item::new("p", "a", json!(1)), Cond::MustNotExist).await.unwrap();
        assert_eq!(s.put(Item::new("p", "a", json!(2)), Cond::MustNotExist).await, Err(StoreError::ConditionFailed));
        s.put(Item::new("p", "b", json!(2)), Cond::None).await.unwrap();
        s.put(Item::new("p", "c", json!(3)).with_ttl(1), Cond::None).await.unwrap();
        let page = s.query(&Query::partition("p").limit(1)).await.unwrap();
        assert_eq!(page.items.len(), 1);
        let rest = s.query(&Query::partition("p").after(page.cursor)).await.unwrap();
        assert_eq!(rest.items.iter().map(|i| i.sk.as_str()).collect::<Vec<_>>(), vec!["b"]);
        assert!(s.get("p", "c").await.unwrap().is_none(), "expired items are hidden");
        assert_eq!(s.counts(), Counts { reads: 3, writes: 4 });
        let got = s.get_many(&[("p".into(), "b".into()), ("p".into(), "zz".into()), ("p".into(), "a".into())]).await.unwrap();
        assert_eq!(got.iter().map(|i| i.as_ref().map(|i| i.sk.as_str())).collect::<Vec<_>>(), vec![Some("b"), None, Some("a")]);
        assert_eq!(s.counts().reads, 4, "a batch get is one round trip");
    }
}
