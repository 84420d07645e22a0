//! 9.1/9.2 refusals the typed inputs add, and what a passage keeps.

use crate::park::hardware::tests::{call, ctx_with, FakeSites};
use onecard_core::store::Query;
use serde_json::json;

#[tokio::test]
async fn upload_times_outside_the_century_are_refused() {
    let (ctx, _) = ctx_with(FakeSites::ok()).await;
    let e = call(&ctx, "cat.upload.indata", json!({"areaId": "1", "cardInId": "1", "licensePlate": "粤A1", "inDate": "9999-12-31 00:00:00"})).await.unwrap_err();
    assert_eq!(e.code.0, 100001);
    assert!(e.message.contains("'inDate'"), "{}", e.message);
    let e = call(&ctx, "cat.upload.outdata", json!({"areaId": "1", "cardInId": "1", "outDate": "1999-12-31 23:59:59"})).await.unwrap_err();
    assert!(e.message.contains("'outDate'"), "{}", e.message);
    let e = call(&ctx, "cat.upload.indata", json!({"areaId": "1", "cardInId": "1", "licensePlate": "粤A1", "inDate": "2026-03-02 09:00:00", "sourceType": 3})).await.unwrap_err();
    assert!(e.message.contains("'sourceType'"), "{}", e.message);
}

#[tokio::test]
async fn a_door_passage_keeps_the_whole_record() {
    let (ctx, _) = ctx_with(FakeSites::ok()).await;
    let rec = json!({"areaId": "1", "cardInId": "D1", "cardNo": "0001", "inDate": "2026-03-02 09:00:00", "sourceType": "1", "username": "张三", "openmode": "3"});
    let r = call(&ctx, "cat.upload.indata", rec).await.unwrap();
    assert_eq!(r.data, json!({}));
    let rows = ctx.store.query_all(&Query::partition(crate::keys::passages("1001"))).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].sk, "1#D1#in");
    let kept = &rows[0].body["record"];
    assert_eq!((kept["cardNo"].as_str(), kept["username"].as_str(), kept["openmode"].as_str()), (Some("0001"), Some("张三"), Some("3")));
    assert_eq!(rows[0].body["sourceType"], json!(1));
}
