//! The fleet runner: one worker pool in one process serves many administrations.
//!
//! A [`Fleet`] takes administrations from the registry ([`crate::registry`]) and serves each
//! with its own [`SyncEngine`]: its own SnelStart client (made from its sealed koppelsleutel
//! through the [`KeyProvider`] and the [`ClientTemplate`], so each has its own token and its
//! own rate budget), its own mapping configuration and CRM source and sink (from the host's
//! [`FleetSetup`]), and one shared [`Store`] (every query scoped by administration).
//!
//! # Leases: many worker processes
//!
//! Several processes (on several machines) may run a fleet on one database. Each holds a
//! renewable lease per administration it serves ([`crate::registry::leases`]): the lease is
//! taken when the administration is free (never leased, released, or expired), renewed every
//! third of [`FleetOptions::lease`], and released on an orderly [`Fleet::run`] shutdown. A
//! process that dies stops renewing; after the lease expires another fleet takes the
//! administration over (with a higher fencing token). A fleet whose renewal fails (taken over,
//! paused, removed) stops serving that administration at once. Work items keep their own
//! leases in the store and creates are made once by natural key, so a batch still in the
//! hands of a worker that lost its lease is never written twice.
//!
//! # Fair share and isolation
//!
//! The pool runs [`FleetOptions::workers`] slices at once. A slice is one bounded piece of one
//! administration's work: ingest from its source, then one claimed batch
//! ([`EngineOptions::batch_size`]). An administration that had work goes to the back of the
//! queue, so a busy administration gets one slice per turn like everyone else and cannot
//! starve the others; one that had nothing to do is looked at again after
//! [`FleetOptions::idle_poll`]. A slice runs in its own task with panics caught: a failure
//! (SnelStart refusing the key, an outage, a store error, a panic) is recorded in that
//! administration's [`AdministrationStatus`] and the administration backs off
//! ([`FleetOptions::failure_backoff`], doubling up to [`FleetOptions::max_failure_backoff`]);
//! the others go on, each within its own rate budget (a 429 or an open circuit breaker is that
//! administration's client's business).
//!
//! # Run-time changes
//!
//! [`Fleet::add`], [`Fleet::pause`], [`Fleet::resume`] and [`Fleet::remove`] change the
//! registry and take effect without a restart: a paused or removed administration is released
//! and not run (its running slice, if any, finishes first); a resumed or added one is taken by
//! the next maintenance round of whichever fleet gets it first. The fleet implements
//! [`CouplingHooks`], so an [`crate::onboarding::OnboardingService`] built with
//! `.hooks(fleet.clone())` makes Create, Regenerate and Delete take effect at once: Create
//! wakes the fleet, Regenerate drops the client holding the old key, Delete stops the
//! administration's work before its key is destroyed. Other processes notice pauses and
//! removals at their next renewal.
//!
//! # Metrics
//!
//! `fleet_slices_total{admin}`, `fleet_slice_failures_total{admin}` (counters) and
//! `fleet_administrations{worker}` (gauge: administrations this worker holds). The `admin`
//! label is bounded by the administrations one worker holds, at most
//! [`FleetOptions::max_administrations`]; `worker` by the number of worker processes.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use mapping::config::MappingConfig;
use secrecy::SecretString;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::crm::{CrmSink, CrmSource};
use crate::engine::{EngineOptions, SyncEngine};
use crate::error::EngineError;
use crate::keys::{KeyError, KeyProvider, Sealer};
use crate::onboarding::{ClientTemplate, CouplingHooks};
use crate::registry::{
    AdministrationLease, AdministrationLeases, AdministrationRecord, AdministrationRegistry,
};
use crate::report::{Action, RunReport};
use crate::store::{AdminKey, Store, StoreError};

/// Registered administrations read per page while looking for free ones.
const ACQUIRE_PAGE: usize = 100;

/// What the host gives each administration's engine besides the client and the store.
pub trait FleetSetup: Send + Sync + 'static {
    /// Where an administration's CRM changes come from.
    type Source: CrmSource;
    /// Where its results go.
    type Sink: CrmSink;

    /// The engine parts for an administration (its mapping configuration is named by
    /// `record.mapping_config`). An `Err` names what is missing; the administration is then
    /// not run and the reason shows in its status.
    fn engine_parts(
        &self,
        record: &AdministrationRecord,
    ) -> Result<EngineParts<Self::Source, Self::Sink>, String>;
}

/// The host's parts of one administration's engine.
#[derive(Debug)]
#[non_exhaustive]
pub struct EngineParts<Src, Snk> {
    /// The mapping configuration.
    pub config: MappingConfig,
    /// The CRM source ([`SyncEngine::ingest`] reads it every slice).
    pub source: Src,
    /// The CRM sink.
    pub sink: Snk,
    /// Engine tuning; `batch_size` is the size of one slice.
    pub options: EngineOptions,
}

impl<Src, Snk> EngineParts<Src, Snk> {
    /// Parts with the default engine options.
    pub fn new(config: MappingConfig, source: Src, sink: Snk) -> Self {
        Self {
            config,
            source,
            sink,
            options: EngineOptions::default(),
        }
    }

    /// Other engine options.
    pub fn options(mut self, options: EngineOptions) -> Self {
        self.options = options;
        self
    }
}

/// Tuning of a [`Fleet`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetOptions {
    /// This worker process's id in the lease rows (unique per process).
    pub worker_id: String,
    /// Slices run at once.
    pub workers: usize,
    /// How long a lease lasts without renewal (renewed every third of it).
    pub lease: Duration,
    /// At most this many administrations held by this worker.
    pub max_administrations: usize,
    /// How long an administration with nothing to do waits before it is looked at again.
    pub idle_poll: Duration,
    /// The first wait after a failed slice; doubles per consecutive failure.
    pub failure_backoff: Duration,
    /// The longest wait after failed slices.
    pub max_failure_backoff: Duration,
}

impl FleetOptions {
    /// Defaults with `worker_id`: 4 workers, 30 s leases, 1,000 administrations, 1 s idle
    /// poll, 1 s .. 5 min failure backoff.
    pub fn new(worker_id: impl Into<String>) -> Self {
        Self {
            worker_id: worker_id.into(),
            workers: 4,
            lease: Duration::from_secs(30),
            max_administrations: 1000,
            idle_poll: Duration::from_secs(1),
            failure_backoff: Duration::from_secs(1),
            max_failure_backoff: Duration::from_secs(300),
        }
    }

    /// Slices run at once (at least 1).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// The lease duration.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The most administrations this worker holds.
    pub fn max_administrations(mut self, max: usize) -> Self {
        self.max_administrations = max;
        self
    }

    /// The idle poll interval.
    pub fn idle_poll(mut self, idle_poll: Duration) -> Self {
        self.idle_poll = idle_poll;
        self
    }

    /// The failure backoff, first and largest.
    pub fn failure_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.failure_backoff = first;
        self.max_failure_backoff = max.max(first);
        self
    }
}

/// What an administration is doing in this fleet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Activity {
    /// Leased; no slice has run yet.
    Starting,
    /// A slice is running.
    Working,
    /// The last slice found nothing to do.
    Idle,
    /// The last slice was cut short by an outage (the circuit breaker is open).
    Outage,
    /// The last slice failed; it waits out a backoff (see `last_error`).
    Failing,
}

/// One administration's status in a fleet.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AdministrationStatus {
    /// The administration.
    pub admin: AdminKey,
    /// What it is doing.
    pub activity: Activity,
    /// The fencing token of this fleet's lease.
    pub fence: u64,
    /// When the lease expires unless renewed.
    pub lease_expires_at: DateTime<Utc>,
    /// Slices run so far.
    pub slices: u64,
    /// Items handled (any outcome but deferred) so far.
    pub items: u64,
    /// SnelStart calls made so far.
    pub api_calls: u64,
    /// Consecutive failed slices.
    pub consecutive_failures: u32,
    /// The last failure (kept after a later success, for display); never carries a key.
    pub last_error: Option<String>,
    /// When the last slice ended.
    pub last_slice_at: Option<DateTime<Utc>>,
}

/// Why a fleet operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The registry or store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key could not be sealed or opened.
    #[error(transparent)]
    Key(#[from] KeyError),
}

type Engine<S, H> = SyncEngine<S, <H as FleetSetup>::Source, <H as FleetSetup>::Sink>;
type SlotRef<S, H> = Arc<Slot<Engine<S, H>>>;

struct SlotState<E> {
    lease: AdministrationLease,
    engine: Option<E>,
    status: AdministrationStatus,
    next_due: Instant,
    busy: bool,
    /// Woken while a slice ran: the work may have come after the slice looked.
    woken: bool,
    stopping: bool,
}

struct Slot<E> {
    admin: AdminKey,
    /// Held while a slice runs: stopping an administration waits for it.
    run: tokio::sync::Mutex<()>,
    state: Mutex<SlotState<E>>,
}

impl<E> Slot<E> {
    fn state(&self) -> std::sync::MutexGuard<'_, SlotState<E>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Inner<S, R, P, H: FleetSetup> {
    store: S,
    registry: R,
    sealer: Sealer<P>,
    template: ClientTemplate,
    setup: H,
    options: FleetOptions,
    slots: Mutex<BTreeMap<String, SlotRef<S, H>>>,
    /// A maintenance round is wanted (an administration was added or resumed).
    wake: tokio::sync::Notify,
    /// An administration became due earlier than planned ([`Fleet::wake`]).
    due: tokio::sync::Notify,
}

/// Serves many administrations from the registry with one worker pool; see the
/// [module docs](self). Cheap to clone (clones share the pool's state).
pub struct Fleet<S, R, P, H: FleetSetup> {
    inner: Arc<Inner<S, R, P, H>>,
}

impl<S, R, P, H: FleetSetup> Clone for Fleet<S, R, P, H> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S, R, P, H: FleetSetup> fmt::Debug for Fleet<S, R, P, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.inner.slots.lock().map(|s| s.len()).unwrap_or_default();
        f.debug_struct("Fleet")
            .field("options", &self.inner.options)
            .field("template", &self.inner.template)
            .field("administrations", &held)
            .finish_non_exhaustive()
    }
}

impl<S, R, P, H> Fleet<S, R, P, H>
where
    S: Store,
    R: AdministrationRegistry + AdministrationLeases + Send + Sync + 'static,
    P: KeyProvider + 'static,
    H: FleetSetup,
{
    /// A fleet serving the administrations in `registry`, keeping their work in `store`.
    pub fn new(
        store: S,
        registry: R,
        sealer: Sealer<P>,
        template: ClientTemplate,
        setup: H,
        options: FleetOptions,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                registry,
                sealer,
                template,
                setup,
                options,
                slots: Mutex::new(BTreeMap::new()),
                wake: tokio::sync::Notify::new(),
                due: tokio::sync::Notify::new(),
            }),
        }
    }

    /// The options.
    pub fn options(&self) -> &FleetOptions {
        &self.inner.options
    }

    /// The registry.
    pub fn registry(&self) -> &R {
        &self.inner.registry
    }

    /// The status of every administration this fleet holds, by id.
    pub fn status(&self) -> Vec<AdministrationStatus> {
        self.slots()
            .into_iter()
            .map(|slot| slot.state().status.clone())
            .collect()
    }

    /// The status of one administration, when this fleet holds it.
    pub fn status_of(&self, admin: &AdminKey) -> Option<AdministrationStatus> {
        self.slot(admin).map(|slot| slot.state().status.clone())
    }

    /// The administrations this fleet holds, by id.
    pub fn held(&self) -> Vec<AdminKey> {
        self.slots().into_iter().map(|s| s.admin.clone()).collect()
    }

    /// Work was queued for `admin` outside its source (for example a CRM change taken into the
    /// store by a web intake with another engine): when this fleet holds it and it is idle, it
    /// is due now instead of after [`FleetOptions::idle_poll`]. One that backs off after a
    /// failure or an outage keeps its backoff; one this fleet does not hold is left to the
    /// fleet that does (it finds the work at its next poll).
    pub fn wake(&self, admin: &AdminKey) {
        let Some(slot) = self.slot(admin) else {
            return;
        };
        {
            let mut state = slot.state();
            if state.stopping
                || matches!(state.status.activity, Activity::Failing | Activity::Outage)
            {
                return;
            }
            let now = Instant::now();
            if state.busy {
                state.woken = true;
            } else if state.next_due > now {
                state.next_due = now;
            }
        }
        self.inner.due.notify_one();
    }

    /// Registers a new administration with its koppelsleutel (sealed here) and wakes the
    /// fleet; `Conflict` when it is already registered.
    ///
    /// # Errors
    ///
    /// [`FleetError::Store`].
    pub async fn add(
        &self,
        admin: AdminKey,
        koppelsleutel: &SecretString,
        reference_key: &str,
        mapping_config: &str,
    ) -> Result<(), FleetError> {
        let sealed = self.inner.sealer.seal(&admin, koppelsleutel);
        let record =
            AdministrationRecord::new(admin, sealed, reference_key, mapping_config, Utc::now());
        self.inner.registry.register(record).await?;
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Pauses an administration: marked in the registry (other fleets drop it at their next
    /// renewal), and stopped here (returns after its running slice, if any, has finished).
    ///
    /// # Errors
    ///
    /// [`FleetError::Store`] (`NotFound` when not registered).
    pub async fn pause(&self, admin: &AdminKey) -> Result<(), FleetError> {
        self.inner
            .registry
            .set_paused(admin, true, Utc::now())
            .await?;
        self.stop_local(admin).await;
        Ok(())
    }

    /// Resumes a paused administration; the next maintenance round of some fleet takes it.
    ///
    /// # Errors
    ///
    /// [`FleetError::Store`] (`NotFound` when not registered).
    pub async fn resume(&self, admin: &AdminKey) -> Result<(), FleetError> {
        self.inner
            .registry
            .set_paused(admin, false, Utc::now())
            .await?;
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Removes an administration: paused, stopped here, then deleted with its sealed key.
    /// `false` when it was not registered. Its work items and links stay in the store.
    ///
    /// # Errors
    ///
    /// [`FleetError::Store`].
    pub async fn remove(&self, admin: &AdminKey) -> Result<bool, FleetError> {
        match self
            .inner
            .registry
            .set_paused(admin, true, Utc::now())
            .await
        {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {
                self.stop_local(admin).await;
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        }
        self.stop_local(admin).await;
        Ok(self.inner.registry.remove_administration(admin).await?)
    }

    /// Runs the pool until `stop` completes: renews and takes leases, runs slices, and on
    /// `stop` waits for the running slices and releases every lease. Dropping the future
    /// instead (a crash) leaves the leases to expire.
    pub async fn run(&self, stop: impl Future<Output = ()>) {
        let mut tasks: JoinSet<()> = JoinSet::new();
        let renew_every = (self.inner.options.lease / 3).max(Duration::from_millis(10));
        let mut next_maintenance = Instant::now();
        tokio::pin!(stop);
        loop {
            if Instant::now() >= next_maintenance {
                self.maintain().await;
                next_maintenance = Instant::now() + renew_every;
            }
            while tasks.len() < self.inner.options.workers {
                let Some(slot) = self.take_ready(Instant::now()) else {
                    break;
                };
                let inner = Arc::clone(&self.inner);
                tasks.spawn(slice(inner, slot));
            }
            // With every slice taken, a due administration waits for a slice to end (the
            // join below), not for its due time: waking for it would find no room, and with
            // more administrations due than slices the loop then spun on a core, reading every
            // slot's state in a tight loop (half a fleet process's CPU in fleet_bench).
            let wake = if tasks.len() < self.inner.options.workers {
                self.next_due()
                    .map_or(next_maintenance, |due| due.min(next_maintenance))
            } else {
                next_maintenance
            };
            tokio::select! {
                () = &mut stop => break,
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(e) = joined {
                        tracing::error!(error = %e, "a fleet slice task ended abnormally");
                    }
                }
                () = tokio::time::sleep_until(wake) => {}
                () = self.inner.wake.notified() => {
                    next_maintenance = Instant::now();
                }
                () = self.inner.due.notified() => {}
            }
        }
        while tasks.join_next().await.is_some() {}
        self.release_all().await;
    }

    /// One maintenance round: renews held leases (dropping lost ones) and takes free
    /// administrations up to [`FleetOptions::max_administrations`]. [`Fleet::run`] does this
    /// every third of the lease; hosts driving the fleet by hand may call it.
    pub async fn maintain(&self) {
        let inner = &self.inner;
        let ttl = inner.options.lease;
        for slot in self.slots() {
            let lease = slot.state().lease.clone();
            let now = Utc::now();
            match inner.registry.renew_lease(&lease, now, ttl).await {
                Ok(Some(renewed)) => {
                    let mut state = slot.state();
                    state.status.lease_expires_at = renewed.expires_at;
                    state.lease = renewed;
                }
                Ok(None) => {
                    tracing::info!(admin = %slot.admin, fence = lease.fence, "lease lost (taken over, paused or removed): administration dropped");
                    self.drop_slot(&slot.admin);
                }
                Err(e) => {
                    tracing::warn!(admin = %slot.admin, error = %e, "could not renew a lease");
                    if Utc::now() >= lease.expires_at {
                        self.drop_slot(&slot.admin);
                    }
                }
            }
        }
        let mut after: Option<AdminKey> = None;
        'pages: loop {
            let room = inner
                .options
                .max_administrations
                .saturating_sub(self.slots().len());
            if room == 0 {
                break;
            }
            let page = match inner
                .registry
                .leasable_administrations(Utc::now(), after.as_ref(), ACQUIRE_PAGE)
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "could not list free administrations");
                    break;
                }
            };
            let Some(last) = page.last().map(|r| r.admin.clone()) else {
                break;
            };
            for record in page {
                if self.slots().len() >= inner.options.max_administrations {
                    break 'pages;
                }
                if self.slot(&record.admin).is_some() {
                    continue;
                }
                match inner
                    .registry
                    .acquire_lease(&record.admin, &inner.options.worker_id, Utc::now(), ttl)
                    .await
                {
                    Ok(Some(lease)) => {
                        tracing::info!(admin = %record.admin, fence = lease.fence, worker = %inner.options.worker_id, "administration leased");
                        self.insert_slot(lease);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(admin = %record.admin, error = %e, "could not take a lease");
                    }
                }
            }
            after = Some(last);
        }
        metrics::gauge!("fleet_administrations", "worker" => inner.options.worker_id.clone())
            .set(self.slots().len() as f64);
    }

    fn slots(&self) -> Vec<SlotRef<S, H>> {
        self.inner
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    fn slot(&self, admin: &AdminKey) -> Option<SlotRef<S, H>> {
        self.inner
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(admin.as_str())
            .cloned()
    }

    fn insert_slot(&self, lease: AdministrationLease) {
        let admin = lease.admin.clone();
        let status = AdministrationStatus {
            admin: admin.clone(),
            activity: Activity::Starting,
            fence: lease.fence,
            lease_expires_at: lease.expires_at,
            slices: 0,
            items: 0,
            api_calls: 0,
            consecutive_failures: 0,
            last_error: None,
            last_slice_at: None,
        };
        let slot = Arc::new(Slot {
            admin: admin.clone(),
            run: tokio::sync::Mutex::new(()),
            state: Mutex::new(SlotState {
                lease,
                engine: None,
                status,
                next_due: Instant::now(),
                busy: false,
                woken: false,
                stopping: false,
            }),
        });
        self.inner
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(admin.as_str().to_owned(), slot);
    }

    /// Forgets an administration here (its lease is lost or being released).
    fn drop_slot(&self, admin: &AdminKey) -> Option<SlotRef<S, H>> {
        let slot = self
            .inner
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(admin.as_str())?;
        {
            let mut state = slot.state();
            state.stopping = true;
            state.engine = None;
        }
        Some(slot)
    }

    /// Stops an administration here: no new slice, waits for the running one, releases the
    /// lease.
    async fn stop_local(&self, admin: &AdminKey) {
        let Some(slot) = self.drop_slot(admin) else {
            return;
        };
        let _running = slot.run.lock().await;
        let lease = slot.state().lease.clone();
        if let Err(e) = self.inner.registry.release_lease(&lease).await {
            tracing::warn!(admin = %admin, error = %e, "could not release a lease (it expires)");
        }
    }

    async fn release_all(&self) {
        for slot in self.slots() {
            self.stop_local(&slot.admin).await;
        }
    }

    /// The administration due first (earliest `next_due`, not running), marked running.
    fn take_ready(&self, now: Instant) -> Option<SlotRef<S, H>> {
        let slots = self.slots();
        let mut best: Option<(Instant, SlotRef<S, H>)> = None;
        for slot in slots {
            let state = slot.state();
            if state.busy || state.stopping || state.next_due > now {
                continue;
            }
            if best.as_ref().is_none_or(|(due, _)| state.next_due < *due) {
                let due = state.next_due;
                drop(state);
                best = Some((due, slot));
            }
        }
        let (_, slot) = best?;
        slot.state().busy = true;
        Some(slot)
    }

    /// When the next idle administration becomes due.
    fn next_due(&self) -> Option<Instant> {
        self.slots()
            .into_iter()
            .filter_map(|slot| {
                let state = slot.state();
                (!state.busy && !state.stopping).then_some(state.next_due)
            })
            .min()
    }
}

/// One slice of one administration; never panics (a panic inside is caught and recorded).
async fn slice<S, R, P, H>(inner: Arc<Inner<S, R, P, H>>, slot: SlotRef<S, H>)
where
    S: Store,
    R: AdministrationRegistry + AdministrationLeases + Send + Sync + 'static,
    P: KeyProvider + 'static,
    H: FleetSetup,
{
    let _running = slot.run.lock().await;
    if slot.state().stopping {
        return;
    }
    {
        let mut state = slot.state();
        state.status.activity = Activity::Working;
        state.woken = false;
    }
    let outcome = AssertUnwindSafe(async {
        let engine = engine_for(&inner, &slot).await?;
        let ingested = engine.ingest().await.map_err(|e| e.to_string())?;
        // One batch: with no time left, the engine stops claiming after the first batch.
        let mut report = engine
            .run_until_idle(Duration::ZERO)
            .await
            .map_err(|e: EngineError| e.to_string())?;
        report.ingested += ingested;
        Ok::<RunReport, String>(report)
    })
    .catch_unwind()
    .await
    .unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        Err(format!("the slice panicked: {message}"))
    });
    let admin = slot.admin.to_string();
    metrics::counter!("fleet_slices_total", "admin" => admin.clone()).increment(1);
    let now = Instant::now();
    let mut state = slot.state();
    state.busy = false;
    state.status.slices += 1;
    state.status.last_slice_at = Some(Utc::now());
    match outcome {
        Ok(report) => {
            let items: u64 = report
                .actions
                .values()
                .flat_map(|by_action| by_action.iter())
                .filter(|(action, _)| **action != Action::Deferred)
                .map(|(_, n)| *n)
                .sum();
            state.status.items += items;
            state.status.api_calls += report.api_calls;
            state.status.consecutive_failures = 0;
            let worked = items > 0 || report.ingested > 0 || report.api_calls > 0;
            if report.interrupted_by_outage {
                state.status.activity = Activity::Outage;
                state.next_due = now + inner.options.failure_backoff;
            } else if worked {
                // Back of the queue: everyone else due now goes first.
                state.status.activity = Activity::Working;
                state.next_due = now;
            } else if std::mem::take(&mut state.woken) {
                // Work was queued while this slice ran: look again at once.
                state.status.activity = Activity::Idle;
                state.next_due = now;
            } else {
                state.status.activity = Activity::Idle;
                state.next_due = now + inner.options.idle_poll;
            }
        }
        Err(error) => {
            metrics::counter!("fleet_slice_failures_total", "admin" => admin).increment(1);
            tracing::warn!(admin = %slot.admin, error = %error, "a fleet slice failed; the administration backs off");
            state.status.consecutive_failures = state.status.consecutive_failures.saturating_add(1);
            state.status.last_error = Some(error);
            state.status.activity = Activity::Failing;
            // Rebuilt from the registry next time (a new key, a fixed configuration).
            state.engine = None;
            let doublings = state.status.consecutive_failures.saturating_sub(1).min(16);
            let wait = inner
                .options
                .failure_backoff
                .saturating_mul(1 << doublings)
                .min(inner.options.max_failure_backoff);
            state.next_due = now + wait;
        }
    }
}

/// The administration's engine, built from the registry on first use (and after a failure
/// or a new key).
async fn engine_for<S, R, P, H>(
    inner: &Inner<S, R, P, H>,
    slot: &Slot<Engine<S, H>>,
) -> Result<Engine<S, H>, String>
where
    S: Store,
    R: AdministrationRegistry + AdministrationLeases + Send + Sync + 'static,
    P: KeyProvider + 'static,
    H: FleetSetup,
{
    if let Some(engine) = slot.state().engine.clone() {
        return Ok(engine);
    }
    let record = inner
        .registry
        .administration(&slot.admin)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("administration {} is not registered", slot.admin))?;
    let key = inner
        .sealer
        .open(&slot.admin, &record.sealed_key)
        .map_err(|e| e.to_string())?;
    let client = inner
        .template
        .client(&key)
        .map_err(|e| format!("no client for administration {}: {e}", slot.admin))?;
    let parts = inner.setup.engine_parts(&record)?;
    let engine = SyncEngine::builder(client, slot.admin.clone())
        .store(inner.store.clone())
        .source(parts.source)
        .sink(parts.sink)
        .config(parts.config)
        .options(parts.options)
        .build();
    let mut state = slot.state();
    if state.stopping {
        return Err(format!("administration {} is stopping", slot.admin));
    }
    state.engine = Some(engine.clone());
    Ok(engine)
}

impl<S, R, P, H> CouplingHooks for Fleet<S, R, P, H>
where
    S: Store,
    R: AdministrationRegistry + AdministrationLeases + Send + Sync + 'static,
    P: KeyProvider + 'static,
    H: FleetSetup,
{
    /// Wakes the fleet: the new administration is taken in the next maintenance round.
    async fn registered(&self, record: &AdministrationRecord) {
        let _ = record;
        self.inner.wake.notify_one();
    }

    /// Drops the client holding the old key; the next slice builds one with the new key.
    async fn key_replaced(&self, admin: &AdminKey) {
        if let Some(slot) = self.slot(admin) {
            slot.state().engine = None;
        }
    }

    /// Stops the administration here and releases its lease (the registry row is paused by
    /// the onboarding service, so no other fleet takes it).
    async fn stop(&self, admin: &AdminKey) {
        self.stop_local(admin).await;
    }
}
