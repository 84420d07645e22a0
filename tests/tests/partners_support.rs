//! Shared by the `partners_*` tests: data-only calls with the demo token, a
//! car parked some minutes ago, and branch-local times.

#![allow(dead_code)]

use onecard_tests::{http_with, Client, Server};
use serde_json::{json, Value};

/// Branch-local time `offset_minutes` from now (the demo branch is Asia/Shanghai).
pub fn local(offset_minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::minutes(offset_minutes)).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A data-only partner call (decision 11) with `token`: (HTTP status, body).
pub fn data_only_as(srv: &Server, token: &str, route: &str, body: &str) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let (st, _, text) = http_with(srv.port, "POST", &format!("/{route}"), &[("Authorization", &auth)], body).expect("http");
    (st, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{route} answered non-JSON ({e}): {text}")))
}

/// A data-only call with the demo caller's token; the answer must be HTTP 200.
pub fn data_only(srv: &Server, route: &str, body: &str) -> Value {
    let (st, v) = data_only_as(srv, "demo-token", route, body);
    assert_eq!(st, 200, "{route}: {v}");
    v
}

/// Records an entry (9.1) `minutes_ago`.
pub fn park(c: &Client, plate: &str, minutes_ago: i64) {
    let id = format!("E{}", rand::random::<u32>());
    c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": id, "licensePlate": plate, "inDate": local(-minutes_ago)}));
}

/// A monthly tariff for the demo's default car type, so cards can be issued.
pub fn month_tariff(c: &Client) -> Value {
    let types = c.ok("park.cartype.query", json!({}));
    let car_type = types.as_array().and_then(|a| a.first()).map(|t| t["carTypeId"].clone()).unwrap_or(json!(1));
    c.ok("park.monthtariff.add", json!({"tariffName": "月租", "carTypeId": car_type, "charge": "120"}))
}

/// Fen of a yuan string ("4.00").
pub fn fen(v: &Value) -> i64 {
    let s = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    (s.parse::<f64>().unwrap() * 100.0).round() as i64
}
