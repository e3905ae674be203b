//! Per-administration rate limits: sliding minute and hour windows and a concurrency cap.

use crate::config::RateLimitConfig;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct Windows {
    minute: VecDeque<Instant>,
    hour: VecDeque<Instant>,
}

/// The limiter state of one administration.
#[derive(Debug, Default)]
pub(crate) struct AdminLimiter {
    windows: Mutex<Windows>,
    in_flight: Arc<AtomicU32>,
}

/// Held while a call is in flight; releases its concurrency slot on drop.
#[derive(Debug)]
pub(crate) struct Permit(Arc<AtomicU32>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl AdminLimiter {
    /// Admit a call, or return the seconds after which it may be retried.
    pub(crate) fn admit(&self, cfg: &RateLimitConfig, now: Instant) -> Result<Option<Permit>, u64> {
        let minute = Duration::from_millis(cfg.minute_window_ms);
        let hour = Duration::from_millis(cfg.hour_window_ms);
        if cfg.per_minute > 0 || cfg.per_hour > 0 {
            let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
            prune(&mut w.minute, now, minute);
            prune(&mut w.hour, now, hour);
            if cfg.per_minute > 0 && w.minute.len() >= cfg.per_minute as usize {
                return Err(retry_after(w.minute.front().copied(), now, minute));
            }
            if cfg.per_hour > 0 && w.hour.len() >= cfg.per_hour as usize {
                return Err(retry_after(w.hour.front().copied(), now, hour));
            }
            if cfg.per_minute > 0 {
                w.minute.push_back(now);
            }
            if cfg.per_hour > 0 {
                w.hour.push_back(now);
            }
        }
        if cfg.concurrent > 0 {
            let prev = self.in_flight.fetch_add(1, Ordering::SeqCst);
            if prev >= cfg.concurrent {
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                return Err(1);
            }
            return Ok(Some(Permit(self.in_flight.clone())));
        }
        Ok(None)
    }

    pub(crate) fn reset(&self) {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        w.minute.clear();
        w.hour.clear();
    }
}

fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
        q.pop_front();
    }
}

/// Whole seconds until the oldest call leaves the window (at least 1).
fn retry_after(oldest: Option<Instant>, now: Instant, window: Duration) -> u64 {
    let wait = oldest
        .map(|t| (t + window).saturating_duration_since(now))
        .unwrap_or(window);
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.as_secs() == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_minute_window() {
        let cfg = RateLimitConfig {
            per_minute: 2,
            ..RateLimitConfig::default()
        };
        let l = AdminLimiter::default();
        let t0 = Instant::now();
        assert!(l.admit(&cfg, t0).is_ok());
        assert!(l.admit(&cfg, t0 + Duration::from_secs(10)).is_ok());
        assert_eq!(l.admit(&cfg, t0 + Duration::from_secs(20)).unwrap_err(), 40);
        // The first call leaves the window after 60 s.
        assert!(l.admit(&cfg, t0 + Duration::from_secs(60)).is_ok());
        assert!(l.admit(&cfg, t0 + Duration::from_secs(61)).is_err());
    }

    #[test]
    fn concurrency_cap() {
        let cfg = RateLimitConfig {
            concurrent: 1,
            ..RateLimitConfig::default()
        };
        let l = AdminLimiter::default();
        let p = l.admit(&cfg, Instant::now()).unwrap();
        assert_eq!(l.admit(&cfg, Instant::now()).unwrap_err(), 1);
        drop(p);
        assert!(l.admit(&cfg, Instant::now()).is_ok());
    }
}
