//! The queue consumer: the local server's worker loop over the embedded queue,
//! and the settling of one received message that the Lambda shares.

use onecard_core::outbound::Outbound;
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
    pub client: std::sync::Arc<dyn Outbound>,
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
        fanout::attempt(&self.ctx, &*self.client, &self.policy, &r.event, r.receive_count.max(1)).await
    }

    /// Sends an exhausted event to the dead-letter queue.
    pub async fn dead_letter(&self, r: &Received, reason: String) -> Result<(), String> {
        let dead = DeadLetter::new(r.event.clone(), reason, r.receive_count);
        self.dlq.send(&dead).await.map_err(|e| e.to_string())?;
        super::first_try::forget(&self.ctx, &r.event).await;
        Ok(())
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
            Ok(s) if s == Default::default() => {}
            Ok(s) => tracing::info!(published = s.published, quarantined = s.quarantined, failed = s.failed, "outbox sweep"),
            Err(e) => tracing::warn!(error = %e, "outbox sweep failed"),
        }
        let (sent, failed) = super::heartbeat::beat(&self.ctx, &*self.client).await;
        if sent + failed > 0 {
            tracing::debug!(sent, failed, "heartbeats");
        }
    }

    /// The local loop: consume until `stop` turns true; tick every `tick_every`.
    /// Stop is checked between receives (each waits at most a second), so the
    /// messages in hand are settled before it returns. The tick runs on its
    /// own task so a partner that is slow to take a heartbeat does not hold
    /// up the queue.
    pub async fn run(self, tick_every: Duration, stop: tokio::sync::watch::Receiver<bool>) {
        let mut next_tick = tokio::time::Instant::now();
        let mut ticking: Option<tokio::task::JoinHandle<()>> = None;
        while !*stop.borrow() {
            if tokio::time::Instant::now() >= next_tick && ticking.as_ref().is_none_or(|t| t.is_finished()) {
                let me = self.clone();
                ticking = Some(tokio::spawn(async move { me.tick().await }));
                next_tick = tokio::time::Instant::now() + tick_every;
            }
            if let Err(e) = self.poll_once(Duration::from_secs(1)).await {
                tracing::warn!(error = %e, "queue receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        if let Some(t) = ticking {
            t.abort();
        }
    }
}

/// An outbox item younger than this is probably being published by the
/// request that wrote it; the sweep leaves it alone.
pub const OUTBOX_MIN_AGE_SECS: i64 = 30;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::subscriptions::{self, Partner};
    use crate::push::testkit;
    use onecard_core::events::{outbox_write, publish_committed};
    use onecard_core::queue::OutEvent;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A partner on loopback that refuses the first `fail` requests.
    async fn partner(fail: usize) -> (String, Arc<AtomicUsize>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let seen = Arc::new(AtomicUsize::new(0));
        let n = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let n = n.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // One request per connection is enough here: read until the
                    // body announced by Content-Length is in.
                    loop {
                        let k = s.read(&mut chunk).await.unwrap_or(0);
                        if k == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..k]);
                        let text = String::from_utf8_lossy(&buf).to_string();
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            let len = head
                                .lines()
                                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                                .unwrap_or(0);
                            if body.len() >= len {
                                break;
                            }
                        }
                    }
                    let i = n.fetch_add(1, Ordering::SeqCst);
                    let answer = if i < fail { r#"{"status":false,"code":500}"# } else { r#"{"status":true,"code":200}"# };
                    let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}", answer.len());
                    let _ = s.write_all(resp.as_bytes()).await;
                });
            }
        });
        (url, seen)
    }

    type Dlq = Arc<onecard_adapters::embedded_dlq::EmbeddedDeadLetters>;

    async fn setup(fail: usize, max_attempts: u32) -> (Pusher, Arc<AtomicUsize>, Dlq) {
        let (ctx, _q) = testkit::ctx().await;
        setup_on(ctx, fail, RetryPolicy::new(Duration::from_millis(20)).with_max_attempts(max_attempts)).await
    }

    async fn setup_on(ctx: Ctx, fail: usize, policy: RetryPolicy) -> (Pusher, Arc<AtomicUsize>, Dlq) {
        let (url, seen) = partner(fail).await;
        let p = Partner {
            branch: "1001".into(),
            name: "acme".into(),
            url,
            secret: "s".into(),
            from: "PARK".into(),
            events: vec!["report/parkInData".into()],
            enabled: true,
        };
        subscriptions::put(ctx.store(), &p).await.unwrap();
        let dlq = Arc::new(onecard_adapters::embedded_dlq::EmbeddedDeadLetters::open(&testkit::temp_dir().join("dlq.db")).unwrap());
        let pusher = Pusher { ctx, client: std::sync::Arc::new(onecard_adapters::http_out::HyperOutbound::default()), policy, dlq: dlq.clone() };
        (pusher, seen, dlq)
    }

    async fn emit(p: &Pusher) -> OutEvent {
        let now = onecard_core::time::parse("2026-01-01 10:00:00").unwrap();
        let ev = OutEvent::new("1001", "report/parkInData", json!({"cardInId": "1"}), now);
        p.ctx.store.transact(vec![outbox_write(&ev)]).await.unwrap();
        publish_committed(&p.ctx, std::slice::from_ref(&ev)).await;
        ev
    }

    async fn next(p: &Pusher) -> Settled {
        let r = p.ctx.queue.receive(1, Duration::from_secs(2)).await.unwrap().pop().expect("a message");
        p.handle(r).await
    }

    #[tokio::test]
    async fn retries_with_backoff_then_delivers_once() {
        let (p, seen, _) = setup(2, 8).await;
        emit(&p).await;
        assert_eq!(next(&p).await, Settled::Retrying(Duration::from_millis(20)));
        assert_eq!(next(&p).await, Settled::Retrying(Duration::from_millis(40)));
        assert_eq!(next(&p).await, Settled::Delivered);
        assert!(p.ctx.queue.receive(1, Duration::from_millis(200)).await.unwrap().is_empty());
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_delivered_marker_stops_a_second_send() {
        let (p, seen, _) = setup(0, 8).await;
        let ev = emit(&p).await;
        assert_eq!(next(&p).await, Settled::Delivered);
        // The same event again (an SQS duplicate, a redrive): nobody is sent it.
        p.ctx.queue.publish(&ev).await.unwrap();
        assert_eq!(next(&p).await, Settled::Delivered);
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn gives_up_into_the_dead_letter_queue() {
        let (p, seen, dlq) = setup(usize::MAX, 2).await;
        let ev = emit(&p).await;
        assert!(matches!(next(&p).await, Settled::Retrying(_)));
        assert_eq!(next(&p).await, Settled::DeadLettered);
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        let dead = dlq.list(10).await.unwrap();
        assert_eq!((dead.len(), dead[0].attempts), (1, 2));
        assert_eq!(dead[0].event, ev);
        assert!(dead[0].reason.contains("acme"), "{}", dead[0].reason);
    }

    /// Decision 18's window on a clock the test moves; steps shrunk to
    /// milliseconds so the embedded queue hands the message back at once.
    async fn windowed(fail: usize) -> (Pusher, Arc<AtomicUsize>, Dlq, Arc<onecard_core::time::OffsetClock>) {
        let clock = onecard_core::time::OffsetClock::new(chrono::Duration::zero());
        let (ctx, _q) = testkit::ctx_with_clock(clock.clone()).await;
        let policy = RetryPolicy::new(Duration::from_millis(10)).with_cap(Duration::from_millis(20));
        let (p, seen, dlq) = setup_on(ctx, fail, policy).await;
        (p, seen, dlq, clock)
    }

    #[tokio::test]
    async fn a_partner_down_for_two_hours_loses_nothing_and_gets_no_dead_letter() {
        let (p, seen, dlq, clock) = windowed(12).await;
        emit(&p).await;
        // Twelve failures ten minutes apart: far more than the old fixed 8.
        for i in 0..12 {
            assert!(matches!(next(&p).await, Settled::Retrying(_)), "attempt {}", i + 1);
            clock.set_offset(chrono::Duration::minutes(10 * (i + 1)));
        }
        assert_eq!(next(&p).await, Settled::Delivered);
        assert_eq!(seen.load(Ordering::SeqCst), 13);
        assert!(dlq.list(10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn gives_up_24_hours_after_the_first_attempt_and_a_redrive_starts_a_new_window() {
        let (p, seen, dlq, clock) = windowed(usize::MAX).await;
        let ev = emit(&p).await;
        assert!(matches!(next(&p).await, Settled::Retrying(_)));
        clock.set_offset(chrono::Duration::hours(24) - chrono::Duration::seconds(5));
        assert!(matches!(next(&p).await, Settled::Retrying(_)), "still inside the 24 h");
        clock.set_offset(chrono::Duration::hours(24));
        assert_eq!(next(&p).await, Settled::DeadLettered);
        assert_eq!(seen.load(Ordering::SeqCst), 3);
        let dead = dlq.list(10).await.unwrap();
        assert_eq!((dead.len(), dead[0].attempts), (1, 3));
        assert!(dead[0].reason.contains("86400 s after the first"), "{}", dead[0].reason);
        // Redriven the next day: its window counts from the redrive.
        clock.set_offset(chrono::Duration::hours(30));
        assert_eq!(dlq.redrive(None, &*p.ctx.queue).await.unwrap(), 1);
        assert!(matches!(next(&p).await, Settled::Retrying(_)), "a redrive is not dead on arrival");
        assert_eq!(p.ctx.queue.receive(1, Duration::from_secs(2)).await.unwrap()[0].event, ev);
    }
}
