//! Every event type the server emits reaches a subscribed partner on loopback
//! as a signed chapter 5 envelope with the right record.

mod push_support;

use onecard_tests::{temp_dir, Server};
use push_support::{add_partner, Got, Receiver, SECRET};
use serde_json::{json, Value};
use std::time::Duration;

const PIC: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

fn one(rx: &Receiver, route: &str) -> Got {
    let path = format!("/{route}");
    let got = rx.wait_for(Duration::from_secs(15), route, |g| g.iter().any(|x| x.path == path));
    let g = got.into_iter().find(|x| x.path == path).unwrap();
    assert!(g.signed_by("PARK", SECRET), "{route}: signature does not verify: {}", g.body);
    let env = g.envelope();
    assert_eq!(env.branchno.as_deref(), Some("1001"), "{route}");
    let v: Value = serde_json::from_str(&g.body).unwrap();
    // Decision 17: nonce a random 0-99, the event id in `id`.
    let nonce: u32 = env.nonce.as_deref().and_then(|n| n.parse().ok()).unwrap_or(u32::MAX);
    assert!(nonce < 100, "{route}: nonce {:?}", env.nonce);
    let id = v["id"].as_str().unwrap_or_default();
    assert!(id.len() > 14 && id[..13].bytes().all(|b| b.is_ascii_digit()) && id.as_bytes()[13] == b'-', "{route}: event id {id:?}");
    assert!(!g.id().is_empty());
    g
}

fn has(rec: &Value, want: Value) {
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(&rec[k], v, "field {k} of {rec}");
    }
}

#[test]
fn every_event_type_is_pushed_signed_with_its_record() {
    let rx = Receiver::start();
    let dir = temp_dir("push-events");
    let srv = Server::start_with(&dir, &["--no-demo-site", "--push-retry-base-ms", "100", "--push-tick-secs", "1"]);
    add_partner(&dir, "acme", &rx, "*");
    let c = srv.client();

    // 14.2-14.7 from the site's notices 9.20-9.25.
    let dev = |extra: Value| {
        let mut v = json!({"deviceID": "1", "controllerNo": "C0000001", "fullName": "大门入口", "time": "2020-07-08 17:31:59.999"});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };
    c.ok("cat.gate.state.notice", dev(json!({"inOut": "0", "gateLimitState": "3"})));
    c.ok("cat.park.gateFault", dev(json!({"ioFlag": "0", "gateFault": "1"})));
    c.ok("cat.gate.gateStatus", dev(json!({"ioFlag": "1", "gateStatus": "4"})));
    c.ok("cat.gate.gateFault", dev(json!({"ioFlag": "1", "gateFault": "2"})));
    c.ok("cat.acss.doorStatus", dev(json!({"doorno": "2", "doorStatus": "1"})));
    c.ok("cat.acss.doorFault", dev(json!({"doorno": "2", "doorFault": "2001"})));
    c.ok("cat.car.inout.notice", dev(json!({"inOut": "0", "plateNo": "粤B12345", "plateColor": "蓝", "image": PIC})));
    let common = json!({"deviceID": "1", "controllerNo": "C0000001", "fullName": "大门入口", "time": "2020-07-08 17:31:59.999"});
    has(&one(&rx, "notify/parkGateState").record(), json!({"inOut": "0", "gateLimitState": "3"}));
    has(&one(&rx, "notify/parkGateState").record(), common.clone());
    has(&one(&rx, "notify/parkGateFault").record(), json!({"ioFlag": "0", "gateFault": "1"}));
    has(&one(&rx, "notify/gateStatus").record(), json!({"ioFlag": "1", "gateStatus": "4"}));
    has(&one(&rx, "notify/gateFault").record(), json!({"ioFlag": "1", "gateFault": "2"}));
    has(&one(&rx, "notify/acssDoorStatus").record(), json!({"doorno": "2", "doorStatus": "1001"}));
    has(&one(&rx, "notify/acssDoorFault").record(), json!({"doorno": "2", "doorFault": "2001"}));
    has(&one(&rx, "report/parkInOutImage").record(), json!({"plateNo": "粤B12345", "eventType": "1", "plateImage": PIC}));

    // 13.9 on the schedule (every second here).
    has(&one(&rx, "report/parkHeartbeat").record(), json!({"branchno": "1001"}));

    // 13.8 when a temporary tariff is added, 13.2 on entry, 13.4 on payment,
    // 13.3 on exit.
    let added = c.ok("park.cartype.add", json!({"carTypeName": "推送测试车"}));
    let car_type = added["carTypeId"].as_str().map(str::to_string).unwrap_or_else(|| added["carTypeId"].to_string());
    let tariff = json!({
        "areaNo": "FFFFFFFF", "carTypeId": car_type, "chargeMode": 1, "midnight": "1970-01-01 00:00:00", "maxCharge": "40", "stayOver": "0",
        "timeNumber": 1,
        "chargePeriod": [{"periodName": "all", "stTime": "1970-01-01 00:00:00", "endTime": "1970-01-01 00:00:00", "freeMinutes": 0,
            "fstSectTime": 60, "fstSectCharge": 5, "sectTime": 60, "sectCharge": 2, "maxCharge": 0, "fixCharge": 0}]
    });
    c.ok("park.temporarytariff.add", tariff);
    let rule = one(&rx, "report/parkTempCarChargeRule").record();
    assert_eq!(rule["carTypeID"].to_string().trim_matches('"'), car_type, "{rule}");
    assert!(rule["description"].as_str().is_some_and(|d| !d.is_empty()), "{rule}");

    let plate = "粤B54321";
    let entered = (chrono::Utc::now() + chrono::Duration::hours(8) - chrono::Duration::hours(3)).format("%Y-%m-%d %H:%M:%S").to_string();
    c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "777001", "licensePlate": plate, "inDate": entered, "controllerNo": "C0000001"}));
    has(&one(&rx, "report/parkInData").record(), json!({"cardInId": "777001", "plateNo": plate, "inDate": entered}));

    let calc = c.ok("calc", json!({"credentialtype": "1", "credential": plate, "calcendtime": "1970-01-01 00:00:00", "carType": car_type}));
    let cost = calc["parkcost"].as_str().unwrap().to_string();
    assert_ne!(cost, "0.00", "{calc}");
    c.ok(
        "commit",
        json!({"credentialtype": "1", "credential": plate, "parkcost": cost, "amount": cost, "payType": "7",
               "orderNo": calc["orderNo"], "thirdPayId": "wx-1"}),
    );
    let charge = one(&rx, "report/parkTempCarCharge").record();
    assert_eq!(charge["plateNo"], plate, "{charge}");
    assert_eq!(charge["cardInId"], "777001", "{charge}");
    // Decision 17: the table's and the example's spellings, same values; the
    // same parktime as 6.26 reports for the order.
    for (lower, camel) in [("entertime", "enterTime"), ("parktime", "parkTime"), ("parkcost", "parkCost"),
                           ("calcstarttime", "calcStartTime"), ("calcendtime", "calcEndTime")] {
        assert!(charge[lower].is_string() && charge[lower] == charge[camel], "{lower}/{camel}: {charge}");
    }
    let order = c.ok("park.order.get", json!({"orderNo": calc["orderNo"]}));
    assert_eq!(order["parktime"], charge["parktime"], "{order} {charge}");

    let left = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M:%S").to_string();
    c.ok("cat.upload.outdata", json!({"areaId": "1", "cardInId": "777001", "licensePlate": plate, "outDate": left, "controllerNo": "C0000002"}));
    has(&one(&rx, "report/parkOutdata").record(), json!({"cardInId": "777001", "plateNo": plate, "inDate": entered}));

    // 13.5 on a monthly renewal.
    let mt = c.ok("park.monthtariff.add", json!({"tariffName": "推送月租", "carTypeId": car_type, "charge": "120.00"}));
    let card = c.ok(
        "pub.card.add",
        json!({"NumNo": "粤B66666", "Park": {"TariffID": mt["tariffId"], "StartDate": "2026-01-01 00:00:00", "ExpiryDate": "2026-01-31 23:59:59"}}),
    );
    c.ok("park.mcard.charge", json!({"credentialtype": "1", "credential": "粤B66666", "number": "1", "paytype": 7, "thirdPayId": "wx-m1"}));
    let renewal = one(&rx, "report/parkMonthlyCarCharge").record();
    assert_eq!(renewal["plateNo"], "粤B66666", "{renewal}");
    assert_eq!(renewal["cardNo"], card["CardNo"], "{renewal}");
    assert_eq!(renewal["curExpiry"], "2026-02-28 23:59:59", "{renewal}");

    // Each event once: the id is distinct per event, never repeated.
    let ids: Vec<String> = rx.accepted().iter().filter(|g| g.path != "/report/parkHeartbeat").map(Got::id).collect();
    let mut uniq = ids.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(ids.len(), uniq.len(), "an event was pushed twice: {ids:?}");
    drop(srv);
}

#[test]
fn a_gate_opened_by_command_is_pushed_as_an_abnormal_opening() {
    let rx = Receiver::start();
    let dir = temp_dir("push-gate");
    // With the simulated demo site, so that the gate command is acknowledged.
    let srv = Server::start_with(&dir, &["--push-retry-base-ms", "100"]);
    add_partner(&dir, "acme", &rx, "report/parkAbnormalOpenGate");
    let c = srv.client();
    let t0 = std::time::Instant::now();
    loop {
        let env = c.call("park.gate.open", json!({"deviceID": "2"}));
        if env["status"] == json!(true) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(15), "park.gate.open never succeeded: {env}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let rec = one(&rx, "report/parkAbnormalOpenGate").record();
    has(&rec, json!({"controllerNo": "C0000002", "controllerName": "出口1", "ioFlag": "2", "abnormalType": "1", "abnormalName": "手工开闸", "operId": "demo"}));
    assert!(rec["occurDate"].as_str().is_some_and(|t| t.len() == 23), "{rec}");
    drop(srv);
}
