//! Opens the store (and queue) a command works on.

use crate::cli::StoreArgs;
use anyhow::Context;
use onecard_adapters::dynamo_store::DynamoStore;
use onecard_adapters::sqlite_store::SqliteStore;
use onecard_core::store::ItemStore;
use std::sync::Arc;

pub const DB_FILE: &str = "onecard.db";

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
