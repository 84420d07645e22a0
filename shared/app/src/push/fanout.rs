//! One queue message = one event, sent to every enabled subscriber of its route
//! in its branch. A delivered marker per (event, partner) is written after each
//! success, so a retry after a partial fan-out (or a duplicate SQS delivery, or
//! a redrive) only goes to the partners still missing it.

use onecard_core::outbound::Outbound;
use super::{deliver, first_try};
use super::retry::{Next, RetryPolicy};
use super::subscriptions::{self, Partner};
use crate::keys;
use onecard_core::queue::OutEvent;
use onecard_core::store::{Cond, Item};
use onecard_core::{config, time, Ctx};
use serde_json::json;
use std::time::Duration;

/// Markers outlive any retry schedule and any sensible DLQ stay (SQS keeps a
/// dead letter 14 days), so a redrive still finds them.
const MARKER_TTL_SECS: i64 = 30 * 24 * 3600;

/// What one attempt at an event achieved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FanOut {
    pub delivered: Vec<String>,
    /// Partners that had it from an earlier attempt.
    pub already: Vec<String>,
    /// (partner, why).
    pub failed: Vec<(String, String)>,
}

impl FanOut {
    pub fn complete(&self) -> bool {
        self.failed.is_empty()
    }
    pub fn reason(&self) -> String {
        self.failed.iter().map(|(p, why)| format!("{p}: {why}")).collect::<Vec<_>>().join("; ")
    }
}

/// What the queue consumer does with the message after an attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Every subscriber has it: delete the message.
    Delivered(FanOut),
    /// Make it visible again after the delay.
    Retry { after: Duration, reason: String },
    /// Attempts exhausted: to the dead-letter queue.
    Dead { reason: String },
}

fn marker_sk(ev: &OutEvent, partner: &str) -> String {
    format!("{}#{partner}", ev.id)
}

/// The partner's clock is the branch's wall clock (decision 6).
async fn timestamp(ctx: &Ctx, branch: &str) -> String {
    let tz = match config::get_branch(ctx.store(), branch).await {
        Ok(Some(b)) => b.tz,
        _ => time::DEFAULT_TZ.to_string(),
    };
    time::format(time::to_local(ctx.clock.now(), &tz))
}

async fn to_partner(ctx: &Ctx, client: &dyn Outbound, ev: &OutEvent, p: &Partner, ts: &str) -> Result<bool, String> {
    let pk = keys::push_delivered(&ev.branch);
    let sk = marker_sk(ev, &p.name);
    if ctx.store.get(&pk, &sk).await.map_err(|e| format!("reading the delivered marker: {e}"))?.is_some() {
        return Ok(false);
    }
    deliver::deliver(client, p, ev, ts).await?;
    let marker = Item::new(pk, sk, json!({"route": ev.route, "partner": p.name, "at": ts}))
        .with_ttl(ctx.clock.now().timestamp() + MARKER_TTL_SECS);
    if let Err(e) = ctx.store.put(marker, Cond::None).await {
        // The partner has it; without the marker a retry may send it again,
        // which the event id lets the partner drop.
        tracing::warn!(id = %ev.id, partner = %p.name, error = %e, "delivered marker not written");
    }
    Ok(true)
}

/// Sends `ev` to every subscriber still missing it, all at once (one slow
/// partner must not eat the others' time).
pub async fn fan_out(ctx: &Ctx, client: &dyn Outbound, ev: &OutEvent) -> Result<FanOut, String> {
    let partners = subscriptions::subscribers(ctx.store(), &ev.branch, &ev.route)
        .await
        .map_err(|e| format!("reading the subscribers: {e}"))?;
    let mut out = FanOut::default();
    if partners.is_empty() {
        return Ok(out);
    }
    let ts = timestamp(ctx, &ev.branch).await;
    let resolved = crate::pictures::resolve_event(ctx, ev).await?;
    let ev = resolved.as_ref().unwrap_or(ev);
    let results = futures::future::join_all(partners.iter().map(|p| to_partner(ctx, client, ev, p, &ts))).await;
    for (p, r) in partners.iter().zip(results) {
        match r {
            Ok(true) => out.delivered.push(p.name.clone()),
            Ok(false) => out.already.push(p.name.clone()),
            Err(e) => out.failed.push((p.name.clone(), e)),
        }
    }
    Ok(out)
}

/// One delivery attempt (`attempt` is 1-based: the queue's receive count) and
/// the decision that follows from it.
pub async fn attempt(ctx: &Ctx, client: &dyn Outbound, policy: &RetryPolicy, ev: &OutEvent, attempt: u32) -> Outcome {
    let started = ctx.clock.now();
    let reason = match fan_out(ctx, client, ev).await {
        Ok(f) if f.complete() => {
            if !f.delivered.is_empty() {
                tracing::info!(id = %ev.id, route = %ev.route, branch = %ev.branch, attempt, partners = ?f.delivered, "pushed");
            }
            return Outcome::Delivered(f);
        }
        Ok(f) => {
            if !f.delivered.is_empty() {
                tracing::info!(id = %ev.id, route = %ev.route, attempt, partners = ?f.delivered, "pushed to some partners");
            }
            f.reason()
        }
        Err(e) => e,
    };
    let first = first_try::first_attempt(ctx, ev, started).await;
    let tried_for = (ctx.clock.now() - first).to_std().unwrap_or_default();
    match policy.after_failure(attempt, tried_for) {
        Next::RetryAfter(after) => {
            tracing::warn!(id = %ev.id, route = %ev.route, attempt, retry_ms = after.as_millis() as u64, reason = %reason, "push failed; will retry");
            Outcome::Retry { after, reason }
        }
        Next::GiveUp => {
            tracing::error!(id = %ev.id, route = %ev.route, attempt, tried_secs = tried_for.as_secs(), reason = %reason, "push failed for the last time; dead-lettered");
            let reason = format!("{reason} (attempt {attempt}, {} s after the first)", tried_for.as_secs());
            Outcome::Dead { reason }
        }
    }
}
