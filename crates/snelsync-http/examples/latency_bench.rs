//! Latency from the intake's answer to the SnelStart write, through the running service.
//!
//! ```sh
//! cargo run --release -p snelsync-http --example latency_bench
//! ```
//!
//! Starts snelstart-mock with 50 ms latency on every call, the router and processing loop on
//! 127.0.0.1 over SQLite, and posts signed changes (one new relation each) at a steady rate:
//!
//! 1. 20 per second for 15 s with an unlimited budget (the engine is the limit; target p99 < 1 s);
//! 2. 200 per second for 5 s with SnelStart's production budget, where the budget and not the
//!    engine should be the limit: it prints the calls per change and what bounds the throughput.
//!
//! The write time is when the engine tells the CRM sink the relation is linked (after SnelStart
//! answered the create). Figures are printed, never asserted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use snelstart_client::Client;
use snelstart_client::budget::BudgetConfig;
use snelstart_mock::{MockConfig, MockServer};
use snelsync_http::{CrmEndpoint, HttpConfig, ProcessingOptions, Secret, Service, router, sign};
use sync_core::store::AdminKey;
use sync_core::{CrmError, CrmSink, MemorySource, SinkEvent, SyncEngine};
use sync_store_sqlite::SqliteStore;

const SECRET: &str = "bench-secret";

/// Records when each CRM record was linked (its SnelStart write finished).
#[derive(Clone, Default)]
struct Timing {
    linked: Arc<Mutex<HashMap<String, Instant>>>,
}

impl CrmSink for Timing {
    async fn deliver(&self, event: SinkEvent) -> Result<(), CrmError> {
        if let SinkEvent::Linked { crm_id, .. } = event {
            self.linked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(crm_id)
                .or_insert_with(Instant::now);
        }
        Ok(())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn run(
    label: &str,
    rate: u32,
    seconds: u32,
    budget: BudgetConfig,
) -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockServer::start(MockConfig::new().with_latency(Duration::from_millis(50))).await?;
    let client = Client::builder()
        .base_url(mock.base_url())
        .auth_url(mock.auth_url())
        .subscription_key(mock.subscription_key())
        .koppelsleutel(mock.client_key())
        .rate_budget(budget)
        .build()?;
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path().join("state.sqlite"))?;
    let timing = Timing::default();
    let admin = AdminKey::new("bench");
    let engine = SyncEngine::builder(client.clone(), admin.clone())
        .store(store)
        .source(MemorySource::default())
        .sink(timing.clone())
        .config(mapping::config::MappingConfig::default_for_mock())
        .build();
    let config = HttpConfig::builder()
        .crm(CrmEndpoint::new("crm", Secret::new(SECRET), admin))
        .build();
    let service = Service::open(
        [engine],
        config,
        ProcessingOptions::default().with_read_back_every(None),
    )
    .await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let processing = tokio::spawn({
        let service = service.clone();
        async move { service.run_processing(stopped).await }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/crm/crm/changes", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, router(service)).await });

    let http = reqwest::Client::new();
    let total = rate * seconds;
    let mut answered: HashMap<String, Instant> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    let started = Instant::now();
    let secret = Secret::new(SECRET);
    let mut posts = tokio::task::JoinSet::new();
    for i in 0..total {
        tick.tick().await;
        let id = format!("bench-{i}");
        let body = json!({"relations": [{
            "id": id, "kind": "customer", "legal_name": format!("Bench Klant {i} B.V."),
            "visit_address": {"street": "Benchweg", "house_number": (i + 1).to_string(),
                              "postcode": "1234 AB", "city": "Utrecht", "country": "NL"},
            "email": format!("info@bench{i}.nl")
        }]})
        .to_string();
        let ts = chrono::Utc::now().timestamp();
        let sig = sign(&secret, ts, &id, body.as_bytes());
        let req = http
            .post(&url)
            .header("x-snelsync-timestamp", ts.to_string())
            .header("x-snelsync-event-id", id.clone())
            .header("x-snelsync-signature", sig)
            .body(body);
        posts.spawn(async move {
            let ok = req
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            (id, ok, Instant::now())
        });
    }
    let mut refused = 0;
    while let Some(done) = posts.join_next().await {
        let (id, ok, at) = done?;
        if ok {
            answered.insert(id, at);
        } else {
            refused += 1;
        }
    }
    let posting = started.elapsed();
    // Wait (bounded) for the writes.
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let n = timing.linked.lock().map(|m| m.len()).unwrap_or(0);
        if n >= answered.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let linked = timing.linked.lock().map(|m| m.clone()).unwrap_or_default();
    let mut latencies: Vec<Duration> = answered
        .iter()
        .filter_map(|(id, at)| linked.get(id).map(|w| w.saturating_duration_since(*at)))
        .collect();
    latencies.sort();
    let calls = client.budget_usage().total;
    let written = latencies.len();
    let wall = started.elapsed();
    println!("== {label}: {rate}/s for {seconds} s, SnelStart latency 50 ms ==");
    println!(
        "posted {total} in {:.1} s ({refused} refused); written {written} of {} within {:.1} s",
        posting.as_secs_f64(),
        answered.len(),
        wall.as_secs_f64()
    );
    println!(
        "intake answer -> SnelStart write: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.90).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
    let per_change = calls as f64 / written.max(1) as f64;
    let throughput = written as f64 / wall.as_secs_f64();
    let budget = client.budget_usage();
    println!(
        "SnelStart calls: {calls} ({per_change:.1} per change); writes per second achieved {throughput:.1}; \
         budget waits {:.1} s in total",
        budget.total_wait.as_secs_f64()
    );
    let limit = if budget.total_wait > Duration::from_secs(1) {
        "the rate budget (callers waited for room)"
    } else if throughput + 0.5 < f64::from(rate) {
        "the engine (no budget waits, but it fell behind the offered rate)"
    } else {
        "neither: it kept up with the offered rate"
    };
    println!("limit: {limit}\n");
    let _ = stop.send(true);
    let _ = processing.await;
    server.abort();
    mock.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    run("steady", 20, 15, BudgetConfig::unlimited()).await?;
    run(
        "burst with the production budget",
        200,
        5,
        BudgetConfig::production(),
    )
    .await?;
    Ok(())
}
