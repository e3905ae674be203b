//! When to retry a failed call, as a pure function.
//!
//! [`RetryPolicy::classify`] looks at the method, what happened, how many attempts were made
//! and how long we have been at it, and answers [`Decision::Stop`] or
//! [`Decision::RetryAfter`]. It has no clock, no randomness and no I/O, so it is tested as a
//! table; the client applies jitter to the delay it returns and does the sleeping.
//!
//! The rules:
//!
//! | outcome | GET / PUT / DELETE | POST |
//! |---|---|---|
//! | 2xx, 3xx, 4xx other than 408/429 | stop | stop |
//! | 429 (throttled by the gateway, not processed) | retry after `Retry-After` (or backoff) | same |
//! | 503 (service unavailable, not processed) | retry after `Retry-After` (or backoff) | same |
//! | 408, 500, 502, 504 | retry with backoff | **stop**: the backend may have committed |
//! | connection could not be made | retry with backoff | retry with backoff |
//! | failed after sending, or timed out | retry with backoff | **stop**: outcome uncertain |
//!
//! A POST is never repeated when it may have reached SnelStart: creates are not idempotent
//! (there is no idempotency key), so the caller resolves the uncertainty by looking the record
//! up by its natural key first. A `Retry-After` longer than [`RetryPolicy::max_retry_after`]
//! stops too: the caller (the sync engine) reschedules the work instead of holding a task.

use std::time::Duration;

use crate::error::TransportStage;
use crate::request::Method;

/// What one attempt produced, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// An HTTP response arrived.
    Status {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` header, if any.
        retry_after: Option<Duration>,
    },
    /// No (complete) response arrived.
    Transport(TransportStage),
}

/// The classifier's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Give up and report the error.
    Stop,
    /// Try again after this (un-jittered) delay.
    RetryAfter(Duration),
}

/// Retry limits and backoff shape.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// The most attempts in total, the first included.
    pub max_attempts: u32,
    /// The backoff before the second attempt; doubled for every further attempt.
    pub base_delay: Duration,
    /// The largest backoff between two attempts.
    pub max_delay: Duration,
    /// The most time one call may spend, waiting included; no retry starts past it.
    pub total_budget: Duration,
    /// The longest `Retry-After` that is waited out in place; longer ones stop.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            total_budget: Duration::from_secs(120),
            max_retry_after: Duration::from_secs(90),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Sets the number of attempts (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the base and maximum backoff.
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max.max(base);
        self
    }

    /// Sets the total time budget of one call.
    pub fn with_total_budget(mut self, budget: Duration) -> Self {
        self.total_budget = budget;
        self
    }

    /// Sets the longest `Retry-After` waited out in place.
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The exponential backoff after `attempt` attempts (1-based), before jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        self.base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay)
    }

    /// Decides what to do after attempt number `attempt` (1-based) of a `method` request
    /// ended in `outcome`, `elapsed` after the first attempt started.
    pub fn classify(
        &self,
        method: Method,
        outcome: Outcome,
        attempt: u32,
        elapsed: Duration,
    ) -> Decision {
        if attempt >= self.max_attempts {
            return Decision::Stop;
        }
        let delay = match outcome {
            Outcome::Status {
                status: 429 | 503,
                retry_after,
            } => match retry_after {
                Some(wait) if wait > self.max_retry_after => return Decision::Stop,
                Some(wait) => wait,
                None => self.backoff(attempt),
            },
            Outcome::Status {
                status: 408 | 500 | 502 | 504,
                ..
            } if method.is_idempotent() => self.backoff(attempt),
            Outcome::Status { .. } => return Decision::Stop,
            Outcome::Transport(TransportStage::Connect) => self.backoff(attempt),
            Outcome::Transport(_) if method.is_idempotent() => self.backoff(attempt),
            Outcome::Transport(_) => return Decision::Stop,
        };
        if elapsed.saturating_add(delay) > self.total_budget {
            return Decision::Stop;
        }
        Decision::RetryAfter(delay)
    }
}

/// The longest `Retry-After` the client ever reports: larger values (or values that do not
/// fit a number) are clamped to this, so that nobody downstream adds an absurd delay to a
/// clock (`DateTime + 10^15 s` panics).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3_600);

/// Reads a `Retry-After` header value given in seconds, clamped to [`MAX_RETRY_AFTER`].
///
/// Digits only (an HTTP date or anything else gives `None`); a number too large for `u64`
/// is clamped like any other large value, never an overflow.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let max = MAX_RETRY_AFTER.as_secs();
    let secs = digits.parse::<u64>().map_or(max, |secs| secs.min(max));
    Some(Duration::from_secs(secs))
}

/// Spreads a delay over `[delay/2, delay]` ("equal jitter") so that many clients that failed
/// together do not retry together. `unit` is a uniform random number in `[0, 1)`.
pub fn jitter(delay: Duration, unit: f64) -> Duration {
    let unit = unit.clamp(0.0, 1.0);
    let half = delay / 2;
    half + half.mul_f64(unit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;
    use Method::*;

    const S: Duration = Duration::from_secs(1);

    fn status(code: u16) -> Outcome {
        Outcome::Status {
            status: code,
            retry_after: None,
        }
    }

    fn after(code: u16, secs: u64) -> Outcome {
        Outcome::Status {
            status: code,
            retry_after: Some(Duration::from_secs(secs)),
        }
    }

    #[test]
    fn retry_after_is_clamped_and_never_overflows() {
        assert_eq!(parse_retry_after("12"), Some(Duration::from_secs(12)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("3601"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("18446744073709551615"),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999999"),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(parse_retry_after("-5"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after(""), None);
    }

    /// The table the module docs describe, row by row.
    #[test]
    fn classification_table() {
        let p = RetryPolicy::default(); // 5 attempts, 0.5 s doubling to 30 s, 120 s total
        let ms = Duration::from_millis;
        let rows: Vec<(Method, Outcome, u32, Duration, Decision)> = vec![
            // success and client errors never retry
            (Get, status(200), 1, ms(0), Stop),
            (Get, status(400), 1, ms(0), Stop),
            (Post, status(400), 1, ms(0), Stop),
            (Get, status(401), 1, ms(0), Stop),
            (Get, status(403), 1, ms(0), Stop),
            (Get, status(404), 1, ms(0), Stop),
            // throttling: honour Retry-After for every method
            (Get, after(429, 12), 1, ms(0), RetryAfter(12 * S)),
            (Post, after(429, 12), 1, ms(0), RetryAfter(12 * S)),
            (Put, status(429), 2, ms(0), RetryAfter(S)),
            (Post, after(429, 91), 1, ms(0), Stop),
            (Post, after(503, 5), 1, ms(0), RetryAfter(5 * S)),
            (Delete, status(503), 3, ms(0), RetryAfter(2 * S)),
            // server errors: only idempotent methods
            (Get, status(500), 1, ms(0), RetryAfter(ms(500))),
            (Put, status(502), 2, ms(0), RetryAfter(S)),
            (Delete, status(504), 3, ms(0), RetryAfter(2 * S)),
            (Get, status(408), 1, ms(0), RetryAfter(ms(500))),
            (Post, status(500), 1, ms(0), Stop),
            (Post, status(502), 1, ms(0), Stop),
            (Post, status(504), 1, ms(0), Stop),
            (Post, status(408), 1, ms(0), Stop),
            // transport: a refused connection is safe for all; after sending only idempotent
            (
                Post,
                Outcome::Transport(TransportStage::Connect),
                1,
                ms(0),
                RetryAfter(ms(500)),
            ),
            (
                Get,
                Outcome::Transport(TransportStage::AfterSend),
                1,
                ms(0),
                RetryAfter(ms(500)),
            ),
            (
                Put,
                Outcome::Transport(TransportStage::Timeout),
                2,
                ms(0),
                RetryAfter(S),
            ),
            (
                Post,
                Outcome::Transport(TransportStage::AfterSend),
                1,
                ms(0),
                Stop,
            ),
            (
                Post,
                Outcome::Transport(TransportStage::Timeout),
                1,
                ms(0),
                Stop,
            ),
            // limits: attempts and total time
            (Get, status(500), 5, ms(0), Stop),
            (Get, status(500), 4, ms(0), RetryAfter(4 * S)),
            (Get, status(500), 1, 120 * S, Stop),
            (Get, after(429, 30), 1, 100 * S, Stop),
        ];
        for (i, (method, outcome, attempt, elapsed, expected)) in rows.into_iter().enumerate() {
            assert_eq!(
                p.classify(method, outcome, attempt, elapsed),
                expected,
                "row {i}: {method} {outcome:?} attempt {attempt} after {elapsed:?}"
            );
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p =
            RetryPolicy::default().with_backoff(Duration::from_secs(1), Duration::from_secs(10));
        let got: Vec<u64> = (1..=6).map(|a| p.backoff(a).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 10, 10]);
        assert_eq!(p.backoff(1000), Duration::from_secs(10));
    }

    #[test]
    fn none_policy_never_retries() {
        let p = RetryPolicy::none();
        assert_eq!(
            p.classify(Get, status(503), 1, Duration::ZERO),
            Decision::Stop
        );
    }

    #[test]
    fn jitter_stays_within_half_to_full() {
        let d = Duration::from_secs(10);
        assert_eq!(jitter(d, 0.0), Duration::from_secs(5));
        assert_eq!(jitter(d, 1.0), d);
        let mid = jitter(d, 0.5);
        assert!(mid > Duration::from_secs(5) && mid < d);
    }
}
