//! The ws function's frame handling over the SQLite store, with a recording
//! Management API.

use super::*;
use async_trait::async_trait;
use onecard_adapters::apigw_link::ApiGwLink;
use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_adapters::sqlite_store::SqliteStore;
use onecard_core::link::{Hello, Uplink};
use onecard_core::sitelink::{Ack, Command, SiteLink};
use onecard_core::store::ItemStore;
use onecard_core::time::{Clock, FixedClock, SystemClock};
use onecard_core::Ports;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
struct Recorder {
    posts: Mutex<Vec<(String, Msg)>>,
    closed: Mutex<Vec<String>>,
}

impl Recorder {
    fn take(&self) -> Vec<(String, Msg)> {
        std::mem::take(&mut *self.posts.lock().unwrap())
    }
}

#[async_trait]
impl Poster for Recorder {
    async fn post(&self, connection_id: &str, text: String) -> Result<(), PostError> {
        self.posts.lock().unwrap().push((connection_id.into(), link::decode(&text).expect("valid frame")));
        Ok(())
    }
    async fn close(&self, connection_id: &str) -> Result<(), PostError> {
        self.closed.lock().unwrap().push(connection_id.into());
        Ok(())
    }
}

async fn setup() -> (Arc<Ws>, Arc<Recorder>, Arc<dyn ItemStore>) {
    let (ws, rec, store, _) = setup_at(FixedClock::new(SystemClock.now())).await;
    (ws, rec, store)
}

/// The ws function on a clock the test moves; its sites link pushes card
/// changes through the same recorder.
async fn setup_at(clock: Arc<FixedClock>) -> (Arc<Ws>, Arc<Recorder>, Arc<dyn ItemStore>, Arc<FixedClock>) {
    // Time and a counter: tests start side by side and a coarse clock gives two of them one name.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = format!("{}-{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let dir = std::env::temp_dir().join(format!("onecard-ws-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store: Arc<dyn ItemStore> = Arc::new(SqliteStore::open(&dir.join("s.db")).unwrap());
    config::seed_demo(&*store).await.unwrap();
    let queue = Arc::new(EmbeddedQueue::open(&dir.join("q.db")).unwrap());
    let rec = Arc::new(Recorder::default());
    let sites = Arc::new(ApiGwLink::new(store.clone(), rec.clone()).with_config_pusher(push::pusher(store.clone(), rec.clone())));
    let ctx = Ctx::new(Ports { store: store.clone(), queue, sites, clock: clock.clone() });
    onecard_app::seed_demo(&ctx).await.unwrap();
    let ws = Arc::new(Ws { ctx, reg: Arc::new(onecard_app::registry()), conns: ConnRegistry::new(store.clone()), poster: rec.clone() });
    (ws, rec, store, clock)
}

fn hello(nonce: &str, secret: &str) -> String {
    let now = time::format(time::to_local(SystemClock.now(), time::DEFAULT_TZ));
    link::encode(&Msg::Hello(Hello::new_signed("1001", "A1", &now, nonce, secret)))
}

fn kinds(posts: &[(String, Msg)]) -> Vec<String> {
    posts
        .iter()
        .map(|(c, m)| format!("{c}:{}", serde_json::to_value(m).unwrap()["type"].as_str().unwrap_or("?")))
        .collect()
}

#[tokio::test]
async fn connect_checks_a_named_agent_and_hello_opens_the_session() {
    let (ws, rec, _) = setup().await;
    assert_eq!(ws.connect("c0", Some("1001"), Some("A9")).await, 403);
    assert_eq!(ws.connect("c1", Some("1001"), Some("A1")).await, 200);
    // Before the hello nothing is answered.
    ws.frame("c1", r#"{"type":"ping","seq":1}"#).await;
    assert!(rec.take().is_empty());

    ws.frame("c1", &hello("1", "demo-agent-secret")).await;
    let posts = rec.take();
    assert_eq!(kinds(&posts), vec!["c1:welcome", "c1:siteconfig"]);
    let Msg::SiteConfig(cfg) = &posts[1].1 else { unreachable!() };
    assert_eq!(cfg.controllers.len(), 2);
    assert_eq!(ws.conns.agents("1001").await.unwrap()[0].connection_id, "c1");

    // A heartbeat is answered; the unchanged configuration is not sent again.
    ws.frame("c1", r#"{"type":"ping","seq":7}"#).await;
    let posts = rec.take();
    assert_eq!(kinds(&posts), vec!["c1:pong"]);
    let Msg::Pong(b) = &posts[0].1 else { unreachable!() };
    assert_eq!(b.seq, 7);

    // An uplink runs through the handlers and is answered with its id.
    let up = Msg::Uplink(Uplink { id: "A1-u-1".into(), route: "hb".into(), data: serde_json::json!({"no": "A1", "name": "agent", "localip": "10.0.0.2", "port": "8089", "pk": "k"}) });
    ws.frame("c1", &link::encode(&up)).await;
    let posts = rec.take();
    let Msg::Reply(r) = &posts[0].1 else { panic!("{posts:?}") };
    assert_eq!((r.id.as_str(), r.code), ("A1-u-1", 200), "{r:?}");
    // An agent calls only site routes (decision 13).
    let up = Msg::Uplink(Uplink { id: "A1-u-2".into(), route: "park.cartype.query".into(), data: serde_json::json!({}) });
    ws.frame("c1", &link::encode(&up)).await;
    let posts = rec.take();
    let Msg::Reply(r) = &posts[0].1 else { panic!("{posts:?}") };
    assert_eq!((r.id.as_str(), r.code), ("A1-u-2", 403));

    // $disconnect forgets the agent.
    let mut ev = ApiGatewayWebsocketProxyRequest::default();
    ev.request_context.connection_id = Some("c1".into());
    ev.request_context.route_key = Some("$disconnect".into());
    assert_eq!(ws.handle(ev).await.status_code, 200);
    assert!(ws.conns.agents("1001").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_bad_hello_is_refused_and_closed() {
    let (ws, rec, _) = setup().await;
    ws.connect("c1", None, None).await;
    ws.frame("c1", &hello("2", "wrong")).await;
    let posts = rec.take();
    let Msg::Refused(r) = &posts[0].1 else { panic!("{posts:?}") };
    assert_eq!(r.code, 100003);
    assert_eq!(rec.closed.lock().unwrap().clone(), vec!["c1"]);
    assert!(ws.conns.agents("1001").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_reconnect_closes_the_old_socket() {
    let (ws, rec, _) = setup().await;
    ws.connect("c1", None, None).await;
    ws.frame("c1", &hello("3", "demo-agent-secret")).await;
    ws.connect("c2", None, None).await;
    ws.frame("c2", &hello("4", "demo-agent-secret")).await;
    let k = kinds(&rec.take());
    assert!(k.contains(&"c1:bye".to_string()), "{k:?}");
    assert_eq!(rec.closed.lock().unwrap().clone(), vec!["c1"]);
    let agents = ws.conns.agents("1001").await.unwrap();
    assert_eq!((agents.len(), agents[0].connection_id.as_str()), (1, "c2"));
}

#[tokio::test]
async fn a_command_from_another_function_gets_the_ack_stored_here() {
    let (ws, rec, store) = setup().await;
    ws.connect("c1", None, None).await;
    ws.frame("c1", &hello("5", "demo-agent-secret")).await;
    rec.take();
    let link = ApiGwLink::new(store, rec.clone());
    let cmd = Command { id: "k-1".into(), device: "1".into(), action: "gate.open".into(), params: serde_json::json!({}) };
    let waiting = tokio::spawn(async move { link.command("1001", cmd, Duration::from_secs(3)).await });
    // The agent gets the command and acks it on $default.
    let t0 = std::time::Instant::now();
    while rec.posts.lock().unwrap().is_empty() && t0.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let posts = rec.take();
    let Msg::Command(c) = &posts[0].1 else { panic!("{posts:?}") };
    let ack = Msg::Ack(Ack { id: c.id.clone(), ok: true, code: 200, message: "ok".into() });
    ws.frame("c1", &link::encode(&ack)).await;
    let got = waiting.await.unwrap().unwrap();
    assert_eq!((got.id.as_str(), got.code), ("k-1", 200));
}

#[tokio::test]
async fn a_socket_silent_past_its_hello_deadline_is_closed_by_the_sweep_and_a_late_hello_refused() {
    let clock = FixedClock::new(SystemClock.now());
    let (ws, rec, _, clock) = setup_at(clock).await;
    let t0 = clock.now();
    assert_eq!(ws.connect("quiet", None, None).await, 200);
    assert_eq!(ws.connect("slow", None, None).await, 200);
    assert_eq!(ws.sweep().await, 0, "within the deadline nobody is closed");

    clock.set(t0 + Duration::from_secs(HELLO_DEADLINE_SECS as u64 - 1));
    ws.connect("agent", None, None).await;
    ws.frame("agent", &hello("11", "demo-agent-secret")).await;
    rec.take();

    clock.set(t0 + Duration::from_secs(HELLO_DEADLINE_SECS as u64 + 1));
    // The slow socket's hello comes too late: closed, not welcomed.
    ws.frame("slow", &hello("12", "demo-agent-secret")).await;
    assert!(rec.take().is_empty(), "no welcome for a late hello");
    assert_eq!(rec.closed.lock().unwrap().clone(), vec!["slow"]);
    // The quiet one is closed by the next sweep (here: a scheduled event).
    let scheduled = serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event"});
    assert!(scheduled.get("requestContext").is_none());
    assert_eq!(ws.sweep().await, 1);
    assert_eq!(rec.closed.lock().unwrap().clone(), vec!["slow", "quiet"]);
    assert!(ws.conns.meta("quiet").await.unwrap().is_none());
    // The agent that said hello in time is untouched.
    assert_eq!(ws.conns.agents("1001").await.unwrap()[0].connection_id, "agent");
    assert_eq!(ws.sweep().await, 0);
}

#[tokio::test]
async fn an_ack_on_another_connection_does_not_answer_a_command() {
    let (ws, rec, store) = setup().await;
    ws.connect("c1", None, None).await;
    ws.frame("c1", &hello("21", "demo-agent-secret")).await;
    ws.connect("c2", Some("1001"), Some("A1")).await;
    rec.take();
    let link = ApiGwLink::new(store, rec.clone());
    let cmd = Command { id: "k-2".into(), device: "1".into(), action: "gate.open".into(), params: serde_json::json!({}) };
    let waiting = tokio::spawn(async move { link.command("1001", cmd, Duration::from_millis(600)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Another authenticated socket of the branch (a second agent) acks c1's command.
    ws.conns.authenticated("c2", "1001", "A2").await.unwrap();
    let ack = Msg::Ack(Ack { id: "k-2".into(), ok: true, code: 200, message: "ok".into() });
    ws.frame("c2", &link::encode(&ack)).await;
    assert!(matches!(waiting.await.unwrap(), Err(onecard_core::sitelink::SiteError::Timeout(_))));
}

/// `n` monthly cards written straight into the store.
async fn seed_monthly(ctx: &Ctx, n: usize) {
    let reg = onecard_app::registry();
    let b = config::get_branch(ctx.store(), "1001").await.unwrap().unwrap();
    let run = |route: &'static str, data: serde_json::Value| {
        let (reg, b) = (&reg, b.clone());
        async move { onecard_core::dispatch::run(ctx, reg, reg.find(route).unwrap(), onecard_core::Origin::Internal, b, data, None).await.unwrap().data }
    };
    let car_type = onecard_app::park::cartype::list(ctx, "1001").await.unwrap()[0].id;
    run("park.monthtariff.add", serde_json::json!({"tariffName": "月租", "carTypeId": car_type, "charge": "120.00"})).await;
    let today = time::to_local(ctx.clock.now(), time::DEFAULT_TZ).date();
    let later = time::to_local(ctx.clock.now() + Duration::from_secs(30 * 86_400), time::DEFAULT_TZ).date();
    let (from, to) = (format!("{today} 00:00:00"), format!("{later} 23:59:59"));
    let first = run("pub.card.add", serde_json::json!({"NumNo": "粤Z00000", "Park": {"StartDate": from, "ExpiryDate": to}})).await;
    let template = onecard_app::cards::get_card(ctx, "1001", first["CardNo"].as_str().unwrap()).await.unwrap().unwrap();
    let writes: Vec<_> = (1..n)
        .map(|i| {
            let plate = format!("粤A{i:05}");
            let card = onecard_app::cards::Card { card_no: format!("S{i:09}"), num_no: plate.clone(), card_id: plate.clone(), plates: vec![plate], ..template.clone() };
            onecard_app::cards::store::card_create("1001", &card)
        })
        .collect();
    for chunk in writes.chunks(onecard_core::store::MAX_TRANSACTION_ITEMS) {
        ctx.store.transact(chunk.to_vec()).await.unwrap();
    }
}

fn configs(posts: &[(String, Msg)]) -> Vec<link::SiteConfig> {
    posts.iter().filter_map(|(_, m)| if let Msg::SiteConfig(c) = m { Some(c.clone()) } else { None }).collect()
}

#[tokio::test]
async fn thousands_of_plates_go_in_frames_under_32_kib_and_a_card_change_is_pushed_as_a_delta() {
    let (ws, rec, _) = setup().await;
    seed_monthly(&ws.ctx, 3_000).await;
    ws.connect("c1", None, None).await;
    ws.frame("c1", &hello("31", "demo-agent-secret")).await;
    let posts = rec.take();
    let full = configs(&posts);
    assert!(full.len() > 3, "{} frames", full.len());
    for f in &full {
        assert!(link::encode(&Msg::SiteConfig(f.clone())).len() <= link::MAX_FRAME_BYTES);
    }
    let mut agent = onecard_core::link::sync::Assembler::default();
    let mut last = None;
    for f in full {
        last = Some(agent.feed(f));
    }
    let Some(onecard_core::link::sync::Fed::Applied(cfg)) = last else { panic!("{last:?}") };
    assert_eq!(cfg.monthly_plates.len(), 3_000);

    // A card issued by another function (here: the route on the same store)
    // reaches the connected agent in the same request, as one small delta.
    let today = time::to_local(ws.ctx.clock.now(), time::DEFAULT_TZ).date();
    let b = config::get_branch(ws.ctx.store(), "1001").await.unwrap().unwrap();
    let reg = onecard_app::registry();
    let data = serde_json::json!({"NumNo": "粤B77777", "Park": {"StartDate": format!("{today} 00:00:00"), "ExpiryDate": format!("{today} 23:59:59")}});
    onecard_core::dispatch::run(&ws.ctx, &reg, reg.find("pub.card.add").unwrap(), onecard_core::Origin::Internal, b, data, None).await.unwrap();
    let delta = configs(&rec.take());
    assert_eq!(delta.len(), 1);
    assert!(delta[0].delta && delta[0].buckets.len() == 1, "{:?}", delta[0].buckets);
    let onecard_core::link::sync::Fed::Applied(cfg) = agent.feed(delta[0].clone()) else { panic!("delta not applied") };
    assert!(cfg.monthly_plates.iter().any(|p| p.plate_no == "粤B77777"));
    // The heartbeat after it has nothing to send.
    ws.frame("c1", r#"{"type":"ping","seq":2}"#).await;
    assert_eq!(kinds(&rec.take()), vec!["c1:pong"]);
    // An agent that cannot apply a delta gets everything again.
    ws.frame("c1", r#"{"type":"resync","version":"x"}"#).await;
    assert!(configs(&rec.take()).len() > 3);
}
