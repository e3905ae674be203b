//! Runs that continue one another (a fleet's slices: one batch per run) share what they read
//! from SnelStart to decide with, instead of reading it again every batch; a run after the
//! queue drained reads afresh.

use std::time::Duration;

use chrono::NaiveDate;
use crm_model::{Address, InvoiceLine, Money, Relation, RelationKind, SalesInvoice, VatCategory};
use mapping::config::MappingConfig;
use snelstart_client::models::{RelatieWrite, Relatiesoort};
use snelstart_client::odata::Query;
use snelstart_client::ops;
use snelstart_mock::{MockConfig, MockServer, Stats};
use sync_core::store::{AdminKey, EntityKind, MemoryStore, QueueStore};
use sync_core::{Action, CrmChange, EngineOptions, MemorySink, MemorySource, SyncEngine};

use crate::support::client;

type Engine = SyncEngine<MemoryStore, MemorySource, MemorySink>;

fn engine(server: &MockServer, store: &MemoryStore, reference_max_age: Duration) -> Engine {
    let mut options = EngineOptions::default();
    options.batch_size = 5;
    options.concurrency = Some(4);
    options.reference_max_age = reference_max_age;
    SyncEngine::with_options(
        client(server),
        store.clone(),
        MemorySource::default(),
        MemorySink::new(),
        AdminKey::new("test"),
        MappingConfig::default_for_mock(),
        options,
        sync_core::Clock::system(),
    )
}

fn customer(i: u32) -> Relation {
    let mut r = Relation::new(
        format!("cust-{i}"),
        RelationKind::Customer,
        format!("Klant {i} B.V."),
    );
    r.visit_address = Some(Address::dutch("Kerkstraat", "1", "3511 AB", "Utrecht"));
    r.kvk_number = Some(format!("{:08}", 41_000_000 + i).parse().unwrap());
    r
}

fn invoice(i: u32) -> SalesInvoice {
    let day = NaiveDate::from_ymd_opt(2024, 3, 4).unwrap();
    let line = InvoiceLine::net("Werk", Money::from_cents(10_000), VatCategory::Hoog);
    SalesInvoice::new(
        format!("inv-{i}"),
        format!("C-{i:03}"),
        day,
        format!("cust-{i}"),
        vec![line],
    )
}

/// Runs one batch at a time (as a fleet's slice does) until nothing waits; bounded.
async fn run_in_slices(engine: &Engine, store: &MemoryStore) -> u64 {
    let admin = AdminKey::new("test");
    let mut created = 0;
    for _ in 0..40 {
        let report = engine.run_until_idle(Duration::ZERO).await.unwrap();
        created += report.total(Action::Created);
        let counts = store.counts(&admin).await.unwrap();
        if counts.pending + counts.in_flight == 0 {
            return created;
        }
    }
    panic!("the queue did not drain in 40 slices");
}

async fn queue_customers_and_invoices(engine: &Engine, n: u32) {
    for i in 0..n {
        engine
            .submit(CrmChange::relation(customer(i)))
            .await
            .unwrap();
    }
    for i in 0..n {
        engine
            .submit(CrmChange::sales_invoice(invoice(i)))
            .await
            .unwrap();
    }
}

/// Syncs 10 customers and an invoice for each in slices of one batch, with this
/// `reference_max_age`; every record is created once. The simulator's request counts.
async fn sync_in_slices(reference_max_age: Duration) -> Stats {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let store = MemoryStore::new();
    let engine = engine(&server, &store, reference_max_age);
    queue_customers_and_invoices(&engine, 10).await;
    let created = run_in_slices(&engine, &store).await;
    assert_eq!(created, 20, "10 relations and 10 bookings");
    let stats = server.stats();
    assert_eq!(stats.successful_writes(), 20, "{stats:?}");
    stats
}

#[tokio::test]
async fn runs_that_continue_one_another_read_snelstart_once() {
    let stats = sync_in_slices(EngineOptions::default().reference_max_age).await;
    assert_eq!(
        stats.count("GET", "/relaties"),
        1,
        "the relations matching looks at are read once for all slices: {stats:?}"
    );
    assert_eq!(stats.count("GET", "/grootboeken"), 1, "{stats:?}");
    assert_eq!(
        stats.count("GET", "/companyInfo"),
        1,
        "the binding's read also gives the bookings their financial year: {stats:?}"
    );
    assert_eq!(
        stats.count("GET", "/relaties/{id}"),
        0,
        "the kind of each relation created by an earlier slice is known: {stats:?}"
    );
}

/// The control: with `reference_max_age` zero every slice reads afresh, which is what the
/// test above counts as not happening.
#[tokio::test]
async fn with_no_reference_age_every_slice_reads_afresh() {
    let stats = sync_in_slices(Duration::ZERO).await;
    assert_eq!(
        stats.count("GET", "/relaties"),
        2,
        "two slices of relations, one read each: {stats:?}"
    );
    assert_eq!(
        stats.count("GET", "/relaties/{id}"),
        10,
        "each invoice's relation looked up by a slice that did not create it: {stats:?}"
    );
}

/// A run after the queue drained does not continue the one before: a relation a SnelStart
/// user made meanwhile is matched (linked), not created a second time.
#[tokio::test]
async fn a_run_after_the_queue_drained_sees_relations_made_in_snelstart_meanwhile() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let store = MemoryStore::new();
    let engine = engine(&server, &store, EngineOptions::default().reference_max_age);
    for i in 0..5 {
        engine
            .submit(CrmChange::relation(customer(i)))
            .await
            .unwrap();
    }
    assert_eq!(run_in_slices(&engine, &store).await, 5);
    // The last slice stopped at its deadline and handed its context on; this run finds the
    // queue empty, and with it the hand-over ends.
    let idle = engine.run_until_idle(Duration::ZERO).await.unwrap();
    assert_eq!(idle.total(Action::Created), 0);

    // A SnelStart user enters the CRM's next customer by hand.
    let mut by_hand = RelatieWrite::default();
    by_hand.relatiesoort = Some(vec![Relatiesoort::Klant]);
    by_hand.naam = Some("Klant 5 BV".into());
    by_hand.kvk_nummer = Some("41000005".into());
    client(&server)
        .execute(ops::relaties::create(&by_hand).unwrap())
        .await
        .unwrap();

    engine
        .submit(CrmChange::relation(customer(5)))
        .await
        .unwrap();
    let report = engine.run_until_idle(Duration::ZERO).await.unwrap();
    assert_eq!(
        report.count(EntityKind::Relation, Action::Linked),
        1,
        "{report}"
    );
    let with_kvk = client(&server)
        .list_all(ops::relaties::list(Query::new()))
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kvk_nummer.as_deref() == Some("41000005"))
        .count();
    assert_eq!(with_kvk, 1, "not created a second time");
}
