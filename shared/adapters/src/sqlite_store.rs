//! The embedded item store: one SQLite table honouring the same contract as
//! the DynamoDB adapter (the contract tests run against both).

use crate::{cursor, db};
use async_trait::async_trait;
use onecard_core::store::{
    now_unix, validate_transaction, Cond, Item, ItemStore, Page, Query, SkRange, StoreError,
    StoreResult, Write,
};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    version INTEGER NOT NULL,
    ttl INTEGER,
    body TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;";

#[derive(Clone)]
pub struct SqliteStore {
    conn: db::Shared,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = db::open(path).map_err(StoreError::Backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        Ok(SqliteStore { conn: db::Shared::new(conn) })
    }

    /// Removes expired items for good (reads already hide them). Returns how many.
    pub async fn purge_expired(&self) -> StoreResult<usize> {
        self.run(|c| {
            c.execute("DELETE FROM items WHERE ttl IS NOT NULL AND ttl < ?1", [now_unix()])
                .map_err(backend)
        })
        .await
    }

    async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        self.conn.run(f, StoreError::Backend).await
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Applies the writes in one IMMEDIATE transaction. Err(Some(i)) names the first
/// write whose condition failed; nothing is written then.
fn apply(conn: &mut Connection, writes: &[Write]) -> StoreResult<Result<(), usize>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    let now = now_unix();
    for (i, w) in writes.iter().enumerate() {
        let (pk, sk) = w.key();
        let cond = match w {
            Write::Put { cond, .. } | Write::Delete { cond, .. } | Write::Check { cond, .. } => cond,
        };
        if !holds(&tx, pk, sk, cond, now)? {
            // Dropping the transaction rolls it back.
            return Ok(Err(i));
        }
        match w {
            Write::Put { item, .. } => {
                let body = serde_json::to_string(&item.body)
                    .map_err(|e| StoreError::Invalid(format!("body: {e}")))?;
                tx.execute(
                    "INSERT OR REPLACE INTO items (pk, sk, version, ttl, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![item.pk, item.sk, item.version as i64, item.ttl, body],
                )
                .map_err(backend)?;
            }
            Write::Delete { pk, sk, .. } => {
                tx.execute("DELETE FROM items WHERE pk = ?1 AND sk = ?2", params![pk, sk])
                    .map_err(backend)?;
            }
            Write::Check { .. } => {}
        }
    }
    tx.commit().map_err(backend)?;
    Ok(Ok(()))
}

/// An expired item counts as absent, as it does for reads, so that e.g. a lease
/// written with a TTL can be taken again once it lapses.
fn holds(conn: &Connection, pk: &str, sk: &str, cond: &Cond, now: i64) -> StoreResult<bool> {
    if *cond == Cond::None {
        return Ok(true);
    }
    let row: Option<(i64, Option<i64>)> = conn
        .query_row("SELECT version, ttl FROM items WHERE pk = ?1 AND sk = ?2", params![pk, sk], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
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

fn query_page(conn: &Connection, q: &Query) -> StoreResult<Page> {
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
        let (pk, sk, v, ttl, body) = row.map_err(backend)?;
        items.push(to_item(pk, sk, v, ttl, body)?);
    }
    let more = q.limit.is_some_and(|n| items.len() > n);
    if let Some(n) = q.limit {
        items.truncate(n);
    }
    let cursor = if more { items.last().map(|i| cursor::encode(&i.sk)) } else { None };
    Ok(Page { items, cursor })
}

#[async_trait]
impl ItemStore for SqliteStore {
    async fn get(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        let (pk, sk) = (pk.to_string(), sk.to_string());
        self.run(move |c| {
            let row = c
                .query_row(
                    "SELECT version, ttl, body FROM items WHERE pk = ?1 AND sk = ?2",
                    params![pk, sk],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?, r.get::<_, String>(2)?)),
                )
                .optional()
                .map_err(backend)?;
            match row {
                Some((v, ttl, body)) if !expired(ttl, now_unix()) => {
                    to_item(pk, sk, v, ttl, body).map(Some)
                }
                _ => Ok(None),
            }
        })
        .await
    }

    async fn put(&self, item: Item, cond: Cond) -> StoreResult<()> {
        let writes = vec![Write::put(item, cond)];
        self.run(move |c| apply(c, &writes)?.map_err(|_| StoreError::ConditionFailed)).await
    }

    async fn delete(&self, pk: &str, sk: &str, cond: Cond) -> StoreResult<()> {
        let writes = vec![Write::delete(pk, sk, cond)];
        self.run(move |c| apply(c, &writes)?.map_err(|_| StoreError::ConditionFailed)).await
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        if q.limit == Some(0) {
            return Err(StoreError::Invalid("query limit must be positive".into()));
        }
        let q = q.clone();
        self.run(move |c| query_page(c, &q)).await
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        validate_transaction(&writes)?;
        self.run(move |c| {
            apply(c, &writes)?.map_err(|i| StoreError::TransactionCancelled { index: Some(i) })
        })
        .await
    }
}
