//! Bench: the gate-open round trip on loopback, from the signed API call to
//! the answer that carries the board's ack (HTTP → cloud → WebSocket → agent →
//! serial frame to the virtual board → board ACK → ack → envelope), and the
//! agent's resident memory.
//!
//! `cargo build --release --bins && cargo run --release -p onecard-tests --example gate_roundtrip [N]`
//! (or without `--release` for the debug build; it finds the binaries of its
//! own profile).

#[path = "../tests/sitelink_support/mod.rs"]
mod sitelink_support;

use onecard_tests::{code, free_port, temp_dir};
use serde_json::json;
use sitelink_support::{server, AgentProc};
use std::time::{Duration, Instant};

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn run(c: &onecard_tests::Client, route: &str, device: &str, n: usize) -> Vec<Duration> {
    let mut t = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let env = c.call(route, json!({"deviceID": device}));
        t.push(t0.elapsed());
        assert_eq!(code(&env), 200, "{route}: {env}");
    }
    t.sort();
    t
}

fn report(name: &str, t: &[Duration]) {
    println!(
        "{name:<34} n={:<5} p50 {:>9}  p90 {:>9}  p99 {:>9}  max {:>9}",
        t.len(),
        ms(pct(t, 0.50)),
        ms(pct(t, 0.90)),
        ms(pct(t, 0.99)),
        ms(*t.last().unwrap())
    );
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let dir = temp_dir("bench-gate");
    let srv = server(&dir.join("cloud"), free_port());
    let agent = AgentProc::start(srv.port, &dir.join("agent"), &[]);
    agent.wait_ready();
    let c = srv.client();
    let rss_idle = agent.rss_kib();

    // Warm-up: connections, page cache, first-use allocations.
    run(&c, "park.gate.close", "1", 20);
    let open = run(&c, "park.gate.open", "1", n);
    let close = run(&c, "park.gate.close", "2", n);
    let rss_after = agent.rss_kib();
    let frames = agent.frames().len();

    println!("gate round trip on loopback (API call -> board ack -> answer), {} build", if cfg!(debug_assertions) { "debug" } else { "release" });
    report("park.gate.open (+13.6 record)", &open);
    report("park.gate.close", &close);
    println!("agent VmRSS: {} KiB idle after connect, {} KiB after {} commands ({} board frames)",
        rss_idle.map(|v| v.to_string()).unwrap_or("?".into()),
        rss_after.map(|v| v.to_string()).unwrap_or("?".into()),
        2 * n + 20,
        frames);
}
