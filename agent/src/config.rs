//! Agent settings: a TOML file (`--config`) overridden by flags, and the device
//! file mapping device ids to serial ports and lanes.

use anyhow::{bail, Context};
use clap::Parser;
use onecard_core::config::Lane;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Parser, Debug, Default, Clone)]
#[command(name = "onecard-agent", about = "OneCard on-site agent")]
pub struct Flags {
    /// TOML file with the settings below (flags win over it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Cloud WebSocket URL, e.g. ws://127.0.0.1:8080/ws
    #[arg(long)]
    pub cloud: Option<String>,
    #[arg(long)]
    pub branch: Option<String>,
    #[arg(long = "agent-id")]
    pub agent_id: Option<String>,
    #[arg(long)]
    pub secret: Option<String>,
    /// Device file (TOML) mapping device ids to serial ports and lanes.
    #[arg(long)]
    pub devices: Option<PathBuf>,
    #[arg(long = "data-dir")]
    pub data_dir: Option<PathBuf>,
    /// Where cameras POST plates, e.g. 0.0.0.0:8089
    #[arg(long = "camera-listen")]
    pub camera_listen: Option<String>,
    /// Replace serial ports with virtual boards on pseudo-terminals.
    #[arg(long)]
    pub sim: bool,
    /// JSON-lines log of every frame the virtual boards receive.
    #[arg(long = "sim-log")]
    pub sim_log: Option<PathBuf>,
    /// Device id of a virtual board that never answers (repeatable).
    #[arg(long = "sim-silent")]
    pub sim_silent: Vec<String>,
    /// Run the agent's clock this many seconds off real time (tests of
    /// offline rules and timestamps without waiting).
    #[arg(long = "clock-offset-secs", default_value_t = 0, allow_hyphen_values = true)]
    pub clock_offset_secs: i64,
}

/// The TOML file's keys (same names as the flags, with underscores).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub cloud: Option<String>,
    pub branch: Option<String>,
    pub agent_id: Option<String>,
    pub secret: Option<String>,
    pub devices: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub camera_listen: Option<String>,
    pub sim: Option<bool>,
    pub sim_log: Option<PathBuf>,
    #[serde(default)]
    pub sim_silent: Vec<String>,
    pub heartbeat_secs: Option<u64>,
    /// The branch's time zone (IANA name), default Asia/Shanghai.
    pub tz: Option<String>,
    pub planned_reconnect_secs: Option<u64>,
    pub decision_timeout_ms: Option<u64>,
    pub backoff_base_ms: Option<u64>,
    pub backoff_cap_secs: Option<u64>,
    pub offline_entry: Option<String>,
    pub offline_exit: Option<String>,
    pub outbox_max_records: Option<usize>,
    pub outbox_max_bytes: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct AgentConfig {
    pub cloud: String,
    pub branch: String,
    pub agent_id: String,
    pub secret: String,
    pub devices: Vec<DeviceSpec>,
    /// True when the device list came from a file (not from the cloud's controllers).
    pub devices_from_file: bool,
    pub data_dir: PathBuf,
    pub camera_listen: String,
    pub sim: bool,
    pub sim_log: Option<PathBuf>,
    pub sim_silent: Vec<String>,
    pub tz: String,
    pub heartbeat: Duration,
    pub planned_reconnect: Duration,
    pub decision_timeout: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Local policy used until the cloud sends one.
    pub offline_entry: String,
    pub offline_exit: String,
    pub outbox_max_records: usize,
    pub outbox_max_bytes: u64,
    /// Reply window and tries per board frame.
    pub board_tries: u32,
    pub board_reply_window: Duration,
}

impl AgentConfig {
    /// Settings for tests and embedding: everything defaulted but the identity.
    pub fn new(cloud: &str, branch: &str, agent_id: &str, secret: &str, data_dir: &Path) -> AgentConfig {
        use onecard_core::link;
        AgentConfig {
            cloud: cloud.into(),
            branch: branch.into(),
            agent_id: agent_id.into(),
            secret: secret.into(),
            devices: Vec::new(),
            devices_from_file: false,
            data_dir: data_dir.into(),
            camera_listen: "127.0.0.1:8089".into(),
            sim: false,
            sim_log: None,
            sim_silent: Vec::new(),
            tz: onecard_core::time::DEFAULT_TZ.into(),
            heartbeat: link::HEARTBEAT_INTERVAL,
            planned_reconnect: link::PLANNED_RECONNECT_AFTER,
            decision_timeout: link::DECISION_TIMEOUT,
            backoff_base: Duration::from_secs(1),
            backoff_cap: link::BACKOFF_CAP,
            offline_entry: "allow".into(),
            offline_exit: "manual".into(),
            outbox_max_records: 100_000,
            outbox_max_bytes: 64 << 20,
            board_tries: 3,
            board_reply_window: Duration::from_millis(300),
        }
    }

    pub fn from_flags(flags: Flags) -> anyhow::Result<AgentConfig> {
        let file: FileConfig = match &flags.config {
            Some(p) => {
                let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?
            }
            None => FileConfig::default(),
        };
        let need = |flag: Option<String>, file: Option<String>, name: &str| -> anyhow::Result<String> {
            match flag.or(file) {
                Some(v) if !v.trim().is_empty() => Ok(v),
                _ => bail!("--{name} is required (flag or config file)"),
            }
        };
        let cloud = need(flags.cloud, file.cloud, "cloud")?;
        let branch = need(flags.branch, file.branch, "branch")?;
        let agent_id = need(flags.agent_id, file.agent_id, "agent-id")?;
        let secret = need(flags.secret, file.secret, "secret")?;
        let data_dir = flags.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("agent-data"));
        let mut c = AgentConfig::new(&cloud, &branch, &agent_id, &secret, &data_dir);
        if let Some(p) = flags.devices.or(file.devices) {
            c.devices = load_devices(&p)?;
            c.devices_from_file = true;
        }
        if let Some(a) = flags.camera_listen.or(file.camera_listen) {
            c.camera_listen = a;
        }
        c.sim = flags.sim || file.sim.unwrap_or(false);
        c.sim_log = flags.sim_log.or(file.sim_log);
        c.sim_silent = if flags.sim_silent.is_empty() { file.sim_silent } else { flags.sim_silent };
        if let Some(tz) = file.tz {
            c.tz = tz;
        }
        if let Some(s) = file.heartbeat_secs {
            c.heartbeat = Duration::from_secs(s.max(1));
        }
        if let Some(s) = file.planned_reconnect_secs {
            c.planned_reconnect = Duration::from_secs(s.max(10));
        }
        if let Some(ms) = file.decision_timeout_ms {
            c.decision_timeout = Duration::from_millis(ms.max(100));
        }
        if let Some(ms) = file.backoff_base_ms {
            c.backoff_base = Duration::from_millis(ms.max(10));
        }
        if let Some(s) = file.backoff_cap_secs {
            c.backoff_cap = Duration::from_secs(s.clamp(1, 30));
        }
        if let Some(p) = file.offline_entry {
            c.offline_entry = p;
        }
        if let Some(p) = file.offline_exit {
            c.offline_exit = p;
        }
        if let Some(n) = file.outbox_max_records {
            c.outbox_max_records = n.max(1);
        }
        if let Some(n) = file.outbox_max_bytes {
            c.outbox_max_bytes = n.max(4096);
        }
        Ok(c)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// LED/voice display with the gate relay.
    #[default]
    Board,
    Door,
}

/// One `[[device]]` of the device file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    pub id: String,
    #[serde(default)]
    pub kind: DeviceKind,
    /// Serial port path; ignored with --sim.
    #[serde(default)]
    pub port: String,
    #[serde(default = "default_baud")]
    pub baud: u32,
    #[serde(default)]
    pub address: u8,
    #[serde(default, rename = "controllerNo", alias = "controller_no")]
    pub controller_no: String,
    #[serde(default)]
    pub name: String,
    /// `entry` or `exit` (also `in`/`out`); doors have none.
    #[serde(default)]
    pub lane: Option<String>,
    #[serde(default = "default_area")]
    pub area: String,
    /// Simulator only: the virtual board never answers.
    #[serde(default)]
    pub silent: bool,
}

fn default_baud() -> u32 {
    9600
}
fn default_area() -> String {
    "1".into()
}

impl DeviceSpec {
    pub fn lane(&self) -> Option<Lane> {
        parse_lane(self.lane.as_deref()?)
    }
}

pub fn parse_lane(s: &str) -> Option<Lane> {
    match s.trim().to_ascii_lowercase().as_str() {
        "entry" | "in" | "0" | "enter" => Some(Lane::In),
        "exit" | "out" | "1" => Some(Lane::Out),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceFile {
    #[serde(default)]
    device: Vec<DeviceSpec>,
}

pub fn parse_devices(text: &str) -> anyhow::Result<Vec<DeviceSpec>> {
    let f: DeviceFile = toml::from_str(text)?;
    let mut seen = std::collections::HashSet::new();
    for d in &f.device {
        if d.id.trim().is_empty() {
            bail!("a device has an empty id");
        }
        if !seen.insert(d.id.clone()) {
            bail!("device id '{}' appears twice", d.id);
        }
        if let Some(l) = &d.lane {
            if parse_lane(l).is_none() {
                bail!("device '{}': lane '{l}' is not entry or exit", d.id);
            }
        }
    }
    Ok(f.device)
}

pub fn load_devices(p: &Path) -> anyhow::Result<Vec<DeviceSpec>> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    parse_devices(&text).with_context(|| format!("parsing {}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_file() {
        let d = parse_devices(
            r#"
[[device]]
id = "1"
port = "/dev/ttyUSB0"
baud = 19200
address = 2
controllerNo = "C0000001"
name = "入口1"
lane = "entry"

[[device]]
id = "door1"
kind = "door"
port = "/dev/ttyUSB1"
silent = true
"#,
        )
        .unwrap();
        assert_eq!(d[0].lane(), Some(Lane::In));
        assert_eq!(d[0].baud, 19200);
        assert_eq!(d[1].kind, DeviceKind::Door);
        assert_eq!(d[1].baud, 9600);
        assert!(d[1].silent);
        assert!(parse_devices("[[device]]\nid=\"1\"\n[[device]]\nid=\"1\"\n").is_err());
        assert!(parse_devices("[[device]]\nid=\"1\"\nlane=\"sideways\"\n").is_err());
        assert!(parse_devices("garbage = [").is_err());
    }

    #[test]
    fn flags_override_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("agent.toml");
        std::fs::write(&cfg, "cloud = \"ws://x\"\nbranch = \"1001\"\nagent_id = \"A1\"\nsecret = \"s\"\nheartbeat_secs = 7\n").unwrap();
        let flags = Flags { config: Some(cfg), branch: Some("1002".into()), ..Default::default() };
        let c = AgentConfig::from_flags(flags).unwrap();
        assert_eq!(c.branch, "1002");
        assert_eq!(c.agent_id, "A1");
        assert_eq!(c.heartbeat, Duration::from_secs(7));
        assert!(AgentConfig::from_flags(Flags::default()).is_err());
    }
}
