//! Journals (`/dagboeken`).

use serde::{Deserialize, Serialize};

use crate::DagboekId;
use crate::wire::api_enum;

api_enum! {
    /// The kind of a journal (`DagboekModel.soort`).
    pub enum DagboekSoort {
        /// No particular kind.
        Geen = ("Geen", 0),
        /// Cash.
        Kas = ("Kas", 1),
        /// Bank.
        Bank = ("Bank", 2),
        /// Sales.
        Verkoop = ("Verkoop", 4),
        /// Purchases.
        Inkoop = ("Inkoop", 5),
        /// Journal entries; [`Memoriaalboeking`](crate::models::Memoriaalboeking) needs one.
        Memoriaal = ("Memoriaal", 7),
        /// Opening balance.
        Balans = ("Balans", 8),
    }
}

/// A journal (`DagboekModel`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Dagboek {
    /// The description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// The kind of journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soort: Option<DagboekSoort>,
    /// Inactive journals cannot be booked on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonactief: Option<bool>,
    /// The user-visible journal number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nummer: Option<i32>,
    /// The id.
    pub id: DagboekId,
    /// The relative uri (`/dagboeken/{id}`); read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl Dagboek {
    /// A journal with only its id set.
    pub fn new(id: DagboekId) -> Self {
        Dagboek {
            omschrijving: None,
            soort: None,
            nonactief: None,
            nummer: None,
            id,
            uri: None,
        }
    }

    /// Whether the journal is inactive (only an explicit `nonactief: true`; `null`/absent is
    /// active).
    pub fn is_inactive(&self) -> bool {
        self.nonactief == Some(true)
    }
}
