//! The outbox: events for the CRM sink, stored in the same transaction as the outcome of the
//! work item that produced them, and delivered from there until the sink accepts them.
//!
//! Why: an event delivered straight to the sink is lost when the sink is down (or the process
//! dies between the outcome and the delivery), and the CRM may then never learn the SnelStart
//! id of a record. Stored with the outcome, an event exists exactly when the outcome does; it
//! is delivered at least once, under an idempotency key that stays the same for every
//! delivery attempt, so a sink can drop repeats.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AdminKey, AuditEntry, LeaseToken, StoredError};

/// Identifies an outbox entry. Assigned by the store, increasing in the order entries are
/// stored (which is the order they are delivered in), never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OutboxId(i64);

impl OutboxId {
    /// Wraps a raw id (as stored by a backend).
    pub const fn new(raw: i64) -> Self {
        Self(raw)
    }

    /// The raw id.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for OutboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "outbox #{}", self.0)
    }
}

/// An event to store with an item's outcome.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NewOutboxEvent {
    /// The key every delivery of this event carries, so the sink can recognise a repeat.
    /// The engine makes it unique per event (administration, item, attempt and position).
    pub idempotency_key: String,
    /// The event, as JSON (the engine stores a [`SinkEvent`](crate::SinkEvent)).
    pub event: serde_json::Value,
}

impl NewOutboxEvent {
    /// An event under `idempotency_key`.
    pub fn new(idempotency_key: impl Into<String>, event: serde_json::Value) -> Self {
        Self {
            idempotency_key: idempotency_key.into(),
            event,
        }
    }
}

/// An event waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutboxEvent {
    /// The store-assigned id.
    pub id: OutboxId,
    /// The administration of the item that produced it.
    pub admin: AdminKey,
    /// See [`NewOutboxEvent::idempotency_key`].
    pub idempotency_key: String,
    /// The event, as JSON.
    pub event: serde_json::Value,
    /// How many times it was claimed for delivery.
    pub attempts: u32,
    /// Not claimable before this instant (a delivery in progress, or a backoff after the
    /// sink refused it).
    pub next_attempt_at: DateTime<Utc>,
    /// Why the sink refused it last, if it did.
    pub last_error: Option<String>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

impl OutboxEvent {
    /// An event as just stored: not yet claimed, due at `created_at`. Stores build their
    /// records from this and then set the other fields.
    pub fn stored(
        id: OutboxId,
        admin: AdminKey,
        idempotency_key: impl Into<String>,
        event: serde_json::Value,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            admin,
            idempotency_key: idempotency_key.into(),
            event,
            attempts: 0,
            next_attempt_at: created_at,
            last_error: None,
            created_at,
        }
    }
}

/// What became of a claimed work item: the four ways a claim ends.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ItemOutcome {
    /// Done (as [`QueueStore::complete`](super::QueueStore::complete)).
    Done,
    /// Back to Pending, not before `at` (as [`QueueStore::reschedule`](super::QueueStore::reschedule)).
    Retry {
        /// When it may run again.
        at: DateTime<Utc>,
        /// Why it did not finish.
        error: StoredError,
    },
    /// Failed (as [`QueueStore::fail`](super::QueueStore::fail)).
    Failed(StoredError),
    /// Held for review (as [`QueueStore::needs_review`](super::QueueStore::needs_review)).
    NeedsReview(serde_json::Value),
}

/// One claimed item's outcome with the events and audit entries it produced, for
/// [`OutboxStore::finish_batch`](super::OutboxStore::finish_batch).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FinishedItem {
    /// The claim.
    pub token: LeaseToken,
    /// How it ended.
    pub outcome: ItemOutcome,
    /// Events for the sink, in delivery order; stored only if the outcome is.
    pub events: Vec<NewOutboxEvent>,
    /// Audit entries of the writes the item's handling sent, in order; appended to the audit
    /// log in the same transaction as the outcome (as [`AuditStore::append_audit`] would,
    /// one commit per batch instead of one per write). When the batch is refused they are
    /// not stored: the caller appends them on its own (the writes did happen).
    ///
    /// [`AuditStore::append_audit`]: super::AuditStore::append_audit
    pub audit: Vec<AuditEntry>,
}

impl FinishedItem {
    /// An outcome with its events.
    pub fn new(token: LeaseToken, outcome: ItemOutcome, events: Vec<NewOutboxEvent>) -> Self {
        Self {
            token,
            outcome,
            events,
            audit: Vec::new(),
        }
    }

    /// Sets the audit entries stored with the outcome.
    #[must_use]
    pub fn with_audit(mut self, audit: Vec<AuditEntry>) -> Self {
        self.audit = audit;
        self
    }
}

/// How many events wait for delivery, and when the next one is due.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OutboxBacklog {
    /// Events not yet accepted by the sink.
    pub waiting: u64,
    /// The earliest `next_attempt_at` among them.
    pub next_attempt_at: Option<DateTime<Utc>>,
}
