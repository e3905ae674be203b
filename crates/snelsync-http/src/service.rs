//! The state the router serves: one [`SyncEngine`] per administration, the processing loop
//! that wakes the moment a change is queued, pause/resume, and the figures behind the status
//! page (budget per minute, intake counters).
//!
//! Two kinds of administration: those given to [`Service::open`], which the service's own
//! processing loop runs ([`Service::run_processing`]), and those [attached](Service::attach)
//! while it runs, which an [`AdminRunner`] outside the service processes (the `snelsync`
//! binary attaches the administrations coupled through onboarding and runs them with
//! `sync_core`'s fleet runner). The service takes changes for both, shows their status and
//! carries out their actions; for an attached one it hands waking and pausing to the runner.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sync_core::fleet::AdministrationStatus;
use sync_core::store::{AdminKey, StateKey, Store, StoreError};
use sync_core::{CrmSink, CrmSource, EngineError, ReconcileReport, SyncEngine};
use tokio::sync::{Notify, watch};

use crate::config::HttpConfig;

/// Cursor name under which the paused flag of an administration is kept.
const PAUSED_CURSOR: &StateKey = &StateKey::Host(std::borrow::Cow::Borrowed("paused"));
/// Cursor name under which the last reconcile's summary is kept.
const RECONCILE_CURSOR: &StateKey = &StateKey::Host(std::borrow::Cow::Borrowed("last_reconcile"));

/// How the processing loop behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessingOptions {
    /// When nothing woke the loop, it looks for items whose backoff ended this often.
    pub idle_poll: Duration,
    /// Read payment status back from SnelStart this often (`None`: never from the loop).
    pub read_back_every: Option<Duration>,
}

impl Default for ProcessingOptions {
    fn default() -> Self {
        ProcessingOptions {
            idle_poll: Duration::from_secs(5),
            read_back_every: Some(Duration::from_secs(15 * 60)),
        }
    }
}

impl ProcessingOptions {
    /// Sets [`ProcessingOptions::idle_poll`].
    pub fn with_idle_poll(mut self, every: Duration) -> Self {
        self.idle_poll = every;
        self
    }

    /// Sets [`ProcessingOptions::read_back_every`].
    pub fn with_read_back_every(mut self, every: Option<Duration>) -> Self {
        self.read_back_every = every;
        self
    }
}

/// Runs administrations the service does not process itself (see the [module docs](self)).
///
/// The service still takes their CRM changes into the store through its own engine, shows
/// their status and replays and resolves their records; waking, pausing and resuming go to
/// the runner, which keeps the paused state where it keeps its administrations.
pub trait AdminRunner: Send + Sync + 'static {
    /// Work was queued for `admin`: start on it now rather than at the next poll.
    fn wake(&self, admin: &AdminKey);

    /// Pauses (`true`) or resumes an administration; returns once a running piece of its work
    /// has finished.
    fn set_paused<'a>(
        &'a self,
        admin: &'a AdminKey,
        paused: bool,
    ) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>>;

    /// What the runner is doing with `admin` (`None`: this process does not hold it now).
    fn status(&self, admin: &AdminKey) -> Option<AdministrationStatus>;
}

/// An administration run by an [`AdminRunner`].
pub(crate) struct Attached {
    pub runner: Arc<dyn AdminRunner>,
    /// The coupling's ReferenceKey (a CRM may name the administration by it).
    pub reference_key: String,
}

/// One administration the service serves.
pub(crate) struct Administration<S, Src, Snk> {
    pub engine: SyncEngine<S, Src, Snk>,
    pub wake: Notify,
    pub paused: AtomicBool,
    pub budget: Mutex<BudgetHistory>,
    /// SnelStart relations shown as review candidates, cached so a page view costs no call.
    pub candidates: Mutex<HashMap<uuid::Uuid, (Instant, serde_json::Value)>>,
    /// `None`: the service's own processing loop runs it.
    pub attached: Option<Attached>,
}

impl<S, Src, Snk> Administration<S, Src, Snk> {
    fn new(engine: SyncEngine<S, Src, Snk>, paused: bool, attached: Option<Attached>) -> Self {
        Administration {
            engine,
            wake: Notify::new(),
            paused: AtomicBool::new(paused),
            budget: Mutex::new(BudgetHistory::default()),
            candidates: Mutex::new(HashMap::new()),
            attached,
        }
    }
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> Administration<S, Src, Snk> {
    /// Work was queued: the service's loop or the runner starts on it.
    pub(crate) fn wake(&self) {
        match &self.attached {
            Some(a) => a.runner.wake(self.engine.admin()),
            None => self.wake.notify_one(),
        }
    }
}

type AdminRef<S, Src, Snk> = Arc<Administration<S, Src, Snk>>;

/// SnelStart calls per minute over the last hour, sampled from the client's budget counter.
#[derive(Debug, Default)]
pub(crate) struct BudgetHistory {
    /// (minute since the epoch, the client's call total at the last sample in that minute).
    samples: VecDeque<(i64, u64)>,
}

impl BudgetHistory {
    pub fn record(&mut self, now: DateTime<Utc>, total: u64) {
        let minute = now.timestamp().div_euclid(60);
        match self.samples.back_mut() {
            Some((m, t)) if *m == minute => *t = total,
            _ => self.samples.push_back((minute, total)),
        }
        while self.samples.len() > 62 {
            self.samples.pop_front();
        }
    }

    /// Calls in each of the last 60 minutes, oldest first (the current minute last).
    pub fn per_minute(&self, now: DateTime<Utc>) -> Vec<u64> {
        let current = now.timestamp().div_euclid(60);
        let mut out = Vec::with_capacity(60);
        // The total at the end of each minute, carried forward over minutes without a sample.
        let total_at = |minute: i64| -> Option<u64> {
            self.samples
                .iter()
                .rev()
                .find(|(m, _)| *m <= minute)
                .map(|(_, t)| *t)
        };
        for minute in current - 59..=current {
            let calls = match (total_at(minute), total_at(minute - 1)) {
                (Some(end), Some(start)) => end.saturating_sub(start),
                // The first sample: everything before it counts in its minute.
                (Some(end), None) if self.samples.front().is_some_and(|(m, _)| *m == minute) => end,
                _ => 0,
            };
            out.push(calls);
        }
        out
    }
}

/// Counters the `/metrics` endpoint shows.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub intake_accepted: AtomicU64,
    pub intake_refused_records: AtomicU64,
    pub intake_rejected_requests: AtomicU64,
    pub process_errors: AtomicU64,
}

/// What the last reconcile found, as kept in the store for the status page.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ReconcileSummary {
    /// When it ran.
    pub at: DateTime<Utc>,
    /// True when both sides agreed.
    pub clean: bool,
    /// What was compared (counts per kind, as the engine reports them).
    pub checked: serde_json::Value,
    /// Differences found: (label, record, detail), the first 200.
    pub differences: Vec<(String, String, String)>,
    /// How many differences there were in all.
    pub difference_count: usize,
}

impl ReconcileSummary {
    /// The summary of a report.
    pub fn of(report: &ReconcileReport) -> Self {
        ReconcileSummary {
            at: report.at,
            clean: report.is_clean(),
            checked: serde_json::to_value(report.checked).unwrap_or_default(),
            differences: report
                .differences
                .iter()
                .take(200)
                .map(|d| (d.label().to_owned(), d.record(), d.detail()))
                .collect(),
            difference_count: report.differences.len(),
        }
    }
}

/// Keeps a reconcile's summary in the engine's store, where the status page reads it.
///
/// # Errors
///
/// [`EngineError::Store`].
pub async fn record_reconcile<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    report: &ReconcileReport,
) -> Result<(), EngineError> {
    let text = serde_json::to_string(&ReconcileSummary::of(report)).unwrap_or_default();
    put_cursor(engine, RECONCILE_CURSOR, &text).await
}

/// The last reconcile's summary, if one was recorded.
///
/// # Errors
///
/// [`EngineError::Store`].
pub async fn last_reconcile<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
) -> Result<Option<ReconcileSummary>, EngineError> {
    let text = engine
        .store()
        .state(engine.admin(), RECONCILE_CURSOR)
        .await
        .map_err(EngineError::from)?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// Sets a host value of the administration's state whatever it held (for example when a
/// scheduled job last ran). Compare-and-swap against the value just read, retried when
/// another writer came between.
///
/// # Errors
///
/// [`EngineError::Store`] when the store fails or other writers keep winning.
pub async fn put_state<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    name: &StateKey,
    value: &str,
) -> Result<(), EngineError> {
    put_cursor(engine, name, value).await
}

/// Sets a cursor whatever it held (compare-and-swap against the value just read, retried when
/// another writer came between).
pub(crate) async fn put_cursor<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    name: &StateKey,
    value: &str,
) -> Result<(), EngineError> {
    let store = engine.store();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = store
            .state(engine.admin(), name)
            .await
            .map_err(EngineError::from)?;
        match store
            .put_state(
                engine.admin(),
                name,
                current.as_deref(),
                value,
                chrono::Utc::now(),
            )
            .await
        {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= 5 => return Err(EngineError::from(e)),
            Err(_) => {}
        }
    }
}

/// The service: administrations, their engines and the processing loop. Cheap to clone.
///
/// Build it with [`Service::open`], mount [`crate::router`] and run
/// [`Service::run_processing`] beside it.
pub struct Service<S, Src, Snk> {
    pub(crate) inner: Arc<Inner<S, Src, Snk>>,
}

impl<S, Src, Snk> Clone for Service<S, Src, Snk> {
    fn clone(&self) -> Self {
        Service {
            inner: Arc::clone(&self.inner),
        }
    }
}

pub(crate) struct Inner<S, Src, Snk> {
    /// By key; attached administrations come and go while the service runs.
    pub admins: RwLock<BTreeMap<String, AdminRef<S, Src, Snk>>>,
    pub config: HttpConfig,
    pub counters: Counters,
    /// Logged-in browser sessions (random ids; the cookie holds one).
    pub sessions: Mutex<HashSet<String>>,
    pub options: ProcessingOptions,
}

impl<S, Src, Snk> std::fmt::Debug for Service<S, Src, Snk> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("admins", &self.inner.keys())
            .field("config", &self.inner.config)
            .finish()
    }
}

impl<S, Src, Snk> Inner<S, Src, Snk> {
    /// One administration (a handle: the lock is not held while it is used).
    pub(crate) fn admin(&self, key: &str) -> Option<AdminRef<S, Src, Snk>> {
        self.admins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Every administration, by key.
    pub(crate) fn all(&self) -> Vec<AdminRef<S, Src, Snk>> {
        self.admins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    fn keys(&self) -> Vec<String> {
        self.admins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> Inner<S, Src, Snk> {
    /// The attached administration a CRM names by its key or, failing that, by its coupling's
    /// ReferenceKey. `Err` lists the administrations when the ReferenceKey names several.
    pub(crate) fn attached_by_name(
        &self,
        name: &str,
    ) -> Result<Option<AdminRef<S, Src, Snk>>, Vec<String>> {
        let admins = self.admins.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(a) = admins.get(name).filter(|a| a.attached.is_some()) {
            return Ok(Some(Arc::clone(a)));
        }
        let mut found: Vec<&AdminRef<S, Src, Snk>> = admins
            .values()
            .filter(|a| a.attached.as_ref().is_some_and(|t| t.reference_key == name))
            .collect();
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop().cloned()),
            _ => Err(found
                .iter()
                .map(|a| a.engine.admin().as_str().to_owned())
                .collect()),
        }
    }
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> Service<S, Src, Snk> {
    /// A service over these engines (one per administration), reading each one's paused flag
    /// from its store.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] when a store cannot be read.
    pub async fn open(
        engines: impl IntoIterator<Item = SyncEngine<S, Src, Snk>>,
        config: HttpConfig,
        options: ProcessingOptions,
    ) -> Result<Self, EngineError> {
        let mut admins = BTreeMap::new();
        for engine in engines {
            let paused = engine
                .store()
                .state(engine.admin(), PAUSED_CURSOR)
                .await
                .map_err(EngineError::from)?
                .as_deref()
                == Some("paused");
            admins.insert(
                engine.admin().as_str().to_owned(),
                Arc::new(Administration::new(engine, paused, None)),
            );
        }
        Ok(Service {
            inner: Arc::new(Inner {
                admins: RwLock::new(admins),
                config,
                counters: Counters::default(),
                sessions: Mutex::new(HashSet::new()),
                options,
            }),
        })
    }

    /// The engine of an administration.
    pub fn engine(&self, admin: &str) -> Option<SyncEngine<S, Src, Snk>> {
        self.inner.admin(admin).map(|a| a.engine.clone())
    }

    /// The administrations, by key.
    pub fn admins(&self) -> Vec<AdminKey> {
        self.inner
            .all()
            .into_iter()
            .map(|a| a.engine.admin().clone())
            .collect()
    }

    /// Whether an administration is run by an [`AdminRunner`] (attached) rather than by the
    /// service's own loop.
    pub fn is_attached(&self, admin: &str) -> bool {
        self.inner
            .admin(admin)
            .is_some_and(|a| a.attached.is_some())
    }

    /// Adds (or replaces: a new key makes a new engine) an administration that `runner`
    /// processes. `engine` is the service's own for it: it takes the administration's CRM
    /// changes into the store and serves its status and actions. `reference_key` is the
    /// coupling's ReferenceKey, by which a CRM may name it
    /// (`POST /crm/{crm}/admins/{reference_key}/changes`). `false` (nothing changed) when an
    /// administration given to [`Service::open`] has the same key.
    pub fn attach(
        &self,
        engine: SyncEngine<S, Src, Snk>,
        runner: Arc<dyn AdminRunner>,
        reference_key: impl Into<String>,
        paused: bool,
    ) -> bool {
        let key = engine.admin().as_str().to_owned();
        let attached = Attached {
            runner,
            reference_key: reference_key.into(),
        };
        let mut admins = self
            .inner
            .admins
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if admins.get(&key).is_some_and(|a| a.attached.is_none()) {
            return false;
        }
        let admin = Arc::new(Administration::new(engine, paused, Some(attached)));
        admins.insert(key, admin);
        true
    }

    /// Removes an attached administration (its coupling was deleted): its changes are refused
    /// and its status is gone from then on. `false` when it was not attached (an
    /// administration given to [`Service::open`] is never removed).
    pub fn detach(&self, admin: &str) -> bool {
        let mut admins = self
            .inner
            .admins
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if admins.get(admin).is_some_and(|a| a.attached.is_some()) {
            admins.remove(admin);
            return true;
        }
        false
    }

    /// Whether an administration is paused (its changes are queued but not sent).
    pub fn is_paused(&self, admin: &str) -> bool {
        self.inner
            .admin(admin)
            .is_some_and(|a| a.paused.load(Ordering::SeqCst))
    }

    /// Pauses or resumes an administration; kept in its store (an attached one: by its
    /// runner), so a restart keeps it. Resuming wakes the processing loop.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`]; an unknown administration does nothing.
    pub async fn set_paused(&self, admin: &str, paused: bool) -> Result<(), EngineError> {
        let Some(a) = self.inner.admin(admin) else {
            return Ok(());
        };
        if let Some(attached) = &a.attached {
            attached
                .runner
                .set_paused(a.engine.admin(), paused)
                .await
                .map_err(EngineError::from)?;
            a.paused.store(paused, Ordering::SeqCst);
            return Ok(());
        }
        put_cursor(
            &a.engine,
            PAUSED_CURSOR,
            if paused { "paused" } else { "running" },
        )
        .await?;
        a.paused.store(paused, Ordering::SeqCst);
        if !paused {
            a.wake.notify_one();
        }
        Ok(())
    }

    /// Wakes an administration's processing loop, or its runner (work was queued).
    pub fn wake(&self, admin: &str) {
        if let Some(a) = self.inner.admin(admin) {
            a.wake();
        }
    }

    pub(crate) fn sample_budget(&self, admin: &Administration<S, Src, Snk>) {
        let total = admin.engine.client().budget_usage().total;
        admin
            .budget
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(Utc::now(), total);
    }

    /// Runs the processing of every administration given to [`Service::open`] (attached ones
    /// are their runner's) until `shutdown` turns true: each loop
    /// processes what is due, then sleeps until a change is queued ([`Service::wake`], which
    /// the intake calls), [`ProcessingOptions::idle_poll`] passes (backoffs ending), or the
    /// read-back is due. On shutdown a loop finishes the batch in hand (its items complete or
    /// are rescheduled by the engine) and returns; nothing is abandoned mid-write.
    pub async fn run_processing(&self, shutdown: watch::Receiver<bool>) {
        let mut loops = tokio::task::JoinSet::new();
        for admin in self.inner.all() {
            if admin.attached.is_some() {
                continue;
            }
            let service = self.clone();
            let key = admin.engine.admin().as_str().to_owned();
            let shutdown = shutdown.clone();
            loops.spawn(async move { service.process_loop(&key, shutdown).await });
        }
        while loops.join_next().await.is_some() {}
    }

    async fn process_loop(&self, key: &str, mut shutdown: watch::Receiver<bool>) {
        let Some(admin) = self.inner.admin(key) else {
            return;
        };
        let admin = &*admin;
        let mut last_read_back = Instant::now();
        loop {
            if *shutdown.borrow() {
                return;
            }
            let mut busy = false;
            if !admin.paused.load(Ordering::SeqCst) {
                match admin.engine.process().await {
                    Ok(report) => {
                        busy = report
                            .actions
                            .values()
                            .flat_map(|m| m.values())
                            .sum::<u64>()
                            > 0;
                    }
                    Err(e) => {
                        self.inner
                            .counters
                            .process_errors
                            .fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(admin = key, error = %e, "processing failed; retrying after the idle poll");
                    }
                }
                if let Some(every) = self.inner.options.read_back_every
                    && last_read_back.elapsed() >= every
                {
                    last_read_back = Instant::now();
                    if let Err(e) = admin.engine.read_back().await {
                        tracing::warn!(admin = key, error = %e, "read-back failed");
                    }
                }
            }
            self.sample_budget(admin);
            if busy {
                // More may be due right away; a shutdown is still seen at the top.
                continue;
            }
            tokio::select! {
                () = admin.wake.notified() => {}
                () = tokio::time::sleep(self.inner.options.idle_poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn budget_history_counts_calls_per_minute() {
        let mut h = BudgetHistory::default();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 10).unwrap();
        h.record(t0, 5);
        h.record(t0 + chrono::TimeDelta::seconds(30), 9);
        h.record(t0 + chrono::TimeDelta::minutes(2), 12);
        let per = h.per_minute(t0 + chrono::TimeDelta::minutes(2));
        assert_eq!(per.len(), 60);
        assert_eq!(&per[57..], &[9, 0, 3]);
        assert_eq!(per.iter().sum::<u64>(), 12);
    }
}
