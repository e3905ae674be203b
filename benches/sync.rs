//! Criterion benchmark of an initial sync of 500 relations and 50 projects against the
//! in-process simulator (limits off, in-memory store). The bench example `sync_bench` runs the
//! 10,000-relation figures; this one tracks the engine's per-entity cost between changes.

// `criterion_group!` generates a public function without docs.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use snelstart_mock::{MockConfig, MockServer};
use snelstart_sync::client::Client;
use snelstart_sync::client::budget::BudgetConfig;
use snelstart_sync::crm::{Address, Project, Relation, RelationKind};
use snelstart_sync::engine::store::{AdminKey, MemoryStore};
use snelstart_sync::engine::{CrmDataset, EngineOptions, MemorySource, NoSink, SyncEngine};
use snelstart_sync::mapping::config::{MappingConfig, RelatiecodePolicy};

fn dataset() -> CrmDataset {
    let mut d = CrmDataset::default();
    for i in 0..500u32 {
        let mut r = Relation::new(
            format!("crm-{i}"),
            RelationKind::Customer,
            format!("Criterion Groothandel {i:04} B.V."),
        );
        r.number = Some((300_000 + i).to_string());
        r.visit_address = Some(Address::dutch(
            "Kade",
            (i + 1).to_string(),
            "2511 AB",
            "Den Haag",
        ));
        d.relations.push(r);
    }
    for p in 0..50u32 {
        d.projects.push(Project::new(
            format!("prj-{p}"),
            format!("K{:04}", 7_000 + p),
            format!("Project {p}"),
        ));
    }
    d
}

async fn initial_sync(data: &CrmDataset) {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let client = Client::builder()
        .base_url(server.base_url())
        .auth_url(server.auth_url())
        .subscription_key(server.subscription_key())
        .koppelsleutel(server.client_key())
        .rate_budget(BudgetConfig::unlimited())
        .build()
        .unwrap();
    let mut config = MappingConfig::default_for_mock();
    config.relatiecode = RelatiecodePolicy::FromCrmNumber {
        fallback_to_snelstart: false,
    };
    let engine = SyncEngine::with_options(
        client,
        MemoryStore::new(),
        MemorySource::default(),
        NoSink,
        AdminKey::new("bench"),
        config,
        EngineOptions::default(),
        snelstart_sync::engine::Clock::system(),
    );
    engine.submit_batch(data.changes()).await.unwrap();
    engine
        .run_until_idle(Duration::from_secs(600))
        .await
        .unwrap();
    server.shutdown().await;
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let data = dataset();
    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.bench_function("initial_sync_500_relations_50_projects", |b| {
        b.to_async(&runtime).iter(|| initial_sync(&data));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
