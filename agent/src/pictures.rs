//! Plate pictures travel apart from the records (decision 16): a record
//! carries `imageKey = pictures/{branch}/{sha256}` and leaves at once; the
//! bytes wait in their own durable queue (`{data_dir}/pictures/{sha}.jpg`,
//! content-addressed, so a picture queued twice is stored once) and are
//! PUT to `{http_base}/site/pictures/{sha}` with retries.

use crate::http::{self, Base};
use crate::secret::Secret;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The cloud refuses anything larger (decision 16); such a picture is not sent.
pub const MAX_PICTURE: usize = 2 << 20;
/// The queue's disk budget; past it the oldest pictures give way (a record
/// matters more than its picture, and the disk is shared with the outbox).
pub const QUEUE_MAX_BYTES: u64 = 512 << 20;

pub fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn key(branch: &str, sha: &str) -> String {
    format!("pictures/{branch}/{sha}")
}

/// `X-OneCard-Sign`: base64(HMAC-SHA1(secret, "{branch}\n{agent}\n{timestamp}\n{sha}")).
pub fn sign(secret: &Secret, branch: &str, agent: &str, timestamp: &str, sha: &str) -> String {
    onecard_core::sign::sign(secret.expose(), &format!("{branch}\n{agent}\n{timestamp}\n{sha}"))
}

fn is_sha(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The on-disk queue.
pub struct PictureQueue {
    dir: PathBuf,
    max_bytes: u64,
}

impl PictureQueue {
    pub fn open(data_dir: &Path, max_bytes: u64) -> std::io::Result<PictureQueue> {
        let dir = data_dir.join("pictures");
        std::fs::create_dir_all(&dir)?;
        Ok(PictureQueue { dir, max_bytes })
    }

    fn path(&self, sha: &str) -> PathBuf {
        self.dir.join(format!("{sha}.jpg"))
    }

    /// Stores a picture durably (temp file, fsync, rename), then trims the
    /// queue to its budget, oldest first.
    pub fn store(&self, sha: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(sha);
        if path.exists() {
            return Ok(());
        }
        let tmp = self.dir.join(format!("{sha}.tmp"));
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        self.trim();
        Ok(())
    }

    fn trim(&self) {
        let mut all = self.pending();
        let mut total: u64 = all.iter().map(|(_, _, n)| n).sum();
        all.reverse();
        while total > self.max_bytes {
            let Some((sha, _, n)) = all.pop() else { break };
            tracing::warn!(sha, bytes = n, "picture queue over its budget; dropping the oldest picture");
            self.remove(&sha);
            total = total.saturating_sub(n);
        }
    }

    /// Queued pictures, oldest first: (sha, path, size).
    pub fn pending(&self) -> Vec<(String, PathBuf, u64)> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut v: Vec<(std::time::SystemTime, String, PathBuf, u64)> = rd
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                let sha = name.strip_suffix(".jpg").filter(|s| is_sha(s))?.to_string();
                let m = e.metadata().ok()?;
                Some((m.modified().unwrap_or(std::time::UNIX_EPOCH), sha, e.path(), m.len()))
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, s, p, n)| (s, p, n)).collect()
    }

    pub fn remove(&self, sha: &str) {
        if let Err(e) = std::fs::remove_file(self.path(sha)) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(sha, error = %e, "cannot remove a queued picture");
            }
        }
    }

    pub fn len(&self) -> usize {
        self.pending().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What to do with a queued picture after one PUT.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Stored,
    /// Never resend (hash mismatch, too large, corrupt on disk).
    Drop(String),
    /// Keep it and try again later (transport error, 401, 5xx, ...).
    Retry(String),
}

pub fn classify(status: u16, body: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).to_string();
    match status {
        200..=299 => Outcome::Stored,
        409 => Outcome::Drop(format!("cloud says the hash does not match: {text}")),
        413 => Outcome::Drop(format!("cloud says the picture is too large: {text}")),
        401 => Outcome::Retry(format!("cloud refused the signature (check the agent secret and clock): {text}")),
        s => Outcome::Retry(format!("HTTP {s}: {text}")),
    }
}

pub struct Uploader {
    pub queue: Arc<PictureQueue>,
    base: Base,
    branch: String,
    agent: String,
    secret: Secret,
    wake: Notify,
}

impl Uploader {
    /// `pictures_url` overrides the base derived from the cloud URL.
    pub fn new(queue: Arc<PictureQueue>, cloud_url: &str, pictures_url: Option<&str>, branch: &str, agent: &str, secret: Secret) -> anyhow::Result<Uploader> {
        let base = match pictures_url {
            Some(u) => Base::from_http_url(u)?,
            None => Base::from_cloud_url(cloud_url)?,
        };
        Ok(Uploader { queue, base, branch: branch.into(), agent: agent.into(), secret, wake: Notify::new() })
    }

    /// Queues a picture and wakes the sender. Runs the disk write off the
    /// async threads; the record does not wait for it.
    pub fn submit(self: &Arc<Self>, sha: String, bytes: Vec<u8>) {
        let me = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            match me.queue.store(&sha, &bytes) {
                Ok(()) => me.wake.notify_one(),
                Err(e) => tracing::error!(sha, error = %e, "picture NOT queued (its record still goes)"),
            }
        });
    }

    /// One PUT of one picture.
    pub async fn put(&self, sha: &str, bytes: Vec<u8>) -> Outcome {
        let timestamp = crate::now_text();
        let headers = vec![
            ("X-OneCard-Branch", self.branch.clone()),
            ("X-OneCard-Agent", self.agent.clone()),
            ("X-OneCard-Timestamp", timestamp.clone()),
            ("X-OneCard-Sign", sign(&self.secret, &self.branch, &self.agent, &timestamp, sha)),
            ("Content-Type", "image/jpeg".to_string()),
        ];
        match http::request(&self.base, "PUT", &format!("/site/pictures/{sha}"), &headers, bytes, Duration::from_secs(30)).await {
            Ok((status, body)) => classify(status, &body),
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }

    /// Sends every queued picture, oldest first; stops at the first that must
    /// wait. Returns how many left the queue (stored or dropped).
    pub async fn drain(&self) -> Result<usize, String> {
        let mut done = 0;
        for (sha, path, _) in self.queue.pending() {
            let bytes = match tokio::fs::read(&path).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(sha, error = %e, "cannot read a queued picture; skipping it");
                    continue;
                }
            };
            if sha_hex(&bytes) != sha {
                tracing::error!(sha, "queued picture is corrupt on disk; dropping it");
                self.queue.remove(&sha);
                done += 1;
                continue;
            }
            match self.put(&sha, bytes).await {
                Outcome::Stored => {
                    tracing::info!(sha, "picture uploaded");
                    self.queue.remove(&sha);
                    done += 1;
                }
                Outcome::Drop(why) => {
                    tracing::warn!(sha, why, "picture dropped");
                    self.queue.remove(&sha);
                    done += 1;
                }
                Outcome::Retry(why) => return Err(why),
            }
        }
        Ok(done)
    }

    /// Runs for the life of the agent: on every submit and every few seconds,
    /// with a growing pause after failures.
    pub async fn run(self: Arc<Self>, base_delay: Duration, cap: Duration) {
        let mut backoff = crate::link_client::Backoff::new(base_delay, cap);
        let mut wait = Duration::from_secs(5);
        loop {
            let _ = tokio::time::timeout(wait, self.wake.notified()).await;
            match self.drain().await {
                Ok(_) => {
                    backoff.reset();
                    wait = Duration::from_secs(5);
                }
                Err(why) => {
                    wait = backoff.next_delay();
                    tracing::warn!(why, retry_in_ms = wait.as_millis() as u64, "picture upload paused");
                    // A wake-up during the pause must not cut it short.
                    tokio::time::sleep(wait).await;
                    wait = Duration::from_millis(1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha_and_key_follow_the_seam() {
        // sha256("hello")
        assert_eq!(sha_hex(b"hello"), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(key("1001", "ab"), "pictures/1001/ab");
        let s = sign(&Secret::new("k"), "1001", "A1", "2026-01-01 08:00:00", "ab");
        assert_eq!(s, onecard_core::sign::sign("k", "1001\nA1\n2026-01-01 08:00:00\nab"));
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify(200, br#"{"key":"k"}"#), Outcome::Stored);
        assert!(matches!(classify(409, b""), Outcome::Drop(_)));
        assert!(matches!(classify(413, b""), Outcome::Drop(_)));
        assert!(matches!(classify(401, b""), Outcome::Retry(_)));
        assert!(matches!(classify(503, b""), Outcome::Retry(_)));
        assert!(matches!(classify(404, b""), Outcome::Retry(_)));
    }

    #[test]
    fn queue_is_content_addressed_and_trimmed_oldest_first() {
        let d = tempfile::tempdir().unwrap();
        let q = PictureQueue::open(d.path(), 10).unwrap();
        let a = sha_hex(b"aaaaaa");
        q.store(&a, b"aaaaaa").unwrap();
        q.store(&a, b"aaaaaa").unwrap();
        assert_eq!(q.len(), 1);
        std::thread::sleep(Duration::from_millis(20));
        let b = sha_hex(b"bbbbbb");
        q.store(&b, b"bbbbbb").unwrap();
        let left: Vec<String> = q.pending().into_iter().map(|(s, _, _)| s).collect();
        assert_eq!(left, vec![b.clone()], "12 bytes over a 10-byte budget: the older goes");
        // Stray files (temp files, foreign names) are not pictures.
        std::fs::write(d.path().join("pictures").join("x.tmp"), b"x").unwrap();
        assert_eq!(q.len(), 1);
        let reopened = PictureQueue::open(d.path(), 10).unwrap();
        assert_eq!(reopened.pending()[0].0, b);
    }
}
