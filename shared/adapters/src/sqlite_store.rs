//! The embedded item store: one SQLite table honouring the same contract as
//! the DynamoDB adapter (the contract tests run against both).

use crate::{cursor, db};
use async_trait::async_trait;
use onecard_core::store::{
    now_unix, validate_transaction, Cond, Item, ItemStore, Page, Query, SkRange, StoreError,
    StoreResult, Write,
};
use rusqlite::types::Value as SqlValue;
use crate::sqlite_writer::{Mode, Writer};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    version INTEGER NOT NULL,
    ttl INTEGER,
    body TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;";

/// Writes go to the group-commit writer (one connection, one thread, many
/// requests per fsync); reads use connections of their own, which in WAL mode
/// see the last committed state and never wait for the writer.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
    readers: std::sync::Arc<[db::Shared]>,
    next_reader: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Set once an `EmbeddedQueue` lives in this database (`on_store`): outbox
    /// items then go onto that queue in their own transaction, and this wakes
    /// its receivers.
    outbox_queue: std::sync::Arc<std::sync::OnceLock<std::sync::Arc<tokio::sync::Notify>>>,
}

/// Outbox partitions (`events::outbox_pk`): a put there is an event to deliver.
const OUTBOX_PREFIX: &str = "outbox#";

/// The automatic checkpoint only past 64 MiB of WAL (16,384 pages of 4 KiB),
/// as a bound should the checkpointer lag.
const WRITER_PRAGMAS: &str = "PRAGMA wal_autocheckpoint=16384;";

/// The writer's page cache, `ONECARD_SQLITE_WRITER_CACHE_MIB`, 64 MiB by default.
fn writer_cache_pragma() -> String {
    let mib = std::env::var("ONECARD_SQLITE_WRITER_CACHE_MIB").ok().and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(64);
    format!("PRAGMA cache_size=-{};", mib * 1024)
}

/// Enough for the blocking pool to read on both cores while a third request
/// holds a connection between its statements.
const READERS: usize = 4;

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = db::open(path).map_err(StoreError::Backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        // The writer thread is the embedded store's bottleneck under load
        // (issue 11's profile: a saturated core, 12% of it in the automatic
        // checkpoint and 9.5% re-reading pages its 2 MB cache had dropped).
        // It keeps a larger cache and leaves checkpoints to a thread of their
        // own, checkpointing itself only if that thread falls far behind.
        conn.execute_batch(WRITER_PRAGMAS).map_err(backend)?;
        conn.execute_batch(&writer_cache_pragma()).map_err(backend)?;
        // Its statements (items, conditions, savepoints, the embedded queue's)
        // are more than rusqlite's default cache of 16 keeps.
        conn.set_prepared_statement_cache_capacity(64);
        let checkpoints = db::open(path).map_err(StoreError::Backend)?;
        let readers = (0..READERS)
            .map(|_| db::open_reader(path).map(db::Shared::new).map_err(StoreError::Backend))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SqliteStore {
            writer: Writer::start(conn).with_checkpointer(checkpoints),
            readers: readers.into(),
            next_reader: Default::default(),
            outbox_queue: Default::default(),
        })
    }

    pub(crate) fn writer(&self) -> Writer {
        self.writer.clone()
    }

    /// From now on an outbox put is a message on the queue of this database
    /// (whose table exists: the queue made it), woken through `published`.
    pub(crate) fn deliver_outbox_to(&self, published: std::sync::Arc<tokio::sync::Notify>) {
        let _ = self.outbox_queue.set(published);
    }

    /// Group transactions committed by this handle's writer so far.
    pub fn group_commits(&self) -> u64 {
        self.writer.commits()
    }

    /// Removes expired items for good (reads already hide them). Returns how many.
    pub async fn purge_expired(&self) -> StoreResult<usize> {
        let n = self
            .writer
            .write(Box::new(|c: &Connection| {
                c.execute("DELETE FROM items WHERE ttl IS NOT NULL AND ttl < ?1", [now_unix()]).map(Ok).map_err(backend)
            }))
            .await?;
        Ok(n.unwrap_or(0))
    }

    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let i = self.next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.readers.len();
        self.readers[i].run(f, StoreError::Backend).await
    }

    /// A read of items by key on the calling task, when a reader connection
    /// is free at once (`None` when all are busy: then `read`). One B-tree
    /// descent in a page-cached table takes a few microseconds, less than the
    /// blocking pool's hand-off (a thread woken to run it, the task woken to
    /// resume): futex wake-ups and context switches were a third of the
    /// server's samples under 6.3 and 6.9. A query is read here within a
    /// row budget (`INLINE_ROWS`) and goes through `read` past it.
    fn read_here<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> Option<T> {
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (0..n).find_map(|k| self.readers[(start + k) % n].try_lock()).map(|mut c| f(&mut c))
    }

    async fn apply(&self, writes: Vec<Write>) -> StoreResult<Result<(), usize>> {
        self.apply_as(Mode::Durable, writes).await
    }

    async fn apply_as(&self, mode: Mode, writes: Vec<Write>) -> StoreResult<Result<(), usize>> {
        let queue = self.outbox_queue.get();
        let deliver = queue.is_some();
        let r = self.writer.write_as(mode, Box::new(move |c: &Connection| apply(c, &writes, deliver))).await?;
        Ok(match r {
            Ok(delivered) => {
                if delivered {
                    if let Some(q) = queue {
                        q.notify_waiters();
                    }
                }
                Ok(())
            }
            Err(i) => Err(i),
        })
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Applies the writes inside the writer's open transaction (and the
/// request's savepoint). Ok(Err(i)) names the first write whose condition
/// failed; the writer rolls the request back then. With `deliver`, an outbox
/// put that holds an event goes onto the queue instead of into the items;
/// Ok(Ok(true)) says one did.
fn apply(tx: &Connection, writes: &[Write], deliver: bool) -> StoreResult<Result<bool, usize>> {
    let now = now_unix();
    let mut delivered = false;
    for (i, w) in writes.iter().enumerate() {
        let (pk, sk) = w.key();
        let cond = match w {
            Write::Put { cond, .. } | Write::Delete { cond, .. } | Write::Check { cond, .. } => cond,
        };
        if !holds(tx, pk, sk, cond, now)? {
            return Ok(Err(i));
        }
        match w {
            Write::Put { item, .. } if deliver && is_event(item) => {
                let body = serde_json::to_string(&item.body).map_err(|e| StoreError::Invalid(format!("body: {e}")))?;
                crate::embedded_queue::enqueue(tx, &body).map_err(backend)?;
                delivered = true;
            }
            Write::Put { item, .. } => {
                let body = serde_json::to_string(&item.body)
                    .map_err(|e| StoreError::Invalid(format!("body: {e}")))?;
                tx.prepare_cached("INSERT OR REPLACE INTO items (pk, sk, version, ttl, body) VALUES (?1, ?2, ?3, ?4, ?5)")
                    .and_then(|mut st| st.execute(params![item.pk, item.sk, item.version as i64, item.ttl, body]))
                    .map_err(backend)?;
            }
            Write::Delete { pk, sk, .. } => {
                tx.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
                    .and_then(|mut st| st.execute(params![pk, sk]))
                    .map_err(backend)?;
            }
            Write::Check { .. } => {}
        }
    }
    Ok(Ok(delivered))
}

/// An outbox item the queue can carry: one the sweep could not read stays an
/// item, so the sweep sets it aside as it would have.
fn is_event(item: &Item) -> bool {
    item.pk.starts_with(OUTBOX_PREFIX)
        && item.body.get("id").and_then(|v| v.as_str()) == Some(item.sk.as_str())
        && item.body.get("route").is_some_and(|v| v.is_string())
}

/// An expired item counts as absent, as it does for reads, so that e.g. a lease
/// written with a TTL can be taken again once it lapses.
fn holds(conn: &Connection, pk: &str, sk: &str, cond: &Cond, now: i64) -> StoreResult<bool> {
    if *cond == Cond::None {
        return Ok(true);
    }
    let row: Option<(i64, Option<i64>)> = conn
        .prepare_cached("SELECT version, ttl FROM items WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut st| st.query_row(params![pk, sk], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(backend)?;
    let live = row.filter(|(_, ttl)| !expired(*ttl, now));
    Ok(match cond {
        Cond::None => true,
        Cond::MustNotExist => live.is_none(),
        Cond::MustExist => live.is_some(),
        Cond::VersionIs(v) => live.is_some_and(|(ver, _)| ver as u64 == *v),
    })
}

fn expired(ttl: Option<i64>, now: i64) -> bool {
    ttl.is_some_and(|t| t < now)
}

fn to_item(pk: String, sk: String, version: i64, ttl: Option<i64>, body: String) -> StoreResult<Item> {
    let body = serde_json::from_str(&body)
        .map_err(|e| StoreError::Corrupt(format!("{pk}/{sk}: {e}")))?;
    Ok(Item { pk, sk, version: version as u64, ttl, body })
}

/// Rows a query may read on the calling task before it is handed to the
/// blocking pool (see `query`): about the cost of the hand-off it saves.
const INLINE_ROWS: usize = 64;

/// One page of `q`; `None` when more than `budget` rows (and the one past
/// the limit that tells whether a next page exists) had to be read.
fn query_page(conn: &Connection, q: &Query, budget: usize) -> StoreResult<Option<Page>> {
    let mut sql = String::from(
        "SELECT pk, sk, version, ttl, body FROM items WHERE pk = ?1 AND (ttl IS NULL OR ttl >= ?2)",
    );
    let mut args: Vec<SqlValue> = vec![q.pk.clone().into(), now_unix().into()];
    let mut bind = |sql: &mut String, op: &str, v: String| {
        args.push(v.into());
        sql.push_str(&format!(" AND sk {op} ?{}", args.len()));
    };
    match &q.range {
        SkRange::All => {}
        SkRange::Prefix(p) => {
            bind(&mut sql, ">=", p.clone());
            if let Some(hi) = cursor::prefix_upper_bound(p) {
                bind(&mut sql, "<", hi);
            }
        }
        SkRange::Between(lo, hi) => {
            bind(&mut sql, ">=", lo.clone());
            bind(&mut sql, "<=", hi.clone());
        }
    }
    if let Some(c) = &q.cursor {
        bind(&mut sql, if q.forward { ">" } else { "<" }, cursor::decode(c)?);
    }
    sql.push_str(if q.forward { " ORDER BY sk ASC" } else { " ORDER BY sk DESC" });
    // One row past the limit tells whether a next page exists.
    if let Some(n) = q.limit {
        sql.push_str(&format!(" LIMIT {}", n.saturating_add(1)));
    }
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .map_err(backend)?;
    let mut items = Vec::new();
    for row in rows {
        if items.len() > budget {
            return Ok(None);
        }
        let (pk, sk, v, ttl, body) = row.map_err(backend)?;
        items.push(to_item(pk, sk, v, ttl, body)?);
    }
    let more = q.limit.is_some_and(|n| items.len() > n);
    if let Some(n) = q.limit {
        items.truncate(n);
    }
    let cursor = if more { items.last().map(|i| cursor::encode(&i.sk)) } else { None };
    Ok(Some(Page { items, cursor }))
}

fn get_one(c: &Connection, pk: &str, sk: &str, now: i64) -> StoreResult<Option<Item>> {
    let row = c
        .prepare_cached("SELECT version, ttl, body FROM items WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut st| {
            st.query_row(params![pk, sk], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?, r.get::<_, String>(2)?)))
                .optional()
        })
        .map_err(backend)?;
    match row {
        Some((v, ttl, body)) if !expired(ttl, now) => to_item(pk.to_string(), sk.to_string(), v, ttl, body).map(Some),
        _ => Ok(None),
    }
}

/// The items in one read transaction. Its BEGIN and COMMIT are cached
/// statements: `Connection::transaction` parses both anew on every call, and
/// the profile of 6.3 (17 keys a call) had SQLite's parser at ~10 % of the
/// server's samples.
fn get_all(c: &mut Connection, keys: &[(String, String)]) -> StoreResult<Vec<Option<Item>>> {
    let now = now_unix();
    if keys.len() < 2 {
        // One statement reads one snapshot anyway.
        return keys.iter().map(|(pk, sk)| get_one(c, pk, sk, now)).collect();
    }
    run_cached(c, "BEGIN")?;
    let out = keys.iter().map(|(pk, sk)| get_one(c, pk, sk, now)).collect();
    // Ending a read transaction commits nothing; should it fail, the
    // connection must still not stay on this snapshot for its next read.
    if let Err(e) = run_cached(c, "COMMIT") {
        let _ = c.execute_batch("ROLLBACK");
        return Err(e);
    }
    out
}

fn run_cached(c: &Connection, sql: &str) -> StoreResult<()> {
    c.prepare_cached(sql).and_then(|mut st| st.execute([])).map(drop).map_err(backend)
}

#[async_trait]
impl ItemStore for SqliteStore {
    async fn get(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        if let Some(got) = self.read_here(|c| get_one(c, pk, sk, now_unix())) {
            return got;
        }
        let (pk, sk) = (pk.to_string(), sk.to_string());
        self.read(move |c| get_one(c, &pk, &sk, now_unix())).await
    }

    /// In one read transaction, so the items are read at the same instant
    /// (one trip to the blocking pool when no reader is free).
    async fn get_many(&self, keys: &[(String, String)]) -> StoreResult<Vec<Option<Item>>> {
        if let Some(got) = self.read_here(|c| get_all(c, keys)) {
            return got;
        }
        let keys = keys.to_vec();
        self.read(move |c| get_all(c, &keys)).await
    }

    async fn put(&self, item: Item, cond: Cond) -> StoreResult<()> {
        self.apply(vec![Write::put(item, cond)]).await?.map_err(|_| StoreError::ConditionFailed)
    }

    async fn delete(&self, pk: &str, sk: &str, cond: Cond) -> StoreResult<()> {
        self.apply(vec![Write::delete(pk, sk, cond)]).await?.map_err(|_| StoreError::ConditionFailed)
    }

    async fn put_decided(&self, item: Item, cond: Cond) -> StoreResult<()> {
        self.apply_as(Mode::Decided, vec![Write::put(item, cond)]).await?.map_err(|_| StoreError::ConditionFailed)
    }

    async fn put_behind(&self, item: Item) -> StoreResult<()> {
        // Not an outbox item (those wake the queue's receivers once durable).
        if item.pk.starts_with(OUTBOX_PREFIX) {
            return self.put(item, Cond::None).await;
        }
        let writes = vec![Write::put(item, Cond::None)];
        self.writer.write_behind(Box::new(move |c: &Connection| apply(c, &writes, false).map(|r| r.map(|_| ()))))
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        if q.limit == Some(0) {
            return Err(StoreError::Invalid("query limit must be positive".into()));
        }
        // A small page is read here like a get; one that runs past the
        // budget goes to the blocking pool, so a big partition never holds a
        // runtime worker for long.
        match self.read_here(|c| query_page(c, q, INLINE_ROWS)) {
            Some(Ok(Some(page))) => return Ok(page),
            Some(Err(e)) => return Err(e),
            Some(Ok(None)) | None => {}
        }
        let q = q.clone();
        self.read(move |c| query_page(c, &q, usize::MAX)?.ok_or_else(|| StoreError::Backend("a query without a budget ran past it".into()))).await
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        validate_transaction(&writes)?;
        self.apply(writes).await?.map_err(|i| StoreError::TransactionCancelled { index: Some(i) })
    }

    fn delivers_outbox(&self) -> bool {
        self.outbox_queue.get().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    /// A cached query is planned once: binding new values (another partition,
    /// another range, a later TTL bound) does not make SQLite parse it again.
    /// Without the planner's stability guarantee (`db::open`) every use of a
    /// range query was a re-prepare.
    #[test]
    fn a_cached_query_is_not_prepared_again_for_new_values() {
        let dir = std::env::temp_dir().join(format!("onecard-qpsg-{}", uuid::Uuid::new_v4().simple()));
        let conn = db::open(&dir.join("s.db")).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        for (pk, sk) in [("a", "x1"), ("a", "x2"), ("b", "x1")] {
            conn.execute("INSERT INTO items (pk, sk, version, body) VALUES (?1, ?2, 1, '{}')", params![pk, sk]).unwrap();
        }
        for (pk, prefix, n) in [("a", "x", 2), ("b", "x", 1), ("a", "x2", 1), ("b", "y", 0)] {
            let page = query_page(&conn, &Query::prefix(pk, prefix), usize::MAX).unwrap().unwrap();
            assert_eq!(page.items.len(), n, "{pk} {prefix}");
        }
        let sql = "SELECT pk, sk, version, ttl, body FROM items WHERE pk = ?1 AND (ttl IS NULL OR ttl >= ?2) AND sk >= ?3 AND sk < ?4 ORDER BY sk ASC";
        let st = conn.prepare_cached(sql).unwrap();
        assert_eq!(st.get_status(StatementStatus::Run), 4, "one cached statement served the four queries");
        assert_eq!(st.get_status(StatementStatus::RePrepare), 0, "the query was planned again");
    }

    /// A query past the inline budget is handed to the pool and still
    /// answers every row; a page within it is read here.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_query_past_the_inline_budget_still_answers_every_row() {
        let dir = std::env::temp_dir().join(format!("onecard-budget-{}", uuid::Uuid::new_v4().simple()));
        let path = dir.join("s.db");
        let store = SqliteStore::open(&path).unwrap();
        let writes = (0..150).map(|i| Write::put(Item::new("p", format!("k{i:03}"), serde_json::json!({"i": i})), Cond::None)).collect::<Vec<_>>();
        for chunk in writes.chunks(25) {
            store.transact(chunk.to_vec()).await.unwrap();
        }
        let conn = db::open_reader(&path).unwrap();
        assert!(query_page(&conn, &Query::partition("p"), INLINE_ROWS).unwrap().is_none(), "150 rows are past the budget");
        let page = query_page(&conn, &Query::partition("p").limit(INLINE_ROWS), INLINE_ROWS).unwrap().expect("a page of the budget's size is read here");
        assert_eq!((page.items.len(), page.cursor.is_some()), (INLINE_ROWS, true));
        let all = store.query(&Query::partition("p")).await.unwrap();
        assert_eq!(all.items.len(), 150);
        assert_eq!(all.items[149].sk, "k149");
        let next = store.query(&Query::partition("p").limit(100).after(page.cursor)).await.unwrap();
        assert_eq!((next.items.len(), next.items[0].sk.as_str(), next.cursor), (86, "k064", None));
    }
}
