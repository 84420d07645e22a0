//! Chapter 11's outbound partners against a local receiver: Hisense
//! Tianyue's entry request (11.31) reaches a subscribed partner from the
//! entry's outbox, only for temporary cars without a booking, never to a
//! `*` subscriber; a Hisense that is down stops no lane and gets the request
//! once it is back.

mod partners_support;
mod push_support;

use onecard_tests::{temp_dir, Server};
use partners_support::{local, month_tariff};
use push_support::{add_partner, Receiver, SECRET};
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn hisense_gets_temporary_entries_without_booking_once_signed() {
    let hisense = Receiver::start();
    let everything = Receiver::start();
    let dir = temp_dir("hisense");
    let srv = Server::start_with(&dir, &["--no-demo-site", "--push-retry-base-ms", "100"]);
    add_partner(&dir, "hisense", &hisense, "hisense.regIn");
    add_partner(&dir, "all", &everything, "*");
    let c = srv.client();
    month_tariff(&c);
    c.ok("pub.card.add", json!({"NumNo": "粤B20000", "Park": {"StartDate": local(-60), "ExpiryDate": "2099-01-01 23:59:59"}}));

    c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "H1", "licensePlate": "粤B12345", "inDate": local(0), "gateno": "C0000001", "gatename": "东门进口"}));
    c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "H2", "licensePlate": "粤B20000", "inDate": local(0)}));
    // From now on area 1 is the underground garage (setting
    // `undergroundAreas`): a temporary car entering it is not announced.
    push_support::onecard(&["partners", "set", "--data-dir", dir.to_str().unwrap(), "--branch", "1001", "--partner", "hisense", "--option", "undergroundAreas=9, 1"]);
    c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "H3", "licensePlate": "粤B12346", "inDate": local(0)}));

    let got = hisense.wait_for(Duration::from_secs(20), "the entry request", |g| g.iter().any(|x| x.accepted));
    assert!(got[0].path.ends_with("/hisense.regIn"), "{}", got[0].path);
    assert!(got[0].signed_by("PARK", SECRET));
    let r = got[0].record();
    assert_eq!(r["licensePlate"], json!("粤B12345"), "{r}");
    assert_eq!(r["devId"], json!("1"), "{r}");
    assert!(!r["devName"].as_str().unwrap().is_empty(), "{r}");
    assert!(r["inTime"].as_str().unwrap().len() == 19);
    // The monthly car is not announced, and the `*` subscriber gets the
    // chapter 13 entry pushes but no partner-specific request.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(hisense.got().iter().filter(|g| g.accepted).count(), 1, "{:?}", hisense.got());
    assert!(everything.got().iter().all(|g| !g.path.ends_with("hisense.regIn")), "{:?}", everything.got());
    assert!(everything.got().iter().any(|g| g.path.ends_with("report/parkInData")));
}

#[test]
fn a_hisense_that_is_down_stops_no_lane_and_gets_the_request_when_back() {
    let hisense = Receiver::start();
    hisense.set_down(true);
    let dir = temp_dir("hisense-down");
    let srv = Server::start_with(&dir, &["--no-demo-site", "--push-retry-base-ms", "100"]);
    add_partner(&dir, "hisense", &hisense, "hisense.regIn");
    let c = srv.client();

    let t0 = Instant::now();
    c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "D1", "licensePlate": "粤B54321", "inDate": local(0)}));
    assert!(t0.elapsed() < Duration::from_secs(2), "the entry did not wait for Hisense: {:?}", t0.elapsed());
    let rows = c.ok("park.in.info", json!({"credentialtype": "1", "credential": "粤B54321"}));
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "the car is in: {rows}");

    hisense.wait_for(Duration::from_secs(20), "refused attempts", |g| g.len() >= 2);
    hisense.set_down(false);
    let got = hisense.wait_for(Duration::from_secs(30), "the request once back", |g| g.iter().any(|x| x.accepted));
    let ids: std::collections::HashSet<String> = got.iter().map(|g| g.id()).collect();
    assert_eq!(ids.len(), 1, "one request, retried: {got:?}");
    assert_eq!(got.iter().filter(|g| g.accepted).count(), 1);
    assert_eq!(got.iter().find(|g| g.accepted).unwrap().record()["licensePlate"], json!("粤B54321"));
}
