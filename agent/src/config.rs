//! Agent settings: a TOML file (`--config`) overridden by flags, and the device
//! file mapping device ids to serial ports and lanes. Secrets follow the policy
//! in `secret`: never a flag.

use crate::camera_auth::{Cidr, CameraRule};
use crate::secret::{self, Secret};
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
    /// Cloud WebSocket URL: wss://HOST/PATH (ws:// only for localhost).
    #[arg(long)]
    pub cloud: Option<String>,
    #[arg(long)]
    pub branch: Option<String>,
    #[arg(long = "agent-id")]
    pub agent_id: Option<String>,
    /// File holding the agent's link secret (first line). Or set
    /// ONECARD_AGENT_SECRET. There is deliberately no --secret flag: a
    /// process's arguments are readable by every local user.
    #[arg(long = "secret-file")]
    pub secret_file: Option<PathBuf>,
    /// Device file (TOML) mapping device ids to serial ports and lanes.
    #[arg(long)]
    pub devices: Option<PathBuf>,
    #[arg(long = "data-dir")]
    pub data_dir: Option<PathBuf>,
    /// Where cameras POST plates (default 127.0.0.1:8089). Listening beyond
    /// loopback needs `[[camera]]` entries in the config file.
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
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Maintenance commands (without one, the agent runs).
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    /// Lists the records the cloud refused for good; `--requeue ID` sends
    /// one again (stop the agent first: the outbox is locked while it runs).
    DeadLetters {
        #[arg(long = "data-dir")]
        data_dir: PathBuf,
        #[arg(long)]
        requeue: Option<String>,
    },
    /// Checks the config and device files; lists every problem by line.
    CheckConfig(crate::cli::check_config::Args),
    /// Lists the serial ports with their USB ids and stable names.
    Ports(crate::cli::ports::Args),
    /// Sends each configured board a harmless frame; prints who answers.
    Probe(crate::cli::probe::Args),
    /// Link state, last contact, outbox depth and dead letters.
    Status(crate::cli::status::Args),
}

/// The TOML file's keys (same names as the flags, with underscores).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub cloud: Option<String>,
    pub branch: Option<String>,
    pub agent_id: Option<String>,
    /// Inline secret: accepted only when the config file is private (mode 600).
    pub secret: Option<Secret>,
    pub secret_file: Option<PathBuf>,
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
    /// Where pictures are PUT when the HTTP API is not on the cloud URL's host
    /// (default: the cloud URL with ws→http, wss→https).
    pub pictures_url: Option<String>,
    /// Cameras allowed to post plates.
    #[serde(default)]
    pub camera: Vec<CameraFile>,
}

/// One `[[camera]]` of the config file: a token (inline, `token_file` or
/// `token_env`), an address allowlist, or both.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct CameraFile {
    pub name: Option<String>,
    pub token: Option<Secret>,
    pub token_file: Option<PathBuf>,
    pub token_env: Option<String>,
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub devices: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct AgentConfig {
    pub cloud: String,
    pub branch: String,
    pub agent_id: String,
    pub secret: Secret,
    pub devices: Vec<DeviceSpec>,
    /// True when the device list came from a file (not from the cloud's controllers).
    pub devices_from_file: bool,
    pub data_dir: PathBuf,
    pub camera_listen: String,
    /// Who may post plates; empty means loopback only.
    pub cameras: Vec<CameraRule>,
    /// Override of the picture upload base (`https://HOST[:PORT]`).
    pub pictures_url: Option<String>,
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
            cameras: Vec::new(),
            pictures_url: None,
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
        Self::from_sources(flags, &|name| std::env::var(name).ok())
    }

    /// `from_flags` with the environment passed in, so tests need not touch
    /// the process's (shared) environment.
    pub fn from_sources(flags: Flags, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<AgentConfig> {
        let env_secret = |name: &str| env(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).map(Secret::new);
        let (file, file_private): (FileConfig, bool) = match &flags.config {
            Some(p) => {
                let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
                let f = toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?;
                (f, !secret::readable_by_others(p))
            }
            None => (FileConfig::default(), true),
        };
        let config_name = flags.config.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        let inline_ok = |what: &str| -> anyhow::Result<()> {
            if file_private {
                Ok(())
            } else {
                bail!("{config_name} holds {what} but is readable by group/others: chmod 600 it, or use a secret file / the environment")
            }
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
        check_cloud_url(&cloud)?;
        // Most explicit first: the flag, the environment, then the file's keys.
        let secret = match (flags.secret_file.or(file.secret_file), env_secret(secret::SECRET_ENV), file.secret) {
            (Some(p), _, _) => secret::read_file(&p)?,
            (None, Some(s), _) => s,
            (None, None, Some(s)) if !s.is_empty() => {
                inline_ok("the agent secret")?;
                s
            }
            _ => bail!("the agent secret is required: --secret-file FILE, secret_file in the config, or {}", secret::SECRET_ENV),
        };
        let data_dir = flags.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("agent-data"));
        let mut c = AgentConfig::new(&cloud, &branch, &agent_id, "", &data_dir);
        c.secret = secret;
        for (i, cam) in file.camera.into_iter().enumerate() {
            let name = cam.name.clone().unwrap_or_else(|| format!("camera {}", i + 1));
            let token = match (&cam.token_file, &cam.token_env, cam.token) {
                (Some(p), _, _) => Some(secret::read_file(p)?),
                (None, Some(var), _) => Some(env_secret(var).with_context(|| format!("[[camera]] {name}: environment variable {var} is unset"))?),
                (None, None, Some(t)) if !t.is_empty() => {
                    inline_ok("a camera token")?;
                    Some(t)
                }
                _ => None,
            };
            let allow = cam.allow.iter().map(|a| Cidr::parse(a)).collect::<Result<Vec<_>, _>>().map_err(|e| anyhow::anyhow!("[[camera]] {name}: allow: {e}"))?;
            if token.is_none() && allow.is_empty() {
                bail!("[[camera]] {name}: give a token (token_file, token_env or token) and/or an allow list");
            }
            c.cameras.push(CameraRule { name, token, allow, devices: cam.devices });
        }
        if let Some(p) = flags.devices.or(file.devices) {
            c.devices = load_devices(&p)?;
            c.devices_from_file = true;
        }
        if let Some(a) = flags.camera_listen.or(file.camera_listen) {
            c.camera_listen = a;
        }
        check_camera_listen(&c.camera_listen, &c.cameras)?;
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
        if let Some(u) = file.pictures_url {
            crate::http::Base::from_http_url(&u)?;
            c.pictures_url = Some(u);
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

/// The host of a `ws://` / `wss://` URL (brackets stripped from IPv6).
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split_once(']').map(|(h, _)| h);
    }
    Some(authority.split(':').next().unwrap_or(authority))
}

fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The link carries the secret's signature and every record; off this machine
/// it must be encrypted.
pub fn check_cloud_url(url: &str) -> anyhow::Result<()> {
    let lower = url.trim().to_ascii_lowercase();
    let host = url_host(url.trim()).filter(|h| !h.is_empty());
    let Some(host) = host else { bail!("cloud URL '{url}' has no host (want wss://HOST/PATH)") };
    if lower.starts_with("wss://") {
        return Ok(());
    }
    if lower.starts_with("ws://") {
        if is_loopback_host(host) {
            return Ok(());
        }
        bail!("cloud URL '{url}' is plain ws:// to {host}: use wss:// (ws:// is allowed only for localhost)");
    }
    bail!("cloud URL '{url}' must start with wss:// (or ws:// for localhost)")
}

/// A camera port reachable from the network must say who may use it.
pub fn check_camera_listen(listen: &str, cameras: &[CameraRule]) -> anyhow::Result<()> {
    let host = match listen.rsplit_once(':') {
        Some((h, _)) => h.trim_start_matches('[').trim_end_matches(']'),
        None => listen,
    };
    if cameras.is_empty() && !is_loopback_host(host) {
        bail!("camera_listen {listen} is reachable from the network but no [[camera]] is configured: add [[camera]] entries with a token and/or an allow list");
    }
    Ok(())
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
        private(&cfg, "cloud = \"ws://localhost/ws\"\nbranch = \"1001\"\nagent_id = \"A1\"\nsecret = \"s\"\nheartbeat_secs = 7\n");
        let flags = Flags { config: Some(cfg), branch: Some("1002".into()), ..Default::default() };
        let c = AgentConfig::from_sources(flags, &no_env).unwrap();
        assert_eq!(c.branch, "1002");
        assert_eq!(c.agent_id, "A1");
        assert_eq!(c.heartbeat, Duration::from_secs(7));
        assert!(AgentConfig::from_flags(Flags::default()).is_err());
    }

    fn private(p: &Path, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(p, text).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn debug_output_never_shows_the_secret_or_camera_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("agent.toml");
        private(&cfg, "cloud = \"ws://127.0.0.1:1/ws\"\nbranch = \"1001\"\nagent_id = \"A1\"\nsecret = \"s3cr3t-value\"\n[[camera]]\ntoken = \"cam-t0ken\"\n");
        let c = AgentConfig::from_sources(Flags { config: Some(cfg), ..Default::default() }, &no_env).unwrap();
        assert_eq!(c.secret.expose(), "s3cr3t-value");
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(!shown.contains("cam-t0ken"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn secret_comes_from_file_then_env_then_private_config() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("agent.toml");
        let base = "cloud = \"ws://localhost:1/ws\"\nbranch = \"1001\"\nagent_id = \"A1\"\n";
        private(&cfg, base);
        let flags = || Flags { config: Some(cfg.clone()), ..Default::default() };
        let err = AgentConfig::from_sources(flags(), &no_env).unwrap_err().to_string();
        assert!(err.contains("ONECARD_AGENT_SECRET"), "{err}");
        let env = |n: &str| (n == secret::SECRET_ENV).then(|| "from-env".to_string());
        assert_eq!(AgentConfig::from_sources(flags(), &env).unwrap().secret.expose(), "from-env");
        let sf = dir.path().join("secret");
        std::fs::write(&sf, "from-file\n").unwrap();
        let with_file = Flags { secret_file: Some(sf), ..flags() };
        assert_eq!(AgentConfig::from_sources(with_file, &env).unwrap().secret.expose(), "from-file");
        private(&cfg, &format!("{base}secret = \"inline\"\n"));
        assert_eq!(AgentConfig::from_sources(flags(), &no_env).unwrap().secret.expose(), "inline");
    }

    #[test]
    fn inline_secret_in_a_world_readable_config_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("agent.toml");
        std::fs::write(&cfg, "cloud = \"ws://127.0.0.1:1/ws\"\nbranch = \"1001\"\nagent_id = \"A1\"\nsecret = \"s\"\n").unwrap();
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = AgentConfig::from_sources(Flags { config: Some(cfg), ..Default::default() }, &no_env).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn shipped_config_reads_with_the_secret_from_the_environment() {
        let f: FileConfig = toml::from_str(include_str!("../conf/agent.toml")).unwrap();
        assert!(f.secret.is_none(), "no secret in a file that is copied around");
        assert_eq!(f.camera_listen.as_deref(), Some("127.0.0.1:8089"));
        check_cloud_url(f.cloud.as_deref().unwrap()).unwrap();
    }

    #[test]
    fn plain_ws_is_refused_off_localhost() {
        for ok in ["wss://abc.execute-api.ap-east-1.amazonaws.com/prod", "ws://127.0.0.1:8080/ws", "ws://localhost/ws", "ws://[::1]:80/ws", "WSS://X/y"] {
            assert!(check_cloud_url(ok).is_ok(), "{ok}");
        }
        for bad in ["ws://10.0.0.5:8080/ws", "ws://cloud.example.com/ws", "ws://localhost.evil.com/ws", "http://127.0.0.1/ws", "wss://", "ws://user@example.com/ws"] {
            assert!(check_cloud_url(bad).is_err(), "{bad}");
        }
        let err = check_cloud_url("ws://cloud.example.com/ws").unwrap_err().to_string();
        assert!(err.contains("wss://"), "{err}");
    }

    #[test]
    fn cameras_are_read_and_network_listen_needs_them() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("agent.toml");
        let tf = dir.path().join("cam.token");
        std::fs::write(&tf, "tok-file\n").unwrap();
        let base = "cloud = \"ws://127.0.0.1:1/ws\"\nbranch = \"1001\"\nagent_id = \"A1\"\n";
        let env = |n: &str| match n {
            "ONECARD_AGENT_SECRET" => Some("s".to_string()),
            "CAM2" => Some("tok-env".to_string()),
            _ => None,
        };
        private(
            &cfg,
            &format!("{base}camera_listen = \"0.0.0.0:8089\"\n[[camera]]\nname = \"in\"\ntoken_file = \"{}\"\nallow = [\"192.168.1.0/24\"]\ndevices = [\"1\"]\n[[camera]]\ntoken_env = \"CAM2\"\n", tf.display()),
        );
        let c = AgentConfig::from_sources(Flags { config: Some(cfg.clone()), ..Default::default() }, &env).unwrap();
        assert_eq!(c.cameras.len(), 2);
        assert!(c.cameras[0].token.as_ref().unwrap().matches("tok-file"));
        assert_eq!(c.cameras[0].devices, vec!["1"]);
        assert!(c.cameras[1].token.as_ref().unwrap().matches("tok-env"));
        assert_eq!(c.camera_listen, "0.0.0.0:8089");

        private(&cfg, &format!("{base}camera_listen = \"0.0.0.0:8089\"\n"));
        let err = AgentConfig::from_sources(Flags { config: Some(cfg.clone()), ..Default::default() }, &env).unwrap_err().to_string();
        assert!(err.contains("[[camera]]"), "{err}");
        private(&cfg, &format!("{base}[[camera]]\nname = \"x\"\n"));
        assert!(AgentConfig::from_sources(Flags { config: Some(cfg.clone()), ..Default::default() }, &env).is_err(), "a camera with neither token nor allow");
        private(&cfg, &format!("{base}[[camera]]\nallow = [\"not-an-ip\"]\n"));
        assert!(AgentConfig::from_sources(Flags { config: Some(cfg.clone()), ..Default::default() }, &env).is_err());
        // The default listen address is loopback, never every interface.
        private(&cfg, base);
        assert_eq!(AgentConfig::from_sources(Flags { config: Some(cfg), ..Default::default() }, &env).unwrap().camera_listen, "127.0.0.1:8089");
    }
}
