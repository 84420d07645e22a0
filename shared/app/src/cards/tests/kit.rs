//! A fresh SQLite store and embedded queue per test, a clock the test sets,
//! and the demo branch with a default car type and a monthly tariff.

use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_adapters::sqlite_store::SqliteStore;
use onecard_core::config::{self, Branch};
use onecard_core::queue::{EventQueue, OutEvent};
use onecard_core::sitelink::NoSites;
use onecard_core::time::{parse, to_utc, FixedClock, DEFAULT_TZ};
use onecard_core::{dispatch, ApiError, ApiResult, Ctx, Origin, Ports, Registry};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub const BRANCH: &str = config::DEMO_BRANCH;

pub struct Kit {
    pub ctx: Ctx,
    pub clock: Arc<FixedClock>,
    pub queue: Arc<EmbeddedQueue>,
    pub reg: Arc<Registry>,
    pub car_type: i64,
    pub tariff: i64,
}

fn temp_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("onecard-cards-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Kit {
    /// Branch-local now = `now`; a default car type 小型车 and a 120.00 monthly
    /// tariff for it.
    pub async fn new(now: &str) -> Kit {
        let dir = temp_dir();
        let store = Arc::new(SqliteStore::open(&dir.join("store.db")).unwrap());
        let queue = Arc::new(EmbeddedQueue::open(&dir.join("queue.db")).unwrap());
        config::seed_demo(&*store).await.unwrap();
        let clock = FixedClock::new(to_utc(parse(now).unwrap(), DEFAULT_TZ));
        let q: Arc<dyn EventQueue> = queue.clone();
        let ctx = Ctx::new(Ports { store, queue: q, sites: Arc::new(NoSites), clock: clock.clone() });
        let mut kit = Kit { ctx, clock, queue, reg: Arc::new(crate::registry()), car_type: 0, tariff: 0 };
        let ct = kit.ok("park.cartype.add", json!({"carTypeName": "小型车", "defaultCharge": true})).await;
        kit.car_type = ct["carTypeId"].as_i64().unwrap();
        let t = kit.ok("park.monthtariff.add", json!({"tariffName": "小型车月租", "carTypeId": kit.car_type, "charge": "120.00"})).await;
        kit.tariff = t["tariffId"].as_i64().unwrap();
        kit
    }

    pub fn set_now(&self, now: &str) {
        self.clock.set(to_utc(parse(now).unwrap(), DEFAULT_TZ));
    }

    /// The answer's `data`, as a client calls the route.
    pub async fn call(&self, route: &str, data: Value) -> ApiResult<Value> {
        let spec = self.reg.find(route).unwrap_or_else(|| panic!("no route {route}"));
        let branch: Branch = config::get_branch(self.ctx.store(), BRANCH).await.unwrap().unwrap();
        dispatch::run(&self.ctx, &self.reg, spec, Origin::Internal, branch, data, None).await.map(|r| r.data)
    }

    pub async fn ok(&self, route: &str, data: Value) -> Value {
        match self.call(route, data.clone()).await {
            Ok(v) => v,
            Err(e) => panic!("{route} {data} failed: {e}"),
        }
    }

    pub async fn err(&self, route: &str, data: Value) -> ApiError {
        match self.call(route, data.clone()).await {
            Ok(v) => panic!("{route} {data} should fail, answered {v}"),
            Err(e) => e,
        }
    }

    /// A monthly plate-recognition card for `plate`, the seed's minimal form.
    pub async fn monthly(&self, plate: &str, from: &str, to: &str) -> String {
        let r = self.ok("pub.card.add", json!({"NumNo": plate, "Park": {"StartDate": from, "ExpiryDate": to}})).await;
        r["CardNo"].as_str().unwrap().to_string()
    }

    pub async fn stored_value(&self, plate: &str) -> String {
        let r = self
            .ok(
                "pub.card.add",
                json!({"NumNo": plate, "Park": {"FuncType": "20", "ChargeCarType": self.car_type,
                        "StartDate": "2026-01-01 00:00:00", "ExpiryDate": "2030-12-31 23:59:59"}}),
            )
            .await;
        r["CardNo"].as_str().unwrap().to_string()
    }

    /// Events published so far.
    pub async fn events(&self) -> Vec<OutEvent> {
        let got = self.queue.receive(100, Duration::from_millis(10)).await.unwrap();
        got.into_iter().map(|r| r.event).collect()
    }
}

/// Asserts a 100001 that names `field`.
pub fn names_field(e: &ApiError, field: &str) {
    assert_eq!(e.code.0, 100001, "{e}");
    assert!(e.message.contains(&format!("'{field}'")), "expected field '{field}' in: {}", e.message);
}

pub fn t(s: &str) -> chrono::NaiveDateTime {
    parse(s).unwrap()
}
