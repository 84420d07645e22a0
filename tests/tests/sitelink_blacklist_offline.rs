//! A blacklist entry and a lock set in the cloud reach the agent, and the
//! agent refuses the car (entry) and holds it (exit) on its own once the
//! cloud is gone: real `onecard serve`, real
//! `onecard-agent --sim`, plates posted to the agent's camera intake.

mod sitelink_support;

use onecard_tests::{free_port, temp_dir};
use serde_json::json;
use sitelink_support::{server, AgentProc};
use std::time::Duration;

fn entrance_opens(agent: &AgentProc) -> usize {
    agent.frames().iter().filter(|f| f["device"] == json!("1") && f["decoded"]["kind"] == json!("relay")).count()
}

/// Waits for the agent's "site config" log line containing `want`, such as
/// `blacklist=1 ` (the log is coloured, so escapes are dropped first).
fn wait_config_with(agent: &AgentProc, want: &str, within: Duration) {
    let t0 = std::time::Instant::now();
    while t0.elapsed() < within {
        let text = agent.log_text();
        let mut plain = String::with_capacity(text.len());
        let mut esc = false;
        for c in text.chars() {
            match (esc, c) {
                (false, '\u{1b}') => esc = true,
                (true, 'm') => esc = false,
                (true, _) => {}
                (false, c) => plain.push(c),
            }
        }
        if plain.lines().any(|l| l.contains("site config") && l.contains(&want)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the agent never logged a config with '{want}'; log:\n{}", agent.log_text());
}

#[test]
fn a_blacklisted_car_is_refused_and_a_locked_car_held_while_the_cloud_is_down() {
    let dir = temp_dir("sl-black");
    let port = free_port();
    let mut srv = server(&dir.join("cloud"), port);
    let agent = AgentProc::start(port, &dir.join("agent"), &[]);
    agent.wait_ready();
    agent.wait_log("site config", 1, Duration::from_secs(10));

    srv.client().ok(
        "park.blacklist.add",
        json!({"plateNo": "京A11111", "startDateTime": "2020-01-01 00:00:00", "endDateTime": "2099-01-01 00:00:00"}),
    );
    // The write pushes the new configuration to the connected agent.
    wait_config_with(&agent, "blacklist=1 ", Duration::from_secs(10));

    // A car let in while the cloud is up, then locked: the lock is pushed too.
    let entered = agent.plate("1", "京A33333");
    assert_eq!(entered["reason"], json!("cloud"), "{entered}");
    let t0 = std::time::Instant::now();
    loop {
        // The entry upload reaches the cloud just after the gate opens.
        let env = srv.client().call("park.lockcar", json!({"licensePlate": "京A33333"}));
        if env["status"] == json!(true) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "lock refused: {env}");
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_config_with(&agent, "locked=1", Duration::from_secs(10));
    let opened_online = entrance_opens(&agent);

    srv.kill();
    agent.wait_log("cloud link down", 1, Duration::from_secs(10));
    let refused = agent.plate("1", "京A11111");
    assert_eq!(refused["ok"], json!(true), "{refused}");
    assert_eq!(refused["open"], json!(false), "{refused}");
    assert_eq!(refused["reason"], json!("blacklist"), "{refused}");
    assert!(refused["text"].as_str().unwrap_or("").contains("京A11111"), "{refused}");
    assert_eq!(entrance_opens(&agent), opened_online, "the entrance gate stayed shut");

    // Another car still gets in by the offline policy, so the refusal was the blacklist's.
    let other = agent.plate("1", "京A22222");
    assert_eq!(other["open"], json!(true), "{other}");
    assert_eq!(other["reason"], json!("policy:allow"), "{other}");
    assert_eq!(entrance_opens(&agent), opened_online + 1);

    // The locked car is held at the exit even though the car is known inside.
    let held = agent.plate("2", "京A33333");
    assert_eq!(held["open"], json!(false), "{held}");
    assert_eq!(held["reason"], json!("locked"), "{held}");
    assert!(held["text"].as_str().unwrap_or("").contains("锁定"), "{held}");
    let exit_opens = agent.frames().iter().filter(|f| f["device"] == json!("2") && f["decoded"]["kind"] == json!("relay")).count();
    assert_eq!(exit_opens, 0, "the exit gate stayed shut");
}
