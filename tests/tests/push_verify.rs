//! 6.2.3: a caller configured with a verify URL is asked to confirm each
//! payment before `commit` records it; only "success" lets it through.

mod push_support;

use onecard_tests::{code, temp_dir, Client, Server};
use push_support::{onecard, Receiver};
use serde_json::{json, Value};

#[test]
fn commit_asks_the_callers_verify_url_first() {
    let verifier = Receiver::start();
    verifier.set_answers(r#"{"status":"success","errorCode":"null","time":"2026-01-01 00:00:00"}"#, r#"{"status":"fail","errorCode":"100001"}"#);
    verifier.set_down(true);
    let dir = temp_dir("push-verify");
    let srv = Server::start_with(&dir, &["--no-demo-site"]);
    let verify_url = format!("{}/api/v1/pay/request_verify", verifier.url());
    onecard(&["caller", "add", "--data-dir", dir.to_str().unwrap(), "--from", "hao", "--secret", "hao-secret", "--branches", "1001", "--verify-url", &verify_url]);
    let c = Client { port: srv.port, from: "hao".into(), secret: "hao-secret".into(), branch: "1001".into() };

    let plate = "浙AIV587";
    let entered = (chrono::Utc::now() + chrono::Duration::hours(8) - chrono::Duration::hours(3)).format("%Y-%m-%d %H:%M:%S").to_string();
    c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "880001", "licensePlate": plate, "inDate": entered}));
    let calc = c.ok("calc", json!({"credentialtype": "1", "credential": plate, "calcendtime": "1970-01-01 00:00:00"}));
    let cost = calc["parkcost"].as_str().unwrap().to_string();
    let order_no = calc["orderNo"].as_str().unwrap().to_string();
    assert!(!order_no.is_empty(), "{calc}");
    let pay = json!({"credentialtype": "1", "credential": plate, "parkcost": cost, "payType": "7", "orderNo": order_no,
                     "thirdPayId": "hao-77", "entertime": entered, "carno": plate});

    // Refused by the verifier: not recorded.
    let env = c.call("commit", pay.clone());
    assert_eq!(env["status"], json!(false), "{env}");
    assert!(env["message"].as_str().unwrap().contains("100001"), "{env}");
    let sent: Value = serde_json::from_str(&verifier.got()[0].body).unwrap();
    assert_eq!(verifier.got()[0].path, "/api/v1/pay/request_verify");
    // The table's `parkeost` and the evident `parkcost` are both sent (decision 17).
    assert_eq!(sent, json!({"orderId": order_no, "thirdPayId": "hao-77", "parkeost": cost, "parkcost": cost, "entertime": entered, "carNo": plate, "credential": plate}));
    // A commit that leaves out entertime and carno still sends the order's.
    let mut bare = pay.clone();
    bare.as_object_mut().unwrap().remove("entertime");
    bare.as_object_mut().unwrap().remove("carno");
    assert_eq!(c.call("commit", bare)["status"], json!(false));
    let sent: Value = serde_json::from_str(&verifier.got()[1].body).unwrap();
    assert_eq!((sent["entertime"].as_str(), sent["carNo"].as_str()), (Some(entered.as_str()), Some(plate)), "{sent}");
    let order = c.ok("park.order.get", json!({"orderNo": order_no}));
    assert_ne!(order["status"].to_string().trim_matches('"'), "1", "{order}");

    // Without thirdPayId there is nothing to verify: 100001 naming it.
    let mut no_id = pay.clone();
    no_id.as_object_mut().unwrap().remove("thirdPayId");
    let env = c.call("commit", no_id);
    assert_eq!(code(&env), 100001);
    assert!(env["message"].as_str().unwrap().contains("thirdPayId"), "{env}");

    // Confirmed: paid, once.
    verifier.set_down(false);
    let env = c.call("commit", pay.clone());
    assert_eq!(env["status"], json!(true), "{env}");
    // A paid order is refused before the verifier is asked again.
    let asked = verifier.got().len();
    assert_eq!(code(&c.call("commit", pay)), 511);
    assert_eq!(verifier.got().len(), asked, "a paid order was sent for verification");
    drop(srv);
}
