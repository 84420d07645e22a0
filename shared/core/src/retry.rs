//! Optimistic concurrency, written once: read, decide, write conditionally; when
//! another writer got there first, read again and decide again. Every
//! read-modify-write of the domain goes through `on_conflict`, so the bound and
//! the back-off are the same everywhere.

use crate::codes::{ApiError, ApiResult};
use crate::store::StoreResult;
use std::future::Future;
use std::time::Duration;

/// How many times a write is tried before the caller is told to retry: enough
/// for the 16-way races of the tests with room to spare.
pub const ATTEMPTS: usize = 64;

/// What one attempt came to.
pub enum Step<T> {
    Done(T),
    /// Another writer changed what this attempt read: read again.
    Conflict,
}

impl<T> Step<T> {
    /// The outcome of an attempt's conditional write: a conflict retries,
    /// any other failure is final.
    pub fn of(write: StoreResult<()>, done: T) -> ApiResult<Step<T>> {
        match write {
            Ok(()) => Ok(Step::Done(done)),
            Err(e) if e.is_conflict() => Ok(Step::Conflict),
            Err(e) => Err(e.into()),
        }
    }
}

/// Runs `attempt` until it is done, fails, or has conflicted `ATTEMPTS` times
/// (then a system error the caller may retry). Conflicting attempts back off a
/// little, with jitter, so racing writers spread out.
pub async fn on_conflict<T, F, Fut>(what: &str, mut attempt: F) -> ApiResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ApiResult<Step<T>>>,
{
    for n in 0..ATTEMPTS {
        match attempt().await? {
            Step::Done(t) => return Ok(t),
            Step::Conflict => {
                let ceiling = 1 + (n as u64).min(10);
                let ms = rand::random::<u64>() % ceiling;
                if ms > 0 {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
            }
        }
    }
    Err(ApiError::system(format!("{what}: still conflicting after {ATTEMPTS} attempts; retry")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[tokio::test]
    async fn retries_conflicts_only() {
        let mut n = 0;
        let r = on_conflict("x", || {
            n += 1;
            let w = if n < 3 { Err(StoreError::ConditionFailed) } else { Ok(()) };
            async move { Step::of(w, n) }
        })
        .await;
        assert_eq!(r.unwrap(), 3);
        let r: ApiResult<()> = on_conflict("x", || async { Step::of(Err(StoreError::Backend("down".into())), ()) }).await;
        assert_eq!(r.unwrap_err().code.0, 100002);
        let r: ApiResult<()> = on_conflict("x", || async { Ok(Step::Conflict) }).await;
        assert!(r.unwrap_err().message.contains("still conflicting"));
    }
}
