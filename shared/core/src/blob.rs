//! The blob store port (decision 16): pictures live here, named by key, and
//! records, queue messages and site-link frames carry only the key. S3 on AWS,
//! a directory of the data dir locally (`onecard_adapters::blob_s3`,
//! `blob_dir`); `MemBlobs` for tests.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// The largest picture kept (decision 16); a bigger one is refused.
pub const MAX_PICTURE_BYTES: usize = 2 * 1024 * 1024;
/// Longest key accepted (S3 allows 1024 bytes; ours are far shorter).
const MAX_KEY_LEN: usize = 512;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("blob store: {0}")]
pub struct BlobError(pub String);

pub type BlobResult<T> = Result<T, BlobError>;

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` at `key`, replacing what was there. The write is whole
    /// or absent: a reader never sees half a picture.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> BlobResult<()>;
    /// The bytes at `key`; `None` when nothing is stored there.
    async fn get(&self, key: &str) -> BlobResult<Option<Vec<u8>>>;
    /// A URL a client can fetch the blob from (presigned on S3), where the
    /// seed's field is a URL; `None` when this store cannot hand one out.
    async fn url(&self, key: &str) -> BlobResult<Option<String>>;
}

/// Keys are `/`-separated segments of `[A-Za-z0-9._-]`, none empty, none `.`
/// or `..`: safe as a relative path under the blob directory and as an S3 key.
pub fn check_key(key: &str) -> BlobResult<()> {
    let bad = |why: &str| Err(BlobError(format!("key '{}' {why}", key.chars().take(80).collect::<String>())));
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return bad("must be 1-512 characters");
    }
    for seg in key.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return bad("has an empty, '.' or '..' segment");
        }
        if !seg.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
            return bad("may hold only letters, digits, '.', '_', '-' and '/'");
        }
    }
    Ok(())
}

/// Lower-case hex SHA-256: how a picture is named.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Is `s` a SHA-256 as `sha256_hex` writes it?
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Where a branch's picture is kept: content-addressed, so the same picture
/// sent twice (an agent's retry, a legacy resend) is one blob.
pub fn picture_key(branch: &str, sha: &str) -> String {
    format!("pictures/{branch}/{sha}")
}

/// The media type, from the picture's first bytes (cameras send JPEG; the
/// others are what sites have been seen to send).
pub fn sniff_content_type(bytes: &[u8]) -> &'static str {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [b'G', b'I', b'F', b'8', ..] => "image/gif",
        [b'B', b'M', ..] => "image/bmp",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        _ => "application/octet-stream",
    }
}

/// The port of a process configured without a blob store: every call fails,
/// so a picture is refused loudly instead of vanishing.
pub struct NoBlobs;

#[async_trait]
impl BlobStore for NoBlobs {
    async fn put(&self, key: &str, _bytes: Vec<u8>, _ct: &str) -> BlobResult<()> {
        Err(BlobError(format!("put {key}: this process has no blob store")))
    }
    async fn get(&self, key: &str) -> BlobResult<Option<Vec<u8>>> {
        Err(BlobError(format!("get {key}: this process has no blob store")))
    }
    async fn url(&self, _key: &str) -> BlobResult<Option<String>> {
        Ok(None)
    }
}

/// An in-memory store for tests; `url` answers `mem://{key}`.
#[derive(Default)]
pub struct MemBlobs {
    blobs: Mutex<HashMap<String, (Vec<u8>, String)>>,
}

impl MemBlobs {
    pub fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(MemBlobs::default())
    }
    /// Every key stored, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut k: Vec<String> = self.lock().keys().cloned().collect();
        k.sort();
        k
    }
    pub fn content_type(&self, key: &str) -> Option<String> {
        self.lock().get(key).map(|(_, ct)| ct.clone())
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Vec<u8>, String)>> {
        self.blobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl BlobStore for MemBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> BlobResult<()> {
        check_key(key)?;
        self.lock().insert(key.to_string(), (bytes, content_type.to_string()));
        Ok(())
    }
    async fn get(&self, key: &str) -> BlobResult<Option<Vec<u8>>> {
        check_key(key)?;
        Ok(self.lock().get(key).map(|(b, _)| b.clone()))
    }
    async fn url(&self, key: &str) -> BlobResult<Option<String>> {
        check_key(key)?;
        Ok(Some(format!("mem://{key}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_could_leave_the_blob_directory_are_refused() {
        for bad in ["", "/etc/passwd", "a/../b", "..", "a//b", "a/./b", "a\\b", "pictures/1001/x y", "a/b/", "ä"] {
            assert!(check_key(bad).is_err(), "{bad:?} accepted");
        }
        for ok in ["pictures/1001/ab12", "a.jpg", "x/y-z_1.png"] {
            assert!(check_key(ok).is_ok(), "{ok:?} refused");
        }
        assert!(check_key(&"a".repeat(513)).is_err());
    }

    #[test]
    fn sha256_is_lower_hex_of_the_bytes() {
        // The empty string's SHA-256, as printed by sha256sum.
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert!(is_sha256_hex(&sha256_hex(b"x")));
        assert!(!is_sha256_hex(&sha256_hex(b"x").to_uppercase()));
        assert!(!is_sha256_hex("abc"));
    }

    #[test]
    fn content_type_is_sniffed_from_the_first_bytes() {
        assert_eq!(sniff_content_type(&[0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg");
        assert_eq!(sniff_content_type(b"\x89PNG\r\n"), "image/png");
        assert_eq!(sniff_content_type(b"hello"), "application/octet-stream");
    }

    #[tokio::test]
    async fn no_blobs_refuses_instead_of_losing() {
        assert!(NoBlobs.put("a", vec![1], "x").await.is_err());
        assert!(NoBlobs.get("a").await.is_err());
    }
}
