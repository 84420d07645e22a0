//! The AWS site link over the SQLite store, with a scripted Management API
//! standing in for API Gateway and the agents behind it.

use super::*;
use crate::sqlite_store::SqliteStore;
use std::sync::Mutex;

/// How the fake agent behind a connection behaves.
#[derive(Clone, Copy)]
enum Agent {
    /// Acks with this code after a short delay, through the registry as the
    /// `ws` function would.
    Acks(i64),
    Silent,
    Gone,
}

struct FakeGateway {
    registry: ConnRegistry,
    agents: Mutex<Vec<(String, Agent)>>,
    posts: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl Poster for FakeGateway {
    async fn post(&self, connection_id: &str, text: String) -> Result<(), PostError> {
        self.posts.lock().unwrap().push((connection_id.into(), text.clone()));
        let behaviour = self.agents.lock().unwrap().iter().find(|(c, _)| c == connection_id).map(|(_, a)| *a);
        match behaviour {
            None | Some(Agent::Gone) => Err(PostError::Gone),
            Some(Agent::Silent) => Ok(()),
            Some(Agent::Acks(code)) => {
                let Ok(Msg::Command(cmd)) = link::decode(&text) else { return Err(PostError::Other("not a command".into())) };
                let reg = self.registry.clone();
                let conn = connection_id.to_string();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    let ack = Ack { id: cmd.id, ok: code == 200, code, message: String::new() };
                    reg.store_ack(&conn, &ack).await.unwrap();
                });
                Ok(())
            }
        }
    }
    async fn close(&self, _connection_id: &str) -> Result<(), PostError> {
        Ok(())
    }
}

fn store() -> Arc<dyn ItemStore> {
    // A uuid, not the time: tests start side by side and a coarse clock gives two of them one name.
    let n = uuid::Uuid::new_v4().simple();
    let dir = std::env::temp_dir().join(format!("onecard-apigw-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Arc::new(SqliteStore::open(&dir.join("s.db")).unwrap())
}

async fn setup(agents: &[(&str, &str, Agent)]) -> (ApiGwLink, Arc<FakeGateway>) {
    let s = store();
    let registry = ConnRegistry::new(s.clone());
    let gw = Arc::new(FakeGateway { registry: registry.clone(), agents: Mutex::new(Vec::new()), posts: Mutex::new(Vec::new()) });
    for (conn, agent, behaviour) in agents {
        registry.opened(conn, now() + 10).await.unwrap();
        registry.authenticated(conn, "1001", agent).await.unwrap();
        gw.agents.lock().unwrap().push((conn.to_string(), *behaviour));
    }
    (ApiGwLink::new(s, gw.clone()), gw)
}

fn cmd(id: &str) -> Command {
    Command { id: id.into(), device: "1".into(), action: link::action::GATE_OPEN.into(), params: serde_json::json!({}) }
}

#[tokio::test]
async fn a_command_is_posted_and_its_ack_picked_up_from_the_store() {
    let (link, gw) = setup(&[("c1", "A1", Agent::Acks(200))]).await;
    let ack = link.command("1001", cmd("k1"), Duration::from_secs(2)).await.unwrap();
    assert!(ack.ok);
    assert_eq!(ack.id, "k1");
    let posts = gw.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].0, "c1");
    assert!(posts[0].1.contains(r#""type":"command""#));
    // Taken once: the ack item is gone.
    assert!(link.registry().take_ack("k1", "c1").await.unwrap().is_none());
}

#[tokio::test]
async fn silence_is_a_timeout_and_no_agent_is_offline() {
    let (link, _) = setup(&[("c1", "A1", Agent::Silent)]).await;
    let t0 = std::time::Instant::now();
    let e = link.command("1001", cmd("k2"), Duration::from_millis(300)).await.unwrap_err();
    assert!(matches!(e, SiteError::Timeout(_)), "{e:?}");
    assert!(t0.elapsed() >= Duration::from_millis(300) && t0.elapsed() < Duration::from_millis(900));
    assert!(matches!(link.command("2002", cmd("k3"), Duration::from_millis(300)).await, Err(SiteError::Offline(_))));
}

#[tokio::test]
async fn gone_connections_are_forgotten_and_unknown_devices_passed_on() {
    let (link, gw) = setup(&[("c0", "A0", Agent::Gone), ("c1", "A1", Agent::Acks(404)), ("c2", "A2", Agent::Acks(200))]).await;
    let ack = link.command("1001", cmd("k4"), Duration::from_secs(2)).await.unwrap();
    assert_eq!(ack.code, 200);
    let tried: Vec<String> = gw.posts.lock().unwrap().iter().map(|(c, _)| c.clone()).collect();
    assert_eq!(tried, vec!["c0", "c1", "c2"]);
    let left: Vec<String> = link.registry().agents("1001").await.unwrap().into_iter().map(|m| m.agent_id).collect();
    assert_eq!(left, vec!["A1", "A2"], "the gone connection was dropped from the registry");
    // Only unknown-device answers: the last of them is the answer.
    let (link, _) = setup(&[("c1", "A1", Agent::Acks(404))]).await;
    assert_eq!(link.command("1001", cmd("k5"), Duration::from_secs(2)).await.unwrap().code, 404);
}

#[tokio::test]
async fn a_reconnect_replaces_and_a_late_disconnect_does_not_unregister_it() {
    let s = store();
    let reg = ConnRegistry::new(s);
    reg.opened("old", now() + 10).await.unwrap();
    assert_eq!(reg.authenticated("old", "1001", "A1").await.unwrap(), None);
    reg.opened("new", now() + 10).await.unwrap();
    let replaced = reg.authenticated("new", "1001", "A1").await.unwrap().unwrap();
    assert_eq!(replaced.connection_id, "old");
    // API Gateway reports the old socket's end after the new hello.
    reg.closed("old").await.unwrap();
    let agents = reg.agents("1001").await.unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].connection_id, "new");
    assert!(reg.meta("old").await.unwrap().is_none());
    reg.set_config_version("new", "v7").await.unwrap();
    assert_eq!(reg.meta("new").await.unwrap().unwrap().config_version, "v7");
    reg.closed("new").await.unwrap();
    assert!(reg.agents("1001").await.unwrap().is_empty());
}

#[tokio::test]
async fn an_ack_from_another_connection_is_ignored_and_the_command_times_out() {
    // c1 gets the command and stays silent; a forged ack arrives on c2.
    let (link, _gw) = setup(&[("c1", "A1", Agent::Silent)]).await;
    let reg = link.registry().clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        reg.store_ack("c2", &Ack { id: "k9".into(), ok: true, code: 200, message: String::new() }).await.unwrap();
    });
    let e = link.command("1001", cmd("k9"), Duration::from_millis(400)).await.unwrap_err();
    assert!(matches!(e, SiteError::Timeout(_)), "{e:?}");
    // The real agent's ack is taken.
    let reg = link.registry().clone();
    reg.store_ack("c2", &Ack { id: "k10".into(), ok: true, code: 200, message: String::new() }).await.unwrap();
    reg.store_ack("c1", &Ack { id: "k10".into(), ok: true, code: 620, message: String::new() }).await.unwrap();
    assert_eq!(reg.take_ack("k10", "c1").await.unwrap().unwrap().code, 620);
    assert!(reg.take_ack("k10", "c2").await.unwrap().is_none(), "the stray ack was cleared with it");
}

#[tokio::test]
async fn sockets_without_hello_are_overdue_after_their_deadline_only() {
    let reg = ConnRegistry::new(store());
    reg.opened("early", 1_000).await.unwrap();
    reg.opened("late", 1_020).await.unwrap();
    reg.opened("agent", 1_000).await.unwrap();
    reg.authenticated("agent", "1001", "A1").await.unwrap();
    assert!(reg.overdue(1_000).await.unwrap().is_empty(), "at the deadline a socket may still say hello");
    assert_eq!(reg.overdue(1_001).await.unwrap(), vec!["early"]);
    assert_eq!(reg.overdue(1_021).await.unwrap(), vec!["early", "late"]);
    reg.closed("early").await.unwrap();
    assert_eq!(reg.overdue(5_000).await.unwrap(), vec!["late"], "a closed socket is no longer pending");
}

#[tokio::test]
async fn a_command_too_big_for_a_frame_is_not_posted() {
    let (link, gw) = setup(&[("c1", "A1", Agent::Acks(200))]).await;
    let mut big = cmd("k11");
    big.params = serde_json::json!({"text": "字".repeat(link::MAX_FRAME_BYTES / 3 + 1)});
    let e = link.command("1001", big, Duration::from_secs(1)).await.unwrap_err();
    assert!(matches!(e, SiteError::Link(ref m) if m.contains("exceeds")), "{e:?}");
    assert!(gw.posts.lock().unwrap().is_empty());
}
