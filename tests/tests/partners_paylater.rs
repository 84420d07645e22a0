//! Jinying pay-later (11.12-11.13) against a local receiver: the entry asks
//! Jinying (9.1 answers `afterPay`), the exit hands Jinying the fee and lets
//! the car out paid (payType 12) exactly once; a Jinying that refuses or is
//! down holds no lane: the entry answers without `afterPay` and the exit
//! falls back to asking the driver to pay.

mod partners_support;
mod push_support;

use onecard_tests::{now_local, temp_dir, Client, Server};
use partners_support::local;
use push_support::{onecard, Got, Receiver};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const KEY: &str = "jinying-key";

fn configure(dir: &std::path::Path, url: &str) {
    onecard(&["partners", "set", "--data-dir", dir.to_str().unwrap(), "--branch", "1001", "--partner", "jinying-paylater", "--url", url, "--key", KEY]);
}

fn exit_lane(c: &Client, plate: &str) -> Value {
    c.ok("cat.pass.validate", json!({"deviceID": "2", "carNo": plate, "passTime": now_local(), "inOutFlag": "2"}))
}

fn data(g: &Got) -> Value {
    assert!(g.signed_by("PARK", KEY), "signed with the partner's key: {}", g.body);
    g.envelope().data().unwrap()
}

fn calls<'a>(got: &'a [Got], method: &str) -> Vec<&'a Got> {
    got.iter().filter(|g| g.path.ends_with(method)).collect()
}

#[test]
fn a_pay_later_car_is_announced_at_the_entry_and_let_out_paid_once() {
    let jinying = Receiver::start();
    jinying.set_answers(r#"{"status":true,"code":200,"message":"success","data":{"afterPay":1,"orderNo":"1709220702299302"}}"#, r#"{"status":false,"code":500}"#);
    let dir = temp_dir("paylater");
    let srv = Server::start_with(&dir, &["--no-demo-site"]);
    configure(&dir, &jinying.url());
    let c = srv.client();

    let entered = c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "J1", "licensePlate": "苏AG5D51", "inDate": local(-185)}));
    assert_eq!(entered["afterPay"], json!(1), "9.1 answers Jinying's permission: {entered}");
    let got = jinying.got();
    let check = calls(&got, "/jinying.checkCarRule");
    assert_eq!(check.len(), 1, "{got:?}");
    let d = data(check[0]);
    assert_eq!(d["carNo"], json!("苏AG5D51"));
    assert_eq!(d["flag"], json!("1"));
    let pass_time: i64 = d["passTime"].as_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - 185 * 60 - pass_time).abs() < 120, "Unix seconds of the entry: {pass_time}");

    let out = exit_lane(&c, "苏AG5D51");
    assert_eq!(out["passFlag"], "1", "Jinying took the order: {out}");
    assert!(out["hint"].as_str().unwrap_or_default().contains("先行后付") || out.to_string().contains("先行后付"), "{out}");
    let got = jinying.got();
    let orders = calls(&got, "/jinying.addAfterPayOrder");
    assert_eq!(orders.len(), 1, "{got:?}");
    let o = data(orders[0]);
    assert_eq!(o["carNo"], json!("苏AG5D51"));
    let (day, night): (i64, i64) = (o["dayTime"].as_str().unwrap().parse().unwrap(), o["nightTime"].as_str().unwrap().parse().unwrap());
    assert!((184..=186).contains(&(day + night)), "minutes of the stay: {o}");
    let sums: f64 = o["daySum"].as_str().unwrap().parse::<f64>().unwrap() + o["nightSum"].as_str().unwrap().parse::<f64>().unwrap();
    assert!(sums > 0.0, "the fee is handed over: {o}");
    assert_eq!(calls(&got, "/jinying.checkCarRule").len(), 1, "the entry's answer is remembered");

    // Paid: the lane decides again without a second Jinying order.
    let again = exit_lane(&c, "苏AG5D51");
    assert_eq!(again["passFlag"], "1", "{again}");
    assert_eq!(calls(&jinying.got(), "/jinying.addAfterPayOrder").len(), 1, "one order for one stay");
    let orders = c.ok("park.order.list", json!({"CredentialType": "1", "Credential": "苏AG5D51"}));
    let paid: Vec<&Value> = orders.as_array().unwrap().iter().filter(|o| o["tradeNo"] == json!("jinying-paylater:1709220702299302")).collect();
    assert_eq!(paid.len(), 1, "paid once under Jinying's order: {orders}");
    assert_eq!(paid[0]["payType"].to_string().trim_matches('"'), "12", "先行后付: {orders}");
}

#[test]
fn a_car_without_permission_pays_the_usual_way() {
    let jinying = Receiver::start();
    jinying.set_answers(r#"{"status":true,"data":{"afterPay":0}}"#, r#"{"status":false}"#);
    let dir = temp_dir("paylater-no");
    let srv = Server::start_with(&dir, &["--no-demo-site"]);
    configure(&dir, &jinying.url());
    let c = srv.client();
    let entered = c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "J2", "licensePlate": "苏A00002", "inDate": local(-185)}));
    assert_eq!(entered["afterPay"], json!(0), "{entered}");
    let out = exit_lane(&c, "苏A00002");
    assert_eq!(out["passFlag"], "0", "asked to pay: {out}");
    assert!(calls(&jinying.got(), "/jinying.addAfterPayOrder").is_empty());
}

#[test]
fn a_jinying_that_is_down_holds_no_lane() {
    // Nothing listens on this port: every call fails at once.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let refusing = Receiver::start();
    refusing.set_down(true);
    let dir = temp_dir("paylater-down");
    let srv = Server::start_with(&dir, &["--no-demo-site"]);
    configure(&dir, &url);
    let c = srv.client();

    let t0 = Instant::now();
    let entered = c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "J3", "licensePlate": "苏A00003", "inDate": local(-185)}));
    assert!(entered.get("afterPay").is_none(), "no answer, no permission claimed: {entered}");
    let rows = c.ok("park.in.info", json!({"credentialtype": "1", "credential": "苏A00003"}));
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "the car is in: {rows}");
    let out = exit_lane(&c, "苏A00003");
    assert_eq!(out["passFlag"], "0", "falls back to the usual exit: {out}");
    assert!(t0.elapsed() < Duration::from_secs(6), "the lanes did not wait: {:?}", t0.elapsed());

    // Jinying answering but refusing (status false): the same fallback, and
    // the exit asks again (flag 2) since the entry learnt nothing.
    configure(&dir, &refusing.url());
    let out = exit_lane(&c, "苏A00003");
    assert_eq!(out["passFlag"], "0", "{out}");
    let got = refusing.got();
    let check = calls(&got, "/jinying.checkCarRule");
    assert_eq!(check.len(), 1, "{got:?}");
    assert_eq!(check[0].envelope().data().unwrap()["flag"], json!("2"));
    assert!(calls(&got, "/jinying.addAfterPayOrder").is_empty());

    // Back up: the next decision at the lane lets the car out through Jinying.
    refusing.set_answers(r#"{"status":true,"data":{"afterPay":1,"orderNo":"J-0003"}}"#, r#"{"status":false}"#);
    refusing.set_down(false);
    let out = exit_lane(&c, "苏A00003");
    assert_eq!(out["passFlag"], "1", "{out}");
}

#[test]
fn a_jinying_that_hangs_is_given_up_after_the_lane_timeout() {
    // Accepts connections and never answers.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    let dir = temp_dir("paylater-hang");
    let srv = Server::start_with(&dir, &["--no-demo-site"]);
    configure(&dir, &url);
    let c = srv.client();

    let t0 = Instant::now();
    let entered = c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "J4", "licensePlate": "苏A00004", "inDate": local(-185)}));
    let entry_took = t0.elapsed();
    assert!(entered.get("afterPay").is_none(), "{entered}");
    assert!(entry_took < Duration::from_secs(4), "the entry waited {entry_took:?}");
    let t1 = Instant::now();
    let out = exit_lane(&c, "苏A00004");
    let exit_took = t1.elapsed();
    assert_eq!(out["passFlag"], "0", "falls back to the usual exit: {out}");
    assert!(exit_took >= Duration::from_millis(1900) && exit_took < Duration::from_secs(4), "the exit waited the lane timeout once: {exit_took:?}");
}
