//! Shared by the `sitelink_*` tests: the real `onecard-agent --sim` as a
//! process next to the real `onecard serve`, its camera intake and the log of
//! frames its virtual boards received.

#![allow(dead_code)]

use onecard_tests::{binary, free_port, http, Server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The demo branch's zone: an agent stamps times with its local clock, and a
/// car park's clock is its branch's.
pub const BRANCH_TZ: &str = "Asia/Shanghai";

/// A running `onecard-agent --sim`, killed (SIGKILL) on drop.
pub struct AgentProc {
    pub child: Child,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    pub sim_log: PathBuf,
    pub camera_port: u16,
    extra: Vec<String>,
    cloud_port: u16,
}

impl AgentProc {
    /// Agent A1 of branch 1001 for the server on `cloud_port`, with its own
    /// data dir. `extra` adds flags (e.g. `--sim-silent 2`).
    pub fn start(cloud_port: u16, data_dir: &Path, extra: &[&str]) -> AgentProc {
        let camera_port = free_port();
        let mut a = AgentProc {
            child: spawn(cloud_port, data_dir, camera_port, extra),
            data_dir: data_dir.to_path_buf(),
            log: data_dir.with_extension("agent.log"),
            sim_log: data_dir.join("sim-log.jsonl"),
            camera_port,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            cloud_port,
        };
        a.wait_camera(Duration::from_secs(20));
        a
    }

    /// Starts the same agent again (same data dir, outbox and camera port).
    pub fn restart(&mut self) {
        self.kill9();
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        self.child = spawn(self.cloud_port, &self.data_dir, self.camera_port, &extra);
        self.wait_camera(Duration::from_secs(20));
    }

    fn wait_camera(&mut self, within: Duration) {
        let t0 = Instant::now();
        while t0.elapsed() < within {
            if http(self.camera_port, "GET", "/plate", "").is_ok() {
                return;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("agent exited ({st}); log:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("agent camera intake not up on {}; log:\n{}", self.camera_port, self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has `n` lines containing `needle` (counted over the
    /// whole log, across restarts).
    pub fn wait_log(&self, needle: &str, n: usize, within: Duration) {
        let t0 = Instant::now();
        while t0.elapsed() < within {
            if self.log_text().matches(needle).count() >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("agent log never showed '{needle}' x{n}; log:\n{}", self.log_text());
    }

    /// Connected and driving the branch's two (virtual) lane boards.
    pub fn wait_ready(&self) {
        self.wait_log("cloud link up", 1, Duration::from_secs(20));
        self.wait_log("device ready", 2, Duration::from_secs(20));
    }

    /// A plate read at a lane camera; answers the camera intake's JSON.
    pub fn plate(&self, device: &str, plate: &str) -> Value {
        let body = json!({"deviceID": device, "plateNo": plate, "time": onecard_tests::now_local()}).to_string();
        let (_, text) = http(self.camera_port, "POST", "/plate", &body).expect("camera intake");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("camera answered non-JSON ({e}): {text}"))
    }

    /// Every frame the virtual boards received so far.
    pub fn frames(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.sim_log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, as `kill -9`.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the process.
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill").arg(format!("-{sig}")).arg(self.pid().to_string()).status().expect("kill");
        assert!(st.success(), "kill -{sig} failed");
    }

    /// VmRSS of the agent from /proc, in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        // A frozen process ignores nothing but SIGKILL; thaw it anyway so the
        // kill is reaped promptly.
        let _ = Command::new("kill").arg("-CONT").arg(self.pid().to_string()).stderr(Stdio::null()).status();
        self.kill9();
    }
}

fn spawn(cloud_port: u16, data_dir: &Path, camera_port: u16, extra: &[&str]) -> Child {
    std::fs::create_dir_all(data_dir).expect("agent data dir");
    let log = std::fs::OpenOptions::new().create(true).append(true).open(data_dir.with_extension("agent.log")).expect("agent log");
    Command::new(binary("onecard-agent"))
        .env("TZ", BRANCH_TZ)
        .env("RUST_LOG", "info")
        .args(["--cloud", &format!("ws://127.0.0.1:{cloud_port}/ws")])
        .env("ONECARD_AGENT_SECRET", "demo-agent-secret")
        .args(["--branch", "1001", "--agent-id", "A1"])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--camera-listen", &format!("127.0.0.1:{camera_port}")])
        .arg("--sim")
        .arg("--sim-log")
        .arg(data_dir.join("sim-log.jsonl"))
        .args(extra)
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn onecard-agent")
}

/// A server without its own demo site, so the agent under test is the only one.
pub fn server(data_dir: &Path, port: u16) -> Server {
    Server::start_on(port, data_dir, &["--no-demo-site"])
}

/// CRC-16/Modbus over all but the last two bytes, compared with them (low byte first).
pub fn crc_ok(bytes: &[u8]) -> bool {
    if bytes.len() < 3 {
        return false;
    }
    let (body, crc) = bytes.split_at(bytes.len() - 2);
    onecard_agent::frame::crc16(body) == u16::from_le_bytes([crc[0], crc[1]])
}

pub fn hex_bytes(hex: &str) -> Vec<u8> {
    hex.split_whitespace().map(|h| u8::from_str_radix(h, 16).expect("hex byte")).collect()
}

/// Entry journal rows of the last day (every recorded entry, superseded ones too).
pub fn entry_journal(srv: &Server) -> Vec<Value> {
    let now = chrono::Utc::now() + chrono::Duration::hours(8);
    let from = (now - chrono::Duration::days(1)).format("%Y-%m-%d %H:%M:%S").to_string();
    let to = (now + chrono::Duration::hours(1)).format("%Y-%m-%d %H:%M:%S").to_string();
    let rows = srv.client().ok("park.inoutlist.info", json!({"dateType": "0", "dateStart": from, "dateEnd": to}));
    rows.as_array().cloned().unwrap_or_default()
}
