//! The durable work queue's records.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AdminKey, EntityKind, Payload};

/// Identifies a work item. Ids are assigned by the store, increase in enqueue order, and are
/// never reused (not even after [`prune_done`](super::QueueStore::prune_done)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkItemId(i64);

impl WorkItemId {
    /// Wraps a raw id (as stored by a backend).
    pub const fn new(raw: i64) -> Self {
        Self(raw)
    }

    /// The raw id.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for WorkItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where a work item is in its life.
///
/// ```text
/// Pending --claim--> InFlight --complete--> Done
///    ^                  |  |  \--fail-------> Failed ------\
///    |                  |  \--needs_review--> NeedsReview --+--replay--> Pending
///    +--reschedule------+
///    +--lease expires: claimable again as InFlight
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WorkState {
    /// Waiting to be claimed (possibly not before `next_attempt_at`, or blocked by a dependency).
    Pending,
    /// Claimed by a worker until `lease_until`.
    InFlight,
    /// Finished successfully. Terminal.
    Done,
    /// Failed permanently; needs a fix and a [`replay`](super::QueueStore::replay).
    Failed,
    /// Held for a human decision (for example an ambiguous relation match).
    NeedsReview,
}

impl WorkState {
    /// Every state, in declaration order.
    pub const ALL: [WorkState; 5] = [
        WorkState::Pending,
        WorkState::InFlight,
        WorkState::Done,
        WorkState::Failed,
        WorkState::NeedsReview,
    ];

    /// The stable storage spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            WorkState::Pending => "pending",
            WorkState::InFlight => "in_flight",
            WorkState::Done => "done",
            WorkState::Failed => "failed",
            WorkState::NeedsReview => "needs_review",
        }
    }

    /// Parses [`WorkState::as_str`]'s spelling.
    pub fn parse(s: &str) -> Option<Self> {
        WorkState::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// True for states that hold up dependants until someone intervenes: only a record
    /// waiting for a human decision. A Failed dependency does not hold its dependants: they
    /// run, find the dependency missing and fail naming it, so no record waits in silence.
    pub const fn blocks_dependants(self) -> bool {
        matches!(self, WorkState::NeedsReview)
    }

    /// True for the states of a dependency that let its dependants run: Done, or Failed (the
    /// dependant then fails with the dependency's reason).
    pub const fn releases_dependants(self) -> bool {
        matches!(self, WorkState::Done | WorkState::Failed)
    }
}

impl fmt::Display for WorkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The last error recorded on a work item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredError {
    /// The error's class as the engine names it (`permanent`, `transient`, `uncertain`, ...).
    pub kind: String,
    /// A machine-readable code, for example a SnelStart error code such as `REL-0008`.
    pub code: Option<String>,
    /// A human-readable message. Must never contain secrets.
    pub message: String,
    /// Structured details (field, record, raw response summary), `null` when none.
    pub details: serde_json::Value,
}

impl StoredError {
    /// The fields of the CRM record this error names: the `path` of every entry in its details
    /// (pre-flight problems, intake refusals, a failed dependency), in order, without repeats.
    /// Empty when the error is not about a field (an outage, a conflict).
    pub fn field_paths(&self) -> Vec<String> {
        let entries: Vec<&serde_json::Value> = match &self.details {
            serde_json::Value::Array(items) => items.iter().collect(),
            other @ serde_json::Value::Object(_) => vec![other],
            _ => Vec::new(),
        };
        let mut paths: Vec<String> = Vec::new();
        for path in entries
            .into_iter()
            .filter_map(|e| e.get("path").and_then(serde_json::Value::as_str))
        {
            if !paths.iter().any(|p| p == path) {
                paths.push(path.to_owned());
            }
        }
        paths
    }

    /// An error with no code and no details.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            code: None,
            message: message.into(),
            details: serde_json::Value::Null,
        }
    }

    /// Sets the code.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the details.
    #[must_use]
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A work item to enqueue.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NewWorkItem {
    /// The administration the work is for.
    pub admin: AdminKey,
    /// The entity kind.
    pub kind: EntityKind,
    /// The CRM record the work is about.
    pub crm_id: String,
    /// What to do (`upsert`, `archive`, `upload`, ...). Part of the coalescing key.
    pub operation: String,
    /// Everything the worker needs; replaced wholesale when coalesced.
    pub payload: Payload,
    /// Items that must be [`Done`](WorkState::Done) before this one may be claimed.
    pub depends_on: Vec<WorkItemId>,
    /// The item is not claimable before this instant.
    pub not_before: DateTime<Utc>,
}

impl NewWorkItem {
    /// An item claimable from `now` on, without dependencies.
    pub fn new(
        admin: AdminKey,
        kind: EntityKind,
        crm_id: impl Into<String>,
        operation: impl Into<String>,
        payload: impl Into<Payload>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            admin,
            kind,
            crm_id: crm_id.into(),
            operation: operation.into(),
            payload: payload.into(),
            depends_on: Vec::new(),
            not_before: now,
        }
    }

    /// Adds dependencies.
    #[must_use]
    pub fn depending_on(mut self, ids: impl IntoIterator<Item = WorkItemId>) -> Self {
        self.depends_on.extend(ids);
        self
    }

    /// Delays the first attempt.
    #[must_use]
    pub fn not_before(mut self, at: DateTime<Utc>) -> Self {
        self.not_before = at;
        self
    }
}

/// A work item as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkItem {
    /// The store-assigned id.
    pub id: WorkItemId,
    /// The administration the work is for.
    pub admin: AdminKey,
    /// The entity kind.
    pub kind: EntityKind,
    /// The CRM record the work is about.
    pub crm_id: String,
    /// What to do.
    pub operation: String,
    /// The latest payload.
    pub payload: Payload,
    /// Items that must be done first, ascending.
    pub depends_on: Vec<WorkItemId>,
    /// Current state.
    pub state: WorkState,
    /// How many times the item was claimed since it was enqueued or last replayed.
    pub attempts: u32,
    /// Not claimable before this instant (while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// While in flight: the lease expiry, after which another worker may claim the item.
    pub lease_until: Option<DateTime<Utc>>,
    /// The last recorded error, if any.
    pub last_error: Option<StoredError>,
    /// Why the item needs review (set by `needs_review`).
    pub review: Option<serde_json::Value>,
    /// When the item was enqueued.
    pub created_at: DateTime<Utc>,
    /// When the item last changed.
    pub updated_at: DateTime<Utc>,
}

impl WorkItem {
    /// The freshly enqueued form of `new`: Pending, no attempts, claimable from
    /// `new.not_before`. Stores build their records from this and then set the other fields.
    pub fn enqueued(id: WorkItemId, new: NewWorkItem, now: DateTime<Utc>) -> Self {
        let mut depends_on = new.depends_on;
        depends_on.sort_unstable();
        depends_on.dedup();
        Self {
            id,
            admin: new.admin,
            kind: new.kind,
            crm_id: new.crm_id,
            operation: new.operation,
            payload: new.payload,
            depends_on,
            state: WorkState::Pending,
            attempts: 0,
            next_attempt_at: new.not_before,
            lease_until: None,
            last_error: None,
            review: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The token proving the current claim, for `complete`, `reschedule`, `fail`,
    /// `needs_review` and `renew_lease`.
    pub fn lease(&self) -> LeaseToken {
        LeaseToken {
            id: self.id,
            attempt: self.attempts,
        }
    }
}

/// A work item without its payload: what status reports, dependency checks and wake-up
/// planning need. Loading a payload can mean loading a base64 PDF; these callers never look
/// at it, so the store does not read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkSummary {
    /// The store-assigned id.
    pub id: WorkItemId,
    /// The administration the work is for.
    pub admin: AdminKey,
    /// The entity kind.
    pub kind: EntityKind,
    /// The CRM record the work is about.
    pub crm_id: String,
    /// What to do.
    pub operation: String,
    /// Current state.
    pub state: WorkState,
    /// How many times the item was claimed since it was enqueued or last replayed.
    pub attempts: u32,
    /// Not claimable before this instant (while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// While in flight: the lease expiry.
    pub lease_until: Option<DateTime<Utc>>,
    /// The last recorded error, if any.
    pub last_error: Option<StoredError>,
    /// Why the item needs review.
    pub review: Option<serde_json::Value>,
    /// When the item was enqueued.
    pub created_at: DateTime<Utc>,
    /// When the item last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<WorkItem> for WorkSummary {
    fn from(item: WorkItem) -> Self {
        Self {
            id: item.id,
            admin: item.admin,
            kind: item.kind,
            crm_id: item.crm_id,
            operation: item.operation,
            state: item.state,
            attempts: item.attempts,
            next_attempt_at: item.next_attempt_at,
            lease_until: item.lease_until,
            last_error: item.last_error,
            review: item.review,
            created_at: item.created_at,
            updated_at: item.updated_at,
        }
    }
}

impl From<&WorkItem> for WorkSummary {
    fn from(item: &WorkItem) -> Self {
        Self {
            id: item.id,
            admin: item.admin.clone(),
            kind: item.kind,
            crm_id: item.crm_id.clone(),
            operation: item.operation.clone(),
            state: item.state,
            attempts: item.attempts,
            next_attempt_at: item.next_attempt_at,
            lease_until: item.lease_until,
            last_error: item.last_error.clone(),
            review: item.review.clone(),
            created_at: item.created_at,
            updated_at: item.updated_at,
        }
    }
}

/// Proof of one particular claim of a work item.
///
/// A claim's lease can expire while its worker is still busy (a long stall); another worker
/// may then claim the item again, which increments its attempt counter. The token carries the
/// attempt number it was issued for, so the stalled worker's late `complete` is refused with a
/// [`Conflict`](super::StoreError::Conflict) instead of silently finishing someone else's
/// claim (a fencing token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LeaseToken {
    /// The item.
    pub id: WorkItemId,
    /// The attempt number the claim produced.
    pub attempt: u32,
}

/// Number of items per state for one administration.
///
/// The fields partition the queue: every item is counted exactly once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QueueCounts {
    /// Pending items that can run (now or after their backoff), not counting `blocked`.
    pub pending: u64,
    /// Pending items that cannot run until someone acts: a dependency (directly or through
    /// other items) is Failed or NeedsReview.
    pub blocked: u64,
    /// Claimed items (including ones whose lease expired and that are waiting to be reclaimed).
    pub in_flight: u64,
    /// Finished items not yet pruned.
    pub done: u64,
    /// Permanently failed items.
    pub failed: u64,
    /// Items waiting for a human decision.
    pub needs_review: u64,
}

impl QueueCounts {
    /// Sum of all fields.
    pub fn total(&self) -> u64 {
        self.pending + self.blocked + self.in_flight + self.done + self.failed + self.needs_review
    }
}

/// Which Failed / NeedsReview items [`replay`](super::QueueStore::replay) sends back to
/// Pending.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayFilter {
    /// Only this administration.
    pub admin: AdminKey,
    /// Only this kind, when set.
    pub kind: Option<EntityKind>,
    /// Only this CRM record, when set.
    pub crm_id: Option<String>,
    /// Replay Failed items.
    pub failed: bool,
    /// Replay NeedsReview items.
    pub needs_review: bool,
}

impl ReplayFilter {
    /// Every Failed item of the administration (review items stay put).
    pub fn failed(admin: AdminKey) -> Self {
        Self {
            admin,
            kind: None,
            crm_id: None,
            failed: true,
            needs_review: false,
        }
    }

    /// Every NeedsReview item of the administration.
    pub fn needs_review(admin: AdminKey) -> Self {
        Self {
            admin,
            kind: None,
            crm_id: None,
            failed: false,
            needs_review: true,
        }
    }

    /// Restricts to one kind.
    #[must_use]
    pub fn kind(mut self, kind: EntityKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Restricts to one CRM record.
    #[must_use]
    pub fn crm_id(mut self, crm_id: impl Into<String>) -> Self {
        self.crm_id = Some(crm_id.into());
        self
    }

    /// Also (or only) includes NeedsReview items.
    #[must_use]
    pub fn include_needs_review(mut self, yes: bool) -> Self {
        self.needs_review = yes;
        self
    }

    /// True when `item` is selected by this filter.
    pub fn matches(&self, item: &WorkItem) -> bool {
        let state_ok = match item.state {
            WorkState::Failed => self.failed,
            WorkState::NeedsReview => self.needs_review,
            _ => false,
        };
        state_ok
            && item.admin == self.admin
            && self.kind.is_none_or(|kind| kind == item.kind)
            && self.crm_id.as_deref().is_none_or(|id| id == item.crm_id)
    }
}
