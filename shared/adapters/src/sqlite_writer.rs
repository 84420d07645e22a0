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

use onecard_core::store::{StoreError, StoreResult};
use rusqlite::{Connection, TransactionBehavior};
use std::sync::atomic::{AtomicU64, Ordering};
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

#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Job>,
    commits: Arc<AtomicU64>,
}

impl Writer {
    /// Starts the writer thread on `conn`; it ends when every `Writer` is dropped.
    pub(crate) fn start(conn: Connection) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>();
        let commits = Arc::new(AtomicU64::new(0));
        let counted = commits.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, rx, &counted))
            .expect("spawn the SQLite writer thread");
        Writer { tx, commits }
    }

    /// Group transactions committed so far (tests prove grouping with it).
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    /// Runs `work` in the next group transaction; answers once that
    /// transaction is committed (or failed as a whole).
    pub(crate) async fn write<T: Send + 'static>(&self, work: Work<T>) -> StoreResult<Result<T, usize>> {
        let (done, answer) = oneshot::channel::<StoreResult<Result<T, usize>>>();
        let job: Job = Box::new(move |conn: Option<&Connection>| {
            let r = conn.map(|c| in_savepoint(c, work));
            // Answered only once the whole batch is committed: before that,
            // even a refusal was judged against writes that may not last.
            Box::new(move |committed: bool| {
                let r = match r {
                    Some(r) if committed => r,
                    _ => Err(StoreError::Backend("the group transaction failed; nothing was written".into())),
                };
                let _ = done.send(r);
            })
        });
        self.tx.send(job).map_err(|_| StoreError::Backend("the SQLite writer has stopped".into()))?;
        answer.await.map_err(|_| StoreError::Backend("the SQLite writer dropped a request".into()))?
    }
}

fn in_savepoint<T>(conn: &Connection, work: Work<T>) -> StoreResult<Result<T, usize>> {
    let backend = |e: rusqlite::Error| StoreError::Backend(e.to_string());
    conn.execute_batch("SAVEPOINT req").map_err(backend)?;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(conn)))
        .unwrap_or_else(|_| Err(StoreError::Backend("a store write panicked".into())));
    match &r {
        Ok(Ok(_)) => conn.execute_batch("RELEASE req").map_err(backend)?,
        _ => conn.execute_batch("ROLLBACK TO req; RELEASE req").map_err(backend)?,
    }
    r
}

fn run(mut conn: Connection, rx: mpsc::Receiver<Job>, commits: &AtomicU64) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        batch(&mut conn, jobs, commits);
    }
}

/// Applies one batch; a committed batch is counted before any of its
/// requests is answered, so a caller that saw its answer also sees the count.
fn batch(conn: &mut Connection, jobs: Vec<Job>, commits: &AtomicU64) {
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
    }
    for reply in replies {
        reply(committed);
    }
}
