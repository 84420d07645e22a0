//! The configuration every AWS SDK client starts from, and its HTTP client.
//!
//! The SDKs' `default-https-client` feature would pick rustls on aws-lc-rs;
//! naming the client here keeps rustls on ring, the provider the outbound
//! partner client (`http_out`) uses too, so a Lambda links one crypto library
//! (aws-lc-rs weighed 0.6 MB in the park bootstrap). Without a client
//! named, an SDK request fails with "a http_client is required".

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::Builder;
use aws_sdk_dynamodb::config::SharedHttpClient;

/// An HTTP client for the SDK clients made from one configuration (a
/// `load()`), over rustls on ring.
///
/// Not one client for the process: a client's pooled connections are tasks
/// of the runtime that opened them, so a client kept across runtimes (each
/// `#[tokio::test]` has its own) fails with "runtime dropped the dispatch
/// task" once the first runtime is gone.
pub fn http_client() -> SharedHttpClient {
    Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// The default AWS configuration chain (environment, profile, container and
/// instance credentials) over `http_client`.
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client()).load().await
}

#[cfg(test)]
mod tests {
    use super::http_client;
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
