//! Pre-flight validation: **every** problem of a record at once, before anything is sent.
//!
//! Each [`Problem`] names the record ([`RecordRef`]), the field path inside it
//! (`visit_address.postcode`, `lines[2].vat_category`) and a typed [`ProblemKind`]. The checks
//! mirror SnelStart's own refusals (the error code is mentioned per kind) plus the rules of the
//! [`MappingConfig`], so a record that passes is not refused for its content.
//!
//! Relations and projects: [`relation`], [`project`]. Invoices are checked while planning the
//! booking ([`crate::booking::plan_sales_invoice`], [`crate::booking::plan_purchase_invoice`]);
//! [`sales_invoice`] and [`purchase_invoice`] return just the problems.

use std::fmt;

use crm_model::{
    Address, CountryCode, CrmId, Money, Postcode, Project, PurchaseInvoice, Relation, RelationKind,
    SalesInvoice, VatCategory,
};
use serde::Serialize;

use crate::config::{
    BothKindsPolicy, ChartOfAccounts, LineVatKind, LongNamePolicy, MappingConfig, NameSource,
    RelatiecodePolicy,
};
use crate::contacts::choose_contact;
use crate::text::{char_len, non_blank};

/// SnelStart's field limits used by pre-flight and conversion (from the vendor's error list).
pub mod limits {
    /// Relation `naam` (REL-0007 for empty; longer is refused by model validation).
    pub const NAAM: usize = 50;
    /// Address `straat` (REL-0020/0025).
    pub const STRAAT: usize = 50;
    /// Address `postcode` (REL-0021/0026).
    pub const POSTCODE: usize = 25;
    /// Address `plaats` (REL-0022/0027).
    pub const PLAATS: usize = 50;
    /// Address `contactpersoon` (REL-0023/0028).
    pub const CONTACTPERSOON: usize = 50;
    /// `telefoon` and `mobieleTelefoon` (REL-0012/0013).
    pub const TELEFOON: usize = 25;
    /// `email` (REL-0061).
    pub const EMAIL: usize = 250;
    /// `websiteUrl`.
    pub const WEBSITE: usize = 100;
    /// `bic` (REL-0010).
    pub const BIC: usize = 15;
    /// Relation `krediettermijn` range (REL-0003).
    pub const KREDIETTERMIJN: std::ops::RangeInclusive<i32> = -365..=1000;
    /// Booking `factuurnummer` (BOE-0058).
    pub const FACTUURNUMMER: usize = 25;
    /// Booking and line `omschrijving` (BOE-0071).
    pub const OMSCHRIJVING: usize = 250;
    /// Sales booking `betalingstermijn`.
    pub const BETALINGSTERMIJN: std::ops::RangeInclusive<i32> = 0..=999;
    /// Kostenplaats `omschrijving` (KPL-0005).
    pub const KOSTENPLAATS_OMSCHRIJVING: usize = 50;
    /// Attachment size (BLG-0006); 10 MB read as 10,000,000 bytes, the stricter reading.
    pub const ATTACHMENT_BYTES: usize = 10_000_000;
}

/// The kind of CRM record a problem belongs to (defined in `crm-model`, re-exported here).
pub use crm_model::RecordKind;

/// Which record a problem belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RecordRef {
    /// Kind of record.
    pub kind: RecordKind,
    /// The CRM id.
    pub id: CrmId,
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            RecordKind::Relation => "relation",
            RecordKind::Project => "project",
            RecordKind::SalesInvoice => "sales invoice",
            RecordKind::PurchaseInvoice => "purchase invoice",
        };
        write!(f, "{kind} {}", self.id)
    }
}

/// What is wrong (see [`Problem`] for where).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// A required value is empty (e.g. the name: REL-0007; a filled visiting address needs
    /// street, postcode and city: REL-0060).
    Required,
    /// Longer than SnelStart allows.
    TooLong {
        /// The limit in characters.
        max: usize,
        /// The actual length.
        actual: usize,
    },
    /// Not a Dutch postcode, on an address in the Netherlands.
    InvalidPostcode {
        /// The value as given.
        value: String,
    },
    /// The VAT number's country differs from the visiting address country (REL-0087).
    VatNumberCountryMismatch {
        /// The VAT number's prefix.
        vat_country: String,
        /// The visiting address country.
        address_country: String,
    },
    /// A relation that is both customer and supplier, with [`BothKindsPolicy::Reject`].
    BothKindsRefused,
    /// [`RelatiecodePolicy::FromCrmNumber`] but the relation has no number.
    RelatiecodeMissing,
    /// The CRM number cannot be a relatiecode (digits only, 1..=2147483647).
    RelatiecodeInvalid {
        /// The value as given.
        value: String,
    },
    /// A number of days outside SnelStart's range.
    OutOfRange {
        /// The value.
        value: i64,
        /// Lowest allowed.
        min: i64,
        /// Highest allowed.
        max: i64,
    },
    /// Due date before the invoice date.
    DueDateBeforeInvoiceDate,
    /// Both a due date and a payment term, and they disagree.
    DueDateTermMismatch {
        /// Days from invoice date to due date.
        due_date_days: i64,
        /// The stated term.
        term_days: i32,
    },
    /// An invoice without lines (BOE-0023), or whose lines all have amount 0 (zero lines are
    /// left out because SnelStart refuses them: BOE-0028).
    NoBookableLines,
    /// A line without net amount and without quantity × unit price.
    LineAmountMissing,
    /// The stated net amount differs from quantity × unit price.
    LineAmountMismatch {
        /// The stated net amount.
        stated: Money,
        /// quantity × unit price, rounded to cents.
        computed: Money,
    },
    /// Reverse charge together with another VAT category in one booking (BOE-0062).
    VerlegdMixedWithOtherVat {
        /// One of the other categories present.
        other: VatCategory,
    },
    /// No ledger rule for this (category, VAT) pair.
    NoLedger {
        /// The category looked up.
        category: String,
        /// The VAT category.
        vat: VatCategory,
    },
    /// The ledger does not exist in the administration (BOE-0037).
    LedgerNotFound {
        /// The ledger number.
        ledger: u32,
    },
    /// The ledger is inactive (BOE-0008).
    LedgerInactive {
        /// The ledger number.
        ledger: u32,
    },
    /// The line's VAT kind is not allowed on its ledger (BOE-0082).
    VatKindNotAllowed {
        /// The ledger number.
        ledger: u32,
        /// The line's `btwSoort`.
        line: LineVatKind,
    },
    /// The ledger requires a kostenplaats and the line has no project (BOE-0022).
    CostCentreRequired {
        /// The ledger number.
        ledger: u32,
    },
    /// The project number gives no kostenplaats number under the configured rule.
    ProjectNotMappable {
        /// The project number.
        project: String,
    },
    /// The kostenplaats does not exist (yet) in the administration (BOE-0019): sync the
    /// project first.
    CostCentreNotFound {
        /// The kostenplaats number.
        nummer: u32,
    },
    /// The kostenplaats is inactive (BOE-0026).
    CostCentreInactive {
        /// The kostenplaats number.
        nummer: u32,
    },
    /// A country SnelStart's land list does not have (REL-0056).
    UnknownCountry {
        /// The ISO code.
        code: String,
    },
    /// An attachment without content (BLG-0008).
    AttachmentEmpty,
    /// An attachment over 10 MB (BLG-0006).
    AttachmentTooLarge {
        /// Its size in bytes.
        bytes: usize,
    },
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Required => f.write_str("is required"),
            Self::TooLong { max, actual } => {
                write!(f, "is {actual} characters, SnelStart allows {max}")
            }
            Self::InvalidPostcode { value } => {
                write!(f, "{value:?} is not a Dutch postcode (1234 AB)")
            }
            Self::VatNumberCountryMismatch {
                vat_country,
                address_country,
            } => write!(
                f,
                "VAT number is from {vat_country} but the visiting address is in {address_country}"
            ),
            Self::BothKindsRefused => f.write_str(
                "is both customer and supplier, which SnelStart refuses (REL-0065) and the mapping rejects",
            ),
            Self::RelatiecodeMissing => {
                f.write_str("is needed: the relatiecode comes from the CRM number")
            }
            Self::RelatiecodeInvalid { value } => write!(
                f,
                "{value:?} cannot be a relatiecode (digits only, 1..=2147483647)"
            ),
            Self::OutOfRange { value, min, max } => {
                write!(f, "{value} is outside {min}..={max}")
            }
            Self::DueDateBeforeInvoiceDate => f.write_str("is before the invoice date"),
            Self::DueDateTermMismatch {
                due_date_days,
                term_days,
            } => write!(
                f,
                "due date is {due_date_days} days after the invoice date but the term is {term_days} days"
            ),
            Self::NoBookableLines => f.write_str("has no line with an amount"),
            Self::LineAmountMissing => f.write_str("needs a net amount or quantity and unit price"),
            Self::LineAmountMismatch { stated, computed } => write!(
                f,
                "net amount {stated} differs from quantity x unit price {computed}"
            ),
            Self::VerlegdMixedWithOtherVat { other } => write!(
                f,
                "reverse charge (verlegd) cannot share a booking with {other} (BOE-0062)"
            ),
            Self::NoLedger { category, vat } => {
                write!(f, "no ledger configured for category {category:?} with VAT {vat}")
            }
            Self::LedgerNotFound { ledger } => write!(f, "ledger {ledger} does not exist"),
            Self::LedgerInactive { ledger } => write!(f, "ledger {ledger} is inactive"),
            Self::VatKindNotAllowed { ledger, line } => {
                write!(f, "ledger {ledger} does not allow btwSoort {line:?}")
            }
            Self::CostCentreRequired { ledger } => {
                write!(f, "ledger {ledger} requires a project (kostenplaats)")
            }
            Self::ProjectNotMappable { project } => {
                write!(f, "project {project:?} gives no kostenplaats number")
            }
            Self::CostCentreNotFound { nummer } => {
                write!(f, "kostenplaats {nummer} does not exist (sync the project first)")
            }
            Self::CostCentreInactive { nummer } => write!(f, "kostenplaats {nummer} is inactive"),
            Self::UnknownCountry { code } => write!(f, "country {code} is not in SnelStart's land list"),
            Self::AttachmentEmpty => f.write_str("is empty"),
            Self::AttachmentTooLarge { bytes } => {
                write!(f, "is {bytes} bytes, SnelStart allows 10 MB")
            }
        }
    }
}

/// One problem: which record, which field, what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// The record.
    pub record: RecordRef,
    /// Field path inside the record, e.g. `lines[2].vat_category`.
    pub path: String,
    /// What is wrong.
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.record, self.path, self.kind)
    }
}

/// All problems of one record; the error of a conversion. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// `Err` with the problems when there are any, else `Ok(value)`.
    pub(crate) fn check<T>(problems: Vec<Problem>, value: impl FnOnce() -> T) -> Result<T, Self> {
        if problems.is_empty() {
            Ok(value())
        } else {
            Err(Self(problems))
        }
    }

    /// Iterates over the problems.
    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.0.iter()
    }

    /// The problems, in the order the fields were checked.
    pub fn as_slice(&self) -> &[Problem] {
        &self.0
    }

    /// The problems.
    pub fn into_vec(self) -> Vec<Problem> {
        self.0
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false (kept for API symmetry with `len`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when some problem has this path.
    pub fn has_path(&self, path: &str) -> bool {
        self.0.iter().any(|p| p.path == path)
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} problem(s)", self.0.len())?;
        for p in &self.0 {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

impl<'a> IntoIterator for &'a Problems {
    type Item = &'a Problem;
    type IntoIter = std::slice::Iter<'a, Problem>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Collects problems for one record.
pub(crate) struct Collector {
    record: RecordRef,
    pub(crate) problems: Vec<Problem>,
}

impl Collector {
    pub(crate) fn new(kind: RecordKind, id: &CrmId) -> Self {
        Self {
            record: RecordRef {
                kind,
                id: id.clone(),
            },
            problems: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, path: impl Into<String>, kind: ProblemKind) {
        self.problems.push(Problem {
            record: self.record.clone(),
            path: path.into(),
            kind,
        });
    }

    pub(crate) fn max_len(&mut self, path: impl Into<String>, value: &str, max: usize) {
        let actual = char_len(value);
        if actual > max {
            self.push(path, ProblemKind::TooLong { max, actual });
        }
    }
}

/// The SnelStart `naam` source text for a relation under the configuration.
pub(crate) fn relation_name<'a>(relation: &'a Relation, config: &MappingConfig) -> &'a str {
    match config.fields.name_source {
        NameSource::LegalName => relation.legal_name.trim(),
        NameSource::TradeName => {
            non_blank(relation.trade_name.as_deref()).unwrap_or_else(|| relation.legal_name.trim())
        }
    }
}

/// Parses a CRM number into a relatiecode, adding `offset`.
pub(crate) fn relatiecode_from(number: &str, offset: u32) -> Option<i32> {
    let t = number.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = t.parse().ok()?;
    let code = n.checked_add(i64::from(offset))?;
    i32::try_from(code).ok().filter(|c| *c >= 1)
}

/// Checks a relation; empty when it converts cleanly.
pub fn relation(relation: &Relation, config: &MappingConfig) -> Vec<Problem> {
    let mut c = Collector::new(RecordKind::Relation, &relation.id);

    let name = relation_name(relation, config);
    let name_path = match config.fields.name_source {
        NameSource::TradeName if non_blank(relation.trade_name.as_deref()).is_some() => {
            "trade_name"
        }
        _ => "legal_name",
    };
    if name.is_empty() {
        c.push(name_path, ProblemKind::Required);
    } else if config.fields.long_name == LongNamePolicy::Reject {
        c.max_len(name_path, name, limits::NAAM);
    }

    if relation.kind == RelationKind::Both && config.both_kinds == BothKindsPolicy::Reject {
        c.push("kind", ProblemKind::BothKindsRefused);
    }

    if let RelatiecodePolicy::FromCrmNumber {
        fallback_to_snelstart,
    } = config.relatiecode
    {
        match non_blank(relation.number.as_deref()) {
            None if !fallback_to_snelstart => c.push("number", ProblemKind::RelatiecodeMissing),
            None => {}
            Some(number) => {
                let offset = match config.both_kinds {
                    BothKindsPolicy::TwoRelations {
                        supplier_relatiecode_offset,
                    } if relation.kind == RelationKind::Both => supplier_relatiecode_offset,
                    _ => 0,
                };
                if relatiecode_from(number, offset).is_none() {
                    c.push(
                        "number",
                        ProblemKind::RelatiecodeInvalid {
                            value: number.to_owned(),
                        },
                    );
                }
            }
        }
    }

    if let Some(address) = &relation.visit_address {
        check_address(&mut c, "visit_address", address, true);
    }
    if let Some(address) = &relation.postal_address {
        check_address(&mut c, "postal_address", address, false);
    }

    if let (Some(vat), Some(address)) = (&relation.vat_number, &relation.visit_address)
        && !vat_country_matches(vat.country(), address.country)
    {
        c.push(
            "vat_number",
            ProblemKind::VatNumberCountryMismatch {
                vat_country: vat.country().to_owned(),
                address_country: address.country.to_string(),
            },
        );
    }

    let choice = choose_contact(&relation.contacts, &config.contacts);
    if let Some(kept) = choice.kept {
        let index = relation
            .contacts
            .iter()
            .position(|x| std::ptr::eq(x, kept))
            .unwrap_or_default();
        if config.fields.long_name == LongNamePolicy::Reject {
            c.max_len(
                format!("contacts[{index}].name"),
                kept.name.trim(),
                limits::CONTACTPERSOON,
            );
        }
        if relation.email.is_none()
            && config.contacts.email_fallback
            && let Some(email) = &kept.email
        {
            c.max_len(
                format!("contacts[{index}].email"),
                &email.to_string(),
                limits::EMAIL,
            );
        }
        if relation.phone.is_none()
            && config.contacts.phone_fallback
            && let Some(phone) = &kept.phone
        {
            c.max_len(
                format!("contacts[{index}].phone"),
                phone.trim(),
                limits::TELEFOON,
            );
        }
    }

    if let Some(email) = &relation.email {
        c.max_len("email", &email.to_string(), limits::EMAIL);
    }
    if let Some(phone) = &relation.phone {
        c.max_len("phone", phone.trim(), limits::TELEFOON);
    }
    if let Some(website) = non_blank(relation.website.as_deref()) {
        let extra = if config.fields.website_add_scheme && !website.contains("://") {
            "https://".len()
        } else {
            0
        };
        let actual = char_len(website) + extra;
        if actual > limits::WEBSITE {
            c.push(
                "website",
                ProblemKind::TooLong {
                    max: limits::WEBSITE,
                    actual,
                },
            );
        }
    }
    if let Some(bic) = &relation.bic {
        c.max_len("bic", bic.trim(), limits::BIC);
    }
    let term = relation
        .payment_term_days
        .or(config.fields.default_payment_term_days);
    if let Some(term) = term
        && !limits::KREDIETTERMIJN.contains(&term)
    {
        c.push(
            "payment_term_days",
            ProblemKind::OutOfRange {
                value: i64::from(term),
                min: i64::from(*limits::KREDIETTERMIJN.start()),
                max: i64::from(*limits::KREDIETTERMIJN.end()),
            },
        );
    }
    c.problems
}

/// `EL` is Greece's VAT prefix (ISO `GR`), `XI` Northern Ireland's (ISO `GB`).
fn vat_country_matches(vat_country: &str, address: CountryCode) -> bool {
    let address = address.as_str();
    vat_country == address
        || (vat_country == "EL" && address == "GR")
        || (vat_country == "XI" && address == "GB")
}

/// The `straat` SnelStart gets: street, house number and addition joined with spaces
/// (`Dorpsstraat 12 A`), as SnelStart has no separate house-number field.
pub(crate) fn joined_street(address: &Address) -> String {
    [
        Some(address.street.as_str()),
        address.house_number.as_deref(),
        address.house_number_addition.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ")
}

/// The postcode SnelStart gets: `1234 AB` for Dutch addresses, else trimmed as given.
pub(crate) fn printed_postcode(address: &Address) -> Option<String> {
    let raw = non_blank(address.postcode.as_deref())?;
    if address.country == CountryCode::NL {
        raw.parse::<Postcode>()
            .map(|p| p.to_string())
            .ok()
            .or_else(|| Some(raw.to_owned()))
    } else {
        Some(raw.to_owned())
    }
}

fn check_address(c: &mut Collector, path: &str, address: &Address, complete: bool) {
    if address.is_blank() {
        return;
    }
    let street = joined_street(address);
    if complete {
        // REL-0060: a visiting address with any field filled needs street, postcode and city.
        if address.street.trim().is_empty() {
            c.push(format!("{path}.street"), ProblemKind::Required);
        }
        if non_blank(address.postcode.as_deref()).is_none() {
            c.push(format!("{path}.postcode"), ProblemKind::Required);
        }
        if address.city.trim().is_empty() {
            c.push(format!("{path}.city"), ProblemKind::Required);
        }
    }
    c.max_len(format!("{path}.street"), &street, limits::STRAAT);
    c.max_len(format!("{path}.city"), address.city.trim(), limits::PLAATS);
    if let Some(raw) = non_blank(address.postcode.as_deref()) {
        if address.country == CountryCode::NL && raw.parse::<Postcode>().is_err() {
            c.push(
                format!("{path}.postcode"),
                ProblemKind::InvalidPostcode {
                    value: raw.to_owned(),
                },
            );
        }
        c.max_len(format!("{path}.postcode"), raw, limits::POSTCODE);
    }
}

/// Checks a project; empty when it converts cleanly.
pub fn project(project: &Project, config: &MappingConfig) -> Vec<Problem> {
    let mut c = Collector::new(RecordKind::Project, &project.id);
    if project.number.trim().is_empty() {
        c.push("number", ProblemKind::Required);
    } else if config.kostenplaats_nummer(&project.number).is_none() {
        c.push(
            "number",
            ProblemKind::ProjectNotMappable {
                project: project.number.clone(),
            },
        );
    }
    if config.fields.long_name == LongNamePolicy::Reject {
        c.max_len(
            "description",
            project.description.trim(),
            limits::KOSTENPLAATS_OMSCHRIJVING,
        );
    }
    c.problems
}

/// Checks a sales invoice or credit note (with the chart of accounts when given: ledgers,
/// VAT kinds and cost centres); empty when it converts cleanly.
pub fn sales_invoice(
    invoice: &SalesInvoice,
    config: &MappingConfig,
    chart: Option<&ChartOfAccounts>,
) -> Vec<Problem> {
    crate::booking::plan_sales_invoice(invoice, config, chart)
        .err()
        .map(Problems::into_vec)
        .unwrap_or_default()
}

/// Checks a purchase invoice like [`sales_invoice`].
pub fn purchase_invoice(
    invoice: &PurchaseInvoice,
    config: &MappingConfig,
    chart: Option<&ChartOfAccounts>,
) -> Vec<Problem> {
    crate::booking::plan_purchase_invoice(invoice, config, chart)
        .err()
        .map(Problems::into_vec)
        .unwrap_or_default()
}
