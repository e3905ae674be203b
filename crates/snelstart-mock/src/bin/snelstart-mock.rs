//! `snelstart-mock`: run the SnelStart B2B API v2 simulator until killed.
//!
//! ```text
//! snelstart-mock --addr 127.0.0.1:8080 --subscription-key SUB --client-key KEY \
//!     [--rate-limit-per-minute N] [--rate-limit-per-hour N] [--max-concurrent N] \
//!     [--fault-rate P --seed S] [--seed-relations N] [--config FILE]
//! ```
//! Flags override the values of the configuration file.

use clap::Parser;
use snelstart_mock::{MockConfig, MockServer};
use std::net::SocketAddr;
use std::path::PathBuf;

/// A faithful local SnelStart B2B API v2 simulator.
#[derive(Debug, Parser)]
#[command(name = "snelstart-mock", version, about)]
struct Args {
    /// Address to listen on (default 127.0.0.1:0, a free port).
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// Subscription key clients must send (Ocp-Apim-Subscription-Key).
    #[arg(long, env = "SNELSTART_MOCK_SUBSCRIPTION_KEY")]
    subscription_key: Option<String>,
    /// Koppelsleutel of the default administration.
    #[arg(long, env = "SNELSTART_MOCK_CLIENT_KEY")]
    client_key: Option<String>,
    /// Calls per administration per minute (0 = unlimited).
    #[arg(long)]
    rate_limit_per_minute: Option<u32>,
    /// Calls per administration per hour (0 = unlimited).
    #[arg(long)]
    rate_limit_per_hour: Option<u32>,
    /// Concurrent calls per administration (0 = unlimited).
    #[arg(long)]
    max_concurrent: Option<u32>,
    /// Probability (0..1) of a transient fault per API call.
    #[arg(long)]
    fault_rate: Option<f64>,
    /// Seed for the fault generator and the seed data.
    #[arg(long)]
    seed: Option<u64>,
    /// Preload this many realistic relations into the default administration.
    #[arg(long)]
    seed_relations: Option<usize>,
    /// TOML configuration file (see the crate documentation for its fields).
    #[arg(long)]
    config: Option<PathBuf>,
}

fn load(args: &Args) -> Result<MockConfig, Box<dyn std::error::Error>> {
    let mut cfg = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            MockConfig::from_toml(&text)?
        }
        None => MockConfig::new(),
    };
    if let Some(a) = args.addr {
        cfg = cfg.with_addr(a);
    }
    if let Some(k) = &args.subscription_key {
        cfg = cfg.with_subscription_key(k.clone());
    }
    if let Some(k) = &args.client_key {
        cfg = cfg.with_client_key(k.clone());
    }
    if let Some(n) = args.rate_limit_per_minute {
        cfg.rate_limits.per_minute = n;
    }
    if let Some(n) = args.rate_limit_per_hour {
        cfg.rate_limits.per_hour = n;
    }
    if let Some(n) = args.max_concurrent {
        cfg.rate_limits.concurrent = n;
    }
    if let Some(s) = args.seed {
        cfg.seed = s;
        cfg.faults.seed = s;
    }
    if let Some(p) = args.fault_rate {
        if !(0.0..=1.0).contains(&p) {
            return Err(format!("--fault-rate must be between 0 and 1, got {p}").into());
        }
        let seed = cfg.faults.seed;
        cfg = cfg.with_fault_rate(p, seed);
    }
    if let Some(n) = args.seed_relations {
        cfg = cfg.with_seed_relations(n);
    }
    Ok(cfg)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let cfg = match load(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("snelstart-mock: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let server = match MockServer::start(cfg).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("snelstart-mock: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("snelstart-mock API base URL: {}", server.base_url());
    println!("snelstart-mock token URL:    {}", server.auth_url());
    println!(
        "snelstart-mock inspection:   {}/_mock/stats",
        server.root_url()
    );
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handler available: serve forever.
        std::future::pending::<()>().await;
    }
    server.shutdown().await;
    std::process::ExitCode::SUCCESS
}
