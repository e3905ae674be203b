//! Benchmark: the read-back of payments. Books N sales invoices (default 10,000) in the
//! embedded simulator, links them as if the engine had booked them, runs a read-back, then
//! pays P of them (default 3,000, by bank bookings on several dates, every tenth one in two
//! parts) and measures the next read-back: the SnelStart calls it made (and per 1,000 invoices
//! held, per 500 payments), the events delivered and the wall time. A third read-back over
//! nothing new shows the floor.
//!
//! ```text
//! cargo run --release --example readback_bench -- --invoices 10000 --payments 3000
//! ```

use std::time::Instant;

use clap::Parser;
use futures::{StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use snelstart_mock::{MockConfig, MockServer};
use snelstart_sync::client::budget::BudgetConfig;
use snelstart_sync::client::models::{
    BtwSoort, RelatieWrite, Relatiesoort, VerkoopBtwSoort, Verkoopboeking, VerkoopboekingBtwRegel,
    VerkoopboekingRegel,
};
use snelstart_sync::client::odata::Query;
use snelstart_sync::client::{Client, ops};
use snelstart_sync::engine::store::{AdminKey, EntityKind, IdLink, LinkStore, MemoryStore};
use snelstart_sync::engine::{Clock, EngineOptions, MemorySink, MemorySource, SyncEngine};
use snelstart_sync::mapping::config::MappingConfig;

/// Reads back payments after many invoices and many payments; prints calls and time.
#[derive(Debug, Parser)]
struct Args {
    /// Invoices held in the administration.
    #[arg(long, default_value_t = 10_000)]
    invoices: u32,
    /// Invoices paid between the two measured read-backs.
    #[arg(long, default_value_t = 3_000)]
    payments: u32,
    /// Customers the invoices are spread over.
    #[arg(long, default_value_t = 200)]
    customers: u32,
    /// The read-back's overlap window in milliseconds. The default of a deployment is 10
    /// minutes; here everything happens within seconds, so a 10-minute window would re-read
    /// every invoice each run and hide what a run costs.
    #[arg(long, default_value_t = 1_000)]
    overlap_ms: u64,
}

fn start() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2025, 3, 1)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let server = MockServer::start(MockConfig::new().with_start_time(start())).await?;
    let client = Client::builder()
        .base_url(server.base_url())
        .auth_url(server.auth_url())
        .subscription_key(server.subscription_key())
        .koppelsleutel(server.client_key())
        .rate_budget(BudgetConfig::unlimited())
        .build()?;
    let store = MemoryStore::new();
    let admin = AdminKey::new("bench");
    let now = chrono::Utc::now();

    let revenue = client
        .list(ops::grootboeken::list(Query::new()))
        .try_collect::<Vec<_>>()
        .await?
        .into_iter()
        .find(|g| g.nummer == Some(8000))
        .and_then(|g| g.id)
        .ok_or("ledger 8000 is seeded")?;
    let mut klanten = Vec::new();
    for i in 0..args.customers {
        let mut w = RelatieWrite::default();
        w.relatiesoort = Some(vec![Relatiesoort::Klant]);
        w.relatiecode = Some(20_000 + i as i32);
        w.naam = Some(format!("Klant {i}"));
        klanten.push(client.execute(ops::relaties::create(&w)?).await?.id);
    }

    let started = Instant::now();
    let booked: Vec<(u32, uuid::Uuid)> = futures::stream::iter(0..args.invoices)
        .map(|i| {
            let client = client.clone();
            let klant = klanten[(i % args.customers) as usize];
            async move {
                let date = chrono::NaiveDate::from_ymd_opt(2025, 1 + i % 2, 1 + i % 28)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .unwrap_or_default();
                let mut b = Verkoopboeking::new(format!("R{i:06}"), klant, date);
                b.betalingstermijn = Some(30);
                b.boekingsregels = Some(vec![VerkoopboekingRegel::new(
                    "Diensten",
                    revenue,
                    Decimal::new(10_000, 2),
                    BtwSoort::Hoog,
                )]);
                b.btw = Some(vec![VerkoopboekingBtwRegel::new(
                    VerkoopBtwSoort::VerkopenHoog,
                    Decimal::new(2_100, 2),
                )]);
                b.set_factuurbedrag_from_lines();
                let id = client
                    .execute(ops::verkoopboekingen::create(&b)?)
                    .await?
                    .id
                    .ok_or("a created booking has an id")?
                    .as_uuid();
                Ok::<_, Box<dyn std::error::Error>>((i, id))
            }
        })
        .buffer_unordered(16)
        .try_collect()
        .await?;
    for (i, id) in &booked {
        store
            .upsert_link(
                IdLink::new(
                    admin.clone(),
                    EntityKind::SalesInvoice,
                    format!("inv-{i}"),
                    *id,
                    now,
                )
                .with_natural_key(format!("R{i:06}")),
            )
            .await?;
    }
    println!(
        "booked and linked {} invoices in {:.1} s",
        booked.len(),
        started.elapsed().as_secs_f64()
    );

    let sink = MemorySink::new();
    let mut options = EngineOptions::default();
    options.readback_overlap = std::time::Duration::from_millis(args.overlap_ms);
    let engine = SyncEngine::with_options(
        client.clone(),
        store.clone(),
        MemorySource::default(),
        sink.clone(),
        admin,
        MappingConfig::default_for_mock(),
        options,
        Clock::starting_at(now),
    );
    let measure = |label: &'static str| {
        let engine = &engine;
        let server = &server;
        async move {
            let calls = server.stats().total();
            let started = Instant::now();
            let report = engine.read_back().await?;
            let elapsed = started.elapsed();
            let calls = server.stats().total() - calls;
            println!(
                "{label}: {calls} SnelStart calls ({:.2} per 1,000 invoices held), {} invoices read, {} bank/cash bookings read, {} payments + {} reversals + {} date events, {} events in all, {:.0} ms",
                calls as f64 * 1_000.0 / f64::from(args.invoices.max(1)),
                report.invoices_seen(),
                report.payments.bookings_read,
                report.payments.received_events,
                report.payments.reversed_events,
                report.payments.dates_events,
                report.events_delivered(),
                elapsed.as_secs_f64() * 1e3
            );
            Ok::<_, Box<dyn std::error::Error>>((report, calls))
        }
    };
    measure("first read-back (all invoices new, no payments)").await?;
    tokio::time::sleep(std::time::Duration::from_millis(args.overlap_ms + 100)).await;

    // Payments since the last read-back: bank bookings over ten days, every tenth invoice paid
    // in two parts.
    let mut made = 0u32;
    for (n, (i, id)) in booked.iter().take(args.payments as usize).enumerate() {
        let date =
            chrono::NaiveDate::from_ymd_opt(2025, 2, 10 + (n % 10) as u32).ok_or("a valid date")?;
        if i % 10 == 0 {
            server.register_payment(None, *id, Decimal::new(6_000, 2), date)?;
            server.register_payment(
                None,
                *id,
                Decimal::new(6_100, 2),
                date.succ_opt().unwrap_or(date),
            )?;
            made += 2;
        } else {
            server.register_payment(None, *id, Decimal::new(12_100, 2), date)?;
            made += 1;
        }
    }
    println!(
        "made {made} payments on {} invoices",
        args.payments.min(args.invoices)
    );
    let (report, calls) = measure("read-back after the payments").await?;
    tokio::time::sleep(std::time::Duration::from_millis(args.overlap_ms + 100)).await;
    println!(
        "  {:.2} SnelStart calls per 500 payments; {} one-by-one checks (none expected without reversals)",
        calls as f64 * 500.0 / f64::from(made.max(1)),
        report.payments.verified
    );
    measure("read-back with nothing new").await?;
    server.shutdown().await;
    Ok(())
}
