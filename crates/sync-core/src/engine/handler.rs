//! The narrow view of the engine a record handler gets: the client, the store and the
//! administration, and the three things every write reports to (the audit log,
//! the circuit breaker and the CRM sink). Handlers need nothing else of the engine, and what
//! a handler cannot reach it cannot misuse.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use snelstart_client::Client;

use super::{ItemResult, SyncEngine, later};
use crate::breaker::Breaker;
use crate::clock::Clock;
use crate::crm::{CrmSink, CrmSource, SinkEvent};
use crate::error::{FailureKind, stored_from_client};
use crate::store::{AdminKey, AuditEntry, AuditOutcome, EntityKind, Store, WorkItem};

/// What a handler may use while it handles one item (see the module docs).
pub(crate) struct HandlerCtx<'a, S, Snk> {
    pub(crate) client: &'a Client,
    pub(crate) store: &'a S,
    pub(crate) admin: &'a AdminKey,
    sink: &'a Snk,
    clock: &'a Clock,
    breaker: &'a Mutex<Breaker>,
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngine<S, Src, Snk> {
    /// The handler's view of this engine.
    pub(crate) fn handler_ctx(&self) -> HandlerCtx<'_, S, Snk> {
        let inner = &self.inner;
        HandlerCtx {
            client: &inner.client,
            store: &inner.store,
            admin: &inner.admin,
            sink: &inner.sink,
            clock: &inner.clock,
            breaker: &inner.breaker,
        }
    }
}

impl<S: Store, Snk: CrmSink> HandlerCtx<'_, S, Snk> {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// SnelStart answered (whatever it said): it is reachable. Call this only after an
    /// answer: a transport failure or a lost response is no evidence that SnelStart is up.
    pub(crate) fn record_success(&self) {
        let now = self.now();
        self.breaker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record_success(now);
    }

    /// Tells the CRM sink. While an item runs, the event joins the item's outbox entries and
    /// is stored with its outcome (see `engine::outbox`); elsewhere it goes to the sink at
    /// once and a refusal is logged.
    pub(crate) async fn deliver(&self, event: SinkEvent) {
        let Some(event) = super::outbox::buffer(event) else {
            return;
        };
        if let Err(e) = self.sink.deliver(event).await {
            tracing::warn!(error = %e, "the CRM sink refused an event");
        }
    }

    /// Appends an audit entry for a write; audit failures are logged, not fatal (the write
    /// already happened and the link records it). While an item runs, the entry is stored
    /// with the item's outcome (see `engine::outbox::buffer_audit`).
    pub(crate) async fn audit(
        &self,
        kind: EntityKind,
        crm_id: &str,
        snelstart_id: Option<uuid::Uuid>,
        action: &str,
        summary: String,
        outcome: Result<(), String>,
    ) {
        let mut entry = AuditEntry::new(
            self.now(),
            self.admin.clone(),
            kind,
            action,
            summary,
            match outcome {
                Ok(()) => AuditOutcome::Ok,
                Err(m) => AuditOutcome::Error(m),
            },
        )
        .with_crm_id(crm_id);
        if let Some(id) = snelstart_id {
            entry = entry.with_snelstart_id(id);
        }
        let Some(entry) = super::outbox::buffer_audit(entry) else {
            return;
        };
        if let Err(e) = self.store.append_audit(entry).await {
            tracing::warn!(error = %e, "could not write the audit log");
        }
    }
}

/// The engine's own uses of the same feedback: classifying a SnelStart error into the item's
/// next step (and the breaker's view of SnelStart), backoff, payload hashes.
impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngine<S, Src, Snk> {
    pub(crate) fn record_success(&self) {
        self.handler_ctx().record_success();
    }

    /// Turns a SnelStart error into the item's next step.
    pub(crate) fn classify(&self, item: &WorkItem, e: &snelstart_client::Error) -> ItemResult {
        let now = self.now();
        if e.is_rate_limited() {
            let wait = e.retry_after().unwrap_or(Duration::from_secs(30));
            return ItemResult::Retry {
                at: later(now, wait),
                error: stored_from_client(FailureKind::RateLimited, e),
            };
        }
        let outage = e.is_retryable()
            || matches!(
                e,
                snelstart_client::Error::Auth(_) | snelstart_client::Error::Transport(_)
            );
        if outage {
            let mut breaker = self
                .inner
                .breaker
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            breaker.record_failure(now, e.to_string());
            // An outage is SnelStart's state, not this record's: the item is due again when
            // the breaker probes (so everything resumes within seconds of SnelStart answering),
            // or after a short backoff while the breaker is still closed.
            let at = breaker.open_until(now).unwrap_or_else(|| {
                let wait = self
                    .backoff(item.attempts)
                    .min(self.inner.options.breaker_base);
                later(now, wait)
            });
            return ItemResult::Retry {
                at,
                error: stored_from_client(FailureKind::Transient, e),
            };
        }
        // SnelStart answered: it is reachable, the record is the problem.
        self.record_success();
        ItemResult::Fail(stored_from_client(FailureKind::Permanent, e))
    }

    /// Records `hash` as the payload last sent for a linked record. Losing the
    /// compare-and-swap means another worker recorded a later write meanwhile, and that one
    /// stands.
    pub(crate) async fn record_sent_hash(
        &self,
        link: &crate::store::IdLink,
        hash: &str,
    ) -> Result<(), crate::store::StoreError> {
        match self
            .inner
            .store
            .set_payload_hash(
                &self.inner.admin,
                link.kind,
                &link.crm_id,
                &link.part,
                link.payload_hash.as_deref(),
                Some(hash),
                self.now(),
            )
            .await
        {
            Err(e) if e.is_conflict() => Ok(()),
            other => other,
        }
    }

    pub(crate) fn backoff(&self, attempts: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(16);
        self.inner
            .options
            .base_backoff
            .saturating_mul(1 << exponent)
            .min(self.inner.options.max_backoff)
    }

    pub(crate) async fn deliver(&self, event: SinkEvent) {
        self.handler_ctx().deliver(event).await;
    }

    /// Appends an audit entry for a write; audit failures are logged, not fatal (the write
    /// already happened and the link records it).
    pub(crate) async fn audit(
        &self,
        kind: EntityKind,
        crm_id: &str,
        snelstart_id: Option<uuid::Uuid>,
        action: &str,
        summary: String,
        outcome: Result<(), String>,
    ) {
        self.handler_ctx()
            .audit(kind, crm_id, snelstart_id, action, summary, outcome)
            .await;
    }
}
