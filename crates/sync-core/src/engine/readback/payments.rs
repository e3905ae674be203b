//! Payments with their dates: which bank, cash or memoriaal booking paid how much of an invoice
//! the engine booked, and when.
//!
//! # What is read, and why
//!
//! SnelStart keeps one number per invoice (`openstaandSaldo`); the payments themselves are
//! the allocation lines of the bookings that settled it. Three feeds are read, each a change
//! feed on `ModifiedOn` (ordered, paged by 500, re-reading the overlap window before the
//! stored cursor, exactly like the invoice feed):
//!
//! - `GET /bankboekingen` and `GET /kasboekingen`: each booking carries its date (`datum`),
//!   its id and its `verkoopboekingBoekingsRegels` / `inkoopboekingBoekingsRegels`, i.e. the
//!   sales and purchase bookings it paid and how much. One page holds up to 500 payments.
//! - Memoriaal bookings have **no list** in the API (API.md §5.10). Their allocations are read
//!   from `GET /grootboekmutaties` filtered on the memoriaal journals (`Dagboek/Id`, one
//!   `GET /dagboeken` per run to find them): an allocation is the mutation that carries a
//!   `factuurNummer` (the mutation on the debtors or creditors ledger). A mutation does not
//!   name its booking, so a memoriaal payment is identified by that mutation's id.
//!
//! The alternative, reading the debtors and creditors ledgers' grootboekmutaties for every
//! journal, would give no booking id for bank and cash payments, and `GET /verkoopfacturen`
//! shows only the open amount, not who paid it when. Reading one invoice's bookings
//! (`/relaties/{id}/verkoopboekingen`) costs a call per invoice. With the three feeds the cost
//! grows with the bookings made since the last run (a few calls per 500 payments), not with
//! the invoices held.
//!
//! # Reversals
//!
//! A deleted booking is not in any feed, but deleting (or changing) it moves the invoice's
//! `modifiedOn`, so the invoice comes back in the invoice feed the read-back reads anyway.
//! For each linked invoice it reads, the engine compares the sum of the payments it delivered
//! with what SnelStart says is paid (`factuurBedrag − openstaandSaldo`). Only when they differ
//! are the delivered payments not seen in this run checked, one `GET` per booking (bank, cash)
//! or mutation (memoriaal): a booking that is gone or no longer allocates that amount becomes
//! a [`SinkEvent::PaymentReversed`]. A bank or cash booking whose allocation changed shows in
//! its feed: the old payment is reversed and the new one delivered.
//!
//! # Exactly once
//!
//! Per invoice the store keeps a cursor `readback:payments:<side>:<booking id>` holding the
//! payments delivered (key `<kind>:<booking id>`, date, amount) and the fingerprint of the
//! last [`SinkEvent::PaymentDates`]. It is written (compare-and-swap) right after the sink
//! accepts each event, so a new engine on the same store delivers nothing twice. An event the
//! sink refuses is not recorded, and the feed cursor stays before its booking so the next run
//! offers it again. As elsewhere in the read-back, a crash between the sink's acceptance and
//! the store write delivers that one event again.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use crm_model::Money;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use snelstart_client::models::{Bankboeking, DagboekSoort, Grootboekmutatie, Kasboeking};
use snelstart_client::odata::{Filter, Query};
use snelstart_client::paging::{ChangeFeed, SeenFilter};
use snelstart_client::{Client, ops};
use uuid::Uuid;

use super::{
    LedgerSide, OpenItem, format_cursor_time, next_feed_cursor, parse_cursor_time, property,
};
use crate::crm::{CrmSink, CrmSource, InvoicePayment, PaymentBookingKind, SinkEvent};
use crate::engine::SyncEngine;
use crate::engine::context::read_complete;
use crate::error::EngineError;
use crate::store::{EntityKind, StateKey, Store, StoreError};

/// What the payment flow did in one read-back.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PaymentsReport {
    /// Bank and cash bookings read from their feeds (repeats within the run not counted).
    pub bookings_read: u64,
    /// Memoriaal ledger mutations read.
    pub mutations_read: u64,
    /// [`SinkEvent::PaymentReceived`] events the sink accepted.
    pub received_events: u64,
    /// [`SinkEvent::PaymentReversed`] events the sink accepted.
    pub reversed_events: u64,
    /// [`SinkEvent::PaymentDates`] events the sink accepted.
    pub dates_events: u64,
    /// Allocations to invoices the engine did not book (not delivered).
    pub unlinked: u64,
    /// Bookings or mutations re-read one by one to confirm a delivered payment.
    pub verified: u64,
    /// Events the sink refused; offered again by a later run.
    pub refused: u64,
    /// Every payment event delivered in this run, in order.
    pub delivered: Vec<DeliveredPayment>,
}

/// One payment event delivered in a run (for reports and the quickstart).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DeliveredPayment {
    /// [`EntityKind::SalesInvoice`] or [`EntityKind::PurchaseInvoice`].
    pub kind: EntityKind,
    /// The CRM invoice.
    pub crm_id: String,
    /// The payment.
    pub payment: InvoicePayment,
    /// True for a [`SinkEvent::PaymentReversed`].
    pub reversed: bool,
}

/// One delivered payment as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    kind: PaymentBookingKind,
    id: Uuid,
    date: NaiveDate,
    amount: Decimal,
}

impl Entry {
    fn key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.id)
    }

    fn payment(&self, invoice_booking: Uuid) -> InvoicePayment {
        InvoicePayment::new(
            self.date,
            Money::round_from(self.amount),
            self.kind,
            self.id,
            invoice_booking,
        )
    }
}

/// The payments delivered for one invoice, stored as a cursor value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Ledger {
    #[serde(default)]
    payments: Vec<Entry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dates: Option<String>,
}

impl Ledger {
    fn paid(&self) -> Decimal {
        self.payments.iter().map(|e| e.amount).sum()
    }
}

fn ledger_cursor(side: LedgerSide, booking: Uuid) -> StateKey {
    StateKey::read_back_of(format!("payments:{}", side.as_str()), booking.to_string())
}

fn feed_cursor(kind: PaymentBookingKind) -> StateKey {
    StateKey::read_back(format!("payments:{}:modified_on", kind.as_str()))
}

/// An amount that SnelStart may leave out (`null` reads as 0).
trait Amount {
    fn amount(self) -> Decimal;
}

impl Amount for Decimal {
    fn amount(self) -> Decimal {
        self
    }
}

impl Amount for Option<Decimal> {
    fn amount(self) -> Decimal {
        self.unwrap_or_default()
    }
}

/// A bank or cash booking reduced to what the read-back needs.
#[derive(Debug, Clone)]
struct CashBooking {
    id: Uuid,
    date: Option<NaiveDate>,
    modified_on: Option<NaiveDateTime>,
    /// (side, sales/purchase booking) → amount paid (lines for the same booking summed).
    allocations: BTreeMap<(LedgerSide, Uuid), Decimal>,
}

macro_rules! cash_booking_from {
    ($fn:ident, $ty:ty) => {
        fn $fn(b: $ty) -> Option<CashBooking> {
            let mut allocations = BTreeMap::new();
            for (booking, amount) in b.verkoop_payments() {
                *allocations
                    .entry((LedgerSide::Sales, booking.as_uuid()))
                    .or_default() += amount;
            }
            for (booking, amount) in b.inkoop_payments() {
                *allocations
                    .entry((LedgerSide::Purchases, booking.as_uuid()))
                    .or_default() += amount;
            }
            Some(CashBooking {
                id: b.id?.as_uuid(),
                date: b.datum.map(|d| d.date()),
                modified_on: b.modified_on,
                allocations,
            })
        }
    };
}
cash_booking_from!(from_bank, Bankboeking);
cash_booking_from!(from_kas, Kasboeking);

fn cash_feed(
    client: &Client,
    kind: PaymentBookingKind,
    query: Query,
) -> BoxStream<'static, Result<Option<CashBooking>, snelstart_client::Error>> {
    match kind {
        PaymentBookingKind::Kas => client
            .list(ops::kasboekingen::list(query))
            .map_ok(from_kas)
            .boxed(),
        _ => client
            .list(ops::bankboekingen::list(query))
            .map_ok(from_bank)
            .boxed(),
    }
}

/// State of the payment flow within one run.
#[derive(Default)]
pub(super) struct PaymentRun {
    pub(super) report: PaymentsReport,
    /// Payments confirmed by a feed in this run: (side, invoice booking, entry key).
    confirmed: HashSet<(LedgerSide, Uuid, String)>,
    /// Bank and cash bookings fetched one by one in this run (`None`: gone).
    fetched: HashMap<(PaymentBookingKind, Uuid), Option<CashBooking>>,
}

/// The outcome of one delivery.
enum Delivery {
    Accepted,
    Refused,
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngine<S, Src, Snk> {
    /// Reads the bank, cash and memoriaal feeds and delivers the payments they carry.
    pub(super) async fn read_back_payments(&self, pay: &mut PaymentRun) -> Result<(), EngineError> {
        for kind in [PaymentBookingKind::Bank, PaymentBookingKind::Kas] {
            self.cash_feed(kind, pay).await?;
        }
        self.memoriaal_feed(pay).await
    }

    async fn cash_feed(
        &self,
        kind: PaymentBookingKind,
        pay: &mut PaymentRun,
    ) -> Result<(), EngineError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let name = feed_cursor(kind);
        let stored = store.state(admin, &name).await?;
        let old = stored.as_deref().and_then(parse_cursor_time);
        let overlap = TimeDelta::from_std(self.inner.options.readback_overlap).unwrap_or_default();
        let mut feed = ChangeFeed::new(old, overlap);
        let mut seen: SeenFilter<Uuid> = SeenFilter::new();
        let mut first_refused: Option<NaiveDateTime> = None;
        let mut stream = cash_feed(&self.inner.client, kind, feed.query(Query::new()));
        while let Some(booking) = stream.try_next().await? {
            let Some(booking) = booking else { continue };
            if let Some(m) = booking.modified_on {
                if !seen.is_new(booking.id, m) {
                    continue;
                }
                feed.advance(m);
            }
            pay.report.bookings_read += 1;
            let Some(date) = booking.date else { continue };
            for (&(side, invoice), &amount) in &booking.allocations {
                let entry = Entry {
                    kind,
                    id: booking.id,
                    date,
                    amount,
                };
                if let Delivery::Refused = self.observe(side, invoice, entry, pay).await?
                    && let Some(m) = booking.modified_on
                {
                    first_refused = Some(first_refused.map_or(m, |f| f.min(m)));
                }
            }
        }
        drop(stream);
        self.move_feed_cursor(&name, stored.as_deref(), old, feed.cursor(), first_refused)
            .await
    }

    async fn memoriaal_feed(&self, pay: &mut PaymentRun) -> Result<(), EngineError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        // A journal left out would lose its payments for good (the feed cursor moves on).
        let journals: Vec<Uuid> = read_complete(&self.inner.client, ops::dagboeken::list())
            .await?
            .into_iter()
            .filter(|d| d.soort == Some(DagboekSoort::Memoriaal))
            .map(|d| d.id.as_uuid())
            .collect();
        let Some(filter) = journals
            .iter()
            .map(|j| Filter::eq(property("Dagboek/Id"), *j))
            .reduce(Filter::or)
        else {
            return Ok(());
        };
        let name = feed_cursor(PaymentBookingKind::Memoriaal);
        let stored = store.state(admin, &name).await?;
        let old = stored.as_deref().and_then(parse_cursor_time);
        let overlap = TimeDelta::from_std(self.inner.options.readback_overlap).unwrap_or_default();
        let mut feed = ChangeFeed::new(old, overlap);
        let mut seen: SeenFilter<Uuid> = SeenFilter::new();
        let mut first_refused: Option<NaiveDateTime> = None;
        let mut stream = self
            .inner
            .client
            .list(ops::grootboekmutaties::list(
                feed.query(Query::new().filter(filter)),
            ))
            .boxed();
        while let Some(m) = stream.try_next().await? {
            let mutation: Grootboekmutatie = m;
            let id = mutation.id.as_uuid();
            if let Some(at) = mutation.modified_on {
                if !seen.is_new(id, at) {
                    continue;
                }
                feed.advance(at);
            }
            pay.report.mutations_read += 1;
            let Some(factuurnummer) = mutation.factuur_nummer.as_deref().filter(|f| !f.is_empty())
            else {
                continue;
            };
            let Some(date) = mutation.datum.map(|d| d.date()) else {
                continue;
            };
            let relatie = mutation
                .relatie_public_identifier
                .as_ref()
                .map(|r| r.id.as_uuid());
            let Some((side, invoice)) = self.invoice_of(factuurnummer, relatie).await? else {
                pay.report.unlinked += 1;
                continue;
            };
            // Sales: a payment credits the debtors ledger; purchases: it debits the creditors.
            let saldo = mutation.saldo.amount();
            let amount = match side {
                LedgerSide::Sales => -saldo,
                LedgerSide::Purchases => saldo,
            };
            let entry = Entry {
                kind: PaymentBookingKind::Memoriaal,
                id,
                date,
                amount,
            };
            if let Delivery::Refused = self.observe(side, invoice, entry, pay).await?
                && let Some(at) = mutation.modified_on
            {
                first_refused = Some(first_refused.map_or(at, |f| f.min(at)));
            }
        }
        drop(stream);
        self.move_feed_cursor(&name, stored.as_deref(), old, feed.cursor(), first_refused)
            .await
    }

    async fn move_feed_cursor(
        &self,
        name: &StateKey,
        stored: Option<&str>,
        old: Option<NaiveDateTime>,
        read: Option<NaiveDateTime>,
        first_refused: Option<NaiveDateTime>,
    ) -> Result<(), EngineError> {
        let next = next_feed_cursor(old, read, first_refused);
        if let Some(next) = next
            && Some(next) != old
        {
            self.inner
                .store
                .put_state(
                    &self.inner.admin,
                    name,
                    stored,
                    &format_cursor_time(next),
                    self.now(),
                )
                .await?;
        }
        Ok(())
    }

    /// The sales or purchase booking the engine made for a factuurnummer (and relation).
    async fn invoice_of(
        &self,
        factuurnummer: &str,
        relatie: Option<Uuid>,
    ) -> Result<Option<(LedgerSide, Uuid)>, StoreError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        if let Some(link) = store
            .link_by_natural_key(admin, EntityKind::SalesInvoice, factuurnummer)
            .await?
        {
            return Ok(Some((LedgerSide::Sales, link.snelstart_id)));
        }
        if let Some(relatie) = relatie
            && let Some(link) = store
                .link_by_natural_key(
                    admin,
                    EntityKind::PurchaseInvoice,
                    &format!("{relatie}:{factuurnummer}"),
                )
                .await?
        {
            return Ok(Some((LedgerSide::Purchases, link.snelstart_id)));
        }
        Ok(None)
    }

    /// The CRM invoice of a sales or purchase booking the engine made.
    async fn linked_invoice(
        &self,
        side: LedgerSide,
        booking: Uuid,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .inner
            .store
            .link_by_snelstart_id(&self.inner.admin, side.kind(), booking)
            .await?
            .map(|l| l.crm_id))
    }

    /// What the CRM was told was paid on one invoice (the sum of the payments delivered and
    /// not reversed), `None` when nothing was ever delivered for it.
    pub(crate) async fn delivered_paid(
        &self,
        side: LedgerSide,
        booking: Uuid,
    ) -> Result<Option<Decimal>, StoreError> {
        let (text, ledger) = self.load_ledger(side, booking).await?;
        Ok(text.map(|_| ledger.paid()))
    }

    async fn load_ledger(
        &self,
        side: LedgerSide,
        booking: Uuid,
    ) -> Result<(Option<String>, Ledger), StoreError> {
        let text = self
            .inner
            .store
            .state(&self.inner.admin, &ledger_cursor(side, booking))
            .await?;
        let ledger = text
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        Ok((text, ledger))
    }

    /// Writes a ledger after a delivery; `stored` follows the value in the store.
    async fn save_ledger(
        &self,
        side: LedgerSide,
        booking: Uuid,
        stored: &mut Option<String>,
        ledger: &Ledger,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(ledger).unwrap_or_default();
        match self
            .inner
            .store
            .put_state(
                &self.inner.admin,
                &ledger_cursor(side, booking),
                stored.as_deref(),
                &text,
                self.now(),
            )
            .await
        {
            Ok(()) => {
                *stored = Some(text);
                Ok(())
            }
            // Another engine on the same store recorded this invoice meanwhile: its record
            // stands (it delivered too).
            Err(StoreError::Conflict { .. }) => {
                tracing::warn!(%booking, "payments recorded concurrently by another engine");
                *stored = self
                    .inner
                    .store
                    .state(&self.inner.admin, &ledger_cursor(side, booking))
                    .await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn deliver_payment(
        &self,
        side: LedgerSide,
        crm_id: &str,
        payment: InvoicePayment,
        reversed: bool,
        report: &mut PaymentsReport,
    ) -> Delivery {
        let event = if reversed {
            SinkEvent::PaymentReversed {
                kind: side.kind(),
                crm_id: crm_id.to_owned(),
                payment: payment.clone(),
            }
        } else {
            SinkEvent::PaymentReceived {
                kind: side.kind(),
                crm_id: crm_id.to_owned(),
                payment: payment.clone(),
            }
        };
        if let Err(e) = self.inner.sink.deliver(event).await {
            tracing::warn!(error = %e, invoice = %crm_id, "the CRM sink refused a payment; retried next run");
            report.refused += 1;
            metrics::counter!("sync_readback_refused_total").increment(1);
            return Delivery::Refused;
        }
        let label = if reversed {
            report.reversed_events += 1;
            "payment_reversed"
        } else {
            report.received_events += 1;
            "payment_received"
        };
        metrics::counter!("sync_readback_events_total", "event" => label).increment(1);
        report.delivered.push(DeliveredPayment {
            kind: side.kind(),
            crm_id: crm_id.to_owned(),
            payment,
            reversed,
        });
        Delivery::Accepted
    }

    /// One allocation seen in a feed: delivered when new, reversed and re-delivered when its
    /// date or amount changed.
    async fn observe(
        &self,
        side: LedgerSide,
        invoice: Uuid,
        entry: Entry,
        pay: &mut PaymentRun,
    ) -> Result<Delivery, EngineError> {
        let Some(crm_id) = self.linked_invoice(side, invoice).await? else {
            pay.report.unlinked += 1;
            return Ok(Delivery::Accepted);
        };
        let key = entry.key();
        pay.confirmed.insert((side, invoice, key.clone()));
        let (mut stored, mut ledger) = self.load_ledger(side, invoice).await?;
        if let Some(pos) = ledger.payments.iter().position(|e| e.key() == key) {
            if ledger.payments[pos] == entry {
                return Ok(Delivery::Accepted);
            }
            let old = ledger.payments[pos].clone();
            match self
                .deliver_payment(side, &crm_id, old.payment(invoice), true, &mut pay.report)
                .await
            {
                Delivery::Refused => return Ok(Delivery::Refused),
                Delivery::Accepted => {
                    ledger.payments.remove(pos);
                    self.save_ledger(side, invoice, &mut stored, &ledger)
                        .await?;
                }
            }
        }
        if entry.amount.is_zero() {
            return Ok(Delivery::Accepted);
        }
        match self
            .deliver_payment(
                side,
                &crm_id,
                entry.payment(invoice),
                false,
                &mut pay.report,
            )
            .await
        {
            Delivery::Refused => Ok(Delivery::Refused),
            Delivery::Accepted => {
                ledger.payments.push(entry);
                self.save_ledger(side, invoice, &mut stored, &ledger)
                    .await?;
                Ok(Delivery::Accepted)
            }
        }
    }

    /// The current allocation of a delivered payment (`None`: it no longer stands).
    async fn recheck(
        &self,
        side: LedgerSide,
        invoice: Uuid,
        entry: &Entry,
        pay: &mut PaymentRun,
    ) -> Result<Option<Entry>, EngineError> {
        let not_found = |e: &snelstart_client::Error| e.status() == Some(404);
        match entry.kind {
            PaymentBookingKind::Memoriaal => {
                pay.report.verified += 1;
                match self
                    .inner
                    .client
                    .execute(ops::grootboekmutaties::get(entry.id.into()))
                    .await
                {
                    Ok(_) => Ok(Some(entry.clone())),
                    Err(e) if not_found(&e) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
            kind => {
                let booking = match pay.fetched.get(&(kind, entry.id)) {
                    Some(b) => b.clone(),
                    None => {
                        pay.report.verified += 1;
                        let got = match kind {
                            PaymentBookingKind::Kas => self
                                .inner
                                .client
                                .execute(ops::kasboekingen::get(entry.id.into()))
                                .await
                                .map(from_kas),
                            _ => self
                                .inner
                                .client
                                .execute(ops::bankboekingen::get(entry.id.into()))
                                .await
                                .map(from_bank),
                        };
                        let b = match got {
                            Ok(b) => b,
                            Err(e) if not_found(&e) => None,
                            Err(e) => return Err(e.into()),
                        };
                        pay.fetched.insert((kind, entry.id), b.clone());
                        b
                    }
                };
                Ok(booking.and_then(|b| {
                    let amount = b.allocations.get(&(side, invoice)).copied()?;
                    Some(Entry {
                        kind,
                        id: entry.id,
                        date: b.date?,
                        amount,
                    })
                }))
            }
        }
    }

    /// For an invoice read from the invoice feed: reverses delivered payments that no longer
    /// stand (only when the delivered sum differs from what SnelStart says is paid), then
    /// delivers the payment dates when they changed. Returns false when the sink refused
    /// something (the invoice is then offered again).
    pub(super) async fn settle_payments(
        &self,
        side: LedgerSide,
        item: &OpenItem,
        pay: &mut PaymentRun,
    ) -> Result<bool, EngineError> {
        let Some(invoice) = item.booking else {
            return Ok(true);
        };
        let (mut stored, mut ledger) = self.load_ledger(side, invoice).await?;
        if stored.is_none() && item.total == item.outstanding {
            // Nothing paid and nothing delivered: nothing to tell (and no link lookup).
            return Ok(true);
        }
        let Some(crm_id) = self.linked_invoice(side, invoice).await? else {
            return Ok(true);
        };
        let paid = item.total - item.outstanding;
        if ledger.paid() != paid {
            let suspects: Vec<Entry> = ledger
                .payments
                .iter()
                .filter(|e| !pay.confirmed.contains(&(side, invoice, e.key())))
                .cloned()
                .collect();
            for old in suspects {
                let now = self.recheck(side, invoice, &old, pay).await?;
                if now.as_ref() == Some(&old) {
                    continue;
                }
                if let Delivery::Refused = self
                    .deliver_payment(side, &crm_id, old.payment(invoice), true, &mut pay.report)
                    .await
                {
                    return Ok(false);
                }
                ledger.payments.retain(|e| e.key() != old.key());
                self.save_ledger(side, invoice, &mut stored, &ledger)
                    .await?;
                if let Some(new) = now.filter(|n| !n.amount.is_zero()) {
                    if let Delivery::Refused = self
                        .deliver_payment(
                            side,
                            &crm_id,
                            new.payment(invoice),
                            false,
                            &mut pay.report,
                        )
                        .await
                    {
                        return Ok(false);
                    }
                    pay.confirmed.insert((side, invoice, new.key()));
                    ledger.payments.push(new);
                    self.save_ledger(side, invoice, &mut stored, &ledger)
                        .await?;
                }
            }
        }
        if ledger.payments.is_empty() && ledger.dates.is_none() {
            return Ok(true);
        }
        let last_payment_on = ledger.payments.iter().map(|e| e.date).max();
        let paid_on = if item.outstanding.is_zero() && !item.total.is_zero() {
            last_payment_on
        } else {
            None
        };
        let paid_money = Money::round_from(ledger.paid());
        let outstanding = Money::round_from(item.outstanding);
        let fingerprint = format!(
            "v1|{paid_money}|{outstanding}|{}|{}",
            paid_on.map(|d| d.to_string()).unwrap_or_default(),
            last_payment_on.map(|d| d.to_string()).unwrap_or_default()
        );
        if ledger.dates.as_deref() == Some(fingerprint.as_str()) {
            return Ok(true);
        }
        let event = SinkEvent::PaymentDates {
            kind: side.kind(),
            crm_id: crm_id.clone(),
            paid: paid_money,
            outstanding,
            paid_on,
            last_payment_on,
        };
        if let Err(e) = self.inner.sink.deliver(event).await {
            tracing::warn!(error = %e, invoice = %crm_id, "the CRM sink refused payment dates; retried next run");
            pay.report.refused += 1;
            return Ok(false);
        }
        metrics::counter!("sync_readback_events_total", "event" => "payment_dates").increment(1);
        pay.report.dates_events += 1;
        ledger.dates = Some(fingerprint);
        self.save_ledger(side, invoice, &mut stored, &ledger)
            .await?;
        Ok(true)
    }
}
