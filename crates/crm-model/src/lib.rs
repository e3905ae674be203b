//! The CRM side of snelstart-sync: what a relation, contact, project, invoice and payment
//! status are, in a form **any** CRM can fill, plus validated newtypes for the Dutch
//! identifiers and amounts involved.
//!
//! Pure data: no async, no I/O, no dependency on the SnelStart client. The `mapping` crate turns
//! these records into SnelStart payloads.
//!
//! # Newtypes: lenient in, strict out
//!
//! | Type | Accepts (examples) | Prints |
//! |---|---|---|
//! | [`BtwId`] | `nl 0012.34.560 b01`, `GR123456789` | `NL001234560B01`, `EL123456789` |
//! | [`KvkNumber`] | `1234 5678`, `1234567` (lost leading zero) | `12345678`, `01234567` |
//! | [`Iban`] | `nl91 abna 0417 1643 00` | `NL91ABNA0417164300` |
//! | [`Email`] | ` mailto:Jan@Example.NL` | `Jan@example.nl` |
//! | [`Postcode`] | `1234ab`, `1234-AB` | `1234 AB` |
//! | [`CountryCode`] | `nl`, `Nederland`, `NLD`, `UK` | `NL`, `GB` |
//! | [`Money`] | `1.234,56`, `€ 12,5`, JSON number `12.5` | `"1234.56"`, `"12.50"` |
//! | [`VatCategory`] | `Hoog`, `21%`, `reverse-charge`, `ICP` | `hoog`, `verlegd`, `intra_eu` |
//!
//! Each implements `FromStr` and `Display` and travels through serde as a string (numbers are
//! also accepted on input). A refusal is a [`ParseError`] naming the field kind, the value and
//! the reason.
//!
//! # JSON format of a relation
//!
//! This is the format of `CRM.json` in the `match_report` example (a JSON array of these) and
//! what a CRM adapter produces. Field names are snake_case; every field except `id`, `kind` and
//! `legal_name` may be left out. `kind` is `customer`, `supplier` or `both`. Dates/times are
//! RFC 3339. TOML uses the same names.
//!
//! ```
//! let json = r#"{
//!   "id": "crm-1042",
//!   "kind": "customer",
//!   "number": "1042",
//!   "legal_name": "Bakkerij De Gouden Korst B.V.",
//!   "trade_name": "De Gouden Korst",
//!   "visit_address": {
//!     "street": "Dorpsstraat", "house_number": "12", "house_number_addition": "A",
//!     "postcode": "1234ab", "city": "Amersfoort", "country": "NL"
//!   },
//!   "postal_address": {
//!     "street": "Postbus", "house_number": "100", "postcode": "1230 AA",
//!     "city": "Amersfoort", "country": "nl"
//!   },
//!   "contacts": [
//!     { "id": "c-1", "name": "Jan Jansen", "role": "Directeur", "email": "jan@goudenkorst.nl",
//!       "phone": "033-1234567", "primary": true, "last_changed": "2024-03-01T10:00:00Z" },
//!     { "name": "Petra de Vries", "role": "Financiële administratie",
//!       "email": "facturen@goudenkorst.nl" }
//!   ],
//!   "email": "info@goudenkorst.nl",
//!   "phone": "+31 33 123 45 67",
//!   "website": "https://goudenkorst.nl",
//!   "vat_number": "NL001234560B01",
//!   "kvk_number": "12345678",
//!   "iban": "NL91 ABNA 0417 1643 00",
//!   "bic": "ABNANL2A",
//!   "payment_term_days": 30,
//!   "credit_limit": "5000.00",
//!   "active": true,
//!   "last_changed": "2024-03-02T08:30:00Z"
//! }"#;
//! let relation: crm_model::Relation = serde_json::from_str(json)?;
//! assert_eq!(relation.display_name(), "De Gouden Korst");
//! assert_eq!(relation.iban.unwrap().to_string(), "NL91ABNA0417164300");
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! # JSON format of an invoice
//!
//! ```
//! let json = r#"{
//!   "id": "inv-77", "kind": "invoice", "number": "F2024-0077",
//!   "date": "2024-05-01", "payment_term_days": 14, "relation": "crm-1042",
//!   "lines": [
//!     { "description": "Taarten", "quantity": "3", "unit_price": "12.50",
//!       "vat_category": "laag", "category": "omzet", "project": "P-17" },
//!     { "description": "Advies", "net_amount": 150, "vat_category": "hoog" }
//!   ],
//!   "attachments": [ { "file_name": "F2024-0077.pdf", "content": "JVBERi0xLjQK" } ]
//! }"#;
//! let invoice: crm_model::SalesInvoice = serde_json::from_str(json)?;
//! assert_eq!(invoice.lines[0].net_total().unwrap().to_string(), "37.50");
//! assert_eq!(invoice.attachments[0].bytes, b"%PDF-1.4\n");
//! # Ok::<(), serde_json::Error>(())
//! ```
//! A credit note has `"kind": "credit_note"` and carries its amounts as printed on it (normally
//! positive); the booking makes them negative. Purchase invoices have the same shape
//! ([`PurchaseInvoice`]), with `relation` the supplier and `category` the cost category.
//! Attachments are `{file_name, content}` with standard base64 content.

mod btw;
mod contact_values;
mod document;
mod error;
mod ids;
mod money;
pub mod read;
mod record_kind;
mod relation;
mod vat;

pub use btw::BtwId;
pub use contact_values::{Email, EmailList, Iban};
pub use document::{
    Attachment, InvoiceKind, InvoiceLine, PaymentState, PaymentStatus, Project, PurchaseInvoice,
    SalesInvoice,
};
pub use error::{ParseError, ParseErrorReason};
pub use ids::{CountryCode, CrmId, KvkNumber, Postcode};
pub use money::Money;
pub use read::{
    Export, FieldNotice, FieldProblem, JsonSyntaxError, Read, RecordRejection, project_from_value,
    purchase_invoice_from_value, read_export, relation_from_value, sales_invoice_from_value,
};
pub use record_kind::RecordKind;
pub use relation::{Address, Contact, Relation, RelationKind};
pub use vat::VatCategory;
