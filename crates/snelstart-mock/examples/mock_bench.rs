//! Throughput of the simulator on loopback with limits off: simple GETs and relation creates.
//!
//! ```text
//! cargo run --release -p snelstart-mock --example mock_bench -- [--seconds 4] [--concurrency 32]
//! ```
//! Client and server share the machine, so the figures are a lower bound for the server alone.

use clap::Parser;
use serde_json::{Value, json};
use snelstart_mock::{MockConfig, MockServer};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
struct Args {
    /// Seconds per phase (two phases: GET and create).
    #[arg(long, default_value_t = 4)]
    seconds: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Relations to preload (the GET phase reads one of them by id).
    #[arg(long, default_value_t = 1000)]
    seed_relations: usize,
}

struct Target {
    http: reqwest::Client,
    base: String,
    sub: String,
    token: String,
}

impl Target {
    fn req(&self, m: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(m, format!("{}{path}", self.base))
            .header("Ocp-Apim-Subscription-Key", &self.sub)
            .bearer_auth(&self.token)
    }
}

/// Run `work` from `concurrency` tasks for `secs`; returns (ok, failed) counts.
async fn phase<F, Fut>(
    t: Arc<Target>,
    concurrency: usize,
    secs: u64,
    work: F,
) -> (u64, u64, Duration)
where
    F: Fn(Arc<Target>, u64) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (t, ok, failed) = (t.clone(), ok.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                if work(t.clone(), (w as u64) << 32 | i).await {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    (
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        start.elapsed(),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let server =
        MockServer::start(MockConfig::new().with_seed_relations(args.seed_relations)).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let token: Value = http
        .post(server.auth_url())
        .form(&[
            ("grant_type", "clientkey"),
            ("clientkey", server.client_key()),
        ])
        .send()
        .await?
        .json()
        .await?;
    let t = Arc::new(Target {
        http,
        base: server.base_url(),
        sub: server.subscription_key().to_owned(),
        token: token["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    });
    let page: Value = t
        .req(reqwest::Method::GET, "/relaties?$top=1")
        .send()
        .await?
        .json()
        .await?;
    let id = page[0]["id"].as_str().unwrap_or_default().to_owned();
    let path: &'static str = Box::leak(format!("/relaties/{id}").into_boxed_str());

    println!(
        "snelstart-mock throughput, {} s per phase, {} in flight, {} seeded relations",
        args.seconds, args.concurrency, args.seed_relations
    );
    let (ok, failed, took) = phase(t.clone(), args.concurrency, args.seconds, move |t, _| async move {
        matches!(t.req(reqwest::Method::GET, path).send().await, Ok(r) if r.status().is_success())
    })
    .await;
    println!(
        "GET  /v2/relaties/{{id}}: {:>8.0} req/s ({ok} ok, {failed} failed)",
        ok as f64 / took.as_secs_f64()
    );

    let (ok, failed, took) = phase(t.clone(), args.concurrency, args.seconds, |t, n| async move {
        let body = json!({"relatiesoort": ["Klant"], "naam": format!("Bench {n}"), "email": "bench@example.nl"});
        matches!(t.req(reqwest::Method::POST, "/relaties").json(&body).send().await, Ok(r) if r.status().as_u16() == 201)
    })
    .await;
    println!(
        "POST /v2/relaties:      {:>8.0} req/s ({ok} ok, {failed} failed)",
        ok as f64 / took.as_secs_f64()
    );
    server.shutdown().await;
    Ok(())
}
