//! The agent as a service: tells systemd it is ready, feeds the watchdog from
//! a task that touches the agent's own state (so a wedged runtime or a stuck
//! outbox lock stops the beats and systemd restarts the agent), and writes
//! `status.json` in the data dir for `onecard-agent status`.

use crate::agent::Agent;
use crate::sd_notify::{self, Notifier};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const STATUS_FILE: &str = "status.json";
/// How often the status file is rewritten (and the watchdog fed, unless
/// systemd asks for more often).
pub const STATUS_EVERY: Duration = Duration::from_secs(5);

/// What the running agent says about itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub pid: u32,
    pub software: String,
    pub branch: String,
    pub agent_id: String,
    pub cloud: String,
    /// Branch-local times, the spec's format.
    pub started_at: String,
    pub written_at: String,
    /// Seconds since the epoch (real clock), for staleness.
    pub written_unix: u64,
    /// How often the agent rewrites this file.
    pub every_secs: u64,
    pub link_up: bool,
    /// When the link's current state (up or down) began.
    pub link_since: String,
    /// The last moment the cloud was known reachable (kept across restarts).
    pub last_contact: Option<String>,
    pub connects: u64,
    pub outbox_pending: usize,
    /// Notices refused because the outbox was full, since start.
    pub outbox_refused: u64,
    pub devices: Vec<String>,
}

pub fn status_path(data_dir: &Path) -> PathBuf {
    data_dir.join(STATUS_FILE)
}

pub fn read_health(data_dir: &Path) -> std::io::Result<Health> {
    let text = std::fs::read_to_string(status_path(data_dir))?;
    serde_json::from_str(&text).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Written to a temporary file and renamed, so a reader never sees half.
pub fn write_health(data_dir: &Path, h: &Health) -> std::io::Result<()> {
    let p = status_path(data_dir);
    let tmp = p.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(h).unwrap_or_default())?;
    std::fs::rename(&tmp, &p)
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Runs for the life of the agent.
pub async fn supervise(agent: Arc<Agent>, notifier: Notifier) {
    let every = sd_notify::watchdog_interval().map_or(STATUS_EVERY, |w| w.min(STATUS_EVERY));
    let data_dir = agent.cfg.data_dir.clone();
    let previous = read_health(&data_dir).ok();
    let started_at = crate::now_text();
    let mut h = Health {
        pid: std::process::id(),
        software: format!("onecard-agent {}", env!("CARGO_PKG_VERSION")),
        branch: agent.cfg.branch.clone(),
        agent_id: agent.cfg.agent_id.clone(),
        cloud: agent.cfg.cloud.clone(),
        started_at: started_at.clone(),
        every_secs: STATUS_EVERY.as_secs(),
        link_since: started_at,
        last_contact: previous.and_then(|p| p.last_contact),
        ..Default::default()
    };
    let mut up = agent.link.watch_up();
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ready = false;
    loop {
        let link_up = agent.link.is_up();
        if link_up != h.link_up {
            h.link_since = crate::now_text();
        }
        h.link_up = link_up;
        if link_up {
            h.last_contact = Some(crate::now_text());
        }
        h.connects = agent.link.connects();
        // Takes the outbox's lock: if that hangs, no beat follows.
        h.outbox_pending = agent.outbox.len();
        h.outbox_refused = agent.outbox.refused();
        h.devices = agent.devices.ids();
        h.written_at = crate::now_text();
        h.written_unix = unix_now();
        if let Err(e) = write_health(&data_dir, &h) {
            tracing::warn!(error = %e, "cannot write status.json");
        }
        let line = format!("link {}; outbox {} pending", if link_up { "up" } else { "down" }, h.outbox_pending);
        if !ready {
            // Ready once the outbox is open, the camera port bound and the
            // first status written: what a lane needs, with or without cloud.
            notifier.ready(&line);
            ready = true;
        } else {
            notifier.watchdog(&line);
        }
        tokio::select! {
            _ = ticker.tick() => {}
            changed = up.changed() => {
                if changed.is_err() {
                    // The link task is gone; keep beating on the timer.
                    ticker.tick().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_round_trips_through_the_file() {
        let d = tempfile::tempdir().unwrap();
        let h = Health { pid: 7, link_up: true, last_contact: Some("2026-01-01 08:00:00".into()), outbox_pending: 3, ..Default::default() };
        write_health(d.path(), &h).unwrap();
        assert_eq!(read_health(d.path()).unwrap(), h);
        assert!(!d.path().join("status.json.tmp").exists());
    }
}
