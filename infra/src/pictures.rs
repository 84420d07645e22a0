//! The agent's picture upload, `PUT /site/pictures/{sha}` (the checks live in
//! `onecard_app::pictures`, shared with the cat Lambda), the blob store
//! `onecard serve` uses, and `GET /blobs/{key}`, where the URLs of the
//! directory store point.

use crate::cli::ServeArgs;
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use onecard_adapters::{DirBlobs, S3Blobs};
use onecard_app::pictures::{self, Refusal, UploadHead};
use onecard_core::blob::{BlobStore, MAX_PICTURE_BYTES};
use std::sync::Arc;

/// S3 when a bucket is given (`--s3-bucket` or `ONECARD_BUCKET`), else the
/// data dir's `blobs/`, whose URLs this server answers under `{base}/blobs`.
pub async fn blob_store(args: &ServeArgs, base: &str) -> Arc<dyn BlobStore> {
    let env = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    match args.s3_bucket.clone().or_else(|| env("ONECARD_BUCKET")) {
        Some(bucket) => {
            let endpoint = args.s3_endpoint_url.clone().or_else(|| env("ONECARD_S3_ENDPOINT"));
            Arc::new(S3Blobs::from_env(&bucket, endpoint.as_deref()).await)
        }
        None => Arc::new(DirBlobs::in_data_dir(&args.store.data_dir).with_public_base(format!("{}/blobs", base.trim_end_matches('/')))),
    }
}

fn json(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response()
}

fn refused(r: Refusal) -> Response {
    json(r.status, r.body())
}

/// Headers and signature first; the body is read only then, and never past
/// 2 MiB (a declared length over it is refused unread).
pub async fn put_picture(State(s): State<AppState>, Path(sha): Path<String>, headers: HeaderMap, body: axum::body::Body) -> Response {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let head = UploadHead {
        sha: &sha,
        branch: h(pictures::HEADER_BRANCH),
        agent: h(pictures::HEADER_AGENT),
        timestamp: h(pictures::HEADER_TIMESTAMP),
        sign: h(pictures::HEADER_SIGN),
    };
    let key = match pictures::authorise(&s.ctx, &head).await {
        Ok(k) => k,
        Err(r) => return refused(r),
    };
    let declared = h(header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_PICTURE_BYTES) {
        return refused(pictures::too_large());
    }
    let bytes = match http_body_util::BodyExt::collect(http_body_util::Limited::new(body, MAX_PICTURE_BYTES)).await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => return refused(pictures::too_large()),
        Err(e) => return json(400, serde_json::json!({"error": format!("reading the body: {e}")}).to_string()),
    };
    match pictures::store_body(&s.ctx, &key, &sha, bytes.to_vec()).await {
        Ok(()) => json(200, pictures::accepted_body(&key)),
        Err(r) => refused(r),
    }
}

/// A stored picture, for the URLs the directory store hands out. Keys are
/// content hashes under a branch, so a URL is as hard to guess as the picture.
pub async fn get_blob(State(s): State<AppState>, Path(key): Path<String>) -> Response {
    match s.ctx.blobs().get(&key).await {
        Ok(Some(bytes)) => {
            let ct = onecard_core::blob::sniff_content_type(&bytes);
            (StatusCode::OK, [(header::CONTENT_TYPE, ct)], bytes).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, "no such picture\n").into_response(),
        Err(e) if e.0.contains("key '") => (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}
