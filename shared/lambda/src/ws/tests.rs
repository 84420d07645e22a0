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
use onecard_core::time::{Clock, SystemClock};
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
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("onecard-ws-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store: Arc<dyn ItemStore> = Arc::new(SqliteStore::open(&dir.join("s.db")).unwrap());
    config::seed_demo(&*store).await.unwrap();
    let queue = Arc::new(EmbeddedQueue::open(&dir.join("q.db")).unwrap());
    let rec = Arc::new(Recorder::default());
    let sites = Arc::new(ApiGwLink::new(store.clone(), rec.clone()));
    let ctx = Ctx::new(Ports { store: store.clone(), queue, sites, clock: Arc::new(SystemClock) });
    onecard_app::seed_demo(&ctx).await.unwrap();
    let ws = Arc::new(Ws { ctx, reg: Arc::new(onecard_app::registry()), conns: ConnRegistry::new(store.clone()), poster: rec.clone() });
    (ws, rec, store)
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
