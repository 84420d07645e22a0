//! The demo car park for tests that bring their own store (a counting or a
//! slowed one): demo configuration and data seeded into it, a clock fixed at
//! 2026-03-02 12:00:00 Shanghai time, an embedded queue in a temp dir.

use onecard_core::config::{self, Branch};
use onecard_core::sitelink::NoSites;
use onecard_core::store::ItemStore;
use onecard_core::time::{parse, to_utc, FixedClock, DEFAULT_TZ};
use onecard_core::{Ctx, Ports};
use std::sync::Arc;

/// The context over `store` and the demo branch as the handlers see it.
pub async fn demo_ctx(store: Arc<dyn ItemStore>, tag: &str) -> (Ctx, Branch) {
    let dir = std::env::temp_dir().join(format!("onecard-{tag}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    config::seed_demo(&*store).await.unwrap();
    let clock = FixedClock::new(to_utc(parse("2026-03-02 12:00:00").unwrap(), DEFAULT_TZ));
    let queue = Arc::new(onecard_adapters::embedded_queue::EmbeddedQueue::open(&dir.join("queue.db")).unwrap());
    let ctx = Ctx::new(Ports { store, queue, sites: Arc::new(NoSites), clock });
    crate::seed_demo(&ctx).await.unwrap();
    let branch = config::get_branch(ctx.store(), config::DEMO_BRANCH).await.unwrap().unwrap();
    (ctx, branch)
}

/// The demo car park over a store the test keeps a typed handle on, with
/// the whole registry to call routes through.
pub struct DemoKit<S> {
    pub store: Arc<S>,
    pub ctx: Ctx,
    pub reg: onecard_core::Registry,
    pub branch: Branch,
}

impl<S: ItemStore> DemoKit<S> {
    pub async fn over(store: Arc<S>, tag: &str) -> Self {
        let (ctx, branch) = demo_ctx(store.clone(), tag).await;
        DemoKit { store, ctx, reg: crate::registry(), branch }
    }

    /// Runs a route's handler as an internal caller on the demo branch.
    pub async fn run(&self, route: &str, data: serde_json::Value) -> onecard_core::ApiResult<onecard_core::request::Reply> {
        let spec = self.reg.find(route).unwrap_or_else(|| panic!("no route {route}"));
        onecard_core::dispatch::run(&self.ctx, &self.reg, spec, onecard_core::Origin::Internal, self.branch.clone(), data, None).await
    }
}
