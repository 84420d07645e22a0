//! The SQS event queue. Bodies are OutEvent JSON; the receipt is SQS's receipt
//! handle.

use async_trait::async_trait;
use crate::throttle;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use aws_sdk_sqs::Client;
use onecard_core::queue::{EventQueue, OutEvent, QueueError, QueueResult, Received};
use std::time::Duration;

/// SQS's own ceilings for one ReceiveMessage call and for a visibility timeout.
const MAX_BATCH: usize = 10;
const MAX_WAIT_SECS: u64 = 20;
const MAX_VISIBILITY_SECS: u64 = 12 * 60 * 60;

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
    /// None: the queue's own VisibilityTimeout attribute applies.
    visibility: Option<Duration>,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        SqsQueue { client, url: queue_url.into(), visibility: None }
    }

    /// A client from the default AWS configuration chain; `endpoint_url` points
    /// it at a local SQS-compatible server instead of AWS.
    pub async fn from_env(queue_url: &str, endpoint_url: Option<&str>) -> Self {
        let conf = crate::sdk_config::load().await;
        let mut b = aws_sdk_sqs::config::Builder::from(&conf);
        if let Some(url) = endpoint_url {
            b = b.endpoint_url(url);
        }
        SqsQueue::new(Client::from_conf(b.build()), queue_url)
    }

    /// Overrides the queue's visibility timeout for messages this handle receives.
    pub fn with_visibility_timeout(mut self, visibility: Duration) -> Self {
        self.visibility = Some(visibility);
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates (or finds) a standard queue and returns its URL.
    pub async fn create_queue(client: &Client, name: &str) -> QueueResult<String> {
        let out = client
            .create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::VisibilityTimeout, "30")
            .send()
            .await
            .map_err(err)?;
        out.queue_url().map(str::to_string).ok_or_else(|| QueueError("no queue url".into()))
    }
}

/// Throttling is its own kind, which the calls below retry with backoff.
fn err<E, R>(e: SdkError<E, R>) -> QueueError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let text = DisplayErrorContext(&e).to_string();
    match e.code() {
        Some(code) if throttle::is_sqs_throttling(code) => QueueError::throttled(text),
        _ => QueueError(text),
    }
}

fn secs(d: Duration, max: u64) -> i32 {
    d.as_secs().min(max) as i32
}

#[async_trait]
impl EventQueue for SqsQueue {
    async fn publish(&self, event: &OutEvent) -> QueueResult<()> {
        let body = serde_json::to_string(event).map_err(|e| QueueError(e.to_string()))?;
        let send = || async { self.client.send_message().queue_url(&self.url).message_body(&body).send().await.map_err(err) };
        throttle::with_backoff(send, QueueError::is_throttled).await?;
        Ok(())
    }

    async fn receive(&self, max: usize, wait: Duration) -> QueueResult<Vec<Received>> {
        let call = || {
            self.client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(max.clamp(1, MAX_BATCH) as i32)
                .wait_time_seconds(secs(wait, MAX_WAIT_SECS))
                .set_visibility_timeout(self.visibility.map(|v| secs(v, MAX_VISIBILITY_SECS)))
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
        };
        let out = throttle::with_backoff(|| async { call().await.map_err(err) }, QueueError::is_throttled).await?;
        let mut got = Vec::new();
        for m in out.messages() {
            let Some(receipt) = m.receipt_handle() else { continue };
            let event = match serde_json::from_str::<OutEvent>(m.body().unwrap_or_default()) {
                Ok(ev) => ev,
                // Left to come back and, with a redrive policy, reach the
                // dead-letter queue; failing the batch would block the others.
                Err(e) => {
                    tracing::warn!(id = ?m.message_id(), error = %e, "unreadable queue message skipped");
                    continue;
                }
            };
            let receive_count = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            got.push(Received { event, receipt: receipt.to_string(), receive_count });
        }
        Ok(got)
    }

    async fn ack(&self, receipt: &str) -> QueueResult<()> {
        let call = || async { self.client.delete_message().queue_url(&self.url).receipt_handle(receipt).send().await.map_err(err) };
        throttle::with_backoff(call, QueueError::is_throttled).await?;
        Ok(())
    }

    async fn release(&self, receipt: &str, delay: Duration) -> QueueResult<()> {
        let call = || async {
            self.client
                .change_message_visibility()
                .queue_url(&self.url)
                .receipt_handle(receipt)
                .visibility_timeout(secs(delay, MAX_VISIBILITY_SECS))
                .send()
                .await
                .map_err(err)
        };
        throttle::with_backoff(call, QueueError::is_throttled).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::error::ErrorMetadata;
    use aws_sdk_sqs::operation::send_message::SendMessageError;

    fn service_error(code: &str) -> SdkError<SendMessageError, ()> {
        SdkError::service_error(SendMessageError::generic(ErrorMetadata::builder().code(code).message("m").build()), ())
    }

    #[test]
    fn throttling_maps_to_its_own_kind() {
        assert!(err(service_error("RequestThrottled")).is_throttled());
        assert!(err(service_error("ThrottlingException")).is_throttled());
        assert!(!err(service_error("AWS.SimpleQueueService.NonExistentQueue")).is_throttled());
    }
}
