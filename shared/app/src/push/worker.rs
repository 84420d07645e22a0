//! The queue consumer: the local server's worker loop over the embedded queue,
//! and the settling of one received message that the Lambda shares.

use super::client::HttpClient;
use super::fanout::{self, Outcome};
use super::retry::RetryPolicy;
use onecard_core::queue::{DeadLetter, DeadLetters, Received};
use onecard_core::Ctx;
use std::sync::Arc;
use std::time::Duration;

/// Everything a consumer needs, built once.
#[derive(Clone)]
pub struct Pusher {
    pub ctx: Ctx,
    pub client: HttpClient,
    pub policy: RetryPolicy,
    pub dlq: Arc<dyn DeadLetters>,
}

/// How a message was settled, for logs and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    Delivered,
    Retrying(Duration),
    DeadLettered,
    /// Neither acked nor released: it comes back after its visibility timeout.
    Left(String),
}

impl Pusher {
    /// Attempts one event and decides its fate; the caller acts on the queue.
    pub async fn attempt(&self, r: &Received) -> Outcome {
        fanout::attempt(&self.ctx, &self.client, &self.policy, &r.event, r.receive_count.max(1)).await
    }

    /// Sends an exhausted event to the dead-letter queue.
    pub async fn dead_letter(&self, r: &Received, reason: String) -> Result<(), String> {
        let dead = DeadLetter::new(r.event.clone(), reason, r.receive_count);
        self.dlq.send(&dead).await.map_err(|e| e.to_string())
    }

    /// Attempts one message and settles it on `ctx.queue`.
    pub async fn handle(&self, r: Received) -> Settled {
        let q = &self.ctx.queue;
        let settled = match self.attempt(&r).await {
            Outcome::Delivered(_) => match q.ack(&r.receipt).await {
                Ok(()) => Settled::Delivered,
                Err(e) => Settled::Left(format!("ack: {e}")),
            },
            Outcome::Retry { after, .. } => match q.release(&r.receipt, after).await {
                Ok(()) => Settled::Retrying(after),
                Err(e) => Settled::Left(format!("release: {e}")),
            },
            Outcome::Dead { reason } => match self.dead_letter(&r, reason).await {
                Ok(()) => match q.ack(&r.receipt).await {
                    Ok(()) => Settled::DeadLettered,
                    Err(e) => Settled::Left(format!("ack after dead-lettering: {e}")),
                },
                // Kept on the queue: the next receive tries the DLQ again.
                Err(e) => {
                    let _ = q.release(&r.receipt, self.policy.base).await;
                    Settled::Left(format!("dead-letter queue: {e}"))
                }
            },
        };
        if let Settled::Left(why) = &settled {
            tracing::warn!(id = %r.event.id, why, "queue message left for its visibility timeout");
        }
        settled
    }

    /// One receive and its messages, handled concurrently. Answers how many.
    pub async fn poll_once(&self, wait: Duration) -> Result<usize, String> {
        let got = self.ctx.queue.receive(10, wait).await.map_err(|e| e.to_string())?;
        let n = got.len();
        futures::future::join_all(got.into_iter().map(|r| self.handle(r))).await;
        Ok(n)
    }

    /// The scheduled work: the outbox sweep (events a crash left unpublished)
    /// and the 13.9 heartbeat.
    pub async fn tick(&self) {
        match onecard_core::events::sweep_outbox(&self.ctx, OUTBOX_MIN_AGE_SECS).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(published = n, "outbox sweep"),
            Err(e) => tracing::warn!(error = %e, "outbox sweep failed"),
        }
        let (sent, failed) = super::heartbeat::beat(&self.ctx, &self.client).await;
        if sent + failed > 0 {
            tracing::debug!(sent, failed, "heartbeats");
        }
    }

    /// The local loop: consume until `stop` turns true; tick every `tick_every`.
    pub async fn run(self, tick_every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut next_tick = tokio::time::Instant::now();
        loop {
            if *stop.borrow() {
                return;
            }
            if tokio::time::Instant::now() >= next_tick {
                self.tick().await;
                next_tick = tokio::time::Instant::now() + tick_every;
            }
            tokio::select! {
                r = self.poll_once(Duration::from_secs(1)) => {
                    if let Err(e) = r {
                        tracing::warn!(error = %e, "queue receive failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                _ = stop.changed() => return,
            }
        }
    }
}

/// An outbox item younger than this is probably being published by the
/// request that wrote it; the sweep leaves it alone.
pub const OUTBOX_MIN_AGE_SECS: i64 = 30;
