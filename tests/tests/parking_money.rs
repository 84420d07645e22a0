//! Who sets the price, end to end against the real `onecard serve`
//! (decisions 14, 15; seed 6.1/6.2): a past `calcendtime` only quotes, an
//! amount below the fee needs a reason, and a seed client that pays without
//! `orderNo` pays the fee due now, once.

use onecard_tests::{code, Server};
use serde_json::json;

fn local(offset_minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::minutes(offset_minutes)).format("%Y-%m-%d %H:%M:%S").to_string()
}

#[test]
fn a_past_calcendtime_quotes_and_a_seed_client_pays_without_an_order_once() {
    let srv = Server::start();
    let c = srv.client();
    let plate = "粤M10001";
    c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "990001", "licensePlate": plate, "inDate": local(-180)}));

    // A calc of an hour ago: the fee, but nothing to pay it with.
    let quote = c.ok("calc", json!({"credentialtype": "1", "credential": plate, "calcendtime": local(-60)}));
    assert!(quote.get("orderNo").is_none() && quote.get("calcId").is_none(), "{quote}");
    // Its lower price cannot be paid: the order-less commit prices now.
    let env = c.call("commit", json!({"credentialtype": "1", "credential": plate, "parkcost": quote["parkcost"], "payType": "7"}));
    assert_eq!(code(&env), 100001, "{env}");
    assert!(env["message"].as_str().unwrap().contains("parkcost"), "{env}");

    let now = c.ok("calc", json!({"credentialtype": "1", "credential": plate, "calcendtime": "1970-01-01 00:00:00"}));
    let cost = now["parkcost"].as_str().unwrap().to_string();
    assert_ne!(cost, "0.00");
    // Less than the fee with no reason: refused, naming amount.
    let env = c.call("commit", json!({"credentialtype": "1", "credential": plate, "parkcost": cost, "amount": "0.01", "payType": "7"}));
    assert_eq!(code(&env), 100001, "{env}");
    assert!(env["message"].as_str().unwrap().contains("amount"), "{env}");

    // The seed's flow: credential and fee, no orderNo.
    let pay = json!({"credentialtype": "1", "credential": plate, "parkcost": cost, "amount": cost, "payType": "7", "thirdPayId": "wx-seed-e2e"});
    let paid = c.ok("commit", pay.clone());
    assert_eq!(paid["flag"], "1", "{paid}");
    assert_eq!(code(&c.call("commit", pay)), 511);
    let orders = c.ok("park.order.list", json!({"CredentialType": "1", "Credential": plate}));
    assert_eq!(orders.as_array().unwrap().len(), 1, "{orders}");
    assert_eq!(orders[0]["parkcost"], json!(cost));
    // An order number never issued: 510.
    let env = c.call("commit", json!({"credentialtype": "1", "credential": plate, "parkcost": "0.00", "orderNo": "CA-never"}));
    assert_eq!(code(&env), 510, "{env}");
}
