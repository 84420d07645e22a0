//! `onecard-agent status`: what the running agent last said about itself
//! (`status.json`), what waits in its outbox and its dead letters, read
//! without disturbing it.
//!
//! Exit codes: 0 running, linked, nothing refused; 1 running but the cloud
//! link is down (records queue in the outbox); 2 the agent is not running (no
//! fresh status); 3 running and linked but dead letters wait for a person;
//! 4 the data dir cannot be read.

use super::DEFAULT_CONFIG;
use crate::outbox::{self, Entry};
use crate::service::{self, Health};
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[arg(long, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// The agent's data dir (default: the config's `data_dir`).
    #[arg(long = "data-dir")]
    pub data_dir: Option<PathBuf>,
    /// One JSON object instead of the text.
    #[arg(long)]
    pub json: bool,
}

pub const OK: i32 = 0;
pub const LINK_DOWN: i32 = 1;
pub const NOT_RUNNING: i32 = 2;
pub const DEAD_LETTERS: i32 = 3;
pub const UNREADABLE: i32 = 4;

#[derive(Debug, Serialize)]
pub struct Report {
    pub running: bool,
    pub health: Option<Health>,
    /// Seconds since the agent last wrote its status.
    pub status_age_secs: Option<u64>,
    pub outbox_pending: usize,
    pub oldest: Option<Oldest>,
    pub dead_letters: usize,
    pub last_dead_letter: Option<Value>,
    pub exit_code: i32,
}

#[derive(Debug, Serialize)]
pub struct Oldest {
    pub id: String,
    pub route: String,
    /// The record's own time (entry, exit, event), if it has one.
    pub time: Option<String>,
    pub plate: Option<String>,
}

fn record_time(e: &Entry) -> Option<String> {
    ["time", "inDate", "outDate", "passTime"].iter().find_map(|k| e.data.get(*k).and_then(Value::as_str)).map(str::to_string)
}

pub fn report(data_dir: &std::path::Path) -> Result<Report, String> {
    if !data_dir.is_dir() {
        return Err(format!("data dir {} does not exist (has the agent ever run? is --data-dir right?)", data_dir.display()));
    }
    let ob_dir = data_dir.join("outbox");
    let pending = outbox::peek(&ob_dir).map_err(|e| format!("reading {}: {e} (run as root or as a member of the onecard-agent group)", ob_dir.display()))?;
    let dead = outbox::list_dead_letters(&ob_dir).map_err(|e| format!("reading the dead letters: {e}"))?;
    let health = service::read_health(data_dir).ok();
    let age = health.as_ref().map(|h| service::unix_now().saturating_sub(h.written_unix));
    // Three missed rewrites and the agent is taken for stopped (or hung: the
    // watchdog then restarts it).
    let running = match (&health, age) {
        (Some(h), Some(a)) => a <= h.every_secs.max(1) * 3 + 2 && std::path::Path::new(&format!("/proc/{}", h.pid)).exists(),
        _ => false,
    };
    let exit_code = if !running {
        NOT_RUNNING
    } else if !health.as_ref().is_some_and(|h| h.link_up) {
        LINK_DOWN
    } else if !dead.is_empty() {
        DEAD_LETTERS
    } else {
        OK
    };
    let oldest = pending.first().map(|e| Oldest {
        id: e.id.clone(),
        route: e.route.clone(),
        time: record_time(e),
        plate: ["licensePlate", "plateNo"].iter().find_map(|k| e.data.get(*k).and_then(Value::as_str)).map(str::to_string),
    });
    Ok(Report {
        running,
        health,
        status_age_secs: age,
        outbox_pending: pending.len(),
        oldest,
        dead_letters: dead.len(),
        last_dead_letter: dead.last().map(|d| serde_json::json!({"id": d.id, "route": d.route, "code": d.code, "message": d.message, "at": d.at})),
        exit_code,
    })
}

pub fn run(args: &Args) -> i32 {
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => match super::read_file_config(&args.config) {
            Ok(f) => f.data_dir.unwrap_or_else(|| PathBuf::from("agent-data")),
            Err(e) => {
                eprintln!("status: {e:#} (or give --data-dir)");
                return UNREADABLE;
            }
        },
    };
    let r = match report(&data_dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("status: {e}");
            return UNREADABLE;
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        print_text(&r);
    }
    r.exit_code
}

fn print_text(r: &Report) {
    let age = r.status_age_secs.map(|a| format!("{a} s ago")).unwrap_or_else(|| "never".into());
    match (&r.health, r.running) {
        (Some(h), true) => println!("agent:        running, pid {} ({}), agent {} of branch {}, since {}", h.pid, h.software, h.agent_id, h.branch, h.started_at),
        (Some(h), false) => println!("agent:        NOT RUNNING (last status {} at {age}; systemctl status onecard-agent)", h.written_at),
        (None, _) => println!("agent:        NOT RUNNING (no status.json yet; systemctl status onecard-agent)"),
    }
    if let Some(h) = &r.health {
        let state = if !r.running {
            "unknown (agent not running)".to_string()
        } else if h.link_up {
            format!("up since {}", h.link_since)
        } else {
            format!("DOWN since {} (lanes decide offline; records queue)", h.link_since)
        };
        println!("link:         {state}, cloud {}", h.cloud);
        println!("last contact: {}", h.last_contact.as_deref().unwrap_or("never"));
        if h.outbox_refused > 0 {
            println!("refused:      {} notices since start (outbox full)", h.outbox_refused);
        }
    }
    match &r.oldest {
        None => println!("outbox:       empty"),
        Some(o) => println!(
            "outbox:       {} pending, oldest {} {}{}{}",
            r.outbox_pending,
            o.id,
            o.route,
            o.plate.as_ref().map(|p| format!(" {p}")).unwrap_or_default(),
            o.time.as_ref().map(|t| format!(" at {t}")).unwrap_or_default()
        ),
    }
    match &r.last_dead_letter {
        None => println!("dead letters: none"),
        Some(d) => println!("dead letters: {} (last: {} {} refused {} {}; see `onecard-agent dead-letters`)", r.dead_letters, d["id"].as_str().unwrap_or(""), d["route"].as_str().unwrap_or(""), d["code"], d["message"].as_str().unwrap_or("")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::{Limits, Outbox};
    use serde_json::json;

    fn health(link_up: bool, age: u64) -> Health {
        Health { pid: std::process::id(), every_secs: 5, link_up, written_unix: service::unix_now() - age, ..Default::default() }
    }

    #[test]
    fn exit_codes_follow_the_agent_the_link_and_the_dead_letters() {
        let d = tempfile::tempdir().unwrap();
        assert!(report(&d.path().join("missing")).is_err());
        assert_eq!(report(d.path()).unwrap().exit_code, NOT_RUNNING, "no status.json yet");

        service::write_health(d.path(), &health(true, 0)).unwrap();
        let r = report(d.path()).unwrap();
        assert_eq!((r.exit_code, r.running, r.outbox_pending), (OK, true, 0));

        service::write_health(d.path(), &health(false, 1)).unwrap();
        assert_eq!(report(d.path()).unwrap().exit_code, LINK_DOWN);

        // A dead letter, with the agent's outbox open (as while it runs).
        let (ob, _) = Outbox::open(&d.path().join("outbox"), Limits::default()).unwrap();
        let e = ob.push("A1", "cat.upload.indata", json!({"licensePlate": "浙A1", "inDate": "2026-01-01 08:00:00"}), true).unwrap();
        ob.push("A1", "cat.car.inout.notice", json!({"time": "2026-01-01 08:00:01"}), false).unwrap();
        ob.dead_letter(e.seq, 100001, "areaId is required").unwrap();
        service::write_health(d.path(), &health(true, 0)).unwrap();
        let r = report(d.path()).unwrap();
        assert_eq!(r.exit_code, DEAD_LETTERS);
        assert_eq!(r.dead_letters, 1);
        assert_eq!(r.last_dead_letter.as_ref().unwrap()["code"], 100001);
        assert_eq!(r.outbox_pending, 1);
        let oldest = r.oldest.unwrap();
        assert_eq!((oldest.route.as_str(), oldest.time.as_deref()), ("cat.car.inout.notice", Some("2026-01-01 08:00:01")));

        // Three missed rewrites: taken for stopped (or hung).
        service::write_health(d.path(), &health(true, 18)).unwrap();
        assert_eq!(report(d.path()).unwrap().exit_code, NOT_RUNNING);
        let gone = Health { pid: u32::MAX - 1, ..health(true, 0) };
        service::write_health(d.path(), &gone).unwrap();
        assert_eq!(report(d.path()).unwrap().exit_code, NOT_RUNNING, "its pid is gone");
    }
}
