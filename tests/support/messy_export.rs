//! A generator of realistic, messy CRM exports with a ground-truth label per record.
//!
//! Written from the public rules only: `../shared/CRM-DATA.md` (the forms real exports take,
//! what SnelStart refuses, the duplicate rules), `../shared/snelstart/ERRORS.md` and `API.md`
//! (SnelStart's codes), and the JSON format documented in the `crm-model` crate docs and on
//! `CrmDataset`. It deliberately does not look at what the mapping or pre-flight code accepts:
//! it is the independent check of issue 9.
//!
//! Deterministic from a seed (a local splitmix64, no dependency). Every good record uses the
//! valid forms of CRM-DATA.md's table; every bad record carries exactly one defect and its label
//! names the field path a refusal is expected to name (`kvk_number`, `lines[1].unit_price`,
//! `attachments[0].file_name`, `id`, `number`, ...).
//!
//! Dates: good invoices lie between 1 January of `current_year - 5` and 30 November of
//! `current_year` (SnelStart refuses a booking date more than 5 years before the current
//! financial year, BOE-0033). With `current_year` 2017 the window spans the 2012 rate change
//! (hoog 19 → 21 % on 2012-10-01); with 2023 it spans the 2019 one (laag 6 → 9 % on
//! 2019-01-01). The generator puts extra dates right around each change inside the window.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------------------------

/// splitmix64: small, fast, good enough for test data, and the same on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5eed_5eed_cafe_f00d)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    /// True with `percent` % probability.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// One element of a slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    /// A digit string of length `n`.
    pub fn digits(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.below(10) as u8).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------------------------

/// The four record kinds of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    /// `relations[i]`
    Relation,
    /// `projects[i]`
    Project,
    /// `sales_invoices[i]`
    SalesInvoice,
    /// `purchase_invoices[i]`
    PurchaseInvoice,
}

impl RecordKind {
    /// The key of the export array.
    pub fn array(self) -> &'static str {
        match self {
            RecordKind::Relation => "relations",
            RecordKind::Project => "projects",
            RecordKind::SalesInvoice => "sales_invoices",
            RecordKind::PurchaseInvoice => "purchase_invoices",
        }
    }
}

/// Every defect class the generator plants (one per bad record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Defect {
    // Relations
    NameEmpty,
    NameTooLong,
    NameNul,
    NameEsc,
    NameCrLf,
    NameNull,
    TradeNameTooLong,
    StreetControlChar,
    KvkSevenDigits,
    KvkCheckDigit,
    VatCheckDigits,
    VatCountryMismatch,
    IbanCheckDigits,
    WebsiteNotUrl,
    PhoneTooLong,
    EmailInvalid,
    VisitAddressPartial,
    ContactNameTooLong,
    DuplicateRelationId,
    // Projects
    ProjectDescriptionEmpty,
    ProjectDescriptionNull,
    ProjectDescriptionTooLong,
    ProjectNumberZero,
    ProjectNumberTooLarge,
    DuplicateProjectNumber,
    // Invoices
    AmountThreeDecimals,
    AmountNaN,
    AmountInfinity,
    DateInvalid,
    VatCategoryUnknown,
    NumberNull,
    RelationNull,
    ZeroAmountLine,
    NegativeQuantity,
    NonEuroCurrency,
    DueDateBeforeDate,
    DateTooOld,
    NumberTooLong,
    NumberEmpty,
    NoLines,
    VerlegdMixed,
    DescriptionTooLong,
    AttachmentNameSlash,
    AttachmentNameColon,
    AttachmentNameQuestion,
    AttachmentNameTooLong,
    AttachmentNameEmpty,
    AttachmentNameControl,
    SalesOnSupplierOnly,
    PurchaseOnCustomerOnly,
    UnknownRelation,
    UnknownProject,
    DependsOnBadRelation,
    DependsOnBadProject,
    DuplicateSalesNumber,
    DuplicatePurchaseNumber,
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What a good invoice must look like once booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedBooking {
    /// +1 invoice, −1 credit note (amounts in SnelStart carry this sign).
    pub sign: i64,
    /// Sum of the line net amounts, in cents, before the sign.
    pub net_cents: i64,
    /// VAT at the high rate (19 or 21 %), rounded once for the invoice, in cents.
    pub vat_hoog_cents: i64,
    /// VAT at the low rate (6 or 9 %), in cents.
    pub vat_laag_cents: i64,
    /// net + VAT, in cents.
    pub total_cents: i64,
    /// Number of lines.
    pub lines: usize,
    /// File names of the attachments.
    pub attachments: Vec<String>,
    /// The invoice date (ISO).
    pub date: String,
    /// Whether a half-cent tie was rounded in one of the VAT kinds.
    pub half_cent_tie: bool,
}

/// Ground truth of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Truth {
    /// Must land in SnelStart exactly once, unchanged.
    Good,
    /// Must be refused naming `path` (or one of `also`), nothing of it in SnelStart.
    Bad {
        /// The defect planted.
        defect: Defect,
        /// The field path the refusal should name.
        path: String,
        /// Other paths that are equally right (e.g. any line of a mixed-VAT invoice).
        also: Vec<String>,
        /// The CRM id (or project number) of the refused record this one depends on.
        depends_on: Option<String>,
    },
    /// The public rules do not settle it: reported, not counted. Either outcome is acceptable
    /// if it is not silent (refused naming `path`, or written with a notice and nothing
    /// truncated or guessed).
    Disputed {
        /// The defect planted.
        defect: Defect,
        /// The field path a refusal would name.
        path: String,
        /// Why it is disputed.
        note: &'static str,
    },
}

/// One record and its truth.
#[derive(Debug, Clone)]
pub struct Label {
    /// Kind of record.
    pub kind: RecordKind,
    /// Index in its export array.
    pub index: usize,
    /// The record's `id` as written (may be absent/odd for bad records).
    pub id: String,
    /// Invoice or project number as written (text form).
    pub number: String,
    /// Good or bad.
    pub truth: Truth,
    /// Relation: the names under which SnelStart may hold it (display name first).
    pub names: Vec<String>,
    /// Relation: `customer` or `supplier`.
    pub relation_kind: String,
    /// Invoice: the relation id it refers to.
    pub relation: String,
    /// Project: description, active flag.
    pub description: String,
    /// Project: active?
    pub active: bool,
    /// Good invoice: the expected booking.
    pub booking: Option<ExpectedBooking>,
    /// Strings that must not occur in anything SnelStart holds (bad records' fingerprints).
    pub markers: Vec<String>,
    /// Project numbers used by the invoice's lines.
    pub projects: Vec<String>,
    /// Relation: the KvK number's 8 digits as the CRM gave them (SnelStart must hold exactly
    /// these).
    pub kvk_digits: Option<String>,
    /// Relation: the CRM memo (SnelStart's memo must contain it).
    pub memo: Option<String>,
}

impl Label {
    fn new(kind: RecordKind, id: impl Into<String>) -> Self {
        Label {
            kind,
            index: 0,
            id: id.into(),
            number: String::new(),
            truth: Truth::Good,
            names: Vec::new(),
            relation_kind: String::new(),
            relation: String::new(),
            description: String::new(),
            active: true,
            booking: None,
            markers: Vec::new(),
            projects: Vec::new(),
            kvk_digits: None,
            memo: None,
        }
    }
    /// True for a good record.
    pub fn is_good(&self) -> bool {
        matches!(self.truth, Truth::Good)
    }
    /// The defect of a bad record.
    pub fn defect(&self) -> Option<Defect> {
        match &self.truth {
            Truth::Bad { defect, .. } | Truth::Disputed { defect, .. } => Some(*defect),
            Truth::Good => None,
        }
    }
    /// True for a record whose truth the public rules do not settle.
    pub fn is_disputed(&self) -> bool {
        matches!(self.truth, Truth::Disputed { .. })
    }
    /// Every path a refusal of this record may name.
    pub fn accepted_paths(&self) -> Vec<String> {
        match &self.truth {
            Truth::Bad { path, also, .. } => {
                let mut v = vec![path.clone()];
                v.extend(also.iter().cloned());
                v
            }
            Truth::Disputed { path, .. } => vec![path.clone()],
            Truth::Good => Vec::new(),
        }
    }
    fn disputed(mut self, note: &'static str) -> Self {
        if let Truth::Bad { defect, path, .. } = &self.truth {
            self.truth = Truth::Disputed {
                defect: *defect,
                path: path.clone(),
                note,
            };
        }
        self
    }
    fn bad(mut self, defect: Defect, path: impl Into<String>) -> Self {
        self.truth = Truth::Bad {
            defect,
            path: path.into(),
            also: Vec::new(),
            depends_on: None,
        };
        self
    }
    fn also(mut self, paths: &[String]) -> Self {
        if let Truth::Bad { also, .. } = &mut self.truth {
            also.extend(paths.iter().cloned());
        }
        self
    }
    fn depends(mut self, on: impl Into<String>) -> Self {
        if let Truth::Bad { depends_on, .. } = &mut self.truth {
            *depends_on = Some(on.into());
        }
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration and output
// ---------------------------------------------------------------------------------------------

/// Sizes and seed.
#[derive(Debug, Clone)]
pub struct Config {
    /// Seed of the PRNG.
    pub seed: u64,
    /// SnelStart's current financial year (companyInfo `huidigBoekjaar`).
    pub current_year: i32,
    /// Good relations.
    pub relations: usize,
    /// Good projects (some inactive).
    pub projects: usize,
    /// Good sales invoices (some credit notes).
    pub sales_invoices: usize,
    /// Good purchase invoices.
    pub purchase_invoices: usize,
    /// Bad invoices depending on bad relations (at most one per bad relation).
    pub dependent_bad: usize,
}

impl Config {
    /// The sizes of issue 9: 200 relations, 40 projects, 300 sales and 30 purchase invoices.
    pub fn new(seed: u64, current_year: i32) -> Self {
        Config {
            seed,
            current_year,
            relations: 200,
            projects: 40,
            sales_invoices: 300,
            purchase_invoices: 30,
            dependent_bad: 6,
        }
    }
    /// Smaller sizes, same defect classes.
    pub fn small(seed: u64, current_year: i32) -> Self {
        Config {
            seed,
            current_year,
            relations: 40,
            projects: 8,
            sales_invoices: 50,
            purchase_invoices: 12,
            dependent_bad: 3,
        }
    }
}

/// A generated export.
#[derive(Debug, Clone)]
pub struct Export {
    /// The export document (`relations`, `archived_relations`, `projects`, `sales_invoices`,
    /// `purchase_invoices`).
    pub json: Value,
    /// One label per record, in array order within each kind.
    pub labels: Vec<Label>,
    /// The financial year the export was made for.
    pub current_year: i32,
}

impl Export {
    /// The export as JSON text.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(&self.json).expect("serializable")
    }
    /// The label of `kind[index]`.
    pub fn label(&self, kind: RecordKind, index: usize) -> &Label {
        self.labels
            .iter()
            .find(|l| l.kind == kind && l.index == index)
            .expect("label")
    }
    /// Good records.
    pub fn good(&self) -> impl Iterator<Item = &Label> {
        self.labels.iter().filter(|l| l.is_good())
    }
    /// Bad records (disputed ones excluded).
    pub fn bad(&self) -> impl Iterator<Item = &Label> {
        self.labels
            .iter()
            .filter(|l| matches!(l.truth, Truth::Bad { .. }))
    }
    /// Records the public rules do not settle (reported, not counted).
    pub fn disputed(&self) -> impl Iterator<Item = &Label> {
        self.labels.iter().filter(|l| l.is_disputed())
    }
    /// Two consecutive batches: (1) all relations and projects plus the first half of each
    /// invoice list, (2) the second half of each invoice list. Duplicate pairs of relations and
    /// projects stay together in batch 1; an invoice duplicate may be split (its first
    /// occurrence is then in batch 1, the later one in batch 2, which is still a duplicate
    /// number under another id).
    pub fn two_batches(&self) -> (Value, Value) {
        let arr = |k: &str| self.json[k].as_array().cloned().unwrap_or_default();
        let sales = arr("sales_invoices");
        let purchases = arr("purchase_invoices");
        let (s1, s2) = sales.split_at(sales.len() / 2);
        let (p1, p2) = purchases.split_at(purchases.len() / 2);
        let first = json!({
            "relations": arr("relations"),
            "archived_relations": arr("archived_relations"),
            "projects": arr("projects"),
            "sales_invoices": s1,
            "purchase_invoices": p1,
        });
        let second = json!({
            "relations": [],
            "archived_relations": [],
            "projects": [],
            "sales_invoices": s2,
            "purchase_invoices": p2,
        });
        (first, second)
    }
    /// Counts per defect class.
    pub fn defect_counts(&self) -> BTreeMap<Defect, usize> {
        let mut m = BTreeMap::new();
        for l in self.labels.iter().filter(|l| !l.is_good()) {
            *m.entry(l.defect().expect("bad")).or_default() += 1;
        }
        m
    }
}

// ---------------------------------------------------------------------------------------------
// Check digits (computed here, independently)
// ---------------------------------------------------------------------------------------------

fn digits_str(d: &[u8]) -> String {
    d.iter().map(|x| char::from(b'0' + x)).collect()
}

/// Mod 97 of a string of digits and capital letters (A = 10 ... Z = 35), as ISO 13616 needs.
pub fn mod97(s: &str) -> u32 {
    let mut r: u32 = 0;
    for c in s.chars() {
        let v = if c.is_ascii_digit() {
            c as u32 - '0' as u32
        } else {
            c.to_ascii_uppercase() as u32 - 'A' as u32 + 10
        };
        r = if v >= 10 {
            (r * 100 + v) % 97
        } else {
            (r * 10 + v) % 97
        };
    }
    r
}

/// Whether an IBAN (no spaces, upper case) passes ISO 13616.
pub fn iban_ok(iban: &str) -> bool {
    let iban: String = iban
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    iban.len() > 4 && mod97(&format!("{}{}", &iban[4..], &iban[..4])) == 1
}

fn iban_with_check(country: &str, bban: &str) -> String {
    let r = mod97(&format!("{bban}{country}00"));
    format!("{country}{:02}{bban}", 98 - r)
}

/// NL VAT "elf-proef": weights 9..2 on the first 8 digits, the 9th is the remainder mod 11.
pub fn nl_vat_elfproef_ok(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let s: u32 = d[..8]
        .iter()
        .enumerate()
        .map(|(i, x)| u32::from(*x) * (9 - i as u32))
        .sum();
    s % 11 == u32::from(d[8]) && s % 11 < 10
}

/// NL VAT mod-97 (sole traders since 2020): "NL" + 9 digits + "B" + 2 digits, letters as
/// numbers, mod 97 == 1.
pub fn nl_vat_mod97_ok(nine: &[u8], suffix: u8) -> bool {
    mod97(&format!("NL{}B{:02}", digits_str(nine), suffix)) == 1
}

/// KvK 11-proef on 8 digits (weights 8..1).
pub fn kvk_ok(d: &[u8]) -> bool {
    d.len() == 8
        && d.iter()
            .enumerate()
            .map(|(i, x)| u32::from(*x) * (8 - i as u32))
            .sum::<u32>()
            % 11
            == 0
}

/// Belgian VAT/enterprise number: 10 digits, last two = 97 − (first eight mod 97).
pub fn be_vat_ok(d: &[u8]) -> bool {
    if d.len() != 10 {
        return false;
    }
    let head: u64 = digits_str(&d[..8]).parse().unwrap();
    let check: u64 = digits_str(&d[8..]).parse().unwrap();
    97 - head % 97 == check
}

/// German USt-IdNr check digit (ISO 7064 MOD 11,10) of the first 8 digits.
pub fn de_vat_check(d8: &[u8]) -> u8 {
    let mut product = 10u32;
    for x in d8 {
        let mut sum = (u32::from(*x) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (2 * sum) % 11;
    }
    let c = 11 - product;
    if c == 10 { 0 } else { c as u8 }
}

fn gen_kvk(rng: &mut Rng) -> Vec<u8> {
    loop {
        let mut d = rng.digits(8);
        if d[0] == 0 && !rng.chance(15) {
            d[0] = 1 + rng.below(9) as u8;
        }
        if kvk_ok(&d) {
            return d;
        }
    }
}

fn gen_nl_vat_elf(rng: &mut Rng) -> Vec<u8> {
    loop {
        let mut d = rng.digits(9);
        let s: u32 = d[..8]
            .iter()
            .enumerate()
            .map(|(i, x)| u32::from(*x) * (9 - i as u32))
            .sum();
        if s % 11 < 10 {
            d[8] = (s % 11) as u8;
            return d;
        }
    }
}

fn gen_nl_vat_mod97(rng: &mut Rng) -> (Vec<u8>, u8) {
    loop {
        let d = rng.digits(9);
        for suffix in 1..100u8 {
            if nl_vat_mod97_ok(&d, suffix) {
                return (d, suffix);
            }
        }
    }
}

fn gen_be_vat(rng: &mut Rng) -> Vec<u8> {
    let mut d = vec![0u8];
    d.extend(rng.digits(7));
    if d[1] == 0 {
        d[1] = 4;
    }
    let head: u64 = digits_str(&d).parse().unwrap();
    let check = 97 - head % 97;
    d.push((check / 10) as u8);
    d.push((check % 10) as u8);
    d
}

fn gen_de_vat(rng: &mut Rng) -> Vec<u8> {
    let mut d = rng.digits(8);
    if d[0] == 0 {
        d[0] = 1;
    }
    let c = de_vat_check(&d);
    d.push(c);
    d
}

/// NL bank account numbers also pass the old 11-proef (weights 10..1).
fn gen_nl_account(rng: &mut Rng) -> String {
    loop {
        let d = rng.digits(10);
        let s: u32 = d
            .iter()
            .enumerate()
            .map(|(i, x)| u32::from(*x) * (10 - i as u32))
            .sum();
        if s.is_multiple_of(11) && !(d[0] == 0 && d[1] == 0) {
            return digits_str(&d);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Money helpers (integer cents; rounding half away from zero)
// ---------------------------------------------------------------------------------------------

/// `num / den` rounded half away from zero.
pub fn div_round_half_away(num: i128, den: i128) -> i128 {
    let q = (num.abs() * 2 + den) / (2 * den);
    if num < 0 { -q } else { q }
}

fn cents_str(c: i64) -> String {
    let sign = if c < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", c.abs() / 100, c.abs() % 100)
}

/// A money value in one of the forms exports use.
fn money_value(rng: &mut Rng, cents: i64) -> Value {
    match rng.below(100) {
        0..=49 => Value::String(cents_str(cents)),
        50..=59 => {
            // Trimmed decimal string: "1250", "12.5".
            let s = cents_str(cents);
            let t = s.trim_end_matches('0').trim_end_matches('.').to_owned();
            Value::String(if t.is_empty() { "0".into() } else { t })
        }
        60..=84 => {
            if cents % 100 == 0 {
                json!(cents / 100)
            } else {
                // JSON number; serde_json prints the shortest form that reads back the same.
                let f: f64 = cents_str(cents).parse().unwrap();
                json!(f)
            }
        }
        _ => Value::String(cents_str(cents)),
    }
}

/// A quantity (in hundredths) in one of the forms exports use.
fn quantity_value(rng: &mut Rng, hundredths: i64) -> Value {
    let s = {
        let t = cents_str(hundredths);
        t.trim_end_matches('0').trim_end_matches('.').to_owned()
    };
    if rng.chance(55) {
        Value::String(s)
    } else if hundredths % 100 == 0 {
        json!(hundredths / 100)
    } else {
        json!(s.parse::<f64>().unwrap())
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

const TRADES: &[&str] = &[
    "Bakkerij",
    "Installatiebedrijf",
    "Transportbedrijf",
    "Bouwbedrijf",
    "Adviesbureau",
    "Schildersbedrijf",
    "Autobedrijf",
    "Drukkerij",
    "Hoveniersbedrijf",
    "Loodgietersbedrijf",
    "Makelaardij",
    "Dakdekkersbedrijf",
    "Cateringbedrijf",
    "Fietsenmakerij",
    "Bloemenhandel",
    "Timmerfabriek",
    "Ingenieursbureau",
    "Groothandel",
    "Vertaalbureau",
    "Zonwering",
];
const SURNAMES: &[&str] = &[
    "Jansen",
    "de Vries",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "de Graaf",
    "van der Meer",
    "Kok",
    "de Haan",
    "Vermeulen",
    "van den Heuvel",
    "van der Veen",
    "de Bruijn",
    "Schouten",
    "van Beek",
    "Willems",
    "van Dijk",
    "Hoekstra",
    "Maas",
    "Verhoeven",
    "Koster",
    "Prins",
    "Blom",
    "Huisman",
    "Kuipers",
    "van Wijk",
    "Veenstra",
    "Kramer",
    "van 't Hof",
    "Öztürk",
    "Çelik",
    "Ruiz",
    "Nguyen",
    "IJzerman",
];
const FANCY: &[&str] = &[
    "De Gouden Korst",
    "Het Zonnetje",
    "De Vliegende Hollander",
    "Noorderlicht",
    "De Eendracht",
    "Zuiderzon",
    "De Hoop",
    "Polderkracht",
    "Groen & Co",
    "Tulp",
    "Stroomlijn",
    "Kade 7",
    "Hollandse Nieuwe",
    "Molenwiek",
    "De Boterbloem",
];
const FIRST_NAMES: &[&str] = &[
    "Jan", "Petra", "Mohammed", "Sanne", "Kees", "Fatima", "Pieter", "Anouk", "Emre", "Lotte",
    "Joost", "Marloes", "Sven", "Ingrid", "Bram", "Ilse", "Daan", "Noor", "Henk", "Priya",
];
const ROLES: &[&str] = &[
    "Directeur",
    "Financiële administratie",
    "Crediteurenadministratie",
    "Inkoop",
    "Eigenaar",
    "Office manager",
    "CFO",
    "Projectleider",
];
const STREETS_NL: &[&str] = &[
    "Kerkstraat",
    "Dorpsstraat",
    "Hoofdstraat",
    "Molenweg",
    "Stationsweg",
    "Industrieweg",
    "Julianalaan",
    "Prins Bernhardlaan",
    "Nieuwe Binnenweg",
    "Oudegracht",
    "Lange Voorhout",
    "Burg. de Withstraat",
    "Van 't Hoffstraat",
    "Noordeinde",
    "Keizersgracht",
];
/// (city variants, postcode prefix range)
const CITIES_NL: &[(&[&str], u32, u32)] = &[
    (&["Amsterdam", "AMSTERDAM"], 1011, 1109),
    (&["Rotterdam", "ROTTERDAM"], 3011, 3089),
    (&["'s-Gravenhage", "Den Haag", "DEN HAAG"], 2511, 2599),
    (&["Utrecht", "UTRECHT"], 3511, 3585),
    (
        &["'s-Hertogenbosch", "Den Bosch", "'S-HERTOGENBOSCH"],
        5211,
        5249,
    ),
    (
        &[
            "Capelle a/d IJssel",
            "Capelle aan den IJssel",
            "CAPELLE AAN DEN IJSSEL",
        ],
        2901,
        2909,
    ),
    (&["Groningen"], 9711, 9747),
    (&["Eindhoven"], 5611, 5658),
    (&["Zwolle"], 8011, 8045),
    (&["Amersfoort"], 3811, 3829),
    (&["Haarlem"], 2011, 2037),
    (&["Maastricht"], 6211, 6229),
];
const CITIES_BE: &[(&str, &str)] = &[
    ("Antwerpen", "2000"),
    ("Gent", "9000"),
    ("Brussel", "1000"),
    ("Leuven", "3000"),
    ("Brugge", "8000"),
];
const CITIES_DE: &[(&str, &str)] = &[
    ("Düsseldorf", "40210"),
    ("Köln", "50667"),
    ("Aachen", "52062"),
    ("Kleve", "47533"),
];
const STREETS_BE: &[&str] = &[
    "Meir",
    "Kouter",
    "Grote Markt",
    "Bondgenotenlaan",
    "Nationalestraat",
];
const STREETS_DE: &[&str] = &[
    "Königsallee",
    "Hohe Straße",
    "Schadowstraße",
    "Kaiserstraße",
];
const NL_BANKS: &[(&str, &str)] = &[
    ("ABNA", "ABNANL2A"),
    ("RABO", "RABONL2U"),
    ("INGB", "INGBNL2A"),
    ("TRIO", "TRIONL2U"),
    ("SNSB", "SNSBNL2A"),
    ("ASNB", "ASNBNL21"),
    ("KNAB", "KNABNL2H"),
    ("BUNQ", "BUNQNL2A"),
];
const PROJECT_WORDS: &[&str] = &[
    "Verbouwing kantoor",
    "Nieuwbouw 24 woningen",
    "Onderhoud groen",
    "Renovatie Café 't Hoekje",
    "Dakrenovatie",
    "Inrichting showroom",
    "Migratie ERP",
    "Herinrichting plein",
    "Zonnepanelen",
    "Website & webshop",
    "Onderhoudscontract",
    "Badkamer fam. Öztürk",
];
const PROJECT_PLACES: &[&str] = &[
    "Zuidas",
    "Leidsche Rijn",
    "Noordvleugel",
    "fase 2",
    "Den Bosch",
    "IJburg",
    "Kralingen",
    "2024-Q3",
];
const LINE_TEXTS: &[&str] = &[
    "Advieswerk",
    "Montage",
    "Materiaal",
    "Taarten",
    "Arbeidsloon",
    "Voorrijkosten",
    "Licentie",
    "Onderhoud",
    "Transport",
    "Projectmanagement",
    "Naslagwerk (boek)",
    "Catering 25 pers.",
    "Hosting januari",
    "Huur steiger",
];

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = match c {
            'ö' | 'Ö' => 'o',
            'ç' | 'Ç' => 'c',
            'é' | 'ë' => 'e',
            'ü' => 'u',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

// ---------------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Country {
    Nl,
    Be,
    De,
}

#[derive(Debug, Clone)]
struct RelInfo {
    id: String,
    customer: bool,
    country: Country,
    has_vat: bool,
}

#[derive(Debug, Clone)]
struct ProjInfo {
    number: String,
    number_json: Value,
    active: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Vat {
    Hoog,
    Laag,
    Nul,
    Vrijgesteld,
    Verlegd,
    IntraEu,
}

struct Line {
    value: Value,
    net_cents: i64,
    vat: Vat,
    project: Option<String>,
}

struct Builder {
    rng: Rng,
    cfg: Config,
    relations: Vec<(Value, Label)>,
    projects: Vec<(Value, Label)>,
    sales: Vec<(Value, Label)>,
    purchases: Vec<(Value, Label)>,
    good_rel: Vec<RelInfo>,
    good_proj: Vec<ProjInfo>,
    used_names: HashSet<String>,
    used_project_numbers: HashSet<u64>,
    used_sales_numbers: HashSet<String>,
    used_purchase_numbers: HashSet<(String, String)>,
    seq: u64,
}

fn date_str(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

impl Builder {
    fn new(cfg: Config) -> Self {
        Builder {
            rng: Rng::new(cfg.seed),
            cfg,
            relations: Vec::new(),
            projects: Vec::new(),
            sales: Vec::new(),
            purchases: Vec::new(),
            good_rel: Vec::new(),
            good_proj: Vec::new(),
            used_names: HashSet::new(),
            used_project_numbers: HashSet::new(),
            used_sales_numbers: HashSet::new(),
            used_purchase_numbers: HashSet::new(),
            seq: 0,
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Insert at a random position (realistic interleaving); returns nothing, indices are fixed
    /// at the end.
    fn insert_random(list: &mut Vec<(Value, Label)>, rng: &mut Rng, item: (Value, Label)) {
        let pos = rng.below(list.len() as u64 + 1) as usize;
        list.insert(pos, item);
    }

    /// Insert after the record whose label satisfies `after`.
    fn insert_after(
        list: &mut Vec<(Value, Label)>,
        rng: &mut Rng,
        after: impl Fn(&Label) -> bool,
        item: (Value, Label),
    ) {
        let first = list
            .iter()
            .position(|(_, l)| after(l))
            .expect("original present");
        let pos = first + 1 + rng.below((list.len() - first) as u64) as usize;
        list.insert(pos, item);
    }

    // ----- relations ------------------------------------------------------------------------

    fn legal_name(&mut self, country: Country) -> (String, Option<String>) {
        loop {
            let r = self.rng.below(100);
            let surname = *self.rng.pick(SURNAMES);
            let trade = *self.rng.pick(TRADES);
            let fancy = *self.rng.pick(FANCY);
            let (legal, trade_name): (String, Option<String>) = match country {
                Country::De => {
                    let form = *self.rng.pick(&["GmbH", "GmbH & Co. KG", "AG", "e.K."]);
                    (format!("{} {} {form}", surname, trade), None)
                }
                Country::Be => {
                    let form = *self.rng.pick(&["BV", "NV", "BVBA", "CommV", "VZW"]);
                    (format!("{trade} {surname} {form}"), None)
                }
                Country::Nl => match r {
                    0..=39 => {
                        let form = *self
                            .rng
                            .pick(&["B.V.", "BV", "b.v.", "N.V.", "V.O.F.", "VOF", "B.V"]);
                        (format!("{trade} {surname} {form}"), None)
                    }
                    40..=59 => {
                        let form = *self.rng.pick(&["B.V.", "BV", "b.v."]);
                        (format!("{trade} {fancy} {form}"), Some(fancy.to_owned()))
                    }
                    60..=69 => {
                        let pre = *self.rng.pick(&["Stichting", "Stg."]);
                        (format!("{pre} {fancy} {}", surname), None)
                    }
                    70..=74 => (format!("Coöperatie {fancy} U.A."), None),
                    75..=84 => (format!("{surname} {trade}"), None), // eenmanszaak
                    _ => {
                        let form = *self.rng.pick(&["B.V.", "BV"]);
                        (
                            format!("{} {fancy} {form}", trade),
                            Some(format!("{fancy} {surname}")),
                        )
                    }
                },
            };
            let display = trade_name.clone().unwrap_or_else(|| legal.clone());
            if legal.chars().count() <= 50
                && display.chars().count() <= 50
                && !self.used_names.contains(&display)
                && !self.used_names.contains(&legal)
            {
                self.used_names.insert(display);
                self.used_names.insert(legal.clone());
                return (legal, trade_name);
            }
        }
    }

    fn phone(&mut self, country: Country) -> String {
        let a = self.rng.range(100, 999);
        let b = self.rng.range(1000, 9999);
        let area = *self
            .rng
            .pick(&["20", "10", "30", "70", "73", "33", "40", "50"]);
        match country {
            Country::De => format!("0211/{a}{b}"),
            Country::Be => format!("+32 3 {a} {:02} {:02}", b / 100, b % 100),
            Country::Nl => match self.rng.below(9) {
                0 => format!("0{area}-{a}{b}"),
                1 => format!("0{area} {a} {b}"),
                2 => format!("+31 {area} {a}{b}"),
                3 => format!("+31 (0){area} {a} {b}"),
                4 => format!("0031 {area} {a}{b}"),
                5 => format!("(0{area}) {a}{b}"),
                6 => format!("06-{}{}", a % 100 + 10, b * 10 + 3),
                7 => format!("0{area}-{a} {b}"),
                _ => format!("+31{area}{a}{b}"),
            },
        }
    }

    fn address(&mut self, country: Country) -> Value {
        match country {
            Country::Nl => {
                let street = *self.rng.pick(STREETS_NL);
                let (cities, lo, hi) = *self.rng.pick(CITIES_NL);
                let city = *self.rng.pick(cities);
                let pc_num = self.rng.range(i64::from(lo), i64::from(hi));
                let letters = loop {
                    let a = (b'A' + self.rng.below(26) as u8) as char;
                    let b = (b'A' + self.rng.below(26) as u8) as char;
                    let s = format!("{a}{b}");
                    if !["SA", "SD", "SS"].contains(&s.as_str()) {
                        break s;
                    }
                };
                let postcode = match self.rng.below(4) {
                    0 => format!("{pc_num} {letters}"),
                    1 => format!("{pc_num}{letters}"),
                    2 => format!("{pc_num} {}", letters.to_lowercase()),
                    _ => format!("{pc_num}{}", letters.to_lowercase()),
                };
                let n = self.rng.range(1, 250);
                let mut a = Map::new();
                match self.rng.below(7) {
                    0 => {
                        a.insert("street".into(), json!(street));
                        a.insert("house_number".into(), json!(n.to_string()));
                        a.insert("house_number_addition".into(), json!("A"));
                    }
                    1 => {
                        a.insert("street".into(), json!(format!("{street} {n}A")));
                    }
                    2 => {
                        a.insert("street".into(), json!(street));
                        a.insert("house_number".into(), json!(format!("{n}-2")));
                    }
                    3 => {
                        a.insert("street".into(), json!(street));
                        a.insert("house_number".into(), json!(format!("{n} hs")));
                    }
                    4 => {
                        a.insert("street".into(), json!(format!("{street} {n}")));
                    }
                    5 => {
                        a.insert("street".into(), json!(street));
                        a.insert("house_number".into(), json!(format!("{n}B")));
                    }
                    _ => {
                        a.insert("street".into(), json!(street));
                        // Text or a JSON integer.
                        if self.rng.chance(50) {
                            a.insert("house_number".into(), json!(n));
                        } else {
                            a.insert("house_number".into(), json!(n.to_string()));
                        }
                    }
                }
                a.insert("postcode".into(), json!(postcode));
                a.insert("city".into(), json!(city));
                match self.rng.below(4) {
                    0 => {}
                    1 => {
                        a.insert("country".into(), json!("nl"));
                    }
                    2 => {
                        a.insert("country".into(), json!("Nederland"));
                    }
                    _ => {
                        a.insert("country".into(), json!("NL"));
                    }
                }
                Value::Object(a)
            }
            Country::Be => {
                let (city, pc) = *self.rng.pick(CITIES_BE);
                let street = *self.rng.pick(STREETS_BE);
                // `B-2000`, `2000`, or the JSON integer 2000 (crm-model reads it as text).
                let pc = match self.rng.below(3) {
                    0 => json!(format!("B-{pc}")),
                    1 => json!(pc),
                    _ => json!(pc.parse::<u32>().unwrap()),
                };
                json!({"street": street, "house_number": self.rng.range(1, 120).to_string(),
                       "postcode": pc, "city": city, "country": *self.rng.pick(&["BE", "be", "BEL"])})
            }
            Country::De => {
                let (city, pc) = *self.rng.pick(CITIES_DE);
                let street = *self.rng.pick(STREETS_DE);
                let pc = match self.rng.below(3) {
                    0 => json!(format!("D-{pc}")),
                    1 => json!(pc),
                    _ => json!(pc.parse::<u32>().unwrap()),
                };
                json!({"street": format!("{street} {}", self.rng.range(1, 90)),
                       "postcode": pc, "city": city, "country": *self.rng.pick(&["DE", "de", "DEU"])})
            }
        }
    }

    fn kvk_form(&mut self, d: &[u8]) -> String {
        let s = digits_str(d);
        match self.rng.below(6) {
            0 | 1 => s,
            2 => format!("{} {}", &s[..4], &s[4..]),
            3 => format!("{}.{}.{}.{}", &s[..2], &s[2..4], &s[4..6], &s[6..]),
            4 => format!("KvK {s}"),
            _ => format!("KvK-nummer: {s}"),
        }
    }

    fn nl_vat_form(&mut self, d: &[u8], suffix: u8) -> String {
        let s = digits_str(d);
        let suf = format!("{suffix:02}");
        match self.rng.below(6) {
            0 | 1 => format!("NL{s}B{suf}"),
            2 => format!("NL {}.{}.{}.B.{suf}", &s[..4], &s[4..6], &s[6..]),
            3 => format!("nl{s}b{suf}"),
            4 => format!("{s}B{suf}"),
            _ => format!("NL {s} B{suf}"),
        }
    }

    fn vat_for(&mut self, country: Country) -> String {
        match country {
            Country::Nl => {
                if self.rng.chance(20) {
                    let (d, suf) = gen_nl_vat_mod97(&mut self.rng);
                    self.nl_vat_form(&d, suf)
                } else {
                    let d = gen_nl_vat_elf(&mut self.rng);
                    let suf = *self.rng.pick(&[1u8, 1, 1, 2, 3]);
                    self.nl_vat_form(&d, suf)
                }
            }
            Country::Be => {
                let d = gen_be_vat(&mut self.rng);
                let s = digits_str(&d);
                match self.rng.below(3) {
                    0 => format!("BE {}.{}.{}", &s[..4], &s[4..7], &s[7..]),
                    1 => format!("{}.{}.{}", &s[..4], &s[4..7], &s[7..]),
                    _ => format!("BE{s}"),
                }
            }
            Country::De => {
                let d = gen_de_vat(&mut self.rng);
                let s = digits_str(&d);
                if self.rng.chance(50) {
                    format!("DE {} {} {}", &s[..3], &s[3..6], &s[6..])
                } else {
                    format!("DE{s}")
                }
            }
        }
    }

    fn iban_for(&mut self, country: Country) -> (String, String) {
        let (iban, bic) = match country {
            Country::Nl => {
                let (bank, bic) = *self.rng.pick(NL_BANKS);
                let acct = gen_nl_account(&mut self.rng);
                (
                    iban_with_check("NL", &format!("{bank}{acct}")),
                    bic.to_owned(),
                )
            }
            Country::Be => {
                let d = self.rng.digits(10);
                let n: u64 = digits_str(&d).parse().unwrap();
                let c = match n % 97 {
                    0 => 97,
                    x => x,
                };
                (
                    iban_with_check("BE", &format!("{}{c:02}", digits_str(&d))),
                    "GEBABEBB".to_owned(),
                )
            }
            Country::De => {
                let d = self.rng.digits(10);
                (
                    iban_with_check("DE", &format!("30070010{}", digits_str(&d))),
                    "DEUTDEDDXXX".to_owned(),
                )
            }
        };
        assert!(iban_ok(&iban));
        let form = match self.rng.below(4) {
            0 => iban.clone(),
            1 => spaced(&iban),
            2 => iban.to_lowercase(),
            _ => spaced(&iban).to_lowercase(),
        };
        (form, bic)
    }

    fn email_for(&mut self, domain: &str) -> String {
        match self.rng.below(6) {
            0 | 1 => format!("info@{domain}"),
            2 => format!(" administratie@{domain} "),
            3 => format!("info@{domain};facturen@{domain}"),
            4 => format!("info@{domain}; facturen@{domain} ; boekhouding@{domain}"),
            _ => format!("Info@{}", domain.to_uppercase()),
        }
    }

    /// A complete good relation. Returns the JSON and its label.
    fn good_relation(&mut self, id: String, customer: bool, country: Country) -> (Value, Label) {
        let (legal, trade) = self.legal_name(country);
        let display = trade.clone().unwrap_or_else(|| legal.clone());
        let seq = self.next_seq();
        let domain = format!("{}-{seq}.example.nl", slug(&display));
        let mut r = Map::new();
        r.insert("id".into(), json!(id));
        r.insert(
            "kind".into(),
            json!(if customer { "customer" } else { "supplier" }),
        );
        if self.rng.chance(50) {
            r.insert("number".into(), json!(format!("{}", 20000 + seq)));
        }
        r.insert("legal_name".into(), json!(legal));
        if let Some(t) = &trade {
            r.insert("trade_name".into(), json!(t));
        }
        // A visit address is optional (SnelStart: all its fields or none); foreign relations
        // always have one, so their VAT id's country has an address to agree with (REL-0087).
        if country != Country::Nl || self.rng.chance(93) {
            let a = self.address(country);
            r.insert("visit_address".into(), a);
        }
        if country == Country::Nl && self.rng.chance(25) {
            let (cities, lo, _) = *self.rng.pick(CITIES_NL);
            let pb = self.rng.range(10, 99999);
            let pa = if self.rng.chance(50) {
                json!({"street": "Postbus", "house_number": pb.to_string(),
                       "postcode": format!("{} AA", lo), "city": cities[0]})
            } else {
                json!({"street": format!("Postbus {pb}"),
                       "postcode": format!("{}AB", lo), "city": cities[0], "country": "NL"})
            };
            r.insert("postal_address".into(), pa);
        }
        let ncontacts = self.rng.below(4);
        let mut contacts = Vec::new();
        for k in 0..ncontacts {
            let first = *self.rng.pick(FIRST_NAMES);
            let last = *self.rng.pick(SURNAMES);
            let mut c = Map::new();
            if self.rng.chance(60) {
                c.insert("id".into(), json!(format!("c-{seq}-{k}")));
            }
            let name = if self.rng.chance(80) {
                let mut s = format!("{first} {last}");
                if let Some(f) = s.get(..1) {
                    s = format!("{}{}", f.to_uppercase(), &s[1..]);
                }
                s
            } else {
                format!("{}. {last}", &first[..1])
            };
            c.insert("name".into(), json!(name));
            if self.rng.chance(70) {
                c.insert("role".into(), json!(*self.rng.pick(ROLES)));
            }
            if self.rng.chance(70) {
                c.insert("email".into(), json!(format!("{}@{domain}", slug(first))));
            }
            if self.rng.chance(50) {
                let p = self.phone(country);
                c.insert("phone".into(), json!(p));
            }
            c.insert("primary".into(), json!(k == 0 && self.rng.chance(70)));
            contacts.push(Value::Object(c));
        }
        if !contacts.is_empty() || self.rng.chance(50) {
            r.insert("contacts".into(), Value::Array(contacts));
        }
        if self.rng.chance(85) {
            let e = self.email_for(&domain);
            r.insert("email".into(), json!(e));
        }
        if self.rng.chance(80) {
            let p = self.phone(country);
            r.insert("phone".into(), json!(p));
        }
        if self.rng.chance(50) {
            let w = match self.rng.below(3) {
                0 => format!("https://www.{domain}"),
                1 => format!("http://{domain}/"),
                _ => format!("https://{domain}/contact"),
            };
            r.insert("website".into(), json!(w));
        }
        let has_vat = self.rng.chance(match country {
            Country::Nl => 75,
            _ => 100,
        });
        if has_vat {
            let v = self.vat_for(country);
            r.insert("vat_number".into(), json!(v));
        }
        let mut kvk_digits = None;
        if country == Country::Nl && self.rng.chance(80) {
            let d = gen_kvk(&mut self.rng);
            kvk_digits = Some(digits_str(&d));
            let k = self.kvk_form(&d);
            r.insert("kvk_number".into(), json!(k));
        }
        if self.rng.chance(70) {
            let (iban, bic) = self.iban_for(country);
            r.insert("iban".into(), json!(iban));
            if self.rng.chance(60) {
                r.insert("bic".into(), json!(bic));
            }
        }
        if self.rng.chance(60) {
            r.insert(
                "payment_term_days".into(),
                json!(*self.rng.pick(&[14, 30, 30, 60, 8])),
            );
        }
        if customer && self.rng.chance(15) {
            let limit = 100 * self.rng.range(10, 200) * 50;
            let v = money_value(&mut self.rng, limit);
            r.insert("credit_limit".into(), v);
        }
        let mut memo_text = None;
        if self.rng.chance(40) {
            let memo = match self.rng.below(4) {
                0 => {
                    "Levering via achterdeur, na 07:00.\nSleutel bij de buren (nr. 14).".to_owned()
                }
                1 => "Let op: facturen altijd t.a.v. crediteurenadministratie\nPO-nummer verplicht"
                    .to_owned(),
                2 => "Klant sinds 2009.\r\nBetaalt meestal op tijd.\r\n".to_owned(),
                _ => format!(
                    "Afspraken {}:\n- korting 2%\n- levering franco\n\nZie ook dossier {seq}",
                    self.cfg.current_year
                ),
            };
            memo_text = Some(memo.clone());
            r.insert("memo".into(), json!(memo));
        }
        if self.rng.chance(30) {
            r.insert("active".into(), json!(true));
        }
        if self.rng.chance(50) {
            r.insert(
                "last_changed".into(),
                json!(format!(
                    "{}-0{}-1{}T0{}:30:00Z",
                    self.cfg.current_year - 1,
                    self.rng.range(1, 9),
                    self.rng.range(0, 9),
                    self.rng.range(0, 9)
                )),
            );
        }
        let mut l = Label::new(RecordKind::Relation, id.clone());
        l.names = vec![display.clone(), legal.clone()];
        if let Some(t) = trade
            && t != display
        {
            l.names.push(t);
        }
        l.relation_kind = if customer { "customer" } else { "supplier" }.into();
        l.markers = vec![domain];
        l.kvk_digits = kvk_digits;
        l.memo = memo_text;
        (Value::Object(r), l)
    }

    fn gen_relations(&mut self) {
        let n = self.cfg.relations;
        let mut holding_left = (n / 40).max(1);
        let mut i = 0;
        while i < n {
            let country = match self.rng.below(100) {
                0..=84 => Country::Nl,
                85..=92 => Country::Be,
                _ => Country::De,
            };
            let customer = self.rng.chance(68);
            let id = self.rel_id(i);
            let (v, l) = self.good_relation(id.clone(), customer, country);
            self.relations.push((v.clone(), l));
            self.good_rel.push(RelInfo {
                id,
                customer,
                country,
                has_vat: v.get("vat_number").is_some(),
            });
            i += 1;
            // A holding beside its operating company: same address, different KvK and name.
            if holding_left > 0
                && country == Country::Nl
                && i < n
                && v.get("visit_address").is_some()
            {
                holding_left -= 1;
                let id = self.rel_id(i);
                let (mut hv, mut hl) = self.good_relation(id.clone(), true, Country::Nl);
                let base = v["legal_name"].as_str().unwrap();
                let holding = format!(
                    "{} Holding B.V.",
                    base.split_whitespace()
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                if !self.used_names.contains(&holding) && holding.chars().count() <= 50 {
                    self.used_names.insert(holding.clone());
                    hv["legal_name"] = json!(holding);
                    hv.as_object_mut().unwrap().remove("trade_name");
                    hv["visit_address"] = v["visit_address"].clone();
                    hl.names = vec![holding];
                }
                self.relations.push((hv.clone(), hl));
                self.good_rel.push(RelInfo {
                    id,
                    customer: true,
                    country: Country::Nl,
                    has_vat: hv.get("vat_number").is_some(),
                });
                i += 1;
            }
        }
    }

    fn rel_id(&mut self, i: usize) -> String {
        match i % 5 {
            0..=2 => format!("crm-{}", 1000 + i),
            3 => format!("REL{:05}", 1000 + i),
            _ => format!("{}", 700_000 + i),
        }
    }

    fn some_good_relation(&mut self, customer: bool, want: impl Fn(&RelInfo) -> bool) -> RelInfo {
        let candidates: Vec<RelInfo> = self
            .good_rel
            .iter()
            .filter(|r| r.customer == customer && want(r))
            .cloned()
            .collect();
        self.rng.pick(&candidates).clone()
    }

    fn bad_relations(&mut self) -> Vec<(String, Defect)> {
        use Defect::*;
        let classes = [
            NameEmpty,
            NameTooLong,
            NameNul,
            NameEsc,
            NameCrLf,
            NameNull,
            TradeNameTooLong,
            StreetControlChar,
            KvkSevenDigits,
            KvkCheckDigit,
            VatCheckDigits,
            VatCountryMismatch,
            IbanCheckDigits,
            WebsiteNotUrl,
            PhoneTooLong,
            EmailInvalid,
            VisitAddressPartial,
            ContactNameTooLong,
        ];
        let mut out = Vec::new();
        for (k, defect) in classes.into_iter().enumerate() {
            let id = format!("crm-bad-{}", 9000 + k);
            let customer = k % 3 != 2;
            let (mut v, l) = self.good_relation(id.clone(), customer, Country::Nl);
            let domain = l.markers[0].clone();
            let marker_name = format!("Foutje {} {}", k, slug(&domain)[..6].to_owned());
            let o = v.as_object_mut().unwrap();
            o.remove("trade_name");
            o.insert("legal_name".into(), json!(format!("{marker_name} B.V.")));
            // A complete visit address, so that the planted defect is the only one.
            o.insert(
                "visit_address".into(),
                json!({"street": "Stationsweg", "house_number": "7", "postcode": "3811 AB",
                       "city": "Amersfoort", "country": "NL"}),
            );
            // Every bad relation has an e-mail address with its marker domain, so anything of
            // it in SnelStart can be found.
            o.insert("email".into(), json!(format!("info@{domain}")));
            let (path, also): (&str, Vec<String>) = match defect {
                NameEmpty => {
                    o.insert("legal_name".into(), json!(""));
                    ("legal_name", vec![])
                }
                NameTooLong => {
                    o.insert(
                        "legal_name".into(),
                        json!(format!(
                            "{marker_name} Internationale Handelsonderneming en Logistiek B.V."
                        )),
                    );
                    ("legal_name", vec![])
                }
                NameNul => {
                    o.insert(
                        "legal_name".into(),
                        json!(format!("{marker_name}\u{0} B.V.")),
                    );
                    ("legal_name", vec![])
                }
                NameEsc => {
                    o.insert(
                        "legal_name".into(),
                        json!(format!("{marker_name}\u{1b}[0m B.V.")),
                    );
                    ("legal_name", vec![])
                }
                NameCrLf => {
                    o.insert("legal_name".into(), json!(format!("{marker_name}\r\nB.V.")));
                    ("legal_name", vec![])
                }
                NameNull => {
                    o.insert("legal_name".into(), Value::Null);
                    ("legal_name", vec![])
                }
                TradeNameTooLong => {
                    o.insert(
                        "trade_name".into(),
                        json!(format!(
                            "{marker_name} - de specialist in alles wat met bouw te maken heeft"
                        )),
                    );
                    ("trade_name", vec![])
                }
                StreetControlChar => {
                    o.insert(
                        "visit_address".into(),
                        json!({"street": "Kerkstraat\u{7}", "house_number": "5", "postcode": "3511 AB",
                               "city": "Utrecht", "country": "NL"}),
                    );
                    ("visit_address.street", vec![])
                }
                KvkSevenDigits => {
                    let d = gen_kvk(&mut self.rng);
                    let mut s = digits_str(&d);
                    s.remove(0);
                    let s = match s.strip_prefix('0') {
                        Some(rest) => format!("1{rest}"),
                        None => s,
                    };
                    o.insert("kvk_number".into(), json!(s));
                    ("kvk_number", vec![])
                }
                KvkCheckDigit => {
                    let mut d = gen_kvk(&mut self.rng);
                    d[7] = (d[7] + 1) % 10;
                    assert!(!kvk_ok(&d));
                    o.insert("kvk_number".into(), json!(digits_str(&d)));
                    ("kvk_number", vec![])
                }
                VatCheckDigits => {
                    let d = loop {
                        let mut d = gen_nl_vat_elf(&mut self.rng);
                        d[8] = (d[8] + 1 + self.rng.below(8) as u8) % 10;
                        if !nl_vat_elfproef_ok(&d) && !nl_vat_mod97_ok(&d, 1) {
                            break d;
                        }
                    };
                    o.insert(
                        "vat_number".into(),
                        json!(format!("NL{}B01", digits_str(&d))),
                    );
                    ("vat_number", vec![])
                }
                VatCountryMismatch => {
                    // A Belgian VAT id on a relation whose visit address is in Amsterdam.
                    let d = gen_be_vat(&mut self.rng);
                    o.insert("vat_number".into(), json!(format!("BE{}", digits_str(&d))));
                    o.insert(
                        "visit_address".into(),
                        json!({"street": "Damrak", "house_number": "1", "postcode": "1012 LG",
                               "city": "Amsterdam", "country": "NL"}),
                    );
                    ("vat_number", vec!["visit_address.country".to_owned()])
                }
                IbanCheckDigits => {
                    let (bank, _) = *self.rng.pick(NL_BANKS);
                    let acct = gen_nl_account(&mut self.rng);
                    let good = iban_with_check("NL", &format!("{bank}{acct}"));
                    let mut chars: Vec<char> = good.chars().collect();
                    let last = chars.len() - 1;
                    chars[last] = char::from(b'0' + ((chars[last] as u8 - b'0' + 3) % 10));
                    let bad: String = chars.into_iter().collect();
                    assert!(!iban_ok(&bad));
                    o.insert("iban".into(), json!(spaced(&bad)));
                    ("iban", vec![])
                }
                WebsiteNotUrl => {
                    o.insert("website".into(), json!("zie LinkedIn-pagina"));
                    ("website", vec![])
                }
                PhoneTooLong => {
                    o.insert(
                        "phone".into(),
                        json!("020-1234567 (alleen ochtend) of 06-12345678"),
                    );
                    ("phone", vec![])
                }
                EmailInvalid => {
                    o.insert("email".into(), json!(format!("info at {domain}")));
                    ("email", vec![])
                }
                VisitAddressPartial => {
                    o.insert(
                        "visit_address".into(),
                        json!({"street": "Dorpsstraat", "house_number": "3", "country": "NL"}),
                    );
                    (
                        "visit_address.city",
                        vec![
                            "visit_address.postcode".to_owned(),
                            "visit_address".to_owned(),
                        ],
                    )
                }
                ContactNameTooLong => {
                    o.insert(
                        "contacts".into(),
                        json!([{"name": "Johannes Cornelis Maria van der Westhuizen-Oosterbroek Sr.",
                                "role": "Directeur", "primary": true}]),
                    );
                    ("contacts[0].name", vec![])
                }
                _ => unreachable!(),
            };
            let mut label = Label::new(RecordKind::Relation, id.clone()).bad(defect, path);
            label = label.also(&also);
            match defect {
                // CRM-DATA.md and ERRORS.md publish no check digit for KvK numbers (the
                // simulator checks 8 digits), and numbers issued since 2016 need not pass
                // the old 11-proef.
                KvkCheckDigit => label = label.disputed("no published KvK check digit"),
                // SnelStart has no trade-name field: a long trade name only breaks the
                // 50-character naam if the mapping writes it as the naam.
                TradeNameTooLong => {
                    label = label.disputed("only bad if the trade name becomes the naam")
                }
                _ => {}
            }
            label.relation_kind = if customer { "customer" } else { "supplier" }.into();
            label.markers = vec![domain, marker_name];
            Self::insert_random(&mut self.relations, &mut self.rng, (v, label));
            out.push((id, defect));
        }
        // Duplicates: a customer and a supplier id occur twice; the later record differs.
        for customer in [true, false] {
            let orig = self.some_good_relation(customer, |r| r.country == Country::Nl);
            let (mut v, l) = self.good_relation(orig.id.clone(), customer, Country::Nl);
            let dup_name = format!("{} (dubbel)", l.names[0]);
            v["legal_name"] = json!(dup_name.clone());
            v.as_object_mut().unwrap().remove("trade_name");
            let mut label =
                Label::new(RecordKind::Relation, orig.id.clone()).bad(DuplicateRelationId, "id");
            label.relation_kind = l.relation_kind.clone();
            label.markers = vec![l.markers[0].clone(), dup_name];
            let oid = orig.id.clone();
            Self::insert_after(
                &mut self.relations,
                &mut self.rng,
                |x| x.id == oid && x.is_good(),
                (v, label),
            );
        }
        out
    }

    // ----- projects -------------------------------------------------------------------------

    fn project_number(&mut self) -> u64 {
        loop {
            let n = match self.rng.below(3) {
                0 => self.rng.range(100, 9999) as u64,
                1 => (self.cfg.current_year as u64) * 1000 + self.rng.range(1, 999) as u64,
                _ => (self.cfg.current_year as u64) * 100_000 + self.rng.range(1, 99_999) as u64,
            };
            // 1, 10 and 20 are cost centres SnelStart already holds in the simulator: keep out.
            if n > 20 && n <= 999_999_999 && self.used_project_numbers.insert(n) {
                return n;
            }
        }
    }

    fn project_description(&mut self) -> String {
        let a = *self.rng.pick(PROJECT_WORDS);
        let b = *self.rng.pick(PROJECT_PLACES);
        let s = format!("{a} {b} #{}", self.next_seq());
        s.chars().take(50).collect()
    }

    fn gen_projects(&mut self) {
        for i in 0..self.cfg.projects {
            let n = self.project_number();
            let number_json = if self.rng.chance(50) {
                json!(n)
            } else {
                json!(n.to_string())
            };
            let description = self.project_description();
            let active = !self.rng.chance(15);
            let id = format!("prj-{}", 100 + i);
            let mut p = Map::new();
            p.insert("id".into(), json!(id));
            p.insert("number".into(), number_json.clone());
            p.insert("description".into(), json!(description));
            if !active || self.rng.chance(40) {
                p.insert("active".into(), json!(active));
            }
            let mut l = Label::new(RecordKind::Project, id);
            l.number = n.to_string();
            l.description = description;
            l.active = active;
            self.projects.push((Value::Object(p), l));
            self.good_proj.push(ProjInfo {
                number: n.to_string(),
                number_json,
                active,
            });
        }
    }

    fn bad_projects(&mut self) -> Vec<(String, String, Defect)> {
        use Defect::*;
        let mut out = Vec::new();
        for (k, defect) in [
            ProjectDescriptionEmpty,
            ProjectDescriptionNull,
            ProjectDescriptionTooLong,
            ProjectNumberZero,
            ProjectNumberTooLarge,
        ]
        .into_iter()
        .enumerate()
        {
            let id = format!("prj-bad-{k}");
            let n = self.project_number();
            let mut number = json!(n.to_string());
            let desc_marker = format!("Foutproject {k} {n}");
            let mut desc = json!(desc_marker.clone());
            let path = match defect {
                ProjectDescriptionEmpty => {
                    desc = json!("");
                    "description"
                }
                ProjectDescriptionNull => {
                    desc = Value::Null;
                    "description"
                }
                ProjectDescriptionTooLong => {
                    desc = json!(format!(
                        "{desc_marker} renovatie en uitbreiding hoofdkantoor inclusief parkeergarage"
                    ));
                    "description"
                }
                ProjectNumberZero => {
                    number = json!(0);
                    "number"
                }
                ProjectNumberTooLarge => {
                    number = if self.rng.chance(50) {
                        json!(1_000_000_000u64)
                    } else {
                        json!("1000000000")
                    };
                    "number"
                }
                _ => unreachable!(),
            };
            let v = json!({"id": id, "number": number, "description": desc});
            let mut l = Label::new(RecordKind::Project, id.clone()).bad(defect, path);
            l.number = match &number {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            l.markers = vec![desc_marker];
            Self::insert_random(&mut self.projects, &mut self.rng, (v, l.clone()));
            out.push((id, l.number.clone(), defect));
        }
        // A second project with the number of an active good one, another description.
        let orig = self
            .projects
            .iter()
            .map(|(_, l)| l.clone())
            .find(|l| l.is_good() && l.active)
            .expect("an active project");
        let dup_desc = format!("Dubbel {} (oud)", orig.number);
        let v = json!({"id": format!("prj-dup-{}", orig.number), "number": orig.number.parse::<u64>().unwrap(),
                       "description": dup_desc});
        let mut l = Label::new(RecordKind::Project, format!("prj-dup-{}", orig.number))
            .bad(DuplicateProjectNumber, "number");
        l.number = orig.number.clone();
        l.markers = vec![dup_desc];
        let oid = orig.id.clone();
        Self::insert_after(&mut self.projects, &mut self.rng, |x| x.id == oid, (v, l));
        out
    }

    // ----- invoices -------------------------------------------------------------------------

    fn window(&self) -> (NaiveDate, NaiveDate) {
        let cy = self.cfg.current_year;
        (ymd(cy - 5, 1, 1), ymd(cy, 11, 30))
    }

    fn invoice_date(&mut self) -> NaiveDate {
        let (lo, hi) = self.window();
        // Dates right around the rate changes, when the window holds them.
        let specials: Vec<NaiveDate> = [
            ymd(2012, 9, 28),
            ymd(2012, 9, 30),
            ymd(2012, 10, 1),
            ymd(2012, 10, 2),
            ymd(2018, 12, 31),
            ymd(2018, 12, 28),
            ymd(2019, 1, 1),
            ymd(2019, 1, 2),
            lo,
            ymd(lo.year(), 1, 2),
        ]
        .into_iter()
        .filter(|d| *d >= lo && *d <= hi)
        .collect();
        if !specials.is_empty() && self.rng.chance(15) {
            return *self.rng.pick(&specials);
        }
        let span = (hi - lo).num_days();
        lo + chrono::Duration::days(self.rng.range(0, span))
    }

    fn vat_form(&mut self, vat: Vat, date: NaiveDate) -> Value {
        let s: String = match vat {
            Vat::Hoog => {
                if date >= ymd(2012, 10, 1) && self.rng.chance(15) {
                    "21%".to_owned()
                } else {
                    self.rng.pick(&["hoog", "hoog", "Hoog", "HOOG"]).to_string()
                }
            }
            Vat::Laag => self.rng.pick(&["laag", "Laag", "LAAG"]).to_string(),
            Vat::Nul => "nul".to_owned(),
            Vat::Vrijgesteld => "vrijgesteld".to_owned(),
            Vat::Verlegd => self.rng.pick(&["verlegd", "reverse-charge"]).to_string(),
            Vat::IntraEu => self.rng.pick(&["intra_eu", "ICP"]).to_string(),
        };
        json!(s)
    }

    /// One good line: net amount or quantity × unit price, sometimes on a project.
    fn line(&mut self, vat: Vat, date: NaiveDate, tie: bool, project_ok: bool) -> Line {
        let mut m = Map::new();
        let text = *self.rng.pick(LINE_TEXTS);
        if self.rng.chance(95) {
            m.insert("description".into(), json!(text));
        }
        let net_cents;
        if tie || self.rng.chance(45) {
            // A net amount; ties: cents ending in 50 give a half cent at 21/19/9 %.
            let mut c = self.rng.range(100, 250_000);
            if tie {
                c = c / 100 * 100 + 50;
            }
            net_cents = c;
            let v = money_value(&mut self.rng, c);
            m.insert("net_amount".into(), v);
        } else {
            let qty_h = match self.rng.below(5) {
                0 => self.rng.range(1, 40) * 100,
                1 => self.rng.range(1, 16) * 25, // 0.25 .. 4.00 hours
                2 => 100,
                3 => self.rng.range(1, 9) * 150,
                _ => self.rng.range(1, 99) * 100 + 50,
            };
            let price = self.rng.range(50, 50_000);
            let raw = i128::from(qty_h) * i128::from(price); // in 1e-4 euro
            net_cents = div_round_half_away(raw, 100) as i64;
            let q = quantity_value(&mut self.rng, qty_h);
            m.insert("quantity".into(), q);
            let p = money_value(&mut self.rng, price);
            m.insert("unit_price".into(), p);
            if self.rng.chance(10) {
                let n = money_value(&mut self.rng, net_cents);
                m.insert("net_amount".into(), n);
            }
        }
        let vf = self.vat_form(vat, date);
        m.insert("vat_category".into(), vf);
        let mut project = None;
        if project_ok && self.rng.chance(30) {
            let active: Vec<ProjInfo> = self
                .good_proj
                .iter()
                .filter(|p| p.active)
                .cloned()
                .collect();
            if !active.is_empty() {
                let p = self.rng.pick(&active).clone();
                let v = if self.rng.chance(40) {
                    json!(p.number.parse::<u64>().unwrap())
                } else {
                    json!(p.number)
                };
                m.insert("project".into(), v);
                project = Some(p.number);
            }
        }
        Line {
            value: Value::Object(m),
            net_cents,
            vat,
            project,
        }
    }

    fn pdf(&mut self, title: &str) -> String {
        let body = format!(
            "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% {title}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
        );
        base64(body.as_bytes())
    }

    fn expected(
        lines: &[Line],
        date: NaiveDate,
        sign: i64,
        attachments: Vec<String>,
    ) -> ExpectedBooking {
        let hoog_rate: i128 = if date < ymd(2012, 10, 1) { 19 } else { 21 };
        let laag_rate: i128 = if date < ymd(2019, 1, 1) { 6 } else { 9 };
        let net: i64 = lines.iter().map(|l| l.net_cents).sum();
        let hoog_net: i64 = lines
            .iter()
            .filter(|l| l.vat == Vat::Hoog)
            .map(|l| l.net_cents)
            .sum();
        let laag_net: i64 = lines
            .iter()
            .filter(|l| l.vat == Vat::Laag)
            .map(|l| l.net_cents)
            .sum();
        let vh = div_round_half_away(i128::from(hoog_net) * hoog_rate, 100) as i64;
        let vl = div_round_half_away(i128::from(laag_net) * laag_rate, 100) as i64;
        let tie = (i128::from(hoog_net) * hoog_rate) % 100 == 50
            || (i128::from(laag_net) * laag_rate) % 100 == 50;
        ExpectedBooking {
            sign,
            net_cents: net,
            vat_hoog_cents: vh,
            vat_laag_cents: vl,
            total_cents: net + vh + vl,
            lines: lines.len(),
            attachments,
            date: date_str(date),
            half_cent_tie: tie,
        }
    }

    fn sales_number(&mut self, date: NaiveDate, credit: bool) -> String {
        loop {
            let n = self.rng.range(1, 9999);
            let s = match (credit, self.rng.below(4)) {
                (true, 0) => format!("CN-{}-{n:04}", date.year()),
                (true, _) => format!("C{}{n:04}", date.year()),
                (false, 0) => format!("{}-{n:04}", date.year()),
                (false, 1) => format!("F{}-{n:04}", date.year()),
                (false, 2) => format!("{}{n:05}", date.year()),
                (false, _) => format!("VF/{}/{n}", date.year() % 100),
            };
            if self.used_sales_numbers.insert(s.clone()) {
                return s;
            }
        }
    }

    fn purchase_number(&mut self, supplier: &str, date: NaiveDate) -> String {
        loop {
            let n = self.rng.range(1, 99_999);
            let s = match self.rng.below(4) {
                0 => format!("INV-{}-{n}", date.year()),
                1 => format!("{n}"),
                2 => format!("{}{n:06}", date.year() % 100),
                _ => format!("F {n}"),
            };
            if self
                .used_purchase_numbers
                .insert((supplier.to_owned(), s.clone()))
            {
                return s;
            }
        }
    }

    /// A good invoice body (sales or purchase). Returns the JSON object, label and lines.
    fn good_invoice(
        &mut self,
        kind: RecordKind,
        id: String,
        rel: &RelInfo,
        credit: bool,
    ) -> (Map<String, Value>, Label) {
        let date = self.invoice_date();
        let sales = kind == RecordKind::SalesInvoice;
        let number = if sales {
            self.sales_number(date, credit)
        } else {
            self.purchase_number(&rel.id, date)
        };
        let nlines = if credit {
            self.rng.range(1, 2)
        } else {
            self.rng.range(1, 5)
        } as usize;
        // VAT mix: verlegd only alone; intra-EU for EU customers with a VAT id.
        let mix: Vec<Vat> =
            if sales && rel.country != Country::Nl && rel.has_vat && self.rng.chance(70) {
                vec![Vat::IntraEu; nlines]
            } else if sales && rel.country == Country::Nl && rel.has_vat && self.rng.chance(6) {
                vec![Vat::Verlegd; nlines]
            } else {
                (0..nlines)
                    .map(|_| match self.rng.below(100) {
                        0..=62 => Vat::Hoog,
                        63..=88 => Vat::Laag,
                        89..=94 => Vat::Nul,
                        _ => {
                            if sales {
                                Vat::Vrijgesteld
                            } else {
                                Vat::Nul
                            }
                        }
                    })
                    .collect()
            };
        let tie_line = if self.rng.chance(25) {
            Some(self.rng.below(nlines as u64) as usize)
        } else {
            None
        };
        let lines: Vec<Line> = mix
            .iter()
            .enumerate()
            .map(|(k, v)| self.line(*v, date, tie_line == Some(k), true))
            .collect();
        let mut m = Map::new();
        m.insert("id".into(), json!(id));
        if credit {
            m.insert("kind".into(), json!("credit_note"));
        } else if self.rng.chance(30) {
            m.insert("kind".into(), json!("invoice"));
        }
        m.insert("number".into(), json!(number));
        m.insert("date".into(), json!(date_str(date)));
        match self.rng.below(3) {
            0 => {
                m.insert(
                    "payment_term_days".into(),
                    json!(*self.rng.pick(&[14, 30, 8])),
                );
            }
            1 => {
                let due = date + chrono::Duration::days(*self.rng.pick(&[0i64, 14, 30, 60]));
                m.insert("due_date".into(), json!(date_str(due)));
            }
            _ => {}
        }
        m.insert("relation".into(), json!(rel.id));
        if self.rng.chance(50) {
            let d = if credit {
                format!("Creditnota i.v.m. retour {}", date.format("%B %Y"))
            } else {
                format!(
                    "Werkzaamheden {} – {}",
                    date.format("%m-%Y"),
                    self.rng.pick(LINE_TEXTS)
                )
            };
            m.insert("description".into(), json!(d));
        }
        if self.rng.chance(20) {
            m.insert(
                "currency".into(),
                json!(*self.rng.pick(&["EUR", "eur", "EUR"])),
            );
        }
        m.insert(
            "lines".into(),
            Value::Array(lines.iter().map(|l| l.value.clone()).collect()),
        );
        let mut attachments = Vec::new();
        if (sales && self.rng.chance(40)) || (!sales && self.rng.chance(25)) {
            let name = match self.rng.below(4) {
                0 => format!("{}.pdf", number.replace('/', "-")),
                1 => format!("Factuur {} (kopie).pdf", number.replace('/', "-")),
                2 => format!("factuur_{}_é.PDF", self.next_seq()),
                _ => format!("scan {}.pdf", date_str(date)),
            };
            let content = self.pdf(&number);
            m.insert(
                "attachments".into(),
                json!([{"file_name": name, "content": content}]),
            );
            attachments.push(name);
        }
        let mut l = Label::new(kind, id);
        l.number = number;
        l.relation = rel.id.clone();
        l.projects = lines.iter().filter_map(|x| x.project.clone()).collect();
        l.booking = Some(Self::expected(
            &lines,
            date,
            if credit { -1 } else { 1 },
            attachments,
        ));
        (m, l)
    }

    fn gen_invoices(&mut self) {
        // Make sure the duplicated relation ids and the duplicated project carry good invoices.
        let dup_ids: Vec<String> = self
            .relations
            .iter()
            .filter(|(_, l)| l.defect() == Some(Defect::DuplicateRelationId))
            .map(|(_, l)| l.id.clone())
            .collect();
        let dup_project = self
            .projects
            .iter()
            .find(|(_, l)| l.defect() == Some(Defect::DuplicateProjectNumber))
            .map(|(_, l)| l.number.clone());
        let customers: Vec<RelInfo> = self
            .good_rel
            .iter()
            .filter(|r| r.customer)
            .cloned()
            .collect();
        let suppliers: Vec<RelInfo> = self
            .good_rel
            .iter()
            .filter(|r| !r.customer)
            .cloned()
            .collect();
        for i in 0..self.cfg.sales_invoices {
            let rel = match dup_ids
                .iter()
                .find(|d| customers.iter().any(|c| &c.id == *d))
            {
                Some(d) if i % 50 == 7 => customers.iter().find(|c| &c.id == d).unwrap().clone(),
                _ => self.rng.pick(&customers).clone(),
            };
            let credit = self.rng.chance(10);
            let id = format!("inv-{}", 5000 + i);
            let (mut m, mut l) = self.good_invoice(RecordKind::SalesInvoice, id, &rel, credit);
            if let (Some(p), true) = (&dup_project, i % 60 == 11) {
                put_project_on_first_line(&mut m, p);
                l.projects.push(p.clone());
            }
            self.sales.push((Value::Object(m), l));
        }
        let mut last_purchase_number: Option<String> = None;
        for i in 0..self.cfg.purchase_invoices {
            let rel = match dup_ids
                .iter()
                .find(|d| suppliers.iter().any(|c| &c.id == *d))
            {
                Some(d) if i % 10 == 3 => suppliers.iter().find(|c| &c.id == d).unwrap().clone(),
                _ => self.rng.pick(&suppliers).clone(),
            };
            let id = format!("pinv-{}", 8000 + i);
            let (mut m, mut l) = self.good_invoice(RecordKind::PurchaseInvoice, id, &rel, false);
            // Two suppliers may use the same invoice number: both are good.
            if i % 9 == 4
                && let Some(n) = &last_purchase_number
                && self
                    .used_purchase_numbers
                    .insert((rel.id.clone(), n.clone()))
            {
                m.insert("number".into(), json!(n));
                l.number = n.clone();
            }
            last_purchase_number = Some(l.number.clone());
            if let (Some(p), true) = (&dup_project, i % 10 == 6) {
                put_project_on_first_line(&mut m, p);
                l.projects.push(p.clone());
            }
            self.purchases.push((Value::Object(m), l));
        }
    }

    fn bad_invoices(
        &mut self,
        bad_rels: &[(String, Defect)],
        bad_projects: &[(String, String, Defect)],
    ) {
        use Defect::*;
        let sales_classes = [
            AmountThreeDecimals,
            AmountNaN,
            AmountInfinity,
            DateInvalid,
            VatCategoryUnknown,
            NumberNull,
            RelationNull,
            ZeroAmountLine,
            NegativeQuantity,
            NonEuroCurrency,
            DueDateBeforeDate,
            DateTooOld,
            NumberTooLong,
            NumberEmpty,
            NoLines,
            VerlegdMixed,
            DescriptionTooLong,
            AttachmentNameSlash,
            AttachmentNameColon,
            AttachmentNameQuestion,
            AttachmentNameTooLong,
            AttachmentNameEmpty,
            AttachmentNameControl,
            SalesOnSupplierOnly,
            UnknownRelation,
            UnknownProject,
            DuplicateSalesNumber,
        ];
        let purchase_classes = [
            DueDateBeforeDate,
            PurchaseOnCustomerOnly,
            DuplicatePurchaseNumber,
            AmountThreeDecimals,
            NonEuroCurrency,
            AttachmentNameSlash,
            DateTooOld,
        ];
        let mut k = 0usize;
        for (kind, classes) in [
            (RecordKind::SalesInvoice, &sales_classes[..]),
            (RecordKind::PurchaseInvoice, &purchase_classes[..]),
        ] {
            for &defect in classes {
                k += 1;
                let sales = kind == RecordKind::SalesInvoice;
                let id = format!("{}-bad-{k}", if sales { "inv" } else { "pinv" });
                let rel = if sales {
                    if defect == VerlegdMixed {
                        self.some_good_relation(true, |r| r.country == Country::Nl && r.has_vat)
                    } else {
                        self.some_good_relation(true, |r| r.country == Country::Nl)
                    }
                } else {
                    self.some_good_relation(false, |_| true)
                };
                let (mut m, l0) = self.good_invoice(kind, id.clone(), &rel, false);
                let mut markers = vec![];
                // Keep bad invoices free of projects unless the defect is about one.
                strip_projects(&mut m);
                let nlines = m["lines"].as_array().unwrap().len();
                let li = self.rng.below(nlines as u64) as usize;
                let mut also: Vec<String> = Vec::new();
                let mut depends: Option<String> = None;
                let path: String = match defect {
                    AmountThreeDecimals => {
                        let l = line_mut(&mut m, li);
                        if l.contains_key("unit_price") {
                            l.remove("net_amount");
                            l.insert("unit_price".into(), json!("12.345"));
                            format!("lines[{li}].unit_price")
                        } else {
                            l.insert("net_amount".into(), json!("100.005"));
                            format!("lines[{li}].net_amount")
                        }
                    }
                    AmountNaN => {
                        let l = line_mut(&mut m, li);
                        l.remove("quantity");
                        l.remove("unit_price");
                        l.insert("net_amount".into(), json!("NaN"));
                        format!("lines[{li}].net_amount")
                    }
                    AmountInfinity => {
                        let l = line_mut(&mut m, li);
                        l.remove("net_amount");
                        l.insert("quantity".into(), json!("2"));
                        l.insert("unit_price".into(), json!("Infinity"));
                        format!("lines[{li}].unit_price")
                    }
                    DateInvalid => {
                        m.insert(
                            "date".into(),
                            json!(format!("{}-02-30", self.cfg.current_year - 1)),
                        );
                        m.remove("due_date");
                        "date".into()
                    }
                    VatCategoryUnknown => {
                        line_mut(&mut m, li).insert("vat_category".into(), json!("superlaag"));
                        format!("lines[{li}].vat_category")
                    }
                    NumberNull => {
                        m.insert("number".into(), Value::Null);
                        "number".into()
                    }
                    RelationNull => {
                        m.insert("relation".into(), Value::Null);
                        "relation".into()
                    }
                    ZeroAmountLine => {
                        let l = line_mut(&mut m, li);
                        l.remove("quantity");
                        l.remove("unit_price");
                        l.insert("net_amount".into(), json!("0.00"));
                        also.push(format!("lines[{li}]"));
                        format!("lines[{li}].net_amount")
                    }
                    NegativeQuantity => {
                        let l = line_mut(&mut m, li);
                        l.remove("net_amount");
                        l.insert("quantity".into(), json!("-3"));
                        l.insert("unit_price".into(), json!("45.00"));
                        also.push(format!("lines[{li}]"));
                        format!("lines[{li}].quantity")
                    }
                    NonEuroCurrency => {
                        m.insert(
                            "currency".into(),
                            json!(*self.rng.pick(&["USD", "GBP", "CHF"])),
                        );
                        "currency".into()
                    }
                    DueDateBeforeDate => {
                        let d = NaiveDate::parse_from_str(m["date"].as_str().unwrap(), "%Y-%m-%d")
                            .unwrap();
                        m.remove("payment_term_days");
                        m.insert(
                            "due_date".into(),
                            json!(date_str(d - chrono::Duration::days(10))),
                        );
                        "due_date".into()
                    }
                    DateTooOld => {
                        let d = ymd(self.cfg.current_year - 6, 12, 31);
                        m.insert("date".into(), json!(date_str(d)));
                        m.remove("due_date");
                        "date".into()
                    }
                    NumberTooLong => {
                        let n = format!("F{}-00012-PROJ-ABC-REV2-X", self.cfg.current_year - 1);
                        assert!(n.chars().count() > 25);
                        m.insert("number".into(), json!(n));
                        "number".into()
                    }
                    NumberEmpty => {
                        m.insert("number".into(), json!(""));
                        "number".into()
                    }
                    NoLines => {
                        m.insert("lines".into(), json!([]));
                        "lines".into()
                    }
                    VerlegdMixed => {
                        let d = NaiveDate::parse_from_str(m["date"].as_str().unwrap(), "%Y-%m-%d")
                            .unwrap();
                        let a = self.line(Vat::Hoog, d, false, false);
                        let b = self.line(Vat::Verlegd, d, false, false);
                        m.insert("lines".into(), json!([a.value, b.value]));
                        also.push("lines[0].vat_category".into());
                        also.push("lines".into());
                        "lines[1].vat_category".into()
                    }
                    DescriptionTooLong => {
                        m.insert(
                            "description".into(),
                            json!("Werkzaamheden conform offerte. ".repeat(10)),
                        );
                        "description".into()
                    }
                    AttachmentNameSlash
                    | AttachmentNameColon
                    | AttachmentNameQuestion
                    | AttachmentNameTooLong
                    | AttachmentNameEmpty
                    | AttachmentNameControl => {
                        let name = match defect {
                            AttachmentNameSlash => "facturen/2023/factuur.pdf".to_owned(),
                            AttachmentNameColon => "C:factuur.pdf".to_owned(),
                            AttachmentNameQuestion => "factuur?.pdf".to_owned(),
                            AttachmentNameTooLong => format!("{}.pdf", "factuur-".repeat(33)),
                            AttachmentNameEmpty => String::new(),
                            _ => "factuur\u{1}.pdf".to_owned(),
                        };
                        let content = self.pdf("bad");
                        m.insert(
                            "attachments".into(),
                            json!([{"file_name": name, "content": content}]),
                        );
                        "attachments[0].file_name".into()
                    }
                    SalesOnSupplierOnly => {
                        let s = self.some_good_relation(false, |_| true);
                        m.insert("relation".into(), json!(s.id));
                        "relation".into()
                    }
                    PurchaseOnCustomerOnly => {
                        let c = self.some_good_relation(true, |_| true);
                        m.insert("relation".into(), json!(c.id));
                        "relation".into()
                    }
                    UnknownRelation => {
                        m.insert("relation".into(), json!("crm-does-not-exist-4711"));
                        "relation".into()
                    }
                    UnknownProject => {
                        line_mut(&mut m, li).insert("project".into(), json!("424242"));
                        format!("lines[{li}].project")
                    }
                    DuplicateSalesNumber | DuplicatePurchaseNumber => {
                        // Same number as a good invoice earlier in the export (same supplier for
                        // purchases), other id and other amounts.
                        let list = if sales { &self.sales } else { &self.purchases };
                        let goods: Vec<Label> = list
                            .iter()
                            .map(|(_, l)| l.clone())
                            .filter(|l| l.is_good())
                            .collect();
                        let orig =
                            goods[self.rng.below((goods.len() / 3).max(1) as u64) as usize].clone();
                        m.insert("number".into(), json!(orig.number));
                        m.insert("relation".into(), json!(orig.relation));
                        m.insert("lines".into(), json!([{"description": "Dubbel", "net_amount": "777.77", "vat_category": "hoog"}]));
                        markers.push("777.77".to_owned());
                        "number".into()
                    }
                    _ => unreachable!(),
                };
                let number = m["number"].as_str().unwrap_or("").to_owned();
                if matches!(defect, UnknownRelation) {
                    depends = Some("crm-does-not-exist-4711".into());
                }
                let mut l = Label::new(kind, id).bad(defect, path);
                l = l.also(&also);
                if let Some(d) = depends {
                    l = l.depends(d);
                }
                l.number = number;
                l.relation = m["relation"].as_str().unwrap_or("").to_owned();
                l.markers = markers;
                let _ = l0;
                let item = (Value::Object(m), l);
                let list = if sales {
                    &mut self.sales
                } else {
                    &mut self.purchases
                };
                if matches!(defect, DuplicateSalesNumber | DuplicatePurchaseNumber) {
                    let num = item.1.number.clone();
                    let rel = item.1.relation.clone();
                    Self::insert_after(
                        list,
                        &mut self.rng,
                        |x| x.is_good() && x.number == num && (sales || x.relation == rel),
                        item,
                    );
                } else {
                    Self::insert_random(list, &mut self.rng, item);
                }
            }
        }
        // Invoices on bad relations and bad projects: bad too, naming the dependency.
        for (taken, (rid, defect)) in bad_rels.iter().enumerate() {
            if taken >= self.cfg.dependent_bad {
                break;
            }
            let customer = self
                .relations
                .iter()
                .find(|(_, l)| &l.id == rid)
                .map(|(_, l)| l.relation_kind == "customer")
                .unwrap();
            let kind = if customer {
                RecordKind::SalesInvoice
            } else {
                RecordKind::PurchaseInvoice
            };
            let fake = RelInfo {
                id: rid.clone(),
                customer,
                country: Country::Nl,
                has_vat: true,
            };
            let id = format!("dep-{rid}");
            let (mut m, _) = self.good_invoice(kind, id.clone(), &fake, false);
            strip_projects(&mut m);
            let mut l = Label::new(kind, id)
                .bad(DependsOnBadRelation, "relation")
                .depends(rid.clone());
            l.number = m["number"].as_str().unwrap().to_owned();
            l.relation = rid.clone();
            let _ = defect;
            let list = if customer {
                &mut self.sales
            } else {
                &mut self.purchases
            };
            Self::insert_random(list, &mut self.rng, (Value::Object(m), l));
        }
        for (pid, number, defect) in bad_projects {
            if !matches!(defect, ProjectDescriptionEmpty | ProjectDescriptionTooLong) {
                continue;
            }
            let rel = self.some_good_relation(true, |r| r.country == Country::Nl);
            let id = format!("dep-{pid}");
            let (mut m, _) = self.good_invoice(RecordKind::SalesInvoice, id.clone(), &rel, false);
            strip_projects(&mut m);
            put_project_on_first_line(&mut m, number);
            let mut l = Label::new(RecordKind::SalesInvoice, id)
                .bad(DependsOnBadProject, "lines[0].project")
                .also(&["project".to_owned()])
                .depends(pid.clone());
            l.number = m["number"].as_str().unwrap().to_owned();
            l.relation = rel.id.clone();
            l.projects = vec![number.clone()];
            Self::insert_random(&mut self.sales, &mut self.rng, (Value::Object(m), l));
        }
    }

    fn finish(self) -> Export {
        let mut labels = Vec::new();
        let mut doc = Map::new();
        for (key, list) in [
            ("relations", self.relations),
            ("projects", self.projects),
            ("sales_invoices", self.sales),
            ("purchase_invoices", self.purchases),
        ] {
            let mut arr = Vec::new();
            for (i, (v, mut l)) in list.into_iter().enumerate() {
                l.index = i;
                arr.push(v);
                labels.push(l);
            }
            doc.insert(key.into(), Value::Array(arr));
        }
        doc.insert("archived_relations".into(), json!([]));
        Export {
            json: Value::Object(doc),
            labels,
            current_year: self.cfg.current_year,
        }
    }
}

fn line_mut(m: &mut Map<String, Value>, li: usize) -> &mut Map<String, Value> {
    m.get_mut("lines").unwrap().as_array_mut().unwrap()[li]
        .as_object_mut()
        .unwrap()
}

fn strip_projects(m: &mut Map<String, Value>) {
    if let Some(lines) = m.get_mut("lines").and_then(Value::as_array_mut) {
        for l in lines {
            if let Some(o) = l.as_object_mut() {
                o.remove("project");
            }
        }
    }
}

fn put_project_on_first_line(m: &mut Map<String, Value>, number: &str) {
    if let Some(first) = m
        .get_mut("lines")
        .and_then(Value::as_array_mut)
        .and_then(|a| a.first_mut())
        .and_then(Value::as_object_mut)
    {
        first.insert("project".into(), json!(number));
    }
}

fn spaced(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Generate an export.
pub fn generate(cfg: Config) -> Export {
    let mut b = Builder::new(cfg);
    b.gen_relations();
    b.gen_projects();
    let bad_rels = b.bad_relations();
    let bad_projects = b.bad_projects();
    b.gen_invoices();
    b.bad_invoices(&bad_rels, &bad_projects);
    let e = b.finish();
    sanity(&e);
    e
}

/// Invariants of the generator itself.
fn sanity(e: &Export) {
    // Every defect class listed at least once.
    let seen: BTreeSet<Defect> = e.labels.iter().filter_map(Label::defect).collect();
    assert!(seen.len() >= 50, "defect classes: {}", seen.len());
    // Good invoices refer to good relations of the right kind and to good active projects.
    let good_rel: BTreeMap<&str, &str> = e
        .labels
        .iter()
        .filter(|l| l.kind == RecordKind::Relation && l.is_good())
        .map(|l| (l.id.as_str(), l.relation_kind.as_str()))
        .collect();
    let good_proj: BTreeSet<&str> = e
        .labels
        .iter()
        .filter(|l| l.kind == RecordKind::Project && l.is_good() && l.active)
        .map(|l| l.number.as_str())
        .collect();
    for l in e.good() {
        match l.kind {
            RecordKind::SalesInvoice => assert_eq!(
                good_rel.get(l.relation.as_str()),
                Some(&"customer"),
                "{}",
                l.id
            ),
            RecordKind::PurchaseInvoice => assert_eq!(
                good_rel.get(l.relation.as_str()),
                Some(&"supplier"),
                "{}",
                l.id
            ),
            _ => {}
        }
        for p in &l.projects {
            assert!(good_proj.contains(p.as_str()), "{} uses project {p}", l.id);
        }
    }
    // Duplicates come after their original.
    for l in e.bad() {
        if l.defect() == Some(Defect::DuplicateRelationId) {
            let first = e
                .labels
                .iter()
                .find(|x| x.kind == RecordKind::Relation && x.id == l.id)
                .unwrap();
            assert!(first.is_good() && first.index < l.index);
        }
    }
}
