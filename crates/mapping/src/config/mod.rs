//! The mapping configuration: one serde document (TOML or JSON) that says how CRM data becomes
//! SnelStart data.
//!
//! Sections:
//!
//! * [`FieldRules`]: which CRM field feeds which SnelStart field, defaults, and what to do with
//!   a name over SnelStart's 50 characters;
//! * [`LedgerMap`]: (revenue or cost category, [`VatCategory`]) → grootboek nummer;
//! * [`VatMap`]: [`VatCategory`] → the line's `btwSoort` and the kind of its VAT line;
//! * [`ProjectRule`]: project → kostenplaats nummer;
//! * [`InvoiceRules`]: the credit-note sign convention;
//! * [`RelatiecodePolicy`], [`BothKindsPolicy`], [`ContactRules`], [`MatchingRules`].
//!
//! Every section has defaults, so a file only needs what differs. Unknown keys are refused (a
//! typo in a mapping file must not silently fall back to a default).
//!
//! # Policies and notices
//!
//! Nothing is written to SnelStart that the CRM did not say, except through one of these
//! policies; whenever a policy changes or derives a value, the record gets a
//! [`Notice`](crate::notices::Notice) naming the field and the key below (see
//! [`crate::notices`]). The defaults are the safe choice.
//!
//! | key | values (default first) | effect |
//! |---|---|---|
//! | `fields.long_name` | `"reject"`, `"truncate"` | a name, contact name or project description over SnelStart's 50 characters is refused, or cut (notice; a relation keeps the full name in `memo`) |
//! | `fields.website_add_scheme` | `true`, `false` | `https://` is put before a website without a scheme (notice); with `false` such a website is refused (REL-0015) |
//! | `fields.vat_without_prefix` | `"add_prefix"`, `"reject"` | a VAT id the CRM wrote without its country prefix is written with the inferred prefix (notice), or refused |
//! | `fields.booking_description_prefix` | `"Factuur"` | booking `omschrijving` of an invoice without a description: `"{prefix} {number}"` (notice) |
//! | `contacts.email_fallback`, `contacts.phone_fallback` | `true`, `false` | a relation without e-mail or phone gets the kept contact's (notice) |
//! | `contacts.summarize_others_in_memo`, `contacts.max_listed_in_memo` | `true`, `10` | contacts SnelStart cannot keep are listed in `memo`; those not listed get a notice |
//! | `both_kinds.mode` | `"customer_only"`, `"supplier_only"`, `"two_relations"`, `"reject"` | a relation that is customer and supplier becomes one Klant, one Leverancier, two relations (notice), or is refused |
//! | `fields.default_payment_term_days` | none | the term of a relation without one (notice) |
//! | `fields.postal_falls_back_to_visit` | `false` | the visiting address as correspondence address when there is no postal address (notice) |
//! | `invoices.credit_note_sign` | `"positive_with_flag"`, `"negative_amounts"` | how the CRM writes credit notes; a record that contradicts it is refused, never guessed |
//!
//! SnelStart documents no length limit for a relation's `memo` (the API definition has
//! `memo: string` without `maxLength`), so memo is not cut and there is no `long_memo` policy.
//!
//! ```
//! use mapping::config::MappingConfig;
//! let toml = r#"
//! schema_version = 1
//!
//! [fields]
//! long_name = "truncate"
//!
//! [[ledgers.revenue]]
//! category = "omzet"
//! vat = "hoog"
//! ledger = 8000
//!
//! [relatiecode]
//! mode = "from_crm_number"
//! "#;
//! let config = MappingConfig::from_toml_str(toml)?;
//! assert_eq!(config.ledgers.revenue[0].ledger, 8000);
//! # Ok::<(), mapping::config::ConfigError>(())
//! ```
//!
//! [`MappingConfig::validate`] checks the structure, [`MappingConfig::validate_against`] checks
//! it against an administration's chart of accounts, [`diff`] lists what changed between two
//! versions and [`ConfigBackup`] is the export/import document.

mod backup;
mod chart;
mod defaults;
mod diff;
pub mod propose;
mod validate;

use std::collections::BTreeMap;

use crm_model::VatCategory;
use serde::{Deserialize, Serialize};

pub use backup::{BACKUP_FORMAT, BACKUP_VERSION, ConfigBackup};
pub use chart::{ChartOfAccounts, ChartReport, CostCentreInfo, LedgerInfo};
pub use diff::{ConfigChange, diff};
pub use validate::{ConfigProblem, ConfigProblemKind};

/// The schema version this crate reads and writes.
pub const CURRENT_SCHEMA_VERSION: u32 = 1;

/// Why a configuration could not be loaded, imported or accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The TOML text is not a valid configuration (the message has line and column).
    #[error("mapping configuration is not valid TOML for this schema: {0}")]
    Toml(#[from] toml::de::Error),
    /// The JSON text is not a valid configuration (the message has line and column).
    #[error("mapping configuration is not valid JSON for this schema: {0}")]
    Json(#[from] serde_json::Error),
    /// Written by a newer version of this library.
    #[error(
        "mapping configuration has schema_version {found}; this version reads up to {supported}"
    )]
    UnsupportedSchemaVersion {
        /// The version in the document.
        found: i64,
        /// The newest version this library reads.
        supported: u32,
    },
    /// A backup document that is not ours or of an unknown version.
    #[error("not a mapping backup: {0}")]
    NotABackup(String),
    /// The document parsed but breaks structural rules.
    #[error("mapping configuration has {} problem(s): {}", .0.len(), validate::summary(.0))]
    Invalid(Vec<ConfigProblem>),
    /// Serializing failed (should not happen for a valid configuration).
    #[error("could not write the mapping configuration as TOML: {0}")]
    TomlWrite(#[from] toml::ser::Error),
}

/// The complete mapping configuration. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MappingConfig {
    /// The document's schema version ([`CURRENT_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Field-level rules for relations and bookings.
    pub fields: FieldRules,
    /// Which ledger a line is booked on.
    pub ledgers: LedgerMap,
    /// How each VAT category appears in a booking.
    pub vat: VatMap,
    /// How a project becomes a kostenplaats.
    pub projects: ProjectRule,
    /// Where the relatiecode comes from.
    pub relatiecode: RelatiecodePolicy,
    /// What a relation that is both customer and supplier becomes.
    pub both_kinds: BothKindsPolicy,
    /// How many contacts become SnelStart's one.
    pub contacts: ContactRules,
    /// How invoices and credit notes are read.
    pub invoices: InvoiceRules,
    /// Thresholds of duplicate matching.
    pub matching: MatchingRules,
}

impl Default for MappingConfig {
    fn default() -> Self {
        Self {
            schema_version: CURRENT_SCHEMA_VERSION,
            fields: FieldRules::default(),
            ledgers: LedgerMap::default(),
            vat: VatMap::default(),
            projects: ProjectRule::default(),
            relatiecode: RelatiecodePolicy::default(),
            both_kinds: BothKindsPolicy::default(),
            contacts: ContactRules::default(),
            invoices: InvoiceRules::default(),
            matching: MatchingRules::default(),
        }
    }
}

impl MappingConfig {
    /// Parses a TOML document and checks its schema version and structure.
    ///
    /// # Errors
    /// [`ConfigError::Toml`] for syntax or unknown keys, [`ConfigError::UnsupportedSchemaVersion`],
    /// or [`ConfigError::Invalid`] with every structural problem.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        // Read the version first: a newer document may have keys this version does not know,
        // and "written by a newer version" is the useful message then.
        let table: toml::Table = toml::from_str(text)?;
        check_version(
            table
                .get("schema_version")
                .and_then(toml::Value::as_integer),
        )?;
        let config: Self = table.try_into()?;
        config.checked()
    }

    /// Parses a JSON document and checks its schema version and structure.
    ///
    /// # Errors
    /// As [`from_toml_str`](Self::from_toml_str), with [`ConfigError::Json`] for syntax.
    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        check_version(
            value
                .get("schema_version")
                .and_then(serde_json::Value::as_i64),
        )?;
        let config: Self = serde_json::from_value(value)?;
        config.checked()
    }

    /// The configuration as a TOML document.
    ///
    /// # Errors
    /// [`ConfigError::TomlWrite`] if TOML cannot represent a value (not expected).
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        Ok(toml::to_string_pretty(self)?)
    }

    /// The configuration as pretty-printed JSON.
    pub fn to_json_string(&self) -> String {
        // A struct of strings, numbers, maps and enums always serializes.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    fn checked(self) -> Result<Self, ConfigError> {
        check_version(Some(i64::from(self.schema_version)))?;
        let problems = self.validate();
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// The ledger for a sales line: the exact (category, VAT) rule, else the category's
    /// rule without a VAT category. `None` when neither exists.
    pub fn revenue_ledger(&self, category: Option<&str>, vat: VatCategory) -> Option<u32> {
        let category = category.unwrap_or(&self.ledgers.default_revenue_category);
        LedgerMap::lookup(&self.ledgers.revenue, category, vat)
    }

    /// The ledger for a purchase line, looked up like [`revenue_ledger`](Self::revenue_ledger).
    pub fn cost_ledger(&self, category: Option<&str>, vat: VatCategory) -> Option<u32> {
        let category = category.unwrap_or(&self.ledgers.default_cost_category);
        LedgerMap::lookup(&self.ledgers.cost, category, vat)
    }

    /// The kostenplaats nummer of a project under [`ProjectRule`]; `None` when the rule gives
    /// none or one outside SnelStart's 1..=999 999 999.
    ///
    /// ```
    /// let config = mapping::config::MappingConfig::default();
    /// assert_eq!(config.kostenplaats_nummer("P-2024-017"), Some(2024017));
    /// assert_eq!(config.kostenplaats_nummer("intern"), None);
    /// ```
    pub fn kostenplaats_nummer(&self, project_number: &str) -> Option<u32> {
        let n = self.kostenplaats_candidate(project_number)?;
        (1..=validate::MAX_KOSTENPLAATS_NUMMER)
            .contains(&n)
            .then(|| u32::try_from(n).ok())
            .flatten()
    }

    /// The number [`ProjectRule`] gives for a project before the range check (saturating at
    /// `u64::MAX` for absurdly long digit strings); `None` when the rule gives none at all.
    /// Pre-flight uses it to tell "no number" from "a number outside 1..=999 999 999".
    pub(crate) fn kostenplaats_candidate(&self, project_number: &str) -> Option<u64> {
        match &self.projects {
            ProjectRule::Digits { offset } => {
                let digits: String = project_number
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                if digits.is_empty() {
                    return None;
                }
                let n = digits.trim_start_matches('0');
                let n = if n.len() > 19 {
                    u64::MAX
                } else {
                    n.parse::<u64>()
                        .unwrap_or(if n.is_empty() { 0 } else { u64::MAX })
                };
                Some(n.saturating_add(u64::from(*offset)))
            }
            ProjectRule::Table { numbers } => {
                numbers.get(project_number.trim()).map(|n| u64::from(*n))
            }
        }
    }

    /// How `vat` appears in a booking (falls back to [`VatRule::default_for`]).
    pub fn vat_rule(&self, vat: VatCategory) -> VatRule {
        self.vat
            .rules
            .iter()
            .find(|r| r.category == vat)
            .cloned()
            .unwrap_or_else(|| VatRule::default_for(vat))
    }
}

/// Refuses a schema version this library cannot read (absent means current: the field has a
/// default so a hand-written file may leave it out).
fn check_version(found: Option<i64>) -> Result<(), ConfigError> {
    match found {
        None => Ok(()),
        Some(v) if (1..=i64::from(CURRENT_SCHEMA_VERSION)).contains(&v) => Ok(()),
        Some(v) => Err(ConfigError::UnsupportedSchemaVersion {
            found: v,
            supported: CURRENT_SCHEMA_VERSION,
        }),
    }
}

/// Which CRM name feeds SnelStart's `naam`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NameSource {
    /// The legal name (default: what invoices must carry).
    #[default]
    LegalName,
    /// The trade name when there is one, else the legal name.
    TradeName,
}

/// What to do with a value longer than SnelStart allows (`naam`: 50 characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LongNamePolicy {
    /// Refuse the record in pre-flight (default: nothing is changed without consent).
    #[default]
    Reject,
    /// Cut at 50 characters and keep the full name as the first line of `memo`; the record
    /// gets a notice naming the field.
    Truncate,
}

/// Field-level rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FieldRules {
    /// Which CRM name becomes `naam`.
    pub name_source: NameSource,
    /// What to do with a name over 50 characters.
    pub long_name: LongNamePolicy,
    /// Put the trade name in `memo` when `naam` is the legal name and they differ.
    pub trade_name_in_memo: bool,
    /// Use the visiting address as correspondence address when the CRM has no postal address.
    pub postal_falls_back_to_visit: bool,
    /// Payment term (days) for relations whose CRM record has none.
    pub default_payment_term_days: Option<i32>,
    /// Booking `omschrijving` when the invoice has no description: `"{prefix} {number}"`.
    pub booking_description_prefix: String,
    /// Prefix `https://` to a website without a scheme (SnelStart requires a valid URL:
    /// REL-0015); a notice names the field. With `false` such a website is refused.
    pub website_add_scheme: bool,
    /// What to do with a VAT id the CRM wrote without its country prefix.
    pub vat_without_prefix: VatWithoutPrefixPolicy,
}

/// What to do with a VAT id written without its country prefix (`123456789B01`), whose prefix
/// was inferred while reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VatWithoutPrefixPolicy {
    /// Write it with the inferred prefix (`NL123456789B01`) and give the record a notice
    /// (default).
    #[default]
    AddPrefix,
    /// Refuse the record in pre-flight (problem at `vat_number`).
    Reject,
}

/// How the CRM writes credit notes (`kind: credit_note`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CreditNoteSign {
    /// Credit notes carry positive amounts, as printed, and are booked negative (default).
    /// Quantities are never negative, on invoices or credit notes; a credit note whose lines
    /// sum below zero is refused, as is an invoice whose lines do.
    #[default]
    PositiveWithFlag,
    /// Credit notes carry negative amounts and are booked as written; a credit note whose
    /// lines sum above zero is refused, as is an invoice whose lines sum below zero. Negative
    /// quantities are allowed.
    NegativeAmounts,
}

impl CreditNoteSign {
    /// The configuration value (`positive_with_flag`, `negative_amounts`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PositiveWithFlag => "positive_with_flag",
            Self::NegativeAmounts => "negative_amounts",
        }
    }
}

/// How invoices and credit notes are read.
///
/// Under either convention a discount line (a negative net amount on one line of an invoice
/// whose total stays positive) is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct InvoiceRules {
    /// The credit-note sign convention (`invoices.credit_note_sign`).
    pub credit_note_sign: CreditNoteSign,
}

impl Default for FieldRules {
    fn default() -> Self {
        Self {
            name_source: NameSource::LegalName,
            long_name: LongNamePolicy::Reject,
            trade_name_in_memo: true,
            postal_falls_back_to_visit: false,
            default_payment_term_days: None,
            booking_description_prefix: "Factuur".to_owned(),
            website_add_scheme: true,
            vat_without_prefix: VatWithoutPrefixPolicy::AddPrefix,
        }
    }
}

/// One ledger rule: lines of `category` with VAT `vat` (any VAT when absent) go to `ledger`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LedgerRule {
    /// Revenue or cost category as the CRM names it.
    pub category: String,
    /// VAT category; absent means "any VAT category without its own rule".
    #[serde(default)]
    pub vat: Option<VatCategory>,
    /// The grootboek nummer.
    pub ledger: u32,
}

impl LedgerRule {
    /// A rule for one (category, VAT) pair.
    pub fn new(category: impl Into<String>, vat: Option<VatCategory>, ledger: u32) -> Self {
        Self {
            category: category.into(),
            vat,
            ledger,
        }
    }
}

/// (revenue or cost category, VAT category) → grootboek nummer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LedgerMap {
    /// Category of sales lines that name none.
    pub default_revenue_category: String,
    /// Category of purchase lines that name none.
    pub default_cost_category: String,
    /// Rules for sales lines.
    pub revenue: Vec<LedgerRule>,
    /// Rules for purchase lines.
    pub cost: Vec<LedgerRule>,
}

impl Default for LedgerMap {
    fn default() -> Self {
        Self {
            default_revenue_category: "omzet".to_owned(),
            default_cost_category: "inkoop".to_owned(),
            revenue: Vec::new(),
            cost: Vec::new(),
        }
    }
}

impl LedgerMap {
    fn lookup(rules: &[LedgerRule], category: &str, vat: VatCategory) -> Option<u32> {
        let same = |r: &&LedgerRule| r.category.eq_ignore_ascii_case(category);
        rules
            .iter()
            .filter(same)
            .find(|r| r.vat == Some(vat))
            .or_else(|| rules.iter().filter(same).find(|r| r.vat.is_none()))
            .map(|r| r.ledger)
    }
}

/// The `btwSoort` of a booking line (SnelStart `BtwSoort`), as named in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LineVatKind {
    /// `Geen`: no VAT on the line.
    Geen,
    /// `Laag`.
    Laag,
    /// `Hoog`.
    Hoog,
    /// `Overig`.
    Overig,
}

/// The kind of the booking's VAT line for a category (sales: `Verkopen…`, purchases:
/// `Inkopen…`), or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum VatLineKind {
    /// No VAT line.
    None,
    /// `VerkopenHoog` / `InkopenHoog`.
    Hoog,
    /// `VerkopenLaag` / `InkopenLaag`.
    Laag,
    /// `VerkopenOverig` / `InkopenOverig`.
    Overig,
    /// `VerkopenVerlegd` / `InkopenVerlegd` (amount 0: the customer accounts for the VAT).
    /// SnelStart refuses it together with any other VAT kind in one booking (BOE-0062).
    Verlegd,
}

/// How one VAT category appears in a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct VatRule {
    /// The CRM VAT category.
    pub category: VatCategory,
    /// The line's `btwSoort`; must be allowed on the ledger.
    pub line: LineVatKind,
    /// The VAT line it is summed into.
    pub vat_line: VatLineKind,
}

impl VatRule {
    /// The built-in rule: hoog → Hoog/Hoog, laag → Laag/Laag, verlegd → Geen/Verlegd, the
    /// zero-rated categories → Geen/none.
    pub fn default_for(category: VatCategory) -> Self {
        let (line, vat_line) = match category {
            VatCategory::Hoog => (LineVatKind::Hoog, VatLineKind::Hoog),
            VatCategory::Laag => (LineVatKind::Laag, VatLineKind::Laag),
            VatCategory::Verlegd => (LineVatKind::Geen, VatLineKind::Verlegd),
            _ => (LineVatKind::Geen, VatLineKind::None),
        };
        Self {
            category,
            line,
            vat_line,
        }
    }
}

/// VAT category → booking representation. Categories without a rule use
/// [`VatRule::default_for`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct VatMap {
    /// The rules, at most one per category.
    pub rules: Vec<VatRule>,
}

impl Default for VatMap {
    fn default() -> Self {
        Self {
            rules: VatCategory::ALL
                .iter()
                .map(|c| VatRule::default_for(*c))
                .collect(),
        }
    }
}

/// How a kostenplaats nummer is derived from a project number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ProjectRule {
    /// The digits of the project number (`P-2024-017` → 2024017) plus `offset`.
    Digits {
        /// Added to the digits (to keep CRM projects in their own number range).
        #[serde(default)]
        offset: u32,
    },
    /// An explicit table: project number → kostenplaats nummer; unlisted projects are refused.
    Table {
        /// The table.
        numbers: BTreeMap<String, u32>,
    },
}

impl Default for ProjectRule {
    fn default() -> Self {
        Self::Digits { offset: 0 }
    }
}

/// Where a relation's `relatiecode` comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum RelatiecodePolicy {
    /// The CRM's relation number (digits only, 1..=2 147 483 647); relations without a number
    /// are refused unless `fallback_to_snelstart`.
    FromCrmNumber {
        /// Let SnelStart number relations without a CRM number instead of refusing them.
        #[serde(default)]
        fallback_to_snelstart: bool,
    },
    /// Leave `relatiecode` out; SnelStart assigns the next number (default).
    #[default]
    AssignedBySnelStart,
}

/// What a CRM relation that is both customer and supplier becomes. SnelStart refuses both kinds
/// on one relation (REL-0065) and never changes a relation's kind afterwards (REL-0064).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum BothKindsPolicy {
    /// One SnelStart customer (default: most CRMs sell).
    #[default]
    CustomerOnly,
    /// One SnelStart supplier.
    SupplierOnly,
    /// Two SnelStart relations: a customer and a supplier.
    TwoRelations {
        /// With [`RelatiecodePolicy::FromCrmNumber`], the supplier's relatiecode is the CRM
        /// number plus this offset (the two cannot share a code: REL-0008).
        #[serde(default)]
        supplier_relatiecode_offset: u32,
    },
    /// Refuse such relations in pre-flight.
    Reject,
}

/// How the contacts of a relation become SnelStart's single `contactpersoon`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ContactRules {
    /// Role words (case-insensitive substrings) that mark a billing/finance contact, preferred
    /// after an explicit primary contact.
    pub finance_roles: Vec<String>,
    /// Use the kept contact's e-mail when the relation has none.
    pub email_fallback: bool,
    /// Use the kept contact's phone when the relation has none.
    pub phone_fallback: bool,
    /// Summarise the contacts SnelStart cannot keep in `memo`.
    pub summarize_others_in_memo: bool,
    /// At most this many other contacts are listed in memo; the rest is counted.
    pub max_listed_in_memo: usize,
}

impl Default for ContactRules {
    fn default() -> Self {
        Self {
            finance_roles: [
                "factu",
                "financ",
                "billing",
                "invoice",
                "boekhoud",
                "administratie",
                "accounts payable",
                "crediteur",
                "debiteur",
                "controller",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            email_fallback: true,
            phone_fallback: true,
            summarize_others_in_memo: true,
            max_listed_in_memo: 10,
        }
    }
}

/// Thresholds of duplicate matching (see [`crate::matching`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MatchingRules {
    /// Minimum score for an automatic match.
    pub match_threshold: i32,
    /// Minimum score for review; below it a relation is new.
    pub review_threshold: i32,
    /// A runner-up within this many points makes the decision ambiguous.
    pub ambiguity_margin: i32,
    /// Extra freemail domains (lower case) whose e-mail domain is no evidence.
    pub extra_freemail: Vec<String>,
}

impl Default for MatchingRules {
    fn default() -> Self {
        Self {
            match_threshold: 50,
            review_threshold: 25,
            ambiguity_margin: 15,
            extra_freemail: Vec::new(),
        }
    }
}

impl MappingConfig {
    /// The matcher configuration of this mapping: the matching thresholds, and which SnelStart
    /// half a CRM relation that is both customer and supplier links to (the supplier under
    /// [`BothKindsPolicy::SupplierOnly`], else the customer).
    pub fn match_config(&self) -> crate::matching::MatchConfig {
        let mut config = self.matching.to_match_config();
        if self.both_kinds == BothKindsPolicy::SupplierOnly {
            config.both_kinds_link = crate::matching::MatchKind::Supplier;
        }
        config
    }
}

impl MatchingRules {
    /// The matcher configuration with these thresholds (other settings at their defaults).
    /// [`MappingConfig::match_config`] also applies the mapping's customer-and-supplier policy.
    pub fn to_match_config(&self) -> crate::matching::MatchConfig {
        crate::matching::MatchConfig {
            match_threshold: self.match_threshold,
            review_threshold: self.review_threshold,
            ambiguity_margin: self.ambiguity_margin,
            extra_freemail: self.extra_freemail.clone(),
            ..Default::default()
        }
    }
}
