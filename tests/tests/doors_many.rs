//! Thousands of door cards against the real `onecard serve` and the real
//! `onecard-agent --sim`: every card reaches the site (they travel in sync
//! buckets, not in the first frame), one card change arrives as a one-frame
//! delta, and an agent restarted with the cloud away still opens the door for
//! the last card from its stored copy.

mod push_support;
mod sitelink_support;

use onecard_tests::{free_port, http, temp_dir};
use push_support::onecard;
use serde_json::{json, Value};
use sitelink_support::{server, AgentProc};
use std::time::{Duration, Instant};

const DOOR: &str = "C0000001-1";
/// Ten times what fitted the first frame before the cards had buckets.
const CARDS: usize = 3_000;

fn card_no(i: usize) -> String {
    format!("M{i:06}")
}

fn swipe(agent: &AgentProc, card: &str) -> Value {
    let body = json!({"deviceID": DOOR, "cardNo": card}).to_string();
    let (_, text) = http(agent.camera_port, "POST", "/door", &body).expect("door intake");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("door intake answered non-JSON ({e}): {text}"))
}

fn wait_swipe(agent: &AgentProc, card: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let t0 = Instant::now();
    loop {
        let a = swipe(agent, card);
        if done(&a) {
            return a;
        }
        assert!(t0.elapsed() < within, "card {card} never answered as wanted: {a}\n{}", agent.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A log line without its colour codes (`ESC [ ... m`).
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| *c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

/// The cloud's `site configuration sent` log lines.
fn syncs_sent(cloud_log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(cloud_log).unwrap_or_default().lines().filter(|l| l.contains("site configuration sent")).map(plain).collect()
}

fn field(line: &str, name: &str) -> Option<u64> {
    let at = line.find(&format!("{name}="))? + name.len() + 1;
    line[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
}

#[test]
fn thousands_of_door_cards_reach_the_site_a_change_is_one_small_delta_and_a_restart_offline_keeps_them() {
    let dir = temp_dir("doors-many");
    let port = free_port();
    let cloud = dir.join("cloud");
    let mut srv = server(&cloud, port);

    // All-grant cards, through the bulk import (one HTTP call each would be slow).
    let mut csv = String::from("CardNo,NumNo,CardMaterial,Acss.AllGrant,Acss.StartDate,Acss.ExpiryDate\n");
    for i in 0..CARDS {
        let no = card_no(i);
        csv.push_str(&format!("{no},{no},1,True,2020-01-01 00:00:00,2099-12-31 23:59:59\n"));
    }
    let file = dir.join("cards.csv");
    std::fs::write(&file, csv).unwrap();
    let t0 = Instant::now();
    let out = onecard(&["import", "cards", file.to_str().unwrap(), "--branch", "1001", "--data-dir", cloud.to_str().unwrap()]);
    eprintln!("imported {CARDS} cards in {:?}: {}", t0.elapsed(), out.trim());

    let t0 = Instant::now();
    let mut agent = AgentProc::start(port, &dir.join("agent"), &[]);
    agent.wait_ready();
    let last = card_no(CARDS - 1);
    let a = wait_swipe(&agent, &last, Duration::from_secs(60), |a| a["open"] == json!(true));
    assert_eq!(a["reason"], json!("all-grant"), "{a}");
    let cloud_log = cloud.with_extension("log");
    let full = syncs_sent(&cloud_log);
    let first = full.iter().find(|l| field(l, "cards") == Some(CARDS as u64)).unwrap_or_else(|| panic!("no sync of {CARDS} cards: {full:?}"));
    let frames = field(first, "frames").unwrap();
    eprintln!("{CARDS} door cards synced in {:?}: {first}", t0.elapsed());
    assert!(frames > 1, "{CARDS} cards cannot fit one frame: {first}");
    let held = agent.log_text().lines().map(plain).filter(|l| l.contains("site config version=")).last().unwrap_or_default();
    assert!(held.contains(&format!("cards={CARDS}")), "the agent holds every card: {held}");

    // One card cancelled: the next sync is a delta of one frame, a few KB.
    let gone = card_no(CARDS - 2);
    let before = syncs_sent(&cloud_log).len();
    srv.client().ok("pub.card.cancel", json!({"CredentialType": "2", "Credential": gone}));
    wait_swipe(&agent, &gone, Duration::from_secs(15), |a| a["reason"] == json!("unknown card"));
    let after = syncs_sent(&cloud_log);
    let delta = after[before..].iter().find(|l| l.contains("delta=true")).unwrap_or_else(|| panic!("no delta sent: {:?}", &after[before..]));
    eprintln!("one card change: {delta}");
    assert_eq!(field(delta, "frames"), Some(1), "{delta}");
    let bytes = field(delta, "bytes").unwrap();
    assert!(bytes < 8 * 1024, "a one-card delta of {bytes} bytes: {delta}");
    assert_eq!(field(delta, "cards"), Some(CARDS as u64 - 1));
    assert_eq!(swipe(&agent, &last)["open"], json!(true));

    // The cloud goes away and the agent restarts: its stored copy still holds
    // every card but the cancelled one.
    srv.kill();
    agent.wait_log("cloud link down", 1, Duration::from_secs(10));
    agent.restart();
    let a = swipe(&agent, &last);
    assert_eq!((a["open"].clone(), a["reason"].clone()), (json!(true), json!("all-grant")), "offline after a restart: {a}");
    assert_eq!(swipe(&agent, &card_no(0))["open"], json!(true));
    assert_eq!(swipe(&agent, &gone)["reason"], json!("unknown card"));
}
