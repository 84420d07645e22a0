//! Durable outbox for uploads. An append-only log of records
//! `LEN(u32 LE) CRC32(u32 LE) JSON`, each appended with fsync: a `put` when an
//! upload is queued and an `ack` when the cloud has answered it. On open the log
//! is replayed. A bad record (short, wrong checksum, unreadable) is skipped up
//! to the next good record: the bad bytes are copied to a quarantine file named
//! by their offset and the records after them are kept. Only a bad tail with no
//! good record after it (a write cut by kill -9 or power loss) is cut off.
//!
//! A record the cloud refuses for good is moved to `dead-letters.jsonl` so the
//! records behind it flow; `onecard-agent dead-letters` lists and requeues them.
//! One process at a time: the outbox holds an exclusive lock on its directory.
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
const LOCK: &str = "outbox.lock";
pub const DEAD_LETTERS: &str = "dead-letters.jsonl";
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
    #[error("outbox {0} is in use by another process (is the agent running?)")]
    Locked(PathBuf),
    #[error("no dead letter with id '{0}'")]
    NoSuchDeadLetter(String),
}

impl OutboxError {
    /// The disk (or the outbox's disk budget) is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, OutboxError::Io(e) if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(ENOSPC))
    }
}

const ENOSPC: i32 = 28;

/// A record the cloud refused for good, kept for a person to look at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: String,
    pub route: String,
    pub data: Value,
    pub essential: bool,
    /// The cloud's answer.
    pub code: i64,
    pub message: String,
    /// When it was moved here (agent clock, branch time).
    pub at: String,
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
    /// The outbox's own ceiling on its log file; past it an append fails
    /// like a full disk (ENOSPC), so a site can keep room for the OS and the
    /// full-disk path can be tested.
    disk_budget: Option<u64>,
    pending: BTreeMap<u64, (Entry, u64)>,
    pending_bytes: u64,
    next_seq: u64,
    refused: u64,
}

pub struct Outbox {
    path: PathBuf,
    limits: Limits,
    inner: Mutex<Inner>,
    _lock: File,
}

/// What opening found, for the log and for tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    pub pending: usize,
    /// Bytes cut off the end (a torn or corrupt tail).
    pub dropped_bytes: u64,
    /// Bad stretches inside the log, skipped and copied aside: (offset, length).
    pub quarantined: Vec<(u64, u64)>,
}

fn encode(rec: &Rec) -> Vec<u8> {
    let body = serde_json::to_vec(rec).unwrap_or_default();
    let mut out = Vec::with_capacity(body.len() + HEADER);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The record at `at`, if one is whole and sound there, and its length.
fn record_at(bytes: &[u8], at: usize) -> Option<(Rec, usize)> {
    let rest = bytes.get(at..)?;
    if rest.len() < HEADER {
        return None;
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    if len > MAX_RECORD || rest.len() - HEADER < len {
        return None;
    }
    let body = &rest[HEADER..HEADER + len];
    // Every record is `{"op":...`; checking that first keeps the resync scan
    // from checksumming garbage at every byte.
    if !body.starts_with(br#"{"op":"#) || crc32fast::hash(body) != crc {
        return None;
    }
    serde_json::from_slice::<Rec>(body).ok().map(|r| (r, HEADER + len))
}

/// What a replay found.
struct Replay {
    recs: Vec<Rec>,
    /// Bad stretches with a good record after them: (offset, length).
    skipped: Vec<(usize, usize)>,
    /// Where the trustworthy log ends (a torn tail starts here).
    end: usize,
}

/// Replays a log image, resynchronising after a bad record on the next good
/// one, so one flipped bit does not cost every record after it.
fn replay(bytes: &[u8]) -> Replay {
    let mut at = 0;
    let mut recs = Vec::new();
    let mut skipped = Vec::new();
    while at < bytes.len() {
        if let Some((r, n)) = record_at(bytes, at) {
            recs.push(r);
            at += n;
            continue;
        }
        match (at + 1..bytes.len()).find(|p| record_at(bytes, *p).is_some()) {
            Some(next) => {
                skipped.push((at, next - at));
                at = next;
            }
            None => break,
        }
    }
    Replay { recs, skipped, end: at }
}

/// Copies bad bytes aside, named by their offset, for a person to inspect.
fn quarantine(dir: &Path, offset: usize, bytes: &[u8]) {
    let stamp = onecard_core::time::now().format("%Y%m%dT%H%M%S");
    let p = dir.join(format!("quarantine-{stamp}-at-{offset}.bin"));
    let res = OpenOptions::new().write(true).create(true).truncate(true).open(&p).and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()));
    match res {
        Ok(()) => tracing::error!(offset, len = bytes.len(), file = %p.display(), "outbox: corrupt bytes quarantined; the records after them are kept"),
        Err(e) => tracing::error!(offset, len = bytes.len(), error = %e, "outbox: corrupt bytes skipped but could not be copied aside"),
    }
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
        let lock = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(dir.join(LOCK))?;
        if lock.try_lock().is_err() {
            return Err(OutboxError::Locked(dir.to_path_buf()));
        }
        let path = dir.join(FILE);
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let Replay { recs, skipped, end: good } = replay(&bytes);
        for (offset, len) in &skipped {
            quarantine(dir, *offset, &bytes[*offset..offset + len]);
        }
        let dropped = (bytes.len() - good) as u64;
        if dropped > 0 {
            tracing::warn!(dropped, "outbox: cut a torn or corrupt tail");
            if dropped >= HEADER as u64 {
                quarantine(dir, good, &bytes[good..]);
            }
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
        let rec = Recovery { pending: pending.len(), dropped_bytes: dropped, quarantined: skipped.iter().map(|(o, l)| (*o as u64, *l as u64)).collect() };
        let inner = Inner { file, file_len: good as u64, disk_budget: None, pending, pending_bytes, next_seq, refused: 0 };
        let outbox = Outbox { path, limits, inner: Mutex::new(inner), _lock: lock };
        if !skipped.is_empty() {
            // Rewrite without the bad bytes, so they are not found (and
            // quarantined) again at every start.
            let mut inner = outbox.lock();
            outbox.rewrite(&mut inner);
        }
        Ok((outbox, rec))
    }

    /// Caps the log file's size; appends past it fail as ENOSPC.
    pub fn set_disk_budget(&self, bytes: Option<u64>) {
        self.lock().disk_budget = bytes;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves the data consistent
        // (every change is append-then-update), so the poison is ignored.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn append(inner: &mut Inner, rec: &Rec) -> Result<(), OutboxError> {
        let bytes = encode(rec);
        if inner.disk_budget.is_some_and(|b| inner.file_len + bytes.len() as u64 > b) {
            return Err(std::io::Error::from_raw_os_error(ENOSPC).into());
        }
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
        self.rewrite(inner);
    }

    /// Writes the pending records to a new file and renames it into place.
    fn rewrite(&self, inner: &mut Inner) {
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

    fn dead_path(&self) -> PathBuf {
        self.path.with_file_name(DEAD_LETTERS)
    }

    /// Moves a pending record to the dead letters (durably) and out of the
    /// queue, so the records behind it are sent.
    pub fn dead_letter(&self, seq: u64, code: i64, message: &str) -> Result<(), OutboxError> {
        let Some(e) = self.lock().pending.get(&seq).map(|(e, _)| e.clone()) else { return Ok(()) };
        let d = DeadLetter { id: e.id, route: e.route, data: e.data, essential: e.essential, code, message: message.to_string(), at: crate::now_text() };
        let mut line = serde_json::to_vec(&d).unwrap_or_default();
        line.push(b'\n');
        let mut f = OpenOptions::new().create(true).append(true).open(self.dead_path())?;
        f.write_all(&line)?;
        f.sync_data()?;
        self.ack(seq)
    }

    /// Puts a dead letter back at the end of the queue (new id) and removes
    /// it from the dead letters. A crash in between leaves it in both: sent
    /// once more, never lost.
    pub fn requeue(&self, id_prefix: &str, id: &str) -> Result<Entry, OutboxError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let all = list_dead_letters(dir)?;
        let Some(d) = all.iter().find(|d| d.id == id).cloned() else { return Err(OutboxError::NoSuchDeadLetter(id.into())) };
        let e = self.push(id_prefix, &d.route, d.data.clone(), true)?;
        let tmp = self.dead_path().with_extension("tmp");
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        for other in all.iter().filter(|x| x.id != id) {
            let mut line = serde_json::to_vec(other).unwrap_or_default();
            line.push(b'\n');
            f.write_all(&line)?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, self.dead_path())?;
        sync_dir(dir);
        Ok(e)
    }
}

/// The pending records of an outbox directory, read without its lock so
/// `onecard-agent status` works while the agent runs. A torn tail (a write
/// in progress) is ignored, never cut: the file is the agent's.
pub fn peek(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let bytes = match std::fs::read(dir.join(FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut pending = BTreeMap::new();
    for r in replay(&bytes).recs {
        match r {
            Rec::Put(e) => {
                pending.insert(e.seq, e);
            }
            Rec::Ack { seq } => {
                pending.remove(&seq);
            }
        }
    }
    Ok(pending.into_values().collect())
}

/// The dead letters in an outbox directory, oldest first. Read-only: works
/// while the agent runs. An unreadable line is reported, not fatal.
pub fn list_dead_letters(dir: &Path) -> Result<Vec<DeadLetter>, OutboxError> {
    let text = match std::fs::read_to_string(dir.join(DEAD_LETTERS)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .filter_map(|(i, l)| match serde_json::from_str(l) {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!(line = i + 1, error = %e, "unreadable dead letter (a torn last line?)");
                None
            }
        })
        .collect())
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
        assert_eq!(r, Recovery { pending: 3, ..Default::default() });
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
        assert_eq!(open(d.path()).1, Recovery { pending: 1, dropped_bytes: 3, ..Default::default() });
    }

    #[test]
    fn corrupt_record_in_the_middle_is_quarantined_and_later_records_kept() {
        let d = tempfile::tempdir().unwrap();
        let (o, _) = open(d.path());
        for i in 1..=5 {
            o.push("A1", "r", json!({"i": i}), true).unwrap();
        }
        let path = o.path().to_path_buf();
        drop(o);
        let mut bytes = std::fs::read(&path).unwrap();
        let second = record_at(&bytes, 0).unwrap().1;
        let second_len = record_at(&bytes, second).unwrap().1;
        // A bit flip inside record 2, and a bad length in record 3's header.
        bytes[second + HEADER + 5] ^= 0x20;
        let third = second + second_len;
        bytes[third + 2] = 0x7f;
        let before = bytes.len();
        std::fs::write(&path, &bytes).unwrap();
        let (o, r) = open(d.path());
        let kept: Vec<i64> = o.pending().iter().map(|e| e.data["i"].as_i64().unwrap()).collect();
        assert_eq!(kept, vec![1, 4, 5], "records after the bad ones survive");
        assert_eq!(r.dropped_bytes, 0);
        assert_eq!(r.quarantined.len(), 1);
        assert_eq!(r.quarantined[0].0, second as u64);
        let q: Vec<_> = std::fs::read_dir(d.path()).unwrap().filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().starts_with("quarantine-")).collect();
        assert_eq!(q.len(), 1);
        assert!(q[0].file_name().to_string_lossy().contains(&format!("at-{second}")));
        assert_eq!(std::fs::read(q[0].path()).unwrap(), bytes[second..second + r.quarantined[0].1 as usize].to_vec());
        assert!(std::fs::metadata(&path).unwrap().len() < before as u64, "the log was rewritten without the bad bytes");
        // New appends after the recovery read back, and nothing is quarantined twice.
        o.push("A1", "r", json!({"i": 6}), true).unwrap();
        drop(o);
        let (o, r) = open(d.path());
        assert!(r.quarantined.is_empty());
        assert_eq!(o.len(), 4);
    }

    #[test]
    fn refused_record_goes_to_dead_letters_and_can_be_requeued() {
        let d = tempfile::tempdir().unwrap();
        let (o, _) = open(d.path());
        let bad = o.push("A1", "cat.upload.indata", json!({"cardInId": "x"}), true).unwrap();
        let next = o.push("A1", "cat.upload.indata", json!({"cardInId": "y"}), true).unwrap();
        o.dead_letter(bad.seq, 100001, "areaId is required").unwrap();
        assert_eq!(o.first().unwrap(), next, "the next record flows");
        let dead = list_dead_letters(d.path()).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!((dead[0].id.as_str(), dead[0].code, dead[0].data.clone()), (bad.id.as_str(), 100001, json!({"cardInId": "x"})));
        drop(o);
        // Survives a restart; requeue puts it back at the end under a new id.
        let (o, _) = open(d.path());
        assert_eq!(o.len(), 1);
        let e = o.requeue("A1", &bad.id).unwrap();
        assert_ne!(e.id, bad.id);
        assert_eq!(o.pending().last().unwrap().data, json!({"cardInId": "x"}));
        assert!(list_dead_letters(d.path()).unwrap().is_empty());
        assert!(matches!(o.requeue("A1", &bad.id), Err(OutboxError::NoSuchDeadLetter(_))));
    }

    #[test]
    fn second_opener_of_the_same_outbox_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let (o, _) = open(d.path());
        assert!(matches!(Outbox::open(d.path(), Limits::default()), Err(OutboxError::Locked(_))));
        drop(o);
        assert!(Outbox::open(d.path(), Limits::default()).is_ok());
    }

    #[test]
    fn disk_budget_fails_appends_as_enospc_and_keeps_the_log_sound() {
        let d = tempfile::tempdir().unwrap();
        let (o, _) = open(d.path());
        o.push("A1", "r", json!({"i": 1}), true).unwrap();
        let used = std::fs::metadata(o.path()).unwrap().len();
        o.set_disk_budget(Some(used + 10));
        let err = o.push("A1", "r", json!({"i": 2}), true).unwrap_err();
        assert!(err.is_disk_full(), "{err}");
        o.set_disk_budget(None);
        o.push("A1", "r", json!({"i": 3}), true).unwrap();
        drop(o);
        let (o, r) = open(d.path());
        assert_eq!(r.dropped_bytes, 0);
        let kept: Vec<i64> = o.pending().iter().map(|e| e.data["i"].as_i64().unwrap()).collect();
        assert_eq!(kept, vec![1, 3]);
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
