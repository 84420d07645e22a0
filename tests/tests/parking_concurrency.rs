//! Exactly-once parking payments under concurrency, on both store adapters:
//! sixteen concurrent `commit`s of one order give one success and fifteen 511s,
//! one payment record, one settled fee on the stay and one charge event.
//!
//! SQLite always runs. DynamoDB runs on DynamoDB Local at
//! `ONECARD_DYNAMODB_ENDPOINT` (start it with `infra/scripts/dynamodb-local.sh
//! start`); without it the test fails, unless `ONECARD_SKIP_DYNAMODB=1`.

use onecard_adapters::{EmbeddedQueue, SqliteStore};
use onecard_core::config::{demo_branch, put_branch, Branch};
use onecard_core::dispatch;
use onecard_core::sitelink::NoSites;
use onecard_core::store::{ItemStore, Query};
use onecard_core::time::SystemClock;
use onecard_core::{Ctx, Origin, Ports, Registry};
use serde_json::{json, Value};
use std::sync::Arc;

const CONCURRENT: usize = 16;

fn temp_dir(tag: &str) -> std::path::PathBuf {
    onecard_tests::temp_dir(tag)
}

/// Calls a route the way the server does, with an internal origin.
async fn call(ctx: &Ctx, reg: &Registry, branch: &Branch, route: &str, data: Value) -> Value {
    let spec = reg.find(route).unwrap_or_else(|| panic!("no route {route}"));
    let r = dispatch::run(ctx, reg, spec, Origin::Internal, branch.clone(), data, None).await;
    match r {
        Ok(reply) => json!({ "code": 200, "data": reply.data }),
        Err(e) => json!({ "code": e.code.0, "message": e.message }),
    }
}

/// A fresh branch (unique number, so runs on a shared DynamoDB table stay apart)
/// with a car type, a tariff and a car that entered three hours ago.
async fn setup(store: Arc<dyn ItemStore>, tag: &str) -> (Ctx, Registry, Branch, String) {
    let queue = Arc::new(EmbeddedQueue::open(&temp_dir(tag).join("queue.db")).expect("queue"));
    let ctx = Ctx::new(Ports { store, queue, sites: Arc::new(NoSites), clock: Arc::new(SystemClock) });
    let reg = onecard_app::registry();
    let mut branch = demo_branch();
    branch.branchno = format!("T{}", uuid_like());
    put_branch(ctx.store(), &branch).await.expect("branch");

    let ct = call(&ctx, &reg, &branch, "park.cartype.add", json!({"carTypeName": "小型车", "defaultCharge": true})).await;
    assert_eq!(ct["code"], 200, "{ct}");
    let tariff = onecard_app::park::tariffs::demo_tariff(ct["data"]["carTypeId"].as_i64().unwrap());
    let t = call(&ctx, &reg, &branch, "park.temporarytariff.add", tariff).await;
    assert_eq!(t["code"], 200, "{t}");

    let plate = format!("粤Z{}", &uuid_like()[..5].to_uppercase());
    let now = onecard_core::time::to_local(chrono::Utc::now(), &branch.tz);
    let entry = onecard_core::time::format(now - chrono::Duration::hours(3));
    let e = call(&ctx, &reg, &branch, "cat.upload.indata", json!({"areaId": "1", "cardInId": uuid_like(), "licensePlate": plate, "inDate": entry})).await;
    assert_eq!(e["code"], 200, "{e}");
    (ctx, reg, branch, plate)
}

fn uuid_like() -> String {
    format!("{:016x}", rand::random::<u64>())
}

async fn sixteen_commits_pay_once(store: Arc<dyn ItemStore>, tag: &str) {
    let (ctx, reg, branch, plate) = setup(store, tag).await;
    let calc = call(&ctx, &reg, &branch, "calc", json!({"credentialtype": "1", "credential": plate, "calcendtime": "1970-01-01 00:00:00"})).await;
    assert_eq!(calc["code"], 200, "{calc}");
    let d = &calc["data"];
    let order_no = d["orderNo"].as_str().expect("an order for a fee above 0").to_string();
    let parkcost = d["parkcost"].as_str().unwrap().to_string();
    assert_ne!(parkcost, "0.00");

    let reg = Arc::new(reg);
    let mut tasks = Vec::new();
    for i in 0..CONCURRENT {
        let (ctx, reg, branch) = (ctx.clone(), reg.clone(), branch.clone());
        let pay = json!({"credentialtype": "1", "credential": plate, "parkcost": parkcost, "payType": "7",
                         "orderNo": order_no, "thirdPayId": format!("wx-{i}")});
        tasks.push(tokio::spawn(async move { call(&ctx, &reg, &branch, "commit", pay).await }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.expect("task")["code"].as_i64().unwrap());
    }
    let ok = codes.iter().filter(|c| **c == 200).count();
    let dup = codes.iter().filter(|c| **c == 511).count();
    assert_eq!((ok, dup), (1, CONCURRENT - 1), "codes: {codes:?}");

    // Exactly one payment was recorded, and the stay settled the fee once.
    let b = branch.branchno.as_str();
    let payments = ctx.store.query_all(&Query::partition(onecard_app::keys::payments(b))).await.unwrap();
    assert_eq!(payments.len(), 1);
    let order = call(&ctx, &reg, &branch, "park.order.get", json!({"orderNo": order_no})).await;
    assert_eq!(order["data"]["status"], "1", "{order}");
    let journal = call(&ctx, &reg, &branch, "park.order.list", json!({"Credential": plate})).await;
    assert_eq!(journal["data"].as_array().map(Vec::len), Some(1), "{journal}");
    let again = call(&ctx, &reg, &branch, "calc", json!({"credentialtype": "1", "credential": plate, "calcendtime": "1970-01-01 00:00:00"})).await;
    assert_eq!(again["data"]["parkcost"], "0.00", "inside the grace nothing is due: {again}");
    let after = call(&ctx, &reg, &branch, "commit", json!({"credentialtype": "1", "credential": plate, "parkcost": parkcost, "orderNo": order_no})).await;
    assert_eq!(after["code"], 511, "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn sqlite_sixteen_concurrent_commits_pay_once() {
    let store = Arc::new(SqliteStore::open(&temp_dir("pc-sqlite").join("store.db")).expect("sqlite"));
    sixteen_commits_pay_once(store, "pc-sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn dynamodb_sixteen_concurrent_commits_pay_once() {
    let Some(store) = onecard_tests::dynamodb_table("onecard-parking").await else { return };
    sixteen_commits_pay_once(Arc::new(store), "pc-dynamo").await;
}
