//! Aibee (11.32-11.36) against a local receiver: a space status change
//! reaches Aibee as plain JSON (no envelope, no signature) at `/api/...`:
//! the space's light (11.34) and, when the free count moves, the screens
//! that count it (11.36); Aibee's `code` 0 is a delivery, anything else is
//! retried on decision 18's schedule and finally dead-lettered.

mod push_support;

use onecard_tests::{temp_dir, Client, Server};
use push_support::{add_partner, onecard, Got, Receiver};
use serde_json::{json, Value};
use std::time::Duration;

/// B05, a standard space on the lower floor (B2) of the demo survey.
const LOWER_SPACE: &str = "PN000000000000000025";
const OK: &str = r#"{"code":0,"message":"","data":{}}"#;
const BUSY: &str = r#"{"code":1,"message":"busy","data":{}}"#;

fn body(g: &Got) -> Value {
    serde_json::from_str(&g.body).unwrap_or_else(|e| panic!("plain JSON ({e}): {}", g.body))
}

fn report(c: &Client, status: &str, at: &str) {
    c.ok("pls.parklot.status.update", json!({"parkLotNo": LOWER_SPACE, "status": status, "licensePlate": "粤B77777", "updateDate": at}));
}

/// A demo screen counting the lower floor's area (arrow right, drawn left of
/// the count); the other demo screen counts B05 by its group.
const LOWER_SCREEN: &str = "LN000000000000000001";

#[test]
fn a_space_change_lights_the_space_and_updates_the_screens_in_plain_json() {
    let aibee = Receiver::start();
    aibee.set_answers(OK, BUSY);
    let dir = temp_dir("aibee");
    let srv = Server::start_with(&dir, &["--push-retry-base-ms", "100"]);
    add_partner(&dir, "aibee", &aibee, "/api/setRedGreenLightStatus,/api/setGuideLedStatus");
    let c = srv.client();

    report(&c, "1", "2026-03-02 10:00:00");
    let got = aibee.wait_for(Duration::from_secs(20), "the light and a screen", |g| {
        g.iter().any(|x| x.path == "/api/setRedGreenLightStatus") && g.iter().any(|x| x.path == "/api/setGuideLedStatus")
    });
    let light = got.iter().find(|g| g.path == "/api/setRedGreenLightStatus").unwrap();
    assert!(serde_json::from_str::<Value>(&light.body).unwrap().get("sign").is_none(), "no envelope: {}", light.body);
    assert_eq!(body(light), json!({"devices": [{"deviceId": LOWER_SPACE, "status": 1, "color": 1}]}), "red: taken");
    let screens: Vec<Value> = got.iter().filter(|g| g.path == "/api/setGuideLedStatus").map(body).collect();
    let mut ids: Vec<&str> = screens.iter().map(|s| s["devices"][0]["deviceId"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, vec![LOWER_SCREEN, "LN000000000000000002"], "each screen counting the space, once");
    let dev = &screens.iter().find(|s| s["devices"][0]["deviceId"] == json!(LOWER_SCREEN)).unwrap()["devices"][0];
    assert_eq!(dev["deviceId"], json!(LOWER_SCREEN), "{dev}");
    assert_eq!((&dev["showInfo"]["direction"], &dev["showInfo"]["directionDisplay"], &dev["showInfo"]["directionPosition"]), (&json!("right"), &json!(1), &json!("left")), "{dev}");
    let taken = dev["showInfo"]["number"].as_i64().expect("a count");
    assert_eq!(dev["showInfo"]["color"], json!(if taken > 0 { "02" } else { "01" }));

    // Free again: green, and the screen's count goes back up by one (two
    // screens count the space: two screen commands per change).
    report(&c, "0", "2026-03-02 10:05:00");
    let got = aibee.wait_for(Duration::from_secs(20), "the freed space", |g| {
        g.iter().filter(|x| x.path == "/api/setRedGreenLightStatus").count() >= 2 && g.iter().filter(|x| x.path == "/api/setGuideLedStatus").count() >= 4
    });
    let lights: Vec<Value> = got.iter().filter(|g| g.path == "/api/setRedGreenLightStatus").map(body).collect();
    assert_eq!(lights[1]["devices"][0]["color"], json!(2), "green: free");
    let counts: Vec<i64> = got
        .iter()
        .filter(|g| g.path == "/api/setGuideLedStatus")
        .map(body)
        .filter(|b| b["devices"][0]["deviceId"] == dev["deviceId"])
        .map(|b| b["devices"][0]["showInfo"]["number"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, vec![taken, taken + 1], "{counts:?}");

    // A report that changes nothing sends nothing.
    let before = aibee.got().len();
    report(&c, "0", "2026-03-02 10:06:00");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(aibee.got().len(), before);
}

#[test]
fn an_aibee_that_is_down_gets_the_change_when_back_or_it_is_dead_lettered() {
    let aibee = Receiver::start();
    aibee.set_answers(OK, BUSY);
    aibee.fail_first(2);
    let dir = temp_dir("aibee-down");
    let srv = Server::start_with(&dir, &["--push-retry-base-ms", "100", "--push-max-attempts", "4"]);
    add_partner(&dir, "aibee", &aibee, "/api/setRedGreenLightStatus");
    let c = srv.client();

    report(&c, "1", "2026-03-02 10:00:00");
    let got = aibee.wait_for(Duration::from_secs(20), "the light after two refusals", |g| g.iter().any(|x| x.accepted));
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.iter().all(|g| g.body == got[0].body), "the same record each time");

    // Down for good: after the maximum attempts the change is a dead letter.
    aibee.set_down(true);
    report(&c, "0", "2026-03-02 10:05:00");
    aibee.wait_for(Duration::from_secs(20), "four attempts", |g| g.len() >= 7);
    let t0 = std::time::Instant::now();
    loop {
        let listed = onecard(&["dlq", "list", "--data-dir", dir.to_str().unwrap()]);
        if listed.contains("/api/setRedGreenLightStatus") {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "not dead-lettered: {listed}");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(srv);
}

#[test]
fn aibee_sync_announces_every_light_and_screen_with_its_state() {
    let aibee = Receiver::start();
    aibee.set_answers(OK, BUSY);
    let dir = temp_dir("aibee-sync");
    let srv = Server::start_with(&dir, &["--push-retry-base-ms", "100", "--push-tick-secs", "1"]);
    add_partner(&dir, "aibee", &aibee, "/api/setDeviceInfo,/api/setGuideLedStatus");
    let out = onecard(&["partners", "aibee-sync", "--data-dir", dir.to_str().unwrap(), "--branch", "1001"]);
    // The demo survey: 40 spaces and 2 screens announced, then the 2 screens' counts.
    assert!(out.contains("44 Aibee event(s) queued"), "{out}");
    // The outbox sweep publishes what the admin command wrote (after 30 s).
    let got = aibee.wait_for(Duration::from_secs(60), "the announcements", |g| g.iter().filter(|x| x.accepted).count() >= 44);
    let infos: Vec<Value> = got.iter().filter(|g| g.path == "/api/setDeviceInfo").map(body).collect();
    assert_eq!(infos.iter().filter(|i| i["deviceType"] == json!(1)).count(), 40);
    assert!(infos.iter().any(|i| i["deviceId"] == json!(LOWER_SPACE) && i["deviceType"] == json!(1)), "{infos:?}");
    assert!(infos.iter().any(|i| i["deviceId"] == json!(LOWER_SCREEN) && i["deviceType"] == json!(2)), "{infos:?}");
    assert_eq!(got.iter().filter(|g| g.path == "/api/setGuideLedStatus").count(), 2);
    assert!(got.iter().all(|g| g.path != "/api/setRedGreenLightStatus"), "only what Aibee subscribed to");
    drop(srv);
}
