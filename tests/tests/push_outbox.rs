//! The outbox sweep against the real server: an event a previous version left
//! in the single legacy partition is still pushed, and an unreadable item in a
//! branch's partition is set aside (listed by `onecard dlq quarantined`)
//! instead of stopping the sweep.

mod push_support;

use onecard_adapters::sqlite_store::SqliteStore;
use onecard_core::queue::OutEvent;
use onecard_core::store::{Cond, Item, ItemStore};
use onecard_tests::{temp_dir, Server};
use push_support::{add_partner, onecard, Receiver};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_legacy_outbox_item_is_pushed_and_an_unreadable_one_set_aside() {
    let rx = Receiver::start();
    let dir = temp_dir("push-outbox");
    let srv = Server::start_with(&dir, &["--no-demo-site"]);
    add_partner(&dir, "acme", &rx, "notify/parkGateState");
    drop(srv);

    // What a crash left behind: ids that are long past the sweep's minimum age.
    let store = SqliteStore::open(&dir.join("onecard.db")).unwrap();
    let legacy = OutEvent {
        id: "0000000000001-legacy".into(),
        branch: "1001".into(),
        route: "notify/parkGateState".into(),
        record: json!({"deviceID": "1", "controllerNo": "C0000001", "fullName": "大门入口", "inOut": "0", "gateLimitState": "1", "time": "2026-01-01 10:00:00.000"}),
        at: "2026-01-01 10:00:00".into(),
    };
    store.put(Item::new("outbox", legacy.id.clone(), serde_json::to_value(&legacy).unwrap()), Cond::None).await.unwrap();
    // Sorts before everything: the old sweep returned on it.
    store.put(Item::new("outbox#1001", "0000000000000-bad", json!({"id": 1})), Cond::None).await.unwrap();
    drop(store);

    let srv = Server::start_with(&dir, &["--no-demo-site", "--push-tick-secs", "1"]);
    let got = rx.wait_for(Duration::from_secs(20), "the legacy event", |g| g.iter().any(|x| x.accepted));
    assert_eq!(got[0].id(), legacy.id);
    let listed = onecard(&["dlq", "quarantined", "--data-dir", dir.to_str().unwrap()]);
    assert!(listed.contains("outbox#1001\t0000000000000-bad") && listed.contains("1 quarantined outbox item(s)"), "{listed}");
    // Published once: the item is gone from the legacy partition.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(rx.got().len(), 1);
    drop(srv);
}
