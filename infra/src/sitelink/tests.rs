//! The hub with the agent's real link client on loopback.

use super::*;
use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_adapters::sqlite_store::SqliteStore;
use onecard_agent::link_client::{Inbound, Link, LinkConfig};
use onecard_core::config;
use onecard_core::time::SystemClock;
use onecard_core::Ports;
use serde_json::json;

async fn hub() -> (Arc<Hub>, u16) {
    hub_with(HubConfig { config_refresh: Duration::from_millis(200), ..HubConfig::default() }).await
}

async fn hub_with(cfg: HubConfig) -> (Arc<Hub>, u16) {
    // Time and a counter: tests start side by side and a coarse clock gives two of them one name.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = format!("{}-{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let dir = std::env::temp_dir().join(format!("onecard-hub-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(SqliteStore::open(&dir.join("s.db")).unwrap());
    config::seed_demo(&*store).await.unwrap();
    let queue = Arc::new(EmbeddedQueue::open(&dir.join("q.db")).unwrap());
    let hub = Hub::new(cfg);
    let ctx = Ctx::new(Ports { store, queue, sites: hub.clone(), clock: Arc::new(SystemClock) });
    onecard_app::seed_demo(&ctx).await.unwrap();
    hub.attach(ctx, Arc::new(onecard_app::registry()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = hub.router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (hub, port)
}

/// What the refused uplinks could have changed: car types, orders, payments,
/// cards and stored-value top-ups of the demo branch.
async fn hub_state(hub: &Hub) -> Vec<(String, usize)> {
    let (ctx, _) = hub.app.get().expect("attached");
    use onecard_app::keys;
    let mut out = Vec::new();
    for pk in [keys::car_types("1001"), keys::orders("1001"), keys::payments("1001"), keys::payment_log("1001"), keys::cards("1001"), keys::value_topups("1001")] {
        let n = ctx.store.query_all(&onecard_core::store::Query::partition(pk.clone())).await.unwrap().len();
        out.push((pk, n));
    }
    out
}

/// The agent's link client; its clock must read the branch's zone.
fn agent(port: u16, secret: &str) -> (Link, tokio::sync::mpsc::UnboundedReceiver<Inbound>) {
    agent_holding(port, secret, None)
}

fn agent_holding(port: u16, secret: &str, held: Option<&onecard_core::link::SiteConfig>) -> (Link, tokio::sync::mpsc::UnboundedReceiver<Inbound>) {
    demo::use_branch_zone("Asia/Shanghai");
    Link::start_holding(held, LinkConfig {
        url: format!("ws://127.0.0.1:{port}/ws"),
        branch: "1001".into(),
        agent_id: "A1".into(),
        secret: secret.into(),
        heartbeat: Duration::from_secs(30),
        planned_reconnect: Duration::from_secs(3600),
        silence_limit: Duration::from_secs(90),
        backoff_base: Duration::from_millis(100),
        backoff_cap: Duration::from_millis(500),
    })
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn cmd(id: &str) -> Command {
    Command { id: id.into(), device: "1".into(), action: "gate.open".into(), params: json!({}) }
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_are_relayed_and_acks_matched() {
    let (hub, port) = hub().await;
    let (link, mut inbound) = agent(port, config::DEMO_AGENT_SECRET);
    until("welcome", || link.is_up()).await;
    assert_eq!(hub.agents("1001"), vec!["A1"]);

    // The agent answers every command it receives, as the real agent does.
    let responder = link.clone();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        while let Some(m) = inbound.recv().await {
            match m {
                Inbound::Command(c) if c.id.starts_with("silent") => seen2.lock().unwrap().push(c.id),
                Inbound::Command(c) => {
                    seen2.lock().unwrap().push(c.id.clone());
                    responder.send_ack(Ack { id: c.id, ok: true, code: 200, message: "ok".into() });
                }
                Inbound::SiteConfig(s) => seen2.lock().unwrap().push(format!("siteconfig:{}", s.controllers.len())),
                _ => {}
            }
        }
    });
    let ack = hub.command("1001", cmd("k1"), Duration::from_secs(2)).await.unwrap();
    assert_eq!((ack.id.as_str(), ack.code), ("k1", 200));

    let t0 = std::time::Instant::now();
    let e = hub.command("1001", cmd("silent-1"), Duration::from_millis(300)).await.unwrap_err();
    assert_eq!(e, SiteError::Timeout(Duration::from_millis(300)));
    assert!(t0.elapsed() < Duration::from_millis(800));
    assert!(matches!(hub.command("2002", cmd("k2"), Duration::from_millis(300)).await, Err(SiteError::Offline(_))));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0], "siteconfig:2", "the site configuration follows the welcome");
    assert!(seen.contains(&"k1".to_string()) && seen.contains(&"silent-1".to_string()));

    // Uplinks run through the handlers, and only the site's routes (decision
    // 13): an agent pays nothing, tops up nothing, issues no card.
    let r = link.uplink("cat.no.such", json!({}), Duration::from_secs(2)).await.unwrap();
    assert_eq!(r.code, 404);
    let before = hub_state(&hub).await;
    for (route, data) in [
        ("commit", json!({"credentialtype": "1", "credential": "浙A12345", "parkcost": "0.00", "calcId": "1"})),
        ("park.scard.charge", json!({"credentialtype": "1", "credential": "浙A12345", "amount": "100.00"})),
        ("pub.card.add", json!({"cardNo": "99999999", "licensePlate": "浙A99999"})),
        ("park.cartype.add", json!({"carTypeName": "代理车型"})),
    ] {
        let r = link.uplink(route, data, Duration::from_secs(2)).await.unwrap();
        assert_eq!(r.code, 403, "{route}: {r:?}");
    }
    assert_eq!(hub_state(&hub).await, before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_never_joins_and_a_reconnect_replaces() {
    let (hub, port) = hub().await;
    let (bad, _rx) = agent(port, "not-the-secret");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!bad.is_up());
    assert!(hub.agents("1001").is_empty());

    let (first, _rx1) = agent(port, config::DEMO_AGENT_SECRET);
    until("first up", || first.is_up()).await;
    let (second, _rx2) = agent(port, config::DEMO_AGENT_SECRET);
    until("second up", || second.is_up()).await;
    // The older socket is closed; the two clients then take turns replacing
    // each other, but the hub never holds more than one connection for A1.
    assert_eq!(hub.agents("1001"), vec!["A1"]);
    until("first dropped", || !first.is_up() || first.connects() > 1).await;
}

/// A command out on a connection that drops is answered at once ("site
/// offline"), not left to time out as if the device were silent (620).
#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_connection_fails_its_commands_at_once() {
    let (hub, port) = hub().await;
    // This agent receives commands but never acks them.
    let (first, _rx1) = agent(port, config::DEMO_AGENT_SECRET);
    until("first up", || first.is_up()).await;
    let h = hub.clone();
    let t0 = std::time::Instant::now();
    let pending = tokio::spawn(async move { h.command("1001", cmd("silent-drop"), Duration::from_secs(8)).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A reconnect of the same agent replaces (and closes) the first socket.
    let (second, _rx2) = agent(port, config::DEMO_AGENT_SECRET);
    until("second up", || second.is_up()).await;
    let res = pending.await.unwrap();
    assert!(matches!(res, Err(SiteError::Offline(_))), "{res:?}");
    assert!(t0.elapsed() < Duration::from_secs(4), "took {:?}", t0.elapsed());
}

mod sync;
