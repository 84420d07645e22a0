//! When to try a failed push again, and when to give up on it.

use std::time::Duration;

pub const DEFAULT_BASE: Duration = Duration::from_secs(1);
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// A partner that is down for long should not be hammered, and SQS cannot hide
/// a message longer than 12 hours anyway.
pub const DEFAULT_CAP: Duration = Duration::from_secs(15 * 60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt; doubled after each further one.
    pub base: Duration,
    /// Attempts (the first included) before the event is dead-lettered.
    pub max_attempts: u32,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { base: DEFAULT_BASE, max_attempts: DEFAULT_MAX_ATTEMPTS, cap: DEFAULT_CAP }
    }
}

/// What to do with a message after an attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    RetryAfter(Duration),
    GiveUp,
}

impl RetryPolicy {
    pub fn new(base: Duration, max_attempts: u32) -> Self {
        RetryPolicy { base, max_attempts: max_attempts.max(1), ..RetryPolicy::default() }
    }

    /// After attempt number `attempt` (1-based) failed.
    pub fn after_failure(&self, attempt: u32) -> Next {
        if attempt >= self.max_attempts {
            return Next::GiveUp;
        }
        let doublings = attempt.saturating_sub(1).min(31);
        let delay = self.base.saturating_mul(1u32 << doublings).min(self.cap);
        Next::RetryAfter(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps_then_gives_up() {
        let p = RetryPolicy::default();
        let delays: Vec<_> = (1..8)
            .map(|n| match p.after_failure(n) {
                Next::RetryAfter(d) => d.as_secs(),
                Next::GiveUp => panic!("gave up after {n}"),
            })
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64]);
        assert_eq!(p.after_failure(8), Next::GiveUp);
        assert_eq!(p.after_failure(9), Next::GiveUp);
        let long = RetryPolicy { max_attempts: 100, ..p };
        assert_eq!(long.after_failure(40), Next::RetryAfter(DEFAULT_CAP));
        assert_eq!(RetryPolicy::new(Duration::from_millis(50), 0).after_failure(1), Next::GiveUp);
        assert_eq!(RetryPolicy::new(Duration::from_millis(50), 3).after_failure(2), Next::RetryAfter(Duration::from_millis(100)));
    }
}
