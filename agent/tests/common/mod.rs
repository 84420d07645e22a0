//! A fake cloud: a tokio-tungstenite server on 127.0.0.1:0 speaking the link
//! protocol, with switches to go unreachable or silent.
#![allow(dead_code)]

use futures::{SinkExt, StreamExt};
use onecard_core::config::{Controller, Lane};
use onecard_core::link::{self, Msg, MonthlyPlate, OfflinePolicy, Refused, Reply, SiteConfig, Welcome};
use onecard_core::sitelink::Command;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};
use tokio_tungstenite::tungstenite::Message;

pub const BRANCH: &str = "1001";
pub const AGENT: &str = "A1";
pub const SECRET: &str = "agent-secret";

#[derive(Default)]
pub struct Seen {
    pub hellos: Vec<link::Hello>,
    /// Every uplink in arrival order (resends included).
    pub uplinks: Vec<link::Uplink>,
    pub acks: Vec<onecard_core::sitelink::Ack>,
    pub byes: usize,
    pub pings: usize,
}

pub struct FakeCloud {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Seen>>,
    /// Refuse every hello and close live connections.
    pub down: Arc<AtomicBool>,
    /// Keep connections but never answer `cat.pass.validate`.
    pub mute_validate: Arc<AtomicBool>,
    pub welcomes: Arc<AtomicUsize>,
    /// Routes the cloud refuses, with the code it answers.
    pub refuse: Arc<Mutex<std::collections::HashMap<String, i64>>>,
    commands: Arc<Mutex<Option<mpsc::UnboundedSender<Msg>>>>,
    kick: broadcast::Sender<()>,
}

pub fn site_config() -> SiteConfig {
    SiteConfig {
        version: "1".into(),
        controllers: vec![
            Controller { device_id: "1".into(), controller_no: "C0000001".into(), name: "入口1".into(), lane: Lane::In, area: "1".into() },
            Controller { device_id: "2".into(), controller_no: "C0000002".into(), name: "出口1".into(), lane: Lane::Out, area: "1".into() },
        ],
        monthly_plates: vec![MonthlyPlate { plate_no: "浙A88888".into(), ..Default::default() }],
        offline: Some(OfflinePolicy::default()),
        ..Default::default()
    }
}

/// The cloud's pass decision: plates starting with 浙B are refused.
fn validate(data: &Value) -> Value {
    // 9.18's own field names, as the cloud's handler reads them.
    let plate = data.get("carNo").and_then(Value::as_str).unwrap_or("");
    let exit = data.get("inOutFlag").and_then(Value::as_str) == Some("2");
    assert!(data.get("passTime").and_then(Value::as_str).is_some_and(|t| onecard_core::time::parse(t).is_some()));
    if plate.starts_with("浙B") {
        json!({"passFlag": "0", "hintText": format!("{plate} 请缴费"), "hintVoice": "请缴费", "offMoney": "12.00"})
    } else if exit {
        json!({"passFlag": "1", "hintText": format!("{plate} 一路顺风"), "hintVoice": "一路顺风", "offMoney": "0.00", "cardInId": "cloud-in-1"})
    } else {
        json!({"isPass": "1", "hintText": format!("{plate} 欢迎光临"), "hintVoice": "欢迎光临"})
    }
}

impl FakeCloud {
    pub async fn start() -> FakeCloud {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (kick, _) = broadcast::channel(4);
        let cloud = FakeCloud {
            addr,
            seen: Default::default(),
            down: Default::default(),
            mute_validate: Default::default(),
            welcomes: Default::default(),
            refuse: Default::default(),
            commands: Default::default(),
            kick,
        };
        let refuse = cloud.refuse.clone();
        let (seen, down, mute, welcomes, commands, kick) = (
            cloud.seen.clone(),
            cloud.down.clone(),
            cloud.mute_validate.clone(),
            cloud.welcomes.clone(),
            cloud.commands.clone(),
            cloud.kick.clone(),
        );
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let (seen, down, mute, welcomes, commands, kick_rx) =
                    (seen.clone(), down.clone(), mute.clone(), welcomes.clone(), commands.clone(), kick.subscribe());
                let refuse = refuse.clone();
                tokio::spawn(async move {
                    let _ = serve(tcp, seen, down, mute, welcomes, commands, kick_rx, refuse).await;
                });
            }
        });
        cloud
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
        let _ = self.kick.send(());
    }

    pub fn come_back(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    pub fn command(&self, id: &str, device: &str, action: &str, params: Value) -> bool {
        let c = Msg::Command(Command { id: id.into(), device: device.into(), action: action.into(), params });
        match self.commands.lock().unwrap().as_ref() {
            Some(tx) => tx.send(c).is_ok(),
            None => false,
        }
    }

    pub fn uplinks(&self, route: &str) -> Vec<link::Uplink> {
        self.seen.lock().unwrap().uplinks.iter().filter(|u| u.route == route).cloned().collect()
    }

    pub async fn wait_ack(&self, id: &str) -> onecard_core::sitelink::Ack {
        wait_for(Duration::from_secs(10), || self.seen.lock().unwrap().acks.iter().find(|a| a.id == id).cloned()).await
    }
}

pub async fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if tokio::time::Instant::now() > end {
            panic!("condition not met within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[allow(clippy::too_many_arguments)] // one fake connection's shared switches
async fn serve(
    tcp: tokio::net::TcpStream,
    seen: Arc<Mutex<Seen>>,
    down: Arc<AtomicBool>,
    mute: Arc<AtomicBool>,
    welcomes: Arc<AtomicUsize>,
    commands: Arc<Mutex<Option<mpsc::UnboundedSender<Msg>>>>,
    mut kick: broadcast::Receiver<()>,
    refuse: Arc<Mutex<std::collections::HashMap<String, i64>>>,
) -> anyhow::Result<()> {
    let ws = tokio_tungstenite::accept_async(tcp).await?;
    let (mut sink, mut stream) = ws.split();
    let send = |m: &Msg| Message::text(link::encode(m));
    // Hello first.
    let hello = loop {
        match stream.next().await {
            Some(Ok(Message::Text(t))) => match link::decode(&t) {
                Ok(Msg::Hello(h)) => break h,
                _ => continue,
            },
            Some(Ok(_)) => continue,
            _ => return Ok(()),
        }
    };
    seen.lock().unwrap().hellos.push(hello.clone());
    let good = hello.branch == BRANCH && hello.agent_id == AGENT && hello.verify(SECRET);
    if !good || down.load(Ordering::SeqCst) {
        sink.send(send(&Msg::Refused(Refused { code: 100003, message: "bad signature or cloud down".into() }))).await?;
        let _ = sink.close().await;
        return Ok(());
    }
    welcomes.fetch_add(1, Ordering::SeqCst);
    sink.send(send(&Msg::Welcome(Welcome {
        branch: hello.branch.clone(),
        agent_id: hello.agent_id.clone(),
        server_time: onecard_agent::now_text(),
        heartbeat_secs: None,
        session: "test".into(),
    })))
    .await?;
    sink.send(send(&Msg::SiteConfig(site_config()))).await?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    *commands.lock().unwrap() = Some(tx);
    loop {
        tokio::select! {
            _ = kick.recv() => { let _ = sink.close().await; return Ok(()); }
            cmd = rx.recv() => { if let Some(c) = cmd { sink.send(send(&c)).await?; } }
            frame = stream.next() => {
                let t = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(_)) => continue,
                    _ => return Ok(()),
                };
                match link::decode(&t) {
                    Ok(Msg::Ping(b)) => {
                        seen.lock().unwrap().pings += 1;
                        sink.send(send(&Msg::Pong(b))).await?;
                    }
                    Ok(Msg::Ack(a)) => seen.lock().unwrap().acks.push(a),
                    Ok(Msg::Bye(_)) => seen.lock().unwrap().byes += 1,
                    Ok(Msg::Uplink(u)) => {
                        seen.lock().unwrap().uplinks.push(u.clone());
                        if u.route == link::route::PASS_VALIDATE && mute.load(Ordering::SeqCst) {
                            continue;
                        }
                        let data = if u.route == link::route::PASS_VALIDATE { validate(&u.data) } else { Value::Null };
                        let refused = refuse.lock().unwrap().get(&u.route).copied();
                        let r = match refused {
                            Some(code) => Reply { id: u.id, status: false, code, message: format!("refused with {code}"), time: onecard_agent::now_text(), data: Value::Null },
                            None => Reply { id: u.id, status: true, code: 200, message: "success".into(), time: onecard_agent::now_text(), data },
                        };
                        sink.send(send(&Msg::Reply(r))).await?;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// An agent configured for tests: simulator on, fast timers, camera on port 0.
pub fn agent_config(cloud: &str, dir: &std::path::Path) -> onecard_agent::config::AgentConfig {
    let mut c = onecard_agent::config::AgentConfig::new(cloud, BRANCH, AGENT, SECRET, dir);
    c.camera_listen = "127.0.0.1:0".into();
    c.sim = true;
    c.sim_log = Some(dir.join("sim.jsonl"));
    c.backoff_base = Duration::from_millis(50);
    c.backoff_cap = Duration::from_millis(300);
    c.decision_timeout = Duration::from_millis(500);
    c.board_reply_window = Duration::from_millis(100);
    c
}

pub fn sim_lines(dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("sim.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A camera's `POST /plate` to the agent on `port`; the JSON answer, or None
/// when the agent is not listening (yet) or answers no JSON.
pub async fn post(port: u16, body: Value) -> Option<Value> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let body = body.to_string();
    let req = format!("POST /plate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    s.write_all(req.as_bytes()).await.ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).await.ok()?;
    serde_json::from_str(out.split_once("\r\n\r\n")?.1).ok()
}

