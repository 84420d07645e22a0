//! Car brands (6.36) against the real server: the seeded list, the admin
//! commands run while it serves, and cards that name a brand (10.15, 10.42).

use onecard_tests::{binary, code, now_local, Client, Server};
use serde_json::{json, Value};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

fn onecard(args: &[&str]) -> String {
    let out = Command::new(binary("onecard")).args(args).output().expect("run onecard");
    assert!(out.status.success(), "onecard {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn onecard_fails(args: &[&str]) -> String {
    let out = Command::new(binary("onecard")).args(args).output().expect("run onecard");
    assert!(!out.status.success(), "onecard {args:?} should fail: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// 6.36's rows as (BrandID, BrandName), asserting the seed's string types.
/// Sent as the seed shows it, `data: null` (signed over the empty string).
fn brands(c: &Client) -> Vec<(String, String)> {
    static N: AtomicU64 = AtomicU64::new(0);
    let nonce = format!("36{}{}", std::process::id() % 1000, N.fetch_add(1, Ordering::Relaxed));
    let env = c.post_raw("park.carbrand.list", &c.body_raw("", &now_local(), &nonce, None));
    assert_eq!(code(&env), 200, "{env}");
    let data = &env["data"];
    data.as_array()
        .unwrap_or_else(|| panic!("6.36 answers an array: {data}"))
        .iter()
        .map(|r| (r["BrandID"].as_str().expect("BrandID is a string").to_string(), r["BrandName"].as_str().expect("BrandName").to_string()))
        .collect()
}

fn issue(c: &Client, plate: &str, brand: Value) -> Value {
    c.call(
        "pub.card.add",
        json!({"NumNo": plate, "Park": {"FuncType": "6", "StartDate": "2026-01-01 00:00:00", "ExpiryDate": "2026-12-31 23:59:59", "CarBrandID": brand}}),
    )
}

#[test]
fn seeded_brands_are_listed_and_an_added_brand_is_listed_and_issuable() {
    let srv = Server::start();
    let d = srv.data_dir.to_str().unwrap().to_string();
    let d = d.as_str();
    let c = srv.client();

    let seeded = brands(&c);
    assert!(seeded.len() >= 30, "a few dozen brands: {seeded:?}");
    assert_eq!(seeded[0], ("1".to_string(), "大众".to_string()), "the seed's example row");
    for (i, (id, _)) in seeded.iter().enumerate() {
        assert_eq!(id, &(i + 1).to_string(), "ids 1..N in order");
    }
    for name in ["丰田", "本田", "比亚迪", "特斯拉"] {
        assert!(seeded.iter().any(|(_, n)| n == name), "{name} is seeded");
    }
    let listed = onecard(&["brand", "list", "--data-dir", d]);
    assert!(listed.starts_with("1\t大众\n"), "{listed}");

    let out = onecard(&["brand", "add", "--data-dir", d, "--name", "仰望"]);
    let new_id = (seeded.len() + 1).to_string();
    assert!(out.contains(&format!("brand {new_id} (仰望) added")), "{out}");
    let after = brands(&c);
    assert_eq!(after.last(), Some(&(new_id.clone(), "仰望".to_string())), "listed by the running server");

    let card = issue(&c, "粤B36001", json!(new_id));
    assert_eq!(code(&card), 200, "{card}");
    let bad = issue(&c, "粤B36002", json!("99999"));
    assert_eq!(code(&bad), 100001, "{bad}");
    assert!(bad["message"].as_str().unwrap().contains("Park.CarBrandID"), "{bad}");
    let no = card["data"]["CardNo"].as_str().unwrap();
    let upd = c.call("pub.card.update", json!({"CredentialType": "2", "Credential": no, "Park": {"CarBrandID": "abc"}}));
    assert_eq!(code(&upd), 100001, "{upd}");
}

#[test]
fn a_renamed_brand_survives_a_restart_and_admin_mistakes_are_refused() {
    let mut srv = Server::start();
    let dir = srv.data_dir.clone();
    let d = dir.to_str().unwrap();

    assert!(onecard(&["brand", "rename", "--data-dir", d, "--id", "1", "--name", "一汽-大众"]).contains("renamed"));
    assert!(onecard_fails(&["brand", "add", "--data-dir", d, "--name", "丰田"]).contains("already"));
    assert!(onecard_fails(&["brand", "rename", "--data-dir", d, "--id", "9999", "--name", "甲"]).contains("does not exist"));

    let file = dir.with_extension("brands.tsv");
    std::fs::write(&file, "# extra brands\n仰望\n丰田\n2\t丰田汽车\n").unwrap();
    let out = onecard(&["brand", "import", "--data-dir", d, file.to_str().unwrap()]);
    assert!(out.contains("1 added, 1 renamed, 1 unchanged"), "{out}");

    srv.kill();
    let srv = Server::start_with(&dir, &["--no-demo-site"]);
    let rows = brands(&srv.client());
    assert_eq!(rows[0].1, "一汽-大众", "seeding again never overwrites a rename");
    assert_eq!(rows[1].1, "丰田汽车");
    assert_eq!(rows.iter().filter(|(_, n)| n == "仰望").count(), 1);
}

#[test]
fn a_brand_command_on_a_new_data_dir_seeds_first_so_ids_stay_the_seeds() {
    let dir = onecard_tests::temp_dir("brands-first");
    let d = dir.to_str().unwrap();
    let out = onecard(&["brand", "add", "--data-dir", d, "--name", "仰望"]);
    let srv = Server::start_with(&dir, &["--no-demo-site"]);
    let rows = brands(&srv.client());
    assert_eq!(rows[0], ("1".to_string(), "大众".to_string()));
    assert_eq!(rows.last().unwrap().1, "仰望", "{out}");
}
