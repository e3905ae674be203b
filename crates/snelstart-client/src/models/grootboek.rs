//! Ledger accounts (`/grootboeken`).

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::BtwSoort;
use crate::GrootboekId;
use crate::wire::{self, WireList, api_enum};

api_enum! {
    /// Whether a ledger belongs to the balance sheet or the profit and loss account
    /// (`rekeningCode`).
    pub enum RekeningCode {
        /// Balance sheet.
        Balans = ("Balans", 0),
        /// Profit and loss.
        WinstEnVerlies = ("WinstEnVerlies", 1),
    }
}

api_enum! {
    /// The function of a ledger (`grootboekfunctie`): which journal or VAT flow it serves.
    ///
    /// Every value of the vendor definition, spelled exactly as SnelStart does (note the
    /// irregular `BtwAfteDragenLaag` and `BtwAfteDragenLaagGlobalisatie`); the numbers are
    /// those of the vendor's .NET client. A revenue line's VAT kind must match its ledger's
    /// function (BOE-0082), and a booking may need functions the administration lacks
    /// (BOE-0081).
    pub enum Grootboekfunctie {
        /// `Diversen` (0).
        Diversen = ("Diversen", 0),
        /// `DagboekKas` (1).
        DagboekKas = ("DagboekKas", 1),
        /// `DagboekBank` (2).
        DagboekBank = ("DagboekBank", 2),
        /// `DagboekGiro` (3).
        DagboekGiro = ("DagboekGiro", 3),
        /// `DagboekVerkoop` (4).
        DagboekVerkoop = ("DagboekVerkoop", 4),
        /// `DagboekInkoop` (5).
        DagboekInkoop = ("DagboekInkoop", 5),
        /// `DagboekMemoriaal` (7).
        DagboekMemoriaal = ("DagboekMemoriaal", 7),
        /// `DagboekBalans` (8).
        DagboekBalans = ("DagboekBalans", 8),
        /// `VerkopenOmzetOnbelastVerlegd` (10).
        VerkopenOmzetOnbelastVerlegd = ("VerkopenOmzetOnbelastVerlegd", 10),
        /// `VerkopenOmzetLaag` (11).
        VerkopenOmzetLaag = ("VerkopenOmzetLaag", 11),
        /// `VerkopenOmzetHoog` (12).
        VerkopenOmzetHoog = ("VerkopenOmzetHoog", 12),
        /// `VerkopenOmzetOverig` (13).
        VerkopenOmzetOverig = ("VerkopenOmzetOverig", 13),
        /// `VerkopenBtwVrij` (15).
        VerkopenBtwVrij = ("VerkopenBtwVrij", 15),
        /// `BtwAfteDragenLaag` (21).
        BtwAfteDragenLaag = ("BtwAfteDragenLaag", 21),
        /// `BtwAfTeDragenHoog` (22).
        BtwAfTeDragenHoog = ("BtwAfTeDragenHoog", 22),
        /// `BtwAfTeDragenOverig` (23).
        BtwAfTeDragenOverig = ("BtwAfTeDragenOverig", 23),
        /// `BtwAfTeDragenVerlegdVerkopen` (24).
        BtwAfTeDragenVerlegdVerkopen = ("BtwAfTeDragenVerlegdVerkopen", 24),
        /// `BtwTeVorderenVerlegd` (25).
        BtwTeVorderenVerlegd = ("BtwTeVorderenVerlegd", 25),
        /// `BtwAfteDragenLaagGlobalisatie` (26).
        BtwAfteDragenLaagGlobalisatie = ("BtwAfteDragenLaagGlobalisatie", 26),
        /// `BtwAfTeDragenHoogGlobalisatie` (27).
        BtwAfTeDragenHoogGlobalisatie = ("BtwAfTeDragenHoogGlobalisatie", 27),
        /// `BtwAfTeDragenOverigGlobalisatie` (28).
        BtwAfTeDragenOverigGlobalisatie = ("BtwAfTeDragenOverigGlobalisatie", 28),
        /// `InkopenKostenAlleBtwTarieven` (30).
        InkopenKostenAlleBtwTarieven = ("InkopenKostenAlleBtwTarieven", 30),
        /// `InkopenKostenLaag` (31).
        InkopenKostenLaag = ("InkopenKostenLaag", 31),
        /// `InkopenKostenHoog` (32).
        InkopenKostenHoog = ("InkopenKostenHoog", 32),
        /// `InkopenKostenOverig` (33).
        InkopenKostenOverig = ("InkopenKostenOverig", 33),
        /// `InkopenVraagPosten` (34).
        InkopenVraagPosten = ("InkopenVraagPosten", 34),
        /// `BtwTeVorderenLaag` (41).
        BtwTeVorderenLaag = ("BtwTeVorderenLaag", 41),
        /// `BtwTeVorderenHoog` (42).
        BtwTeVorderenHoog = ("BtwTeVorderenHoog", 42),
        /// `BtwTeVorderenOverig` (43).
        BtwTeVorderenOverig = ("BtwTeVorderenOverig", 43),
        /// `BtwAfTeDragenVerlegdInkopen` (44).
        BtwAfTeDragenVerlegdInkopen = ("BtwAfTeDragenVerlegdInkopen", 44),
        /// `BtwTeVorderenVerlegdInkopen` (45).
        BtwTeVorderenVerlegdInkopen = ("BtwTeVorderenVerlegdInkopen", 45),
        /// `InkopenImportBinnenEUlaag` (61).
        InkopenImportBinnenEUlaag = ("InkopenImportBinnenEUlaag", 61),
        /// `InkopenImportBinnenEUhoog` (62).
        InkopenImportBinnenEUhoog = ("InkopenImportBinnenEUhoog", 62),
        /// `InkopenImportBinnenEUoverig` (63).
        InkopenImportBinnenEUoverig = ("InkopenImportBinnenEUoverig", 63),
        /// `InkopenImportBuitenEUlaag` (71).
        InkopenImportBuitenEUlaag = ("InkopenImportBuitenEUlaag", 71),
        /// `InkopenImportBuitenEUhoog` (72).
        InkopenImportBuitenEUhoog = ("InkopenImportBuitenEUhoog", 72),
        /// `InkopenImportBuitenEUoverig` (73).
        InkopenImportBuitenEUoverig = ("InkopenImportBuitenEUoverig", 73),
        /// `VerkopenExportBinnenEU` (80).
        VerkopenExportBinnenEU = ("VerkopenExportBinnenEU", 80),
        /// `VerkopenExportBuitenEU` (81).
        VerkopenExportBuitenEU = ("VerkopenExportBuitenEU", 81),
        /// `OninbareVorderingen` (82).
        OninbareVorderingen = ("OninbareVorderingen", 82),
        /// `HerrekeningCorrecties` (83).
        HerrekeningCorrecties = ("HerrekeningCorrecties", 83),
        /// `InstallatieTeleverkoopBinnenEUgeen` (84).
        InstallatieTeleverkoopBinnenEUgeen = ("InstallatieTeleverkoopBinnenEUgeen", 84),
        /// `BpmVerkopen` (85).
        BpmVerkopen = ("BpmVerkopen", 85),
        /// `BpmInkopen` (86).
        BpmInkopen = ("BpmInkopen", 86),
        /// `BpmVoorraad` (87).
        BpmVoorraad = ("BpmVoorraad", 87),
        /// `DienstverleningBinnenEU` (88).
        DienstverleningBinnenEU = ("DienstverleningBinnenEU", 88),
        /// `VerkoopGlobalisatieLaag` (91).
        VerkoopGlobalisatieLaag = ("VerkoopGlobalisatieLaag", 91),
        /// `VerkoopGlobalisatieHoog` (92).
        VerkoopGlobalisatieHoog = ("VerkoopGlobalisatieHoog", 92),
        /// `VerkoopGlobalisatieOverig` (93).
        VerkoopGlobalisatieOverig = ("VerkoopGlobalisatieOverig", 93),
        /// `InkoopGlobalisatieLaag` (94).
        InkoopGlobalisatieLaag = ("InkoopGlobalisatieLaag", 94),
        /// `InkoopGlobalisatieHoog` (95).
        InkoopGlobalisatieHoog = ("InkoopGlobalisatieHoog", 95),
        /// `InkoopGlobalisatieOverig` (96).
        InkoopGlobalisatieOverig = ("InkoopGlobalisatieOverig", 96),
        /// `BtwGlobalisatie` (97).
        BtwGlobalisatie = ("BtwGlobalisatie", 97),
        /// `KredietbeperkingVerkopen` (100).
        KredietbeperkingVerkopen = ("KredietbeperkingVerkopen", 100),
        /// `KredietbeperkingInkopen` (101).
        KredietbeperkingInkopen = ("KredietbeperkingInkopen", 101),
        /// `Betalingskorting` (102).
        Betalingskorting = ("Betalingskorting", 102),
        /// `TussenrekeningBetalingen` (110).
        TussenrekeningBetalingen = ("TussenrekeningBetalingen", 110),
        /// `OnbekendeBetalingen` (111).
        OnbekendeBetalingen = ("OnbekendeBetalingen", 111),
        /// `Kruisposten` (112).
        Kruisposten = ("Kruisposten", 112),
        /// `ContanteBetaling` (120).
        ContanteBetaling = ("ContanteBetaling", 120),
        /// `ElectronischeBetaling` (121).
        ElectronischeBetaling = ("ElectronischeBetaling", 121),
        /// `Winstboeking` (130).
        Winstboeking = ("Winstboeking", 130),
    }
}

/// One RGS (Dutch reference chart of accounts) code of a ledger (`RgsModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct Rgs {
    /// The RGS version, e.g. `3.5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versie: Option<String>,
    /// The RGS code, e.g. `WOmzNopOdh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rgs_code: Option<String>,
}

impl Rgs {
    /// A code of a given RGS version.
    pub fn new(versie: impl Into<String>, rgs_code: impl Into<String>) -> Self {
        Rgs {
            versie: Some(versie.into()),
            rgs_code: Some(rgs_code.into()),
        }
    }
}

/// A ledger account (`GrootboekModel`); read with `GET`, created with `POST` (no update or
/// delete in v2).
///
/// The read-only properties (`modifiedOn`, `grootboekRubriek`, `rgsCode`, `btwSoort`, `uri`)
/// are left out on write when empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct Grootboek {
    /// When SnelStart last changed the ledger; read-only.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub modified_on: Option<NaiveDateTime>,
    /// The description; at most 50 characters (BOE-0088).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omschrijving: Option<String>,
    /// Lines on this ledger need a cost centre (BOE-0022 otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kostenplaats_verplicht: Option<bool>,
    /// Balance sheet or profit and loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rekening_code: Option<RekeningCode>,
    /// Inactive ledgers cannot be booked on (BOE-0008).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonactief: Option<bool>,
    /// The ledger number, e.g. 8000; unique (BOE-0086).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nummer: Option<i32>,
    /// The ledger function (BOE-0085, BOE-0090 when invalid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grootboekfunctie: Option<Grootboekfunctie>,
    /// The heading the ledger is reported under; read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grootboek_rubriek: Option<String>,
    /// The RGS codes; read-only.
    #[serde(default, skip_serializing_if = "WireList::is_absent")]
    pub rgs_code: WireList<Rgs>,
    /// The VAT kinds allowed on lines of this ledger; read-only.
    #[serde(default, skip_serializing_if = "WireList::is_absent")]
    pub btw_soort: WireList<BtwSoort>,
    /// Foreign VAT rate code (`SR`, `RRH`, `RRL`, `PR` or `SRR`), for OSS invoicing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_rate_code: Option<String>,
    /// The id; `None` on create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<GrootboekId>,
    /// The relative uri (`/grootboeken/{id}`); read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl Grootboek {
    /// A new, active ledger (`nonactief: false` is sent; `kostenplaatsVerplicht` is left to
    /// SnelStart unless set).
    pub fn new(
        nummer: i32,
        omschrijving: impl Into<String>,
        rekening_code: RekeningCode,
        grootboekfunctie: Grootboekfunctie,
    ) -> Self {
        Grootboek {
            omschrijving: Some(omschrijving.into()),
            rekening_code: Some(rekening_code),
            nonactief: Some(false),
            nummer: Some(nummer),
            grootboekfunctie: Some(grootboekfunctie),
            ..Grootboek::default()
        }
    }

    /// Whether the ledger is inactive (only an explicit `nonactief: true`; `null`/absent is
    /// active, as SnelStart sends for ledgers that were never deactivated).
    pub fn is_inactive(&self) -> bool {
        self.nonactief == Some(true)
    }

    /// Whether lines on this ledger need a cost centre (only an explicit
    /// `kostenplaatsVerplicht: true`).
    pub fn requires_kostenplaats(&self) -> bool {
        self.kostenplaats_verplicht == Some(true)
    }

    /// Whether a line with VAT kind `soort` may be booked on this ledger (as far as the ledger
    /// says: an empty `btwSoort` list means unknown, and is treated as allowed).
    pub fn allows_btw_soort(&self, soort: &BtwSoort) -> bool {
        self.btw_soort.is_empty() || self.btw_soort.contains(soort)
    }
}
