//! The event queue port: what the cloud sends out to partners travels through it.
//! Semantics follow SQS: a received message is invisible for a while; it is gone
//! only once acked, otherwise it comes back (at-least-once delivery, consumers
//! drop duplicates by message id).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// One outbound event. `id` is stable across redeliveries and is what the partner
/// uses to drop duplicates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutEvent {
    pub id: String,
    pub branch: String,
    /// The outbound route, e.g. `report/parkInData`.
    pub route: String,
    /// The record (one element of the pushed `data` array).
    pub record: Value,
    /// Local time the cause was recorded.
    pub at: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    pub event: OutEvent,
    /// Handle for ack / release (SQS receipt handle, or the embedded row id).
    pub receipt: String,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
}

#[derive(Clone, Debug, thiserror::Error)]
#[error("queue: {0}")]
pub struct QueueError(pub String);

/// Marks a throttled queue call. A prefix rather than a variant because every
/// adapter builds `QueueError(text)` directly.
const THROTTLED: &str = "throttled: ";

impl QueueError {
    /// The queue refused for load (SQS request throttling); the adapter has
    /// already retried with backoff before answering this.
    pub fn throttled(detail: impl std::fmt::Display) -> Self {
        QueueError(format!("{THROTTLED}{detail}"))
    }
    pub fn is_throttled(&self) -> bool {
        self.0.starts_with(THROTTLED)
    }
}

pub type QueueResult<T> = Result<T, QueueError>;

#[async_trait]
pub trait EventQueue: Send + Sync + 'static {
    async fn publish(&self, event: &OutEvent) -> QueueResult<()>;
    /// Up to `max` messages, waiting at most `wait` for the first.
    async fn receive(&self, max: usize, wait: Duration) -> QueueResult<Vec<Received>>;
    /// Delivered: remove for good.
    async fn ack(&self, receipt: &str) -> QueueResult<()>;
    /// Not delivered: make it visible again after `delay`.
    async fn release(&self, receipt: &str, delay: Duration) -> QueueResult<()>;
}

/// An event given up on after the maximum delivery attempts, kept for an
/// operator to inspect and redrive once the partner is back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub event: OutEvent,
    /// The last failure, as the delivery code saw it.
    pub reason: String,
    pub attempts: u32,
    /// UTC time it was dead-lettered (RFC 3339).
    pub failed_at: String,
}

impl DeadLetter {
    pub fn new(event: OutEvent, reason: impl Into<String>, attempts: u32) -> Self {
        DeadLetter { event, reason: reason.into(), attempts, failed_at: crate::time::now().to_rfc3339() }
    }
}

/// The dead-letter queue port. Entries are named by their event id, which is
/// stable from the cause to the partner, so an operator can redrive one event.
#[async_trait]
pub trait DeadLetters: Send + Sync + 'static {
    async fn send(&self, dead: &DeadLetter) -> QueueResult<()>;
    /// Up to `max` entries, oldest first where the backend can tell.
    async fn list(&self, max: usize) -> QueueResult<Vec<DeadLetter>>;
    /// Publishes the named entries (every entry when `ids` is None) to `to` and
    /// removes them here; answers how many moved. An entry is removed only
    /// after its publish succeeded, so a crash in between duplicates, never loses.
    async fn redrive(&self, ids: Option<&[String]>, to: &dyn EventQueue) -> QueueResult<usize>;
    /// Drops every entry; answers how many.
    async fn purge(&self) -> QueueResult<usize>;
}
