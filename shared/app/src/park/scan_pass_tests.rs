//! Scan-to-enter and scan-to-exit against a scripted site link.

use crate::park::hardware::tests::{ack, call, ctx_with, FakeSites};
use crate::park::stays;
use onecard_core::link::ack_code;
use serde_json::json;

#[tokio::test]
async fn scan_to_enter_decides_opens_and_records_once() {
    let sites = FakeSites::ok();
    let (ctx, _) = ctx_with(sites.clone()).await;
    let scan = json!({"deviceId": "1", "credentialType": "1", "credential": "浙 aiv587", "openId": "10000", "scanTool": "1"});
    let r = call(&ctx, "park.in.notice", scan.clone()).await.unwrap();
    assert_eq!(r.data["result"], json!("0"), "{:?}", r);
    assert_eq!(r.data["indate"].as_str().map(str::len), Some(19));
    let (stay, _) = stays::in_park(&ctx, "1001", 1, "浙AIV587").await.unwrap().expect("the entry is recorded");
    assert_eq!(stay.user_id.as_deref(), Some("10000"));
    assert_eq!(stay.in_controller_no, "C0000001");
    assert_eq!(sites.sent().len(), 1);
    assert_eq!((sites.sent()[0].device.as_str(), sites.sent()[0].action.as_str()), ("1", "gate.open"));

    // Scanning again: the car is already inside; the gate stays shut.
    let again = call(&ctx, "park.in.notice", scan).await.unwrap();
    assert_eq!(again.data["result"], json!("2"));
    // An exit lane never admits.
    let wrong = call(&ctx, "park.in.notice", json!({"deviceID": "2", "credentialType": 1, "credential": "浙B00001"})).await.unwrap();
    assert_eq!(wrong.data["result"], json!("3"));
    assert_eq!(sites.sent().len(), 1);
}

#[tokio::test]
async fn a_gate_that_stays_shut_records_no_entry() {
    let sites = FakeSites::new(|c| Ok(ack(c, ack_code::DEVICE_TIMEOUT)));
    let (ctx, _) = ctx_with(sites).await;
    let e = call(&ctx, "park.in.notice", json!({"deviceID": "1", "credentialType": "1", "credential": "浙A00002"})).await.unwrap_err();
    assert_eq!(e.code.0, 620);
    assert!(stays::in_park(&ctx, "1001", 1, "浙A00002").await.unwrap().is_none());
}

#[tokio::test]
async fn scan_to_exit_finds_the_stay_or_says_why_not() {
    let sites = FakeSites::ok();
    let (ctx, _) = ctx_with(sites.clone()).await;
    let r = call(&ctx, "park.out.notice", json!({"deviceID": "2", "credentialType": "1", "credential": "浙C99999"})).await.unwrap();
    assert_eq!(r.data["result"], json!("2"));
    let r = call(&ctx, "park.out.notice", json!({"deviceID": "2", "credentialType": "1", "openId": "nobody"})).await.unwrap();
    assert_eq!(r.data["result"], json!("1"));
    let r = call(&ctx, "park.out.notice", json!({"deviceID": "1", "credentialType": "1", "credential": "浙C99999"})).await.unwrap();
    assert_eq!(r.data["result"], json!("5"));
    assert!(sites.sent().is_empty());

    call(&ctx, "park.in.notice", json!({"deviceID": "1", "credentialType": "1", "credential": "浙C12345", "openId": "u1"})).await.unwrap();
    let r = call(&ctx, "park.out.notice", json!({"deviceID": "2", "credentialType": "1", "credential": "浙C12345", "openId": "u2"})).await.unwrap();
    assert_eq!(r.data["result"], json!("4"), "openId of another driver");
    // Right after entering nothing is due: the car leaves and its stay closes.
    let r = call(&ctx, "park.out.notice", json!({"deviceID": "2", "credentialType": "1", "credential": "浙C12345"})).await.unwrap();
    assert_eq!(r.data["result"], json!("0"), "{:?}", r);
    assert_eq!(r.data["carno"], json!("浙C12345"));
    assert_eq!(r.data["parkcost"], json!("0.00"));
    assert!(stays::in_park(&ctx, "1001", 1, "浙C12345").await.unwrap().is_none());
    let acts: Vec<String> = sites.sent().iter().map(|c| format!("{}:{}", c.device, c.action)).collect();
    assert_eq!(acts, vec!["1:gate.open", "2:gate.open"]);
}

#[tokio::test]
async fn bad_scans_name_the_field() {
    let (ctx, _) = ctx_with(FakeSites::ok()).await;
    for (data, field) in [
        (json!({"deviceID": "1", "credential": "浙A1"}), "credentialType"),
        (json!({"deviceID": "1", "credentialType": "7", "credential": "浙A1"}), "credentialType"),
        (json!({"deviceID": "1", "credentialType": "1"}), "credential"),
        (json!({"credentialType": "1", "credential": "浙A1"}), "deviceID"),
    ] {
        let e = call(&ctx, "park.in.notice", data).await.unwrap_err();
        assert_eq!(e.code.0, 100001);
        assert!(e.message.contains(field), "{} should name {field}", e.message);
    }
}

#[tokio::test]
async fn a_scanned_plate_is_a_plate_and_pass_times_are_range_checked() {
    let (ctx, _) = ctx_with(FakeSites::ok()).await;
    let e = call(&ctx, "park.in.notice", json!({"deviceID": "1", "credentialType": "1", "credential": "浙A1234567890123456789"})).await.unwrap_err();
    assert_eq!(e.code.0, 100001);
    assert!(e.message.contains("'credential'"), "{}", e.message);
    let e = call(&ctx, "cat.pass.validate", json!({"deviceID": "1", "carNo": "浙A12345", "passTime": "2150-01-01 00:00:00", "inOutFlag": "1"})).await.unwrap_err();
    assert!(e.message.contains("'passTime'"), "{}", e.message);
    // The sentinel still means now.
    let r = call(&ctx, "cat.pass.validate", json!({"deviceID": "1", "carNo": "浙 a12345", "passTime": "1970-01-01 00:00:00", "inOutFlag": "1"})).await.unwrap();
    // 9.18 echoes the plate as sent.
    assert_eq!((r.data["carNo"].as_str(), r.data["passFlag"].as_str()), (Some("浙 a12345"), Some("1")));
}
