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
//! | [`BtwId`] | `NL001234560B01`, `nl 0012.34.560 b01`, `NL 0012.34.560.B.01`, `001234560B01` (no prefix: NL), `BE 0123.456.789`, `0123.456.789` (no prefix: BE), `DE 123 456 789`, `GR123456789` | `NL001234560B01`, `BE0123456789`, `DE123456789`, `EL123456789` |
//! | [`KvkNumber`] | `12345678`, `1234 5678`, `12.34.56.78`, `KvK 12345678`, `KvK-nummer: 12345678` (label in any case), JSON number `12345678`; `1234567` (lost leading zero: evidence only) | `12345678`, `01234567` |
//! | [`Iban`] | `NL91ABNA0417164300`, `nl91 abna 0417 1643 00` | `NL91ABNA0417164300` |
//! | [`Email`] | ` mailto:Jan@Example.NL` | `Jan@example.nl` |
//! | [`EmailList`] | `info@x.nl`, ` info@x.nl ; facturen@x.nl ` | `info@x.nl;facturen@x.nl` |
//! | [`Postcode`] | `1234 AB`, `1234AB`, `1234 ab`, `1234ab`, `1234-AB` | `1234 AB` |
//! | [`CountryCode`] | `nl`, `Nederland`, `NLD`, `UK` | `NL`, `GB` |
//! | [`Money`] | `"1250.00"`, `"-3"`, `1.234,56`, `€ 12,5`, JSON number `12.5` (read from its digits) | `"1234.56"`, `"12.50"` |
//! | [`VatCategory`] | `Hoog`, `21%`, `reverse-charge`, `ICP` | `hoog`, `verlegd`, `intra_eu` |
//!
//! Each implements `FromStr` and `Display` and travels through serde as a string (numbers are
//! also accepted on input). A refusal is a [`ParseError`] naming the field kind, the value and
//! the reason. Refused: amounts with more than 2 decimals, `NaN`, `Infinity`, empty text; a Dutch
//! VAT number that passes neither the elf-proef nor mod 97; an empty item in an e-mail list
//! (`a@x.nl;;b@x.nl`).
//!
//! A repaired value says so: [`KvkNumber::leading_zero_restored`] and
//! [`BtwId::prefix_inferred`]. Such a value is evidence for matching; whether it may be written
//! is the mapping's decision. Equality compares the repaired value (`1234567` equals
//! `01234567`, `001234560B01` equals `NL001234560B01`).
//!
//! Free-text fields are kept as given: phone numbers (`020-1234567`, `+31 (0)20 123 4567`,
//! `0211/1234567`), foreign postcodes (`2000`, `B-2000`, `D-40210`), a house number inside the
//! street (`Kerkstraat 12A`), city and name variants (`'s-Gravenhage`, `Capelle a/d IJssel`,
//! `B.V.`, `Stg.`), BICs of 8 or 11 characters, and the memo with its line breaks.
//!
//! # Reading CRM exports
//!
//! [`read_export`] reads an export document record by record, and [`relation_from_value`] and
//! friends read one record (a webhook): a bad value rejects its record only, naming every
//! problem with its JSON path (`lines[1].unit_price`), and unknown keys become notices. See the
//! [`read`] module for the rules. Plain serde (`serde_json::from_str::<Relation>`) reads the
//! same JSON format but stops at the first bad value.
//!
//! # JSON format of a relation
//!
//! This is the format of `CRM.json` in the `match_report` example (a JSON array of these) and
//! what a CRM adapter produces. Field names are snake_case; every field except `id`, `kind` and
//! `legal_name` may be left out. `kind` is `customer`, `supplier` or `both` (also `klant`,
//! `leverancier`). `id`, `number`, `house_number` and `postcode` may be JSON strings or integers
//! (an integer is kept as its text). `email` holds one address or several separated by `;`.
//! `memo` is free text and may hold line breaks. Dates/times are RFC 3339. TOML uses the same
//! names.
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
//!   "email": "info@goudenkorst.nl; facturen@goudenkorst.nl",
//!   "phone": "+31 33 123 45 67",
//!   "website": "https://goudenkorst.nl",
//!   "vat_number": "NL001234560B01",
//!   "kvk_number": "KvK 12345678",
//!   "iban": "NL91 ABNA 0417 1643 00",
//!   "bic": "ABNANL2A",
//!   "payment_term_days": 30,
//!   "credit_limit": "5000.00",
//!   "memo": "Levering via achterom.\nSleutel bij de buren.",
//!   "active": true,
//!   "last_changed": "2024-03-02T08:30:00Z"
//! }"#;
//! let relation: crm_model::Relation = serde_json::from_str(json)?;
//! assert_eq!(relation.display_name(), "De Gouden Korst");
//! assert_eq!(relation.iban.unwrap().to_string(), "NL91ABNA0417164300");
//! assert_eq!(relation.email.unwrap().len(), 2);
//! assert_eq!(relation.kvk_number.unwrap().as_str(), "12345678");
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! # JSON format of a project
//!
//! `{"id": "prj-1", "number": "2024-017", "description": "Verbouwing", "active": true,
//! "last_changed": "2024-03-01T10:00:00Z"}`: `number` may be a JSON integer (`1043`, kept as
//! `"1043"`); `active` defaults to true.
//!
//! # JSON format of an invoice
//!
//! ```
//! let json = r#"{
//!   "id": "inv-77", "kind": "invoice", "number": "F2024-0077",
//!   "date": "2024-05-01", "payment_term_days": 14, "relation": "crm-1042",
//!   "currency": "EUR",
//!   "lines": [
//!     { "description": "Taarten", "quantity": "3", "unit_price": "12.50",
//!       "vat_category": "laag", "category": "omzet", "project": "P-17" },
//!     { "description": "Advies", "net_amount": 150, "vat_category": "hoog", "project": 1043 }
//!   ],
//!   "attachments": [ { "file_name": "F2024-0077.pdf", "content": "JVBERi0xLjQK" } ]
//! }"#;
//! let invoice: crm_model::SalesInvoice = serde_json::from_str(json)?;
//! assert_eq!(invoice.lines[0].net_total().unwrap().to_string(), "37.50");
//! assert_eq!(invoice.attachments[0].bytes, b"%PDF-1.4\n");
//! assert_eq!(invoice.lines[1].project.as_deref(), Some("1043"));
//! # Ok::<(), serde_json::Error>(())
//! ```
//! `kind` is `invoice` (the default) or `credit_note`; dates are `YYYY-MM-DD`; `due_date` and
//! `payment_term_days` are alternatives. `number`, `relation` and a line's `project` may be JSON
//! strings or integers. Amounts (`unit_price`, `net_amount`) and `quantity` are decimal strings
//! (`"1250.00"`, `"-3"`) or JSON numbers; `category` may also be spelled `revenue_category` or
//! `cost_category`. `currency` is the ISO 4217 code as the CRM gives it (absent means euro; the
//! mapping refuses anything else).
//!
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
