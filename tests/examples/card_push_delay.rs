//! Bench: a big car park's monthly plates on the site link. Seeds 20,000
//! monthly cards (default; first argument), then measures on loopback with the
//! real `onecard serve` and `onecard-agent`:
//!
//! - the full sync: frames, bytes, largest frame, and the time from the
//!   agent's start to its having every plate (process start and connect
//!   included);
//! - a reconnect with the current copy (nothing sent);
//! - card changes: from the API call returning to the agent having applied
//!   the change (its stored copy holds the new plate / lost the old one), and
//!   the delta's size.
//!
//! `cargo build --release --bins && cargo run --release -p onecard-tests --example card_push_delay [PLATES] [CHANGES]`

#[path = "../tests/sitelink_support/mod.rs"]
mod sitelink_support;

use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_adapters::sqlite_store::SqliteStore;
use onecard_core::link::{self, Msg};
use onecard_core::{config, dispatch, Ctx, Origin, Ports};
use onecard_tests::{free_port, temp_dir};
use serde_json::json;
use sitelink_support::{server, AgentProc};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn dates() -> (String, String) {
    let now = onecard_core::time::now();
    let today = onecard_core::time::to_local(now, "Asia/Shanghai").date();
    let later = onecard_core::time::to_local(now + Duration::from_secs(180 * 86_400), "Asia/Shanghai").date();
    (format!("{today} 00:00:00"), format!("{later} 23:59:59"))
}

/// Seeds the demo branch and `n` monthly cards into the server's store
/// before it starts; answers the frames a full sync of it takes.
async fn seed(cloud: &Path, n: usize) -> Vec<link::SiteConfig> {
    std::fs::create_dir_all(cloud).unwrap();
    let store = Arc::new(SqliteStore::open(&cloud.join("onecard.db")).unwrap());
    config::seed_demo(&*store).await.unwrap();
    let queue = Arc::new(EmbeddedQueue::open(&cloud.join("bench-seed-queue.db")).unwrap());
    let ctx = Ctx::new(Ports { store, queue, sites: Arc::new(onecard_core::sitelink::NoSites), clock: Arc::new(onecard_core::time::SystemClock) });
    onecard_app::seed_demo(&ctx).await.unwrap();
    let reg = onecard_app::registry();
    let b = config::get_branch(ctx.store(), "1001").await.unwrap().unwrap();
    let run = |route: &'static str, data: serde_json::Value| {
        let (reg, b, ctx) = (&reg, b.clone(), &ctx);
        async move { dispatch::run(ctx, reg, reg.find(route).unwrap(), Origin::Internal, b, data, None).await.unwrap().data }
    };
    let car_type = onecard_app::park::cartype::list(&ctx, "1001").await.unwrap()[0].id;
    run("park.monthtariff.add", json!({"tariffName": "月租", "carTypeId": car_type, "charge": "120.00"})).await;
    let (from, to) = dates();
    let first = run("pub.card.add", json!({"NumNo": "粤Z00000", "Park": {"StartDate": from, "ExpiryDate": to}})).await;
    let template = onecard_app::cards::get_card(&ctx, "1001", first["CardNo"].as_str().unwrap()).await.unwrap().unwrap();
    let provinces = ["粤", "浙", "沪", "苏"];
    let writes: Vec<_> = (1..n)
        .map(|i| {
            let plate = format!("{}{}{:05}", provinces[i % 4], (b'A' + (i / 100_000 % 26) as u8) as char, i % 100_000);
            let card = onecard_app::cards::Card { card_no: format!("S{i:09}"), num_no: plate.clone(), card_id: plate.clone(), plates: vec![plate], ..template.clone() };
            onecard_app::cards::store::card_create("1001", &card)
        })
        .collect();
    for chunk in writes.chunks(onecard_core::store::MAX_TRANSACTION_ITEMS) {
        ctx.store.transact(chunk.to_vec()).await.unwrap();
    }
    let state = onecard_app::sitelink::site_state(&ctx, &b).await.unwrap();
    assert_eq!(state.plate_count(), n);
    state.plan(None, link::CHUNK_BUDGET).unwrap()
}

/// Waits until the agent's stored copy satisfies `done`; answers when.
fn wait_copy(agent_dir: &Path, within: Duration, done: impl Fn(&str) -> bool) -> Instant {
    let file = agent_dir.join("siteconfig.json");
    let t0 = Instant::now();
    let mut seen = None;
    loop {
        // Reads the (megabyte) copy only when it was rewritten, so the poll
        // does not compete with the processes it measures.
        let stamp = std::fs::metadata(&file).and_then(|m| m.modified()).ok();
        if stamp.is_some() && stamp != seen {
            seen = stamp;
            if std::fs::read_to_string(&file).is_ok_and(|text| done(&text)) {
                return Instant::now();
            }
        }
        assert!(t0.elapsed() < within, "the agent's copy did not change within {within:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn plate_count(text: &str) -> usize {
    serde_json::from_str::<serde_json::Value>(text).ok().and_then(|v| v["monthlyPlates"].as_array().map(Vec::len)).unwrap_or(0)
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let changes: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let dir = temp_dir("bench-cardpush");
    let cloud = dir.join("cloud");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = Instant::now();
    let frames = rt.block_on(seed(&cloud, n));
    let seeded = t.elapsed();
    let sizes: Vec<usize> = frames.iter().map(|f| link::encode(&Msg::SiteConfig(f.clone())).len()).collect();

    let srv = server(&cloud, free_port());
    let agent_dir = dir.join("agent");
    let t0 = Instant::now();
    let mut agent = AgentProc::start(srv.port, &agent_dir, &[]);
    let synced = wait_copy(&agent_dir, Duration::from_secs(120), |t| plate_count(t) == n) - t0;
    agent.wait_ready();

    println!("site link with {n} monthly plates on loopback, {} build (seeded in {})", if cfg!(debug_assertions) { "debug" } else { "release" }, ms(seeded));
    println!(
        "full sync: {} frames, {} bytes in all, largest frame {} bytes (limit {}); agent start to all plates applied: {}",
        sizes.len(),
        sizes.iter().sum::<usize>(),
        sizes.iter().max().unwrap(),
        link::MAX_FRAME_BYTES,
        ms(synced)
    );

    // A restart with a current copy: nothing is sent again.
    let before = std::fs::metadata(agent_dir.join("siteconfig.json")).unwrap().modified().unwrap();
    agent.restart();
    agent.wait_ready();
    std::thread::sleep(Duration::from_millis(500));
    let after = std::fs::metadata(agent_dir.join("siteconfig.json")).unwrap().modified().unwrap();
    println!("agent restart with the current copy: configuration {}", if before == after { "not sent again" } else { "SENT AGAIN" });

    let c = srv.client();
    let (from, to) = dates();
    let mut issue = Vec::new();
    let mut cancel = Vec::new();
    let mut api = Vec::new();
    for i in 0..changes {
        let plate = format!("京Q{i:05}");
        let t0 = Instant::now();
        let r = c.ok("pub.card.add", json!({"NumNo": plate, "Park": {"StartDate": from, "ExpiryDate": to}}));
        let answered = Instant::now();
        api.push(answered - t0);
        let needle = format!("\"{plate}\"");
        issue.push(wait_copy(&agent_dir, Duration::from_secs(30), |t| t.contains(&needle)) - answered);
        let answered = {
            c.ok("pub.card.cancel", json!({"CredentialType": "2", "Credential": r["CardNo"]}));
            Instant::now()
        };
        cancel.push(wait_copy(&agent_dir, Duration::from_secs(30), |t| !t.contains(&needle)) - answered);
    }
    for (name, mut v) in [("issue -> agent has the plate", issue), ("cancel -> agent dropped it", cancel), ("pub.card.add API call itself", api)] {
        v.sort();
        println!("{name:<32} n={:<3} p50 {:>9}  p90 {:>9}  max {:>9}", v.len(), ms(v[v.len() / 2]), ms(v[(v.len() * 9 / 10).min(v.len() - 1)]), ms(*v.last().unwrap()));
    }
    let cloud_log = log_lines(&cloud.with_extension("log"), "site configuration sent");
    let deltas: Vec<usize> = cloud_log.iter().filter(|l| field(l, "delta") == Some("true")).filter_map(|l| field(l, "bytes")?.parse().ok()).collect();
    if !deltas.is_empty() {
        println!("delta frames: {} sent, {}..{} bytes each", deltas.len(), deltas.iter().min().unwrap(), deltas.iter().max().unwrap());
    }
    // Where the time goes: the cloud's send to the agent's apply, per version.
    let agent_log = log_lines(&agent_dir.with_extension("agent.log"), "site config ");
    let mut hops: Vec<i64> = Vec::new();
    for sent in cloud_log.iter().filter(|l| field(l, "delta") == Some("true")) {
        let v = field(sent, "version");
        if let Some(applied) = agent_log.iter().find(|l| field(l, "version") == v && stamp(l) >= stamp(sent)) {
            if let (Some(a), Some(b)) = (stamp(applied), stamp(sent)) {
                hops.push((a - b).num_milliseconds());
            }
        }
    }
    if !hops.is_empty() {
        hops.sort();
        println!("of which cloud sent -> agent applied: p50 {} ms, max {} ms (the rest is the cloud rebuilding the {n}-plate list)", hops[hops.len() / 2], hops.last().unwrap());
    }
}

/// Lines of a log holding `needle`, without terminal colours.
fn log_lines(path: &Path, needle: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain.lines().filter(|l| l.contains(needle)).map(str::to_string).collect()
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split_whitespace().find_map(|w| w.strip_prefix(name)?.strip_prefix('=')).map(|v| v.trim_matches('"'))
}

fn stamp(line: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(line.split_whitespace().next()?).ok()
}
