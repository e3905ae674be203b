//! The engine's side of the outbox: the events a record's handling produces are collected
//! while it runs, stored with its outcome in one store transaction
//! ([`OutboxStore::finish_batch`](crate::store::OutboxStore::finish_batch)), and delivered
//! from the store until the sink accepts them (ADR 004, "Telling the CRM").
//!
//! Handlers tell the sink through `HandlerCtx::deliver` as before; while an item runs inside
//! [`collect`], that call lands in the item's buffer instead of at the sink. A task-local
//! keeps this out of every handler's signature: the buffer belongs to the item's future, and
//! each item of a concurrent batch runs in its own scope. The audit entries of the item's
//! writes (`HandlerCtx::audit`) are collected the same way and stored in the same transaction
//! (`FinishedItem::audit`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::{SyncEngine, later};
use crate::crm::{CrmSink, CrmSource, SinkEvent};
use crate::error::EngineError;
use crate::store::{AuditEntry, NewOutboxEvent, Store, WorkItem};

/// Events delivered per store claim.
const DELIVERY_PAGE: usize = 100;

/// How long a claimed event is held by one deliverer before another may try it (a deliverer
/// that died mid-delivery).
const DELIVERY_LEASE: Duration = Duration::from_secs(60);

/// What one item's handling produced besides its result: events for the sink and audit
/// entries of its writes, both stored with its outcome.
#[derive(Default)]
pub(crate) struct Produced {
    pub(crate) events: Vec<SinkEvent>,
    pub(crate) audit: Vec<AuditEntry>,
}

type Buffer = Arc<Mutex<Produced>>;

tokio::task_local! {
    static ITEM_EVENTS: Buffer;
}

/// Runs `work` (the handling of one item) with its own buffer; returns its output and the
/// events and audit entries it produced, in order.
pub(crate) async fn collect<F: std::future::Future>(work: F) -> (F::Output, Produced) {
    let buffer = Buffer::default();
    let output = ITEM_EVENTS.scope(Arc::clone(&buffer), work).await;
    let produced = std::mem::take(&mut *buffer.lock().unwrap_or_else(PoisonError::into_inner));
    (output, produced)
}

/// Puts `event` in the running item's buffer; gives it back when no item runs here (intake,
/// or a caller outside [`collect`]), for direct delivery.
pub(crate) fn buffer(event: SinkEvent) -> Option<SinkEvent> {
    let mut event = Some(event);
    let _ = ITEM_EVENTS.try_with(|buffer| {
        if let Some(event) = event.take() {
            buffer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .events
                .push(event);
        }
    });
    event
}

/// Puts an audit entry in the running item's buffer, to be appended in the transaction that
/// records the item's outcome (one commit per batch instead of one per write); gives it back
/// when no item runs here, for appending at once.
pub(crate) fn buffer_audit(entry: AuditEntry) -> Option<AuditEntry> {
    let mut entry = Some(entry);
    let _ = ITEM_EVENTS.try_with(|buffer| {
        if let Some(entry) = entry.take() {
            buffer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .audit
                .push(entry);
        }
    });
    entry
}

/// The outbox entries of `item`'s events: each under a key unique to this administration,
/// item, attempt and position, which every delivery of the event repeats.
pub(crate) fn entries(item: &WorkItem, events: Vec<SinkEvent>) -> Vec<NewOutboxEvent> {
    events
        .into_iter()
        .enumerate()
        .filter_map(|(n, event)| match serde_json::to_value(&event) {
            Ok(json) => Some(NewOutboxEvent::new(
                format!("{}/{}/{}/{}", item.admin, item.id.get(), item.attempts, n),
                json,
            )),
            Err(e) => {
                // Cannot happen for the engine's own events (plain data); logged, not fatal.
                tracing::error!(error = %e, "a sink event did not serialize; dropped");
                None
            }
        })
        .collect()
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngine<S, Src, Snk> {
    /// Delivers the administration's due outbox events, oldest first, until none is due or
    /// the sink refuses one. A refused event waits with a growing pause (the engine's
    /// backoff per attempt), the rest of the page is handed back, and the pass ends: a sink
    /// that is down is not asked again for every event. Returns how many were accepted.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] when the store fails.
    pub(crate) async fn deliver_outbox(&self) -> Result<u64, EngineError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let mut delivered = 0;
        loop {
            let now = self.now();
            let page = store
                .claim_outbox(admin, now, DELIVERY_PAGE, DELIVERY_LEASE)
                .await?;
            let full = page.len() == DELIVERY_PAGE;
            // Accepted events are deleted together, one store commit per page. A crash before
            // that delivers them again, under the same keys (at least once).
            let mut accepted = Vec::new();
            let mut refused = false;
            let mut page = page.into_iter();
            while let Some(entry) = page.next() {
                let event = match serde_json::from_value::<SinkEvent>(entry.event.clone()) {
                    Ok(event) => event,
                    Err(e) => {
                        // Written by a newer build, or damaged: it can never be delivered, and
                        // keeping it would hold it forever.
                        tracing::error!(error = %e, id = %entry.id, "an outbox event does not read as a sink event; dropped");
                        accepted.push(entry.id);
                        continue;
                    }
                };
                match self
                    .inner
                    .sink
                    .deliver_keyed(&entry.idempotency_key, event)
                    .await
                {
                    Ok(()) => {
                        accepted.push(entry.id);
                        delivered += 1;
                    }
                    Err(e) => {
                        let at = later(self.now(), self.backoff(entry.attempts));
                        tracing::warn!(error = %e, key = %entry.idempotency_key, %at, "the CRM sink refused an event; delivered again later");
                        metrics::counter!("sync_sink_refused_total", "admin" => admin.to_string())
                            .increment(1);
                        store
                            .retry_outbox(admin, entry.id, at, Some(&e.to_string()))
                            .await?;
                        for rest in page.by_ref() {
                            store.retry_outbox(admin, rest.id, now, None).await?;
                        }
                        refused = true;
                    }
                }
            }
            store.ack_outbox(admin, &accepted).await?;
            if refused {
                return Ok(delivered);
            }
            if !full {
                return Ok(delivered);
            }
        }
    }
}
