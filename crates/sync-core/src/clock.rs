//! The engine's notion of "now".
//!
//! Stores take `now` as an argument; the engine derives it from tokio's clock anchored at a
//! wall-clock instant. In production the two advance together; in tests with a paused tokio
//! clock, backoff delays and store timestamps advance together too, so a test can wait out an
//! outage deterministically.

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// Wall-clock time that moves with tokio's clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    anchor_utc: DateTime<Utc>,
    anchor: Instant,
}

impl Clock {
    /// A clock starting at the current wall-clock time.
    pub fn system() -> Self {
        Clock::starting_at(Utc::now())
    }

    /// A clock starting at `at` (for deterministic tests).
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        Clock {
            anchor_utc: at,
            anchor: Instant::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = Instant::now().duration_since(self.anchor);
        self.anchor_utc + chrono::TimeDelta::from_std(elapsed).unwrap_or(chrono::TimeDelta::MAX)
    }

    /// The tokio instant corresponding to a wall-clock time (now when it is in the past).
    pub fn instant_at(&self, at: DateTime<Utc>) -> Instant {
        let now = self.now();
        match (at - now).to_std() {
            Ok(d) => Instant::now() + d,
            Err(_) => Instant::now(),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}
