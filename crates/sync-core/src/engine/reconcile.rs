//! Reconciliation: the monthly integrity check between the CRM and SnelStart.
//!
//! [`SyncEngine::reconcile`] takes what the CRM holds (a [`CrmInventory`]: the engine's
//! [`CrmSource`] only yields changes, so the data is a parameter) and compares it with what
//! SnelStart holds, reporting typed [`Difference`]s:
//!
//! * relations present on one side only, and linked relations whose mapped fields differ
//!   (compared exactly as an update would: the CRM relation is converted by `mapping`, merged
//!   into the SnelStart record, and only the fields that merge would change are reported);
//! * sales and purchase invoices missing in SnelStart, present only in SnelStart, or booked
//!   with a different total;
//! * the open balance per customer (and per supplier) in the CRM versus SnelStart.
//!
//! **Cost.** Only paged lists are read, never one record at a time: `GET /relaties`,
//! `GET /verkoopfacturen` and `GET /inkoopfacturen`, 500 records per call, each only when the
//! inventory asks for that check. Reading *n* records takes `n / 500 + 1` calls (the last page
//! is the first short one). The country list is read once per engine, when it was not already.
//!
//! **Memory.** SnelStart's records are streamed page by page; what is kept is the relation
//! links, the id of every SnelStart record listed (offset paging repeats a row when a record is
//! inserted meanwhile; repeats are skipped), one open balance per SnelStart relation and, per
//! CRM record, a key and a total. A record created or deleted while the check runs can still
//! be missed by offset paging: a difference that is gone in the next run was such a race.
//!
//! **Sampling.** A [`Sampling`] other than [`Sampling::Full`] checks a deterministic subset:
//! a record is in the sample when the hash of its key (the CRM id for relations, the
//! factuurnummer for invoices, which both sides share) falls below a threshold. The same
//! records are therefore sampled on both sides and in every run, so a difference found once is
//! found again until it is fixed.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, Utc};
use crm_model::{PurchaseInvoice, Relation, SalesInvoice};
use futures::TryStreamExt;
use mapping::booking::{BookingContext, BookingPlan, plan_purchase_invoice, plan_sales_invoice};
use mapping::preflight::Problems;
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use snelstart_client::odata::Query;
use snelstart_client::ops;
use tracing::Instrument;
use uuid::Uuid;

use super::SyncEngine;
use super::relations::{RELATION_PARTS, RelationKey, as_write, field_changes, merged, writes_for};
use crate::crm::{CrmDataset, CrmSink, CrmSource};
use crate::error::EngineError;
use crate::report::FieldChange;
use crate::store::{EntityKind, LinkPart, Store, stream_links};

/// Links are read from the store in pages of this size.
const LINK_PAGE: usize = 500;

/// What the CRM holds, for [`SyncEngine::reconcile`].
///
/// Each part is optional: a part left `None` is not checked at all (and costs no call), for a
/// CRM that does not manage invoices, or a check that only looks at relations.
///
/// ```
/// use rust_decimal::Decimal;
/// use sync_core::CrmInventory;
///
/// let inventory = CrmInventory::new()
///     .with_relations(Vec::new())
///     .with_sales_invoices(Vec::new())
///     .with_customer_open_balances([("crm-1", Decimal::new(12100, 2))]);
/// assert!(inventory.relations.is_some());
/// assert!(inventory.purchase_invoices.is_none());
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CrmInventory {
    /// Every relation the CRM holds (archived ones too: they map to `nonactief`).
    pub relations: Option<Vec<Relation>>,
    /// Every sales invoice and credit note the CRM holds.
    pub sales_invoices: Option<Vec<SalesInvoice>>,
    /// Every purchase invoice the CRM holds.
    pub purchase_invoices: Option<Vec<PurchaseInvoice>>,
    /// The amount the CRM considers open per customer (CRM relation id → amount including
    /// VAT). A linked customer missing from the map counts as zero.
    pub customer_open_balances: Option<BTreeMap<String, Decimal>>,
    /// The amount the CRM considers open per supplier, as for customers.
    pub supplier_open_balances: Option<BTreeMap<String, Decimal>>,
}

impl CrmInventory {
    /// An inventory that checks nothing yet; add the parts the CRM has.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks relations against these.
    #[must_use]
    pub fn with_relations(mut self, relations: Vec<Relation>) -> Self {
        self.relations = Some(relations);
        self
    }

    /// Checks sales invoices against these.
    #[must_use]
    pub fn with_sales_invoices(mut self, invoices: Vec<SalesInvoice>) -> Self {
        self.sales_invoices = Some(invoices);
        self
    }

    /// Checks purchase invoices against these.
    #[must_use]
    pub fn with_purchase_invoices(mut self, invoices: Vec<PurchaseInvoice>) -> Self {
        self.purchase_invoices = Some(invoices);
        self
    }

    /// Checks the open balance per customer against these.
    #[must_use]
    pub fn with_customer_open_balances<K: Into<String>>(
        mut self,
        balances: impl IntoIterator<Item = (K, Decimal)>,
    ) -> Self {
        self.customer_open_balances =
            Some(balances.into_iter().map(|(k, v)| (k.into(), v)).collect());
        self
    }

    /// Checks the open balance per supplier against these.
    #[must_use]
    pub fn with_supplier_open_balances<K: Into<String>>(
        mut self,
        balances: impl IntoIterator<Item = (K, Decimal)>,
    ) -> Self {
        self.supplier_open_balances =
            Some(balances.into_iter().map(|(k, v)| (k.into(), v)).collect());
        self
    }
}

impl From<&CrmDataset> for CrmInventory {
    /// Relations (the archived ones inactive), sales and purchase invoices of a dataset; no
    /// open balances (a dataset has none).
    fn from(dataset: &CrmDataset) -> Self {
        let archived: HashSet<&str> = dataset
            .archived_relations
            .iter()
            .map(|id| id.as_str())
            .collect();
        let relations = dataset
            .relations
            .iter()
            .map(|r| {
                let mut r = r.clone();
                if archived.contains(r.id.as_str()) {
                    r.active = false;
                }
                r
            })
            .collect();
        CrmInventory::new()
            .with_relations(relations)
            .with_sales_invoices(dataset.sales_invoices.clone())
            .with_purchase_invoices(dataset.purchase_invoices.clone())
    }
}

/// Which records a reconciliation checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Sampling {
    /// Every record.
    #[default]
    Full,
    /// About this many records per thousand (0 to 1000), chosen by key hash.
    PerMille(u16),
    /// At most this many CRM records per record type (relations, sales invoices, purchase
    /// invoices), chosen by key hash; SnelStart-only records are sampled at the same rate.
    MaxRecords(usize),
}

/// Options of [`SyncEngine::reconcile`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconcileOptions {
    /// Which records to check.
    pub sampling: Sampling,
}

impl ReconcileOptions {
    /// Options with this sampling.
    pub fn sampled(sampling: Sampling) -> Self {
        Self { sampling }
    }
}

/// Sales or purchase side of an invoice or balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InvoiceSide {
    /// Sales invoices (verkoopfacturen), customers.
    Sales,
    /// Purchase invoices (inkoopfacturen), suppliers.
    Purchase,
}

impl InvoiceSide {
    fn invoice_word(self) -> &'static str {
        match self {
            InvoiceSide::Sales => "sales invoice",
            InvoiceSide::Purchase => "purchase invoice",
        }
    }

    fn party_word(self) -> &'static str {
        match self {
            InvoiceSide::Sales => "customer",
            InvoiceSide::Purchase => "supplier",
        }
    }
}

/// One difference between the CRM and SnelStart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Difference {
    /// A CRM relation with no SnelStart counterpart: never synced, or linked to a SnelStart
    /// relation that no longer exists (`snelstart_id` is then the lost link).
    RelationOnlyInCrm {
        /// The CRM id (followed by ` (supplier half)` for the second SnelStart relation of a
        /// relation that is both customer and supplier).
        crm_id: String,
        /// The CRM's name for it.
        name: String,
        /// The SnelStart relation the link points at, when there is a link.
        snelstart_id: Option<Uuid>,
        /// Why it cannot be synced, when the mapping refuses it.
        problems: Vec<String>,
    },
    /// A SnelStart relation with no CRM counterpart.
    #[serde(rename = "relation_only_in_snelstart")]
    RelationOnlyInSnelStart {
        /// Its id.
        snelstart_id: Uuid,
        /// Its relatiecode (`None` when SnelStart sent none).
        relatiecode: Option<i32>,
        /// Its name.
        name: Option<String>,
        /// The CRM record it is linked to, when the link points at a record the CRM no longer
        /// has.
        crm_id: Option<String>,
    },
    /// A linked relation whose mapped fields differ: syncing the CRM record again would make
    /// exactly these changes.
    RelationFieldsDiffer {
        /// The CRM id.
        crm_id: String,
        /// The SnelStart id.
        snelstart_id: Uuid,
        /// The relatiecode (`None` when SnelStart sent none).
        relatiecode: Option<i32>,
        /// Per field: SnelStart's value (`from`) and the CRM's mapped value (`to`).
        changes: Vec<FieldChange>,
    },
    /// A linked relation the mapping cannot convert any more, so its fields cannot be compared.
    RelationNotComparable {
        /// The CRM id.
        crm_id: String,
        /// The SnelStart id.
        snelstart_id: Uuid,
        /// What the mapping refuses.
        problems: Vec<String>,
    },
    /// A CRM invoice with no SnelStart invoice of the same factuurnummer.
    #[serde(rename = "invoice_missing_in_snelstart")]
    InvoiceMissingInSnelStart {
        /// Sales or purchase.
        side: InvoiceSide,
        /// The CRM id.
        crm_id: String,
        /// The factuurnummer.
        factuurnummer: String,
        /// The total the booking would have, when the mapping can plan it.
        crm_total: Option<Decimal>,
        /// Why it cannot be booked, when the mapping refuses it.
        problems: Vec<String>,
    },
    /// A SnelStart invoice with no CRM invoice of the same factuurnummer.
    #[serde(rename = "invoice_only_in_snelstart")]
    InvoiceOnlyInSnelStart {
        /// Sales or purchase.
        side: InvoiceSide,
        /// The SnelStart invoice id.
        snelstart_id: Uuid,
        /// The factuurnummer.
        factuurnummer: String,
        /// The relation it is booked on.
        relatie: Option<Uuid>,
        /// Its total.
        snelstart_total: Option<Decimal>,
    },
    /// An invoice booked with another total than the CRM's invoice has.
    InvoiceTotalDiffers {
        /// Sales or purchase.
        side: InvoiceSide,
        /// The CRM id.
        crm_id: String,
        /// The factuurnummer.
        factuurnummer: String,
        /// The total including VAT by the CRM (as the mapping books it).
        crm_total: Decimal,
        /// The total in SnelStart (`factuurBedrag`), `None` when SnelStart reports none.
        snelstart_total: Option<Decimal>,
    },
    /// An invoice present on both sides that the mapping cannot plan any more.
    InvoiceNotComparable {
        /// Sales or purchase.
        side: InvoiceSide,
        /// The CRM id.
        crm_id: String,
        /// The factuurnummer.
        factuurnummer: String,
        /// What the mapping refuses.
        problems: Vec<String>,
    },
    /// What SnelStart says was paid on an invoice (total minus `openstaandSaldo`) differs from
    /// the payments the read-back delivered to the CRM: a payment the CRM has not heard of yet
    /// (run [`read_back`](crate::SyncEngine::read_back)), or one that was reversed since.
    PaidDiffers {
        /// Sales or purchase.
        side: InvoiceSide,
        /// The CRM id.
        crm_id: String,
        /// The factuurnummer.
        factuurnummer: String,
        /// Paid according to SnelStart.
        snelstart_paid: Decimal,
        /// Paid according to the payments delivered to the CRM.
        crm_paid: Decimal,
    },
    /// A customer's (or supplier's) open balance differs.
    OpenBalanceDiffers {
        /// Customers (sales) or suppliers (purchase).
        side: InvoiceSide,
        /// The CRM relation id.
        crm_id: String,
        /// Open according to the CRM.
        crm_open: Decimal,
        /// Open according to SnelStart (sum of `openstaandSaldo`).
        snelstart_open: Decimal,
    },
}

impl Difference {
    /// A short stable label of the difference's type (the `type` of its JSON form).
    pub fn label(&self) -> &'static str {
        match self {
            Difference::RelationOnlyInCrm { .. } => "relation_only_in_crm",
            Difference::RelationOnlyInSnelStart { .. } => "relation_only_in_snelstart",
            Difference::RelationFieldsDiffer { .. } => "relation_fields_differ",
            Difference::RelationNotComparable { .. } => "relation_not_comparable",
            Difference::InvoiceMissingInSnelStart { .. } => "invoice_missing_in_snelstart",
            Difference::InvoiceOnlyInSnelStart { .. } => "invoice_only_in_snelstart",
            Difference::InvoiceTotalDiffers { .. } => "invoice_total_differs",
            Difference::InvoiceNotComparable { .. } => "invoice_not_comparable",
            Difference::PaidDiffers { .. } => "paid_differs",
            Difference::OpenBalanceDiffers { .. } => "open_balance_differs",
        }
    }

    /// The record the difference is about, as an administrator would look it up.
    pub fn record(&self) -> String {
        match self {
            Difference::RelationOnlyInCrm { crm_id, name, .. } => {
                format!("relation {crm_id} ({name})")
            }
            Difference::RelationOnlyInSnelStart {
                relatiecode,
                name,
                snelstart_id,
                ..
            } => format!(
                "relatie {} ({})",
                code_or_id(*relatiecode, snelstart_id),
                name.as_deref().unwrap_or("no name")
            ),
            Difference::RelationFieldsDiffer {
                crm_id,
                relatiecode,
                snelstart_id,
                ..
            } => format!(
                "relation {crm_id} = relatie {}",
                code_or_id(*relatiecode, snelstart_id)
            ),
            Difference::RelationNotComparable { crm_id, .. } => format!("relation {crm_id}"),
            Difference::InvoiceMissingInSnelStart {
                side,
                factuurnummer,
                ..
            }
            | Difference::InvoiceOnlyInSnelStart {
                side,
                factuurnummer,
                ..
            }
            | Difference::InvoiceTotalDiffers {
                side,
                factuurnummer,
                ..
            }
            | Difference::InvoiceNotComparable {
                side,
                factuurnummer,
                ..
            }
            | Difference::PaidDiffers {
                side,
                factuurnummer,
                ..
            } => format!("{} {factuurnummer}", side.invoice_word()),
            Difference::OpenBalanceDiffers { side, crm_id, .. } => {
                format!("{} {crm_id}", side.party_word())
            }
        }
    }

    /// What differs, in one line.
    pub fn detail(&self) -> String {
        match self {
            Difference::RelationOnlyInCrm {
                snelstart_id,
                problems,
                ..
            } => match (snelstart_id, problems.is_empty()) {
                (Some(id), _) => format!("linked SnelStart relation {id} no longer exists"),
                (None, true) => "not in SnelStart".to_owned(),
                (None, false) => format!("not in SnelStart: {}", problems.join("; ")),
            },
            Difference::RelationOnlyInSnelStart {
                snelstart_id,
                crm_id,
                ..
            } => match crm_id {
                Some(crm) => format!("{snelstart_id}: linked CRM record {crm} no longer exists"),
                None => format!("{snelstart_id}: not in the CRM"),
            },
            Difference::RelationFieldsDiffer { changes, .. } if changes.is_empty() => {
                "fields differ".to_owned()
            }
            Difference::RelationFieldsDiffer { changes, .. } => changes
                .iter()
                .map(|c| format!("{}: SnelStart {} vs CRM {}", c.field, c.from, c.to))
                .collect::<Vec<_>>()
                .join("; "),
            Difference::RelationNotComparable { problems, .. }
            | Difference::InvoiceNotComparable { problems, .. } => {
                format!("mapping refuses it: {}", problems.join("; "))
            }
            Difference::InvoiceMissingInSnelStart {
                crm_id,
                crm_total,
                problems,
                ..
            } => {
                let total = crm_total.map_or_else(|| "?".to_owned(), |t| t.to_string());
                let mut text = format!("CRM {crm_id} ({total}) not in SnelStart");
                if !problems.is_empty() {
                    text.push_str(&format!(": {}", problems.join("; ")));
                }
                text
            }
            Difference::PaidDiffers {
                crm_id,
                snelstart_paid,
                crm_paid,
                ..
            } => format!(
                "CRM {crm_id}: SnelStart says {snelstart_paid} paid, the CRM was told {crm_paid} \
                 (run the read-back)"
            ),
            Difference::InvoiceOnlyInSnelStart {
                snelstart_id,
                snelstart_total,
                ..
            } => format!(
                "{snelstart_id} ({}) not in the CRM",
                snelstart_total.map_or_else(|| "?".to_owned(), |t| t.to_string())
            ),
            Difference::InvoiceTotalDiffers {
                crm_total,
                snelstart_total,
                ..
            } => format!(
                "total CRM {crm_total} vs SnelStart {}",
                snelstart_total.map_or_else(|| "none".to_owned(), |t| t.to_string())
            ),
            Difference::OpenBalanceDiffers {
                crm_open,
                snelstart_open,
                ..
            } => format!("open CRM {crm_open} vs SnelStart {snelstart_open}"),
        }
    }
}

/// How many records a reconciliation compared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReconcileCounts {
    /// Relations in the sample (CRM side and SnelStart-only).
    pub relations: u64,
    /// Sales invoices in the sample.
    pub sales_invoices: u64,
    /// Purchase invoices in the sample.
    pub purchase_invoices: u64,
    /// Open balances compared (customers and suppliers).
    pub balances: u64,
}

/// The outcome of [`SyncEngine::reconcile`]. `Display` prints a table an administrator can
/// read; `Serialize` gives the same as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReconcileReport {
    /// The administration.
    pub admin: String,
    /// When the check ran.
    pub at: DateTime<Utc>,
    /// Which records were checked.
    pub sampling: Sampling,
    /// How many were compared.
    pub checked: ReconcileCounts,
    /// Every difference found, relations first, then invoices, then balances.
    pub differences: Vec<Difference>,
    /// SnelStart calls the check made.
    pub api_calls: u64,
}

impl ReconcileReport {
    /// True when no difference was found.
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }

    /// The differences with this [`Difference::label`].
    pub fn of_type<'a>(&'a self, label: &'a str) -> impl Iterator<Item = &'a Difference> + 'a {
        self.differences.iter().filter(move |d| d.label() == label)
    }
}

impl fmt::Display for ReconcileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.checked;
        writeln!(
            f,
            "reconciliation of administration {} at {} ({})",
            self.admin,
            self.at.format("%Y-%m-%d %H:%M:%S UTC"),
            match self.sampling {
                Sampling::Full => "full".to_owned(),
                Sampling::PerMille(n) => format!("sample of {n}/1000"),
                Sampling::MaxRecords(n) => format!("sample of at most {n} per type"),
            }
        )?;
        writeln!(
            f,
            "checked {} relations, {} sales invoices, {} purchase invoices, {} balances with {} SnelStart calls",
            c.relations, c.sales_invoices, c.purchase_invoices, c.balances, self.api_calls
        )?;
        if self.differences.is_empty() {
            return writeln!(f, "no differences");
        }
        let rows: Vec<(&str, String, String)> = self
            .differences
            .iter()
            .map(|d| (d.label(), d.record(), d.detail()))
            .collect();
        let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(10);
        let w1 = rows
            .iter()
            .map(|r| r.1.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        writeln!(f, "{:<w0$}  {:<w1$}  detail", "difference", "record")?;
        writeln!(
            f,
            "{}  {}  {}",
            "-".repeat(w0),
            "-".repeat(w1),
            "-".repeat(6)
        )?;
        for (label, record, detail) in rows {
            writeln!(f, "{label:<w0$}  {record:<w1$}  {detail}")?;
        }
        writeln!(f, "{} difference(s)", self.differences.len())
    }
}

/// The key hash sampling is decided on: the first eight bytes of SHA-256, so it is the same
/// on every platform and in every release.
fn key_hash(key: &str) -> u64 {
    let digest = Sha256::digest(key.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes)
}

/// Decides which keys are in the sample: those whose hash is below `limit` (all when `None`).
#[derive(Debug, Clone, Copy)]
struct Selector {
    limit: Option<u64>,
}

impl Selector {
    /// The selector for `sampling` over the CRM keys of one record type.
    fn new<'a>(sampling: Sampling, crm_keys: impl Iterator<Item = &'a str>) -> Self {
        let limit = match sampling {
            Sampling::Full => None,
            Sampling::PerMille(n) if n >= 1000 => None,
            Sampling::PerMille(n) => Some(u64::MAX / 1000 * u64::from(n)),
            Sampling::MaxRecords(n) => {
                let mut hashes: Vec<u64> = crm_keys.map(key_hash).collect();
                hashes.sort_unstable();
                hashes.dedup();
                // The n smallest hashes are in; the same threshold then samples the
                // SnelStart-only records at the same rate.
                hashes.get(n).copied()
            }
        };
        Selector { limit }
    }

    fn selects(&self, key: &str) -> bool {
        self.limit.is_none_or(|limit| key_hash(key) < limit)
    }
}

/// One CRM invoice as reconciliation needs it.
struct CrmInvoice {
    crm_id: String,
    number: String,
    relation: String,
    /// The booked total, or why the mapping cannot plan the invoice.
    total: Result<Decimal, Vec<String>>,
}

impl CrmInvoice {
    fn from_plan(
        crm_id: &str,
        number: &str,
        relation: &str,
        plan: Result<BookingPlan, Problems>,
    ) -> Self {
        let (number, total) = match plan {
            Ok(plan) => (plan.invoice_number, Ok(plan.total.amount())),
            Err(problems) => (
                number.trim().to_owned(),
                Err(problems.iter().map(ToString::to_string).collect()),
            ),
        };
        CrmInvoice {
            crm_id: crm_id.to_owned(),
            number,
            relation: relation.to_owned(),
            total,
        }
    }
}

/// One SnelStart invoice, sales or purchase, as reconciliation needs it.
struct SnelStartInvoice {
    id: Uuid,
    /// The verkoopboeking / inkoopboeking behind the invoice (payments are per booking).
    booking: Option<Uuid>,
    number: String,
    relatie: Option<Uuid>,
    total: Option<Decimal>,
    open: Option<Decimal>,
}

/// A relation link's key: the CRM id and the part.
type RelationLinkKey = (String, LinkPart);

/// How reports name a relation link ([`RelationKey::label`]).
fn label(key: &RelationLinkKey) -> String {
    RelationKey {
        crm_id: &key.0,
        part: &key.1,
    }
    .label()
}

/// The relation links of the administration, both ways.
#[derive(Default)]
struct RelationLinks {
    by_snelstart: HashMap<Uuid, RelationLinkKey>,
    by_crm: HashMap<RelationLinkKey, Uuid>,
}

impl RelationLinks {
    /// The SnelStart relations of a CRM relation (one, or two for customer-and-supplier).
    fn snelstart_ids(&self, crm_id: &str) -> Vec<Uuid> {
        RELATION_PARTS
            .iter()
            .filter_map(|part| {
                self.by_crm
                    .get(&(crm_id.to_owned(), (*part).clone()))
                    .copied()
            })
            .collect()
    }
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngine<S, Src, Snk> {
    /// Compares the CRM's records with SnelStart's and reports every difference: relations on
    /// one side only, linked relations whose mapped fields differ, invoices missing, extra or
    /// with another total, and open balances per customer and supplier. Only the parts the
    /// `crm` inventory provides are checked. Writes nothing.
    ///
    /// **Cost.** Only paged lists are read, never one record at a time: `GET /relaties`,
    /// `GET /verkoopfacturen` and `GET /inkoopfacturen`, 500 records per call, each only when
    /// the inventory asks for that check; *n* records take `n / 500 + 1` calls. The country
    /// list is read once per engine when it was not already. SnelStart's records are
    /// streamed; memory holds the relation links, one open balance per SnelStart relation and
    /// a key and total per CRM invoice.
    ///
    /// **Sampling** ([`ReconcileOptions::sampling`]) checks a deterministic subset: a record
    /// is in the sample when the hash of its key (the CRM id for relations, the factuurnummer
    /// for invoices, which both sides share) falls below a threshold, so the same records are
    /// sampled on both sides and in every run, and a difference found once is found again
    /// until it is fixed.
    ///
    /// # Errors
    ///
    /// [`EngineError::SnelStart`] when a list cannot be read, [`EngineError::Store`] when the
    /// links cannot.
    pub async fn reconcile(
        &self,
        crm: &CrmInventory,
        options: &ReconcileOptions,
    ) -> Result<ReconcileReport, EngineError> {
        let span = tracing::info_span!("sync.reconcile", admin = %self.inner.admin);
        self.reconcile_inner(crm, options).instrument(span).await
    }

    async fn reconcile_inner(
        &self,
        crm: &CrmInventory,
        options: &ReconcileOptions,
    ) -> Result<ReconcileReport, EngineError> {
        let calls_before = self.inner.client.budget_usage().total;
        let links = self.relation_links().await?;
        let relation_ids: Vec<&str> = crm
            .relations
            .iter()
            .flatten()
            .map(|r| r.id.as_str())
            .collect();
        // Relations and balances share one sample, keyed by CRM relation id, so a sampled
        // customer is checked both for its fields and for its balance.
        let balance_ids = [&crm.customer_open_balances, &crm.supplier_open_balances]
            .into_iter()
            .flatten()
            .flat_map(|m| m.keys().map(String::as_str));
        let sample_keys: BTreeSet<&str> = relation_ids.iter().copied().chain(balance_ids).collect();
        let relations = Selector::new(options.sampling, sample_keys.into_iter());
        let mut differences = Vec::new();
        let mut checked = ReconcileCounts::default();

        if let Some(crm_relations) = &crm.relations {
            checked.relations = self
                .reconcile_relations(crm_relations, &links, relations, &mut differences)
                .await?;
        }
        let mut balances: Vec<(InvoiceSide, HashMap<Uuid, Decimal>)> = Vec::new();
        for side in [InvoiceSide::Sales, InvoiceSide::Purchase] {
            let crm_invoices: Option<Vec<CrmInvoice>> = match side {
                InvoiceSide::Sales => crm.sales_invoices.as_ref().map(|list| {
                    list.iter()
                        .map(|i| {
                            let plan = plan_sales_invoice(
                                i,
                                &self.inner.config,
                                None,
                                &BookingContext::without_financial_year(),
                            );
                            CrmInvoice::from_plan(
                                i.id.as_str(),
                                &i.number,
                                i.relation.as_str(),
                                plan,
                            )
                        })
                        .collect()
                }),
                InvoiceSide::Purchase => crm.purchase_invoices.as_ref().map(|list| {
                    list.iter()
                        .map(|i| {
                            let plan = plan_purchase_invoice(
                                i,
                                &self.inner.config,
                                None,
                                &BookingContext::without_financial_year(),
                            );
                            CrmInvoice::from_plan(
                                i.id.as_str(),
                                &i.number,
                                i.relation.as_str(),
                                plan,
                            )
                        })
                        .collect()
                }),
            };
            let wants_balances = match side {
                InvoiceSide::Sales => crm.customer_open_balances.is_some(),
                InvoiceSide::Purchase => crm.supplier_open_balances.is_some(),
            };
            if crm_invoices.is_none() && !wants_balances {
                continue;
            }
            let (count, open) = self
                .reconcile_invoices(
                    side,
                    crm_invoices.as_deref(),
                    options.sampling,
                    &links,
                    &mut differences,
                )
                .await?;
            match side {
                InvoiceSide::Sales => checked.sales_invoices = count,
                InvoiceSide::Purchase => checked.purchase_invoices = count,
            }
            balances.push((side, open));
        }
        for (side, open) in balances {
            let crm_open = match side {
                InvoiceSide::Sales => crm.customer_open_balances.as_ref(),
                InvoiceSide::Purchase => crm.supplier_open_balances.as_ref(),
            };
            if let Some(crm_open) = crm_open {
                // Customers for the sales side, suppliers for the purchase side.
                let parties: Vec<&str> = crm
                    .relations
                    .iter()
                    .flatten()
                    .filter(|r| match side {
                        InvoiceSide::Sales => r.kind.is_customer(),
                        InvoiceSide::Purchase => r.kind.is_supplier(),
                    })
                    .map(|r| r.id.as_str())
                    .collect();
                checked.balances += compare_balances(
                    side,
                    crm_open,
                    &parties,
                    &open,
                    &links,
                    relations,
                    &mut differences,
                );
            }
        }
        let report = ReconcileReport {
            admin: self.inner.admin.to_string(),
            at: self.now(),
            sampling: options.sampling,
            checked,
            differences,
            api_calls: self
                .inner
                .client
                .budget_usage()
                .total
                .saturating_sub(calls_before),
        };
        tracing::info!(
            differences = report.differences.len(),
            api_calls = report.api_calls,
            "reconciliation done"
        );
        Ok(report)
    }

    async fn relation_links(&self) -> Result<RelationLinks, EngineError> {
        let mut links = RelationLinks::default();
        let mut stream = std::pin::pin!(stream_links(
            &self.inner.store,
            self.inner.admin.clone(),
            EntityKind::Relation,
            LINK_PAGE,
        ));
        while let Some(link) = stream.try_next().await? {
            let key = (link.crm_id, link.part);
            links.by_snelstart.insert(link.snelstart_id, key.clone());
            links.by_crm.insert(key, link.snelstart_id);
        }
        Ok(links)
    }

    /// Streams `GET /relaties` and compares; returns how many relations were in the sample.
    async fn reconcile_relations(
        &self,
        crm_relations: &[Relation],
        links: &RelationLinks,
        selector: Selector,
        differences: &mut Vec<Difference>,
    ) -> Result<u64, EngineError> {
        // Link key (CRM id, part) → (index of the CRM relation, index of its write).
        let mut by_link: HashMap<RelationLinkKey, (usize, usize)> = HashMap::new();
        for (i, r) in crm_relations.iter().enumerate() {
            for (w, part) in RELATION_PARTS.iter().enumerate() {
                by_link.insert((r.id.as_str().to_owned(), (*part).clone()), (i, w));
            }
        }
        let mut seen: HashSet<RelationLinkKey> = HashSet::new();
        let mut refused: HashSet<usize> = HashSet::new();
        let mut counted: u64 = 0;
        let mut listed: HashSet<Uuid> = HashSet::new();
        let query = Query::new();
        let problems_before = self.inner.client.decode_problem_total();
        let mut stream = std::pin::pin!(self.inner.client.list(ops::relaties::list(query)));
        while let Some(relatie) = stream.try_next().await? {
            let uuid: Uuid = relatie.id.into();
            if !listed.insert(uuid) {
                // Offset paging repeats a row when a record is inserted before it meanwhile.
                continue;
            }
            let link = links.by_snelstart.get(&uuid);
            let paired = link.and_then(|l| by_link.get(l).map(|pos| (l, *pos)));
            let Some((link, (index, write_index))) = paired else {
                // Unlinked, or linked to a CRM record the inventory does not have.
                let key = link.map_or_else(|| uuid.to_string(), |l| l.0.clone());
                if selector.selects(&key) {
                    counted += 1;
                    differences.push(Difference::RelationOnlyInSnelStart {
                        snelstart_id: uuid,
                        relatiecode: relatie.relatiecode,
                        name: relatie.naam.clone(),
                        crm_id: link.map(label),
                    });
                }
                continue;
            };
            seen.insert(link.clone());
            let relation = &crm_relations[index];
            if !selector.selects(relation.id.as_str()) {
                continue;
            }
            match writes_for(self, relation).await? {
                Err(problems) => {
                    if refused.insert(index) {
                        differences.push(Difference::RelationNotComparable {
                            crm_id: label(link),
                            snelstart_id: uuid,
                            problems: problems.iter().map(ToString::to_string).collect(),
                        });
                    }
                }
                Ok(writes) => match writes.get(write_index) {
                    // The CRM relation maps to fewer SnelStart relations than are linked.
                    None => differences.push(Difference::RelationOnlyInSnelStart {
                        snelstart_id: uuid,
                        relatiecode: relatie.relatiecode,
                        name: relatie.naam.clone(),
                        crm_id: Some(label(link)),
                    }),
                    Some(write) => {
                        let changes = field_changes(&as_write(&relatie), &merged(&relatie, write));
                        if !changes.is_empty() {
                            differences.push(Difference::RelationFieldsDiffer {
                                crm_id: label(link),
                                snelstart_id: uuid,
                                relatiecode: relatie.relatiecode,
                                changes,
                            });
                        }
                    }
                },
            }
        }
        // CRM relations (or their second SnelStart relation) that SnelStart did not list.
        let skipped =
            super::context::skipped_since(&self.inner.client, problems_before, "relaties");
        // A linked relation not listed was possibly skipped: by its id, or any when an id was
        // unreadable.
        let unread = |uuid: &Uuid| {
            skipped.iter().any(|s| match s {
                None => true,
                Some(id) => id.parse::<Uuid>().is_ok_and(|s| s == *uuid),
            })
        };
        for (index, relation) in crm_relations.iter().enumerate() {
            if !selector.selects(relation.id.as_str()) {
                continue;
            }
            counted += 1;
            if refused.contains(&index) {
                continue;
            }
            let (expected, problems) = match writes_for(self, relation).await? {
                Ok(writes) => (writes.len(), Vec::new()),
                Err(problems) => (1, problems.iter().map(ToString::to_string).collect()),
            };
            for part in RELATION_PARTS.iter().take(expected) {
                let id = (relation.id.as_str().to_owned(), (*part).clone());
                let linked = links.by_crm.get(&id).copied();
                if !seen.contains(&id)
                    && let Some(uuid) = linked.filter(|u| unread(u))
                {
                    // Its SnelStart relation may be the item that did not decode: not missing.
                    differences.push(Difference::RelationNotComparable {
                        crm_id: label(&id),
                        snelstart_id: uuid,
                        problems: vec![
                            "SnelStart listed relations the client could not decode; this \
                             relation may be one of them (see status().skipped_items)"
                                .to_owned(),
                        ],
                    });
                } else if !seen.contains(&id) {
                    differences.push(Difference::RelationOnlyInCrm {
                        snelstart_id: links.by_crm.get(&id).copied(),
                        crm_id: label(&id),
                        name: relation.legal_name.clone(),
                        problems: problems.clone(),
                    });
                }
            }
        }
        Ok(counted)
    }

    /// Streams the sales or purchase invoices, compares them with the CRM's (when given) and
    /// sums the open amount per SnelStart relation. Returns how many invoices were in the
    /// sample and the open amounts.
    async fn reconcile_invoices(
        &self,
        side: InvoiceSide,
        crm_invoices: Option<&[CrmInvoice]>,
        sampling: Sampling,
        links: &RelationLinks,
        differences: &mut Vec<Difference>,
    ) -> Result<(u64, HashMap<Uuid, Decimal>), EngineError> {
        let selector = Selector::new(
            sampling,
            crm_invoices
                .unwrap_or_default()
                .iter()
                .map(|i| i.number.as_str()),
        );
        let mut by_number: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, invoice) in crm_invoices.unwrap_or_default().iter().enumerate() {
            if selector.selects(&invoice.number) {
                by_number
                    .entry(invoice.number.as_str())
                    .or_default()
                    .push(i);
            }
        }
        let mut matched: HashSet<usize> = HashSet::new();
        let mut open: HashMap<Uuid, Decimal> = HashMap::new();
        let mut counted: u64 = 0;
        // Creation order (SnelStart's default) without `$orderby`, whose support the API
        // documentation leaves uncertain; rows repeated by offset paging are skipped by id.
        let query = Query::new;
        let mut listed: HashSet<Uuid> = HashSet::new();
        let mut stream: std::pin::Pin<
            Box<
                dyn futures::Stream<Item = Result<SnelStartInvoice, snelstart_client::Error>>
                    + Send,
            >,
        > = match side {
            InvoiceSide::Sales => Box::pin(
                self.inner
                    .client
                    .list(ops::verkoopfacturen::list(query()))
                    .map_ok(|f| SnelStartInvoice {
                        id: f.id.into(),
                        booking: f.verkoop_boeking.map(|b| b.id.as_uuid()),
                        number: f.factuurnummer,
                        relatie: f.relatie.map(|r| r.id.into()),
                        total: f.factuur_bedrag,
                        open: f.openstaand_saldo,
                    }),
            ),
            InvoiceSide::Purchase => Box::pin(
                self.inner
                    .client
                    .list(ops::inkoopfacturen::list(query()))
                    .map_ok(|f| SnelStartInvoice {
                        id: f.id.into(),
                        booking: f.inkoop_boeking.map(|b| b.id.as_uuid()),
                        number: f.factuurnummer,
                        relatie: f.relatie.map(|r| r.id.into()),
                        total: f.factuur_bedrag,
                        open: f.openstaand_saldo,
                    }),
            ),
        };
        while let Some(invoice) = stream.try_next().await? {
            if !listed.insert(invoice.id) {
                continue;
            }
            if let (Some(relatie), Some(amount)) = (invoice.relatie, invoice.open) {
                *open.entry(relatie).or_default() += amount;
            }
            let Some(crm_invoices) = crm_invoices else {
                continue;
            };
            if !selector.selects(&invoice.number) {
                continue;
            }
            counted += 1;
            // Purchase invoice numbers are unique per supplier only: with several candidates,
            // the one whose relation is linked to the invoice's relatie is the pair.
            let candidates = by_number
                .get(invoice.number.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let pair = match candidates {
                [] => None,
                [only] => Some(*only),
                several => several.iter().copied().find(|&i| {
                    invoice.relatie.is_some_and(|r| {
                        links.snelstart_ids(&crm_invoices[i].relation).contains(&r)
                    })
                }),
            };
            let Some(index) = pair.filter(|i| !matched.contains(i)) else {
                differences.push(Difference::InvoiceOnlyInSnelStart {
                    side,
                    snelstart_id: invoice.id,
                    factuurnummer: invoice.number,
                    relatie: invoice.relatie,
                    snelstart_total: invoice.total,
                });
                continue;
            };
            matched.insert(index);
            let crm_invoice = &crm_invoices[index];
            // Paid in SnelStart against what the CRM was told (a store read, no call).
            if let (Some(booking), Some(total), Some(open)) =
                (invoice.booking, invoice.total, invoice.open)
            {
                let ledger_side = match side {
                    InvoiceSide::Sales => crate::LedgerSide::Sales,
                    InvoiceSide::Purchase => crate::LedgerSide::Purchases,
                };
                let snelstart_paid = total - open;
                let crm_paid = self
                    .delivered_paid(ledger_side, booking)
                    .await?
                    .unwrap_or_default();
                if snelstart_paid != crm_paid {
                    differences.push(Difference::PaidDiffers {
                        side,
                        crm_id: crm_invoice.crm_id.clone(),
                        factuurnummer: invoice.number.clone(),
                        snelstart_paid,
                        crm_paid,
                    });
                }
            }
            match &crm_invoice.total {
                Ok(total) if invoice.total != Some(*total) => {
                    differences.push(Difference::InvoiceTotalDiffers {
                        side,
                        crm_id: crm_invoice.crm_id.clone(),
                        factuurnummer: invoice.number,
                        crm_total: *total,
                        snelstart_total: invoice.total,
                    });
                }
                Ok(_) => {}
                Err(problems) => differences.push(Difference::InvoiceNotComparable {
                    side,
                    crm_id: crm_invoice.crm_id.clone(),
                    factuurnummer: invoice.number,
                    problems: problems.clone(),
                }),
            }
        }
        let mut missing: BTreeSet<usize> = BTreeSet::new();
        for indices in by_number.values() {
            missing.extend(indices.iter().filter(|i| !matched.contains(i)));
        }
        for index in missing {
            let Some(crm_invoice) = crm_invoices.and_then(|list| list.get(index)) else {
                continue;
            };
            counted += 1;
            let (crm_total, problems) = match &crm_invoice.total {
                Ok(t) => (Some(*t), Vec::new()),
                Err(p) => (None, p.clone()),
            };
            differences.push(Difference::InvoiceMissingInSnelStart {
                side,
                crm_id: crm_invoice.crm_id.clone(),
                factuurnummer: crm_invoice.number.clone(),
                crm_total,
                problems,
            });
        }
        Ok((counted, open))
    }
}

/// Compares open balances per CRM relation; returns how many were compared.
fn compare_balances(
    side: InvoiceSide,
    crm_open: &BTreeMap<String, Decimal>,
    inventory_relations: &[&str],
    snelstart_open: &HashMap<Uuid, Decimal>,
    links: &RelationLinks,
    selector: Selector,
    differences: &mut Vec<Difference>,
) -> u64 {
    // Every customer the CRM names, plus every inventory relation (absent means nothing
    // open), as long as it is linked: unlinked ones are reported as relations already.
    let mut ids: BTreeSet<&str> = crm_open.keys().map(String::as_str).collect();
    ids.extend(inventory_relations.iter().copied());
    let mut compared = 0;
    for crm_id in ids {
        if !selector.selects(crm_id) {
            continue;
        }
        let snelstart_ids = links.snelstart_ids(crm_id);
        if snelstart_ids.is_empty() {
            continue;
        }
        compared += 1;
        let theirs: Decimal = snelstart_ids
            .iter()
            .filter_map(|id| snelstart_open.get(id))
            .copied()
            .sum();
        let ours = crm_open.get(crm_id).copied().unwrap_or_default();
        if ours != theirs {
            differences.push(Difference::OpenBalanceDiffers {
                side,
                crm_id: crm_id.to_owned(),
                crm_open: ours,
                snelstart_open: theirs,
            });
        }
    }
    compared
}

/// A relation as an administrator looks it up: by relatiecode, by id when SnelStart sent none.
fn code_or_id(relatiecode: Option<i32>, id: &Uuid) -> String {
    relatiecode.map_or_else(|| id.to_string(), |c| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_deterministic_and_near_the_rate() {
        let keys: Vec<String> = (0..10_000).map(|i| format!("crm-{i}")).collect();
        let half = Selector::new(Sampling::PerMille(500), std::iter::empty());
        let picked: Vec<&String> = keys.iter().filter(|k| half.selects(k)).collect();
        assert!((4_700..5_300).contains(&picked.len()), "{}", picked.len());
        let again: Vec<&String> = keys.iter().filter(|k| half.selects(k)).collect();
        assert_eq!(picked, again);
        let none = Selector::new(Sampling::PerMille(0), std::iter::empty());
        assert!(keys.iter().all(|k| !none.selects(k)));
        let all = Selector::new(Sampling::PerMille(1000), std::iter::empty());
        assert!(keys.iter().all(|k| all.selects(k)));
    }

    #[test]
    fn max_records_picks_exactly_that_many_crm_keys() {
        let keys: Vec<String> = (0..1_000).map(|i| format!("F2026-{i:04}")).collect();
        for n in [0usize, 1, 37, 999, 1_000, 5_000] {
            let s = Selector::new(Sampling::MaxRecords(n), keys.iter().map(String::as_str));
            let picked = keys.iter().filter(|k| s.selects(k)).count();
            assert_eq!(picked, n.min(keys.len()), "max {n}");
        }
    }

    #[test]
    fn the_report_prints_a_table() {
        let report = ReconcileReport {
            admin: "test".into(),
            at: DateTime::from_timestamp(1_780_000_000, 0).unwrap(),
            sampling: Sampling::Full,
            checked: ReconcileCounts::default(),
            differences: vec![
                Difference::InvoiceTotalDiffers {
                    side: InvoiceSide::Sales,
                    crm_id: "inv-1".into(),
                    factuurnummer: "F-1".into(),
                    crm_total: Decimal::new(12100, 2),
                    snelstart_total: Some(Decimal::new(12000, 2)),
                },
                Difference::OpenBalanceDiffers {
                    side: InvoiceSide::Purchase,
                    crm_id: "sup-1".into(),
                    crm_open: Decimal::ZERO,
                    snelstart_open: Decimal::new(500, 2),
                },
            ],
            api_calls: 3,
        };
        let text = report.to_string();
        assert!(
            text.contains("invoice_total_differs  sales invoice F-1"),
            "{text}"
        );
        assert!(
            text.contains("total CRM 121.00 vs SnelStart 120.00"),
            "{text}"
        );
        assert!(text.contains("supplier sup-1"), "{text}");
        assert!(text.contains("2 difference(s)"), "{text}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["differences"][0]["type"], "invoice_total_differs");
        assert_eq!(json["sampling"]["mode"], "full");
    }

    #[test]
    fn labels_are_the_json_type() {
        let id = Uuid::nil();
        let all = [
            Difference::RelationOnlyInCrm {
                crm_id: "a".into(),
                name: "A".into(),
                snelstart_id: None,
                problems: vec![],
            },
            Difference::RelationOnlyInSnelStart {
                snelstart_id: id,
                relatiecode: Some(1),
                name: None,
                crm_id: None,
            },
            Difference::RelationFieldsDiffer {
                crm_id: "a".into(),
                snelstart_id: id,
                relatiecode: Some(1),
                changes: vec![],
            },
            Difference::RelationNotComparable {
                crm_id: "a".into(),
                snelstart_id: id,
                problems: vec![],
            },
            Difference::InvoiceMissingInSnelStart {
                side: InvoiceSide::Sales,
                crm_id: "i".into(),
                factuurnummer: "F".into(),
                crm_total: None,
                problems: vec![],
            },
            Difference::InvoiceOnlyInSnelStart {
                side: InvoiceSide::Sales,
                snelstart_id: id,
                factuurnummer: "F".into(),
                relatie: None,
                snelstart_total: None,
            },
            Difference::InvoiceTotalDiffers {
                side: InvoiceSide::Sales,
                crm_id: "i".into(),
                factuurnummer: "F".into(),
                crm_total: Decimal::ZERO,
                snelstart_total: None,
            },
            Difference::InvoiceNotComparable {
                side: InvoiceSide::Sales,
                crm_id: "i".into(),
                factuurnummer: "F".into(),
                problems: vec![],
            },
            Difference::OpenBalanceDiffers {
                side: InvoiceSide::Sales,
                crm_id: "a".into(),
                crm_open: Decimal::ZERO,
                snelstart_open: Decimal::ONE,
            },
        ];
        for d in all {
            let json = serde_json::to_value(&d).unwrap();
            assert_eq!(json["type"], d.label());
            assert!(!d.record().is_empty() && !d.detail().is_empty());
        }
    }
}
