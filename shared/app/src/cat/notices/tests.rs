//! The notices 9.19-9.25 on the SQLite store: validation, the history item,
//! and the outbound event published with it.

use crate::push::testkit::{call, ctx};
use onecard_core::queue::EventQueue;
use onecard_core::store::Query;
use serde_json::{json, Value};
use std::time::Duration;

async fn published(q: &dyn EventQueue) -> Vec<onecard_core::queue::OutEvent> {
    q.receive(10, Duration::from_millis(50)).await.unwrap().into_iter().map(|r| r.event).collect()
}

fn dev(extra: Value) -> Value {
    let mut v = json!({"deviceID": "1", "controllerNo": "C0000001", "fullName": "大门入口", "time": "2020-07-08 17:31:59.999"});
    v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    v
}

#[tokio::test]
async fn every_notice_becomes_its_chapter_14_event() {
    let (ctx, q) = ctx().await;
    let cases = [
        ("cat.gate.state.notice", json!({"inOut": "0", "gateLimitState": "1", "coilGateState": 2}), "notify/parkGateState", json!({"inOut": "0", "gateLimitState": "1"})),
        ("cat.park.gateFault", json!({"ioFlag": 1, "gateFault": 4}), "notify/parkGateFault", json!({"ioFlag": "1", "gateFault": "4"})),
        ("cat.gate.gateStatus", json!({"ioFlag": 1, "gateStatus": 0}), "notify/gateStatus", json!({"ioFlag": "1", "gateStatus": "0"})),
        ("cat.gate.gateFault", json!({"ioFlag": "0", "gateFault": 3}), "notify/gateFault", json!({"ioFlag": "0", "gateFault": "3"})),
        ("cat.acss.doorStatus", json!({"doorno": 1, "doorStatus": 2}), "notify/acssDoorStatus", json!({"doorno": "1", "doorStatus": "1002"})),
        ("cat.acss.doorFault", json!({"doorno": 1, "doorFault": 2001}), "notify/acssDoorFault", json!({"doorno": "1", "doorFault": "2001"})),
    ];
    for (route, extra, out_route, want) in cases {
        call(&ctx, route, dev(extra)).await.unwrap_or_else(|e| panic!("{route}: {e}"));
        let evs = published(&*q).await;
        assert_eq!(evs.len(), 1, "{route}");
        let ev = &evs[0];
        assert_eq!(ev.route, out_route);
        assert_eq!(ev.branch, "1001");
        assert_eq!(ev.record["deviceID"], "1");
        assert_eq!(ev.record["time"], "2020-07-08 17:31:59.999");
        for (k, v) in want.as_object().unwrap() {
            assert_eq!(&ev.record[k], v, "{route}.{k}");
        }
        let hist = crate::cat::notices::list(&ctx, "1001", route).await.unwrap();
        assert_eq!(hist.len(), 1, "{route}");
        assert_eq!(hist[0]["event"], out_route);
    }
    // Published right after the commit: nothing left in the outbox.
    assert!(ctx.store.query_all(&Query::partition(onecard_core::events::outbox_pk("1001"))).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_fields_are_100001_and_record_nothing() {
    let (ctx, q) = ctx().await;
    let cases = [
        ("cat.gate.state.notice", json!({"inOut": "0", "gateLimitState": "9"}), "gateLimitState"),
        ("cat.gate.state.notice", json!({"inOut": "0"}), "gateLimitState"),
        ("cat.gate.state.notice", json!({"inOut": "3", "gateLimitState": 1}), "inOut"),
        ("cat.park.gateFault", json!({"ioFlag": 1, "doorFault": 0}), "gateFault"),
        ("cat.gate.gateStatus", json!({"ioFlag": 1, "gateStatus": "x"}), "gateStatus"),
        ("cat.acss.doorStatus", json!({"doorno": 1, "doorStatus": 7}), "doorStatus"),
        ("cat.acss.doorFault", json!({"doorFault": 0}), "doorno"),
        ("cat.car.inout.notice", json!({"inOut": "0", "plateNo": "粤B1", "image": "x"}), "plateColor"),
    ];
    for (route, extra, field) in cases {
        let e = call(&ctx, route, dev(extra)).await.unwrap_err();
        assert_eq!(e.code.0, 100001, "{route}");
        assert!(e.message.contains(&format!("'{field}'")), "{route}: {}", e.message);
    }
    let e = call(&ctx, "cat.acss.doorStatus", json!({"deviceID": "9", "controllerNo": "C9", "doorno": 1, "doorStatus": 0, "time": "2020-07-08 17:31:59"}))
        .await
        .unwrap_err();
    assert!(e.message.contains("'fullName'"), "{}", e.message);
    let e = call(&ctx, "cat.gate.gateStatus", dev(json!({"ioFlag": 1, "gateStatus": 1, "time": "yesterday"}))).await.unwrap_err();
    assert!(e.message.contains("'time'"), "{}", e.message);
    assert!(published(&*q).await.is_empty());
    assert!(ctx.store.query_all(&Query::partition(crate::keys::site_notices("1001"))).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_configured_lane_supplies_name_and_direction() {
    let (ctx, q) = ctx().await;
    // The agent's spelling: no fullName or inOut, `state` instead of gateLimitState.
    call(&ctx, "cat.gate.state.notice", json!({"deviceID": "2", "controllerNo": "C0000002", "state": "open", "time": "2026-01-01 10:00:00"}))
        .await
        .unwrap();
    let ev = published(&*q).await.remove(0);
    assert_eq!(ev.record["fullName"], "出口1");
    assert_eq!(ev.record["inOut"], "1");
    assert_eq!(ev.record["gateLimitState"], "1");
}

#[tokio::test]
async fn a_plate_read_with_a_picture_is_pushed_as_13_7() {
    let (ctx, blobs, q) = crate::pictures::tests::ctx_with_blobs().await;
    let pic = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let read = |image: &str| dev(json!({"inOut": "1", "plateNo": "粤 b12345", "plateColor": "蓝", "image": image}));
    call(&ctx, "cat.car.inout.notice", read(&format!("data:image/png;base64,{pic}"))).await.unwrap();
    let evs = published(&*q).await;
    assert_eq!(evs.len(), 1);
    let r = &evs[0].record;
    assert_eq!(evs[0].route, "report/parkInOutImage");
    assert_eq!((r["plateNo"].as_str(), r["eventType"].as_str()), (Some("粤B12345"), Some("2")));
    // Queued with the picture's key only; the push puts the base64 back.
    let key = r["plateImageKey"].as_str().unwrap().to_string();
    assert!(r.get("plateImage").is_none());
    assert_eq!(blobs.keys(), vec![key.clone()]);
    let pushed = crate::pictures::resolve_event(&ctx, &evs[0]).await.unwrap().unwrap();
    assert_eq!(pushed.record["plateImage"], pic);
    assert!(pushed.record.get("plateImageKey").is_none());
    assert_eq!(r["occurDate"], "2020-07-08 17:31:59.999");
    assert!(!r["cardInId"].as_str().unwrap().is_empty());
    // A path on the site's disk is recorded but cannot be pushed as a picture.
    call(&ctx, "cat.car.inout.notice", read(r"D:\pic\20200421\19\0a0ac6d0.jpg")).await.unwrap();
    assert!(published(&*q).await.is_empty());
    let hist = crate::cat::notices::list(&ctx, "1001", "cat.car.inout.notice").await.unwrap();
    assert_eq!(hist.len(), 2);
    // The seed's `image` is a path: a stored picture is answered as its URL.
    assert_eq!(hist[0]["notice"]["imageKey"], key.as_str());
    assert_eq!(hist[0]["notice"]["image"], format!("mem://{key}"));
    assert_eq!(hist[1]["notice"]["image"], r"D:\pic\20200421\19\0a0ac6d0.jpg");
    assert_eq!(hist[1]["event"], Value::Null);
}

#[tokio::test]
async fn the_agents_read_with_both_plate_spellings_is_taken_and_times_are_range_checked() {
    let (ctx, q) = ctx().await;
    // The agent's 9.19: `plateNo` and `licensePlate` both, `inOrOut`, a path for a picture.
    let read = json!({"deviceID": "1", "controllerNo": "C0000001", "plateNo": "粤 b12345", "licensePlate": "粤B12345",
        "plateColor": "unknown", "image": "none", "inOrOut": "0", "time": "2026-01-01 10:00:00.125", "open": "1", "text": "欢迎光临"});
    call(&ctx, "cat.car.inout.notice", read).await.unwrap();
    let hist = crate::cat::notices::list(&ctx, "1001", "cat.car.inout.notice").await.unwrap();
    assert_eq!(hist[0]["notice"]["plateNo"], "粤B12345");
    assert_eq!(hist[0]["notice"]["fullName"], "入口1");
    assert_eq!(hist[0]["notice"]["time"], "2026-01-01 10:00:00.125");
    // A time outside 2000..2099 is a typo, not a notice.
    let e = call(&ctx, "cat.gate.gateStatus", dev(json!({"ioFlag": 1, "gateStatus": 1, "time": "9999-12-31 23:59:59.000"}))).await.unwrap_err();
    assert_eq!(e.code.0, 100001);
    assert!(e.message.contains("'time'") && e.message.contains("outside"), "{}", e.message);
    assert!(published(&*q).await.is_empty());
}
