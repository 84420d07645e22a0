//! When to try a failed push again, and when to give up on it (decision 18):
//! an exponential schedule from 10 s, capped at 1 h per step, kept up for at
//! least 24 h counted from the first attempt. The give-up rule is time-based,
//! not a count: a partner down for an hour loses nothing, however many
//! attempts that hour took.

use std::time::Duration;

pub const DEFAULT_BASE: Duration = Duration::from_secs(10);
pub const DEFAULT_CAP: Duration = Duration::from_secs(60 * 60);
pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 60 * 60);
/// SQS cannot hide a message longer than 12 hours; a longer step would be cut
/// short by the queue anyway, so the policy never asks for one.
pub const MAX_STEP: Duration = Duration::from_secs(12 * 60 * 60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt; doubled after each further one.
    pub base: Duration,
    /// The longest delay between two attempts.
    pub cap: Duration,
    /// How long after the first attempt a failure is final.
    pub give_up_after: Duration,
    /// An additional bound on attempts (the first included). None in
    /// production: tests set it to reach the dead-letter queue quickly.
    pub max_attempts: Option<u32>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { base: DEFAULT_BASE, cap: DEFAULT_CAP, give_up_after: DEFAULT_GIVE_UP_AFTER, max_attempts: None }
    }
}

/// What to do with a message after an attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    RetryAfter(Duration),
    GiveUp,
}

impl RetryPolicy {
    /// Decision 18's schedule with the first delay `base` (tests shrink it).
    pub fn new(base: Duration) -> Self {
        RetryPolicy { base, ..RetryPolicy::default() }
    }
    pub fn with_cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }
    pub fn with_give_up_after(mut self, d: Duration) -> Self {
        self.give_up_after = d;
        self
    }
    /// 0 means no bound.
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = (n > 0).then_some(n);
        self
    }

    /// After attempt number `attempt` (1-based) failed, `tried_for` after the
    /// first attempt began.
    pub fn after_failure(&self, attempt: u32, tried_for: Duration) -> Next {
        if tried_for >= self.give_up_after || self.max_attempts.is_some_and(|m| attempt >= m) {
            return Next::GiveUp;
        }
        let doublings = attempt.saturating_sub(1).min(31);
        let step = self.base.saturating_mul(1u32 << doublings).min(self.cap).min(MAX_STEP);
        Next::RetryAfter(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3600;

    fn delay(n: Next) -> u64 {
        match n {
            Next::RetryAfter(d) => d.as_secs(),
            Next::GiveUp => panic!("gave up"),
        }
    }

    #[test]
    fn decision_18_doubles_from_ten_seconds_and_caps_at_an_hour() {
        let p = RetryPolicy::default();
        let delays: Vec<_> = (1..=11).map(|n| delay(p.after_failure(n, Duration::ZERO))).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]);
        assert_eq!(delay(p.after_failure(500, Duration::ZERO)), 3600);
    }

    #[test]
    fn a_partner_down_for_an_hour_is_never_given_up_on() {
        let p = RetryPolicy::default();
        // Walk the real schedule through one hour of failures.
        let (mut t, mut attempt) = (0u64, 1u32);
        while t < H {
            let d = delay(p.after_failure(attempt, Duration::from_secs(t)));
            t += d;
            attempt += 1;
        }
        assert!(attempt > 8, "more attempts than the old fixed count of 8: {attempt}");
    }

    #[test]
    fn gives_up_only_after_24_hours_of_trying() {
        let p = RetryPolicy::default();
        let (mut t, mut attempt) = (0u64, 1u32);
        while let Next::RetryAfter(d) = p.after_failure(attempt, Duration::from_secs(t)) {
            t += d.as_secs();
            attempt += 1;
        }
        assert!((24 * H..25 * H).contains(&t), "gave up after {t} s");
        assert!(matches!(p.after_failure(2, Duration::from_secs(24 * H - 1)), Next::RetryAfter(_)));
        assert_eq!(p.after_failure(2, Duration::from_secs(24 * H)), Next::GiveUp);
    }

    #[test]
    fn tests_may_shrink_the_schedule_or_bound_the_attempts() {
        let p = RetryPolicy::new(Duration::from_millis(50)).with_cap(Duration::from_millis(120)).with_max_attempts(3);
        assert_eq!(p.after_failure(1, Duration::ZERO), Next::RetryAfter(Duration::from_millis(50)));
        assert_eq!(p.after_failure(2, Duration::ZERO), Next::RetryAfter(Duration::from_millis(100)));
        assert_eq!(p.after_failure(3, Duration::ZERO), Next::GiveUp);
        let unbounded = p.with_max_attempts(0);
        assert_eq!(unbounded.after_failure(40, Duration::ZERO), Next::RetryAfter(Duration::from_millis(120)));
        // A cap above what SQS can hide a message for is cut to 12 h.
        let long = RetryPolicy::default().with_cap(Duration::from_secs(48 * H));
        assert_eq!(delay(long.after_failure(40, Duration::ZERO)), 12 * H);
    }
}
