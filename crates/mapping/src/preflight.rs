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
//!
//! Policies of the [`MappingConfig`] that change or derive a value do not make problems but
//! [`Notice`]s; see [`crate::notices`].
//!
//! # Rules, and the SnelStart refusal each one prevents
//!
//! | rule | path | [`ProblemKind`] | SnelStart |
//! |---|---|---|---|
//! | no control characters (NUL, ESC, CR/LF, …) in any text; `memo` may hold line breaks and tabs | the field | [`ControlCharacter`](ProblemKind::ControlCharacter) | stored corrupt or refused |
//! | name required, ≤ 50 ([`LongNamePolicy`]) | `legal_name` / `trade_name` | [`Required`](ProblemKind::Required), [`TooLong`](ProblemKind::TooLong) | REL-0007 |
//! | both customer and supplier ([`BothKindsPolicy::Reject`]) | `kind` | [`BothKindsRefused`](ProblemKind::BothKindsRefused) | REL-0065 |
//! | relatiecode digits, 1..=2147483647 | `number` | [`RelatiecodeMissing`](ProblemKind::RelatiecodeMissing), [`RelatiecodeInvalid`](ProblemKind::RelatiecodeInvalid) | REL-0008 |
//! | visiting address all or nothing; lengths; Dutch postcode | `visit_address.*`, `postal_address.*` | [`Required`](ProblemKind::Required), [`TooLong`](ProblemKind::TooLong), [`InvalidPostcode`](ProblemKind::InvalidPostcode) | REL-0060, REL-0020..0028 |
//! | country known (at conversion) | `*_address.country` | [`UnknownCountry`](ProblemKind::UnknownCountry) | REL-0055/0056 |
//! | VAT prefix matches the visiting address | `vat_number` | [`VatNumberCountryMismatch`](ProblemKind::VatNumberCountryMismatch) | REL-0087 |
//! | VAT id without prefix under `fields.vat_without_prefix = "reject"` | `vat_number` | [`VatPrefixMissing`](ProblemKind::VatPrefixMissing) | (policy) |
//! | a KvK number with a restored leading zero is never written | `kvk_number` | [`KvkLeadingZeroRestored`](ProblemKind::KvkLeadingZeroRestored) | REL-0006, or a wrong number |
//! | contact name ≤ 50, e-mail ≤ 250, phone ≤ 25 | `contacts[i].*`, `email`, `phone` | [`TooLong`](ProblemKind::TooLong) | REL-0023/0028, REL-0085, REL-0013 |
//! | website a valid http(s) URL, ≤ 100 | `website` | [`InvalidUrl`](ProblemKind::InvalidUrl), [`TooLong`](ProblemKind::TooLong) | REL-0015 |
//! | bic of 8 or 11 characters (ISO 9362 shape) | `bic` | [`InvalidBic`](ProblemKind::InvalidBic) | REL-0010 |
//! | krediettermijn −365..=1000 | `payment_term_days` | [`OutOfRange`](ProblemKind::OutOfRange) | REL-0003 |
//! | project number gives a kostenplaats nummer 1..=999999999 | `number` | [`Required`](ProblemKind::Required), [`ProjectNotMappable`](ProblemKind::ProjectNotMappable), [`OutOfRange`](ProblemKind::OutOfRange) | KPL-0006, KPL-0007 |
//! | project description required (never replaced by the number), ≤ 50 | `description` | [`Required`](ProblemKind::Required), [`TooLong`](ProblemKind::TooLong) | KPL-0004, KPL-0005 |
//! | factuurnummer 1..=25 | `number` | [`Required`](ProblemKind::Required), [`TooLong`](ProblemKind::TooLong) | BOE-0058 |
//! | euro only (absent means EUR) | `currency` | [`UnsupportedCurrency`](ProblemKind::UnsupportedCurrency) | booked in the wrong currency |
//! | date not more than 5 years before the current financial year | `date` | [`DateTooOld`](ProblemKind::DateTooOld) | BOE-0033 |
//! | due date not before the invoice date (sales and purchases); term agrees | `due_date`, `payment_term_days` | [`DueDateBeforeInvoiceDate`](ProblemKind::DueDateBeforeInvoiceDate), [`DueDateTermMismatch`](ProblemKind::DueDateTermMismatch), [`OutOfRange`](ProblemKind::OutOfRange) | — |
//! | at least one line | `lines` | [`NoBookableLines`](ProblemKind::NoBookableLines) | BOE-0023 |
//! | no zero line (never dropped silently) | `lines[i]` | [`ZeroAmountLine`](ProblemKind::ZeroAmountLine) | BOE-0028 |
//! | amounts below 10¹¹ euro, quantities below 10⁹ (no overflow, ever) | `lines[i].*`, `lines` | [`AmountTooLarge`](ProblemKind::AmountTooLarge) | — |
//! | a line's amount given, and consistent | `lines[i].net_amount` | [`LineAmountMissing`](ProblemKind::LineAmountMissing), [`LineAmountMismatch`](ProblemKind::LineAmountMismatch) | BOE-0039 |
//! | credit-note sign convention (`invoices.credit_note_sign`) | `lines[i].quantity`, `lines` | [`NegativeQuantity`](ProblemKind::NegativeQuantity), [`TotalSign`](ProblemKind::TotalSign) | booked with the wrong sign |
//! | verlegd never mixed | `lines[i].vat_category` | [`VerlegdMixedWithOtherVat`](ProblemKind::VerlegdMixedWithOtherVat) | BOE-0062 |
//! | ledger configured, exists, active, allows the VAT kind | `lines[i].category`, `lines[i].vat_category` | [`NoLedger`](ProblemKind::NoLedger), [`LedgerNotFound`](ProblemKind::LedgerNotFound), [`LedgerInactive`](ProblemKind::LedgerInactive), [`VatKindNotAllowed`](ProblemKind::VatKindNotAllowed) | BOE-0037, BOE-0008, BOE-0082 |
//! | cost centre where required, mappable, known, active | `lines[i].project` | [`CostCentreRequired`](ProblemKind::CostCentreRequired), [`ProjectNotMappable`](ProblemKind::ProjectNotMappable), [`CostCentreNotFound`](ProblemKind::CostCentreNotFound), [`CostCentreInactive`](ProblemKind::CostCentreInactive) | BOE-0022, BOE-0019, BOE-0026 |
//! | booking and line description ≤ 250 | `description`, `lines[i].description` | [`TooLong`](ProblemKind::TooLong) | BOE-0071 |
//! | attachment file name 1..=255, none of `\ / : * ? " < > \|`, no control characters | `attachments[i].file_name` | [`Required`](ProblemKind::Required), [`TooLong`](ProblemKind::TooLong), [`InvalidFileNameCharacter`](ProblemKind::InvalidFileNameCharacter), [`ControlCharacter`](ProblemKind::ControlCharacter) | BLG-0007, BLG-0017, BLG-0016 |
//! | attachment not empty, at most 10 MB | `attachments[i].content` | [`AttachmentEmpty`](ProblemKind::AttachmentEmpty), [`AttachmentTooLarge`](ProblemKind::AttachmentTooLarge) | BLG-0008, BLG-0006 |
//!
//! Attachments are checked with the invoice, so a booking is never written when one of its
//! attachments would be refused. Not checked here, because they need SnelStart's state: the
//! relation's kind (BOE-0060, BOE-0003), uniqueness (REL-0008, KPL-0008, BOE-0021) and locked
//! periods (BOE-0042, BOE-0051).

use std::fmt;

use crm_model::{
    Address, Contact, CountryCode, CrmId, InvoiceKind, Money, Postcode, Project, PurchaseInvoice,
    Relation, RelationKind, SalesInvoice, VatCategory,
};
use rust_decimal::Decimal;
use serde::Serialize;

pub use crate::booking::BookingContext;
use crate::config::{
    BothKindsPolicy, ChartOfAccounts, CreditNoteSign, LineVatKind, LongNamePolicy, MappingConfig,
    NameSource, RelatiecodePolicy, VatWithoutPrefixPolicy,
};
use crate::contacts::choose_contact;
use crate::notices::Notice;
use crate::text::{char_len, control_char, control_char_multiline, non_blank, truncate_chars};

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
    /// Attachment file name (BLG-0017; SnelStart states no limit, 255 is the file systems').
    pub const FILE_NAME: usize = 255;
    /// Kostenplaats `nummer` (KPL-0007).
    pub const KOSTENPLAATS_NUMMER: std::ops::RangeInclusive<u64> = 1..=999_999_999;
    /// Amounts (unit price, net amount, line and invoice totals) must stay below this in
    /// magnitude: 10¹¹ euro (SnelStart's own bound for money values, REF-0012), far beyond any
    /// real invoice and far from `Decimal`'s overflow.
    pub const AMOUNT: rust_decimal::Decimal =
        rust_decimal::Decimal::from_parts(0x4876_E800, 0x17, 0, false, 0);
    /// Quantities must stay below this in magnitude: 10⁹.
    pub const QUANTITY: rust_decimal::Decimal =
        rust_decimal::Decimal::from_parts(1_000_000_000, 0, 0, false, 0);
    /// A booking date may lie at most this many years before the current financial year
    /// (BOE-0033).
    pub const YEARS_BEFORE_FINANCIAL_YEAR: i32 = 5;
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
    /// street, postcode and city: REL-0060; a project's number and description: KPL-0006,
    /// KPL-0004; a factuurnummer: BOE-0058; an attachment's file name: BLG-0007).
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
    /// A number outside SnelStart's range: days of a term (REL-0003, betalingstermijn) or a
    /// kostenplaats nummer (KPL-0007).
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
    /// An invoice without lines (BOE-0023).
    NoBookableLines,
    /// A line whose amount is 0 (BOE-0028). Never left out silently: correct or remove it in
    /// the CRM.
    ZeroAmountLine,
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
    /// A control character (NUL, ESC, CR, LF, …) in a text SnelStart would store; `memo` may
    /// hold line breaks and tabs, no other text may.
    ControlCharacter {
        /// The first offending character's code point.
        code_point: u32,
    },
    /// Not a website URL SnelStart accepts (REL-0015): `http://` or `https://` and a host with
    /// a dot.
    InvalidUrl {
        /// The value as it would be written.
        value: String,
    },
    /// Not a BIC (REL-0010): 4 letters (bank), 2 letters (country), 2 letters or digits
    /// (location) and optionally 3 more (branch): 8 or 11 characters.
    InvalidBic {
        /// The value as given.
        value: String,
    },
    /// A KvK number of 7 digits whose leading zero was restored while reading: fit to match
    /// on, but a guessed digit is never written.
    KvkLeadingZeroRestored {
        /// The number as restored.
        restored: String,
    },
    /// A VAT id without its country prefix, refused by `fields.vat_without_prefix = "reject"`.
    VatPrefixMissing {
        /// The id with the inferred prefix.
        inferred: String,
    },
    /// A currency other than euro; SnelStart books in euro only.
    UnsupportedCurrency {
        /// The currency as given.
        value: String,
    },
    /// The booking date is more than 5 years before the current financial year (BOE-0033).
    DateTooOld {
        /// The administration's current financial year.
        current_financial_year: i32,
        /// The earliest year SnelStart accepts.
        earliest_year: i32,
    },
    /// A file name with a character SnelStart refuses (BLG-0016).
    InvalidFileNameCharacter {
        /// The character.
        character: char,
    },
    /// An amount or quantity beyond the sane bounds ([`limits::AMOUNT`],
    /// [`limits::QUANTITY`]); never an overflow.
    AmountTooLarge {
        /// The bound its magnitude must stay below.
        limit: Decimal,
    },
    /// A negative quantity the credit-note sign convention does not allow.
    NegativeQuantity {
        /// Invoice or credit note.
        invoice_kind: InvoiceKind,
        /// The configured convention (`invoices.credit_note_sign`).
        convention: CreditNoteSign,
    },
    /// The lines' total has a sign the kind and the convention do not allow.
    TotalSign {
        /// Invoice or credit note.
        invoice_kind: InvoiceKind,
        /// The configured convention (`invoices.credit_note_sign`).
        convention: CreditNoteSign,
        /// Σ of the lines' net amounts as written.
        total: Money,
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
            Self::NoBookableLines => {
                f.write_str("has no lines; SnelStart needs at least one (BOE-0023)")
            }
            Self::ZeroAmountLine => f.write_str(
                "has amount 0, which SnelStart refuses (BOE-0028); correct or remove the line",
            ),
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
            Self::ControlCharacter { code_point } => write!(
                f,
                "contains the control character U+{code_point:04X}, which is not written to SnelStart"
            ),
            Self::InvalidBic { value } => write!(
                f,
                "{value:?} is not a BIC (8 or 11 characters: bank, country, location, branch; REL-0010)"
            ),
            Self::InvalidUrl { value } => write!(
                f,
                "{value:?} is not a website URL SnelStart accepts (http:// or https:// and a host with a dot; REL-0015)"
            ),
            Self::KvkLeadingZeroRestored { restored } => write!(
                f,
                "has 7 digits; {restored} (leading zero restored) is used for matching, but a guessed digit is not written: correct the KvK number in the CRM"
            ),
            Self::VatPrefixMissing { inferred } => write!(
                f,
                "has no country prefix ({inferred} inferred) and fields.vat_without_prefix is \"reject\"; add the prefix in the CRM or set it to \"add_prefix\""
            ),
            Self::UnsupportedCurrency { value } => {
                write!(f, "{value:?} is not EUR; SnelStart books in euro only")
            }
            Self::DateTooOld {
                current_financial_year,
                earliest_year,
            } => write!(
                f,
                "is more than 5 years before the current financial year {current_financial_year}; SnelStart accepts {earliest_year} and later (BOE-0033)"
            ),
            Self::InvalidFileNameCharacter { character } => write!(
                f,
                "contains {character:?}; a file name may not contain \\ / : * ? \" < > | (BLG-0016)"
            ),
            Self::AmountTooLarge { limit } => write!(f, "is not below {limit} in magnitude"),
            Self::NegativeQuantity {
                invoice_kind,
                convention,
            } => match (invoice_kind, convention) {
                (InvoiceKind::CreditNote, CreditNoteSign::PositiveWithFlag) => f.write_str(
                    "is negative on a credit note, but invoices.credit_note_sign is \"positive_with_flag\" (credit notes carry positive amounts); if the CRM writes credit notes with negative amounts, set invoices.credit_note_sign = \"negative_amounts\"",
                ),
                _ => f.write_str(
                    "is negative on an invoice, but invoices.credit_note_sign is \"positive_with_flag\" (quantities are never negative): write a discount as a negative unit price or net amount, mark a credit note as kind credit_note, or set invoices.credit_note_sign = \"negative_amounts\" if the CRM writes negative quantities",
                ),
            },
            Self::TotalSign {
                invoice_kind,
                convention,
                total,
            } => match (invoice_kind, convention) {
                (InvoiceKind::CreditNote, CreditNoteSign::PositiveWithFlag) => write!(
                    f,
                    "total {total} of a credit note is negative, but invoices.credit_note_sign is \"positive_with_flag\" (credit notes carry positive amounts); if the CRM writes credit notes with negative amounts, set invoices.credit_note_sign = \"negative_amounts\""
                ),
                (InvoiceKind::CreditNote, _) => write!(
                    f,
                    "total {total} of a credit note is positive, but invoices.credit_note_sign is \"negative_amounts\" (credit notes carry negative amounts); if the CRM writes credit notes with positive amounts, set invoices.credit_note_sign = \"positive_with_flag\""
                ),
                _ => write!(
                    f,
                    "total {total} of an invoice is negative; no setting books that as an invoice: mark it as a credit note (kind credit_note) in the CRM"
                ),
            },
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

    /// The problems of a record that has some (`problems` is not empty).
    pub(crate) fn from_vec(problems: Vec<Problem>) -> Self {
        debug_assert!(!problems.is_empty());
        Self(problems)
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

/// Collects the problems and notices of one record.
pub(crate) struct Collector {
    record: RecordRef,
    pub(crate) problems: Vec<Problem>,
    pub(crate) notices: Vec<Notice>,
}

impl Collector {
    pub(crate) fn new(kind: RecordKind, id: &CrmId) -> Self {
        Self {
            record: RecordRef {
                kind,
                id: id.clone(),
            },
            problems: Vec::new(),
            notices: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, path: impl Into<String>, kind: ProblemKind) {
        self.problems.push(Problem {
            record: self.record.clone(),
            path: path.into(),
            kind,
        });
    }

    /// Records that the policy `policy` (its configuration key) changed or derived `path`.
    pub(crate) fn notice(
        &mut self,
        path: impl Into<String>,
        policy: &str,
        message: impl Into<String>,
    ) {
        self.notices.push(Notice::new(
            self.record.clone(),
            path.into(),
            policy.to_owned(),
            message.into(),
        ));
    }

    pub(crate) fn max_len(&mut self, path: impl Into<String>, value: &str, max: usize) {
        let actual = char_len(value);
        if actual > max {
            self.push(path, ProblemKind::TooLong { max, actual });
        }
    }

    /// A single-line text: no control characters.
    pub(crate) fn text(&mut self, path: impl Into<String>, value: &str) {
        if let Some(ch) = control_char(value) {
            self.push(
                path,
                ProblemKind::ControlCharacter {
                    code_point: u32::from(ch),
                },
            );
        }
    }

    /// [`text`](Self::text) for an optional field.
    pub(crate) fn opt_text(&mut self, path: impl Into<String>, value: Option<&str>) {
        if let Some(value) = value {
            self.text(path, value);
        }
    }

    /// A multi-line text (memo): line breaks and tabs allowed, no other control characters.
    pub(crate) fn multiline_text(&mut self, path: impl Into<String>, value: &str) {
        if let Some(ch) = control_char_multiline(value) {
            self.push(
                path,
                ProblemKind::ControlCharacter {
                    code_point: u32::from(ch),
                },
            );
        }
    }

    /// Applies [`LongNamePolicy`] to a name written to a field of `max` characters: the name
    /// as it is written, with a problem (reject) or a notice (truncate) when it is too long.
    pub(crate) fn fit_name(
        &mut self,
        path: &str,
        value: &str,
        max: usize,
        policy: LongNamePolicy,
        kept_in: Option<&str>,
    ) -> String {
        let actual = char_len(value);
        if actual <= max {
            return value.to_owned();
        }
        match policy {
            LongNamePolicy::Truncate => {
                let cut = truncate_chars(value, max);
                let kept =
                    kept_in.map_or_else(String::new, |w| format!("; the full text is kept in {w}"));
                self.notice(
                    path,
                    "fields.long_name",
                    format!("{actual} characters cut to {max} ({cut:?}){kept}"),
                );
                cut
            }
            _ => {
                self.push(path, ProblemKind::TooLong { max, actual });
                value.to_owned()
            }
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

/// The values of a relation as they are written, after the policies, with the problems and
/// notices found on the way. One pass serves pre-flight ([`relation`]), conversion
/// ([`crate::convert::relation_to_relaties`]) and [`crate::notices::relation`], so a policy is
/// applied in one place only.
pub(crate) struct RelationCheck<'a> {
    pub(crate) collector: Collector,
    /// The name as written to `naam` (cut under [`LongNamePolicy::Truncate`]).
    pub(crate) naam: String,
    /// The full name before any cut.
    pub(crate) full_name: &'a str,
    /// The contact SnelStart keeps, when it has a name, and its name as written.
    pub(crate) contact: Option<(&'a Contact, String)>,
    /// The memo text listing the other contacts.
    pub(crate) contact_summary: Option<String>,
    /// `email`, `telefoon`, `websiteUrl`, `btwNummer`, `kvkNummer` as written.
    pub(crate) email: Option<String>,
    pub(crate) telefoon: Option<String>,
    pub(crate) website: Option<String>,
    pub(crate) btw_nummer: Option<String>,
    pub(crate) kvk_nummer: Option<String>,
}

fn index_of(contacts: &[Contact], contact: &Contact) -> usize {
    contacts
        .iter()
        .position(|x| std::ptr::eq(x, contact))
        .unwrap_or_default()
}

/// See [`RelationCheck`].
pub(crate) fn check_relation<'a>(
    relation: &'a Relation,
    config: &MappingConfig,
) -> RelationCheck<'a> {
    let mut c = Collector::new(RecordKind::Relation, &relation.id);
    let long_name = config.fields.long_name;

    // No control characters in any text of the record.
    c.text("legal_name", &relation.legal_name);
    c.opt_text("trade_name", relation.trade_name.as_deref());
    c.opt_text("number", relation.number.as_deref());
    c.opt_text("phone", relation.phone.as_deref());
    c.opt_text("website", relation.website.as_deref());
    c.opt_text("bic", relation.bic.as_deref());
    if let Some(memo) = &relation.memo {
        c.multiline_text("memo", memo);
    }
    for (i, contact) in relation.contacts.iter().enumerate() {
        c.text(format!("contacts[{i}].name"), &contact.name);
        c.opt_text(format!("contacts[{i}].role"), contact.role.as_deref());
        c.opt_text(format!("contacts[{i}].phone"), contact.phone.as_deref());
    }

    let full_name = relation_name(relation, config);
    let name_path = match config.fields.name_source {
        NameSource::TradeName if non_blank(relation.trade_name.as_deref()).is_some() => {
            "trade_name"
        }
        _ => "legal_name",
    };
    let naam = if full_name.is_empty() {
        c.push(name_path, ProblemKind::Required);
        String::new()
    } else {
        c.fit_name(name_path, full_name, limits::NAAM, long_name, Some("memo"))
    };

    if relation.kind == RelationKind::Both {
        let written = match config.both_kinds {
            BothKindsPolicy::Reject => {
                c.push("kind", ProblemKind::BothKindsRefused);
                None
            }
            BothKindsPolicy::CustomerOnly => Some("one Klant (the supplier side is not written)"),
            BothKindsPolicy::SupplierOnly => {
                Some("one Leverancier (the customer side is not written)")
            }
            _ => Some("two relations, a Klant and a Leverancier"),
        };
        if let Some(written) = written {
            c.notice(
                "kind",
                "both_kinds",
                format!(
                    "customer and supplier in the CRM, which SnelStart refuses on one relation (REL-0065); written as {written}"
                ),
            );
        }
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

    let btw_nummer = relation.vat_number.as_ref().map(|vat| {
        if let Some(address) = &relation.visit_address
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
        if vat.prefix_inferred() {
            match config.fields.vat_without_prefix {
                VatWithoutPrefixPolicy::Reject => c.push(
                    "vat_number",
                    ProblemKind::VatPrefixMissing {
                        inferred: vat.to_string(),
                    },
                ),
                _ => c.notice(
                    "vat_number",
                    "fields.vat_without_prefix",
                    format!(
                        "written without country prefix in the CRM; written as {vat} (prefix {} inferred)",
                        vat.country()
                    ),
                ),
            }
        }
        vat.to_string()
    });

    let kvk_nummer = relation.kvk_number.as_ref().map(|kvk| {
        if kvk.leading_zero_restored() {
            c.push(
                "kvk_number",
                ProblemKind::KvkLeadingZeroRestored {
                    restored: kvk.to_string(),
                },
            );
        }
        kvk.to_string()
    });

    // The kept contact: its name on the addresses; its e-mail and phone when the relation has
    // none (a nameless contact cannot be `contactpersoon`, but its e-mail and phone still help).
    let choice = choose_contact(&relation.contacts, &config.contacts);
    let mut contact = None;
    let mut email = relation.email.as_ref().map(ToString::to_string);
    let mut email_path = "email".to_owned();
    let mut telefoon = non_blank(relation.phone.as_deref()).map(str::to_owned);
    let mut phone_path = "phone".to_owned();
    if let Some(kept) = choice.kept {
        let index = index_of(&relation.contacts, kept);
        let name = kept.name.trim();
        if !name.is_empty() {
            let written = c.fit_name(
                &format!("contacts[{index}].name"),
                name,
                limits::CONTACTPERSOON,
                long_name,
                Some("memo"),
            );
            contact = Some((kept, written));
        }
        if email.is_none()
            && config.contacts.email_fallback
            && let Some(e) = &kept.email
        {
            email = Some(e.to_string());
            email_path = format!("contacts[{index}].email");
            c.notice(
                "email",
                "contacts.email_fallback",
                format!("the relation has no e-mail; the e-mail of contacts[{index}] is written"),
            );
        }
        if telefoon.is_none()
            && config.contacts.phone_fallback
            && let Some(p) = non_blank(kept.phone.as_deref())
        {
            telefoon = Some(p.to_owned());
            phone_path = format!("contacts[{index}].phone");
            c.notice(
                "phone",
                "contacts.phone_fallback",
                format!("the relation has no phone; the phone of contacts[{index}] is written"),
            );
        }
    }
    if let Some(e) = &email {
        c.max_len(email_path, e, limits::EMAIL);
    }
    if let Some(p) = &telefoon {
        c.max_len(phone_path, p, limits::TELEFOON);
    }

    // Contacts SnelStart cannot keep: listed in memo, or named in a notice.
    let listed = if config.contacts.summarize_others_in_memo {
        config.contacts.max_listed_in_memo
    } else {
        0
    };
    for other in choice.others.iter().skip(listed) {
        let index = index_of(&relation.contacts, other);
        let (policy, why) = if config.contacts.summarize_others_in_memo {
            (
                "contacts.max_listed_in_memo",
                format!("beyond the {listed} contacts listed in memo; only counted there"),
            )
        } else {
            (
                "contacts.summarize_others_in_memo",
                "SnelStart keeps one contact and the others are not listed in memo".to_owned(),
            )
        };
        c.notice(
            format!("contacts[{index}]"),
            policy,
            format!("not written: {why}"),
        );
    }
    let contact_summary = choice.memo_summary(&config.contacts);

    let website = non_blank(relation.website.as_deref()).map(|w| {
        let written = if config.fields.website_add_scheme && !w.contains("://") {
            format!("https://{w}")
        } else {
            w.to_owned()
        };
        if !crate::text::is_web_url(&written) {
            c.push(
                "website",
                ProblemKind::InvalidUrl {
                    value: written.clone(),
                },
            );
        } else if written != w {
            c.notice(
                "website",
                "fields.website_add_scheme",
                format!("{w:?} has no scheme; written as {written:?}"),
            );
        }
        c.max_len("website", &written, limits::WEBSITE);
        written
    });

    if let Some(bic) = non_blank(relation.bic.as_deref())
        && !is_bic(bic)
    {
        c.push(
            "bic",
            ProblemKind::InvalidBic {
                value: bic.to_owned(),
            },
        );
    }
    // SnelStart keeps a credit limit for customers only (REL-0062): a relation written without
    // a customer part gets it in its memo, and the CRM hears so.
    let writes_klant = !matches!(
        (relation.kind, &config.both_kinds),
        (RelationKind::Supplier, _) | (RelationKind::Both, BothKindsPolicy::SupplierOnly)
    );
    if let Some(limit) = relation.credit_limit
        && !writes_klant
    {
        c.notice(
            "credit_limit",
            "snelstart.relatie",
            format!(
                "SnelStart keeps a credit limit for customers only (REL-0062): {limit} is written \
                 in the memo, not as kredietLimiet"
            ),
        );
    }
    let term = relation
        .payment_term_days
        .or(config.fields.default_payment_term_days);
    if relation.payment_term_days.is_none()
        && let Some(days) = config.fields.default_payment_term_days
    {
        c.notice(
            "payment_term_days",
            "fields.default_payment_term_days",
            format!("the relation has no payment term; {days} days is written"),
        );
    }
    if config.fields.postal_falls_back_to_visit
        && relation
            .postal_address
            .as_ref()
            .is_none_or(Address::is_blank)
        && relation
            .visit_address
            .as_ref()
            .is_some_and(|a| !a.is_blank())
    {
        c.notice(
            "postal_address",
            "fields.postal_falls_back_to_visit",
            "the relation has no postal address; the visiting address is written as correspondentieAdres",
        );
    }
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
    RelationCheck {
        collector: c,
        naam,
        full_name,
        contact,
        contact_summary,
        email,
        telefoon,
        website,
        btw_nummer,
        kvk_nummer,
    }
}

/// Checks a relation; empty when it converts cleanly.
pub fn relation(relation: &Relation, config: &MappingConfig) -> Vec<Problem> {
    check_relation(relation, config).collector.problems
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
    c.text(format!("{path}.street"), &address.street);
    c.opt_text(
        format!("{path}.house_number"),
        address.house_number.as_deref(),
    );
    c.opt_text(
        format!("{path}.house_number_addition"),
        address.house_number_addition.as_deref(),
    );
    c.opt_text(format!("{path}.postcode"), address.postcode.as_deref());
    c.text(format!("{path}.city"), &address.city);
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

/// The kostenplaats of a project as it is written, with its problems and notices (one pass for
/// pre-flight, conversion and notices).
pub(crate) struct ProjectCheck {
    pub(crate) collector: Collector,
    /// `nummer`, when the rule gives one in range.
    pub(crate) nummer: Option<u32>,
    /// `omschrijving` as written.
    pub(crate) omschrijving: String,
}

/// See [`ProjectCheck`].
pub(crate) fn check_project(project: &Project, config: &MappingConfig) -> ProjectCheck {
    let mut c = Collector::new(RecordKind::Project, &project.id);
    c.text("number", &project.number);
    c.text("description", &project.description);
    let mut nummer = None;
    if project.number.trim().is_empty() {
        c.push("number", ProblemKind::Required);
    } else {
        match config.kostenplaats_candidate(&project.number) {
            None => c.push(
                "number",
                ProblemKind::ProjectNotMappable {
                    project: project.number.clone(),
                },
            ),
            Some(n) if !limits::KOSTENPLAATS_NUMMER.contains(&n) => c.push(
                "number",
                ProblemKind::OutOfRange {
                    value: i64::try_from(n).unwrap_or(i64::MAX),
                    min: 1,
                    max: 999_999_999,
                },
            ),
            Some(n) => nummer = u32::try_from(n).ok(),
        }
    }
    let description = project.description.trim();
    let omschrijving = if description.is_empty() {
        // KPL-0004; never replaced by the number.
        c.push("description", ProblemKind::Required);
        String::new()
    } else {
        c.fit_name(
            "description",
            description,
            limits::KOSTENPLAATS_OMSCHRIJVING,
            config.fields.long_name,
            None,
        )
    };
    ProjectCheck {
        collector: c,
        nummer,
        omschrijving,
    }
}

/// Checks a project; empty when it converts cleanly.
pub fn project(project: &Project, config: &MappingConfig) -> Vec<Problem> {
    check_project(project, config).collector.problems
}

/// Checks a sales invoice or credit note (with the chart of accounts when given: ledgers,
/// VAT kinds and cost centres); empty when it converts cleanly.
pub fn sales_invoice(
    invoice: &SalesInvoice,
    config: &MappingConfig,
    chart: Option<&ChartOfAccounts>,
    context: &BookingContext,
) -> Vec<Problem> {
    crate::booking::plan_sales_invoice(invoice, config, chart, context)
        .err()
        .map(Problems::into_vec)
        .unwrap_or_default()
}

/// Checks a purchase invoice like [`sales_invoice`].
pub fn purchase_invoice(
    invoice: &PurchaseInvoice,
    config: &MappingConfig,
    chart: Option<&ChartOfAccounts>,
    context: &BookingContext,
) -> Vec<Problem> {
    crate::booking::plan_purchase_invoice(invoice, config, chart, context)
        .err()
        .map(Problems::into_vec)
        .unwrap_or_default()
}

/// The shape of a BIC (ISO 9362): bank (4 letters), country (2 letters), location (2 letters
/// or digits), optional branch (3 letters or digits). Case is ignored; it is written in capitals.
fn is_bic(bic: &str) -> bool {
    let b = bic.as_bytes();
    matches!(b.len(), 8 | 11)
        && b[..6].iter().all(u8::is_ascii_alphabetic)
        && b[6..].iter().all(u8::is_ascii_alphanumeric)
}
