//! Lenient reading of CRM records, record by record, with JSON paths.
//!
//! A CRM export is read one record at a time. Reading a record never fails on a field value:
//! it gives the typed record ([`Read`]) or a [`RecordRejection`] that names the record (kind,
//! id when it has one, position in its section) and **every** problem in it, each with the
//! JSON path inside the record (`lines[1].unit_price`, `contacts[2].email`,
//! `visit_address.postcode`, `id`) and a message that says what was expected and quotes the
//! value. Only text that is not JSON fails a whole export ([`JsonSyntaxError`], with line and
//! column).
//!
//! Reading decides whether a value *is a value of its type* (a date, an amount with at most 2
//! decimals, a KvK number, a known VAT category). It does not apply business rules (required
//! names, euro only, due dates, control characters, zero lines): those belong to the mapping's
//! pre-flight.
//!
//! The rules, for every record type:
//!
//! - **Missing or `null`** is a problem for a required field only (`id` everywhere; `kind` and
//!   `legal_name` of a relation; `number` and `description` of a project; `number`, `date`,
//!   `relation` and `lines` of an invoice; `vat_category` of a line; `file_name` and `content`
//!   of an attachment). For an optional field, `null` means absent, and so does a blank string
//!   where the field holds a parsed value (a KvK number, an amount, a date, ...); optional free
//!   text is kept as given.
//! - **Ids and numbers** (`id`, `number`, `relation`, `project`, `house_number`, `postcode`) may
//!   be JSON strings or integers; an integer is kept as its decimal text. A blank id is a
//!   problem.
//! - **Amounts and quantities** may be decimal strings (`"1250.00"`, `"-3"`, `"1.234,56"`) or
//!   JSON numbers. A JSON number is read from its text, exactly (never through `f64`
//!   arithmetic) in [`read_export`]; a `serde_json::Value` already holds an `f64` for a
//!   non-integer, so the per-record functions refuse one whose digits an `f64` cannot hold
//!   exactly. Amounts with more than 2 decimals, `NaN`, `Infinity` and empty strings are
//!   refused.
//! - **Other values**: `payment_term_days` is a whole number (`30`, `30.0` or `"30"`); dates are
//!   `YYYY-MM-DD` and must exist; `last_changed` is RFC 3339 with an offset; `kind` values and
//!   VAT categories are compared case-insensitively (`Klant`, `Credit-Note`, `21%`); booleans
//!   are JSON `true`/`false`; attachment `content` is standard base64 (line breaks allowed);
//!   identifiers, e-mail lists and amounts accept the forms in the [crate table](crate).
//! - **Unknown keys** do not stop a record: it is read, and the outcome carries a
//!   [`FieldNotice`] per key ("unknown field `foo` ignored"). A key given twice in one object
//!   (possible in export text) is a problem: which value was meant is unclear.
//!
//! ```
//! use crm_model::read::{read_export, ExportItem};
//!
//! let export = read_export(r#"{
//!   "relations": [
//!     { "id": "crm-1", "kind": "customer", "legal_name": "Bakkerij B.V.",
//!       "kvk_number": "KvK 12345678", "email": "info@bakkerij.nl; facturen@bakkerij.nl" },
//!     { "id": "crm-2", "kind": "customer", "legal_name": "Kapper",
//!       "kvk_number": "12-34", "credit_limit": "12.345", "colour": "blue" }
//!   ],
//!   "projects": [ { "id": "p-1", "number": 1043, "description": "Verbouwing" } ]
//! }"#)?;
//! assert_eq!(export.relations.records.len(), 1);
//! let rejected = &export.relations.rejections[0];
//! assert_eq!(rejected.id.as_ref().unwrap().as_str(), "crm-2");
//! let paths: Vec<&str> = rejected.problems.iter().map(|p| p.path.as_str()).collect();
//! assert_eq!(paths, ["kvk_number", "credit_limit"]);
//! assert_eq!(export.projects.records[0].record.number, "1043");
//! assert_eq!(export.items().count(), 3);
//! # Ok::<(), crm_model::read::JsonSyntaxError>(())
//! ```

mod fields;
mod json;
mod records;

use std::fmt;

use serde::Serialize;

use crate::{CrmId, Project, PurchaseInvoice, RecordKind, Relation, SalesInvoice};
use json::Node;

/// One thing wrong with a record: where (the JSON path inside the record), what, and the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The JSON path inside the record, with list indices: `lines[1].unit_price`,
    /// `attachments[0].content`, `visit_address.postcode`, `id`. Empty when the record itself
    /// is not an object.
    pub path: String,
    /// What is wrong: what was expected, with the value quoted.
    pub message: String,
    /// The offending value (a string as it is, anything else as JSON; long values shortened),
    /// when there is one.
    pub value: Option<String>,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Something a reader did not use but the record was still read: an unknown key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldNotice {
    /// The JSON path inside the record (or the top-level key of an export).
    pub path: String,
    /// What happened, e.g. "unknown field `foo` ignored".
    pub message: String,
}

impl fmt::Display for FieldNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A record that was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Read<T> {
    /// Position of the record in its section of the export (0 for a single record).
    pub index: usize,
    /// The typed record.
    pub record: T,
    /// What was not used (unknown keys).
    pub notices: Vec<FieldNotice>,
}

/// A record that could not be read, with every problem in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordRejection {
    /// The kind of record (an `archived_relations` entry counts as a relation).
    pub kind: RecordKind,
    /// The record's id, when it had a usable one (it is taken even when other fields are bad).
    pub id: Option<CrmId>,
    /// The record's `number` (a project or invoice number), trimmed, when it is a non-empty
    /// string or an integer, even when other fields are bad: invoices name their projects by
    /// number, so a refused project can still be named by the invoices booked on it.
    pub number: Option<String>,
    /// Position of the record in its section of the export (0 for a single record).
    pub index: usize,
    /// Every problem, in field order; never empty.
    pub problems: Vec<FieldProblem>,
}

impl fmt::Display for RecordRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind.as_str().replace('_', " ");
        match &self.id {
            Some(id) => write!(f, "{kind} {id}: ")?,
            None => write!(f, "{kind} #{} (no usable id): ", self.index)?,
        }
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RecordRejection {}

/// Export text that is not JSON, or whose top level is not an object of sections, or with a
/// section that is not an array. The position is 1-based; prefix the file name when reporting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct JsonSyntaxError {
    /// Line, from 1.
    pub line: usize,
    /// Column (in characters), from 1.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// A section of an export document, in the order [`ExportSection::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportSection {
    /// `relations`.
    Relations,
    /// `archived_relations`: CRM ids of relations archived in the CRM.
    ArchivedRelations,
    /// `projects`.
    Projects,
    /// `sales_invoices`.
    SalesInvoices,
    /// `purchase_invoices`.
    PurchaseInvoices,
}

impl ExportSection {
    /// Every section.
    pub const ALL: [ExportSection; 5] = [
        Self::Relations,
        Self::ArchivedRelations,
        Self::Projects,
        Self::SalesInvoices,
        Self::PurchaseInvoices,
    ];

    /// The key in the export document (`relations`, `archived_relations`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Relations => "relations",
            Self::ArchivedRelations => "archived_relations",
            Self::Projects => "projects",
            Self::SalesInvoices => "sales_invoices",
            Self::PurchaseInvoices => "purchase_invoices",
        }
    }

    /// The kind of record the section holds (archived relations are relations).
    pub fn record_kind(self) -> RecordKind {
        match self {
            Self::Relations | Self::ArchivedRelations => RecordKind::Relation,
            Self::Projects => RecordKind::Project,
            Self::SalesInvoices => RecordKind::SalesInvoice,
            Self::PurchaseInvoices => RecordKind::PurchaseInvoice,
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == key)
    }
}

impl fmt::Display for ExportSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One section of an export: the records that were read and those that were not, each in file
/// order (their `index` is the position in the section's array).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section<T> {
    /// Records read.
    pub records: Vec<Read<T>>,
    /// Records refused.
    pub rejections: Vec<RecordRejection>,
}

impl<T> Default for Section<T> {
    fn default() -> Self {
        Self {
            records: Vec::new(),
            rejections: Vec::new(),
        }
    }
}

impl<T> Section<T> {
    /// The typed records that were read, in file order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.records.iter().map(|r| &r.record)
    }

    /// Records in the section, read or not.
    pub fn len(&self) -> usize {
        self.records.len() + self.rejections.len()
    }

    /// True when the section holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&mut self, outcome: Result<Read<T>, RecordRejection>) {
        match outcome {
            Ok(read) => self.records.push(read),
            Err(rejection) => self.rejections.push(rejection),
        }
    }

    /// Records and rejections merged by index.
    fn items<'a>(
        &'a self,
        section: ExportSection,
        wrap: fn(&'a Read<T>) -> ExportItem<'a>,
    ) -> impl Iterator<Item = ExportItem<'a>> + 'a {
        let mut records = self.records.iter().peekable();
        let mut rejections = self.rejections.iter().peekable();
        std::iter::from_fn(move || match (records.peek(), rejections.peek()) {
            (Some(r), Some(x)) if r.index < x.index => records.next().map(wrap),
            (_, Some(_)) => rejections
                .next()
                .map(|rejection| ExportItem::Rejected { section, rejection }),
            (Some(_), None) => records.next().map(wrap),
            (None, None) => None,
        })
    }
}

/// A whole CRM export, read record by record.
///
/// The document is a JSON object with these sections, each optional (`null` is the same as
/// absent); the record formats are in the [crate documentation](crate):
///
/// ```json
/// {
///   "relations": [ { "id": "crm-1", "kind": "customer", "legal_name": "…", … } ],
///   "archived_relations": [ "crm-9" ],
///   "projects": [ { "id": "prj-1", "number": "P0101", "description": "…" } ],
///   "sales_invoices": [ { "id": "inv-1", "number": "2024-0001", … } ],
///   "purchase_invoices": [ … ]
/// }
/// ```
///
/// A top-level key that is not a section is a notice in [`Export::notices`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Export {
    /// `relations`.
    pub relations: Section<Relation>,
    /// `archived_relations` (CRM ids).
    pub archived_relations: Section<CrmId>,
    /// `projects`.
    pub projects: Section<Project>,
    /// `sales_invoices`.
    pub sales_invoices: Section<SalesInvoice>,
    /// `purchase_invoices`.
    pub purchase_invoices: Section<PurchaseInvoice>,
    /// Top-level keys that are not sections (ignored).
    pub notices: Vec<FieldNotice>,
    /// Sections in the order they appear in the file.
    #[serde(skip)]
    order: Vec<ExportSection>,
}

/// One record of an [`Export`], as [`Export::items`] gives them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExportItem<'a> {
    /// A relation that was read.
    Relation(&'a Read<Relation>),
    /// An archived relation's id.
    ArchivedRelation(&'a Read<CrmId>),
    /// A project that was read.
    Project(&'a Read<Project>),
    /// A sales invoice that was read.
    SalesInvoice(&'a Read<SalesInvoice>),
    /// A purchase invoice that was read.
    PurchaseInvoice(&'a Read<PurchaseInvoice>),
    /// A record that was refused.
    Rejected {
        /// The section it is in.
        section: ExportSection,
        /// Why.
        rejection: &'a RecordRejection,
    },
}

impl ExportItem<'_> {
    /// The section the record is in.
    pub fn section(&self) -> ExportSection {
        match self {
            Self::Relation(_) => ExportSection::Relations,
            Self::ArchivedRelation(_) => ExportSection::ArchivedRelations,
            Self::Project(_) => ExportSection::Projects,
            Self::SalesInvoice(_) => ExportSection::SalesInvoices,
            Self::PurchaseInvoice(_) => ExportSection::PurchaseInvoices,
            Self::Rejected { section, .. } => *section,
        }
    }

    /// The record's position in its section.
    pub fn index(&self) -> usize {
        match self {
            Self::Relation(r) => r.index,
            Self::ArchivedRelation(r) => r.index,
            Self::Project(r) => r.index,
            Self::SalesInvoice(r) => r.index,
            Self::PurchaseInvoice(r) => r.index,
            Self::Rejected { rejection, .. } => rejection.index,
        }
    }

    /// The notices of a record that was read (none for a rejection).
    pub fn notices(&self) -> &[FieldNotice] {
        match self {
            Self::Relation(r) => &r.notices,
            Self::ArchivedRelation(r) => &r.notices,
            Self::Project(r) => &r.notices,
            Self::SalesInvoice(r) => &r.notices,
            Self::PurchaseInvoice(r) => &r.notices,
            Self::Rejected { .. } => &[],
        }
    }
}

impl Export {
    /// Every record, read or refused, in file order: the sections in the order they appear,
    /// within a section by position.
    pub fn items(&self) -> impl Iterator<Item = ExportItem<'_>> + '_ {
        self.order.iter().flat_map(
            move |&section| -> Box<dyn Iterator<Item = ExportItem<'_>> + '_> {
                match section {
                    ExportSection::Relations => {
                        Box::new(self.relations.items(section, ExportItem::Relation))
                    }
                    ExportSection::ArchivedRelations => Box::new(
                        self.archived_relations
                            .items(section, ExportItem::ArchivedRelation),
                    ),
                    ExportSection::Projects => {
                        Box::new(self.projects.items(section, ExportItem::Project))
                    }
                    ExportSection::SalesInvoices => {
                        Box::new(self.sales_invoices.items(section, ExportItem::SalesInvoice))
                    }
                    ExportSection::PurchaseInvoices => Box::new(
                        self.purchase_invoices
                            .items(section, ExportItem::PurchaseInvoice),
                    ),
                }
            },
        )
    }

    /// Every refused record with its section, in file order.
    pub fn rejections(&self) -> impl Iterator<Item = (ExportSection, &RecordRejection)> + '_ {
        self.items().filter_map(|item| match item {
            ExportItem::Rejected { section, rejection } => Some((section, rejection)),
            _ => None,
        })
    }

    /// Records read, over all sections.
    pub fn read_count(&self) -> usize {
        self.relations.records.len()
            + self.archived_relations.records.len()
            + self.projects.records.len()
            + self.sales_invoices.records.len()
            + self.purchase_invoices.records.len()
    }

    /// Records refused, over all sections.
    pub fn rejected_count(&self) -> usize {
        self.relations.rejections.len()
            + self.archived_relations.rejections.len()
            + self.projects.rejections.len()
            + self.sales_invoices.rejections.len()
            + self.purchase_invoices.rejections.len()
    }
}

/// Reads a whole export document (see [`Export`]) record by record.
///
/// # Errors
/// Only when the text is not JSON, its top level is not an object, a section is not an array
/// (or `null`), or a section appears twice: a [`JsonSyntaxError`] with line and column. A bad
/// value inside a record is a [`RecordRejection`] of that record in the returned [`Export`].
pub fn read_export(text: &str) -> Result<Export, JsonSyntaxError> {
    let parsed = json::parse_export(text)?;
    let mut export = Export {
        notices: parsed.notices,
        ..Export::default()
    };
    for (section, nodes) in parsed.sections {
        export.order.push(section);
        for (index, node) in nodes.iter().enumerate() {
            match section {
                ExportSection::Relations => export.relations.push(records::relation(index, node)),
                ExportSection::ArchivedRelations => export
                    .archived_relations
                    .push(records::archived_relation(index, node)),
                ExportSection::Projects => export.projects.push(records::project(index, node)),
                ExportSection::SalesInvoices => export
                    .sales_invoices
                    .push(records::sales_invoice(index, node)),
                ExportSection::PurchaseInvoices => export
                    .purchase_invoices
                    .push(records::purchase_invoice(index, node)),
            }
        }
    }
    Ok(export)
}

/// Reads one relation (e.g. from a webhook). `index` of the outcome is 0.
///
/// # Errors
/// A [`RecordRejection`] listing every problem of the record.
pub fn relation_from_value(value: &serde_json::Value) -> Result<Read<Relation>, RecordRejection> {
    records::relation(0, &Node::from_value(value))
}

/// Reads one project. `index` of the outcome is 0.
///
/// # Errors
/// A [`RecordRejection`] listing every problem of the record.
pub fn project_from_value(value: &serde_json::Value) -> Result<Read<Project>, RecordRejection> {
    records::project(0, &Node::from_value(value))
}

/// Reads one sales invoice or credit note. `index` of the outcome is 0.
///
/// # Errors
/// A [`RecordRejection`] listing every problem of the record.
pub fn sales_invoice_from_value(
    value: &serde_json::Value,
) -> Result<Read<SalesInvoice>, RecordRejection> {
    records::sales_invoice(0, &Node::from_value(value))
}

/// Reads one purchase invoice. `index` of the outcome is 0.
///
/// # Errors
/// A [`RecordRejection`] listing every problem of the record.
pub fn purchase_invoice_from_value(
    value: &serde_json::Value,
) -> Result<Read<PurchaseInvoice>, RecordRejection> {
    records::purchase_invoice(0, &Node::from_value(value))
}
