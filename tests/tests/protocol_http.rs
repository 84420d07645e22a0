//! The chapter 5 protocol end to end against the real `onecard serve`.

use onecard_tests::{code, http, now_local, Server};
use serde_json::json;

#[test]
fn signed_request_succeeds_and_refusals_have_codes() {
    let srv = Server::start();
    let c = srv.client();

    let env = c.call("park.cartype.query", json!({}));
    assert_eq!(code(&env), 200, "{env}");
    assert!(env["time"].as_str().is_some_and(|t| t.len() == 19));
    // The demo seeds one default car type.
    assert_eq!(env["data"][0]["carTypeName"], json!("小型车"));
    assert_eq!(env["total"], json!(1));

    // Wrong secret, stale timestamp: 100003.
    let bad = c.body_raw("{}", &now_local(), "1", Some("wrong"));
    assert_eq!(code(&c.post_raw("park.cartype.query", &bad)), 100003);
    let old = (chrono::Utc::now() + chrono::Duration::hours(7)).format("%Y-%m-%d %H:%M:%S").to_string();
    assert_eq!(code(&c.post_raw("park.cartype.query", &c.body_raw("{}", &old, "2", None))), 100003);
    // A read sent twice is answered twice (decision 3: reads keep no marker).
    let once = c.body(&json!({"isDetails": "1"}));
    assert_eq!(code(&c.post_raw("park.cartype.query", &once)), 200);
    assert_eq!(code(&c.post_raw("park.cartype.query", &once)), 200);

    // Raw bytes: spacing inside data is signed as sent.
    let spaced = c.body_raw(r#"{ "isDetails" : "1" }"#, &now_local(), "3", None);
    assert_eq!(code(&c.post_raw("park.cartype.query", &spaced)), 200);

    // Malformed JSON and unknown routes still answer envelopes.
    let (st, text) = http(srv.port, "POST", "/api.aspx/park.cartype.query", r#"{"from":"demo", "data": {"#).unwrap();
    assert_eq!(st, 200);
    assert_eq!(code(&serde_json::from_str(&text).unwrap()), 100001);
    assert_eq!(code(&c.call("park.no.such.method", json!({}))), 404);

    // A missing required field names it.
    let env = c.call("park.cartype.add", json!({"height": "1.5"}));
    assert_eq!(code(&env), 100001);
    assert!(env["message"].as_str().unwrap().contains("carTypeName"), "{env}");

    // Unknown branch: 403.
    let mut other = c.clone();
    other.branch = "no-such-branch".into();
    assert_eq!(code(&other.call("park.cartype.query", json!({}))), 403);

    // Every route of the spec is built now; the 501 a route without a
    // handler answers is checked in `onecard_core::dispatch_tests`.
}

#[test]
fn car_types_round_trip_with_one_default() {
    let srv = Server::start();
    let c = srv.client();
    let id = c.ok("park.cartype.add", json!({"carTypeName": "大型车", "height": 3.2, "storedLtd": true}))["carTypeId"].as_i64().unwrap();
    let rows = c.ok("park.cartype.query", json!({"carTypeID": id, "isDetails": true}));
    assert_eq!(rows[0]["carTypeName"], json!("大型车"));
    assert_eq!(rows[0]["storedLtd"], json!(true));
    assert_eq!(rows[0]["height"], json!(3.2));
    // A second default is refused, naming the field.
    let env = c.call("park.cartype.add", json!({"carTypeName": "x", "defaultCharge": true}));
    assert_eq!(code(&env), 100001);
    assert!(env["message"].as_str().unwrap().contains("defaultCharge"));
    c.ok("park.cartype.update", json!({"carTypeId": id, "carTypeName": "大车"}));
    c.ok("park.cartype.delete", json!({"carTypeId": id}));
    assert_eq!(c.ok("park.cartype.query", json!({"carTypeID": id})), json!([]));
    assert_eq!(code(&c.call("park.cartype.delete", json!({"carTypeId": id}))), 100001);
}

#[test]
fn paging_and_layout() {
    let srv = Server::start();
    let c = srv.client();
    for i in 0..5 {
        c.ok("park.cartype.add", json!({"carTypeName": format!("t{i}")}));
    }
    let body = c.body(&json!({}));
    let body = format!("{},\"queryFormat\":{{\"rowindex\":2,\"pagesize\":2}}}}", &body[..body.len() - 1]);
    let env = c.post_raw("park.cartype.query", &body);
    assert_eq!(env["rowindex"], json!(2));
    assert_eq!(env["total"], json!(6));
    assert_eq!(env["data"].as_array().unwrap().len(), 2);
    let ctrls = c.ok("park.controllers", json!({}));
    assert_eq!(ctrls[1], json!({"controllerNo": "C0000002", "fullName": "出口1", "deviceID": "2"}));
    assert_eq!(c.ok("park.area.list", json!({}))[0]["areaId"], json!(1));
    c.ok("hb", json!({"no": "1", "name": "site", "localip": "10.0.0.2", "port": "9022", "pk": "k"}));
}
