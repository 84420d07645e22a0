//! A store written before the car's discount index became one item per car
//! (`discounts::car_index`) gives the same discounts at `calc`: eight
//! concurrent first calcs rebuild the index once and each finds the car's
//! plate discount; the old per-discount items are gone afterwards.
//!
//! SQLite always runs. DynamoDB runs on DynamoDB Local at
//! `ONECARD_DYNAMODB_ENDPOINT`; without it the test fails, unless
//! `ONECARD_SKIP_DYNAMODB=1`.

use onecard_adapters::{EmbeddedQueue, SqliteStore};
use onecard_app::keys;
use onecard_core::config::{self, Branch};
use onecard_core::dispatch;
use onecard_core::sitelink::NoSites;
use onecard_core::store::{Cond, Item, ItemStore, Query};
use onecard_core::time::{parse, to_utc, FixedClock, DEFAULT_TZ};
use onecard_core::{Ctx, Origin, Ports, Registry};
use serde_json::{json, Value};
use std::sync::Arc;

const CALCS: usize = 8;

async fn call(ctx: &Ctx, reg: &Registry, branch: &Branch, route: &str, data: Value) -> Value {
    let spec = reg.find(route).unwrap_or_else(|| panic!("no route {route}"));
    match dispatch::run(ctx, reg, spec, Origin::Internal, branch.clone(), data, None).await {
        Ok(reply) => reply.data,
        Err(e) => panic!("{route}: {e}"),
    }
}

async fn old_index_gives_the_same_discounts(store: Arc<dyn ItemStore>, tag: &str) {
    let queue = Arc::new(EmbeddedQueue::open(&onecard_tests::temp_dir(tag).join("queue.db")).expect("queue"));
    config::seed_demo(&*store).await.expect("seed config");
    let clock = FixedClock::new(to_utc(parse("2026-03-02 14:00:00").expect("time"), DEFAULT_TZ));
    let ctx = Ctx::new(Ports { store: store.clone(), queue, sites: Arc::new(NoSites), clock });
    onecard_app::seed_demo(&ctx).await.expect("seed");
    let branch = config::get_branch(ctx.store(), config::DEMO_BRANCH).await.expect("read").expect("branch");
    let reg = onecard_app::registry();
    let b = branch.branchno.as_str();
    let plate = "浙A70001";

    call(&ctx, &reg, &branch, "cat.upload.indata", json!({"areaId": "1", "cardInId": "OLD1", "licensePlate": plate, "inDate": "2026-03-02 09:00:00"})).await;
    let calc = json!({"credentialtype": "1", "credential": plate, "calcendtime": "2026-03-02 14:00:00"});
    let plain = call(&ctx, &reg, &branch, "calc", calc.clone()).await;
    let added = call(
        &ctx,
        &reg,
        &branch,
        "park.licensePlateDiscount.add",
        json!({"licensePlate": plate, "startTime": "2026-03-01 00:00:00", "endTime": "2026-03-03 00:00:00", "businessId": "1", "discountId": "1"}),
    )
    .await;
    let id = added["plateDiscountId"].as_i64().expect("id");
    let discounted = call(&ctx, &reg, &branch, "calc", calc.clone()).await;
    assert_ne!(discounted["amount"], plain["amount"], "the plate discount applies: {discounted}");

    // Back to the old form: one item per discount, no per-car item, not built.
    store.delete(&keys::car_discount_sets(b), plate, Cond::None).await.expect("delete");
    store.delete(&keys::car_discount_sets_built(b), "built", Cond::None).await.expect("delete");
    store.put(Item::new(keys::car_discounts(b), format!("{plate}#P#{id:010}"), json!({})), Cond::None).await.expect("put");

    let tasks: Vec<_> = (0..CALCS)
        .map(|_| {
            let (ctx, reg, branch, calc) = (ctx.clone(), reg.clone(), branch.clone(), calc.clone());
            tokio::spawn(async move { call(&ctx, &reg, &branch, "calc", calc).await })
        })
        .collect();
    for t in tasks {
        let quote = t.await.expect("task");
        assert_eq!(quote["amount"], discounted["amount"], "the old index's discount applies: {quote}");
    }
    assert!(store.get(&keys::car_discount_sets_built(b), "built").await.expect("get").is_some(), "rebuilt");
    assert!(store.query_all(&Query::partition(keys::car_discounts(b))).await.expect("query").is_empty(), "old items cleared");
    let item = store.get(&keys::car_discount_sets(b), plate).await.expect("get").expect("the car's item");
    assert_eq!(item.body["entries"], json!([format!("P#{id:010}")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_old_index_gives_the_same_discounts() {
    let store = Arc::new(SqliteStore::open(&onecard_tests::temp_dir("di-sqlite").join("store.db")).expect("sqlite"));
    old_index_gives_the_same_discounts(store, "di-sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_old_index_gives_the_same_discounts() {
    let Some(store) = onecard_tests::dynamodb_table("onecard-discidx").await else { return };
    old_index_gives_the_same_discounts(Arc::new(store), "di-dynamo").await;
}
