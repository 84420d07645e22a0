//! The blob store on AWS: one S3 object per key in the deployment's bucket
//! (`ONECARD_BUCKET`). A PutObject is atomic, so a reader sees the old object
//! or the new one, never a part. `url` hands out a presigned GET.

use async_trait::async_trait;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use onecard_core::blob::{check_key, BlobError, BlobResult, BlobStore};
use std::time::Duration;

/// How long a presigned URL stays valid. Short: the URL is handed to a
/// partner or app for an immediate fetch, and on Lambda it cannot outlive the
/// role's session credentials anyway.
pub const URL_TTL: Duration = Duration::from_secs(3600);

#[derive(Clone)]
pub struct S3Blobs {
    client: Client,
    bucket: String,
}

impl S3Blobs {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Blobs { client, bucket: bucket.into() }
    }

    /// A client from the default AWS configuration chain; `endpoint_url` points
    /// it at an S3-compatible server (moto) with path-style addressing, which
    /// such servers need.
    pub async fn from_env(bucket: &str, endpoint_url: Option<&str>) -> Self {
        let conf = crate::sdk_config::load().await;
        let mut b = aws_sdk_s3::config::Builder::from(&conf);
        if let Some(url) = endpoint_url {
            b = b.endpoint_url(url).force_path_style(true);
        }
        S3Blobs::new(Client::from_conf(b.build()), bucket)
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Creates the bucket if it is missing (tests, local emulators).
    pub async fn create_bucket(client: &Client, bucket: &str) -> BlobResult<()> {
        match client.create_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => Ok(()),
            Err(e) => Err(err("create bucket", bucket, e)),
        }
    }
}

fn err<E: std::error::Error + 'static, R: std::fmt::Debug>(what: &str, key: &str, e: SdkError<E, R>) -> BlobError {
    BlobError(format!("{what} {key}: {}", DisplayErrorContext(e)))
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> BlobResult<()> {
        check_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| err("put", key, e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> BlobResult<Option<Vec<u8>>> {
        check_key(key)?;
        let out = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(err("get", key, e)),
        };
        let bytes = out.body.collect().await.map_err(|e| BlobError(format!("get {key}: reading the body: {e}")))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn url(&self, key: &str) -> BlobResult<Option<String>> {
        check_key(key)?;
        let cfg = PresigningConfig::expires_in(URL_TTL).map_err(|e| BlobError(format!("presign {key}: {e}")))?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(cfg)
            .await
            .map_err(|e| err("presign", key, e))?;
        Ok(Some(req.uri().to_string()))
    }
}
