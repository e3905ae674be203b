//! Versions of an administration's mapping configuration.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One saved version of a mapping configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConfigVersion {
    /// The version number: 1 for the first save, then +1 per save, without gaps.
    pub version: u64,
    /// The configuration document as saved.
    pub document: serde_json::Value,
    /// When it was saved.
    pub saved_at: DateTime<Utc>,
}

impl ConfigVersion {
    /// Builds a version record (used by store implementations).
    pub fn new(version: u64, document: serde_json::Value, saved_at: DateTime<Utc>) -> Self {
        Self {
            version,
            document,
            saved_at,
        }
    }
}
