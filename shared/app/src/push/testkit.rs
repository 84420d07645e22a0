//! Test helpers for the push module and the notices: a context on a fresh
//! SQLite store and embedded queue with the demo branch seeded.

use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_adapters::sqlite_store::SqliteStore;
use onecard_core::config::{self, Branch};
use onecard_core::queue::EventQueue;
use onecard_core::sitelink::NoSites;
use onecard_core::time::{Clock, SystemClock};
use onecard_core::{dispatch, ApiResult, Ctx, Origin, Ports, Reply};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

pub(crate) fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("onecard-push-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub(crate) async fn ctx() -> (Ctx, Arc<EmbeddedQueue>) {
    ctx_with_clock(Arc::new(SystemClock)).await
}

/// The same on a clock the test moves (retry windows without waiting).
pub(crate) async fn ctx_with_clock(clock: Arc<dyn Clock>) -> (Ctx, Arc<EmbeddedQueue>) {
    let dir = temp_dir();
    let store = Arc::new(SqliteStore::open(&dir.join("onecard.db")).unwrap());
    let queue = Arc::new(EmbeddedQueue::open(&dir.join("onecard.db")).unwrap());
    config::seed_demo(&*store).await.unwrap();
    let q: Arc<dyn EventQueue> = queue.clone();
    (Ctx::new(Ports { store, queue: q, sites: Arc::new(NoSites), clock }), queue)
}

/// Runs a route as the site would, on the demo branch.
pub(crate) async fn call(ctx: &Ctx, route: &str, data: Value) -> ApiResult<Reply> {
    let reg = crate::registry();
    let spec = reg.find(route).unwrap();
    let branch: Branch = config::get_branch(ctx.store(), config::DEMO_BRANCH).await.unwrap().unwrap();
    dispatch::run(ctx, &reg, spec, Origin::Site { agent_id: "A1".into() }, branch, data, None).await
}
