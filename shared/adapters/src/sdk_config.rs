//! The configuration every AWS SDK client starts from, with the one HTTP
//! client they share.
//!
//! The SDKs' `default-https-client` feature would pick rustls on aws-lc-rs;
//! naming the client here keeps rustls on ring, the provider the outbound
//! partner client (`http_out`) uses too, so a Lambda links one crypto library
//! (aws-lc-rs alone weighed about 1.5 MB in each bootstrap). Without a client
//! named, an SDK request fails with "a http_client is required".

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::Builder;
use aws_sdk_dynamodb::config::SharedHttpClient;
use std::sync::OnceLock;

/// One client, hence one connection pool and one reading of the system's root
/// certificates, for DynamoDB, SQS, S3 and the WebSocket management API.
pub fn http_client() -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT.get_or_init(|| Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()).clone()
}

/// The default AWS configuration chain (environment, profile, container and
/// instance credentials) over `http_client`.
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client()).load().await
}
