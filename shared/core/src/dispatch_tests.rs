//! Every refusal path of the request pipeline, on an in-memory store so the
//! core's rules are checked without any adapter.

use crate::codes::Code;
use crate::config::{self, Caller};
use crate::ctx::{Ctx, Ports};
use crate::dispatch;
use crate::registry::{handler, Group, Registry};
use crate::request::{Reply, Req};
use crate::sign;
use crate::sitelink::NoSites;
use crate::store::{Cond, Item, ItemStore, Page, Query, SkRange, StoreError, StoreResult, Write};
use crate::time::{self, FixedClock};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Just enough of the store contract for the pipeline (no TTL, no paging).
#[derive(Default)]
struct MemStore(Mutex<BTreeMap<(String, String), Item>>);

#[async_trait]
impl ItemStore for MemStore {
    async fn get(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        Ok(self.0.lock().unwrap().get(&(pk.to_string(), sk.to_string())).cloned())
    }
    async fn put(&self, item: Item, cond: Cond) -> StoreResult<()> {
        self.transact(vec![Write::put(item, cond)]).await.map_err(|_| StoreError::ConditionFailed)
    }
    async fn delete(&self, pk: &str, sk: &str, cond: Cond) -> StoreResult<()> {
        self.transact(vec![Write::delete(pk, sk, cond)]).await.map_err(|_| StoreError::ConditionFailed)
    }
    async fn query(&self, q: &Query) -> StoreResult<Page> {
        let m = self.0.lock().unwrap();
        let items = m
            .values()
            .filter(|i| i.pk == q.pk && matches!(&q.range, SkRange::All))
            .cloned()
            .collect();
        Ok(Page { items, cursor: None })
    }
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        let mut m = self.0.lock().unwrap();
        for (i, w) in writes.iter().enumerate() {
            let (pk, sk) = w.key();
            let cur = m.get(&(pk.to_string(), sk.to_string()));
            let cond = match w {
                Write::Put { cond, .. } | Write::Delete { cond, .. } | Write::Check { cond, .. } => cond,
            };
            let ok = match cond {
                Cond::None => true,
                Cond::MustNotExist => cur.is_none(),
                Cond::MustExist => cur.is_some(),
                Cond::VersionIs(v) => cur.is_some_and(|c| c.version == *v),
            };
            if !ok {
                return Err(StoreError::TransactionCancelled { index: Some(i) });
            }
        }
        for w in writes {
            match w {
                Write::Put { item, .. } => {
                    m.insert((item.pk.clone(), item.sk.clone()), item);
                }
                Write::Delete { pk, sk, .. } => {
                    m.remove(&(pk, sk));
                }
                Write::Check { .. } => {}
            }
        }
        Ok(())
    }
}

struct NoQueue;

#[async_trait]
impl crate::queue::EventQueue for NoQueue {
    async fn publish(&self, _e: &crate::queue::OutEvent) -> crate::queue::QueueResult<()> {
        Ok(())
    }
    async fn receive(&self, _m: usize, _w: std::time::Duration) -> crate::queue::QueueResult<Vec<crate::queue::Received>> {
        Ok(vec![])
    }
    async fn ack(&self, _r: &str) -> crate::queue::QueueResult<()> {
        Ok(())
    }
    async fn release(&self, _r: &str, _d: std::time::Duration) -> crate::queue::QueueResult<()> {
        Ok(())
    }
}

const NOW: &str = "2026-03-02 10:00:00";

async fn setup() -> (Ctx, Registry) {
    let store = Arc::new(MemStore::default());
    config::seed_demo(&*store).await.unwrap();
    config::put_caller(
        &*store,
        &Caller { from: "parkonly".into(), secret: "k".into(), enabled: true, branches: vec!["1001".into()], groups: vec!["park".into()], verify_url: None },
    )
    .await
    .unwrap();
    config::put_caller(
        &*store,
        &Caller { from: "off".into(), secret: "k".into(), enabled: false, branches: vec!["*".into()], groups: vec!["*".into()], verify_url: None },
    )
    .await
    .unwrap();
    let mut b2 = config::demo_branch();
    b2.branchno = "2002".into();
    config::put_branch(&*store, &b2).await.unwrap();
    let clock = FixedClock::new(time::to_utc(time::parse(NOW).unwrap(), time::DEFAULT_TZ));
    let ctx = Ctx::new(Ports { store, queue: Arc::new(NoQueue), sites: Arc::new(NoSites), clock });
    let mut reg = Registry::new();
    reg.handle(
        "park.cartype.query",
        handler(|_ctx: Ctx, req: Req| async move { Ok(Reply::data(json!({"echo": req.data.raw().clone()}))) }),
    );
    reg.handle("park.cartype.add", handler(|_ctx: Ctx, req: Req| async move { req.data.str("carTypeName").map(|n| Reply::data(json!(n))) }));
    reg.handle("park.cartype.delete", handler(|_ctx: Ctx, _req: Req| async move { panic!("a bug") }));
    (ctx, reg)
}

fn body(from: &str, secret: &str, ts: &str, nonce: &str, branch: &str, data: &str) -> String {
    let sig = sign::sign(secret, &sign::signing_string(from, ts, nonce, data));
    format!(r#"{{"from":"{from}","timestamp":"{ts}","nonce":"{nonce}","sign":"{sig}","branchno":"{branch}","data":{data}}}"#)
}

async fn code_of(ctx: &Ctx, reg: &Registry, path: &str, b: &str) -> (i64, Value) {
    let env = dispatch::http(ctx, reg, path, b.as_bytes(), None).await;
    (env["code"].as_i64().unwrap(), env)
}

#[tokio::test]
async fn accepts_a_signed_request_and_echoes_data() {
    let (ctx, reg) = setup().await;
    let (c, env) = code_of(&ctx, &reg, "/api.aspx/park.cartype.query", &body("demo", "demo-secret", NOW, "1", "1001", r#"{"a":1}"#)).await;
    assert_eq!(c, 200, "{env}");
    assert_eq!(env["status"], json!(true));
    assert_eq!(env["data"]["echo"], json!({"a": 1}));
    assert_eq!(env["time"], json!(NOW));
}

#[tokio::test]
async fn every_refusal_has_its_code() {
    let (ctx, reg) = setup().await;
    let p = "/api.aspx/park.cartype.query";
    let ok = |from: &str, secret: &str, ts: &str, n: &str, b: &str| body(from, secret, ts, n, b, "{}");
    let cases: Vec<(&str, String, Code)> = vec![
        ("unknown route", ok("demo", "demo-secret", NOW, "2", "1001"), Code::UNKNOWN_ROUTE),
        ("wrong secret", ok("demo", "nope", NOW, "3", "1001"), Code::AUTH),
        ("unknown caller", ok("ghost", "x", NOW, "4", "1001"), Code::AUTH),
        ("disabled caller", ok("off", "k", NOW, "5", "1001"), Code::AUTH),
        ("stale timestamp", ok("demo", "demo-secret", "2026-03-02 09:54:59", "6", "1001"), Code::AUTH),
        ("future timestamp", ok("demo", "demo-secret", "2026-03-02 10:05:01", "7", "1001"), Code::AUTH),
        ("bad timestamp", ok("demo", "demo-secret", "yesterday", "8", "1001"), Code::AUTH),
        ("unknown branch", ok("demo", "demo-secret", NOW, "9", "9999"), Code::NOT_ALLOWED),
        ("branch not allowed", ok("demo", "demo-secret", NOW, "10", "2002"), Code::NOT_ALLOWED),
        ("missing sign", r#"{"from":"demo","timestamp":"2026-03-02 10:00:00","branchno":"1001","data":{}}"#.into(), Code::AUTH),
        ("missing from", r#"{"sign":"x","timestamp":"2026-03-02 10:00:00","branchno":"1001","data":{}}"#.into(), Code::AUTH),
        ("missing branchno", r#"{"from":"demo","sign":"x","timestamp":"2026-03-02 10:00:00","data":{}}"#.into(), Code::BAD_INPUT),
        ("malformed JSON", r#"{"from":"demo", "data": {"#.into(), Code::BAD_INPUT),
        ("not an object", "[1,2]".into(), Code::BAD_INPUT),
    ];
    for (what, b, want) in cases {
        let path = if what == "unknown route" { "/api.aspx/park.no.such" } else { p };
        let (c, env) = code_of(&ctx, &reg, path, &b).await;
        assert_eq!(c, want.0, "{what}: {env}");
        assert_eq!(env["status"], json!(false), "{what}");
        assert!(env["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}");
    }
}

#[tokio::test]
async fn group_limits_outbound_routes_and_unbuilt_routes() {
    let (ctx, reg) = setup().await;
    let pub_route = body("parkonly", "k", NOW, "11", "1001", "{}");
    assert_eq!(code_of(&ctx, &reg, "/api.aspx/pub.users.get", &pub_route).await.0, 403);
    let outbound = body("demo", "demo-secret", NOW, "12", "1001", "{}");
    assert_eq!(code_of(&ctx, &reg, "/report/parkInData", &outbound).await.0, 403);
    let unbuilt = body("demo", "demo-secret", NOW, "13", "1001", "{}");
    let (c, env) = code_of(&ctx, &reg, "/api.aspx/park.lockcar", &unbuilt).await;
    assert_eq!(c, 501);
    assert!(env["message"].as_str().unwrap().contains("6.16"), "{env}");
    // A Lambda serving one group does not answer another group's route.
    let env = dispatch::http(&ctx, &reg, "/api.aspx/park.cartype.query", body("demo", "demo-secret", NOW, "14", "1001", "{}").as_bytes(), Some(&[Group::Pub])).await;
    assert_eq!(env["code"], json!(404));
}

#[tokio::test]
async fn a_replay_inside_the_window_is_refused() {
    let (ctx, reg) = setup().await;
    let b = body("demo", "demo-secret", NOW, "20", "1001", "{}");
    assert_eq!(code_of(&ctx, &reg, "/api.aspx/park.cartype.query", &b).await.0, 200);
    assert_eq!(code_of(&ctx, &reg, "/api.aspx/park.cartype.query", &b).await.0, 100003);
    // A forged request never reaches the replay memory, so it cannot block the real one.
    let forged = body("demo", "wrong", NOW, "21", "1001", "{}");
    assert_eq!(code_of(&ctx, &reg, "/api.aspx/park.cartype.query", &forged).await.0, 100003);
}

#[tokio::test]
async fn raw_bytes_are_signed_and_data_as_string_is_accepted() {
    let (ctx, reg) = setup().await;
    let spaced = body("demo", "demo-secret", NOW, "30", "1001", r#"{ "a" : "1" }"#);
    assert_eq!(code_of(&ctx, &reg, "/api.aspx/park.cartype.query", &spaced).await.0, 200);
    // Signing a re-serialised form instead of the bytes sent fails.
    let sig = sign::sign("demo-secret", &sign::signing_string("demo", NOW, "31", r#"{"a":"1"}"#));
    let resent = format!(r#"{{"from":"demo","timestamp":"{NOW}","nonce":"31","sign":"{sig}","branchno":"1001","data":{{ "a" : "1" }}}}"#);
    assert_eq!(code_of(&ctx, &reg, "/api.aspx/park.cartype.query", &resent).await.0, 100003);
    // `data` as a JSON string: the signature covers its content.
    let inner = r#"{"a":"1"}"#;
    let sig = sign::sign("demo-secret", &sign::signing_string("demo", NOW, "32", inner));
    let as_string = format!(r#"{{"from":"demo","timestamp":"{NOW}","nonce":"32","sign":"{sig}","branchno":"1001","data":{}}}"#, serde_json::to_string(inner).unwrap());
    let (c, env) = code_of(&ctx, &reg, "/api.aspx/park.cartype.query", &as_string).await;
    assert_eq!(c, 200, "{env}");
    assert_eq!(env["data"]["echo"], json!({"a": "1"}));
}

#[tokio::test]
async fn bad_input_names_the_field_and_a_panic_is_contained() {
    let (ctx, reg) = setup().await;
    let (c, env) = code_of(&ctx, &reg, "/api.aspx/park.cartype.add", &body("demo", "demo-secret", NOW, "40", "1001", r#"{"height":"1"}"#)).await;
    assert_eq!(c, 100001);
    assert!(env["message"].as_str().unwrap().contains("carTypeName"));
    let (c, _) = code_of(&ctx, &reg, "/api.aspx/park.cartype.delete", &body("demo", "demo-secret", NOW, "41", "1001", "{}")).await;
    assert_eq!(c, 100002);
}
