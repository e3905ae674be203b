//! `POST /crm/{crm}/changes`: a CRM pushes one change or a batch.
//!
//! The body is a CRM export document (the format of [`crm_model::read::read_export`]): one
//! change is a document with one record, a batch holds many. The request is signed (see
//! [`crate::signature`]); an unknown CRM, a bad or stale signature, or an event id seen before
//! is refused with nothing queued. Otherwise every record is answered on its own: accepted
//! (queued durably before the answer) or refused with the record's id, the JSON path of each
//! problem in the body and a message. Processing of the administration is woken at once.
//!
//! A CRM configured for one administration ([`CrmEndpoint::new`](crate::CrmEndpoint::new))
//! posts to `POST /crm/{crm}/changes`. A CRM that feeds the administrations attached to the
//! service (coupled through onboarding, [`CrmEndpoint::onboarded`](crate::CrmEndpoint::onboarded))
//! posts to `POST /crm/{crm}/admins/{admin}/changes`, `{admin}` being the administration's key
//! or its coupling's ReferenceKey; the changes are queued with the service's engine for that
//! administration and its runner (the fleet) is woken to send them.
//!
//! Answers: `200` with the per-record list; `400` body not JSON (line and column); `401`
//! signature problems; `404` unknown CRM, an administration not (or no longer) served, or the
//! other route than the CRM's (`wrong_route`, `administration_required`); `409` event id
//! already received (or being received), or a ReferenceKey naming several administrations
//! (`ambiguous_reference`); `413` body or record count over the limit; `503` the store failed
//! (retry with the same event id).

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use crm_model::read::{Export, ExportItem, ExportSection, read_export};
use serde::Serialize;
use serde_json::json;
use sync_core::store::{EntityKind, StateKey, Store};
use sync_core::{CrmSink, CrmSource, RefusalReason};

use crate::service::Service;
use crate::signature::verify;

/// How long a claimed but unfinished event id blocks a second delivery of it. After that the
/// first delivery is taken to have died (its process was killed) and a retry may proceed.
const CLAIM_SECONDS: i64 = 60;

/// The answer for one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordAnswer {
    /// The section of the body it was in (`relations`, `projects`, ...).
    pub section: &'static str,
    /// Its position in that section.
    pub index: usize,
    /// Its CRM id, when it had a usable one.
    pub id: Option<String>,
    /// `accepted` or `refused`.
    pub status: &'static str,
    /// Why it was refused (`unreadable`, `duplicate`, `inconsistent`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The problems of a refused record.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<ProblemAnswer>,
}

/// One problem of a refused record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProblemAnswer {
    /// The JSON path in the request body: `relations[1].kvk_number`.
    pub path: String,
    /// The path inside the record: `kvk_number`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": code, "message": message.into() })),
    )
        .into_response()
}

fn entity_kind(section: ExportSection) -> EntityKind {
    match section {
        ExportSection::Relations | ExportSection::ArchivedRelations => EntityKind::Relation,
        ExportSection::Projects => EntityKind::CostCentre,
        ExportSection::SalesInvoices => EntityKind::SalesInvoice,
        ExportSection::PurchaseInvoices => EntityKind::PurchaseInvoice,
    }
}

fn item_id(item: &ExportItem<'_>) -> Option<String> {
    Some(match item {
        ExportItem::Relation(r) => r.record.id.to_string(),
        ExportItem::ArchivedRelation(r) => r.record.to_string(),
        ExportItem::Project(r) => r.record.id.to_string(),
        ExportItem::SalesInvoice(r) => r.record.id.to_string(),
        ExportItem::PurchaseInvoice(r) => r.record.id.to_string(),
        ExportItem::Rejected { rejection, .. } => {
            return rejection.id.as_ref().map(|i| i.to_string());
        }
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

fn record_path(section: ExportSection, index: usize, field: &str) -> String {
    if field.is_empty() {
        format!("{section}[{index}]")
    } else {
        format!("{section}[{index}].{field}")
    }
}

fn reason_code(reason: RefusalReason) -> &'static str {
    match reason {
        RefusalReason::Unreadable => "unreadable",
        RefusalReason::Duplicate => "duplicate",
        RefusalReason::Inconsistent => "inconsistent",
        #[allow(unreachable_patterns)]
        _ => "refused",
    }
}

/// The answers in body order, before the batch rules (duplicates, contradictions) apply.
fn read_answers(export: &Export) -> Vec<RecordAnswer> {
    export
        .items()
        .map(|item| {
            let section = item.section();
            let index = item.index();
            let id = item_id(&item);
            match item {
                ExportItem::Rejected { rejection, .. } => RecordAnswer {
                    section: section.as_str(),
                    index,
                    id,
                    status: "refused",
                    reason: Some("unreadable"),
                    problems: rejection
                        .problems
                        .iter()
                        .map(|p| ProblemAnswer {
                            path: record_path(section, index, &p.path),
                            field: p.path.clone(),
                            message: p.message.clone(),
                        })
                        .collect(),
                },
                _ => RecordAnswer {
                    section: section.as_str(),
                    index,
                    id,
                    status: "accepted",
                    reason: None,
                    problems: Vec::new(),
                },
            }
        })
        .collect()
}

/// Applies the engine's batch refusals (a later duplicate, an invoice on a relation of the
/// other kind) to the records that were read. The first occurrence of a record wins, so the
/// refusals of one (kind, id) belong to its last occurrences.
fn apply_batch_refusals(answers: &mut [RecordAnswer], refused: &[sync_core::RefusedRecord]) {
    let mut pending: HashMap<(EntityKind, String), Vec<&sync_core::RefusedRecord>> = HashMap::new();
    for r in refused
        .iter()
        .filter(|r| r.reason != RefusalReason::Unreadable)
    {
        pending
            .entry((r.kind, r.crm_id.clone()))
            .or_default()
            .push(r);
    }
    for answer in answers.iter_mut().rev() {
        if answer.status != "accepted" {
            continue;
        }
        let Some(section) = ExportSection::ALL
            .into_iter()
            .find(|s| s.as_str() == answer.section)
        else {
            continue;
        };
        let Some(id) = answer.id.clone() else {
            continue;
        };
        if let Some(list) = pending.get_mut(&(entity_kind(section), id))
            && let Some(refusal) = list.pop()
        {
            answer.status = "refused";
            answer.reason = Some(reason_code(refusal.reason));
            answer.problems = refusal
                .problems
                .iter()
                .map(|p| ProblemAnswer {
                    path: record_path(section, answer.index, &p.path),
                    field: p.path.clone(),
                    message: p.message.clone(),
                })
                .collect();
        }
    }
}

fn event_cursor(crm: &str, event_id: &str) -> StateKey {
    StateKey::IntakeEvent {
        source: crm.to_owned(),
        event_id: event_id.to_owned(),
    }
}

/// Claims an event id: `Ok(true)` when this delivery may proceed.
async fn claim_event<S: Store>(
    store: &S,
    admin: &sync_core::store::AdminKey,
    name: &StateKey,
    now: DateTime<Utc>,
) -> Result<bool, sync_core::store::StoreError> {
    let current = store.state(admin, name).await?;
    if let Some(value) = &current {
        let Some(since) = value.strip_prefix("pending ") else {
            return Ok(false); // done: received before
        };
        let fresh = DateTime::parse_from_rfc3339(since)
            .map(|t| (now - t.with_timezone(&Utc)).num_seconds() < CLAIM_SECONDS)
            .unwrap_or(false);
        if fresh {
            return Ok(false);
        }
    }
    let claim = format!("pending {}", now.to_rfc3339());
    Ok(store
        .put_state(admin, name, current.as_deref(), &claim, now)
        .await
        .is_ok())
}

pub(crate) async fn post_changes<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    Path(crm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(&service, &crm, None, &headers, &body).await
}

/// `POST /crm/{crm}/admins/{admin}/changes`: a CRM that feeds the attached (onboarded)
/// administrations names one by its key or its coupling's ReferenceKey.
pub(crate) async fn post_admin_changes<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    Path((crm, admin)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(&service, &crm, Some(&admin), &headers, &body).await
}

/// The intake of both routes; `named` is the administration the path names, if any.
async fn receive<S: Store, Src: CrmSource, Snk: CrmSink>(
    service: &Service<S, Src, Snk>,
    crm: &str,
    named: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let inner = &service.inner;
    let reject = |status, code: &str, message: String| {
        inner
            .counters
            .intake_rejected_requests
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(crm = %crm, code, %message, "intake refused");
        error(status, code, message)
    };
    let Some(endpoint) = inner.config.crm(crm) else {
        return reject(
            StatusCode::NOT_FOUND,
            "unknown_crm",
            format!("no CRM named `{crm}` is configured"),
        );
    };
    let now = Utc::now();
    let signed = match verify(
        &endpoint.secret,
        headers,
        body,
        now.timestamp(),
        inner.config.timestamp_tolerance,
    ) {
        Ok(s) => s,
        Err(e) => return reject(StatusCode::UNAUTHORIZED, "signature", e.to_string()),
    };
    let admin = match (&endpoint.admin, named) {
        (Some(key), None) => match inner.admin(key.as_str()) {
            Some(admin) => admin,
            None => {
                return reject(
                    StatusCode::NOT_FOUND,
                    "unknown_administration",
                    format!(
                        "CRM `{crm}` feeds administration `{key}`, which this service does not run"
                    ),
                );
            }
        },
        (Some(key), Some(_)) => {
            return reject(
                StatusCode::NOT_FOUND,
                "wrong_route",
                format!(
                    "CRM `{crm}` feeds administration `{key}` only: post to /crm/{crm}/changes"
                ),
            );
        }
        (None, None) => {
            return reject(
                StatusCode::NOT_FOUND,
                "administration_required",
                format!(
                    "CRM `{crm}` feeds the onboarded administrations: post to \
                     /crm/{crm}/admins/{{administration or ReferenceKey}}/changes"
                ),
            );
        }
        (None, Some(name)) => match inner.attached_by_name(name) {
            Ok(Some(admin)) => admin,
            Ok(None) => {
                return reject(
                    StatusCode::NOT_FOUND,
                    "unknown_administration",
                    format!(
                        "no onboarded administration has the key or ReferenceKey `{name}` \
                         (not coupled, or its coupling was deleted)"
                    ),
                );
            }
            Err(several) => {
                return reject(
                    StatusCode::CONFLICT,
                    "ambiguous_reference",
                    format!(
                        "ReferenceKey `{name}` names {} administrations ({}): name one by its key",
                        several.len(),
                        several.join(", ")
                    ),
                );
            }
        },
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return reject(
            StatusCode::BAD_REQUEST,
            "not_utf8",
            "the body is not UTF-8 text".to_owned(),
        );
    };
    let export = match read_export(text) {
        Ok(e) => e,
        Err(e) => return reject(StatusCode::BAD_REQUEST, "not_json", e.to_string()),
    };
    let count = export.read_count() + export.rejected_count();
    if count > inner.config.max_records {
        return reject(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_records",
            format!(
                "{count} records; at most {} per request",
                inner.config.max_records
            ),
        );
    }
    let engine = &admin.engine;
    let cursor = event_cursor(crm, &signed.event_id);
    match claim_event(engine.store(), engine.admin(), &cursor, now).await {
        Ok(true) => {}
        Ok(false) => {
            return reject(
                StatusCode::CONFLICT,
                "replayed_event",
                format!(
                    "event id `{}` was received before; nothing was queued",
                    signed.event_id
                ),
            );
        }
        Err(e) => {
            return reject(
                StatusCode::SERVICE_UNAVAILABLE,
                "store",
                format!("the store failed: {e}"),
            );
        }
    }
    let mut answers = read_answers(&export);
    let report = match engine.submit_export(export).await {
        Ok(r) => r,
        Err(e) => {
            // The claim expires after CLAIM_SECONDS, so a retry with this event id proceeds.
            return reject(
                StatusCode::SERVICE_UNAVAILABLE,
                "store",
                format!("the store failed: {e}"),
            );
        }
    };
    apply_batch_refusals(&mut answers, &report.refused);
    let done = format!("done {}", Utc::now().to_rfc3339());
    let claim = engine
        .store()
        .state(engine.admin(), &cursor)
        .await
        .ok()
        .flatten();
    if let Err(e) = engine
        .store()
        .put_state(engine.admin(), &cursor, claim.as_deref(), &done, Utc::now())
        .await
    {
        tracing::warn!(error = %e, "could not mark an intake event as done; its claim expires");
    }
    admin.wake();
    let accepted = answers.iter().filter(|a| a.status == "accepted").count();
    let refused = answers.len() - accepted;
    inner
        .counters
        .intake_accepted
        .fetch_add(accepted as u64, Ordering::Relaxed);
    inner
        .counters
        .intake_refused_records
        .fetch_add(refused as u64, Ordering::Relaxed);
    (
        StatusCode::OK,
        Json(json!({
            "event_id": signed.event_id,
            "administration": engine.admin().as_str(),
            "accepted": accepted,
            "refused": refused,
            "records": answers,
        })),
    )
        .into_response()
}
