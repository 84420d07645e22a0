//! Fee-engine throughput on the pinned tariffs T1 and T2, for 1-hour and 7-day
//! stays. Run: `cargo run --release -p onecard-app --example fee_bench`.

use chrono::{Duration, NaiveDateTime};
use onecard_app::tariff::{engine, TempTariff};
use std::hint::black_box;
use std::time::Instant;

const PER_CASE: std::time::Duration = std::time::Duration::from_millis(700);

fn vectors() -> serde_json::Value {
    let path = match std::env::var_os("TARIFF_VECTORS") {
        Some(p) => std::path::PathBuf::from(p),
        None => std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())).join("../../../shared/spec/tariff-vectors.json"),
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("cannot read {}: {e} (set TARIFF_VECTORS to the file)", path.display());
        std::process::exit(2)
    });
    serde_json::from_str(&text).expect("tariff-vectors.json is not JSON")
}

/// Calculations per second, measured in batches so the clock is read rarely.
fn rate(t: &TempTariff, entry: NaiveDateTime, end: NaiveDateTime) -> (f64, String) {
    let mut n: u64 = 0;
    let start = Instant::now();
    while start.elapsed() < PER_CASE {
        for _ in 0..1000 {
            black_box(engine::price(black_box(t), black_box(entry), black_box(end)));
        }
        n += 1000;
    }
    let q = engine::price(t, entry, end);
    (n as f64 / start.elapsed().as_secs_f64(), format!("{} pieces, fee {}", q.pieces.len(), q.fee))
}

fn main() {
    let v = vectors();
    let entry = onecard_core::time::parse("2026-03-02 09:17:23").unwrap();
    println!("{:<4} {:<7} {:>14} {:>10}  quote", "", "stay", "calcs/s", "ns/calc");
    for name in ["T1", "T2"] {
        let t = TempTariff::from_wire(v["tariffs"][name].clone()).expect("pinned tariff parses");
        for (label, stay) in [("1 h", Duration::hours(1)), ("7 days", Duration::days(7))] {
            let (per_sec, what) = rate(&t, entry, entry + stay);
            println!("{name:<4} {label:<7} {per_sec:>14.0} {:>10.0}  {what}", 1e9 / per_sec);
        }
    }
}
