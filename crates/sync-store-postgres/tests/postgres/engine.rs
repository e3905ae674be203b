//! The sync engine end to end on the PostgreSQL store: real HTTP to `snelstart-mock` over
//! loopback, the real engine, the store in its own schema.

use std::time::Duration;

use crm_model::{Address, Contact, Project, Relation, RelationKind};
use mapping::config::{MappingConfig, RelatiecodePolicy};
use snelstart_client::Client;
use snelstart_client::budget::BudgetConfig;
use snelstart_client::retry::RetryPolicy;
use snelstart_mock::{MockConfig, MockServer};
use sync_core::store::{AdminKey, EntityKind, LinkStore, QueueStore};
use sync_core::{Action, CrmChange, EngineOptions, MemorySink, MemorySource, SyncEngine};
use sync_store_postgres::PostgresStore;

use crate::support::{Schemas, open};

fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .auth_url(server.auth_url())
        .subscription_key(server.subscription_key())
        .koppelsleutel(server.client_key())
        .rate_budget(BudgetConfig::unlimited())
        .retry_policy(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(5), Duration::from_millis(50))
                .with_max_attempts(3),
        )
        .build()
        .expect("a client for the simulator")
}

fn config() -> MappingConfig {
    let mut c = MappingConfig::default_for_mock();
    c.relatiecode = RelatiecodePolicy::FromCrmNumber {
        fallback_to_snelstart: true,
    };
    c
}

/// A realistic Dutch customer with two contacts (the shapes of /work/shared/CRM-DATA.md).
fn customer(i: u32) -> Relation {
    let mut r = Relation::new(
        format!("crm-{i}"),
        RelationKind::Customer,
        format!("Installatiebedrijf Van der Meer {i} B.V."),
    );
    r.number = Some(format!("{}", 30_000 + i));
    r.visit_address = Some(Address::dutch(
        "Kerkstraat",
        format!("{}", i % 90 + 1),
        format!("{:04} KL", 3500 + i % 400),
        "Utrecht",
    ));
    r.phone = Some(format!("030-{:07}", 2_000_000 + i));
    r.email = Some(format!("administratie@vdmeer{i}.nl").parse().unwrap());
    r.kvk_number = Some(format!("{:08}", 41_000_000 + i).parse().unwrap());
    let mut contact = Contact::named(format!("Sanne de Graaf {i}"));
    contact.role = Some("Boekhouding".into());
    r.contacts = vec![contact];
    r
}

fn project(i: u32) -> Project {
    Project::new(
        format!("prj-{i}"),
        format!("P{:04}", 700 + i),
        format!("Renovatie {i}"),
    )
}

fn engine(
    server: &MockServer,
    store: PostgresStore,
    source: MemorySource,
) -> SyncEngine<PostgresStore, MemorySource, MemorySink> {
    SyncEngine::with_options(
        client(server),
        store,
        source,
        MemorySink::new(),
        AdminKey::new("pg-e2e"),
        config(),
        EngineOptions::default(),
        sync_core::Clock::system(),
    )
}

/// Initial sync of 30 relations and 5 cost centres; then a second process (a new pool on the
/// same schema) gets the same changes again and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_then_a_rerun_from_another_process_writes_nothing() {
    let schemas = Schemas::default();
    let first_store = schemas.store().await;
    schemas
        .run(async {
            let server = MockServer::start(MockConfig::new()).await.unwrap();
            let mut changes: Vec<CrmChange> =
                (0..30).map(|i| CrmChange::relation(customer(i))).collect();
            changes.extend((0..5).map(|i| CrmChange::project(project(i))));

            let first = engine(&server, first_store.clone(), MemorySource::new(changes));
            let report = first.sync().await.unwrap();
            assert_eq!(report.ingested, 35, "{report}");
            assert_eq!(
                report.count(EntityKind::Relation, Action::Created),
                30,
                "{report}"
            );
            assert_eq!(
                report.count(EntityKind::CostCentre, Action::Created),
                5,
                "{report}"
            );
            let admin = AdminKey::new("pg-e2e");
            let links = first_store
                .list_links(&admin, EntityKind::Relation, None, 100)
                .await
                .unwrap();
            assert_eq!(links.len(), 30, "every relation linked in PostgreSQL");
            let counts = first_store.counts(&admin).await.unwrap();
            assert_eq!(
                counts.pending + counts.in_flight + counts.failed,
                0,
                "{counts:?}"
            );
            drop(first);

            // "Another process": a fresh pool on the same schema; the same changes arrive
            // again (a re-sent webhook).
            let second_store = open(first_store.schema()).await;
            let stats_before = server.stats();
            let second = engine(&server, second_store, MemorySource::new(Vec::new()));
            for i in 0..30 {
                second
                    .submit(CrmChange::relation(customer(i)))
                    .await
                    .unwrap();
            }
            let report = second.sync().await.unwrap();
            assert_eq!(
                report.count(EntityKind::Relation, Action::Unchanged),
                30,
                "{report}"
            );
            let stats_after = server.stats();
            assert_eq!(
                stats_after.writes(),
                stats_before.writes(),
                "the rerun wrote nothing"
            );
            let calls: Vec<String> = stats_after
                .entries
                .iter()
                .filter(|e| !stats_before.entries.contains(e))
                .map(|e| format!("{} {}", e.method, e.route))
                .collect();
            // A fresh engine reads the administration once on start (company info, the
            // country list); the 30 unchanged relations need no call at all.
            let startup = ["POST /b2b/token", "GET /v2/companyInfo", "GET /v2/landen"];
            assert!(
                calls.iter().all(|c| startup.contains(&c.as_str())),
                "only start-up reads, no call per record: {calls:?}"
            );
            assert!(
                report.api_calls <= 2,
                "{} calls: {calls:?}",
                report.api_calls
            );
        })
        .await;
}
