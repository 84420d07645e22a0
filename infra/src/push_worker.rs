//! The push worker of `onecard serve`: the same delivery code as the push
//! function, fed by the server's event queue, plus the once-a-minute tick
//! (outbox sweep and 13.9 heartbeat) that EventBridge gives the function.

use crate::cli::ServeArgs;
use onecard_adapters::http_out::HyperOutbound;
use onecard_app::push::{Pusher, RetryPolicy};
use onecard_core::queue::DeadLetters;
use onecard_core::Ctx;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The dead-letter queue `serve` uses: SQS when given, else the data dir's.
pub async fn dead_letters(args: &ServeArgs) -> anyhow::Result<Arc<dyn DeadLetters>> {
    match &args.sqs_dlq_url {
        Some(url) => Ok(Arc::new(onecard_adapters::sqs_dlq::SqsDeadLetters::from_env(url, None).await)),
        None => crate::dlq::open_dead_letters_embedded(&args.store.data_dir),
    }
}

pub struct PushWorker {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl PushWorker {
    pub fn start(ctx: Ctx, dlq: Arc<dyn DeadLetters>, args: &ServeArgs) -> PushWorker {
        let policy = RetryPolicy::new(Duration::from_millis(args.push_retry_base_ms))
            .with_cap(Duration::from_millis(args.push_retry_cap_ms))
            .with_give_up_after(Duration::from_secs(args.push_give_up_after_secs))
            .with_max_attempts(args.push_max_attempts);
        let pusher = Pusher { ctx, client: std::sync::Arc::new(HyperOutbound::default()), policy, dlq };
        let (stop, rx) = watch::channel(false);
        let tick = Duration::from_secs(args.push_tick_secs.max(1));
        let task = tokio::spawn(pusher.run(tick, rx));
        let bound = policy.max_attempts.map(|n| format!(" or {n} attempts")).unwrap_or_default();
        println!(
            "push worker: retries from {} ms doubling up to {} ms, dead-letter after {} s{bound}, heartbeat every {} s",
            policy.base.as_millis(),
            policy.cap.as_millis(),
            policy.give_up_after.as_secs(),
            tick.as_secs()
        );
        PushWorker { stop, task }
    }

    /// Lets the message in hand finish (it is acked or released), then stops.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(15), self.task).await.is_err() {
            tracing::warn!("push worker did not stop within 15 s");
        }
    }
}
