//! Sales invoices, the open items sales bookings create (`/verkoopfacturen`).

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::wire::{self, Reference, WireList};
use crate::{RelatieId, VerkoopOrderId, VerkoopboekingId, VerkoopfactuurId};

/// A sales invoice (`VerkoopfactuurModel`); read-only. Note the vendor's capitals in
/// `factuurDatum`, `vervalDatum` and `factuurBedrag`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct Verkoopfactuur {
    /// The sales booking behind the invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verkoop_boeking: Option<Reference<VerkoopboekingId>>,
    /// When SnelStart last changed the invoice (payments change it too).
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub modified_on: Option<NaiveDateTime>,
    /// The amount still to be paid; 0 when settled, negative for credit notes.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub openstaand_saldo: Option<Decimal>,
    /// The invoice number; at most 25 characters.
    #[serde(default)]
    pub factuurnummer: String,
    /// The due date.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub verval_datum: Option<NaiveDateTime>,
    /// The customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relatie: Option<Reference<RelatieId>>,
    /// The invoice date.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub factuur_datum: Option<NaiveDateTime>,
    /// The invoice total including VAT.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub factuur_bedrag: Option<Decimal>,
    /// The sales orders invoiced.
    #[serde(default, skip_serializing_if = "WireList::is_absent")]
    pub verkoop_orders: WireList<Reference<VerkoopOrderId>>,
    /// The id (distinct from the booking's id).
    pub id: VerkoopfactuurId,
    /// The relative uri (`/verkoopfacturen/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl Verkoopfactuur {
    /// An invoice with only its id and number set.
    pub fn new(id: VerkoopfactuurId, factuurnummer: impl Into<String>) -> Self {
        Verkoopfactuur {
            verkoop_boeking: None,
            modified_on: None,
            openstaand_saldo: None,
            factuurnummer: factuurnummer.into(),
            verval_datum: None,
            relatie: None,
            factuur_datum: None,
            factuur_bedrag: None,
            verkoop_orders: WireList::absent(),
            id,
            uri: None,
        }
    }

    /// Whether something is still to be paid (or refunded).
    pub fn is_open(&self) -> bool {
        self.openstaand_saldo.is_some_and(|s| !s.is_zero())
    }
}
