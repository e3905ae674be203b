//! Bookings: sales invoices and credit notes → verkoopboekingen, purchase invoices →
//! inkoopboekingen, with their attachments.
//!
//! ## The path of an invoice
//!
//! 1. **Chart of accounts.** The ledgers and cost centres are read once per run
//!    ([`RunContext::chart`]). A batch with bookings is refused as a whole when the mapping
//!    configuration does not validate against that chart ([`prepare_batch`]): the claimed items
//!    go back to the queue and [`SyncEngine::process`] answers
//!    [`EngineError::InvalidConfig`] with every problem.
//! 2. **Pre-flight.** `mapping` plans the booking (ledger and VAT kind per line, VAT lines per
//!    kind, `factuurbedrag` exact, cost centre per line) and checks it against the chart:
//!    anything SnelStart would refuse fails the item before any call, with the record and the
//!    field named. A cost centre that is missing may still be on its way (its project is
//!    queued): the item waits a few rounds before pre-flight fails it.
//! 3. **Dependencies.** The invoice's relation must be linked. Under the mapping's
//!    two-relations policy a CRM relation that is both customer and supplier has the customer
//!    as its whole-record link and the supplier as its supplier-half link
//!    ([`LinkPart::SupplierHalf`], a field of the link key, not a suffix of the CRM id): sales
//!    book on the first, purchases on the supplier half when it exists. An unlinked relation defers the item (or fails it, naming the
//!    relation's own failure, when that relation failed or waits for review). A booking is
//!    never written against a missing relation.
//! 4. **Exactly once.** The natural key is the factuurnummer (per supplier for purchases). An
//!    uncertain create, a retried item, or BOE-0021 looks the invoice up
//!    (`GET /verkoopfacturen?$filter=Factuurnummer eq '…'`, resp. `/inkoopfacturen`), follows
//!    its booking id and links it when it is ours (same relation and total); otherwise the
//!    item fails: the number is used by another booking.
//! 5. **Changes.** An unchanged booking (same payload hash) makes no call. A changed one is
//!    replaced (PUT) only while SnelStart allows it: the open amount must still equal the
//!    invoice total (no payments) — checked *before* the PUT — and SnelStart must not refuse
//!    (locked period BOE-0042/BOE-0051, payments BOE-0083, linked records BOE-0046..0050).
//!    Otherwise the item fails with the reason and the correction strategy in its details:
//!    a credit note that reverses the booked invoice plus a new invoice with a new number.
//!    Never a silent edit.
//! 6. **Attachments** become work items of their own (kind `attachment`, CRM id
//!    [`attachment_crm_id`], operation `upload`), queued when the booking is written, so
//!    a failing attachment neither undoes nor repeats the booking. Each is uploaded once: a
//!    link per attachment (the invoice's CRM id with [`LinkPart::Attachment`] by file name),
//!    and after an uncertain upload the booking's documents are listed by
//!    file name before uploading again. The item's payload carries the file (base64), so a
//!    queued attachment costs about 4/3 of its size in the store until it is pruned.

use crm_model::{Attachment, CrmId, InvoiceLine, PurchaseInvoice, SalesInvoice};
use mapping::booking::{BookingContext, BookingPlan, plan_purchase_invoice, plan_sales_invoice};
use mapping::config::ChartOfAccounts;
use mapping::convert::{inkoopboeking_from_plan, verkoopboeking_from_plan};
use mapping::preflight::{ProblemKind, Problems, limits};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use snelstart_client::error::KnownCode;
use snelstart_client::models::{
    DocumentContent, DocumentType, Inkoopboeking, Inkoopfactuur, Verkoopboeking, Verkoopfactuur,
};
use snelstart_client::odata::{Filter, Property, Query};
use snelstart_client::{DocumentId, InkoopboekingId, RelatieId, VerkoopboekingId, ops};
use uuid::Uuid;

use super::context::BatchLinkKey;
use super::create_once::{self, CreateOnce, Outcome};
use super::handler::HandlerCtx;
use super::relations::{HandlerError, HandlerResult, preflight_failure};
use super::{ItemResult, RunContext, SyncEngine};
use crate::crm::{CrmChange, CrmSink, CrmSource, SinkEvent};
use crate::engine::context::read_complete;
use crate::error::{EngineError, FailureKind, stored_from_client};
use crate::hash::payload_hash;
use crate::report::{Action, FieldChange, PlanEntry, PlannedAction};
use crate::store::{
    EntityKind, IdLink, LinkKey, LinkPart, NewWorkItem, ReplayFilter, Store, StoredError, WorkItem,
    WorkItemId, WorkState, WorkSummary,
};

/// The queue operation of an attachment item.
pub(crate) const OP_UPLOAD: &str = "upload";

/// How many times a booking waits for a relation or cost centre that is not there yet before
/// it fails with the missing dependency named.
const DEPENDENCY_WAITS: u32 = 8;

/// SnelStart's refusals to change a booking that is already part of the books.
const LOCKED_CODES: &[&str] = &[
    "BOE-0042", "BOE-0051", "BOE-0083", "BOE-0046", "BOE-0047", "BOE-0048", "BOE-0049", "BOE-0050",
];

/// Sales or purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Side {
    Sales,
    Purchase,
}

impl Side {
    fn kind(self) -> EntityKind {
        match self {
            Side::Sales => EntityKind::SalesInvoice,
            Side::Purchase => EntityKind::PurchaseInvoice,
        }
    }

    fn document_type(self) -> DocumentType {
        match self {
            Side::Sales => DocumentType::Verkoopboekingen,
            Side::Purchase => DocumentType::Inkoopboekingen,
        }
    }

    fn bookings_path(self) -> &'static str {
        match self {
            Side::Sales => "verkoopboekingen",
            Side::Purchase => "inkoopboekingen",
        }
    }

    /// The parts of its CRM relation a booking may go to, in order of preference: the
    /// supplier half for purchases when the relation has one, else the whole relation.
    fn relation_parts(self) -> &'static [LinkPart] {
        match self {
            // The customer is the whole record under the two-relations policy.
            Side::Sales => &[LinkPart::Whole],
            Side::Purchase => &[LinkPart::SupplierHalf, LinkPart::Whole],
        }
    }
}

/// What both invoice kinds share, borrowed.
struct Invoice<'a> {
    side: Side,
    id: &'a CrmId,
    relation: &'a CrmId,
    lines: &'a [InvoiceLine],
    attachments: &'a [Attachment],
    sales: Option<&'a SalesInvoice>,
    purchase: Option<&'a PurchaseInvoice>,
}

impl<'a> Invoice<'a> {
    fn sales(i: &'a SalesInvoice) -> Self {
        Invoice {
            side: Side::Sales,
            id: &i.id,
            relation: &i.relation,
            lines: &i.lines,
            attachments: &i.attachments,
            sales: Some(i),
            purchase: None,
        }
    }

    fn purchase(i: &'a PurchaseInvoice) -> Self {
        Invoice {
            side: Side::Purchase,
            id: &i.id,
            relation: &i.relation,
            lines: &i.lines,
            attachments: &i.attachments,
            sales: None,
            purchase: Some(i),
        }
    }

    fn plan(
        &self,
        config: &mapping::config::MappingConfig,
        chart: &ChartOfAccounts,
        context: &BookingContext,
    ) -> Result<BookingPlan, Problems> {
        match (self.sales, self.purchase) {
            (Some(s), _) => plan_sales_invoice(s, config, Some(chart), context),
            (_, Some(p)) => plan_purchase_invoice(p, config, Some(chart), context),
            // Both constructors set one of them.
            (None, None) => unreachable!("an invoice is sales or purchase"),
        }
    }
}

/// The wire body of a booking.
#[derive(Debug, Clone)]
enum Body {
    Sales(Box<Verkoopboeking>),
    Purchase(Box<Inkoopboeking>),
}

impl Body {
    fn build(plan: &BookingPlan, chart: &ChartOfAccounts, relatie: RelatieId, side: Side) -> Self {
        match side {
            Side::Sales => Body::Sales(Box::new(verkoopboeking_from_plan(plan, chart, relatie))),
            Side::Purchase => {
                Body::Purchase(Box::new(inkoopboeking_from_plan(plan, chart, relatie)))
            }
        }
    }

    fn hash(&self) -> String {
        match self {
            Body::Sales(b) => payload_hash(b),
            Body::Purchase(b) => payload_hash(b),
        }
    }

    fn total(&self) -> Option<Decimal> {
        match self {
            Body::Sales(b) => b.factuurbedrag,
            Body::Purchase(b) => b.factuurbedrag,
        }
    }

    fn number(&self) -> &str {
        match self {
            Body::Sales(b) => b.factuurnummer.as_deref().unwrap_or_default(),
            Body::Purchase(b) => b.factuurnummer.as_deref().unwrap_or_default(),
        }
    }

    fn relatie(&self) -> Option<Uuid> {
        match self {
            Body::Sales(b) => b.klant.as_ref().map(|r| r.id.as_uuid()),
            Body::Purchase(b) => b.leverancier.as_ref().map(|r| r.id.as_uuid()),
        }
    }

    /// The natural key of the link: the factuurnummer, which SnelStart keeps unique per
    /// administration for sales and per supplier for purchases.
    fn natural_key(&self) -> String {
        match self {
            Body::Sales(_) => self.number().to_owned(),
            Body::Purchase(_) => {
                format!("{}:{}", self.relatie().unwrap_or_default(), self.number())
            }
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            Body::Sales(b) => serde_json::to_value(b),
            Body::Purchase(b) => serde_json::to_value(b),
        }
        .unwrap_or_default()
    }

    /// `POST`: the new booking's id (`None` when SnelStart answered without one).
    async fn create(
        &self,
        client: &snelstart_client::Client,
    ) -> Result<Option<Uuid>, snelstart_client::Error> {
        let id = match self {
            Body::Sales(b) => client
                .execute(ops::verkoopboekingen::create(b)?)
                .await?
                .id
                .map(|i| i.as_uuid()),
            Body::Purchase(b) => client
                .execute(ops::inkoopboekingen::create(b)?)
                .await?
                .id
                .map(|i| i.as_uuid()),
        };
        Ok(id)
    }

    /// `PUT`: replaces booking `id` with this body.
    async fn update(
        &self,
        client: &snelstart_client::Client,
        id: Uuid,
    ) -> Result<(), snelstart_client::Error> {
        match self {
            Body::Sales(b) => {
                let mut b = (**b).clone();
                let id = VerkoopboekingId::from_uuid(id);
                b.id = Some(id);
                client
                    .execute(ops::verkoopboekingen::update(id, &b)?)
                    .await?;
            }
            Body::Purchase(b) => {
                let mut b = (**b).clone();
                let id = InkoopboekingId::from_uuid(id);
                b.id = Some(id);
                client
                    .execute(ops::inkoopboekingen::update(id, &b)?)
                    .await?;
            }
        }
        Ok(())
    }
}

/// The open-item view of a booking: a verkoopfactuur or inkoopfactuur.
#[derive(Debug, Clone)]
struct Factuur {
    booking: Option<Uuid>,
    relatie: Option<Uuid>,
    total: Option<Decimal>,
    open: Option<Decimal>,
}

impl From<Verkoopfactuur> for Factuur {
    fn from(f: Verkoopfactuur) -> Self {
        Factuur {
            booking: f.verkoop_boeking.map(|r| r.id.as_uuid()),
            relatie: f.relatie.map(|r| r.id.as_uuid()),
            total: f.factuur_bedrag,
            open: f.openstaand_saldo,
        }
    }
}

impl From<Inkoopfactuur> for Factuur {
    fn from(f: Inkoopfactuur) -> Self {
        Factuur {
            booking: f.inkoop_boeking.map(|r| r.id.as_uuid()),
            relatie: f.relatie.map(|r| r.id.as_uuid()),
            total: f.factuur_bedrag,
            open: f.openstaand_saldo,
        }
    }
}

impl Factuur {
    /// Whether payments were allocated to it (the open amount no longer equals the total).
    fn has_payments(&self) -> bool {
        match (self.open, self.total) {
            (Some(open), Some(total)) => open != total,
            _ => false,
        }
    }
}

fn property(name: &'static str) -> Property {
    // The names are literals checked by the unit tests below.
    Property::new(name).unwrap_or_else(|_| Property::id())
}

/// The facturen with this number (for purchases: of this supplier).
async fn find_facturen(
    client: &snelstart_client::Client,
    side: Side,
    number: &str,
    relatie: Option<Uuid>,
) -> Result<Vec<Factuur>, snelstart_client::Error> {
    let query = Query::new()
        .filter(Filter::eq(property("Factuurnummer"), number))
        .top(50)
        .unwrap_or_default();
    let found: Vec<Factuur> = match side {
        Side::Sales => client
            .execute(ops::verkoopfacturen::list(query).single())
            .await?
            .into_iter()
            .map(Factuur::from)
            .collect(),
        Side::Purchase => client
            .execute(ops::inkoopfacturen::list(query).single())
            .await?
            .into_iter()
            .map(Factuur::from)
            .collect(),
    };
    Ok(found
        .into_iter()
        .filter(|f| side == Side::Sales || relatie.is_none() || f.relatie == relatie)
        .collect())
}

/// A booking's part of the exactly-once create (see [`create_once`]): the natural key is the
/// factuurnummer (per supplier for purchases), read through the open-item lists.
struct BookingCreate<'a> {
    side: Side,
    crm_id: &'a str,
    body: &'a Body,
}

/// A booking as created (its id) or as found by factuurnummer (with the invoice it holds).
#[derive(Debug)]
struct BookingRecord {
    id: Option<Uuid>,
    factuur: Option<Factuur>,
}

impl CreateOnce for BookingCreate<'_> {
    type Record = BookingRecord;

    fn kind(&self) -> EntityKind {
        self.side.kind()
    }

    fn crm_id(&self) -> &str {
        self.crm_id
    }

    fn summary(&self) -> String {
        format!(
            "POST /{} factuurnummer={} factuurbedrag={}",
            self.side.bookings_path(),
            self.body.number(),
            self.body.total().unwrap_or_default()
        )
    }

    fn duplicate_code(&self) -> Option<KnownCode> {
        Some(KnownCode::DuplicateFactuurnummer)
    }

    fn id(record: &BookingRecord) -> Option<Uuid> {
        record.id
    }

    async fn create<S: Store, Snk: CrmSink>(
        &self,
        cx: &HandlerCtx<'_, S, Snk>,
    ) -> Result<Option<BookingRecord>, snelstart_client::Error> {
        Ok(self.body.create(cx.client).await?.map(|id| BookingRecord {
            id: Some(id),
            factuur: None,
        }))
    }

    async fn find<S: Store, Snk: CrmSink>(
        &self,
        cx: &HandlerCtx<'_, S, Snk>,
    ) -> Result<Option<BookingRecord>, snelstart_client::Error> {
        let facturen = find_facturen(
            cx.client,
            self.side,
            self.body.number(),
            self.body.relatie(),
        )
        .await?;
        Ok(facturen.into_iter().next().map(|f| BookingRecord {
            id: f.booking,
            factuur: Some(f),
        }))
    }

    async fn is_ours<S: Store, Snk: CrmSink>(
        &self,
        _cx: &HandlerCtx<'_, S, Snk>,
        found: &BookingRecord,
    ) -> Result<Result<(), StoredError>, HandlerError> {
        let Some(factuur) = &found.factuur else {
            return Ok(Ok(()));
        };
        let body = self.body;
        // Ours: same relation and total, and a booking to link.
        if factuur.relatie == body.relatie() && factuur.total == body.total() && found.id.is_some()
        {
            return Ok(Ok(()));
        }
        Ok(Err(FailureKind::Permanent
            .error(format!(
                "factuurnummer `{}` already used by another booking (SnelStart booking {}, \
                 relation {}, total {}; this invoice: relation {}, total {}); give the invoice \
                 a new number, or correct the other booking, then replay",
                body.number(),
                factuur.booking.map(|b| b.to_string()).unwrap_or_default(),
                factuur.relatie.map(|r| r.to_string()).unwrap_or_default(),
                factuur.total.map(|t| t.to_string()).unwrap_or_default(),
                body.relatie().map(|r| r.to_string()).unwrap_or_default(),
                body.total().map(|t| t.to_string()).unwrap_or_default(),
            ))
            .with_code(KnownCode::DuplicateFactuurnummer.code())
            .with_details(serde_json::json!([{ "path": "number" }]))))
    }
}

/// The parts of a queued invoice's change its links are keyed by, read without decoding the
/// rest of the change (its lines, its attachments' bytes). Mirrors the field names of
/// [`SalesInvoice`] and [`PurchaseInvoice`] in [`CrmChange`]'s form (`{"type", "record"}`);
/// should they drift, the batch's read finds nothing and every item reads its own links, as
/// before (the unit test `batch_link_keys_follow_the_changes` checks they agree).
#[derive(Deserialize)]
struct QueuedInvoiceKeys {
    record: InvoiceKeys,
}

#[derive(Deserialize)]
struct InvoiceKeys {
    id: String,
    relation: String,
    #[serde(default)]
    attachments: Vec<FileName>,
}

/// An attachment's file name, its bytes left unread.
#[derive(Deserialize)]
struct FileName {
    file_name: String,
}

/// The key parts of a queued attachment item ([`AttachmentWork`]), its bytes left unread.
#[derive(Deserialize)]
struct QueuedAttachmentKeys {
    invoice: String,
    attachment: FileName,
}

/// The link keys the claimed `items` will look up: an invoice's relation (the parts its side
/// books on), its booking and its attachments; a project's cost centre (the item's CRM id is
/// the project's); an attachment item's own link (the invoice and the file name).
fn batch_link_keys(items: &[WorkItem]) -> Vec<BatchLinkKey> {
    let mut keys = Vec::new();
    for item in items {
        let side = match item.kind {
            EntityKind::Attachment => {
                if let Ok(work) = item.payload.decode::<QueuedAttachmentKeys>() {
                    keys.push((
                        EntityKind::Attachment,
                        work.invoice,
                        LinkPart::attachment(work.attachment.file_name),
                    ));
                }
                continue;
            }
            EntityKind::SalesInvoice => Side::Sales,
            EntityKind::PurchaseInvoice => Side::Purchase,
            EntityKind::CostCentre if item.operation == crate::crm::OP_UPSERT => {
                keys.push((EntityKind::CostCentre, item.crm_id.clone(), LinkPart::Whole));
                continue;
            }
            _ => continue,
        };
        let Ok(QueuedInvoiceKeys { record }) = item.payload.decode::<QueuedInvoiceKeys>() else {
            continue;
        };
        for part in side.relation_parts() {
            keys.push((EntityKind::Relation, record.relation.clone(), part.clone()));
        }
        for file in record.attachments {
            keys.push((
                EntityKind::Attachment,
                record.id.clone(),
                LinkPart::attachment(file.file_name),
            ));
        }
        keys.push((side.kind(), record.id, LinkPart::Whole));
    }
    keys
}

/// Reads the links the batch's bookings and projects will need in one store call and keeps
/// them in the run's context for the items (one look-up per batch instead of two to three per
/// invoice plus one per attachment, and one per project). A failure is left to the items: each then
/// reads its own, as before.
async fn read_batch_links<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    items: &[WorkItem],
) {
    let keys = batch_link_keys(items);
    let asked: Vec<LinkKey<'_>> = keys
        .iter()
        .map(|(kind, crm_id, part)| LinkKey::new(*kind, crm_id, part))
        .collect();
    let inner = &engine.inner;
    let links = if asked.is_empty() {
        Vec::new()
    } else {
        match inner.store.links_by_keys(&inner.admin, &asked).await {
            Ok(links) => links,
            Err(e) => {
                tracing::debug!(error = %e, "batch link read postponed to the items");
                Vec::new()
            }
        }
    };
    // Without an answer (none asked, or the read failed) the previous batch's links go too.
    context.note_batch_links(keys.into_iter().zip(links).collect());
}

/// Refuses a claimed batch with bookings when the mapping configuration does not validate
/// against the administration's chart of accounts: every claimed item goes back to the queue
/// (nothing is lost) and the run stops with every problem.
pub(crate) async fn prepare_batch<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    items: &[WorkItem],
) -> Result<(), EngineError> {
    read_batch_links(engine, context, items).await;
    let has_bookings = items.iter().any(|i| {
        matches!(
            i.kind,
            EntityKind::SalesInvoice | EntityKind::PurchaseInvoice
        )
    });
    if !has_bookings {
        return Ok(());
    }
    let inner = &engine.inner;
    let chart = match context.chart(&inner.client).await {
        Ok(chart) => chart,
        Err(e) => {
            // The items meet (and classify) the same error themselves.
            tracing::debug!(error = %e, "chart of accounts not readable; left to the items");
            return Ok(());
        }
    };
    let report = inner.config.validate_against(&chart);
    if report.is_ok() {
        return Ok(());
    }
    let problems = report
        .problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    tracing::error!(%problems, "mapping configuration refused by the chart of accounts");
    let now = engine.now();
    let error = FailureKind::Transient
        .error(format!(
            "not run: the mapping configuration does not validate: {problems}"
        ))
        .with_code("INVALID_CONFIG");
    for item in items {
        inner
            .store
            .reschedule(item.lease(), now, error.clone(), now)
            .await?;
    }
    Err(EngineError::InvalidConfig(problems))
}

/// Books a sales invoice or credit note.
pub(crate) async fn upsert_sales<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    item: &WorkItem,
    context: &RunContext,
    invoice: &SalesInvoice,
) -> HandlerResult {
    upsert(engine, item, context, &Invoice::sales(invoice)).await
}

/// Books a purchase invoice.
pub(crate) async fn upsert_purchase<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    item: &WorkItem,
    context: &RunContext,
    invoice: &PurchaseInvoice,
) -> HandlerResult {
    upsert(engine, item, context, &Invoice::purchase(invoice)).await
}

/// Whether every problem is a cost centre that does not exist (yet).
fn only_missing_cost_centres(problems: &Problems) -> bool {
    problems
        .iter()
        .all(|p| matches!(p.kind, ProblemKind::CostCentreNotFound { .. }))
}

/// The linked SnelStart relation the booking goes to, if any.
async fn linked_relation<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    invoice: &Invoice<'_>,
) -> Result<Option<RelatieId>, HandlerError> {
    let inner = &engine.inner;
    let relation = invoice.relation.as_str();
    for part in invoice.side.relation_parts() {
        let link = match context.peek_batch_link(EntityKind::Relation, relation, part) {
            Some(read) => read,
            None => {
                inner
                    .store
                    .link_by_crm_id(&inner.admin, EntityKind::Relation, relation, part)
                    .await?
            }
        };
        if let Some(link) = link {
            return Ok(Some(RelatieId::from_uuid(link.snelstart_id)));
        }
    }
    Ok(None)
}

/// The link of `part` of CRM record `crm_id` (this item holds its claim): as read for the
/// batch, or from the store when the batch did not read it.
pub(super) async fn own_link<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    kind: EntityKind,
    crm_id: &str,
    part: &LinkPart,
) -> Result<Option<IdLink>, HandlerError> {
    if let Some(read) = context.take_batch_link(kind, crm_id, part) {
        return Ok(read);
    }
    let inner = &engine.inner;
    Ok(inner
        .store
        .link_by_crm_id(&inner.admin, kind, crm_id, part)
        .await?)
}

/// Refuses a booking whose SnelStart relation has the wrong kind before SnelStart does: a
/// sales booking needs a Klant (BOE-0060), a purchase booking a Leverancier (BOE-0003). The
/// relation's kind is read once per run (or known from its creation in this run), and only
/// for bookings that are about to be written.
async fn wrong_relation_kind<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    invoice: &Invoice<'_>,
    relatie: RelatieId,
) -> Result<Option<ItemResult>, HandlerError> {
    let roles = context
        .relation_roles(&engine.inner.client, relatie)
        .await?;
    engine.record_success();
    let (ok, needs, code) = match invoice.side {
        Side::Sales => (roles.klant, "a customer (Klant)", "BOE-0060"),
        Side::Purchase => (roles.leverancier, "a supplier (Leverancier)", "BOE-0003"),
    };
    if ok {
        return Ok(None);
    }
    Ok(Some(ItemResult::Fail(
        FailureKind::Permanent
            .error(format!(
                "relation: CRM relation `{}` is linked to SnelStart relation {relatie}, which is \
                 not {needs}; SnelStart would refuse the booking ({code}). Check the relation's \
                 kind in the CRM (and the mapping's both_kinds policy)",
                invoice.relation
            ))
            .with_code(code)
            .with_details(serde_json::json!([{ "path": "relation" }])),
    )))
}

/// The newest failed or held work item of one record, if there is one: one indexed lookup
/// of the record's items, payloads left unread.
async fn stuck_record<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    kind: EntityKind,
    crm_id: &str,
) -> Result<Option<WorkSummary>, HandlerError> {
    let inner = &engine.inner;
    Ok(inner
        .store
        .record_items(&inner.admin, kind, crm_id)
        .await?
        .into_iter()
        .rev()
        .find(|i| matches!(i.state, WorkState::Failed | WorkState::NeedsReview)))
}

/// The failed or held cost-centre item whose project number `number_of` finds in `wanted`.
/// Projects are named on invoice lines by number, not CRM id, so this reads the payloads, but
/// only of failed or held cost-centre items (summaries first, then the few candidates).
async fn stuck_project<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    number_of: impl Fn(&WorkItem) -> Option<String>,
    wanted: &[&str],
) -> Result<Option<(WorkSummary, String)>, HandlerError> {
    const PAGE: usize = 500;
    let inner = &engine.inner;
    for state in [WorkState::Failed, WorkState::NeedsReview] {
        let mut after = None;
        loop {
            let page = inner
                .store
                .list_summaries(&inner.admin, Some(state), after, PAGE)
                .await?;
            after = page.last().map(|i| i.id);
            for summary in page.iter().filter(|i| i.kind == EntityKind::CostCentre) {
                if let Some(full) = inner.store.work_item(&inner.admin, summary.id).await?
                    && let Some(number) = number_of(&full)
                    && wanted.contains(&number.as_str())
                {
                    return Ok(Some((summary.clone(), number)));
                }
            }
            if page.len() < PAGE {
                break;
            }
        }
    }
    Ok(None)
}

fn dependency_failed(what: String, path: String, stuck: &WorkSummary) -> ItemResult {
    let why = match stuck.state {
        WorkState::NeedsReview => "waits for review".to_owned(),
        _ => format!(
            "failed: {}",
            stuck
                .last_error
                .as_ref()
                .map(|e| e.message.as_str())
                .unwrap_or("(no reason recorded)")
        ),
    };
    ItemResult::Fail(
        FailureKind::Permanent
            .error(format!(
                "not booked: {what} {why}; resolve it, then replay this invoice"
            ))
            .with_code("DEPENDENCY_FAILED")
            .with_details(serde_json::json!([{
                "path": path,
                "dependency": {"kind": stuck.kind.as_str(), "crm_id": stuck.crm_id,
                               "work_item": stuck.id.to_string()}
            }])),
    )
}

fn defer<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    item: &WorkItem,
    message: String,
) -> ItemResult {
    ItemResult::Retry {
        at: super::later(engine.now(), engine.backoff(item.attempts)),
        error: FailureKind::Transient
            .error(message)
            .with_code("DEPENDENCY_PENDING"),
    }
}

/// What to do about a relation that is not linked yet.
async fn missing_relation<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    item: &WorkItem,
    invoice: &Invoice<'_>,
) -> HandlerResult {
    let relation = invoice.relation.as_str();
    if let Some(stuck) = stuck_record(engine, EntityKind::Relation, relation).await? {
        return Ok(dependency_failed(
            format!("relation `{relation}`"),
            "relation".to_owned(),
            &stuck,
        ));
    }
    if item.attempts >= DEPENDENCY_WAITS {
        return Ok(ItemResult::Fail(
            FailureKind::Permanent
                .error(format!(
                    "not booked: relation `{relation}` is not linked to SnelStart and did not \
                     arrive after {} attempts; sync the relation, then replay this invoice",
                    item.attempts
                ))
                .with_code("DEPENDENCY_MISSING")
                .with_details(serde_json::json!([{ "path": "relation" }])),
        ));
    }
    Ok(defer(
        engine,
        item,
        format!("waiting for relation `{relation}` to be linked"),
    ))
}

/// What to do about cost centres that do not exist yet.
async fn missing_cost_centres<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    item: &WorkItem,
    invoice: &Invoice<'_>,
    problems: &Problems,
) -> HandlerResult {
    let projects: Vec<&str> = invoice
        .lines
        .iter()
        .filter_map(|l| l.project.as_deref())
        .collect();
    let number_of = |i: &WorkItem| match i.payload.decode::<CrmChange>() {
        Ok(CrmChange::Project(p)) => Some(p.number),
        Ok(CrmChange::Refused(r)) if r.reason != crate::crm::RefusalReason::Duplicate => {
            r.natural_key
        }
        _ => None,
    };
    if let Some((stuck, number)) = stuck_project(engine, number_of, &projects).await? {
        let line = invoice
            .lines
            .iter()
            .position(|l| l.project.as_deref() == Some(number.as_str()))
            .unwrap_or_default();
        return Ok(dependency_failed(
            format!("project `{}` (number {number})", stuck.crm_id),
            format!("lines[{line}].project"),
            &stuck,
        ));
    }
    if item.attempts >= DEPENDENCY_WAITS {
        return Ok(preflight_failure(problems));
    }
    Ok(defer(
        engine,
        item,
        format!("waiting for cost centres: {problems}"),
    ))
}

async fn upsert<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    item: &WorkItem,
    context: &RunContext,
    invoice: &Invoice<'_>,
) -> HandlerResult {
    let inner = &engine.inner;
    let side = invoice.side;
    let chart = context.chart(&inner.client).await?;
    let booking_context = context
        .booking_context(&inner.client, engine.now().date_naive())
        .await?;
    let plan = match invoice.plan(&inner.config, &chart, &booking_context) {
        Ok(plan) => plan,
        Err(problems) if only_missing_cost_centres(&problems) => {
            return missing_cost_centres(engine, item, invoice, &problems).await;
        }
        Err(problems) => return Ok(preflight_failure(&problems)),
    };
    let Some(relatie) = linked_relation(engine, context, invoice).await? else {
        return missing_relation(engine, item, invoice).await;
    };
    let body = Body::build(&plan, &chart, relatie, side);
    let hash = body.hash();
    let crm_id = invoice.id.as_str();

    if let Some(link) = own_link(engine, context, side.kind(), crm_id, &LinkPart::Whole).await? {
        if link.payload_hash.as_deref() == Some(hash.as_str()) {
            // The booking is as it should be; an attachment added (or fixed) in the CRM since
            // is still queued. Costs store lookups only.
            queue_attachments(engine, context, invoice, link.snelstart_id).await?;
            return Ok(ItemResult::Done(Action::Unchanged));
        }
        if let Some(refused) = wrong_relation_kind(engine, context, invoice, relatie).await? {
            return Ok(refused);
        }
        return update_linked(engine, context, invoice, &link, &body, &hash).await;
    }
    if let Some(refused) = wrong_relation_kind(engine, context, invoice, relatie).await? {
        return Ok(refused);
    }

    // A previous attempt may have booked it and lost the answer (or died after the POST).
    if item.attempts > 1 {
        let cx = engine.handler_ctx();
        let entity = BookingCreate {
            side,
            crm_id,
            body: &body,
        };
        if let Some(outcome) = create_once::recover(&cx, &entity).await? {
            return finish(engine, context, invoice, outcome, &body, &hash).await;
        }
    }
    create(engine, context, invoice, &body, &hash).await
}

async fn create<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    invoice: &Invoice<'_>,
    body: &Body,
    hash: &str,
) -> HandlerResult {
    let outcome = {
        let cx = engine.handler_ctx();
        let entity = BookingCreate {
            side: invoice.side,
            crm_id: invoice.id.as_str(),
            body,
        };
        create_once::create(&cx, &entity).await?
    };
    finish(engine, context, invoice, outcome, body, hash).await
}

/// Links what the create protocol created or found.
async fn finish<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    invoice: &Invoice<'_>,
    outcome: Outcome<BookingRecord>,
    body: &Body,
    hash: &str,
) -> HandlerResult {
    let (record, created) = match outcome {
        Outcome::Created(record) => (record, true),
        Outcome::Found { record, created } => (record, created),
        Outcome::Finished(result) => return Ok(result),
    };
    match record.id {
        Some(id) => link_booking(engine, context, invoice, id, body, hash, created).await,
        // Never reached: the protocol hands on only records with an id (creates) or ours
        // (which have a booking).
        None => Ok(ItemResult::Retry {
            at: engine.now(),
            error: FailureKind::Uncertain.error("the booking is listed without an id yet"),
        }),
    }
}

/// Queues the invoice's attachments that are not uploaded with this content yet. Runs before
/// the booking's link is stored, so a crash in between re-queues them on the next attempt
/// (coalesced while still pending, and a no-op once uploaded).
async fn queue_attachments<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    invoice: &Invoice<'_>,
    booking: Uuid,
) -> Result<Vec<WorkItemId>, HandlerError> {
    let inner = &engine.inner;
    let mut ids = Vec::new();
    for attachment in invoice.attachments {
        let crm_id = attachment_crm_id(invoice.id.as_str(), &attachment.file_name);
        let hash = payload_hash(attachment);
        // As read for the batch: an attachment item of this invoice running beside it may
        // link the file meanwhile; queued again then, it finds the link and does nothing.
        if let Some(link) = own_link(
            engine,
            context,
            EntityKind::Attachment,
            invoice.id.as_str(),
            &LinkPart::attachment(&attachment.file_name),
        )
        .await?
            && link.payload_hash.as_deref() == Some(hash.as_str())
        {
            continue;
        }
        let work = AttachmentWork {
            side: invoice.side,
            invoice: invoice.id.as_str().to_owned(),
            booking,
            attachment: attachment.clone(),
        };
        let payload = super::queue_payload(&work)?;
        // A failed earlier attempt of this attachment comes back (and takes the new payload)
        // rather than piling up a second item; one store call (one transaction) for both.
        let stale = ReplayFilter::failed(inner.admin.clone())
            .kind(EntityKind::Attachment)
            .crm_id(crm_id.clone());
        let id = inner
            .store
            .replay_and_enqueue(
                &stale,
                NewWorkItem::new(
                    inner.admin.clone(),
                    EntityKind::Attachment,
                    crm_id,
                    OP_UPLOAD,
                    payload,
                    engine.now(),
                ),
                engine.now(),
            )
            .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// Queues the attachments, stores the link and tells the CRM.
#[allow(clippy::too_many_arguments)]
async fn link_booking<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    invoice: &Invoice<'_>,
    booking: Uuid,
    body: &Body,
    hash: &str,
    created: bool,
) -> HandlerResult {
    let inner = &engine.inner;
    let kind = invoice.side.kind();
    let crm_id = invoice.id.as_str();
    queue_attachments(engine, context, invoice, booking).await?;
    let link = IdLink::new(inner.admin.clone(), kind, crm_id, booking, engine.now())
        .with_natural_key(body.natural_key())
        .with_payload_hash(hash);
    match inner.store.upsert_link(link).await {
        Ok(()) => {}
        Err(e) if e.is_conflict() => {
            let other = inner
                .store
                .link_by_snelstart_id(&inner.admin, kind, booking)
                .await?;
            return Ok(ItemResult::Fail(
                FailureKind::Permanent
                    .error(format!(
                        "factuurnummer `{}` already used by another booking: SnelStart booking \
                         {booking} belongs to CRM invoice `{}`; give this invoice its own \
                         number, then replay",
                        body.number(),
                        other.map(|l| l.crm_id).unwrap_or_default()
                    ))
                    .with_code(KnownCode::DuplicateFactuurnummer.code())
                    .with_details(serde_json::json!([{ "path": "number" }])),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    engine
        .deliver(SinkEvent::Linked {
            kind,
            crm_id: crm_id.to_owned(),
            part: LinkPart::Whole,
            snelstart_id: booking,
            natural_key: Some(body.number().to_owned()),
            created,
        })
        .await;
    Ok(ItemResult::Done(if created {
        Action::Created
    } else {
        Action::Linked
    }))
}

/// The correction strategy offered when SnelStart no longer lets a booking change.
fn refused_change(body: &Body, booking: Uuid, side: Side, code: &str, reason: &str) -> ItemResult {
    let number = body.number();
    ItemResult::Fail(
        FailureKind::Permanent
            .error(format!(
                "the changed invoice `{number}` was not applied: {reason} ({code}). Booked \
                 invoices are corrected, not edited: book a credit note that reverses `{number}` \
                 and a new invoice with the corrected content under a new number"
            ))
            .with_code(code)
            .with_details(serde_json::json!({
                "code": code,
                "reason": reason,
                "booking": {"kind": side.bookings_path(), "id": booking.to_string(),
                            "factuurnummer": number},
                "correction": {
                    "strategy": "credit_note_and_new_invoice",
                    "steps": [
                        format!("create a credit note in the CRM that reverses invoice {number} in full"),
                        "create a new invoice with the corrected content and a new number",
                        "leave the original invoice unchanged in the CRM (revert the edit), \
                         then replay this item or let the next change supersede it",
                    ],
                },
            })),
    )
}

fn locked_reason(code: &str) -> &'static str {
    match code {
        "BOE-0042" => "the booking date is in a locked period",
        "BOE-0051" => "the period was locked or reviewed by the accountant",
        "BOE-0083" => "the invoice has payments",
        "BOE-0046" => "the booking is part of a VAT return",
        "BOE-0047" => "the booking is linked to a sales invoice",
        "BOE-0048" => "the booking is linked to a purchase invoice",
        "BOE-0049" => "the booking is linked to a cash drawer",
        "BOE-0050" => "the booking is linked to a bank order",
        _ => "SnelStart refuses to change the booking",
    }
}

/// Replaces a linked booking with the changed invoice, when SnelStart still allows it.
async fn update_linked<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    invoice: &Invoice<'_>,
    link: &IdLink,
    body: &Body,
    hash: &str,
) -> HandlerResult {
    let inner = &engine.inner;
    let side = invoice.side;
    let booking = link.snelstart_id;
    // The booked number (the CRM may have changed it) finds the open item.
    let booked_number = link
        .natural_key
        .as_deref()
        .map(|k| match side {
            Side::Sales => k,
            Side::Purchase => k.split_once(':').map_or(k, |(_, n)| n),
        })
        .unwrap_or(body.number())
        .to_owned();
    let facturen = find_facturen(&inner.client, side, &booked_number, None).await?;
    engine.record_success();
    match facturen.iter().find(|f| f.booking == Some(booking)) {
        Some(f) if f.has_payments() => {
            return Ok(refused_change(
                body,
                booking,
                side,
                KnownCode::HasPayments.code(),
                &format!(
                    "payments were registered (open {} of {})",
                    f.open.unwrap_or_default(),
                    f.total.unwrap_or_default()
                ),
            ));
        }
        Some(_) => {}
        None => {
            return Ok(ItemResult::Fail(FailureKind::Permanent.error(format!(
                "the linked SnelStart booking {booking} (factuurnummer `{booked_number}`) no \
                 longer exists; remove the link or restore the booking, then replay"
            ))));
        }
    }
    let summary = format!(
        "PUT /{}/{booking} factuurnummer={} factuurbedrag={}",
        side.bookings_path(),
        body.number(),
        body.total().unwrap_or_default()
    );
    let result = body.update(&inner.client, booking).await;
    engine
        .audit(
            side.kind(),
            invoice.id.as_str(),
            Some(booking),
            "update",
            summary,
            result.as_ref().map(|_| ()).map_err(ToString::to_string),
        )
        .await;
    if let Err(e) = result {
        let locked = e
            .error_codes()
            .into_iter()
            .map(|c| c.to_string())
            .find(|c| LOCKED_CODES.contains(&c.as_str()));
        if let Some(code) = locked {
            engine.record_success();
            return Ok(refused_change(
                body,
                booking,
                side,
                &code,
                locked_reason(&code),
            ));
        }
        return Err(e.into());
    }
    engine.record_success();
    queue_attachments(engine, context, invoice, booking).await?;
    let mut updated = link.clone();
    updated.natural_key = Some(body.natural_key());
    updated.payload_hash = Some(hash.to_owned());
    updated.updated_at = engine.now();
    match inner.store.upsert_link(updated).await {
        // Another record holds the new number: the PUT already happened, keep the old key.
        Err(e) if e.is_conflict() => engine.record_sent_hash(link, hash).await?,
        other => other?,
    }
    Ok(ItemResult::Done(Action::Updated))
}

// ---------------------------------------------------------------------------------------
// Attachments

/// The CRM id of an attachment's work item: `{invoice id}/{file name}`, with `%` and `/` in
/// the file name percent-encoded (`%25`, `%2F`), so the last `/` always ends the invoice id
/// and two attachments never share a work item (attachment `z` of invoice `x/y` is
/// `x/y/z`, attachment `y/z` of invoice `x` is `x/y%2Fz`). The queue keys work by this
/// string; the attachment's link is keyed by the invoice id and the file name as such
/// ([`LinkPart::Attachment`]), read from the item's payload.
pub(crate) fn attachment_crm_id(invoice: &str, file_name: &str) -> String {
    let mut id = String::with_capacity(invoice.len() + file_name.len() + 1);
    id.push_str(invoice);
    id.push('/');
    for c in file_name.chars() {
        match c {
            '%' => id.push_str("%25"),
            '/' => id.push_str("%2F"),
            c => id.push(c),
        }
    }
    id
}

/// The payload of an attachment work item.
#[derive(Debug, Serialize, Deserialize)]
struct AttachmentWork {
    side: Side,
    invoice: String,
    booking: Uuid,
    attachment: Attachment,
}

impl AttachmentWork {
    /// The part of the invoice's attachment link.
    fn part(&self) -> LinkPart {
        LinkPart::attachment(&self.attachment.file_name)
    }
}

/// Why SnelStart would refuse this file, checked before sending it.
fn attachment_problem(a: &Attachment) -> Option<(&'static str, String)> {
    let name = a.file_name.trim();
    if name.is_empty() {
        return Some((
            KnownCode::AttachmentNameRequired.code(),
            "the file name is empty".into(),
        ));
    }
    if name.chars().count() > 255 {
        return Some((
            "BLG-0017",
            "the file name is longer than 255 characters".into(),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_control() || r#"\/:*?"<>|"#.contains(*c))
    {
        return Some((
            "BLG-0016",
            format!(
                "the file name contains `{}`, which SnelStart does not allow",
                c.escape_default()
            ),
        ));
    }
    if a.bytes.is_empty() {
        return Some(("BLG-0008", "the file is empty".into()));
    }
    if a.bytes.len() > limits::ATTACHMENT_BYTES {
        return Some((
            KnownCode::AttachmentTooLarge.code(),
            format!(
                "the file has {} bytes; SnelStart accepts at most {}",
                a.bytes.len(),
                limits::ATTACHMENT_BYTES
            ),
        ));
    }
    None
}

/// Uploads one attachment of a booked invoice, exactly once.
pub(crate) async fn upload_attachment<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    item: &WorkItem,
) -> HandlerResult {
    let inner = &engine.inner;
    let work: AttachmentWork = match item.payload.decode() {
        Ok(w) => w,
        Err(e) => {
            return Ok(ItemResult::Fail(FailureKind::Permanent.error(format!(
                "work item {} holds an unreadable attachment: {e}",
                item.id
            ))));
        }
    };
    let a = &work.attachment;
    if let Some((code, reason)) = attachment_problem(a) {
        return Ok(ItemResult::Fail(
            FailureKind::Permanent
                .error(format!(
                    "attachment `{}` of invoice `{}` not uploaded: {reason}; the booking \
                     itself is in SnelStart",
                    a.file_name, work.invoice
                ))
                .with_code(code),
        ));
    }
    let hash = payload_hash(a);
    let doc_type = work.side.document_type();
    if let Some(link) = own_link(
        engine,
        context,
        EntityKind::Attachment,
        &work.invoice,
        &work.part(),
    )
    .await?
    {
        if link.payload_hash.as_deref() == Some(hash.as_str()) {
            return Ok(ItemResult::Done(Action::Unchanged));
        }
        // Same name, new content: replace the document.
        let id = DocumentId::from_uuid(link.snelstart_id);
        let mut body = DocumentContent::new(work.booking, a.file_name.clone(), &a.bytes);
        body.id = Some(id);
        let result = inner
            .client
            .execute(ops::documenten::update(id, &body)?)
            .await;
        engine
            .audit(
                EntityKind::Attachment,
                &item.crm_id,
                Some(id.as_uuid()),
                "update",
                format!("PUT /documenten/{id} ({} bytes)", a.bytes.len()),
                result.as_ref().map(|_| ()).map_err(ToString::to_string),
            )
            .await;
        result?;
        engine.record_success();
        engine.record_sent_hash(&link, &hash).await?;
        return Ok(ItemResult::Done(Action::Updated));
    }

    let outcome = {
        let cx = engine.handler_ctx();
        let entity = AttachmentCreate {
            crm_id: &item.crm_id,
            work: &work,
            doc_type,
        };
        let recovered = if item.attempts > 1 {
            create_once::recover(&cx, &entity).await?
        } else {
            None
        };
        match recovered {
            Some(outcome) => outcome,
            None => create_once::create(&cx, &entity).await?,
        }
    };
    match outcome {
        Outcome::Created(id) => store_attachment_link(engine, &work, id, &hash, true).await,
        Outcome::Found { record, created } => {
            store_attachment_link(engine, &work, record, &hash, created).await
        }
        Outcome::Finished(result) => Ok(result),
    }
}

/// An attachment's part of the exactly-once create (see [`create_once`]): the natural key is
/// the file name among its booking's documents.
struct AttachmentCreate<'a> {
    crm_id: &'a str,
    work: &'a AttachmentWork,
    doc_type: DocumentType,
}

impl CreateOnce for AttachmentCreate<'_> {
    type Record = Uuid;

    fn kind(&self) -> EntityKind {
        EntityKind::Attachment
    }

    fn crm_id(&self) -> &str {
        self.crm_id
    }

    fn summary(&self) -> String {
        let a = &self.work.attachment;
        format!(
            "POST /documenten/{} {} ({} bytes) to booking {}",
            self.doc_type.as_str(),
            a.file_name,
            a.bytes.len(),
            self.work.booking
        )
    }

    fn duplicate_code(&self) -> Option<KnownCode> {
        None
    }

    fn id(record: &Uuid) -> Option<Uuid> {
        Some(*record)
    }

    async fn create<S: Store, Snk: CrmSink>(
        &self,
        cx: &HandlerCtx<'_, S, Snk>,
    ) -> Result<Option<Uuid>, snelstart_client::Error> {
        let a = &self.work.attachment;
        let body = DocumentContent::new(self.work.booking, a.file_name.clone(), &a.bytes);
        let created = cx
            .client
            .execute(ops::documenten::upload(&self.doc_type, &body)?)
            .await?;
        Ok(Some(created.id.as_uuid()))
    }

    async fn find<S: Store, Snk: CrmSink>(
        &self,
        cx: &HandlerCtx<'_, S, Snk>,
    ) -> Result<Option<Uuid>, snelstart_client::Error> {
        // A document left out would be uploaded a second time.
        let docs = read_complete(
            cx.client,
            ops::documenten::list(&self.doc_type, self.work.booking),
        )
        .await?;
        let name = self.work.attachment.file_name.as_str();
        Ok(docs
            .into_iter()
            .find(|d| d.file_name.as_deref() == Some(name))
            .map(|d| d.id.as_uuid()))
    }

    async fn is_ours<S: Store, Snk: CrmSink>(
        &self,
        _cx: &HandlerCtx<'_, S, Snk>,
        _found: &Uuid,
    ) -> Result<Result<(), StoredError>, HandlerError> {
        // A document of our booking with this file name is the one we uploaded: the booking
        // is ours, and its file names are unique per invoice in the CRM.
        Ok(Ok(()))
    }

    fn refusal(&self, error: &snelstart_client::Error) -> Option<StoredError> {
        (error.status() == Some(404)).then(|| {
            stored_from_client(FailureKind::Permanent, error).with_code("BOOKING_NOT_FOUND")
        })
    }
}

async fn store_attachment_link<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    work: &AttachmentWork,
    document: Uuid,
    hash: &str,
    created: bool,
) -> HandlerResult {
    let inner = &engine.inner;
    let link = IdLink::new(
        inner.admin.clone(),
        EntityKind::Attachment,
        &work.invoice,
        document,
        engine.now(),
    )
    .with_part(work.part())
    .with_payload_hash(hash);
    inner.store.upsert_link(link).await?;
    engine
        .deliver(SinkEvent::Linked {
            kind: EntityKind::Attachment,
            crm_id: work.invoice.clone(),
            part: work.part(),
            snelstart_id: document,
            natural_key: Some(work.attachment.file_name.clone()),
            created,
        })
        .await;
    Ok(ItemResult::Done(if created {
        Action::Created
    } else {
        Action::Linked
    }))
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngine<S, Src, Snk> {
    /// Handles an attachment work item (they carry no [`CrmChange`]).
    pub(crate) async fn handle_attachment(
        &self,
        item: &WorkItem,
        context: &RunContext,
    ) -> ItemResult {
        match upload_attachment(self, context, item).await {
            Ok(result) => result,
            Err(HandlerError::Client(e)) => self.classify(item, &e),
            Err(HandlerError::Store(e)) => ItemResult::Retry {
                at: super::later(self.now(), self.backoff(item.attempts)),
                error: FailureKind::Transient.error(format!("store: {e}")),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------
// Dry run

/// The dry-run view of a sales invoice.
pub(crate) async fn plan_sales<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    invoice: &SalesInvoice,
) -> Result<Vec<PlanEntry>, EngineError> {
    plan_invoice(engine, context, &Invoice::sales(invoice)).await
}

/// The dry-run view of a purchase invoice.
pub(crate) async fn plan_purchase<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    invoice: &PurchaseInvoice,
) -> Result<Vec<PlanEntry>, EngineError> {
    plan_invoice(engine, context, &Invoice::purchase(invoice)).await
}

/// Removes what SnelStart adds on read (ids' uris, stamps, documents) so a booking read back
/// compares with the body we would write.
fn comparable(mut value: serde_json::Value) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove("uri");
                for v in map.values_mut() {
                    strip(v);
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            // 121, 121.0 and 121.00 are one amount.
            serde_json::Value::Number(n) => {
                if let Some(f) = n.as_f64() {
                    *v = serde_json::json!(f);
                }
            }
            _ => {}
        }
    }
    if let Some(map) = value.as_object_mut() {
        for key in [
            "id",
            "modifiedOn",
            "documents",
            "boekstuk",
            "markering",
            "gewijzigdDoorAccountant",
        ] {
            map.remove(key);
        }
    }
    strip(&mut value);
    value
}

fn booking_changes(before: &serde_json::Value, after: &serde_json::Value) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let from = b.get(k).cloned().unwrap_or_default();
            let to = a.get(k).cloned().unwrap_or_default();
            (from != to).then(|| FieldChange {
                field: k.clone(),
                from,
                to,
            })
        })
        .collect()
}

async fn plan_invoice<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    invoice: &Invoice<'_>,
) -> Result<Vec<PlanEntry>, EngineError> {
    let inner = &engine.inner;
    let side = invoice.side;
    let mut entries = Vec::new();
    let entry = |kind, crm_id: String, action| PlanEntry {
        kind,
        crm_id,
        action,
    };
    let chart = context.chart(&inner.client).await?;
    let booking_context = context
        .booking_context(&inner.client, engine.now().date_naive())
        .await?;
    let plan = match invoice.plan(&inner.config, &chart, &booking_context) {
        Ok(plan) => plan,
        Err(problems) => {
            entries.push(entry(
                side.kind(),
                invoice.id.as_str().to_owned(),
                PlannedAction::Fail {
                    problems: problems.iter().map(ToString::to_string).collect(),
                },
            ));
            return Ok(entries);
        }
    };
    let relatie = linked_relation(engine, context, invoice).await?;
    let link = inner
        .store
        .link_by_crm_id(
            &inner.admin,
            side.kind(),
            invoice.id.as_str(),
            &LinkPart::Whole,
        )
        .await?;
    let action = match (relatie, link) {
        // The relation is linked first (it is queued or will be): then a create.
        (None, _) | (Some(_), None) => PlannedAction::Create,
        (Some(relatie), Some(link)) => {
            let body = Body::build(&plan, &chart, relatie, side);
            if link.payload_hash.as_deref() == Some(body.hash().as_str()) {
                PlannedAction::Skip {
                    reason: "unchanged".into(),
                }
            } else {
                let current = match side {
                    Side::Sales => serde_json::to_value(
                        inner
                            .client
                            .execute(ops::verkoopboekingen::get(VerkoopboekingId::from_uuid(
                                link.snelstart_id,
                            )))
                            .await?,
                    ),
                    Side::Purchase => serde_json::to_value(
                        inner
                            .client
                            .execute(ops::inkoopboekingen::get(InkoopboekingId::from_uuid(
                                link.snelstart_id,
                            )))
                            .await?,
                    ),
                }
                .unwrap_or_default();
                let changes = booking_changes(&comparable(current), &comparable(body.to_json()));
                if changes.is_empty() {
                    PlannedAction::Skip {
                        reason: "SnelStart already up to date".into(),
                    }
                } else {
                    PlannedAction::Update {
                        snelstart_id: link.snelstart_id.to_string(),
                        changes,
                    }
                }
            }
        }
    };
    entries.push(entry(side.kind(), invoice.id.as_str().to_owned(), action));
    for a in invoice.attachments {
        let crm_id = attachment_crm_id(invoice.id.as_str(), &a.file_name);
        let action = if let Some((code, reason)) = attachment_problem(a) {
            PlannedAction::Fail {
                problems: vec![format!("{code}: {reason}")],
            }
        } else {
            match inner
                .store
                .link_by_crm_id(
                    &inner.admin,
                    EntityKind::Attachment,
                    invoice.id.as_str(),
                    &LinkPart::attachment(&a.file_name),
                )
                .await?
            {
                Some(l) if l.payload_hash.as_deref() == Some(payload_hash(a).as_str()) => {
                    PlannedAction::Skip {
                        reason: "unchanged".into(),
                    }
                }
                Some(l) => PlannedAction::Update {
                    snelstart_id: l.snelstart_id.to_string(),
                    changes: vec![FieldChange {
                        field: "content".into(),
                        from: serde_json::Value::Null,
                        to: serde_json::json!(format!("{} bytes", a.bytes.len())),
                    }],
                },
                None => PlannedAction::Create,
            }
        };
        entries.push(entry(EntityKind::Attachment, crm_id, action));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The batch's link read decodes only the keys of a queued invoice; they must be the
    /// keys the handler looks up (read from the full change), or every item would read its
    /// own links again.
    #[test]
    fn batch_link_keys_follow_the_changes() {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let mut sales = SalesInvoice::new("inv/1", "F-1", date, "rel#2", Vec::new());
        sales.attachments = vec![
            Attachment::new("a.pdf", vec![1, 2, 3]),
            Attachment::new("b%2F.pdf", vec![4]),
        ];
        let purchase = PurchaseInvoice::new("p-1", "I-9", date, "sup", Vec::new());
        let queued = |id: i64, change: CrmChange| {
            let new = NewWorkItem::new(
                crate::store::AdminKey::new("a"),
                change.kind(),
                change.crm_id(),
                crate::crm::OP_UPSERT,
                serde_json::to_value(&change).unwrap(),
                chrono::Utc::now(),
            );
            WorkItem::enqueued(WorkItemId::new(id), new, chrono::Utc::now())
        };
        let upload = AttachmentWork {
            side: Side::Sales,
            invoice: "inv/0".to_owned(),
            booking: Uuid::nil(),
            attachment: Attachment::new("c#1.pdf", vec![5, 6]),
        };
        let upload_item = WorkItem::enqueued(
            WorkItemId::new(5),
            NewWorkItem::new(
                crate::store::AdminKey::new("a"),
                EntityKind::Attachment,
                "inv/0/c#1.pdf",
                crate::crm::OP_UPSERT,
                serde_json::to_value(&upload).unwrap(),
                chrono::Utc::now(),
            ),
            chrono::Utc::now(),
        );
        let items = [
            queued(1, CrmChange::sales_invoice(sales.clone())),
            queued(2, CrmChange::relation_archived("rel#2")),
            queued(3, CrmChange::purchase_invoice(purchase.clone())),
            queued(
                4,
                CrmChange::project(crm_model::Project::new("prj/7", "7", "Project seven")),
            ),
            upload_item,
        ];
        let mut expected: Vec<BatchLinkKey> = Vec::new();
        for (side, invoice) in [
            (Side::Sales, Invoice::sales(&sales)),
            (Side::Purchase, Invoice::purchase(&purchase)),
        ] {
            for part in side.relation_parts() {
                expected.push((
                    EntityKind::Relation,
                    invoice.relation.as_str().to_owned(),
                    part.clone(),
                ));
            }
            for a in invoice.attachments {
                expected.push((
                    EntityKind::Attachment,
                    invoice.id.as_str().to_owned(),
                    LinkPart::attachment(&a.file_name),
                ));
            }
            expected.push((side.kind(), invoice.id.as_str().to_owned(), LinkPart::Whole));
        }
        expected.push((EntityKind::CostCentre, "prj/7".to_owned(), LinkPart::Whole));
        // An attachment item's own link, as `upload_attachment` looks it up.
        expected.push((
            EntityKind::Attachment,
            upload.invoice.clone(),
            upload.part(),
        ));
        assert_eq!(batch_link_keys(&items), expected);
    }

    #[test]
    fn filter_properties_are_valid() {
        assert!(Property::new("Factuurnummer").is_ok());
    }

    #[test]
    fn attachment_names_are_checked_before_sending() {
        let ok = Attachment::new("F2024-001.pdf", vec![1, 2, 3]);
        assert!(attachment_problem(&ok).is_none());
        let slash = Attachment::new("a/b.pdf", vec![1]);
        assert_eq!(attachment_problem(&slash).map(|p| p.0), Some("BLG-0016"));
        let empty_name = Attachment::new("  ", vec![1]);
        assert_eq!(
            attachment_problem(&empty_name).map(|p| p.0),
            Some("BLG-0007")
        );
        let empty = Attachment::new("x.pdf", Vec::new());
        assert_eq!(attachment_problem(&empty).map(|p| p.0), Some("BLG-0008"));
        let big = Attachment::new("x.pdf", vec![0; limits::ATTACHMENT_BYTES + 1]);
        assert_eq!(attachment_problem(&big).map(|p| p.0), Some("BLG-0006"));
        let long = Attachment::new(format!("{}.pdf", "a".repeat(252)), vec![1]);
        assert_eq!(attachment_problem(&long).map(|p| p.0), Some("BLG-0017"));
    }

    #[test]
    fn payments_are_detected_from_the_open_amount() {
        let f = |open, total| Factuur {
            booking: None,
            relatie: None,
            total: Some(Decimal::new(total, 2)),
            open: Some(Decimal::new(open, 2)),
        };
        assert!(!f(12100, 12100).has_payments());
        assert!(f(2100, 12100).has_payments());
        assert!(f(0, 12100).has_payments());
        // Credit notes are negative throughout.
        assert!(!f(-12100, -12100).has_payments());
    }

    #[test]
    fn purchases_prefer_the_supplier_relation() {
        assert_eq!(Side::Sales.relation_parts(), [LinkPart::Whole]);
        assert_eq!(
            Side::Purchase.relation_parts(),
            [LinkPart::SupplierHalf, LinkPart::Whole]
        );
    }

    #[test]
    fn attachment_work_ids_never_collide() {
        assert_eq!(attachment_crm_id("x/y", "z"), "x/y/z");
        assert_eq!(attachment_crm_id("x", "y/z"), "x/y%2Fz");
        assert_eq!(attachment_crm_id("x", "y%2Fz"), "x/y%252Fz");
        assert_eq!(attachment_crm_id("inv-1", "F 1.pdf"), "inv-1/F 1.pdf");
    }

    #[test]
    fn a_refused_change_names_the_reason_and_the_correction() {
        let body = Body::Sales(Box::new(Verkoopboeking::new(
            "F-9",
            RelatieId::from_uuid(Uuid::nil()),
            chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
                .unwrap_or_default()
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
        )));
        let ItemResult::Fail(e) = refused_change(
            &body,
            Uuid::nil(),
            Side::Sales,
            "BOE-0042",
            locked_reason("BOE-0042"),
        ) else {
            panic!("a refused change fails the item");
        };
        assert_eq!(e.code.as_deref(), Some("BOE-0042"));
        assert!(e.message.contains("locked period"), "{}", e.message);
        assert!(e.message.contains("credit note"), "{}", e.message);
        assert_eq!(
            e.details["correction"]["strategy"],
            "credit_note_and_new_invoice"
        );
        for code in LOCKED_CODES {
            assert_ne!(
                locked_reason(code),
                "SnelStart refuses to change the booking",
                "{code}"
            );
        }
    }

    #[test]
    fn comparable_ignores_what_snelstart_adds() {
        let read = serde_json::json!({"id": "x", "uri": "/v", "modifiedOn": "t",
            "klant": {"id": "k", "uri": "/relaties/k"}, "factuurbedrag": 121.0});
        let ours = serde_json::json!({"klant": {"id": "k"}, "factuurbedrag": 121.0});
        assert!(booking_changes(&comparable(read), &comparable(ours)).is_empty());
    }
}
