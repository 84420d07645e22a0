//! Group commit for the embedded store: one writer thread owns the write
//! connection and applies whatever write requests are waiting in ONE SQLite
//! transaction, so many requests share one fsync.
//!
//! Each request runs inside its own savepoint: its conditions are checked
//! against everything applied before it (the earlier requests of the batch
//! included), and a failed condition rolls back that request alone. So the
//! outcome is exactly that of running the requests one after another, in
//! arrival order. Every request is answered only after the batch's COMMIT
//! returned (with `synchronous=FULL`, after the WAL is on disk): an answered
//! write survives a kill -9 or a power cut, as before.
//!
//! Two lighter ways to write serve the replay memory of signed requests
//! (`idempotency`), which would otherwise cost every write request two more
//! fsync waits around its own transaction:
//! - `Mode::Decided` answers an accepted write as soon as it is applied, before
//!   its batch is on disk: a later request's write is then in the same batch
//!   or a later one, so it is durable only if this one is.
//! - `Mode::Behind` does not wait at all: the write is ordered before every
//!   write sent after it, which is all a remembered answer needs.
//!
//! Both rest on one rule: after a failed COMMIT the writer refuses every
//! later write until the process restarts. Otherwise a later batch could make
//! a request's effects durable while the claim they depend on was lost.
//! (PostgreSQL chose the same after fsync failures: retrying a failed flush
//! is not safe, so it stops.) A failed BEGIN wrote nothing and poisons nothing.

use onecard_core::store::{StoreError, StoreResult};
use rusqlite::{Connection, TransactionBehavior};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use tokio::sync::oneshot;

/// Bounds how long the last request of a batch waits for the first one's
/// work; large enough that a burst of concurrent writers shares one fsync.
const MAX_BATCH: usize = 256;

/// One request's work inside the batch's transaction. `Ok(Err(_))` is a
/// refusal (a failed condition): its changes are rolled back, the batch goes on.
pub(crate) type Work<T> = Box<dyn FnOnce(&Connection) -> StoreResult<Result<T, usize>> + Send>;

/// A request: given the batch's connection (None when the batch could not
/// begin) it does its work and hands back how to answer once the batch's fate
/// is known.
type Job = Box<dyn FnOnce(Option<&Connection>) -> Box<dyn FnOnce(bool) + Send> + Send>;

/// When a write's sender hears back.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Once its batch is on disk (or failed as a whole).
    Durable,
    /// An accepted write once applied (ordered before every later write, on
    /// disk with the next COMMIT); a refusal or an error once the batch's fate
    /// is known, as `Durable`.
    Decided,
}

#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Job>,
    commits: Arc<AtomicU64>,
    /// Held by every clone: the checkpointer stops once the last is gone.
    alive: Arc<()>,
}

/// How often the checkpointer copies the WAL back into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

impl Writer {
    /// Starts the writer thread on `conn`; it ends when every `Writer` is dropped.
    pub(crate) fn start(conn: Connection) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>();
        let commits = Arc::new(AtomicU64::new(0));
        let poisoned = Arc::new(AtomicBool::new(false));
        let (counted, stop) = (commits.clone(), poisoned.clone());
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, rx, &counted, &stop))
            .expect("spawn the SQLite writer thread");
        Writer { tx, commits, alive: Arc::new(()) }
    }

    /// Runs WAL checkpoints on `conn` (its own connection to the same file)
    /// on a thread of its own, so the writer thread spends its time on
    /// transactions. A PASSIVE checkpoint never blocks the writer or the
    /// readers: it copies the frames no reader still needs, and SQLite starts
    /// the WAL over at the next write once all were copied. Durability is
    /// unchanged: a commit is on disk once its WAL frames are synced.
    pub(crate) fn with_checkpointer(self, conn: Connection) -> Writer {
        let alive = Arc::downgrade(&self.alive);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while alive.strong_count() > 0 {
                    std::thread::sleep(CHECKPOINT_EVERY);
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "WAL checkpoint failed; the next one tries again");
                    }
                }
            })
            .expect("spawn the SQLite checkpoint thread");
        self
    }

    /// Group transactions committed so far (tests prove grouping with it).
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    /// Runs `work` in the next group transaction; answers once that
    /// transaction is committed (or failed as a whole).
    pub(crate) async fn write<T: Send + 'static>(&self, work: Work<T>) -> StoreResult<Result<T, usize>> {
        self.write_as(Mode::Durable, work).await
    }

    /// Runs `work` in the next group transaction; answers as `mode` says.
    pub(crate) async fn write_as<T: Send + 'static>(&self, mode: Mode, work: Work<T>) -> StoreResult<Result<T, usize>> {
        let (done, answer) = oneshot::channel::<StoreResult<Result<T, usize>>>();
        self.send(Box::new(move |conn: Option<&Connection>| {
            let mut done = Some(done);
            let r = conn.map(|c| in_savepoint(c, work));
            let r = match r {
                Some(Ok(Ok(v))) if mode == Mode::Decided => {
                    let _ = done.take().map(|d| d.send(Ok(Ok(v))));
                    None
                }
                r => Some(r),
            };
            // Answered only once the whole batch is committed: before that,
            // even a refusal was judged against writes that may not last.
            Box::new(move |committed: bool| {
                let (Some(done), Some(r)) = (done, r) else { return };
                let r = match r {
                    Some(r) if committed => r,
                    _ => Err(StoreError::Backend("the group transaction failed; nothing was written".into())),
                };
                let _ = done.send(r);
            })
        }))?;
        answer.await.map_err(|_| StoreError::Backend("the SQLite writer dropped a request".into()))?
    }

    /// Sends `work` to the writer without waiting for it: it is applied
    /// before any write sent later, and its outcome is only logged.
    pub(crate) fn write_behind(&self, work: Work<()>) -> StoreResult<()> {
        self.send(Box::new(move |conn: Option<&Connection>| {
            let r = conn.map(|c| in_savepoint(c, work));
            Box::new(move |committed: bool| match r {
                Some(Ok(Ok(()))) if committed => {}
                Some(Ok(Err(_))) if committed => tracing::debug!("a write sent behind was refused by its condition"),
                Some(Err(e)) => tracing::error!(error = %e, "a write sent behind failed"),
                _ => tracing::error!("a write sent behind was lost with its group transaction"),
            })
        }))
    }

    fn send(&self, job: Job) -> StoreResult<()> {
        self.tx.send(job).map_err(|_| StoreError::Backend("the SQLite writer has stopped".into()))
    }
}

fn in_savepoint<T>(conn: &Connection, work: Work<T>) -> StoreResult<Result<T, usize>> {
    // Cached statements: each request of a batch opens and releases one
    // savepoint, and `execute_batch` would parse them every time.
    let exec = |sql: &str| conn.prepare_cached(sql).and_then(|mut st| st.execute([])).map(drop).map_err(|e| StoreError::Backend(e.to_string()));
    exec("SAVEPOINT req")?;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(conn)))
        .unwrap_or_else(|_| Err(StoreError::Backend("a store write panicked".into())));
    if !matches!(r, Ok(Ok(_))) {
        exec("ROLLBACK TO req")?;
    }
    exec("RELEASE req")?;
    r
}

fn run(mut conn: Connection, rx: mpsc::Receiver<Job>, commits: &AtomicU64, poisoned: &AtomicBool) {
    while let Ok(first) = rx.recv() {
        if poisoned.load(Ordering::Acquire) {
            first(None)(false);
            continue;
        }
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        batch(&mut conn, jobs, commits, poisoned);
    }
}

/// Applies one batch; a committed batch is counted before any of its
/// requests is answered, so a caller that saw its answer also sees the count.
fn batch(conn: &mut Connection, jobs: Vec<Job>, commits: &AtomicU64, poisoned: &AtomicBool) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            tracing::error!(error = %e, "cannot begin the group transaction");
            for job in jobs {
                job(None)(false);
            }
            return;
        }
    };
    let replies: Vec<_> = jobs.into_iter().map(|job| job(Some(&tx))).collect();
    let committed = match tx.commit() {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "group commit failed; every request of the batch is refused");
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            false
        }
    };
    if committed {
        commits.fetch_add(1, Ordering::Release);
    } else {
        // Set on this thread before the next batch, so no later write can
        // become durable without the writes this batch lost.
        tracing::error!("the SQLite writer refuses every write from now on: restart the server once the disk is sound");
        poisoned.store(true, Ordering::Release);
    }
    for reply in replies {
        reply(committed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    fn writer() -> (Writer, PathBuf) {
        let dir = std::env::temp_dir().join(format!("onecard-writer-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.db");
        let conn = crate::db::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY)").unwrap();
        (Writer::start(conn), path)
    }

    fn insert(k: &'static str) -> Work<()> {
        Box::new(move |c: &Connection| c.execute("INSERT INTO t VALUES (?1)", [k]).map(|_| Ok(())).map_err(|e| StoreError::Backend(e.to_string())))
    }

    /// Holds the writer thread (and so its batch) until released; says when
    /// it holds it.
    fn gate() -> (Work<()>, std::sync::mpsc::Receiver<()>, std::sync::mpsc::Sender<()>) {
        let (held, holding) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let work: Work<()> = Box::new(move |_: &Connection| {
            held.send(()).unwrap();
            released.recv().unwrap();
            Ok(Ok(()))
        });
        (work, holding, release)
    }

    /// What another connection sees: only committed rows.
    fn committed(path: &PathBuf) -> Vec<String> {
        let c = Connection::open(path).unwrap();
        let mut st = c.prepare("SELECT k FROM t ORDER BY k").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    }

    type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = StoreResult<Result<(), usize>>> + Send>>;

    /// Sends `work` now (one poll sends it), to be awaited later.
    async fn send(w: &Writer, mode: Mode, work: Work<()>) -> Pending {
        let w = w.clone();
        let mut f: Pending = Box::pin(async move { w.write_as(mode, work).await });
        assert!(tokio::time::timeout(Duration::ZERO, &mut f).await.is_err(), "sent, not yet answered");
        f
    }

    fn wait(holding: &std::sync::mpsc::Receiver<()>) {
        holding.recv_timeout(Duration::from_secs(10)).expect("the writer took the gate");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_decided_write_is_answered_before_its_batch_commits() {
        let (w, path) = writer();
        let (g1, holding1, release1) = gate();
        let first = send(&w, Mode::Durable, g1).await;
        wait(&holding1);
        // Both wait behind the held batch, then form the next one together.
        let decided = send(&w, Mode::Decided, insert("a")).await;
        let (g2, holding2, release2) = gate();
        let second = send(&w, Mode::Durable, g2).await;
        release1.send(()).unwrap();
        first.await.unwrap().unwrap();
        wait(&holding2);
        let answered = tokio::time::timeout(Duration::from_secs(10), decided).await;
        answered.expect("answered while the batch is held open").unwrap().unwrap();
        assert_eq!(w.commits(), 1, "answered while its own batch was still open");
        assert!(committed(&path).is_empty(), "and before it was on disk");
        release2.send(()).unwrap();
        second.await.unwrap().unwrap();
        assert_eq!(committed(&path), vec!["a".to_string()]);
        assert_eq!(w.commits(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn after_a_failed_commit_no_later_write_is_made_durable() {
        let (w, path) = writer();
        let (g1, holding1, release1) = gate();
        let first = send(&w, Mode::Durable, g1).await;
        wait(&holding1);
        let decided = send(&w, Mode::Decided, insert("a")).await;
        // Ends the batch's transaction under the writer, so its COMMIT fails
        // as an I/O error would make it fail.
        let breaks = send(&w, Mode::Durable, Box::new(|c: &Connection| c.execute_batch("ROLLBACK").map(Ok).map_err(|e| StoreError::Backend(e.to_string())))).await;
        release1.send(()).unwrap();
        first.await.unwrap().unwrap();
        decided.await.unwrap().unwrap();
        assert!(breaks.await.is_err());
        // The decided write was lost with its batch: whatever its sender does
        // next must not become durable without it.
        assert!(w.write_as(Mode::Durable, insert("b")).await.is_err());
        assert!(w.write_as(Mode::Decided, insert("c")).await.is_err());
        w.write_behind(insert("d")).unwrap();
        assert!(w.write(insert("e")).await.is_err());
        assert!(committed(&path).is_empty());
        assert_eq!(w.commits(), 1);
    }

    #[tokio::test]
    async fn a_write_sent_behind_is_ordered_before_later_writes() {
        let (w, path) = writer();
        w.write_behind(insert("a")).unwrap();
        // The same key again: refused by the table because "a" came first.
        let again = w.write(insert("a")).await;
        assert!(again.is_err(), "{again:?}");
        w.write(insert("b")).await.unwrap().unwrap();
        assert_eq!(committed(&path), vec!["a".to_string(), "b".to_string()]);
    }

    /// The checkpointer, not the writer, copies committed pages into the
    /// database file: with the writer's automatic checkpoint off, the file
    /// grows only through it, and it stops with the last handle.
    #[tokio::test]
    async fn the_checkpointer_copies_the_wal_into_the_database_file() {
        let (w, path) = writer();
        let size = || std::fs::metadata(&path).unwrap().len();
        let before = size();
        let conn = crate::db::open(&path).unwrap();
        let w2 = w.clone();
        w2.send(Box::new(|c: Option<&Connection>| {
            c.unwrap().execute_batch("PRAGMA wal_autocheckpoint=0").unwrap();
            Box::new(|_| ())
        }))
        .unwrap();
        let w = w.with_checkpointer(conn);
        for i in 0..200 {
            let k: &'static str = Box::leak(format!("key-{i:0>200}").into_boxed_str());
            w.write(insert(k)).await.unwrap().unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while size() <= before {
            assert!(std::time::Instant::now() < deadline, "no checkpoint in 10 s: {} bytes", size());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(committed(&path).len(), 200);
    }
}
