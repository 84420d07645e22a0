//! The push function's SQS path against the SQS-compatible server (moto):
//! messages are received from the real queue, turned into the `SqsEvent` the
//! Lambda runtime would hand over, and given to the function's handler; what
//! it reports back, the backoff it sets, the dead-letter queue and a redrive
//! are then checked on the queues themselves.
//!
//! Needs `ONECARD_SQS_ENDPOINT` (`infra/scripts/sqs-local.sh start` prints it);
//! `ONECARD_SKIP_SQS=1` skips explicitly.

mod push_support;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use onecard_adapters::sqlite_store::SqliteStore;
use onecard_adapters::sqs_dlq::SqsDeadLetters;
use onecard_adapters::sqs_queue::SqsQueue;
use onecard_app::push::subscriptions::{self, Partner};
use onecard_adapters::http_out::HyperOutbound;
use onecard_app::push::{Pusher, RetryPolicy};
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::queue::{DeadLetters, OutEvent};
use onecard_core::sitelink::NoSites;
use onecard_core::time::SystemClock;
use onecard_core::{Ctx, Ports};
use push_support::{Receiver, SECRET};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn endpoint() -> Option<String> {
    if let Some(url) = std::env::var("ONECARD_SQS_ENDPOINT").ok().filter(|u| !u.trim().is_empty()) {
        return Some(url.trim().to_string());
    }
    if std::env::var("ONECARD_SKIP_SQS").as_deref() == Ok("1") {
        eprintln!("SKIPPED: ONECARD_SQS_ENDPOINT is not set and ONECARD_SKIP_SQS=1");
        return None;
    }
    panic!(
        "ONECARD_SQS_ENDPOINT is not set. Start the SQS-compatible server with `infra/scripts/sqs-local.sh start` and export \
         ONECARD_SQS_ENDPOINT=<the URL it prints>, or set ONECARD_SKIP_SQS=1 to skip these tests."
    );
}

use onecard_adapters::emulator::sqs_client;
use onecard_tests::unique;

struct Rig {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    pusher: Pusher,
    dlq: Arc<SqsDeadLetters>,
}

async fn rig(endpoint: &str, max_attempts: u32) -> Rig {
    let sqs = sqs_client(endpoint);
    let queue_url = SqsQueue::create_queue(&sqs, &unique("push")).await.unwrap();
    let dlq_url = SqsQueue::create_queue(&sqs, &unique("push-dlq")).await.unwrap();
    let dir = onecard_tests::temp_dir("push-sqs");
    let store = Arc::new(SqliteStore::open(&dir.join("onecard.db")).unwrap());
    onecard_core::config::seed_demo(&*store).await.unwrap();
    let queue = Arc::new(SqsQueue::new(sqs.clone(), queue_url.clone()));
    let ctx = Ctx::new(Ports { store, queue, sites: Arc::new(NoSites), clock: Arc::new(SystemClock) });
    let dlq = Arc::new(SqsDeadLetters::new(sqs.clone(), dlq_url));
    // One second: SQS hides messages in whole seconds.
    let policy = RetryPolicy::new(Duration::from_secs(1)).with_max_attempts(max_attempts);
    let pusher = Pusher { ctx, client: std::sync::Arc::new(HyperOutbound::default()), policy, dlq: dlq.clone() };
    Rig { sqs, queue_url, pusher, dlq }
}

impl Rig {
    async fn partner(&self, name: &str, rx: &Receiver) {
        let p = Partner {
            branch: "1001".into(),
            name: name.into(),
            url: rx.url(),
            secret: SECRET.into(),
            from: "PARK".into(),
            events: vec!["notify/parkGateState".into()],
            enabled: true,
        };
        subscriptions::put(self.pusher.ctx.store(), &p).await.unwrap();
    }

    /// Records an event the way a handler does: outbox in the transaction,
    /// published after the commit.
    async fn emit(&self, n: i64) -> OutEvent {
        let ctx = &self.pusher.ctx;
        let now = onecard_core::time::to_local(chrono::Utc::now(), onecard_core::time::DEFAULT_TZ);
        let record = json!({"deviceID": "1", "controllerNo": "C0000001", "fullName": "大门入口", "inOut": "0", "time": "2026-01-01 10:00:00.000", "gateLimitState": n.to_string()});
        let ev = OutEvent::new("1001", "notify/parkGateState", record, now);
        ctx.store.transact(vec![outbox_write(&ev)]).await.unwrap();
        publish_committed(ctx, std::slice::from_ref(&ev)).await;
        ev
    }

    /// One ReceiveMessage, as the Lambda poller does it, as an `SqsEvent`.
    async fn batch(&self, wait_secs: i32) -> SqsEvent {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_secs)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let mut ev = SqsEvent::default();
        for m in out.messages() {
            let mut msg = SqsMessage::default();
            msg.message_id = m.message_id().map(str::to_string);
            msg.receipt_handle = m.receipt_handle().map(str::to_string);
            msg.body = m.body().map(str::to_string);
            msg.event_source = Some("aws:sqs".into());
            if let Some(a) = m.attributes() {
                msg.attributes = a.iter().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect();
            }
            ev.records.push(msg);
        }
        ev
    }

    /// Handles a batch like the Lambda service: deletes what was not reported
    /// as failed. Answers the failed message ids.
    async fn run(&self, ev: SqsEvent) -> Vec<String> {
        let handles: Vec<(String, String)> =
            ev.records.iter().map(|m| (m.message_id.clone().unwrap_or_default(), m.receipt_handle.clone().unwrap_or_default())).collect();
        let resp = fn_push::handle_sqs(&self.pusher, ev).await;
        let failed: Vec<String> = resp.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
        for (id, receipt) in handles {
            if !failed.contains(&id) {
                self.sqs.delete_message().queue_url(&self.queue_url).receipt_handle(receipt).send().await.unwrap();
            }
        }
        failed
    }

    /// Receives until a batch comes (or `within` passes).
    async fn next_batch(&self, within: Duration) -> SqsEvent {
        let t0 = Instant::now();
        loop {
            let b = self.batch(1).await;
            if !b.records.is_empty() || t0.elapsed() > within {
                return b;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_reported_backed_off_and_retried_to_one_delivery() {
    let Some(ep) = endpoint() else { return };
    let r = rig(&ep, 8).await;
    let rx = Receiver::start();
    rx.fail_first(1);
    let steady = Receiver::start();
    r.partner("flaky", &rx).await;
    r.partner("steady", &steady).await;
    let ev = r.emit(1).await;

    let b = r.next_batch(Duration::from_secs(5)).await;
    assert_eq!(b.records.len(), 1);
    let id = b.records[0].message_id.clone().unwrap();
    assert_eq!(r.run(b).await, vec![id.clone()], "the failed item is reported");
    // The backoff (1 s) hides it; it is not back at once.
    assert!(r.batch(0).await.records.is_empty(), "redelivered before its backoff");
    let b = r.next_batch(Duration::from_secs(5)).await;
    assert_eq!(b.records.len(), 1, "redelivered after the backoff");
    assert_eq!(b.records[0].attributes.get("ApproximateReceiveCount").map(String::as_str), Some("2"));
    assert!(r.run(b).await.is_empty());
    assert!(r.next_batch(Duration::from_secs(2)).await.records.is_empty(), "deleted once delivered");

    assert_eq!(rx.accepted().len(), 1);
    assert_eq!(rx.got().len(), 2);
    assert!(rx.got().iter().all(|g| g.id() == ev.id && g.signed_by("PARK", SECRET)));
    // The steady partner had it from the first attempt and was not sent it again.
    assert_eq!(steady.got().len(), 1);

    // A message that is not an event is reported as failed (the queue's redrive
    // policy takes it to the dead-letter queue).
    r.sqs.send_message().queue_url(&r.queue_url).message_body("not an event").send().await.unwrap();
    let b = r.next_batch(Duration::from_secs(5)).await;
    let bad = b.records[0].message_id.clone().unwrap();
    assert_eq!(r.run(b).await, vec![bad]);
}

#[tokio::test(flavor = "multi_thread")]
async fn exhausted_pushes_go_to_the_dead_letter_queue_and_a_redrive_delivers_once() {
    let Some(ep) = endpoint() else { return };
    let r = rig(&ep, 3).await;
    let rx = Receiver::start();
    rx.set_down(true);
    r.partner("acme", &rx).await;
    let ev = r.emit(2).await;

    let mut reported = Vec::new();
    for attempt in 1..=3 {
        let b = r.next_batch(Duration::from_secs(8)).await;
        assert_eq!(b.records.len(), 1, "attempt {attempt}");
        reported.push(r.run(b).await.len());
    }
    // Attempts 1 and 2 fail and are retried; the third gives up: dead-lettered
    // and reported done, so the queue is empty.
    assert_eq!(reported, vec![1, 1, 0]);
    assert!(r.next_batch(Duration::from_secs(3)).await.records.is_empty());
    assert_eq!(rx.got().len(), 3);
    let dead = r.dlq.list(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event, ev);
    assert_eq!(dead[0].attempts, 3);
    assert!(dead[0].reason.contains("acme"), "{}", dead[0].reason);
    // Listing does not consume.
    assert_eq!(r.dlq.list(10).await.unwrap().len(), 1);

    rx.set_down(false);
    let queue = SqsQueue::new(r.sqs.clone(), r.queue_url.clone());
    assert_eq!(r.dlq.redrive(Some(&["nope".to_string()]), &queue).await.unwrap(), 0);
    assert_eq!(r.dlq.redrive(None, &queue).await.unwrap(), 1);
    assert!(r.dlq.list(10).await.unwrap().is_empty());
    let b = r.next_batch(Duration::from_secs(5)).await;
    assert_eq!(b.records.len(), 1);
    assert!(r.run(b).await.is_empty());
    assert_eq!(rx.accepted().len(), 1);
    assert_eq!(rx.accepted()[0].id(), ev.id);
    // Purge on SQS deletes page by page and counts.
    r.dlq.send(&onecard_core::queue::DeadLetter::new(ev.clone(), "x", 8)).await.unwrap();
    assert_eq!(r.dlq.purge().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_schedule_sweeps_the_outbox_onto_the_queue() {
    let Some(ep) = endpoint() else { return };
    let r = rig(&ep, 8).await;
    // An event whose publish never happened (a crash after the commit).
    let now = onecard_core::time::to_local(chrono::Utc::now() - chrono::Duration::minutes(5), onecard_core::time::DEFAULT_TZ);
    let mut ev = OutEvent::new("1001", "notify/parkGateState", json!({"gateLimitState": "0"}), now);
    ev.id = format!("{:013}-sweep", (chrono::Utc::now() - chrono::Duration::minutes(5)).timestamp_millis());
    r.pusher.ctx.store.transact(vec![outbox_write(&ev)]).await.unwrap();
    let out = fn_push::handle(&r.pusher, json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})).await.unwrap();
    assert_eq!(out["ok"], json!(true));
    // Nothing is open to reconcile here; the tick asked the store and said so.
    assert_eq!(out["reconciled"]["asked"], json!(0), "{out}");
    let b = r.next_batch(Duration::from_secs(5)).await;
    assert_eq!(b.records.len(), 1);
    let got: OutEvent = serde_json::from_str(b.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(got, ev);
    assert!(fn_push::handle(&r.pusher, json!({"something": "else"})).await.is_err());
}
