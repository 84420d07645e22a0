//! Log files read in chunks (10.37): the `logs.read` command the cloud sends
//! an agent, its answer, and the reading itself, which the agent does in its
//! log directory and the cloud in its own.
//!
//! The directory is fixed by whoever runs the reader (the agent's data dir,
//! the server's configured log dir), never named by a caller: a request names
//! a day, and the files of that day are the regular files directly in the
//! directory whose name carries the date (`2026-11-29` or `20261129`), read
//! in name order as one stream. A symlink or a sub-directory is never
//! followed, so a request cannot reach outside the directory.

use base64::Engine;
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The command's action; `device` is the agent's id.
pub const ACTION: &str = "logs.read";

/// The most bytes one chunk carries: its base64 (20,000 characters, decision
/// 12's cap) fits a site-link frame.
pub const MAX_CHUNK_BYTES: usize = 15_000;

/// `logs.read` parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadLog {
    /// `yyyy-MM-dd`.
    pub date: String,
    pub offset: u64,
    pub len: usize,
}

/// Whether there was something to read (10.37 `FileExists`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Found {
    /// `0`.
    Exists,
    /// `1`: the directory cannot be read.
    NoDirectory,
    /// `2`: no log of that day.
    NoLog,
}

impl Found {
    pub fn code(self) -> &'static str {
        match self {
            Found::Exists => "0",
            Found::NoDirectory => "1",
            Found::NoLog => "2",
        }
    }
}

/// The answer, carried as JSON in the ack's `message` (an ack has no other
/// payload field, and every site-link peer already relays `message`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogChunk {
    pub found: Found,
    /// The whole day's size in bytes.
    pub size: u64,
    /// Base64 of the bytes from `offset` (at most `len`).
    pub data: String,
}

impl LogChunk {
    fn none(found: Found) -> LogChunk {
        LogChunk { found, size: 0, data: String::new() }
    }
}

/// A day as `yyyy-MM-dd`, checked, with its compact form.
fn day_forms(date: &str) -> Option<(String, String)> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some((d.format("%Y-%m-%d").to_string(), d.format("%Y%m%d").to_string()))
}

/// The files of a day, in name order, with their sizes.
fn day_files(dir: &Path, date: &str) -> std::io::Result<Vec<(PathBuf, u64)>> {
    let Some((long, short)) = day_forms(date) else { return Ok(Vec::new()) };
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        // `file_type` does not follow symlinks: a link is skipped, not read.
        if !e.file_type()?.is_file() {
            continue;
        }
        let name = e.file_name().to_string_lossy().to_string();
        if name.contains(&long) || name.contains(&short) {
            files.push((e.path(), e.metadata()?.len()));
        }
    }
    files.sort();
    Ok(files)
}

/// Reads `req.len` bytes (capped) of a day's logs from `offset`.
pub fn read(dir: &Path, req: &ReadLog) -> LogChunk {
    let files = match day_files(dir, &req.date) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "log directory cannot be read");
            return LogChunk::none(Found::NoDirectory);
        }
    };
    if files.is_empty() {
        return LogChunk::none(Found::NoLog);
    }
    let size: u64 = files.iter().map(|(_, n)| n).sum();
    let want = req.len.clamp(1, MAX_CHUNK_BYTES);
    let mut out = Vec::with_capacity(want);
    let mut start = 0u64;
    for (path, n) in &files {
        let end = start + n;
        if out.len() < want && req.offset + (out.len() as u64) < end {
            let from = req.offset + out.len() as u64 - start;
            let take = (want - out.len()).min((n - from) as usize);
            if let Err(e) = read_at(path, from, take, &mut out) {
                tracing::warn!(file = %path.display(), error = %e, "log file cannot be read");
                return LogChunk::none(Found::NoDirectory);
            }
        }
        start = end;
    }
    LogChunk { found: Found::Exists, size, data: base64::engine::general_purpose::STANDARD.encode(&out) }
}

fn read_at(path: &Path, from: u64, take: usize, out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(from))?;
    // A file still being written may be shorter than its size was: read what is there.
    f.take(take as u64).read_to_end(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_read_across_its_files_in_chunks() {
        let dir = std::env::temp_dir().join(format!("onecard-logs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub-2026-11-29")).unwrap();
        std::fs::write(dir.join("park-2026-11-29.log"), "abcdef").unwrap();
        std::fs::write(dir.join("park-20261129.1.log"), "ghij").unwrap();
        std::fs::write(dir.join("park-2026-11-28.log"), "old").unwrap();
        let mut got = Vec::new();
        let mut offset = 0;
        loop {
            let c = read(&dir, &ReadLog { date: "2026-11-29".into(), offset, len: 3 });
            assert_eq!((c.found, c.size), (Found::Exists, 10));
            let bytes = base64::engine::general_purpose::STANDARD.decode(&c.data).unwrap();
            if bytes.is_empty() {
                break;
            }
            offset += bytes.len() as u64;
            got.extend(bytes);
        }
        // Name order: "park-2026-11-29.log" before "park-20261129.1.log" ('-' < '1').
        assert_eq!(String::from_utf8(got).unwrap(), "abcdefghij");
        assert_eq!(read(&dir, &ReadLog { date: "2026-11-30".into(), offset: 0, len: 3 }).found, Found::NoLog);
        assert_eq!(read(&dir, &ReadLog { date: "../etc".into(), offset: 0, len: 3 }).found, Found::NoLog);
        assert_eq!(read(&dir.join("missing"), &ReadLog { date: "2026-11-29".into(), offset: 0, len: 3 }).found, Found::NoDirectory);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
