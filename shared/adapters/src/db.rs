//! Opening the embedded SQLite database, shared by the store and the queue so
//! both get the same durability and multi-process settings.

use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// Long enough for an admin command's short transaction to finish while the
/// server holds the write lock, short enough to surface a stuck process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn open(path: &Path) -> Result<Connection, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    }
    let conn = Connection::open(path).map_err(|e| format!("open {}: {e}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| e.to_string())?;
    // WAL lets readers in other processes proceed while we write; FULL syncs the
    // WAL on every commit, so an acknowledged write survives a kill -9 or power cut.
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(|e| format!("journal_mode: {e}"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("{}: journal_mode is {mode}, WAL required", path.display()));
    }
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

pub(crate) fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
