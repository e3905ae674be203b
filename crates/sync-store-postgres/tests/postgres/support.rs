//! Test databases: every store gets its own freshly created schema with a random name, so
//! tests (and test binaries) run in parallel on one PostgreSQL, and the schema is dropped at
//! the end, also when the test fails.

#![allow(dead_code)]

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;

use futures::FutureExt;
use rand::Rng;
use sync_store_postgres::{PostgresOptions, PostgresStore};

/// The test database: `SNELSYNC_TEST_DATABASE_URL`, else the CI default (trust auth).
pub fn database_url() -> String {
    std::env::var("SNELSYNC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema name, `t_` and 16 random hex digits.
pub fn fresh_schema() -> String {
    format!("t_{:016x}", rand::rng().random::<u64>())
}

/// Opens a store in `schema`, naming the database in the panic when it is not reachable.
pub async fn open(schema: &str) -> PostgresStore {
    let url = database_url();
    PostgresStore::connect(
        &url,
        PostgresOptions::default().schema(schema).max_connections(6),
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "PostgreSQL test database not reachable ({e}); start PostgreSQL on 127.0.0.1:5432 \
                 with a database `test`, or set SNELSYNC_TEST_DATABASE_URL"
        )
    })
}

/// Hands out stores in fresh schemas and drops every one of them afterwards.
#[derive(Default)]
pub struct Schemas {
    names: Mutex<Vec<String>>,
}

impl Schemas {
    /// A store in a new schema, remembered for [`Schemas::run`]'s clean-up.
    pub async fn store(&self) -> PostgresStore {
        let schema = fresh_schema();
        self.names.lock().unwrap().push(schema.clone());
        open(&schema).await
    }

    /// Runs `body`, then drops every schema handed out (whether `body` passed or panicked),
    /// then re-raises a panic.
    pub async fn run<F: Future<Output = ()>>(&self, body: F) {
        let outcome = AssertUnwindSafe(body).catch_unwind().await;
        let names = std::mem::take(&mut *self.names.lock().unwrap());
        for name in names {
            drop_schema(&name).await;
        }
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Drops `schema` over a fresh raw connection (the body's stores may be in any state, and
/// the schema may hold a version this build refuses to open).
pub async fn drop_schema(schema: &str) {
    let (client, connection) = tokio_postgres::connect(&database_url(), tokio_postgres::NoTls)
        .await
        .expect("connect to drop a test schema");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .expect("drop test schema");
}

/// Runs `body` with one store in a fresh schema, dropped afterwards.
pub async fn with_store<F, Fut>(body: F)
where
    F: FnOnce(PostgresStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let schemas = Schemas::default();
    let store = schemas.store().await;
    schemas.run(body(store)).await;
}
