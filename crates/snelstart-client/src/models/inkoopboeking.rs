//! Purchase bookings (`/inkoopboekingen`).

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{BtwSoort, Document, InkoopBtwSoort};
use crate::wire::{self, Reference};
use crate::{GrootboekId, InkoopboekingId, KostenplaatsId, RelatieId};

/// A cost line of a purchase booking (`InkoopboekingRegelModel`); the amount is **excluding**
/// VAT. SnelStart requires `grootboek`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct InkoopboekingRegel {
    /// The line text; at most 250 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// The cost ledger; required, must exist and be active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grootboek: Option<Reference<GrootboekId>>,
    /// The cost centre; required when the ledger says so (BOE-0022), refused when the
    /// ledger's cost-centre setting is "Nee" (BOE-0093).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kostenplaats: Option<Reference<KostenplaatsId>>,
    /// The amount excluding VAT; never 0 (BOE-0028).
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub bedrag: Option<Decimal>,
    /// The VAT kind; must be one the ledger allows (BOE-0082).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btw_soort: Option<BtwSoort>,
}

impl InkoopboekingRegel {
    /// A line of `bedrag` (excluding VAT) on `grootboek` with VAT kind `btw_soort`.
    pub fn new(
        omschrijving: impl Into<String>,
        grootboek: GrootboekId,
        bedrag: Decimal,
        btw_soort: BtwSoort,
    ) -> Self {
        InkoopboekingRegel {
            omschrijving: Some(omschrijving.into()),
            grootboek: Some(Reference::new(grootboek)),
            kostenplaats: None,
            bedrag: Some(bedrag),
            btw_soort: Some(btw_soort),
        }
    }
}

/// The VAT of one VAT kind on a purchase booking (`BtwBoekingModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct InkoopboekingBtwRegel {
    /// The VAT kind (`InkopenHoog` for reclaimable VAT on `Hoog` lines, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btw_soort: Option<InkoopBtwSoort>,
    /// The VAT amount.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub btw_bedrag: Option<Decimal>,
}

impl InkoopboekingBtwRegel {
    /// `btw_bedrag` of VAT kind `btw_soort`.
    pub fn new(btw_soort: InkoopBtwSoort, btw_bedrag: Decimal) -> Self {
        InkoopboekingBtwRegel {
            btw_soort: Some(btw_soort),
            btw_bedrag: Some(btw_bedrag),
        }
    }
}

/// A purchase booking (`InkoopboekingModel`): a supplier invoice as booked. Read, created,
/// updated (a full replacement) and deleted with the same model; the read-only properties
/// (`modifiedOn`, `documents`, `id`, `uri`) are left out on write when empty.
///
/// All fields are optional so that `Default` plus field assignment works; SnelStart requires
/// `factuurdatum`, `factuurnummer`, `leverancier` and `boekingsregels`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct Inkoopboeking {
    /// When SnelStart last changed the booking; read-only.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub modified_on: Option<NaiveDateTime>,
    /// The document number; at most 25 characters (BOE-0068).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boekstuk: Option<String>,
    /// Changed by the accountant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gewijzigd_door_accountant: Option<bool>,
    /// Flagged for attention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markering: Option<bool>,
    /// The invoice (= booking) date; required.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub factuurdatum: Option<NaiveDateTime>,
    /// The supplier's invoice number; required, at most 25 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factuurnummer: Option<String>,
    /// The supplier; required, must be a supplier (BOE-0003) and active (BOE-0054).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leverancier: Option<Reference<RelatieId>>,
    /// The description; at most 250 characters (BOE-0071).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// The invoice total **including** VAT.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub factuurbedrag: Option<Decimal>,
    /// The cost lines, excluding VAT; at least one (BOE-0023).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boekingsregels: Option<Vec<InkoopboekingRegel>>,
    /// The VAT per VAT kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btw: Option<Vec<InkoopboekingBtwRegel>>,
    /// Attachments; read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<Vec<Document>>,
    /// The id; `None` on create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<InkoopboekingId>,
    /// The relative uri (`/inkoopboekingen/{id}`); read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl Inkoopboeking {
    /// A new booking without lines.
    pub fn new(
        factuurnummer: impl Into<String>,
        leverancier: RelatieId,
        factuurdatum: NaiveDateTime,
    ) -> Self {
        Inkoopboeking {
            factuurdatum: Some(factuurdatum),
            factuurnummer: Some(factuurnummer.into()),
            leverancier: Some(Reference::new(leverancier)),
            ..Inkoopboeking::default()
        }
    }

    /// Σ of the line amounts (excluding VAT); missing amounts count as 0.
    pub fn totaal_regels(&self) -> Decimal {
        self.boekingsregels
            .iter()
            .flatten()
            .filter_map(|r| r.bedrag)
            .sum()
    }

    /// Σ of the VAT amounts; missing amounts count as 0.
    pub fn totaal_btw(&self) -> Decimal {
        self.btw.iter().flatten().filter_map(|r| r.btw_bedrag).sum()
    }

    /// Whether `factuurbedrag` is set and equals lines plus VAT, to the cent.
    pub fn is_balanced(&self) -> bool {
        self.factuurbedrag == Some(self.totaal_regels() + self.totaal_btw())
    }

    /// Sets `factuurbedrag` to lines plus VAT.
    pub fn set_factuurbedrag_from_lines(&mut self) {
        self.factuurbedrag = Some(self.totaal_regels() + self.totaal_btw());
    }
}

/// A UBL invoice to book as a purchase booking (`UblContentModel`), the body of
/// `POST /inkoopboekingen/ubl`.
///
/// Both contents are base64 text, as on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct UblContent {
    /// The file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The UBL XML, base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// A PDF rendering, base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdf_content: Option<String>,
    /// Book even when SnelStart's validation reports problems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_persist: Option<bool>,
}
