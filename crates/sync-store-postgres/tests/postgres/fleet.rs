//! The fleet runner on PostgreSQL over real HTTP to `snelstart-mock` on 127.0.0.1: two fleets
//! (two connection pools on one schema, as two processes) split the administrations without
//! overlap, a crashed fleet is taken over after lease expiry with an exact end state, and every
//! record is written with its own administration's key. The scenarios are the SQLite tests'
//! own.

#[path = "../../../sync-store-sqlite/tests/fleet/scenarios.rs"]
pub(crate) mod scenarios;

use sync_store_postgres::{PostgresRegistry, PostgresStore};

use crate::support::{Schemas, open};

/// A store and a registry on `schema` (one more connection pool, as another process would have).
pub(crate) async fn handle(schema: &str) -> (PostgresStore, PostgresRegistry) {
    let store = open(schema).await;
    let registry = PostgresRegistry::new(&store).await.expect("registry");
    (store, registry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_fleets_on_one_schema_split_the_administrations() {
    let schemas = Schemas::default();
    let first = schemas.store().await;
    schemas
        .run(async {
            let schema = first.schema().to_owned();
            scenarios::two_fleets_split(handle(&schema).await, handle(&schema).await).await;
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_fleet_is_taken_over_after_lease_expiry() {
    let schemas = Schemas::default();
    let first = schemas.store().await;
    schemas
        .run(async {
            let schema = first.schema().to_owned();
            scenarios::crashed_fleet_is_taken_over(handle(&schema).await, handle(&schema).await)
                .await;
        })
        .await;
}

/// Tenant isolation on PostgreSQL, proved on what the simulator reports: every record in
/// every administration was written with that administration's key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_is_written_with_its_administrations_key() {
    let schemas = Schemas::default();
    let first = schemas.store().await;
    schemas
        .run(async {
            let schema = first.schema().to_owned();
            scenarios::tenants_stay_isolated(handle(&schema).await, handle(&schema).await).await;
        })
        .await;
}

/// A fleet's slices of one administration share what they read from SnelStart: one read of
/// its relations, none of a relation's kind (the scenario is the SQLite tests').
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slices_of_one_administration_read_snelstart_once() {
    let schemas = Schemas::default();
    let first = schemas.store().await;
    schemas
        .run(async {
            let schema = first.schema().to_owned();
            scenarios::slices_read_snelstart_once(handle(&schema).await).await;
        })
        .await;
}
