//! Opens the store (and queue) a command works on.

use crate::cli::StoreArgs;
use anyhow::Context;
use onecard_adapters::dynamo_store::DynamoStore;
use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_adapters::sqlite_store::SqliteStore;
use onecard_core::store::ItemStore;
use std::sync::Arc;

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
