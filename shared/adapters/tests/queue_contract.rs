//! One contract, two queues: every case runs against EmbeddedQueue and against
//! SqsQueue on an SQS-compatible server (ONECARD_SQS_ENDPOINT).

mod common;

use onecard_adapters::{EmbeddedQueue, SqsQueue};
use onecard_core::queue::{EventQueue, OutEvent, Received};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Queue = Arc<dyn EventQueue>;

/// Short, so "comes back after the visibility timeout" is quick to observe;
/// whole seconds because SQS counts in seconds.
const VISIBILITY: Duration = Duration::from_secs(2);

async fn open_embedded() -> Option<Queue> {
    let path = common::temp_dir("queue").join("onecard.db");
    Some(Arc::new(EmbeddedQueue::with_visibility(&path, VISIBILITY).expect("open queue")))
}

/// The queue in the store's database, written through the store's writer.
async fn open_on_store() -> Option<Queue> {
    let path = common::temp_dir("queue-on-store").join("onecard.db");
    let store = onecard_adapters::SqliteStore::open(&path).expect("open store");
    Some(Arc::new(EmbeddedQueue::on_store_with_visibility(&store, VISIBILITY).await.expect("open queue")))
}

/// A fresh queue per test, so cases never see each other's messages.
async fn open_sqs() -> Option<Queue> {
    let endpoint = common::endpoint("ONECARD_SQS_ENDPOINT", "ONECARD_SKIP_SQS", "infra/scripts/sqs-local.sh")?;
    let client = onecard_adapters::emulator::sqs_client(&endpoint);
    let url = SqsQueue::create_queue(&client, &common::unique("onecard-contract"))
        .await
        .expect("create queue");
    Some(Arc::new(SqsQueue::new(client, url).with_visibility_timeout(VISIBILITY)))
}

fn event(n: u32) -> OutEvent {
    OutEvent {
        id: format!("ev-{n}-{}", uuid::Uuid::new_v4().simple()),
        branch: "B001".into(),
        route: "report/parkInData".into(),
        record: json!({"plate": "粤B12345", "n": n}),
        at: "2026-11-28 14:00:00".into(),
    }
}

/// Receives until `n` messages arrived or `within` passed.
async fn receive_n(q: &Queue, n: usize, within: Duration) -> Vec<Received> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        got.extend(q.receive(10, Duration::from_secs(1)).await.expect("receive"));
    }
    got
}

async fn nothing_visible(q: &Queue) {
    let got = q.receive(10, Duration::ZERO).await.expect("receive");
    assert!(got.is_empty(), "unexpected delivery: {got:?}");
}

mod cases {
    use super::*;

    pub async fn publish_receive_ack(q: Queue) {
        let ev = event(1);
        q.publish(&ev).await.unwrap();
        let got = receive_n(&q, 1, Duration::from_secs(5)).await;
        assert_eq!(got.len(), 1);
        assert_eq!((&got[0].event, got[0].receive_count), (&ev, 1));
        q.ack(&got[0].receipt).await.unwrap();
        tokio::time::sleep(VISIBILITY + Duration::from_millis(500)).await;
        nothing_visible(&q).await;
    }

    pub async fn release_with_delay(q: Queue) {
        let ev = event(2);
        q.publish(&ev).await.unwrap();
        let first = receive_n(&q, 1, Duration::from_secs(5)).await;
        assert_eq!(first.len(), 1);
        // Longer than the visibility timeout, to show the delay is what counts.
        let delay = VISIBILITY + Duration::from_secs(1);
        q.release(&first[0].receipt, delay).await.unwrap();
        let released = Instant::now();
        nothing_visible(&q).await;
        let again = receive_n(&q, 1, delay + Duration::from_secs(5)).await;
        assert_eq!(again.len(), 1);
        assert!(released.elapsed() >= delay - Duration::from_millis(1100), "back too early");
        assert_eq!((&again[0].event, again[0].receive_count), (&ev, 2));
        q.ack(&again[0].receipt).await.unwrap();
    }

    pub async fn release_now(q: Queue) {
        let ev = event(3);
        q.publish(&ev).await.unwrap();
        let first = receive_n(&q, 1, Duration::from_secs(5)).await;
        q.release(&first[0].receipt, Duration::ZERO).await.unwrap();
        let again = receive_n(&q, 1, Duration::from_secs(2)).await;
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].receive_count, 2);
        q.ack(&again[0].receipt).await.unwrap();
    }

    pub async fn unacked_comes_back(q: Queue) {
        let ev = event(4);
        q.publish(&ev).await.unwrap();
        let first = receive_n(&q, 1, Duration::from_secs(5)).await;
        assert_eq!(first.len(), 1);
        let taken = Instant::now();
        nothing_visible(&q).await;
        let again = receive_n(&q, 1, VISIBILITY + Duration::from_secs(5)).await;
        assert_eq!(again.len(), 1);
        assert!(taken.elapsed() >= VISIBILITY - Duration::from_millis(1100), "back too early");
        assert_eq!((&again[0].event, again[0].receive_count), (&ev, 2));
        q.ack(&again[0].receipt).await.unwrap();
    }

    pub async fn batch(q: Queue) {
        let sent: Vec<OutEvent> = (10..17).map(event).collect();
        for ev in &sent {
            q.publish(ev).await.unwrap();
        }
        let got = receive_n(&q, sent.len(), Duration::from_secs(10)).await;
        let mut ids: Vec<&str> = got.iter().map(|r| r.event.id.as_str()).collect();
        ids.sort();
        let mut want: Vec<&str> = sent.iter().map(|e| e.id.as_str()).collect();
        want.sort();
        assert_eq!(ids, want, "each message exactly once");
        for r in &got {
            q.ack(&r.receipt).await.unwrap();
        }
        tokio::time::sleep(VISIBILITY + Duration::from_millis(500)).await;
        nothing_visible(&q).await;
    }

    pub async fn receive_waits(q: Queue) {
        let started = Instant::now();
        assert!(q.receive(10, Duration::from_secs(1)).await.unwrap().is_empty());
        assert!(started.elapsed() >= Duration::from_millis(900), "did not wait");
        let publisher = q.clone();
        let ev = event(5);
        let sent = ev.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            publisher.publish(&sent).await.unwrap();
        });
        let got = q.receive(10, Duration::from_secs(5)).await.unwrap();
        assert_eq!(got.len(), 1, "a message published while waiting is received");
        assert_eq!(got[0].event, ev);
        q.ack(&got[0].receipt).await.unwrap();
    }
}

macro_rules! contract {
    ($backend:ident, $open:ident) => {
        mod $backend {
            use super::*;
            contract!(@case $open, publish_receive_ack, release_with_delay, release_now,
                unacked_comes_back, batch, receive_waits);
        }
    };
    (@case $open:ident, $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                if let Some(queue) = $open().await {
                    cases::$case(queue).await;
                }
            }
        )*
    };
}

contract!(embedded, open_embedded);
contract!(embedded_on_store, open_on_store);
contract!(sqs, open_sqs);

mod embedded_file {
    use super::*;

    #[tokio::test]
    async fn survives_reopening() {
        let path = common::temp_dir("queue-reopen").join("onecard.db");
        let (a, b) = (event(20), event(21));
        {
            let q = EmbeddedQueue::with_visibility(&path, VISIBILITY).unwrap();
            q.publish(&a).await.unwrap();
            q.publish(&b).await.unwrap();
            // Taken but never acked: the process "dies" holding it.
            let got = q.receive(1, Duration::ZERO).await.unwrap();
            assert_eq!(got[0].event, a);
        }
        let q: Queue = Arc::new(EmbeddedQueue::with_visibility(&path, VISIBILITY).unwrap());
        let got = q.receive(10, Duration::ZERO).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((&got[0].event, got[0].receive_count), (&b, 1));
        q.ack(&got[0].receipt).await.unwrap();
        let back = receive_n(&q, 1, VISIBILITY + Duration::from_secs(3)).await;
        assert_eq!((&back[0].event, back[0].receive_count), (&a, 2));
        q.ack(&back[0].receipt).await.unwrap();
    }

    #[tokio::test]
    async fn shares_the_store_file() {
        let path = common::temp_dir("queue-shared").join("onecard.db");
        let store = onecard_adapters::SqliteStore::open(&path).unwrap();
        let q = EmbeddedQueue::open(&path).unwrap();
        use onecard_core::store::{Cond, Item, ItemStore};
        store.put(Item::new("p", "s", json!(1)), Cond::None).await.unwrap();
        q.publish(&event(30)).await.unwrap();
        assert_eq!(q.len().await.unwrap(), 1);
        assert!(store.get("p", "s").await.unwrap().is_some());
    }

    /// On the store: an outbox put is on the queue exactly when its
    /// transaction commits, and wakes a waiting receiver.
    #[tokio::test]
    async fn the_store_delivers_outbox_items_in_their_transaction() {
        use onecard_core::store::{Cond, Item, ItemStore, Write};
        let path = common::temp_dir("queue-outbox").join("onecard.db");
        let store = onecard_adapters::SqliteStore::open(&path).unwrap();
        assert!(!store.delivers_outbox());
        let q = EmbeddedQueue::on_store_with_visibility(&store, VISIBILITY).await.unwrap();
        assert!(store.delivers_outbox());
        let ev = event(50);
        let waiting = {
            let q = q.clone();
            tokio::spawn(async move { q.receive(10, Duration::from_secs(5)).await.unwrap() })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let cause = Write::put(Item::new("cause", "1", json!(1)), Cond::MustNotExist);
        store.transact(vec![cause, onecard_core::events::outbox_write(&ev)]).await.unwrap();
        let got = waiting.await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].event, ev);
        assert!(started.elapsed() < Duration::from_millis(200), "woken, not polled: {:?}", started.elapsed());
        // Not kept as an item: nothing for the sweep to send again.
        assert!(store.get(&onecard_core::events::outbox_pk("B001"), &ev.id).await.unwrap().is_none());
        // A transaction refused on its condition puts nothing on the queue.
        let again = Write::put(Item::new("cause", "1", json!(2)), Cond::MustNotExist);
        assert!(store.transact(vec![again, onecard_core::events::outbox_write(&event(51))]).await.is_err());
        assert_eq!(q.len().await.unwrap(), 1);
        // The same file opened by another process sees the message.
        let other = EmbeddedQueue::with_visibility(&path, VISIBILITY).unwrap();
        assert_eq!(other.len().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn stale_receipt_cannot_release_a_later_delivery() {
        let path = common::temp_dir("queue-stale").join("onecard.db");
        let q = EmbeddedQueue::with_visibility(&path, Duration::from_millis(300)).unwrap();
        q.publish(&event(40)).await.unwrap();
        let first = q.receive(1, Duration::ZERO).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        let second = q.receive(1, Duration::ZERO).await.unwrap();
        assert_eq!(second[0].receive_count, 2);
        q.release(&first[0].receipt, Duration::ZERO).await.unwrap();
        assert!(q.receive(1, Duration::ZERO).await.unwrap().is_empty(), "still held by the second consumer");
        assert!(q.ack("not-a-receipt").await.is_err());
    }
}
