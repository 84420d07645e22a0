//! Clients for the local emulators (DynamoDB Local, the SQS-compatible server)
//! used by tests and local tooling. Emulators accept any credentials; the SDK
//! only needs some, and a region.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};

fn credentials() -> Credentials {
    Credentials::new("test", "test", None, None, "onecard-emulator")
}

pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials())
        .http_client(crate::sdk_config::http_client())
        .endpoint_url(endpoint)
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

pub fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let conf = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials())
        .http_client(crate::sdk_config::http_client())
        .endpoint_url(endpoint)
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

/// The blob store on moto, in `bucket`: path-style, as emulators serve no
/// per-bucket host names.
pub fn s3_blobs(endpoint: &str, bucket: &str) -> crate::S3Blobs {
    let creds = aws_sdk_dynamodb::config::SharedCredentialsProvider::new(credentials());
    crate::S3Blobs::new(bucket, "us-east-1", Some(endpoint), Some(creds))
}
