//! `onecard-agent check-config`: reads the config and device files the way
//! the agent does and lists every problem with its file and line, instead of
//! stopping at the first like a start-up would. Exit 0 when the agent would
//! start with these files (warnings allowed), 1 when it would not.

use crate::camera_auth::Cidr;
use crate::config::{self, AgentConfig, CameraFile, DeviceKind, DeviceSpec, FileConfig, Flags};
use crate::secret;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub files: super::Files,
    /// The secret file the service is given (as the unit passes it).
    #[arg(long = "secret-file")]
    pub secret_file: Option<PathBuf>,
    /// Print problems only, no summary.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.line {
            Some(l) => write!(f, "{}:{l}: {sev}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {sev}: {}", self.file.display(), self.message),
        }
    }
}

/// What the files describe, for the closing summary.
#[derive(Debug, Default)]
pub struct Summary {
    pub cloud: String,
    pub branch: String,
    pub agent_id: String,
    pub lanes: usize,
    pub doors: usize,
    pub cameras: usize,
}

pub fn run(args: &Args) -> i32 {
    let (findings, summary) = check(args, &|n| std::env::var(n).ok());
    for f in &findings {
        println!("{f}");
    }
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = findings.len() - errors;
    if !args.quiet {
        if errors == 0 {
            println!(
                "{}: OK ({warnings} warning{}): cloud {}, branch {}, agent {}, {} lane board{}, {} door{}, {} camera rule{}",
                args.files.config.display(),
                plural(warnings),
                summary.cloud,
                summary.branch,
                summary.agent_id,
                summary.lanes,
                plural(summary.lanes),
                summary.doors,
                plural(summary.doors),
                summary.cameras,
                plural(summary.cameras)
            );
        } else {
            println!("{}: {errors} error{}, {warnings} warning{}: the agent would not start", args.files.config.display(), plural(errors), plural(warnings));
        }
    }
    if errors == 0 {
        0
    } else {
        1
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Where each key sits: `(table, index, key) -> line`, for `[[camera]]`
/// and `[[device]]` by their order. Enough for hand-written files; a key it
/// cannot place is reported without a line.
#[derive(Default)]
struct KeyLines {
    keys: HashMap<(String, usize, String), usize>,
    headers: HashMap<(String, usize), usize>,
}

impl KeyLines {
    fn scan(text: &str) -> KeyLines {
        let mut kl = KeyLines::default();
        let mut counts: HashMap<String, usize> = HashMap::new();
        let (mut table, mut idx) = (String::new(), 0usize);
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if let Some(rest) = line.strip_prefix("[[") {
                table = rest.split("]]").next().unwrap_or("").trim().to_string();
                let n = counts.entry(table.clone()).or_default();
                idx = *n;
                *n += 1;
                kl.headers.insert((table.clone(), idx), i + 1);
            } else if let Some(rest) = line.strip_prefix('[') {
                table = rest.split(']').next().unwrap_or("").trim().to_string();
                idx = 0;
                kl.headers.insert((table.clone(), 0), i + 1);
            } else if let Some((k, _)) = line.split_once('=') {
                if !line.starts_with('#') {
                    let key = k.trim().trim_matches('"').to_string();
                    kl.keys.entry((table.clone(), idx, key)).or_insert(i + 1);
                }
            }
        }
        kl
    }

    fn key(&self, table: &str, idx: usize, key: &str) -> Option<usize> {
        self.keys.get(&(table.to_string(), idx, key.to_string())).copied().or_else(|| self.header(table, idx))
    }

    fn top(&self, key: &str) -> Option<usize> {
        self.keys.get(&(String::new(), 0, key.to_string())).copied()
    }

    fn header(&self, table: &str, idx: usize) -> Option<usize> {
        self.headers.get(&(table.to_string(), idx)).copied()
    }
}

struct Report {
    findings: Vec<Finding>,
}

impl Report {
    fn error(&mut self, file: &Path, line: Option<usize>, message: impl Into<String>) {
        self.findings.push(Finding { file: file.into(), line, severity: Severity::Error, message: message.into() });
    }
    fn warn(&mut self, file: &Path, line: Option<usize>, message: impl Into<String>) {
        self.findings.push(Finding { file: file.into(), line, severity: Severity::Warning, message: message.into() });
    }
}

/// A serde message for one key, shortened: "unknown field `x`, expected one
/// of ..." becomes "unknown key `x` (did you mean `y`?)".
fn key_message(key: &str, e: &toml::de::Error) -> String {
    let m = e.message().trim();
    if let Some(rest) = m.strip_prefix("unknown field `") {
        let known: Vec<&str> = rest.split_once("expected one of ").map(|(_, l)| l.split(", ").map(|s| s.trim_matches('`')).collect()).unwrap_or_default();
        let best = known.iter().map(|k| (edit_distance(key, k), *k)).min();
        return match best {
            Some((d, k)) if d <= 3 => format!("unknown key `{key}` (did you mean `{k}`?)"),
            _ => format!("unknown key `{key}`"),
        };
    }
    format!("`{key}`: {m}")
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Deserializes `T` from each key of `table` on its own, so every bad key
/// is reported, and returns the table without them. `base` holds keys a
/// one-key table needs to be valid (a device's `id`).
fn per_key<T: for<'de> Deserialize<'de>>(table: &toml::Table, base: &toml::Table, mut bad: impl FnMut(&str, String)) -> toml::Table {
    let mut good = toml::Table::new();
    for (k, v) in table {
        let mut one = base.clone();
        one.insert(k.clone(), v.clone());
        match toml::Value::Table(one).try_into::<T>() {
            Ok(_) => {
                good.insert(k.clone(), v.clone());
            }
            Err(e) => bad(k, key_message(k, &e)),
        }
    }
    good
}

/// Every problem in the files, and what they describe. `env` stands for the
/// process environment (tests pass their own).
pub fn check(args: &Args, env: &dyn Fn(&str) -> Option<String>) -> (Vec<Finding>, Summary) {
    let mut r = Report { findings: Vec::new() };
    let mut summary = Summary::default();
    let path = &args.files.config;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            r.error(path, None, format!("cannot read: {e}"));
            return (r.findings, summary);
        }
    };
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let line = e.span().map(|s| super::line_at(&text, s.start));
            r.error(path, line, format!("not valid TOML: {}", super::one_line(&e)));
            return (r.findings, summary);
        }
    };
    let kl = KeyLines::scan(&text);

    // Keys one by one; `camera` entries key by key too.
    let mut good = per_key::<FileConfig>(&table, &toml::Table::new(), |k, m| {
        if k != "camera" {
            r.error(path, kl.top(k), m)
        }
    });
    if let Some(v) = table.get("camera") {
        match v.as_array().filter(|a| a.iter().all(toml::Value::is_table)) {
            None => r.error(path, kl.top("camera"), "`camera` must be [[camera]] tables"),
            Some(cams) => {
                let mut kept = Vec::new();
                for (i, c) in cams.iter().enumerate() {
                    let t = c.as_table().cloned().unwrap_or_default();
                    let g = per_key::<CameraFile>(&t, &toml::Table::new(), |k, m| r.error(path, kl.key("camera", i, k), format!("[[camera]] #{}: {m}", i + 1)));
                    kept.push(toml::Value::Table(g));
                }
                good.insert("camera".into(), toml::Value::Array(kept));
            }
        }
    }
    let file: FileConfig = toml::Value::Table(good).try_into().unwrap_or_default();

    // Identity and the cloud.
    for (key, value) in [("cloud", &file.cloud), ("branch", &file.branch), ("agent_id", &file.agent_id)] {
        match value.as_deref().map(str::trim) {
            None | Some("") => r.error(path, kl.top(key), format!("`{key}` is required")),
            Some(_) => {}
        }
    }
    summary.cloud = file.cloud.clone().unwrap_or_default();
    summary.branch = file.branch.clone().unwrap_or_default();
    summary.agent_id = file.agent_id.clone().unwrap_or_default();
    if let Some(c) = &file.cloud {
        if let Err(e) = config::check_cloud_url(c) {
            r.error(path, kl.top("cloud"), e.to_string());
        }
    }
    if let Some(u) = &file.pictures_url {
        let lower = u.to_ascii_lowercase();
        if !lower.starts_with("https://") && !lower.starts_with("http://127.") && !lower.starts_with("http://localhost") {
            r.error(path, kl.top("pictures_url"), format!("pictures_url '{u}' must be https:// (http:// only for localhost)"));
        }
    }

    // The secret, in the agent's order: flag, key file, environment, inline.
    let private = !secret::readable_by_others(path);
    match (args.secret_file.clone().or(file.secret_file.clone()), env(secret::SECRET_ENV).filter(|v| !v.trim().is_empty()), &file.secret) {
        (Some(p), _, _) => {
            let line = if args.secret_file.is_some() { None } else { kl.top("secret_file") };
            match secret::read_file(&p) {
                Ok(_) if secret::readable_by_others(&p) => r.warn(path, line, format!("secret file {} is readable by group/others: chmod 600 it", p.display())),
                Ok(_) => {}
                Err(e) => r.error(path, line, format!("{e:#}")),
            }
        }
        (None, Some(_), _) => {}
        (None, None, Some(s)) if !s.is_empty() => {
            if !private {
                r.error(path, kl.top("secret"), "holds the agent secret but is readable by group/others: chmod 600 it, or move the secret to a secret file");
            }
        }
        _ => r.error(path, kl.top("secret_file"), format!("no agent secret: set secret_file = \"/etc/onecard-agent/agent.secret\" (or {})", secret::SECRET_ENV)),
    }

    // Paths the service resolves from its working directory (/ under systemd).
    if let Some(d) = &file.data_dir {
        if d.is_relative() {
            r.warn(path, kl.top("data_dir"), format!("data_dir '{}' is relative: under systemd it would be under /; use /var/lib/onecard-agent", d.display()));
        }
    } else {
        r.warn(path, None, "no data_dir: the outbox goes to ./agent-data; the package uses /var/lib/onecard-agent");
    }
    if let Some(tz) = &file.tz {
        if onecard_core::time::tz(tz).name() != tz {
            r.error(path, kl.top("tz"), format!("tz '{tz}' is not a known time zone (e.g. Asia/Shanghai)"));
        }
    }
    for key in ["offline_entry", "offline_exit"] {
        let v = if key == "offline_entry" { &file.offline_entry } else { &file.offline_exit };
        if let Some(v) = v {
            if !["allow", "open", "pass", "deny", "refuse", "block", "manual"].contains(&v.trim().to_ascii_lowercase().as_str()) {
                r.warn(path, kl.top(key), format!("{key} '{v}' is not allow, deny or manual: it is taken as manual"));
            }
        }
    }
    let sim = file.sim.unwrap_or(false);
    if sim {
        r.warn(path, kl.top("sim"), "sim = true: virtual boards replace every serial port; no real gate will open");
    }

    // Cameras.
    let mut camera_devices: Vec<(usize, String)> = Vec::new();
    let mut rules = Vec::new();
    for (i, cam) in file.camera.iter().enumerate() {
        let name = cam.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
        let at = |k: &str| kl.key("camera", i, k);
        let mut has_token = false;
        if let Some(p) = &cam.token_file {
            match secret::read_file(p) {
                Ok(_) => has_token = true,
                Err(e) => r.error(path, at("token_file"), format!("[[camera]] {name}: {e:#}")),
            }
        } else if let Some(var) = &cam.token_env {
            if env(var).is_some_and(|v| !v.trim().is_empty()) {
                has_token = true;
            } else {
                r.error(path, at("token_env"), format!("[[camera]] {name}: environment variable {var} is unset (the service needs it in its unit's Environment= or an EnvironmentFile=)"));
            }
        } else if cam.token.as_ref().is_some_and(|t| !t.is_empty()) {
            has_token = true;
            if !private {
                r.error(path, at("token"), format!("[[camera]] {name}: inline token in a file readable by group/others: chmod 600 it, or use token_file"));
            }
        }
        let mut allow = Vec::new();
        for a in &cam.allow {
            match Cidr::parse(a) {
                Ok(c) => allow.push(c),
                Err(e) => r.error(path, at("allow"), format!("[[camera]] {name}: allow '{a}': {e}")),
            }
        }
        if !has_token && cam.allow.is_empty() {
            r.error(path, kl.header("camera", i), format!("[[camera]] {name}: give a token (token_file, token_env or token) and/or an allow list"));
        }
        for d in &cam.devices {
            camera_devices.push((i, d.clone()));
        }
        rules.push(crate::camera_auth::CameraRule { name, token: None, allow, devices: cam.devices.clone() });
    }
    summary.cameras = rules.len();
    let listen = file.camera_listen.clone().unwrap_or_else(|| "127.0.0.1:8089".into());
    if std::net::ToSocketAddrs::to_socket_addrs(listen.as_str()).is_err() {
        r.error(path, kl.top("camera_listen"), format!("camera_listen '{listen}' is not HOST:PORT"));
    } else if let Err(e) = config::check_camera_listen(&listen, &rules) {
        r.error(path, kl.top("camera_listen"), e.to_string());
    }

    // Devices.
    let devices_path = args.files.devices.clone().or(file.devices.clone());
    let mut ids = HashSet::new();
    match &devices_path {
        None => r.warn(path, None, "no `devices` file: no serial board will be driven"),
        Some(dp) => {
            if args.files.devices.is_none() && dp.is_relative() {
                r.warn(path, kl.top("devices"), format!("devices '{}' is relative: under systemd it would be under /", dp.display()));
            }
            let specs = check_devices(dp, sim, &mut r);
            summary.lanes = specs.iter().filter(|d| d.kind == DeviceKind::Board && d.lane().is_some()).count();
            summary.doors = specs.iter().filter(|d| d.kind == DeviceKind::Door).count();
            ids = specs.into_iter().map(|d| d.id).collect();
        }
    }
    for (i, d) in camera_devices {
        if devices_path.is_some() && !ids.contains(&d) {
            r.warn(path, kl.key("camera", i, "devices"), format!("[[camera]] #{}: device '{d}' is not in the device file", i + 1));
        }
    }

    // The agent's own reading has the last word: what it refuses is an error
    // here even if a check above missed it.
    if !r.findings.iter().any(|f| f.severity == Severity::Error) {
        let flags = Flags { config: Some(path.clone()), secret_file: args.secret_file.clone(), devices: args.files.devices.clone(), ..Default::default() };
        if let Err(e) = AgentConfig::from_sources(flags, env) {
            r.error(path, None, format!("{e:#}"));
        }
    }
    // Line by line: the config's findings, then the device file's.
    let order: Vec<PathBuf> = r.findings.iter().fold(Vec::new(), |mut v, f| {
        if !v.contains(&f.file) {
            v.push(f.file.clone());
        }
        v
    });
    r.findings.sort_by_key(|f| (order.iter().position(|p| *p == f.file), f.line.unwrap_or(usize::MAX)));
    (r.findings, summary)
}

/// Checks a device file; returns the devices that read.
fn check_devices(dp: &Path, sim: bool, r: &mut Report) -> Vec<DeviceSpec> {
    let text = match std::fs::read_to_string(dp) {
        Ok(t) => t,
        Err(e) => {
            r.error(dp, None, format!("cannot read the device file: {e}"));
            return Vec::new();
        }
    };
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let line = e.span().map(|s| super::line_at(&text, s.start));
            r.error(dp, line, format!("not valid TOML: {}", super::one_line(&e)));
            return Vec::new();
        }
    };
    let kl = KeyLines::scan(&text);
    for k in table.keys().filter(|k| k.as_str() != "device") {
        r.error(dp, kl.top(k), format!("unknown key `{k}`: a device file holds [[device]] tables only"));
    }
    let Some(list) = table.get("device").and_then(toml::Value::as_array) else {
        r.warn(dp, None, "no [[device]] entries");
        return Vec::new();
    };
    let mut specs = Vec::new();
    let mut base = toml::Table::new();
    base.insert("id".into(), toml::Value::String("x".into()));
    for (i, v) in list.iter().enumerate() {
        let Some(t) = v.as_table() else {
            r.error(dp, kl.header("device", i), "`device` must be [[device]] tables");
            continue;
        };
        let at = |k: &str| kl.key("device", i, k);
        let mut bad = false;
        let good = per_key::<DeviceSpec>(t, &base, |k, m| {
            bad = true;
            r.error(dp, at(k), format!("[[device]] #{}: {m}", i + 1))
        });
        if !t.contains_key("id") {
            r.error(dp, kl.header("device", i), format!("[[device]] #{}: `id` is required", i + 1));
            continue;
        }
        let Ok(d) = toml::Value::Table(good).try_into::<DeviceSpec>() else { continue };
        let who = format!("device '{}'", d.id);
        if d.id.trim().is_empty() {
            r.error(dp, at("id"), format!("[[device]] #{}: empty id", i + 1));
        } else if specs.iter().any(|s: &DeviceSpec| s.id == d.id) {
            r.error(dp, at("id"), format!("{who} appears twice"));
        }
        if let Some(l) = &d.lane {
            if config::parse_lane(l).is_none() {
                r.error(dp, at("lane"), format!("{who}: lane '{l}' is not entry or exit"));
            } else if d.kind == DeviceKind::Door {
                r.warn(dp, at("lane"), format!("{who}: a door has no lane; `lane` is ignored"));
            }
        } else if d.kind == DeviceKind::Board {
            r.warn(dp, at("id"), format!("{who}: no lane: plates for it are refused until the cloud's controller list names it"));
        }
        if !sim {
            if d.port.trim().is_empty() {
                r.error(dp, kl.header("device", i), format!("{who}: `port` is required (e.g. /dev/serial/by-id/...)"));
            } else if !Path::new(&d.port).exists() {
                r.warn(dp, at("port"), format!("{who}: port {} is not present now (adapter unplugged? see `onecard-agent ports`)", d.port));
            } else if d.port.starts_with("/dev/ttyUSB") || d.port.starts_with("/dev/ttyACM") {
                r.warn(dp, at("port"), format!("{who}: {} may change name when adapters are replugged; use /dev/serial/by-id/... or a udev name", d.port));
            }
            if d.silent {
                r.warn(dp, at("silent"), format!("{who}: `silent` only matters with sim"));
            }
        }
        if ![1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200].contains(&d.baud) {
            r.warn(dp, at("baud"), format!("{who}: baud {} is unusual for these boards (9600 is the default)", d.baud));
        }
        if !bad {
            for s in specs.iter().filter(|s: &&DeviceSpec| !s.port.is_empty() && s.port == d.port) {
                if s.baud != d.baud {
                    r.error(dp, at("baud"), format!("{who} shares {} with device '{}' at another baud ({} vs {}): one line has one speed", d.port, s.id, d.baud, s.baud));
                }
                if s.address == d.address {
                    r.error(dp, at("address"), format!("{who} and device '{}' are both address {} on {}: give each board on a line its own address", s.id, d.address, d.port));
                }
            }
        }
        specs.push(d);
    }
    specs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lines_find_keys_by_table_and_index() {
        let kl = KeyLines::scan("cloud = \"x\"\n# c = 1\n[[camera]]\nname = \"a\"\n[[camera]]\ntoken = \"t\"\n");
        assert_eq!(kl.top("cloud"), Some(1));
        assert_eq!(kl.top("c"), None);
        assert_eq!(kl.key("camera", 1, "token"), Some(6));
        assert_eq!(kl.key("camera", 1, "missing"), Some(5), "falls back to the header");
    }

    #[test]
    fn unknown_keys_suggest_the_nearest() {
        let e = toml::Value::Table(toml::toml! { clod = "x" }).try_into::<FileConfig>().unwrap_err();
        assert_eq!(key_message("clod", &e), "unknown key `clod` (did you mean `cloud`?)");
        let e = toml::Value::Table(toml::toml! { zzzzzzzzzz = 1 }).try_into::<FileConfig>().unwrap_err();
        assert_eq!(key_message("zzzzzzzzzz", &e), "unknown key `zzzzzzzzzz`");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
