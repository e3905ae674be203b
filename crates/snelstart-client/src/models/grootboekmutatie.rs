//! Ledger mutations (`/grootboekmutaties`): every debit/credit posted on a ledger.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Document;
use crate::wire::{self, Reference, WireList};
use crate::{DagboekId, GrootboekId, GrootboekmutatieId, KostenplaatsId, RelatieId};

/// One posting on a ledger (`GrootboekMutatieModel`); read-only. Useful to detect payments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct Grootboekmutatie {
    /// The ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grootboek: Option<Reference<GrootboekId>>,
    /// The cost centre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kostenplaats: Option<Reference<KostenplaatsId>>,
    /// The booking date.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub datum: Option<NaiveDateTime>,
    /// When SnelStart last changed the mutation.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub modified_on: Option<NaiveDateTime>,
    /// The journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dagboek: Option<Reference<DagboekId>>,
    /// The description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// The debit amount.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub debet: Option<Decimal>,
    /// The credit amount.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub credit: Option<Decimal>,
    /// `debet − credit`.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub saldo: Option<Decimal>,
    /// Attachments.
    #[serde(default, skip_serializing_if = "WireList::is_absent")]
    pub documents: WireList<Document>,
    /// The document number of the booking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boekstuk: Option<String>,
    /// The invoice number of the booking, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factuur_nummer: Option<String>,
    /// The relation of the booking, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relatie_public_identifier: Option<Reference<RelatieId>>,
    /// The id.
    pub id: GrootboekmutatieId,
    /// The relative uri.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl Grootboekmutatie {
    /// A mutation with only its id set.
    pub fn new(id: GrootboekmutatieId) -> Self {
        Grootboekmutatie {
            grootboek: None,
            kostenplaats: None,
            datum: None,
            modified_on: None,
            dagboek: None,
            omschrijving: None,
            debet: None,
            credit: None,
            saldo: None,
            documents: WireList::absent(),
            boekstuk: None,
            factuur_nummer: None,
            relatie_public_identifier: None,
            id,
            uri: None,
        }
    }
}
