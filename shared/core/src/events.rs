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
use crate::store::{Cond, Item, Query, StoreResult, Write};
use chrono::NaiveDateTime;
use serde_json::Value;

pub const OUTBOX: &str = "outbox";

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
    Write::put(Item::new(OUTBOX, ev.id.clone(), body), Cond::MustNotExist)
}

/// Publishes events whose cause has been committed, then clears their outbox
/// items. A failure leaves the item for the sweeper; it is logged, not returned,
/// because the caller's business step has already succeeded.
pub async fn publish_committed(ctx: &Ctx, events: &[OutEvent]) {
    for ev in events {
        match ctx.queue.publish(ev).await {
            Ok(()) => {
                if let Err(e) = ctx.store.delete(OUTBOX, &ev.id, Cond::None).await {
                    tracing::warn!(id = %ev.id, error = %e, "outbox item not cleared; the sweeper will");
                }
            }
            Err(e) => tracing::warn!(id = %ev.id, error = %e, "event not published yet; the sweeper will"),
        }
    }
}

/// Publishes outbox items older than `min_age_secs` (left by a crash between
/// commit and publish). Returns how many it published.
pub async fn sweep_outbox(ctx: &Ctx, min_age_secs: i64) -> StoreResult<usize> {
    let cutoff = crate::time::now().timestamp_millis() - min_age_secs * 1000;
    let hi = format!("{cutoff:013}~");
    let items = ctx.store.query_all(&Query::between(OUTBOX, "0", hi).limit(500)).await?;
    let mut n = 0;
    for item in items {
        let ev: OutEvent = item.parse()?;
        if ctx.queue.publish(&ev).await.is_ok() {
            ctx.store.delete(OUTBOX, &ev.id, Cond::None).await?;
            n += 1;
        }
    }
    Ok(n)
}
