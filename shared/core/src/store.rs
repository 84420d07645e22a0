//! The item store port, modelled on DynamoDB's item API so that the DynamoDB
//! adapter is a thin translation and the embedded adapter has to honour the same
//! contract (one contract test suite runs against both).
//!
//! Every item lives under a partition key `pk` and a sort key `sk`. The body is a
//! JSON document. `version` supports optimistic concurrency: a writer that read
//! version `v` writes with `Cond::VersionIs(v)` and a new version; whoever loses
//! the race gets `StoreError::ConditionFailed` and must re-read.

use async_trait::async_trait;
use serde_json::Value;

/// DynamoDB refuses transactions with more than this many actions; so do we.
pub const MAX_TRANSACTION_ITEMS: usize = 25;

#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub pk: String,
    pub sk: String,
    /// Optimistic-concurrency counter, chosen by the writer.
    pub version: u64,
    /// Unix seconds after which the item may be removed. Reads hide expired items
    /// (DynamoDB's TTL sweeper is lazy, so the adapters filter on read).
    pub ttl: Option<i64>,
    pub body: Value,
}

impl Item {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>, body: Value) -> Self {
        Item { pk: pk.into(), sk: sk.into(), version: 1, ttl: None, body }
    }
    pub fn with_ttl(mut self, ttl: i64) -> Self {
        self.ttl = Some(ttl);
        self
    }
    pub fn with_version(mut self, v: u64) -> Self {
        self.version = v;
        self
    }
    /// Deserialise the body into a domain record (read in place: no copy of
    /// the body's tree).
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, StoreError> {
        T::deserialize(&self.body)
            .map_err(|e| StoreError::Corrupt(format!("{}/{}: {e}", self.pk, self.sk)))
    }
}

/// A write condition, evaluated atomically with the write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    None,
    /// `attribute_not_exists(pk)`: creation that must not overwrite.
    MustNotExist,
    /// `attribute_exists(pk)`.
    MustExist,
    /// The stored item exists and has this version.
    VersionIs(u64),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    Put { item: Item, cond: Cond },
    Delete { pk: String, sk: String, cond: Cond },
    /// A condition on an item that is not written (DynamoDB's ConditionCheck).
    Check { pk: String, sk: String, cond: Cond },
}

impl Write {
    pub fn put(item: Item, cond: Cond) -> Self {
        Write::Put { item, cond }
    }
    pub fn delete(pk: impl Into<String>, sk: impl Into<String>, cond: Cond) -> Self {
        Write::Delete { pk: pk.into(), sk: sk.into(), cond }
    }
    pub fn check(pk: impl Into<String>, sk: impl Into<String>, cond: Cond) -> Self {
        Write::Check { pk: pk.into(), sk: sk.into(), cond }
    }
    pub fn key(&self) -> (&str, &str) {
        match self {
            Write::Put { item, .. } => (&item.pk, &item.sk),
            Write::Delete { pk, sk, .. } | Write::Check { pk, sk, .. } => (pk, sk),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkRange {
    All,
    Prefix(String),
    /// Inclusive on both ends, like DynamoDB's BETWEEN.
    Between(String, String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub pk: String,
    pub range: SkRange,
    /// Ascending sort-key order when true.
    pub forward: bool,
    pub limit: Option<usize>,
    /// Opaque position returned by the previous page.
    pub cursor: Option<String>,
}

impl Query {
    pub fn partition(pk: impl Into<String>) -> Self {
        Query { pk: pk.into(), range: SkRange::All, forward: true, limit: None, cursor: None }
    }
    pub fn prefix(pk: impl Into<String>, prefix: impl Into<String>) -> Self {
        Query { range: SkRange::Prefix(prefix.into()), ..Query::partition(pk) }
    }
    pub fn between(pk: impl Into<String>, lo: impl Into<String>, hi: impl Into<String>) -> Self {
        Query { range: SkRange::Between(lo.into(), hi.into()), ..Query::partition(pk) }
    }
    pub fn backward(mut self) -> Self {
        self.forward = false;
        self
    }
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }
    pub fn after(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor;
        self
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    /// Present when more items may follow.
    pub cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("condition failed")]
    ConditionFailed,
    /// A transaction was refused; `index` names the first write whose condition
    /// failed when the backend can tell.
    #[error("transaction cancelled (write {index:?})")]
    TransactionCancelled { index: Option<usize> },
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("corrupt item {0}")]
    Corrupt(String),
    #[error("store backend: {0}")]
    Backend(String),
    /// The backend refused for load (DynamoDB's throughput and request-rate
    /// limits). Not a conflict: re-reading does not help, waiting does. The
    /// adapter has already retried with backoff before answering this.
    #[error("store throttled: {0}")]
    Throttled(String),
}

impl StoreError {
    /// True for the errors a concurrent writer causes (retry after re-reading).
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::ConditionFailed | StoreError::TransactionCancelled { .. })
    }
    pub fn is_throttled(&self) -> bool {
        matches!(self, StoreError::Throttled(_))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait ItemStore: Send + Sync + 'static {
    async fn get(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>>;

    /// `get` for an item that is only read (configuration, every request): a
    /// cache hands over the copy it keeps instead of a clone of its tree.
    async fn get_shared(&self, pk: &str, sk: &str) -> StoreResult<Option<std::sync::Arc<Item>>> {
        Ok(self.get(pk, sk).await?.map(std::sync::Arc::new))
    }
    async fn put(&self, item: Item, cond: Cond) -> StoreResult<()>;
    async fn delete(&self, pk: &str, sk: &str, cond: Cond) -> StoreResult<()>;
    async fn query(&self, q: &Query) -> StoreResult<Page>;
    /// All-or-nothing; at most `MAX_TRANSACTION_ITEMS` writes, each key at most once.
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()>;

    /// A conditional put whose sender only needs it decided and ordered: it
    /// answers once the condition is judged and the put is placed before
    /// every later write of this store, which becomes durable only together
    /// with it (the embedded store's single writer). The replay claim of a
    /// signed request uses it, so a write request waits for one durable
    /// commit, its own. A store that cannot promise the order waits for the
    /// put to be durable: the default.
    async fn put_decided(&self, item: Item, cond: Cond) -> StoreResult<()> {
        self.put(item, cond).await
    }

    /// An unconditional put that need not be waited for, only ordered before
    /// every later write (a remembered answer: whoever asks for it next
    /// writes first). The default waits: on DynamoDB nothing orders two calls,
    /// and a Lambda is frozen as soon as it answers.
    async fn put_behind(&self, item: Item) -> StoreResult<()> {
        self.put(item, Cond::None).await
    }

    /// True when this store puts an outbox item (`events::outbox_write`) onto
    /// the event queue itself, in the item's transaction (the embedded store
    /// and queue in one database): then there is nothing to publish after the
    /// commit.
    fn delivers_outbox(&self) -> bool {
        false
    }

    /// Several items by key, in the order asked (`None` for an absent or
    /// expired one), in one round trip where the backend can (DynamoDB's
    /// BatchGetItem, one SQLite lock); the default reads them one by one.
    async fn get_many(&self, keys: &[(String, String)]) -> StoreResult<Vec<Option<Item>>> {
        let mut out = Vec::with_capacity(keys.len());
        for (pk, sk) in keys {
            out.push(self.get(pk, sk).await?);
        }
        Ok(out)
    }

    /// Every item of a query, following cursors.
    async fn query_all(&self, q: &Query) -> StoreResult<Vec<Item>> {
        let mut out = Vec::new();
        let mut q = q.clone();
        loop {
            let page = self.query(&q).await?;
            out.extend(page.items);
            if let Some(lim) = q.limit {
                if out.len() >= lim {
                    out.truncate(lim);
                    return Ok(out);
                }
            }
            match page.cursor {
                Some(c) => q.cursor = Some(c),
                None => return Ok(out),
            }
        }
    }
}

/// Checks the shape rules both adapters share, so they refuse the same requests.
pub fn validate_transaction(writes: &[Write]) -> StoreResult<()> {
    if writes.is_empty() {
        return Err(StoreError::Invalid("empty transaction".into()));
    }
    if writes.len() > MAX_TRANSACTION_ITEMS {
        return Err(StoreError::Invalid(format!(
            "{} writes; a transaction holds at most {MAX_TRANSACTION_ITEMS}",
            writes.len()
        )));
    }
    let mut keys: Vec<(&str, &str)> = writes.iter().map(Write::key).collect();
    keys.sort();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(StoreError::Invalid("a transaction names one item twice".into()));
    }
    Ok(())
}

/// The store's own clock, deliberately real time and not the process clock
/// (`time::now()`): TTLs are read against it, as DynamoDB's sweeper does, so a
/// test server moved ahead cannot expire what the real store would keep.
pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}
