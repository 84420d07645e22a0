//! The hardware routes against a scripted site link on the SQLite store.

use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_adapters::sqlite_store::SqliteStore;
use onecard_core::config::{self, Branch};
use onecard_core::link::ack_code;
use onecard_core::queue::EventQueue;
use onecard_core::sitelink::{Ack, Command, NoSites, SiteError, SiteLink};
use onecard_core::store::Query;
use onecard_core::time::SystemClock;
use onecard_core::{dispatch, ApiResult, Ctx, Origin, Ports, Registry, Reply};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Script = Box<dyn Fn(&Command) -> Result<Ack, SiteError> + Send + Sync>;

/// A site link that records every command and answers as scripted.
pub(crate) struct FakeSites {
    pub sent: Mutex<Vec<Command>>,
    script: Script,
}

impl FakeSites {
    pub fn new(script: impl Fn(&Command) -> Result<Ack, SiteError> + Send + Sync + 'static) -> Arc<FakeSites> {
        Arc::new(FakeSites { sent: Mutex::new(Vec::new()), script: Box::new(script) })
    }
    /// Every command done.
    pub fn ok() -> Arc<FakeSites> {
        FakeSites::new(|c| Ok(ack(c, 200)))
    }
    pub fn sent(&self) -> Vec<Command> {
        self.sent.lock().unwrap().clone()
    }
}

pub(crate) fn ack(c: &Command, code: i64) -> Ack {
    Ack { id: c.id.clone(), ok: code == 200, code, message: if code == 200 { "ok".into() } else { "scripted".into() } }
}

#[async_trait::async_trait]
impl SiteLink for FakeSites {
    async fn command(&self, _branch: &str, cmd: Command, _t: Duration) -> Result<Ack, SiteError> {
        self.sent.lock().unwrap().push(cmd.clone());
        (self.script)(&cmd)
    }
}

pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    // A uuid, not the time: tests start side by side and a coarse clock gives two of them one name.
    let n = uuid::Uuid::new_v4().simple();
    let d = std::env::temp_dir().join(format!("onecard-app-{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A context on a fresh store with the demo branch, caller, agent and car type.
pub(crate) async fn ctx_with(sites: Arc<dyn SiteLink>) -> (Ctx, Arc<EmbeddedQueue>) {
    let dir = temp_dir("hw");
    let store = Arc::new(SqliteStore::open(&dir.join("store.db")).unwrap());
    let queue = Arc::new(EmbeddedQueue::open(&dir.join("queue.db")).unwrap());
    config::seed_demo(&*store).await.unwrap();
    let q: Arc<dyn EventQueue> = queue.clone();
    let ctx = Ctx::new(Ports { store, queue: q, sites, clock: Arc::new(SystemClock) });
    crate::seed_demo(&ctx).await.unwrap();
    (ctx, queue)
}

pub(crate) async fn call(ctx: &Ctx, route: &str, data: Value) -> ApiResult<Reply> {
    let reg: Registry = crate::registry();
    let spec = reg.find(route).unwrap();
    let branch: Branch = config::get_branch(ctx.store(), config::DEMO_BRANCH).await.unwrap().unwrap();
    dispatch::run(ctx, &reg, spec, Origin::Internal, branch, data, None).await
}

fn code(r: &ApiResult<Reply>) -> i64 {
    match r {
        Ok(_) => 200,
        Err(e) => e.code.0,
    }
}

/// The 13.6 records queued (the demo seed queues events of its own).
async fn abnormal_events(queue: &EmbeddedQueue) -> Vec<Value> {
    let got = queue.receive(50, Duration::from_millis(100)).await.unwrap();
    got.into_iter().filter(|r| r.event.route == "report/parkAbnormalOpenGate").map(|r| r.event.record).collect()
}

#[tokio::test]
async fn gate_open_commands_the_lane_and_reports_a_manual_opening() {
    let sites = FakeSites::ok();
    let (ctx, queue) = ctx_with(sites.clone()).await;
    call(&ctx, "park.gate.open", json!({"deviceID": "1"})).await.unwrap();
    // The controller number names the same lane; `deviceId` is the table's spelling.
    call(&ctx, "park.gate.open", json!({"deviceId": "C0000002"})).await.unwrap();
    let sent = sites.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!((sent[0].device.as_str(), sent[0].action.as_str()), ("1", "gate.open"));
    assert_eq!(sent[1].device, "2");
    assert_ne!(sent[0].id, sent[1].id, "command ids are unique");

    let rows = ctx.store.query_all(&Query::partition(crate::keys::abnormal_openings("1001"))).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].body["ioFlag"], json!("1"));
    assert_eq!(rows[1].body["ioFlag"], json!("2"));
    assert_eq!(rows[0].body["abnormalName"], json!("手工开闸"));
    let got = abnormal_events(&queue).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["controllerNo"], json!("C0000001"));
}

#[tokio::test]
async fn a_gate_that_did_not_open_is_not_reported() {
    let sites = FakeSites::new(|c| Ok(ack(c, ack_code::DEVICE_TIMEOUT)));
    let (ctx, queue) = ctx_with(sites.clone()).await;
    let r = call(&ctx, "park.gate.open", json!({"deviceID": "1"})).await;
    assert_eq!(code(&r), 620, "{r:?}");
    assert!(ctx.store.query_all(&Query::partition(crate::keys::abnormal_openings("1001"))).await.unwrap().is_empty());
    assert!(abnormal_events(&queue).await.is_empty());
}

#[tokio::test]
async fn link_failures_have_distinct_codes() {
    let (ctx, _) = ctx_with(Arc::new(NoSites)).await;
    let r = call(&ctx, "park.gate.close", json!({"deviceID": "1"})).await;
    let e = r.unwrap_err();
    assert_eq!(e.code.0, 500);
    assert!(e.message.starts_with("site offline:"), "{}", e.message);

    let timeout = FakeSites::new(|_| Err(SiteError::Timeout(Duration::from_secs(5))));
    let (ctx, _) = ctx_with(timeout).await;
    assert_eq!(code(&call(&ctx, "park.voice", json!({"deviceID": "1", "hintVoice": "请缴费"})).await), 620);

    for (agent_code, want) in [(ack_code::UNKNOWN_DEVICE, 500), (ack_code::DEVICE_REFUSED, 500), (ack_code::BAD_PARAMS, 100001)] {
        let (ctx, _) = ctx_with(FakeSites::new(move |c| Ok(ack(c, agent_code)))).await;
        assert_eq!(code(&call(&ctx, "park.gate.close", json!({"deviceID": "1"})).await), want, "agent code {agent_code}");
    }
}

#[tokio::test]
async fn bad_input_names_the_field_and_sends_nothing() {
    let sites = FakeSites::ok();
    let (ctx, _) = ctx_with(sites.clone()).await;
    let cases = [
        ("park.gate.open", json!({}), "deviceID"),
        ("park.gate.open", json!({"deviceID": "99"}), "deviceID"),
        ("park.led.temp", json!({"deviceID": "1", "lin1": "a", "lin2": "b", "color": "3", "time": "5"}), "color"),
        ("park.led.temp", json!({"deviceID": "1", "lin1": "a", "lin2": "b", "color": "0", "time": "300"}), "time"),
        ("park.led.temp", json!({"deviceID": "1", "lin1": "a", "color": "0"}), "time"),
        ("park.voice", json!({"deviceID": "1"}), "hintVoice"),
        ("park.gate.setpeakmode", json!({"deviceID": "1", "peakMode": "3"}), "peakMode"),
        ("park.intercom.request", json!({"controllerNo": "VM1"}), "roomId"),
        ("acss.door.normalopen", json!({"controllerno": "C3", "doorno": "1", "controltype": "x"}), "controltype"),
        ("acss.door.open", json!({"controllerno": "C3", "doorno": "1"}), "userid"),
    ];
    for (route, data, field) in cases {
        let e = call(&ctx, route, data.clone()).await.unwrap_err();
        assert_eq!(e.code.0, 100001, "{route} {data}");
        assert!(e.message.contains(field), "{route}: {} should name {field}", e.message);
    }
    assert!(sites.sent().is_empty());
}

#[tokio::test]
async fn led_and_voice_texts_travel_unchanged() {
    let sites = FakeSites::ok();
    let (ctx, _) = ctx_with(sites.clone()).await;
    call(&ctx, "park.led.temp", json!({"deviceID": "1", "lin1": "粤 B12345", "lin2": "请缴费 5 元", "color": "0", "time": "120"}))
        .await
        .unwrap();
    call(&ctx, "park.led.fixed", json!({"deviceID": "1", "lin1": "智慧产业园", "lin2": "欢迎您的光临"})).await.unwrap();
    call(&ctx, "park.voice", json!({"deviceID": "1", "hintVoice": "请缴费 5 元"})).await.unwrap();
    let sent = sites.sent();
    let shape: Vec<(&str, Value)> = sent.iter().map(|c| (c.action.as_str(), c.params.clone())).collect();
    assert_eq!(
        shape,
        vec![
            ("led.temp", json!({"line": 1, "color": 2, "seconds": 120, "text": "粤 B12345"})),
            ("led.temp", json!({"line": 2, "color": 2, "seconds": 120, "text": "请缴费 5 元"})),
            ("led.fixed", json!({"line": 1, "text": "智慧产业园"})),
            ("led.fixed", json!({"line": 2, "text": "欢迎您的光临"})),
            ("voice", json!({"text": "请缴费 5 元", "opt": 2})),
        ]
    );
}

#[tokio::test]
async fn all_in_one_opens_only_when_asked() {
    let sites = FakeSites::ok();
    let (ctx, _) = ctx_with(sites.clone()).await;
    let base = json!({"deviceID": "1", "lin1": "粤 B12345", "lin2": "禁止入场", "color": "1", "time": "120", "hintVoice": "非授权车辆, 禁止入内"});
    let mut shut = base.clone();
    shut["openGate"] = json!("0");
    call(&ctx, "park.allinone", shut).await.unwrap();
    assert_eq!(sites.sent().iter().map(|c| c.action.clone()).collect::<Vec<_>>(), vec!["allinone"]);
    assert_eq!(sites.sent()[0].params["lines"][1], json!({"line": 2, "color": 1, "seconds": 120, "text": "禁止入场"}));
    assert_eq!(sites.sent()[0].params["voice"], json!("非授权车辆, 禁止入内"));
    let mut open = base;
    open["openGate"] = json!(1);
    call(&ctx, "park.allinone", open).await.unwrap();
    let acts: Vec<String> = sites.sent().iter().map(|c| c.action.clone()).collect();
    assert_eq!(acts, vec!["allinone", "allinone", "gate.open"]);
    // Nothing asked for is an error, not a silent success.
    assert_eq!(code(&call(&ctx, "park.allinone", json!({"deviceID": "1"})).await), 100001);
}

#[tokio::test]
async fn peak_mode_and_intercom() {
    let sites = FakeSites::ok();
    let (ctx, _) = ctx_with(sites.clone()).await;
    call(&ctx, "park.gate.setpeakmode", json!({"deviceID": "2", "peakMode": 1})).await.unwrap();
    call(&ctx, "park.gate.setpeakmode", json!({"deviceID": "2", "peakMode": "2"})).await.unwrap();
    call(&ctx, "park.intercom.request", json!({"controllerNo": "VM0000004", "roomId": "1"})).await.unwrap();
    call(&ctx, "park.intercom.stop", json!({"controllerNo": "VM0000004"})).await.unwrap();
    let sent = sites.sent();
    assert_eq!(sent[0].params, json!({"on": true}));
    assert_eq!(sent[1].params, json!({"on": false}));
    assert_eq!((sent[2].device.as_str(), sent[2].action.as_str()), ("VM0000004", "intercom.call"));
    assert_eq!(sent[2].params, json!({"roomId": "1"}));
    assert_eq!(sent[3].action, "intercom.hangup");
}

#[tokio::test]
async fn doors_by_reader_then_by_controller() {
    // The agent knows C3's reader 1 only by the controller number.
    let sites = FakeSites::new(|c| Ok(ack(c, if c.device == "C3" || c.device == "C4-2" { 200 } else { 404 })));
    let (ctx, _) = ctx_with(sites.clone()).await;
    let r = call(&ctx, "acss.door.open", json!({"userid": "1000001", "controllerno": "C3", "doorno": "1"})).await.unwrap();
    assert_eq!(r.data, json!({"flag": "1", "memo": ""}));
    call(&ctx, "acss.door.normalopen", json!({"controllerno": "C4", "doorno": "2", "controltype": "0"})).await.unwrap();
    // Reader 2 of C3 is not reader 1: no fallback to the controller.
    let e = call(&ctx, "acss.door.open", json!({"userid": "1", "controllerno": "C3", "doorno": "2"})).await.unwrap_err();
    assert_eq!(e.code.0, 500);
    let devs: Vec<(String, String)> = sites.sent().iter().map(|c| (c.device.clone(), c.action.clone())).collect();
    assert_eq!(
        devs,
        vec![
            ("C3-1".into(), "door.open".into()),
            ("C3".into(), "door.open".into()),
            ("C4-2".into(), "door.normalopen".into()),
            ("C3-2".into(), "door.open".into()),
        ]
    );
    assert_eq!(sites.sent()[2].params, json!({"on": true}));
}
