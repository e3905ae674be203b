//! Benchmark: books N sales invoices (default 10,000), each with a small PDF, through the
//! engine against the embedded SnelStart simulator (rate limits off), and prints the API calls
//! per invoice and the throughput. A second run over the same invoices must make no writes.
//!
//! ```text
//! cargo run --release --example booking_bench -- --invoices 10000
//! ```

use std::time::{Duration, Instant};

use clap::Parser;
use snelstart_mock::{MockConfig, MockServer};
use snelstart_sync::client::Client;
use snelstart_sync::client::budget::BudgetConfig;
use snelstart_sync::crm::{
    Address, Attachment, InvoiceKind, InvoiceLine, Money, Relation, RelationKind, SalesInvoice,
    VatCategory,
};
use snelstart_sync::engine::store::{AdminKey, EntityKind, MemoryStore};
use snelstart_sync::engine::{
    Action, Clock, CrmChange, EngineOptions, MemorySink, MemorySource, SyncEngine,
};
use snelstart_sync::mapping::config::MappingConfig;

/// Books invoices with attachments against the simulator and reports calls and throughput.
#[derive(Debug, Parser)]
struct Args {
    /// Number of invoices to book.
    #[arg(long, default_value_t = 10_000)]
    invoices: u32,
    /// Number of customers the invoices are spread over.
    #[arg(long, default_value_t = 200)]
    customers: u32,
    /// Items processed at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Size of each PDF attachment in bytes.
    #[arg(long, default_value_t = 4_096)]
    pdf_bytes: usize,
}

fn customer(i: u32) -> Relation {
    let mut r = Relation::new(
        format!("cust-{i}"),
        RelationKind::Customer,
        format!("Klant {i} B.V."),
    );
    r.visit_address = Some(Address::dutch(
        "Kerkstraat",
        format!("{}", i % 300 + 1),
        format!("{:04} AB", 1000 + i % 8000),
        "Utrecht",
    ));
    r
}

/// A small but real-looking PDF of `size` bytes.
fn pdf(tag: &str, size: usize) -> Vec<u8> {
    let mut bytes =
        format!("%PDF-1.4\n% factuur {tag}\n1 0 obj << /Type /Catalog >> endobj\n").into_bytes();
    while bytes.len() + 6 < size {
        bytes.extend_from_slice(b"% pad\n");
    }
    bytes.extend_from_slice(b"%%EOF\n");
    bytes
}

/// Invoice `i`: mixed VAT, every tenth one a credit note, every 25th reverse-charged.
fn invoice(i: u32, customers: u32, pdf_bytes: usize) -> SalesInvoice {
    let number = format!("B{i:06}");
    let date = chrono::NaiveDate::from_ymd_opt(2024, 1 + i % 12, 1 + i % 28).unwrap_or_default();
    let cents = |base: i64| Money::from_cents(base + i64::from(i % 997));
    let lines = if i.is_multiple_of(25) {
        vec![InvoiceLine::net(
            "Installatie",
            cents(150_000),
            VatCategory::Verlegd,
        )]
    } else {
        vec![
            InvoiceLine::net("Arbeid", cents(42_000), VatCategory::Hoog),
            InvoiceLine::net("Materiaal", cents(13_333), VatCategory::Hoog),
            InvoiceLine::net("Boeken", cents(2_500), VatCategory::Laag),
        ]
    };
    let mut inv = SalesInvoice::new(
        format!("inv-{i}"),
        number.clone(),
        date,
        format!("cust-{}", i % customers),
        lines,
    );
    inv.payment_term_days = Some(30);
    if i % 10 == 9 {
        inv.kind = InvoiceKind::CreditNote;
    }
    inv.attachments = vec![Attachment::new(
        format!("{number}.pdf"),
        pdf(&number, pdf_bytes),
    )];
    inv
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let customers = args.customers.max(1);
    let server = MockServer::start(MockConfig::new()).await?;
    let client = Client::builder()
        .base_url(server.base_url())
        .auth_url(server.auth_url())
        .subscription_key(server.subscription_key())
        .koppelsleutel(server.client_key())
        .rate_budget(BudgetConfig::unlimited())
        .build()?;
    let source = MemorySource::new(
        (0..customers)
            .map(|i| CrmChange::relation(customer(i)))
            .collect(),
    );
    let mut options = EngineOptions::default();
    options.concurrency = Some(args.concurrency);
    options.batch_size = 200;
    let engine = SyncEngine::with_options(
        client,
        MemoryStore::new(),
        source.clone(),
        MemorySink::new(),
        AdminKey::new("bench"),
        MappingConfig::default_for_mock(),
        options,
        Clock::system(),
    );

    engine.sync().await?;
    println!(
        "{customers} customers synced ({} calls)",
        server.stats().total()
    );

    let invoices: Vec<SalesInvoice> = (0..args.invoices)
        .map(|i| invoice(i, customers, args.pdf_bytes))
        .collect();
    for inv in &invoices {
        source.push(CrmChange::sales_invoice(inv.clone()));
    }
    let calls_before = server.stats().total();
    let started = Instant::now();
    engine.ingest().await?;
    let report = engine.run_until_idle(Duration::from_secs(3_600)).await?;
    let elapsed = started.elapsed();
    let calls = server.stats().total() - calls_before;
    let booked = report.count(EntityKind::SalesInvoice, Action::Created);
    let attached = report.count(EntityKind::Attachment, Action::Created);
    let n = f64::from(args.invoices.max(1));
    println!("{report}");
    println!(
        "booked {booked} invoices and {attached} attachments in {:.2} s",
        elapsed.as_secs_f64()
    );
    println!(
        "calls: {calls} ({:.2} per invoice, booking + attachment + per-run chart reads)",
        calls as f64 / n
    );
    println!("throughput: {:.0} invoices/s", n / elapsed.as_secs_f64());

    // The same invoices again: nothing to write.
    let writes_before = server.stats().writes();
    let calls_before = server.stats().total();
    let started = Instant::now();
    for inv in &invoices {
        source.push(CrmChange::sales_invoice(inv.clone()));
    }
    engine.ingest().await?;
    let again = engine.run_until_idle(Duration::from_secs(600)).await?;
    println!(
        "second run: {} unchanged, {} writes, {} calls in {:.2} s",
        again.count(EntityKind::SalesInvoice, Action::Unchanged),
        server.stats().writes() - writes_before,
        server.stats().total() - calls_before,
        started.elapsed().as_secs_f64()
    );
    let status = engine.status().await?;
    if !status.failures.is_empty() {
        println!(
            "{} failures, first: {:?}",
            status.failures.len(),
            status.failures.first()
        );
    }
    server.shutdown().await;
    Ok(())
}
