//! Sales bookings (`/verkoopboekingen`).

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{BtwSoort, Document, VerkoopBtwSoort};
use crate::wire::{self, Reference};
use crate::{GrootboekId, IncassoMachtigingId, KostenplaatsId, RelatieId, VerkoopboekingId};

/// A revenue line of a sales booking (`VerkoopBoekingRegelModel`); the amount is **excluding**
/// VAT.
///
/// Like every write model, all fields are optional so that `Default` plus field assignment
/// works; SnelStart requires `grootboek` (and refuses a zero `bedrag`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct VerkoopboekingRegel {
    /// The line text; at most 250 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// The revenue ledger; required, must exist (BOE-0037/BOE-0089) and be active (BOE-0008).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grootboek: Option<Reference<GrootboekId>>,
    /// The cost centre; required when the ledger says so (BOE-0022).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kostenplaats: Option<Reference<KostenplaatsId>>,
    /// The amount excluding VAT; never 0 (BOE-0028), negative on credit notes.
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

impl VerkoopboekingRegel {
    /// A line of `bedrag` (excluding VAT) on `grootboek` with VAT kind `btw_soort`.
    pub fn new(
        omschrijving: impl Into<String>,
        grootboek: GrootboekId,
        bedrag: Decimal,
        btw_soort: BtwSoort,
    ) -> Self {
        VerkoopboekingRegel {
            omschrijving: Some(omschrijving.into()),
            grootboek: Some(Reference::new(grootboek)),
            kostenplaats: None,
            bedrag: Some(bedrag),
            btw_soort: Some(btw_soort),
        }
    }
}

/// The VAT to remit for one VAT kind on a sales booking (`VerkoopBoekingBtwRegelModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct VerkoopboekingBtwRegel {
    /// The VAT kind (`VerkopenHoog` for lines with `Hoog`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btw_soort: Option<VerkoopBtwSoort>,
    /// The VAT amount, rounded to cents per kind.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub btw_bedrag: Option<Decimal>,
}

impl VerkoopboekingBtwRegel {
    /// `btw_bedrag` of VAT kind `btw_soort`.
    pub fn new(btw_soort: VerkoopBtwSoort, btw_bedrag: Decimal) -> Self {
        VerkoopboekingBtwRegel {
            btw_soort: Some(btw_soort),
            btw_bedrag: Some(btw_bedrag),
        }
    }
}

/// A one-off SEPA direct-debit mandate on a sales booking
/// (`VerkoopBoekingEenmaligeIncassoMachtigingModel`).
///
/// The customer needs an IBAN (BOE-0052) and must allow direct debit (BOE-0055); not together
/// with a recurring mandate (BOE-0064).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct EenmaligeIncassoMachtiging {
    /// The mandate reference; at most 50 characters (BOE-0057), unused before (BOE-0063).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kenmerk: Option<String>,
    /// The description; required, at most 50 characters (BOE-0056; the vendor schema says
    /// 250, the error list wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// The mandate date; required.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub datum: Option<NaiveDateTime>,
}

impl EenmaligeIncassoMachtiging {
    /// A mandate with a description and date.
    pub fn new(omschrijving: impl Into<String>, datum: NaiveDateTime) -> Self {
        EenmaligeIncassoMachtiging {
            kenmerk: None,
            omschrijving: Some(omschrijving.into()),
            datum: Some(datum),
        }
    }
}

/// A sales booking (`VerkoopBoekingModel`): the invoice as booked. Read, created, updated
/// (a full replacement) and deleted with the same model; the read-only properties
/// (`modifiedOn`, `documents`, `id`, `uri`) are left out on write when empty.
///
/// All fields are optional so that `Default` plus field assignment works; SnelStart requires
/// `factuurnummer`, `klant`, `factuurdatum` and at least one line. Amounts must add up:
/// `factuurbedrag = Σ boekingsregels.bedrag + Σ btw.btwBedrag` (BOE-0039 otherwise); see
/// [`Verkoopboeking::is_balanced`]. Creating one also creates a
/// [`Verkoopfactuur`](crate::models::Verkoopfactuur) (the open item).
///
/// ```
/// use rust_decimal_macros::dec;
/// use snelstart_client::models::*;
/// use snelstart_client::{GrootboekId, RelatieId};
/// let klant = RelatieId::new_random();
/// let omzet_hoog = GrootboekId::new_random();
/// let datum = chrono::NaiveDate::from_ymd_opt(2024, 11, 12).unwrap().and_hms_opt(0, 0, 0).unwrap();
/// let mut boeking = Verkoopboeking::new("2024-0417", klant, datum);
/// boeking.boekingsregels = Some(vec![VerkoopboekingRegel::new("Advies", omzet_hoog, dec!(1000), BtwSoort::Hoog)]);
/// boeking.btw = Some(vec![VerkoopboekingBtwRegel::new(VerkoopBtwSoort::VerkopenHoog, dec!(210))]);
/// boeking.set_factuurbedrag_from_lines();
/// assert_eq!(boeking.factuurbedrag, Some(dec!(1210)));
/// assert!(boeking.is_balanced());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct Verkoopboeking {
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
    /// The invoice (= booking) date; treat as required (BOE-0070 when invalid).
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub factuurdatum: Option<NaiveDateTime>,
    /// The invoice number; required, at most 25 characters (BOE-0058), unique (BOE-0021).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factuurnummer: Option<String>,
    /// The customer; required, must be a customer (BOE-0060) and active (BOE-0054).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub klant: Option<Reference<RelatieId>>,
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
    /// The payment term in days (0 to 999); `None` uses the relation's `krediettermijn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub betalingstermijn: Option<i32>,
    /// A one-off direct-debit mandate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eenmalige_incasso_machtiging: Option<EenmaligeIncassoMachtiging>,
    /// A recurring mandate of the customer (BOE-0066, BOE-0067, BOE-0079).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doorlopende_incasso_machtiging: Option<Reference<IncassoMachtigingId>>,
    /// The revenue lines, excluding VAT; at least one (BOE-0023).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boekingsregels: Option<Vec<VerkoopboekingRegel>>,
    /// The VAT to remit per VAT kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btw: Option<Vec<VerkoopboekingBtwRegel>>,
    /// Attachments; read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<Vec<Document>>,
    /// The id; `None` on create (a real id gives ALG-0100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<VerkoopboekingId>,
    /// The relative uri (`/verkoopboekingen/{id}`); read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl Verkoopboeking {
    /// A new booking without lines; add `boekingsregels` and `btw`, then
    /// [`set_factuurbedrag_from_lines`](Self::set_factuurbedrag_from_lines).
    pub fn new(
        factuurnummer: impl Into<String>,
        klant: RelatieId,
        factuurdatum: NaiveDateTime,
    ) -> Self {
        Verkoopboeking {
            factuurdatum: Some(factuurdatum),
            factuurnummer: Some(factuurnummer.into()),
            klant: Some(Reference::new(klant)),
            ..Verkoopboeking::default()
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

    /// Whether `factuurbedrag` is set and equals lines plus VAT, to the cent (what BOE-0039
    /// checks).
    pub fn is_balanced(&self) -> bool {
        self.factuurbedrag == Some(self.totaal_regels() + self.totaal_btw())
    }

    /// Sets `factuurbedrag` to lines plus VAT.
    pub fn set_factuurbedrag_from_lines(&mut self) {
        self.factuurbedrag = Some(self.totaal_regels() + self.totaal_btw());
    }
}
