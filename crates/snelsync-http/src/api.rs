//! The JSON API (bearer token): status per administration and the actions, plus the open
//! health endpoints and `/metrics`.
//!
//! | method and path | what |
//! |---|---|
//! | `GET /api/admins` | every administration's status |
//! | `GET /api/admins/{admin}` | one administration's status |
//! | `POST /api/admins/{admin}/replay` | `{"kind": "relation", "crm_id": "c-1"}` replays that failure; `{}` replays every failure |
//! | `POST /api/admins/{admin}/reviews/resolve` | `{"crm_id": "c-1", "link_to": "<uuid>"}` or `{"crm_id": "c-1", "create_new": true}` |
//! | `POST /api/admins/{admin}/pause`, `/resume` | stop or restart sending (changes are still queued) |
//! | `GET /healthz` | the process answers |
//! | `GET /readyz` | every store answers and no administration has SnelStart unreachable |
//! | `GET /metrics` | Prometheus text |

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sync_core::store::{EntityKind, ReplayFilter, Store};
use sync_core::{CrmSink, CrmSource, EngineError, Reachability, ReviewResolution};

use crate::auth::bearer_ok;
use crate::service::Service;

pub(crate) fn json_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": code, "message": message.into()})),
    )
        .into_response()
}

fn unauthorized() -> Response {
    let mut r = json_error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "an Authorization: Bearer token is required",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"snelsync\""),
    );
    r
}

fn engine_error(e: &EngineError) -> Response {
    json_error(StatusCode::SERVICE_UNAVAILABLE, "engine", e.to_string())
}

fn unknown_admin(admin: &str) -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "unknown_administration",
        format!("no administration `{admin}`"),
    )
}

pub(crate) async fn list<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    headers: HeaderMap,
) -> Response {
    if !bearer_ok(&service.inner, &headers) {
        return unauthorized();
    }
    match service.all_status().await {
        Ok(all) => Json(json!({ "administrations": all })).into_response(),
        Err(e) => engine_error(&e),
    }
}

pub(crate) async fn one<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    Path(admin): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !bearer_ok(&service.inner, &headers) {
        return unauthorized();
    }
    match service.admin_status(&admin).await {
        Ok(Some(s)) => Json(s).into_response(),
        Ok(None) => unknown_admin(&admin),
        Err(e) => engine_error(&e),
    }
}

/// The body of a replay.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReplayBody {
    kind: Option<String>,
    crm_id: Option<String>,
}

/// The body of a review decision.
#[derive(Debug, Deserialize)]
pub(crate) struct ResolveBody {
    crm_id: String,
    link_to: Option<uuid::Uuid>,
    #[serde(default)]
    create_new: bool,
}

/// Outcome of an action, shared by the API and the page forms.
pub(crate) enum ActionError {
    UnknownAdmin,
    BadRequest(String),
    Engine(EngineError),
}

impl ActionError {
    fn into_response(self, admin: &str) -> Response {
        match self {
            ActionError::UnknownAdmin => unknown_admin(admin),
            ActionError::BadRequest(m) => json_error(StatusCode::BAD_REQUEST, "bad_request", m),
            ActionError::Engine(e) => engine_error(&e),
        }
    }
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> Service<S, Src, Snk> {
    /// Replays failures: one record (`kind` and `crm_id`), every failure of a kind, or all.
    /// Returns how many items went back to the queue, and wakes processing.
    pub(crate) async fn replay_action(
        &self,
        admin: &str,
        kind: Option<&str>,
        crm_id: Option<&str>,
    ) -> Result<u64, ActionError> {
        let engine = self.engine(admin).ok_or(ActionError::UnknownAdmin)?;
        let mut filter = ReplayFilter::failed(engine.admin().clone());
        if let Some(kind) = kind.filter(|k| !k.is_empty()) {
            let kind: EntityKind = kind
                .parse()
                .map_err(|_| ActionError::BadRequest(format!("unknown kind `{kind}`")))?;
            filter = filter.kind(kind);
        }
        if let Some(id) = crm_id.filter(|i| !i.is_empty()) {
            filter = filter.crm_id(id);
        }
        let n = engine.replay(filter).await.map_err(ActionError::Engine)?;
        tracing::info!(admin, kind, crm_id, replayed = n, "replay requested");
        self.wake(admin);
        Ok(n)
    }

    /// Records a review decision and wakes processing.
    pub(crate) async fn resolve_action(
        &self,
        admin: &str,
        crm_id: &str,
        resolution: ReviewResolution,
    ) -> Result<(), ActionError> {
        let engine = self.engine(admin).ok_or(ActionError::UnknownAdmin)?;
        if crm_id.is_empty() {
            return Err(ActionError::BadRequest("crm_id is empty".to_owned()));
        }
        tracing::info!(admin, crm_id, ?resolution, "review resolved");
        engine
            .resolve_review(crm_id, resolution)
            .await
            .map_err(ActionError::Engine)?;
        self.wake(admin);
        Ok(())
    }

    pub(crate) async fn pause_action(&self, admin: &str, paused: bool) -> Result<(), ActionError> {
        if self.engine(admin).is_none() {
            return Err(ActionError::UnknownAdmin);
        }
        tracing::info!(admin, paused, "pause state changed");
        self.set_paused(admin, paused)
            .await
            .map_err(ActionError::Engine)
    }
}

pub(crate) async fn replay<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    Path(admin): Path<String>,
    headers: HeaderMap,
    body: Option<Json<ReplayBody>>,
) -> Response {
    if !bearer_ok(&service.inner, &headers) {
        return unauthorized();
    }
    let body = body.map(|Json(b)| b).unwrap_or_default();
    match service
        .replay_action(&admin, body.kind.as_deref(), body.crm_id.as_deref())
        .await
    {
        Ok(n) => Json(json!({ "replayed": n })).into_response(),
        Err(e) => e.into_response(&admin),
    }
}

pub(crate) async fn resolve<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    Path(admin): Path<String>,
    headers: HeaderMap,
    Json(body): Json<ResolveBody>,
) -> Response {
    if !bearer_ok(&service.inner, &headers) {
        return unauthorized();
    }
    let resolution = match (body.link_to, body.create_new) {
        (Some(id), false) => ReviewResolution::LinkTo(id),
        (None, true) => ReviewResolution::CreateNew,
        _ => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "give exactly one of link_to (a SnelStart relation id) or create_new: true",
            );
        }
    };
    match service
        .resolve_action(&admin, &body.crm_id, resolution)
        .await
    {
        Ok(()) => Json(json!({ "resolved": body.crm_id })).into_response(),
        Err(e) => e.into_response(&admin),
    }
}

pub(crate) async fn pause<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    Path(admin): Path<String>,
    headers: HeaderMap,
) -> Response {
    set_pause(service, admin, headers, true).await
}

pub(crate) async fn resume<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
    Path(admin): Path<String>,
    headers: HeaderMap,
) -> Response {
    set_pause(service, admin, headers, false).await
}

async fn set_pause<S: Store, Src: CrmSource, Snk: CrmSink>(
    service: Service<S, Src, Snk>,
    admin: String,
    headers: HeaderMap,
    paused: bool,
) -> Response {
    if !bearer_ok(&service.inner, &headers) {
        return unauthorized();
    }
    match service.pause_action(&admin, paused).await {
        Ok(()) => Json(json!({ "admin": admin, "paused": paused })).into_response(),
        Err(e) => e.into_response(&admin),
    }
}

pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

pub(crate) async fn readyz<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
) -> Response {
    let mut ready = true;
    let mut checks = serde_json::Map::new();
    for a in service.inner.all() {
        let key = a.engine.admin().as_str().to_owned();
        let store = match a.engine.store().counts(a.engine.admin()).await {
            Ok(_) => "ok".to_owned(),
            Err(e) => {
                ready = false;
                format!("store error: {e}")
            }
        };
        let snelstart = match a.engine.reachability() {
            Reachability::Unreachable { last_error, .. } => {
                ready = false;
                format!("unreachable: {last_error}")
            }
            Reachability::Reachable { .. } => "reachable".to_owned(),
            _ => "not contacted yet".to_owned(),
        };
        checks.insert(key, json!({ "store": store, "snelstart": snelstart }));
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "ready": ready, "administrations": checks })),
    )
        .into_response()
}

/// Prometheus label value escaping.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One metric family: its help, type and samples (kept together, as the text format needs).
struct Family {
    name: &'static str,
    help: &'static str,
    kind: &'static str,
    samples: Vec<(String, String)>,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Self {
        Family {
            name,
            help,
            kind,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, labels: String, value: impl ToString) {
        self.samples.push((labels, value.to_string()));
    }

    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (labels, value) in &self.samples {
            if labels.is_empty() {
                let _ = writeln!(out, "{} {value}", self.name);
            } else {
                let _ = writeln!(out, "{}{{{labels}}} {value}", self.name);
            }
        }
    }
}

pub(crate) async fn metrics<S: Store, Src: CrmSource, Snk: CrmSink>(
    State(service): State<Service<S, Src, Snk>>,
) -> Response {
    let c = &service.inner.counters;
    let mut records = Family::new(
        "snelsync_intake_records_total",
        "counter",
        "CRM records received, by outcome.",
    );
    records.add(
        "outcome=\"accepted\"".into(),
        c.intake_accepted.load(Ordering::Relaxed),
    );
    records.add(
        "outcome=\"refused\"".into(),
        c.intake_refused_records.load(Ordering::Relaxed),
    );
    let mut rejected = Family::new(
        "snelsync_intake_rejected_requests_total",
        "counter",
        "Intake requests refused whole (signature, replay, size, syntax).",
    );
    rejected.add(
        String::new(),
        c.intake_rejected_requests.load(Ordering::Relaxed),
    );
    let mut errors = Family::new(
        "snelsync_process_errors_total",
        "counter",
        "Processing rounds that failed (store or engine errors).",
    );
    errors.add(String::new(), c.process_errors.load(Ordering::Relaxed));
    let mut queue = Family::new(
        "snelsync_queue_items",
        "gauge",
        "Work items per administration and state.",
    );
    let mut calls = Family::new(
        "snelsync_snelstart_calls_total",
        "counter",
        "SnelStart calls made since the service started.",
    );
    let mut hour = Family::new(
        "snelsync_snelstart_calls_last_hour",
        "gauge",
        "SnelStart calls in the current hour window of the rate budget.",
    );
    let mut reachable = Family::new(
        "snelsync_snelstart_reachable",
        "gauge",
        "1 when SnelStart answers (or was not contacted yet), 0 when it does not.",
    );
    let mut paused = Family::new(
        "snelsync_paused",
        "gauge",
        "1 when an operator paused the administration.",
    );
    for a in service.inner.all() {
        let admin = format!("admin=\"{}\"", label(a.engine.admin().as_str()));
        if let Ok(q) = a.engine.store().counts(a.engine.admin()).await {
            for (state, n) in [
                ("pending", q.pending),
                ("blocked", q.blocked),
                ("in_flight", q.in_flight),
                ("done", q.done),
                ("failed", q.failed),
                ("needs_review", q.needs_review),
            ] {
                queue.add(format!("{admin},state=\"{state}\""), n);
            }
        }
        let budget = a.engine.client().budget_usage();
        calls.add(admin.clone(), budget.total);
        hour.add(admin.clone(), budget.last_hour);
        let up = !matches!(a.engine.reachability(), Reachability::Unreachable { .. });
        reachable.add(admin.clone(), u8::from(up));
        paused.add(admin, u8::from(a.paused.load(Ordering::SeqCst)));
    }
    let mut out = String::new();
    for family in [
        &records, &rejected, &errors, &queue, &calls, &hour, &reachable, &paused,
    ] {
        family.write(&mut out);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
