//! Throttling from DynamoDB and SQS: which error codes mean "too much load,
//! wait", and the short jittered backoff the adapters apply before they
//! surface it. A throttled call was refused, not applied, so trying it again
//! is safe for conditional writes too. What is still throttled after the last
//! try reaches the caller as its own kind (`StoreError::Throttled`,
//! `QueueError::throttled`), never as a conflict: `retry::on_conflict` would
//! otherwise re-read and hammer the same hot key 64 times.

use std::future::Future;
use std::time::Duration;

/// Tries of one call, the first included. The SDK's own retries run inside
/// each; this outer layer rides out a burst of a few hundred milliseconds.
pub const TRIES: u32 = 4;
const FIRST_DELAY: Duration = Duration::from_millis(50);

/// DynamoDB's throttling error codes (the SDK's service error `code()`).
pub fn is_dynamo_throttling(code: &str) -> bool {
    matches!(
        code,
        "ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded" | "Throttling"
    )
}

/// A cancelled transaction's reasons: throttled when some item was throttled
/// and none failed its condition (a failed condition is a conflict, whatever
/// else happened).
pub fn is_throttled_cancellation<'a>(reasons: impl IntoIterator<Item = Option<&'a str>>) -> bool {
    let codes: Vec<&str> = reasons.into_iter().flatten().collect();
    codes.contains(&"ThrottlingError") && !codes.contains(&"ConditionalCheckFailed")
}

/// SQS's throttling error codes, in both the JSON and the query protocol's
/// spellings, and the KMS throttling an encrypted queue passes on.
pub fn is_sqs_throttling(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "Throttling"
            | "RequestThrottled"
            | "AWS.SimpleQueueService.RequestThrottled"
            | "KmsThrottled"
            | "KMS.ThrottlingException"
    )
}

/// The wait before try `n + 1` (`n` >= 1): full jitter over an exponential
/// ceiling, so throttled callers spread out instead of retrying in step.
pub fn delay(n: u32) -> Duration {
    let ceiling = FIRST_DELAY.saturating_mul(1 << n.saturating_sub(1).min(10));
    let ms = ceiling.as_millis() as u64;
    Duration::from_millis(ms / 2 + rand::random::<u64>() % (ms / 2 + 1))
}

/// Runs `call` until it succeeds, fails otherwise, or has been throttled
/// `TRIES` times (then its throttling error is answered).
pub async fn with_backoff<T, E, F, Fut>(mut call: F, throttled: impl Fn(&E) -> bool) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut n = 1;
    loop {
        match call().await {
            Err(e) if throttled(&e) && n < TRIES => {
                tracing::debug!(try_ = n, "throttled; backing off");
                tokio::time::sleep(delay(n)).await;
                n += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecard_core::codes::ApiResult;
    use onecard_core::queue::QueueError;
    use onecard_core::retry::{on_conflict, Step};
    use onecard_core::store::StoreError;

    #[test]
    fn dynamodb_throttling_codes_are_told_from_conflicts_and_failures() {
        for c in ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"] {
            assert!(is_dynamo_throttling(c), "{c}");
        }
        for c in ["ConditionalCheckFailedException", "ResourceNotFoundException", "ValidationException", "InternalServerError"] {
            assert!(!is_dynamo_throttling(c), "{c}");
        }
        assert!(is_throttled_cancellation([Some("None"), Some("ThrottlingError")]));
        assert!(!is_throttled_cancellation([Some("ThrottlingError"), Some("ConditionalCheckFailed")]));
        assert!(!is_throttled_cancellation([Some("TransactionConflict"), None]));
        assert!(!is_throttled_cancellation([None]));
    }

    #[test]
    fn sqs_throttling_codes() {
        for c in ["ThrottlingException", "RequestThrottled", "AWS.SimpleQueueService.RequestThrottled", "KmsThrottled"] {
            assert!(is_sqs_throttling(c), "{c}");
        }
        for c in ["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "ReceiptHandleIsInvalid", "InvalidParameterValue"] {
            assert!(!is_sqs_throttling(c), "{c}");
        }
        let e = QueueError::throttled("SendMessage");
        assert!(e.is_throttled() && e.to_string().contains("SendMessage"));
        assert!(!QueueError("throttle valve broken".into()).is_throttled());
    }

    #[test]
    fn delays_are_jittered_under_a_doubling_ceiling() {
        for n in 1..6 {
            let ceiling = 50u64 << (n - 1);
            for _ in 0..50 {
                let d = delay(n).as_millis() as u64;
                assert!(d >= ceiling / 2 && d <= ceiling, "try {n}: {d} ms");
            }
        }
    }

    #[tokio::test]
    async fn throttling_is_retried_a_few_times_then_surfaced() {
        let mut calls = 0;
        let r: Result<u32, StoreError> = with_backoff(
            || {
                calls += 1;
                let n = calls;
                async move { if n < 3 { Err(StoreError::Throttled("busy".into())) } else { Ok(n) } }
            },
            StoreError::is_throttled,
        )
        .await;
        assert_eq!(r, Ok(3));

        let mut calls = 0;
        let r: Result<(), StoreError> = with_backoff(
            || {
                calls += 1;
                async { Err(StoreError::Throttled("busy".into())) }
            },
            StoreError::is_throttled,
        )
        .await;
        assert_eq!((r, calls), (Err(StoreError::Throttled("busy".into())), TRIES));

        // Anything else is answered at once.
        let mut calls = 0;
        let r: Result<(), StoreError> = with_backoff(
            || {
                calls += 1;
                async { Err(StoreError::ConditionFailed) }
            },
            StoreError::is_throttled,
        )
        .await;
        assert_eq!((r, calls), (Err(StoreError::ConditionFailed), 1));
    }

    #[tokio::test]
    async fn throttling_is_not_a_conflict_and_answers_a_system_error() {
        let mut tries = 0;
        let r: ApiResult<()> = on_conflict("x", || {
            tries += 1;
            async { Step::of(Err(StoreError::Throttled("ProvisionedThroughputExceededException".into())), ()) }
        })
        .await;
        // Once, not 64 times: the adapter did the waiting already.
        assert_eq!(tries, 1);
        assert_eq!(r.unwrap_err().code.0, 100002);
    }
}
