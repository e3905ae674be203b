//! The client-side rate budget of one administration.
//!
//! SnelStart limits calls **per administration** (the one a koppelsleutel opens): per minute,
//! per hour and concurrently (API.md §4: test key 100 / 1,000 / 5; maatwerk and productie
//! 500 / 5,000 / 50). A client that keeps to its [`RateBudget`] never sees a 429.
//!
//! ## Why a sliding-window log and not a token bucket
//!
//! The gateway counts calls in a window. A token bucket (GCRA, as in `governor`) with a burst of
//! N and a refill of N per minute lets close to 2N calls into one sliding minute (a full burst,
//! then the refill), so it would be throttled; with a burst of 1 it never bursts at all. A log
//! of the last N grant times answers the question the gateway asks ("were there fewer than N
//! calls in the last window?") exactly, allows bursts up to N, and costs N timestamps of
//! memory. Each window is lengthened by a small safety margin (2 %) so that varying network
//! latency cannot push N+1 arrivals into one server-side window. It runs on tokio's clock, so
//! tests drive it with paused time.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Limits for one administration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BudgetConfig {
    /// Calls allowed in any window of [`BudgetConfig::minute_window`] (0 = unlimited).
    pub per_minute: u32,
    /// Calls allowed in any window of [`BudgetConfig::hour_window`] (0 = unlimited).
    pub per_hour: u32,
    /// Requests in flight at once (0 = unlimited).
    pub concurrent: u32,
    /// The length of the "minute" window; 60 s against SnelStart. Shorter values let tests and
    /// benchmarks run a scaled-down budget against a simulator configured the same way.
    pub minute_window: Duration,
    /// The length of the "hour" window; 3,600 s against SnelStart.
    pub hour_window: Duration,
    /// Extra length added to each window, as a fraction in per mille (default 20 = 2 %).
    pub safety_margin_per_mille: u32,
}

impl BudgetConfig {
    /// The "Ontwikkeling & Test" key: 100 per minute, 1,000 per hour, 5 concurrent.
    pub fn test_key() -> Self {
        BudgetConfig::custom(100, 1_000, 5)
    }

    /// The "Maatwerk" and "Productie" keys: 500 per minute, 5,000 per hour, 50 concurrent.
    pub fn production() -> Self {
        BudgetConfig::custom(500, 5_000, 50)
    }

    /// Any limits (0 means unlimited).
    pub fn custom(per_minute: u32, per_hour: u32, concurrent: u32) -> Self {
        BudgetConfig {
            per_minute,
            per_hour,
            concurrent,
            minute_window: Duration::from_secs(60),
            hour_window: Duration::from_secs(3_600),
            safety_margin_per_mille: 20,
        }
    }

    /// No limits at all (for simulators with limits off).
    pub fn unlimited() -> Self {
        BudgetConfig::custom(0, 0, 0)
    }

    /// Uses other window lengths (for a simulator running a scaled-down budget).
    pub fn with_windows(mut self, minute: Duration, hour: Duration) -> Self {
        self.minute_window = minute;
        self.hour_window = hour;
        self
    }

    /// Sets the safety margin in per mille of each window.
    pub fn with_safety_margin_per_mille(mut self, per_mille: u32) -> Self {
        self.safety_margin_per_mille = per_mille;
        self
    }
}

impl Default for BudgetConfig {
    /// The test-key budget: safe against every SnelStart product.
    fn default() -> Self {
        BudgetConfig::test_key()
    }
}

/// Grant times of the last `limit` calls.
#[derive(Debug)]
struct Window {
    limit: usize,
    length: Duration,
    grants: VecDeque<Instant>,
}

impl Window {
    fn new(limit: u32, length: Duration, margin_per_mille: u32) -> Option<Window> {
        (limit > 0).then(|| Window {
            limit: limit as usize,
            length: length + length * margin_per_mille / 1000,
            grants: VecDeque::with_capacity(limit as usize),
        })
    }

    fn prune(&mut self, now: Instant) {
        while let Some(&first) = self.grants.front() {
            if now.duration_since(first) >= self.length {
                self.grants.pop_front();
            } else {
                break;
            }
        }
    }

    /// When the next call may go, `None` meaning now.
    fn wait(&mut self, now: Instant) -> Option<Instant> {
        self.prune(now);
        (self.grants.len() >= self.limit).then(|| self.grants[0] + self.length)
    }

    fn used(&mut self, now: Instant) -> u32 {
        self.prune(now);
        self.grants.len() as u32
    }
}

#[derive(Debug)]
struct Windows {
    minute: Option<Window>,
    hour: Option<Window>,
    granted: u64,
    waited: Duration,
    /// Until when callers wait for room in a window (the latest wake time of a waiting call).
    waiting_until: Option<Instant>,
}

/// What the budget has been used for, for status reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BudgetUsage {
    /// Calls granted in the current minute window.
    pub last_minute: u32,
    /// Calls granted in the current hour window.
    pub last_hour: u32,
    /// Calls granted since the budget was created.
    pub total: u64,
    /// Time callers spent waiting for room, summed.
    pub total_wait: Duration,
    /// Requests in flight now.
    pub in_flight: u32,
    /// How long calls still wait for room in the minute or hour window, when they do.
    pub waiting_for_room: Option<Duration>,
}

/// The shared budget of one administration. Clone the `Arc` to share it between clients that
/// use the same koppelsleutel.
pub struct RateBudget {
    config: BudgetConfig,
    windows: Mutex<Windows>,
    concurrency: Option<Arc<Semaphore>>,
}

impl fmt::Debug for RateBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateBudget")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Permission to make one call; hold it until the response is read.
#[derive(Debug)]
pub struct BudgetPermit {
    _concurrency: Option<OwnedSemaphorePermit>,
}

impl RateBudget {
    /// A budget with these limits.
    pub fn new(config: BudgetConfig) -> Arc<RateBudget> {
        let margin = config.safety_margin_per_mille;
        Arc::new(RateBudget {
            windows: Mutex::new(Windows {
                minute: Window::new(config.per_minute, config.minute_window, margin),
                hour: Window::new(config.per_hour, config.hour_window, margin),
                granted: 0,
                waited: Duration::ZERO,
                waiting_until: None,
            }),
            concurrency: (config.concurrent > 0)
                .then(|| Arc::new(Semaphore::new(config.concurrent as usize))),
            config,
        })
    }

    /// The limits.
    pub fn config(&self) -> &BudgetConfig {
        &self.config
    }

    /// Waits until one more call fits in every window and a concurrency slot is free.
    pub async fn acquire(&self) -> BudgetPermit {
        let started = Instant::now();
        // The concurrency slot first: a call waiting for a slot must not hold a window grant.
        let concurrency = match &self.concurrency {
            Some(sem) => Some(
                Arc::clone(sem)
                    .acquire_owned()
                    .await
                    .expect("the budget semaphore is never closed"),
            ),
            None => None,
        };
        loop {
            let wake_at = {
                let mut guard = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
                let w = &mut *guard;
                let now = Instant::now();
                let minute = w.minute.as_mut().and_then(|win| win.wait(now));
                let hour = w.hour.as_mut().and_then(|win| win.wait(now));
                match minute.max(hour) {
                    None => {
                        for win in [w.minute.as_mut(), w.hour.as_mut()].into_iter().flatten() {
                            win.grants.push_back(now);
                        }
                        w.granted += 1;
                        w.waited += now.duration_since(started);
                        break;
                    }
                    Some(at) => {
                        // Say once per wait what the calls wait for and until when: a silent
                        // wait for the hour's budget looks like a hang.
                        if w.waiting_until.is_none_or(|until| at > until) {
                            let window = if hour >= minute { "hour" } else { "minute" };
                            if at.duration_since(now) >= Duration::from_secs(1) {
                                tracing::info!(
                                    window,
                                    wait_secs = at.duration_since(now).as_secs(),
                                    "the call budget is spent: calls wait for room in the window"
                                );
                            }
                            w.waiting_until = Some(at);
                        }
                        at
                    }
                }
            };
            tokio::time::sleep_until(wake_at).await;
        }
        BudgetPermit {
            _concurrency: concurrency,
        }
    }

    /// How long ago each call still counted by a window was granted, oldest first: the
    /// calls SnelStart is still counting. A host persists these (as wall-clock times) so a
    /// restarted process can [`seed`](Self::seed) its budget with them instead of starting
    /// with a full budget SnelStart has partly spent.
    pub fn spent(&self) -> Vec<Duration> {
        let mut guard = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let w = &mut *guard;
        let now = Instant::now();
        // The longer window holds every grant the shorter one does.
        let longest = match (w.hour.as_mut(), w.minute.as_mut()) {
            (Some(hour), _) => Some(hour),
            (None, minute) => minute,
        };
        let Some(win) = longest else {
            return Vec::new();
        };
        win.prune(now);
        win.grants
            .iter()
            .map(|at| now.duration_since(*at))
            .collect()
    }

    /// Counts calls made before this budget existed (by an earlier process, or another worker
    /// on the same koppelsleutel): each `age` is how long ago one call was made. Calls older
    /// than a window do not count in it; a window keeps at most its limit of calls (the most
    /// recent). Seeded calls do not add to [`BudgetUsage::total`], which counts this budget's
    /// own grants.
    pub fn seed(&self, ages: impl IntoIterator<Item = Duration>) {
        let mut guard = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let w = &mut *guard;
        let now = Instant::now();
        let times: Vec<Instant> = ages
            .into_iter()
            .filter_map(|age| now.checked_sub(age))
            .collect();
        for win in [w.minute.as_mut(), w.hour.as_mut()].into_iter().flatten() {
            let mut merged: Vec<Instant> = win
                .grants
                .iter()
                .copied()
                .chain(
                    times
                        .iter()
                        .copied()
                        .filter(|t| now.duration_since(*t) < win.length),
                )
                .collect();
            merged.sort_unstable();
            let excess = merged.len().saturating_sub(win.limit);
            win.grants = merged.into_iter().skip(excess).collect();
        }
    }

    /// Current use, for status reports.
    pub fn usage(&self) -> BudgetUsage {
        let mut w = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let in_flight = match &self.concurrency {
            Some(sem) => self.config.concurrent - sem.available_permits() as u32,
            None => 0,
        };
        BudgetUsage {
            last_minute: w.minute.as_mut().map_or(0, |win| win.used(now)),
            last_hour: w.hour.as_mut().map_or(0, |win| win.used(now)),
            total: w.granted,
            total_wait: w.waited,
            in_flight,
            waiting_for_room: w
                .waiting_until
                .filter(|&until| until > now)
                .map(|until| until - now),
        }
    }
}

/// A budget named in configuration (an environment variable, a config file) that does not
/// read; the message names the part that does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetParseError {
    message: String,
}

impl fmt::Display for BudgetParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; expected `test`, `production`, `unlimited` or limits such as \
             `per_minute=100,per_hour=1000,concurrent=5` (0 or a missing limit = unlimited)",
            self.message
        )
    }
}

impl std::error::Error for BudgetParseError {}

/// Reads a budget as a host names it in configuration: `test` ([`BudgetConfig::test_key`]),
/// `production` ([`BudgetConfig::production`]), `unlimited`, or explicit limits
/// `per_minute=N,per_hour=N,concurrent=N` in any order, where a limit left out (or 0) is
/// unlimited.
///
/// ```
/// use snelstart_client::budget::BudgetConfig;
/// let b: BudgetConfig = "per_minute=100,per_hour=1000,concurrent=5".parse().unwrap();
/// assert_eq!(b, BudgetConfig::test_key());
/// assert_eq!("unlimited".parse::<BudgetConfig>().unwrap(), BudgetConfig::unlimited());
/// assert!("per_hour=lots".parse::<BudgetConfig>().is_err());
/// ```
impl std::str::FromStr for BudgetConfig {
    type Err = BudgetParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |message: String| BudgetParseError { message };
        match text.trim().to_ascii_lowercase().as_str() {
            "test" | "test_key" => return Ok(BudgetConfig::test_key()),
            "production" => return Ok(BudgetConfig::production()),
            "unlimited" | "none" => return Ok(BudgetConfig::unlimited()),
            "" => return Err(err("the budget is empty".into())),
            _ => {}
        }
        let mut limits = [None::<u32>; 3];
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return Err(err(format!("`{part}` is not a name or a `limit=number`")));
            };
            let slot = match key.trim().to_ascii_lowercase().as_str() {
                "per_minute" => 0,
                "per_hour" => 1,
                "concurrent" => 2,
                other => return Err(err(format!("unknown limit `{other}`"))),
            };
            if limits[slot].is_some() {
                return Err(err(format!("`{}` is given twice", key.trim())));
            }
            let value = value.trim().parse::<u32>().map_err(|_| {
                err(format!(
                    "`{}` must be a whole number of calls, not `{}`",
                    key.trim(),
                    value.trim()
                ))
            })?;
            limits[slot] = Some(value);
        }
        let [per_minute, per_hour, concurrent] = limits.map(Option::unwrap_or_default);
        Ok(BudgetConfig::custom(per_minute, per_hour, concurrent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12: a restarted process starts with the calls SnelStart still counts.
    #[tokio::test(start_paused = true)]
    async fn seeded_calls_count_until_their_window_passes() {
        let config = BudgetConfig::custom(3, 5, 0);
        let first = RateBudget::new(config.clone());
        for _ in 0..2 {
            drop(first.acquire().await);
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        let spent = first.spent();
        assert_eq!(spent, vec![Duration::from_secs(10); 2]);

        let second = RateBudget::new(config.clone());
        second.seed(spent.iter().copied().chain([Duration::from_secs(7_200)]));
        let usage = second.usage();
        assert_eq!(
            usage.last_minute, 2,
            "two calls 10 s ago count in the minute"
        );
        assert_eq!(usage.last_hour, 2, "a call two hours ago counts nowhere");
        assert_eq!(usage.total, 0, "seeded calls are not this budget's grants");
        // One call left this minute; the next waits until the seeded ones are a minute old.
        let start = Instant::now();
        drop(second.acquire().await);
        assert_eq!(Instant::now(), start);
        drop(second.acquire().await);
        assert!(Instant::now() - start >= Duration::from_secs(50));
        // Seeding more than a window's limit keeps the most recent.
        let third = RateBudget::new(config);
        third.seed((1..=10).map(Duration::from_secs));
        assert_eq!(third.usage().last_minute, 3);
        assert_eq!(third.spent().len(), 5);
    }

    /// Counts grants in every sliding window of `len` over the recorded grant times.
    fn max_in_any_window(times: &[Instant], len: Duration) -> usize {
        times
            .iter()
            .enumerate()
            .map(|(i, &t)| times[i..].iter().take_while(|&&u| u - t < len).count())
            .max()
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_in_any_window() {
        let budget = RateBudget::new(BudgetConfig::custom(100, 1_000, 0));
        let mut times = Vec::new();
        for _ in 0..1_050 {
            let _permit = budget.acquire().await;
            times.push(Instant::now());
        }
        assert_eq!(max_in_any_window(&times, Duration::from_secs(60)), 100);
        assert_eq!(max_in_any_window(&times, Duration::from_secs(3_600)), 1_000);
        // A burst of 100 goes at once; the 101st waits a (margin-lengthened) minute.
        assert_eq!(times[99], times[0]);
        assert_eq!(times[100] - times[0], Duration::from_millis(61_200));
        // The 1,001st waits for the hour window.
        assert!(times[1_000] - times[0] >= Duration::from_secs(3_672));
        assert_eq!(budget.usage().total, 1_050);
    }

    #[tokio::test(start_paused = true)]
    async fn sustains_the_rate_over_time() {
        // 100 per (scaled) second: in 20 seconds about 2,000 grants, at least 95 % of the limit.
        let cfg = BudgetConfig::custom(100, 0, 0)
            .with_windows(Duration::from_secs(1), Duration::from_secs(3_600));
        let budget = RateBudget::new(cfg);
        let start = Instant::now();
        let mut n = 0u32;
        while Instant::now() - start < Duration::from_secs(20) {
            let _p = budget.acquire().await;
            n += 1;
        }
        assert!(n >= 1_900, "only {n} grants in 20 s");
        assert!(n <= 2_100, "{n} grants in 20 s");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_capped() {
        let budget = RateBudget::new(BudgetConfig::custom(0, 0, 5));
        let mut permits = Vec::new();
        for _ in 0..5 {
            permits.push(budget.acquire().await);
        }
        assert_eq!(budget.usage().in_flight, 5);
        let b = Arc::clone(&budget);
        let sixth = tokio::spawn(async move {
            let _p = b.acquire().await;
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!sixth.is_finished());
        permits.pop();
        sixth.await.unwrap();
        assert_eq!(budget.usage().in_flight, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_never_waits() {
        let budget = RateBudget::new(BudgetConfig::unlimited());
        let start = Instant::now();
        for _ in 0..10_000 {
            let _p = budget.acquire().await;
        }
        assert_eq!(Instant::now(), start);
    }

    /// Issue 12: a host (the quickstart's `SNELSTART_BUDGET`) names a budget in text; only
    /// `test` and `production` existed, so a run against another server could not lift or set
    /// the limits. A wrong text is refused naming the part, never taken for "unlimited".
    #[test]
    fn budgets_read_from_configuration() {
        let parse = |s: &str| s.parse::<BudgetConfig>();
        assert_eq!(parse("test").unwrap(), BudgetConfig::test_key());
        assert_eq!(parse(" Production ").unwrap(), BudgetConfig::production());
        assert_eq!(parse("unlimited").unwrap(), BudgetConfig::unlimited());
        assert_eq!(
            parse("concurrent=2, per_minute=30").unwrap(),
            BudgetConfig::custom(30, 0, 2)
        );
        for (text, names) in [
            ("per_minute=10,per_day=5", "per_day"),
            ("per_hour=-1", "per_hour"),
            ("per_minute=1,per_minute=2", "per_minute"),
            ("fast", "fast"),
            ("", "empty"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(names), "{text}: {e}");
        }
    }
}
