//! The outbound HTTP port (`onecard_core::outbound::Outbound`) on hyper-util's
//! pooled client over rustls (the TLS stack the AWS SDK already links), built
//! once and shared, with a deadline on every request so a partner that hangs
//! cannot hold a worker.

use bytes::Bytes;
use onecard_core::outbound::{Answer, Outbound};
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Partners answer a small envelope; anything bigger is not an answer.
const MAX_ANSWER_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub struct HyperOutbound {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl HyperOutbound {
    pub fn new(timeout: Duration) -> Self {
        HyperOutbound { inner: https_client(), timeout }
    }

    /// The port, shared.
    pub fn shared(timeout: Duration) -> std::sync::Arc<dyn Outbound> {
        std::sync::Arc::new(HyperOutbound::new(timeout))
    }
}

/// A pooled HTTP/1.1 client for http and https URLs, over rustls on ring with
/// the system's root certificates (the S3 blob store uses it too).
pub(crate) fn https_client() -> Client<HttpsConnector<HttpConnector>, Full<Bytes>> {
    https_client_with(None)
}

/// `https_client` whose connection attempts give up after `connect_timeout`.
pub(crate) fn https_client_with(connect_timeout: Option<Duration>) -> Client<HttpsConnector<HttpConnector>, Full<Bytes>> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = match HttpsConnectorBuilder::new().with_provider_and_native_roots(provider.clone()) {
        Ok(b) => b,
        Err(e) => {
            // Plain http partners still work; https ones fail with a clear
            // certificate error in the delivery log.
            tracing::warn!(error = %e, "no system root certificates: https partners cannot be verified");
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| b.with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth())
                .unwrap_or_else(|_| {
                    rustls::ClientConfig::builder().with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth()
                });
            HttpsConnectorBuilder::new().with_tls_config(config)
        }
    };
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(connect_timeout);
    http.set_nodelay(true);
    let connector = builder.https_or_http().enable_http1().wrap_connector(http);
    Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(60)).build(connector)
}

#[async_trait::async_trait]
impl Outbound for HyperOutbound {
    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn post_json_within(&self, url: &str, body: String, timeout: Duration) -> Result<Answer, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL '{url}': {e}"))?;
        let req = Request::post(uri)
            .header(hyper::header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("request to {url}: {e}"))?;
        let call = async {
            let resp = self.inner.request(req).await.map_err(|e| format!("POST {url}: {}", error_chain(&e)))?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| format!("reading the answer of {url}: {e}"))?
                .to_bytes();
            Ok(Answer { status, body: body.to_vec() })
        };
        match tokio::time::timeout(timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(format!("POST {url}: no answer within {} ms", timeout.as_millis())),
        }
    }
}

impl Default for HyperOutbound {
    fn default() -> Self {
        HyperOutbound::new(DEFAULT_TIMEOUT)
    }
}

/// hyper's errors say "client error (Connect)"; the cause says why.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
