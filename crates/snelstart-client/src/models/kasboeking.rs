//! Cash bookings (`/kasboekingen`) and the line models that bank and cash bookings share
//! (the vendor keeps them in its `Kasboekingen` namespace).
//!
//! A bank or cash booking moves money through the journal's own ledger: `bedragOntvangen`
//! debits it, `bedragUitgegeven` credits it (never both, BOE-0027). The lines say where the
//! money goes: to ledgers ([`GrootboekBoekingsRegel`]), to the open item of a sales booking
//! ([`BankKasVerkoopboekingRegel`]: a payment received is a `credit`), to the open item of a
//! purchase booking ([`BankKasInkoopboekingRegel`]: a payment made is a `debet`), or to VAT
//! ([`BtwBoekingregel`]). The booking balances when
//! `bedragOntvangen + Σ debet = bedragUitgegeven + Σ credit` over all lines (BOE-0039).

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::BtwSoort;
use crate::wire::{self, Reference, api_enum};
use crate::{
    DagboekId, GrootboekId, InkoopboekingId, KasboekingId, KostenplaatsId, VerkoopboekingId,
};

/// A ledger line of a bank or cash booking (`Kasboekingen.GrootboekBoekingsRegelModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct GrootboekBoekingsRegel {
    /// The line text; required, at most 250 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// The ledger; required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grootboek: Option<Reference<GrootboekId>>,
    /// The cost centre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kostenplaats: Option<Reference<KostenplaatsId>>,
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
    /// The VAT kind of the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btw_soort: Option<BtwSoort>,
}

impl GrootboekBoekingsRegel {
    /// A line on `grootboek`: `debet` and `credit` as given.
    pub fn new(
        omschrijving: impl Into<String>,
        grootboek: GrootboekId,
        debet: Decimal,
        credit: Decimal,
    ) -> Self {
        GrootboekBoekingsRegel {
            omschrijving: Some(omschrijving.into()),
            grootboek: Some(Reference::new(grootboek)),
            kostenplaats: None,
            debet: Some(debet),
            credit: Some(credit),
            btw_soort: None,
        }
    }
}

/// An allocation to a sales booking's open item on a bank or cash booking
/// (`Kasboekingen.VerkoopBoekingVerantwoordingsRegelModel`). A payment received is a
/// `credit` (it lowers the debtor); a refund is a `debet`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct BankKasVerkoopboekingRegel {
    /// The sales booking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boeking_id: Option<Reference<VerkoopboekingId>>,
    /// The line text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// The debit amount (a refund).
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub debet: Option<Decimal>,
    /// The credit amount (a payment received).
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub credit: Option<Decimal>,
}

impl BankKasVerkoopboekingRegel {
    /// A payment of `bedrag` received for `boeking`.
    pub fn payment(
        boeking: VerkoopboekingId,
        omschrijving: impl Into<String>,
        bedrag: Decimal,
    ) -> Self {
        BankKasVerkoopboekingRegel {
            boeking_id: Some(Reference::new(boeking)),
            omschrijving: Some(omschrijving.into()),
            debet: Some(Decimal::ZERO),
            credit: Some(bedrag),
        }
    }

    /// The amount this line pays off the invoice: `credit − debet`.
    pub fn paid(&self) -> Decimal {
        self.credit.unwrap_or_default() - self.debet.unwrap_or_default()
    }
}

/// An allocation to a purchase booking's open item on a bank or cash booking
/// (`Kasboekingen.InkoopBoekingVerantwoordingsRegelModel`). A payment made is a `debet`
/// (it lowers the creditor).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct BankKasInkoopboekingRegel {
    /// The purchase booking; required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boeking_id: Option<Reference<InkoopboekingId>>,
    /// The line text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// The debit amount (a payment made).
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub debet: Option<Decimal>,
    /// The credit amount (money returned by the supplier).
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub credit: Option<Decimal>,
}

impl BankKasInkoopboekingRegel {
    /// A payment of `bedrag` made for `boeking`.
    pub fn payment(
        boeking: InkoopboekingId,
        omschrijving: impl Into<String>,
        bedrag: Decimal,
    ) -> Self {
        BankKasInkoopboekingRegel {
            boeking_id: Some(Reference::new(boeking)),
            omschrijving: Some(omschrijving.into()),
            debet: Some(bedrag),
            credit: Some(Decimal::ZERO),
        }
    }

    /// The amount this line pays off the invoice: `debet − credit`.
    pub fn paid(&self) -> Decimal {
        self.debet.unwrap_or_default() - self.credit.unwrap_or_default()
    }
}

api_enum! {
    /// Whether a VAT line of a bank or cash booking is reclaimable or payable
    /// (`BtwBoekingregelModel.type`).
    pub enum BtwBoekingregelType {
        /// VAT to reclaim.
        TeVorderenBtwType = ("TeVorderenBtwType", 0),
        /// VAT to pay.
        AfTeDragenBtwType = ("AfTeDragenBtwType", 1),
    }
}

/// A VAT line of a bank or cash booking (`Kasboekingen.BtwBoekingregelModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct BtwBoekingregel {
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
    /// Reclaimable or payable; required.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<BtwBoekingregelType>,
    /// The rate (`Hoog`, `Laag` or `Overig`); required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tarief: Option<BtwSoort>,
}

/// Defines a bank or cash booking model: both have exactly the same properties.
macro_rules! bank_kas_model {
    ($(#[$doc:meta])* $name:ident, $id:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[non_exhaustive]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// When SnelStart last changed the booking; read-only.
            #[serde(
                default,
                with = "wire::option_datetime",
                skip_serializing_if = "Option::is_none"
            )]
            pub modified_on: Option<NaiveDateTime>,
            /// The booking date; required. The date a payment was made.
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
            /// Lines on ledgers.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub grootboek_boekings_regels: Option<Vec<GrootboekBoekingsRegel>>,
            /// Allocations to purchase bookings (payments made).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub inkoopboeking_boekings_regels: Option<Vec<BankKasInkoopboekingRegel>>,
            /// Allocations to sales bookings (payments received).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub verkoopboeking_boekings_regels: Option<Vec<BankKasVerkoopboekingRegel>>,
            /// VAT lines.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub btw_boekingsregels: Option<Vec<BtwBoekingregel>>,
            /// Money paid out of the journal's account; required (0 when money came in).
            #[serde(
                default,
                with = "wire::option_decimal",
                skip_serializing_if = "Option::is_none"
            )]
            pub bedrag_uitgegeven: Option<Decimal>,
            /// Money received on the journal's account; required (0 when money went out).
            #[serde(
                default,
                with = "wire::option_decimal",
                skip_serializing_if = "Option::is_none"
            )]
            pub bedrag_ontvangen: Option<Decimal>,
            /// The journal; required.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub dagboek: Option<Reference<DagboekId>>,
            /// The id; `None` on create.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub id: Option<$id>,
            /// The relative uri; read-only.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub uri: Option<String>,
        }

        impl $name {
            /// A new booking on `dagboek` dated `datum`, with both amounts 0 and no lines.
            pub fn new(datum: NaiveDateTime, dagboek: DagboekId) -> Self {
                $name {
                    datum: Some(datum),
                    dagboek: Some(Reference::new(dagboek)),
                    bedrag_uitgegeven: Some(Decimal::ZERO),
                    bedrag_ontvangen: Some(Decimal::ZERO),
                    ..$name::default()
                }
            }

            /// Whether the booking balances:
            /// `bedragOntvangen + Σ debet = bedragUitgegeven + Σ credit` over all lines.
            pub fn is_balanced(&self) -> bool {
                let d = |x: Option<Decimal>| x.unwrap_or_default();
                let mut debet = d(self.bedrag_ontvangen);
                let mut credit = d(self.bedrag_uitgegeven);
                for r in self.grootboek_boekings_regels.iter().flatten() {
                    debet += d(r.debet);
                    credit += d(r.credit);
                }
                for r in self.verkoopboeking_boekings_regels.iter().flatten() {
                    debet += d(r.debet);
                    credit += d(r.credit);
                }
                for r in self.inkoopboeking_boekings_regels.iter().flatten() {
                    debet += d(r.debet);
                    credit += d(r.credit);
                }
                for r in self.btw_boekingsregels.iter().flatten() {
                    debet += d(r.debet);
                    credit += d(r.credit);
                }
                debet == credit
            }

            /// The amounts this booking pays off sales bookings, per line
            /// (`credit − debet`; lines without a booking are skipped).
            pub fn verkoop_payments(&self) -> Vec<(VerkoopboekingId, Decimal)> {
                self.verkoopboeking_boekings_regels
                    .iter()
                    .flatten()
                    .filter_map(|r| Some((r.boeking_id.as_ref()?.id, r.paid())))
                    .collect()
            }

            /// The amounts this booking pays off purchase bookings, per line
            /// (`debet − credit`).
            pub fn inkoop_payments(&self) -> Vec<(InkoopboekingId, Decimal)> {
                self.inkoopboeking_boekings_regels
                    .iter()
                    .flatten()
                    .filter_map(|r| Some((r.boeking_id.as_ref()?.id, r.paid())))
                    .collect()
            }
        }
    };
}
pub(crate) use bank_kas_model;

bank_kas_model!(
    /// A cash booking (`KasboekingModel`): money in or out of a cash journal (soort
    /// [`Kas`](crate::models::DagboekSoort::Kas); missing BOE-0025, inactive BOE-0024). See the
    /// module docs for the balance rule.
    Kasboeking,
    KasboekingId
);
