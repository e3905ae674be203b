//! Countries (`/landen`).

use serde::{Deserialize, Serialize};

use crate::LandId;

/// A country (`LandModel`), needed to fill [`Adres::land`](crate::models::Adres::land).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Land {
    /// The country's name in Dutch, e.g. `Nederland`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naam: Option<String>,
    /// The ISO 3166 code, e.g. `NL`.
    #[serde(
        rename = "landcodeISO",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub landcode_iso: Option<String>,
    /// SnelStart's own country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landcode: Option<String>,
    /// The id.
    pub id: LandId,
    /// The relative uri (`/landen/{id}`); read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl Land {
    /// A country with only its id set.
    pub fn new(id: LandId) -> Self {
        Land {
            naam: None,
            landcode_iso: None,
            landcode: None,
            id,
            uri: None,
        }
    }
}
