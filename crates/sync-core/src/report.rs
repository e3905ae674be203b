//! What a run did, what the engine would do, and how things stand.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use snelstart_client::budget::BudgetUsage;

use crate::breaker::Reachability;
use crate::store::{EntityKind, QueueCounts, StoredError};

/// What happened to one record in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// A SnelStart record was created.
    Created,
    /// An existing SnelStart record was linked (matched, found by natural key after a lost
    /// response, or chosen by a reviewer).
    Linked,
    /// The linked SnelStart record was updated.
    Updated,
    /// Nothing changed: no call was made.
    Unchanged,
    /// The SnelStart record was set `nonactief`.
    Archived,
    /// Nothing to do (for example an inactive project that SnelStart never had).
    Skipped,
    /// Waiting for a human decision.
    Review,
    /// Failed with a reason (see the status report).
    Failed,
    /// Retried later (rate limit, outage).
    Deferred,
}

impl Action {
    /// Every action, in report order.
    pub const ALL: [Action; 9] = [
        Action::Created,
        Action::Linked,
        Action::Updated,
        Action::Unchanged,
        Action::Archived,
        Action::Skipped,
        Action::Review,
        Action::Failed,
        Action::Deferred,
    ];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Linked => "linked",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
            Action::Archived => "archived",
            Action::Skipped => "skipped",
            Action::Review => "review",
            Action::Failed => "failed",
            Action::Deferred => "deferred",
        }
    }
}

/// Counts of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RunReport {
    /// Changes read from the CRM source and queued.
    pub ingested: u64,
    /// Per entity kind and action, how many records.
    pub actions: BTreeMap<EntityKind, BTreeMap<Action, u64>>,
    /// SnelStart calls made during the run (from the client's rate budget).
    pub api_calls: u64,
    /// Wall time of the run.
    #[serde(with = "duration_secs")]
    pub elapsed: Duration,
    /// True when the run stopped early because SnelStart was unreachable.
    pub interrupted_by_outage: bool,
}

impl RunReport {
    /// How many records of `kind` ended with `action`.
    pub fn count(&self, kind: EntityKind, action: Action) -> u64 {
        self.actions
            .get(&kind)
            .and_then(|m| m.get(&action))
            .copied()
            .unwrap_or(0)
    }

    /// How many records (of any kind) ended with `action`.
    pub fn total(&self, action: Action) -> u64 {
        self.actions.values().filter_map(|m| m.get(&action)).sum()
    }

    pub(crate) fn add(&mut self, kind: EntityKind, action: Action) {
        *self
            .actions
            .entry(kind)
            .or_default()
            .entry(action)
            .or_default() += 1;
    }

    pub(crate) fn merge(&mut self, other: &RunReport) {
        self.ingested += other.ingested;
        for (kind, actions) in &other.actions {
            for (action, n) in actions {
                *self
                    .actions
                    .entry(*kind)
                    .or_default()
                    .entry(*action)
                    .or_default() += n;
            }
        }
        self.api_calls += other.api_calls;
        self.elapsed += other.elapsed;
        self.interrupted_by_outage |= other.interrupted_by_outage;
    }
}

impl fmt::Display for RunReport {
    /// A table: one row per entity kind, one column per action.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<16}", "entity")?;
        for a in Action::ALL {
            write!(f, "{:>10}", a.as_str())?;
        }
        writeln!(f)?;
        for (kind, actions) in &self.actions {
            write!(f, "{:<16}", kind.as_str())?;
            for a in Action::ALL {
                write!(f, "{:>10}", actions.get(&a).copied().unwrap_or(0))?;
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "ingested {} changes; {} SnelStart calls in {:.1} s{}",
            self.ingested,
            self.api_calls,
            self.elapsed.as_secs_f64(),
            if self.interrupted_by_outage {
                "; stopped early: SnelStart unreachable (work stays queued)"
            } else {
                ""
            }
        )
    }
}

/// A work item that failed, with its reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FailureEntry {
    /// Entity kind.
    pub kind: EntityKind,
    /// The CRM record.
    pub crm_id: String,
    /// The reason, with SnelStart codes where there were any.
    pub error: Option<StoredError>,
    /// Attempts made.
    pub attempts: u32,
    /// When it failed.
    pub at: DateTime<Utc>,
}

impl FailureEntry {
    /// The fields of the CRM record the failure names (see [`StoredError::field_paths`]).
    pub fn fields(&self) -> Vec<String> {
        self.error
            .as_ref()
            .map(StoredError::field_paths)
            .unwrap_or_default()
    }
}

/// A work item waiting for a human decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReviewEntry {
    /// Entity kind.
    pub kind: EntityKind,
    /// The CRM record.
    pub crm_id: String,
    /// The reasons and candidates, as the matcher gave them.
    pub reasons: serde_json::Value,
    /// Since when.
    pub since: DateTime<Utc>,
}

/// What an administrator checks weekly.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StatusReport {
    /// The administration.
    pub admin: String,
    /// Work items per state.
    pub queue: QueueCounts,
    /// The last run that finished without an outage, per flow.
    pub last_success: BTreeMap<String, DateTime<Utc>>,
    /// Failed items with their reasons (newest first, at most the configured number).
    pub failures: Vec<FailureEntry>,
    /// Items waiting for review.
    pub review: Vec<ReviewEntry>,
    /// Use of the SnelStart rate budget.
    #[serde(skip)]
    pub budget: BudgetUsage,
    /// Whether SnelStart answers.
    pub reachability: Reachability,
    /// The mapping-configuration version in use.
    pub config_version: Option<u64>,
    /// Unfinished work per entity kind (bookings queued and failed, per kind). Kinds with
    /// nothing unfinished are left out.
    pub by_kind: BTreeMap<EntityKind, KindQueue>,
    /// The last read-back of payment status, if any ran.
    pub last_read_back: Option<ReadBackSummary>,
    /// Items of SnelStart's lists that did not decode and were skipped (operation, position,
    /// JSON path, id): records the engine did not see, most recent reads first kept by the
    /// client. A change on SnelStart's side shows here before it bites.
    pub skipped_items: Vec<String>,
    /// What the engine waits for right now, and until when (`None` while it works or has
    /// nothing to do).
    pub waiting: Option<Waiting>,
    /// Events for the CRM sink that it has not accepted yet (they are delivered again by
    /// every run until it does), and when the next is due.
    pub outbox: crate::store::OutboxBacklog,
}

/// What a running engine waits for and until when: shown in [`StatusReport::waiting`],
/// logged by [`crate::SyncEngine::run_until_idle`], and for a host's progress display through
/// [`crate::SyncEngine::waiting`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Waiting {
    /// Why it waits.
    pub reason: WaitReason,
    /// Until when, as far as the engine knows (an outage lasts until SnelStart answers).
    pub until: DateTime<Utc>,
    /// Work items that wait.
    pub items: u64,
}

/// Why the engine waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WaitReason {
    /// SnelStart does not answer: the circuit breaker probes again at `until`.
    Outage,
    /// The call budget (calls a minute or an hour) is spent: room at `until`.
    Budget,
    /// Items wait out a retry backoff, SnelStart's `Retry-After`, or a lease of a stopped
    /// worker.
    Retry,
}

impl fmt::Display for Waiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.reason {
            WaitReason::Outage => "SnelStart to answer again (circuit breaker)",
            WaitReason::Budget => "room in the call budget",
            WaitReason::Retry => "the next retry (backoff, Retry-After or an expired lease)",
        };
        write!(
            f,
            "{} items waiting for {what} until {}",
            self.items,
            self.until.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// Unfinished work items of one entity kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KindQueue {
    /// Waiting to run (including blocked ones).
    pub pending: u64,
    /// Being processed.
    pub in_flight: u64,
    /// Failed, see [`StatusReport::failures`] for the reasons.
    pub failed: u64,
    /// Waiting for review.
    pub needs_review: u64,
}

/// What the last [`read_back`](crate::SyncEngine::read_back) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ReadBackSummary {
    /// When it started.
    pub at: DateTime<Utc>,
    /// Invoices read.
    pub invoices_seen: u64,
    /// Payments found.
    pub payments_found: u64,
    /// Events the CRM accepted.
    pub events_delivered: u64,
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = &self.queue;
        writeln!(f, "administration {}", self.admin)?;
        writeln!(
            f,
            "queue: {} pending ({} blocked), {} in flight, {} done, {} failed, {} waiting for review",
            q.pending, q.blocked, q.in_flight, q.done, q.failed, q.needs_review
        )?;
        match &self.reachability {
            Reachability::Unknown => writeln!(f, "SnelStart: not contacted yet")?,
            Reachability::Reachable { at } => {
                writeln!(f, "SnelStart: reachable (last answer {at})")?
            }
            Reachability::Unreachable {
                since,
                retry_at,
                last_error,
            } => writeln!(
                f,
                "SnelStart: UNREACHABLE since {since}, next try {retry_at}: {last_error}"
            )?,
        }
        writeln!(
            f,
            "budget: {} calls in the last minute, {} in the last hour, {} in total",
            self.budget.last_minute, self.budget.last_hour, self.budget.total
        )?;
        if let Some(waiting) = &self.waiting {
            writeln!(f, "waiting: {waiting}")?;
        }
        if self.outbox.waiting > 0 {
            write!(
                f,
                "CRM sink: {} event(s) not accepted yet",
                self.outbox.waiting
            )?;
            match self.outbox.next_attempt_at {
                Some(at) => writeln!(f, ", next delivery {at}")?,
                None => writeln!(f)?,
            }
        }
        for (flow, at) in &self.last_success {
            writeln!(f, "last successful run of {flow}: {at}")?;
        }
        if let Some(v) = self.config_version {
            writeln!(f, "mapping configuration: version {v}")?;
        }
        for (kind, k) in &self.by_kind {
            writeln!(
                f,
                "{kind}: {} queued, {} in flight, {} failed, {} waiting for review",
                k.pending, k.in_flight, k.failed, k.needs_review
            )?;
        }
        match &self.last_read_back {
            Some(r) => writeln!(
                f,
                "last read-back: {} ({} invoices read, {} payments found, {} events delivered)",
                r.at, r.invoices_seen, r.payments_found, r.events_delivered
            )?,
            None => writeln!(f, "last read-back: never")?,
        }
        if !self.failures.is_empty() {
            writeln!(f, "failures:")?;
            for e in &self.failures {
                let reason = e
                    .error
                    .as_ref()
                    .map(|s| s.message.as_str())
                    .unwrap_or("(no reason recorded)");
                writeln!(f, "  {} {}: {}", e.kind, e.crm_id, reason)?;
            }
        }
        if !self.review.is_empty() {
            writeln!(f, "waiting for review:")?;
            for r in &self.review {
                writeln!(f, "  {} {}: {}", r.kind, r.crm_id, r.reasons)?;
            }
        }
        if !self.skipped_items.is_empty() {
            writeln!(f, "SnelStart list items that did not decode (skipped):")?;
            for item in &self.skipped_items {
                writeln!(f, "  {item}")?;
            }
        }
        Ok(())
    }
}

/// One field that an update would change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FieldChange {
    /// The SnelStart field (JSON name).
    pub field: String,
    /// Its current value in SnelStart.
    pub from: serde_json::Value,
    /// The value the sync would write.
    pub to: serde_json::Value,
}

/// What a sync would do with one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PlannedAction {
    /// Create a SnelStart record.
    Create,
    /// Link to an existing SnelStart record.
    Link {
        /// The record.
        snelstart_id: String,
    },
    /// Update the linked record.
    Update {
        /// The record.
        snelstart_id: String,
        /// What changes.
        changes: Vec<FieldChange>,
    },
    /// Nothing to do.
    Skip {
        /// Why.
        reason: String,
    },
    /// Set the record `nonactief`.
    Archive {
        /// The record.
        snelstart_id: String,
    },
    /// Hold for review.
    Review {
        /// Why.
        reasons: Vec<String>,
    },
    /// Fail.
    Fail {
        /// Why.
        problems: Vec<String>,
    },
}

/// One line of a dry run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PlanEntry {
    /// Entity kind.
    pub kind: EntityKind,
    /// The CRM record.
    pub crm_id: String,
    /// What would happen.
    pub action: PlannedAction,
}

mod duration_secs {
    use serde::Serializer;
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}
