//! What the read-back adds to the status report: its last run, and unfinished work per kind.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::ReadBackReport;
use crate::SyncEngine;
use crate::crm::{CrmSink, CrmSource};
use crate::error::EngineError;
use crate::report::{KindQueue, ReadBackSummary};
use crate::store::{EntityKind, StateKey, Store, StoreError, WorkState};

/// Where the summary of the last read-back is kept.
const CURSOR_LAST_RUN: &StateKey = &StateKey::ReadBack {
    feed: std::borrow::Cow::Borrowed("last_run"),
    subject: String::new(),
};

/// The status report counts at most this many unfinished items per state.
const STATUS_SCAN_LIMIT: usize = 100_000;

impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngine<S, Src, Snk> {
    pub(super) async fn record_last_read_back(
        &self,
        report: &ReadBackReport,
        at: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let summary = ReadBackSummary {
            at,
            invoices_seen: report.invoices_seen(),
            payments_found: report.payments_found(),
            events_delivered: report.events_delivered(),
        };
        let text = serde_json::to_string(&summary).unwrap_or_default();
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let current = store.state(admin, CURSOR_LAST_RUN).await?;
        store
            .put_state(
                admin,
                CURSOR_LAST_RUN,
                current.as_deref(),
                &text,
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// Unfinished work items per kind, counted from paged lists (at most
    /// [`STATUS_SCAN_LIMIT`] items per state, so a huge backlog cannot make the status report
    /// slow; counts stop there).
    pub(crate) async fn queue_by_kind(
        &self,
    ) -> Result<BTreeMap<EntityKind, KindQueue>, StoreError> {
        const PAGE: usize = 500;
        let mut out: BTreeMap<EntityKind, KindQueue> = BTreeMap::new();
        for state in [
            WorkState::Pending,
            WorkState::InFlight,
            WorkState::Failed,
            WorkState::NeedsReview,
        ] {
            let (mut seen, mut after) = (0, None);
            while seen < STATUS_SCAN_LIMIT {
                let page = self
                    .inner
                    .store
                    .list_summaries(&self.inner.admin, Some(state), after, PAGE)
                    .await?;
                after = page.last().map(|i| i.id);
                for item in &page {
                    let counts = out.entry(item.kind).or_default();
                    match state {
                        WorkState::Pending => counts.pending += 1,
                        WorkState::InFlight => counts.in_flight += 1,
                        WorkState::Failed => counts.failed += 1,
                        _ => counts.needs_review += 1,
                    }
                }
                if page.len() < PAGE {
                    break;
                }
                seen += page.len();
            }
        }
        Ok(out)
    }

    /// The summary of the last read-back, if any (for the status report).
    pub(crate) async fn last_read_back(&self) -> Result<Option<ReadBackSummary>, StoreError> {
        Ok(self
            .inner
            .store
            .state(&self.inner.admin, CURSOR_LAST_RUN)
            .await?
            .and_then(|text| serde_json::from_str(&text).ok()))
    }
}
