//! The server clock: Dutch local wall-clock time, strictly increasing per server.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Europe::Amsterdam;
use std::sync::Mutex;
use std::time::Instant;

/// Hands out `modifiedOn` stamps. Two writes never get the same stamp, even within one
/// microsecond, because sync engines use `modifiedOn gt <last seen>` as their cursor and a tie
/// would hide a change.
#[derive(Debug)]
pub(crate) struct Clock {
    /// Fixed start (from the config) or the wall clock at start.
    base: DateTime<Utc>,
    started: Instant,
    last: Mutex<Option<NaiveDateTime>>,
}

impl Clock {
    pub(crate) fn new(fixed_start: Option<NaiveDateTime>) -> Self {
        let base = match fixed_start {
            // A fixed start is given as Dutch local time, like every timestamp the API shows.
            Some(local) => local
                .and_local_timezone(Amsterdam)
                .earliest()
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_else(|| local.and_utc()),
            None => Utc::now(),
        };
        Clock {
            base,
            started: Instant::now(),
            last: Mutex::new(None),
        }
    }

    /// Now as Dutch local time without offset (not necessarily unique).
    pub(crate) fn now_local(&self) -> NaiveDateTime {
        let elapsed = TimeDelta::from_std(self.started.elapsed()).unwrap_or_default();
        (self.base + elapsed)
            .with_timezone(&Amsterdam)
            .naive_local()
    }

    /// A strictly increasing stamp (microsecond resolution).
    pub(crate) fn tick(&self) -> NaiveDateTime {
        let now = self.now_local();
        let now = now.with_nanosecond_floor().unwrap_or(now);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let next = match *last {
            Some(prev) if now <= prev => prev + TimeDelta::microseconds(1),
            _ => now,
        };
        *last = Some(next);
        next
    }

    /// The last stamp handed out.
    pub(crate) fn last_stamp(&self) -> Option<NaiveDateTime> {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Make every later stamp come after `stamp` (after loading a saved state).
    pub(crate) fn continue_after(&self, stamp: NaiveDateTime) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none_or(|l| l < stamp) {
            *last = Some(stamp);
        }
    }

    /// Forget the last stamp (used by reset; monotonicity across a reset is not needed because
    /// a reset also removes every record that carried the old stamps).
    pub(crate) fn reset(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

trait MicroFloor: Sized {
    fn with_nanosecond_floor(self) -> Option<Self>;
}

impl MicroFloor for NaiveDateTime {
    fn with_nanosecond_floor(self) -> Option<Self> {
        use chrono::Timelike;
        self.with_nanosecond(self.nanosecond() / 1000 * 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_strictly_increase() {
        let clock = Clock::new(Some(
            NaiveDateTime::parse_from_str("2025-01-01T10:00:00", "%Y-%m-%dT%H:%M:%S").unwrap(),
        ));
        let mut prev = clock.tick();
        for _ in 0..10_000 {
            let t = clock.tick();
            assert!(t > prev);
            prev = t;
        }
    }

    #[test]
    fn fixed_start_is_dutch_local() {
        let start =
            NaiveDateTime::parse_from_str("2025-07-01T12:00:00", "%Y-%m-%dT%H:%M:%S").unwrap();
        let clock = Clock::new(Some(start));
        let t = clock.tick();
        assert!(t >= start && t < start + TimeDelta::seconds(5), "{t}");
    }
}
