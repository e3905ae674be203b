//! The sync engine: CRM changes reach SnelStart exactly once, in order, within the rate
//! budget, through outages and crashes, with a record of everything.
//!
//! ## The path of a change
//!
//! 1. **Queue.** A change arrives from the [`CrmSource`] ([`SyncEngine::ingest`]), from the
//!    host ([`SyncEngine::submit`], [`SyncEngine::submit_batch`]) or from an export file
//!    ([`SyncEngine::submit_export`], read record by record with
//!    [`crm_model::read::read_export`]) and becomes a durable work item. A newer change of the
//!    same record replaces a still-pending one (coalescing), and the source cursor only moves
//!    once the page is queued. A batch or export is a snapshot: the first occurrence of a
//!    record wins and later duplicates are refused naming `id` or `number`. Records that could
//!    not be read, duplicates and invoices on a relation of the other kind are queued as
//!    refusals ([`CrmChange::Refused`]): they fail without a call, are listed in
//!    [`SyncEngine::status`] with their field paths, and records depending on them fail
//!    naming them.
//! 2. **Claim.** [`SyncEngine::process`] claims items in batches under a lease and runs them
//!    concurrently, as far as the administration's budget allows. Two items of one record never
//!    run together or out of order (the store guarantees it).
//! 3. **Convert.** The `mapping` crate validates and converts the record; problems fail the
//!    item with every problem named, and the rest of the batch goes on.
//! 4. **Decide.** Unchanged payloads (same hash as last sent) make no call. Unlinked relations
//!    are matched against SnelStart's relations first: a match is linked, an ambiguous case
//!    waits for review, only a new one is created.
//! 5. **Write, exactly once.** Creates carry their natural key (relatiecode or an external
//!    reference in `memo`, kostenplaats nummer). When a create's outcome is uncertain (the
//!    response was lost) or a retry hits "already exists" (REL-0008, KPL-0008), the engine looks
//!    the record up by that key and links it instead of creating a second one. Updates read the
//!    current record, merge the mapped fields and write it back, so fields SnelStart owns stay
//!    intact.
//! 6. **Record.** Links, payload hashes and an audit entry per write go to the store; the
//!    [`CrmSink`] hears about links, reviews, failures (with the fields they name) and notices
//!    (what a mapping policy wrote that the CRM did not say literally).
//!
//! Rate limits reschedule an item after SnelStart's `Retry-After`; outages open a
//! [circuit breaker](Reachability) and leave work queued; a killed process's leases expire and
//! its items run again, resolving any uncertain create by natural key first.

pub(crate) mod backup;
mod bookings;
pub(crate) mod builder;
mod context;
mod create_once;
mod handler;
pub(crate) mod intake;
mod projects;
pub(crate) mod readback;
pub(crate) mod reconcile;
mod relations;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{FutureExt, StreamExt};
use mapping::config::MappingConfig;
use snelstart_client::Client;
use tracing::Instrument;

use crate::breaker::{Breaker, Reachability};
use crate::clock::Clock;
use crate::crm::{CrmChange, CrmSink, CrmSource, SinkEvent};
use crate::error::{EngineError, FailureKind, stored_from_client};
use crate::report::{Action, FailureEntry, PlanEntry, ReviewEntry, RunReport, StatusReport};
use crate::store::{
    AdminKey, EntityKind, ReplayFilter, StateArea, StateKey, Store, StoredError, WorkItem,
    WorkState, WorkSummary,
};

pub(crate) use context::RunContext;

/// Tuning of the engine. The defaults suit SnelStart's test key.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EngineOptions {
    /// Items claimed per batch.
    pub batch_size: usize,
    /// Items processed at once; `None` follows the client's concurrency budget (or 8 when the
    /// budget is unlimited).
    pub concurrency: Option<usize>,
    /// How long a claim lasts before another worker may take the item over (crash recovery).
    pub lease: Duration,
    /// Changes read from the CRM source per page.
    pub ingest_page: usize,
    /// First backoff after a transient failure; doubles per attempt.
    pub base_backoff: Duration,
    /// Largest backoff after transient failures (outages retry forever at this pace).
    pub max_backoff: Duration,
    /// Consecutive transient failures that open the circuit breaker.
    pub breaker_threshold: u32,
    /// First cool-down of an open breaker; doubles per further failure.
    pub breaker_base: Duration,
    /// Largest cool-down of an open breaker.
    pub breaker_max: Duration,
    /// At most this many failures and reviews are listed in the status report.
    pub status_limit: usize,
    /// How long finished work items (and with them the CRM payloads and attachments they
    /// carry) are kept; `None` keeps them forever. The engine prunes at most once an hour.
    pub retention: Option<Duration>,
    /// How far before its cursor a read-back re-reads SnelStart's invoices, because
    /// `modifiedOn` may be stamped slightly out of order (see [`SyncEngine::read_back`]).
    pub readback_overlap: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            batch_size: 50,
            concurrency: None,
            lease: Duration::from_secs(300),
            ingest_page: 500,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
            breaker_threshold: 3,
            breaker_base: Duration::from_secs(5),
            breaker_max: Duration::from_secs(300),
            status_limit: 1000,
            retention: Some(Duration::from_secs(30 * 24 * 3600)),
            readback_overlap: readback::READBACK_OVERLAP,
        }
    }
}

/// How a reviewer resolved a relation that waited for review.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReviewResolution {
    /// It is this existing SnelStart relation: link it.
    LinkTo(uuid::Uuid),
    /// It is a new relation: create it.
    CreateNew,
}

/// The sync engine for one administration.
///
/// Generic over the [`Store`] (SQLite by default, memory for tests), the [`CrmSource`] changes
/// come from and the [`CrmSink`] results go to. Cheap to clone.
pub struct SyncEngine<S, Src, Snk> {
    inner: Arc<Inner<S, Src, Snk>>,
}

impl<S, Src, Snk> Clone for SyncEngine<S, Src, Snk> {
    fn clone(&self) -> Self {
        SyncEngine {
            inner: Arc::clone(&self.inner),
        }
    }
}

pub(crate) struct Inner<S, Src, Snk> {
    pub(crate) client: Client,
    pub(crate) store: S,
    pub(crate) source: Src,
    pub(crate) sink: Snk,
    pub(crate) admin: AdminKey,
    pub(crate) config: Arc<MappingConfig>,
    pub(crate) config_version: Mutex<Option<u64>>,
    pub(crate) options: EngineOptions,
    pub(crate) clock: Clock,
    pub(crate) breaker: Mutex<Breaker>,
    /// Countries never change: read once per engine, not per run.
    pub(crate) landen:
        tokio::sync::OnceCell<std::collections::HashMap<String, snelstart_client::LandId>>,
    /// Serializes read-backs, so one engine never delivers an event twice concurrently.
    pub(crate) readback_lock: tokio::sync::Mutex<()>,
    /// Set once this engine has checked that its koppelsleutel opens the administration its
    /// [`AdminKey`] was bound to (see [`SyncEngine::ensure_bound`]).
    pub(crate) bound: tokio::sync::OnceCell<()>,
    /// When this engine last pruned finished work (see [`EngineOptions::retention`]).
    pub(crate) last_prune: Mutex<Option<DateTime<Utc>>>,
    /// What [`SyncEngine::run_until_idle`] sleeps for, while it does.
    pub(crate) waiting: Mutex<Option<crate::report::Waiting>>,
}

/// The result of handling one item.
#[derive(Debug)]
pub(crate) enum ItemResult {
    Done(Action),
    Review {
        reasons: Vec<String>,
        candidates: Vec<String>,
        detail: serde_json::Value,
    },
    Fail(StoredError),
    Retry {
        at: DateTime<Utc>,
        error: StoredError,
    },
}

const CURSOR_SOURCE: &StateKey = &StateKey::SourceCursor;
/// The `administratieIdentifier` the administration key is bound to.
const CURSOR_ADMINISTRATION: &StateKey = &StateKey::AdministrationBinding;

fn last_success_cursor(kind: EntityKind) -> StateKey {
    StateKey::LastSuccess(kind)
}

fn parked_cursor(kind: EntityKind, operation: &str, crm_id: &str) -> StateKey {
    StateKey::parked(kind, operation, crm_id)
}

pub(crate) fn review_cursor(kind: EntityKind, crm_id: &str) -> StateKey {
    StateKey::review_resolution(kind, crm_id)
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngine<S, Src, Snk> {
    /// An engine for administration `admin`.
    pub fn new(
        client: Client,
        store: S,
        source: Src,
        sink: Snk,
        admin: AdminKey,
        config: MappingConfig,
    ) -> Self {
        Self::with_options(
            client,
            store,
            source,
            sink,
            admin,
            config,
            EngineOptions::default(),
            Clock::system(),
        )
    }

    /// An engine with explicit options and clock.
    #[allow(clippy::too_many_arguments)]
    pub fn with_options(
        client: Client,
        store: S,
        source: Src,
        sink: Snk,
        admin: AdminKey,
        config: MappingConfig,
        options: EngineOptions,
        clock: Clock,
    ) -> Self {
        let breaker = Breaker::new(
            options.breaker_threshold,
            options.breaker_base,
            options.breaker_max,
        );
        SyncEngine {
            inner: Arc::new(Inner {
                client,
                store,
                source,
                sink,
                admin,
                config: Arc::new(config),
                config_version: Mutex::new(None),
                options,
                clock,
                breaker: Mutex::new(breaker),
                landen: tokio::sync::OnceCell::new(),
                readback_lock: tokio::sync::Mutex::new(()),
                bound: tokio::sync::OnceCell::new(),
                last_prune: Mutex::new(None),
                waiting: Mutex::new(None),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The SnelStart client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The administration.
    pub fn admin(&self) -> &AdminKey {
        &self.inner.admin
    }

    /// The mapping configuration in use.
    pub fn config(&self) -> &MappingConfig {
        &self.inner.config
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Country ISO code (upper case) → SnelStart land id, read on first use.
    pub(crate) async fn landen(
        &self,
    ) -> Result<&std::collections::HashMap<String, snelstart_client::LandId>, snelstart_client::Error>
    {
        self.inner
            .landen
            .get_or_try_init(|| async {
                let landen = self
                    .inner
                    .client
                    .execute(snelstart_client::ops::landen::list())
                    .await?;
                Ok(landen
                    .into_iter()
                    .filter_map(|l| Some((l.landcode_iso.clone()?.to_ascii_uppercase(), l.id)))
                    .collect())
            })
            .await
    }

    /// Records the mapping configuration as a version in the store (a new version only when it
    /// differs from the latest) and returns the version number.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn record_config(&self) -> Result<u64, EngineError> {
        let document = serde_json::to_value(&*self.inner.config).unwrap_or_default();
        let store = &self.inner.store;
        let latest = store.latest_config(&self.inner.admin).await?;
        let version = match latest {
            Some(v) if v.document == document => v.version,
            other => {
                store
                    .save_config(
                        &self.inner.admin,
                        document,
                        other.map(|v| v.version),
                        self.now(),
                    )
                    .await?
            }
        };
        *self
            .inner
            .config_version
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(version);
        Ok(version)
    }

    /// Ingests and processes until no work is eligible now.
    ///
    /// # Errors
    ///
    /// See [`SyncEngine::ingest`] and [`SyncEngine::process`].
    pub async fn sync(&self) -> Result<RunReport, EngineError> {
        let started = tokio::time::Instant::now();
        let ingested = self.ingest().await?;
        let mut report = self.process().await?;
        report.ingested = ingested;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Processes eligible work items in batches until none is eligible now, or the circuit
    /// breaker opens. Problems of single records never stop it.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] when the store fails.
    pub async fn process(&self) -> Result<RunReport, EngineError> {
        let span = tracing::info_span!("sync.process", admin = %self.inner.admin);
        self.process_inner(None).instrument(span).await
    }

    /// Drops finished work items older than [`EngineOptions::retention`], at most once an hour
    /// per engine. A failure is logged: pruning is housekeeping, never a reason to stop.
    async fn prune_if_due(&self) {
        let Some(retention) = self.inner.options.retention else {
            return;
        };
        let now = self.now();
        {
            let mut last = self
                .inner
                .last_prune
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| now - at < chrono::TimeDelta::hours(1)) {
                return;
            }
            *last = Some(now);
        }
        let Some(before) = chrono::TimeDelta::from_std(retention)
            .ok()
            .and_then(|age| now.checked_sub_signed(age))
        else {
            return;
        };
        match self.inner.store.prune_done(&self.inner.admin, before).await {
            Ok(n) if n > 0 => tracing::info!(pruned = n, %before, "pruned finished work items"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning finished work items failed"),
        }
        // Parked changes and review decisions name CRM records (and grow with every failure
        // and review); after the retention period they go too. Losing a parked entry only
        // means an identical resubmission is tried once more; a decision is long consumed.
        for area in [StateArea::Parked, StateArea::ReviewResolution] {
            match self
                .inner
                .store
                .prune_state(&self.inner.admin, area, before)
                .await
            {
                Ok(n) if n > 0 => tracing::info!(pruned = n, %area, %before, "pruned state"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, %area, "pruning state failed"),
            }
        }
    }

    /// Binds the [`AdminKey`] to the SnelStart administration the client's koppelsleutel
    /// opens (`companyInfo.administratieIdentifier`) on first use, and refuses to work when a
    /// later key opens another one: a koppelsleutel rotated to the wrong customer would
    /// otherwise write one customer's records into another's books, or meet every linked
    /// record as "not found". One `GET /companyInfo` per engine.
    ///
    /// # Errors
    ///
    /// [`EngineError::AdministrationMismatch`]; [`EngineError::SnelStart`] when companyInfo
    /// cannot be read; [`EngineError::Store`].
    pub async fn ensure_bound(&self) -> Result<(), EngineError> {
        self.inner
            .bound
            .get_or_try_init(|| async {
                let info = self
                    .inner
                    .client
                    .execute(snelstart_client::ops::company_info::get())
                    .await?;
                let Some(found) = info.administratie_identifier.map(|id| id.to_string()) else {
                    return Ok(());
                };
                let store = &self.inner.store;
                let admin = &self.inner.admin;
                match store.state(admin, CURSOR_ADMINISTRATION).await? {
                    Some(bound) if bound == found => Ok(()),
                    Some(bound) => Err(EngineError::AdministrationMismatch {
                        admin: admin.to_string(),
                        bound,
                        found,
                    }),
                    None => match store
                        .put_state(admin, CURSOR_ADMINISTRATION, None, &found, self.now())
                        .await
                    {
                        Ok(()) => Ok(()),
                        // Another engine bound it meanwhile: check against what it wrote.
                        Err(e) if e.is_conflict() => {
                            match store.state(admin, CURSOR_ADMINISTRATION).await? {
                                Some(bound) if bound != found => {
                                    Err(EngineError::AdministrationMismatch {
                                        admin: admin.to_string(),
                                        bound,
                                        found,
                                    })
                                }
                                _ => Ok(()),
                            }
                        }
                        Err(e) => Err(e.into()),
                    },
                }
            })
            .await
            .map(|_| ())
    }

    /// `deadline`: after the first batch, stop claiming new batches once it has passed (the
    /// batch in hand always finishes).
    async fn process_inner(
        &self,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<RunReport, EngineError> {
        let started = tokio::time::Instant::now();
        let calls_before = self.inner.client.budget_usage().total;
        // Bound before the first write of this engine (nothing to check while nothing waits).
        if self.inner.bound.get().is_none()
            && self.inner.store.counts(&self.inner.admin).await?.pending > 0
        {
            self.ensure_bound().await?;
        }
        let report = Arc::new(Mutex::new(RunReport::default()));
        let context = Arc::new(RunContext::new());
        let concurrency = self.concurrency();
        let mut outage = false;
        let mut touched: Vec<EntityKind> = Vec::new();
        loop {
            let now = self.now();
            if self.breaker_open(now).is_some() {
                outage = true;
                break;
            }
            if !touched.is_empty() && deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                break;
            }
            // Half open after an outage: one item probes whether SnelStart is back, instead
            // of a whole batch of calls failing at once.
            let half_open = self
                .inner
                .breaker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .half_open(now);
            let limit = if half_open {
                1
            } else {
                self.inner.options.batch_size
            };
            let items = self
                .inner
                .store
                .claim(&self.inner.admin, now, limit, self.inner.options.lease)
                .await?;
            if items.is_empty() {
                break;
            }
            for item in &items {
                if !touched.contains(&item.kind) {
                    touched.push(item.kind);
                }
            }
            relations::prepare_batch(self, &context, &items).await;
            // Refuses the batch (putting it back) when the configuration does not fit the
            // chart of accounts.
            bookings::prepare_batch(self, &context, &items).await?;
            let results: Vec<Result<(), EngineError>> = futures::stream::iter(items)
                .map(|item| {
                    let context = Arc::clone(&context);
                    let report = Arc::clone(&report);
                    async move { self.run_item(item, &context, &report).await }
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            for r in results {
                r?;
            }
            metrics::gauge!("sync_queue_pending", "admin" => self.inner.admin.to_string())
                .set(self.inner.store.counts(&self.inner.admin).await?.pending as f64);
        }
        if !outage {
            self.prune_if_due().await;
            let now = self.now().to_rfc3339();
            for kind in touched {
                let name = last_success_cursor(kind);
                let current = self.inner.store.state(&self.inner.admin, &name).await?;
                // Another engine may have written it meanwhile; losing that race is harmless.
                let _ = self
                    .inner
                    .store
                    .put_state(
                        &self.inner.admin,
                        &name,
                        current.as_deref(),
                        &now,
                        self.now(),
                    )
                    .await;
            }
        }
        let mut report = Arc::try_unwrap(report)
            .map(|m| m.into_inner().unwrap_or_else(PoisonError::into_inner))
            .unwrap_or_else(|arc| arc.lock().unwrap_or_else(PoisonError::into_inner).clone());
        report.api_calls = self.inner.client.budget_usage().total - calls_before;
        report.elapsed = started.elapsed();
        report.interrupted_by_outage = outage;
        Ok(report)
    }

    /// Processes repeatedly, sleeping until the next item is due (an item waiting out a
    /// backoff or a rate limit, or the breaker's cool-down), until nothing is pending or
    /// `max_wait` has passed. This is how a host keeps a sync going through an outage.
    ///
    /// # Errors
    ///
    /// See [`SyncEngine::process`].
    pub async fn run_until_idle(&self, max_wait: Duration) -> Result<RunReport, EngineError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        let mut total = RunReport::default();
        loop {
            let span = tracing::info_span!("sync.process", admin = %self.inner.admin);
            let report = self.process_inner(Some(deadline)).instrument(span).await?;
            total.merge(&report);
            let counts = self.inner.store.counts(&self.inner.admin).await?;
            let waiting = counts.pending.saturating_sub(counts.blocked) + counts.in_flight;
            if waiting == 0 || tokio::time::Instant::now() >= deadline {
                total.interrupted_by_outage = report.interrupted_by_outage;
                return Ok(total);
            }
            let wake = self.next_wake().await?.min(deadline);
            // Say what the engine waits for and until when: a silent wait looks like a hang.
            let wait = wake.saturating_duration_since(tokio::time::Instant::now());
            let until = later(self.now(), wait);
            let reason = if self.breaker_open(self.now()).is_some() {
                crate::report::WaitReason::Outage
            } else {
                crate::report::WaitReason::Retry
            };
            self.set_waiting(Some(crate::report::Waiting {
                reason,
                until,
                items: waiting,
            }));
            if let Some(open) = self.breaker_open(self.now()) {
                tracing::info!(
                    admin = %self.inner.admin, %open, waiting = waiting,
                    "SnelStart is not answering: waiting for the circuit breaker to probe again"
                );
            } else {
                let budget = self.inner.client.budget_usage();
                tracing::info!(
                    admin = %self.inner.admin, until = %until, waiting = waiting,
                    calls_last_minute = budget.last_minute, calls_last_hour = budget.last_hour,
                    "waiting for the next item to be due (a retry backoff, a rate limit or the \
                     call budget)"
                );
            }
            tokio::time::sleep_until(
                wake.max(tokio::time::Instant::now() + Duration::from_millis(10)),
            )
            .await;
            self.set_waiting(None);
        }
    }

    fn set_waiting(&self, waiting: Option<crate::report::Waiting>) {
        *self
            .inner
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = waiting;
    }

    /// What the engine waits for right now and until when, for a host's progress display:
    /// room in the call budget (calls wait inside the client), SnelStart to answer again
    /// (the circuit breaker), or the next retry while [`SyncEngine::run_until_idle`] sleeps.
    /// `None` while it works.
    pub fn waiting(&self) -> Option<crate::report::Waiting> {
        let now = self.now();
        if let Some(wait) = self.inner.client.budget_usage().waiting_for_room {
            let in_flight = self.inner.client.budget_usage().in_flight;
            return Some(crate::report::Waiting {
                reason: crate::report::WaitReason::Budget,
                until: later(now, wait),
                items: u64::from(in_flight),
            });
        }
        let waiting = self
            .inner
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        waiting.filter(|w| w.until > now)
    }

    /// When the next pending item or the breaker becomes due.
    async fn next_wake(&self) -> Result<tokio::time::Instant, EngineError> {
        let now = self.now();
        let mut next = now + chrono::TimeDelta::seconds(60);
        if let Some(open) = self.breaker_open(now) {
            next = next.min(open);
        } else {
            // Only future times matter: a pending item that is due but was not claimed waits
            // for something else (a dependency, an older item of the same record), and
            // `process` runs again as soon as that finishes. One indexed query, whatever
            // the size of the queue.
            if let Some(due) = self.inner.store.next_due(&self.inner.admin, now).await? {
                next = next.min(due);
            }
        }
        Ok(self.inner.clock.instant_at(next))
    }

    fn concurrency(&self) -> usize {
        self.inner
            .options
            .concurrency
            .unwrap_or_else(|| match self.inner.client.budget().config().concurrent {
                0 => 8,
                n => n as usize,
            })
            .max(1)
    }

    fn breaker_open(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.inner
            .breaker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .open_until(now)
    }

    pub(crate) fn record_success(&self) {
        self.handler_ctx().record_success();
    }

    /// Handles one claimed item and records its outcome.
    async fn run_item(
        &self,
        item: WorkItem,
        context: &RunContext,
        report: &Mutex<RunReport>,
    ) -> Result<(), EngineError> {
        let span = tracing::info_span!(
            "sync.item",
            kind = item.kind.as_str(),
            crm_id = %item.crm_id,
            op = %item.operation,
            attempt = item.attempts
        );
        // A panic while handling one record (a bug, or input nobody foresaw) fails that record
        // with the panic's message and lets the rest of the batch, and every later run, go on;
        // without this the item would be claimed again after its lease and panic again.
        let result = match std::panic::AssertUnwindSafe(self.handle(&item, context))
            .catch_unwind()
            .instrument(span.clone())
            .await
        {
            Ok(result) => result,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".to_owned());
                ItemResult::Fail(
                    FailureKind::Permanent
                        .error(format!(
                            "internal error while handling this record ({what}); the other \
                             records went on. Please report it with the record"
                        ))
                        .with_code("PANIC"),
                )
            }
        };
        let _enter = span.enter();
        let store = &self.inner.store;
        let token = item.lease();
        let now = self.now();
        let action = match result {
            ItemResult::Done(action) => {
                store.complete(token, now).await?;
                action
            }
            ItemResult::Review {
                reasons,
                candidates,
                detail,
            } => {
                store.needs_review(token, detail, now).await?;
                self.park(&item).await;
                self.deliver(SinkEvent::ReviewNeeded {
                    kind: item.kind,
                    crm_id: item.crm_id.clone(),
                    reasons,
                    candidates,
                })
                .await;
                Action::Review
            }
            ItemResult::Fail(error) => {
                tracing::warn!(reason = %error.message, "item failed");
                self.deliver(SinkEvent::Failed {
                    kind: item.kind,
                    crm_id: item.crm_id.clone(),
                    reason: error.message.clone(),
                    fields: error.field_paths(),
                })
                .await;
                store.fail(token, error, now).await?;
                self.park(&item).await;
                Action::Failed
            }
            ItemResult::Retry { at, error } => {
                tracing::debug!(reason = %error.message, %at, "item deferred");
                store.reschedule(token, at, error, now).await?;
                Action::Deferred
            }
        };
        metrics::counter!("sync_items_total", "kind" => item.kind.as_str(), "action" => action.as_str())
            .increment(1);
        report
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(item.kind, action);
        Ok(())
    }

    async fn handle(&self, item: &WorkItem, context: &RunContext) -> ItemResult {
        if item.kind == EntityKind::Attachment {
            return self.handle_attachment(item).await;
        }
        let change: CrmChange = match serde_json::from_value(item.payload.clone()) {
            Ok(c) => c,
            Err(e) => {
                return ItemResult::Fail(FailureKind::Permanent.error(format!(
                    "work item {} holds an unreadable change: {e}",
                    item.id
                )));
            }
        };
        // What the mapping's policies changed in this record, told to the CRM once the record
        // is written (pure and cheap, so computed before the handler consumes the change).
        let config = &self.inner.config;
        let notices = match &change {
            CrmChange::Relation(r) => mapping::notices::relation(r, config),
            CrmChange::Project(p) => mapping::notices::project(p, config),
            CrmChange::SalesInvoice(i) => mapping::notices::sales_invoice(i, config),
            CrmChange::PurchaseInvoice(i) => mapping::notices::purchase_invoice(i, config),
            _ => Vec::new(),
        };
        let outcome = match change {
            CrmChange::Relation(relation) => {
                relations::upsert(self, item, context, &relation).await
            }
            CrmChange::RelationArchived(id) => relations::archive(self, item, id.as_str()).await,
            CrmChange::Project(project) => projects::upsert(self, item, context, &project).await,
            CrmChange::SalesInvoice(invoice) => {
                bookings::upsert_sales(self, item, context, &invoice).await
            }
            CrmChange::PurchaseInvoice(invoice) => {
                bookings::upsert_purchase(self, item, context, &invoice).await
            }
            CrmChange::Refused(refused) => Ok(intake::refusal_failure(&refused)),
        };
        match outcome {
            Ok(result) => {
                if let ItemResult::Done(Action::Created | Action::Updated | Action::Linked) = result
                {
                    for notice in notices {
                        self.deliver(SinkEvent::Notice {
                            kind: item.kind,
                            crm_id: item.crm_id.clone(),
                            path: notice.path,
                            policy: notice.policy,
                            message: notice.message,
                        })
                        .await;
                    }
                }
                result
            }
            Err(relations::HandlerError::Client(e)) => self.classify(item, &e),
            Err(relations::HandlerError::Store(e)) => ItemResult::Retry {
                at: later(self.now(), self.backoff(item.attempts)),
                error: FailureKind::Transient.error(format!("store: {e}")),
            },
        }
    }

    /// Turns a SnelStart error into the item's next step.
    pub(crate) fn classify(&self, item: &WorkItem, e: &snelstart_client::Error) -> ItemResult {
        let now = self.now();
        if e.is_rate_limited() {
            let wait = e.retry_after().unwrap_or(Duration::from_secs(30));
            return ItemResult::Retry {
                at: later(now, wait),
                error: stored_from_client(FailureKind::RateLimited, e),
            };
        }
        let outage = e.is_retryable()
            || matches!(
                e,
                snelstart_client::Error::Auth(_) | snelstart_client::Error::Transport(_)
            );
        if outage {
            let mut breaker = self
                .inner
                .breaker
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            breaker.record_failure(now, e.to_string());
            // An outage is SnelStart's state, not this record's: the item is due again when
            // the breaker probes (so everything resumes within seconds of SnelStart answering),
            // or after a short backoff while the breaker is still closed.
            let at = breaker.open_until(now).unwrap_or_else(|| {
                let wait = self
                    .backoff(item.attempts)
                    .min(self.inner.options.breaker_base);
                later(now, wait)
            });
            return ItemResult::Retry {
                at,
                error: stored_from_client(FailureKind::Transient, e),
            };
        }
        // SnelStart answered: it is reachable, the record is the problem.
        self.record_success();
        ItemResult::Fail(stored_from_client(FailureKind::Permanent, e))
    }

    /// Records `hash` as the payload last sent for a linked record. Losing the
    /// compare-and-swap means another worker recorded a later write meanwhile, and that one
    /// stands.
    pub(crate) async fn record_sent_hash(
        &self,
        link: &crate::store::IdLink,
        hash: &str,
    ) -> Result<(), crate::store::StoreError> {
        match self
            .inner
            .store
            .set_payload_hash(
                &self.inner.admin,
                link.kind,
                &link.crm_id,
                link.payload_hash.as_deref(),
                Some(hash),
                self.now(),
            )
            .await
        {
            Err(e) if e.is_conflict() => Ok(()),
            other => other,
        }
    }

    /// Remembers which payload a failed or held item had (see `submit_after`).
    async fn park(&self, item: &WorkItem) {
        let key = parked_cursor(item.kind, &item.operation, &item.crm_id);
        let value = format!(
            "{} {}",
            crate::hash::payload_hash(&item.payload),
            item.id.get()
        );
        let store = &self.inner.store;
        let result = async {
            let current = store.state(&self.inner.admin, &key).await?;
            store
                .put_state(
                    &self.inner.admin,
                    &key,
                    current.as_deref(),
                    &value,
                    self.now(),
                )
                .await
        }
        .await;
        if let Err(e) = result {
            tracing::debug!(error = %e, "could not park the item's payload hash");
        }
    }

    pub(crate) fn backoff(&self, attempts: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(16);
        self.inner
            .options
            .base_backoff
            .saturating_mul(1 << exponent)
            .min(self.inner.options.max_backoff)
    }

    pub(crate) async fn deliver(&self, event: SinkEvent) {
        self.handler_ctx().deliver(event).await;
    }

    /// Appends an audit entry for a write; audit failures are logged, not fatal (the write
    /// already happened and the link records it).
    pub(crate) async fn audit(
        &self,
        kind: EntityKind,
        crm_id: &str,
        snelstart_id: Option<uuid::Uuid>,
        action: &str,
        summary: String,
        outcome: Result<(), String>,
    ) {
        self.handler_ctx()
            .audit(kind, crm_id, snelstart_id, action, summary, outcome)
            .await;
    }

    /// Sends failed (and, when the filter says so, review) items back to the queue, for
    /// example after the mapping or the CRM data was fixed. Returns how many.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn replay(&self, filter: ReplayFilter) -> Result<u64, EngineError> {
        Ok(self.inner.store.replay(&filter, self.now()).await?)
    }

    /// Records a reviewer's decision for a relation waiting for review and queues it again.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn resolve_review(
        &self,
        crm_id: &str,
        resolution: ReviewResolution,
    ) -> Result<(), EngineError> {
        let name = review_cursor(EntityKind::Relation, crm_id);
        let value = match resolution {
            ReviewResolution::LinkTo(id) => format!("link:{id}"),
            ReviewResolution::CreateNew => "new".to_owned(),
        };
        let store = &self.inner.store;
        let current = store.state(&self.inner.admin, &name).await?;
        store
            .put_state(
                &self.inner.admin,
                &name,
                current.as_deref(),
                &value,
                self.now(),
            )
            .await?;
        let filter = ReplayFilter::needs_review(self.inner.admin.clone())
            .kind(EntityKind::Relation)
            .crm_id(crm_id);
        store.replay(&filter, self.now()).await?;
        Ok(())
    }

    /// The status report: queue counts, last successful runs, failures with reasons, the
    /// review queue, budget use and whether SnelStart is reachable.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn status(&self) -> Result<StatusReport, EngineError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let limit = self.inner.options.status_limit;
        let queue = store.counts(admin).await?;
        let mut last_success = BTreeMap::new();
        for kind in EntityKind::ALL {
            if let Some(text) = store.state(admin, &last_success_cursor(kind)).await?
                && let Ok(at) = DateTime::parse_from_rfc3339(&text)
            {
                last_success.insert(kind.as_str().to_owned(), at.with_timezone(&Utc));
            }
        }
        // One entry per record and operation: a process killed at the wrong moment can leave
        // two items of one record (a new one queued behind one in flight), and a person must
        // see (and answer) each record once. The newest item speaks for the record.
        let failures = latest_per_record(
            store
                .list_summaries(admin, Some(WorkState::Failed), None, limit)
                .await?,
        )
        .into_iter()
        .map(|i| FailureEntry {
            kind: i.kind,
            crm_id: i.crm_id,
            error: i.last_error,
            attempts: i.attempts,
            at: i.updated_at,
        })
        .collect();
        let review = latest_per_record(
            store
                .list_summaries(admin, Some(WorkState::NeedsReview), None, limit)
                .await?,
        )
        .into_iter()
        .map(|i| ReviewEntry {
            kind: i.kind,
            crm_id: i.crm_id,
            reasons: i.review.unwrap_or_default(),
            since: i.updated_at,
        })
        .collect();
        let reachability = self
            .inner
            .breaker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reachability();
        let config_version = *self
            .inner
            .config_version
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let config_version = match config_version {
            Some(v) => Some(v),
            None => store.latest_config(admin).await?.map(|c| c.version),
        };
        Ok(StatusReport {
            admin: admin.to_string(),
            queue,
            last_success,
            failures,
            review,
            budget: self.inner.client.budget_usage(),
            reachability,
            config_version,
            by_kind: self.queue_by_kind().await?,
            last_read_back: self.last_read_back().await?,
            skipped_items: self
                .inner
                .client
                .decode_problems()
                .iter()
                .map(|p| {
                    let id =
                        p.id.as_deref()
                            .map(|id| format!(" (id {id})"))
                            .unwrap_or_default();
                    format!("{p}{id}")
                })
                .collect(),
            waiting: self.waiting(),
        })
    }

    /// Whether SnelStart answered lately.
    pub fn reachability(&self) -> Reachability {
        self.inner
            .breaker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reachability()
    }

    /// A dry run: what a sync would do with every change the source has after the cursor and
    /// every pending item, without writing anything to SnelStart or to the store. It reads
    /// SnelStart (the relation list for matching, linked records for update diffs).
    ///
    /// # Errors
    ///
    /// [`EngineError::Crm`], [`EngineError::Store`], or [`EngineError::SnelStart`] when
    /// SnelStart cannot be read.
    pub async fn plan(&self) -> Result<Vec<PlanEntry>, EngineError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let mut changes: Vec<CrmChange> = Vec::new();
        let mut offset = 0;
        loop {
            let page = store
                .list_work(admin, Some(WorkState::Pending), 500, offset)
                .await?;
            for item in &page {
                if let Ok(change) = serde_json::from_value::<CrmChange>(item.payload.clone()) {
                    changes.push(change);
                }
            }
            if page.len() < 500 {
                break;
            }
            offset += page.len();
        }
        let mut cursor = store.state(admin, CURSOR_SOURCE).await?;
        loop {
            let page = self
                .inner
                .source
                .changes(cursor.as_deref(), self.inner.options.ingest_page)
                .await?;
            changes.extend(page.changes.iter().cloned());
            if !page.has_more || page.changes.is_empty() || page.next_cursor.is_none() {
                break;
            }
            cursor = page.next_cursor;
        }
        // The newest change of a record wins, as coalescing would make it.
        let mut latest: BTreeMap<(EntityKind, String, &'static str), CrmChange> = BTreeMap::new();
        for change in changes {
            latest.insert(
                (
                    change.kind(),
                    change.crm_id().to_owned(),
                    change.operation(),
                ),
                change,
            );
        }
        let context = RunContext::new();
        let relations: Vec<&crm_model::Relation> = latest
            .values()
            .filter_map(|c| match c {
                CrmChange::Relation(r) => Some(&**r),
                _ => None,
            })
            .collect();
        relations::prepare_decisions(self, &context, &relations).await?;
        let mut entries = Vec::new();
        for change in latest.values() {
            let mut planned = match change {
                CrmChange::Relation(r) => relations::plan(self, &context, r).await?,
                CrmChange::RelationArchived(id) => {
                    relations::plan_archive(self, id.as_str()).await?
                }
                CrmChange::Project(p) => projects::plan(self, &context, p).await?,
                CrmChange::SalesInvoice(i) => bookings::plan_sales(self, &context, i).await?,
                CrmChange::PurchaseInvoice(i) => bookings::plan_purchase(self, &context, i).await?,
                CrmChange::Refused(r) => vec![PlanEntry {
                    kind: r.kind,
                    crm_id: r.crm_id.clone(),
                    action: crate::report::PlannedAction::Fail {
                        problems: r
                            .problems
                            .iter()
                            .map(|p| format!("{}: {}", p.path, p.message))
                            .collect(),
                    },
                }],
            };
            entries.append(&mut planned);
        }
        Ok(entries)
    }
}

impl<S, Src, Snk> std::fmt::Debug for SyncEngine<S, Src, Snk> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("admin", &self.inner.admin)
            .field("client", &self.inner.client)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// Keeps the newest item of each (kind, CRM id, operation), in id order.
fn latest_per_record(items: Vec<WorkSummary>) -> Vec<WorkSummary> {
    let mut newest: std::collections::HashMap<
        (EntityKind, String, String),
        crate::store::WorkItemId,
    > = std::collections::HashMap::new();
    for item in &items {
        let key = (item.kind, item.crm_id.clone(), item.operation.clone());
        let entry = newest.entry(key).or_insert(item.id);
        *entry = (*entry).max(item.id);
    }
    items
        .into_iter()
        .filter(|i| newest.get(&(i.kind, i.crm_id.clone(), i.operation.clone())) == Some(&i.id))
        .collect()
}

/// `at + wait`, saturating instead of panicking: a wait from outside (a `Retry-After`) or a
/// large backoff can never overflow the time arithmetic and stop the administration.
pub(crate) fn later(at: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(wait)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewWorkItem, WorkItemId};

    fn item(id: i64, crm_id: &str, operation: &str) -> WorkSummary {
        let new = NewWorkItem::new(
            AdminKey::new("a"),
            EntityKind::Relation,
            crm_id,
            operation,
            serde_json::Value::Null,
            Utc::now(),
        );
        WorkItem::enqueued(WorkItemId::new(id), new, Utc::now()).into()
    }

    /// Issue 11/12: a huge wait (a `Retry-After` from a hostile or broken server) saturates
    /// instead of panicking the engine.
    #[test]
    fn later_saturates() {
        let now = Utc::now();
        assert_eq!(later(now, Duration::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            later(now, Duration::from_secs(1)),
            now + chrono::TimeDelta::seconds(1)
        );
    }

    /// Regression (issue 12): after a kill -9 the same record could be listed several times
    /// among failures and reviews.
    #[test]
    fn status_lists_each_record_and_operation_once_newest_first_kept() {
        let kept = latest_per_record(vec![
            item(1, "crm-1", "upsert"),
            item(2, "crm-2", "upsert"),
            item(3, "crm-1", "upsert"),
            item(4, "crm-1", "duplicate"),
        ]);
        let ids: Vec<i64> = kept.iter().map(|i| i.id.get()).collect();
        assert_eq!(ids, vec![2, 3, 4]);
    }
}
