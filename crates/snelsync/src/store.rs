//! The store the binary runs on: SQLite by default, PostgreSQL by URL.
//!
//! The store traits return `impl Future`, so they are not dyn-compatible; the commands and the
//! router are generic over one store type. [`AnyStore`] is that type: an enum over the two
//! stores that implements each trait by handing the call to the store inside (`async fn`
//! in the impls: the compiler checks that each future is `Send`, as the traits require).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sync_core::keys::{KeyId, SealedSecret};
use sync_core::registry::{
    AdministrationLease, AdministrationLeases, AdministrationRecord, AdministrationRegistry,
};
use sync_core::store::{
    AdminKey, AuditEntry, AuditStore, ConfigStore, ConfigVersion, EntityKind, FinishedItem, IdLink,
    LeaseToken, LinkPart, LinkStore, NewWorkItem, OutboxBacklog, OutboxEvent, OutboxId,
    OutboxStore, QueueCounts, QueueStore, ReplayFilter, StateArea, StateKey, StateStore,
    StoreResult, StoredError, WorkItem, WorkItemId, WorkState, WorkSummary,
};
use sync_store_postgres::{PostgresOptions, PostgresRegistry, PostgresStore};
use sync_store_sqlite::{SqliteRegistry, SqliteStore};
use uuid::Uuid;

/// Where the engine's state lives, as `--store` or `[store]` names it.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreTarget {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…`, without the `schema` parameter) and the schema
    /// in it (`?schema=NAME`; the store's default when absent).
    Postgres { url: String, schema: Option<String> },
}

impl fmt::Debug for StoreTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            // The URL may carry a password.
            Self::Postgres { schema, .. } => f
                .debug_struct("Postgres")
                .field("url", &"<redacted>")
                .field("schema", schema)
                .finish(),
        }
    }
}

impl StoreTarget {
    /// `postgres://…` or `postgresql://…` (with an optional `schema=NAME` query parameter)
    /// is PostgreSQL; anything else is a SQLite file (`sqlite://` or `sqlite:` before the
    /// path is allowed).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an empty store: give a SQLite file or a postgres:// URL".to_owned());
        }
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            let path = text
                .strip_prefix("sqlite://")
                .or_else(|| text.strip_prefix("sqlite:"))
                .unwrap_or(text);
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        let (base, query) = text.split_once('?').unwrap_or((text, ""));
        let mut schema = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.strip_prefix("schema=") {
                Some(name) if !name.is_empty() => schema = Some(name.to_owned()),
                Some(_) => return Err("the store URL's schema parameter is empty".to_owned()),
                None => kept.push(pair),
            }
        }
        let url = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok(Self::Postgres { url, schema })
    }

    /// Opens (and for PostgreSQL connects and migrates) the store.
    pub async fn open(&self) -> Result<AnyStore, String> {
        match self {
            Self::Sqlite(path) => SqliteStore::open(path)
                .map(AnyStore::Sqlite)
                .map_err(|e| format!("store {}: {e}", path.display())),
            Self::Postgres { url, schema } => {
                let mut options = PostgresOptions::default();
                if let Some(schema) = schema {
                    options = options.schema(schema.clone());
                }
                PostgresStore::connect(url, options)
                    .await
                    .map(AnyStore::Postgres)
                    .map_err(|e| format!("PostgreSQL store: {e}"))
            }
        }
    }
}

/// The SQLite or the PostgreSQL store.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// The embedded default.
    Sqlite(SqliteStore),
    /// Chosen with a `postgres://` URL.
    Postgres(PostgresStore),
}

/// Hands one call to the store (or, with `AnyRegistry:` in front, the registry) inside.
macro_rules! delegate {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        delegate!(AnyStore: $self.$method($($arg),*))
    };
    ($any:ident : $self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            $any::Sqlite(s) => s.$method($($arg),*).await,
            $any::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

/// The administrations registry (onboarding) in the same database as the [`AnyStore`].
#[derive(Debug, Clone)]
pub enum AnyRegistry {
    /// In the SQLite file.
    Sqlite(SqliteRegistry),
    /// In the PostgreSQL schema.
    Postgres(PostgresRegistry),
}

impl AnyStore {
    /// The administrations registry beside this store (its table is created when missing).
    pub async fn registry(&self) -> Result<AnyRegistry, String> {
        match self {
            AnyStore::Sqlite(s) => SqliteRegistry::new(s).await.map(AnyRegistry::Sqlite),
            AnyStore::Postgres(s) => PostgresRegistry::new(s).await.map(AnyRegistry::Postgres),
        }
        .map_err(|e| format!("administrations registry: {e}"))
    }
}

impl AdministrationLeases for AnyRegistry {
    async fn acquire_lease(
        &self,
        admin: &AdminKey,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<Option<AdministrationLease>> {
        delegate!(AnyRegistry: self.acquire_lease(admin, holder, now, ttl))
    }

    async fn renew_lease(
        &self,
        lease: &AdministrationLease,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<Option<AdministrationLease>> {
        delegate!(AnyRegistry: self.renew_lease(lease, now, ttl))
    }

    async fn release_lease(&self, lease: &AdministrationLease) -> StoreResult<bool> {
        delegate!(AnyRegistry: self.release_lease(lease))
    }

    async fn lease_of(&self, admin: &AdminKey) -> StoreResult<Option<AdministrationLease>> {
        delegate!(AnyRegistry: self.lease_of(admin))
    }

    async fn leasable_administrations(
        &self,
        now: DateTime<Utc>,
        after: Option<&AdminKey>,
        limit: usize,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        delegate!(AnyRegistry: self.leasable_administrations(now, after, limit))
    }
}

impl AdministrationRegistry for AnyRegistry {
    async fn register(&self, record: AdministrationRecord) -> StoreResult<()> {
        delegate!(AnyRegistry: self.register(record))
    }

    async fn administration(&self, admin: &AdminKey) -> StoreResult<Option<AdministrationRecord>> {
        delegate!(AnyRegistry: self.administration(admin))
    }

    async fn administrations_by_reference(
        &self,
        reference_key: &str,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        delegate!(AnyRegistry: self.administrations_by_reference(reference_key))
    }

    async fn list_administrations(
        &self,
        after: Option<&AdminKey>,
        limit: usize,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        delegate!(AnyRegistry: self.list_administrations(after, limit))
    }

    async fn replace_key(
        &self,
        admin: &AdminKey,
        expected: &SealedSecret,
        new: SealedSecret,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        delegate!(AnyRegistry: self.replace_key(admin, expected, new, now))
    }

    async fn set_paused(
        &self,
        admin: &AdminKey,
        paused: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        delegate!(AnyRegistry: self.set_paused(admin, paused, now))
    }

    async fn remove_administration(&self, admin: &AdminKey) -> StoreResult<bool> {
        delegate!(AnyRegistry: self.remove_administration(admin))
    }

    async fn sealed_under_other_keys(
        &self,
        current: &KeyId,
        limit: usize,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        delegate!(AnyRegistry: self.sealed_under_other_keys(current, limit))
    }
}

impl LinkStore for AnyStore {
    async fn link_by_crm_id(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
        part: &LinkPart,
    ) -> StoreResult<Option<IdLink>> {
        delegate!(self.link_by_crm_id(admin, kind, crm_id, part))
    }

    async fn link_by_snelstart_id(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        snelstart_id: Uuid,
    ) -> StoreResult<Option<IdLink>> {
        delegate!(self.link_by_snelstart_id(admin, kind, snelstart_id))
    }

    async fn link_by_natural_key(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        natural_key: &str,
    ) -> StoreResult<Option<IdLink>> {
        delegate!(self.link_by_natural_key(admin, kind, natural_key))
    }

    async fn upsert_link(&self, link: IdLink) -> StoreResult<()> {
        delegate!(self.upsert_link(link))
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
        delegate!(self.set_payload_hash(admin, kind, crm_id, part, expected, new, now))
    }

    async fn list_links(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        after: Option<(&str, &LinkPart)>,
        limit: usize,
    ) -> StoreResult<Vec<IdLink>> {
        delegate!(self.list_links(admin, kind, after, limit))
    }

    async fn delete_link(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
        part: &LinkPart,
    ) -> StoreResult<bool> {
        delegate!(self.delete_link(admin, kind, crm_id, part))
    }
}

impl StateStore for AnyStore {
    async fn state(&self, admin: &AdminKey, key: &StateKey) -> StoreResult<Option<String>> {
        delegate!(self.state(admin, key))
    }

    async fn put_state(
        &self,
        admin: &AdminKey,
        key: &StateKey,
        expected: Option<&str>,
        value: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        delegate!(self.put_state(admin, key, expected, value, now))
    }

    async fn delete_state(
        &self,
        admin: &AdminKey,
        key: &StateKey,
        expected: Option<&str>,
    ) -> StoreResult<bool> {
        delegate!(self.delete_state(admin, key, expected))
    }

    async fn prune_state(
        &self,
        admin: &AdminKey,
        area: StateArea,
        before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        delegate!(self.prune_state(admin, area, before))
    }
}

impl QueueStore for AnyStore {
    async fn enqueue(&self, item: NewWorkItem, now: DateTime<Utc>) -> StoreResult<WorkItemId> {
        delegate!(self.enqueue(item, now))
    }

    // The stores' own batch methods are one transaction each; the trait's default would loop.
    async fn enqueue_batch(
        &self,
        items: Vec<NewWorkItem>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<WorkItemId>> {
        delegate!(self.enqueue_batch(items, now))
    }

    async fn claim(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> StoreResult<Vec<WorkItem>> {
        delegate!(self.claim(admin, now, limit, lease))
    }

    async fn renew_lease(
        &self,
        token: LeaseToken,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<()> {
        delegate!(self.renew_lease(token, now, lease))
    }

    async fn complete(&self, token: LeaseToken, now: DateTime<Utc>) -> StoreResult<()> {
        delegate!(self.complete(token, now))
    }

    async fn complete_batch(&self, tokens: &[LeaseToken], now: DateTime<Utc>) -> StoreResult<()> {
        delegate!(self.complete_batch(tokens, now))
    }

    async fn reschedule(
        &self,
        token: LeaseToken,
        at: DateTime<Utc>,
        error: StoredError,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        delegate!(self.reschedule(token, at, error, now))
    }

    async fn fail(
        &self,
        token: LeaseToken,
        error: StoredError,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        delegate!(self.fail(token, error, now))
    }

    async fn needs_review(
        &self,
        token: LeaseToken,
        reasons: serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        delegate!(self.needs_review(token, reasons, now))
    }

    async fn replay(&self, filter: &ReplayFilter, now: DateTime<Utc>) -> StoreResult<u64> {
        delegate!(self.replay(filter, now))
    }

    async fn counts(&self, admin: &AdminKey) -> StoreResult<QueueCounts> {
        delegate!(self.counts(admin))
    }

    async fn list_work(
        &self,
        admin: &AdminKey,
        state: Option<WorkState>,
        limit: usize,
        offset: usize,
    ) -> StoreResult<Vec<WorkItem>> {
        delegate!(self.list_work(admin, state, limit, offset))
    }

    async fn list_summaries(
        &self,
        admin: &AdminKey,
        state: Option<WorkState>,
        after: Option<WorkItemId>,
        limit: usize,
    ) -> StoreResult<Vec<WorkSummary>> {
        delegate!(self.list_summaries(admin, state, after, limit))
    }

    async fn record_items(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
    ) -> StoreResult<Vec<WorkSummary>> {
        delegate!(self.record_items(admin, kind, crm_id))
    }

    async fn next_due(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        delegate!(self.next_due(admin, now))
    }

    async fn work_item(&self, admin: &AdminKey, id: WorkItemId) -> StoreResult<Option<WorkItem>> {
        delegate!(self.work_item(admin, id))
    }

    async fn prune_done(&self, admin: &AdminKey, before: DateTime<Utc>) -> StoreResult<u64> {
        delegate!(self.prune_done(admin, before))
    }
}

impl OutboxStore for AnyStore {
    async fn finish_batch(&self, items: Vec<FinishedItem>, now: DateTime<Utc>) -> StoreResult<()> {
        delegate!(self.finish_batch(items, now))
    }

    async fn claim_outbox(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> StoreResult<Vec<OutboxEvent>> {
        delegate!(self.claim_outbox(admin, now, limit, lease))
    }

    async fn ack_outbox(&self, admin: &AdminKey, ids: &[OutboxId]) -> StoreResult<u64> {
        delegate!(self.ack_outbox(admin, ids))
    }

    async fn retry_outbox(
        &self,
        admin: &AdminKey,
        id: OutboxId,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        delegate!(self.retry_outbox(admin, id, at, error))
    }

    async fn outbox_backlog(&self, admin: &AdminKey) -> StoreResult<OutboxBacklog> {
        delegate!(self.outbox_backlog(admin))
    }
}

impl AuditStore for AnyStore {
    async fn append_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        delegate!(self.append_audit(entry))
    }

    async fn recent_audit(&self, admin: &AdminKey, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        delegate!(self.recent_audit(admin, limit))
    }

    async fn prune_audit(&self, admin: &AdminKey, before: DateTime<Utc>) -> StoreResult<u64> {
        delegate!(self.prune_audit(admin, before))
    }
}

impl ConfigStore for AnyStore {
    async fn save_config(
        &self,
        admin: &AdminKey,
        document: serde_json::Value,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        delegate!(self.save_config(admin, document, expected_version, now))
    }

    async fn config(&self, admin: &AdminKey, version: u64) -> StoreResult<Option<ConfigVersion>> {
        delegate!(self.config(admin, version))
    }

    async fn latest_config(&self, admin: &AdminKey) -> StoreResult<Option<ConfigVersion>> {
        delegate!(self.latest_config(admin))
    }

    async fn config_versions(&self, admin: &AdminKey) -> StoreResult<Vec<u64>> {
        delegate!(self.config_versions(admin))
    }
}

#[cfg(test)]
mod tests {
    use super::StoreTarget;
    use std::path::PathBuf;

    #[test]
    fn targets_are_told_apart_by_scheme() {
        assert_eq!(
            StoreTarget::parse("snelsync.sqlite"),
            Ok(StoreTarget::Sqlite(PathBuf::from("snelsync.sqlite")))
        );
        assert_eq!(
            StoreTarget::parse("sqlite:///var/lib/snelsync.sqlite"),
            Ok(StoreTarget::Sqlite(PathBuf::from(
                "/var/lib/snelsync.sqlite"
            )))
        );
        assert_eq!(
            StoreTarget::parse("postgres://sync@127.0.0.1:5432/crm?schema=s1&connect_timeout=5"),
            Ok(StoreTarget::Postgres {
                url: "postgres://sync@127.0.0.1:5432/crm?connect_timeout=5".to_owned(),
                schema: Some("s1".to_owned()),
            })
        );
        assert!(StoreTarget::parse("postgresql://u@127.0.0.1/db?schema=").is_err());
        assert!(StoreTarget::parse("  ").is_err());
    }

    #[test]
    fn debug_hides_the_url() {
        let target = StoreTarget::parse("postgres://sync:geheim@127.0.0.1/crm").unwrap();
        assert!(!format!("{target:?}").contains("geheim"));
    }
}
