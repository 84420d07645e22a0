//! Outbound (chapters 13 and 14): partners' subscriptions, the records pushed
//! to them, the signed delivery, retries with backoff and the dead-letter
//! queue, the consumers (the local worker, the Lambda's SQS batch), the 13.9
//! heartbeat, and the 6.2.3 payment verification call.
//!
//! Events are written by the modules that record their cause, in the same
//! transaction, through the outbox (`onecard_core::events`); this module only
//! ever reads them off the queue.

pub mod batch;
pub mod deliver;
pub mod fanout;
pub mod first_try;
pub mod heartbeat;
pub mod plain;
pub mod records;
pub mod retry;
pub mod subscriptions;
pub mod verify;
pub mod worker;

pub use retry::RetryPolicy;
pub use worker::Pusher;

#[cfg(test)]
pub(crate) mod testkit;
