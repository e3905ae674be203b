//! The fleet runner on PostgreSQL over real HTTP to `snelstart-mock` on 127.0.0.1: two fleets
//! (two connection pools on one schema, as two processes) split the administrations without
//! overlap, and a crashed fleet is taken over after lease expiry with an exact end state. The
//! scenarios are the SQLite tests' own.

#[path = "../../../sync-store-sqlite/tests/fleet/scenarios.rs"]
mod scenarios;

use sync_store_postgres::{PostgresRegistry, PostgresStore};

use crate::support::{Schemas, open};

async fn handle(schema: &str) -> (PostgresStore, PostgresRegistry) {
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
