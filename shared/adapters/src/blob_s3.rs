//! The blob store on AWS: one S3 object per key in the deployment's bucket
//! (`ONECARD_BUCKET`). A PutObject is atomic, so a reader sees the old object
//! or the new one, never a part. `url` hands out a presigned GET.
//!
//! Three REST calls (PutObject, GetObject, CreateBucket for the emulator)
//! and a presigned URL are all the store needs, so it speaks S3's REST API
//! itself, signed with SigV4 (`aws-sigv4`, which the other SDK clients use
//! too), over the adapters' one HTTPS client. The S3 SDK it replaces weighed
//! about 1 MB in every Lambda bootstrap (its own code, XML, and the CRC
//! tables of its checksums) and was one of the slowest crates to build.

use crate::http_out::{error_chain, https_client};
use crate::throttle;
use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use onecard_core::blob::{check_key, BlobError, BlobResult, BlobStore};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long a presigned URL stays valid. Short: the URL is handed to a
/// partner or app for an immediate fetch, and on Lambda it cannot outlive the
/// role's session credentials anyway.
pub const URL_TTL: Duration = Duration::from_secs(3600);
/// One call's limit, its retries included.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct S3Blobs(Arc<Inner>);

struct Inner {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    bucket: String,
    region: String,
    /// The bucket's URL; an object's is `{base}/{key}`.
    base: String,
    creds: Option<SharedCredentialsProvider>,
}

/// A call's answer: its status and body.
struct Answer {
    status: u16,
    body: Bytes,
}

impl S3Blobs {
    /// The bucket on AWS (virtual-hosted addressing) or, given `endpoint`, on
    /// an S3-compatible server (moto) with path-style addressing, which such
    /// servers need. Without credentials requests go unsigned.
    pub fn new(bucket: &str, region: &str, endpoint: Option<&str>, creds: Option<SharedCredentialsProvider>) -> Self {
        let base = match endpoint {
            Some(e) => format!("{}/{bucket}", e.trim_end_matches('/')),
            None => {
                let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
                format!("https://{bucket}.s3.{region}.{suffix}")
            }
        };
        S3Blobs(Arc::new(Inner { http: https_client(), bucket: bucket.into(), region: region.into(), base, creds }))
    }

    /// The region and credentials of the AWS configuration (`sdk_config`).
    pub async fn from_env(bucket: &str, endpoint_url: Option<&str>) -> Self {
        let conf = crate::sdk_config::load().await;
        let region = conf.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
        S3Blobs::new(bucket, &region, endpoint_url, conf.credentials_provider())
    }

    pub fn bucket(&self) -> &str {
        &self.0.bucket
    }

    /// Creates the bucket (tests and the local emulator; the template creates
    /// the deployment's). One that exists already is fine.
    pub async fn create_bucket(&self) -> BlobResult<()> {
        let body = if self.0.region == "us-east-1" {
            Bytes::new()
        } else {
            let xml = format!(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                self.0.region
            );
            Bytes::from(xml)
        };
        let a = self.call("PUT", &self.0.base, body, None).await.map_err(|e| BlobError(format!("create bucket {}: {e}", self.0.bucket)))?;
        match a.status {
            200..=299 => Ok(()),
            409 if text(&a.body).contains("BucketAlreadyOwnedByYou") => Ok(()),
            s => Err(BlobError(format!("create bucket {}: HTTP {s}: {}", self.0.bucket, text(&a.body)))),
        }
    }

    fn object_url(&self, key: &str) -> String {
        // `check_key` allows only [A-Za-z0-9._-/]: nothing to percent-encode.
        format!("{}/{key}", self.0.base)
    }

    async fn identity(&self) -> Result<Option<Identity>, String> {
        match &self.0.creds {
            Some(p) => p.provide_credentials().await.map(|c| Some(c.into())).map_err(|e| format!("credentials: {}", error_chain(&e))),
            None => Ok(None),
        }
    }

    fn settings(presigned: bool) -> SigningSettings {
        let mut s = SigningSettings::default();
        // S3 takes object paths as they are: encoded once, never normalised.
        s.percent_encoding_mode = PercentEncodingMode::Single;
        s.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        if presigned {
            s.signature_location = SignatureLocation::QueryParams;
            s.expires_in = Some(URL_TTL);
        } else {
            // S3 wants the payload's hash in `x-amz-content-sha256`.
            s.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        s
    }

    /// A request for `url`, signed in its headers (or its query, presigned).
    async fn request(&self, method: &str, url: &str, body: Bytes, content_type: Option<&str>, presigned: bool) -> Result<Request<Full<Bytes>>, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL {url}: {e}"))?;
        let host = match (uri.host(), uri.port_u16()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => return Err(format!("no host in {url}")),
        };
        let mut b = Request::builder().method(method).uri(uri).header(hyper::header::HOST, host);
        if let Some(ct) = content_type {
            b = b.header(hyper::header::CONTENT_TYPE, ct);
        }
        let mut req = b.body(Full::new(body.clone())).map_err(|e| format!("request {url}: {e}"))?;
        let Some(identity) = self.identity().await? else { return Ok(req) };
        let settings = Self::settings(presigned);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.0.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| format!("signing {url}: {e}"))?
            .into();
        let headers: Vec<(String, String)> =
            req.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string())).collect();
        let payload = if presigned { SignableBody::UnsignedPayload } else { SignableBody::Bytes(&body) };
        let signable = SignableRequest::new(method, url, headers.iter().map(|(k, v)| (k.as_str(), v.as_str())), payload)
            .map_err(|e| format!("signing {url}: {e}"))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| format!("signing {url}: {e}"))?.into_parts();
        instructions.apply_to_request_http1x(&mut req);
        Ok(req)
    }

    /// Sends a signed call within `CALL_TIMEOUT`. What failed on the way or
    /// was refused as a server error (500, or 503: S3's "slow down") is tried
    /// again with the stores' backoff (`throttle::with_backoff`): both calls
    /// are idempotent, a key's bytes never change.
    async fn call(&self, method: &str, url: &str, body: Bytes, content_type: Option<&str>) -> Result<Answer, String> {
        let tries = throttle::with_backoff(|| self.call_once(method, url, body.clone(), content_type), |f: &Failure| f.transient);
        match tokio::time::timeout(CALL_TIMEOUT, tries).await {
            Ok(r) => r.map_err(|f| f.message),
            Err(_) => Err(format!("{method} {url}: no answer within {} s", CALL_TIMEOUT.as_secs())),
        }
    }

    /// One try, signed afresh (the signature carries the time).
    async fn call_once(&self, method: &str, url: &str, body: Bytes, content_type: Option<&str>) -> Result<Answer, Failure> {
        let req = self.request(method, url, body, content_type, false).await.map_err(|message| Failure { transient: false, message })?;
        let resp = self.0.http.request(req).await.map_err(|e| Failure { transient: true, message: format!("{method} {url}: {}", error_chain(&e)) })?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| Failure { transient: true, message: format!("{method} {url}: reading the answer: {e}") })?
            .to_bytes();
        if status == 500 || status == 503 {
            return Err(Failure { transient: true, message: format!("{method} {url}: HTTP {status}: {}", text(&body)) });
        }
        Ok(Answer { status, body })
    }
}

/// A failed try, and whether another may succeed.
struct Failure {
    transient: bool,
    message: String,
}

/// The start of an error answer (S3's XML names the code).
fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> BlobResult<()> {
        check_key(key)?;
        let a = self.call("PUT", &self.object_url(key), Bytes::from(bytes), Some(content_type)).await.map_err(|e| BlobError(format!("put {key}: {e}")))?;
        match a.status {
            200..=299 => Ok(()),
            s => Err(BlobError(format!("put {key}: HTTP {s}: {}", text(&a.body)))),
        }
    }

    async fn get(&self, key: &str) -> BlobResult<Option<Vec<u8>>> {
        check_key(key)?;
        let a = self.call("GET", &self.object_url(key), Bytes::new(), None).await.map_err(|e| BlobError(format!("get {key}: {e}")))?;
        match a.status {
            200..=299 => Ok(Some(a.body.to_vec())),
            404 => Ok(None),
            s => Err(BlobError(format!("get {key}: HTTP {s}: {}", text(&a.body)))),
        }
    }

    async fn url(&self, key: &str) -> BlobResult<Option<String>> {
        check_key(key)?;
        let url = self.object_url(key);
        let req = self.request("GET", &url, Bytes::new(), None, true).await.map_err(|e| BlobError(format!("presign {key}: {e}")))?;
        Ok(Some(req.uri().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;

    fn blobs(endpoint: Option<&str>, region: &str) -> S3Blobs {
        let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, None, "test");
        S3Blobs::new("pics", region, endpoint, Some(SharedCredentialsProvider::new(creds)))
    }

    #[test]
    fn addresses_aws_by_virtual_host_and_an_emulator_by_path() {
        assert_eq!(blobs(None, "ap-east-1").object_url("1001/a.jpg"), "https://pics.s3.ap-east-1.amazonaws.com/1001/a.jpg");
        assert_eq!(blobs(None, "cn-north-1").object_url("k"), "https://pics.s3.cn-north-1.amazonaws.com.cn/k");
        assert_eq!(blobs(Some("http://127.0.0.1:5000/"), "us-east-1").object_url("k"), "http://127.0.0.1:5000/pics/k");
    }

    /// A header-signed call carries the payload hash and a SigV4
    /// authorization scoped to the region and S3.
    #[tokio::test]
    async fn calls_are_signed_for_s3_in_the_region() {
        let b = blobs(None, "ap-east-1");
        let req = b.request("PUT", &b.object_url("k"), Bytes::from_static(b"abc"), Some("image/jpeg"), false).await.unwrap();
        let h = |n: &str| req.headers().get(n).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        // SHA-256 of "abc".
        assert_eq!(h("x-amz-content-sha256"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let auth = h("authorization");
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), "{auth}");
        assert!(auth.contains("/ap-east-1/s3/aws4_request"), "{auth}");
        assert!(auth.contains("content-type;host;x-amz-content-sha256;x-amz-date"), "{auth}");
        assert_eq!(h("host"), "pics.s3.ap-east-1.amazonaws.com");
    }

    /// A presigned URL carries its signature and lifetime in the query.
    #[tokio::test]
    async fn urls_are_presigned_for_an_hour() {
        let url = blobs(None, "ap-east-1").url("1001/a.jpg").await.unwrap().unwrap();
        assert!(url.starts_with("https://pics.s3.ap-east-1.amazonaws.com/1001/a.jpg?"), "{url}");
        for part in ["X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Expires=3600", "X-Amz-SignedHeaders=host", "X-Amz-Signature="] {
            assert!(url.contains(part), "{part} in {url}");
        }
        assert!(blobs(None, "ap-east-1").url("../x").await.is_err());
    }
}
