//! Read-back: what SnelStart knows about money that the CRM should see — payment status per
//! invoice, the payments themselves with their dates (`payments`), balances per customer and
//! supplier, purchases per project — delivered to the CRM sink exactly once. [`SyncEngine::read_back`] documents the flows and how exactly-once is
//! kept; this module also adds the status report's per-kind queue counts.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Europe::Amsterdam;
use crm_model::{CrmId, Money, PaymentStatus};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use snelstart_client::models::{Inkoopfactuur, Verkoopfactuur};
use snelstart_client::odata::{Filter, Literal, Property, Query};
use snelstart_client::paging::{ChangeFeed, SeenFilter};
use snelstart_client::{Client, ops};
use tracing::Instrument;
use uuid::Uuid;

use super::SyncEngine;
use crate::crm::{CrmSink, CrmSource, SinkEvent};
use crate::error::EngineError;
use crate::store::{EntityKind, IdLink, LinkPart, StateKey, Store, StoreError};

/// The default of [`EngineOptions::readback_overlap`](crate::EngineOptions::readback_overlap):
/// how far before the stored cursor each read-back re-reads, because SnelStart's `modifiedOn`
/// is wall-clock time that may be written slightly out of order. Records re-read in the window
/// cost one store lookup each and deliver nothing twice.
pub const READBACK_OVERLAP: Duration = Duration::from_secs(10 * 60);

/// Up to this many customers with changed invoices, balances are read per customer (one call
/// each); above it, one paged read of all open invoices is cheaper.
const PER_RELATION_QUERY_LIMIT: usize = 20;

/// At most this many balances wait for a retry after the sink refused them.
const MAX_BALANCE_RETRIES: usize = 1_000;

/// Remembered `(id, modifiedOn)` pairs are pruned every this many records.
const SEEN_PRUNE_EVERY: u64 = 1_000;

mod payments;
mod projects;
mod status;

pub use payments::{DeliveredPayment, PaymentsReport};
pub use projects::ProjectPurchases;

/// Which side of the books a read-back flow covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LedgerSide {
    /// Sales: verkoopfacturen, customers.
    Sales,
    /// Purchases: inkoopfacturen, suppliers.
    Purchases,
}

impl LedgerSide {
    /// Both sides, sales first.
    pub const ALL: [LedgerSide; 2] = [LedgerSide::Sales, LedgerSide::Purchases];

    /// The entity kind events of this side carry: [`EntityKind::SalesInvoice`] or
    /// [`EntityKind::PurchaseInvoice`].
    pub fn kind(self) -> EntityKind {
        match self {
            LedgerSide::Sales => EntityKind::SalesInvoice,
            LedgerSide::Purchases => EntityKind::PurchaseInvoice,
        }
    }

    /// Lower-case name, used in cursor names, metric labels and payment-status link ids.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerSide::Sales => "sales",
            LedgerSide::Purchases => "purchase",
        }
    }

    fn feed_cursor(self) -> StateKey {
        StateKey::read_back(format!("{}:modified_on", self.as_str()))
    }

    fn as_of_cursor(self) -> StateKey {
        StateKey::read_back(format!("{}:as_of", self.as_str()))
    }

    fn balance_retry_cursor(self) -> StateKey {
        StateKey::read_back(format!("{}:balance_retry", self.as_str()))
    }

    fn balance_cursor(self, relatie: Uuid) -> StateKey {
        StateKey::read_back_of(format!("{}:balance", self.as_str()), relatie.to_string())
    }

    /// The CRM id of the [`EntityKind::PaymentStatus`] link that records the status delivered
    /// for an invoice.
    pub fn status_link_id(self, factuur: Uuid) -> String {
        format!("{}:{factuur}", self.as_str())
    }
}

impl fmt::Display for LedgerSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one read-back did on one side of the books.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct OpenItemsReport {
    /// Invoices read from the change feed (repeats within the run not counted).
    pub invoices_seen: u64,
    /// Open invoices re-read because their due date passed since the previous run.
    pub overdue_rechecked: u64,
    /// Invoices whose paid amount grew since the status last delivered (an invoice seen for
    /// the first time counts when something was already paid on it).
    pub payments_found: u64,
    /// Invoices that became overdue in this run.
    pub became_overdue: u64,
    /// Payment-status events the sink accepted.
    pub status_events: u64,
    /// Balance events the sink accepted.
    pub balance_events: u64,
    /// Events the sink refused; they are delivered again by a later run.
    pub refused: u64,
    /// The feed cursor after the run (SnelStart's `modifiedOn`, Dutch local time).
    pub cursor: Option<NaiveDateTime>,
}

impl OpenItemsReport {
    fn count_refusal(&mut self) {
        self.refused += 1;
        metrics::counter!("sync_readback_refused_total").increment(1);
    }
}

/// What one [`SyncEngine::read_back`] did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReadBackReport {
    /// When the run started.
    pub started_at: Option<DateTime<Utc>>,
    /// The day statuses were determined on (Dutch calendar day): overdue means due before it.
    pub as_of: Option<NaiveDate>,
    /// Sales invoices and customers.
    pub sales: OpenItemsReport,
    /// Purchase invoices and suppliers.
    pub purchases: OpenItemsReport,
    /// Payments with their dates (bank, cash and memoriaal bookings).
    pub payments: PaymentsReport,
    /// Purchases per linked CRM project, in CRM-id order.
    pub projects: Vec<ProjectPurchases>,
    /// Project-purchase events the sink accepted.
    pub project_events: u64,
    /// SnelStart calls made during the run.
    pub api_calls: u64,
    /// Wall time of the run.
    #[serde(with = "duration_secs")]
    pub elapsed: Duration,
}

impl ReadBackReport {
    /// Events the sink accepted in this run, of every kind.
    pub fn events_delivered(&self) -> u64 {
        self.sales.status_events
            + self.sales.balance_events
            + self.purchases.status_events
            + self.purchases.balance_events
            + self.project_events
            + self.payments.received_events
            + self.payments.reversed_events
            + self.payments.dates_events
    }

    /// Payments found on both sides.
    pub fn payments_found(&self) -> u64 {
        self.sales.payments_found + self.purchases.payments_found
    }

    /// Invoices read on both sides.
    pub fn invoices_seen(&self) -> u64 {
        self.sales.invoices_seen + self.purchases.invoices_seen
    }

    /// The report of one side.
    pub fn side(&self, side: LedgerSide) -> &OpenItemsReport {
        match side {
            LedgerSide::Sales => &self.sales,
            LedgerSide::Purchases => &self.purchases,
        }
    }

    fn side_mut(&mut self, side: LedgerSide) -> &mut OpenItemsReport {
        match side {
            LedgerSide::Sales => &mut self.sales,
            LedgerSide::Purchases => &mut self.purchases,
        }
    }
}

impl fmt::Display for ReadBackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(as_of) = self.as_of {
            writeln!(f, "read-back as of {as_of}")?;
        }
        for side in LedgerSide::ALL {
            let r = self.side(side);
            writeln!(
                f,
                "{side:<9} {} invoices read, {} re-checked for overdue, {} payments found, {} became overdue; {} status and {} balance events delivered{}",
                r.invoices_seen,
                r.overdue_rechecked,
                r.payments_found,
                r.became_overdue,
                r.status_events,
                r.balance_events,
                if r.refused > 0 {
                    format!(", {} refused by the CRM (retried next run)", r.refused)
                } else {
                    String::new()
                }
            )?;
        }
        let p = &self.payments;
        writeln!(
            f,
            "payments  {} bank/cash bookings and {} memoriaal mutations read; {} payments, {} reversals, {} payment-date events delivered{}",
            p.bookings_read,
            p.mutations_read,
            p.received_events,
            p.reversed_events,
            p.dates_events,
            if p.refused > 0 {
                format!(", {} refused by the CRM (retried next run)", p.refused)
            } else {
                String::new()
            }
        )?;
        for p in &self.projects {
            writeln!(f, "project {}: purchases {}", p.crm_id, p.total)?;
        }
        writeln!(
            f,
            "{} events delivered; {} SnelStart calls in {:.1} s",
            self.events_delivered(),
            self.api_calls,
            self.elapsed.as_secs_f64()
        )
    }
}

/// The fields of a verkoopfactuur or inkoopfactuur the read-back needs.
#[derive(Debug, Clone)]
struct OpenItem {
    id: Uuid,
    booking: Option<Uuid>,
    factuurnummer: String,
    relatie: Option<Uuid>,
    total: Decimal,
    outstanding: Decimal,
    due: Option<NaiveDate>,
    modified_on: Option<NaiveDateTime>,
}

impl OpenItem {
    fn from_sales(f: Verkoopfactuur) -> Self {
        OpenItem {
            id: f.id.as_uuid(),
            booking: f.verkoop_boeking.map(|r| r.id.as_uuid()),
            factuurnummer: f.factuurnummer,
            relatie: f.relatie.map(|r| r.id.as_uuid()),
            total: f.factuur_bedrag.unwrap_or_default(),
            outstanding: f.openstaand_saldo.unwrap_or_default(),
            due: f.verval_datum.map(|d| d.date()),
            modified_on: f.modified_on,
        }
    }

    fn from_purchase(f: Inkoopfactuur) -> Self {
        OpenItem {
            id: f.id.as_uuid(),
            booking: f.inkoop_boeking.map(|r| r.id.as_uuid()),
            factuurnummer: f.factuurnummer,
            relatie: f.relatie.map(|r| r.id.as_uuid()),
            total: f.factuur_bedrag.unwrap_or_default(),
            outstanding: f.openstaand_saldo.unwrap_or_default(),
            due: f.verval_datum.map(|d| d.date()),
            modified_on: f.modified_on,
        }
    }

    fn is_overdue(&self, as_of: NaiveDate) -> bool {
        !self.outstanding.is_zero() && self.due.is_some_and(|due| as_of > due)
    }
}

/// The natural key the bookings flow gives a booking link: the factuurnummer for sales (unique
/// per administration), `<supplier id>:<factuurnummer>` for purchases (unique per supplier).
fn booking_natural_key(side: LedgerSide, item: &OpenItem) -> String {
    match side {
        LedgerSide::Sales => item.factuurnummer.clone(),
        LedgerSide::Purchases => format!(
            "{}:{}",
            item.relatie.unwrap_or_default(),
            item.factuurnummer
        ),
    }
}

/// A property path known to be valid (checked by the unit tests below).
fn property(path: &'static str) -> Property {
    Property::new(path).expect("a constant, valid OData property path")
}

fn open_filter() -> Filter {
    Filter::ne(property("OpenstaandSaldo"), Literal::Int(0))
}

fn open_items(
    client: &Client,
    side: LedgerSide,
    query: Query,
) -> BoxStream<'static, Result<OpenItem, snelstart_client::Error>> {
    match side {
        LedgerSide::Sales => client
            .list(ops::verkoopfacturen::list(query))
            .map_ok(OpenItem::from_sales)
            .boxed(),
        LedgerSide::Purchases => client
            .list(ops::inkoopfacturen::list(query))
            .map_ok(OpenItem::from_purchase)
            .boxed(),
    }
}

/// The delivered form of a status, stored as the payment-status link's payload hash. It is a
/// readable fingerprint rather than a digest so that the next run can tell a payment (the open
/// amount went down) from other changes. `as_of` is left out: the date moving on is not a
/// change, only what it does to the state is.
fn status_fingerprint(status: &PaymentStatus) -> String {
    let state = serde_json::to_value(status.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!(
        "v1|{state}|{}|{}|{}",
        status.total,
        status.outstanding,
        status.due_date.map(|d| d.to_string()).unwrap_or_default()
    )
}

/// The outstanding amount recorded in a fingerprint.
fn fingerprint_outstanding(fingerprint: &str) -> Option<Decimal> {
    fingerprint.split('|').nth(3)?.parse().ok()
}

/// The state recorded in a fingerprint.
fn fingerprint_state(fingerprint: &str) -> Option<&str> {
    fingerprint.split('|').nth(1)
}

fn balance_fingerprint(open: Money, overdue: Money) -> String {
    format!("v1|{open}|{overdue}")
}

const CURSOR_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

fn format_cursor_time(t: NaiveDateTime) -> String {
    t.format(CURSOR_TIME_FORMAT).to_string()
}

fn parse_cursor_time(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()
}

/// SnelStart's timestamps are Dutch wall-clock time without an offset.
fn dutch_to_utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_local_timezone(Amsterdam)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| t.and_utc())
}

/// The Dutch calendar day of an instant: SnelStart's due dates are Dutch days.
fn dutch_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Amsterdam).date_naive()
}

/// The new feed cursor: the highest `modifiedOn` read, but never past a record whose event the
/// sink refused (it must be read again), and never backwards.
fn next_feed_cursor(
    old: Option<NaiveDateTime>,
    read_up_to: Option<NaiveDateTime>,
    first_refused: Option<NaiveDateTime>,
) -> Option<NaiveDateTime> {
    let candidate = match (read_up_to, first_refused) {
        (Some(read), Some(refused)) => Some(read.min(refused - TimeDelta::microseconds(1))),
        (read, None) => read,
        (None, Some(_)) => None,
    };
    match (old, candidate) {
        (Some(o), Some(c)) => Some(o.max(c)),
        (o, c) => c.or(o),
    }
}

/// Mutable state of one side's run.
#[derive(Default)]
struct SideRun {
    report: OpenItemsReport,
    /// Relations whose balance must be recomputed.
    affected: BTreeSet<Uuid>,
    /// The oldest `modifiedOn` whose event the sink refused.
    first_refused: Option<NaiveDateTime>,
    /// Whether an event of the overdue re-check was refused (the as-of cursor then stays).
    recheck_refused: bool,
}

/// Where an item came from in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Feed,
    Recheck,
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngine<S, Src, Snk> {
    /// Reads payment status, balances and purchases per project back from SnelStart and
    /// delivers what changed to the [`CrmSink`], each change exactly once. Meant to be called
    /// periodically (for example every few minutes); calls on one engine are serialized.
    ///
    /// - **Payment status per invoice**: the verkoopfacturen and inkoopfacturen changed since
    ///   the stored cursor, read as a change feed ordered by `ModifiedOn` that re-reads
    ///   [`EngineOptions::readback_overlap`](crate::EngineOptions::readback_overlap) before
    ///   the cursor (SnelStart may stamp changes slightly out of
    ///   order) and drops repeats. Each status (open, partly paid, paid, overdue, with the
    ///   open amount; [`crm_model::PaymentStatus::derive`] on the Dutch calendar day) that
    ///   differs from the one last delivered becomes a [`SinkEvent::PaymentStatusChanged`],
    ///   named by the CRM invoice id when the engine booked the invoice and by the
    ///   factuurnummer otherwise.
    /// - **Became overdue** happens with time, not with `modifiedOn`: the open invoices whose
    ///   due date passed since the previous run are re-read too (a server-side filter on
    ///   `VervalDatum`).
    /// - **Payments with their dates**, for the invoices the engine booked: every payment as a
    ///   [`SinkEvent::PaymentReceived`] (date, amount, and the bank, cash or memoriaal booking
    ///   that carried it), a [`SinkEvent::PaymentReversed`] when that booking is deleted or
    ///   changed, and [`SinkEvent::PaymentDates`] (`paid_on`, `last_payment_on`). Read from the
    ///   change feeds of bank and cash bookings and the memoriaal journals' ledger mutations
    ///   before the invoice feed; the module `payments` explains the choice and the store
    ///   cursors (`readback:payments:…`) that keep it exactly once.
    /// - **Balances**: for every customer (supplier) whose invoices changed, the total open and
    ///   the part overdue, as [`SinkEvent::BalanceChanged`].
    /// - **Purchases per project**: see [`SyncEngine::project_purchases`]; a changed figure
    ///   becomes a [`SinkEvent::ProjectPurchases`].
    ///
    /// **Exactly once, across restarts.** What was delivered is kept in the store: per invoice
    /// an [`IdLink`] of kind [`EntityKind::PaymentStatus`] with CRM id
    /// `sales:<verkoopfactuur id>` or `purchase:<inkoopfactuur id>` (see
    /// [`LedgerSide::status_link_id`]) whose payload hash is a fingerprint of the delivered
    /// status; per balance and per project a cursor. An event goes out only when its
    /// fingerprint differs, and the fingerprint is written (compare-and-swap) as soon as the
    /// sink accepted it. The feed cursor advances only past records whose events were
    /// accepted: an event the sink refuses is offered again by the next run. The one window
    /// left is a crash between the sink accepting an event and the store recording it; that
    /// event is delivered once more after the restart. Events carry absolute figures, never
    /// deltas, so such a repeat is harmless.
    ///
    /// # Errors
    ///
    /// [`EngineError::SnelStart`] when SnelStart cannot be read, [`EngineError::Store`]. What
    /// was delivered before the error is recorded; the next run continues from there.
    pub async fn read_back(&self) -> Result<ReadBackReport, EngineError> {
        let _serialized = self.inner.readback_lock.lock().await;
        let span = tracing::info_span!("sync.read_back", admin = %self.inner.admin);
        self.read_back_inner().instrument(span).await
    }

    async fn read_back_inner(&self) -> Result<ReadBackReport, EngineError> {
        let started = tokio::time::Instant::now();
        let calls_before = self.inner.client.budget_usage().total;
        let now = self.now();
        let as_of = dutch_day(now);
        let mut report = ReadBackReport {
            started_at: Some(now),
            as_of: Some(as_of),
            ..ReadBackReport::default()
        };
        // Payments first: the invoice feed below then finds them recorded, and only checks
        // (one call per booking) the delivered payments that no feed confirmed.
        let mut pay = payments::PaymentRun::default();
        let span = tracing::info_span!("sync.read_back.payments");
        self.read_back_payments(&mut pay).instrument(span).await?;
        for side in LedgerSide::ALL {
            let span = tracing::info_span!("sync.read_back.open_items", side = side.as_str());
            *report.side_mut(side) = self
                .read_back_side(side, now, as_of, &mut pay)
                .instrument(span)
                .await?;
        }
        report.payments = pay.report;
        let span = tracing::info_span!("sync.read_back.projects");
        let (projects, project_events) = self.deliver_project_purchases().instrument(span).await?;
        report.projects = projects;
        report.project_events = project_events;
        report.api_calls = self
            .inner
            .client
            .budget_usage()
            .total
            .saturating_sub(calls_before);
        report.elapsed = started.elapsed();
        metrics::histogram!("sync_readback_duration_seconds").record(report.elapsed.as_secs_f64());
        self.record_last_read_back(&report, now).await?;
        tracing::info!(
            events = report.events_delivered(),
            payments = report.payments_found(),
            invoices = report.invoices_seen(),
            "read-back finished"
        );
        Ok(report)
    }

    /// The payment-status and balance flow of one side.
    async fn read_back_side(
        &self,
        side: LedgerSide,
        now: DateTime<Utc>,
        as_of: NaiveDate,
        pay: &mut payments::PaymentRun,
    ) -> Result<OpenItemsReport, EngineError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let mut run = SideRun::default();

        // 1. The change feed.
        let feed_name = side.feed_cursor();
        let stored_cursor = store.state(admin, &feed_name).await?;
        let old_cursor = stored_cursor.as_deref().and_then(parse_cursor_time);
        let overlap = TimeDelta::from_std(self.inner.options.readback_overlap).unwrap_or_default();
        let mut feed = ChangeFeed::new(old_cursor, overlap);
        let query = feed.query(Query::new());
        let mut seen: SeenFilter<Uuid> = SeenFilter::new();
        let mut stream = open_items(&self.inner.client, side, query);
        while let Some(item) = stream.try_next().await? {
            if let Some(modified) = item.modified_on {
                if !seen.is_new(item.id, modified) {
                    continue;
                }
                feed.advance(modified);
                let lag = (now - dutch_to_utc(modified)).num_milliseconds().max(0) as f64 / 1e3;
                metrics::histogram!("sync_readback_lag_seconds", "side" => side.as_str())
                    .record(lag);
            }
            run.report.invoices_seen += 1;
            if run.report.invoices_seen.is_multiple_of(SEEN_PRUNE_EVERY)
                && let Some(latest) = feed.cursor()
            {
                // Offset paging ordered by modifiedOn repeats a row only across a page edge,
                // so what is older than the overlap window cannot come back.
                seen.forget_before(latest - overlap);
            }
            if !self.settle_payments(side, &item, pay).await?
                && let Some(m) = item.modified_on
            {
                run.first_refused = Some(run.first_refused.map_or(m, |f| f.min(m)));
            }
            self.settle(side, &item, as_of, Origin::Feed, &mut run)
                .await?;
        }
        drop(stream);
        metrics::counter!("sync_readback_invoices_total", "side" => side.as_str())
            .increment(run.report.invoices_seen);

        // 2. Open invoices that became overdue with time since the previous run.
        let as_of_name = side.as_of_cursor();
        let stored_as_of = store.state(admin, &as_of_name).await?;
        let previous_as_of = stored_as_of
            .as_deref()
            .and_then(|t| t.parse::<NaiveDate>().ok());
        if let Some(previous) = previous_as_of
            && previous < as_of
        {
            let due = property("VervalDatum");
            let filter = open_filter()
                .and(Filter::ge(
                    due.clone(),
                    previous.and_time(chrono::NaiveTime::MIN),
                ))
                .and(Filter::lt(due, as_of.and_time(chrono::NaiveTime::MIN)));
            let mut stream = open_items(&self.inner.client, side, Query::new().filter(filter));
            while let Some(item) = stream.try_next().await? {
                run.report.overdue_rechecked += 1;
                self.settle(side, &item, as_of, Origin::Recheck, &mut run)
                    .await?;
            }
        }

        // 3. Balances of the relations touched.
        self.deliver_balances(side, as_of, &mut run).await?;

        // 4. Move the cursors past what was delivered.
        let next = next_feed_cursor(old_cursor, feed.cursor(), run.first_refused);
        if let Some(next) = next
            && Some(next) != old_cursor
        {
            store
                .put_state(
                    admin,
                    &feed_name,
                    stored_cursor.as_deref(),
                    &format_cursor_time(next),
                    self.now(),
                )
                .await?;
        }
        run.report.cursor = next.or(old_cursor);
        let as_of_text = as_of.to_string();
        if !run.recheck_refused && stored_as_of.as_deref() != Some(as_of_text.as_str()) {
            store
                .put_state(
                    admin,
                    &as_of_name,
                    stored_as_of.as_deref(),
                    &as_of_text,
                    self.now(),
                )
                .await?;
        }
        metrics::counter!("sync_payments_found_total", "side" => side.as_str())
            .increment(run.report.payments_found);
        Ok(run.report)
    }

    /// Derives one invoice's status and delivers it when it differs from what was delivered.
    async fn settle(
        &self,
        side: LedgerSide,
        item: &OpenItem,
        as_of: NaiveDate,
        origin: Origin,
        run: &mut SideRun,
    ) -> Result<(), EngineError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let link_id = side.status_link_id(item.id);
        let existing = store
            .link_by_crm_id(admin, EntityKind::PaymentStatus, &link_id, &LinkPart::Whole)
            .await?;
        let previous = existing.as_ref().and_then(|l| l.payload_hash.clone());
        // The fingerprint does not depend on the CRM id, so an unchanged invoice (the common
        // case: everything re-read in the overlap window) costs no link lookup.
        let mut status = PaymentStatus::derive(
            CrmId::new(item.factuurnummer.clone()),
            Money::round_from(item.total),
            Money::round_from(item.outstanding),
            item.due,
            as_of,
        );
        let fingerprint = status_fingerprint(&status);
        if previous.as_deref() == Some(fingerprint.as_str()) {
            return Ok(());
        }
        let invoice = self.crm_invoice_id(side, item).await?;
        status.invoice = CrmId::new(invoice.clone());
        let paid_more = match previous.as_deref().and_then(fingerprint_outstanding) {
            Some(before) => status.outstanding.amount().abs() < before.abs(),
            None => !status.paid.is_zero(),
        };
        let became_overdue = item.is_overdue(as_of)
            && previous.as_deref().and_then(fingerprint_state) != Some("overdue");
        let event = SinkEvent::PaymentStatusChanged {
            kind: side.kind(),
            crm_id: invoice,
            status,
        };
        if let Err(e) = self.inner.sink.deliver(event).await {
            tracing::warn!(error = %e, invoice = %item.factuurnummer, "the CRM sink refused a payment status; retried next run");
            run.report.count_refusal();
            match origin {
                Origin::Feed => {
                    if let Some(m) = item.modified_on {
                        run.first_refused = Some(run.first_refused.map_or(m, |f| f.min(m)));
                    }
                }
                Origin::Recheck => run.recheck_refused = true,
            }
            return Ok(());
        }
        metrics::counter!("sync_readback_events_total", "event" => "payment_status").increment(1);
        run.report.status_events += 1;
        run.report.payments_found += u64::from(paid_more);
        run.report.became_overdue += u64::from(became_overdue);
        if let Some(relatie) = item.relatie {
            run.affected.insert(relatie);
        }
        let now = self.now();
        let recorded = match existing {
            Some(_) => {
                store
                    .set_payload_hash(
                        admin,
                        EntityKind::PaymentStatus,
                        &link_id,
                        &LinkPart::Whole,
                        previous.as_deref(),
                        Some(&fingerprint),
                        now,
                    )
                    .await
            }
            None => {
                store
                    .upsert_link(
                        IdLink::new(
                            admin.clone(),
                            EntityKind::PaymentStatus,
                            link_id,
                            item.id,
                            now,
                        )
                        .with_payload_hash(fingerprint),
                    )
                    .await
            }
        };
        match recorded {
            Ok(()) => Ok(()),
            // Another engine on the same store recorded a newer status meanwhile: its record
            // stands (it delivered too).
            Err(StoreError::Conflict { .. }) => {
                tracing::warn!(invoice = %item.factuurnummer, "payment status recorded concurrently by another engine");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The CRM id of an invoice: the booking link's CRM id when the engine booked it (by
    /// booking id, then by factuurnummer), otherwise the factuurnummer itself.
    async fn crm_invoice_id(
        &self,
        side: LedgerSide,
        item: &OpenItem,
    ) -> Result<String, StoreError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let kind = side.kind();
        if let Some(booking) = item.booking
            && let Some(link) = store.link_by_snelstart_id(admin, kind, booking).await?
        {
            return Ok(link.crm_id);
        }
        if !item.factuurnummer.is_empty()
            && let Some(link) = store
                .link_by_natural_key(admin, kind, &booking_natural_key(side, item))
                .await?
        {
            return Ok(link.crm_id);
        }
        Ok(item.factuurnummer.clone())
    }

    /// Recomputes and delivers the balances of the relations whose invoices changed (and of
    /// those whose balance the sink refused last time).
    async fn deliver_balances(
        &self,
        side: LedgerSide,
        as_of: NaiveDate,
        run: &mut SideRun,
    ) -> Result<(), EngineError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let retry_name = side.balance_retry_cursor();
        let stored_retry = store.state(admin, &retry_name).await?;
        let mut relations = run.affected.clone();
        relations.extend(
            stored_retry
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .filter_map(|s| Uuid::parse_str(s.trim()).ok()),
        );
        if relations.is_empty() {
            return Ok(());
        }
        let totals = self.balances(side, &relations, as_of).await?;
        let mut refused = Vec::new();
        for relatie in relations {
            let (open, overdue) = totals.get(&relatie).copied().unwrap_or_default();
            let (open, overdue) = (Money::round_from(open), Money::round_from(overdue));
            let name = side.balance_cursor(relatie);
            let previous = store.state(admin, &name).await?;
            let fingerprint = balance_fingerprint(open, overdue);
            if previous.as_deref() == Some(fingerprint.as_str()) {
                continue;
            }
            if previous.is_none() && open.is_zero() && overdue.is_zero() {
                // Nothing open and never reported: nothing to tell.
                continue;
            }
            let crm_id = store
                .link_by_snelstart_id(admin, EntityKind::Relation, relatie)
                .await?
                .map(|l| l.crm_id);
            let event = SinkEvent::BalanceChanged {
                kind: side.kind(),
                crm_id,
                snelstart_id: relatie,
                open,
                overdue,
                as_of,
            };
            if let Err(e) = self.inner.sink.deliver(event).await {
                tracing::warn!(error = %e, %relatie, "the CRM sink refused a balance; retried next run");
                run.report.count_refusal();
                refused.push(relatie);
                continue;
            }
            metrics::counter!("sync_readback_events_total", "event" => "balance").increment(1);
            run.report.balance_events += 1;
            match store
                .put_state(admin, &name, previous.as_deref(), &fingerprint, self.now())
                .await
            {
                Ok(()) | Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        refused.truncate(MAX_BALANCE_RETRIES);
        let retry_text = refused
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(",");
        if stored_retry.as_deref().unwrap_or_default() != retry_text {
            store
                .put_state(
                    admin,
                    &retry_name,
                    stored_retry.as_deref(),
                    &retry_text,
                    self.now(),
                )
                .await?;
        }
        Ok(())
    }

    /// Open and overdue totals per relation, for the given relations only.
    async fn balances(
        &self,
        side: LedgerSide,
        relations: &BTreeSet<Uuid>,
        as_of: NaiveDate,
    ) -> Result<HashMap<Uuid, (Decimal, Decimal)>, snelstart_client::Error> {
        let mut totals: HashMap<Uuid, (Decimal, Decimal)> = HashMap::new();
        let mut add = |item: &OpenItem| {
            if let Some(relatie) = item.relatie
                && relations.contains(&relatie)
            {
                let entry = totals.entry(relatie).or_default();
                entry.0 += item.outstanding;
                if item.is_overdue(as_of) {
                    entry.1 += item.outstanding;
                }
            }
        };
        if relations.len() <= PER_RELATION_QUERY_LIMIT {
            for relatie in relations {
                let filter = Filter::eq(property("Relatie/Id"), *relatie).and(open_filter());
                let mut stream = open_items(&self.inner.client, side, Query::new().filter(filter));
                while let Some(item) = stream.try_next().await? {
                    add(&item);
                }
            }
        } else {
            let mut stream =
                open_items(&self.inner.client, side, Query::new().filter(open_filter()));
            while let Some(item) = stream.try_next().await? {
                add(&item);
            }
        }
        Ok(totals)
    }
}

mod duration_secs {
    use serde::Serializer;
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_model::PaymentState;

    fn t(text: &str) -> NaiveDateTime {
        parse_cursor_time(text).unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn constant_properties_are_valid() {
        for p in [
            "OpenstaandSaldo",
            "VervalDatum",
            "Relatie/Id",
            "Dagboek/Id",
            "Kostenplaats",
            "Totaal",
        ] {
            assert!(Property::new(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn fingerprint_ignores_the_day_but_not_the_state() {
        let status = |outstanding: i64, as_of: &str| {
            PaymentStatus::derive(
                CrmId::new("inv-1"),
                Money::from_cents(12_100),
                Money::from_cents(outstanding),
                Some(day("2025-03-10")),
                day(as_of),
            )
        };
        let open = status_fingerprint(&status(12_100, "2025-03-01"));
        assert_eq!(open, status_fingerprint(&status(12_100, "2025-03-02")));
        let overdue = status_fingerprint(&status(12_100, "2025-03-11"));
        assert_ne!(open, overdue);
        assert_eq!(fingerprint_state(&overdue), Some("overdue"));
        assert_eq!(
            fingerprint_outstanding(&status_fingerprint(&status(2_100, "2025-03-01"))),
            Some(Decimal::new(2_100, 2))
        );
        assert_eq!(status(0, "2025-04-01").state, PaymentState::Paid);
    }

    #[test]
    fn cursor_never_passes_a_refused_record_nor_goes_back() {
        let old = Some(t("2025-03-01T10:00:00"));
        let read = Some(t("2025-03-01T12:00:00"));
        assert_eq!(next_feed_cursor(old, read, None), read);
        assert_eq!(
            next_feed_cursor(old, read, Some(t("2025-03-01T11:00:00"))),
            Some(t("2025-03-01T10:59:59.999999"))
        );
        // A refused record inside the overlap window: the cursor stays where it was.
        assert_eq!(
            next_feed_cursor(old, read, Some(t("2025-03-01T09:58:00"))),
            old
        );
        assert_eq!(next_feed_cursor(None, None, None), None);
        assert_eq!(next_feed_cursor(old, None, None), old);
    }

    #[test]
    fn cursor_time_round_trips_with_microseconds() {
        let stamp = t("2025-03-01T10:00:00.123456");
        assert_eq!(parse_cursor_time(&format_cursor_time(stamp)), Some(stamp));
        assert_eq!(
            t("2023-06-29T21:44:48.51").to_string(),
            "2023-06-29 21:44:48.510"
        );
    }

    #[test]
    fn dutch_time_and_days() {
        // Winter: UTC+1. 23:30 UTC on 1 March is already 2 March in the Netherlands.
        let at = DateTime::parse_from_rfc3339("2025-03-01T23:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(dutch_day(at), day("2025-03-02"));
        assert_eq!(
            dutch_to_utc(t("2025-07-01T12:00:00")).to_rfc3339(),
            "2025-07-01T10:00:00+00:00"
        );
    }
}
