//! The dead-letter queue of the local server: a table next to the embedded
//! queue in the same SQLite file, so `onecard dlq ...` works on a data dir the
//! server has open.

use crate::db;
use async_trait::async_trait;
use onecard_core::queue::{DeadLetter, DeadLetters, EventQueue, QueueError, QueueResult};
use rusqlite::{params, Connection};
use std::path::Path;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);";

#[derive(Clone)]
pub struct EmbeddedDeadLetters {
    conn: db::Shared,
}

fn err(e: rusqlite::Error) -> QueueError {
    QueueError(e.to_string())
}

impl EmbeddedDeadLetters {
    pub fn open(path: &Path) -> QueueResult<Self> {
        let conn = db::open(path).map_err(QueueError)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(EmbeddedDeadLetters { conn: db::Shared::new(conn) })
    }

    async fn run<T, F>(&self, f: F) -> QueueResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> QueueResult<T> + Send + 'static,
    {
        self.conn.run(f, QueueError).await
    }

    async fn all(&self, max: usize) -> QueueResult<Vec<DeadLetter>> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached("SELECT body FROM dead_letters ORDER BY seq LIMIT ?1").map_err(err)?;
            let rows = stmt.query_map([max.min(i64::MAX as usize) as i64], |r| r.get::<_, String>(0)).map_err(err)?;
            let mut out = Vec::new();
            for body in rows {
                let body = body.map_err(err)?;
                match serde_json::from_str::<DeadLetter>(&body) {
                    Ok(d) => out.push(d),
                    Err(e) => tracing::warn!(error = %e, "unreadable dead letter skipped"),
                }
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl DeadLetters for EmbeddedDeadLetters {
    async fn send(&self, dead: &DeadLetter) -> QueueResult<()> {
        let body = serde_json::to_string(dead).map_err(|e| QueueError(e.to_string()))?;
        let id = dead.event.id.clone();
        // One entry per event: dead-lettering the same event again (a duplicate
        // delivery that also failed) refreshes the entry instead of doubling it.
        self.run(move |c| {
            c.execute(
                "INSERT INTO dead_letters (event_id, body) VALUES (?1, ?2)
                 ON CONFLICT(event_id) DO UPDATE SET body = excluded.body",
                params![id, body],
            )
            .map(|_| ())
            .map_err(err)
        })
        .await
    }

    async fn list(&self, max: usize) -> QueueResult<Vec<DeadLetter>> {
        self.all(max).await
    }

    async fn redrive(&self, ids: Option<&[String]>, to: &dyn EventQueue) -> QueueResult<usize> {
        let mut moved = 0;
        for dead in self.all(usize::MAX).await? {
            if ids.is_some_and(|ids| !ids.contains(&dead.event.id)) {
                continue;
            }
            to.publish(&dead.event).await?;
            let id = dead.event.id.clone();
            self.run(move |c| c.execute("DELETE FROM dead_letters WHERE event_id = ?1", [id]).map(|_| ()).map_err(err))
                .await?;
            moved += 1;
        }
        Ok(moved)
    }

    async fn purge(&self) -> QueueResult<usize> {
        self.run(|c| c.execute("DELETE FROM dead_letters", []).map_err(err)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmbeddedQueue;
    use onecard_core::queue::OutEvent;
    use serde_json::json;
    use std::time::Duration;

    fn event(id: &str) -> OutEvent {
        OutEvent { id: id.into(), branch: "1001".into(), route: "report/parkInData".into(), record: json!({"a": id}), at: "2026-01-01 00:00:00".into() }
    }

    #[tokio::test]
    async fn send_list_redrive_purge() {
        let dir = std::env::temp_dir().join(format!("dlq-{}", uuid::Uuid::new_v4().simple()));
        let path = dir.join("onecard.db");
        let dlq = EmbeddedDeadLetters::open(&path).unwrap();
        let q = EmbeddedQueue::open(&path).unwrap();
        for id in ["e1", "e2", "e3"] {
            dlq.send(&DeadLetter::new(event(id), "down", 8)).await.unwrap();
        }
        // The same event again replaces its entry.
        dlq.send(&DeadLetter::new(event("e1"), "still down", 9)).await.unwrap();
        let listed = dlq.list(10).await.unwrap();
        assert_eq!(listed.iter().map(|d| d.event.id.as_str()).collect::<Vec<_>>(), ["e1", "e2", "e3"]);
        assert_eq!(listed[0].reason, "still down");
        assert_eq!(dlq.list(2).await.unwrap().len(), 2);

        assert_eq!(dlq.redrive(Some(&["e2".to_string(), "nope".to_string()]), &q).await.unwrap(), 1);
        let got = q.receive(10, Duration::from_millis(10)).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].event, event("e2"));
        assert_eq!(dlq.list(10).await.unwrap().len(), 2);

        // Another handle on the same file (an admin command) sees the same entries.
        let other = EmbeddedDeadLetters::open(&path).unwrap();
        assert_eq!(other.purge().await.unwrap(), 2);
        assert!(dlq.list(10).await.unwrap().is_empty());
        assert_eq!(dlq.redrive(None, &q).await.unwrap(), 0);
        let _ = std::fs::remove_dir_all(dir);
    }
}
