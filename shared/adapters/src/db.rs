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
    // The query planner's stability guarantee. Without it SQLite marks a
    // statement whose plan might depend on a bound value (a query's TTL bound
    // and sk range) for a new plan whenever its bindings are cleared, which
    // rusqlite's statement cache does each time a statement goes back to it:
    // every such query was parsed and planned anew (15 % of 6.3's time in
    // the profile). One table and its primary key leave no plan to choose.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(|e| format!("query planner: {e}"))?;
    Ok(conn)
}

/// Prepared statements a reader connection keeps (see `open_reader`).
const READER_STATEMENTS: usize = 64;

/// A connection for reads only, beside a writer's: WAL gives it the last
/// committed state without waiting for the writer.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, String> {
    let conn = open(path)?;
    conn.execute_batch(&format!("PRAGMA query_only=ON; PRAGMA mmap_size={};", mmap_bytes())).map_err(|e| e.to_string())?;
    // A query's text carries its limit and which bounds it has, so a reader sees more
    // distinct statements than rusqlite's default cache of 16 holds; an
    // evicted one is parsed again on its next use.
    conn.set_prepared_statement_cache_capacity(READER_STATEMENTS);
    Ok(conn)
}

/// The readers' memory map, `ONECARD_SQLITE_MMAP_MIB`; off by default. It
/// was 256 MiB, but SQLite maps the file anew whenever it has grown, which
/// under writes is all the time (the checkpoints grow it): page faults and
/// unmaps were 7 % of the workers' time under `calc`, which answered 40 %
/// more requests without the map, while reads gained nothing measurable
/// (infra/bench/README.md, session 6).
fn mmap_bytes() -> u64 {
    std::env::var("ONECARD_SQLITE_MMAP_MIB").ok().and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0) << 20
}

/// Real time for the embedded queue's visibility timeouts, like SQS's own
/// clock (see `store::now_unix`).
pub(crate) fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// One connection behind a mutex, used from async code: SQLite serialises
/// writers anyway, and one connection keeps in-process writers from contending
/// for the file lock. Other processes coordinate through SQLite's own locking.
#[derive(Clone)]
pub(crate) struct Shared(std::sync::Arc<std::sync::Mutex<Connection>>);

impl Shared {
    pub(crate) fn new(conn: Connection) -> Self {
        Shared(std::sync::Arc::new(std::sync::Mutex::new(conn)))
    }

    /// The connection when no one holds it now (a poisoned lock is taken as
    /// `run` takes it); `None` rather than waiting.
    pub(crate) fn try_lock(&self) -> Option<std::sync::MutexGuard<'_, Connection>> {
        match self.0.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// Runs `f` on the connection off the async runtime; `joined` turns a
    /// failed blocking task into the caller's error type.
    pub(crate) async fn run<T, E, F>(&self, f: F, joined: fn(String) -> E) -> Result<T, E>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let conn = self.0.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave a half-applied write:
            // SQLite rolls back the open transaction, so the connection is usable.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .unwrap_or_else(|e| Err(joined(format!("database task failed: {e}"))))
    }
}
