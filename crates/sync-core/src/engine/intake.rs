//! Intake: how CRM changes become work items.
//!
//! Every path in ([`SyncEngine::submit`], [`SyncEngine::submit_batch`],
//! [`SyncEngine::submit_export`], [`SyncEngine::ingest`]) ends in one place, `submit_after`,
//! which parks repeats of failed records and lets a newer change supersede a stale failure.
//! Batches add the snapshot rules (first occurrence wins, invoices consistent with their
//! relation's kind) and the dependencies inside the batch (relation -> cost centre ->
//! booking).

use std::collections::{HashMap, HashSet};

use crm_model::RelationKind;
use crm_model::read::{Export, ExportSection, FieldNotice, Section};
use serde::Serialize;

use super::{CURSOR_SOURCE, ItemResult, SyncEngine, parked_cursor, queue_payload};
use crate::crm::{
    CrmChange, CrmSink, CrmSource, OP_DUPLICATE, RefusalProblem, RefusalReason, RefusedRecord,
};
use crate::error::{EngineError, FailureKind};
use crate::store::{EntityKind, NewWorkItem, ReplayFilter, Store, WorkItemId, WorkState};

/// What an intake call queued and what it refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct IntakeReport {
    /// Changes queued for SnelStart.
    pub queued: u64,
    /// Records refused at intake, in input order, each with its problems named. They are
    /// queued as failures too, so [`SyncEngine::status`] lists them.
    pub refused: Vec<RefusedRecord>,
}

impl IntakeReport {
    /// Records seen: queued plus refused.
    pub fn total(&self) -> u64 {
        self.queued + self.refused.len() as u64
    }
}

/// The failure a refused record becomes when its work item runs (no SnelStart call).
pub(crate) fn refusal_failure(refused: &RefusedRecord) -> ItemResult {
    ItemResult::Fail(
        FailureKind::Permanent
            .error(refused.message())
            .with_code(refused.reason.code())
            .with_details(serde_json::to_value(&refused.problems).unwrap_or_default()),
    )
}

/// The records of one intake call, for dependencies inside it and, for a snapshot, the
/// duplicate and consistency rules.
pub(crate) struct Batch {
    /// A snapshot (export, batch) holds each record once; a feed may change one record twice.
    snapshot: bool,
    /// Work items by (kind, CRM key): relations by id, projects by number.
    queued: HashMap<(EntityKind, String), WorkItemId>,
    /// Record ids seen, per kind.
    ids: HashSet<(EntityKind, String)>,
    /// Project number -> the first project's id.
    project_numbers: HashMap<String, String>,
    /// Sales invoice number -> the first invoice's id.
    sales_numbers: HashMap<String, String>,
    /// (supplier, purchase invoice number) -> the first invoice's id.
    purchase_numbers: HashMap<(String, String), String>,
    /// The kind of each relation of the batch.
    relation_kinds: HashMap<String, RelationKind>,
    /// Changes admitted but not written yet: enqueued together, in order, in one store
    /// transaction when the buffer is full, when a change depends on one of them, or at the
    /// end of the intake call.
    buffer: Vec<Buffered>,
    /// The dependency keys of the buffered changes that are not in `queued` yet.
    buffered_keys: HashSet<(EntityKind, String)>,
    /// Records (kind, CRM id) with a Failed or NeedsReview item when the intake started:
    /// only their changes need the parked check and the replay of `submit_after`. `None`
    /// until first needed.
    stuck: Option<HashSet<(EntityKind, String)>>,
}

/// A change waiting in [`Batch::buffer`].
struct Buffered {
    item: NewWorkItem,
    key: Option<(EntityKind, String)>,
    /// Told to the sink once the item is written.
    events: Vec<crate::crm::SinkEvent>,
}

/// Changes per store transaction at intake: large enough that the commit is a small share
/// of the cost, small enough to bound the memory of one write (payloads included).
const INTAKE_CHUNK: usize = 500;

impl Batch {
    fn new(snapshot: bool) -> Self {
        Batch {
            snapshot,
            queued: HashMap::new(),
            ids: HashSet::new(),
            project_numbers: HashMap::new(),
            sales_numbers: HashMap::new(),
            purchase_numbers: HashMap::new(),
            relation_kinds: HashMap::new(),
            buffer: Vec::new(),
            buffered_keys: HashSet::new(),
            stuck: None,
        }
    }

    /// An export or batch: each record at most once.
    pub(crate) fn snapshot() -> Self {
        Self::new(true)
    }

    /// A change feed: later changes of a record supersede earlier ones.
    pub(crate) fn feed() -> Self {
        Self::new(false)
    }

    /// The key dependants find this change under, when they may depend on it.
    fn dependency_key(&self, change: &CrmChange) -> Option<(EntityKind, String)> {
        match change {
            CrmChange::Relation(r) => Some((EntityKind::Relation, r.id.as_str().to_owned())),
            // Invoice lines name projects by number.
            CrmChange::Project(p) => Some((EntityKind::CostCentre, p.number.clone())),
            CrmChange::Refused(r) if r.reason != RefusalReason::Duplicate => match r.kind {
                EntityKind::Relation => Some((EntityKind::Relation, r.crm_id.clone())),
                EntityKind::CostCentre => r
                    .natural_key
                    .clone()
                    .map(|number| (EntityKind::CostCentre, number)),
                _ => None,
            },
            _ => None,
        }
    }

    /// Applies the snapshot rules: the change itself, or its refusal.
    pub(crate) fn admit(&mut self, change: CrmChange) -> CrmChange {
        if !self.snapshot {
            return change;
        }
        match self.refusal(&change) {
            Some(refused) => CrmChange::Refused(Box::new(refused)),
            None => change,
        }
    }

    fn refusal(&mut self, change: &CrmChange) -> Option<RefusedRecord> {
        if matches!(change, CrmChange::RelationArchived(_)) {
            return None;
        }
        let kind = change.kind();
        let crm_id = change.crm_id().to_owned();
        let duplicate = |path: &str, message: String| {
            Some(RefusedRecord::new(
                kind,
                crm_id.clone(),
                RefusalReason::Duplicate,
                vec![RefusalProblem::new(path, message)],
            ))
        };
        if !self.ids.insert((kind, crm_id.clone())) {
            return duplicate(
                "id",
                format!(
                    "{} `{crm_id}` occurs more than once in this batch; the first occurrence \
                     was kept",
                    kind.as_str()
                ),
            );
        }
        match change {
            CrmChange::Relation(r) => {
                self.relation_kinds.insert(crm_id, r.kind);
                None
            }
            CrmChange::Project(p) => self
                .project_number_taken(&p.number, &crm_id)
                .and_then(|refusal| duplicate("number", refusal)),
            CrmChange::Refused(r) if r.kind == EntityKind::CostCentre => r
                .natural_key
                .as_deref()
                .and_then(|number| self.project_number_taken(number, &crm_id))
                .and_then(|refusal| duplicate("number", refusal)),
            CrmChange::Refused(_) => None,
            CrmChange::SalesInvoice(i) => {
                if let Some(first) = self.sales_numbers.get(&i.number) {
                    return duplicate(
                        "number",
                        format!(
                            "invoice number `{}` is already used by sales invoice `{first}` \
                             earlier in this batch (SnelStart BOE-0021); the first occurrence \
                             was kept",
                            i.number
                        ),
                    );
                }
                self.sales_numbers.insert(i.number.clone(), crm_id.clone());
                self.kind_conflict(kind, &crm_id, i.relation.as_str(), RelationKind::Supplier)
            }
            CrmChange::PurchaseInvoice(i) => {
                let key = (i.relation.as_str().to_owned(), i.number.clone());
                if let Some(first) = self.purchase_numbers.get(&key) {
                    return duplicate(
                        "number",
                        format!(
                            "supplier `{}` has invoice number `{}` already in purchase invoice \
                             `{first}` earlier in this batch; the first occurrence was kept",
                            i.relation, i.number
                        ),
                    );
                }
                self.purchase_numbers.insert(key, crm_id.clone());
                self.kind_conflict(kind, &crm_id, i.relation.as_str(), RelationKind::Customer)
            }
            _ => None,
        }
    }

    /// Records `number` for project `crm_id` when it is new in this batch; when an earlier
    /// project holds it, the refusal message instead (one rule for readable and refused
    /// projects alike).
    fn project_number_taken(&mut self, number: &str, crm_id: &str) -> Option<String> {
        match self.project_numbers.get(number) {
            Some(first) => Some(format!(
                "project number `{number}` is already used by project `{first}` earlier in this \
                 batch; the first occurrence was kept"
            )),
            None => {
                self.project_numbers
                    .insert(number.to_owned(), crm_id.to_owned());
                None
            }
        }
    }

    /// An invoice whose relation, in this batch, has only the other kind.
    fn kind_conflict(
        &self,
        kind: EntityKind,
        crm_id: &str,
        relation: &str,
        wrong: RelationKind,
    ) -> Option<RefusedRecord> {
        if self.relation_kinds.get(relation) != Some(&wrong) {
            return None;
        }
        let message = match wrong {
            RelationKind::Supplier => format!(
                "relation `{relation}` is a supplier only; a sales invoice needs a customer \
                 (SnelStart BOE-0060)"
            ),
            _ => format!(
                "relation `{relation}` is a customer only; a purchase invoice needs a supplier \
                 (SnelStart BOE-0003)"
            ),
        };
        Some(RefusedRecord::new(
            kind,
            crm_id,
            RefusalReason::Inconsistent,
            vec![RefusalProblem::new("relation", message)],
        ))
    }
}

/// One section's records and rejections merged back into file order, as changes.
fn section_changes<T>(
    section: ExportSection,
    part: Section<T>,
    change: impl Fn(T) -> CrmChange,
) -> Vec<(CrmChange, Vec<FieldNotice>)> {
    let mut items: Vec<(usize, CrmChange, Vec<FieldNotice>)> = part
        .records
        .into_iter()
        .map(|r| (r.index, change(r.record), r.notices))
        .chain(part.rejections.iter().map(|r| {
            (
                r.index,
                CrmChange::Refused(Box::new(RefusedRecord::from_rejection(section, r))),
                Vec::new(),
            )
        }))
        .collect();
    items.sort_by_key(|(index, _, _)| *index);
    items
        .into_iter()
        .map(|(_, change, notices)| (change, notices))
        .collect()
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngine<S, Src, Snk> {
    /// Queues a whole CRM export read with [`crm_model::read::read_export`]: every record
    /// that was read, and every record that was not as a refusal naming its fields (see
    /// [`SyncEngine::submit_batch`] for the snapshot rules that apply on top). Records are
    /// queued in dependency order (relations, projects, sales invoices, purchase invoices,
    /// archived relations), each section in file order. Fields the reader ignored (unknown
    /// keys) reach the sink as [`SinkEvent::Notice`](crate::SinkEvent::Notice) with the policy
    /// `read.unknown_field`.
    ///
    /// ```no_run
    /// # async fn run(engine: sync_core::SyncEngine<sync_core::store::MemoryStore, sync_core::MemorySource, sync_core::NoSink>, text: &str) -> Result<(), Box<dyn std::error::Error>> {
    /// let export = crm_model::read::read_export(text)?; // fails only on text that is not JSON
    /// let report = engine.submit_export(export).await?;
    /// for refused in &report.refused {
    ///     eprintln!("{} {}: {}", refused.kind.as_str(), refused.crm_id, refused.message());
    /// }
    /// engine.run_until_idle(std::time::Duration::from_secs(600)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn submit_export(&self, export: Export) -> Result<IntakeReport, EngineError> {
        let Export {
            relations,
            archived_relations,
            projects,
            sales_invoices,
            purchase_invoices,
            ..
        } = export;
        let changes = section_changes(ExportSection::Relations, relations, CrmChange::relation)
            .into_iter()
            .chain(section_changes(
                ExportSection::Projects,
                projects,
                CrmChange::project,
            ))
            .chain(section_changes(
                ExportSection::SalesInvoices,
                sales_invoices,
                CrmChange::sales_invoice,
            ))
            .chain(section_changes(
                ExportSection::PurchaseInvoices,
                purchase_invoices,
                CrmChange::purchase_invoice,
            ))
            .chain(section_changes(
                ExportSection::ArchivedRelations,
                archived_relations,
                CrmChange::RelationArchived,
            ));
        let mut batch = Batch::snapshot();
        let mut report = IntakeReport::default();
        for (change, notices) in changes {
            let (kind, crm_id) = (change.kind(), change.crm_id().to_owned());
            let events = notices
                .into_iter()
                .map(|notice| crate::crm::SinkEvent::Notice {
                    kind,
                    crm_id: crm_id.clone(),
                    path: notice.path,
                    policy: "read.unknown_field".to_owned(),
                    message: notice.message,
                })
                .collect();
            self.submit_in(change, events, &mut batch, &mut report)
                .await?;
        }
        self.flush(&mut batch).await?;
        Ok(report)
    }

    /// Queues one change pushed by the host application (a webhook, a save hook).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn submit(&self, change: CrmChange) -> Result<WorkItemId, EngineError> {
        self.submit_after(change, &[]).await
    }

    /// Queues a change behind the given work items (they must exist).
    async fn submit_after(
        &self,
        change: CrmChange,
        depends_on: &[WorkItemId],
    ) -> Result<WorkItemId, EngineError> {
        let payload = queue_payload(&change)?;
        // The same change again for a record that failed or waits for review: nothing new to
        // try (a full export re-sent, a webhook repeated). It stays parked until its data
        // changes or someone replays it, so a failed record costs no call on every run.
        let parked_key = parked_cursor(change.kind(), change.operation(), change.crm_id());
        // Hashed as the stored text reads back, the form `park` hashes when the item fails.
        let hash = crate::hash::payload_hash(&payload);
        if let Some(parked) = self
            .inner
            .store
            .state(&self.inner.admin, &parked_key)
            .await?
            && let Some((parked_hash, id)) = parked.split_once(' ')
            && parked_hash == hash
            && let Ok(id) = id.parse::<i64>()
            && let Some(item) = self
                .inner
                .store
                .work_item(&self.inner.admin, WorkItemId::new(id))
                .await?
            && matches!(item.state, WorkState::Failed | WorkState::NeedsReview)
        {
            return Ok(item.id);
        }
        // A newer change supersedes a failed or held one of the same record: bring that item
        // back and let the new change replace its payload (coalescing), so the stale failure
        // disappears and the record is tried again with its current data.
        // A refused duplicate is not a newer version of the record: it leaves the record's own
        // items alone.
        let item = NewWorkItem::new(
            self.inner.admin.clone(),
            change.kind(),
            change.crm_id(),
            change.operation(),
            payload,
            self.now(),
        )
        .depending_on(depends_on.iter().copied());
        if change.operation() == OP_DUPLICATE {
            return Ok(self.inner.store.enqueue(item, self.now()).await?);
        }
        let stale = ReplayFilter::failed(self.inner.admin.clone())
            .kind(change.kind())
            .crm_id(change.crm_id())
            .include_needs_review(true);
        // One store call (one transaction): the replayed item takes the new payload.
        Ok(self
            .inner
            .store
            .replay_and_enqueue(&stale, item, self.now())
            .await?)
    }

    /// Queues a batch of changes pushed by the host (a full export, a snapshot of the CRM)
    /// with the same ordering [`SyncEngine::ingest`] gives: an invoice waits for the relation
    /// and the projects that are in the same batch. Records queued in earlier batches are
    /// waited for at processing time (a booking whose relation is not linked yet is deferred).
    ///
    /// A batch is one snapshot, so each record occurs in it once: the **first occurrence
    /// wins** and a later record with the same id, project number, sales invoice number, or
    /// supplier and purchase invoice number is refused naming `id` or `number` (before
    /// anything is written). An invoice on a relation of the wrong kind in the same batch is
    /// refused naming `relation`. Refused records are queued as failures (see
    /// [`CrmChange::Refused`]), listed in [`SyncEngine::status`] and sent to the sink; a record
    /// that depends on one fails naming it. To send several successive versions of one record,
    /// use [`SyncEngine::submit`] or a [`CrmSource`](crate::CrmSource) instead.
    ///
    /// Returns what was queued and what was refused.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn submit_batch(
        &self,
        changes: impl IntoIterator<Item = CrmChange>,
    ) -> Result<IntakeReport, EngineError> {
        let mut batch = Batch::snapshot();
        let mut report = IntakeReport::default();
        for change in changes {
            self.submit_in(change, Vec::new(), &mut batch, &mut report)
                .await?;
        }
        self.flush(&mut batch).await?;
        Ok(report)
    }

    /// Admits one change of an intake call and queues it: buffered for the next batch write
    /// when its record has no failed or held item (nothing to un-park or replay), otherwise
    /// through `submit_after` right away (after writing the buffer, to keep the order).
    async fn submit_in(
        &self,
        change: CrmChange,
        events: Vec<crate::crm::SinkEvent>,
        batch: &mut Batch,
        report: &mut IntakeReport,
    ) -> Result<(), EngineError> {
        let change = batch.admit(change);
        // A dependency on a change still in the buffer needs that change's id: write first.
        if change
            .dependencies()
            .iter()
            .any(|key| !batch.queued.contains_key(key) && batch.buffered_keys.contains(key))
        {
            self.flush(batch).await?;
        }
        let deps: Vec<WorkItemId> = change
            .dependencies()
            .iter()
            .filter_map(|key| batch.queued.get(key).copied())
            .collect();
        let key = batch.dependency_key(&change);
        if let CrmChange::Refused(refused) = &change {
            report.refused.push((**refused).clone());
        } else {
            report.queued += 1;
        }
        let record = (change.kind(), change.crm_id().to_owned());
        if self.stuck_records(batch).await?.contains(&record) {
            self.flush(batch).await?;
            let id = self.submit_after(change, &deps).await?;
            if let Some(key) = key {
                batch.queued.entry(key).or_insert(id);
            }
            for event in events {
                self.deliver(event).await;
            }
            return Ok(());
        }
        let payload = queue_payload(&change)?;
        let item = NewWorkItem::new(
            self.inner.admin.clone(),
            change.kind(),
            change.crm_id(),
            change.operation(),
            payload,
            self.now(),
        )
        .depending_on(deps);
        if let Some(key) = &key
            && !batch.queued.contains_key(key)
        {
            batch.buffered_keys.insert(key.clone());
        }
        batch.buffer.push(Buffered { item, key, events });
        if batch.buffer.len() >= INTAKE_CHUNK {
            self.flush(batch).await?;
        }
        Ok(())
    }

    /// The records of this administration with a Failed or NeedsReview item, read once per
    /// intake call (a keyset walk of those two states, without payloads).
    async fn stuck_records<'b>(
        &self,
        batch: &'b mut Batch,
    ) -> Result<&'b HashSet<(EntityKind, String)>, EngineError> {
        if batch.stuck.is_none() {
            let mut stuck = HashSet::new();
            for state in [WorkState::Failed, WorkState::NeedsReview] {
                let mut after = None;
                loop {
                    let page = self
                        .inner
                        .store
                        .list_summaries(&self.inner.admin, Some(state), after, 1_000)
                        .await?;
                    let Some(last) = page.last() else { break };
                    after = Some(last.id);
                    let full = page.len() == 1_000;
                    stuck.extend(page.into_iter().map(|w| (w.kind, w.crm_id)));
                    if !full {
                        break;
                    }
                }
            }
            batch.stuck = Some(stuck);
        }
        Ok(batch.stuck.get_or_insert_with(HashSet::new))
    }

    /// Writes the buffered changes in one store batch and tells the sink their events.
    async fn flush(&self, batch: &mut Batch) -> Result<(), EngineError> {
        if batch.buffer.is_empty() {
            return Ok(());
        }
        let buffered = std::mem::take(&mut batch.buffer);
        batch.buffered_keys.clear();
        let mut items = Vec::with_capacity(buffered.len());
        let mut rest = Vec::with_capacity(buffered.len());
        for Buffered { item, key, events } in buffered {
            items.push(item);
            rest.push((key, events));
        }
        let ids = self.inner.store.enqueue_batch(items, self.now()).await?;
        for (id, (key, events)) in ids.into_iter().zip(rest) {
            if let Some(key) = key {
                batch.queued.entry(key).or_insert(id);
            }
            for event in events {
                self.deliver(event).await;
            }
        }
        Ok(())
    }

    /// Reads every change the [`CrmSource`] has after the stored cursor, queues them, and moves
    /// the cursor (compare-and-swap, so two engines cannot both advance it). Returns how many
    /// changes were queued.
    ///
    /// # Errors
    ///
    /// [`EngineError::Crm`] when the source fails, [`EngineError::Store`].
    pub async fn ingest(&self) -> Result<u64, EngineError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let mut cursor = store.state(admin, CURSOR_SOURCE).await?;
        let mut queued = 0u64;
        // Work items queued in this ingest, so an invoice waits for the relation and projects
        // that arrived with it (relation -> cost centre -> booking).
        let mut batch = Batch::feed();
        let mut report = IntakeReport::default();
        loop {
            let page = self
                .inner
                .source
                .changes(cursor.as_deref(), self.inner.options.ingest_page)
                .await?;
            for change in &page.changes {
                self.submit_in(change.clone(), Vec::new(), &mut batch, &mut report)
                    .await?;
                queued += 1;
            }
            // The page's changes are stored before the cursor moves past them.
            self.flush(&mut batch).await?;
            if let Some(next) = &page.next_cursor
                && cursor.as_deref() != Some(next.as_str())
            {
                store
                    .put_state(admin, CURSOR_SOURCE, cursor.as_deref(), next, self.now())
                    .await?;
                cursor = Some(next.clone());
            }
            if !page.has_more || page.changes.is_empty() {
                break;
            }
        }
        Ok(queued)
    }
}
