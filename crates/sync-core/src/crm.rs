//! The CRM side of the engine: where changes come from ([`CrmSource`], or
//! [`SyncEngine::submit`](crate::SyncEngine::submit) for pushed events) and where results go
//! ([`CrmSink`]).

use std::error::Error as StdError;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use crm_model::read::ExportSection;
use crm_model::{CrmId, PaymentStatus, Project, PurchaseInvoice, Relation, SalesInvoice};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::{EntityKind, LinkPart};

/// One change in the CRM that SnelStart should follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "record", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CrmChange {
    /// A relation was created or changed.
    Relation(Box<Relation>),
    /// A relation was archived (deleted) in the CRM: its SnelStart relation(s) become
    /// `nonactief`.
    RelationArchived(CrmId),
    /// A project was created or changed (an inactive project deactivates its kostenplaats).
    Project(Box<Project>),
    /// A sales invoice or credit note was created or changed: it becomes a verkoopboeking,
    /// with its attachments.
    SalesInvoice(Box<SalesInvoice>),
    /// A purchase invoice was created or changed: it becomes an inkoopboeking, with its
    /// attachments.
    PurchaseInvoice(Box<PurchaseInvoice>),
    /// A CRM record the intake refused (unreadable values, a duplicate in one export, an
    /// invoice that contradicts its relation's kind). It is queued like any change so it shows
    /// in [`SyncEngine::status`](crate::SyncEngine::status) and reaches the [`CrmSink`] as a
    /// failure naming the fields, and so records that depend on it fail naming it. It never
    /// causes a SnelStart call.
    Refused(Box<RefusedRecord>),
}

/// Why the intake refused a CRM record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RefusalReason {
    /// A value could not be read as its type (a bad date, an amount with 3 decimals, ...).
    Unreadable,
    /// A later occurrence of a record already in the same export or batch (same id, project
    /// number, sales invoice number, or supplier and purchase invoice number): the first
    /// occurrence wins.
    Duplicate,
    /// The record contradicts another record of the same batch (a sales invoice on a
    /// supplier-only relation: SnelStart BOE-0060; a purchase invoice on a customer-only
    /// relation: BOE-0003).
    Inconsistent,
}

impl RefusalReason {
    /// The stable code stored with the failure (`REFUSED_UNREADABLE`, ...).
    pub fn code(self) -> &'static str {
        match self {
            RefusalReason::Unreadable => "REFUSED_UNREADABLE",
            RefusalReason::Duplicate => "REFUSED_DUPLICATE",
            RefusalReason::Inconsistent => "REFUSED_INCONSISTENT",
        }
    }
}

/// One problem of a refused record: where (a JSON path inside the record, with list indices,
/// such as `lines[1].unit_price`) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefusalProblem {
    /// The field path inside the record.
    pub path: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl RefusalProblem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        RefusalProblem {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A CRM record the intake refused, with every problem named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefusedRecord {
    /// The SnelStart entity the record would have become.
    pub kind: EntityKind,
    /// The CRM id, or `relations[3]` (section and index) when the record has no readable id.
    pub crm_id: String,
    /// The project number (for projects) when it could be read, so invoices booked on that
    /// project fail naming this refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub natural_key: Option<String>,
    /// Why.
    pub reason: RefusalReason,
    /// Every problem, each with its field path.
    pub problems: Vec<RefusalProblem>,
}

impl RefusedRecord {
    /// A refusal.
    pub fn new(
        kind: EntityKind,
        crm_id: impl Into<String>,
        reason: RefusalReason,
        problems: Vec<RefusalProblem>,
    ) -> Self {
        RefusedRecord {
            kind,
            crm_id: crm_id.into(),
            natural_key: None,
            reason,
            problems,
        }
    }

    /// Sets the project number (see [`RefusedRecord::natural_key`]).
    pub fn with_natural_key(mut self, key: impl Into<String>) -> Self {
        self.natural_key = Some(key.into());
        self
    }

    /// The refusal of a record the reader could not read (see [`crm_model::read`]): every
    /// problem with its path; `section[index]` stands in for a missing id; a project keeps its
    /// number so invoices on it can name it.
    pub fn from_rejection(
        section: ExportSection,
        rejection: &crm_model::read::RecordRejection,
    ) -> Self {
        let crm_id = rejection.id.as_ref().map_or_else(
            || format!("{section}[{}]", rejection.index),
            ToString::to_string,
        );
        let kind = match rejection.kind {
            crm_model::RecordKind::Relation => EntityKind::Relation,
            crm_model::RecordKind::Project => EntityKind::CostCentre,
            crm_model::RecordKind::SalesInvoice => EntityKind::SalesInvoice,
            crm_model::RecordKind::PurchaseInvoice => EntityKind::PurchaseInvoice,
        };
        let refused = RefusedRecord::new(
            kind,
            crm_id,
            RefusalReason::Unreadable,
            rejection
                .problems
                .iter()
                .map(|p| RefusalProblem::new(p.path.clone(), p.message.clone()))
                .collect(),
        );
        match (&rejection.number, kind) {
            (Some(number), EntityKind::CostCentre) => refused.with_natural_key(number.clone()),
            _ => refused,
        }
    }

    /// One line for logs and the sink: `refused (duplicate): id: …; number: …`.
    pub fn message(&self) -> String {
        let what = match self.reason {
            RefusalReason::Unreadable => "unreadable values",
            RefusalReason::Duplicate => "duplicate in the export",
            RefusalReason::Inconsistent => "contradicts its relation",
        };
        let problems: Vec<String> = self
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect();
        format!("refused ({what}): {}", problems.join("; "))
    }
}

impl CrmChange {
    /// A relation change.
    pub fn relation(relation: Relation) -> Self {
        CrmChange::Relation(Box::new(relation))
    }

    /// A project change.
    pub fn project(project: Project) -> Self {
        CrmChange::Project(Box::new(project))
    }

    /// A sales invoice or credit note change.
    pub fn sales_invoice(invoice: SalesInvoice) -> Self {
        CrmChange::SalesInvoice(Box::new(invoice))
    }

    /// A purchase invoice change.
    pub fn purchase_invoice(invoice: PurchaseInvoice) -> Self {
        CrmChange::PurchaseInvoice(Box::new(invoice))
    }

    /// An archived relation.
    pub fn relation_archived(id: impl Into<CrmId>) -> Self {
        CrmChange::RelationArchived(id.into())
    }

    /// The SnelStart entity this change affects.
    pub fn kind(&self) -> EntityKind {
        match self {
            CrmChange::Relation(_) | CrmChange::RelationArchived(_) => EntityKind::Relation,
            CrmChange::Project(_) => EntityKind::CostCentre,
            CrmChange::SalesInvoice(_) => EntityKind::SalesInvoice,
            CrmChange::PurchaseInvoice(_) => EntityKind::PurchaseInvoice,
            CrmChange::Refused(r) => r.kind,
        }
    }

    /// The CRM id of the changed record.
    pub fn crm_id(&self) -> &str {
        match self {
            CrmChange::Relation(r) => r.id.as_str(),
            CrmChange::RelationArchived(id) => id.as_str(),
            CrmChange::Project(p) => p.id.as_str(),
            CrmChange::SalesInvoice(i) => i.id.as_str(),
            CrmChange::PurchaseInvoice(i) => i.id.as_str(),
            CrmChange::Refused(r) => r.crm_id.as_str(),
        }
    }

    /// The CRM records this change must wait for: an invoice waits for its relation and for
    /// the projects (cost centres) its lines are booked on. Projects are named by their
    /// number, as invoice lines name them (`InvoiceLine::project`); the engine resolves the
    /// number to the project's work item when both arrive in one ingest.
    pub fn dependencies(&self) -> Vec<(EntityKind, String)> {
        let invoice = |relation: &CrmId, projects: Vec<&String>| {
            let mut deps = vec![(EntityKind::Relation, relation.as_str().to_owned())];
            for p in projects {
                let dep = (EntityKind::CostCentre, p.clone());
                if !deps.contains(&dep) {
                    deps.push(dep);
                }
            }
            deps
        };
        match self {
            CrmChange::SalesInvoice(i) => invoice(
                &i.relation,
                i.lines.iter().filter_map(|l| l.project.as_ref()).collect(),
            ),
            CrmChange::PurchaseInvoice(i) => invoice(
                &i.relation,
                i.lines.iter().filter_map(|l| l.project.as_ref()).collect(),
            ),
            _ => Vec::new(),
        }
    }

    /// The queue operation (`upsert`, `archive` or `duplicate`).
    ///
    /// A refused duplicate has its own operation (`duplicate`), so it never coalesces with the
    /// first occurrence that was kept; any other refusal is an `upsert`, so a corrected change
    /// of the record replaces it.
    pub fn operation(&self) -> &'static str {
        match self {
            CrmChange::RelationArchived(_) => OP_ARCHIVE,
            CrmChange::Refused(r) if r.reason == RefusalReason::Duplicate => OP_DUPLICATE,
            _ => OP_UPSERT,
        }
    }
}

pub(crate) const OP_UPSERT: &str = "upsert";
pub(crate) const OP_ARCHIVE: &str = "archive";
pub(crate) const OP_DUPLICATE: &str = "duplicate";

/// A whole CRM export in one typed document: what programs that build their records in code
/// use (benchmarks, adapters mapping their own rows), and a simple import format for CRMs that
/// can only export files. JSON (or TOML) with these keys, each optional:
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
/// The record formats are those of `crm-model` (see its crate docs). **Deserializing never
/// fails on a value inside a record**: each record is read on its own (with
/// [`crm_model::read`]), a record that cannot be read is kept as a refusal naming its fields
/// ([`CrmDataset::refused`]), and [`CrmDataset::changes`] hands it on as a
/// [`CrmChange::Refused`], so the engine lists it as a failure and the other records sync. Only
/// a document that is not an object of arrays fails. For files, [`crm_model::read::read_export`]
/// with [`SyncEngine::submit_export`](crate::SyncEngine::submit_export) does the same and also
/// reports unknown keys and exact line/column positions.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CrmDataset {
    /// Relations (customers and suppliers).
    pub relations: Vec<Relation>,
    /// CRM ids of relations archived in the CRM.
    pub archived_relations: Vec<CrmId>,
    /// Projects.
    pub projects: Vec<Project>,
    /// Sales invoices and credit notes.
    pub sales_invoices: Vec<SalesInvoice>,
    /// Purchase invoices.
    pub purchase_invoices: Vec<PurchaseInvoice>,
    /// Records that could not be read, with the section they were in.
    #[serde(skip)]
    refused: Vec<(ExportSection, RefusedRecord)>,
}

impl<'de> Deserialize<'de> for CrmDataset {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Any self-describing format (JSON, TOML) into a tree, then record by record.
        let tree = serde_json::Value::deserialize(deserializer)?;
        let text = serde_json::to_string(&tree).map_err(serde::de::Error::custom)?;
        let export =
            crm_model::read::read_export(&text).map_err(|e| serde::de::Error::custom(e.message))?;
        Ok(CrmDataset::from_export(&export))
    }
}

impl CrmDataset {
    /// The records of an export: those that were read, and refusals for those that were not.
    /// Also the CRM side of a [`reconcile`](crate::SyncEngine::reconcile) after
    /// [`submit_export`](crate::SyncEngine::submit_export) (refusals play no part there).
    pub fn from_export(export: &crm_model::read::Export) -> Self {
        CrmDataset {
            relations: export.relations.values().cloned().collect(),
            archived_relations: export.archived_relations.values().cloned().collect(),
            projects: export.projects.values().cloned().collect(),
            sales_invoices: export.sales_invoices.values().cloned().collect(),
            purchase_invoices: export.purchase_invoices.values().cloned().collect(),
            refused: export
                .rejections()
                .map(|(section, r)| (section, RefusedRecord::from_rejection(section, r)))
                .collect(),
        }
    }

    /// The records that could not be read, each with every problem named.
    pub fn refused(&self) -> impl Iterator<Item = &RefusedRecord> {
        self.refused.iter().map(|(_, r)| r)
    }

    /// The dataset as changes, in dependency order: relations, projects, invoices, archives;
    /// each section's refusals after its records (so a readable record keeps its place when
    /// a later, unreadable one has the same id).
    pub fn changes(&self) -> Vec<CrmChange> {
        let refused = |section: ExportSection| {
            self.refused
                .iter()
                .filter(move |(s, _)| *s == section)
                .map(|(_, r)| CrmChange::Refused(Box::new(r.clone())))
        };
        let mut changes = Vec::with_capacity(
            self.relations.len()
                + self.projects.len()
                + self.sales_invoices.len()
                + self.purchase_invoices.len()
                + self.archived_relations.len()
                + self.refused.len(),
        );
        changes.extend(self.relations.iter().cloned().map(CrmChange::relation));
        changes.extend(refused(ExportSection::Relations));
        changes.extend(self.projects.iter().cloned().map(CrmChange::project));
        changes.extend(refused(ExportSection::Projects));
        changes.extend(
            self.sales_invoices
                .iter()
                .cloned()
                .map(CrmChange::sales_invoice),
        );
        changes.extend(refused(ExportSection::SalesInvoices));
        changes.extend(
            self.purchase_invoices
                .iter()
                .cloned()
                .map(CrmChange::purchase_invoice),
        );
        changes.extend(refused(ExportSection::PurchaseInvoices));
        changes.extend(
            self.archived_relations
                .iter()
                .cloned()
                .map(CrmChange::RelationArchived),
        );
        changes.extend(refused(ExportSection::ArchivedRelations));
        changes
    }
}

/// A page of changes from a [`CrmSource`].
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ChangePage {
    /// The changes, oldest first.
    pub changes: Vec<CrmChange>,
    /// The cursor after these changes (stored by the engine once they are queued).
    pub next_cursor: Option<String>,
    /// Whether more changes are waiting after this page.
    pub has_more: bool,
}

impl ChangePage {
    /// A page.
    pub fn new(changes: Vec<CrmChange>, next_cursor: Option<String>, has_more: bool) -> Self {
        ChangePage {
            changes,
            next_cursor,
            has_more,
        }
    }
}

/// An error of a CRM adapter, kept opaque.
#[derive(Debug, thiserror::Error)]
#[error("CRM adapter error: {0}")]
pub struct CrmError(#[source] pub Box<dyn StdError + Send + Sync + 'static>);

impl CrmError {
    /// Wraps any error.
    pub fn new(e: impl Into<Box<dyn StdError + Send + Sync + 'static>>) -> Self {
        CrmError(e.into())
    }
}

/// Where the engine pulls CRM changes from.
///
/// The cursor is the adapter's own opaque text (a timestamp, a sequence number, a page
/// token). The engine stores it only after the changes of a page are safely queued, so a crash
/// re-reads at most one page, and queueing coalesces the repeats.
pub trait CrmSource: Send + Sync + 'static {
    /// Up to `limit` changes after `cursor` (`None`: from the beginning).
    fn changes(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<ChangePage, CrmError>> + Send;
}

/// What flows back to the CRM.
///
/// The events of a record's outcome ([`SinkEvent::Linked`], [`SinkEvent::ReviewNeeded`],
/// [`SinkEvent::Failed`], [`SinkEvent::Notice`]) are stored in the outbox with the outcome
/// and delivered until the sink accepts them (see [`CrmSink::deliver_keyed`]), so they
/// (de)serialize as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SinkEvent {
    /// A CRM record is now linked to a SnelStart record (created or found).
    Linked {
        /// Entity kind.
        kind: EntityKind,
        /// The CRM record (for an attachment: its invoice).
        crm_id: String,
        /// Which part of the CRM record was linked: the whole record (left out of the JSON),
        /// the supplier half of a relation that became two SnelStart relations
        /// (`"part":"supplier_half"`; earlier versions announced it as CRM id `{crm_id}#2`),
        /// or an attachment by file name.
        #[serde(default, skip_serializing_if = "LinkPart::is_whole")]
        part: LinkPart,
        /// The SnelStart id.
        snelstart_id: Uuid,
        /// The relatiecode or kostenplaats nummer, when known.
        natural_key: Option<String>,
        /// True when the engine created the SnelStart record, false when it found it.
        created: bool,
    },
    /// A CRM record waits for a human decision (possible duplicate).
    ReviewNeeded {
        /// Entity kind.
        kind: EntityKind,
        /// The CRM record.
        crm_id: String,
        /// Why, as short stable codes.
        reasons: Vec<String>,
        /// Candidate SnelStart ids, best first.
        candidates: Vec<String>,
    },
    /// The payment status of an invoice changed in SnelStart (read back from its
    /// verkoopfactuur or inkoopfactuur). Delivered once per change.
    PaymentStatusChanged {
        /// [`EntityKind::SalesInvoice`] or [`EntityKind::PurchaseInvoice`].
        kind: EntityKind,
        /// The CRM invoice, when the engine booked it (otherwise the factuurnummer).
        crm_id: String,
        /// The new status with amounts and dates.
        status: PaymentStatus,
    },
    /// The open balance of a customer ([`EntityKind::SalesInvoice`]) or supplier
    /// ([`EntityKind::PurchaseInvoice`]) changed in SnelStart. Delivered once per change.
    BalanceChanged {
        /// [`EntityKind::SalesInvoice`] (customer) or [`EntityKind::PurchaseInvoice`] (supplier).
        kind: EntityKind,
        /// The CRM relation, when it is linked.
        crm_id: Option<String>,
        /// The SnelStart relation.
        snelstart_id: Uuid,
        /// Total still open over all its invoices.
        open: crm_model::Money,
        /// The part of `open` that is past its due date.
        overdue: crm_model::Money,
        /// The (Dutch) day the balance was determined on.
        as_of: chrono::NaiveDate,
    },
    /// The purchases booked on a CRM project's cost centre changed. Delivered once per change.
    ProjectPurchases {
        /// The CRM project.
        crm_id: String,
        /// Its kostenplaats.
        snelstart_id: Uuid,
        /// Purchases excluding VAT (credit notes subtract).
        total: crm_model::Money,
    },
    /// A policy of the mapping configuration changed or derived a field of a CRM record that
    /// was just written (a name cut at 50 characters, a VAT id written with its inferred
    /// country prefix, `https://` put before a website): the CRM hears what SnelStart holds
    /// that it did not say. Delivered when the record is created, linked or updated.
    Notice {
        /// Entity kind.
        kind: EntityKind,
        /// The CRM record.
        crm_id: String,
        /// The field, e.g. `vat_number` or `contacts[2].name`.
        path: String,
        /// The policy's configuration key, e.g. `fields.vat_without_prefix`.
        policy: String,
        /// What was written instead of (or besides) what the CRM said.
        message: String,
    },
    /// A payment settled (part of) an invoice the engine booked: read back from the bank, cash
    /// or memoriaal booking that allocated it. Delivered once per payment; a credit note
    /// settled against an invoice shows as a negative payment on the credit note.
    PaymentReceived {
        /// [`EntityKind::SalesInvoice`] or [`EntityKind::PurchaseInvoice`].
        kind: EntityKind,
        /// The CRM invoice.
        crm_id: String,
        /// Date, amount and the booking that carried it.
        payment: InvoicePayment,
    },
    /// A payment delivered before is undone: its booking was deleted or changed in
    /// SnelStart. `payment` is the payment as it was delivered; a changed booking is followed
    /// by a [`SinkEvent::PaymentReceived`] with the new figures.
    PaymentReversed {
        /// [`EntityKind::SalesInvoice`] or [`EntityKind::PurchaseInvoice`].
        kind: EntityKind,
        /// The CRM invoice.
        crm_id: String,
        /// The payment that no longer stands.
        payment: InvoicePayment,
    },
    /// When an invoice was paid: delivered when `paid_on` or `last_payment_on` changed.
    PaymentDates {
        /// [`EntityKind::SalesInvoice`] or [`EntityKind::PurchaseInvoice`].
        kind: EntityKind,
        /// The CRM invoice.
        crm_id: String,
        /// The sum of the payments known for the invoice.
        paid: crm_model::Money,
        /// What SnelStart still has open (`openstaandSaldo`).
        outstanding: crm_model::Money,
        /// The date of the payment that made the invoice fully paid (`None` while open).
        paid_on: Option<chrono::NaiveDate>,
        /// The date of the latest payment (`None` without payments).
        last_payment_on: Option<chrono::NaiveDate>,
    },
    /// A CRM record could not be synced; the reason says what to fix.
    Failed {
        /// Entity kind.
        kind: EntityKind,
        /// The CRM record.
        crm_id: String,
        /// What went wrong.
        reason: String,
        /// The fields of the record the failure names (`kvk_number`, `lines[1].unit_price`),
        /// empty when it is not about a field.
        fields: Vec<String>,
    },
}

/// The kind of SnelStart booking a payment came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PaymentBookingKind {
    /// A `bankboeking` (a bank statement line).
    Bank,
    /// A `kasboeking` (cash).
    Kas,
    /// A `memoriaalboeking` (a journal entry, e.g. a credit note settled against an invoice).
    Memoriaal,
}

impl PaymentBookingKind {
    /// `bank`, `kas` or `memoriaal`.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentBookingKind::Bank => "bank",
            PaymentBookingKind::Kas => "kas",
            PaymentBookingKind::Memoriaal => "memoriaal",
        }
    }
}

/// One payment on one invoice, as SnelStart booked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InvoicePayment {
    /// The booking date (`datum`) of the bank, cash or memoriaal booking.
    pub date: chrono::NaiveDate,
    /// The amount it settled: positive pays off the invoice, negative re-opens it (a refund,
    /// or the credit note's side of a settlement).
    pub amount: crm_model::Money,
    /// The kind of booking.
    pub booking_kind: PaymentBookingKind,
    /// The booking's id: the `bankboeking` or `kasboeking` id. For a memoriaal booking it is
    /// the id of its `grootboekmutatie` on the debtors or creditors ledger: SnelStart lists
    /// no memoriaalboekingen and a mutation does not name its booking.
    pub booking_id: Uuid,
    /// The SnelStart sales or purchase booking (`verkoopboeking` / `inkoopboeking`) paid.
    pub invoice_booking: Uuid,
}

impl InvoicePayment {
    /// A payment.
    pub fn new(
        date: chrono::NaiveDate,
        amount: crm_model::Money,
        booking_kind: PaymentBookingKind,
        booking_id: Uuid,
        invoice_booking: Uuid,
    ) -> Self {
        InvoicePayment {
            date,
            amount,
            booking_kind,
            booking_id,
            invoice_booking,
        }
    }
}

/// Where the engine delivers [`SinkEvent`]s.
///
/// The events of a record's outcome (linked, failed, held for review, notices) come from the
/// store's outbox: they were stored in the same transaction as the outcome, and a refused
/// delivery (an `Err`) is tried again, with a growing pause, by every later run of the engine
/// and after a restart, until the sink accepts it. Delivery is therefore **at least once**:
/// after a crash between the sink's acceptance and the engine recording it, an event comes
/// again, with the same idempotency key (see [`CrmSink::deliver_keyed`]). Read-back events
/// keep their own exactly-once bookkeeping (see [`SyncEngine::read_back`](crate::SyncEngine::read_back))
/// and intake notices are told once when the change is queued; neither goes through the
/// outbox.
pub trait CrmSink: Send + Sync + 'static {
    /// Delivers one event.
    fn deliver(&self, event: SinkEvent) -> impl Future<Output = Result<(), CrmError>> + Send;

    /// Delivers one event from the outbox. `idempotency_key` is the same for every delivery of
    /// this event (and differs between events): a sink that can see repeats (a CRM with an
    /// idempotency header, a table of keys seen) uses it to apply the event once. The default
    /// ignores the key and calls [`CrmSink::deliver`].
    fn deliver_keyed(
        &self,
        idempotency_key: &str,
        event: SinkEvent,
    ) -> impl Future<Output = Result<(), CrmError>> + Send {
        let _ = idempotency_key;
        self.deliver(event)
    }
}

/// A sink that drops every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSink;

impl CrmSink for NoSink {
    async fn deliver(&self, _event: SinkEvent) -> Result<(), CrmError> {
        Ok(())
    }
}

/// A sink that keeps every event in memory (for tests and examples).
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    events: Arc<Mutex<Vec<SinkEvent>>>,
    keys: Arc<Mutex<Vec<String>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything delivered so far.
    pub fn events(&self) -> Vec<SinkEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The idempotency keys of the events delivered from the outbox, in delivery order.
    pub fn idempotency_keys(&self) -> Vec<String> {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl CrmSink for MemorySink {
    async fn deliver(&self, event: SinkEvent) -> Result<(), CrmError> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
        Ok(())
    }

    async fn deliver_keyed(&self, idempotency_key: &str, event: SinkEvent) -> Result<(), CrmError> {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(idempotency_key.to_owned());
        self.deliver(event).await
    }
}

/// A source over an in-memory list of changes; the cursor is the index of the next change.
/// Useful for tests, examples and for hosts that collect changes themselves.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    changes: Arc<Mutex<Vec<CrmChange>>>,
}

impl MemorySource {
    /// A source with these changes.
    pub fn new(changes: Vec<CrmChange>) -> Self {
        MemorySource {
            changes: Arc::new(Mutex::new(changes)),
        }
    }

    /// Appends a change (it is read after everything before it).
    pub fn push(&self, change: CrmChange) {
        self.changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(change);
    }
}

impl CrmSource for MemorySource {
    async fn changes(&self, cursor: Option<&str>, limit: usize) -> Result<ChangePage, CrmError> {
        let start: usize = match cursor {
            None => 0,
            Some(c) => c
                .parse()
                .map_err(|_| CrmError::new(format!("bad MemorySource cursor `{c}`")))?,
        };
        let all = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        let end = (start + limit.max(1)).min(all.len());
        let page = all.get(start..end).unwrap_or_default().to_vec();
        Ok(ChangePage::new(
            page,
            Some(end.max(start).to_string()),
            end < all.len(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 9): reading an export as a `CrmDataset` stopped at the first bad
    /// value, so the documented way to load an export synced nothing.
    #[test]
    fn a_bad_value_refuses_its_record_not_the_dataset() {
        let json = r#"{
            "relations": [
                {"id": "crm-1", "kind": "customer", "legal_name": "Bakkerij A B.V."},
                {"id": "crm-2", "kind": "customer", "legal_name": "B B.V.", "kvk_number": "12-ab"},
                {"id": "crm-3", "kind": "supplier", "legal_name": "C B.V."}
            ],
            "sales_invoices": [
                {"id": "inv-1", "number": "F-1", "date": "2024-02-30", "relation": "crm-1",
                 "lines": [{"net_amount": "10.00", "vat_category": "hoog"}]}
            ]
        }"#;
        let dataset: CrmDataset = serde_json::from_str(json).unwrap();
        assert_eq!(dataset.relations.len(), 2);
        assert!(dataset.sales_invoices.is_empty());
        let refused: Vec<(&str, &str)> = dataset
            .refused()
            .map(|r| (r.crm_id.as_str(), r.problems[0].path.as_str()))
            .collect();
        assert_eq!(refused, vec![("crm-2", "kvk_number"), ("inv-1", "date")]);
        let changes = dataset.changes();
        assert_eq!(changes.len(), 4);
        assert!(matches!(&changes[2], CrmChange::Refused(r) if r.crm_id == "crm-2"));
        assert!(serde_json::from_str::<CrmDataset>("[1, 2]").is_err());
    }

    /// A queued change is hashed from the change (`submit_after`) and from its stored text
    /// (`park`); the two must agree, or a parked record would be tried again on every run. And
    /// the text must decode to the change itself, amounts and dates included.
    #[test]
    fn every_kind_of_change_survives_its_stored_text() {
        let json = r#"{
            "relations": [
                {"id": "crm-1", "kind": "both", "legal_name": "Bakkerij A B.V.",
                 "kvk_number": "12345678", "vat_number": "NL001234560B01",
                 "iban": "NL91ABNA0417164300", "email": "info@a.nl", "memo": "é \" \n",
                 "visit_address": {"street": "Dorpsstraat", "house_number": "1a",
                                   "postcode": "1234 AB", "city": "Utrecht"},
                 "contacts": [{"name": "Jan", "email": "jan@a.nl"}]}
            ],
            "archived_relations": ["crm-9"],
            "projects": [{"id": "prj-1", "number": "P0101", "description": "Bouw"}],
            "sales_invoices": [
                {"id": "inv-1", "number": "F-1", "date": "2024-02-28", "relation": "crm-1",
                 "lines": [{"net_amount": "1234567.89", "vat_category": "hoog",
                            "quantity": "0.333", "description": "Brood"}]}
            ],
            "purchase_invoices": [
                {"id": "pur-1", "number": "I-1", "date": "2024-03-01", "relation": "crm-1",
                 "lines": [{"net_amount": "-10.00", "vat_category": "laag"}]}
            ]
        }"#;
        let dataset: CrmDataset = serde_json::from_str(json).unwrap();
        assert!(dataset.refused().next().is_none(), "{:?}", dataset.refused);
        let changes = dataset.changes();
        assert_eq!(changes.len(), 5, "{changes:?}");
        for change in changes {
            let stored = crate::store::Payload::encode(&change).unwrap();
            assert_eq!(
                crate::hash::payload_hash(&change),
                crate::hash::payload_hash(&stored),
                "{change:?}"
            );
            assert_eq!(stored.decode::<CrmChange>().unwrap(), change);
        }
    }
}
