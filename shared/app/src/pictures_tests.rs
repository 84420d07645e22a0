//! The agent's picture upload and the legacy base64 pictures.

use super::*;
use crate::push::testkit;
use onecard_core::blob::{BlobStore, MemBlobs};
use onecard_core::config::{DEMO_AGENT, DEMO_AGENT_SECRET, DEMO_BRANCH};
use std::sync::Arc;

pub(crate) async fn ctx_with_blobs() -> (Ctx, Arc<MemBlobs>, Arc<onecard_adapters::embedded_queue::EmbeddedQueue>) {
    let (ctx, queue) = testkit::ctx().await;
    let blobs = MemBlobs::new();
    (ctx.with_blobs(blobs.clone()), blobs, queue)
}

/// A JPEG-looking picture of `n` bytes.
pub(crate) fn jpeg(n: usize) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.extend((0..n.saturating_sub(4)).map(|i| (i % 253) as u8));
    b
}

fn now_local(ctx: &Ctx, shift_secs: i64) -> String {
    time::format(time::to_local(ctx.clock.now() + chrono::Duration::seconds(shift_secs), time::DEFAULT_TZ))
}

struct Signed {
    sha: String,
    ts: String,
    sign: String,
}

fn signed(ctx: &Ctx, body: &[u8], secret: &str, shift_secs: i64) -> Signed {
    let sha = sha256_hex(body);
    let ts = now_local(ctx, shift_secs);
    let sign = sign::sign(secret, &signing_string(DEMO_BRANCH, DEMO_AGENT, &ts, &sha));
    Signed { sha, ts, sign }
}

fn head(s: &Signed) -> UploadHead<'_> {
    UploadHead { sha: &s.sha, branch: Some(DEMO_BRANCH), agent: Some(DEMO_AGENT), timestamp: Some(&s.ts), sign: Some(&s.sign) }
}

#[tokio::test]
async fn a_signed_picture_is_stored_under_its_branch_and_sha() {
    let (ctx, blobs, _) = ctx_with_blobs().await;
    let body = jpeg(5000);
    let s = signed(&ctx, &body, DEMO_AGENT_SECRET, 0);
    let key = accept(&ctx, &head(&s), body.clone()).await.unwrap();
    assert_eq!(key, format!("pictures/{DEMO_BRANCH}/{}", s.sha));
    assert_eq!(blobs.get(&key).await.unwrap(), Some(body));
    assert_eq!(blobs.content_type(&key).as_deref(), Some("image/jpeg"));
}

#[tokio::test]
async fn picture_uploads_are_refused_with_the_right_status() {
    let (ctx, blobs, _) = ctx_with_blobs().await;
    let body = jpeg(100);
    // A forged signature, an unknown agent, a stale timestamp.
    let s = signed(&ctx, &body, "not-the-secret", 0);
    assert_eq!(accept(&ctx, &head(&s), body.clone()).await.unwrap_err().status, 401);
    let s = signed(&ctx, &body, DEMO_AGENT_SECRET, 0);
    let mut h = head(&s);
    h.agent = Some("ghost");
    assert_eq!(accept(&ctx, &h, body.clone()).await.unwrap_err().status, 401);
    let stale = signed(&ctx, &body, DEMO_AGENT_SECRET, -301);
    assert_eq!(accept(&ctx, &head(&stale), body.clone()).await.unwrap_err().status, 401);
    let fine = signed(&ctx, &body, DEMO_AGENT_SECRET, -290);
    assert!(accept(&ctx, &head(&fine), body.clone()).await.is_ok());
    // The body is not the signed sha.
    let other = signed(&ctx, &jpeg(101), DEMO_AGENT_SECRET, 0);
    let e = accept(&ctx, &head(&other), body.clone()).await.unwrap_err();
    assert_eq!(e.status, 409, "{e:?}");
    // Over 2 MiB.
    let big = jpeg(MAX_PICTURE_BYTES + 1);
    let s = signed(&ctx, &big, DEMO_AGENT_SECRET, 0);
    assert_eq!(accept(&ctx, &head(&s), big).await.unwrap_err().status, 413);
    // A path that is not a sha.
    let mut s = signed(&ctx, &body, DEMO_AGENT_SECRET, 0);
    s.sha = "../../etc".into();
    assert_eq!(accept(&ctx, &head(&s), body.clone()).await.unwrap_err().status, 400);
    assert_eq!(blobs.keys().len(), 1, "only the good upload is stored: {:?}", blobs.keys());
}

#[tokio::test]
async fn a_disabled_agent_cannot_upload() {
    let (ctx, _, _) = ctx_with_blobs().await;
    let mut site = config::get_site(ctx.store(), DEMO_BRANCH, DEMO_AGENT).await.unwrap().unwrap();
    site.enabled = false;
    config::put_site(ctx.store(), &site).await.unwrap();
    let body = jpeg(10);
    let s = signed(&ctx, &body, DEMO_AGENT_SECRET, 0);
    assert_eq!(accept(&ctx, &head(&s), body).await.unwrap_err().status, 403);
}

#[test]
fn an_image_key_names_only_the_senders_own_pictures() {
    let sha = sha256_hex(b"p");
    assert_eq!(own_key("1001", &sha).unwrap(), format!("pictures/1001/{sha}"));
    assert_eq!(own_key("1001", &format!("pictures/1001/{sha}")).unwrap(), format!("pictures/1001/{sha}"));
    assert!(own_key("1001", &format!("pictures/1002/{sha}")).is_err());
    assert!(own_key("1001", "pictures/1001/../../x").is_err());
    assert!(own_key("1001", "C:\\pic\\a.jpg").is_err());
}

#[test]
fn base64_pictures_decode_with_or_without_data_uri_and_line_breaks() {
    let pic = jpeg(300);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&pic);
    assert_eq!(decode_base64(&b64).unwrap(), pic);
    assert_eq!(decode_base64(&format!("data:image/jpeg;base64,{b64}")).unwrap(), pic);
    let wrapped: String = b64.as_bytes().chunks(76).map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap())).collect();
    assert_eq!(decode_base64(&wrapped).unwrap(), pic);
    assert!(decode_base64("D:\\pic\\a.jpg").is_err());
    assert!(decode_base64("").is_err());
    let big = base64::engine::general_purpose::STANDARD.encode(jpeg(MAX_PICTURE_BYTES + 1));
    assert!(decode_base64(&big).unwrap_err().contains("over"));
}

#[tokio::test]
async fn a_picture_the_store_cannot_keep_leaves_the_record_without_it() {
    let (ctx, _) = testkit::ctx().await; // the default store refuses every picture
    let b64 = base64::engine::general_purpose::STANDARD.encode(jpeg(50));
    assert_eq!(key_for_record(&ctx, DEMO_BRANCH, "t", "1", None, Some(&b64)).await, None);
}
