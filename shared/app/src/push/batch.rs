//! The push function's SQS batch: each message attempted, failures reported
//! back item by item (ReportBatchItemFailures). A failure that will be retried
//! gets its visibility set to the backoff delay first, so SQS redelivers it
//! then and not after the queue's fixed timeout; an exhausted one is sent to
//! the dead-letter queue and reported as done.

use super::fanout::Outcome;
use super::worker::Pusher;
use onecard_core::queue::{OutEvent, Received};

/// One SQS record, reduced to what the push code reads.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchItem {
    pub message_id: String,
    pub receipt: String,
    pub body: String,
    /// SQS's ApproximateReceiveCount (1 on the first delivery).
    pub receive_count: u32,
}

/// Handles a batch; answers the message ids that failed.
pub async fn handle(p: &Pusher, items: Vec<BatchItem>) -> Vec<String> {
    let results = futures::future::join_all(items.iter().map(|item| one(p, item))).await;
    items.into_iter().zip(results).filter(|(_, ok)| !ok).map(|(i, _)| i.message_id).collect()
}

async fn one(p: &Pusher, item: &BatchItem) -> bool {
    let event: OutEvent = match serde_json::from_str(&item.body) {
        Ok(ev) => ev,
        Err(e) => {
            // Not an event: failing it lets the queue's redrive policy move it
            // to the dead-letter queue, where an operator can look at it.
            tracing::error!(message_id = %item.message_id, error = %e, "queue message is not an event");
            return false;
        }
    };
    let r = Received { event, receipt: item.receipt.clone(), receive_count: item.receive_count.max(1) };
    match p.attempt(&r).await {
        Outcome::Delivered(_) => true,
        Outcome::Retry { after, .. } => {
            if let Err(e) = p.ctx.queue.release(&r.receipt, after).await {
                tracing::warn!(id = %r.event.id, error = %e, "backoff not set; the queue's visibility timeout applies");
            }
            false
        }
        Outcome::Dead { reason } => match p.dead_letter(&r, reason).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(id = %r.event.id, error = %e, "dead-letter send failed; left to the redrive policy");
                false
            }
        },
    }
}
