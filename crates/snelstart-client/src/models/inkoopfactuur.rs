//! Purchase invoices, the open items purchase bookings create (`/inkoopfacturen`).

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::wire::{self, Reference};
use crate::{InkoopboekingId, InkoopfactuurId, RelatieId};

/// A purchase invoice (`InkoopfactuurModel`); read-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct Inkoopfactuur {
    /// When SnelStart last changed the invoice.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub modified_on: Option<NaiveDateTime>,
    /// The amount still to be paid; 0 when settled.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub openstaand_saldo: Option<Decimal>,
    /// The supplier's invoice number; at most 25 characters.
    #[serde(default)]
    pub factuurnummer: String,
    /// The due date.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub verval_datum: Option<NaiveDateTime>,
    /// The supplier.
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
    /// The purchase booking behind the invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inkoop_boeking: Option<Reference<InkoopboekingId>>,
    /// The id.
    pub id: InkoopfactuurId,
    /// The relative uri.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl Inkoopfactuur {
    /// An invoice with only its id and number set.
    pub fn new(id: InkoopfactuurId, factuurnummer: impl Into<String>) -> Self {
        Inkoopfactuur {
            modified_on: None,
            openstaand_saldo: None,
            factuurnummer: factuurnummer.into(),
            verval_datum: None,
            relatie: None,
            factuur_datum: None,
            factuur_bedrag: None,
            inkoop_boeking: None,
            id,
            uri: None,
        }
    }

    /// Whether something is still to be paid.
    pub fn is_open(&self) -> bool {
        self.openstaand_saldo.is_some_and(|s| !s.is_zero())
    }
}
