//! When the first attempt at an event began, so the retry window of decision
//! 18 is counted in time and not in receives. Kept in the store, not in the
//! message: an SQS message cannot be changed, and its own first-receive stamp
//! is on the queue's wall clock, which tests cannot move.
//!
//! Written only after a failed attempt (a delivery on the first try costs
//! nothing), and removed when the event is dead-lettered, so a redrive starts
//! a fresh window.

use crate::keys;
use chrono::{DateTime, Utc};
use onecard_core::queue::OutEvent;
use onecard_core::store::{Cond, Item};
use onecard_core::Ctx;
use serde_json::json;

/// Longer than any retry window plus a dead-letter stay, so a record never
/// lapses while its event is still being tried.
const TTL_SECS: i64 = 30 * 24 * 3600;

fn pk(branch: &str) -> String {
    keys::branch_part(branch, "pushtry")
}

/// When the first attempt at `ev` began; `this_attempt` when none is on
/// record yet (it is then recorded). A store failure answers `this_attempt`
/// too: the event is then retried rather than given up on.
pub async fn first_attempt(ctx: &Ctx, ev: &OutEvent, this_attempt: DateTime<Utc>) -> DateTime<Utc> {
    let pk = pk(&ev.branch);
    match ctx.store.get(&pk, &ev.id).await {
        Ok(Some(item)) => {
            if let Some(t) = item.body.get("first").and_then(|v| v.as_i64()).and_then(DateTime::from_timestamp_millis) {
                return t;
            }
            tracing::warn!(id = %ev.id, "first-attempt record unreadable; counting from now");
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(id = %ev.id, error = %e, "first-attempt record not read; counting from now");
            return this_attempt;
        }
    }
    let ttl = onecard_core::store::now_unix().max(ctx.clock.now().timestamp()) + TTL_SECS;
    let item = Item::new(pk.clone(), ev.id.clone(), json!({"first": this_attempt.timestamp_millis(), "route": ev.route})).with_ttl(ttl);
    match ctx.store.put(item, Cond::MustNotExist).await {
        Ok(()) => this_attempt,
        // A concurrent consumer (an SQS duplicate) recorded it first: its time.
        Err(e) if e.is_conflict() => match ctx.store.get(&pk, &ev.id).await {
            Ok(Some(item)) => item.body.get("first").and_then(|v| v.as_i64()).and_then(DateTime::from_timestamp_millis).unwrap_or(this_attempt),
            _ => this_attempt,
        },
        Err(e) => {
            tracing::warn!(id = %ev.id, error = %e, "first-attempt record not written");
            this_attempt
        }
    }
}

/// Forgets the window of a dead-lettered event.
pub async fn forget(ctx: &Ctx, ev: &OutEvent) {
    if let Err(e) = ctx.store.delete(&pk(&ev.branch), &ev.id, Cond::None).await {
        tracing::warn!(id = %ev.id, error = %e, "first-attempt record not removed; a redrive gets a shorter window");
    }
}
