//! VAT kinds and the VAT rate history (`/btwtarieven`).

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::wire::{self, api_enum};

api_enum! {
    /// The Dutch VAT kind of a booking line, a ledger or a rate (`BtwSoortModel`).
    pub enum BtwSoort {
        /// No VAT (0 %).
        Geen = ("Geen", 0),
        /// The reduced rate (9 % since 2019).
        Laag = ("Laag", 1),
        /// The standard rate (21 % since October 2012).
        Hoog = ("Hoog", 2),
        /// The administration's third, configurable rate.
        Overig = ("Overig", 3),
    }
}

api_enum! {
    /// The VAT kind of a VAT line on a sales booking (`VerkoopBoekingBtwRegelModel.btwSoort`).
    pub enum VerkoopBtwSoort {
        /// No VAT.
        Geen = ("Geen", 0),
        /// VAT to remit at the reduced rate.
        VerkopenLaag = ("VerkopenLaag", 1),
        /// VAT to remit at the standard rate.
        VerkopenHoog = ("VerkopenHoog", 2),
        /// VAT to remit at the third rate.
        VerkopenOverig = ("VerkopenOverig", 3),
        /// Reverse-charged sales; may not be mixed with other VAT kinds (BOE-0062).
        VerkopenVerlegd = ("VerkopenVerlegd", 4),
        /// Reclaimable VAT at the reduced rate.
        InkopenLaag = ("InkopenLaag", 5),
        /// Reclaimable VAT at the standard rate.
        InkopenHoog = ("InkopenHoog", 6),
        /// Reclaimable VAT at the third rate.
        InkopenOverig = ("InkopenOverig", 7),
    }
}

api_enum! {
    /// The VAT kind of a VAT line on a purchase booking (`BtwBoekingModel.btwSoort`); there is
    /// no `VerkopenVerlegd` (4) here, but there is `InkopenVerlegd` (8).
    pub enum InkoopBtwSoort {
        /// No VAT.
        Geen = ("Geen", 0),
        /// VAT to remit at the reduced rate.
        VerkopenLaag = ("VerkopenLaag", 1),
        /// VAT to remit at the standard rate.
        VerkopenHoog = ("VerkopenHoog", 2),
        /// VAT to remit at the third rate.
        VerkopenOverig = ("VerkopenOverig", 3),
        /// Reclaimable VAT at the reduced rate.
        InkopenLaag = ("InkopenLaag", 5),
        /// Reclaimable VAT at the standard rate.
        InkopenHoog = ("InkopenHoog", 6),
        /// Reclaimable VAT at the third rate.
        InkopenOverig = ("InkopenOverig", 7),
        /// Reverse-charged purchases.
        InkopenVerlegd = ("InkopenVerlegd", 8),
    }
}

/// One period of one Dutch VAT rate (`BtwTariefModel`), as listed by `GET /btwtarieven`.
///
/// The list is the full history; pick the row whose period contains the booking date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct BtwTarief {
    /// The VAT kind this rate applies to.
    pub btw_soort: BtwSoort,
    /// The percentage, e.g. `21` for 21 %.
    #[serde(with = "wire::decimal")]
    pub btw_percentage: Decimal,
    /// First day the rate applies.
    #[serde(with = "wire::datetime")]
    pub datum_vanaf: NaiveDateTime,
    /// Last day the rate applies (SnelStart uses a far-future date for the current rate; `None`
    /// if it ever sends `null`).
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub datum_tot_en_met: Option<NaiveDateTime>,
}

impl BtwTarief {
    /// A rate of `btw_percentage` % for `btw_soort` from `datum_vanaf` on, open-ended.
    pub fn new(btw_soort: BtwSoort, btw_percentage: Decimal, datum_vanaf: NaiveDateTime) -> Self {
        BtwTarief {
            btw_soort,
            btw_percentage,
            datum_vanaf,
            datum_tot_en_met: None,
        }
    }

    /// Whether the rate applies on `date` (both ends inclusive; an open end never stops).
    pub fn applies_on(&self, date: NaiveDateTime) -> bool {
        date.date() >= self.datum_vanaf.date()
            && self
                .datum_tot_en_met
                .is_none_or(|end| date.date() <= end.date())
    }
}
