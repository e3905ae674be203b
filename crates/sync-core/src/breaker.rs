//! A circuit breaker in front of SnelStart.
//!
//! After `threshold` consecutive failures that say "SnelStart or the network is down"
//! (transport errors, 5xx, token endpoint unreachable) the breaker opens: the engine stops
//! claiming work, leaves everything queued, and tries again after a cool-down that doubles
//! with every further failure (capped). The first success closes it.

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
            failing_since: None,
            open_until: None,
            last_error: None,
            last_success: None,
        }
    }

    pub(crate) fn record_success(&mut self, now: DateTime<Utc>) {
        self.consecutive = 0;
        self.failing_since = None;
        self.open_until = None;
        self.last_success = Some(now);
    }

    pub(crate) fn record_failure(&mut self, now: DateTime<Utc>, error: String) {
        self.consecutive += 1;
        self.failing_since.get_or_insert(now);
        self.last_error = Some(error);
        if self.consecutive >= self.threshold {
            let exponent = (self.consecutive - self.threshold).min(16);
            let wait = self.base.saturating_mul(1 << exponent).min(self.max);
            self.open_until = Some(now + chrono::TimeDelta::from_std(wait).unwrap_or_default());
        }
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
        b.record_failure(s(7), "down".into());
        assert_eq!(b.open_until(s(7)), Some(s(17)));
        for _ in 0..10 {
            b.record_failure(s(100), "down".into());
        }
        assert_eq!(b.open_until(s(100)), Some(s(160)), "capped at 60 s");
        assert!(matches!(b.reachability(), Reachability::Unreachable { .. }));
        b.record_success(s(200));
        assert_eq!(b.open_until(s(200)), None);
        assert_eq!(b.reachability(), Reachability::Reachable { at: s(200) });
    }
}
