//! Relations (customers and suppliers), their addresses and contacts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::opt_text_or_integer;
use crate::{BtwId, CountryCode, CrmId, EmailList, Iban, KvkNumber, Money};

/// Whether a relation buys from us, sells to us, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RelationKind {
    /// A customer (SnelStart `Klant`).
    #[serde(alias = "klant")]
    Customer,
    /// A supplier (SnelStart `Leverancier`).
    #[serde(alias = "leverancier")]
    Supplier,
    /// Both. SnelStart refuses this on one relation (REL-0065); the mapping configuration says
    /// what it becomes.
    Both,
}

impl RelationKind {
    /// True for [`Customer`](Self::Customer) and [`Both`](Self::Both).
    pub fn is_customer(self) -> bool {
        matches!(self, Self::Customer | Self::Both)
    }

    /// True for [`Supplier`](Self::Supplier) and [`Both`](Self::Both).
    pub fn is_supplier(self) -> bool {
        matches!(self, Self::Supplier | Self::Both)
    }
}

/// A postal or visiting address as a CRM stores it, with the house number apart.
///
/// `postcode` is free text because foreign addresses have their own formats; for Dutch
/// addresses ([`CountryCode::NL`]) the mapping checks it as a [`Postcode`](crate::Postcode) and
/// prints it as `1234 AB`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Address {
    /// Street name, without the number.
    pub street: String,
    /// House number (text, because CRMs store `12`, `12-14`, ...; a JSON integer is read as
    /// its text).
    #[serde(deserialize_with = "opt_text_or_integer")]
    pub house_number: Option<String>,
    /// Addition to the house number (`A`, `bis`, `3hg`).
    pub house_number_addition: Option<String>,
    /// Postcode as entered (a JSON integer, as Belgian and German postcodes are sometimes
    /// exported, is read as its text).
    #[serde(deserialize_with = "opt_text_or_integer")]
    pub postcode: Option<String>,
    /// City.
    pub city: String,
    /// Country; the Netherlands when absent.
    pub country: CountryCode,
}

impl Address {
    /// An address in the Netherlands.
    pub fn dutch(
        street: impl Into<String>,
        house_number: impl Into<String>,
        postcode: impl Into<String>,
        city: impl Into<String>,
    ) -> Self {
        Self {
            street: street.into(),
            house_number: Some(house_number.into()),
            house_number_addition: None,
            postcode: Some(postcode.into()),
            city: city.into(),
            country: CountryCode::NL,
        }
    }

    /// True when no field is filled in (country aside).
    pub fn is_blank(&self) -> bool {
        self.street.trim().is_empty()
            && self
                .house_number
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
            && self
                .house_number_addition
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
            && self.postcode.as_deref().is_none_or(|s| s.trim().is_empty())
            && self.city.trim().is_empty()
    }
}

/// A person at a relation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Contact {
    /// The CRM's id of the contact, when it has one (used as the final tie-break when choosing
    /// the contact SnelStart keeps).
    pub id: Option<CrmId>,
    /// Full name.
    pub name: String,
    /// Role or job title as free text (`Finance`, `Crediteurenadministratie`, `CEO`).
    pub role: Option<String>,
    /// E-mail address, or several separated by `;`.
    pub email: Option<EmailList>,
    /// Phone number as entered.
    pub phone: Option<String>,
    /// Marked as the primary contact in the CRM.
    pub primary: bool,
    /// When the CRM last changed this contact.
    pub last_changed: Option<DateTime<Utc>>,
}

impl Contact {
    /// A contact with only a name.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// A customer and/or supplier as a CRM knows it.
///
/// See the [crate documentation](crate) for the JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Relation {
    /// The CRM's id.
    pub id: CrmId,
    /// Customer, supplier or both.
    pub kind: RelationKind,
    /// The CRM's own customer/supplier number, if it has one (feeds the relatiecode when the
    /// mapping says so). A JSON integer is read as its text.
    #[serde(default, deserialize_with = "opt_text_or_integer")]
    pub number: Option<String>,
    /// Legal (registered) name.
    pub legal_name: String,
    /// Trade name, when it differs from the legal name.
    #[serde(default)]
    pub trade_name: Option<String>,
    /// Visiting address (SnelStart `vestigingsAdres`).
    #[serde(default)]
    pub visit_address: Option<Address>,
    /// Postal address (SnelStart `correspondentieAdres`).
    #[serde(default)]
    pub postal_address: Option<Address>,
    /// The people at this relation; SnelStart keeps one (see the `mapping` crate).
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// General e-mail address, or several separated by `;` (SnelStart accepts the list form).
    #[serde(default)]
    pub email: Option<EmailList>,
    /// General phone number as entered.
    #[serde(default)]
    pub phone: Option<String>,
    /// Website.
    #[serde(default)]
    pub website: Option<String>,
    /// VAT identification number.
    #[serde(default)]
    pub vat_number: Option<BtwId>,
    /// Chamber of Commerce number.
    #[serde(default)]
    pub kvk_number: Option<KvkNumber>,
    /// Bank account.
    #[serde(default)]
    pub iban: Option<Iban>,
    /// BIC of the bank account, as entered.
    #[serde(default)]
    pub bic: Option<String>,
    /// Payment term in days.
    #[serde(default)]
    pub payment_term_days: Option<i32>,
    /// Credit limit.
    #[serde(default)]
    pub credit_limit: Option<Money>,
    /// The CRM's free-text memo (notes), as given; may contain line breaks.
    #[serde(default)]
    pub memo: Option<String>,
    /// False for relations the CRM archived.
    #[serde(default = "default_true")]
    pub active: bool,
    /// When the CRM last changed this relation.
    #[serde(default)]
    pub last_changed: Option<DateTime<Utc>>,
}

fn default_true() -> bool {
    true
}

impl Relation {
    /// A minimal active relation; fill the other fields directly.
    pub fn new(id: impl Into<CrmId>, kind: RelationKind, legal_name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind,
            number: None,
            legal_name: legal_name.into(),
            trade_name: None,
            visit_address: None,
            postal_address: None,
            contacts: Vec::new(),
            email: None,
            phone: None,
            website: None,
            vat_number: None,
            kvk_number: None,
            iban: None,
            bic: None,
            payment_term_days: None,
            credit_limit: None,
            memo: None,
            active: true,
            last_changed: None,
        }
    }

    /// The name to show: the trade name when there is one, else the legal name.
    pub fn display_name(&self) -> &str {
        self.trade_name
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(&self.legal_name)
    }
}
