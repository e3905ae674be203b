//! A circuit breaker in front of SnelStart.
//!
//! After `threshold` consecutive failures that say "SnelStart or the network is down"
//! (transport errors, 5xx, token endpoint unreachable) the breaker opens: the engine stops
//! claiming work, leaves everything queued, and tries again after a cool-down. When the
//! cool-down is over the breaker is *half open*: the engine sends one item as a probe. A
//! failed probe opens it again for twice as long (capped); the first success closes it.
//!
//! The cool-down doubles per failed *probe round*, not per failed call: a batch of 50 calls
//! that were in flight when SnelStart went down counts once. (Counting every call drove a
//! 10-second outage to the 5-minute maximum.)

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Whether SnelStart answered lately.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reachability {
    /// No call was made yet.
    Unknown,
    /// The last call got an answer.
    Reachable {
        /// When.
        at: DateTime<Utc>,
    },
    /// Calls are failing; the engine waits before trying again.
    Unreachable {
        /// Since when.
        since: DateTime<Utc>,
        /// The next attempt is not before this.
        retry_at: DateTime<Utc>,
        /// The last failure.
        last_error: String,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Breaker {
    threshold: u32,
    base: Duration,
    max: Duration,
    consecutive: u32,
    /// Times the breaker opened since the last success: the exponent of the cool-down.
    rounds: u32,
    failing_since: Option<DateTime<Utc>>,
    open_until: Option<DateTime<Utc>>,
    last_error: Option<String>,
    last_success: Option<DateTime<Utc>>,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, base: Duration, max: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            base,
            max,
            consecutive: 0,
            rounds: 0,
            failing_since: None,
            open_until: None,
            last_error: None,
            last_success: None,
        }
    }

    pub(crate) fn record_success(&mut self, now: DateTime<Utc>) {
        self.consecutive = 0;
        self.rounds = 0;
        self.failing_since = None;
        self.open_until = None;
        self.last_success = Some(now);
    }

    pub(crate) fn record_failure(&mut self, now: DateTime<Utc>, error: String) {
        self.consecutive += 1;
        self.failing_since.get_or_insert(now);
        self.last_error = Some(error);
        if self.consecutive < self.threshold || self.open_until(now).is_some() {
            // Below the threshold, or already open: a call that was in flight when SnelStart
            // went down says nothing new.
            return;
        }
        let exponent = self.rounds.min(16);
        self.rounds = self.rounds.saturating_add(1);
        let wait = self.base.saturating_mul(1 << exponent).min(self.max);
        self.open_until =
            now.checked_add_signed(chrono::TimeDelta::from_std(wait).unwrap_or_default());
    }

    /// True when the breaker opened and its cool-down is over: the next call is a probe.
    pub(crate) fn half_open(&self, now: DateTime<Utc>) -> bool {
        self.consecutive >= self.threshold && self.open_until(now).is_none()
    }

    /// When the breaker is open, until when.
    pub(crate) fn open_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.open_until.filter(|&t| t > now)
    }

    pub(crate) fn reachability(&self) -> Reachability {
        match (self.failing_since, self.last_success) {
            (Some(since), _) if self.consecutive >= self.threshold => Reachability::Unreachable {
                since,
                retry_at: self.open_until.unwrap_or(since),
                last_error: self.last_error.clone().unwrap_or_default(),
            },
            (_, Some(at)) => Reachability::Reachable { at },
            _ => Reachability::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_backs_off_and_closes_on_success() {
        let t0 = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let s = |n: i64| t0 + chrono::TimeDelta::seconds(n);
        let mut b = Breaker::new(3, Duration::from_secs(5), Duration::from_secs(60));
        b.record_failure(s(0), "down".into());
        b.record_failure(s(1), "down".into());
        assert_eq!(b.open_until(s(1)), None);
        b.record_failure(s(2), "down".into());
        assert_eq!(b.open_until(s(2)), Some(s(7)));
        for _ in 0..50 {
            // The rest of a batch that was in flight: no longer cool-down.
            b.record_failure(s(3), "down".into());
        }
        assert_eq!(b.open_until(s(3)), Some(s(7)), "one round, not 50");
        assert!(!b.half_open(s(6)));
        assert!(b.half_open(s(7)), "the cool-down is over: probe");
        b.record_failure(s(7), "down".into());
        assert_eq!(b.open_until(s(7)), Some(s(17)), "a failed probe doubles it");
        for n in 0..10 {
            let at = 100 + n * 100;
            b.record_failure(s(at), "down".into());
        }
        assert_eq!(b.open_until(s(1000)), Some(s(1060)), "capped at 60 s");
        assert!(matches!(b.reachability(), Reachability::Unreachable { .. }));
        b.record_success(s(200));
        assert_eq!(b.open_until(s(200)), None);
        assert_eq!(b.reachability(), Reachability::Reachable { at: s(200) });
    }
}
