//! A durable SQS-like queue in SQLite for the local server. Messages survive a
//! restart; a received message is hidden for the visibility timeout and comes
//! back unless acked, so delivery is at-least-once as with SQS.
//!
//! Opened on the store's own database (`on_store`), the queue writes through
//! the store's group-commit writer, and the store puts each outbox item of a
//! transaction straight into the queue in that same transaction: an event is
//! on the queue exactly when its cause is committed, with no second fsync and
//! no second connection contending for SQLite's write lock.

use crate::db;
use async_trait::async_trait;
use onecard_core::queue::{EventQueue, OutEvent, QueueError, QueueResult, Received};
use crate::sqlite_store::SqliteStore;
use crate::sqlite_writer::Writer;
use rusqlite::{params, Connection, TransactionBehavior};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

pub const DEFAULT_VISIBILITY: Duration = Duration::from_secs(30);

/// Publishes from other processes (admin commands) are not signalled, so a
/// waiting receive also looks at the table this often.
const POLL: Duration = Duration::from_millis(250);

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queue_visible ON queue (visible_at, id);";

/// Where the queue's statements run.
#[derive(Clone)]
enum Conn {
    /// A connection of its own; each operation its own transaction.
    Own(db::Shared),
    /// The store's writer: each operation a savepoint of a group transaction.
    Store(Writer),
}

#[derive(Clone)]
pub struct EmbeddedQueue {
    conn: Conn,
    visibility: Duration,
    published: Arc<Notify>,
}

impl EmbeddedQueue {
    pub fn open(path: &Path) -> Result<Self, QueueError> {
        Self::with_visibility(path, DEFAULT_VISIBILITY)
    }

    pub fn with_visibility(path: &Path, visibility: Duration) -> Result<Self, QueueError> {
        let conn = db::open(path).map_err(QueueError)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(EmbeddedQueue {
            conn: Conn::Own(db::Shared::new(conn)),
            visibility,
            published: Arc::new(Notify::new()),
        })
    }

    /// The queue in `store`'s database, written through its writer; from now
    /// on the store delivers outbox items to this queue in their transaction
    /// (see the module doc). Other processes (admin commands) may still open
    /// the same file with `open`.
    pub async fn on_store(store: &SqliteStore) -> Result<Self, QueueError> {
        Self::on_store_with_visibility(store, DEFAULT_VISIBILITY).await
    }

    pub async fn on_store_with_visibility(store: &SqliteStore, visibility: Duration) -> Result<Self, QueueError> {
        let writer = store.writer();
        let q = EmbeddedQueue { conn: Conn::Store(writer), visibility, published: Arc::new(Notify::new()) };
        q.run(|c| c.execute_batch(SCHEMA).map_err(err)).await?;
        store.deliver_outbox_to(q.published.clone());
        Ok(q)
    }

    /// Messages in the queue, visible or not.
    pub async fn len(&self) -> QueueResult<usize> {
        self.run(|c| {
            c.query_row("SELECT COUNT(*) FROM queue", [], |r| r.get::<_, i64>(0))
                .map(|n| n as usize)
                .map_err(err)
        })
        .await
    }

    /// Runs `f` atomically: in a transaction of its own connection, or in a
    /// savepoint of the store's next group transaction (answered once that is
    /// committed).
    async fn run<T, F>(&self, f: F) -> QueueResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> QueueResult<T> + Send + 'static,
    {
        match &self.conn {
            Conn::Own(shared) => {
                shared
                    .run(
                        |c: &mut Connection| {
                            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
                            let out = f(&tx)?;
                            tx.commit().map_err(err)?;
                            Ok(out)
                        },
                        QueueError,
                    )
                    .await
            }
            Conn::Store(writer) => {
                let work = Box::new(move |c: &Connection| {
                    f(c).map(Ok).map_err(|e| onecard_core::store::StoreError::Backend(e.0))
                });
                match writer.write(work).await {
                    Ok(Ok(t)) => Ok(t),
                    Ok(Err(_)) => Err(QueueError("the queue operation was refused".into())),
                    Err(e) => Err(QueueError(e.to_string())),
                }
            }
        }
    }

    /// Takes up to `max` visible messages and hides them, atomically, so two
    /// receivers (even in two processes) never get the same delivery.
    async fn take(&self, max: usize) -> QueueResult<Vec<Received>> {
        let hide_ms = self.visibility.as_millis().min(i64::MAX as u128) as i64;
        self.run(move |tx| {
            let now = db::now_millis();
            let rows: Vec<(i64, String, i64)> = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT id, body, receive_count FROM queue WHERE visible_at <= ?1 ORDER BY visible_at, id LIMIT ?2",
                    )
                    .map_err(err)?;
                let rows = stmt
                    .query_map(params![now, max as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .map_err(err)?;
                rows.collect::<Result<_, _>>().map_err(err)?
            };
            let mut out = Vec::with_capacity(rows.len());
            for (id, body, count) in rows {
                let count = count + 1;
                tx.prepare_cached("UPDATE queue SET visible_at = ?1, receive_count = ?2 WHERE id = ?3")
                    .and_then(|mut st| st.execute(params![now.saturating_add(hide_ms), count, id]))
                    .map_err(err)?;
                match serde_json::from_str::<OutEvent>(&body) {
                    Ok(event) => out.push(Received {
                        event,
                        receipt: format!("{id}:{count}"),
                        receive_count: count as u32,
                    }),
                    // Left hidden and counted, like a poison message in SQS;
                    // failing the whole receive would block every other message.
                    Err(e) => tracing::warn!(id, error = %e, "unreadable queue message skipped"),
                }
            }
            Ok(out)
        })
        .await
    }
}

/// Puts one message on the queue inside the caller's transaction: `publish`,
/// and the store delivering an outbox item.
pub(crate) fn enqueue(c: &Connection, body: &str) -> rusqlite::Result<()> {
    c.prepare_cached("INSERT INTO queue (body, visible_at, receive_count) VALUES (?1, ?2, 0)")
        .and_then(|mut st| st.execute(params![body, db::now_millis()]))
        .map(|_| ())
}

fn err(e: rusqlite::Error) -> QueueError {
    QueueError(e.to_string())
}

/// A receipt names one delivery (`id:count`), so a consumer that held a message
/// past its visibility cannot release another consumer's later delivery.
fn parse_receipt(receipt: &str) -> QueueResult<(i64, i64)> {
    let bad = || QueueError(format!("malformed receipt {receipt:?}"));
    let (id, count) = receipt.split_once(':').ok_or_else(bad)?;
    Ok((id.parse().map_err(|_| bad())?, count.parse().map_err(|_| bad())?))
}

#[async_trait]
impl EventQueue for EmbeddedQueue {
    async fn publish(&self, event: &OutEvent) -> QueueResult<()> {
        let body = serde_json::to_string(event).map_err(|e| QueueError(e.to_string()))?;
        self.run(move |c| enqueue(c, &body).map_err(err)).await?;
        self.published.notify_waiters();
        Ok(())
    }

    async fn receive(&self, max: usize, wait: Duration) -> QueueResult<Vec<Received>> {
        let max = max.clamp(1, 10);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so a publish in between is not missed.
            let notified = self.published.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let got = self.take(max).await?;
            let now = tokio::time::Instant::now();
            if !got.is_empty() || now >= deadline {
                return Ok(got);
            }
            let nap = POLL.min(deadline - now);
            let _ = tokio::time::timeout(nap, notified).await;
        }
    }

    async fn ack(&self, receipt: &str) -> QueueResult<()> {
        // Like SQS, acking with an older receipt still removes the message:
        // the work it stood for was done.
        let (id, _) = parse_receipt(receipt)?;
        self.run(move |c| c.execute("DELETE FROM queue WHERE id = ?1", [id]).map(|_| ()).map_err(err))
            .await
    }

    async fn release(&self, receipt: &str, delay: Duration) -> QueueResult<()> {
        let (id, count) = parse_receipt(receipt)?;
        let delay_ms = delay.as_millis().min(i64::MAX as u128) as i64;
        self.run(move |c| {
            c.execute(
                "UPDATE queue SET visible_at = ?1 WHERE id = ?2 AND receive_count = ?3",
                params![db::now_millis().saturating_add(delay_ms), id, count],
            )
            .map(|_| ())
            .map_err(err)
        })
        .await
    }
}
