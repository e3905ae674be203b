//! Storage: the durable state the sync engine keeps between runs.
//!
//! The engine is generic over a [`Store`]: the six capability traits below, each a small
//! async interface a backend implements. This crate ships [`MemoryStore`] (for tests and
//! short-lived tools); the embedded default is the `sync-store-sqlite` crate. Every backend
//! runs the same conformance suite (module `store::conformance`, feature `test-util`),
//! which checks the contract below point by point.
//!
//! The traits return `impl Future + Send` (no allocation per call), so they are not
//! dyn-compatible: there is no `dyn Store`. A host that chooses the backend at run time (a
//! SQLite file or a `postgres://` URL from its configuration) wraps it in a [`DynStore`],
//! which is itself a [`Store`] and hands every call, batch methods included, to the store
//! inside, for one boxed future per call.
//!
//! # Contract
//!
//! General rules, for every method of every trait:
//!
//! * **Atomic.** Each call is all-or-nothing: when it returns `Err`, nothing was changed,
//!   unless the error is [`StoreError::Backend`], in which case the caller must assume the
//!   outcome is unknown (the write may have been committed just before the connection broke)
//!   and re-read before deciding.
//! * **Durable.** When a write returns `Ok`, it survives the process being killed (a
//!   persistent backend commits before returning; the memory store is durable only for the
//!   life of the process, by design).
//! * **Linearizable per store.** Calls on clones of one store, from any number of tasks or
//!   threads, behave as if executed one at a time in some order consistent with real time.
//!   Persistent backends extend this to several processes sharing the same database.
//! * **Time is an argument.** Stores never read the clock: every operation that records or
//!   compares a time takes `now` from the caller. This keeps tests deterministic and lets the
//!   engine use one notion of time for a whole run.
//! * **Scoped by administration.** Records of different [`AdminKey`]s never interact.
//! * **Futures are `Send`** so the engine can run them on a multi-threaded runtime.
//!
//! ## Id links ([`LinkStore`])
//!
//! * A link is identified by `(admin, kind, crm_id, part)`: the [`LinkPart`] (the whole
//!   record, the supplier half of a relation, an attachment by file name) is a field of the
//!   key, stored apart from the CRM id, so no CRM id can spell another record's part. Within
//!   `(admin, kind)` the SnelStart id is unique, and so is the natural key when present:
//!   [`LinkStore::upsert_link`] returns [`StoreError::Conflict`] (and changes nothing) when
//!   another key already holds either. Re-upserting the same link is not a conflict.
//! * Lookups by any of the three keys return the same link.
//!   [`LinkStore::links_by_crm_ids`] answers a list of CRM ids as
//!   [`LinkStore::link_by_crm_id`] would answer each, in the order asked;
//!   [`LinkStore::links_by_keys`] does the same for a list of whole keys ([`LinkKey`]: kind,
//!   CRM id and part each their own).
//! * [`LinkStore::set_payload_hash`] is a compare-and-swap: it writes only when the stored
//!   hash equals `expected` (`None` meaning "no hash yet"), otherwise `Conflict`; `NotFound`
//!   when the link does not exist.
//! * [`LinkStore::list_links`] pages in ascending byte order of `(crm_id, part spelling,
//!   part name)` ([`LinkPart::sort_key`]), starting strictly after the given key (keyset
//!   paging: stable under concurrent inserts, no offsets).
//!
//! ## State values ([`StateStore`])
//!
//! * A value is a string under `(admin, key)`, where a [`StateKey`] is typed: its
//!   [`parts`](StateKey::parts) (area, kind, scope, subject) are stored as separate fields,
//!   so no CRM id can spell another record's key.
//! * [`StateStore::put_state`] is a compare-and-swap on the current value (`None` meaning
//!   "must not exist yet"); a mismatch is `Conflict`. Two engines pulling the same source
//!   therefore cannot both advance it. It records `now` as the value's `updated_at`.
//! * [`StateStore::states`] answers a list of keys as [`StateStore::state`] would answer
//!   each, in the order asked.
//! * [`StateStore::delete_state`] removes a value (compare-and-swap when `expected` is
//!   given); a later `put_state` with `expected = None` succeeds again.
//! * [`StateStore::prune_state`] deletes one area's values of one administration whose
//!   `updated_at` is before the given instant (retention of parked changes and consumed
//!   review decisions).

//! ## Work queue ([`QueueStore`])
//!
//! * **Ids** are assigned in enqueue order, increase strictly and are never reused.
//! * **Dependencies** must exist, in the same administration, when an item is enqueued
//!   (`NotFound` otherwise: an item of another administration is as good as unknown), so a
//!   dependency always has a smaller id than its dependant and cycles are impossible.
//! * **Coalescing.** [`QueueStore::enqueue`] of an item whose `(admin, kind, crm_id,
//!   operation)` matches a *Pending* item updates that item instead of adding one: the payload
//!   is replaced, dependencies become the union of both sets, `next_attempt_at` becomes the
//!   later of the two (a backoff in progress is kept), `updated_at` becomes `now`, and its id
//!   (and with it its place in the queue) and attempt count are kept. The existing id is
//!   returned. When several Pending items match, the newest is updated. Items in any other
//!   state are never touched: behind an InFlight item a new Pending item is added. (One
//!   exception keeps the "dependencies are older" rule: if a new dependency is newer than the
//!   Pending item, a new item is added instead of coalescing.)
//! * **Batches.** [`QueueStore::enqueue_batch`] enqueues items in order, each by the rules
//!   above (a later item of the batch coalesces into an earlier one like a later call would),
//!   and [`QueueStore::complete_batch`] completes several claims; each is **one atomic
//!   step**: when one item is refused (an unknown dependency, a lost lease, the same token
//!   twice) the call returns that error and nothing of the batch is written. The default
//!   implementations loop over the single-item methods, which is correct but neither atomic
//!   nor faster; the stores of this workspace override them with one transaction each, and
//!   the conformance suite checks atomicity.
//! * **Claim eligibility.** [`QueueStore::claim`] hands out, oldest id first and at most
//!   `limit`, the items of one administration that are either
//!   * Pending, with `next_attempt_at <= now`, all dependencies Done or Failed, and no older Pending or
//!     InFlight item for the same `(kind, crm_id)` (per-record FIFO: two writes for one
//!     record never run at the same time or out of order); or
//!   * InFlight with `lease_until <= now` (the worker holding it died or stalled: crash
//!     recovery). A store that can tell that the holder of a claim is dead (SQLite: an
//!     operating-system lock per open store, released when its process dies) may treat the
//!     claim's lease as ended at once; a live holder's lease is always honoured.
//! * **Claim effect.** Atomically with selecting them, each item becomes InFlight with
//!   `lease_until = now + lease`, `attempts + 1`, `updated_at = now`. Concurrent claimers
//!   (tasks, threads or processes) never receive the same item for the same lease.
//! * **Leases are fencing tokens.** `complete`, `reschedule`, `fail`, `needs_review` and
//!   `renew_lease` take the [`LeaseToken`] of the claim. They succeed only while the item is
//!   InFlight with that attempt number; otherwise `Conflict` (the lease was lost to another
//!   claimer or the item already moved on), or `NotFound` for an unknown id. An expired lease
//!   that nobody reclaimed yet is still honoured.
//! * **Giving claims back.** [`QueueStore::release_claims`] undoes claims that were not
//!   run: Pending again, no lease, `next_attempt_at` and `last_error` kept; the claim stays
//!   counted in `attempts` (an attempt number is never handed out twice, or a stale token
//!   could act on a later claim); fenced and atomic like `complete_batch`.
//! * **Blocking.** A Pending item whose dependency is NeedsReview (directly or through other
//!   items) stays Pending and is counted as `blocked` by [`QueueStore::counts`]; it runs once
//!   the review is resolved and the dependency is done. A **Failed** dependency does not block:
//!   its dependants become claimable, so the engine fails them naming the dependency instead of
//!   leaving them waiting in silence.
//! * **Replay** moves the Failed and/or NeedsReview items selected by a [`ReplayFilter`] back
//!   to Pending with `attempts = 0`, `next_attempt_at = now`, no lease and no review reasons;
//!   `last_error` is kept as history until the next error replaces it.
//!   [`QueueStore::replay_and_enqueue`] replays and then enqueues one item (which coalesces
//!   into a replayed item by the rules above) as **one atomic step**: when the enqueue is
//!   refused, nothing is replayed either. The default implementation makes the two calls
//!   one after the other (not atomic); the stores of this workspace use one transaction.
//! * **Pruning.** [`QueueStore::prune_done`] deletes the administration's Done items last
//!   updated before the given instant, except those an item that is not Done still depends
//!   on. The payloads (CRM personal data, attachments) go with them.
//! * **Listing** orders by id, ascending. [`QueueStore::list_summaries`] and
//!   [`QueueStore::record_items`] return [`WorkSummary`]s, never payloads, and must not read
//!   them: they serve status reports and dependency checks whose cost must not grow with
//!   the size of the payloads queued.
//! * **Wake-up.** [`QueueStore::next_due`] answers "when is the next thing due" from an
//!   index (no payloads, no scan of the queue), so a waiting engine's cost per wake does not
//!   grow with the queue.
//! * **Lookups by id** ([`QueueStore::work_item`]) are scoped too: the id of another
//!   administration's item reads as unknown.
//!
//! ## Outbox ([`OutboxStore`])
//!
//! * [`OutboxStore::finish_batch`] records the outcomes of claimed items (Done, Retry,
//!   Failed, NeedsReview, with the same fencing as `complete`, `reschedule`, `fail` and
//!   `needs_review`) **and** stores the events each produced, in one atomic step: an event
//!   exists exactly when its outcome does. One refused token (a lost lease, the same token
//!   twice) refuses the whole call and nothing is written. Events take the administration of
//!   their item. Each item's audit entries ([`FinishedItem::audit`]) are appended to the
//!   audit log in the same step (as [`AuditStore::append_audit`] would), and, like the
//!   events, not at all when the call is refused.
//! * [`OutboxStore::claim_outbox`] hands out, lowest id first and at most `limit`, the events
//!   of one administration with `next_attempt_at <= now`, each leased until `now + lease`
//!   (`next_attempt_at` moves there, `attempts + 1`): concurrent deliverers never hold the
//!   same event at once, and an event whose deliverer died is due again after the lease.
//! * [`OutboxStore::ack_outbox`] deletes delivered events, several in one commit, and counts
//!   those that existed (one already gone: another deliverer got there after a lease expired;
//!   at-least-once allows that).
//!   [`OutboxStore::retry_outbox`] makes it due at `at`, recording why (`NotFound` when
//!   gone).
//! * Every call is scoped by administration: an id of another administration is unknown.
//!
//! ## Audit log ([`AuditStore`])
//!
//! * Entries are append-only; [`AuditStore::recent_audit`] returns the newest first, in append order
//!   (not sorted by `at`, so a clock step backwards cannot reorder history).
//!
//! ## Mapping configuration ([`ConfigStore`])
//!
//! * Versions per administration are 1, 2, 3, ... without gaps.
//!   [`ConfigStore::save_config`] is a compare-and-swap on the latest version (`None`
//!   meaning "no version yet") and returns the new version; a mismatch is `Conflict`.
//!
//! ## Crash behaviour
//!
//! A process killed at any point loses no acknowledged write and never duplicates an item:
//! items it had claimed stay InFlight until their lease expires (or, on SQLite, until another
//! store sees that their holder's lock is gone: at once) and are then claimed again
//! (with a higher attempt count, which tells the engine the previous attempt's outcome is
//! unknown and must be resolved by natural key before writing).

mod audit;
mod config;
mod dynamic;
mod error;
mod link;
mod memory;
mod outbox;
mod payload;
mod queue;
mod state;
mod types;

#[cfg(feature = "test-util")]
pub mod conformance;

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::Stream;
use uuid::Uuid;

pub use audit::{AuditEntry, AuditOutcome};
pub use config::ConfigVersion;
pub use dynamic::DynStore;
pub use error::StoreError;
pub use link::{IdLink, LinkKey, LinkPart, describe_link, legacy_link_key};
pub use memory::MemoryStore;
pub use outbox::{FinishedItem, ItemOutcome, NewOutboxEvent, OutboxBacklog, OutboxEvent, OutboxId};
pub use payload::{Payload, PayloadError};
pub use queue::{
    LeaseToken, NewWorkItem, QueueCounts, ReplayFilter, StoredError, WorkItem, WorkItemId,
    WorkState, WorkSummary,
};
pub use state::{StateArea, StateKey, StateParts};
pub use types::{AdminKey, EntityKind, UnknownEntityKind};

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Id links between CRM records and SnelStart records. See the [module contract](self).
pub trait LinkStore {
    /// The link of a CRM record's `part`.
    fn link_by_crm_id(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
        part: &LinkPart,
    ) -> impl Future<Output = StoreResult<Option<IdLink>>> + Send;

    /// The links of several CRM records' `part`, one entry per id of `crm_ids` in the same
    /// order (`None` where a record has no link), as [`LinkStore::link_by_crm_id`] would
    /// answer each. The engine asks this once per claimed batch instead of once per record.
    ///
    /// The default implementation loops over [`LinkStore::link_by_crm_id`]; stores override
    /// it with one round trip (one query, or one turn of one connection).
    fn links_by_crm_ids(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_ids: &[&str],
        part: &LinkPart,
    ) -> impl Future<Output = StoreResult<Vec<Option<IdLink>>>> + Send
    where
        Self: Sync,
    {
        async move {
            let mut links = Vec::with_capacity(crm_ids.len());
            for crm_id in crm_ids {
                links.push(self.link_by_crm_id(admin, kind, crm_id, part).await?);
            }
            Ok(links)
        }
    }

    /// The links of several keys (kinds and parts may differ), one entry per key in the same
    /// order (`None` where there is no link), as [`LinkStore::link_by_crm_id`] would answer
    /// each. The engine reads the links a claimed batch of bookings and attachments will
    /// need with this, once per batch.
    ///
    /// The default implementation loops over [`LinkStore::link_by_crm_id`]; stores override
    /// it with one round trip (one query, or one turn of one connection).
    fn links_by_keys(
        &self,
        admin: &AdminKey,
        keys: &[LinkKey<'_>],
    ) -> impl Future<Output = StoreResult<Vec<Option<IdLink>>>> + Send
    where
        Self: Sync,
    {
        async move {
            let mut links = Vec::with_capacity(keys.len());
            for key in keys {
                links.push(
                    self.link_by_crm_id(admin, key.kind, key.crm_id, key.part)
                        .await?,
                );
            }
            Ok(links)
        }
    }

    /// The link of a SnelStart record.
    fn link_by_snelstart_id(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        snelstart_id: Uuid,
    ) -> impl Future<Output = StoreResult<Option<IdLink>>> + Send;

    /// The link holding a natural key (relatiecode, kostenplaats nummer, factuurnummer).
    fn link_by_natural_key(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        natural_key: &str,
    ) -> impl Future<Output = StoreResult<Option<IdLink>>> + Send;

    /// Inserts or replaces the link of `(link.crm_id, link.part)`. `Conflict` when another key
    /// holds the same SnelStart id or natural key.
    fn upsert_link(&self, link: IdLink) -> impl Future<Output = StoreResult<()>> + Send;

    /// Compare-and-swap of the payload hash: writes `new` (and `updated_at = now`) only when
    /// the stored hash equals `expected`.
    #[allow(clippy::too_many_arguments)]
    fn set_payload_hash(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
        part: &LinkPart,
        expected: Option<&str>,
        new: Option<&str>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Up to `limit` links of `(admin, kind)` with a key `(crm_id, part)` greater than
    /// `after`, ascending (see the [module contract](self) for the order).
    fn list_links(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        after: Option<(&str, &LinkPart)>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<IdLink>>> + Send;

    /// Deletes a link; `true` when it existed.
    fn delete_link(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
        part: &LinkPart,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// Small typed state values of an administration: cursors, bindings, parked changes, review
/// decisions, read-back positions. See the [module contract](self).
pub trait StateStore {
    /// The value under `key`, `None` when never written (or deleted).
    fn state(
        &self,
        admin: &AdminKey,
        key: &StateKey,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;

    /// The values under several keys, one entry per key of `keys` in the same order, as
    /// [`StateStore::state`] would answer each. The engine asks it once per claimed batch
    /// (the review decisions of the batch's unlinked relations).
    ///
    /// The default implementation loops over [`StateStore::state`]; stores override it with
    /// one round trip.
    fn states(
        &self,
        admin: &AdminKey,
        keys: &[StateKey],
    ) -> impl Future<Output = StoreResult<Vec<Option<String>>>> + Send
    where
        Self: Sync,
    {
        async move {
            let mut values = Vec::with_capacity(keys.len());
            for key in keys {
                values.push(self.state(admin, key).await?);
            }
            Ok(values)
        }
    }

    /// Compare-and-swap: sets `key` to `value` (and its `updated_at` to `now`) only when its
    /// current value equals `expected` (`None`: the key must not exist).
    fn put_state(
        &self,
        admin: &AdminKey,
        key: &StateKey,
        expected: Option<&str>,
        value: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Deletes `key`; with `expected` set only while the value equals it (`Conflict`
    /// otherwise). Returns whether a value was deleted.
    fn delete_state(
        &self,
        admin: &AdminKey,
        key: &StateKey,
        expected: Option<&str>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Deletes the values of `area` last written before `before`; returns how many.
    fn prune_state(
        &self,
        admin: &AdminKey,
        area: StateArea,
        before: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// The durable work queue. See the [module contract](self).
pub trait QueueStore {
    /// Adds an item, or coalesces it into a matching Pending one; returns the item's id.
    fn enqueue(
        &self,
        item: NewWorkItem,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<WorkItemId>> + Send;

    /// Enqueues `items` in order, as [`QueueStore::enqueue`] would one by one, in one atomic
    /// step (see the [module contract](self)); returns each item's id, in order. An empty
    /// batch writes nothing.
    ///
    /// The default implementation loops over [`QueueStore::enqueue`]: it is neither atomic
    /// nor faster. Stores override it with one transaction, which is what makes queueing a
    /// large export cheap (one commit per batch instead of one per item).
    fn enqueue_batch(
        &self,
        items: Vec<NewWorkItem>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<WorkItemId>>> + Send
    where
        Self: Sync,
    {
        async move {
            let mut ids = Vec::with_capacity(items.len());
            for item in items {
                ids.push(self.enqueue(item, now).await?);
            }
            Ok(ids)
        }
    }

    /// Atomically claims up to `limit` eligible items of `admin`, oldest first, leasing each
    /// until `now + lease`.
    fn claim(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> impl Future<Output = StoreResult<Vec<WorkItem>>> + Send;

    /// Extends a claim to `now + lease` (a heartbeat for long work).
    fn renew_lease(
        &self,
        token: LeaseToken,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Marks a claimed item Done.
    fn complete(
        &self,
        token: LeaseToken,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Marks several claimed items Done in one atomic step: every token must hold its lease
    /// (as for [`QueueStore::complete`]), and the same token may not occur twice; otherwise
    /// the first refused token's `Conflict` or `NotFound` is returned and no item changes.
    ///
    /// The default implementation loops over [`QueueStore::complete`]: it is neither atomic
    /// nor faster. Stores override it with one transaction.
    fn complete_batch(
        &self,
        tokens: &[LeaseToken],
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send
    where
        Self: Sync,
    {
        async move {
            for token in tokens {
                self.complete(*token, now).await?;
            }
            Ok(())
        }
    }

    /// Gives claims back unrun: each item returns to Pending with no lease, its
    /// `next_attempt_at` and `last_error` unchanged, so the next claim hands it out again at
    /// once. The claim still counts as an attempt: attempt numbers fence leases, so one must
    /// never be handed out twice. One atomic step
    /// fenced like [`QueueStore::complete_batch`]: a token that lost its lease (`Conflict`),
    /// an unknown id (`NotFound`) or the same token twice (`Conflict`) refuses the call and
    /// no item changes. The engine uses it for a batch it claimed ahead and then did not run
    /// (SnelStart stopped answering, the run's deadline passed).
    ///
    /// The default implementation reschedules each item at `now`, which keeps the claim's
    /// attempt and records a `released` error: correct, not atomic, and an attempt is
    /// counted. Stores override it.
    fn release_claims(
        &self,
        tokens: &[LeaseToken],
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send
    where
        Self: Sync,
    {
        async move {
            for token in tokens {
                let error = StoredError::new(
                    "released",
                    "claimed ahead of its batch and given back unrun",
                );
                self.reschedule(*token, now, error, now).await?;
            }
            Ok(())
        }
    }

    /// Returns a claimed item to Pending, not claimable before `at`, recording `error`.
    fn reschedule(
        &self,
        token: LeaseToken,
        at: DateTime<Utc>,
        error: StoredError,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Marks a claimed item Failed, recording `error`.
    fn fail(
        &self,
        token: LeaseToken,
        error: StoredError,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Marks a claimed item NeedsReview with the reasons a human must decide on.
    fn needs_review(
        &self,
        token: LeaseToken,
        reasons: serde_json::Value,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Sends the selected Failed / NeedsReview items back to Pending; returns how many.
    fn replay(
        &self,
        filter: &ReplayFilter,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// [`QueueStore::replay`] with `stale`, then [`QueueStore::enqueue`] of `item`, in one
    /// atomic step (see the [module contract](self)); returns the item's id. The engine
    /// queues a record's newer change (or an invoice's attachment) this way: a failed earlier
    /// item of the same record comes back and takes the new payload, instead of a second item
    /// piling up beside it.
    ///
    /// The default implementation makes the two calls one after the other: correct for the
    /// engine (a replay without its enqueue only runs the failed item again) but not atomic.
    /// Stores override it with one transaction, which also costs one commit instead of two.
    fn replay_and_enqueue(
        &self,
        stale: &ReplayFilter,
        item: NewWorkItem,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<WorkItemId>> + Send
    where
        Self: Sync,
    {
        async move {
            self.replay(stale, now).await?;
            self.enqueue(item, now).await
        }
    }

    /// Item counts per state for `admin`.
    fn counts(&self, admin: &AdminKey) -> impl Future<Output = StoreResult<QueueCounts>> + Send;

    /// Items of `admin` (in `state`, when given), ordered by id, paged by `limit`/`offset`.
    fn list_work(
        &self,
        admin: &AdminKey,
        state: Option<WorkState>,
        limit: usize,
        offset: usize,
    ) -> impl Future<Output = StoreResult<Vec<WorkItem>>> + Send;

    /// Items of `admin` (in `state`, when given) without their payloads, ordered by id,
    /// starting strictly after `after` (keyset paging: stable while items are added).
    fn list_summaries(
        &self,
        admin: &AdminKey,
        state: Option<WorkState>,
        after: Option<WorkItemId>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<WorkSummary>>> + Send;

    /// Every item of one record (`admin`, `kind`, `crm_id`), any state and operation, without
    /// payloads, ordered by id.
    fn record_items(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<WorkSummary>>> + Send;

    /// The earliest instant at which waiting work of `admin` becomes due: the smallest
    /// `next_attempt_at` after `now` of a Pending item, or the smallest `lease_until` of an
    /// InFlight item (expired ones included: they are due at once). `None` when neither
    /// exists. Pending items already due are not reported: if they were not claimed they wait
    /// for a dependency or an older item of their record, not for a time.
    fn next_due(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<DateTime<Utc>>>> + Send;

    /// One item of `admin` by id; `None` when the id is unknown or belongs to another
    /// administration.
    fn work_item(
        &self,
        admin: &AdminKey,
        id: WorkItemId,
    ) -> impl Future<Output = StoreResult<Option<WorkItem>>> + Send;

    /// Deletes the Done items of `admin` last updated before `before` that no item of any
    /// other state depends on (their payloads go with them); returns how many.
    fn prune_done(
        &self,
        admin: &AdminKey,
        before: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// The append-only audit log. See the [module contract](self).
pub trait AuditStore {
    /// Appends an entry.
    fn append_audit(&self, entry: AuditEntry) -> impl Future<Output = StoreResult<()>> + Send;

    /// The newest `limit` entries of `admin`, newest first.
    fn recent_audit(
        &self,
        admin: &AdminKey,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<AuditEntry>>> + Send;

    /// Deletes the entries of `admin` whose `at` is before `before`; returns how many.
    fn prune_audit(
        &self,
        admin: &AdminKey,
        before: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// Events for the CRM sink, stored with the outcome that produced them and delivered until
/// the sink accepts them. See the [module contract](self).
pub trait OutboxStore {
    /// Records each item's outcome and stores its events and audit entries, all in one
    /// atomic step.
    fn finish_batch(
        &self,
        items: Vec<FinishedItem>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Leases up to `limit` due events of `admin` for delivery, lowest id first.
    fn claim_outbox(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> impl Future<Output = StoreResult<Vec<OutboxEvent>>> + Send;

    /// Deletes delivered events in one step; returns how many existed.
    fn ack_outbox(
        &self,
        admin: &AdminKey,
        ids: &[OutboxId],
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Makes an event due again at `at`, recording why it was not delivered (`None`: it was
    /// not tried, only handed back).
    fn retry_outbox(
        &self,
        admin: &AdminKey,
        id: OutboxId,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// How many events of `admin` wait, and when the next is due.
    fn outbox_backlog(
        &self,
        admin: &AdminKey,
    ) -> impl Future<Output = StoreResult<OutboxBacklog>> + Send;
}

/// Versioned mapping configurations. See the [module contract](self).
pub trait ConfigStore {
    /// Saves `document` as the next version when the latest version equals
    /// `expected_version` (`None`: no version yet); returns the new version number.
    fn save_config(
        &self,
        admin: &AdminKey,
        document: serde_json::Value,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// One version.
    fn config(
        &self,
        admin: &AdminKey,
        version: u64,
    ) -> impl Future<Output = StoreResult<Option<ConfigVersion>>> + Send;

    /// The latest version.
    fn latest_config(
        &self,
        admin: &AdminKey,
    ) -> impl Future<Output = StoreResult<Option<ConfigVersion>>> + Send;

    /// All version numbers, ascending.
    fn config_versions(
        &self,
        admin: &AdminKey,
    ) -> impl Future<Output = StoreResult<Vec<u64>>> + Send;
}

/// Everything the engine needs from storage. Implemented automatically for every type that
/// implements the six capability traits and is cheap to clone and shareable across tasks.
pub trait Store:
    LinkStore
    + StateStore
    + QueueStore
    + OutboxStore
    + AuditStore
    + ConfigStore
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: LinkStore
        + StateStore
        + QueueStore
        + OutboxStore
        + AuditStore
        + ConfigStore
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// `now + lease`, or [`StoreError::Invalid`] when that is not representable.
///
/// Shared by store implementations so they reject the same inputs.
pub fn lease_expiry(now: DateTime<Utc>, lease: Duration) -> StoreResult<DateTime<Utc>> {
    chrono::TimeDelta::from_std(lease)
        .ok()
        .and_then(|delta| now.checked_add_signed(delta))
        .ok_or_else(|| StoreError::invalid(format!("lease of {lease:?} from {now} overflows")))
}

/// Streams every link of `(admin, kind)` in key order, fetching `page_size` at a time, so
/// callers can walk all links with bounded memory.
pub fn stream_links<S: LinkStore + Sync>(
    store: &S,
    admin: AdminKey,
    kind: EntityKind,
    page_size: usize,
) -> impl Stream<Item = StoreResult<IdLink>> + Send + '_ {
    let page_size = page_size.max(1);
    let pages = futures::stream::try_unfold(
        (Some(None::<(String, LinkPart)>), admin),
        move |(after, admin)| async move {
            // `None` in the outer option: the previous page was the last.
            let Some(after) = after else {
                return Ok(None);
            };
            let page = store
                .list_links(
                    &admin,
                    kind,
                    after.as_ref().map(|(crm_id, part)| (crm_id.as_str(), part)),
                    page_size,
                )
                .await?;
            if page.is_empty() {
                return Ok(None);
            }
            let next = (page.len() == page_size)
                .then(|| page.last().map(|l| (l.crm_id.clone(), l.part.clone())));
            let page_stream = futures::stream::iter(page.into_iter().map(Ok));
            Ok(Some((page_stream, (next, admin))))
        },
    );
    futures::TryStreamExt::try_flatten(pages)
}
