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
