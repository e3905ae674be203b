//! Bookings: sales invoices and credit notes → verkoopboekingen, purchase invoices →
//! inkoopboekingen, with their attachments. (Being written; see issue 6.)

use crm_model::{PurchaseInvoice, SalesInvoice};

use super::relations::HandlerResult;
use super::{ItemResult, RunContext, SyncEngine};
use crate::crm::{CrmSink, CrmSource};
use crate::error::{EngineError, FailureKind};
use crate::report::PlanEntry;
use crate::store::{Store, WorkItem};

/// Books a sales invoice or credit note.
pub(crate) async fn upsert_sales<S: Store, Src: CrmSource, Snk: CrmSink>(
    _engine: &SyncEngine<S, Src, Snk>,
    _item: &WorkItem,
    _context: &RunContext,
    _invoice: &SalesInvoice,
) -> HandlerResult {
    Ok(ItemResult::Fail(
        FailureKind::Permanent.error("sales bookings are not supported by this version"),
    ))
}

/// Books a purchase invoice.
pub(crate) async fn upsert_purchase<S: Store, Src: CrmSource, Snk: CrmSink>(
    _engine: &SyncEngine<S, Src, Snk>,
    _item: &WorkItem,
    _context: &RunContext,
    _invoice: &PurchaseInvoice,
) -> HandlerResult {
    Ok(ItemResult::Fail(
        FailureKind::Permanent.error("purchase bookings are not supported by this version"),
    ))
}

/// The dry-run view of a sales invoice.
pub(crate) async fn plan_sales<S: Store, Src: CrmSource, Snk: CrmSink>(
    _engine: &SyncEngine<S, Src, Snk>,
    _context: &RunContext,
    _invoice: &SalesInvoice,
) -> Result<Vec<PlanEntry>, EngineError> {
    Ok(Vec::new())
}

/// The dry-run view of a purchase invoice.
pub(crate) async fn plan_purchase<S: Store, Src: CrmSource, Snk: CrmSink>(
    _engine: &SyncEngine<S, Src, Snk>,
    _context: &RunContext,
    _invoice: &PurchaseInvoice,
) -> Result<Vec<PlanEntry>, EngineError> {
    Ok(Vec::new())
}
