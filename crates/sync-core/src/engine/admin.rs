//! Administration of one engine: the configuration version, the binding to a SnelStart
//! administration, replay of failed items, review decisions, the status report and the dry
//! run ([`SyncEngine::plan`]).

use super::*;

impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngine<S, Src, Snk> {
    /// Records the mapping configuration as a version in the store (a new version only when it
    /// differs from the latest) and returns the version number.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn record_config(&self) -> Result<u64, EngineError> {
        let document = serde_json::to_value(&*self.inner.config).unwrap_or_default();
        let store = &self.inner.store;
        let latest = store.latest_config(&self.inner.admin).await?;
        let version = match latest {
            Some(v) if v.document == document => v.version,
            other => {
                store
                    .save_config(
                        &self.inner.admin,
                        document,
                        other.map(|v| v.version),
                        self.now(),
                    )
                    .await?
            }
        };
        *self
            .inner
            .config_version
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(version);
        Ok(version)
    }

    /// Binds the [`AdminKey`] to the SnelStart administration the client's koppelsleutel
    /// opens (`companyInfo.administratieIdentifier`) on first use, and refuses to work when a
    /// later key opens another one: a koppelsleutel rotated to the wrong customer would
    /// otherwise write one customer's records into another's books, or meet every linked
    /// record as "not found". One `GET /companyInfo` per engine.
    ///
    /// # Errors
    ///
    /// [`EngineError::AdministrationMismatch`]; [`EngineError::SnelStart`] when companyInfo
    /// cannot be read; [`EngineError::Store`].
    pub async fn ensure_bound(&self) -> Result<(), EngineError> {
        self.bind(None).await
    }

    /// [`SyncEngine::ensure_bound`], handing the financial year the companyInfo read carries
    /// to `context`, whose first booking would otherwise read companyInfo again.
    pub(crate) async fn bind(&self, context: Option<&RunContext>) -> Result<(), EngineError> {
        self.inner
            .bound
            .get_or_try_init(|| async {
                let info = self
                    .inner
                    .client
                    .execute(snelstart_client::ops::company_info::get())
                    .await?;
                if let (Some(context), Some(year)) = (context, info.huidig_boekjaar) {
                    context.note_financial_year(year);
                }
                let Some(found) = info.administratie_identifier.map(|id| id.to_string()) else {
                    return Ok(());
                };
                let store = &self.inner.store;
                let admin = &self.inner.admin;
                match store.state(admin, CURSOR_ADMINISTRATION).await? {
                    Some(bound) if bound == found => Ok(()),
                    Some(bound) => Err(EngineError::AdministrationMismatch {
                        admin: admin.to_string(),
                        bound,
                        found,
                    }),
                    None => match store
                        .put_state(admin, CURSOR_ADMINISTRATION, None, &found, self.now())
                        .await
                    {
                        Ok(()) => Ok(()),
                        // Another engine bound it meanwhile: check against what it wrote.
                        Err(e) if e.is_conflict() => {
                            match store.state(admin, CURSOR_ADMINISTRATION).await? {
                                Some(bound) if bound != found => {
                                    Err(EngineError::AdministrationMismatch {
                                        admin: admin.to_string(),
                                        bound,
                                        found,
                                    })
                                }
                                _ => Ok(()),
                            }
                        }
                        Err(e) => Err(e.into()),
                    },
                }
            })
            .await
            .map(|_| ())
    }

    /// Sends failed (and, when the filter says so, review) items back to the queue, for
    /// example after the mapping or the CRM data was fixed. Returns how many.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn replay(&self, filter: ReplayFilter) -> Result<u64, EngineError> {
        Ok(self.inner.store.replay(&filter, self.now()).await?)
    }

    /// Records a reviewer's decision for a relation waiting for review and queues it again.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn resolve_review(
        &self,
        crm_id: &str,
        resolution: ReviewResolution,
    ) -> Result<(), EngineError> {
        let name = review_cursor(EntityKind::Relation, crm_id);
        let value = match resolution {
            ReviewResolution::LinkTo(id) => format!("link:{id}"),
            ReviewResolution::CreateNew => "new".to_owned(),
        };
        let store = &self.inner.store;
        let current = store.state(&self.inner.admin, &name).await?;
        store
            .put_state(
                &self.inner.admin,
                &name,
                current.as_deref(),
                &value,
                self.now(),
            )
            .await?;
        let filter = ReplayFilter::needs_review(self.inner.admin.clone())
            .kind(EntityKind::Relation)
            .crm_id(crm_id);
        store.replay(&filter, self.now()).await?;
        Ok(())
    }

    /// The status report: queue counts, last successful runs, failures with reasons, the
    /// review queue, budget use and whether SnelStart is reachable.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn status(&self) -> Result<StatusReport, EngineError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let limit = self.inner.options.status_limit;
        let queue = store.counts(admin).await?;
        let mut last_success = BTreeMap::new();
        for kind in EntityKind::ALL {
            if let Some(text) = store.state(admin, &last_success_cursor(kind)).await?
                && let Ok(at) = DateTime::parse_from_rfc3339(&text)
            {
                last_success.insert(kind.as_str().to_owned(), at.with_timezone(&Utc));
            }
        }
        // One entry per record and operation: a process killed at the wrong moment can leave
        // two items of one record (a new one queued behind one in flight), and a person must
        // see (and answer) each record once. The newest item speaks for the record.
        let failures = latest_per_record(
            store
                .list_summaries(admin, Some(WorkState::Failed), None, limit)
                .await?,
        )
        .into_iter()
        .map(|i| FailureEntry {
            kind: i.kind,
            crm_id: i.crm_id,
            error: i.last_error,
            attempts: i.attempts,
            at: i.updated_at,
        })
        .collect();
        let review = latest_per_record(
            store
                .list_summaries(admin, Some(WorkState::NeedsReview), None, limit)
                .await?,
        )
        .into_iter()
        .map(|i| ReviewEntry {
            kind: i.kind,
            crm_id: i.crm_id,
            reasons: i.review.unwrap_or_default(),
            since: i.updated_at,
        })
        .collect();
        let reachability = self
            .inner
            .breaker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reachability();
        let config_version = *self
            .inner
            .config_version
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let config_version = match config_version {
            Some(v) => Some(v),
            None => store.latest_config(admin).await?.map(|c| c.version),
        };
        Ok(StatusReport {
            admin: admin.to_string(),
            queue,
            last_success,
            failures,
            review,
            budget: self.inner.client.budget_usage(),
            reachability,
            config_version,
            by_kind: self.queue_by_kind().await?,
            last_read_back: self.last_read_back().await?,
            skipped_items: self
                .inner
                .client
                .decode_problems()
                .iter()
                .map(|p| {
                    let id =
                        p.id.as_deref()
                            .map(|id| format!(" (id {id})"))
                            .unwrap_or_default();
                    format!("{p}{id}")
                })
                .collect(),
            waiting: self.waiting(),
            outbox: store.outbox_backlog(admin).await?,
        })
    }

    /// Whether SnelStart answered lately.
    pub fn reachability(&self) -> Reachability {
        self.inner
            .breaker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reachability()
    }

    /// A dry run: what a sync would do with every change the source has after the cursor and
    /// every pending item, without writing anything to SnelStart or to the store. It reads
    /// SnelStart (the relation list for matching, linked records for update diffs).
    ///
    /// # Errors
    ///
    /// [`EngineError::Crm`], [`EngineError::Store`], or [`EngineError::SnelStart`] when
    /// SnelStart cannot be read.
    pub async fn plan(&self) -> Result<Vec<PlanEntry>, EngineError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let mut changes: Vec<CrmChange> = Vec::new();
        let mut offset = 0;
        loop {
            let page = store
                .list_work(admin, Some(WorkState::Pending), 500, offset)
                .await?;
            for item in &page {
                if let Ok(change) = item.payload.decode::<CrmChange>() {
                    changes.push(change);
                }
            }
            if page.len() < 500 {
                break;
            }
            offset += page.len();
        }
        let mut cursor = store.state(admin, CURSOR_SOURCE).await?;
        loop {
            let page = self
                .inner
                .source
                .changes(cursor.as_deref(), self.inner.options.ingest_page)
                .await?;
            changes.extend(page.changes.iter().cloned());
            if !page.has_more || page.changes.is_empty() || page.next_cursor.is_none() {
                break;
            }
            cursor = page.next_cursor;
        }
        // The newest change of a record wins, as coalescing would make it.
        let mut latest: BTreeMap<(EntityKind, String, &'static str), CrmChange> = BTreeMap::new();
        for change in changes {
            latest.insert(
                (
                    change.kind(),
                    change.crm_id().to_owned(),
                    change.operation(),
                ),
                change,
            );
        }
        let context = RunContext::new();
        let relations: Vec<&crm_model::Relation> = latest
            .values()
            .filter_map(|c| match c {
                CrmChange::Relation(r) => Some(&**r),
                _ => None,
            })
            .collect();
        relations::prepare_decisions(self, &context, &relations).await?;
        let mut entries = Vec::new();
        for change in latest.values() {
            let mut planned = match change {
                CrmChange::Relation(r) => relations::plan(self, &context, r).await?,
                CrmChange::RelationArchived(id) => {
                    relations::plan_archive(self, id.as_str()).await?
                }
                CrmChange::Project(p) => projects::plan(self, &context, p).await?,
                CrmChange::SalesInvoice(i) => bookings::plan_sales(self, &context, i).await?,
                CrmChange::PurchaseInvoice(i) => bookings::plan_purchase(self, &context, i).await?,
                CrmChange::Refused(r) => vec![PlanEntry {
                    kind: r.kind,
                    crm_id: r.crm_id.clone(),
                    action: crate::report::PlannedAction::Fail {
                        problems: r
                            .problems
                            .iter()
                            .map(|p| format!("{}: {}", p.path, p.message))
                            .collect(),
                    },
                }],
            };
            entries.append(&mut planned);
        }
        Ok(entries)
    }
}

/// Keeps the newest item of each (kind, CRM id, operation), in id order.
fn latest_per_record(items: Vec<WorkSummary>) -> Vec<WorkSummary> {
    let mut newest: std::collections::HashMap<
        (EntityKind, String, String),
        crate::store::WorkItemId,
    > = std::collections::HashMap::new();
    for item in &items {
        let key = (item.kind, item.crm_id.clone(), item.operation.clone());
        let entry = newest.entry(key).or_insert(item.id);
        *entry = (*entry).max(item.id);
    }
    items
        .into_iter()
        .filter(|i| newest.get(&(i.kind, i.crm_id.clone(), i.operation.clone())) == Some(&i.id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewWorkItem, WorkItemId};

    fn item(id: i64, crm_id: &str, operation: &str) -> WorkSummary {
        let new = NewWorkItem::new(
            AdminKey::new("a"),
            EntityKind::Relation,
            crm_id,
            operation,
            serde_json::Value::Null,
            Utc::now(),
        );
        WorkItem::enqueued(WorkItemId::new(id), new, Utc::now()).into()
    }

    /// Regression (issue 12): after a kill -9 the same record could be listed several times
    /// among failures and reviews.
    #[test]
    fn status_lists_each_record_and_operation_once_newest_first_kept() {
        let kept = latest_per_record(vec![
            item(1, "crm-1", "upsert"),
            item(2, "crm-2", "upsert"),
            item(3, "crm-1", "upsert"),
            item(4, "crm-1", "duplicate"),
        ]);
        let ids: Vec<i64> = kept.iter().map(|i| i.id.get()).collect();
        assert_eq!(ids, vec![2, 3, 4]);
    }
}
