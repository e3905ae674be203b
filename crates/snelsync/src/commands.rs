//! The one-shot operator commands.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crm_model::read::read_export;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use sync_core::store::{QueueStore, ReplayFilter, WorkState};
use sync_core::{
    CrmDataset, CrmInventory, EngineBackup, MemorySource, ReconcileOptions, ReconcileReport,
    ReviewResolution,
};

use mapping::config::ChartOfAccounts;
use mapping::config::propose::{MappingProposal, ProposedRule, propose_mapping};
use snelstart_client::odata::Query;
use snelstart_client::ops;

use crate::config::{AdminSection, Engine, Loaded, template};
use crate::{CliError, Outcome};

/// What every command gets from the command line.
#[derive(Debug)]
pub struct Context {
    pub config: PathBuf,
    /// `--store`: overrides the configuration's store.
    pub store: Option<crate::store::StoreTarget>,
    pub admin: Option<String>,
    pub json: bool,
}

impl Context {
    fn load(&self) -> Result<Loaded, CliError> {
        Loaded::read(&self.config)
    }

    async fn engines(&self, source: &MemorySource) -> Result<Vec<Engine>, CliError> {
        let loaded = self.load()?;
        let store = loaded.open_store(self.store.as_ref()).await?;
        loaded.engines(&store, self.admin.as_deref(), source)
    }

    pub(crate) fn print(&self, json: &Value, text: &str) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(json).unwrap_or_default());
        } else {
            print!("{text}");
        }
    }
}

pub(crate) fn read_export_file(path: &Path) -> Result<crm_model::read::Export, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
    read_export(&text).map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))
}

/// Options of `init`.
#[derive(Debug)]
pub struct InitOptions {
    pub dir: PathBuf,
    pub admin_key: String,
    pub base_url: Option<String>,
    pub auth_url: Option<String>,
    pub budget: String,
    pub mock_chart: bool,
    pub force: bool,
}

/// Writes `snelsync.toml` and `mapping.toml`. With the credentials in the environment (and
/// without `--mock-chart`) the mapping's ledgers are proposed from the administration's own
/// chart of accounts and VAT rates, each rule commented with why; without them it is the
/// template of SnelStart's standard chart.
pub async fn init(ctx: &Context, o: &InitOptions) -> Result<Outcome, CliError> {
    let config_path = o.dir.join("snelsync.toml");
    let mapping_path = o.dir.join("mapping.toml");
    for p in [&config_path, &mapping_path] {
        if p.exists() && !o.force {
            return Err(CliError::Failed(format!(
                "{} exists (use --force to overwrite)",
                p.display()
            )));
        }
    }
    let config_text = template(
        o.base_url.as_deref(),
        o.auth_url.as_deref(),
        &o.admin_key,
        &o.budget,
    );
    // Read through the configuration just generated, so the proposal uses exactly the
    // endpoints, budget and secrets the other commands will.
    let loaded = Loaded::parse(&config_text, &config_path)?;
    let admin = loaded.administration(None)?;
    let proposal = if !o.mock_chart && loaded.has_credentials(admin) {
        Some(propose(&loaded, admin).await?)
    } else {
        None
    };
    let mapping_text = match &proposal {
        Some(p) => p.to_toml(),
        None if o.mock_chart => mapping::config::MappingConfig::default_for_mock().to_toml_string(),
        None => mapping::config::MappingConfig::default().to_toml_string(),
    }
    .map_err(|e| CliError::Failed(format!("mapping template: {e}")))?;
    let header = match &proposal {
        Some(_) => format!(
            "# The ledger mapping: which grootboekrekening each revenue and cost category and VAT\n\
             # kind books on, how projects become kostenplaatsen, how relatiecodes are chosen.\n\
             # Proposed by `snelsync init` from the chart of accounts of `{}`: review each\n\
             # ledger below, then run `snelsync check`.\n\n",
            admin.key
        ),
        None => "# The ledger mapping: which grootboekrekening each revenue and cost category and VAT\n\
                 # kind books on, how projects become kostenplaatsen, how relatiecodes are chosen.\n\
                 # `snelsync check` compares it with the administration's chart of accounts.\n\n"
            .to_owned(),
    };
    std::fs::create_dir_all(&o.dir)
        .map_err(|e| CliError::Failed(format!("{}: {e}", o.dir.display())))?;
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))
    };
    write(&config_path, &config_text)?;
    write(&mapping_path, &format!("{header}{mapping_text}"))?;
    let mut text = format!(
        "wrote {} and {}\n",
        config_path.display(),
        mapping_path.display()
    );
    match &proposal {
        Some(p) => {
            text.push_str(&format!(
                "ledgers proposed from the chart of accounts of `{}`: {} revenue and {} purchase rules\n",
                admin.key,
                p.revenue.len(),
                p.cost.len()
            ));
            for m in &p.missing {
                text.push_str(&format!("  not found: {m}\n"));
            }
            text.push_str("review mapping.toml, then run `snelsync check`\n");
        }
        None => text.push_str(
            "set SNELSTART_SUBSCRIPTION_KEY, SNELSTART_KOPPELSLEUTEL, SNELSYNC_TOKEN and \
             SNELSYNC_CRM_SECRET, then run `snelsync check` (with the SnelStart keys set, `init` \
             proposes the ledgers from the administration's chart of accounts)\n",
        ),
    }
    let rules = |rules: &[ProposedRule]| {
        rules
            .iter()
            .map(|r| json!({"category": r.rule.category, "vat": r.rule.vat, "ledger": r.rule.ledger, "why": r.why}))
            .collect::<Vec<_>>()
    };
    let proposal_json = proposal.as_ref().map(|p| {
        json!({
            "administration": admin.key,
            "revenue": rules(&p.revenue),
            "cost": rules(&p.cost),
            "debtors": p.debtors.as_ref().map(|l| json!({"ledger": l.nummer, "why": l.why})),
            "creditors": p.creditors.as_ref().map(|l| json!({"ledger": l.nummer, "why": l.why})),
            "missing": p.missing,
        })
    });
    ctx.print(
        &json!({"config": config_path, "mapping": mapping_path, "proposal": proposal_json}),
        &text,
    );
    Ok(Outcome::Clean)
}

/// Reads the chart of accounts and the VAT rates of `admin` and proposes its ledgers.
async fn propose(loaded: &Loaded, admin: &AdminSection) -> Result<MappingProposal, CliError> {
    let client = loaded.client(admin)?;
    let failed = |what: &str, e: snelstart_client::Error| {
        CliError::Failed(format!("reading the {what} of `{}`: {e}", admin.key))
    };
    let grootboeken = client
        .list_all(ops::grootboeken::list(Query::new()))
        .await
        .map_err(|e| failed("chart of accounts", e))?;
    let tarieven = client
        .execute(ops::btwtarieven::list())
        .await
        .map_err(|e| failed("VAT rates", e))?;
    let proposal = propose_mapping(&grootboeken, &tarieven, chrono::Utc::now().date_naive());
    // The proposal is built to pass the check `snelsync check` runs; say so if it does not.
    let chart = ChartOfAccounts::from_snelstart(&grootboeken, &[]);
    let problems = proposal.config.validate_against(&chart).problems;
    if !problems.is_empty() {
        return Err(CliError::Failed(format!(
            "the proposed mapping does not fit the chart of accounts of `{}`: {}",
            admin.key,
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    Ok(proposal)
}

/// `check`: every configured administration (credentials, chart of accounts, VAT kinds,
/// mapping, API drift) and `[onboarding]` (see [`crate::onboarding::check`]). Exit 3 when
/// anything makes syncing unsafe.
pub async fn check(ctx: &Context) -> Result<Outcome, CliError> {
    let loaded = ctx.load()?;
    let store = loaded.open_store(ctx.store.as_ref()).await?;
    let engines = loaded.engines(&store, ctx.admin.as_deref(), &MemorySource::default())?;
    let mut all = Vec::new();
    let mut text = String::new();
    let mut outcome = Outcome::Clean;
    for engine in &engines {
        let admin = engine.admin().as_str();
        // Credentials and the chart of accounts in one: reading the chart needs a token.
        let chart = engine.check_config().await?;
        let problems: Vec<String> = chart.problems.iter().map(ToString::to_string).collect();
        let mapping_problems: Vec<String> = engine
            .config()
            .validate()
            .iter()
            .map(ToString::to_string)
            .collect();
        let skipped: Vec<String> = engine
            .client()
            .decode_problems()
            .iter()
            .map(ToString::to_string)
            .collect();
        let drift = engine.client().api_drift();
        if !problems.is_empty() || !mapping_problems.is_empty() {
            outcome = Outcome::Attention;
        }
        text.push_str(&format!(
            "{admin}: credentials accepted; chart of accounts read\n"
        ));
        if problems.is_empty() && mapping_problems.is_empty() {
            text.push_str("  mapping fits the chart of accounts and VAT kinds: safe to sync\n");
        }
        for p in problems.iter().chain(&mapping_problems) {
            text.push_str(&format!("  problem: {p}\n"));
        }
        for d in &skipped {
            text.push_str(&format!(
                "  skipped (SnelStart sent a record the client cannot read): {d}\n"
            ));
        }
        for d in &drift {
            text.push_str(&format!(
                "  API drift (SnelStart sent what the client does not know): {d}\n"
            ));
        }
        all.push(json!({
            "admin": admin,
            "credentials": "ok",
            "problems": problems,
            "mapping_problems": mapping_problems,
            "cost_centre_required": chart.cost_centre_required,
            "skipped_items": skipped,
            "api_drift": drift,
            "safe_to_sync": outcome == Outcome::Clean,
        }));
    }
    let onboarding = match &loaded.file.onboarding {
        Some(section) => {
            let report = crate::onboarding::check(&loaded, section, &store).await;
            text.push_str(&format!(
                "[onboarding]: {} administrations coupled\n",
                report.registered
            ));
            for c in &report.checked {
                text.push_str(&format!("  ok: {c}\n"));
            }
            for p in &report.problems {
                text.push_str(&format!("  problem: {p}\n"));
            }
            if report.problems.is_empty() {
                text.push_str("  onboarding is safe to run\n");
            } else {
                outcome = Outcome::Attention;
            }
            Some(json!({
                "registered": report.registered,
                "checked": report.checked,
                "problems": report.problems,
                "safe": report.problems.is_empty(),
            }))
        }
        None => None,
    };
    ctx.print(
        &json!({
            "administrations": all,
            "onboarding": onboarding,
            "safe_to_sync": outcome == Outcome::Clean,
        }),
        &text,
    );
    Ok(outcome)
}

pub async fn plan(ctx: &Context, from: &Path) -> Result<Outcome, CliError> {
    let export = read_export_file(from)?;
    // The changes come from a source the engine reads during the plan: nothing is queued.
    let source = MemorySource::new(CrmDataset::from_export(&export).changes());
    let engines = ctx.engines(&source).await?;
    let mut all = Vec::new();
    let mut text = String::new();
    for engine in &engines {
        let entries = engine.plan().await?;
        text.push_str(&format!("{}: {} records\n", engine.admin(), entries.len()));
        for e in &entries {
            text.push_str(&format!("  {} {}: {:?}\n", e.kind, e.crm_id, e.action));
        }
        all.push(json!({"admin": engine.admin().as_str(), "plan": entries}));
    }
    ctx.print(&json!({ "administrations": all }), &text);
    Ok(Outcome::Clean)
}

pub async fn sync(ctx: &Context, from: &Path, max_wait: u64) -> Result<Outcome, CliError> {
    let engines = ctx.engines(&MemorySource::default()).await?;
    let mut all = Vec::new();
    let mut text = String::new();
    let mut outcome = Outcome::Clean;
    for engine in &engines {
        let export = read_export_file(from)?;
        engine.record_config().await?;
        let intake = engine.submit_export(export).await?;
        let bar = (!ctx.json).then(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} work items")
            {
                bar.set_style(style);
            }
            bar
        });
        let progress = bar.clone().map(|bar| {
            let store = engine.store().clone();
            let admin = engine.admin().clone();
            tokio::spawn(async move {
                loop {
                    if let Ok(c) = store.counts(&admin).await {
                        bar.set_length(c.total());
                        bar.set_position(c.done + c.failed + c.needs_review);
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        });
        let report = engine.run_until_idle(Duration::from_secs(max_wait)).await?;
        if let Some(p) = progress {
            p.abort();
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let counts = engine
            .store()
            .counts(engine.admin())
            .await
            .map_err(sync_core::EngineError::from)?;
        if counts.failed > 0 || counts.needs_review > 0 {
            outcome = Outcome::Attention;
        }
        text.push_str(&format!(
            "{}: {} queued, {} refused at intake\n{report}\n{} failed, {} waiting for review (see `snelsync status`)\n",
            engine.admin(),
            intake.queued,
            intake.refused.len(),
            counts.failed,
            counts.needs_review
        ));
        all.push(json!({
            "admin": engine.admin().as_str(),
            "intake": intake,
            "run": report,
            "queue": counts,
        }));
    }
    ctx.print(&json!({ "administrations": all }), &text);
    Ok(outcome)
}

pub async fn status(ctx: &Context) -> Result<Outcome, CliError> {
    let engines = ctx.engines(&MemorySource::default()).await?;
    let mut all = Vec::new();
    let mut text = String::new();
    let mut outcome = Outcome::Clean;
    for engine in &engines {
        let report = engine.status().await?;
        if !report.failures.is_empty() || !report.review.is_empty() {
            outcome = Outcome::Attention;
        }
        let reconcile = snelsync_http::last_reconcile(engine).await?;
        text.push_str(&format!("{report}"));
        match &reconcile {
            Some(r) => text.push_str(&format!(
                "last reconcile: {} ({})\n",
                r.at,
                if r.clean {
                    "clean".to_owned()
                } else {
                    format!("{} differences", r.difference_count)
                }
            )),
            None => text.push_str("last reconcile: never\n"),
        }
        text.push('\n');
        let mut value = serde_json::to_value(&report).unwrap_or_default();
        if let Value::Object(map) = &mut value {
            map.insert(
                "failures_fields".to_owned(),
                json!(
                    report
                        .failures
                        .iter()
                        .map(|f| json!({"crm_id": f.crm_id, "fields": f.fields()}))
                        .collect::<Vec<_>>()
                ),
            );
            map.insert("last_reconcile".to_owned(), json!(reconcile));
        }
        all.push(value);
    }
    ctx.print(&json!({ "administrations": all }), &text);
    Ok(outcome)
}

pub async fn replay(
    ctx: &Context,
    kind: Option<&str>,
    id: Option<&str>,
) -> Result<Outcome, CliError> {
    let engines = ctx.engines(&MemorySource::default()).await?;
    let mut all = Vec::new();
    let mut text = String::new();
    for engine in &engines {
        let mut filter = ReplayFilter::failed(engine.admin().clone());
        if let Some(kind) = kind {
            filter = filter.kind(
                kind.parse()
                    .map_err(|_| CliError::Failed(format!("unknown kind `{kind}`")))?,
            );
        }
        if let Some(id) = id {
            filter = filter.crm_id(id);
        }
        let n = engine.replay(filter).await?;
        text.push_str(&format!(
            "{}: {n} items back in the queue\n",
            engine.admin()
        ));
        all.push(json!({"admin": engine.admin().as_str(), "replayed": n}));
    }
    ctx.print(&json!({ "administrations": all }), &text);
    Ok(Outcome::Clean)
}

pub async fn review_list(ctx: &Context) -> Result<Outcome, CliError> {
    let engines = ctx.engines(&MemorySource::default()).await?;
    let mut all = Vec::new();
    let mut text = String::new();
    let mut outcome = Outcome::Clean;
    for engine in &engines {
        let items = engine
            .store()
            .list_work(engine.admin(), Some(WorkState::NeedsReview), 1000, 0)
            .await
            .map_err(sync_core::EngineError::from)?;
        if !items.is_empty() {
            outcome = Outcome::Attention;
        }
        let mut list = Vec::new();
        for item in &items {
            let review = item.review.clone().unwrap_or_default();
            let candidates: Vec<Value> = review
                .get("candidates")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            text.push_str(&format!(
                "{} {} {}:\n",
                engine.admin(),
                item.kind,
                item.crm_id
            ));
            for c in &candidates {
                text.push_str(&format!(
                    "  candidate {} (relatiecode {}, score {}): {}\n",
                    c.get("snelstart_id").and_then(Value::as_str).unwrap_or("?"),
                    c.get("relatiecode")
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    c.get("score").map(ToString::to_string).unwrap_or_default(),
                    c.get("evidence")
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                ));
            }
            list.push(json!({
                "kind": item.kind,
                "crm_id": item.crm_id,
                // The stores check that a payload reads as a tree; should one still not,
                // the review is listed without its record rather than not at all.
                "record": item.payload.to_value().unwrap_or_default(),
                "reasons": review.get("reasons"),
                "candidates": candidates,
            }));
        }
        if items.is_empty() {
            text.push_str(&format!("{}: nothing waits for review\n", engine.admin()));
        }
        all.push(json!({"admin": engine.admin().as_str(), "review": list}));
    }
    ctx.print(&json!({ "administrations": all }), &text);
    Ok(outcome)
}

pub async fn review_resolve(
    ctx: &Context,
    crm_id: &str,
    link: Option<uuid::Uuid>,
    create_new: bool,
) -> Result<Outcome, CliError> {
    let engines = ctx.engines(&MemorySource::default()).await?;
    let [engine] = engines.as_slice() else {
        return Err(CliError::Config(
            "several administrations are configured: name one with --admin".to_owned(),
        ));
    };
    let resolution = match (link, create_new) {
        (Some(id), false) => ReviewResolution::LinkTo(id),
        (None, true) => ReviewResolution::CreateNew,
        _ => {
            return Err(CliError::Failed(
                "give exactly one of --link UUID or --create-new".to_owned(),
            ));
        }
    };
    engine.resolve_review(crm_id, resolution.clone()).await?;
    ctx.print(
        &json!({"admin": engine.admin().as_str(), "crm_id": crm_id, "resolved": format!("{resolution:?}")}),
        &format!(
            "{crm_id}: decision recorded ({resolution:?}); `snelsync serve` or the next `sync` applies it\n"
        ),
    );
    Ok(Outcome::Clean)
}

pub async fn reconcile(ctx: &Context, from: &Path) -> Result<Outcome, CliError> {
    let export = read_export_file(from)?;
    let engines = ctx.engines(&MemorySource::default()).await?;
    let reports = reconcile_engines(&engines.iter().collect::<Vec<_>>(), &export).await?;
    let mut all = Vec::new();
    let mut text = String::new();
    let mut outcome = Outcome::Clean;
    for report in &reports {
        if !report.is_clean() {
            outcome = Outcome::Attention;
        }
        text.push_str(&format!("{report}\n"));
        all.push(serde_json::to_value(report).unwrap_or_default());
    }
    ctx.print(&json!({ "administrations": all }), &text);
    Ok(outcome)
}

/// Reconciles each administration against the CRM export and records the summary the status
/// page and the digest show (used by `reconcile` and by the monthly job of `serve`).
pub(crate) async fn reconcile_engines(
    engines: &[&Engine],
    export: &crm_model::read::Export,
) -> Result<Vec<ReconcileReport>, CliError> {
    let inventory = CrmInventory::from(&CrmDataset::from_export(export));
    let mut reports = Vec::with_capacity(engines.len());
    for engine in engines {
        let report = engine
            .reconcile(&inventory, &ReconcileOptions::default())
            .await?;
        snelsync_http::record_reconcile(engine, &report).await?;
        reports.push(report);
    }
    Ok(reports)
}

pub async fn backup_export(ctx: &Context, out: Option<&Path>) -> Result<Outcome, CliError> {
    let engines = ctx.engines(&MemorySource::default()).await?;
    let [engine] = engines.as_slice() else {
        return Err(CliError::Config(
            "several administrations are configured: name one with --admin".to_owned(),
        ));
    };
    let backup = engine
        .export_backup()
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let text = backup.to_json_string();
    match out {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
            ctx.print(
                &json!({"admin": engine.admin().as_str(), "file": path, "bytes": text.len()}),
                &format!("{}: state written to {}\n", engine.admin(), path.display()),
            );
        }
        None => println!("{text}"),
    }
    Ok(Outcome::Clean)
}

pub async fn backup_import(ctx: &Context, file: &Path) -> Result<Outcome, CliError> {
    let engines = ctx.engines(&MemorySource::default()).await?;
    let [engine] = engines.as_slice() else {
        return Err(CliError::Config(
            "several administrations are configured: name one with --admin".to_owned(),
        ));
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::Failed(format!("{}: {e}", file.display())))?;
    let backup = EngineBackup::from_json_str(&text)
        .map_err(|e| CliError::Failed(format!("{}: {e}", file.display())))?;
    let summary = engine
        .import_backup(&backup)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    ctx.print(
        &json!({"admin": engine.admin().as_str(), "imported": summary}),
        &format!("{}: imported {summary:?}\n", engine.admin()),
    );
    Ok(Outcome::Clean)
}

/// The weekly status digest as Markdown: per administration the queue, failures with their
/// fields, reviews, budget, last read-back and reconcile.
pub async fn digest_text(engines: &[&Engine]) -> Result<(String, Outcome), CliError> {
    let mut out = format!(
        "# snelsync weekly digest\n\n{}\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    let mut outcome = Outcome::Clean;
    for engine in engines {
        let r = engine.status().await?;
        let q = &r.queue;
        if !r.failures.is_empty() || !r.review.is_empty() {
            outcome = Outcome::Attention;
        }
        out.push_str(&format!(
            "\n## {}\n\n- queue: {} pending, {} done, {} failed, {} waiting for review\n- budget: {} calls in the last hour\n",
            r.admin, q.pending, q.done, q.failed, q.needs_review, r.budget.last_hour
        ));
        match &r.last_read_back {
            Some(rb) => out.push_str(&format!(
                "- last read-back: {} ({} invoices, {} payments)\n",
                rb.at, rb.invoices_seen, rb.payments_found
            )),
            None => out.push_str("- last read-back: never\n"),
        }
        match snelsync_http::last_reconcile(engine).await? {
            Some(rc) if rc.clean => out.push_str(&format!("- last reconcile: {} (clean)\n", rc.at)),
            Some(rc) => out.push_str(&format!(
                "- last reconcile: {} ({} differences)\n",
                rc.at, rc.difference_count
            )),
            None => out.push_str("- last reconcile: never\n"),
        }
        if !r.failures.is_empty() {
            out.push_str(
                "\n### Failures\n\n| kind | CRM record | field | reason |\n|---|---|---|---|\n",
            );
            for f in &r.failures {
                let reason = f.error.as_ref().map(|e| e.message.as_str()).unwrap_or("");
                out.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    f.kind,
                    f.crm_id,
                    f.fields().join(", "),
                    reason.replace('|', "/")
                ));
            }
        }
        if !r.review.is_empty() {
            out.push_str("\n### Waiting for review\n\n");
            for rv in &r.review {
                out.push_str(&format!("- {} {} since {}\n", rv.kind, rv.crm_id, rv.since));
            }
        }
    }
    Ok((out, outcome))
}

pub async fn digest(ctx: &Context, out: Option<&Path>) -> Result<Outcome, CliError> {
    let engines = ctx.engines(&MemorySource::default()).await?;
    let (text, outcome) = digest_text(&engines.iter().collect::<Vec<_>>()).await?;
    match out {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
            ctx.print(
                &json!({"file": path, "attention": outcome == Outcome::Attention}),
                &format!("digest written to {}\n", path.display()),
            );
        }
        None => ctx.print(&json!({"markdown": text}), &text),
    }
    Ok(outcome)
}
