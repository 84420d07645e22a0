//! Pictures in the blob store (decision 16): the agent's `PUT
//! /site/pictures/{sha}` (served alike by `onecard serve` and the cat Lambda),
//! the base64 pictures legacy senders put inside records, and reading a
//! picture back as base64 or URL where the seed's field wants one.
//!
//! Records keep only the key; a record never waits for (or fails because of)
//! its picture.

use base64::Engine;
use onecard_core::blob::{self, sha256_hex, BlobError, MAX_PICTURE_BYTES};
use crate::push::records::PLATE_IMAGE_KEY;
use onecard_core::queue::OutEvent;
use onecard_core::{config, sign, time, Ctx};

/// The agent's timestamp must be this close to the server clock.
pub const SKEW_SECS: i64 = 300;
pub const HEADER_BRANCH: &str = "x-onecard-branch";
pub const HEADER_AGENT: &str = "x-onecard-agent";
pub const HEADER_TIMESTAMP: &str = "x-onecard-timestamp";
pub const HEADER_SIGN: &str = "x-onecard-sign";
/// `PUT {PATH_PREFIX}{sha}`.
pub const PATH_PREFIX: &str = "/site/pictures/";

/// A refused picture upload: the HTTP status and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

fn refuse(status: u16, message: impl Into<String>) -> Refusal {
    Refusal { status, message: message.into() }
}

impl Refusal {
    /// The JSON body of the refusal.
    pub fn body(&self) -> String {
        serde_json::json!({"error": self.message}).to_string()
    }
}

/// The JSON body of an accepted upload.
pub fn accepted_body(key: &str) -> String {
    serde_json::json!({"key": key}).to_string()
}

/// The request line and headers of a picture upload, before its body is read.
#[derive(Clone, Debug, Default)]
pub struct UploadHead<'a> {
    pub sha: &'a str,
    pub branch: Option<&'a str>,
    pub agent: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub sign: Option<&'a str>,
}

/// What the agent signs: `{branch}\n{agent}\n{timestamp}\n{sha}`.
pub fn signing_string(branch: &str, agent: &str, timestamp: &str, sha: &str) -> String {
    format!("{branch}\n{agent}\n{timestamp}\n{sha}")
}

/// The `{sha}` of a picture path, when `path` is one.
pub fn sha_of_path(path: &str) -> Option<&str> {
    path.strip_prefix(PATH_PREFIX).filter(|s| !s.is_empty() && !s.contains('/'))
}

/// Checks everything but the body: the agent is known and enabled, the
/// signature is its own (constant time), the timestamp is within `SKEW_SECS`
/// in the branch's zone, and the sha is a SHA-256. Answers the key the body
/// will be stored at. Done before the body is read, so a stranger cannot make
/// the server read megabytes. No replay marker: the key is the content's
/// hash, so a replayed upload stores the same bytes at the same key again.
pub async fn authorise(ctx: &Ctx, h: &UploadHead<'_>) -> Result<String, Refusal> {
    let need = |v: Option<&str>, name: &str| {
        v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).ok_or_else(|| refuse(401, format!("header {name} is required")))
    };
    let branch = need(h.branch, "X-OneCard-Branch")?;
    let agent = need(h.agent, "X-OneCard-Agent")?;
    let timestamp = need(h.timestamp, "X-OneCard-Timestamp")?;
    let signature = need(h.sign, "X-OneCard-Sign")?;
    if !blob::is_sha256_hex(h.sha) {
        return Err(refuse(400, format!("'{}' is not a lower-case hex SHA-256", h.sha.chars().take(80).collect::<String>())));
    }
    let system = |e: onecard_core::store::StoreError| refuse(500, format!("system error: {e}"));
    let site = config::get_site(ctx.store(), &branch, &agent)
        .await
        .map_err(system)?
        .ok_or_else(|| refuse(401, format!("unknown agent '{agent}' for branch '{branch}'")))?;
    if !sign::verify(&site.secret, &signing_string(&branch, &agent, &timestamp, h.sha), &signature) {
        return Err(refuse(401, "signature does not match"));
    }
    if !site.enabled {
        return Err(refuse(403, format!("agent '{agent}' is disabled")));
    }
    let tz = config::get_branch(ctx.store(), &branch).await.map_err(system)?.map(|b| b.tz).unwrap_or_else(|| time::DEFAULT_TZ.to_string());
    let ts = time::parse(&timestamp).ok_or_else(|| refuse(401, "X-OneCard-Timestamp is not yyyy-MM-dd HH:mm:ss"))?;
    let skew = (time::to_utc(ts, &tz) - ctx.clock.now()).num_seconds().abs();
    if skew > SKEW_SECS {
        return Err(refuse(401, format!("timestamp is {skew} s from the server clock in {tz} (window {SKEW_SECS} s)")));
    }
    let key = blob::picture_key(&branch, h.sha);
    blob::check_key(&key).map_err(|e| refuse(400, e.0))?;
    Ok(key)
}

/// Stores an authorised upload's body: 413 over 2 MiB, 409 when its SHA-256
/// is not the one signed.
pub async fn store_body(ctx: &Ctx, key: &str, sha: &str, body: Vec<u8>) -> Result<(), Refusal> {
    if body.len() > MAX_PICTURE_BYTES {
        return Err(too_large());
    }
    let actual = sha256_hex(&body);
    if actual != sha {
        return Err(refuse(409, format!("the body's SHA-256 is {actual}, not {sha}")));
    }
    let ct = blob::sniff_content_type(&body);
    ctx.blobs().put(key, body, ct).await.map_err(|e| {
        tracing::error!(key, error = %e, "picture not stored");
        refuse(503, format!("picture not stored, try again: {e}"))
    })
}

pub fn too_large() -> Refusal {
    refuse(413, format!("a picture is at most {MAX_PICTURE_BYTES} bytes"))
}

/// The whole upload, for a caller that holds the body already (Lambda).
pub async fn accept(ctx: &Ctx, head: &UploadHead<'_>, body: Vec<u8>) -> Result<String, Refusal> {
    let key = authorise(ctx, head).await?;
    store_body(ctx, &key, head.sha, body).await?;
    Ok(key)
}

/// The key a record keeps for the `imageKey` an agent sent: the key the
/// upload answered, or its bare sha. A key of another branch (or no picture
/// key at all) is refused: a site names only its own pictures.
pub fn own_key(branch: &str, image_key: &str) -> Result<String, String> {
    let k = image_key.trim();
    let key = if blob::is_sha256_hex(k) { blob::picture_key(branch, k) } else { k.to_string() };
    let sha = key.strip_prefix(&format!("pictures/{branch}/")).ok_or_else(|| format!("imageKey '{k}' is not a picture of branch {branch}"))?;
    if !blob::is_sha256_hex(sha) {
        return Err(format!("imageKey '{k}' does not end in a SHA-256"));
    }
    Ok(key)
}

/// Decodes a base64 picture (plain, or a `data:` URI; line breaks allowed).
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let b64 = match text.split_once(";base64,") {
        Some((head, tail)) if head.trim_start().starts_with("data:") => tail,
        _ => text,
    };
    let clean: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    // A base64 text 4/3 the picture's size: refuse before decoding a huge one.
    if clean.len() / 4 * 3 > MAX_PICTURE_BYTES + 3 {
        return Err(format!("picture is over {MAX_PICTURE_BYTES} bytes"));
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine.decode(clean.as_bytes()).map_err(|e| format!("picture is not base64: {e}"))?;
    if bytes.is_empty() {
        return Err("picture is empty".into());
    }
    if bytes.len() > MAX_PICTURE_BYTES {
        return Err(format!("picture is over {MAX_PICTURE_BYTES} bytes"));
    }
    Ok(bytes)
}

/// A legacy sender's base64 picture into the blob store; answers its key.
pub async fn store_base64(ctx: &Ctx, branch: &str, text: &str) -> Result<String, String> {
    let bytes = decode_base64(text)?;
    let key = blob::picture_key(branch, &sha256_hex(&bytes));
    let ct = blob::sniff_content_type(&bytes);
    ctx.blobs().put(&key, bytes, ct).await.map_err(|e| format!("picture not stored: {e}"))?;
    Ok(key)
}

/// The picture key a record keeps: the agent's `imageKey`, else the legacy
/// base64 picture stored now. A picture that cannot be kept is logged and
/// left out; the record is kept all the same (decision 16).
pub async fn key_for_record(ctx: &Ctx, branch: &str, route: &str, record_id: &str, image_key: Option<&str>, base64: Option<&str>) -> Option<String> {
    let result = match (image_key.filter(|k| !k.trim().is_empty()), base64.filter(|b| !b.trim().is_empty())) {
        (Some(k), _) => own_key(branch, k),
        (None, Some(b)) => store_base64(ctx, branch, b).await,
        (None, None) => return None,
    };
    match result {
        Ok(k) => Some(k),
        Err(why) => {
            tracing::warn!(branch, route, record = record_id, why = %why, "picture refused; record kept without it");
            None
        }
    }
}

/// A stored picture as base64, for the fields the seed types as base64.
pub async fn read_base64(ctx: &Ctx, key: &str) -> Result<Option<String>, BlobError> {
    Ok(ctx.blobs().get(key).await?.map(|b| base64::engine::general_purpose::STANDARD.encode(b)))
}

/// A stay's photo for an answer that asks for photos (6.9/6.10 `getphoto`):
/// the base64 picture, or "" when there is none or the store cannot give it
/// now (logged; the answer does not fail for a picture).
pub async fn photo_base64(ctx: &Ctx, key: Option<&str>) -> String {
    let Some(key) = key else { return String::new() };
    match read_base64(ctx, key).await {
        Ok(Some(b)) => b,
        Ok(None) => String::new(),
        Err(e) => {
            tracing::warn!(key, error = %e, "photo not read back");
            String::new()
        }
    }
}

/// The event as a partner receives it: a queued record's picture key
/// (`PLATE_IMAGE_KEY`) replaced by the base64 picture read back now. A
/// picture not in the store yet fails the attempt, so the push is retried on
/// the usual schedule: an agent may send its record before its picture.
pub async fn resolve_event(ctx: &Ctx, ev: &OutEvent) -> Result<Option<OutEvent>, String> {
    let Some(key) = ev.record.get(PLATE_IMAGE_KEY).and_then(|k| k.as_str()) else {
        return Ok(None);
    };
    let b64 = read_base64(ctx, key)
        .await
        .map_err(|e| format!("reading picture {key}: {e}"))?
        .ok_or_else(|| format!("picture {key} is not in the blob store yet"))?;
    let mut out = ev.clone();
    if let Some(r) = out.record.as_object_mut() {
        r.remove(PLATE_IMAGE_KEY);
        r.insert("plateImage".into(), serde_json::Value::String(b64));
    }
    Ok(Some(out))
}

#[cfg(test)]
#[path = "pictures_tests.rs"]
pub(crate) mod tests;
