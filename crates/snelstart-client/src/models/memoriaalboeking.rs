//! Journal entries (`/memoriaalboekingen`), also used to allocate payments to invoices.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::wire::{self, Reference};
use crate::{
    DagboekId, GrootboekId, InkoopboekingId, KostenplaatsId, MemoriaalboekingId, VerkoopboekingId,
};

/// A ledger line of a journal entry (`MemoriaalBoekingsRegelModel`): either `debet` or
/// `credit` is non-zero, never both (BOE-0076).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemoriaalboekingRegel {
    /// The line text; required, at most 250 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// The ledger; required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grootboek: Option<Reference<GrootboekId>>,
    /// The cost centre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kostenplaats: Option<Reference<KostenplaatsId>>,
    /// The debit amount (may be negative).
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub debet: Option<Decimal>,
    /// The credit amount (may be negative).
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub credit: Option<Decimal>,
}

impl MemoriaalboekingRegel {
    /// A debit line.
    pub fn debet(omschrijving: impl Into<String>, grootboek: GrootboekId, bedrag: Decimal) -> Self {
        MemoriaalboekingRegel {
            omschrijving: Some(omschrijving.into()),
            grootboek: Some(Reference::new(grootboek)),
            kostenplaats: None,
            debet: Some(bedrag),
            credit: Some(Decimal::ZERO),
        }
    }

    /// A credit line.
    pub fn credit(
        omschrijving: impl Into<String>,
        grootboek: GrootboekId,
        bedrag: Decimal,
    ) -> Self {
        MemoriaalboekingRegel {
            omschrijving: Some(omschrijving.into()),
            grootboek: Some(Reference::new(grootboek)),
            kostenplaats: None,
            debet: Some(Decimal::ZERO),
            credit: Some(bedrag),
        }
    }
}

/// An allocation of an amount to a sales booking's open item
/// (`VerkoopBoekingVerantwoordingsRegelModel`): how a payment reduces a
/// [`Verkoopfactuur`](crate::models::Verkoopfactuur)'s `openstaandSaldo`. The sign convention
/// of `bedrag` is not documented by the vendor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct VerkoopboekingVerantwoordingsRegel {
    /// The sales booking; required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boeking_id: Option<Reference<VerkoopboekingId>>,
    /// The line text; required, at most 250 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// The amount allocated; required.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub bedrag: Option<Decimal>,
}

impl VerkoopboekingVerantwoordingsRegel {
    /// Allocates `bedrag` to booking `boeking`.
    pub fn new(
        boeking: VerkoopboekingId,
        omschrijving: impl Into<String>,
        bedrag: Decimal,
    ) -> Self {
        VerkoopboekingVerantwoordingsRegel {
            boeking_id: Some(Reference::new(boeking)),
            omschrijving: Some(omschrijving.into()),
            bedrag: Some(bedrag),
        }
    }
}

/// An allocation of an amount to a purchase booking's open item
/// (`InkoopBoekingVerantwoordingsRegelModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct InkoopboekingVerantwoordingsRegel {
    /// The purchase booking; required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boeking_id: Option<Reference<InkoopboekingId>>,
    /// The line text; required, at most 250 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// The amount allocated; required.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub bedrag: Option<Decimal>,
}

impl InkoopboekingVerantwoordingsRegel {
    /// Allocates `bedrag` to booking `boeking`.
    pub fn new(boeking: InkoopboekingId, omschrijving: impl Into<String>, bedrag: Decimal) -> Self {
        InkoopboekingVerantwoordingsRegel {
            boeking_id: Some(Reference::new(boeking)),
            omschrijving: Some(omschrijving.into()),
            bedrag: Some(bedrag),
        }
    }
}

/// A journal entry (`MemoriaalboekingModel`). Debits must equal credits (BOE-0039) over at
/// least two lines (BOE-0094); the journal must be of kind
/// [`Memoriaal`](crate::models::DagboekSoort::Memoriaal) (BOE-0095) and cannot change later
/// (BOE-0077). Read-only properties (`modifiedOn`, `id`, `uri`) are left out on write when
/// empty. All fields are optional so that `Default` plus field assignment works; SnelStart
/// requires `datum` and `dagboek`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct Memoriaalboeking {
    /// When SnelStart last changed the entry; read-only.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub modified_on: Option<NaiveDateTime>,
    /// The booking date; required.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub datum: Option<NaiveDateTime>,
    /// Flagged for attention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markering: Option<bool>,
    /// The document number; at most 25 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boekstuk: Option<String>,
    /// Changed by the accountant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gewijzigd_door_accountant: Option<bool>,
    /// The description; at most 250 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// The ledger lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memoriaal_boekings_regels: Option<Vec<MemoriaalboekingRegel>>,
    /// Allocations to purchase bookings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inkoopboeking_boekings_regels: Option<Vec<InkoopboekingVerantwoordingsRegel>>,
    /// Allocations to sales bookings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verkoopboeking_boekings_regels: Option<Vec<VerkoopboekingVerantwoordingsRegel>>,
    /// The journal; required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dagboek: Option<Reference<DagboekId>>,
    /// The id; `None` on create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<MemoriaalboekingId>,
    /// The relative uri; read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl Memoriaalboeking {
    /// A new entry on `dagboek` dated `datum`, without lines.
    pub fn new(datum: NaiveDateTime, dagboek: DagboekId) -> Self {
        Memoriaalboeking {
            datum: Some(datum),
            dagboek: Some(Reference::new(dagboek)),
            ..Memoriaalboeking::default()
        }
    }

    /// Whether the ledger lines' debits equal their credits. Allocation lines are not counted:
    /// the vendor does not document their sign convention.
    pub fn is_balanced(&self) -> bool {
        let regels = || self.memoriaal_boekings_regels.iter().flatten();
        let debet: Decimal = regels().filter_map(|r| r.debet).sum();
        let credit: Decimal = regels().filter_map(|r| r.credit).sum();
        debet == credit
    }
}
