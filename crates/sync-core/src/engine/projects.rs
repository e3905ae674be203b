//! Projects: CRM projects → SnelStart kostenplaatsen (number and description only).

use crm_model::Project;
use mapping::convert::project_to_kostenplaats;
use snelstart_client::error::KnownCode;
use snelstart_client::models::Kostenplaats;
use snelstart_client::{KostenplaatsId, ops};

use super::create_once::{self, CreateOnce, Outcome};
use super::handler::HandlerCtx;
use super::relations::{HandlerError, HandlerResult, preflight_failure};
use super::{ItemResult, RunContext, SyncEngine};
use crate::crm::{CrmSink, CrmSource, SinkEvent};
use crate::error::{EngineError, FailureKind};
use crate::hash::payload_hash;
use crate::report::{Action, FieldChange, PlanEntry, PlannedAction};
use crate::store::{EntityKind, IdLink, LinkPart, Store, StoredError, WorkItem};

/// Creates, updates or deactivates the kostenplaats of a project.
pub(crate) async fn upsert<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    item: &WorkItem,
    context: &RunContext,
    project: &Project,
) -> HandlerResult {
    let inner = &engine.inner;
    let crm_id = project.id.as_str();
    let wanted = match project_to_kostenplaats(project, &inner.config) {
        Ok(k) => k,
        Err(problems) => return Ok(preflight_failure(&problems)),
    };
    let Some(nummer) = wanted.nummer else {
        return Ok(ItemResult::Fail(
            FailureKind::Permanent.error("number: the mapping gave the kostenplaats no number"),
        ));
    };
    let hash = payload_hash(&wanted);
    // As read for the batch (one look-up for every invoice and project of it).
    if let Some(link) = super::bookings::own_link(
        engine,
        context,
        EntityKind::CostCentre,
        crm_id,
        &LinkPart::Whole,
    )
    .await?
    {
        if link.payload_hash.as_deref() == Some(hash.as_str()) {
            return Ok(ItemResult::Done(Action::Unchanged));
        }
        let id = KostenplaatsId::from_uuid(link.snelstart_id);
        put(engine, crm_id, id, &wanted).await?;
        engine.record_sent_hash(&link, &hash).await?;
        return Ok(ItemResult::Done(Action::Updated));
    }

    // Not linked: the nummer is the natural key. One list read per run serves every project.
    let reload = item.attempts > 1;
    let (found, read) = context
        .kostenplaats_read(&inner.client, nummer, reload)
        .await?;
    if read {
        // Only a call SnelStart answered says it is up, not a number found in the run's copy.
        engine.record_success();
    }
    if let Some(existing) = found {
        let cx = engine.handler_ctx();
        if let Some(refusal) = refuse_takeover(&cx, crm_id, &existing, &wanted).await? {
            return Ok(refusal);
        }
        return link_existing(engine, context, crm_id, existing, &wanted, &hash, false).await;
    }
    // SnelStart refuses to create an inactive kostenplaats (KPL-0009): an inactive project is
    // created active and then deactivated, so the CRM's closed projects exist in SnelStart too.
    let mut create_body = wanted.clone();
    create_body.nonactief = Some(false);
    let outcome = {
        let cx = engine.handler_ctx();
        let entity = CostCentreCreate {
            crm_id,
            body: &create_body,
            wanted: &wanted,
            context,
        };
        create_once::create(&cx, &entity).await?
    };
    let created = match outcome {
        Outcome::Created(created) => created,
        Outcome::Found { record, created } => {
            return link_existing(engine, context, crm_id, record, &wanted, &hash, created).await;
        }
        Outcome::Finished(result) => return Ok(result),
    };
    context.remember_kostenplaats(created.clone()).await;
    if wanted.is_inactive() {
        // Linked with the hash of what was created, so if the deactivation below is lost the
        // next attempt sees a difference and deactivates it then.
        let outcome =
            store_link(engine, crm_id, &created, &payload_hash(&create_body), true).await?;
        let Some(id) = created.id else {
            return Ok(outcome);
        };
        let deactivated = put(engine, crm_id, id, &wanted).await?;
        context.remember_kostenplaats(deactivated).await;
        if let Some(link) = inner
            .store
            .link_by_crm_id(
                &inner.admin,
                EntityKind::CostCentre,
                crm_id,
                &LinkPart::Whole,
            )
            .await?
        {
            engine.record_sent_hash(&link, &hash).await?;
        }
        return Ok(outcome);
    }
    store_link(engine, crm_id, &created, &hash, true).await
}

/// A cost centre's part of the exactly-once create (see [`create_once`]): the natural key is
/// the kostenplaats nummer.
struct CostCentreCreate<'a> {
    crm_id: &'a str,
    /// What is POSTed (always active; see KPL-0009 above).
    body: &'a Kostenplaats,
    /// What the project maps to.
    wanted: &'a Kostenplaats,
    context: &'a RunContext,
}

impl CreateOnce for CostCentreCreate<'_> {
    type Record = Kostenplaats;

    fn kind(&self) -> EntityKind {
        EntityKind::CostCentre
    }

    fn crm_id(&self) -> &str {
        self.crm_id
    }

    fn summary(&self) -> String {
        format!("POST /kostenplaatsen nummer={}", shown(self.body))
    }

    fn duplicate_code(&self) -> Option<KnownCode> {
        Some(KnownCode::DuplicateKostenplaatsNummer)
    }

    fn id(record: &Kostenplaats) -> Option<uuid::Uuid> {
        record.id.map(|id| id.as_uuid())
    }

    async fn create<S: Store, Snk: CrmSink>(
        &self,
        cx: &HandlerCtx<'_, S, Snk>,
    ) -> Result<Option<Kostenplaats>, snelstart_client::Error> {
        cx.client
            .execute(ops::kostenplaatsen::create(self.body)?)
            .await
            .map(Some)
    }

    async fn find<S: Store, Snk: CrmSink>(
        &self,
        cx: &HandlerCtx<'_, S, Snk>,
    ) -> Result<Option<Kostenplaats>, snelstart_client::Error> {
        self.context
            .kostenplaats(cx.client, self.body.nummer.unwrap_or_default(), true)
            .await
    }

    async fn is_ours<S: Store, Snk: CrmSink>(
        &self,
        cx: &HandlerCtx<'_, S, Snk>,
        found: &Kostenplaats,
    ) -> Result<Result<(), StoredError>, HandlerError> {
        Ok(
            match refuse_takeover(cx, self.crm_id, found, self.wanted).await? {
                Some(ItemResult::Fail(why)) => Err(why),
                _ => Ok(()),
            },
        )
    }
}

/// Refuses to take over a kostenplaats that SnelStart already has under the project's
/// number when it belongs to another CRM project, or when its description is not the
/// project's: linking it would overwrite somebody else's cost centre without a word.
async fn refuse_takeover<S: Store, Snk: CrmSink>(
    cx: &HandlerCtx<'_, S, Snk>,
    crm_id: &str,
    existing: &Kostenplaats,
    wanted: &Kostenplaats,
) -> Result<Option<ItemResult>, HandlerError> {
    let refuse = |message: String| {
        Some(ItemResult::Fail(
            FailureKind::Permanent
                .error(message)
                .with_code(KnownCode::DuplicateKostenplaatsNummer.code())
                .with_details(serde_json::json!([{ "path": "number" }])),
        ))
    };
    if let Some(id) = existing.id
        && let Some(owner) = cx
            .store
            .link_by_snelstart_id(cx.admin, EntityKind::CostCentre, id.as_uuid())
            .await?
        && owner.crm_id != crm_id
    {
        return Ok(refuse(format!(
            "number: kostenplaats {} is already linked to CRM project `{}`; two projects map \
             to the same number",
            shown(existing),
            owner.crm_id
        )));
    }
    let same = |a: &Option<String>, b: &Option<String>| {
        a.as_deref().map(str::trim).unwrap_or_default()
            == b.as_deref().map(str::trim).unwrap_or_default()
    };
    if !same(&existing.omschrijving, &wanted.omschrijving) {
        return Ok(refuse(format!(
            "number: SnelStart already has kostenplaats {} as {:?}, not {:?}; it is not taken \
             over: give the project another number (or the same description) and replay",
            shown(existing),
            existing.omschrijving.as_deref().unwrap_or_default(),
            wanted.omschrijving.as_deref().unwrap_or_default()
        )));
    }
    Ok(None)
}

fn differs(existing: &Kostenplaats, wanted: &Kostenplaats) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    if existing.omschrijving != wanted.omschrijving {
        changes.push(FieldChange {
            field: "omschrijving".into(),
            from: serde_json::json!(existing.omschrijving),
            to: serde_json::json!(wanted.omschrijving),
        });
    }
    // `null`/absent and `false` are both active: only a real change of state counts.
    if existing.is_inactive() != wanted.is_inactive() {
        changes.push(FieldChange {
            field: "nonactief".into(),
            from: serde_json::json!(existing.nonactief),
            to: serde_json::json!(wanted.nonactief),
        });
    }
    changes
}

#[allow(clippy::too_many_arguments)]
async fn link_existing<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    crm_id: &str,
    existing: Kostenplaats,
    wanted: &Kostenplaats,
    hash: &str,
    created: bool,
) -> HandlerResult {
    let Some(id) = existing.id else {
        return Ok(ItemResult::Fail(FailureKind::Permanent.error(format!(
            "SnelStart listed kostenplaats {} without an id",
            shown(&existing)
        ))));
    };
    let current = if differs(&existing, wanted).is_empty() {
        existing
    } else {
        let updated = put(engine, crm_id, id, wanted).await?;
        context.remember_kostenplaats(updated.clone()).await;
        updated
    };
    store_link(engine, crm_id, &current, hash, created).await
}

async fn store_link<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    crm_id: &str,
    k: &Kostenplaats,
    hash: &str,
    created: bool,
) -> HandlerResult {
    let inner = &engine.inner;
    let Some(id) = k.id else {
        return Ok(ItemResult::Fail(
            FailureKind::Permanent.error("SnelStart answered a kostenplaats without an id"),
        ));
    };
    let link = IdLink::new(
        inner.admin.clone(),
        EntityKind::CostCentre,
        crm_id,
        id.as_uuid(),
        engine.now(),
    )
    .with_natural_key(shown(k))
    .with_payload_hash(hash);
    match inner.store.upsert_link(link).await {
        Ok(()) => {}
        Err(e) if e.is_conflict() => {
            return Ok(ItemResult::Fail(
                FailureKind::Permanent
                    .error(format!(
                        "kostenplaats {} is already linked to another CRM project; two projects \
                         map to the same number",
                        shown(k)
                    ))
                    .with_code(KnownCode::DuplicateKostenplaatsNummer.code()),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    engine
        .deliver(SinkEvent::Linked {
            kind: EntityKind::CostCentre,
            crm_id: crm_id.to_owned(),
            part: LinkPart::Whole,
            snelstart_id: id.as_uuid(),
            natural_key: Some(shown(k)),
            created,
        })
        .await;
    Ok(ItemResult::Done(if created {
        Action::Created
    } else {
        Action::Linked
    }))
}

async fn put<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    crm_id: &str,
    id: KostenplaatsId,
    wanted: &Kostenplaats,
) -> Result<Kostenplaats, HandlerError> {
    let mut body = wanted.clone();
    body.id = Some(id);
    let result = engine
        .inner
        .client
        .execute(ops::kostenplaatsen::update(id, &body)?)
        .await;
    engine
        .audit(
            EntityKind::CostCentre,
            crm_id,
            Some(id.as_uuid()),
            "update",
            format!("PUT /kostenplaatsen/{id} nummer={}", shown(wanted)),
            result.as_ref().map(|_| ()).map_err(ToString::to_string),
        )
        .await;
    let k = result?;
    engine.record_success();
    Ok(k)
}

/// The dry-run view.
pub(crate) async fn plan<S: Store, Src: CrmSource, Snk: CrmSink>(
    engine: &SyncEngine<S, Src, Snk>,
    context: &RunContext,
    project: &Project,
) -> Result<Vec<PlanEntry>, EngineError> {
    let inner = &engine.inner;
    let crm_id = project.id.as_str().to_owned();
    let action = match project_to_kostenplaats(project, &inner.config) {
        Err(problems) => PlannedAction::Fail {
            problems: problems.iter().map(ToString::to_string).collect(),
        },
        Ok(wanted) => {
            let hash = payload_hash(&wanted);
            let link = inner
                .store
                .link_by_crm_id(
                    &inner.admin,
                    EntityKind::CostCentre,
                    &crm_id,
                    &LinkPart::Whole,
                )
                .await?;
            match link {
                Some(l) if l.payload_hash.as_deref() == Some(hash.as_str()) => {
                    PlannedAction::Skip {
                        reason: "unchanged".into(),
                    }
                }
                Some(l) => {
                    let existing = inner
                        .client
                        .execute(ops::kostenplaatsen::get(KostenplaatsId::from_uuid(
                            l.snelstart_id,
                        )))
                        .await?;
                    PlannedAction::Update {
                        snelstart_id: l.snelstart_id.to_string(),
                        changes: differs(&existing, &wanted),
                    }
                }
                None => match context
                    .kostenplaats(&inner.client, wanted.nummer.unwrap_or_default(), false)
                    .await?
                {
                    Some(existing)
                        if existing.omschrijving.as_deref().map(str::trim)
                            != wanted.omschrijving.as_deref().map(str::trim) =>
                    {
                        PlannedAction::Fail {
                            problems: vec![format!(
                                "number: SnelStart already has kostenplaats {} as {:?}; it is \
                                 not taken over",
                                shown(&existing),
                                existing.omschrijving.as_deref().unwrap_or_default()
                            )],
                        }
                    }
                    Some(existing) => PlannedAction::Link {
                        snelstart_id: existing.id.map(|i| i.to_string()).unwrap_or_default(),
                    },
                    None => PlannedAction::Create,
                },
            }
        }
    };
    Ok(vec![PlanEntry {
        kind: EntityKind::CostCentre,
        crm_id,
        action,
    }])
}

/// A cost centre's number as shown in messages and natural keys (`?` when SnelStart sent none).
fn shown(k: &Kostenplaats) -> String {
    k.nummer.map_or_else(|| "?".to_owned(), |n| n.to_string())
}
