//! Batches larger than one completion chunk run to the end: the engine records done items
//! while the batch's other items still run, and neither waits for the other.
//!
//! The engine once awaited each chunk's completion between two polls of the batch's item
//! stream. The SQLite pool hands its connections to waiting callers in turn, so it could hand
//! one to an item inside the unpolled stream, which then held it while the completion waited
//! for a connection: a rerun of 10,000 relations in batches of 500 hung for good. A rerun is
//! the sharpest case: every item only reads the store (its link says nothing changed).

#[path = "support/simulator.rs"]
mod simulator;

use std::time::Duration;

use snelstart_mock::{MockConfig, MockServer};
use snelstart_sync::crm::{Relation, RelationKind};
use snelstart_sync::engine::store::{AdminKey, QueueStore};
use snelstart_sync::engine::{CrmDataset, EngineOptions, MemorySource, NoSink, SyncEngine};
use snelstart_sync::mapping::config::{MappingConfig, RelatiecodePolicy};
use snelstart_sync::sqlite::SqliteStore;

const RELATIONS: u32 = 700;

fn dataset() -> CrmDataset {
    let mut d = CrmDataset::default();
    for i in 0..RELATIONS {
        let mut r = Relation::new(
            format!("crm-{i}"),
            RelationKind::Customer,
            format!("Grootbatch Handel {i:04} B.V."),
        );
        r.number = Some((60_000 + i).to_string());
        d.relations.push(r);
    }
    d
}

/// A hang is the failure this test looks for; the bound only turns it into a failed test
/// instead of a stuck CI job (a healthy run takes a few seconds).
const HANG: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_larger_than_a_completion_chunk_finish_and_rerun() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let dir = std::env::temp_dir().join(format!("snelsync-large-batches-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(dir.join("state.sqlite")).unwrap();
    let mut config = MappingConfig::default_for_mock();
    config.relatiecode = RelatiecodePolicy::FromCrmNumber {
        fallback_to_snelstart: false,
    };
    let mut options = EngineOptions::default();
    // One batch holds every item: more than one completion chunk (256).
    options.batch_size = 1_000;
    let admin = AdminKey::new("large-batches");
    let engine = SyncEngine::with_options(
        simulator::client(&server),
        store.clone(),
        MemorySource::default(),
        NoSink,
        admin.clone(),
        config,
        options,
        snelstart_sync::engine::Clock::system(),
    );

    engine.submit_batch(dataset().changes()).await.unwrap();
    let first = tokio::time::timeout(HANG, engine.run_until_idle(Duration::from_secs(60)))
        .await
        .expect("the first sync hung")
        .unwrap();
    assert_eq!(
        first.total(snelstart_sync::engine::Action::Created),
        u64::from(RELATIONS)
    );
    let writes = server.stats().writes();

    // The same records again: every item only reads its link and finds nothing changed.
    engine.submit_batch(dataset().changes()).await.unwrap();
    let rerun = tokio::time::timeout(HANG, engine.run_until_idle(Duration::from_secs(60)))
        .await
        .expect("the rerun hung")
        .unwrap();
    assert_eq!(
        rerun.total(snelstart_sync::engine::Action::Unchanged),
        u64::from(RELATIONS)
    );
    assert_eq!(server.stats().writes(), writes, "a rerun writes nothing");
    let counts = store.counts(&admin).await.unwrap();
    assert_eq!(counts.pending, 0);
    assert_eq!(counts.in_flight, 0);
    drop(engine);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
