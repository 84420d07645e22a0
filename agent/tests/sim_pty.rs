//! The real serial driver against a virtual board on a pseudo-terminal.

use onecard_agent::frame::{cmd, Frame, Payload, TextLine};
use onecard_agent::serial_driver::{Board, BoardConfig, DeviceError};
use onecard_agent::sim::{SimBoard, SimLog};
use std::time::{Duration, Instant};

fn lines(p: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test]
async fn driver_gets_ack_and_log_decodes_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("sim.jsonl");
    let log = SimLog::open(Some(&log_path)).unwrap();
    let sim = SimBoard::spawn("1", 0, false, log).unwrap();
    let board = Board::start(BoardConfig::new(sim.path.to_str().unwrap(), 9600, 0));

    board.send(&Payload::TempText { line: 1, color: 2, seconds: 5, text: "浙A12345 欢迎光临".into() }).await.unwrap();
    board.send(&Payload::Relay { channel: 1, seconds: 3 }).await.unwrap();
    board.send(&Payload::Voice { opt: 2, text: "请缴费十二元".into() }).await.unwrap();
    let multi = Payload::Multi {
        lines: vec![TextLine { line: 1, color: 1, seconds: 5, text: "一卡通".into() }],
        voice: "一路顺风".into(),
    };
    board.send(&multi).await.unwrap();

    let l = lines(&log_path);
    assert_eq!(l.len(), 4, "{l:?}");
    assert_eq!(l[0]["device"], "1");
    assert_eq!(l[0]["cmd"], cmd::TEMP_TEXT);
    assert!(l[0]["hex"].as_str().unwrap().starts_with("00 64 FF FF 62"));
    assert_eq!(l[0]["decoded"]["text"], "浙A12345 欢迎光临");
    assert_eq!(l[1]["decoded"], serde_json::json!({"kind": "relay", "channel": 1, "seconds": 3}));
    assert_eq!(l[2]["decoded"]["text"], "请缴费十二元");
    assert_eq!(l[3]["decoded"]["voice"], "一路顺风");
    // The hex in the log is the frame itself: decoding it again gives the same text.
    let bytes: Vec<u8> = l[0]["hex"].as_str().unwrap().split(' ').map(|h| u8::from_str_radix(h, 16).unwrap()).collect();
    let f = Frame::decode(&bytes).unwrap();
    assert_eq!(Payload::from_frame(&f).unwrap(), Payload::TempText { line: 1, color: 2, seconds: 5, text: "浙A12345 欢迎光临".into() });
}

#[tokio::test]
async fn silent_board_times_out_after_retries() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("sim.jsonl");
    let sim = SimBoard::spawn("9", 0, true, SimLog::open(Some(&log_path)).unwrap()).unwrap();
    let mut cfg = BoardConfig::new(sim.path.to_str().unwrap(), 9600, 0);
    cfg.reply_window = Duration::from_millis(100);
    let board = Board::start(cfg);
    let t = Instant::now();
    let err = board.send(&Payload::Relay { channel: 1, seconds: 0 }).await.unwrap_err();
    assert_eq!(err, DeviceError::Silent(3));
    assert_eq!(err.ack_code(), 620);
    assert!(t.elapsed() < Duration::from_secs(2));
    // Each try reached the board.
    assert_eq!(lines(&log_path).len(), 3);
}

#[tokio::test]
async fn missing_port_is_an_error_not_a_panic() {
    let board = Board::start(BoardConfig::new("/dev/does-not-exist-onecard", 9600, 0));
    let err = board.send(&Payload::FreeSpace { count: 3 }).await.unwrap_err();
    assert!(matches!(err, DeviceError::Io(_)), "{err:?}");
}

#[tokio::test]
async fn two_boards_share_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("sim.jsonl");
    // The virtual board answers only its own address, like a real one on a bus.
    let sim = SimBoard::spawn("bus", 5, false, SimLog::open(Some(&log_path)).unwrap()).unwrap();
    let mut cfg = BoardConfig::new(sim.path.to_str().unwrap(), 9600, 5);
    cfg.reply_window = Duration::from_millis(100);
    let b5 = Board::start(cfg);
    let b6 = b5.with_address(6);
    b5.send(&Payload::FreeSpace { count: 1 }).await.unwrap();
    assert_eq!(b6.send(&Payload::FreeSpace { count: 2 }).await.unwrap_err(), DeviceError::Silent(3));
    b5.send(&Payload::FreeSpace { count: 3 }).await.unwrap();
    let addrs: Vec<String> = lines(&log_path).iter().map(|l| l["hex"].as_str().unwrap()[..2].to_string()).collect();
    assert_eq!(addrs, ["05", "06", "06", "06", "05"]);
}
