//! Outbound events and the transactional outbox that makes them reliable.
//!
//! A cause (an entry, a payment) and its event are written in one store
//! transaction: the event as an `outbox` item. After the commit the event is
//! published to the queue and its outbox item deleted. If the process dies in
//! between, the sweeper publishes what is left. So an event is never lost and
//! never sent for something that did not happen; it may be published twice,
//! which the id lets the receiver (and our push worker) drop.

use crate::ctx::Ctx;
use crate::queue::OutEvent;
use crate::store::{Cond, Item, ItemStore, Query, StoreResult, Write};
use chrono::NaiveDateTime;
use serde_json::Value;

/// The single partition every branch shared before the outbox was split per
/// branch. Nothing is written there any more; the sweep still reads it, so
/// items a previous version left behind are published once.
pub const OUTBOX: &str = "outbox";
/// Where the sweep sets aside items it cannot read, with the reason, so one
/// bad item never stops the events behind it.
pub const OUTBOX_QUARANTINE: &str = "outbox-quarantine";
/// Items one sweep takes from one partition; the rest wait for the next tick.
const SWEEP_PAGE: usize = 500;

/// A branch's outbox partition: one hot key per branch instead of one for
/// the whole platform (DynamoDB throttles a single partition key at about
/// 1,000 writes a second).
pub fn outbox_pk(branch: &str) -> String {
    format!("{OUTBOX}#{branch}")
}

impl OutEvent {
    /// A new event with a time-ordered unique id.
    pub fn new(branch: &str, route: &str, record: Value, at: NaiveDateTime) -> Self {
        let millis = crate::time::now().timestamp_millis();
        OutEvent {
            id: format!("{millis:013}-{}", uuid::Uuid::new_v4().simple()),
            branch: branch.to_string(),
            route: route.to_string(),
            record,
            at: crate::time::format(at),
        }
    }
}

/// The outbox write to put in the same transaction as the event's cause.
pub fn outbox_write(ev: &OutEvent) -> Write {
    let body = serde_json::to_value(ev).unwrap_or(Value::Null);
    Write::put(Item::new(outbox_pk(&ev.branch), ev.id.clone(), body), Cond::MustNotExist)
}

/// Publishes events whose cause has been committed, then clears their outbox
/// items. A failure leaves the item for the sweeper; it is logged, not returned,
/// because the caller's business step has already succeeded.
pub async fn publish_committed(ctx: &Ctx, events: &[OutEvent]) {
    if ctx.store.delivers_outbox() {
        return;
    }
    for ev in events {
        match ctx.queue.publish(ev).await {
            Ok(()) => {
                if let Err(e) = ctx.store.delete(&outbox_pk(&ev.branch), &ev.id, Cond::None).await {
                    tracing::warn!(id = %ev.id, error = %e, "outbox item not cleared; the sweeper will");
                }
            }
            Err(e) => tracing::warn!(id = %ev.id, error = %e, "event not published yet; the sweeper will"),
        }
    }
}

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub published: usize,
    /// Unreadable items moved to `OUTBOX_QUARANTINE`.
    pub quarantined: usize,
    /// Items left for the next sweep (queue or store failures), and
    /// partitions that could not be read.
    pub failed: usize,
}

/// Publishes outbox items older than `min_age_secs` (left by a crash between
/// commit and publish), branch by branch, then the legacy single partition.
/// A failure with one item or one branch is logged and counted; the sweep
/// goes on with the rest. Errs only when the branch list cannot be read.
pub async fn sweep_outbox(ctx: &Ctx, min_age_secs: i64) -> StoreResult<Swept> {
    let cutoff = ctx.clock.now().timestamp_millis() - min_age_secs * 1000;
    let hi = format!("{cutoff:013}~");
    let mut partitions: Vec<String> = crate::config::list_branches(ctx.store()).await?.iter().map(|b| outbox_pk(&b.branchno)).collect();
    partitions.push(OUTBOX.to_string());
    let mut swept = Swept::default();
    for pk in partitions {
        let items = match ctx.store.query_all(&Query::between(pk.as_str(), "0", hi.as_str()).limit(SWEEP_PAGE)).await {
            Ok(items) => items,
            Err(e) => {
                tracing::warn!(partition = %pk, error = %e, "outbox partition not swept");
                swept.failed += 1;
                continue;
            }
        };
        for item in items {
            sweep_one(ctx, item, &mut swept).await;
        }
    }
    Ok(swept)
}

async fn sweep_one(ctx: &Ctx, item: Item, swept: &mut Swept) {
    let ev: OutEvent = match item.parse() {
        Ok(ev) => ev,
        Err(e) => {
            match quarantine(ctx, &item, &e.to_string()).await {
                Ok(()) => swept.quarantined += 1,
                Err(qe) => {
                    tracing::error!(pk = %item.pk, sk = %item.sk, error = %qe, "unreadable outbox item not set aside");
                    swept.failed += 1;
                }
            }
            return;
        }
    };
    if let Err(e) = ctx.queue.publish(&ev).await {
        tracing::warn!(id = %ev.id, error = %e, "outbox item not published; the next sweep retries");
        swept.failed += 1;
        return;
    }
    swept.published += 1;
    // Published: a failed delete only means it is published again later,
    // which the event id lets every receiver drop.
    if let Err(e) = ctx.store.delete(&item.pk, &item.sk, Cond::None).await {
        tracing::warn!(id = %ev.id, error = %e, "published outbox item not cleared");
    }
}

/// Moves an unreadable item to the quarantine partition, body and reason
/// kept, in one transaction: it is never lost and never blocks the sweep.
async fn quarantine(ctx: &Ctx, item: &Item, reason: &str) -> StoreResult<()> {
    tracing::error!(pk = %item.pk, sk = %item.sk, reason, "unreadable outbox item set aside");
    let body = serde_json::json!({
        "pk": item.pk,
        "sk": item.sk,
        "reason": reason,
        "body": item.body,
        "at": crate::time::now().to_rfc3339(),
    });
    let sk = format!("{}#{}", item.pk, item.sk);
    ctx.store
        .transact(vec![
            Write::put(Item::new(OUTBOX_QUARANTINE, sk, body), Cond::None),
            Write::delete(item.pk.clone(), item.sk.clone(), Cond::VersionIs(item.version)),
        ])
        .await
}

/// The items the sweep set aside, for an operator.
pub async fn quarantined(store: &dyn ItemStore, max: usize) -> StoreResult<Vec<Value>> {
    Ok(store.query_all(&Query::partition(OUTBOX_QUARANTINE).limit(max.max(1))).await?.into_iter().map(|i| i.body).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, Branch};
    use crate::memstore::MemStore;
    use crate::queue::{EventQueue, QueueError, QueueResult, Received};
    use crate::sitelink::NoSites;
    use crate::time::FixedClock;
    use crate::Ports;
    use serde_json::json;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// Keeps what is published; refuses the events named in `refuse`.
    #[derive(Default)]
    struct Sink {
        got: Mutex<Vec<OutEvent>>,
        refuse: Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl EventQueue for Sink {
        async fn publish(&self, ev: &OutEvent) -> QueueResult<()> {
            if self.refuse.lock().unwrap().contains(&ev.id) {
                return Err(QueueError("refused".into()));
            }
            self.got.lock().unwrap().push(ev.clone());
            Ok(())
        }
        async fn receive(&self, _: usize, _: Duration) -> QueueResult<Vec<Received>> {
            Ok(vec![])
        }
        async fn ack(&self, _: &str) -> QueueResult<()> {
            Ok(())
        }
        async fn release(&self, _: &str, _: Duration) -> QueueResult<()> {
            Ok(())
        }
    }

    async fn rig() -> (Ctx, Arc<MemStore>, Arc<Sink>) {
        let store = Arc::new(MemStore::new());
        config::seed_demo(&*store).await.unwrap();
        let other = Branch { branchno: "2002".into(), ..config::demo_branch() };
        config::put_branch(&*store, &other).await.unwrap();
        let sink = Arc::new(Sink::default());
        // An hour on, so every item written now is old enough to sweep.
        let clock = FixedClock::new(crate::time::now() + chrono::Duration::hours(1));
        let ctx = Ctx::new(Ports { store: store.clone(), queue: sink.clone(), sites: Arc::new(NoSites), clock });
        (ctx, store, sink)
    }

    fn event(branch: &str, n: i64) -> OutEvent {
        OutEvent::new(branch, "report/parkInData", json!({"n": n}), crate::time::parse("2026-01-01 10:00:00").unwrap())
    }

    async fn left(store: &MemStore, pk: &str) -> usize {
        store.query_all(&Query::partition(pk)).await.unwrap().len()
    }

    #[tokio::test]
    async fn the_outbox_is_one_partition_per_branch() {
        let (ctx, store, _) = rig().await;
        let (a, b) = (event("1001", 1), event("2002", 2));
        store.transact(vec![outbox_write(&a), outbox_write(&b)]).await.unwrap();
        assert_eq!((left(&store, "outbox#1001").await, left(&store, "outbox#2002").await, left(&store, OUTBOX).await), (1, 1, 0));
        publish_committed(&ctx, &[a, b]).await;
        assert_eq!(left(&store, "outbox#1001").await + left(&store, "outbox#2002").await, 0);
    }

    #[tokio::test]
    async fn the_sweep_walks_every_branch_and_the_legacy_partition() {
        let (ctx, store, sink) = rig().await;
        let (a, b, old) = (event("1001", 1), event("2002", 2), event("1001", 3));
        store.transact(vec![outbox_write(&a), outbox_write(&b)]).await.unwrap();
        // What a previous version wrote: the one shared partition.
        store.put(Item::new(OUTBOX, old.id.clone(), serde_json::to_value(&old).unwrap()), Cond::MustNotExist).await.unwrap();
        let swept = sweep_outbox(&ctx, 30).await.unwrap();
        assert_eq!(swept, Swept { published: 3, quarantined: 0, failed: 0 });
        let mut ids: Vec<_> = sink.got.lock().unwrap().iter().map(|e| e.id.clone()).collect();
        ids.sort();
        let mut want = vec![a.id, b.id, old.id];
        want.sort();
        assert_eq!(ids, want);
        for pk in ["outbox#1001", "outbox#2002", OUTBOX] {
            assert_eq!(left(&store, pk).await, 0, "{pk}");
        }
        // Nothing left: the next sweep publishes nothing twice.
        assert_eq!(sweep_outbox(&ctx, 30).await.unwrap(), Swept::default());
    }

    #[tokio::test]
    async fn an_unreadable_item_is_set_aside_and_the_sweep_goes_on() {
        let (ctx, store, sink) = rig().await;
        // Sorts first, so the old sweep stopped on it before the good ones.
        store.put(Item::new("outbox#1001", "0000000000000-bad", json!({"id": 7})), Cond::None).await.unwrap();
        let (a, b) = (event("1001", 1), event("1001", 2));
        store.transact(vec![outbox_write(&a), outbox_write(&b)]).await.unwrap();
        // One the queue refuses stays for the next sweep and stops nothing.
        sink.refuse.lock().unwrap().push(a.id.clone());
        let swept = sweep_outbox(&ctx, 30).await.unwrap();
        assert_eq!(swept, Swept { published: 1, quarantined: 1, failed: 1 });
        assert_eq!(sink.got.lock().unwrap()[0].id, b.id);
        assert_eq!(left(&store, "outbox#1001").await, 1, "the refused one waits");
        let q = quarantined(ctx.store(), 10).await.unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!((q[0]["pk"].as_str(), q[0]["sk"].as_str(), &q[0]["body"]), (Some("outbox#1001"), Some("0000000000000-bad"), &json!({"id": 7})));
        assert!(q[0]["reason"].as_str().unwrap().contains("invalid type"), "{}", q[0]);
        sink.refuse.lock().unwrap().clear();
        assert_eq!(sweep_outbox(&ctx, 30).await.unwrap(), Swept { published: 1, quarantined: 0, failed: 0 });
    }

    #[tokio::test]
    async fn young_items_are_left_to_the_request_that_wrote_them() {
        let (_, store, sink) = rig().await;
        let now_ctx = Ctx::new(Ports { store: store.clone(), queue: sink.clone(), sites: Arc::new(NoSites), clock: FixedClock::new(crate::time::now()) });
        store.transact(vec![outbox_write(&event("1001", 1))]).await.unwrap();
        assert_eq!(sweep_outbox(&now_ctx, 30).await.unwrap(), Swept::default());
        assert_eq!(left(&store, "outbox#1001").await, 1);
    }
}
