//! Parking core on the embedded store: stays, fees, orders, exactly-once
//! payments, grace, cards (rule 8, payType 3), lane decisions, tariffs, records
//! and the outbound events. Every case goes through the registered routes, as
//! a client would, with a clock the test sets.

use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_adapters::sqlite_store::SqliteStore;
use onecard_core::config::{self, Branch};
use onecard_core::queue::{EventQueue, OutEvent};
use onecard_core::sitelink::NoSites;
use onecard_core::store::Query;
use onecard_core::time::{parse, to_utc, FixedClock, DEFAULT_TZ};
use onecard_core::{dispatch, ApiError, ApiResult, Ctx, Origin, Ports, Registry, Reply};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub(super) const BRANCH: &str = config::DEMO_BRANCH;

pub(super) struct Kit {
    pub(super) ctx: Ctx,
    pub(super) clock: Arc<FixedClock>,
    pub(super) queue: Arc<EmbeddedQueue>,
    pub(super) reg: Arc<Registry>,
    pub(super) car_type: i64,
}

fn temp_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("onecard-parking-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Kit {
    /// The demo branch (one area of `capacity` spaces), the default car type
    /// with the demo tariff (15 free minutes, 5.00 the first hour, 2.00 per
    /// started half hour, 40.00 a day), branch-local now = `now`.
    pub(super) async fn with_capacity(now: &str, capacity: i64) -> Kit {
        let dir = temp_dir();
        let store = Arc::new(SqliteStore::open(&dir.join("store.db")).unwrap());
        let queue = Arc::new(EmbeddedQueue::open(&dir.join("queue.db")).unwrap());
        config::seed_demo(&*store).await.unwrap();
        let mut b = config::get_branch(&*store, BRANCH).await.unwrap().unwrap();
        b.areas[0].capacity = capacity;
        config::put_branch(&*store, &b).await.unwrap();
        let clock = FixedClock::new(to_utc(parse(now).unwrap(), DEFAULT_TZ));
        let q: Arc<dyn EventQueue> = queue.clone();
        let ctx = Ctx::new(Ports { store, queue: q, sites: Arc::new(NoSites), clock: clock.clone() }).with_blobs(onecard_core::blob::MemBlobs::new());
        crate::seed_demo(&ctx).await.unwrap();
        let car_type = crate::park::cartype::default_type(&ctx, BRANCH).await.unwrap().unwrap().id;
        let kit = Kit { ctx, clock, queue, reg: Arc::new(crate::registry()), car_type };
        // Monthly cards of the default car type need a monthly tariff.
        kit.ok("park.monthtariff.add", json!({"tariffName": "小型车月租", "carTypeId": car_type, "charge": "120"})).await;
        kit.events().await; // the seed's tariff event
        kit
    }

    pub(super) async fn new(now: &str) -> Kit {
        Kit::with_capacity(now, 500).await
    }

    pub(super) fn set_now(&self, now: &str) {
        self.clock.set(to_utc(parse(now).unwrap(), DEFAULT_TZ));
    }

    pub(super) async fn branch(&self) -> Branch {
        config::get_branch(self.ctx.store(), BRANCH).await.unwrap().unwrap()
    }

    pub(super) async fn call(&self, route: &str, data: Value) -> ApiResult<Reply> {
        let spec = self.reg.find(route).unwrap_or_else(|| panic!("no route {route}"));
        dispatch::run(&self.ctx, &self.reg, spec, Origin::Internal, self.branch().await, data, None).await
    }

    pub(super) async fn ok(&self, route: &str, data: Value) -> Value {
        match self.call(route, data.clone()).await {
            Ok(r) => r.data,
            Err(e) => panic!("{route} {data} failed: {e}"),
        }
    }

    pub(super) async fn err(&self, route: &str, data: Value) -> ApiError {
        match self.call(route, data.clone()).await {
            Ok(r) => panic!("{route} {data} should fail, answered {}", r.data),
            Err(e) => e,
        }
    }

    pub(super) async fn enter(&self, id: &str, plate: &str, at: &str) {
        self.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": id, "licensePlate": plate, "inDate": at, "gateno": "C0000001"}))
            .await;
    }

    pub(super) async fn calc(&self, plate: &str) -> Value {
        self.ok("calc", json!({"credentialtype": "1", "credential": plate, "calcendtime": "1970-01-01 00:00:00"})).await
    }

    pub(super) async fn pay(&self, plate: &str, q: &Value) -> ApiResult<Reply> {
        self.call("commit", json!({"credentialtype": "1", "credential": plate, "parkcost": q["parkcost"], "orderNo": q["orderNo"], "payType": "7"}))
            .await
    }

    pub(super) async fn events(&self) -> Vec<OutEvent> {
        let got = self.queue.receive(100, Duration::from_millis(10)).await.unwrap();
        for r in &got {
            self.queue.ack(&r.receipt).await.unwrap();
        }
        got.into_iter().map(|r| r.event).collect()
    }

    pub(super) async fn count(&self, pk: String) -> usize {
        self.ctx.store.query_all(&Query::partition(pk)).await.unwrap().len()
    }
}

pub(super) fn code(e: &ApiError) -> i64 {
    e.code.0
}

pub(super) fn names_field(e: &ApiError, field: &str) {
    assert_eq!(e.code.0, 100001, "{e}");
    assert!(e.message.contains(&format!("'{field}'")), "expected field '{field}' in: {}", e.message);
}

pub(super) fn routes(events: &[OutEvent]) -> Vec<&str> {
    events.iter().map(|e| e.route.as_str()).collect()
}

// ---- stays ----

#[tokio::test]
async fn entry_is_idempotent_and_pushes_one_entry_event() {
    let k = Kit::new("2026-03-02 10:00:00").await;
    k.enter("11", "粤 b12345", "2026-03-02 09:00:00").await;
    k.enter("11", "粤 b12345", "2026-03-02 09:00:00").await;
    assert_eq!(k.count(crate::keys::in_park(BRANCH)).await, 1);
    let ev = k.events().await;
    assert_eq!(routes(&ev), vec!["report/parkInData"]);
    let r = &ev[0].record;
    assert_eq!(r["cardInId"], "11");
    assert_eq!(r["plateNo"], "粤B12345");
    assert_eq!(r["inDate"], "2026-03-02 09:00:00");
    assert_eq!(r["inControllerNo"], "C0000001");
    assert_eq!(r["inControllerName"], "入口1");
    assert_eq!(r["funcType"], "0");
    let s = k.ok("park.lot.status.total", json!({})).await;
    assert_eq!((s["total"].as_str(), s["remain"].as_str()), (Some("500"), Some("499")));
}

#[tokio::test]
async fn entry_needs_a_plate_or_card_and_a_known_area() {
    let k = Kit::new("2026-03-02 10:00:00").await;
    names_field(&k.err("cat.upload.indata", json!({"areaId": "1", "cardInId": "1", "inDate": "2026-03-02 09:00:00"})).await, "licensePlate");
    names_field(&k.err("cat.upload.indata", json!({"areaId": "9", "cardInId": "1", "licensePlate": "A1", "inDate": "2026-03-02 09:00:00"})).await, "areaId");
    names_field(&k.err("cat.upload.indata", json!({"areaId": "1", "cardInId": "1", "licensePlate": "A1", "inDate": "yesterday"})).await, "inDate");
    names_field(
        &k.err("cat.upload.indata", json!({"areaId": "1", "cardInId": "1", "licensePlate": "A1", "inDate": "2026-03-02 09:00:00", "sourceType": 7})).await,
        "sourceType",
    );
}

#[tokio::test]
async fn a_new_entry_of_a_car_in_the_park_supersedes_the_old_one_and_a_late_old_one_is_history() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    k.enter("2", "粤A00001", "2026-03-02 11:00:00").await;
    k.enter("0", "粤A00001", "2026-03-02 08:00:00").await;
    assert_eq!(k.count(crate::keys::in_park(BRANCH)).await, 1);
    let q = k.calc("粤A00001").await;
    assert_eq!(q["cardInId"], "2");
    assert_eq!(q["entertime"], "2026-03-02 11:00:00");
    let old = crate::park::stays::get(&k.ctx, BRANCH, "1").await.unwrap().unwrap().0;
    assert_eq!(old.state, crate::park::stays::StayState::Superseded);
    let late = crate::park::stays::get(&k.ctx, BRANCH, "0").await.unwrap().unwrap().0;
    assert_eq!(late.state, crate::park::stays::StayState::Superseded);
    // Only the entries that put a car in the park are pushed.
    assert_eq!(routes(&k.events().await), vec!["report/parkInData", "report/parkInData"]);
}

#[tokio::test]
async fn exit_closes_the_stay_once_and_frees_the_space() {
    let k = Kit::new("2026-03-02 10:00:00").await;
    k.enter("5", "粤A00005", "2026-03-02 09:00:00").await;
    k.events().await;
    names_field(&k.err("cat.upload.outdata", json!({"areaId": "1", "cardInId": "5", "outDate": "2026-03-02 08:00:00"})).await, "outDate");
    let out = json!({"areaId": "1", "cardInId": "5", "outDate": "2026-03-02 09:30:00", "gateno": "C0000002", "image": "aGVsbG8="});
    k.ok("cat.upload.outdata", out.clone()).await;
    k.ok("cat.upload.outdata", out).await;
    let ev = k.events().await;
    assert_eq!(routes(&ev), vec!["report/parkOutdata", "report/parkInOutImage"]);
    assert_eq!(ev[0].record["outDate"], "2026-03-02 09:30:00");
    assert_eq!(ev[0].record["outControllerName"], "出口1");
    assert_eq!(ev[1].record["eventType"], "2");
    // The queued event names the picture; the push reads it back (decision 16).
    assert_eq!(ev[1].record["plateImageKey"], format!("pictures/{BRANCH}/{}", onecard_core::blob::sha256_hex(b"hello")));
    assert!(ev[1].record.get("plateImage").is_none());
    assert_eq!(k.count(crate::keys::in_park(BRANCH)).await, 0);
    assert_eq!(code(&k.err("calc", json!({"credentialtype": "1", "credential": "粤A00005", "calcendtime": "1970-01-01 00:00:00"})).await), 700);
    // An exit matching no entry is kept as history and answered success (the site stops resending it).
    assert_eq!(k.ok("cat.upload.outdata", json!({"areaId": "1", "cardInId": "404", "outDate": "2026-03-02 09:30:00"})).await, json!({}));
    let out = k.ok("park.out.info", json!({"starttime": "2026-03-02 09:00:00", "endtime": "2026-03-02 10:00:00"})).await;
    assert_eq!(out[0]["exittime"], "2026-03-02 09:30:00");
    let t = k.ok("park.lot.GetTraffic", json!({"startTime": "2026-03-02 00:00:00", "endTime": "2026-03-03 00:00:00"})).await;
    assert_eq!((t["inNum"].as_str(), t["outNum"].as_str()), (Some("1"), Some("1")));
}

#[tokio::test]
async fn door_and_channel_records_are_history_only() {
    let k = Kit::new("2026-03-02 10:00:00").await;
    let r = json!({"areaId": "1", "cardInId": "77", "licensePlate": "粤A00077", "inDate": "2026-03-02 09:00:00", "sourceType": "1"});
    k.ok("cat.upload.indata", r.clone()).await;
    k.ok("cat.upload.indata", r).await;
    assert_eq!(k.count(crate::keys::in_park(BRANCH)).await, 0);
    assert_eq!(k.count(crate::keys::passages(BRANCH)).await, 1);
    assert!(k.events().await.is_empty());
}

// ---- fees and payments ----

#[tokio::test]
async fn calc_prices_the_stay_and_commit_pays_it_once() {
    let k = Kit::new("2026-03-02 10:00:01").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    k.events().await;
    let q = k.calc("粤 a00001").await;
    assert_eq!(q["parktime"], "61");
    assert_eq!(q["parkcost"], "7.00");
    assert_eq!(q["amount"], "7.00");
    assert_eq!(q["calcstarttime"], "2026-03-02 09:00:00");
    assert_eq!(q["calcendtime"], "2026-03-02 10:00:01");
    assert_eq!(q["chargeSeqNo"], "1");
    assert!(q["feeDetail"].as_str().unwrap().contains("7.00"));
    assert!(q["priceRule"].as_str().unwrap().contains("首60分钟5.00元"));
    assert!(q["orderNo"].as_str().unwrap().starts_with("CA"));

    let paid = k.pay("粤A00001", &q).await.unwrap().data;
    assert_eq!(paid["flag"], "1");
    assert_eq!(paid["FreeLeaveMinutes"], "15");
    assert_eq!(code(&k.pay("粤A00001", &q).await.unwrap_err()), 511);
    assert_eq!(k.count(crate::keys::payments(BRANCH)).await, 1);
    let ev = k.events().await;
    assert_eq!(routes(&ev), vec!["report/parkTempCarCharge"]);
    let r = &ev[0].record;
    assert_eq!((r["parkcost"].as_str(), r["amount"].as_str(), r["status"].as_str()), (Some("7.00"), Some("7.00"), Some("1")));
    assert_eq!(r["orderNo"], q["orderNo"]);

    let o = k.ok("park.order.get", json!({"orderNo": q["orderNo"]})).await;
    assert_eq!((o["status"].as_str(), o["payType"].as_str(), o["parktime"].as_str()), (Some("1"), Some("7"), Some("60")));
    let list = k.ok("park.order.list", json!({"CredentialType": "1", "Credential": "粤A00001", "payType": "5,7"})).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(k.ok("park.order.list", json!({"payType": "5"})).await.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn bad_payments_are_refused_naming_the_field_and_record_nothing() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    k.enter("2", "粤A00002", "2026-03-02 09:00:00").await;
    let q = k.calc("粤A00001").await;
    let base = |f: &dyn Fn(&mut Value)| {
        let mut v = json!({"credentialtype": "1", "credential": "粤A00001", "parkcost": q["parkcost"], "orderNo": q["orderNo"]});
        f(&mut v);
        v
    };
    names_field(&k.err("commit", base(&|v| v["parkcost"] = json!("1.00"))).await, "parkcost");
    names_field(&k.err("commit", base(&|v| v["parkcost"] = json!("abc"))).await, "parkcost");
    names_field(&k.err("commit", base(&|v| v["amount"] = json!("99.00"))).await, "amount");
    names_field(&k.err("commit", base(&|v| v["credential"] = json!("粤A00002"))).await, "credential");
    // An order number that was never issued is as unpayable as a lapsed one.
    assert_eq!(code(&k.err("commit", base(&|v| v["orderNo"] = json!("CA-nope"))).await), 510);
    // Without an order the stay is priced again: a fee that is not due now is refused.
    let unordered = |v: &mut Value| {
        v.as_object_mut().unwrap().remove("orderNo");
        v["parkcost"] = json!("1.00");
    };
    names_field(&k.err("commit", base(&unordered)).await, "parkcost");
    names_field(&k.err("commit", base(&|v| v["credentialtype"] = json!("5"))).await, "credentialtype");
    names_field(&k.err("calc", json!({"credentialtype": "1", "credential": "粤A00001"})).await, "calcendtime");
    names_field(&k.err("calc", json!({"credentialtype": "1", "credential": "粤A00001", "calcendtime": "2026-03-02 08:00:00"})).await, "calcendtime");
    names_field(&k.err("calc", json!({"credentialtype": "1", "credential": "粤A00001", "calcendtime": "1970-01-01 00:00:00", "carType": 99})).await, "carType");
    assert_eq!(k.count(crate::keys::payments(BRANCH)).await, 0);
}

#[tokio::test]
async fn typed_inputs_refuse_what_the_old_parsing_let_through() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let calc = |end: &str| json!({"credentialtype": "1", "credential": "粤A00001", "calcendtime": end});
    names_field(&k.err("calc", calc("9999-12-31 00:00:00")).await, "calcendtime");
    names_field(&k.err("calc", json!({"credentialtype": "3", "credential": "粤A00001", "calcendtime": "1970-01-01 00:00:00"})).await, "credentialtype");
    names_field(&k.err("park.in.info", json!({"credentialtype": 9, "credential": "粤A00001"})).await, "credentialtype");
    names_field(&k.err("park.order.list", json!({"payType": "5,x"})).await, "payType");
    names_field(&k.err("park.charge.exist", json!({"licensePlate": "粤A".repeat(10), "afterTime": "2026-03-02 10:00:00"})).await, "licensePlate");
    let year = json!({"dateStart": "2024-01-01 00:00:00", "dateEnd": "2026-01-01 00:00:00", "dateType": "0"});
    names_field(&k.err("park.inoutlist.info", year).await, "dateEnd");
    names_field(&k.err("park.lot.GetTraffic", json!({"startTime": "2024-01-01 00:00:00", "endTime": "2026-01-01 00:00:00"})).await, "endTime");
    names_field(&k.err("park.out.info", json!({"starttime": "2026-03-02 10:00:00", "endtime": "2026-03-01 10:00:00"})).await, "endtime");
    // Nothing was quoted or paid by the refusals.
    assert_eq!(k.count(crate::keys::orders(BRANCH)).await, 0);
}

#[tokio::test]
async fn orders_keep_their_codes_stored_as_integers() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤A00001").await;
    k.pay("粤A00001", &q).await.unwrap();
    let no = q["orderNo"].as_str().unwrap();
    let order = k.ctx.store.get(&crate::keys::orders(BRANCH), no).await.unwrap().unwrap();
    assert_eq!((&order.body["status"], &order.body["pay_type"]), (&json!(1), &json!(7)));
    let stay = k.ctx.store.get(&crate::keys::stays(BRANCH), "1").await.unwrap().unwrap();
    assert_eq!(stay.body["payments"][0]["pay_type"], json!(7));
    // An order written before the kit (status as an integer) still reads.
    let mut old = order.body.clone();
    old["status"] = json!(0);
    old["pay_type"] = json!(null);
    let o: crate::park::orders::Order = serde_json::from_value(old).unwrap();
    assert_eq!((o.status, o.pay_type), (onecard_core::kit::OrderStatus::Unpaid, None));
}

#[tokio::test]
async fn cancelling_without_an_order_number_says_why_nothing_changed() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let r = k.call("park.charge.cancel", json!({"credentialtype": "1", "credential": "粤A00001"})).await.unwrap();
    assert_eq!(r.data, Value::Null);
    assert!(r.message.unwrap().contains("expire by themselves"));
    let q = k.calc("粤A00001").await;
    let r = k.call("park.charge.cancel", json!({"credentialtype": "1", "credential": "粤A00001", "orderNo": q["orderNo"]})).await.unwrap();
    assert_eq!((r.data, r.message.as_deref()), (Value::Null, Some("success")));
    assert_eq!(code(&k.err("park.charge.cancel", json!({"credential": "粤A09999"})).await), 700);
}

#[tokio::test]
async fn an_order_expires_after_the_order_minutes() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤A00001").await;
    k.set_now("2026-03-02 11:15:00");
    assert_eq!(k.ok("park.order.get", json!({"orderNo": q["orderNo"]})).await["status"], "0");
    k.set_now("2026-03-02 11:15:01");
    assert_eq!(k.ok("park.order.get", json!({"orderNo": q["orderNo"]})).await["status"], "2");
    assert_eq!(code(&k.pay("粤A00001", &q).await.unwrap_err()), 510);
    assert_eq!(k.count(crate::keys::payments(BRANCH)).await, 0);
}

#[tokio::test]
async fn an_order_quoted_before_another_payment_is_stale() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let a = k.calc("粤A00001").await;
    let b = k.calc("粤A00001").await;
    assert_ne!(a["orderNo"], b["orderNo"]);
    k.pay("粤A00001", &a).await.unwrap();
    assert_eq!(code(&k.pay("粤A00001", &b).await.unwrap_err()), 510);
    assert_eq!(k.count(crate::keys::payments(BRANCH)).await, 1);
}

#[tokio::test]
async fn cancelled_orders_cannot_be_paid() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤A00001").await;
    k.ok("park.charge.cancel", json!({"credentialtype": "1", "credential": "粤A00001", "orderno": q["orderNo"]})).await;
    assert_eq!(code(&k.pay("粤A00001", &q).await.unwrap_err()), 510);
    assert_eq!(k.ok("park.order.get", json!({"orderNo": q["orderNo"]})).await["status"], "2");
    let paid = k.calc("粤A00001").await;
    k.pay("粤A00001", &paid).await.unwrap();
    let e = k.err("park.charge.cancel", json!({"credentialtype": "1", "credential": "粤A00001", "orderno": paid["orderNo"]})).await;
    assert_eq!(code(&e), 500);
}

#[tokio::test]
async fn partial_payments_add_up_and_give_no_grace() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤A00001").await;
    assert_eq!(q["parkcost"], "9.00");
    let r = k
        .ok("commit", json!({"credentialtype": "1", "credential": "粤A00001", "parkcost": "9.00", "amount": "4.00",
                            "orderNo": q["orderNo"], "payType": "2", "onlyPartialFee": "1"}))
        .await;
    assert!(r.get("FreeLeaveMinutes").is_none());
    k.set_now("2026-03-02 11:05:00");
    let q2 = k.calc("粤A00001").await;
    // 125 started minutes: 5.00 + 3 started half hours = 11.00, minus the 4.00 paid.
    assert_eq!(q2["parkcost"], "7.00");
    assert_eq!(q2["calcstarttime"], "2026-03-02 11:00:00");
    assert_eq!(q2["chargeSeqNo"], "2");
    k.pay("粤A00001", &q2).await.unwrap();
    assert_eq!(k.calc("粤A00001").await["parkcost"], "0.00");
    let j = k.ok("park.inoutlist.info", json!({"dateStart": "2026-03-02 00:00:00", "dateEnd": "2026-03-03 00:00:00", "dateType": "0"})).await;
    let types: Vec<&str> = j.as_array().unwrap().iter().map(|r| r["recordType"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["0", "1", "1"]);
    let e = k.ok("park.charge.exist", json!({"licensePlate": "粤A00001", "afterTime": "2026-03-02 10:00:00", "payType": "7"})).await;
    assert_eq!((e["exist"].as_str(), e["amount"].as_str()), (Some("True"), Some("7.00")));
    let none = k.ok("park.charge.exist", json!({"licensePlate": "粤A00001", "afterTime": "2026-03-02 11:06:00"})).await;
    assert_eq!(none["exist"], "False");
}

#[tokio::test]
async fn after_a_full_payment_the_car_leaves_free_within_the_grace_then_pays_the_rest() {
    let k = Kit::new("2026-03-02 10:00:01").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤A00001").await;
    k.pay("粤A00001", &q).await.unwrap();
    k.set_now("2026-03-02 10:15:01");
    assert_eq!(k.calc("粤A00001").await["parkcost"], "0.00");
    let lane = k.ok("cat.pass.validate", json!({"deviceID": "2", "carNo": "粤A00001", "passTime": "2026-03-02 10:15:01", "inOutFlag": "2"})).await;
    assert_eq!(lane["passFlag"], "1");
    k.set_now("2026-03-02 10:31:00");
    let late = k.calc("粤A00001").await;
    // 91 started minutes: 5.00 + 2 started half hours = 9.00, minus the 7.00 paid.
    assert_eq!(late["parkcost"], "2.00");
    assert_eq!(late["calcstarttime"], "2026-03-02 10:00:01");
    let lane = k.ok("cat.pass.validate", json!({"deviceID": "2", "carNo": "粤A00001", "passTime": "2026-03-02 10:31:00", "inOutFlag": "2"})).await;
    // offMoney is the free amount (hintType 3), not what is due.
    assert_eq!((lane["passFlag"].as_str(), lane["offMoney"].as_str()), (Some("0"), Some("0.00")));
    assert!(lane["hintText"].as_str().unwrap().contains("请缴费2.00元"));
}

#[tokio::test]
async fn a_zero_fee_is_paid_with_the_calc_id_once() {
    let k = Kit::new("2026-03-02 09:10:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤A00001").await;
    assert_eq!(q["parkcost"], "0.00");
    assert!(q.get("orderNo").is_none());
    let id = q["calcId"].clone();
    let pay = json!({"credentialtype": "1", "credential": "粤A00001", "parkcost": "0.00", "payType": 2, "calcId": id});
    assert_eq!(k.ok("commit", pay.clone()).await["FreeLeaveMinutes"], "15");
    assert_eq!(code(&k.err("commit", pay).await), 511);
    names_field(&k.err("commit", json!({"credentialtype": "1", "credential": "粤A00001", "parkcost": "1.00", "calcId": id})).await, "parkcost");
}

// ---- cards ----

pub(super) async fn monthly_card(k: &Kit, plate: &str, from: &str, to: &str) -> String {
    let r = k.ok("pub.card.add", json!({"NumNo": plate, "Park": {"StartDate": from, "ExpiryDate": to}})).await;
    r["CardNo"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_valid_monthly_card_pays_nothing_and_an_expiring_one_pays_from_its_expiry() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    monthly_card(&k, "粤M00001", "2026-03-01 00:00:00", "2026-03-31 23:59:59").await;
    monthly_card(&k, "粤M00002", "2026-02-01 00:00:00", "2026-03-02 10:00:00").await;
    k.enter("1", "粤M00001", "2026-03-02 09:00:00").await;
    k.enter("2", "粤M00002", "2026-03-02 09:00:00").await;
    assert_eq!(k.events().await[0].record["funcType"], "26");
    let free = k.calc("粤M00001").await;
    assert_eq!(free["parkcost"], "0.00");
    // Priced from 10:00:00 to 12:00:00: 5.00 + 2 steps.
    assert_eq!(k.calc("粤M00002").await["parkcost"], "9.00");
    let lane = k.ok("cat.pass.validate", json!({"deviceID": "1", "carNo": "粤M00001", "passTime": "2026-03-02 12:00:00", "inOutFlag": "1"})).await;
    assert_eq!(lane["passFlag"], "1");
    assert!(lane["hintText"].as_str().unwrap().contains("月卡 剩余29天"), "{lane}");
    let out = k.ok("cat.pass.validate", json!({"deviceID": "2", "carNo": "粤M00001", "passTime": "2026-03-02 12:00:00", "inOutFlag": "2"})).await;
    assert_eq!(out["passFlag"], "1");
}

#[tokio::test]
async fn a_disabled_card_is_refused_at_the_entry_lane() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    let card = monthly_card(&k, "粤M00003", "2026-03-01 00:00:00", "2026-03-31 23:59:59").await;
    k.ok("pub.card.disable", json!({"CredentialType": "2", "Credential": card})).await;
    let lane = k.ok("cat.pass.validate", json!({"deviceID": "1", "carNo": "粤M00003", "passTime": "2026-03-02 12:00:00", "inOutFlag": "1"})).await;
    assert_eq!(lane["passFlag"], "0");
    assert!(lane["hintText"].as_str().unwrap().contains("停用"));
}

#[tokio::test]
async fn a_stored_value_card_pays_from_its_balance_and_never_below_zero() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    let r = k
        .ok("pub.card.add", json!({"NumNo": "粤S00001", "Park": {"FuncType": "20", "ChargeCarType": k.car_type,
                                    "StartDate": "2026-01-01 00:00:00", "ExpiryDate": "2030-12-31 23:59:59"}}))
        .await;
    let card_no = r["CardNo"].as_str().unwrap().to_string();
    let set_balance = |fen: i64| {
        let ctx = k.ctx.clone();
        let card_no = card_no.clone();
        async move {
            let c = crate::cards::store::card_versioned(&ctx, BRANCH, &card_no).await.unwrap().unwrap();
            let mut next = c.value.clone();
            next.balance = onecard_core::Fen(fen);
            ctx.store.transact(vec![crate::cards::store::card_update(BRANCH, &c, &next)]).await.unwrap();
        }
    };
    set_balance(500).await;
    k.enter("1", "粤S00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤S00001").await;
    assert_eq!(q["parkcost"], "9.00");
    let pay = json!({"credentialtype": "1", "credential": "粤S00001", "parkcost": "9.00", "orderNo": q["orderNo"], "payType": "3"});
    let e = k.err("commit", pay.clone()).await;
    assert_eq!(code(&e), 500, "{e}");
    assert_eq!(k.count(crate::keys::payments(BRANCH)).await, 0);
    set_balance(1000).await;
    k.ok("commit", pay.clone()).await;
    let card = crate::cards::get_card(&k.ctx, BRANCH, &card_no).await.unwrap().unwrap();
    assert_eq!(card.balance, onecard_core::Fen(100));
    assert_eq!(code(&k.err("commit", pay).await), 511);
    let card = crate::cards::get_card(&k.ctx, BRANCH, &card_no).await.unwrap().unwrap();
    assert_eq!(card.balance, onecard_core::Fen(100));
}

// ---- lanes and records ----

#[tokio::test]
async fn a_full_lot_refuses_temporary_cars_but_not_monthly_ones() {
    let k = Kit::with_capacity("2026-03-02 12:00:00", 1).await;
    monthly_card(&k, "粤M00009", "2026-03-01 00:00:00", "2026-03-31 23:59:59").await;
    let ask = |plate: &str| json!({"deviceID": "1", "carNo": plate, "passTime": "2026-03-02 12:00:00", "inOutFlag": "1"});
    let lane = k.ok("cat.pass.validate", ask("粤A00001")).await;
    assert_eq!(lane["passFlag"], "1");
    assert!(lane["hintText"].as_str().unwrap().contains("欢迎光临"));
    k.enter("1", "粤A00001", "2026-03-02 11:00:00").await;
    let full = k.ok("cat.pass.validate", ask("粤A00002")).await;
    assert_eq!(full["passFlag"], "0");
    assert!(full["hintText"].as_str().unwrap().contains("车位已满"));
    assert_eq!(k.ok("cat.pass.validate", ask("粤M00009")).await["passFlag"], "1");
    assert_eq!(k.ok("park.lot.status.total", json!({})).await["remain"], "0");
    let area = k.ok("park.lot.status.total.of.area", Value::Null).await;
    assert_eq!((area[0]["total"].as_str(), area[0]["remain"].as_str()), (Some("1"), Some("0")));
    names_field(&k.err("cat.pass.validate", json!({"deviceID": "1", "carNo": "A", "passTime": "2026-03-02 12:00:00", "inOutFlag": "7"})).await, "inOutFlag");
    names_field(&k.err("cat.pass.validate", json!({"deviceID": "nope", "carNo": "A", "passTime": "2026-03-02 12:00:00"})).await, "deviceID");
    // An exit with no entry record is refused, not crashed.
    let none = k.ok("cat.pass.validate", json!({"deviceID": "2", "carNo": "粤Q00000", "passTime": "2026-03-02 12:00:00"})).await;
    assert_eq!(none["passFlag"], "0");
}

#[tokio::test]
async fn in_info_matches_exactly_or_partially_and_plate_fix_moves_the_car() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    k.enter("1", "粤A12345", "2026-03-02 09:00:00").await;
    k.enter("2", "粤B12399", "2026-03-02 10:30:00").await;
    let like = k.ok("park.in.info", json!({"credential": "123", "searchLike": "1"})).await;
    assert_eq!(like.as_array().unwrap().len(), 2);
    assert!(like[0].get("functype").is_none());
    let exact = k.ok("park.in.info", json!({"credentialtype": "1", "credential": "粤a12345"})).await;
    assert_eq!(exact.as_array().unwrap().len(), 1);
    assert_eq!(exact[0]["functype"], "0");
    assert_eq!(exact[0]["parkingtime"], "180");
    let window = k.ok("park.in.info", json!({"starttime": "2026-03-02 10:00:00", "endtime": "2026-03-02 11:00:00"})).await;
    assert_eq!(window[0]["carno"], "粤B12399");

    let q = k.calc("粤A12345").await;
    k.pay("粤A12345", &q).await.unwrap();
    names_field(&k.err("park.lp.fix", json!({"old": "粤A12345", "new": "粤B12399"})).await, "new");
    k.ok("park.lp.fix", json!({"old": "粤A12345", "new": "粤A12346"})).await;
    assert_eq!(code(&k.err("calc", json!({"credentialtype": "1", "credential": "粤A12345", "calcendtime": "1970-01-01 00:00:00"})).await), 700);
    assert_eq!(k.calc("粤A12346").await["parkcost"], "0.00");
    let list = k.ok("park.order.list", json!({"Credential": "粤A12346"})).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(code(&k.err("park.lp.fix", json!({"old": "粤Z00000", "new": "粤Z00001"})).await), 700);
}

#[tokio::test]
async fn charge_history_lists_a_plates_payments_after_it_left() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤A00001").await;
    k.pay("粤A00001", &q).await.unwrap();
    let ask = json!({"licenseplate": "粤A00001", "starttime": "2026-03-02 00:00:00", "endtime": "2026-03-03 00:00:00"});
    assert!(k.ok("park.hcard.charge.history", ask.clone()).await.as_array().unwrap().is_empty());
    k.ok("cat.upload.outdata", json!({"areaId": "1", "cardInId": "1", "outDate": "2026-03-02 11:05:00"})).await;
    let h = k.ok("park.hcard.charge.history", ask).await;
    assert_eq!((h[0]["amount"].as_str(), h[0]["parktime"].as_str()), (Some("9.00"), Some("120")));
    let j = k.ok("park.inoutlist.info", json!({"dateStart": "2026-03-02 11:00:00", "dateEnd": "2026-03-02 12:00:00", "dateType": "1"})).await;
    let types: Vec<&str> = j.as_array().unwrap().iter().map(|r| r["recordType"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["2", "3"]);
    names_field(&k.err("park.inoutlist.info", json!({"dateStart": "2026-03-02 11:00:00", "dateEnd": "2026-03-02 12:00:00", "dateType": "4"})).await, "dateType");
}

// ---- tariffs ----

fn tariff(area: &str, car_type: i64, first: &str) -> Value {
    json!({"areaNo": area, "carTypeId": car_type, "chargeMode": 1, "midnight": "1970-01-01 00:00:00", "timeNumber": 1,
           "chargePeriod": [{"periodName": "all", "stTime": "1970-01-01 00:00:00", "endTime": "1970-01-01 00:00:00",
                             "freeMinutes": 0, "fstSectTime": 60, "fstSectCharge": first, "sectTime": 0, "sectCharge": 0,
                             "maxCharge": 0, "fixCharge": 0}]})
}

#[tokio::test]
async fn temporary_tariffs_are_one_per_area_and_car_type_and_an_area_beats_the_wildcard() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    let ct = k.ok("park.cartype.add", json!({"carTypeName": "大型车"})).await["carTypeId"].as_i64().unwrap();
    let all = k.ok("park.temporarytariff.add", tariff("FFFFFFFFF", ct, "3")).await["tariffId"].as_i64().unwrap();
    names_field(&k.err("park.temporarytariff.add", tariff("FFFFFFFF", ct, "4")).await, "carTypeId");
    names_field(&k.err("park.temporarytariff.add", tariff("7", ct, "4")).await, "areaNo");
    names_field(&k.err("park.temporarytariff.add", tariff("1", 999, "4")).await, "carTypeId");
    let ev = k.events().await;
    assert_eq!(routes(&ev), vec!["report/parkTempCarChargeRule"]);
    assert_eq!(ev[0].record["carTypeName"], "大型车");

    k.enter("1", "粤A00001", "2026-03-02 11:00:00").await;
    let calc = json!({"credentialtype": "1", "credential": "粤A00001", "calcendtime": "1970-01-01 00:00:00", "carType": ct});
    assert_eq!(k.ok("calc", calc.clone()).await["parkcost"], "3.00");
    let own = k.ok("park.temporarytariff.add", tariff("1", ct, "6")).await["tariffId"].as_i64().unwrap();
    assert_eq!(k.ok("calc", calc.clone()).await["parkcost"], "6.00");

    let mut upd = tariff("1", ct, "8");
    upd["tariffId"] = json!(own);
    k.ok("park.temporarytariff.update", upd).await;
    assert_eq!(k.ok("calc", calc.clone()).await["parkcost"], "8.00");
    let detail = k.ok("park.temporarytariff.query", json!({"tariffId": own})).await;
    assert_eq!((detail["areaNo"].as_str(), detail["carTypeId"].as_i64()), (Some("1"), Some(ct)));
    assert_eq!(detail["chargePeriod"][0]["fstSectCharge"], "8.00");
    let list = k.ok("park.temporarytarifflist.query", json!({})).await;
    assert_eq!(list.as_array().unwrap().len(), 3);

    let e = k.err("park.cartype.delete", json!({"carTypeId": ct})).await;
    assert_eq!(code(&e), 500);
    k.ok("park.temporarytariff.delete", json!({"tariffId": own})).await;
    assert_eq!(k.ok("calc", calc).await["parkcost"], "3.00");
    names_field(&k.err("park.temporarytariff.query", json!({"tariffId": own})).await, "tariffId");
    k.ok("park.temporarytariff.delete", json!({"tariffId": all})).await;
    k.ok("park.cartype.delete", json!({"carTypeId": ct})).await;
}

#[tokio::test]
async fn a_tariff_that_does_not_cover_the_day_once_is_refused() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    let mut t = tariff("1", k.car_type, "5");
    t["chargePeriod"] = json!([
        {"stTime": "1970-01-01 08:00:00", "endTime": "1970-01-01 20:00:00", "fixCharge": 5},
        {"stTime": "1970-01-01 21:00:00", "endTime": "1970-01-01 08:00:00", "fixCharge": 5}
    ]);
    t["timeNumber"] = json!(2);
    names_field(&k.err("park.temporarytariff.add", t).await, "chargePeriod");
    assert!(k.events().await.is_empty());
}

#[tokio::test]
async fn monthly_tariffs_round_trip_and_a_bound_one_cannot_be_deleted() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    let id = k.ok("park.monthtariff.add", json!({"tariffName": "月租", "carTypeId": k.car_type, "charge": "150"})).await["tariffId"].as_i64().unwrap();
    names_field(&k.err("park.monthtariff.add", json!({"tariffName": "x", "carTypeId": 99})).await, "carTypeId");
    names_field(&k.err("park.monthtariff.update", json!({"tariffId": id, "tariffName": "x"})).await, "carTypeId");
    k.ok("park.monthtariff.update", json!({"tariffId": id, "tariffName": "月租2", "carTypeId": k.car_type, "charge": "160.50"})).await;
    let rows = k.ok("park.monthtariff.query", json!({"tariffId": id})).await;
    assert_eq!((rows[0]["tariffName"].as_str(), rows[0]["charge"].as_str()), (Some("月租2"), Some("160.50")));
    k.ok("pub.card.add", json!({"NumNo": "粤M00001", "Park": {"TariffID": id, "StartDate": "2026-03-01 00:00:00", "ExpiryDate": "2026-03-31 23:59:59"}}))
        .await;
    let e = k.err("park.monthtariff.delete", json!({"tariffId": id})).await;
    assert_eq!(code(&e), 500, "{e}");
    assert!(e.message.contains("bound"), "{e}");
    let other = k.ok("park.monthtariff.add", json!({"tariffName": "空", "charge": "1"})).await["tariffId"].as_i64().unwrap();
    k.ok("park.monthtariff.delete", json!({"tariffId": other})).await;
    names_field(&k.err("park.monthtariff.delete", json!({"tariffId": other})).await, "tariffId");
}

#[tokio::test]
async fn a_card_only_entry_is_found_and_paid_by_its_card_number() {
    let k = Kit::new("2026-03-02 10:00:01").await;
    k.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "9", "cardNo": "00012345", "inDate": "2026-03-02 09:00:00"})).await;
    let q = k.ok("calc", json!({"credentialtype": "2", "credential": "00012345", "calcendtime": "1970-01-01 00:00:00"})).await;
    assert_eq!((q["numno"].as_str(), q["parkcost"].as_str()), (Some("00012345"), Some("7.00")));
    assert_eq!(code(&k.err("calc", json!({"credentialtype": "1", "credential": "00012345", "calcendtime": "1970-01-01 00:00:00"})).await), 700);
    k.ok("commit", json!({"credentialtype": "2", "credential": "00012345", "parkcost": "7.00", "orderNo": q["orderNo"]})).await;
    let ev = k.events().await;
    assert_eq!(routes(&ev), vec!["report/parkInData", "report/parkTempCarCharge"]);
    assert_eq!(ev[0].record["plateNo"], "00012345");
}

/// A site that let a car out while offline may not know the entry's
/// `cardInId`: the plate finds the stay; an exit with no entry is kept, not lost.
#[tokio::test]
async fn an_exit_without_card_in_id_closes_the_stay_of_its_plate() {
    let k = Kit::new("2026-03-02 10:00:00").await;
    k.enter("7", "粤A00007", "2026-03-02 09:00:00").await;
    k.events().await;
    k.ok("cat.upload.outdata", json!({"areaId": "1", "cardInId": "", "licensePlate": "粤 a00007", "outDate": "2026-03-02 09:40:00"})).await;
    assert_eq!(k.count(crate::keys::in_park(BRANCH)).await, 0);
    let ev = k.events().await;
    assert_eq!(routes(&ev), vec!["report/parkOutdata"]);
    assert_eq!(ev[0].record["cardInId"], "7");

    let unmatched = json!({"areaId": "1", "licensePlate": "粤A99999", "outDate": "2026-03-02 09:45:00"});
    k.ok("cat.upload.outdata", unmatched.clone()).await;
    k.ok("cat.upload.outdata", unmatched).await;
    assert_eq!(k.count(crate::keys::passages(BRANCH)).await, 1);
    assert!(k.events().await.is_empty());
    names_field(&k.err("cat.upload.outdata", json!({"areaId": "1", "outDate": "2026-03-02 09:45:00"})).await, "cardInId");
}
