//! Face pictures (decision 16): checked (10.47), kept in the blob store by
//! content, and read back as base64 where the seed answers base64 (10.46).

use base64::Engine;
use onecard_core::blob::{picture_key, sha256_hex, sniff_content_type};
use onecard_core::kit::Picture;
use onecard_core::{ApiError, ApiResult, Ctx};

/// Decision 16's limit.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Below this no recogniser finds a face.
pub const MIN_BYTES: usize = 100;

/// The picture's bytes when it is a JPEG, PNG or BMP of a usable size;
/// otherwise 100001 naming `field`.
pub fn check(field: &str, p: &Picture) -> ApiResult<(Vec<u8>, &'static str)> {
    let body = p.0.split_once("base64,").map_or(p.0.as_str(), |(_, b)| b);
    let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(clean).map_err(|e| ApiError::field(field, format!("is not base64: {e}")))?;
    let ct = sniff_content_type(&bytes);
    if !matches!(ct, "image/jpeg" | "image/png" | "image/bmp") {
        return Err(ApiError::field(field, "is not a JPEG, PNG or BMP picture"));
    }
    if bytes.len() > MAX_BYTES {
        return Err(ApiError::field(field, format!("is {} bytes, over the {MAX_BYTES}-byte limit", bytes.len())));
    }
    if bytes.len() < MIN_BYTES {
        return Err(ApiError::field(field, format!("is {} bytes, too small to hold a face", bytes.len())));
    }
    Ok((bytes, ct))
}

/// Checks and stores; answers the blob key.
pub async fn store(ctx: &Ctx, branch: &str, field: &str, p: &Picture) -> ApiResult<String> {
    let (bytes, ct) = check(field, p)?;
    let key = picture_key(branch, &sha256_hex(&bytes));
    ctx.blobs().put(&key, bytes, ct).await.map_err(|e| ApiError::failed(format!("face picture not stored: {e}")))?;
    Ok(key)
}

/// The stored picture as base64 (empty when it is gone).
pub async fn base64_of(ctx: &Ctx, key: &str) -> String {
    if key.is_empty() {
        return String::new();
    }
    match ctx.blobs().get(key).await {
        Ok(Some(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        Ok(None) => String::new(),
        Err(e) => {
            tracing::warn!(key, error = %e, "face picture unreadable");
            String::new()
        }
    }
}

/// A URL the site can fetch the picture from (a picture never rides in a link frame).
pub async fn url_of(ctx: &Ctx, key: &str) -> String {
    ctx.blobs().url(key).await.ok().flatten().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pic(bytes: &[u8]) -> Picture {
        Picture(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    #[test]
    fn format_and_size_are_checked() {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
        jpeg.resize(500, 7);
        assert!(check("facePhoto", &pic(&jpeg)).is_ok());
        let e = check("facePhoto", &pic(b"hello there, not a picture at all")).unwrap_err();
        assert!(e.message.contains("facePhoto"), "{}", e.message);
        assert!(check("facePhoto", &pic(&jpeg[..50])).is_err(), "too small");
        let mut big = jpeg.clone();
        big.resize(MAX_BYTES + 1, 0);
        assert!(check("facePhoto", &pic(&big)).is_err(), "too big");
        assert!(check("facePhoto", &Picture("@@@".into())).is_err());
    }
}
