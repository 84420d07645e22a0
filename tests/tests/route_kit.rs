//! The route kit's pipeline end to end against the real `onecard serve`:
//! idempotent writes, marker-free reads, body limits, data-only tokens, the
//! OpenAPI document and the test clock.

use onecard_tests::{code, http, http_with, Server};
use serde_json::{json, Value};

#[test]
fn the_same_signed_write_is_done_once_and_answered_alike() {
    let srv = Server::start();
    let c = srv.client();
    let body = c.body(&json!({"carTypeName": "重复车型"}));
    let first = c.post_raw("park.cartype.add", &body);
    let second = c.post_raw("park.cartype.add", &body);
    assert_eq!(code(&first), 200, "{first}");
    assert_eq!(first, second, "the repeat answers the first answer, unchanged");
    let rows = c.ok("park.cartype.query", json!({}));
    let made = rows.as_array().unwrap().iter().filter(|r| r["carTypeName"] == json!("重复车型")).count();
    assert_eq!(made, 1, "and makes one car type: {rows}");
    // The same signature on another route is another request.
    assert_eq!(code(&c.post_raw("park.cartype.query", &body)), 200);
}

#[test]
fn a_burst_of_reads_with_the_seeds_small_nonces_is_never_refused() {
    let srv = Server::start();
    let c = srv.client();
    // The seed's nonce is 0-99 with one-second timestamps: a busy caller reuses
    // (timestamp, nonce) pairs. Reads keep no marker, so none is refused.
    for _ in 0..3 {
        for route in ["park.cartype.query", "park.lot.status.total", "park.area.list", "park.controllers"] {
            let body = c.body_raw("{}", &onecard_tests::now_local(), "7", None);
            let env = c.post_raw(route, &body);
            assert_eq!(code(&env), 200, "{route}: {env}");
        }
    }
}

#[test]
fn a_body_over_the_limit_answers_413_and_the_server_stays_up() {
    let srv = Server::start();
    let c = srv.client();
    let big = c.body(&json!({"pad": "x".repeat(300 * 1024)}));
    let (st, text) = http(srv.port, "POST", "/api.aspx/park.lot.status.total", &big).unwrap();
    assert_eq!(st, 413, "{}", &text[..text.len().min(200)]);
    let env: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(env["code"], json!(100001));
    assert_eq!(code(&c.call("park.lot.status.total", json!({}))), 200, "still serving");
}

#[test]
fn pagesize_is_capped() {
    let srv = Server::start();
    let c = srv.client();
    for i in 0..3 {
        c.ok("park.cartype.add", json!({"carTypeName": format!("页{i}")}));
    }
    let body = c.body_raw("{}", &onecard_tests::now_local(), "9", None);
    let mut env: Value = serde_json::from_str(&body).unwrap();
    env["queryFormat"] = json!({"rowindex": 1, "pagesize": 1_000_000});
    let out = c.post_raw("park.cartype.query", &env.to_string());
    assert_eq!(code(&out), 200, "{out}");
    assert_eq!(out["rowindex"], json!(1));
    assert_eq!(out["total"], json!(4));
    assert_eq!(out["data"].as_array().unwrap().len(), 3);
}

#[test]
fn data_only_routes_answer_401_without_a_token_and_refuse_in_the_partners_shape() {
    let srv = Server::start();
    let route = "/maoku/Maoku.GetTraffic";
    let (st, _, _) = http_with(srv.port, "POST", route, &[], "{}").unwrap();
    assert_eq!(st, 401);
    let (st, _, _) = http_with(srv.port, "POST", route, &[("Authorization", "Bearer nope")], "{}").unwrap();
    assert_eq!(st, 401);
    // Every data-only route is built (issue 18): a missing field is refused
    // in Maoku's own shape, naming it.
    let (st, _, body) = http_with(srv.port, "POST", route, &[("Authorization", "Bearer demo-token")], "{}").unwrap();
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["resCode"], json!(1), "{v}");
    assert!(v["resMsg"].as_str().unwrap().contains("startTime"), "{v}");
    let (st, _, _) = http_with(srv.port, "POST", &format!("{route}?token=demo-token"), &[], "{}").unwrap();
    assert_eq!(st, 200);
}

#[test]
fn openapi_lists_every_inbound_route() {
    let srv = Server::start();
    let (st, _, body) = http_with(srv.port, "GET", "/openapi.json", &[], "").unwrap();
    assert_eq!(st, 200);
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["openapi"], json!("3.1.0"));
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 262);
    let calc = &paths["/api.aspx/calc"]["post"];
    assert_eq!(calc["x-built"], json!(true));
    assert!(calc["x-handler"].as_str().unwrap().contains("fees"), "{calc}");
    // A route is marked built exactly when it is off the pending list.
    for (path, ops) in paths {
        let route = path.trim_start_matches("/api.aspx/");
        let built = ops.as_object().unwrap().values().all(|op| op["x-built"] == json!(true));
        assert_eq!(built, !onecard_app::pending::PENDING.contains(&route), "{path}");
    }
}

#[test]
fn routes_are_found_in_any_case() {
    let srv = Server::start();
    let c = srv.client();
    let env = c.post_raw("PARK.CarType.Query", &c.body(&json!({})));
    assert_eq!(code(&env), 200, "{env}");
}

#[test]
fn the_test_clock_moves_the_servers_time() {
    let dir = onecard_tests::temp_dir("clock");
    let srv = Server::start_with(&dir, &["--test-clock", "--no-demo-site"]);
    let c = srv.client();
    let (st, _) = http(srv.port, "POST", "/_test/clock?offset_secs=86400", "").unwrap();
    assert_eq!(st, 200);
    // The server is a day ahead: a request stamped now is 86,400 s off.
    let env = c.call("park.cartype.query", json!({}));
    assert_eq!(code(&env), 100003, "{env}");
    http(srv.port, "POST", "/_test/clock?offset_secs=0", "").unwrap();
    assert_eq!(code(&c.call("park.cartype.query", json!({}))), 200);
}

#[test]
fn the_test_clock_is_off_unless_asked() {
    let srv = Server::start();
    let (st, _) = http(srv.port, "POST", "/_test/clock?offset_secs=5", "").unwrap();
    assert_eq!(st, 404);
}
