//! The configuration every AWS SDK client starts from, and its HTTP client.
//!
//! The SDK clients send their requests through the adapters' own HTTP/1.1
//! client (`http_out`: hyper over rustls on ring), not the SDK's
//! `aws-smithy-http-client`, which always builds in HTTP/2 (`h2`) and its
//! own TLS set-up. DynamoDB, SQS and the Management API speak HTTP/1.1, so
//! every Lambda links one HTTP stack and one crypto library (h2 and the
//! SDK client weighed about 0.25 MB of each bootstrap).

use crate::http_out::{error_chain, https_client_with};
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider, SharedHttpClient};
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use aws_types::SdkConfig;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector as Tcp, Client};
use std::time::Duration;

/// The SDK's own default for a connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// An HTTP client for the SDK clients made from one configuration (a
/// `load()`): one connection pool, shared by their connectors.
///
/// Not one client for the process: a client's pooled connections are tasks
/// of the runtime that opened them, so a client kept across runtimes (each
/// `#[tokio::test]` has its own) fails with "runtime dropped the dispatch
/// task" once the first runtime is gone.
pub fn http_client() -> SharedHttpClient {
    let client = https_client_with(Some(CONNECT_TIMEOUT));
    http_client_fn(move |settings: &HttpConnectorSettings, _| {
        SharedHttpConnector::new(Connector { client: client.clone(), read_timeout: settings.read_timeout() })
    })
}

/// One SDK client's connector: the shared pool and that client's read timeout.
#[derive(Clone)]
struct Connector {
    client: Client<HttpsConnector<Tcp>, Full<Bytes>>,
    read_timeout: Option<Duration>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").field("read_timeout", &self.read_timeout).finish()
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let this = self.clone();
        HttpConnectorFuture::new(async move {
            let req = request.try_into_http1x().map_err(|e| ConnectorError::user(e.into()))?;
            let (parts, body) = req.into_parts();
            // The JSON services' requests are in memory; a streaming body
            // (an S3 upload) is not something these clients send.
            let bytes = body.bytes().map(Bytes::copy_from_slice).ok_or_else(|| ConnectorError::user("a streaming request body is not supported".into()))?;
            let req = http::Request::from_parts(parts, Full::new(bytes));
            let call = async {
                // Any failure on the way is an I/O error to the SDK, which
                // retries it as transient (as it does its own client's).
                let resp = this.client.request(req).await.map_err(|e| ConnectorError::io(error_chain(&e).into()))?;
                let (parts, body) = resp.into_parts();
                let body = body.collect().await.map_err(|e| ConnectorError::io(e.into()))?.to_bytes();
                Ok::<_, ConnectorError>(http::Response::from_parts(parts, SdkBody::from(body)))
            };
            let resp = match this.read_timeout {
                Some(t) => tokio::time::timeout(t, call).await.map_err(|_| ConnectorError::timeout(format!("no answer within {} ms", t.as_millis()).into()))??,
                None => call.await?,
            };
            HttpResponse::try_from(resp).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// The default AWS configuration chain (environment, profile, container and
/// instance credentials) over `http_client`.
#[cfg(feature = "aws-config")]
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client()).load().await
}

/// The configuration a Lambda function needs, from its environment alone.
#[cfg(not(feature = "aws-config"))]
pub async fn load() -> SdkConfig {
    from_env(|k| std::env::var(k).ok())
}

/// A configuration from environment variables only: what Lambda gives every
/// function (`AWS_REGION`, and the execution role's `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, valid for the execution
/// environment's life), plus `AWS_ENDPOINT_URL` for a local emulator. The
/// full chain (aws-config) reads these first too, so on Lambda the two give
/// the same clients; this one does not link aws-config and STS (about
/// 0.5 MB of bootstrap) and reads no files at cold start.
pub fn from_env(get: impl Fn(&str) -> Option<String>) -> SdkConfig {
    let var = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).unwrap_or_else(|| "us-east-1".into());
    let mut b = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .http_client(http_client());
    match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => {
            let creds = Credentials::new(id, secret, var("AWS_SESSION_TOKEN"), None, "Environment");
            b = b.credentials_provider(SharedCredentialsProvider::new(creds));
        }
        // Requests then fail to sign, each with the SDK's own message.
        _ => tracing::warn!("no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"),
    }
    if let Some(url) = var("AWS_ENDPOINT_URL") {
        b = b.endpoint_url(url);
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::{from_env, http_client};
    use std::collections::HashMap;

    /// The environment-only configuration signs with the environment's
    /// credentials, in its region, against its endpoint.
    #[tokio::test]
    async fn from_env_reads_region_credentials_and_endpoint() {
        use aws_sdk_dynamodb::config::ProvideCredentials;
        let vars: HashMap<&str, &str> = [
            ("AWS_REGION", "cn-north-1"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
        ]
        .into();
        let conf = from_env(|k| vars.get(k).map(|v| v.to_string()));
        assert_eq!(conf.region().map(|r| r.as_ref()), Some("cn-north-1"));
        assert_eq!(conf.endpoint_url(), Some("http://127.0.0.1:1"));
        let creds = conf.credentials_provider().unwrap().provide_credentials().await.unwrap();
        assert_eq!((creds.access_key_id(), creds.secret_access_key(), creds.session_token()), ("AKID", "secret", Some("token")));
        // Nothing set: the default region, no credentials, no endpoint.
        let bare = from_env(|_| None);
        assert_eq!(bare.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert!(bare.credentials_provider().is_none() && bare.endpoint_url().is_none());
        // A request made from it reaches the endpoint (and fails there only
        // because nothing listens).
        let conf = aws_sdk_dynamodb::config::Builder::from(&from_env(|k| vars.get(k).map(|v| v.to_string())))
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(conf);
        let err = client.list_tables().send().await.unwrap_err();
        assert!(matches!(err, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)), "{err:?}");
    }

    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_dynamodb::error::SdkError;

    /// Without an HTTP client the SDK refuses to build the request
    /// (ConstructionFailure); with ours, over https too (the ring provider is
    /// set up when the first connection is made), it reaches the network and
    /// fails only because nothing listens there.
    #[tokio::test]
    async fn sdk_requests_reach_the_network_over_our_client() {
        for endpoint in ["http://127.0.0.1:1", "https://127.0.0.1:1"] {
            let conf = aws_sdk_dynamodb::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("test", "test", None, None, "test"))
                .endpoint_url(endpoint)
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
                .http_client(http_client())
                .build();
            let err = aws_sdk_dynamodb::Client::from_conf(conf).list_tables().send().await.unwrap_err();
            assert!(matches!(err, SdkError::DispatchFailure(_)), "{endpoint}: {err:?}");
        }
    }
}
