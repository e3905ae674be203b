//! The narrow view of the engine a record handler gets: the client, the store and the
//! administration, and the three things every write reports to (the audit log,
//! the circuit breaker and the CRM sink). Handlers need nothing else of the engine, and what
//! a handler cannot reach it cannot misuse.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use snelstart_client::Client;

use super::SyncEngine;
use crate::breaker::Breaker;
use crate::clock::Clock;
use crate::crm::{CrmSink, CrmSource, SinkEvent};
use crate::store::{AdminKey, AuditEntry, AuditOutcome, EntityKind, Store};

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

    /// Tells the CRM sink; a refusal is logged (the outcome itself is in the store).
    pub(crate) async fn deliver(&self, event: SinkEvent) {
        if let Err(e) = self.sink.deliver(event).await {
            tracing::warn!(error = %e, "the CRM sink refused an event");
        }
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
        if let Err(e) = self.store.append_audit(entry).await {
            tracing::warn!(error = %e, "could not write the audit log");
        }
    }
}
