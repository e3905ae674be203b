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
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub nonactief: bool,
    /// The user-visible number: required, 1 to 999 999 999 and unique (KPL-0006..KPL-0008).
    ///
    /// `0` stands for "not sent" (`null`/absent reads as `0`, and `0` is never written), so a
    /// read-modify-write of a cost centre without a number never PUTs `nummer: 0`. (0 is not a
    /// valid number, so no value SnelStart accepts is lost. It stays an `i32` until the
    /// mapping can take an `Option`.)
    #[serde(
        default,
        deserialize_with = "super::null_as_default",
        skip_serializing_if = "is_zero"
    )]
    pub nummer: i32,
    /// The id; `None` on create (a real id gives ALG-0100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<KostenplaatsId>,
    /// The relative uri (`/kostenplaatsen/{id}`); read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

impl Kostenplaats {
    /// A new, active cost centre.
    pub fn new(nummer: i32, omschrijving: impl Into<String>) -> Self {
        Kostenplaats {
            omschrijving: Some(omschrijving.into()),
            nummer,
            ..Kostenplaats::default()
        }
    }
}
