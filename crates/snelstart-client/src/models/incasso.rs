//! Recurring direct-debit mandates (`/relaties/{id}/doorlopendeincassomachtigingen`).

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::wire::{self, Reference};
use crate::{IncassoMachtigingId, RelatieId};

/// A recurring SEPA direct-debit mandate of a customer (`DoorlopendeIncassoMachtigingModel`);
/// read-only. Reference it from a sales booking's `doorlopendeIncassoMachtiging`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct DoorlopendeIncassoMachtiging {
    /// The mandate reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kenmerk: Option<String>,
    /// When the mandate was signed.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub afsluit_datum: Option<NaiveDateTime>,
    /// The description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// The customer who signed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub klant: Option<Reference<RelatieId>>,
    /// When it was revoked; a revoked mandate cannot be used (BOE-0079).
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub intrekkings_datum: Option<NaiveDateTime>,
    /// The id.
    pub id: IncassoMachtigingId,
    /// The relative uri.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl DoorlopendeIncassoMachtiging {
    /// A mandate with only its id set.
    pub fn new(id: IncassoMachtigingId) -> Self {
        DoorlopendeIncassoMachtiging {
            kenmerk: None,
            afsluit_datum: None,
            omschrijving: None,
            klant: None,
            intrekkings_datum: None,
            id,
            uri: None,
        }
    }

    /// Whether the mandate has been revoked.
    pub fn is_ingetrokken(&self) -> bool {
        self.intrekkings_datum.is_some()
    }
}
