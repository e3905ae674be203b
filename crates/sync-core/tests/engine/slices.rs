//! What the engine keeps at the end of each run (the spent budget, the last successes) when
//! it no longer reads them before writing them: another writer in between is still counted.

use crm_model::{Relation, RelationKind};
use mapping::config::MappingConfig;
use snelstart_mock::{MockConfig, MockServer};
use sync_core::store::{AdminKey, AuditStore, EntityKind, MemoryStore, StateKey, StateStore};
use sync_core::{Action, CrmChange, EngineOptions, MemorySink, MemorySource, SyncEngine};

type Engine = SyncEngine<MemoryStore, MemorySource, MemorySink>;

fn relation(i: u32) -> Relation {
    Relation::new(
        format!("crm-{i}"),
        RelationKind::Customer,
        format!("Klant {i} B.V."),
    )
}

fn budgeted(server: &MockServer) -> snelstart_client::Client {
    snelstart_client::Client::builder()
        .base_url(server.base_url())
        .auth_url(server.auth_url())
        .subscription_key(server.subscription_key())
        .koppelsleutel(server.client_key())
        .rate_budget(snelstart_client::budget::BudgetConfig::custom(
            500, 1_000, 0,
        ))
        .build()
        .unwrap()
}

fn engine(client: snelstart_client::Client, store: &MemoryStore) -> Engine {
    SyncEngine::with_options(
        client,
        store.clone(),
        MemorySource::default(),
        MemorySink::new(),
        AdminKey::new("test"),
        MappingConfig::default_for_mock(),
        EngineOptions::default(),
        sync_core::Clock::system(),
    )
}

async fn sync_relations(engine: &Engine, range: std::ops::Range<u32>) -> u64 {
    for i in range.clone() {
        engine
            .submit(CrmChange::relation(relation(i)))
            .await
            .unwrap();
    }
    let report = engine.process().await.unwrap();
    assert_eq!(
        report.total(Action::Created),
        u64::from(range.end - range.start)
    );
    report.api_calls
}

/// The engine records its calls against the value it last wrote: when another process added
/// calls in between, that swap fails and the engine reads again, so a process started after
/// both is seeded with every call (none lost, none counted twice).
#[tokio::test]
async fn the_spent_budget_keeps_calls_another_process_recorded_meanwhile() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let store = MemoryStore::new();
    let admin = AdminKey::new("test");
    let first_client = budgeted(&server);
    let first = engine(first_client.clone(), &store);
    sync_relations(&first, 0..3).await;

    // Another process on this administration records three calls of its own.
    let key = StateKey::BudgetSpent;
    let current = store.state(&admin, &key).await.unwrap().expect("recorded");
    let mut times: Vec<i64> = serde_json::from_str(&current).unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    times.extend([now, now, now]);
    store
        .put_state(
            &admin,
            &key,
            Some(&current),
            &serde_json::to_string(&times).unwrap(),
            chrono::Utc::now(),
        )
        .await
        .unwrap();

    sync_relations(&first, 3..5).await;
    let mine = first_client.budget_usage().total;

    let restarted_client = budgeted(&server);
    let restarted = engine(restarted_client.clone(), &store);
    restarted.process().await.unwrap();
    assert_eq!(
        u64::from(restarted_client.budget_usage().last_minute),
        mine + 3,
        "the first engine's calls and the other process's three"
    );
}

/// The last success of a kind is written after every run that handled it, also when another
/// engine wrote it since this one did (its compare-and-swap then reads again).
#[tokio::test]
async fn the_last_success_is_written_when_another_engine_wrote_it_meanwhile() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let store = MemoryStore::new();
    let admin = AdminKey::new("test");
    let first = engine(budgeted(&server), &store);
    sync_relations(&first, 0..1).await;
    let key = StateKey::LastSuccess(EntityKind::Relation);
    let written = store.state(&admin, &key).await.unwrap().expect("written");

    let foreign = "2001-01-01T00:00:00+00:00";
    store
        .put_state(&admin, &key, Some(&written), foreign, chrono::Utc::now())
        .await
        .unwrap();
    let before = chrono::Utc::now();
    sync_relations(&first, 1..2).await;
    let now = store.state(&admin, &key).await.unwrap().expect("written");
    let at = chrono::DateTime::parse_from_rfc3339(&now).unwrap();
    assert!(
        at >= before,
        "this run's success, not the other one's: {now}"
    );
}

/// Audit entries of an item's writes are stored with its outcome: every created relation has
/// its entry once the run ends.
#[tokio::test]
async fn every_write_of_a_run_is_in_the_audit_log() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let store = MemoryStore::new();
    let first = engine(budgeted(&server), &store);
    sync_relations(&first, 0..4).await;
    let audit = store
        .recent_audit(&AdminKey::new("test"), 100)
        .await
        .unwrap();
    let mut created: Vec<&str> = audit
        .iter()
        .filter(|e| e.action == "create" && e.outcome.is_ok())
        .filter_map(|e| e.crm_id.as_deref())
        .collect();
    created.sort_unstable();
    assert_eq!(created, ["crm-0", "crm-1", "crm-2", "crm-3"]);
}
