//! Seed data of a realistic Dutch administration.
//!
//! The chart of accounts (see the crate docs for the table) is the contract the mapping and the
//! engine's default configuration refer to: change numbers only together with them.

use crate::json::{dt, money, reference};
use crate::table::{Record, Table};
use chrono::{NaiveDate, NaiveDateTime};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

/// One seeded ledger: number, description, function, rekeningCode, allowed VAT kinds,
/// kostenplaatsVerplicht.
pub(crate) struct LedgerSeed {
    pub(crate) nummer: i64,
    pub(crate) omschrijving: &'static str,
    pub(crate) functie: &'static str,
    pub(crate) balans: bool,
    pub(crate) btw: &'static [&'static str],
    pub(crate) kpl_verplicht: bool,
}

const fn l(
    nummer: i64,
    omschrijving: &'static str,
    functie: &'static str,
    balans: bool,
    btw: &'static [&'static str],
    kpl_verplicht: bool,
) -> LedgerSeed {
    LedgerSeed {
        nummer,
        omschrijving,
        functie,
        balans,
        btw,
        kpl_verplicht,
    }
}

/// The seeded chart of accounts.
pub(crate) const LEDGERS: &[LedgerSeed] = &[
    l(100, "Inventaris", "Diversen", true, &[], false),
    l(500, "Eigen vermogen", "Diversen", true, &[], false),
    l(1000, "Kas", "DagboekKas", true, &[], false),
    l(1100, "Bank", "DagboekBank", true, &[], false),
    l(1300, "Debiteuren", "DagboekVerkoop", true, &[], false),
    l(
        1500,
        "Af te dragen btw hoog",
        "BtwAfTeDragenHoog",
        true,
        &[],
        false,
    ),
    l(
        1510,
        "Af te dragen btw laag",
        "BtwAfteDragenLaag",
        true,
        &[],
        false,
    ),
    l(
        1520,
        "Te vorderen btw hoog",
        "BtwTeVorderenHoog",
        true,
        &[],
        false,
    ),
    l(
        1530,
        "Te vorderen btw laag",
        "BtwTeVorderenLaag",
        true,
        &[],
        false,
    ),
    l(
        1540,
        "Af te dragen btw verlegd",
        "BtwAfTeDragenVerlegdInkopen",
        true,
        &[],
        false,
    ),
    l(
        1550,
        "Te vorderen btw verlegd",
        "BtwTeVorderenVerlegdInkopen",
        true,
        &[],
        false,
    ),
    l(
        1560,
        "Af te dragen btw overig",
        "BtwAfTeDragenOverig",
        true,
        &[],
        false,
    ),
    l(
        1570,
        "Te vorderen btw overig",
        "BtwTeVorderenOverig",
        true,
        &[],
        false,
    ),
    l(1600, "Crediteuren", "DagboekInkoop", true, &[], false),
    l(
        1900,
        "Tussenrekening betalingen",
        "TussenrekeningBetalingen",
        true,
        &[],
        false,
    ),
    l(2000, "Memoriaal", "DagboekMemoriaal", true, &[], false),
    l(2100, "Beginbalans", "DagboekBalans", true, &[], false),
    l(
        4000,
        "Lonen en salarissen",
        "Diversen",
        false,
        &["Geen"],
        false,
    ),
    l(
        4100,
        "Huisvestingskosten",
        "InkopenKostenHoog",
        false,
        &["Hoog"],
        false,
    ),
    l(
        4200,
        "Autokosten",
        "InkopenKostenAlleBtwTarieven",
        false,
        &["Geen", "Laag", "Hoog"],
        false,
    ),
    l(
        4300,
        "Kantoorkosten",
        "InkopenKostenAlleBtwTarieven",
        false,
        &["Geen", "Laag", "Hoog"],
        false,
    ),
    l(
        4400,
        "Projectkosten",
        "InkopenKostenAlleBtwTarieven",
        false,
        &["Geen", "Laag", "Hoog"],
        true,
    ),
    l(
        4500,
        "Representatiekosten laag",
        "InkopenKostenLaag",
        false,
        &["Laag"],
        false,
    ),
    l(
        7000,
        "Inkoopwaarde van de omzet",
        "InkopenKostenAlleBtwTarieven",
        false,
        &["Geen", "Laag", "Hoog"],
        false,
    ),
    l(
        8000,
        "Omzet hoog",
        "VerkopenOmzetHoog",
        false,
        &["Hoog"],
        false,
    ),
    l(
        8010,
        "Omzet laag",
        "VerkopenOmzetLaag",
        false,
        &["Laag"],
        false,
    ),
    l(
        8020,
        "Omzet verlegd",
        "VerkopenOmzetOnbelastVerlegd",
        false,
        &["Geen"],
        false,
    ),
    l(
        8030,
        "Omzet export buiten EU",
        "VerkopenExportBuitenEU",
        false,
        &["Geen"],
        false,
    ),
    l(
        8040,
        "Leveringen binnen EU",
        "VerkopenExportBinnenEU",
        false,
        &["Geen"],
        false,
    ),
    l(
        8050,
        "Omzet vrijgesteld van btw",
        "VerkopenBtwVrij",
        false,
        &["Geen"],
        false,
    ),
    l(
        8060,
        "Omzet overig tarief",
        "VerkopenOmzetOverig",
        false,
        &["Overig"],
        false,
    ),
    l(
        8100,
        "Omzet projecten hoog",
        "VerkopenOmzetHoog",
        false,
        &["Hoog"],
        true,
    ),
];

/// Countries: (naam, ISO alpha-2, fixed id). The NL id equals the one in the vendor fixtures.
pub(crate) const LANDEN: &[(&str, &str, &str)] = &[
    ("Nederland", "NL", "050de499-cbf5-4a37-99b7-99281be9c951"),
    ("België", "BE", "5b7f5bd1-5d4e-4c3f-9a3e-0d8e0b0f7a01"),
    ("Duitsland", "DE", "5b7f5bd1-5d4e-4c3f-9a3e-0d8e0b0f7a02"),
    ("Frankrijk", "FR", "5b7f5bd1-5d4e-4c3f-9a3e-0d8e0b0f7a03"),
    (
        "Verenigd Koninkrijk",
        "GB",
        "5b7f5bd1-5d4e-4c3f-9a3e-0d8e0b0f7a04",
    ),
    (
        "Verenigde Staten",
        "US",
        "5b7f5bd1-5d4e-4c3f-9a3e-0d8e0b0f7a05",
    ),
    ("Luxemburg", "LU", "5b7f5bd1-5d4e-4c3f-9a3e-0d8e0b0f7a06"),
    ("Spanje", "ES", "5b7f5bd1-5d4e-4c3f-9a3e-0d8e0b0f7a07"),
    ("Italië", "IT", "5b7f5bd1-5d4e-4c3f-9a3e-0d8e0b0f7a08"),
    ("Oostenrijk", "AT", "5b7f5bd1-5d4e-4c3f-9a3e-0d8e0b0f7a09"),
    ("Denemarken", "DK", "5b7f5bd1-5d4e-4c3f-9a3e-0d8e0b0f7a0a"),
    ("Zweden", "SE", "5b7f5bd1-5d4e-4c3f-9a3e-0d8e0b0f7a0b"),
    ("Polen", "PL", "5b7f5bd1-5d4e-4c3f-9a3e-0d8e0b0f7a0c"),
    ("Ierland", "IE", "5b7f5bd1-5d4e-4c3f-9a3e-0d8e0b0f7a0d"),
    ("Zwitserland", "CH", "5b7f5bd1-5d4e-4c3f-9a3e-0d8e0b0f7a0e"),
];

/// Journals: (nummer, omschrijving, soort).
pub(crate) const DAGBOEKEN: &[(i64, &str, &str)] = &[
    (10, "Kas", "Kas"),
    (20, "Bank", "Bank"),
    (70, "Verkoop", "Verkoop"),
    (60, "Inkoop", "Inkoop"),
    (90, "Memoriaal", "Memoriaal"),
    (95, "Beginbalans", "Balans"),
];

/// Dutch VAT rate history: (btwSoort, percentage, from, to).
pub(crate) const BTW_TARIEVEN: &[(&str, i64, &str, &str)] = &[
    ("Geen", 0, "2000-01-01", "9999-12-31"),
    ("Laag", 6, "2000-01-01", "2018-12-31"),
    ("Laag", 9, "2019-01-01", "9999-12-31"),
    ("Hoog", 19, "2001-01-01", "2012-09-30"),
    ("Hoog", 21, "2012-10-01", "9999-12-31"),
    ("Overig", 0, "2000-01-01", "9999-12-31"),
];

/// The VAT percentage of a kind (`Hoog`, `Laag`, `Overig`, `Geen`) on a date.
pub(crate) fn btw_rate(kind: &str, on: NaiveDate) -> Decimal {
    BTW_TARIEVEN
        .iter()
        .find(|(k, _, from, to)| *k == kind && date(from) <= on && on <= date(to))
        .map(|(_, p, _, _)| Decimal::from(*p))
        .unwrap_or(Decimal::ZERO)
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
}

/// A deterministic id from the seeded generator.
pub(crate) fn seeded_id(rng: &mut StdRng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

pub(crate) fn rng(seed: u64, admin_index: usize) -> StdRng {
    StdRng::seed_from_u64(seed ^ ((admin_index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)))
}

pub(crate) fn landen() -> Table {
    let mut t = Table::default();
    for (naam, iso, id) in LANDEN {
        let id = Uuid::parse_str(id).unwrap_or_default();
        let rec = obj(
            json!({"naam": naam, "landcodeISO": iso, "landcode": iso, "id": id.to_string(), "uri": format!("/landen/{id}")}),
        );
        t.insert(id, rec);
    }
    t
}

pub(crate) fn land_id(iso: &str) -> Option<Uuid> {
    LANDEN
        .iter()
        .find(|(_, i, _)| i.eq_ignore_ascii_case(iso))
        .and_then(|(_, _, id)| Uuid::parse_str(id).ok())
}

pub(crate) fn land_iso(id: Uuid) -> Option<&'static str> {
    LANDEN
        .iter()
        .find(|(_, _, i)| Uuid::parse_str(i).ok() == Some(id))
        .map(|(_, iso, _)| *iso)
}

pub(crate) fn dagboeken(rng: &mut StdRng) -> Table {
    let mut t = Table::default();
    for (nummer, omschrijving, soort) in DAGBOEKEN {
        let id = seeded_id(rng);
        t.insert(id, obj(json!({"omschrijving": omschrijving, "soort": soort, "nonactief": false, "nummer": nummer, "id": id.to_string(), "uri": format!("/dagboeken/{id}")})));
    }
    t
}

pub(crate) fn grootboeken(rng: &mut StdRng, stamp: NaiveDateTime) -> Table {
    let mut t = Table::default();
    for g in LEDGERS {
        let id = seeded_id(rng);
        t.insert(
            id,
            ledger_record(
                id,
                g.nummer,
                g.omschrijving,
                g.functie,
                g.balans,
                g.btw,
                g.kpl_verplicht,
                false,
                None,
                stamp,
            ),
        );
    }
    t
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn ledger_record(
    id: Uuid,
    nummer: i64,
    omschrijving: &str,
    functie: &str,
    balans: bool,
    btw: &[&str],
    kpl_verplicht: bool,
    nonactief: bool,
    vat_rate_code: Option<String>,
    stamp: NaiveDateTime,
) -> Record {
    obj(json!({
        "modifiedOn": dt(stamp),
        "omschrijving": omschrijving,
        "kostenplaatsVerplicht": kpl_verplicht,
        "rekeningCode": if balans { "Balans" } else { "WinstEnVerlies" },
        "nonactief": nonactief,
        "nummer": nummer,
        "grootboekfunctie": functie,
        "grootboekRubriek": rubriek(nummer),
        "rgsCode": [],
        "btwSoort": btw,
        "vatRateCode": vat_rate_code,
        "id": id.to_string(),
        "uri": format!("/grootboeken/{id}"),
    }))
}

fn rubriek(nummer: i64) -> &'static str {
    match nummer {
        0..=999 => "Vaste activa en passiva",
        1000..=1999 => "Financiële rekeningen",
        2000..=2999 => "Tussenrekeningen",
        4000..=4999 => "Kosten",
        7000..=7999 => "Kostprijs van de omzet",
        8000..=8999 => "Netto-omzet",
        _ => "Overig",
    }
}

pub(crate) fn btwtarieven() -> Vec<Value> {
    BTW_TARIEVEN
        .iter()
        .map(|(k, p, from, to)| {
            json!({"btwSoort": k, "btwPercentage": p, "datumVanaf": crate::json::date(date(from)), "datumTotEnMet": crate::json::date(date(to))})
        })
        .collect()
}

pub(crate) fn kostenplaatsen(rng: &mut StdRng) -> Table {
    let mut t = Table::default();
    for (nummer, omschrijving) in [
        (1, "Algemeen"),
        (10, "Project Noordvleugel"),
        (20, "Project Zuidas"),
    ] {
        let id = seeded_id(rng);
        t.insert(id, obj(json!({"omschrijving": omschrijving, "nonactief": false, "nummer": nummer, "id": id.to_string(), "uri": format!("/kostenplaatsen/{id}")})));
    }
    t
}

pub(crate) fn company_info(
    id: Uuid,
    name: &str,
    company: &str,
    year: i32,
    ledgers: &Table,
) -> Value {
    let ledger = |n: i64| {
        ledgers
            .iter()
            .find(|r| r.get("nummer").and_then(Value::as_i64) == Some(n))
            .and_then(crate::table::record_id)
            .map(|id| reference("grootboeken", id))
            .unwrap_or(Value::Null)
    };
    json!({
        "administratieIdentifier": id.to_string(),
        "administratieNaam": name,
        "bedrijfsnaam": company,
        "contactpersoon": "Sanne de Vries",
        "adres": "Stationsplein 1",
        "postcode": "3511 ED",
        "plaats": "Utrecht",
        "telefoon": "030-5550100",
        "mobieleTelefoon": "06-55500100",
        "fax": null,
        "bankrekeningnummer": null,
        "iban": crate::validate::iban_with_check("NL", "RABO0300000001"),
        "bic": "RABONL2U",
        "rechtsvorm": "Bv",
        "btwNummer": "NL123456782B01",
        "btwIdentificatieNummer": "NL123456782B01",
        "kvKNummer": "30123456",
        "email": "administratie@simulatie.example",
        "website": "https://simulatie.example",
        "vrijeTekst1": null, "vrijeTekst2": null, "vrijeTekst3": null, "vrijeTekst4": null,
        "huidigBoekjaar": year,
        "beginmaandFiscaleBoekjaar": 1,
        "btwAangiftePeriodeSoort": "Kwartaal",
        "icpAangiftePeriodeSoort": "Kwartaal",
        "btwNummerFiscaleEenheid": null,
        "tussentijdseSuppletiesBerekenen": false,
        "mapUBLBestanden": null,
        "btwPercentageAangifteKredietbeperking": 0,
        "markeergedragInlezenBankafschriften": "AlleenBelangrijkste",
        "voorkeurenTijdensBoeken": false,
        "aantalVoorloopnullenGrootboekrekeningen": 0,
        "kleineOndernemersregeling": {"isKleineOndernemersRegelingActief": false, "maximaalBedragVolledigeVerrekening": 0, "maximaalBedragKleineOndernemersRegeling": 0},
        "volgendFactuurnummer": 1,
        "volgendVerkoopordernummer": 1,
        "volgendContantbonnummer": 1,
        "volgendInkoopordernummer": 1,
        "voorraadcontroleOrderinvoer": false,
        "abonnementOvernemen": false,
        "kolomGeleverdAutomatischVullen": false,
        "voorraadkolommenTonenInInkoop": false,
        "backorderGebruiken": false,
        "deelleveringOrdersDefaultAan": false,
        "factuurAlsBijlageVerkoopboeking": false,
        "tekstregelsOvernemenNaarBackorder": "Geen",
        "regelkortingVerkooporder": "BerekenenOverRegelBedrag",
        "drempelbedragVerkooporderbeheer": 0,
        "drempelbedragVerkooporderbeheerMaxDagenUitstel": 0,
        "verkoopprijsArtikelbestandExclusiefBtw": true,
        "inkoopprijsArtikelbestandExclusiefBtw": true,
        "artikelcodeSoort": "Alfanumeriek",
        "artikelcodeMaxLengte": 25,
        "begindatumVoorraadtelling": null,
        "voorraadTonenInZoekvenster": false,
        "aantalDecimalenArtikelprijzen": 2,
        "aantalDecimalenArtikelaantallen": 2,
        "verkooporderVoorraadVanafNiveau": "Alle",
        "voorraadSysteem": "Fifo",
        "momentVoorraadBijwerken": "BijBoekenOntvangst",
        "rekeningTeOntvangenInkoopfacturen": ledger(1600),
        "dagboekVoorraadverschillen": null,
        "buitenlandseBtwGrootboek": null,
        "factureerBuitenlandsBtw": false,
        "factureerBuitenlandsBtwRanges": [],
    })
}

const BEDRIJVEN: &[&str] = &[
    "Bakkerij",
    "Fietsenmakerij",
    "Installatiebedrijf",
    "Adviesbureau",
    "Drukkerij",
    "Hoveniersbedrijf",
    "Schildersbedrijf",
    "Architectenbureau",
    "Tandartspraktijk",
    "Transportbedrijf",
    "Kapsalon",
    "Brouwerij",
];
const NAMEN: &[&str] = &[
    "De Zandloper",
    "Het Wiel",
    "Van der Berg",
    "Jansen & Zn",
    "De Vries",
    "Bakker",
    "Visser",
    "Smit",
    "De Molen",
    "Meijer",
    "Mulder",
    "De Boer",
    "Het Anker",
    "De Linde",
    "Dekker",
    "Brouwer",
];
const STRATEN: &[&str] = &[
    "Lindengracht",
    "Oudegracht",
    "Hoofdstraat",
    "Kerkstraat",
    "Dorpsstraat",
    "Stationsweg",
    "Molenweg",
    "Schoolstraat",
];
const PLAATSEN: &[(&str, &str)] = &[
    ("Amsterdam", "1015"),
    ("Utrecht", "3511"),
    ("Rotterdam", "3011"),
    ("Den Haag", "2511"),
    ("Eindhoven", "5611"),
    ("Groningen", "9711"),
    ("Zwolle", "8011"),
    ("Haarlem", "2011"),
];
const VOORNAMEN: &[&str] = &[
    "Marloes", "Joost", "Sanne", "Pieter", "Fatima", "Daan", "Anouk", "Mohamed", "Eva", "Bram",
];
const ACHTERNAMEN: &[&str] = &[
    "Verhagen",
    "Brinkman",
    "de Jong",
    "Jansen",
    "El Amrani",
    "Bos",
    "Vos",
    "Peters",
];

/// A valid Dutch VAT number of a legal entity (elf-proef on the 9 digits).
pub(crate) fn nl_vat(rng: &mut StdRng) -> String {
    loop {
        let d: Vec<i64> = (0..8).map(|_| rng.random_range(0..10)).collect();
        let sum: i64 = d.iter().zip((2..=9).rev()).map(|(x, w)| x * w).sum();
        let last = sum % 11;
        if last < 10 {
            let digits: String = d
                .iter()
                .chain(std::iter::once(&last))
                .map(|x| x.to_string())
                .collect();
            return format!("NL{digits}B01");
        }
    }
}

/// `n` realistic relations (relatiecode from 10001 upwards; ~3 in 4 customers).
pub(crate) fn relaties(
    rng: &mut StdRng,
    n: usize,
    stamp: &mut dyn FnMut() -> NaiveDateTime,
) -> Vec<(Uuid, Record)> {
    let nl = land_id("NL").unwrap_or_default();
    (0..n)
        .map(|i| {
            let id = seeded_id(rng);
            let klant = rng.random_range(0..4) != 0;
            let bedrijf = BEDRIJVEN[rng.random_range(0..BEDRIJVEN.len())];
            let naam = NAMEN[rng.random_range(0..NAMEN.len())];
            let (plaats, pc) = PLAATSEN[rng.random_range(0..PLAATSEN.len())];
            let straat = format!("{} {}", STRATEN[rng.random_range(0..STRATEN.len())], rng.random_range(1..300));
            let postcode = format!("{pc} {}{}", (b'A' + rng.random_range(0..26u8)) as char, (b'A' + rng.random_range(0..26u8)) as char);
            let contact = format!("{} {}", VOORNAMEN[rng.random_range(0..VOORNAMEN.len())], ACHTERNAMEN[rng.random_range(0..ACHTERNAMEN.len())]);
            let domain = format!("{}{}.example", naam.to_lowercase().replace([' ', '&'], ""), i);
            let bban = format!("RABO{:010}", rng.random_range(0..10_000_000_000u64));
            let mut r = crate::handlers::relaties::empty_relatie(id);
            let set = |r: &mut Record, k: &str, v: Value| {
                r.insert(k.to_owned(), v);
            };
            set(&mut r, "relatiesoort", json!([if klant { "Klant" } else { "Leverancier" }]));
            set(&mut r, "modifiedOn", dt(stamp()));
            set(&mut r, "relatiecode", json!(10_001 + i as i64));
            set(&mut r, "naam", json!(format!("{bedrijf} {naam}")));
            set(&mut r, "vestigingsAdres", json!({"contactpersoon": contact, "straat": straat, "postcode": postcode, "plaats": plaats, "land": reference("landen", nl)}));
            set(&mut r, "telefoon", json!(format!("0{}-555{:04}", rng.random_range(10..80), rng.random_range(0..10_000))));
            set(&mut r, "email", json!(format!("info@{domain}")));
            set(&mut r, "btwNummer", json!(nl_vat(rng)));
            set(&mut r, "kvkNummer", json!(format!("{:08}", rng.random_range(10_000_000..99_999_999))));
            set(&mut r, "krediettermijn", json!([14, 30, 30, 60][rng.random_range(0..4)]));
            set(&mut r, "iban", json!(crate::validate::iban_with_check("NL", &bban)));
            set(&mut r, "websiteUrl", json!(format!("https://www.{domain}")));
            if klant {
                set(&mut r, "aanmaningsoort", json!("Onderneming"));
                set(&mut r, "kredietLimiet", money(Decimal::from(rng.random_range(1..50) * 1000)));
            }
            (id, r)
        })
        .collect()
}

pub(crate) fn obj(v: Value) -> Record {
    match v {
        Value::Object(m) => m,
        _ => Record::new(),
    }
}
