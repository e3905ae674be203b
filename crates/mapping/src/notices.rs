//! Notices: what a configured policy changed or derived in a record before it was written.
//!
//! The library writes to SnelStart only what the CRM said, or what a documented policy of the
//! [`MappingConfig`] derived from it (see the table in [`crate::config`]). Whenever a policy
//! touched a field, the record gets a [`Notice`] naming the field and the policy's
//! configuration key, for the engine to deliver to the CRM. A refusal is a
//! [`Problem`](crate::preflight::Problem), never a notice.
//!
//! The notices come from the same code that applies the policies during pre-flight and
//! conversion, so what a notice says is what is written. The functions here return them for one
//! record; a [`BookingPlan`](crate::booking::BookingPlan) carries its own in
//! [`notices`](crate::booking::BookingPlan::notices).
//!
//! | policy key | path | when |
//! |---|---|---|
//! | `fields.long_name` | `legal_name`, `trade_name`, `contacts[i].name`, `description` (project) | a text over SnelStart's 50 characters was cut (`truncate`) |
//! | `fields.website_add_scheme` | `website` | `https://` was put before a website without a scheme |
//! | `fields.vat_without_prefix` | `vat_number` | the VAT id is written with the country prefix inferred while reading (`add_prefix`) |
//! | `contacts.email_fallback`, `contacts.phone_fallback` | `email`, `phone` | the relation has none; the kept contact's is written |
//! | `contacts.summarize_others_in_memo`, `contacts.max_listed_in_memo` | `contacts[i]` | a contact is neither SnelStart's contact nor listed in `memo` |
//! | `fields.booking_description_prefix` | `description` (invoice) | the invoice has no description; `"{prefix} {number}"` is written |
//! | `snelstart.inkoopboeking` | `due_date`, `payment_term_days` (purchase invoice) | not written: a purchase booking has no such field, SnelStart uses the supplier's term |
//! | `both_kinds` | `kind` | a relation that is customer and supplier is written as one Klant, one Leverancier, or two relations |
//! | `fields.default_payment_term_days` | `payment_term_days` | the relation has no term; the default is written |
//! | `fields.postal_falls_back_to_visit` | `postal_address` | the relation has no postal address; the visiting address is written as `correspondentieAdres` |
//!
//! ```
//! use crm_model::{Relation, RelationKind};
//! use mapping::config::{LongNamePolicy, MappingConfig};
//!
//! let mut config = MappingConfig::default();
//! config.fields.long_name = LongNamePolicy::Truncate;
//! let relation = Relation::new(
//!     "crm-7",
//!     RelationKind::Customer,
//!     "Stichting Vrienden van het Openluchtmuseum Gelderland te Arnhem",
//! );
//! let notices = mapping::notices::relation(&relation, &config);
//! assert_eq!(notices[0].path, "legal_name");
//! assert_eq!(notices[0].policy, "fields.long_name");
//! ```

use std::fmt;

use crm_model::{Project, PurchaseInvoice, Relation, SalesInvoice};
use serde::Serialize;

use crate::booking::BookingContext;
use crate::config::MappingConfig;
use crate::preflight::RecordRef;

/// What a policy changed or derived in one field of one record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct Notice {
    /// The record.
    pub record: RecordRef,
    /// Field path inside the record, e.g. `website` or `contacts[2].name`.
    pub path: String,
    /// The policy's configuration key, e.g. `fields.long_name`.
    pub policy: String,
    /// What was written instead of (or besides) what the CRM said.
    pub message: String,
}

impl Notice {
    pub(crate) fn new(record: RecordRef, path: String, policy: String, message: String) -> Self {
        Self {
            record,
            path,
            policy,
            message,
        }
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {} ({})",
            self.record, self.path, self.message, self.policy
        )
    }
}

/// The notices a relation gets under `config` (whether or not it also has problems).
pub fn relation(relation: &Relation, config: &MappingConfig) -> Vec<Notice> {
    crate::preflight::check_relation(relation, config)
        .collector
        .notices
}

/// The notices a project gets under `config`.
pub fn project(project: &Project, config: &MappingConfig) -> Vec<Notice> {
    crate::preflight::check_project(project, config)
        .collector
        .notices
}

/// The notices a sales invoice or credit note gets under `config`.
pub fn sales_invoice(invoice: &SalesInvoice, config: &MappingConfig) -> Vec<Notice> {
    crate::booking::check_sales_invoice(
        invoice,
        config,
        None,
        &BookingContext::without_financial_year(),
    )
    .1
}

/// The notices a purchase invoice gets under `config`.
pub fn purchase_invoice(invoice: &PurchaseInvoice, config: &MappingConfig) -> Vec<Notice> {
    crate::booking::check_purchase_invoice(
        invoice,
        config,
        None,
        &BookingContext::without_financial_year(),
    )
    .1
}
