//! The technician's commands on the real binary: `check-config` on good and
//! broken files, `probe` against `--sim` boards (one silent), `status` while
//! the cloud stops and the outbox grows, and the systemd notifications.

mod common;

use common::*;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onecard-agent")).args(args).env_remove("ONECARD_AGENT_SECRET").env_remove("RUST_LOG").output().unwrap()
}

fn out(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn write(p: &Path, text: &str, mode: u32) {
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A site as the package lays it out: config, private secret file, devices.
fn site(dir: &Path) -> PathBuf {
    let port = dir.join("ttyFAKE0");
    std::fs::write(&port, "").unwrap();
    write(&dir.join("agent.secret"), "s3cret\n", 0o600);
    write(
        &dir.join("devices.toml"),
        &format!(
            "[[device]]\nid = \"1\"\nport = \"{p}\"\naddress = 0\nlane = \"entry\"\nname = \"入口1\"\n\n[[device]]\nid = \"2\"\nport = \"{p}\"\naddress = 1\nlane = \"exit\"\n\n[[device]]\nid = \"door1\"\nkind = \"door\"\nport = \"{p}\"\naddress = 2\n",
            p = port.display()
        ),
        0o644,
    );
    let config = dir.join("agent.toml");
    write(
        &config,
        &format!(
            "cloud = \"wss://cloud.example.com/site\"\nbranch = \"1001\"\nagent_id = \"A1\"\nsecret_file = \"{}\"\ndevices = \"{}\"\ndata_dir = \"{}\"\ncamera_listen = \"127.0.0.1:8089\"\ntz = \"Asia/Shanghai\"\n",
            dir.join("agent.secret").display(),
            dir.join("devices.toml").display(),
            dir.join("data").display()
        ),
        0o644,
    );
    config
}

#[test]
fn check_config_passes_a_good_site() {
    let dir = tempfile::tempdir().unwrap();
    let config = site(dir.path());
    let o = agent(&["check-config", "--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let text = out(&o);
    assert!(text.contains("OK"), "{text}");
    assert!(text.contains("2 lane boards, 1 door"), "{text}");
    assert!(!text.contains("error"), "{text}");
    assert!(!text.contains("s3cret"), "the secret is never printed: {text}");
}

#[test]
fn check_config_lists_every_problem_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = site(dir.path());
    let d = dir.path().display();
    write(
        &config,
        &format!(
            "clod = \"x\"\ncloud = \"ws://cloud.example.com/site\"\nbranch = \"1001\"\nagent_id = \"A1\"\nsecret_file = \"{d}/agent.secret\"\ndevices = \"{d}/devices.toml\"\ndata_dir = \"{d}/data\"\ntz = \"Mars/Olympus\"\nheartbeat_secs = \"often\"\ncamera_listen = \"0.0.0.0:8089\"\n[[camera]]\nname = \"in\"\nallow = [\"300.1.1.1\"]\ntokn = \"t\"\n"
        ),
        0o644,
    );
    let p = format!("{d}/ttyFAKE0");
    write(
        &dir.path().join("devices.toml"),
        &format!("[[device]]\nid = \"1\"\nport = \"{p}\"\nlane = \"sideways\"\n[[device]]\nid = \"1\"\nport = \"{p}\"\nbaud = 19200\n[[device]]\nport = \"{p}\"\n"),
        0o644,
    );
    let o = agent(&["check-config", "--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let text = out(&o);
    let cfg = config.display().to_string();
    let dev = dir.path().join("devices.toml").display().to_string();
    for want in [
        format!("{cfg}:1: error: unknown key `clod` (did you mean `cloud`?)"),
        format!("{cfg}:2: error: cloud URL"),
        format!("{cfg}:8: error: tz 'Mars/Olympus'"),
        format!("{cfg}:9: error: `heartbeat_secs`"),
        format!("{cfg}:13: error: [[camera]] in: allow '300.1.1.1'"),
        format!("{cfg}:14: error: [[camera]] #1: unknown key `tokn` (did you mean `token`?)"),
        format!("{dev}:4: error: device '1': lane 'sideways'"),
        format!("{dev}:6: error: device '1' appears twice"),
        format!("{dev}:8: error: device '1' shares"),
        format!("{dev}:9: error: [[device]] #3: `id` is required"),
    ] {
        assert!(text.contains(&want), "missing `{want}` in:\n{text}");
    }
    // Every finding names its file; the closing line counts them.
    assert!(text.contains("the agent would not start"), "{text}");

    // A syntax error stops the reading with its line.
    write(&config, "cloud = \"wss://x/y\"\nbranch = 1001\"\n", 0o644);
    let o = agent(&["check-config", "--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains(&format!("{}:2: error: not valid TOML", config.display())), "{}", out(&o));

    // A missing or empty secret file, and an unreadable config.
    write(&config, &format!("cloud = \"wss://x/y\"\nbranch = \"1\"\nagent_id = \"A\"\nsecret_file = \"{d}/empty.secret\"\ndata_dir = \"{d}/data\"\n"), 0o644);
    std::fs::write(dir.path().join("empty.secret"), "\n").unwrap();
    let o = agent(&["check-config", "--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains(":4: error: secret file") && out(&o).contains("is empty"), "{}", out(&o));
    let o = agent(&["check-config", "--config", "/nonexistent/agent.toml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("cannot read"), "{}", out(&o));
}

fn probe_json(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn probe_reports_each_sim_board_and_a_silent_one_as_silent() {
    let dir = tempfile::tempdir().unwrap();
    let config = site(dir.path());
    let c = config.to_str().unwrap();
    let o = agent(&["probe", "--config", c, "--sim", "--sim-silent", "2", "--count", "2", "--timeout-ms", "150", "--json"]);
    assert_eq!(o.status.code(), Some(1), "one board is silent: {}", out(&o));
    let r = probe_json(&o);
    assert_eq!(r.len(), 3, "{}", out(&o));
    let by = |id: &str| r.iter().find(|x| x["device"] == id).unwrap().clone();
    for id in ["1", "door1"] {
        let b = by(id);
        assert_eq!(b["verdict"], "answers", "{b}");
        assert_eq!((b["answered"].as_u64(), b["sent"].as_u64()), (Some(2), Some(2)));
        let rtt = b["rtt_avg_ms"].as_f64().unwrap();
        assert!(rtt > 0.0 && rtt < 150.0, "{b}");
    }
    let silent = by("2");
    assert_eq!(silent["verdict"], "silent", "{silent}");
    assert_eq!(silent["answered"], 0);
    assert!(silent["rtt_avg_ms"].is_null());
    assert_eq!(silent["port"], dir.path().join("ttyFAKE0").display().to_string(), "the file's port is shown, not the pty");

    // `silent = true` in the device file works the same; the table says so.
    let dev = dir.path().join("devices.toml");
    let text = std::fs::read_to_string(&dev).unwrap().replace("lane = \"exit\"\n", "lane = \"exit\"\nsilent = true\n");
    std::fs::write(&dev, text).unwrap();
    let o = agent(&["probe", "--config", c, "--sim", "--count", "1", "--timeout-ms", "100"]);
    assert_eq!(o.status.code(), Some(1));
    let table = out(&o);
    let line = table.lines().find(|l| l.starts_with("2 ")).unwrap_or_default();
    assert!(line.contains("SILENT") && line.contains("0/1"), "{table}");
    assert!(table.lines().find(|l| l.starts_with("1 ")).unwrap_or_default().contains("answers"), "{table}");

    // Only the boards that answer: exit 0.
    let o = agent(&["probe", "--config", c, "--sim", "--device", "1", "--device", "door1", "--count", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = agent(&["probe", "--config", c, "--sim", "--device", "nope"]);
    assert_eq!(o.status.code(), Some(2));

    // A real port that is not a serial device: a port error, not a hang.
    let o = agent(&["probe", "--config", c, "--device", "1", "--count", "1", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert_eq!(probe_json(&o)[0]["verdict"], "port_error", "{}", out(&o));
}

fn status(data: &Path) -> (i32, Value) {
    let o = agent(&["status", "--data-dir", data.to_str().unwrap(), "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", out(&o)));
    (o.status.code().unwrap(), v)
}

async fn status_until(data: &Path, what: &str, f: impl Fn(i32, &Value) -> bool) -> Value {
    let end = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (code, v) = status(data);
        if f(code, &v) {
            return v;
        }
        assert!(tokio::time::Instant::now() < end, "status never showed {what}: {code} {v:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn status_follows_a_stopped_cloud_and_a_growing_outbox_and_systemd_hears_the_agent() {
    let cloud = FakeCloud::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let config = dir.path().join("agent.toml");
    write(
        &config,
        &format!(
            "cloud = \"{}\"\nbranch = \"{BRANCH}\"\nagent_id = \"{AGENT}\"\nsecret = \"{SECRET}\"\ndata_dir = \"{}\"\ncamera_listen = \"127.0.0.1:{port}\"\nbackoff_base_ms = 50\nbackoff_cap_secs = 1\ndecision_timeout_ms = 300\nsim = true\n",
            cloud.url(),
            data.display()
        ),
        0o600,
    );
    // No status before the agent ever ran.
    assert_eq!(agent(&["status", "--data-dir", data.to_str().unwrap()]).status.code(), Some(4));

    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let log = std::fs::File::create(dir.path().join("agent.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_onecard-agent"))
        .arg("--config")
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify_path)
        // A 1 s watchdog: the agent must beat every half second.
        .env("WATCHDOG_USEC", "1000000")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut child = Kill(child);

    let mut buf = [0u8; 512];
    let n = notify.recv(&mut buf).expect("READY=1 from the agent");
    assert!(buf[..n].starts_with(b"READY=1\n"), "{}", String::from_utf8_lossy(&buf[..n]));
    let started = std::time::Instant::now();
    let mut beats = 0;
    while beats < 3 {
        let n = notify.recv(&mut buf).expect("watchdog beats");
        if buf[..n].starts_with(b"WATCHDOG=1") {
            beats += 1;
        }
    }
    assert!(started.elapsed() < Duration::from_secs(3), "beats come at half the watchdog interval");

    let up = status_until(&data, "link up", |c, v| c == 0 && v["health"]["link_up"] == true).await;
    assert_eq!(up["running"], true);
    assert_eq!(up["health"]["pid"], pid);
    assert_eq!(up["outbox_pending"], 0);
    assert!(up["health"]["last_contact"].is_string());

    cloud.go_down();
    let down = status_until(&data, "link down", |c, v| c == 1 && v["health"]["link_up"] == false).await;
    let last_contact = down["health"]["last_contact"].as_str().unwrap().to_string();

    // Cars keep coming while the cloud is away: the outbox grows.
    let mut depths = Vec::new();
    for (i, plate) in ["浙A10001", "浙A10002", "浙A10003"].iter().enumerate() {
        let v = post(port, json!({"deviceID": "1", "plateNo": plate, "plateColor": "blue"})).await;
        assert!(v.is_some(), "the camera intake answers");
        let v = status_until(&data, "a deeper outbox", |c, v| c == 1 && v["outbox_pending"].as_u64().unwrap_or(0) > depths.last().copied().unwrap_or(0)).await;
        depths.push(v["outbox_pending"].as_u64().unwrap());
        assert_eq!(v["oldest"]["plate"], "浙A10001", "the oldest record stays the first car ({i})");
        assert_eq!(v["health"]["last_contact"], last_contact.as_str(), "no contact while the cloud is down");
    }
    assert!(depths.windows(2).all(|w| w[0] < w[1]), "{depths:?}");
    let (_, text) = {
        let o = agent(&["status", "--data-dir", data.to_str().unwrap()]);
        (o.status.code(), out(&o))
    };
    assert!(text.contains("DOWN since") && text.contains(&format!("{} pending", depths[2])) && text.contains("浙A10001"), "{text}");

    // The cloud comes back: the outbox drains, the link is up again.
    cloud.come_back();
    status_until(&data, "a drained outbox", |c, v| c == 0 && v["outbox_pending"] == 0).await;

    // A stopped agent is reported as such at once (its pid is gone).
    let _ = child.0.kill();
    let _ = child.0.wait();
    let (code, v) = status(&data);
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(v["running"], false);
}
