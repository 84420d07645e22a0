//! Hardware routes end to end: a signed API call on the real `onecard serve`,
//! over the WebSocket to the real `onecard-agent --sim`, down to the frames
//! its virtual boards receive (their `--sim-log`).

mod sitelink_support;

use onecard_tests::{code, temp_dir};
use serde_json::{json, Value};
use sitelink_support::{crc_ok, hex_bytes, server, AgentProc};
use std::time::{Duration, Instant};

/// The frames a device got after the first `skip`.
fn frames_of(agent: &AgentProc, device: &str, skip: usize) -> Vec<Value> {
    agent.frames().into_iter().skip(skip).filter(|f| f["device"] == json!(device)).collect()
}

#[test]
fn gate_open_reaches_the_board_and_chinese_texts_arrive_intact() {
    let dir = temp_dir("sl-gate");
    let srv = server(&dir.join("cloud"), onecard_tests::free_port());
    let agent = AgentProc::start(srv.port, &dir.join("agent"), &[]);
    agent.wait_ready();
    let c = srv.client();

    let before = agent.frames().len();
    let env = c.call("park.gate.open", json!({"deviceID": "1"}));
    assert_eq!(code(&env), 200, "{env}");
    let got = frames_of(&agent, "1", before);
    assert_eq!(got.len(), 1, "{got:?}");
    let f = &got[0];
    assert_eq!(f["cmd"], json!(0x0F));
    assert_eq!(f["decoded"]["kind"], json!("relay"));
    assert_eq!(f["decoded"]["channel"], json!(1), "channel 1 = open pulse");
    let bytes = hex_bytes(f["hex"].as_str().unwrap());
    assert_eq!(bytes[4], 0x0F);
    assert!(crc_ok(&bytes), "CRC of {}", f["hex"]);
    // A manual opening is recorded for the 13.6 push; the exit lane works too.
    assert_eq!(code(&c.call("park.gate.close", json!({"deviceID": "2"}))), 200);
    assert_eq!(frames_of(&agent, "2", before)[0]["decoded"]["channel"], json!(2));

    let before = agent.frames().len();
    let led = json!({"deviceID": "1", "lin1": "粤 B12345", "lin2": "请缴费 5 元", "color": "0", "time": "120"});
    assert_eq!(code(&c.call("park.led.temp", led)), 200);
    assert_eq!(code(&c.call("park.voice", json!({"deviceID": "1", "hintVoice": "欢迎光临，请减速慢行"}))), 200);
    let mut aio = json!({"deviceID": "1", "lin1": "浙A12345", "lin2": "月卡 剩余30天", "color": "0", "time": "10", "hintVoice": "一路顺风"});
    aio["openGate"] = json!("1");
    assert_eq!(code(&c.call("park.allinone", aio)), 200);
    let got = frames_of(&agent, "1", before);
    let texts: Vec<(String, Value)> = got.iter().map(|f| (f["decoded"]["kind"].as_str().unwrap_or("").to_string(), f["decoded"].clone())).collect();
    assert_eq!(texts[0].1["text"], json!("粤 B12345"));
    assert_eq!(texts[0].1["color"], json!(2), "seed green is the board's 2");
    assert_eq!(texts[0].1["seconds"], json!(120));
    assert_eq!(texts[1].1["text"], json!("请缴费 5 元"));
    assert_eq!(texts[2].0, "voice");
    assert_eq!(texts[2].1["text"], json!("欢迎光临，请减速慢行"));
    assert_eq!(texts[3].1["voice"], json!("一路顺风"));
    assert_eq!(texts[3].1["lines"][1]["text"], json!("月卡 剩余30天"));
    assert_eq!(texts[4].1["kind"], json!("relay"));
    for f in &got {
        assert!(crc_ok(&hex_bytes(f["hex"].as_str().unwrap())), "CRC of {f}");
    }
}

#[test]
fn a_silent_board_answers_620_within_the_timeout_and_no_agent_is_site_offline() {
    let dir = temp_dir("sl-silent");
    let srv = server(&dir.join("cloud"), onecard_tests::free_port());
    let mut agent = AgentProc::start(srv.port, &dir.join("agent"), &["--sim-silent", "2"]);
    agent.wait_ready();
    let c = srv.client();

    // The board of lane 2 hears every frame and never answers.
    let t0 = Instant::now();
    let env = c.call("park.gate.open", json!({"deviceID": "2"}));
    let took = t0.elapsed();
    assert_eq!(code(&env), 620, "{env}");
    assert!(took < Duration::from_secs(5), "620 after {took:?}; the branch's ack timeout is 5 s");
    assert!(!frames_of(&agent, "2", 0).is_empty(), "the frame did reach the silent board");
    // The healthy lane is unaffected.
    assert_eq!(code(&c.call("park.gate.open", json!({"deviceID": "1"}))), 200);

    // An agent that stops answering altogether: the cloud gives up at its timeout.
    agent.signal("STOP");
    let t0 = Instant::now();
    let env = c.call("park.voice", json!({"deviceID": "1", "hintVoice": "请稍候"}));
    let took = t0.elapsed();
    agent.signal("CONT");
    assert_eq!(code(&env), 620, "{env}");
    assert!(took >= Duration::from_millis(4500) && took < Duration::from_secs(7), "620 after {took:?}");

    agent.kill9();
    let t0 = Instant::now();
    let mut env = json!(null);
    // The hub notices the closed socket at once; allow a moment for the close.
    while t0.elapsed() < Duration::from_secs(5) {
        env = c.call("park.gate.open", json!({"deviceID": "1"}));
        if code(&env) == 500 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(code(&env), 500, "{env}");
    assert!(env["message"].as_str().unwrap_or("").starts_with("site offline"), "{env}");
}
