//! Opens the store (and queue) a command works on, and the context of the
//! commands that run domain code.

use crate::cli::StoreArgs;
use anyhow::Context;
use onecard_adapters::dynamo_store::DynamoStore;
use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_adapters::sqlite_store::SqliteStore;
use onecard_core::store::ItemStore;
use std::sync::Arc;
use std::time::Duration;
use onecard_core::queue::{EventQueue, OutEvent, QueueError, QueueResult, Received};
use onecard_core::{config, Ctx, Ports};

pub const DB_FILE: &str = "onecard.db";

/// `serve`'s store and, when both the store and the queue are embedded, the
/// queue in the store's database: the store then delivers outbox events to it
/// in their own transactions (one fsync per group commit, no publish after).
pub async fn open_store_with_queue(a: &StoreArgs, embedded_queue: bool) -> anyhow::Result<(Arc<dyn ItemStore>, Option<EmbeddedQueue>)> {
    if a.dynamodb_table.is_some() || !embedded_queue {
        return Ok((open_store(a).await?, None));
    }
    std::fs::create_dir_all(&a.data_dir).with_context(|| format!("creating {}", a.data_dir.display()))?;
    let store = SqliteStore::open(&a.data_dir.join(DB_FILE)).with_context(|| format!("opening the store in {}", a.data_dir.display()))?;
    let queue = EmbeddedQueue::on_store(&store).await.context("opening the embedded queue")?;
    Ok((Arc::new(store), Some(queue)))
}

pub async fn open_store(a: &StoreArgs) -> anyhow::Result<Arc<dyn ItemStore>> {
    match &a.dynamodb_table {
        Some(table) => Ok(Arc::new(DynamoStore::from_env(table, a.endpoint_url.as_deref()).await)),
        None => {
            std::fs::create_dir_all(&a.data_dir).with_context(|| format!("creating {}", a.data_dir.display()))?;
            let store = SqliteStore::open(&a.data_dir.join(DB_FILE)).with_context(|| format!("opening the store in {}", a.data_dir.display()))?;
            Ok(Arc::new(store))
        }
    }
}

/// Admin commands publish nothing; a queue that refuses says so if one tried.
struct NoQueue;

#[async_trait::async_trait]
impl EventQueue for NoQueue {
    async fn publish(&self, event: &OutEvent) -> QueueResult<()> {
        Err(QueueError(format!("admin commands publish no events ({})", event.route)))
    }
    async fn receive(&self, _max: usize, _wait: Duration) -> QueueResult<Vec<Received>> {
        Ok(Vec::new())
    }
    async fn ack(&self, _receipt: &str) -> QueueResult<()> {
        Ok(())
    }
    async fn release(&self, _receipt: &str, _delay: Duration) -> QueueResult<()> {
        Ok(())
    }
}

/// A context over the store for commands that run domain code; no queue
/// (nothing is published) and the branch's local time now.
pub async fn context(store: &StoreArgs, branch: &str) -> anyhow::Result<(Ctx, chrono::NaiveDateTime)> {
    let s = open_store(store).await?;
    let Some(b) = config::get_branch(&*s, branch).await? else {
        anyhow::bail!("no branch '{branch}': add it first with `onecard branch add`");
    };
    let clock = Arc::new(onecard_core::time::SystemClock);
    let ctx = Ctx::new(Ports { store: s, queue: Arc::new(NoQueue), sites: Arc::new(onecard_core::sitelink::NoSites), clock });
    Ok((ctx, onecard_core::time::to_local(onecard_core::time::now(), &b.tz)))
}
