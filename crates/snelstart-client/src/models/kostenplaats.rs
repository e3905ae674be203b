//! Cost centres (`/kostenplaatsen`).

use serde::{Deserialize, Serialize};

use crate::KostenplaatsId;

/// A cost centre (`KostenplaatsModel`); the same model is read, created and updated.
///
/// It has no `modifiedOn`, so cost centres cannot be polled for changes: re-read the list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Kostenplaats {
    /// The description; required, at most 50 characters (KPL-0004, KPL-0005).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// Inactive cost centres cannot be booked on; cannot be created inactive (KPL-0009).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonactief: Option<bool>,
    /// The user-visible number: required on create, 1 to 999 999 999 and unique
    /// (KPL-0006..KPL-0008). `None` when SnelStart sent `null` or nothing, and then nothing is
    /// written back either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nummer: Option<i32>,
    /// The id; `None` on create (a real id gives ALG-0100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<KostenplaatsId>,
    /// The relative uri (`/kostenplaatsen/{id}`); read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl Kostenplaats {
    /// A new, active cost centre (`nonactief: false` is sent).
    pub fn new(nummer: i32, omschrijving: impl Into<String>) -> Self {
        Kostenplaats {
            omschrijving: Some(omschrijving.into()),
            nonactief: Some(false),
            nummer: Some(nummer),
            ..Kostenplaats::default()
        }
    }

    /// Whether the cost centre is inactive. Only an explicit `nonactief: true` is: SnelStart
    /// sends `null`/nothing for cost centres that were never deactivated.
    pub fn is_inactive(&self) -> bool {
        self.nonactief == Some(true)
    }
}
