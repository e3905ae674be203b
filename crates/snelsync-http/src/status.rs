//! The status of an administration as the JSON endpoint and the page show it: one snapshot
//! built from the engine's public status, its store and the service's own figures.

use std::collections::BTreeMap;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sync_core::fleet::{Activity, AdministrationStatus};
use sync_core::store::{Payload, QueueCounts, Store, WorkState};
use sync_core::{CrmSink, CrmSource, EngineError, KindQueue, Reachability, ReadBackSummary};

use crate::service::{Administration, ReconcileSummary, Service, last_reconcile};

/// How long a SnelStart relation shown as a review candidate is kept before it is read again.
const CANDIDATE_TTL: Duration = Duration::from_secs(600);

/// The one-word health of an administration, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Health {
    /// SnelStart does not answer.
    Unreachable,
    /// Records failed.
    Failing,
    /// Relations wait for a decision.
    WaitingForReview,
    /// Paused by an operator.
    Paused,
    /// All is well.
    Healthy,
}

impl Health {
    /// Dutch label for the page.
    pub fn label(self) -> &'static str {
        match self {
            Health::Unreachable => "SnelStart onbereikbaar",
            Health::Failing => "fouten",
            Health::WaitingForReview => "wacht op beoordeling",
            Health::Paused => "gepauzeerd",
            Health::Healthy => "in orde",
        }
    }
}

/// One failed record.
#[derive(Debug, Clone, Serialize)]
pub struct FailureView {
    /// Entity kind (`relation`, `sales_invoice`, ...).
    pub kind: String,
    /// The CRM record.
    pub crm_id: String,
    /// The fields of the CRM record the failure names.
    pub fields: Vec<String>,
    /// The error class and code (`permanent`, `REL-0010`, `REFUSED_UNREADABLE`).
    pub cause: String,
    /// The message.
    pub message: String,
    /// Attempts made.
    pub attempts: u32,
    /// When it failed.
    pub at: DateTime<Utc>,
}

/// One SnelStart candidate of a review.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateView {
    /// The SnelStart relation id.
    pub snelstart_id: String,
    /// The matcher's score.
    pub score: Option<i64>,
    /// The relatiecode.
    pub relatiecode: Option<i64>,
    /// What the matcher saw (same KvK, similar name, different address, ...).
    pub evidence: Vec<String>,
    /// The relation as SnelStart holds it (naam, adres, ...), when it could be read.
    pub record: Option<serde_json::Value>,
}

/// One relation waiting for a decision.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewView {
    /// Entity kind.
    pub kind: String,
    /// The CRM record id.
    pub crm_id: String,
    /// Since when it waits.
    pub since: DateTime<Utc>,
    /// Why it waits.
    pub reasons: Vec<String>,
    /// The CRM record as it was queued.
    pub crm_record: Option<serde_json::Value>,
    /// The SnelStart relations it may be.
    pub candidates: Vec<CandidateView>,
}

/// Budget use.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetView {
    /// Calls in the current minute window.
    pub last_minute: u32,
    /// Calls in the current hour window.
    pub last_hour: u32,
    /// Calls since the service started.
    pub total: u64,
    /// Calls per minute over the last hour, oldest first.
    pub per_minute: Vec<u64>,
}

/// An administration coupled through onboarding, as its runner (the fleet) reports it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RunnerView {
    /// The coupling's ReferenceKey.
    pub reference_key: String,
    /// Whether this process holds the administration now (its lease); `false`: another
    /// process does, or it is paused, or not taken yet.
    pub held: bool,
    /// `starting`, `working`, `idle`, `outage` or `failing` (while held).
    pub activity: Option<String>,
    /// Slices (one ingest and one batch each) run since this process took it.
    pub slices: u64,
    /// Items handled since this process took it.
    pub items: u64,
    /// SnelStart calls the runner made for it since this process took it.
    pub api_calls: u64,
    /// Consecutive failed slices.
    pub consecutive_failures: u32,
    /// The last failure (SnelStart refusing the key, a missing mapping, ...).
    pub last_error: Option<String>,
    /// When the last slice ended.
    pub last_slice_at: Option<DateTime<Utc>>,
    /// When this process's lease on it expires unless renewed.
    pub lease_expires_at: Option<DateTime<Utc>>,
}

impl RunnerView {
    fn of(reference_key: &str, status: Option<AdministrationStatus>) -> Self {
        let mut view = RunnerView {
            reference_key: reference_key.to_owned(),
            held: status.is_some(),
            activity: None,
            slices: 0,
            items: 0,
            api_calls: 0,
            consecutive_failures: 0,
            last_error: None,
            last_slice_at: None,
            lease_expires_at: None,
        };
        if let Some(s) = status {
            view.activity = Some(
                match s.activity {
                    Activity::Starting => "starting",
                    Activity::Working => "working",
                    Activity::Idle => "idle",
                    Activity::Outage => "outage",
                    Activity::Failing => "failing",
                    _ => "unknown",
                }
                .to_owned(),
            );
            view.slices = s.slices;
            view.items = s.items;
            view.api_calls = s.api_calls;
            view.consecutive_failures = s.consecutive_failures;
            view.last_error = s.last_error;
            view.last_slice_at = s.last_slice_at;
            view.lease_expires_at = Some(s.lease_expires_at);
        }
        view
    }
}

/// The status of one administration.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AdminStatus {
    /// The administration.
    pub admin: String,
    /// The one-word health.
    pub health: Health,
    /// Paused by an operator.
    pub paused: bool,
    /// Work items per state.
    pub queue: QueueCounts,
    /// Unfinished work per kind.
    pub by_kind: BTreeMap<String, KindQueue>,
    /// Whether SnelStart answers.
    pub reachability: Reachability,
    /// The last successful run per flow.
    pub last_success: BTreeMap<String, DateTime<Utc>>,
    /// Failed records.
    pub failures: Vec<FailureView>,
    /// Relations waiting for a decision.
    pub review: Vec<ReviewView>,
    /// Budget use.
    pub budget: BudgetView,
    /// The last read-back.
    pub last_read_back: Option<ReadBackSummary>,
    /// The last reconcile.
    pub last_reconcile: Option<ReconcileSummary>,
    /// SnelStart list items that did not decode (and were skipped).
    pub skipped_items: Vec<String>,
    /// Properties and enum values SnelStart sent that the client does not know (API drift),
    /// per route, since the service started.
    pub api_drift: Vec<snelstart_client::drift::ApiDrift>,
    /// The mapping-configuration version in use.
    pub config_version: Option<u64>,
    /// For an administration coupled through onboarding: its ReferenceKey and what the fleet
    /// runner does with it (`None`: one of the configured administrations). Its `budget`
    /// above counts the service's own calls for it (status, candidates); the runner's calls
    /// are `api_calls` here.
    pub onboarded: Option<RunnerView>,
}

fn text_list(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::Array(items)) => items.iter().map(display_value).collect(),
        Some(v) if !v.is_null() => vec![display_value(v)],
        _ => Vec::new(),
    }
}

/// A JSON value as a person reads it: strings bare, objects as `key: value`.
pub(crate) fn display_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}: {}", display_value(v)))
            .collect::<Vec<_>>()
            .join(", "),
        serde_json::Value::Array(items) => items
            .iter()
            .map(display_value)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> Service<S, Src, Snk> {
    /// The status of one administration (`None` when the service does not run it).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn admin_status(&self, admin: &str) -> Result<Option<AdminStatus>, EngineError> {
        let Some(a) = self.inner.admin(admin) else {
            return Ok(None);
        };
        let a = &*a;
        self.sample_budget(a);
        let engine = &a.engine;
        let report = engine.status().await?;
        let paused = a.paused.load(Ordering::SeqCst);
        let failures: Vec<FailureView> = report
            .failures
            .iter()
            .map(|f| {
                let (cause, message) = match &f.error {
                    Some(e) => (
                        match &e.code {
                            Some(code) => format!("{} {code}", e.kind),
                            None => e.kind.clone(),
                        },
                        e.message.clone(),
                    ),
                    None => ("unknown".to_owned(), "(no reason recorded)".to_owned()),
                };
                FailureView {
                    kind: f.kind.as_str().to_owned(),
                    crm_id: f.crm_id.clone(),
                    fields: f.fields(),
                    cause,
                    message,
                    attempts: f.attempts,
                    at: f.at,
                }
            })
            .collect();
        // The CRM side of each review: the payload it was queued with.
        let items = engine
            .store()
            .list_work(engine.admin(), Some(WorkState::NeedsReview), 1000, 0)
            .await
            .map_err(EngineError::from)?;
        let mut review = Vec::new();
        for r in &report.review {
            let payload = items
                .iter()
                .filter(|i| i.crm_id == r.crm_id && i.kind == r.kind)
                .max_by_key(|i| i.updated_at)
                .map(|i| crm_record(&i.payload));
            let mut candidates = Vec::new();
            if let Some(serde_json::Value::Array(list)) = r.reasons.get("candidates") {
                for c in list {
                    let snelstart_id = c
                        .get("snelstart_id")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    let record = self.candidate_record(a, &snelstart_id).await;
                    candidates.push(CandidateView {
                        score: c.get("score").and_then(serde_json::Value::as_i64),
                        relatiecode: c.get("relatiecode").and_then(serde_json::Value::as_i64),
                        evidence: text_list(c.get("evidence")),
                        snelstart_id,
                        record,
                    });
                }
            }
            review.push(ReviewView {
                kind: r.kind.as_str().to_owned(),
                crm_id: r.crm_id.clone(),
                since: r.since,
                reasons: text_list(r.reasons.get("reasons")),
                crm_record: payload,
                candidates,
            });
        }
        let onboarded = a
            .attached
            .as_ref()
            .map(|t| RunnerView::of(&t.reference_key, t.runner.status(engine.admin())));
        let runner_activity = onboarded.as_ref().and_then(|r| r.activity.as_deref());
        let health = if matches!(report.reachability, Reachability::Unreachable { .. })
            || runner_activity == Some("outage")
        {
            Health::Unreachable
        } else if !failures.is_empty() || runner_activity == Some("failing") {
            Health::Failing
        } else if !review.is_empty() {
            Health::WaitingForReview
        } else if paused {
            Health::Paused
        } else {
            Health::Healthy
        };
        let per_minute = a
            .budget
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .per_minute(Utc::now());
        Ok(Some(AdminStatus {
            admin: report.admin.clone(),
            health,
            paused,
            queue: report.queue,
            by_kind: report
                .by_kind
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), *v))
                .collect(),
            reachability: report.reachability.clone(),
            last_success: report.last_success.clone(),
            failures,
            review,
            budget: BudgetView {
                last_minute: report.budget.last_minute,
                last_hour: report.budget.last_hour,
                total: report.budget.total,
                per_minute,
            },
            last_read_back: report.last_read_back,
            last_reconcile: last_reconcile(engine).await?,
            skipped_items: report.skipped_items.clone(),
            api_drift: engine.client().api_drift(),
            config_version: report.config_version,
            onboarded,
        }))
    }

    /// The status of every administration.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn all_status(&self) -> Result<Vec<AdminStatus>, EngineError> {
        let mut out = Vec::new();
        for a in self.inner.all() {
            if let Some(s) = self.admin_status(a.engine.admin().as_str()).await? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// The SnelStart relation behind a review candidate, read once per [`CANDIDATE_TTL`].
    async fn candidate_record(
        &self,
        a: &Administration<S, Src, Snk>,
        snelstart_id: &str,
    ) -> Option<serde_json::Value> {
        let id: uuid::Uuid = snelstart_id.parse().ok()?;
        if let Some((at, v)) = a
            .candidates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            && at.elapsed() < CANDIDATE_TTL
        {
            return Some(v.clone());
        }
        let request = snelstart_client::ops::relaties::get(id.into());
        match a.engine.client().execute(request).await {
            Ok(relatie) => {
                let value = serde_json::to_value(&relatie).ok()?;
                a.candidates
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(id, (Instant::now(), value.clone()));
                Some(value)
            }
            Err(e) => {
                tracing::info!(error = %e, "could not read a review candidate from SnelStart");
                None
            }
        }
    }
}

/// The CRM record inside a queued change (`{"type": "relation", "record": {...}}`), or the
/// change itself (`null` for stored text a JSON tree cannot hold, see [`Payload::to_value`]).
fn crm_record(payload: &Payload) -> serde_json::Value {
    match payload.to_value() {
        Ok(serde_json::Value::Object(mut change)) if change.contains_key("record") => {
            change.remove("record").unwrap_or_default()
        }
        Ok(other) => other,
        Err(_) => serde_json::Value::Null,
    }
}
