//! The demo site: agent A1 of branch 1001 with simulated boards, run inside
//! `onecard serve` and connected to it over the real WebSocket, so the demo
//! exercises the same path a car park does.

use onecard_agent::agent::{Agent, Running};
use onecard_agent::config::AgentConfig;
use onecard_core::config;
use std::net::SocketAddr;
use std::path::Path;

/// Where the demo agent keeps its outbox, cached configuration and sim log.
pub const DEMO_DIR: &str = "demo-site";
pub const SIM_LOG: &str = "sim-log.jsonl";

/// The agent stamps uploads with its local wall clock, and a car park's clock
/// is its branch's. In the demo the site is this host, whose zone may be
/// anything (containers default to UTC), so the process takes the branch's
/// zone unless the operator chose one. Called before any task reads the clock.
pub fn use_branch_zone(tz: &str) {
    if std::env::var_os("TZ").is_none() {
        std::env::set_var("TZ", tz);
    }
}

/// Starts agent A1 against the hub listening on `listen`.
pub async fn start(listen: SocketAddr, data_dir: &Path) -> anyhow::Result<Running> {
    let dir = data_dir.join(DEMO_DIR);
    let host = if listen.ip().is_unspecified() { "127.0.0.1".to_string() } else { listen.ip().to_string() };
    let url = format!("ws://{}/ws", SocketAddr::new(host.parse()?, listen.port()));
    let mut cfg = AgentConfig::new(&url, config::DEMO_BRANCH, config::DEMO_AGENT, config::DEMO_AGENT_SECRET, &dir);
    cfg.sim = true;
    cfg.sim_log = Some(dir.join(SIM_LOG));
    // Any free port: a fixed one would collide with a second server on the host.
    cfg.camera_listen = format!("{host}:0");
    Agent::start(cfg).await
}
