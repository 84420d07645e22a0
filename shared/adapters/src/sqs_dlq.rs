//! The SQS dead-letter queue. A message body is the plain `OutEvent` JSON, the
//! same as on the main queue, so entries moved by the queue's own redrive
//! policy and entries the push function sends look alike (and the console's
//! "start DLQ redrive" works too); reason and attempts ride as attributes.

use async_trait::async_trait;
use aws_sdk_sqs::error::{DisplayErrorContext, SdkError};
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};
use aws_sdk_sqs::Client;
use onecard_core::queue::{DeadLetter, DeadLetters, EventQueue, OutEvent, QueueError, QueueResult};
use std::collections::HashSet;

const REASON: &str = "reason";
const ATTEMPTS: &str = "attempts";
const FAILED_AT: &str = "failedAt";
/// How long a listed or skipped message stays hidden from other readers while
/// we page through the queue; it is made visible again right after.
const HIDE_SECS: i32 = 30;

#[derive(Clone)]
pub struct SqsDeadLetters {
    client: Client,
    url: String,
}

fn err<E, R>(e: SdkError<E, R>) -> QueueError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    QueueError(DisplayErrorContext(&e).to_string())
}

fn text(v: impl Into<String>) -> QueueResult<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .map_err(|e| QueueError(e.to_string()))
}

struct Got {
    receipt: String,
    message_id: String,
    dead: Option<DeadLetter>,
}

impl SqsDeadLetters {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        SqsDeadLetters { client, url: url.into() }
    }

    pub async fn from_env(url: &str, endpoint_url: Option<&str>) -> Self {
        let conf = crate::sdk_config::load().await;
        let mut b = aws_sdk_sqs::config::Builder::from(&conf);
        if let Some(e) = endpoint_url {
            b = b.endpoint_url(e);
        }
        SqsDeadLetters::new(Client::from_conf(b.build()), url)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// One page of messages, hidden for `HIDE_SECS`.
    async fn page(&self) -> QueueResult<Vec<Got>> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .visibility_timeout(HIDE_SECS)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(err)?;
        let mut got = Vec::new();
        for m in out.messages() {
            let (Some(receipt), Some(id)) = (m.receipt_handle(), m.message_id()) else { continue };
            let attr = |k: &str| m.message_attributes().and_then(|a| a.get(k)).and_then(|v| v.string_value()).map(str::to_string);
            let sys = |k: MessageSystemAttributeName| m.attributes().and_then(|a| a.get(&k)).cloned();
            let dead = serde_json::from_str::<OutEvent>(m.body().unwrap_or_default()).ok().map(|event| DeadLetter {
                event,
                // Moved by the queue's redrive policy: no attributes of ours.
                reason: attr(REASON).unwrap_or_else(|| "maximum receives reached (queue redrive policy)".into()),
                attempts: attr(ATTEMPTS).and_then(|a| a.parse().ok()).unwrap_or(0),
                failed_at: attr(FAILED_AT)
                    .or_else(|| {
                        sys(MessageSystemAttributeName::SentTimestamp)
                            .and_then(|ms| ms.parse::<i64>().ok())
                            .and_then(chrono::DateTime::from_timestamp_millis)
                            .map(|t| t.to_rfc3339())
                    })
                    .unwrap_or_default(),
            });
            if dead.is_none() {
                tracing::warn!(message_id = id, "dead letter is not an event; left in place");
            }
            got.push(Got { receipt: receipt.to_string(), message_id: id.to_string(), dead });
        }
        Ok(got)
    }

    async fn unhide(&self, receipts: &[String]) {
        for r in receipts {
            if let Err(e) = self.client.change_message_visibility().queue_url(&self.url).receipt_handle(r).visibility_timeout(0).send().await {
                tracing::warn!(error = %DisplayErrorContext(&e), "dead letter stays hidden until its timeout");
            }
        }
    }

    async fn delete(&self, receipt: &str) -> QueueResult<()> {
        self.client.delete_message().queue_url(&self.url).receipt_handle(receipt).send().await.map_err(err)?;
        Ok(())
    }

    /// Walks the whole queue once: `f` decides per message whether it is
    /// consumed (deleted) or left; left messages are made visible again.
    async fn walk<F, Fut>(&self, limit: usize, mut f: F) -> QueueResult<usize>
    where
        F: FnMut(Option<DeadLetter>) -> Fut,
        Fut: std::future::Future<Output = QueueResult<bool>>,
    {
        let mut seen = HashSet::new();
        let mut left = Vec::new();
        let mut consumed = 0;
        let result = async {
            while seen.len() < limit {
                let page = self.page().await?;
                if page.is_empty() {
                    break;
                }
                let mut fresh = 0;
                for g in page {
                    if !seen.insert(g.message_id.clone()) {
                        left.push(g.receipt);
                        continue;
                    }
                    fresh += 1;
                    if f(g.dead).await? {
                        self.delete(&g.receipt).await?;
                        consumed += 1;
                    } else {
                        left.push(g.receipt);
                    }
                }
                if fresh == 0 {
                    break;
                }
            }
            Ok(())
        }
        .await;
        self.unhide(&left).await;
        result.map(|()| consumed)
    }
}

#[async_trait]
impl DeadLetters for SqsDeadLetters {
    async fn send(&self, dead: &DeadLetter) -> QueueResult<()> {
        let body = serde_json::to_string(&dead.event).map_err(|e| QueueError(e.to_string()))?;
        // SQS caps an attribute value at the message size; a reason is a line.
        let reason: String = dead.reason.chars().take(1000).collect();
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_attributes(REASON, text(if reason.is_empty() { "-".into() } else { reason })?)
            .message_attributes(ATTEMPTS, text(dead.attempts.to_string())?)
            .message_attributes(FAILED_AT, text(dead.failed_at.clone())?)
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn list(&self, max: usize) -> QueueResult<Vec<DeadLetter>> {
        let mut out = Vec::new();
        let out_ref = &mut out;
        self.walk(max, |d| {
            if let Some(d) = d {
                out_ref.push(d);
            }
            async { Ok(false) }
        })
        .await?;
        out.truncate(max);
        Ok(out)
    }

    async fn redrive(&self, ids: Option<&[String]>, to: &dyn EventQueue) -> QueueResult<usize> {
        self.walk(usize::MAX, |d| async move {
            match d {
                Some(d) if ids.is_none_or(|ids| ids.contains(&d.event.id)) => {
                    to.publish(&d.event).await?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .await
    }

    async fn purge(&self) -> QueueResult<usize> {
        // PurgeQueue is refused twice within 60 s and does not say how many it
        // dropped; deleting page by page does both.
        self.walk(usize::MAX, |_| async { Ok(true) }).await
    }
}
