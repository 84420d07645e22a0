//! Every refusal path of the request pipeline, on an in-memory store so the
//! core's rules are checked without any adapter.

use crate::codes::Code;
use crate::config::{self, Caller};
use crate::ctx::{Ctx, Ports};
use crate::dispatch;
use crate::kit::{self, Empty, Text};
use crate::memstore::MemStore;
use crate::registry::{Group, Registry};
use crate::request::Req;
use crate::sign;
use crate::sitelink::NoSites;
use crate::time::{self, FixedClock};
use crate::ApiResult;
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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

#[derive(Deserialize, schemars::JsonSchema)]
struct AddIn {
    #[serde(rename = "carTypeName")]
    name: Text,
}

/// How often the test write route ran.
static ADDS: AtomicUsize = AtomicUsize::new(0);

async fn echo(_ctx: Ctx, _req: Req, data: Value) -> ApiResult<Value> {
    Ok(json!({ "echo": data }))
}

async fn add(_ctx: Ctx, _req: Req, input: AddIn) -> ApiResult<Value> {
    let n = ADDS.fetch_add(1, Ordering::SeqCst);
    Ok(json!({ "name": input.name, "run": n }))
}

async fn boom(_ctx: Ctx, _req: Req, _input: Empty) -> ApiResult<Empty> {
    panic!("a bug")
}

async fn setup() -> (Ctx, Registry) {
    setup_with(Arc::new(MemStore::default())).await
}

async fn setup_with(store: Arc<MemStore>) -> (Ctx, Registry) {
    config::seed_demo(&*store).await.unwrap();
    config::put_caller(
        &*store,
        &Caller { from: "parkonly".into(), secret: "k".into(), enabled: true, branches: vec!["1001".into()], groups: vec!["park".into()], verify_url: None, ..Default::default() },
    )
    .await
    .unwrap();
    config::put_caller(
        &*store,
        &Caller { from: "off".into(), secret: "k".into(), enabled: false, branches: vec!["*".into()], groups: vec!["*".into()], verify_url: None, ..Default::default() },
    )
    .await
    .unwrap();
    let mut b2 = config::demo_branch();
    b2.branchno = "2002".into();
    config::put_branch(&*store, &b2).await.unwrap();
    let clock = FixedClock::new(time::to_utc(time::parse(NOW).unwrap(), time::DEFAULT_TZ));
    let ctx = Ctx::new(Ports { store, queue: Arc::new(NoQueue), sites: Arc::new(NoSites), clock });
    let mut reg = Registry::new();
    reg.add([
        kit::read("park.cartype.query", echo),
        kit::write("park.cartype.add", add),
        kit::write("park.cartype.delete", boom),
        kit::read("maoku/Maoku.GetTraffic", echo),
    ]);
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
async fn a_write_sent_twice_is_done_once_and_answered_alike() {
    let (ctx, reg) = setup().await;
    let b = body("demo", "demo-secret", NOW, "20", "1001", r#"{"carTypeName":"x"}"#);
    let first = dispatch::http(&ctx, &reg, "/api.aspx/park.cartype.add", b.as_bytes(), None).await;
    let runs = ADDS.load(Ordering::SeqCst);
    let second = dispatch::http(&ctx, &reg, "/api.aspx/park.cartype.add", b.as_bytes(), None).await;
    assert_eq!(first["code"], json!(200), "{first}");
    assert_eq!(first, second, "the repeat gets the first answer, unchanged");
    assert_eq!(ADDS.load(Ordering::SeqCst), runs, "and does nothing");
    // The same signature on another route or branch is another request
    // (the signature covers neither).
    let other = dispatch::http(&ctx, &reg, "/api.aspx/park.cartype.query", b.as_bytes(), None).await;
    assert_eq!(other["code"], json!(200), "{other}");
    // A forged request never reaches the replay memory, so it cannot block the real one.
    let forged = body("demo", "wrong", NOW, "21", "1001", "{}");
    assert_eq!(code_of(&ctx, &reg, "/api.aspx/park.cartype.add", &forged).await.0, 100003);
}

#[tokio::test]
async fn a_read_sent_twice_answers_twice_and_writes_nothing() {
    let store = Arc::new(MemStore::default());
    let (ctx, reg) = setup_with(store.clone()).await;
    let b = body("demo", "demo-secret", NOW, "22", "1001", "{}");
    let before = store.counts().writes;
    assert_eq!(code_of(&ctx, &reg, "/api.aspx/park.cartype.query", &b).await.0, 200);
    assert_eq!(code_of(&ctx, &reg, "/api.aspx/park.cartype.query", &b).await.0, 200);
    assert_eq!(store.counts().writes, before, "a read route writes nothing per request");
}

#[tokio::test]
async fn bodies_over_the_limit_answer_413() {
    let (ctx, reg) = setup().await;
    let pad = format!(r#"{{"pad":"{}"}}"#, "x".repeat(300 * 1024));
    let b = body("demo", "demo-secret", NOW, "23", "1001", &pad);
    let out = dispatch::serve(&ctx, &reg, dispatch::HttpIn { method: "POST", path: "/api.aspx/park.cartype.query", query: None, authorization: None, content_type: None, body: b.as_bytes() }, None).await;
    assert_eq!(out.status, 413);
    assert_eq!(out.value()["code"], json!(100001));
}

#[tokio::test]
async fn an_agent_may_call_only_site_routes() {
    let (ctx, reg) = setup().await;
    for route in ["commit", "park.scard.charge", "pub.card.add", "park.cartype.add"] {
        let env = dispatch::site(&ctx, &reg, "1001", "A1", route, json!({"carTypeName": "x"})).await;
        assert_eq!(env["code"], json!(403), "{route}: {env}");
    }
    let env = dispatch::site(&ctx, &reg, "1001", "A1", "hb", json!({})).await;
    assert_eq!(env["code"], json!(501), "a site route passes the actor rule: {env}");
}

#[tokio::test]
async fn data_only_routes_take_a_token() {
    let (ctx, reg) = setup().await;
    let call = |auth: Option<&'static str>, path: &'static str| {
        let (ctx, reg) = (ctx.clone(), reg.clone());
        async move {
            let req = dispatch::HttpIn { method: "POST", path, query: None, authorization: auth, content_type: None, body: br#"{"a":1}"# };
            dispatch::serve(&ctx, &reg, req, None).await
        }
    };
    assert_eq!(call(None, "/maoku/Maoku.GetTraffic").await.status, 401);
    assert_eq!(call(Some("Bearer wrong"), "/maoku/Maoku.GetTraffic").await.status, 401);
    let ok = call(Some("Bearer demo-token"), "/maoku/Maoku.GetTraffic").await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.value(), json!({"echo": {"a": 1}}), "bare JSON in, bare JSON out");
    let pending = call(Some("Bearer demo-token"), "/maoku/Maoku.GetFreeSpaceNum").await;
    assert_eq!(pending.status, 501);
    assert!(pending.value()["message"].as_str().unwrap().contains("11.17"));
    let q = dispatch::HttpIn { method: "POST", path: "/maoku/Maoku.GetTraffic", query: Some("token=demo-token"), authorization: None, content_type: None, body: b"{}" };
    assert_eq!(dispatch::serve(&ctx, &reg, q, None).await.status, 200);
}

async fn go_home(_ctx: Ctx, req: Req, input: ReturnIn) -> ApiResult<String> {
    Ok(format!("https://h5.example/paid?order={}&branch={}", input.out_trade_no, req.branchno()))
}

#[derive(Deserialize, schemars::JsonSchema)]
struct ReturnIn {
    out_trade_no: Text,
}

#[tokio::test]
async fn provider_callbacks_redirect_and_answer_text() {
    let (ctx, mut reg) = setup().await;
    let get = |m: &'static str, q: &'static str| dispatch::HttpIn { method: m, path: "/alipay.wappay.aspx/callback", query: Some(q), authorization: None, content_type: None, body: b"" };
    assert_eq!(dispatch::serve(&ctx, &reg, get("GET", "branchno=1001&out_trade_no=7"), None).await.status, 501);
    reg.add([kit::write("alipay.wappay.aspx/callback", go_home)]);
    let out = dispatch::serve(&ctx, &reg, get("GET", "branchno=1001&out_trade_no=7"), None).await;
    assert_eq!(out.status, 302);
    assert_eq!(out.location.as_deref(), Some("https://h5.example/paid?order=7&branch=1001"));
    assert_eq!(dispatch::serve(&ctx, &reg, get("POST", "branchno=1001"), None).await.status, 405);
    assert_eq!(dispatch::serve(&ctx, &reg, get("GET", "branchno=1001"), None).await.status, 400, "missing field");
}

#[test]
#[should_panic(expected = "registered twice")]
fn a_route_registered_twice_is_a_startup_error() {
    let mut reg = Registry::new();
    reg.add([kit::read("park.cartype.query", echo), kit::read("park.cartype.query", echo)]);
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

/// A GBK client's request: the body in GBK, signed over the GBK bytes of S
/// (its own string) or over UTF-8 (a Unicode runtime); both are read, and
/// the echoed data is the right Unicode text.
#[tokio::test]
async fn gbk_bodies_with_a_charset_are_decoded_and_their_signature_checked() {
    let (ctx, reg) = setup().await;
    let data = r#"{"carno":"粤B12345"}"#;
    let signing = sign::signing_string("demo", NOW, "31", data);
    let over_gbk = {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(b"demo-secret").unwrap();
        mac.update(&encoding_rs::GBK.encode(&signing).0);
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, mac.finalize().into_bytes())
    };
    let serve = |sig: String, ct: &'static str| {
        let (ctx, reg) = (ctx.clone(), &reg);
        let text = format!(r#"{{"from":"demo","timestamp":"{NOW}","nonce":"31","sign":"{sig}","branchno":"1001","data":{data}}}"#);
        let gbk = encoding_rs::GBK.encode(&text).0.into_owned();
        async move {
            let req = dispatch::HttpIn { method: "POST", path: "/api.aspx/park.cartype.query", query: None, authorization: None, content_type: Some(ct), body: &gbk };
            dispatch::serve(&ctx, reg, req, None).await.value()
        }
    };
    for (sig, what) in [(over_gbk.clone(), "signed over GBK"), (sign::sign("demo-secret", &signing), "signed over UTF-8")] {
        let env = serve(sig, "application/json; charset=GBK").await;
        assert_eq!(env["code"], json!(200), "{what}: {env}");
        assert_eq!(env["data"]["echo"]["carno"], json!("粤B12345"), "{what}");
    }
    let env = serve(over_gbk.clone(), "application/json; charset=gb18030").await;
    assert_eq!(env["code"], json!(200), "gb18030 is a superset: {env}");
    let env = serve(sign::sign("wrong", &signing), "application/json; charset=gbk").await;
    assert_eq!(env["code"], json!(100003), "{env}");
    // Without the charset the GBK bytes are not UTF-8: refused as bad input.
    let env = serve(over_gbk, "application/json").await;
    assert_eq!(env["code"], json!(100001), "{env}");
    let req = dispatch::HttpIn { method: "POST", path: "/api.aspx/park.cartype.query", query: None, authorization: None, content_type: Some("application/json; charset=gbk"), body: b"{\"from\":\"\x81\"}" };
    let env = dispatch::serve(&ctx, &reg, req, None).await.value();
    assert_eq!(env["code"], json!(100001));
    assert!(env["message"].as_str().unwrap().contains("Content-Type"), "{env}");
}
