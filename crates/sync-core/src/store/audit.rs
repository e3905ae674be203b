//! The audit log: one entry per write sent to SnelStart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AdminKey, EntityKind};

/// How a write ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "message", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditOutcome {
    /// The write succeeded.
    Ok,
    /// The write failed (or its outcome is unknown); the message says how.
    Error(String),
}

impl AuditOutcome {
    /// True for [`AuditOutcome::Ok`].
    pub fn is_ok(&self) -> bool {
        matches!(self, AuditOutcome::Ok)
    }
}

/// One audit-log entry.
///
/// The summary and message must never contain secrets (tokens, keys); the engine writes a
/// summary such as `POST /relaties relatiecode=1042`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditEntry {
    /// When the write happened.
    pub at: DateTime<Utc>,
    /// The administration written to.
    pub admin: AdminKey,
    /// The entity kind.
    pub kind: EntityKind,
    /// The CRM record, when the write concerns one.
    pub crm_id: Option<String>,
    /// The SnelStart record, when known.
    pub snelstart_id: Option<Uuid>,
    /// What was done (`create`, `update`, `link`, `archive`, ...).
    pub action: String,
    /// A short, secret-free description of the request.
    pub request_summary: String,
    /// How it ended.
    pub outcome: AuditOutcome,
}

impl AuditEntry {
    /// An entry without CRM or SnelStart id.
    pub fn new(
        at: DateTime<Utc>,
        admin: AdminKey,
        kind: EntityKind,
        action: impl Into<String>,
        request_summary: impl Into<String>,
        outcome: AuditOutcome,
    ) -> Self {
        Self {
            at,
            admin,
            kind,
            crm_id: None,
            snelstart_id: None,
            action: action.into(),
            request_summary: request_summary.into(),
            outcome,
        }
    }

    /// Sets the CRM id.
    #[must_use]
    pub fn with_crm_id(mut self, crm_id: impl Into<String>) -> Self {
        self.crm_id = Some(crm_id.into());
        self
    }

    /// Sets the SnelStart id.
    #[must_use]
    pub fn with_snelstart_id(mut self, id: Uuid) -> Self {
        self.snelstart_id = Some(id);
        self
    }
}
