//! The agent against a fake in-process cloud.

mod common;

use common::*;
use onecard_agent::agent::{Agent, PlateEvent};
use onecard_core::link::route;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn plate(device: &str, plate: &str) -> PlateEvent {
    PlateEvent { device_id: device.into(), plate_no: plate.into(), plate_color: "blue".into(), time: String::new(), image: None }
}

async fn wait_up(a: &Agent) {
    wait_for(Duration::from_secs(10), || a.link.is_up().then_some(())).await;
}

#[tokio::test]
async fn hello_is_signed_and_bad_secret_is_refused() {
    let cloud = FakeCloud::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = agent_config(&cloud.url(), dir.path());
    cfg.secret = "wrong".into();
    let bad = Agent::start(cfg).await.unwrap();
    wait_for(Duration::from_secs(5), || (cloud.seen.lock().unwrap().hellos.len() >= 2).then_some(())).await;
    assert!(!bad.agent.link.is_up());
    assert_eq!(cloud.welcomes.load(Ordering::SeqCst), 0);

    let dir2 = tempfile::tempdir().unwrap();
    let good = Agent::start(agent_config(&cloud.url(), dir2.path())).await.unwrap();
    wait_up(&good.agent).await;
    // The refused agent goes on retrying beside the good one, so the last
    // hello may be either: they are told apart by their signatures.
    let hellos = cloud.seen.lock().unwrap().hellos.clone();
    assert!(hellos.iter().filter(|h| !h.verify(SECRET)).count() >= 2, "the wrong secret's hellos do not verify");
    let h = hellos.iter().rev().find(|h| h.verify(SECRET)).cloned().expect("the good agent's hello verifies");
    assert_eq!((h.branch.as_str(), h.agent_id.as_str(), h.version), (BRANCH, AGENT, onecard_core::link::PROTOCOL_VERSION));
    assert!(cloud.welcomes.load(Ordering::SeqCst) >= 1, "the good agent was welcomed");
    assert!(onecard_core::time::parse(&h.timestamp).is_some());
    // The site config arrived and was cached for offline restarts.
    wait_for(Duration::from_secs(5), || (good.agent.site_config().controllers.len() == 2).then_some(())).await;
    assert!(dir2.path().join("siteconfig.json").exists());
}

#[tokio::test]
async fn commands_are_acked_and_reach_the_board() {
    let cloud = FakeCloud::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = agent_config(&cloud.url(), dir.path());
    cfg.sim_silent = vec!["2".into()];
    let run = Agent::start(cfg).await.unwrap();
    wait_up(&run.agent).await;
    wait_for(Duration::from_secs(5), || run.agent.devices.has("2").then_some(())).await;

    assert!(cloud.command("c1", "1", "led.temp", json!({"line": 1, "color": 2, "seconds": 5, "text": "欢迎光临"})));
    let a = cloud.wait_ack("c1").await;
    assert!(a.ok, "{a:?}");
    assert_eq!(a.code, 200);
    let l = sim_lines(dir.path());
    assert!(l.iter().any(|x| x["device"] == "1" && x["decoded"]["text"] == "欢迎光临"), "{l:?}");

    cloud.command("c2", "1", "gate.open", json!({}));
    assert!(cloud.wait_ack("c2").await.ok);
    cloud.command("c3", "nope", "gate.open", json!({}));
    assert_eq!(cloud.wait_ack("c3").await.code, 404);
    cloud.command("c4", "1", "intercom.call", json!({}));
    assert_eq!(cloud.wait_ack("c4").await.code, 501);
    cloud.command("c5", "1", "voice", json!({"text": 5, "opt": "x"}));
    assert_eq!(cloud.wait_ack("c5").await.code, 100001);
    cloud.command("c6", "1", "freespace", json!({"count": 42}));
    assert!(cloud.wait_ack("c6").await.ok);
    cloud.command("c7", "1", "time.sync", json!({"time": "2026-05-06 07:08:09"}));
    assert!(cloud.wait_ack("c7").await.ok);
    cloud.command("c8", "1", "allinone", json!({"lines": [{"line": 1, "text": "浙A12345"}, {"line": 2, "text": "一路顺风"}], "voice": "一路顺风"}));
    assert!(cloud.wait_ack("c8").await.ok);
    // Fixed text goes to flash: a second write inside the gap is deferred.
    cloud.command("f1", "1", "led.fixed", json!({"line": 2, "text": "一卡通停车场"}));
    let f1 = cloud.wait_ack("f1").await;
    assert_eq!((f1.ok, f1.message.as_str()), (true, "ok"));
    cloud.command("f2", "1", "led.fixed", json!({"line": 2, "text": "车位已满"}));
    let f2 = cloud.wait_ack("f2").await;
    assert_eq!((f2.ok, f2.message.as_str()), (true, "deferred"));
    let l = sim_lines(dir.path());
    assert!(l.iter().any(|x| x["decoded"]["kind"] == "fixed_text" && x["decoded"]["text"] == "一卡通停车场"));
    assert!(!l.iter().any(|x| x["decoded"]["text"] == "车位已满"));
    assert!(l.iter().any(|x| x["decoded"]["count"] == 42));
    assert!(l.iter().any(|x| x["decoded"]["time"] == "2026-05-06 07:08:09"));
    assert!(l.iter().any(|x| x["decoded"]["lines"][1]["text"] == "一路顺风"));

    // Peak mode holds the gate open: a car passing then gets no relay pulse.
    cloud.command("p1", "1", "gate.peakmode", json!({"on": true}));
    assert!(cloud.wait_ack("p1").await.ok);
    let relays = |dir: &std::path::Path| sim_lines(dir).iter().filter(|x| x["device"] == "1" && x["decoded"]["kind"] == "relay").count();
    let before = relays(dir.path());
    assert!(run.agent.on_plate(onecard_agent::agent::PlateEvent { device_id: "1".into(), plate_no: "浙A66666".into(), ..Default::default() }).await.open);
    assert_eq!(relays(dir.path()), before);
    let l = sim_lines(dir.path());
    assert!(l.iter().any(|x| x["decoded"] == json!({"kind": "relay", "channel": 3, "seconds": 0})));
    cloud.command("p2", "1", "gate.peakmode", json!({"on": false}));
    assert!(cloud.wait_ack("p2").await.ok);

    // The silent exit board: 620 to the cloud and a fault uplink.
    cloud.command("c9", "2", "gate.open", json!({}));
    let a = cloud.wait_ack("c9").await;
    assert_eq!((a.ok, a.code), (false, 620));
    wait_for(Duration::from_secs(10), || (!cloud.uplinks(route::GATE_FAULT).is_empty()).then_some(())).await;
    let f = &cloud.uplinks(route::GATE_FAULT)[0];
    assert_eq!(f.data["deviceID"], "2");
    assert_eq!(f.data["code"], 620);
    // A gate opened by command is announced.
    wait_for(Duration::from_secs(10), || (!cloud.uplinks(route::GATE_STATE_NOTICE).is_empty()).then_some(())).await;
}

#[tokio::test]
async fn online_plate_asks_cloud_then_uploads() {
    let cloud = FakeCloud::start().await;
    let dir = tempfile::tempdir().unwrap();
    let run = Agent::start(agent_config(&cloud.url(), dir.path())).await.unwrap();
    wait_up(&run.agent).await;
    wait_for(Duration::from_secs(5), || run.agent.devices.has("1").then_some(())).await;

    let a = run.agent.on_plate(plate("1", "浙a 12345")).await;
    assert!(a.ok && a.open, "{a:?}");
    assert_eq!(a.text, "浙A12345 欢迎光临");
    assert_eq!(a.reason, "cloud");
    let v = cloud.uplinks(route::PASS_VALIDATE);
    assert_eq!(v[0].data["carNo"], "浙A12345");
    assert_eq!(v[0].data["inOutFlag"], "1");

    let refused = run.agent.on_plate(plate("2", "浙B00001")).await;
    assert!(!refused.open);
    assert_eq!(refused.text, "浙B00001 请缴费");

    let out = run.agent.on_plate(plate("2", "浙A12345")).await;
    assert!(out.open);

    wait_for(Duration::from_secs(10), || run.agent.outbox.is_empty().then_some(())).await;
    let ins = cloud.uplinks(route::UPLOAD_INDATA);
    assert_eq!(ins.len(), 1);
    assert_eq!(ins[0].data["licensePlate"], "浙A12345");
    assert_eq!(ins[0].data["controllerNo"], "C0000001");
    assert!(ins[0].data["cardInId"].as_str().unwrap().starts_with("A1-"));
    let outs = cloud.uplinks(route::UPLOAD_OUTDATA);
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].data["cardInId"], "cloud-in-1");
    assert_eq!(cloud.uplinks(route::CAR_INOUT_NOTICE).len(), 3);
    // The lane board showed the cloud's text and played its voice.
    let l = sim_lines(dir.path());
    assert!(l.iter().any(|x| x["device"] == "2" && x["decoded"]["text"] == "浙B00001 请缴费"));
    assert!(l.iter().any(|x| x["device"] == "1" && x["decoded"]["kind"] == "relay"));
    assert!(l.iter().any(|x| x["device"] == "2" && x["decoded"]["text"] == "请缴费"));
}

#[tokio::test]
async fn camera_http_intake() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let cloud = FakeCloud::start().await;
    let dir = tempfile::tempdir().unwrap();
    let run = Agent::start(agent_config(&cloud.url(), dir.path())).await.unwrap();
    wait_up(&run.agent).await;
    wait_for(Duration::from_secs(5), || (run.agent.site_config().controllers.len() == 2).then_some(())).await;
    let post = |body: String| {
        let addr = run.camera_addr;
        async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let req = format!(
                "POST /plate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            s.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            let (head, body) = out.split_once("\r\n\r\n").unwrap();
            (head.lines().next().unwrap().to_string(), serde_json::from_str::<serde_json::Value>(body).unwrap())
        }
    };
    let (status, v) = post(json!({"deviceID": "1", "plateNo": "浙A55555", "plateColor": "blue", "time": "2026-01-01 08:00:00", "image": "aGVsbG8="}).to_string()).await;
    assert!(status.contains("200"), "{status}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["open"], true);
    assert_eq!(v["text"], "浙A55555 欢迎光临");
    // Pictures never ride the link: the ask names the picture by key.
    let ask = &cloud.uplinks(route::PASS_VALIDATE)[0].data;
    assert!(ask.get("image").is_none(), "{ask}");
    assert_eq!(ask["imageKey"], format!("pictures/{BRANCH}/{}", onecard_agent::pictures::sha_hex(b"hello")));
    let (status, v) = post("{not json".into()).await;
    assert!(status.contains("400"));
    assert_eq!(v["ok"], false);
    let (status, _) = post(json!({"deviceID": "77", "plateNo": "浙A1"}).to_string()).await;
    assert!(status.contains("404"));
}

#[tokio::test]
async fn offline_decisions_are_recorded_and_flushed_in_order() {
    let cloud = FakeCloud::start().await;
    let dir = tempfile::tempdir().unwrap();
    let run = Agent::start(agent_config(&cloud.url(), dir.path())).await.unwrap();
    let agent = &run.agent;
    wait_up(agent).await;
    wait_for(Duration::from_secs(5), || agent.devices.has("2").then_some(())).await;

    // Silent cloud: connected, but pass.validate is never answered.
    cloud.mute_validate.store(true, Ordering::SeqCst);
    let a = agent.on_plate(plate("1", "浙A10001")).await;
    assert!(a.open);
    assert_eq!(a.reason, "policy:allow");
    cloud.mute_validate.store(false, Ordering::SeqCst);
    wait_for(Duration::from_secs(10), || agent.outbox.is_empty().then_some(())).await;
    assert_eq!(cloud.uplinks(route::OFFLINE_DECISION).len(), 1);

    // Unreachable cloud.
    cloud.go_down();
    wait_for(Duration::from_secs(10), || (!agent.link.is_up()).then_some(())).await;
    let before = cloud.seen.lock().unwrap().uplinks.len();
    let monthly_in = agent.on_plate(plate("1", "浙A88888")).await;
    assert_eq!((monthly_in.open, monthly_in.reason.as_str()), (true, "monthly"));
    let monthly = agent.on_plate(plate("2", "浙A88888")).await;
    assert!(monthly.open);
    assert_eq!(monthly.reason, "monthly");
    let temp_exit = agent.on_plate(plate("2", "浙A20002")).await;
    assert!(!temp_exit.open);
    assert_eq!(temp_exit.reason, "policy:manual");
    let temp_entry = agent.on_plate(plate("1", "浙A30003")).await;
    assert!(temp_entry.open);
    let queued = agent.outbox.pending();
    // monthly in: indata + notice + decision; monthly out: outdata + notice +
    // decision; manual exit: notice + decision; entry: indata + notice + decision.
    assert_eq!(queued.len(), 11, "{queued:?}");
    // The offline exit names the entry this agent recorded.
    let in_id = &queued.iter().find(|e| e.route == route::UPLOAD_INDATA).unwrap().data["cardInId"];
    let out_id = &queued.iter().find(|e| e.route == route::UPLOAD_OUTDATA).unwrap().data["cardInId"];
    assert_eq!(in_id, out_id);
    assert!(in_id.as_str().unwrap().starts_with("A1-"));
    assert!(queued.windows(2).all(|w| w[0].seq < w[1].seq));
    // The LED told the driver at the manual exit to wait.
    let l = sim_lines(dir.path());
    assert!(l.iter().any(|x| x["device"] == "2" && x["decoded"]["text"] == "浙A20002 请等待人工处理"));

    // The records survive a restart of the outbox file (checked by reopening a copy).
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(agent.outbox.path(), copy.path().join("outbox.log")).unwrap();
    let (reopened, rec) = onecard_agent::outbox::Outbox::open(copy.path(), Default::default()).unwrap();
    assert_eq!(rec.pending, 11);
    assert_eq!(reopened.pending(), queued);

    cloud.come_back();
    wait_up(agent).await;
    wait_for(Duration::from_secs(15), || agent.outbox.is_empty().then_some(())).await;
    let after: Vec<String> = cloud.seen.lock().unwrap().uplinks[before..].iter().filter(|u| u.route != route::PASS_VALIDATE).map(|u| u.id.clone()).collect();
    let want: Vec<String> = queued.iter().map(|e| e.id.clone()).collect();
    assert_eq!(after, want, "flushed in order, each once");
    let outs = cloud.uplinks(route::UPLOAD_OUTDATA);
    assert_eq!(outs.last().unwrap().data["licensePlate"], "浙A88888");
    assert_eq!(outs.last().unwrap().data["offline"], "1");
}

#[tokio::test]
async fn heartbeats_and_planned_reconnect() {
    let cloud = FakeCloud::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = agent_config(&cloud.url(), dir.path());
    cfg.heartbeat = Duration::from_millis(200);
    cfg.planned_reconnect = Duration::from_millis(1200);
    let run = Agent::start(cfg).await.unwrap();
    wait_up(&run.agent).await;
    wait_for(Duration::from_secs(10), || (cloud.welcomes.load(Ordering::SeqCst) >= 2).then_some(())).await;
    let seen = cloud.seen.lock().unwrap();
    assert!(seen.pings >= 3, "pings {}", seen.pings);
    assert!(seen.byes >= 1);
    drop(seen);
    assert!(run.agent.link.connects() >= 2);
}
