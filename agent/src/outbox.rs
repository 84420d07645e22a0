//! Durable outbox for uploads. An append-only log of records
//! `LEN(u32 LE) CRC32(u32 LE) JSON`, each appended with fsync: a `put` when an
//! upload is queued and an `ack` when the cloud has answered it. On open the log
//! is replayed; the first record that is short or fails its checksum (a write
//! cut by kill -9 or power loss) ends the log and is cut off, since nothing
//! after a torn write can be trusted.
//!
//! Bounded: when the pending records reach `max_records` or `max_bytes`, new
//! non-essential notices are refused; entries and exits (essential) are still
//! taken up to twice the limits, because losing one loses a parking record.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const FILE: &str = "outbox.log";
const HEADER: usize = 8;
/// A record longer than this is corruption, not data (a plate image is far less).
const MAX_RECORD: usize = 16 << 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    /// The uplink id, kept across resends.
    pub id: String,
    pub route: String,
    pub data: Value,
    pub essential: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Rec {
    Put(Entry),
    Ack { seq: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox full ({pending} records, {bytes} bytes): {route} refused")]
    Full { route: String, pending: usize, bytes: u64 },
    #[error("outbox io: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_records: usize,
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_records: 100_000, max_bytes: 64 << 20 }
    }
}

struct Inner {
    file: File,
    file_len: u64,
    pending: BTreeMap<u64, (Entry, u64)>,
    pending_bytes: u64,
    next_seq: u64,
    refused: u64,
}

pub struct Outbox {
    path: PathBuf,
    limits: Limits,
    inner: Mutex<Inner>,
}

/// What opening found, for the log and for tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    pub pending: usize,
    /// Bytes cut off the end (a torn or corrupt tail).
    pub dropped_bytes: u64,
}

fn encode(rec: &Rec) -> Vec<u8> {
    let body = serde_json::to_vec(rec).unwrap_or_default();
    let mut out = Vec::with_capacity(body.len() + HEADER);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Replays a log image; returns the records and the length of the good prefix.
fn replay(bytes: &[u8]) -> (Vec<Rec>, usize) {
    let mut at = 0;
    let mut recs = Vec::new();
    while bytes.len() - at >= HEADER {
        let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let crc = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        if len > MAX_RECORD || bytes.len() - at - HEADER < len {
            break;
        }
        let body = &bytes[at + HEADER..at + HEADER + len];
        if crc32fast::hash(body) != crc {
            break;
        }
        match serde_json::from_slice::<Rec>(body) {
            Ok(r) => recs.push(r),
            Err(_) => break,
        }
        at += HEADER + len;
    }
    (recs, at)
}

fn sync_dir(dir: &Path) {
    // Makes a rename or a new file itself durable; not all filesystems allow it.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

impl Outbox {
    pub fn open(dir: &Path, limits: Limits) -> Result<(Outbox, Recovery), OutboxError> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let (recs, good) = replay(&bytes);
        let dropped = (bytes.len() - good) as u64;
        if dropped > 0 {
            tracing::warn!(dropped, "outbox: cut a torn or corrupt tail");
            file.set_len(good as u64)?;
            file.sync_all()?;
        }
        file.seek(SeekFrom::Start(good as u64))?;
        sync_dir(dir);
        let mut pending = BTreeMap::new();
        let mut next_seq = 1;
        for r in recs {
            match r {
                Rec::Put(e) => {
                    next_seq = next_seq.max(e.seq + 1);
                    let size = serde_json::to_vec(&e).map(|v| v.len() as u64).unwrap_or(0);
                    pending.insert(e.seq, (e, size));
                }
                Rec::Ack { seq } => {
                    pending.remove(&seq);
                }
            }
        }
        let pending_bytes = pending.values().map(|(_, s)| *s).sum();
        let rec = Recovery { pending: pending.len(), dropped_bytes: dropped };
        let inner = Inner { file, file_len: good as u64, pending, pending_bytes, next_seq, refused: 0 };
        Ok((Outbox { path, limits, inner: Mutex::new(inner) }, rec))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves the data consistent
        // (every change is append-then-update), so the poison is ignored.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn append(inner: &mut Inner, rec: &Rec) -> Result<(), OutboxError> {
        let bytes = encode(rec);
        let res = inner.file.write_all(&bytes).and_then(|_| inner.file.sync_data());
        if let Err(e) = res {
            // Cut back to the last good record so a half-written one does not
            // shadow later appends.
            let _ = inner.file.set_len(inner.file_len);
            let _ = inner.file.seek(SeekFrom::Start(inner.file_len));
            return Err(e.into());
        }
        inner.file_len += bytes.len() as u64;
        Ok(())
    }

    /// Queues an upload durably; `id_prefix` makes the uplink id unique per agent.
    pub fn push(&self, id_prefix: &str, route: &str, data: Value, essential: bool) -> Result<Entry, OutboxError> {
        let mut inner = self.lock();
        let size_guess = serde_json::to_vec(&data).map(|v| v.len() as u64).unwrap_or(0) + 96;
        let n = inner.pending.len();
        let b = inner.pending_bytes;
        let (rec_cap, byte_cap) = if essential {
            (self.limits.max_records.saturating_mul(2), self.limits.max_bytes.saturating_mul(2))
        } else {
            (self.limits.max_records, self.limits.max_bytes)
        };
        if n >= rec_cap || b + size_guess > byte_cap {
            inner.refused += 1;
            return Err(OutboxError::Full { route: route.into(), pending: n, bytes: b });
        }
        let seq = inner.next_seq;
        let e = Entry { seq, id: format!("{id_prefix}-ob-{seq}"), route: route.into(), data, essential };
        Self::append(&mut inner, &Rec::Put(e.clone()))?;
        inner.next_seq += 1;
        let size = serde_json::to_vec(&e).map(|v| v.len() as u64).unwrap_or(0);
        inner.pending_bytes += size;
        inner.pending.insert(seq, (e.clone(), size));
        Ok(e)
    }

    /// Marks an upload done. Unknown seqs are ignored (a duplicate reply).
    pub fn ack(&self, seq: u64) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        if !inner.pending.contains_key(&seq) {
            return Ok(());
        }
        Self::append(&mut inner, &Rec::Ack { seq })?;
        if let Some((_, size)) = inner.pending.remove(&seq) {
            inner.pending_bytes = inner.pending_bytes.saturating_sub(size);
        }
        self.maybe_compact(&mut inner);
        Ok(())
    }

    /// Keeps the log from growing without end: empty → truncate; mostly acked →
    /// rewrite the pending records to a new file and rename it into place.
    fn maybe_compact(&self, inner: &mut Inner) {
        if inner.pending.is_empty() {
            if inner.file.set_len(0).and_then(|_| inner.file.seek(SeekFrom::Start(0))).and_then(|_| inner.file.sync_all()).is_ok() {
                inner.file_len = 0;
            }
            return;
        }
        if inner.file_len < (4 << 20) || inner.file_len < inner.pending_bytes * 4 {
            return;
        }
        let tmp = self.path.with_extension("tmp");
        let res = (|| -> std::io::Result<File> {
            let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
            for (e, _) in inner.pending.values() {
                f.write_all(&encode(&Rec::Put(e.clone())))?;
            }
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            if let Some(d) = self.path.parent() {
                sync_dir(d);
            }
            let mut f = OpenOptions::new().read(true).write(true).open(&self.path)?;
            f.seek(SeekFrom::End(0))?;
            Ok(f)
        })();
        match res {
            Ok(f) => {
                inner.file_len = f.metadata().map(|m| m.len()).unwrap_or(0);
                inner.file = f;
            }
            Err(e) => tracing::warn!(error = %e, "outbox compaction failed; keeping the long log"),
        }
    }

    /// Pending uploads, oldest first.
    pub fn pending(&self) -> Vec<Entry> {
        self.lock().pending.values().map(|(e, _)| e.clone()).collect()
    }

    /// The oldest pending upload, without copying the rest.
    pub fn first(&self) -> Option<Entry> {
        self.lock().pending.values().next().map(|(e, _)| e.clone())
    }

    pub fn len(&self) -> usize {
        self.lock().pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many pushes were refused because the outbox was full.
    pub fn refused(&self) -> u64 {
        self.lock().refused
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn open(dir: &Path) -> (Outbox, Recovery) {
        Outbox::open(dir, Limits::default()).unwrap()
    }

    #[test]
    fn append_ack_reopen() {
        let d = tempfile::tempdir().unwrap();
        let (o, r) = open(d.path());
        assert_eq!(r, Recovery::default());
        let a = o.push("A1", "cat.upload.indata", json!({"cardInId": "1"}), true).unwrap();
        let b = o.push("A1", "cat.car.inout.notice", json!({"n": 2}), false).unwrap();
        let c = o.push("A1", "cat.upload.outdata", json!({"cardInId": "1"}), true).unwrap();
        assert_ne!(a.id, b.id);
        o.ack(b.seq).unwrap();
        drop(o);
        let (o, r) = open(d.path());
        assert_eq!(r.pending, 2);
        let p = o.pending();
        assert_eq!(p, vec![a.clone(), c.clone()]);
        // Sequence numbers keep growing after a reopen, so ids never repeat.
        let e = o.push("A1", "x", json!(null), false).unwrap();
        assert!(e.seq > c.seq);
        o.ack(a.seq).unwrap();
        o.ack(c.seq).unwrap();
        o.ack(e.seq).unwrap();
        o.ack(e.seq).unwrap();
        assert!(o.is_empty());
        assert_eq!(std::fs::metadata(o.path()).unwrap().len(), 0);
    }

    #[test]
    fn torn_tail_is_dropped() {
        let d = tempfile::tempdir().unwrap();
        let (o, _) = open(d.path());
        o.push("A1", "r", json!({"i": 1}), true).unwrap();
        o.push("A1", "r", json!({"i": 2}), true).unwrap();
        let path = o.path().to_path_buf();
        drop(o);
        // kill -9 mid-write: half of a third record reached the disk.
        let partial = encode(&Rec::Put(Entry { seq: 3, id: "A1-ob-3".into(), route: "r".into(), data: json!({"i": 3}), essential: true }));
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&partial[..partial.len() / 2]).unwrap();
        drop(f);
        let (o, r) = open(d.path());
        assert_eq!(r.pending, 2);
        assert_eq!(r.dropped_bytes, (partial.len() / 2) as u64);
        // The log is usable after the cut: the next record lands on a clean end.
        o.push("A1", "r", json!({"i": 4}), true).unwrap();
        drop(o);
        let (o, r) = open(d.path());
        assert_eq!(r, Recovery { pending: 3, dropped_bytes: 0 });
        assert_eq!(o.pending()[2].data, json!({"i": 4}));
    }

    #[test]
    fn bit_flip_and_short_header_are_dropped() {
        let d = tempfile::tempdir().unwrap();
        let (o, _) = open(d.path());
        o.push("A1", "r", json!({"i": 1}), true).unwrap();
        o.push("A1", "r", json!({"i": 2}), true).unwrap();
        let path = o.path().to_path_buf();
        drop(o);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let (o, r) = open(d.path());
        assert_eq!(r.pending, 1);
        assert!(r.dropped_bytes > 0);
        drop(o);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[7, 0, 0]).unwrap();
        drop(f);
        assert_eq!(open(d.path()).1, Recovery { pending: 1, dropped_bytes: 3 });
    }

    #[test]
    fn full_refuses_notices_first_never_entries_until_hard_cap() {
        let d = tempfile::tempdir().unwrap();
        let (o, _) = Outbox::open(d.path(), Limits { max_records: 3, max_bytes: 1 << 20 }).unwrap();
        for _ in 0..3 {
            o.push("A1", "cat.car.inout.notice", json!({}), false).unwrap();
        }
        assert!(matches!(o.push("A1", "cat.car.inout.notice", json!({}), false), Err(OutboxError::Full { .. })));
        for _ in 0..3 {
            o.push("A1", "cat.upload.indata", json!({}), true).unwrap();
        }
        assert!(matches!(o.push("A1", "cat.upload.indata", json!({}), true), Err(OutboxError::Full { .. })));
        assert_eq!(o.refused(), 2);
        assert_eq!(o.len(), 6);
    }

    #[test]
    fn compaction_keeps_pending_in_order() {
        let d = tempfile::tempdir().unwrap();
        let (o, _) = open(d.path());
        let keep = o.push("A1", "keep", json!({"k": 1}), true).unwrap();
        let blob = "x".repeat(64 * 1024);
        for _ in 0..80 {
            let e = o.push("A1", "r", json!({"blob": blob}), false).unwrap();
            o.ack(e.seq).unwrap();
        }
        let last = o.push("A1", "keep", json!({"k": 2}), true).unwrap();
        assert!(std::fs::metadata(o.path()).unwrap().len() < 4 << 20);
        drop(o);
        let (o, _) = open(d.path());
        assert_eq!(o.pending(), vec![keep, last]);
    }
}
