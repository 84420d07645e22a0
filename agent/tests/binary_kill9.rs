//! The real binary with --sim: killed with SIGKILL while the cloud is away, it
//! keeps its offline records and uploads them in order once the cloud is back.

mod common;

use common::*;
use onecard_core::link::route;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn spawn(config: &std::path::Path, dir: &std::path::Path, n: u32) -> Child {
    let log = std::fs::File::create(dir.join(format!("agent-{n}.log"))).unwrap();
    Command::new(env!("CARGO_BIN_EXE_onecard-agent"))
        .arg("--config")
        .arg(config)
        .arg("--sim")
        .arg("--sim-log")
        .arg(dir.join("sim.jsonl"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

async fn plate_until(port: u16, device: &str, plate: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let end = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = post(port, json!({"deviceID": device, "plateNo": plate, "plateColor": "blue"})).await {
            if ok(&v) {
                return v;
            }
        }
        assert!(tokio::time::Instant::now() < end, "lane never answered as wanted for {plate}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn kill9_keeps_offline_records_and_flushes_them_in_order() {
    let cloud = FakeCloud::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "cloud = \"{}\"\nbranch = \"{BRANCH}\"\nagent_id = \"{AGENT}\"\nsecret = \"{SECRET}\"\ndata_dir = \"{}\"\ncamera_listen = \"127.0.0.1:{port}\"\nbackoff_base_ms = 50\nbackoff_cap_secs = 1\ndecision_timeout_ms = 500\n",
            cloud.url(),
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    // The config holds the secret inline, which the agent takes only from a private file.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();

    let mut first = spawn(&config, dir.path(), 1);
    // Online: the cloud decides.
    plate_until(port, "1", "浙A10001", |v| v["reason"] == "cloud").await;
    wait_for(Duration::from_secs(10), || (cloud.uplinks(route::UPLOAD_INDATA).len() == 1).then_some(())).await;

    cloud.go_down();
    let offline_entry = plate_until(port, "1", "浙A20002", |v| v["reason"] != "cloud").await;
    assert_eq!(offline_entry["open"], true);
    let before = cloud.seen.lock().unwrap().uplinks.len();
    first.kill().unwrap();
    first.wait().unwrap();

    // Restarted while the cloud is still away: the cached site config still
    // knows the lanes and the monthly card.
    let mut second = spawn(&config, dir.path(), 2);
    let monthly = plate_until(port, "2", "浙A88888", |_| true).await;
    assert_eq!(monthly["open"], true, "{monthly}");
    assert_eq!(monthly["reason"], "monthly");
    let manual = plate_until(port, "2", "浙A30003", |_| true).await;
    assert_eq!(manual["open"], false);

    cloud.come_back();
    let want_plates = ["浙A20002", "浙A88888", "浙A30003"];
    wait_for(Duration::from_secs(20), || {
        let n = cloud.uplinks(route::OFFLINE_DECISION).len();
        (n >= want_plates.len()).then_some(())
    })
    .await;
    // Give the flush a moment to finish the tail, then compare.
    tokio::time::sleep(Duration::from_millis(500)).await;
    second.kill().unwrap();
    second.wait().unwrap();

    let seen = cloud.seen.lock().unwrap();
    let later: Vec<&onecard_core::link::Uplink> = seen.uplinks[before..].iter().filter(|u| u.route != route::PASS_VALIDATE).collect();
    let decisions: Vec<&str> = later
        .iter()
        .filter(|u| u.route == route::OFFLINE_DECISION)
        .map(|u| u.data["licensePlate"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, want_plates, "decisions uploaded in the order they were taken");
    // Each record once: ids never repeat.
    let mut ids: Vec<&str> = later.iter().map(|u| u.id.as_str()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);
    // The offline entry and the monthly exit were uploaded as records.
    assert!(later.iter().any(|u| u.route == route::UPLOAD_INDATA && u.data["licensePlate"] == "浙A20002"));
    assert!(later.iter().any(|u| u.route == route::UPLOAD_OUTDATA && u.data["licensePlate"] == "浙A88888"));
    // Two runs' logs, info level: the secret appears in neither.
    for n in [1, 2] {
        let log = std::fs::read_to_string(dir.path().join(format!("agent-{n}.log"))).unwrap();
        assert!(log.contains("starting"), "{log}");
        assert!(!log.contains(SECRET), "the secret leaked into the log");
    }
}
