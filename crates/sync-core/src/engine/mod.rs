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

mod admin;
pub(crate) mod backup;
mod bookings;
pub(crate) mod builder;
mod context;
mod create_once;
mod handler;
pub(crate) mod intake;
mod outbox;
mod projects;
pub(crate) mod readback;
pub(crate) mod reconcile;
mod relations;
mod worker;

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
use crate::error::{EngineError, FailureKind};
use crate::report::{Action, FailureEntry, PlanEntry, ReviewEntry, RunReport, StatusReport};
use crate::store::{
    AdminKey, EntityKind, Payload, ReplayFilter, StateArea, StateKey, Store, StoreError,
    StoredError, WorkItem, WorkState, WorkSummary,
};

pub(crate) use context::RunContext;

/// Tuning of the engine. The defaults suit SnelStart's test key.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EngineOptions {
    /// Items claimed per batch.
    pub batch_size: usize,
    /// Items processed at once; `None` follows the client's concurrency budget (or 32 when the
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
    /// How long what a run read from SnelStart to decide with (the relations matching looks
    /// at, the ledgers, the cost centres, each relation's kind, the financial year) serves
    /// the runs that continue it. A run that stops at its deadline with work left (a fleet's
    /// slice, which runs one batch) hands it to the next run of this engine, which would
    /// otherwise read it all again: a fleet spent a fifth of each administration's calls on
    /// such reads. A run after one that ended otherwise (the queue drained, an outage, an
    /// error) reads afresh, as does every run once this age has passed since the first read.
    /// `Duration::ZERO` reads afresh every run.
    pub reference_max_age: Duration,
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
            reference_max_age: Duration::from_secs(300),
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
    /// Set once this engine has counted the calls an earlier process made (see
    /// `SyncEngine::seed_budget`).
    pub(crate) budget_seeded: tokio::sync::OnceCell<()>,
    /// How many of this engine's own calls (`BudgetUsage::total`) are already in the store.
    pub(crate) budget_recorded: Mutex<u64>,
    /// The values this engine last read or wrote of the state it rewrites at the end of runs
    /// (the spent budget, the last successes): the expected value of its next
    /// compare-and-swap, so the usual case (no other writer meanwhile) is one statement
    /// instead of a read and a write. A conflict drops the entry and reads again.
    pub(crate) state_seen: Mutex<std::collections::HashMap<StateKey, Option<String>>>,
    /// When this engine last pruned finished work (see [`EngineOptions::retention`]).
    pub(crate) last_prune: Mutex<Option<DateTime<Utc>>>,
    /// What [`SyncEngine::run_until_idle`] sleeps for, while it does.
    pub(crate) waiting: Mutex<Option<crate::report::Waiting>>,
    /// The context of a run that stopped at its deadline with work left, and when it was
    /// made, for the run that continues it (see [`EngineOptions::reference_max_age`]).
    pub(crate) carried_context: Mutex<Option<(Arc<RunContext>, tokio::time::Instant)>>,
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

/// The queue payload of what the engine queues (a change, an attachment's work). Their keys
/// are all strings, so this does not fail for them; should a type ever lack a JSON form, the
/// caller gets an error instead of queueing a `null` payload.
fn queue_payload<T: serde::Serialize + ?Sized>(value: &T) -> Result<Payload, StoreError> {
    Payload::encode(value).map_err(|e| StoreError::invalid(e.to_string()))
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
                budget_seeded: tokio::sync::OnceCell::new(),
                budget_recorded: Mutex::new(0),
                state_seen: Mutex::default(),
                last_prune: Mutex::new(None),
                waiting: Mutex::new(None),
                carried_context: Mutex::new(None),
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
}
