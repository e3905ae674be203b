//! [`MemoryStore`]: the whole contract in process memory.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    AdminKey, AuditEntry, AuditStore, ConfigStore, ConfigVersion, EntityKind, FinishedItem, IdLink,
    ItemOutcome, LeaseToken, LinkPart, LinkStore, NewWorkItem, OutboxBacklog, OutboxEvent,
    OutboxId, OutboxStore, QueueCounts, QueueStore, ReplayFilter, StateArea, StateKey, StateStore,
    StoreError, StoreResult, StoredError, WorkItem, WorkItemId, WorkState, WorkSummary,
    describe_link, lease_expiry,
};

/// A store that keeps everything in memory, behind one mutex.
///
/// Meant for tests, examples and one-shot tools: state is lost when the last clone is
/// dropped. Clones share the same state. Every operation takes the lock once and does all its
/// checks before changing anything, which makes each call atomic and the store linearizable.
/// The lock is never held across an `.await`.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

type LinkKey = (AdminKey, EntityKind, String);

/// A link's key `(admin, kind, crm_id, part spelling, part name)`: the tuple's order is the
/// byte order `list_links` promises.
type IdLinkKey = (AdminKey, EntityKind, String, &'static str, String);

fn id_link_key(admin: &AdminKey, kind: EntityKind, crm_id: &str, part: &LinkPart) -> IdLinkKey {
    let (spelling, name) = part.sort_key();
    (
        admin.clone(),
        kind,
        crm_id.to_owned(),
        spelling,
        name.to_owned(),
    )
}

#[derive(Debug, Default)]
struct State {
    links: BTreeMap<IdLinkKey, IdLink>,
    /// `(admin, kind, snelstart id)` -> link key.
    links_by_snelstart: HashMap<(AdminKey, EntityKind, Uuid), IdLinkKey>,
    /// `(admin, kind, natural key)` -> link key.
    links_by_natural: HashMap<LinkKey, IdLinkKey>,
    /// Value and `updated_at` per key.
    states: HashMap<(AdminKey, StateKey), (String, DateTime<Utc>)>,
    items: BTreeMap<WorkItemId, WorkItem>,
    /// Every item (any state) per `(admin, kind, crm_id)`, so coalescing looks at one
    /// record's few items instead of scanning the queue. Only enqueue and prune change it.
    items_by_record: HashMap<LinkKey, BTreeSet<WorkItemId>>,
    last_id: i64,
    outbox: BTreeMap<OutboxId, OutboxEvent>,
    last_outbox_id: i64,
    audit: Vec<AuditEntry>,
    configs: HashMap<AdminKey, Vec<ConfigVersion>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, op: impl FnOnce(&mut State) -> StoreResult<T>) -> StoreResult<T> {
        let mut guard = self
            .state
            .lock()
            .map_err(|_| StoreError::backend("memory store lock poisoned by a panic"))?;
        op(&mut guard)
    }
}

impl State {
    fn link_key_by_snelstart(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        id: Uuid,
    ) -> Option<&IdLinkKey> {
        self.links_by_snelstart.get(&(admin.clone(), kind, id))
    }

    fn remove_link(&mut self, key: &IdLinkKey) -> Option<IdLink> {
        let old = self.links.remove(key)?;
        self.links_by_snelstart
            .remove(&(old.admin.clone(), old.kind, old.snelstart_id));
        if let Some(natural) = &old.natural_key {
            self.links_by_natural
                .remove(&(old.admin.clone(), old.kind, natural.clone()));
        }
        Some(old)
    }

    /// Moves the items `filter` selects back to Pending (see the contract); how many.
    fn replay(&mut self, filter: &ReplayFilter, now: DateTime<Utc>) -> u64 {
        let mut count = 0;
        for item in self.items.values_mut().filter(|w| filter.matches(w)) {
            item.state = WorkState::Pending;
            item.attempts = 0;
            item.next_attempt_at = now;
            item.lease_until = None;
            item.review = None;
            item.updated_at = now;
            count += 1;
        }
        count
    }

    /// `NotFound` when a dependency of `item` is unknown or in another administration.
    fn check_dependencies(&self, item: &NewWorkItem) -> StoreResult<()> {
        if let Some(missing) = item
            .depends_on
            .iter()
            .find(|d| self.items.get(d).is_none_or(|dep| dep.admin != item.admin))
        {
            return Err(StoreError::not_found(format!(
                "work item {missing}, a dependency of {} {:?} for CRM id {:?}",
                item.kind, item.operation, item.crm_id
            )));
        }
        Ok(())
    }

    /// Enqueues (or coalesces) an item whose dependencies were checked.
    fn enqueue_checked(&mut self, item: NewWorkItem, now: DateTime<Utc>) -> WorkItemId {
        let newest_dep = item.depends_on.iter().max().copied();
        let record = (item.admin.clone(), item.kind, item.crm_id.clone());
        let coalesce_into = self
            .items_by_record
            .get(&record)
            .into_iter()
            .flat_map(|ids| ids.iter().rev())
            .filter_map(|id| self.items.get(id))
            .find(|w| w.state == WorkState::Pending && w.operation == item.operation)
            .map(|w| w.id)
            .filter(|id| newest_dep.is_none_or(|dep| dep < *id));
        if let Some(id) = coalesce_into
            && let Some(existing) = self.items.get_mut(&id)
        {
            existing.payload = item.payload;
            let deps: BTreeSet<WorkItemId> = existing
                .depends_on
                .iter()
                .chain(&item.depends_on)
                .copied()
                .collect();
            existing.depends_on = deps.into_iter().collect();
            existing.next_attempt_at = existing.next_attempt_at.max(item.not_before);
            existing.updated_at = now;
            return id;
        }
        self.last_id += 1;
        let id = WorkItemId::new(self.last_id);
        self.items.insert(id, WorkItem::enqueued(id, item, now));
        self.items_by_record.entry(record).or_default().insert(id);
        id
    }

    fn item_for_lease(&mut self, token: LeaseToken) -> StoreResult<&mut WorkItem> {
        let item = self
            .items
            .get_mut(&token.id)
            .ok_or_else(|| StoreError::not_found(format!("work item {}", token.id)))?;
        if item.state != WorkState::InFlight || item.attempts != token.attempt {
            return Err(StoreError::conflict(format!(
                "work item {} is {} at attempt {}, not in flight at attempt {}: the lease was lost",
                token.id, item.state, item.attempts, token.attempt
            )));
        }
        Ok(item)
    }

    /// Checks, before a batch call changes anything, that every token holds its lease and
    /// none appears twice.
    fn check_leases(&mut self, tokens: &[LeaseToken]) -> StoreResult<()> {
        let mut seen = HashSet::new();
        for token in tokens {
            self.item_for_lease(*token)?;
            if !seen.insert(token.id) {
                return Err(StoreError::conflict(format!(
                    "work item {} appears twice in one call",
                    token.id
                )));
            }
        }
        Ok(())
    }

    /// Moves a leased item to `outcome` (the lease was checked by the caller).
    fn apply_outcome(
        &mut self,
        token: LeaseToken,
        outcome: ItemOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let item = self.item_for_lease(token)?;
        item.lease_until = None;
        item.updated_at = now;
        match outcome {
            ItemOutcome::Done => item.state = WorkState::Done,
            ItemOutcome::Retry { at, error } => {
                item.state = WorkState::Pending;
                item.next_attempt_at = at;
                item.last_error = Some(error);
            }
            ItemOutcome::Failed(error) => {
                item.state = WorkState::Failed;
                item.last_error = Some(error);
            }
            ItemOutcome::NeedsReview(reasons) => {
                item.state = WorkState::NeedsReview;
                item.review = Some(reasons);
            }
        }
        Ok(())
    }

    /// Ids of Pending items that cannot run until a NeedsReview item is resolved.
    fn blocked_ids(&self) -> HashSet<WorkItemId> {
        // Dependencies are always older than their dependants, so one pass in id order sees
        // every dependency's status before the items that depend on it.
        let mut blocked = HashSet::new();
        for item in self.items.values() {
            if item.state != WorkState::Pending {
                continue;
            }
            let is_blocked = item.depends_on.iter().any(|dep| {
                blocked.contains(dep)
                    || self
                        .items
                        .get(dep)
                        .is_some_and(|d| d.state.blocks_dependants())
            });
            if is_blocked {
                blocked.insert(item.id);
            }
        }
        blocked
    }
}

impl LinkStore for MemoryStore {
    async fn link_by_crm_id(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
        part: &LinkPart,
    ) -> StoreResult<Option<IdLink>> {
        self.with(|s| {
            Ok(s.links
                .get(&id_link_key(admin, kind, crm_id, part))
                .cloned())
        })
    }

    async fn links_by_keys(
        &self,
        admin: &AdminKey,
        keys: &[super::LinkKey<'_>],
    ) -> StoreResult<Vec<Option<IdLink>>> {
        // Under one lock: the answers are one snapshot, as a SQL store's one query is.
        self.with(|s| {
            Ok(keys
                .iter()
                .map(|key| {
                    s.links
                        .get(&id_link_key(admin, key.kind, key.crm_id, key.part))
                        .cloned()
                })
                .collect())
        })
    }

    async fn link_by_snelstart_id(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        snelstart_id: Uuid,
    ) -> StoreResult<Option<IdLink>> {
        self.with(|s| {
            Ok(s.link_key_by_snelstart(admin, kind, snelstart_id)
                .and_then(|key| s.links.get(key))
                .cloned())
        })
    }

    async fn link_by_natural_key(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        natural_key: &str,
    ) -> StoreResult<Option<IdLink>> {
        self.with(|s| {
            Ok(s.links_by_natural
                .get(&(admin.clone(), kind, natural_key.to_owned()))
                .and_then(|key| s.links.get(key))
                .cloned())
        })
    }

    async fn upsert_link(&self, link: IdLink) -> StoreResult<()> {
        self.with(|s| {
            let (admin, kind) = (link.admin.clone(), link.kind);
            let key = id_link_key(&admin, kind, &link.crm_id, &link.part);
            let holder_of = |s: &State, holder: &IdLinkKey| {
                s.links
                    .get(holder)
                    .map(IdLink::describe)
                    .unwrap_or_default()
            };
            if let Some(holder) = s.link_key_by_snelstart(&admin, kind, link.snelstart_id)
                && *holder != key
            {
                return Err(StoreError::conflict(format!(
                    "{}: SnelStart id {} is already held by the {}",
                    link.describe(),
                    link.snelstart_id,
                    holder_of(s, holder)
                )));
            }
            if let Some(natural) = &link.natural_key
                && let Some(holder) =
                    s.links_by_natural
                        .get(&(admin.clone(), kind, natural.clone()))
                && *holder != key
            {
                return Err(StoreError::conflict(format!(
                    "{}: natural key {natural:?} is already held by the {}",
                    link.describe(),
                    holder_of(s, holder)
                )));
            }
            s.remove_link(&key);
            s.links_by_snelstart
                .insert((admin.clone(), kind, link.snelstart_id), key.clone());
            if let Some(natural) = &link.natural_key {
                s.links_by_natural
                    .insert((admin, kind, natural.clone()), key.clone());
            }
            s.links.insert(key, link);
            Ok(())
        })
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
        self.with(|s| {
            let link = s
                .links
                .get_mut(&id_link_key(admin, kind, crm_id, part))
                .ok_or_else(|| StoreError::not_found(describe_link(admin, kind, crm_id, part)))?;
            if link.payload_hash.as_deref() != expected {
                return Err(StoreError::conflict(format!(
                    "{}: payload hash is {:?}, expected {expected:?}",
                    describe_link(admin, kind, crm_id, part),
                    link.payload_hash
                )));
            }
            link.payload_hash = new.map(str::to_owned);
            link.updated_at = now;
            Ok(())
        })
    }

    async fn list_links(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        after: Option<(&str, &LinkPart)>,
        limit: usize,
    ) -> StoreResult<Vec<IdLink>> {
        self.with(|s| {
            let lower = match after {
                Some((crm_id, part)) => Bound::Excluded(id_link_key(admin, kind, crm_id, part)),
                None => Bound::Included((admin.clone(), kind, String::new(), "", String::new())),
            };
            Ok(s.links
                .range((lower, Bound::Unbounded))
                .take_while(|((a, k, ..), _)| a == admin && *k == kind)
                .take(limit)
                .map(|(_, link)| link.clone())
                .collect())
        })
    }

    async fn delete_link(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
        part: &LinkPart,
    ) -> StoreResult<bool> {
        self.with(|s| {
            Ok(s.remove_link(&id_link_key(admin, kind, crm_id, part))
                .is_some())
        })
    }
}

impl StateStore for MemoryStore {
    async fn state(&self, admin: &AdminKey, key: &StateKey) -> StoreResult<Option<String>> {
        self.with(|s| {
            Ok(s.states
                .get(&(admin.clone(), key.clone()))
                .map(|(value, _)| value.clone()))
        })
    }

    async fn put_state(
        &self,
        admin: &AdminKey,
        key: &StateKey,
        expected: Option<&str>,
        value: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.with(|s| {
            let map_key = (admin.clone(), key.clone());
            let current = s.states.get(&map_key).map(|(v, _)| v.as_str());
            if current != expected {
                return Err(StoreError::conflict(format!(
                    "state {key} in administration {admin:?} is {current:?}, expected {expected:?}"
                )));
            }
            s.states.insert(map_key, (value.to_owned(), now));
            Ok(())
        })
    }

    async fn delete_state(
        &self,
        admin: &AdminKey,
        key: &StateKey,
        expected: Option<&str>,
    ) -> StoreResult<bool> {
        self.with(|s| {
            let map_key = (admin.clone(), key.clone());
            let current = s.states.get(&map_key).map(|(v, _)| v.as_str());
            if let Some(expected) = expected
                && current != Some(expected)
            {
                return Err(StoreError::conflict(format!(
                    "state {key} in administration {admin:?} is {current:?}, expected {expected:?}"
                )));
            }
            Ok(s.states.remove(&map_key).is_some())
        })
    }

    async fn prune_state(
        &self,
        admin: &AdminKey,
        area: StateArea,
        before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.with(|s| {
            let len = s.states.len();
            s.states.retain(|(a, key), (_, updated_at)| {
                !(a == admin && key.area() == area && *updated_at < before)
            });
            Ok((len - s.states.len()) as u64)
        })
    }
}

impl OutboxStore for MemoryStore {
    async fn finish_batch(&self, items: Vec<FinishedItem>, now: DateTime<Utc>) -> StoreResult<()> {
        self.with(|s| {
            // Every check before the first change: the batch is atomic.
            let mut seen = HashSet::new();
            for finished in &items {
                s.item_for_lease(finished.token)?;
                if !seen.insert(finished.token.id) {
                    return Err(StoreError::conflict(format!(
                        "work item {} is finished twice in one batch",
                        finished.token.id
                    )));
                }
            }
            for finished in items {
                let admin = s.item_for_lease(finished.token)?.admin.clone();
                s.apply_outcome(finished.token, finished.outcome, now)?;
                s.audit.extend(finished.audit);
                for event in finished.events {
                    s.last_outbox_id += 1;
                    let id = OutboxId::new(s.last_outbox_id);
                    s.outbox.insert(
                        id,
                        OutboxEvent {
                            id,
                            admin: admin.clone(),
                            idempotency_key: event.idempotency_key,
                            event: event.event,
                            attempts: 0,
                            next_attempt_at: now,
                            last_error: None,
                            created_at: now,
                        },
                    );
                }
            }
            Ok(())
        })
    }

    async fn claim_outbox(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> StoreResult<Vec<OutboxEvent>> {
        let until = lease_expiry(now, lease)?;
        self.with(|s| {
            Ok(s.outbox
                .values_mut()
                .filter(|e| e.admin == *admin && e.next_attempt_at <= now)
                .take(limit)
                .map(|e| {
                    e.attempts = e.attempts.saturating_add(1);
                    e.next_attempt_at = until;
                    e.clone()
                })
                .collect())
        })
    }

    async fn ack_outbox(&self, admin: &AdminKey, ids: &[OutboxId]) -> StoreResult<u64> {
        self.with(|s| {
            let mut n = 0;
            for id in ids {
                if s.outbox.get(id).is_some_and(|e| e.admin == *admin) {
                    s.outbox.remove(id);
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    async fn retry_outbox(
        &self,
        admin: &AdminKey,
        id: OutboxId,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        self.with(|s| {
            let event = s
                .outbox
                .get_mut(&id)
                .filter(|e| e.admin == *admin)
                .ok_or_else(|| {
                    StoreError::not_found(format!("{id} of administration {admin:?}"))
                })?;
            event.next_attempt_at = at;
            if let Some(error) = error {
                event.last_error = Some(error.to_owned());
            }
            Ok(())
        })
    }

    async fn outbox_backlog(&self, admin: &AdminKey) -> StoreResult<OutboxBacklog> {
        self.with(|s| {
            let mut backlog = OutboxBacklog::default();
            for event in s.outbox.values().filter(|e| e.admin == *admin) {
                backlog.waiting += 1;
                backlog.next_attempt_at = Some(
                    backlog
                        .next_attempt_at
                        .map_or(event.next_attempt_at, |t| t.min(event.next_attempt_at)),
                );
            }
            Ok(backlog)
        })
    }
}

impl QueueStore for MemoryStore {
    async fn enqueue(&self, item: NewWorkItem, now: DateTime<Utc>) -> StoreResult<WorkItemId> {
        self.with(|s| {
            s.check_dependencies(&item)?;
            Ok(s.enqueue_checked(item, now))
        })
    }

    async fn enqueue_batch(
        &self,
        items: Vec<NewWorkItem>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<WorkItemId>> {
        self.with(|s| {
            // Every check before the first change: the batch is atomic. Dependencies must
            // exist before the call, so checking them all up front is the same as checking
            // each before its item.
            for item in &items {
                s.check_dependencies(item)?;
            }
            Ok(items
                .into_iter()
                .map(|item| s.enqueue_checked(item, now))
                .collect())
        })
    }

    async fn complete_batch(&self, tokens: &[LeaseToken], now: DateTime<Utc>) -> StoreResult<()> {
        self.with(|s| {
            s.check_leases(tokens)?;
            for token in tokens {
                let item = s.item_for_lease(*token)?;
                item.state = WorkState::Done;
                item.lease_until = None;
                item.updated_at = now;
            }
            Ok(())
        })
    }

    async fn release_claims(&self, tokens: &[LeaseToken], now: DateTime<Utc>) -> StoreResult<()> {
        self.with(|s| {
            s.check_leases(tokens)?;
            for token in tokens {
                let item = s.item_for_lease(*token)?;
                item.state = WorkState::Pending;
                item.lease_until = None;
                item.updated_at = now;
            }
            Ok(())
        })
    }

    async fn claim(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> StoreResult<Vec<WorkItem>> {
        let lease_until = lease_expiry(now, lease)?;
        self.with(|s| {
            // Records with an item in flight, and records with an older pending item: the
            // per-record FIFO rule.
            let mut busy: HashSet<(EntityKind, &str)> = s
                .items
                .values()
                .filter(|w| w.admin == *admin && w.state == WorkState::InFlight)
                .map(|w| (w.kind, w.crm_id.as_str()))
                .collect();
            let mut chosen = Vec::new();
            for item in s.items.values().filter(|w| w.admin == *admin) {
                if chosen.len() >= limit {
                    break;
                }
                let record = (item.kind, item.crm_id.as_str());
                match item.state {
                    WorkState::InFlight if item.lease_until.is_some_and(|until| until <= now) => {
                        chosen.push(item.id);
                    }
                    WorkState::Pending => {
                        let deps_done = item.depends_on.iter().all(|dep| {
                            s.items
                                .get(dep)
                                .is_none_or(|d| d.state.releases_dependants())
                        });
                        if item.next_attempt_at <= now && deps_done && !busy.contains(&record) {
                            chosen.push(item.id);
                        }
                        busy.insert(record);
                    }
                    _ => {}
                }
            }
            let mut claimed = Vec::with_capacity(chosen.len());
            for id in chosen {
                if let Some(item) = s.items.get_mut(&id) {
                    item.state = WorkState::InFlight;
                    item.lease_until = Some(lease_until);
                    item.attempts = item.attempts.saturating_add(1);
                    item.updated_at = now;
                    claimed.push(item.clone());
                }
            }
            Ok(claimed)
        })
    }

    async fn renew_lease(
        &self,
        token: LeaseToken,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<()> {
        let lease_until = lease_expiry(now, lease)?;
        self.with(|s| {
            let item = s.item_for_lease(token)?;
            item.lease_until = Some(lease_until);
            item.updated_at = now;
            Ok(())
        })
    }

    async fn complete(&self, token: LeaseToken, now: DateTime<Utc>) -> StoreResult<()> {
        self.with(|s| {
            let item = s.item_for_lease(token)?;
            item.state = WorkState::Done;
            item.lease_until = None;
            item.updated_at = now;
            Ok(())
        })
    }

    async fn reschedule(
        &self,
        token: LeaseToken,
        at: DateTime<Utc>,
        error: StoredError,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.with(|s| {
            let item = s.item_for_lease(token)?;
            item.state = WorkState::Pending;
            item.lease_until = None;
            item.next_attempt_at = at;
            item.last_error = Some(error);
            item.updated_at = now;
            Ok(())
        })
    }

    async fn fail(
        &self,
        token: LeaseToken,
        error: StoredError,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.with(|s| {
            let item = s.item_for_lease(token)?;
            item.state = WorkState::Failed;
            item.lease_until = None;
            item.last_error = Some(error);
            item.updated_at = now;
            Ok(())
        })
    }

    async fn needs_review(
        &self,
        token: LeaseToken,
        reasons: serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.with(|s| {
            let item = s.item_for_lease(token)?;
            item.state = WorkState::NeedsReview;
            item.lease_until = None;
            item.review = Some(reasons);
            item.updated_at = now;
            Ok(())
        })
    }

    async fn replay(&self, filter: &ReplayFilter, now: DateTime<Utc>) -> StoreResult<u64> {
        self.with(|s| Ok(s.replay(filter, now)))
    }

    async fn replay_and_enqueue(
        &self,
        stale: &ReplayFilter,
        item: NewWorkItem,
        now: DateTime<Utc>,
    ) -> StoreResult<WorkItemId> {
        self.with(|s| {
            // Checked before the replay changes anything: the pair is atomic.
            s.check_dependencies(&item)?;
            s.replay(stale, now);
            Ok(s.enqueue_checked(item, now))
        })
    }

    async fn counts(&self, admin: &AdminKey) -> StoreResult<QueueCounts> {
        self.with(|s| {
            let blocked = s.blocked_ids();
            let mut counts = QueueCounts::default();
            for item in s.items.values().filter(|w| w.admin == *admin) {
                let slot = match item.state {
                    WorkState::Pending if blocked.contains(&item.id) => &mut counts.blocked,
                    WorkState::Pending => &mut counts.pending,
                    WorkState::InFlight => &mut counts.in_flight,
                    WorkState::Done => &mut counts.done,
                    WorkState::Failed => &mut counts.failed,
                    WorkState::NeedsReview => &mut counts.needs_review,
                };
                *slot += 1;
            }
            Ok(counts)
        })
    }

    async fn list_work(
        &self,
        admin: &AdminKey,
        state: Option<WorkState>,
        limit: usize,
        offset: usize,
    ) -> StoreResult<Vec<WorkItem>> {
        self.with(|s| {
            Ok(s.items
                .values()
                .filter(|w| w.admin == *admin && state.is_none_or(|st| st == w.state))
                .skip(offset)
                .take(limit)
                .cloned()
                .collect())
        })
    }

    async fn list_summaries(
        &self,
        admin: &AdminKey,
        state: Option<WorkState>,
        after: Option<WorkItemId>,
        limit: usize,
    ) -> StoreResult<Vec<WorkSummary>> {
        self.with(|s| {
            let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
            Ok(s.items
                .range((lower, Bound::Unbounded))
                .map(|(_, w)| w)
                .filter(|w| w.admin == *admin && state.is_none_or(|st| st == w.state))
                .take(limit)
                .map(WorkSummary::from)
                .collect())
        })
    }

    async fn record_items(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
    ) -> StoreResult<Vec<WorkSummary>> {
        self.with(|s| {
            Ok(s.items_by_record
                .get(&(admin.clone(), kind, crm_id.to_owned()))
                .into_iter()
                .flatten()
                .filter_map(|id| s.items.get(id))
                .map(WorkSummary::from)
                .collect())
        })
    }

    async fn next_due(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        self.with(|s| {
            Ok(s.items
                .values()
                .filter(|w| w.admin == *admin)
                .filter_map(|w| match w.state {
                    WorkState::Pending if w.next_attempt_at > now => Some(w.next_attempt_at),
                    WorkState::InFlight => w.lease_until,
                    _ => None,
                })
                .min())
        })
    }

    async fn work_item(&self, admin: &AdminKey, id: WorkItemId) -> StoreResult<Option<WorkItem>> {
        self.with(|s| Ok(s.items.get(&id).filter(|w| w.admin == *admin).cloned()))
    }

    async fn prune_done(&self, admin: &AdminKey, before: DateTime<Utc>) -> StoreResult<u64> {
        self.with(|s| {
            let still_needed: HashSet<WorkItemId> = s
                .items
                .values()
                .filter(|w| w.state != WorkState::Done)
                .flat_map(|w| w.depends_on.iter().copied())
                .collect();
            let doomed: Vec<WorkItemId> = s
                .items
                .values()
                .filter(|w| {
                    w.state == WorkState::Done
                        && w.admin == *admin
                        && w.updated_at < before
                        && !still_needed.contains(&w.id)
                })
                .map(|w| w.id)
                .collect();
            for id in &doomed {
                if let Some(item) = s.items.remove(id) {
                    let record = (item.admin, item.kind, item.crm_id);
                    if let Some(ids) = s.items_by_record.get_mut(&record) {
                        ids.remove(id);
                        if ids.is_empty() {
                            s.items_by_record.remove(&record);
                        }
                    }
                }
            }
            Ok(doomed.len() as u64)
        })
    }
}

impl AuditStore for MemoryStore {
    async fn append_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        self.with(|s| {
            s.audit.push(entry);
            Ok(())
        })
    }

    async fn recent_audit(&self, admin: &AdminKey, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        self.with(|s| {
            Ok(s.audit
                .iter()
                .rev()
                .filter(|e| e.admin == *admin)
                .take(limit)
                .cloned()
                .collect())
        })
    }

    async fn prune_audit(&self, admin: &AdminKey, before: DateTime<Utc>) -> StoreResult<u64> {
        self.with(|s| {
            let len = s.audit.len();
            s.audit.retain(|e| e.admin != *admin || e.at >= before);
            Ok((len - s.audit.len()) as u64)
        })
    }
}

impl ConfigStore for MemoryStore {
    async fn save_config(
        &self,
        admin: &AdminKey,
        document: serde_json::Value,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.with(|s| {
            let versions = s.configs.entry(admin.clone()).or_default();
            let latest = versions.last().map(|v| v.version);
            if latest != expected_version {
                return Err(StoreError::conflict(format!(
                    "mapping configuration of administration {admin:?} is at version {latest:?}, expected {expected_version:?}"
                )));
            }
            let version = latest.unwrap_or(0) + 1;
            versions.push(ConfigVersion::new(version, document, now));
            Ok(version)
        })
    }

    async fn config(&self, admin: &AdminKey, version: u64) -> StoreResult<Option<ConfigVersion>> {
        self.with(|s| {
            Ok(s.configs
                .get(admin)
                .and_then(|versions| versions.iter().find(|v| v.version == version))
                .cloned())
        })
    }

    async fn latest_config(&self, admin: &AdminKey) -> StoreResult<Option<ConfigVersion>> {
        self.with(|s| Ok(s.configs.get(admin).and_then(|v| v.last()).cloned()))
    }

    async fn config_versions(&self, admin: &AdminKey) -> StoreResult<Vec<u64>> {
        self.with(|s| {
            Ok(s.configs
                .get(admin)
                .map(|v| v.iter().map(|c| c.version).collect())
                .unwrap_or_default())
        })
    }
}
