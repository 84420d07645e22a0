//! The site keeps working while the cloud is away, and nothing is lost or
//! counted twice when it comes back: real `onecard serve`, real
//! `onecard-agent --sim`, plates posted to the agent's camera intake.

mod sitelink_support;

use onecard_tests::{free_port, temp_dir, Server};
use serde_json::{json, Value};
use sitelink_support::{entry_journal, server, AgentProc};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const CARS: usize = 20;

fn plates(tag: &str) -> Vec<String> {
    (0..CARS).map(|i| format!("浙{tag}{i:04}")).collect()
}

/// Entries recorded per plate (the journal keeps superseded entries too, so a
/// doubled upload would show as a second row).
fn entries_by_plate(srv: &Server) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for r in entry_journal(srv) {
        *m.entry(r["licensePlate"].as_str().unwrap_or("").to_string()).or_insert(0) += 1;
    }
    m
}

fn in_park(srv: &Server) -> Vec<String> {
    let rows = srv.client().ok("park.in.info", json!({}));
    rows.as_array().cloned().unwrap_or_default().iter().map(|r| r["carno"].as_str().unwrap_or("").to_string()).collect()
}

fn used_spaces(srv: &Server) -> i64 {
    let d = srv.client().ok("park.lot.status.total", json!({}));
    let n = |k: &str| d[k].as_str().and_then(|s| s.parse::<i64>().ok()).unwrap_or(-1);
    n("total") - n("remain")
}

fn wait_entries(srv: &Server, want: &[String], within: Duration) -> HashMap<String, usize> {
    let t0 = Instant::now();
    loop {
        let m = entries_by_plate(srv);
        if want.iter().all(|p| m.contains_key(p)) || t0.elapsed() > within {
            return m;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Cloud down: every car at the entrance is let in by the default offline
/// policy (allow at entrances), and the agent says so.
fn enter_offline(agent: &AgentProc, plates: &[String]) {
    for p in plates {
        let a: Value = agent.plate("1", p);
        assert_eq!(a["ok"], json!(true), "{p}: {a}");
        assert_eq!(a["open"], json!(true), "{p}: {a}");
        assert_eq!(a["reason"], json!("policy:allow"), "{p}: {a}");
    }
}

fn assert_exactly_once(srv: &Server, want: &[String], m: &HashMap<String, usize>) {
    for p in want {
        assert_eq!(m.get(p), Some(&1), "{p} recorded {:?} times; journal {m:?}", m.get(p));
    }
    let inside = in_park(srv);
    for p in want {
        assert_eq!(inside.iter().filter(|x| *x == p).count(), 1, "{p} in park.in.info: {inside:?}");
    }
    assert_eq!(used_spaces(srv), want.len() as i64, "park.lot.status.total");
}

#[test]
fn twenty_cars_enter_while_the_cloud_is_down_and_are_recorded_once() {
    let dir = temp_dir("sl-offline");
    let port = free_port();
    let mut srv = server(&dir.join("cloud"), port);
    let agent = AgentProc::start(port, &dir.join("agent"), &[]);
    agent.wait_ready();

    srv.kill();
    agent.wait_log("cloud link down", 1, Duration::from_secs(10));
    let want = plates("K");
    enter_offline(&agent, &want);
    // The boards opened the entrance for every car without the cloud.
    let opens = agent.frames().iter().filter(|f| f["device"] == json!("1") && f["decoded"]["kind"] == json!("relay")).count();
    assert_eq!(opens, CARS);

    let srv = server(&dir.join("cloud"), port);
    let m = wait_entries(&srv, &want, Duration::from_secs(60));
    // Give any (wrong) duplicate a moment to show up before counting.
    std::thread::sleep(Duration::from_millis(500));
    assert_exactly_once(&srv, &want, &entries_by_plate(&srv));
    assert_eq!(m.len(), CARS);
    // Every upload (entries, notices, offline decisions) was accepted.
    let log = agent.log_text();
    assert!(!log.contains("upload refused"), "the cloud refused uploads:\n{log}");
}

#[test]
fn an_agent_killed_mid_flush_loses_and_doubles_nothing() {
    let dir = temp_dir("sl-kill9");
    let port = free_port();
    let mut srv = server(&dir.join("cloud"), port);
    let mut agent = AgentProc::start(port, &dir.join("agent"), &[]);
    agent.wait_ready();

    srv.kill();
    agent.wait_log("cloud link down", 1, Duration::from_secs(10));
    let want = plates("M");
    enter_offline(&agent, &want);

    // The cloud returns; kill -9 the agent as soon as its flush has begun.
    let srv = server(&dir.join("cloud"), port);
    let t0 = Instant::now();
    let mut seen = 0;
    while t0.elapsed() < Duration::from_secs(60) {
        seen = entries_by_plate(&srv).len();
        if seen > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    agent.kill9();
    let at_kill = entries_by_plate(&srv).len();
    eprintln!("killed the agent with {seen}..{at_kill} of {CARS} entries delivered");
    assert!(seen > 0, "the flush never began");
    assert!(at_kill < CARS, "the flush had finished before the kill ({at_kill}); nothing was tested");

    agent.restart();
    let _ = wait_entries(&srv, &want, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    assert_exactly_once(&srv, &want, &entries_by_plate(&srv));
}
