//! The push function. One binary, two triggers:
//! - the event queue (SQS, `ReportBatchItemFailures`): each message is one
//!   event fanned out to its subscribers; failures are reported per item after
//!   their visibility is set to the backoff delay; one still failing 24 h
//!   after its first attempt goes to the dead-letter queue (decision 18);
//! - the EventBridge schedule (every minute): the outbox sweep, the 13.9
//!   heartbeat and the payments reconciliation (`onecard serve` runs the
//!   same every minute).
//!
//! Clients are built once per execution environment (`init`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use onecard_adapters::sqs_dlq::SqsDeadLetters;
use onecard_app::push::batch::{self, BatchItem};
use onecard_adapters::http_out::HyperOutbound;
use onecard_app::push::{Pusher, RetryPolicy};
use onecard_lambda::Error;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Decision 18's schedule by default; `ONECARD_PUSH_RETRY_BASE_MS` (10 000),
/// `ONECARD_PUSH_RETRY_CAP_MS` (3 600 000), `ONECARD_PUSH_GIVE_UP_AFTER_SECS`
/// (86 400) and `ONECARD_PUSH_MAX_ATTEMPTS` (unset: no bound) tune it. The
/// queue's maxReceiveCount must stay above the attempts a window takes, or
/// SQS dead-letters a message before the policy would.
pub fn policy_from(get: impl Fn(&str) -> Option<String>) -> RetryPolicy {
    let num = |k: &str| get(k).and_then(|v| v.trim().parse::<u64>().ok());
    let d = RetryPolicy::default();
    RetryPolicy::new(num("ONECARD_PUSH_RETRY_BASE_MS").map(Duration::from_millis).unwrap_or(d.base))
        .with_cap(num("ONECARD_PUSH_RETRY_CAP_MS").map(Duration::from_millis).unwrap_or(d.cap))
        .with_give_up_after(num("ONECARD_PUSH_GIVE_UP_AFTER_SECS").map(Duration::from_secs).unwrap_or(d.give_up_after))
        .with_max_attempts(num("ONECARD_PUSH_MAX_ATTEMPTS").map(|n| n.min(u32::MAX as u64) as u32).unwrap_or(0))
}

/// Cold start: the shared Lambda init (store, event queue), the dead-letter
/// queue and the HTTP client.
pub async fn init() -> Result<Pusher, Error> {
    let clients = onecard_lambda::init().await?;
    let dlq_url = clients.env.dlq_url.clone().ok_or("ONECARD_DLQ_URL is not set: the push function needs its dead-letter queue")?;
    if clients.env.queue_url.is_none() {
        return Err("ONECARD_QUEUE_URL is not set: the push function releases and sweeps into the event queue".into());
    }
    let dlq = Arc::new(SqsDeadLetters::from_env(&dlq_url, clients.env.sqs_endpoint.as_deref()).await);
    Ok(Pusher { ctx: clients.ctx(), client: std::sync::Arc::new(HyperOutbound::default()), policy: policy_from(|k| std::env::var(k).ok()), dlq })
}

/// The SQS trigger: answers the failed items.
pub async fn handle_sqs(p: &Pusher, event: SqsEvent) -> SqsBatchResponse {
    let items = event
        .records
        .into_iter()
        .map(|m| BatchItem {
            receive_count: m.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1),
            message_id: m.message_id.unwrap_or_default(),
            receipt: m.receipt_handle.unwrap_or_default(),
            body: m.body.unwrap_or_default(),
        })
        .collect();
    let mut resp = SqsBatchResponse::default();
    for id in batch::handle(p, items).await {
        resp.add_failure(id);
    }
    resp
}

/// The schedule: outbox sweep and heartbeat, then the trades no one asks
/// about again (a withholding whose answer was lost, a WAP page whose
/// notification never came) are settled or refunded, and the booking fees
/// owed back to cancelled or rejected bookings are refunded.
pub async fn handle_tick(p: &Pusher) -> Value {
    p.tick().await;
    use onecard_app::payments::reconcile;
    let reconciled = match reconcile::all(&p.ctx, reconcile::DEFAULT_AFTER_SECS).await {
        Ok(r) => json!({
            "asked": r.asked,
            "booked": r.booked,
            "refunded": r.refunded,
            "failed": r.failed,
            "open": r.open,
            "bookingFeesRefunded": r.fee_refunds.refunded,
            "bookingFeesOwed": r.fee_refunds.owed,
        }),
        Err(e) => {
            // The next minute asks again; the sweep and heartbeat are done.
            tracing::error!(error = %e, "payments reconciliation failed");
            json!({"error": e.message})
        }
    };
    json!({"ok": true, "reconciled": reconciled})
}

/// Routes a raw invocation by its shape.
pub async fn handle(p: &Pusher, payload: Value) -> Result<Value, Error> {
    if payload.get("Records").is_some() {
        let ev: SqsEvent = serde_json::from_value(payload)?;
        return Ok(serde_json::to_value(handle_sqs(p, ev).await)?);
    }
    let scheduled = payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        || payload.get("source").and_then(Value::as_str) == Some("aws.events");
    if scheduled {
        return Ok(handle_tick(p).await);
    }
    Err("the push function takes SQS batches and EventBridge scheduled events".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn policy_reads_the_environment() {
        let m: HashMap<&str, &str> = [("ONECARD_PUSH_MAX_ATTEMPTS", "3"), ("ONECARD_PUSH_RETRY_BASE_MS", "250")].into();
        let p = policy_from(|k| m.get(k).map(|v| v.to_string()));
        assert_eq!((p.max_attempts, p.base), (Some(3), Duration::from_millis(250)));
        assert_eq!(p.give_up_after, Duration::from_secs(24 * 3600));
        let p = policy_from(|_| None);
        assert_eq!(p, RetryPolicy::default());
    }
}
