//! The agent on a real site: untrusted cameras, a cloud that refuses records,
//! a full disk, and pictures that travel apart from the records.

mod common;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use common::*;
use onecard_agent::agent::{Agent, PlateAnswer, PlateEvent};
use onecard_agent::camera::{PlateSink, Snapshot};
use onecard_agent::camera_auth::{Cidr, CameraRule};
use onecard_agent::config::DeviceSpec;
use onecard_agent::pictures::{self, Outcome, PictureQueue, Uploader};
use onecard_core::link::route;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ------------------------------------------------------------ camera intake

/// Takes every plate and answers "open"; remembers what it got.
#[derive(Default)]
struct Recorder(Mutex<Vec<PlateEvent>>);

impl PlateSink for Recorder {
    fn plate(&self, ev: PlateEvent) -> futures::future::BoxFuture<'_, PlateAnswer> {
        self.0.lock().unwrap().push(ev);
        Box::pin(async { PlateAnswer { ok: true, open: true, text: "ok".into(), reason: "cloud".into() } })
    }
}

/// Sends raw request bytes and reads the answer's status code, with a
/// deadline: a server that waited for a body it should refuse would hang here.
async fn exchange(addr: SocketAddr, head: String, body: &[u8]) -> u16 {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may answer and close before taking the whole body.
    let _ = s.write_all(body).await;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), async {
        let mut chunk = [0u8; 4096];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 3 s");
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

async fn post(addr: SocketAddr, path: &str, auth: Option<&str>, body: &str) -> u16 {
    let auth = auth.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    exchange(addr, head, body.as_bytes()).await
}

fn plate_json(device: &str) -> String {
    json!({"deviceID": device, "plateNo": "浙A12345", "plateColor": "blue"}).to_string()
}

#[tokio::test]
async fn camera_needs_its_token_and_is_bound_to_its_device() {
    let sink = Arc::new(Recorder::default());
    let rules = vec![
        CameraRule { name: "entry cam".into(), token: Some("cam-secret".into()), allow: vec![], devices: vec!["1".into()] },
        CameraRule { name: "lan only".into(), token: None, allow: vec![Cidr::parse("10.9.9.0/24").unwrap()], devices: vec![] },
    ];
    let addr = onecard_agent::camera::serve(sink.clone(), "127.0.0.1:0", rules).await.unwrap();

    assert_eq!(post(addr, "/plate", None, &plate_json("1")).await, 401, "no token");
    assert_eq!(post(addr, "/plate", Some("guess"), &plate_json("1")).await, 401, "wrong token");
    assert_eq!(post(addr, "/plate?token=guess", None, &plate_json("1")).await, 401, "wrong query token");
    assert_eq!(sink.0.lock().unwrap().len(), 0, "nothing refused reached the lane");
    assert_eq!(post(addr, "/plate", Some("cam-secret"), &plate_json("1")).await, 200);
    assert_eq!(post(addr, "/plate?token=cam-secret", None, &plate_json("1")).await, 200);
    assert_eq!(post(addr, "/plate", Some("cam-secret"), &plate_json("2")).await, 403, "bound to device 1");
    assert_eq!(sink.0.lock().unwrap().len(), 2);

    // A camera allowed by address only: 127.0.0.1 is not on its network.
    let only_lan = vec![CameraRule { name: "lan".into(), token: None, allow: vec![Cidr::parse("10.9.9.0/24").unwrap()], devices: vec![] }];
    let addr = onecard_agent::camera::serve(sink.clone(), "127.0.0.1:0", only_lan).await.unwrap();
    assert_eq!(post(addr, "/plate", Some("cam-secret"), &plate_json("1")).await, 403);
    assert_eq!(sink.0.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn camera_bodies_are_capped_without_being_read_whole() {
    let sink = Arc::new(Recorder::default());
    let addr = onecard_agent::camera::serve(sink.clone(), "127.0.0.1:0", Vec::new()).await.unwrap();

    // Declares 50 MiB and sends none of it: answered at once.
    let head = "POST /plate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 52428800\r\n\r\n".to_string();
    assert_eq!(exchange(addr, head, b"").await, 413);

    // Chunked, no length: refused once the cap is passed.
    let head = "POST /plate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_string();
    let chunk = vec![b' '; 1 << 20];
    let mut body = Vec::new();
    for _ in 0..4 {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    assert_eq!(exchange(addr, head, &body).await, 413);

    // Without a picture, 16 KiB is plenty.
    let padded = json!({"deviceID": "1", "plateNo": "浙A12345", "note": "x".repeat(20 << 10)}).to_string();
    assert_eq!(post(addr, "/plate", None, &padded).await, 413);

    // A full 2 MiB snapshot in base64 fits.
    use base64::Engine;
    let pic = base64::engine::general_purpose::STANDARD.encode(vec![7u8; 2 << 20]);
    let body = json!({"deviceID": "1", "plateNo": "浙A12345", "image": pic}).to_string();
    assert_eq!(post(addr, "/plate", None, &body).await, 200);
    assert_eq!(sink.0.lock().unwrap()[0].image.as_ref().unwrap().0.len(), 2 << 20);
}

// ------------------------------------------------------------ outbox on a site

fn lane_device(id: &str, lane: &str) -> DeviceSpec {
    DeviceSpec {
        id: id.into(),
        kind: Default::default(),
        port: String::new(),
        baud: 9600,
        address: 0,
        controller_no: format!("C000000{id}"),
        name: format!("lane {id}"),
        lane: Some(lane.into()),
        area: "1".into(),
        silent: false,
    }
}

fn event(device: &str, plate: &str, image: Option<Vec<u8>>) -> PlateEvent {
    PlateEvent { device_id: device.into(), plate_no: plate.into(), plate_color: "blue".into(), time: String::new(), image: image.map(Snapshot) }
}

#[tokio::test]
async fn the_record_is_on_disk_before_the_gate_is_driven() {
    let dir = tempfile::tempdir().unwrap();
    // No cloud at all: the lane decides offline (entry: allow).
    let mut cfg = agent_config("ws://127.0.0.1:9/ws", dir.path());
    cfg.devices = vec![lane_device("1", "entry")];
    cfg.devices_from_file = true;
    // A silent board: the driver retries the relay frame for a while, so a
    // record written after the gate would show up long after the frame.
    cfg.sim_silent = vec!["1".into()];
    let run = Agent::start(cfg).await.unwrap();

    let sim = dir.path().join("sim.jsonl");
    let outbox = dir.path().join("outbox").join("outbox.log");
    let watcher = std::thread::spawn(move || {
        let end = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < end {
            let text = std::fs::read_to_string(&sim).unwrap_or_default();
            if text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).any(|l| l["decoded"]["kind"] == "relay") {
                // The board has the gate command: what is on disk right now?
                let on_disk = std::fs::read(&outbox).unwrap_or_default();
                return Some(String::from_utf8_lossy(&on_disk).to_string());
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        None
    });
    let a = run.agent.on_plate(event("1", "浙A24680", None)).await;
    assert!(a.open, "{a:?}");
    let on_disk = tokio::task::spawn_blocking(move || watcher.join().unwrap()).await.unwrap().expect("the gate was driven");
    assert!(on_disk.contains(route::UPLOAD_INDATA) && on_disk.contains("浙A24680"), "entry record not on disk when the gate opened");
    assert!(on_disk.contains(route::OFFLINE_DECISION));
}

#[tokio::test]
async fn a_refused_record_goes_to_the_dead_letters_and_the_next_ones_flow() {
    let cloud = FakeCloud::start().await;
    cloud.refuse.lock().unwrap().insert(route::UPLOAD_INDATA.into(), 100001);
    let dir = tempfile::tempdir().unwrap();
    let run = Agent::start(agent_config(&cloud.url(), dir.path())).await.unwrap();
    let agent = &run.agent;
    wait_for(Duration::from_secs(10), || (agent.link.is_up() && agent.devices.has("1")).then_some(())).await;

    assert!(agent.on_plate(event("1", "浙A11111", None)).await.open);
    assert!(agent.on_plate(event("1", "浙A22222", None)).await.open);
    wait_for(Duration::from_secs(10), || (cloud.uplinks(route::CAR_INOUT_NOTICE).len() == 2 && agent.outbox.is_empty()).then_some(())).await;
    let dead = onecard_agent::outbox::list_dead_letters(&dir.path().join("outbox")).unwrap();
    let plates: Vec<&str> = dead.iter().map(|d| d.data["licensePlate"].as_str().unwrap()).collect();
    assert_eq!(plates, vec!["浙A11111", "浙A22222"]);
    assert!(dead.iter().all(|d| d.route == route::UPLOAD_INDATA && d.code == 100001));

    // "Try again" is not final: the record waits, and flows when the cloud recovers.
    cloud.refuse.lock().unwrap().clear();
    cloud.refuse.lock().unwrap().insert(route::CAR_INOUT_NOTICE.into(), 100002);
    assert!(agent.on_plate(event("1", "浙A33333", None)).await.open);
    wait_for(Duration::from_secs(10), || (cloud.uplinks(route::CAR_INOUT_NOTICE).len() >= 3).then_some(())).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(agent.outbox.len(), 1, "the notice stays queued");
    assert_eq!(onecard_agent::outbox::list_dead_letters(&dir.path().join("outbox")).unwrap().len(), 2);
    cloud.refuse.lock().unwrap().clear();
    agent.flush_once().await;
    assert!(agent.outbox.is_empty());
}

#[tokio::test]
async fn a_full_disk_still_opens_the_gate_and_is_reported_as_9_21() {
    let cloud = FakeCloud::start().await;
    let dir = tempfile::tempdir().unwrap();
    let run = Agent::start(agent_config(&cloud.url(), dir.path())).await.unwrap();
    let agent = &run.agent;
    wait_for(Duration::from_secs(10), || (agent.link.is_up() && agent.devices.has("1")).then_some(())).await;

    agent.outbox.set_disk_budget(Some(0));
    let a = agent.on_plate(event("1", "浙A77777", None)).await;
    assert!(a.open && a.reason == "cloud", "{a:?}");
    assert!(sim_lines(dir.path()).iter().any(|l| l["device"] == "1" && l["decoded"]["kind"] == "relay"), "the gate was driven");
    let fault = wait_for(Duration::from_secs(10), || cloud.uplinks(route::GATE_FAULT).into_iter().next()).await;
    assert_eq!(fault.data["deviceID"], "1");
    assert_eq!(fault.data["code"], 507);
    assert!(fault.data["message"].as_str().unwrap().contains("disk full"), "{}", fault.data);
    // Once a minute, not once per car.
    assert!(agent.on_plate(event("1", "浙A77778", None)).await.open);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cloud.uplinks(route::GATE_FAULT).len(), 1);
}

// ------------------------------------------------------------ pictures

/// The cloud's picture endpoint as agreed: checks the signature and the hash.
#[derive(Default)]
struct PictureStore {
    stored: Mutex<HashMap<String, Vec<u8>>>,
    /// Answer this status to the next N requests instead of storing.
    fail_next: AtomicUsize,
    fail_status: Mutex<u16>,
    requests: AtomicUsize,
}

async fn put_picture(State(s): State<Arc<PictureStore>>, UrlPath(sha): UrlPath<String>, headers: HeaderMap, body: Bytes) -> (StatusCode, axum::Json<Value>) {
    s.requests.fetch_add(1, Ordering::SeqCst);
    if s.fail_next.load(Ordering::SeqCst) > 0 {
        s.fail_next.fetch_sub(1, Ordering::SeqCst);
        let code = StatusCode::from_u16(*s.fail_status.lock().unwrap()).unwrap();
        return (code, axum::Json(json!({"error": "scripted"})));
    }
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (branch, agent, ts, sig) = (h("X-OneCard-Branch"), h("X-OneCard-Agent"), h("X-OneCard-Timestamp"), h("X-OneCard-Sign"));
    let signing = format!("{branch}\n{agent}\n{ts}\n{sha}");
    if branch != BRANCH || agent != AGENT || !onecard_core::sign::verify(SECRET, &signing, &sig) || onecard_core::time::parse(&ts).is_none() {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "bad signature"})));
    }
    if h("Content-Type") != "image/jpeg" {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "content type"})));
    }
    if body.len() > pictures::MAX_PICTURE {
        return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(json!({"error": "too large"})));
    }
    if pictures::sha_hex(&body) != sha {
        return (StatusCode::CONFLICT, axum::Json(json!({"error": "hash mismatch"})));
    }
    s.stored.lock().unwrap().insert(sha.clone(), body.to_vec());
    (StatusCode::OK, axum::Json(json!({"key": pictures::key(&branch, &sha)})))
}

async fn picture_server() -> (String, Arc<PictureStore>) {
    let store = Arc::new(PictureStore::default());
    let app = axum::Router::new()
        .route("/site/pictures/{sha}", axum::routing::put(put_picture))
        .layer(axum::extract::DefaultBodyLimit::max(8 << 20))
        .with_state(store.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, store)
}

#[tokio::test]
async fn pictures_leave_by_key_and_upload_signed_with_retries() {
    let cloud = FakeCloud::start().await;
    let (url, store) = picture_server().await;
    // The first attempt meets a cloud hiccup; the picture must wait and go later.
    *store.fail_status.lock().unwrap() = 503;
    store.fail_next.store(1, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = agent_config(&cloud.url(), dir.path());
    cfg.pictures_url = Some(url);
    let run = Agent::start(cfg).await.unwrap();
    let agent = &run.agent;
    wait_for(Duration::from_secs(10), || (agent.link.is_up() && agent.devices.has("1")).then_some(())).await;

    let jpeg: Vec<u8> = (0..50_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let sha = pictures::sha_hex(&jpeg);
    let key = format!("pictures/{BRANCH}/{sha}");
    assert!(agent.on_plate(event("1", "浙A13579", Some(jpeg.clone()))).await.open);
    wait_for(Duration::from_secs(10), || (!cloud.uplinks(route::CAR_INOUT_NOTICE).is_empty() && !cloud.uplinks(route::UPLOAD_INDATA).is_empty()).then_some(())).await;
    for r in [route::PASS_VALIDATE, route::UPLOAD_INDATA, route::CAR_INOUT_NOTICE] {
        let u = &cloud.uplinks(r)[0];
        assert_eq!(u.data["imageKey"], key, "{r}");
        let image = u.data.get("image").and_then(Value::as_str);
        assert!(image.is_none() || image == Some("none"), "{r} carries no picture: {image:?}");
    }
    wait_for(Duration::from_secs(10), || store.stored.lock().unwrap().get(&sha).cloned()).await;
    assert_eq!(store.stored.lock().unwrap()[&sha], jpeg);
    assert!(store.requests.load(Ordering::SeqCst) >= 2, "retried after the 503");
    wait_for(Duration::from_secs(5), || agent.pictures.queue.is_empty().then_some(())).await;

    // Over 2 MiB: not sent, the record still goes, without a key.
    let big = vec![1u8; pictures::MAX_PICTURE + 1];
    assert!(agent.on_plate(event("1", "浙A97531", Some(big))).await.open);
    let notice = wait_for(Duration::from_secs(10), || cloud.uplinks(route::CAR_INOUT_NOTICE).into_iter().find(|u| u.data["plateNo"] == "浙A97531")).await;
    assert!(notice.data.get("imageKey").is_none());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.stored.lock().unwrap().len(), 1);
    assert!(agent.pictures.queue.is_empty());
}

#[tokio::test]
async fn picture_answers_decide_drop_or_keep() {
    let (url, store) = picture_server().await;
    let dir = tempfile::tempdir().unwrap();
    let queue = Arc::new(PictureQueue::open(dir.path(), pictures::QUEUE_MAX_BYTES).unwrap());
    let up = Uploader::new(queue.clone(), "ws://127.0.0.1:1/ws", Some(&url), BRANCH, AGENT, SECRET.into()).unwrap();
    let pic = b"jpeg bytes".to_vec();
    let sha = pictures::sha_hex(&pic);

    // 401 (clock or secret trouble): kept for later.
    queue.store(&sha, &pic).unwrap();
    *store.fail_status.lock().unwrap() = 401;
    store.fail_next.store(1, Ordering::SeqCst);
    assert!(up.drain().await.is_err());
    assert_eq!(queue.len(), 1);
    // 409 (hash mismatch at the cloud): dropped, never resent.
    *store.fail_status.lock().unwrap() = 409;
    store.fail_next.store(1, Ordering::SeqCst);
    assert_eq!(up.drain().await, Ok(1));
    assert!(queue.is_empty());
    // 413: dropped too.
    queue.store(&sha, &pic).unwrap();
    *store.fail_status.lock().unwrap() = 413;
    store.fail_next.store(1, Ordering::SeqCst);
    assert_eq!(up.drain().await, Ok(1));
    assert!(queue.is_empty());
    // A wrong secret is refused by the cloud's check (not a scripted answer).
    let wrong = Uploader::new(queue.clone(), "ws://127.0.0.1:1/ws", Some(&url), BRANCH, AGENT, "not-the-secret".into()).unwrap();
    assert!(matches!(wrong.put(&sha, pic.clone()).await, Outcome::Retry(m) if m.contains("signature")));
    // A file whose bytes no longer match its name is corrupt: dropped unsent.
    let before = store.requests.load(Ordering::SeqCst);
    queue.store(&sha, b"other bytes").unwrap();
    assert_eq!(up.drain().await, Ok(1));
    assert_eq!(store.requests.load(Ordering::SeqCst), before);
    // And a good one is stored.
    queue.store(&sha, &pic).unwrap();
    assert_eq!(up.drain().await, Ok(1));
    assert_eq!(store.stored.lock().unwrap()[&sha], pic);
}

// ------------------------------------------------------------ transport

#[tokio::test]
async fn wss_speaks_tls() {
    // A plain TCP listener: the agent's first bytes must be a TLS ClientHello
    // (record type 0x16), i.e. wss:// is really encrypted, not refused as
    // "TLS support not compiled in".
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let run = Agent::start(agent_config(&format!("wss://127.0.0.1:{port}/ws"), dir.path())).await.unwrap();
    let (mut tcp, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept()).await.unwrap().unwrap();
    let mut first = [0u8; 3];
    tokio::time::timeout(Duration::from_secs(5), tcp.read_exact(&mut first)).await.unwrap().unwrap();
    assert_eq!(first[0], 0x16, "TLS handshake record");
    assert_eq!(first[1], 0x03, "TLS major version");
    assert!(!run.agent.link.is_up());
}
