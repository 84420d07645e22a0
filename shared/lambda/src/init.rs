//! Cold-start work, done once per execution environment: logging, the
//! environment, the AWS clients, and a first round trip to DynamoDB so the
//! TLS connection is open before the first request (init time is not billed
//! the way request time is, and the first caller does not pay for it).

use lambda_http::Error;
use onecard_adapters::apigw_link::{ApiGwLink, ManagementApi};
use onecard_adapters::dynamo_store::DynamoStore;
use onecard_adapters::sqs_queue::SqsQueue;
use onecard_adapters::S3Blobs;
use onecard_core::blob::{BlobStore, NoBlobs};
use onecard_core::ctx::{Ctx, Ports};
use onecard_core::queue::{EventQueue, OutEvent, QueueError, QueueResult, Received};
use onecard_core::sitelink::{NoSites, SiteLink};
use onecard_core::store::ItemStore;
use onecard_core::time::SystemClock;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the template hands every function through its environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LambdaEnv {
    /// `ONECARD_TABLE`: the one DynamoDB table (required).
    pub table: String,
    /// `ONECARD_QUEUE_URL`: the outbound-event queue. Functions that publish no
    /// event (pls) are not given it and get a queue that refuses to publish.
    pub queue_url: Option<String>,
    /// `ONECARD_DLQ_URL`: the dead-letter queue (push only).
    pub dlq_url: Option<String>,
    /// `ONECARD_DYNAMODB_ENDPOINT` or `AWS_ENDPOINT_URL_DYNAMODB` (DynamoDB Local).
    pub dynamodb_endpoint: Option<String>,
    /// `ONECARD_SQS_ENDPOINT` or `AWS_ENDPOINT_URL_SQS`.
    pub sqs_endpoint: Option<String>,
    /// `ONECARD_WS_ENDPOINT`: the WebSocket API's management endpoint
    /// (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`), given to the
    /// functions that send site commands.
    pub ws_endpoint: Option<String>,
    /// `ONECARD_BUCKET`: the S3 bucket of pictures (decision 16). Functions
    /// without it keep no pictures (a picture is refused, its record kept).
    pub bucket: Option<String>,
    /// `ONECARD_S3_ENDPOINT` or `AWS_ENDPOINT_URL_S3` (moto).
    pub s3_endpoint: Option<String>,
}

impl LambdaEnv {
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let var = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let table = var("ONECARD_TABLE").ok_or("ONECARD_TABLE is not set: the DynamoDB table name is required")?;
        Ok(LambdaEnv {
            table,
            queue_url: var("ONECARD_QUEUE_URL"),
            dlq_url: var("ONECARD_DLQ_URL"),
            dynamodb_endpoint: var("ONECARD_DYNAMODB_ENDPOINT").or_else(|| var("AWS_ENDPOINT_URL_DYNAMODB")),
            sqs_endpoint: var("ONECARD_SQS_ENDPOINT").or_else(|| var("AWS_ENDPOINT_URL_SQS")),
            ws_endpoint: var("ONECARD_WS_ENDPOINT"),
            bucket: var("ONECARD_BUCKET"),
            s3_endpoint: var("ONECARD_S3_ENDPOINT").or_else(|| var("AWS_ENDPOINT_URL_S3")),
        })
    }
}

/// Structured logs: JSON lines on Lambda (CloudWatch Logs Insights reads the
/// fields; the runtime's span carries the request id), plain text elsewhere.
/// The level comes from `RUST_LOG`, else `LOG_LEVEL`, else Lambda's own
/// `AWS_LAMBDA_LOG_LEVEL`, else `info` (the bootstraps compile out debug and
/// trace events: their crates set `release_max_level_info`), as `level` or `target=level,...`
/// directives (`Targets`: the same syntax as `RUST_LOG` without its regular
/// expressions, so the bootstrap links no regex engine). Safe to call twice.
pub fn init_tracing() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let level = get("RUST_LOG")
        .or_else(|| get("LOG_LEVEL"))
        .or_else(|| get("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|| "info".into())
        .to_lowercase();
    let filter = level.parse::<Targets>().unwrap_or_else(|_| Targets::new().with_default(tracing::Level::INFO));
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let fmt = tracing_subscriber::fmt().with_target(false);
    let _ = if on_lambda {
        fmt.json().flatten_event(true).with_current_span(true).with_span_list(false).with_ansi(false).finish().with(filter).try_init()
    } else {
        fmt.finish().with(filter).try_init()
    };
}

/// The clients of one execution environment, built once and shared by every
/// invocation. `push` and `ws` reuse this too.
#[derive(Clone)]
pub struct Clients {
    pub env: LambdaEnv,
    pub store: Arc<DynamoStore>,
    pub queue: Arc<dyn EventQueue>,
    /// Outbound HTTP (6.2.3 verification, pushes): one pooled client.
    pub http: Arc<dyn onecard_core::outbound::Outbound>,
    pub blobs: Arc<dyn BlobStore>,
}

/// Logging, environment, clients, and a warm DynamoDB connection.
pub async fn init() -> Result<Clients, Error> {
    init_tracing();
    let started = Instant::now();
    let env = LambdaEnv::from_env()?;
    let store = Arc::new(DynamoStore::from_env(&env.table, env.dynamodb_endpoint.as_deref()).await);
    let queue: Arc<dyn EventQueue> = match &env.queue_url {
        Some(url) => Arc::new(SqsQueue::from_env(url, env.sqs_endpoint.as_deref()).await),
        None => Arc::new(NoQueue),
    };
    // A failed warm-up is not fatal: the first request retries the connection
    // and answers a proper envelope if the table is really unreachable.
    let warm = Instant::now();
    match store.warm().await {
        Ok(_) => tracing::info!(table = %env.table, warm_ms = warm.elapsed().as_millis() as u64, "dynamodb warm"),
        Err(e) => tracing::warn!(table = %env.table, error = %e, "dynamodb warm-up failed"),
    }
    tracing::info!(
        table = %env.table,
        queue = env.queue_url.as_deref().unwrap_or("-"),
        ws = env.ws_endpoint.as_deref().unwrap_or("-"),
        init_ms = started.elapsed().as_millis() as u64,
        "init done"
    );
    let http = onecard_adapters::http_out::HyperOutbound::shared(onecard_adapters::http_out::DEFAULT_TIMEOUT);
    let blobs: Arc<dyn BlobStore> = match &env.bucket {
        Some(bucket) => Arc::new(S3Blobs::from_env(bucket, env.s3_endpoint.as_deref()).await),
        None => Arc::new(NoBlobs),
    };
    Ok(Clients { env, store, queue, http, blobs })
}

impl Clients {
    /// The handler context over these clients.
    pub fn ctx(&self) -> Ctx {
        let store: Arc<dyn ItemStore> = self.store.clone();
        Ctx::new(Ports { store, queue: self.queue.clone(), sites: self.site_link(), clock: Arc::new(SystemClock) })
            .with_http(self.http.clone())
            .with_blobs(self.blobs.clone())
    }

    /// The link to the site agents: the API Gateway WebSocket API's connections
    /// when the function is given its management endpoint, else none (hardware
    /// routes answer "site offline").
    pub fn site_link(&self) -> Arc<dyn SiteLink> {
        match &self.env.ws_endpoint {
            Some(endpoint) => {
                let store: Arc<dyn ItemStore> = self.store.clone();
                let poster: Arc<dyn onecard_adapters::apigw_link::Poster> = Arc::new(ManagementApi::lazy(endpoint));
                let link = ApiGwLink::new(store.clone(), poster.clone());
                // Functions that change cards (park, pub) push the agents'
                // configuration themselves when a card changes; they are built
                // with the site configuration ("config-push"), the others need no pusher.
                #[cfg(feature = "config-push")]
                let link = link.with_config_pusher(crate::config_push::pusher(store, poster));
                Arc::new(link)
            }
            None => Arc::new(NoSites),
        }
    }
}

/// The queue of a function that has none configured: publishing is refused
/// (the handler's outbox row stays and the push function's sweep sends it).
pub struct NoQueue;

#[async_trait::async_trait]
impl EventQueue for NoQueue {
    async fn publish(&self, event: &OutEvent) -> QueueResult<()> {
        Err(QueueError(format!("no queue configured (ONECARD_QUEUE_URL) for event {} {}", event.route, event.id)))
    }
    async fn receive(&self, _max: usize, _wait: Duration) -> QueueResult<Vec<Received>> {
        Ok(Vec::new())
    }
    async fn ack(&self, _receipt: &str) -> QueueResult<()> {
        Err(QueueError("no queue configured".into()))
    }
    async fn release(&self, _receipt: &str, _delay: Duration) -> QueueResult<()> {
        Err(QueueError("no queue configured".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Result<LambdaEnv, Error> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        LambdaEnv::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn reads_the_environment() {
        assert!(env(&[]).is_err());
        assert!(env(&[("ONECARD_TABLE", "  ")]).is_err());
        let e = env(&[
            ("ONECARD_TABLE", "onecard"),
            ("ONECARD_QUEUE_URL", "https://sqs/q"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://localhost:8000"),
        ])
        .unwrap();
        assert_eq!(e.table, "onecard");
        assert_eq!(e.queue_url.as_deref(), Some("https://sqs/q"));
        assert_eq!(e.dynamodb_endpoint.as_deref(), Some("http://localhost:8000"));
        assert_eq!(e.ws_endpoint, None);
        assert_eq!(e.bucket, None);
        // The project's own variable wins over the SDK's.
        let e = env(&[
            ("ONECARD_TABLE", "t"),
            ("ONECARD_DYNAMODB_ENDPOINT", "http://a"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://b"),
        ])
        .unwrap();
        assert_eq!(e.dynamodb_endpoint.as_deref(), Some("http://a"));
    }
}
