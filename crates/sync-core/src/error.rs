//! Errors of the engine.
//!
//! Two levels. [`EngineError`] stops a call such as [`SyncEngine::sync`](crate::SyncEngine::sync)
//! (the store or the CRM source is broken, the configuration does not validate). Problems of a
//! single record never do: they end up on its work item as a [`StoredError`] whose `kind` says
//! how the engine treats it ([`FailureKind`]), and the rest of the batch goes on.

use crate::crm::CrmError;
use crate::store::{StoreError, StoredError};

/// An error that stops an engine call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The CRM source or sink failed.
    #[error(transparent)]
    Crm(#[from] CrmError),
    /// The mapping configuration does not fit the administration; nothing was synced.
    #[error("the mapping configuration is not valid for this administration: {0}")]
    InvalidConfig(String),
    /// SnelStart could not be read to prepare the run (for example the chart of accounts).
    #[error("SnelStart: {0}")]
    SnelStart(#[from] snelstart_client::Error),
    /// The client's koppelsleutel opens another SnelStart administration than the one this
    /// administration key was bound to; nothing was done.
    #[error(
        "administration `{admin}` is bound to SnelStart administration {bound}, but the \
         koppelsleutel opens {found}: check the key (nothing was synced)"
    )]
    AdministrationMismatch {
        /// The engine's administration key.
        admin: String,
        /// The `administratieIdentifier` recorded on first use.
        bound: String,
        /// The one the current koppelsleutel opens.
        found: String,
    },
}

/// How the engine treats a failed work item, stored as [`StoredError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureKind {
    /// The record is wrong for SnelStart (pre-flight problems or a 400 with codes): fix the
    /// data or the mapping, then [`replay`](crate::SyncEngine::replay).
    Permanent,
    /// SnelStart throttled us; retried after the wait it asked for.
    RateLimited,
    /// SnelStart or the network is down; retried with backoff, never given up.
    Transient,
    /// A create may have happened; resolved by natural key on the next attempt.
    Uncertain,
}

impl FailureKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Permanent => "permanent",
            FailureKind::RateLimited => "rate_limited",
            FailureKind::Transient => "transient",
            FailureKind::Uncertain => "uncertain",
        }
    }

    pub(crate) fn error(self, message: impl Into<String>) -> StoredError {
        StoredError::new(self.as_str(), message)
    }
}

/// Turns a client error into a stored error, keeping the SnelStart codes.
pub(crate) fn stored_from_client(kind: FailureKind, e: &snelstart_client::Error) -> StoredError {
    let codes: Vec<String> = e.error_codes().iter().map(|c| c.to_string()).collect();
    let mut stored = kind
        .error(e.to_string())
        .with_details(serde_json::json!({ "status": e.status(), "codes": codes }));
    if let Some(first) = codes.first() {
        stored = stored.with_code(first.clone());
    }
    stored
}
