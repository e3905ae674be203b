//! The main job: sync a sample CRM into SnelStart and show what happened.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! By default it starts the bundled SnelStart simulator (`snelstart-mock`) in-process, with its
//! data kept in `target/snelsync-quickstart/snelstart-mock.json`, so a second run talks to the
//! same "SnelStart" as the first. To use another server (the real SnelStart, or a
//! `snelstart-mock` binary) set all four of:
//!
//! | variable | example |
//! |---|---|
//! | `SNELSTART_BASE_URL` | `http://127.0.0.1:8080/v2` (the API base) |
//! | `SNELSTART_AUTH_URL` | `http://127.0.0.1:8080/b2b/token` (the token endpoint itself) |
//! | `SNELSTART_SUBSCRIPTION_KEY` | the partner subscription key |
//! | `SNELSTART_KOPPELSLEUTEL` | the administration's koppelsleutel |
//!
//! **Against a real administration it writes nothing.** A server named by the environment is
//! taken for a `snelstart-mock` only when it answers `GET /_mock/stats` with the subscription
//! key; anything else is treated as a real SnelStart administration, and the quickstart only
//! runs `check_config()` (the chart of accounts against the mapping) and `plan()` (a dry run
//! that prints what it would create, link or update). Set `SNELSYNC_WRITE_SAMPLE_DATA=yes` to
//! book the 210 sample relations and 370 sample invoices into it anyway.
//!
//! The engine keeps its state (links, queue, cursors, audit log) in the SQLite file named by
//! `SNELSYNC_STATE` (default `target/snelsync-quickstart/state.sqlite`). Delete the folder to
//! start over.
//!
//! The sample (`examples/data/sample_crm.json`, made by `examples/data/generate_sample.py`) has
//! 210 relations with several contacts each, 30 projects, and records of every kind the engine
//! must handle: relations SnelStart already holds (linked, not duplicated), namesakes (held for
//! review), and records SnelStart would refuse (failed with the field named). Every run submits
//! the whole export again, as a CRM that can only export files would: the second run finds
//! nothing changed and makes no write calls.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use snelstart_mock::{MockConfig, MockServer};
use snelstart_sync::client::budget::BudgetConfig;
use snelstart_sync::client::models::{Relatie, RelatieWrite};
use snelstart_sync::client::odata::Query;
use snelstart_sync::client::{Client, ops};
use snelstart_sync::engine::store::{AdminKey, QueueStore};
use snelstart_sync::engine::{
    CrmDataset, CrmInventory, EngineOptions, MemorySink, MemorySource, ReconcileOptions, SinkEvent,
    SyncEngine,
};
use snelstart_sync::mapping::config::{BothKindsPolicy, MappingConfig, RelatiecodePolicy};
use snelstart_sync::sqlite::{SqliteOptions, SqliteStore, Synchronous};

/// Where SnelStart is, and whether it is our own simulator.
struct Target {
    base_url: String,
    auth_url: String,
    subscription_key: String,
    koppelsleutel: String,
    mock: Option<MockServer>,
    /// Whether the sample may be written: a simulator (in-process or a `snelstart-mock`
    /// binary), or `SNELSYNC_WRITE_SAMPLE_DATA=yes`.
    may_write: bool,
}

/// Whether the server at `base_url` is a `snelstart-mock`: only the simulator answers
/// `GET /_mock/stats` (with the subscription key) with its call statistics. The probe goes to
/// the configured host only (the client refuses redirects and plain http off loopback); any
/// doubt counts as "a real administration".
async fn is_simulator(
    base_url: &str,
    auth_url: &str,
    subscription_key: &str,
    koppelsleutel: &str,
) -> bool {
    // The server root: scheme and authority of the API base, without its path (`/v2`).
    let Some(scheme_end) = base_url.find("://").map(|i| i + 3) else {
        return false;
    };
    let authority_end = base_url[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(base_url.len(), |i| scheme_end + i);
    let root = format!("{}/", &base_url[..authority_end]);
    let Ok(probe) = Client::builder()
        .base_url(root)
        .auth_url(auth_url)
        .subscription_key(subscription_key)
        .koppelsleutel(koppelsleutel)
        .retry_policy(snelstart_sync::client::retry::RetryPolicy::none())
        .timeout(Duration::from_secs(10))
        .build()
    else {
        return false;
    };
    let stats = probe
        .execute(snelstart_sync::client::Request::raw(
            snelstart_sync::client::Method::Get,
            "_mock/stats",
        ))
        .await;
    matches!(stats, Ok(v) if v.get("entries").is_some_and(serde_json::Value::is_array))
}

/// `SNELSYNC_WRITE_SAMPLE_DATA=yes`: write the sample into whatever the target is.
fn write_sample_data_requested() -> bool {
    std::env::var("SNELSYNC_WRITE_SAMPLE_DATA").is_ok_and(|v| v.trim().eq_ignore_ascii_case("yes"))
}

async fn target(work_dir: &Path) -> Result<Target, Box<dyn Error>> {
    let vars = [
        "SNELSTART_BASE_URL",
        "SNELSTART_AUTH_URL",
        "SNELSTART_SUBSCRIPTION_KEY",
        "SNELSTART_KOPPELSLEUTEL",
    ];
    let set: Vec<Option<String>> = vars.iter().map(|v| std::env::var(v).ok()).collect();
    if let [
        Some(base_url),
        Some(auth_url),
        Some(subscription_key),
        Some(koppelsleutel),
    ] = set.as_slice()
    {
        let simulator = is_simulator(base_url, auth_url, subscription_key, koppelsleutel).await;
        let may_write = simulator || write_sample_data_requested();
        println!(
            "SnelStart: {base_url} (from the environment; {})",
            match (simulator, may_write) {
                (true, _) => "a snelstart-mock: the full sample runs",
                (false, true) =>
                    "NOT a simulator; SNELSYNC_WRITE_SAMPLE_DATA=yes: the sample WILL be written",
                (false, false) => "not a simulator: check and dry run only, nothing is written",
            }
        );
        return Ok(Target {
            base_url: base_url.clone(),
            auth_url: auth_url.clone(),
            subscription_key: subscription_key.clone(),
            koppelsleutel: koppelsleutel.clone(),
            mock: None,
            may_write,
        });
    }
    if set.iter().any(Option::is_some) {
        return Err(format!("set all of {} or none", vars.join(", ")).into());
    }
    let mock =
        MockServer::start(MockConfig::new().with_state_file(work_dir.join("snelstart-mock.json")))
            .await?;
    println!(
        "SnelStart: the bundled simulator at {} (state in {})",
        mock.base_url(),
        work_dir.join("snelstart-mock.json").display()
    );
    Ok(Target {
        base_url: mock.base_url(),
        auth_url: mock.auth_url(),
        subscription_key: mock.subscription_key().to_owned(),
        koppelsleutel: mock.client_key().to_owned(),
        mock: Some(mock),
        may_write: true,
    })
}

/// Against a real administration: check the mapping against its chart of accounts and show
/// what a sync would do, without one write call.
async fn dry_run(
    engine: &SyncEngine<SqliteStore, MemorySource, MemorySink>,
) -> Result<(), Box<dyn Error>> {
    let chart = engine.check_config().await?;
    if chart.is_ok() {
        println!("\ncheck_config: the mapping fits this administration's chart of accounts");
    } else {
        println!("\ncheck_config: {} problems", chart.problems.len());
        for problem in &chart.problems {
            println!("  {problem}");
        }
    }
    let plan = engine.plan().await?;
    println!("\nplan (dry run): {} records", plan.len());
    for entry in plan.iter().take(20) {
        println!("  {:?} {}: {:?}", entry.kind, entry.crm_id, entry.action);
    }
    if plan.len() > 20 {
        println!("  … and {} more", plan.len() - 20);
    }
    println!(
        "\nNothing was written: this is not a snelstart-mock. Set SNELSYNC_WRITE_SAMPLE_DATA=yes \
         to book the sample data into this administration."
    );
    Ok(())
}

fn data_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data")
        .join(name)
}

/// The relations a long-running SnelStart administration already holds (typed in by hand
/// before the coupling existed). Created once: a relation whose relatiecode exists is left
/// alone, so later runs write nothing.
async fn seed_existing(client: &Client) -> Result<usize, Box<dyn Error>> {
    let existing: Vec<RelatieWrite> =
        serde_json::from_slice(&std::fs::read(data_file("snelstart_existing.json"))?)?;
    let present: Vec<Relatie> = client.list_all(ops::relaties::list(Query::new())).await?;
    let mut created = 0;
    for relatie in existing {
        if present
            .iter()
            .any(|r| r.relatiecode.is_some() && r.relatiecode == relatie.relatiecode)
        {
            continue;
        }
        client.execute(ops::relaties::create(&relatie)?).await?;
        created += 1;
    }
    Ok(created)
}

/// Customers pay some invoices: in full, in part, or not. Only invoices nobody paid yet are
/// touched, so the second run registers nothing.
async fn register_some_payments(
    client: &Client,
    mock: &MockServer,
) -> Result<usize, Box<dyn Error>> {
    use rust_decimal::Decimal;
    let facturen = client
        .list_all(ops::verkoopfacturen::list(Query::new()))
        .await?;
    let mut paid = 0;
    for (n, factuur) in facturen
        .iter()
        .enumerate()
        .filter(|(n, _)| n % 9 == 0)
        .take(12)
    {
        let (Some(total), Some(open)) = (factuur.factuur_bedrag, factuur.openstaand_saldo) else {
            continue;
        };
        if open != total || total <= Decimal::ZERO {
            continue;
        }
        let amount = if n % 2 == 0 {
            total
        } else {
            (total / Decimal::TWO).round_dp(2)
        };
        let date = factuur
            .factuur_datum
            .map(|d| d.date() + chrono::Duration::days(10))
            .unwrap_or_else(|| chrono::Local::now().date_naive());
        mock.register_payment(None, factuur.factuurnummer.as_str(), amount, date)?;
        paid += 1;
    }
    Ok(paid)
}

fn mapping_config() -> MappingConfig {
    let mut config = MappingConfig::default_for_mock();
    // The CRM's customer numbers become relatiecodes; a non-numeric number is an error to fix.
    config.relatiecode = RelatiecodePolicy::FromCrmNumber {
        fallback_to_snelstart: false,
    };
    // A CRM relation that is customer and supplier becomes two SnelStart relations (SnelStart
    // refuses both kinds on one); the supplier's relatiecode is the CRM number + 100000.
    config.both_kinds = BothKindsPolicy::TwoRelations {
        supplier_relatiecode_offset: 100_000,
    };
    config
}

/// The budget in use, as the quickstart prints it.
fn budget_line(b: &BudgetConfig) -> String {
    let limit = |n: u32| {
        if n == 0 {
            "unlimited".to_owned()
        } else {
            n.to_string()
        }
    };
    format!(
        "call budget: {} a minute, {} an hour, {} at once (SNELSTART_BUDGET)",
        limit(b.per_minute),
        limit(b.per_hour),
        limit(b.concurrent)
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let work_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/snelsync-quickstart");
    std::fs::create_dir_all(&work_dir)?;
    let state_path = std::env::var_os("SNELSYNC_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| work_dir.join("state.sqlite"));
    let target = target(&work_dir).await?;
    // SNELSTART_BUDGET picks the call budget: `test`, `production`, `unlimited` or limits such
    // as `per_minute=100,per_hour=1000,concurrent=5`. Without it: no limits against the
    // bundled simulator, the test key's (100 a minute, 1,000 an hour) against anything else.
    let budget = match std::env::var("SNELSTART_BUDGET") {
        Ok(text) => text
            .parse::<BudgetConfig>()
            .map_err(|e| format!("SNELSTART_BUDGET: {e}"))?,
        Err(_) if target.mock.is_some() => BudgetConfig::unlimited(),
        Err(_) => BudgetConfig::test_key(),
    };
    println!("{}", budget_line(&budget));
    let client = Client::builder()
        .base_url(&target.base_url)
        .auth_url(&target.auth_url)
        .subscription_key(&target.subscription_key)
        .koppelsleutel(&target.koppelsleutel)
        .rate_budget(budget)
        .build()?;

    let seeded = if target.mock.is_some() {
        seed_existing(&client).await?
    } else {
        0
    };
    if seeded > 0 {
        println!("SnelStart already holds {seeded} relations typed in by hand (seeded once)");
    }

    println!("state: {}", state_path.display());
    // NORMAL durability survives a killed process (what the queue needs) at a fraction of
    // FULL's flushes; FULL also survives power loss.
    let store = SqliteStore::open_with(
        &state_path,
        SqliteOptions::default().synchronous(Synchronous::Normal),
    )?;
    // Read record by record: a bad value refuses its record (named with its field), never the
    // whole file.
    let export = snelstart_sync::crm::read::read_export(&std::fs::read_to_string(data_file(
        "sample_crm.json",
    ))?)?;
    let dataset = CrmDataset::from_export(&export);
    let admin = AdminKey::new("quickstart");
    let sink = MemorySink::new();
    let engine = SyncEngine::with_options(
        client.clone(),
        store.clone(),
        MemorySource::default(),
        sink.clone(),
        admin.clone(),
        mapping_config(),
        EngineOptions::default(),
        snelstart_sync::engine::Clock::system(),
    );
    engine.record_config().await?;
    let calls_before = client.budget_usage().total;
    let intake = engine.submit_export(export).await?;
    println!(
        "CRM export: {} relations, {} projects, {} sales and {} purchase invoices ({} changes queued, {} refused at intake)",
        dataset.relations.len(),
        dataset.projects.len(),
        dataset.sales_invoices.len(),
        dataset.purchase_invoices.len(),
        intake.queued,
        intake.refused.len(),
    );
    for refused in &intake.refused {
        println!(
            "  refused {} {}: {}",
            refused.kind.as_str(),
            refused.crm_id,
            refused.message()
        );
    }

    // The real-administration guard: nothing is written unless the target is a simulator or
    // SNELSYNC_WRITE_SAMPLE_DATA=yes. Reads only from here on.
    if !target.may_write {
        return dry_run(&engine).await;
    }

    // A progress bar over the queue while the engine works.
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template(
        "{spinner} [{bar:40}] {pos}/{len} work items {msg}",
    )?);
    let progress = {
        let store = store.clone();
        let admin = admin.clone();
        let bar = bar.clone();
        let engine = engine.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(c) = store.counts(&admin).await {
                    bar.set_length(c.total());
                    bar.set_position(c.done + c.failed + c.needs_review);
                }
                // What the engine waits for (the call budget, SnelStart, a retry) and until when.
                bar.set_message(engine.waiting().map(|w| w.to_string()).unwrap_or_default());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let report = engine.run_until_idle(Duration::from_secs(300)).await?;
    progress.abort();
    bar.finish_and_clear();

    println!("\n{report}");
    println!(
        "SnelStart calls this run: {} (write calls: see the audit log in the state file)",
        client.budget_usage().total - calls_before
    );
    let events = sink.events();
    println!("{} events delivered to the CRM", events.len());
    // What the mapping's policies wrote that the CRM did not say literally, per record.
    let notices: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            SinkEvent::Notice {
                crm_id,
                path,
                policy,
                message,
                ..
            } => Some(format!("  {crm_id} {path}: {message} ({policy})")),
            _ => None,
        })
        .collect();
    println!("{} notices (a policy changed a field):", notices.len());
    for line in notices.iter().take(5) {
        println!("{line}");
    }
    println!("\n{}", engine.status().await?);

    // Money flows back: a few customers pay (in the simulator, once), the read-back turns open
    // items into payment-status events for the CRM, and reconcile checks both sides agree.
    if let Some(mock) = &target.mock {
        let paid = register_some_payments(&client, mock).await?;
        if paid > 0 {
            println!("\nregistered {paid} payments in the simulator");
        }
    }
    let read_back = engine.read_back().await?;
    println!("\n{read_back}");
    // Every payment found in this run, with the date it was booked and the booking it came by
    // (read from SnelStart's bank, cash and memoriaal bookings, so also against a simulator
    // binary or a real administration).
    println!("{} payments found:", read_back.payments.delivered.len());
    for found in &read_back.payments.delivered {
        let p = &found.payment;
        println!(
            "  {}{}: {} on {} by {} booking {}",
            if found.reversed { "REVERSED " } else { "" },
            found.crm_id,
            p.amount,
            p.date,
            p.booking_kind.as_str(),
            p.booking_id
        );
    }
    for event in sink
        .events()
        .iter()
        .filter(|e| matches!(e, SinkEvent::PaymentStatusChanged { .. }))
        .take(8)
    {
        if let SinkEvent::PaymentStatusChanged { crm_id, status, .. } = event {
            println!(
                "  {crm_id}: {:?}, {} of {} open",
                status.state, status.outstanding, status.total
            );
        }
    }
    let reconcile = engine
        .reconcile(&CrmInventory::from(&dataset), &ReconcileOptions::default())
        .await?;
    println!("\n{reconcile}");

    if let Some(mock) = target.mock {
        let stats = mock.stats();
        println!(
            "simulator: {} calls, {} of them writes ({} successful)",
            stats.total(),
            stats.writes(),
            stats.successful_writes()
        );
        mock.shutdown().await;
    }
    Ok(())
}
