//! [`DynStore`]: one store type for hosts that choose the backend at run time.
//!
//! The capability traits return `impl Future + Send`, which keeps every call free of
//! allocation but makes the traits not dyn-compatible: `dyn Store` does not exist, and a
//! host that reads "SQLite or PostgreSQL" from its configuration would otherwise need its
//! own enum that delegates every method. [`DynStore`] is that delegation, written once: a
//! private object-safe mirror of the six traits whose methods return boxed futures, a blanket
//! implementation of it for every [`Store`], and a cheap-to-clone handle over
//! `Arc<dyn …>` that implements the six traits (and hence [`Store`]) again.
//!
//! The price is one heap allocation (the boxed future) and one indirect call per store call.
//! Against a store call that reaches a database (a SQLite commit, a PostgreSQL round trip)
//! that is noise; ADR 003 gives the figures.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use uuid::Uuid;

use super::{
    AdminKey, AuditEntry, AuditStore, ConfigStore, ConfigVersion, EntityKind, FinishedItem, IdLink,
    LeaseToken, LinkKey, LinkPart, LinkStore, NewWorkItem, OutboxBacklog, OutboxEvent, OutboxId,
    OutboxStore, QueueCounts, QueueStore, ReplayFilter, StateArea, StateKey, StateStore, Store,
    StoreResult, StoredError, WorkItem, WorkItemId, WorkState, WorkSummary,
};

/// A store chosen at run time: any [`Store`] behind one type.
///
/// Clones share the store inside (an `Arc`), so cloning is as cheap as cloning the stores of
/// this workspace. Every method of the six capability traits, the batch methods with default
/// implementations included, goes to the store inside, so a store's own one-transaction
/// [`QueueStore::enqueue_batch`] and [`QueueStore::complete_batch`] keep their atomicity and
/// speed. The contract (module [`store`](super)) is therefore exactly the inner store's; the
/// conformance suite runs against `DynStore` over each backend of this workspace.
///
/// Each call costs one heap allocation (its future is boxed) and an indirect call; the
/// generic engine over a concrete store avoids both, so prefer the concrete type when it is
/// known at compile time.
///
/// ```
/// use sync_core::store::{AdminKey, DynStore, MemoryStore, StateKey, StateStore};
/// use sync_core::{MemorySink, MemorySource, SyncEngine};
///
/// /// The store the configuration names. A real host opens a `SqliteStore`
/// /// (sync-store-sqlite) or a `PostgresStore` (sync-store-postgres) here.
/// fn open(configured: &str) -> DynStore {
///     match configured {
///         // url if url.starts_with("postgres") => DynStore::new(PostgresStore::connect(..).await?),
///         // path => DynStore::new(SqliteStore::open(path)?),
///         _ => DynStore::new(MemoryStore::new()),
///     }
/// }
///
/// // One engine type, whichever store was configured.
/// fn engine(
///     client: snelstart_client::Client,
///     store: DynStore,
/// ) -> SyncEngine<DynStore, MemorySource, MemorySink> {
///     SyncEngine::builder(client, AdminKey::new("bakkerij-de-korst"))
///         .store(store)
///         .source(MemorySource::default())
///         .sink(MemorySink::new())
///         .config(mapping::config::MappingConfig::default())
///         .build()
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = open("memory");
/// let admin = AdminKey::new("bakkerij-de-korst");
/// let now = chrono::Utc::now();
/// store.put_state(&admin, &StateKey::SourceCursor, None, "42", now).await?;
/// assert_eq!(store.state(&admin, &StateKey::SourceCursor).await?.as_deref(), Some("42"));
/// // The backend's own methods stay reachable.
/// assert!(store.downcast_ref::<MemoryStore>().is_some());
/// # Ok::<(), sync_core::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct DynStore {
    inner: Arc<dyn ObjectStore>,
}

impl DynStore {
    /// Wraps `store`. Wrapping a `DynStore` again returns it as it is (no second layer of
    /// boxing).
    pub fn new<S: Store>(store: S) -> Self {
        let any: &dyn Any = &store;
        if let Some(already) = any.downcast_ref::<DynStore>() {
            return already.clone();
        }
        Self {
            inner: Arc::new(store),
        }
    }

    /// The store inside, when it is an `S`: for what only the backend offers (the SQLite
    /// file's path, the PostgreSQL schema's name, a registry in the same database).
    pub fn downcast_ref<S: Store>(&self) -> Option<&S> {
        self.inner.as_any().downcast_ref::<S>()
    }

    /// The type name of the store inside (for logs; [`std::any::type_name`], so not a stable
    /// identifier).
    pub fn backend_name(&self) -> &'static str {
        self.inner.type_name()
    }
}

impl fmt::Debug for DynStore {
    /// Names the backend's type only: a store's own `Debug` may show a path or a server, and
    /// the type name holds nothing secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DynStore")
            .field(&format_args!("{}", self.backend_name()))
            .finish()
    }
}

/// The six capability traits as one dyn-compatible trait: the same methods, each returning a
/// boxed future that borrows its arguments for `'a`. Private: hosts name [`DynStore`], and
/// the mirror can follow the traits without a breaking change.
trait ObjectStore: Send + Sync + 'static {
    fn as_any(&self) -> &dyn Any;
    fn type_name(&self) -> &'static str;

    // LinkStore
    fn link_by_crm_id<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        crm_id: &'a str,
        part: &'a LinkPart,
    ) -> BoxFuture<'a, StoreResult<Option<IdLink>>>;
    fn links_by_crm_ids<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        crm_ids: &'a [&'a str],
        part: &'a LinkPart,
    ) -> BoxFuture<'a, StoreResult<Vec<Option<IdLink>>>>;
    fn links_by_keys<'a>(
        &'a self,
        admin: &'a AdminKey,
        keys: &'a [LinkKey<'a>],
    ) -> BoxFuture<'a, StoreResult<Vec<Option<IdLink>>>>;
    fn link_by_snelstart_id<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        snelstart_id: Uuid,
    ) -> BoxFuture<'a, StoreResult<Option<IdLink>>>;
    fn link_by_natural_key<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        natural_key: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<IdLink>>>;
    fn upsert_link(&self, link: IdLink) -> BoxFuture<'_, StoreResult<()>>;
    #[allow(clippy::too_many_arguments)]
    fn set_payload_hash<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        crm_id: &'a str,
        part: &'a LinkPart,
        expected: Option<&'a str>,
        new: Option<&'a str>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn list_links<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        after: Option<(&'a str, &'a LinkPart)>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<IdLink>>>;
    fn delete_link<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        crm_id: &'a str,
        part: &'a LinkPart,
    ) -> BoxFuture<'a, StoreResult<bool>>;

    // StateStore
    fn state<'a>(
        &'a self,
        admin: &'a AdminKey,
        key: &'a StateKey,
    ) -> BoxFuture<'a, StoreResult<Option<String>>>;
    fn states<'a>(
        &'a self,
        admin: &'a AdminKey,
        keys: &'a [StateKey],
    ) -> BoxFuture<'a, StoreResult<Vec<Option<String>>>>;
    fn put_state<'a>(
        &'a self,
        admin: &'a AdminKey,
        key: &'a StateKey,
        expected: Option<&'a str>,
        value: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn delete_state<'a>(
        &'a self,
        admin: &'a AdminKey,
        key: &'a StateKey,
        expected: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    fn prune_state<'a>(
        &'a self,
        admin: &'a AdminKey,
        area: StateArea,
        before: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<u64>>;

    // QueueStore
    fn enqueue(
        &self,
        item: NewWorkItem,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<WorkItemId>>;
    fn enqueue_batch(
        &self,
        items: Vec<NewWorkItem>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<Vec<WorkItemId>>>;
    fn claim<'a>(
        &'a self,
        admin: &'a AdminKey,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> BoxFuture<'a, StoreResult<Vec<WorkItem>>>;
    fn renew_lease(
        &self,
        token: LeaseToken,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> BoxFuture<'_, StoreResult<()>>;
    fn complete(&self, token: LeaseToken, now: DateTime<Utc>) -> BoxFuture<'_, StoreResult<()>>;
    fn complete_batch<'a>(
        &'a self,
        tokens: &'a [LeaseToken],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn release_claims<'a>(
        &'a self,
        tokens: &'a [LeaseToken],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn reschedule(
        &self,
        token: LeaseToken,
        at: DateTime<Utc>,
        error: StoredError,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<()>>;
    fn fail(
        &self,
        token: LeaseToken,
        error: StoredError,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<()>>;
    fn needs_review(
        &self,
        token: LeaseToken,
        reasons: serde_json::Value,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<()>>;
    fn replay<'a>(
        &'a self,
        filter: &'a ReplayFilter,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<u64>>;
    fn replay_and_enqueue<'a>(
        &'a self,
        stale: &'a ReplayFilter,
        item: NewWorkItem,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<WorkItemId>>;
    fn counts<'a>(&'a self, admin: &'a AdminKey) -> BoxFuture<'a, StoreResult<QueueCounts>>;
    fn list_work<'a>(
        &'a self,
        admin: &'a AdminKey,
        state: Option<WorkState>,
        limit: usize,
        offset: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<WorkItem>>>;
    fn list_summaries<'a>(
        &'a self,
        admin: &'a AdminKey,
        state: Option<WorkState>,
        after: Option<WorkItemId>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<WorkSummary>>>;
    fn record_items<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        crm_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<WorkSummary>>>;
    fn next_due<'a>(
        &'a self,
        admin: &'a AdminKey,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<Option<DateTime<Utc>>>>;
    fn work_item<'a>(
        &'a self,
        admin: &'a AdminKey,
        id: WorkItemId,
    ) -> BoxFuture<'a, StoreResult<Option<WorkItem>>>;
    fn prune_done<'a>(
        &'a self,
        admin: &'a AdminKey,
        before: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<u64>>;

    // OutboxStore
    fn finish_batch(
        &self,
        items: Vec<FinishedItem>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<()>>;
    fn claim_outbox<'a>(
        &'a self,
        admin: &'a AdminKey,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> BoxFuture<'a, StoreResult<Vec<OutboxEvent>>>;
    fn ack_outbox<'a>(
        &'a self,
        admin: &'a AdminKey,
        ids: &'a [OutboxId],
    ) -> BoxFuture<'a, StoreResult<u64>>;
    fn retry_outbox<'a>(
        &'a self,
        admin: &'a AdminKey,
        id: OutboxId,
        at: DateTime<Utc>,
        error: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn outbox_backlog<'a>(
        &'a self,
        admin: &'a AdminKey,
    ) -> BoxFuture<'a, StoreResult<OutboxBacklog>>;

    // AuditStore
    fn append_audit(&self, entry: AuditEntry) -> BoxFuture<'_, StoreResult<()>>;
    fn recent_audit<'a>(
        &'a self,
        admin: &'a AdminKey,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<AuditEntry>>>;
    fn prune_audit<'a>(
        &'a self,
        admin: &'a AdminKey,
        before: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<u64>>;

    // ConfigStore
    fn save_config<'a>(
        &'a self,
        admin: &'a AdminKey,
        document: serde_json::Value,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<u64>>;
    fn config<'a>(
        &'a self,
        admin: &'a AdminKey,
        version: u64,
    ) -> BoxFuture<'a, StoreResult<Option<ConfigVersion>>>;
    fn latest_config<'a>(
        &'a self,
        admin: &'a AdminKey,
    ) -> BoxFuture<'a, StoreResult<Option<ConfigVersion>>>;
    fn config_versions<'a>(&'a self, admin: &'a AdminKey) -> BoxFuture<'a, StoreResult<Vec<u64>>>;
}

/// Every method names the trait it calls (`LinkStore::upsert_link(self, ..)`), so a call can
/// never resolve to the `ObjectStore` method of the same name and recurse.
impl<S: Store> ObjectStore for S {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<S>()
    }

    fn link_by_crm_id<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        crm_id: &'a str,
        part: &'a LinkPart,
    ) -> BoxFuture<'a, StoreResult<Option<IdLink>>> {
        Box::pin(LinkStore::link_by_crm_id(self, admin, kind, crm_id, part))
    }

    fn links_by_crm_ids<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        crm_ids: &'a [&'a str],
        part: &'a LinkPart,
    ) -> BoxFuture<'a, StoreResult<Vec<Option<IdLink>>>> {
        Box::pin(LinkStore::links_by_crm_ids(
            self, admin, kind, crm_ids, part,
        ))
    }

    fn links_by_keys<'a>(
        &'a self,
        admin: &'a AdminKey,
        keys: &'a [LinkKey<'a>],
    ) -> BoxFuture<'a, StoreResult<Vec<Option<IdLink>>>> {
        // `S`'s own batch look-up (its override, when it has one): one round trip.
        Box::pin(LinkStore::links_by_keys(self, admin, keys))
    }

    fn link_by_snelstart_id<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        snelstart_id: Uuid,
    ) -> BoxFuture<'a, StoreResult<Option<IdLink>>> {
        Box::pin(LinkStore::link_by_snelstart_id(
            self,
            admin,
            kind,
            snelstart_id,
        ))
    }

    fn link_by_natural_key<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        natural_key: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<IdLink>>> {
        Box::pin(LinkStore::link_by_natural_key(
            self,
            admin,
            kind,
            natural_key,
        ))
    }

    fn upsert_link(&self, link: IdLink) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(LinkStore::upsert_link(self, link))
    }

    fn set_payload_hash<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        crm_id: &'a str,
        part: &'a LinkPart,
        expected: Option<&'a str>,
        new: Option<&'a str>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(LinkStore::set_payload_hash(
            self, admin, kind, crm_id, part, expected, new, now,
        ))
    }

    fn list_links<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        after: Option<(&'a str, &'a LinkPart)>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<IdLink>>> {
        Box::pin(LinkStore::list_links(self, admin, kind, after, limit))
    }

    fn delete_link<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        crm_id: &'a str,
        part: &'a LinkPart,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(LinkStore::delete_link(self, admin, kind, crm_id, part))
    }

    fn state<'a>(
        &'a self,
        admin: &'a AdminKey,
        key: &'a StateKey,
    ) -> BoxFuture<'a, StoreResult<Option<String>>> {
        Box::pin(StateStore::state(self, admin, key))
    }

    fn states<'a>(
        &'a self,
        admin: &'a AdminKey,
        keys: &'a [StateKey],
    ) -> BoxFuture<'a, StoreResult<Vec<Option<String>>>> {
        Box::pin(StateStore::states(self, admin, keys))
    }

    fn put_state<'a>(
        &'a self,
        admin: &'a AdminKey,
        key: &'a StateKey,
        expected: Option<&'a str>,
        value: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(StateStore::put_state(
            self, admin, key, expected, value, now,
        ))
    }

    fn delete_state<'a>(
        &'a self,
        admin: &'a AdminKey,
        key: &'a StateKey,
        expected: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(StateStore::delete_state(self, admin, key, expected))
    }

    fn prune_state<'a>(
        &'a self,
        admin: &'a AdminKey,
        area: StateArea,
        before: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(StateStore::prune_state(self, admin, area, before))
    }

    fn enqueue(
        &self,
        item: NewWorkItem,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<WorkItemId>> {
        Box::pin(QueueStore::enqueue(self, item, now))
    }

    fn enqueue_batch(
        &self,
        items: Vec<NewWorkItem>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<Vec<WorkItemId>>> {
        // `S`'s own enqueue_batch (its override, when it has one): one transaction.
        Box::pin(QueueStore::enqueue_batch(self, items, now))
    }

    fn claim<'a>(
        &'a self,
        admin: &'a AdminKey,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> BoxFuture<'a, StoreResult<Vec<WorkItem>>> {
        Box::pin(QueueStore::claim(self, admin, now, limit, lease))
    }

    fn renew_lease(
        &self,
        token: LeaseToken,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(QueueStore::renew_lease(self, token, now, lease))
    }

    fn complete(&self, token: LeaseToken, now: DateTime<Utc>) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(QueueStore::complete(self, token, now))
    }

    fn complete_batch<'a>(
        &'a self,
        tokens: &'a [LeaseToken],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        // As enqueue_batch: `S`'s override, not the trait's loop.
        Box::pin(QueueStore::complete_batch(self, tokens, now))
    }

    fn release_claims<'a>(
        &'a self,
        tokens: &'a [LeaseToken],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(QueueStore::release_claims(self, tokens, now))
    }

    fn reschedule(
        &self,
        token: LeaseToken,
        at: DateTime<Utc>,
        error: StoredError,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(QueueStore::reschedule(self, token, at, error, now))
    }

    fn fail(
        &self,
        token: LeaseToken,
        error: StoredError,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(QueueStore::fail(self, token, error, now))
    }

    fn needs_review(
        &self,
        token: LeaseToken,
        reasons: serde_json::Value,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(QueueStore::needs_review(self, token, reasons, now))
    }

    fn replay<'a>(
        &'a self,
        filter: &'a ReplayFilter,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(QueueStore::replay(self, filter, now))
    }

    fn replay_and_enqueue<'a>(
        &'a self,
        stale: &'a ReplayFilter,
        item: NewWorkItem,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<WorkItemId>> {
        // `S`'s own (one transaction, when it overrides the default).
        Box::pin(QueueStore::replay_and_enqueue(self, stale, item, now))
    }

    fn counts<'a>(&'a self, admin: &'a AdminKey) -> BoxFuture<'a, StoreResult<QueueCounts>> {
        Box::pin(QueueStore::counts(self, admin))
    }

    fn list_work<'a>(
        &'a self,
        admin: &'a AdminKey,
        state: Option<WorkState>,
        limit: usize,
        offset: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<WorkItem>>> {
        Box::pin(QueueStore::list_work(self, admin, state, limit, offset))
    }

    fn list_summaries<'a>(
        &'a self,
        admin: &'a AdminKey,
        state: Option<WorkState>,
        after: Option<WorkItemId>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<WorkSummary>>> {
        Box::pin(QueueStore::list_summaries(self, admin, state, after, limit))
    }

    fn record_items<'a>(
        &'a self,
        admin: &'a AdminKey,
        kind: EntityKind,
        crm_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<WorkSummary>>> {
        Box::pin(QueueStore::record_items(self, admin, kind, crm_id))
    }

    fn next_due<'a>(
        &'a self,
        admin: &'a AdminKey,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<Option<DateTime<Utc>>>> {
        Box::pin(QueueStore::next_due(self, admin, now))
    }

    fn work_item<'a>(
        &'a self,
        admin: &'a AdminKey,
        id: WorkItemId,
    ) -> BoxFuture<'a, StoreResult<Option<WorkItem>>> {
        Box::pin(QueueStore::work_item(self, admin, id))
    }

    fn prune_done<'a>(
        &'a self,
        admin: &'a AdminKey,
        before: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(QueueStore::prune_done(self, admin, before))
    }

    fn finish_batch(
        &self,
        items: Vec<FinishedItem>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(OutboxStore::finish_batch(self, items, now))
    }

    fn claim_outbox<'a>(
        &'a self,
        admin: &'a AdminKey,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> BoxFuture<'a, StoreResult<Vec<OutboxEvent>>> {
        Box::pin(OutboxStore::claim_outbox(self, admin, now, limit, lease))
    }

    fn ack_outbox<'a>(
        &'a self,
        admin: &'a AdminKey,
        ids: &'a [OutboxId],
    ) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(OutboxStore::ack_outbox(self, admin, ids))
    }

    fn retry_outbox<'a>(
        &'a self,
        admin: &'a AdminKey,
        id: OutboxId,
        at: DateTime<Utc>,
        error: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(OutboxStore::retry_outbox(self, admin, id, at, error))
    }

    fn outbox_backlog<'a>(
        &'a self,
        admin: &'a AdminKey,
    ) -> BoxFuture<'a, StoreResult<OutboxBacklog>> {
        Box::pin(OutboxStore::outbox_backlog(self, admin))
    }

    fn append_audit(&self, entry: AuditEntry) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(AuditStore::append_audit(self, entry))
    }

    fn recent_audit<'a>(
        &'a self,
        admin: &'a AdminKey,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<AuditEntry>>> {
        Box::pin(AuditStore::recent_audit(self, admin, limit))
    }

    fn prune_audit<'a>(
        &'a self,
        admin: &'a AdminKey,
        before: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(AuditStore::prune_audit(self, admin, before))
    }

    fn save_config<'a>(
        &'a self,
        admin: &'a AdminKey,
        document: serde_json::Value,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(ConfigStore::save_config(
            self,
            admin,
            document,
            expected_version,
            now,
        ))
    }

    fn config<'a>(
        &'a self,
        admin: &'a AdminKey,
        version: u64,
    ) -> BoxFuture<'a, StoreResult<Option<ConfigVersion>>> {
        Box::pin(ConfigStore::config(self, admin, version))
    }

    fn latest_config<'a>(
        &'a self,
        admin: &'a AdminKey,
    ) -> BoxFuture<'a, StoreResult<Option<ConfigVersion>>> {
        Box::pin(ConfigStore::latest_config(self, admin))
    }

    fn config_versions<'a>(&'a self, admin: &'a AdminKey) -> BoxFuture<'a, StoreResult<Vec<u64>>> {
        Box::pin(ConfigStore::config_versions(self, admin))
    }
}

// The traits for the handle: each method hands its call to the object inside. `async fn`
// (as in the stores): the compiler checks that each future is `Send`, as the traits require.

impl LinkStore for DynStore {
    async fn link_by_crm_id(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
        part: &LinkPart,
    ) -> StoreResult<Option<IdLink>> {
        self.inner.link_by_crm_id(admin, kind, crm_id, part).await
    }

    async fn links_by_crm_ids(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_ids: &[&str],
        part: &LinkPart,
    ) -> StoreResult<Vec<Option<IdLink>>> {
        self.inner
            .links_by_crm_ids(admin, kind, crm_ids, part)
            .await
    }

    async fn links_by_keys(
        &self,
        admin: &AdminKey,
        keys: &[LinkKey<'_>],
    ) -> StoreResult<Vec<Option<IdLink>>> {
        self.inner.links_by_keys(admin, keys).await
    }

    async fn link_by_snelstart_id(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        snelstart_id: Uuid,
    ) -> StoreResult<Option<IdLink>> {
        self.inner
            .link_by_snelstart_id(admin, kind, snelstart_id)
            .await
    }

    async fn link_by_natural_key(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        natural_key: &str,
    ) -> StoreResult<Option<IdLink>> {
        self.inner
            .link_by_natural_key(admin, kind, natural_key)
            .await
    }

    async fn upsert_link(&self, link: IdLink) -> StoreResult<()> {
        self.inner.upsert_link(link).await
    }

    async fn set_payload_hash(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
        part: &LinkPart,
        expected: Option<&str>,
        new: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inner
            .set_payload_hash(admin, kind, crm_id, part, expected, new, now)
            .await
    }

    async fn list_links(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        after: Option<(&str, &LinkPart)>,
        limit: usize,
    ) -> StoreResult<Vec<IdLink>> {
        self.inner.list_links(admin, kind, after, limit).await
    }

    async fn delete_link(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
        part: &LinkPart,
    ) -> StoreResult<bool> {
        self.inner.delete_link(admin, kind, crm_id, part).await
    }
}

impl StateStore for DynStore {
    async fn state(&self, admin: &AdminKey, key: &StateKey) -> StoreResult<Option<String>> {
        self.inner.state(admin, key).await
    }

    async fn states(
        &self,
        admin: &AdminKey,
        keys: &[StateKey],
    ) -> StoreResult<Vec<Option<String>>> {
        self.inner.states(admin, keys).await
    }

    async fn put_state(
        &self,
        admin: &AdminKey,
        key: &StateKey,
        expected: Option<&str>,
        value: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inner.put_state(admin, key, expected, value, now).await
    }

    async fn delete_state(
        &self,
        admin: &AdminKey,
        key: &StateKey,
        expected: Option<&str>,
    ) -> StoreResult<bool> {
        self.inner.delete_state(admin, key, expected).await
    }

    async fn prune_state(
        &self,
        admin: &AdminKey,
        area: StateArea,
        before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.inner.prune_state(admin, area, before).await
    }
}

impl QueueStore for DynStore {
    async fn enqueue(&self, item: NewWorkItem, now: DateTime<Utc>) -> StoreResult<WorkItemId> {
        self.inner.enqueue(item, now).await
    }

    // Overridden, as is complete_batch: the trait's default would loop over `enqueue` here,
    // losing the inner store's one-transaction batch (atomicity and speed).
    async fn enqueue_batch(
        &self,
        items: Vec<NewWorkItem>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<WorkItemId>> {
        self.inner.enqueue_batch(items, now).await
    }

    async fn claim(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> StoreResult<Vec<WorkItem>> {
        self.inner.claim(admin, now, limit, lease).await
    }

    async fn renew_lease(
        &self,
        token: LeaseToken,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<()> {
        self.inner.renew_lease(token, now, lease).await
    }

    async fn complete(&self, token: LeaseToken, now: DateTime<Utc>) -> StoreResult<()> {
        self.inner.complete(token, now).await
    }

    async fn complete_batch(&self, tokens: &[LeaseToken], now: DateTime<Utc>) -> StoreResult<()> {
        self.inner.complete_batch(tokens, now).await
    }

    async fn release_claims(&self, tokens: &[LeaseToken], now: DateTime<Utc>) -> StoreResult<()> {
        self.inner.release_claims(tokens, now).await
    }

    async fn reschedule(
        &self,
        token: LeaseToken,
        at: DateTime<Utc>,
        error: StoredError,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inner.reschedule(token, at, error, now).await
    }

    async fn fail(
        &self,
        token: LeaseToken,
        error: StoredError,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inner.fail(token, error, now).await
    }

    async fn needs_review(
        &self,
        token: LeaseToken,
        reasons: serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inner.needs_review(token, reasons, now).await
    }

    async fn replay(&self, filter: &ReplayFilter, now: DateTime<Utc>) -> StoreResult<u64> {
        self.inner.replay(filter, now).await
    }

    // Overridden like enqueue_batch: the default would make two calls on the inner store.
    async fn replay_and_enqueue(
        &self,
        stale: &ReplayFilter,
        item: NewWorkItem,
        now: DateTime<Utc>,
    ) -> StoreResult<WorkItemId> {
        self.inner.replay_and_enqueue(stale, item, now).await
    }

    async fn counts(&self, admin: &AdminKey) -> StoreResult<QueueCounts> {
        self.inner.counts(admin).await
    }

    async fn list_work(
        &self,
        admin: &AdminKey,
        state: Option<WorkState>,
        limit: usize,
        offset: usize,
    ) -> StoreResult<Vec<WorkItem>> {
        self.inner.list_work(admin, state, limit, offset).await
    }

    async fn list_summaries(
        &self,
        admin: &AdminKey,
        state: Option<WorkState>,
        after: Option<WorkItemId>,
        limit: usize,
    ) -> StoreResult<Vec<WorkSummary>> {
        self.inner.list_summaries(admin, state, after, limit).await
    }

    async fn record_items(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
    ) -> StoreResult<Vec<WorkSummary>> {
        self.inner.record_items(admin, kind, crm_id).await
    }

    async fn next_due(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        self.inner.next_due(admin, now).await
    }

    async fn work_item(&self, admin: &AdminKey, id: WorkItemId) -> StoreResult<Option<WorkItem>> {
        self.inner.work_item(admin, id).await
    }

    async fn prune_done(&self, admin: &AdminKey, before: DateTime<Utc>) -> StoreResult<u64> {
        self.inner.prune_done(admin, before).await
    }
}

impl OutboxStore for DynStore {
    async fn finish_batch(&self, items: Vec<FinishedItem>, now: DateTime<Utc>) -> StoreResult<()> {
        self.inner.finish_batch(items, now).await
    }

    async fn claim_outbox(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> StoreResult<Vec<OutboxEvent>> {
        self.inner.claim_outbox(admin, now, limit, lease).await
    }

    async fn ack_outbox(&self, admin: &AdminKey, ids: &[OutboxId]) -> StoreResult<u64> {
        self.inner.ack_outbox(admin, ids).await
    }

    async fn retry_outbox(
        &self,
        admin: &AdminKey,
        id: OutboxId,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        self.inner.retry_outbox(admin, id, at, error).await
    }

    async fn outbox_backlog(&self, admin: &AdminKey) -> StoreResult<OutboxBacklog> {
        self.inner.outbox_backlog(admin).await
    }
}

impl AuditStore for DynStore {
    async fn append_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        self.inner.append_audit(entry).await
    }

    async fn recent_audit(&self, admin: &AdminKey, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        self.inner.recent_audit(admin, limit).await
    }

    async fn prune_audit(&self, admin: &AdminKey, before: DateTime<Utc>) -> StoreResult<u64> {
        self.inner.prune_audit(admin, before).await
    }
}

impl ConfigStore for DynStore {
    async fn save_config(
        &self,
        admin: &AdminKey,
        document: serde_json::Value,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.inner
            .save_config(admin, document, expected_version, now)
            .await
    }

    async fn config(&self, admin: &AdminKey, version: u64) -> StoreResult<Option<ConfigVersion>> {
        self.inner.config(admin, version).await
    }

    async fn latest_config(&self, admin: &AdminKey) -> StoreResult<Option<ConfigVersion>> {
        self.inner.latest_config(admin).await
    }

    async fn config_versions(&self, admin: &AdminKey) -> StoreResult<Vec<u64>> {
        self.inner.config_versions(admin).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn wrapping_twice_adds_no_layer() {
        let once = DynStore::new(MemoryStore::new());
        let twice = DynStore::new(once.clone());
        assert!(Arc::ptr_eq(&once.inner, &twice.inner));
        assert!(twice.downcast_ref::<MemoryStore>().is_some());
        assert!(twice.downcast_ref::<DynStore>().is_none());
    }

    #[test]
    fn debug_names_the_backend_type_only() {
        let store = DynStore::new(MemoryStore::new());
        assert_eq!(
            format!("{store:?}"),
            "DynStore(sync_core::store::memory::MemoryStore)"
        );
    }
}
