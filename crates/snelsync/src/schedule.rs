//! The calendar jobs of `snelsync serve`: the weekly status digest and the monthly reconcile.
//!
//! A job's time is written the way an office says it (`"mon 08:00"`, `"1 06:00"`) and read
//! in the configured time zone (Europe/Amsterdam by default), so a digest comes at eight in
//! the morning in winter and in summer. Each job remembers in the store when it last ran: a
//! service that was down at the appointed time runs the missed job once when it starts, and a
//! restart never runs a job twice for one appointment.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use snelsync_http::Service;
use sync_core::store::{StateKey, StateStore};
use sync_core::{MemorySource, NoSink};
use tokio::sync::watch;

use crate::config::Engine;
use crate::{CliError, Outcome};

/// How often a job runs and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Once a week, on `weekday` at `at` (local time).
    Weekly {
        /// The day.
        weekday: Weekday,
        /// The local time.
        at: NaiveTime,
    },
    /// Once a month, on day `day` at `at` (local time). Days 29 to 31 fall on the month's
    /// last day in shorter months.
    Monthly {
        /// Day of the month, 1 to 31.
        day: u32,
        /// The local time.
        at: NaiveTime,
    },
}

/// A cadence that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CadenceError(String);

impl fmt::Display for CadenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CadenceError {}

impl FromStr for Cadence {
    type Err = CadenceError;

    /// `"mon 08:00"` (a weekday in English or Dutch, three letters or in full) or `"1 06:00"`
    /// (a day of the month).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            CadenceError(format!(
                "{text:?}: {why} (write \"mon 08:00\" for a weekly job or \"1 06:00\" for a monthly one)"
            ))
        };
        let mut parts = text.split_whitespace();
        let (Some(day), Some(time), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected a day and a time"));
        };
        let at =
            NaiveTime::parse_from_str(time, "%H:%M").map_err(|_| bad("the time is not HH:MM"))?;
        if let Ok(day) = day.parse::<u32>() {
            if !(1..=31).contains(&day) {
                return Err(bad("the day of the month is not 1 to 31"));
            }
            return Ok(Cadence::Monthly { day, at });
        }
        let weekday =
            weekday(day).ok_or_else(|| bad("the day is neither a weekday nor 1 to 31"))?;
        Ok(Cadence::Weekly { weekday, at })
    }
}

fn weekday(name: &str) -> Option<Weekday> {
    let name = name.to_ascii_lowercase();
    let days = [
        (Weekday::Mon, ["mon", "monday", "ma", "maandag"]),
        (Weekday::Tue, ["tue", "tuesday", "di", "dinsdag"]),
        (Weekday::Wed, ["wed", "wednesday", "wo", "woensdag"]),
        (Weekday::Thu, ["thu", "thursday", "do", "donderdag"]),
        (Weekday::Fri, ["fri", "friday", "vr", "vrijdag"]),
        (Weekday::Sat, ["sat", "saturday", "za", "zaterdag"]),
        (Weekday::Sun, ["sun", "sunday", "zo", "zondag"]),
    ];
    days.iter()
        .find(|(_, names)| names.contains(&name.as_str()))
        .map(|(day, _)| *day)
}

impl Cadence {
    /// The latest appointment at or before `now`.
    pub fn last_at_or_before(&self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let today = now.with_timezone(&tz).date_naive();
        // Walk back over local days; a weekly job is found within 8 days, a monthly one
        // within 32 (the candidate day of this month or the one before).
        let mut date = today;
        for _ in 0..=62 {
            if self.falls_on(date) {
                let at = local(tz, date, self.time());
                if at <= now {
                    return at;
                }
            }
            match date.pred_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
        // Unreachable for real dates; a fixed point far back keeps the caller's arithmetic sane.
        DateTime::<Utc>::MIN_UTC
    }

    /// The first appointment strictly after `now`.
    pub fn next_after(&self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let mut date = now.with_timezone(&tz).date_naive();
        for _ in 0..=62 {
            if self.falls_on(date) {
                let at = local(tz, date, self.time());
                if at > now {
                    return at;
                }
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
        DateTime::<Utc>::MAX_UTC
    }

    fn time(&self) -> NaiveTime {
        match *self {
            Cadence::Weekly { at, .. } | Cadence::Monthly { at, .. } => at,
        }
    }

    fn falls_on(&self, date: NaiveDate) -> bool {
        match *self {
            Cadence::Weekly { weekday, .. } => date.weekday() == weekday,
            Cadence::Monthly { day, .. } => date.day() == day.min(last_day_of_month(date)),
        }
    }
}

impl fmt::Display for Cadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cadence::Weekly { weekday, at } => {
                write!(f, "every {weekday} at {}", at.format("%H:%M"))
            }
            Cadence::Monthly { day, at } => {
                write!(f, "every month on day {day} at {}", at.format("%H:%M"))
            }
        }
    }
}

fn last_day_of_month(date: NaiveDate) -> u32 {
    let (y, m) = (date.year(), date.month());
    let first_next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    first_next
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

/// A local date and time as an instant. In the autumn hour that happens twice the first one
/// counts; a time in the spring gap (02:30 on the last Sunday of March) moves an hour on.
fn local(tz: Tz, date: NaiveDate, at: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(at);
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => match tz.from_local_datetime(&(naive + Duration::hours(1))) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            LocalResult::None => Utc.from_utc_datetime(&naive),
        },
    }
}

/// Whether a job with this cadence is due at `now`, given when it last ran: an appointment
/// has passed since then. A job that never ran is due at once, so a new installation shows
/// its first digest (and proves its webhook) when it first starts.
pub fn is_due(
    cadence: &Cadence,
    tz: Tz,
    now: DateTime<Utc>,
    last_run: Option<DateTime<Utc>>,
) -> bool {
    let appointment = cadence.last_at_or_before(now, tz);
    match last_run {
        Some(last) => appointment > last,
        None => true,
    }
}

/// Where the digest is POSTed. The URL may carry a token, so it is never printed: messages
/// name the environment variable that holds it.
pub struct Webhook {
    var: String,
    url: reqwest::Url,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("var", &self.var)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// Checks the URL from environment variable `var`: https, or plain http only to this
    /// machine (a digest names customers and amounts).
    pub fn parse(var: &str, text: &str) -> Result<Webhook, String> {
        let url = reqwest::Url::parse(text)
            .map_err(|_| format!("the digest webhook in {var} is not a URL"))?;
        let host = url.host_str().unwrap_or_default();
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(format!(
                    "the digest webhook in {var} must be https (plain http only to this machine)"
                ));
            }
        }
        Ok(Webhook {
            var: var.to_owned(),
            url,
        })
    }
}

/// The weekly digest job.
#[derive(Debug)]
pub struct DigestJob {
    /// When.
    pub cadence: Cadence,
    /// Where the Markdown files go, if anywhere.
    pub dir: Option<PathBuf>,
    /// Where it is POSTed, if anywhere.
    pub webhook: Option<Webhook>,
}

/// The monthly reconcile job.
#[derive(Debug)]
pub struct ReconcileJob {
    /// When.
    pub cadence: Cadence,
    /// The CRM's full export.
    pub from: PathBuf,
}

/// The calendar jobs `serve` runs beside the processing loop.
#[derive(Debug)]
pub struct Jobs {
    /// The zone appointments are read in.
    pub tz: Tz,
    /// The weekly digest.
    pub digest: Option<DigestJob>,
    /// The monthly reconcile.
    pub reconcile: Option<ReconcileJob>,
}

const DIGEST_RUN: &StateKey = &StateKey::Host(Cow::Borrowed("schedule:digest:last_run"));
const RECONCILE_RUN: &StateKey = &StateKey::Host(Cow::Borrowed("schedule:reconcile:last_run"));
/// A job that failed (webhook down, export missing) is tried again this much later.
const RETRY: Duration = Duration::minutes(15);
/// The loop looks at the clock at least this often, so a changed system clock or a
/// suspended machine cannot make it sleep past an appointment for long.
const LONGEST_SLEEP: std::time::Duration = std::time::Duration::from_secs(3600);

type Svc = Service<sync_core::store::DynStore, MemorySource, NoSink>;

impl Jobs {
    /// Whether there is anything to run.
    pub fn is_empty(&self) -> bool {
        self.digest.is_none() && self.reconcile.is_none()
    }

    /// What runs when, for the log.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = &self.digest {
            parts.push(format!("digest {}", d.cadence));
        }
        if let Some(r) = &self.reconcile {
            parts.push(format!("reconcile {}", r.cadence));
        }
        format!("{} ({})", parts.join(", "), self.tz)
    }

    /// Runs the jobs as their appointments come, until `shutdown` turns true. A job that
    /// fails is logged and tried again after [`RETRY`]; it is recorded as run only when it
    /// succeeded, in every administration's state, so a restart neither repeats nor skips it.
    pub async fn run(self, service: Svc, mut shutdown: watch::Receiver<bool>) {
        let http = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "schedule: no HTTP client; digests are not sent");
                return;
            }
        };
        let mut digest = Appointment::new("weekly digest", DIGEST_RUN);
        let mut reconcile = Appointment::new("monthly reconcile", RECONCILE_RUN);
        loop {
            if *shutdown.borrow() {
                return;
            }
            let now = Utc::now();
            let mut wake = now + Duration::seconds(LONGEST_SLEEP.as_secs() as i64);
            if let Some(job) = &self.digest {
                let next = digest
                    .keep(&service, &job.cadence, self.tz, now, || {
                        run_digest(&service, job, &http, now)
                    })
                    .await;
                wake = wake.min(next);
            }
            if let Some(job) = &self.reconcile {
                let next = reconcile
                    .keep(&service, &job.cadence, self.tz, now, || {
                        run_reconcile(&service, job)
                    })
                    .await;
                wake = wake.min(next);
            }
            tracing::info!(until = %wake, "schedule: waiting");
            let sleep = (wake - Utc::now())
                .to_std()
                .unwrap_or_default()
                .min(LONGEST_SLEEP);
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// One job's bookkeeping: where its last run is recorded, whether a failed run waits for its
/// retry. The cadence stays with the job's configuration.
struct Appointment {
    what: &'static str,
    last_run: &'static StateKey,
    retry_at: Option<DateTime<Utc>>,
}

impl Appointment {
    fn new(what: &'static str, last_run: &'static StateKey) -> Self {
        Appointment {
            what,
            last_run,
            retry_at: None,
        }
    }

    /// Runs `job` when an appointment has passed since its last run (and a failed run's retry
    /// time has come), records a successful run, and says when to look again.
    async fn keep<F, Fut>(
        &mut self,
        service: &Svc,
        cadence: &Cadence,
        tz: Tz,
        now: DateTime<Utc>,
        job: F,
    ) -> DateTime<Utc>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(), CliError>>,
    {
        if self.retry_at.is_none_or(|t| t <= now)
            && job_due(service, cadence, tz, now, self.last_run).await
        {
            match job().await {
                Ok(()) => {
                    mark_run(service, self.last_run, now).await;
                    self.retry_at = None;
                }
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "schedule: the {} failed; trying again in 15 minutes",
                        self.what
                    );
                    self.retry_at = Some(now + RETRY);
                }
            }
        }
        self.retry_at
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
            .min(cadence.next_after(now, tz))
    }
}

/// Due when any administration has not run it since its last appointment (one added later
/// gets its first digest at once, as a new installation does).
async fn job_due(
    service: &Svc,
    cadence: &Cadence,
    tz: Tz,
    now: DateTime<Utc>,
    key: &StateKey,
) -> bool {
    for engine in configured(service) {
        let admin = engine.admin();
        let last = match engine.store().state(admin, key).await {
            Ok(v) => v
                .and_then(|t: String| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc)),
            Err(e) => {
                // Without the record the job might run twice; better to wait for the store.
                tracing::warn!(admin = %admin, error = %e, "schedule: store unreadable; job postponed");
                return false;
            }
        };
        if is_due(cadence, tz, now, last) {
            return true;
        }
    }
    false
}

async fn mark_run(service: &Svc, key: &StateKey, at: DateTime<Utc>) {
    for engine in configured(service) {
        if let Err(e) = snelsync_http::put_state(&engine, key, &at.to_rfc3339()).await {
            tracing::warn!(admin = %engine.admin(), error = %e, "schedule: could not record the run");
        }
    }
}

/// The configured administrations (`[[administration]]`): they keep the calendar, and the
/// monthly reconcile compares them with the CRM export of `reconcile_from`. The onboarded
/// ones are in the digest, but that export is not theirs.
fn configured(service: &Svc) -> Vec<Engine> {
    service
        .admins()
        .iter()
        .filter(|a| !service.is_attached(a.as_str()))
        .filter_map(|a| service.engine(a.as_str()))
        .collect()
}

/// Every administration the service serves, onboarded ones included.
fn all_engines(service: &Svc) -> Vec<Engine> {
    service
        .admins()
        .iter()
        .filter_map(|a| service.engine(a.as_str()))
        .collect()
}

async fn run_digest(
    service: &Svc,
    job: &DigestJob,
    http: &reqwest::Client,
    now: DateTime<Utc>,
) -> Result<(), CliError> {
    let engines = all_engines(service);
    let (text, outcome) = crate::commands::digest_text(&engines.iter().collect::<Vec<_>>()).await?;
    if let Some(dir) = &job.dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::Failed(format!("{}: {e}", dir.display())))?;
        let path = dir.join(format!("digest-{}.md", now.format("%Y-%m-%d")));
        std::fs::write(&path, &text)
            .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
        tracing::info!(file = %path.display(), "schedule: weekly digest written");
    }
    if let Some(hook) = &job.webhook {
        let body = serde_json::json!({
            "text": text,
            "attention": outcome == Outcome::Attention,
            "generated_at": now.to_rfc3339(),
        });
        let answer = http
            .post(hook.url.clone())
            .json(&body)
            .send()
            .await
            // reqwest's error names the URL; say which variable instead.
            .map_err(|e| {
                CliError::Failed(format!(
                    "the digest webhook ({}) did not answer: {}",
                    hook.var,
                    e.without_url()
                ))
            })?;
        if !answer.status().is_success() {
            return Err(CliError::Failed(format!(
                "the digest webhook ({}) answered {}",
                hook.var,
                answer.status()
            )));
        }
        tracing::info!(webhook = %hook.var, "schedule: weekly digest sent");
    }
    Ok(())
}

async fn run_reconcile(service: &Svc, job: &ReconcileJob) -> Result<(), CliError> {
    let export = crate::commands::read_export_file(&job.from)?;
    let engines = configured(service);
    let reports =
        crate::commands::reconcile_engines(&engines.iter().collect::<Vec<_>>(), &export).await?;
    for report in &reports {
        tracing::info!(
            clean = report.is_clean(),
            "schedule: monthly reconcile done"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    const AMS: Tz = chrono_tz::Europe::Amsterdam;

    #[test]
    fn reads_weekly_and_monthly_in_english_and_dutch() {
        let at = NaiveTime::from_hms_opt(8, 0, 0).unwrap();
        assert_eq!(
            "mon 08:00".parse::<Cadence>().unwrap(),
            Cadence::Weekly {
                weekday: Weekday::Mon,
                at
            }
        );
        assert_eq!(
            "Maandag 08:00".parse::<Cadence>().unwrap(),
            Cadence::Weekly {
                weekday: Weekday::Mon,
                at
            }
        );
        assert_eq!(
            "31 08:00".parse::<Cadence>().unwrap(),
            Cadence::Monthly { day: 31, at }
        );
        for bad in [
            "",
            "mon",
            "mon 8h",
            "0 08:00",
            "32 08:00",
            "funday 08:00",
            "mon 08:00 x",
            "mon 25:00",
        ] {
            let err = bad.parse::<Cadence>().unwrap_err().to_string();
            assert!(err.contains("mon 08:00"), "{bad}: {err}");
        }
    }

    /// Checks `(now, expected)` pairs of `next_after` (or of `last_at_or_before` when `last`).
    fn expect(cadence: &str, last: bool, cases: &[(&str, &str)]) {
        let c: Cadence = cadence.parse().unwrap();
        for (now, want) in cases {
            let got = if last {
                c.last_at_or_before(utc(now), AMS)
            } else {
                c.next_after(utc(now), AMS)
            };
            assert_eq!(got, utc(want), "{cadence} from {now}");
        }
    }

    #[test]
    fn a_weekly_job_keeps_local_time_across_summer_time() {
        // Winter: 08:00 in Amsterdam is 07:00 UTC; summer: 06:00 UTC. On the day itself,
        // before and at the hour.
        expect(
            "mon 08:00",
            false,
            &[
                ("2026-12-03T12:00:00Z", "2026-12-07T07:00:00Z"),
                ("2026-07-01T12:00:00Z", "2026-07-06T06:00:00Z"),
                ("2026-12-07T06:59:59Z", "2026-12-07T07:00:00Z"),
                ("2026-12-07T07:00:00Z", "2026-12-14T07:00:00Z"),
            ],
        );
        expect(
            "mon 08:00",
            true,
            &[
                ("2026-12-07T07:00:00Z", "2026-12-07T07:00:00Z"),
                ("2026-12-07T06:59:59Z", "2026-11-30T07:00:00Z"),
            ],
        );
    }

    #[test]
    fn times_in_the_summer_time_gap_and_overlap_happen_once() {
        // 2027-03-28 02:30 does not exist in Amsterdam: it moves to 03:30 CEST (01:30 UTC).
        // 2026-10-25 02:30 happens twice: the first (CEST, 00:30 UTC) counts, once.
        expect(
            "sun 02:30",
            false,
            &[
                ("2027-03-27T12:00:00Z", "2027-03-28T01:30:00Z"),
                ("2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"),
                ("2026-10-25T00:30:00Z", "2026-11-01T01:30:00Z"),
            ],
        );
    }

    #[test]
    fn a_monthly_job_on_the_31st_runs_on_the_last_day_of_short_months() {
        expect(
            "31 06:00",
            false,
            &[
                ("2027-02-01T00:00:00Z", "2027-02-28T05:00:00Z"),
                ("2028-02-01T00:00:00Z", "2028-02-29T05:00:00Z"),
                ("2027-04-01T00:00:00Z", "2027-04-30T04:00:00Z"),
                ("2026-12-31T05:00:00Z", "2027-01-31T05:00:00Z"),
            ],
        );
        expect(
            "1 06:00",
            true,
            &[("2026-12-03T12:00:00Z", "2026-12-01T05:00:00Z")],
        );
    }

    #[test]
    fn a_missed_appointment_is_due_once() {
        let c: Cadence = "mon 08:00".parse().unwrap();
        let last = utc("2026-11-30T07:00:05Z"); // ran last Monday
        assert!(!is_due(&c, AMS, utc("2026-12-03T12:00:00Z"), Some(last)));
        // Down on Monday 7 December; started on Tuesday: due.
        let tuesday = utc("2026-12-08T09:00:00Z");
        assert!(is_due(&c, AMS, tuesday, Some(last)));
        // Ran on Tuesday: not due again until the next Monday.
        assert!(!is_due(&c, AMS, utc("2026-12-10T09:00:00Z"), Some(tuesday)));
        assert!(is_due(&c, AMS, utc("2026-12-14T07:00:00Z"), Some(tuesday)));
        // Never ran: due.
        assert!(is_due(&c, AMS, tuesday, None));
    }
}
