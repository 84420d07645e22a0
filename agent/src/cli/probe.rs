//! `onecard-agent probe`: sends each configured board a harmless frame (a
//! clock set to the agent's time, 0x05, which every board acknowledges and
//! which changes nothing a driver sees) a few times, like ping, and prints
//! which boards answer and how fast. Exit 0 when every board answered every
//! probe, 1 when one is silent, flaky or its port fails, 2 when there is
//! nothing to probe.
//!
//! Stop the agent first (`systemctl stop onecard-agent`): it holds the ports
//! exclusively, and a probe would report "port busy".

use crate::config::{load_devices, DeviceKind, DeviceSpec};
use crate::devices::{time_sync_payload, Device, Devices};
use crate::serial_driver::DeviceError;
use crate::sim::SimLog;
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub files: super::Files,
    /// Only these device ids (repeatable).
    #[arg(long = "device")]
    pub only: Vec<String>,
    /// Probes per board.
    #[arg(long, default_value_t = 3)]
    pub count: u32,
    /// How long to wait for each answer.
    #[arg(long = "timeout-ms", default_value_t = 300)]
    pub timeout_ms: u64,
    /// Probe virtual boards instead of the serial ports (a dry run of the
    /// device file; `silent = true` boards never answer).
    #[arg(long)]
    pub sim: bool,
    /// With --sim: this device's virtual board never answers (repeatable).
    #[arg(long = "sim-silent")]
    pub sim_silent: Vec<String>,
    /// One JSON object per board instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every probe answered.
    Answers,
    /// Some probes answered: loose wiring, noise, a wrong termination.
    Flaky,
    /// None answered: power, wiring, address or baud.
    Silent,
    /// The port could not be used (missing, busy, no permission).
    PortError,
}

#[derive(Clone, Debug, Serialize)]
pub struct BoardResult {
    pub device: String,
    pub kind: &'static str,
    pub port: String,
    pub address: u8,
    pub baud: u32,
    pub verdict: Verdict,
    pub answered: u32,
    pub sent: u32,
    pub rtt_min_ms: Option<f64>,
    pub rtt_avg_ms: Option<f64>,
    pub rtt_max_ms: Option<f64>,
    /// The board answered with a non-zero ACK: alive, but it did not take
    /// the clock frame (some door relay boards know only the relay command).
    pub refused_ack: Option<u8>,
    pub error: Option<String>,
}

pub async fn run(args: &Args) -> i32 {
    let path = match super::devices_path(args.files.devices.clone(), &args.files.config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("probe: {e:#}");
            return 2;
        }
    };
    let mut specs = match load_devices(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("probe: {e:#} (run `onecard-agent check-config`)");
            return 2;
        }
    };
    if !args.only.is_empty() {
        for id in &args.only {
            if !specs.iter().any(|d| &d.id == id) {
                eprintln!("probe: no device '{id}' in {}", path.display());
                return 2;
            }
        }
        specs.retain(|d| args.only.contains(&d.id));
    }
    if specs.is_empty() {
        eprintln!("probe: {} lists no devices", path.display());
        return 2;
    }
    if let Ok(f) = super::read_file_config(&args.files.config) {
        if let Some(tz) = f.tz {
            crate::set_timezone(&tz);
        }
    }
    let results = match probe_all(specs, args).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("probe: {e:#}");
            return 2;
        }
    };
    if args.json {
        for r in &results {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
        }
    } else {
        print_table(&results);
    }
    if results.iter().all(|r| r.verdict == Verdict::Answers) {
        0
    } else {
        1
    }
}

/// Probes every board; boards on different lines at once, boards sharing a
/// line one after another (their driver serializes them).
pub async fn probe_all(specs: Vec<DeviceSpec>, args: &Args) -> anyhow::Result<Vec<BoardResult>> {
    let sim = if args.sim { Some(SimLog::open(None)?) } else { None };
    // One try per probe: the loss rate is the point, the driver's retries
    // would hide it.
    let devices = Devices::new(sim, args.sim_silent.clone(), 1, Duration::from_millis(args.timeout_ms.max(10)));
    // The file's port names, kept for the report: with --sim the driver's
    // are pseudo-terminals.
    let mut boards = Vec::new();
    for s in &specs {
        devices.add(s.clone())?;
        boards.extend(devices.get(&s.id).map(|d| (d, s.port.clone())));
    }
    let count = args.count.max(1);
    let jobs = boards.into_iter().map(|(dev, port)| probe_one(dev, port, count));
    Ok(futures::future::join_all(jobs).await)
}

async fn probe_one(dev: Device, shown_port: String, count: u32) -> BoardResult {
    let mut rtts = Vec::new();
    let mut refused_ack = None;
    let mut error = None;
    for _ in 0..count {
        let frame = time_sync_payload(&crate::now_text());
        let t = Instant::now();
        match dev.board.send(&frame).await {
            Ok(()) => rtts.push(t.elapsed()),
            Err(DeviceError::Refused(a)) => {
                rtts.push(t.elapsed());
                refused_ack = Some(a);
            }
            Err(DeviceError::Silent(_)) => {}
            Err(DeviceError::Io(e)) => {
                error = Some(port_hint(&e));
                break;
            }
        }
    }
    let answered = rtts.len() as u32;
    let verdict = if error.is_some() {
        Verdict::PortError
    } else if answered == count {
        Verdict::Answers
    } else if answered > 0 {
        Verdict::Flaky
    } else {
        Verdict::Silent
    };
    let ms = |d: &Duration| (d.as_secs_f64() * 10_000.0).round() / 10.0;
    let s = &dev.spec;
    BoardResult {
        device: s.id.clone(),
        kind: if s.kind == DeviceKind::Door { "door" } else { "board" },
        port: if shown_port.is_empty() { s.port.clone() } else { shown_port },
        address: s.address,
        baud: s.baud,
        verdict,
        answered,
        sent: if error.is_some() { 0 } else { count },
        rtt_min_ms: rtts.iter().min().map(ms),
        rtt_avg_ms: (!rtts.is_empty()).then(|| ms(&(rtts.iter().sum::<Duration>() / answered))),
        rtt_max_ms: rtts.iter().max().map(ms),
        refused_ack,
        error,
    }
}

fn port_hint(e: &str) -> String {
    let lower = e.to_ascii_lowercase();
    if lower.contains("busy") || lower.contains("resource temporarily unavailable") {
        format!("{e} (port busy: stop the agent first, systemctl stop onecard-agent)")
    } else if lower.contains("permission denied") {
        format!("{e} (no permission: run as root, or as a member of the dialout group)")
    } else if lower.contains("no such file") {
        format!("{e} (no such port: see `onecard-agent ports`)")
    } else {
        e.to_string()
    }
}

fn print_table(results: &[BoardResult]) {
    println!("{:<10} {:<6} {:<28} {:>4} {:>6}  {:<8} {:>5}  RTT min/avg/max", "DEVICE", "KIND", "PORT", "ADDR", "BAUD", "RESULT", "RECV");
    for r in results {
        let verdict = match r.verdict {
            Verdict::Answers => "answers",
            Verdict::Flaky => "FLAKY",
            Verdict::Silent => "SILENT",
            Verdict::PortError => "PORT",
        };
        let rtt = match (r.rtt_min_ms, r.rtt_avg_ms, r.rtt_max_ms) {
            (Some(a), Some(b), Some(c)) => format!("{a:.1}/{b:.1}/{c:.1} ms"),
            _ => "-".into(),
        };
        let mut note = String::new();
        if let Some(a) = r.refused_ack {
            note = format!("  (alive; refused the clock frame with ACK {a})");
        }
        if let Some(e) = &r.error {
            note = format!("  {e}");
        }
        if r.verdict == Verdict::Silent {
            note = "  no answer: check power, A/B wiring, address and baud".into();
        }
        println!("{:<10} {:<6} {:<28} {:>4} {:>6}  {:<8} {:>2}/{:<2}  {rtt}{note}", r.device, r.kind, r.port, r.address, r.baud, verdict, r.answered, r.sent);
    }
}
