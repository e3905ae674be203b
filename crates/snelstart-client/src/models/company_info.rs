//! The administration's own settings (`/companyInfo`).

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::wire::{self, Reference, WireList, api_enum};
use crate::{AdministratieId, GrootboekId};

api_enum! {
    /// The legal form of the company (`rechtsvorm`).
    ///
    /// The vendor definition gives no integer values; the numbers assume declaration order.
    pub enum Rechtsvorm {
        /// Not set.
        NotSet = ("NotSet", 0),
        /// Sole proprietorship.
        Eenmanszaak = ("Eenmanszaak", 1),
        /// General partnership (vennootschap onder firma).
        Vof = ("Vof", 2),
        /// Private limited company (besloten vennootschap).
        Bv = ("Bv", 3),
        /// Public limited company (naamloze vennootschap).
        Nv = ("Nv", 4),
        /// Another legal form.
        Overige = ("Overige", 5),
    }
}

api_enum! {
    /// How often a tax return is filed (`btwAangiftePeriodeSoort`, `icpAangiftePeriodeSoort`).
    ///
    /// The vendor definition gives no integer values; the numbers assume declaration order.
    pub enum AangiftePeriodeSoort {
        /// Monthly.
        Maand = ("Maand", 0),
        /// Quarterly.
        Kwartaal = ("Kwartaal", 1),
        /// Yearly.
        Jaar = ("Jaar", 2),
    }
}

api_enum! {
    /// When imported bank statement lines are flagged.
    ///
    /// The vendor definition gives no integer values; the numbers assume declaration order.
    pub enum MarkeergedragInlezenBankafschriften {
        /// Only the most important lines.
        AlleenBelangrijkste = ("AlleenBelangrijkste", 0),
        /// Always.
        Altijd = ("Altijd", 1),
    }
}

api_enum! {
    /// Which text lines are copied to a back order.
    ///
    /// The vendor definition gives no integer values; the numbers assume declaration order.
    pub enum TekstregelsOvernemenNaarBackorder {
        /// None.
        Geen = ("Geen", 0),
        /// Text lines above an article.
        BovenArtikel = ("BovenArtikel", 1),
        /// Text lines below an article.
        OnderArtikel = ("OnderArtikel", 2),
        /// All.
        Alle = ("Alle", 3),
    }
}

api_enum! {
    /// How a line discount on a sales order is computed.
    ///
    /// The vendor definition gives no integer values; the numbers assume declaration order.
    pub enum RegelkortingVerkooporder {
        /// Computed over the line amount.
        BerekenenOverRegelBedrag = ("BerekenenOverRegelBedrag", 0),
        /// Computed over the unit price.
        BerekenenOverStukprijs = ("BerekenenOverStukprijs", 1),
    }
}

api_enum! {
    /// Whether article codes are numeric or alphanumeric.
    ///
    /// The vendor definition gives no integer values; the numbers assume declaration order.
    pub enum ArtikelcodeSoort {
        /// Digits only.
        Numeriek = ("Numeriek", 0),
        /// Letters and digits.
        Alfanumeriek = ("Alfanumeriek", 1),
    }
}

api_enum! {
    /// From which sales order stage stock is reserved.
    ///
    /// The vendor definition gives no integer values; the numbers assume declaration order.
    pub enum VerkooporderVoorraadVanafNiveau {
        /// All.
        Alle = ("Alle", 0),
        /// From the quotation.
        Offerte = ("Offerte", 1),
        /// From the back order.
        BackOrder = ("BackOrder", 2),
        /// From the order confirmation.
        Bevestiging = ("Bevestiging", 3),
        /// From the work order.
        Werkbon = ("Werkbon", 4),
        /// From the packing or pick-up slip.
        PakbonEnAfhaalbon = ("PakbonEnAfhaalbon", 5),
        /// From the invoice or cash receipt.
        FactuurEnContantbon = ("FactuurEnContantbon", 6),
    }
}

api_enum! {
    /// The stock valuation system.
    ///
    /// The vendor definition gives no integer values; the numbers assume declaration order.
    pub enum VoorraadSysteem {
        /// First in, first out.
        Fifo = ("Fifo", 0),
        /// Last in, first out.
        Lifo = ("Lifo", 1),
    }
}

api_enum! {
    /// When stock is updated.
    ///
    /// The vendor definition gives no integer values; the numbers assume declaration order.
    pub enum MomentVoorraadBijwerken {
        /// When a receipt is booked.
        BijBoekenOntvangst = ("BijBoekenOntvangst", 0),
        /// When the purchase invoice is booked.
        BijBoekenInkoopfactuur = ("BijBoekenInkoopfactuur", 1),
    }
}

/// Small-business scheme (KOR) settings (`KleineOndernemersRegelingModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct KleineOndernemersRegeling {
    /// Whether the scheme applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_kleine_ondernemers_regeling_actief: Option<bool>,
    /// Maximum amount for full settlement.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub maximaal_bedrag_volledige_verrekening: Option<Decimal>,
    /// Maximum amount under the scheme.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub maximaal_bedrag_kleine_ondernemers_regeling: Option<Decimal>,
}

/// A number range for foreign-VAT invoicing (`FactureerBuitenlandseBtwDateRangeModel`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FactureerBuitenlandseBtwDateRange {
    /// Start of the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// End of the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
}

impl FactureerBuitenlandseBtwDateRange {
    /// The range `from..=to`.
    pub fn new(from: i64, to: i64) -> Self {
        FactureerBuitenlandseBtwDateRange {
            from: Some(from),
            to: Some(to),
        }
    }
}

/// The administration's own company data and settings (`CompanyInfoModel`), from
/// `GET /companyInfo`: the way to see which administration a koppelsleutel addresses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct CompanyInfo {
    /// The id of the administration the koppelsleutel addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub administratie_identifier: Option<AdministratieId>,
    /// The administration's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub administratie_naam: Option<String>,
    /// The company name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bedrijfsnaam: Option<String>,
    /// The contact person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contactpersoon: Option<String>,
    /// The street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adres: Option<String>,
    /// The postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// The city.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaats: Option<String>,
    /// Phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telefoon: Option<String>,
    /// Mobile phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobiele_telefoon: Option<String>,
    /// Fax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    /// The bank account number (pre-IBAN form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bankrekeningnummer: Option<String>,
    /// IBAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    /// BIC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
    /// The legal form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rechtsvorm: Option<Rechtsvorm>,
    /// The VAT number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btw_nummer: Option<String>,
    /// The VAT identification number (btw-id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btw_identificatie_nummer: Option<String>,
    /// The Chamber of Commerce number (JSON `kvKNummer`, capital K).
    #[serde(rename = "kvKNummer", default, skip_serializing_if = "Option::is_none")]
    pub kvk_nummer: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Free text 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrije_tekst1: Option<String>,
    /// Free text 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrije_tekst2: Option<String>,
    /// Free text 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrije_tekst3: Option<String>,
    /// Free text 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrije_tekst4: Option<String>,
    /// The current financial year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huidig_boekjaar: Option<i32>,
    /// The month (1-12) the fiscal year starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beginmaand_fiscale_boekjaar: Option<i32>,
    /// How often VAT returns are filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btw_aangifte_periode_soort: Option<AangiftePeriodeSoort>,
    /// How often intra-community (ICP) returns are filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icp_aangifte_periode_soort: Option<AangiftePeriodeSoort>,
    /// The VAT number of the fiscal unity, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btw_nummer_fiscale_eenheid: Option<String>,
    /// Compute interim VAT corrections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tussentijdse_suppleties_berekenen: Option<bool>,
    /// The folder for UBL files (JSON `mapUBLBestanden`).
    #[serde(
        rename = "mapUBLBestanden",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub map_ubl_bestanden: Option<String>,
    /// VAT percentage used for the credit-restriction correction.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub btw_percentage_aangifte_kredietbeperking: Option<Decimal>,
    /// When imported bank statements are flagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markeergedrag_inlezen_bankafschriften: Option<MarkeergedragInlezenBankafschriften>,
    /// Apply booking preferences while booking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voorkeuren_tijdens_boeken: Option<bool>,
    /// Leading zeros shown in ledger numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aantal_voorloopnullen_grootboekrekeningen: Option<i32>,
    /// Small-business scheme (KOR) settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kleine_ondernemersregeling: Option<KleineOndernemersRegeling>,
    /// The next invoice number SnelStart will use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volgend_factuurnummer: Option<i32>,
    /// The next sales order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volgend_verkoopordernummer: Option<i32>,
    /// The next cash receipt number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volgend_contantbonnummer: Option<i32>,
    /// The next purchase order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volgend_inkoopordernummer: Option<i32>,
    /// Check stock on order entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voorraadcontrole_orderinvoer: Option<bool>,
    /// Copy subscriptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abonnement_overnemen: Option<bool>,
    /// Fill the delivered column automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kolom_geleverd_automatisch_vullen: Option<bool>,
    /// Show stock columns in purchasing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voorraadkolommen_tonen_in_inkoop: Option<bool>,
    /// Use back orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backorder_gebruiken: Option<bool>,
    /// Partial delivery on by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deellevering_orders_default_aan: Option<bool>,
    /// Attach the invoice to the sales booking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factuur_als_bijlage_verkoopboeking: Option<bool>,
    /// Which text lines are copied to a back order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tekstregels_overnemen_naar_backorder: Option<TekstregelsOvernemenNaarBackorder>,
    /// How line discounts on sales orders are computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regelkorting_verkooporder: Option<RegelkortingVerkooporder>,
    /// Threshold amount for sales order management.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub drempelbedrag_verkooporderbeheer: Option<Decimal>,
    /// Maximum days of postponement under the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drempelbedrag_verkooporderbeheer_max_dagen_uitstel: Option<i32>,
    /// Article sales prices exclude VAT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verkoopprijs_artikelbestand_exclusief_btw: Option<bool>,
    /// Article purchase prices exclude VAT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inkoopprijs_artikelbestand_exclusief_btw: Option<bool>,
    /// Whether article codes are numeric or alphanumeric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artikelcode_soort: Option<ArtikelcodeSoort>,
    /// Maximum article code length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artikelcode_max_lengte: Option<i32>,
    /// Start date of stock counting.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub begindatum_voorraadtelling: Option<NaiveDateTime>,
    /// Show stock in the search window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voorraad_tonen_in_zoekvenster: Option<bool>,
    /// Decimals in article prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aantal_decimalen_artikelprijzen: Option<i32>,
    /// Decimals in article quantities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aantal_decimalen_artikelaantallen: Option<i32>,
    /// From which sales order stage stock is reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verkooporder_voorraad_vanaf_niveau: Option<VerkooporderVoorraadVanafNiveau>,
    /// Stock valuation system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voorraad_systeem: Option<VoorraadSysteem>,
    /// When stock is updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moment_voorraad_bijwerken: Option<MomentVoorraadBijwerken>,
    /// Ledger for purchase invoices still to be received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rekening_te_ontvangen_inkoopfacturen: Option<Reference<GrootboekId>>,
    /// Ledger for stock differences (the vendor calls it a journal but references a ledger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dagboek_voorraadverschillen: Option<Reference<GrootboekId>>,
    /// Ledger for foreign (OSS) VAT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buitenlandse_btw_grootboek: Option<Reference<GrootboekId>>,
    /// Invoice foreign (OSS) VAT; the only property `PUT /companyInfo` changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factureer_buitenlands_btw: Option<bool>,
    /// Number ranges for foreign-VAT invoicing.
    #[serde(default, skip_serializing_if = "WireList::is_absent")]
    pub factureer_buitenlands_btw_ranges: WireList<FactureerBuitenlandseBtwDateRange>,
}
