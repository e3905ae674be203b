//! The SQLite store passes the storage conformance suite.

use std::sync::atomic::{AtomicUsize, Ordering};

use sync_core::registry::DynRegistry;
use sync_core::store::{DynStore, conformance};
use sync_store_sqlite::{SqliteRegistry, SqliteStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_conformance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let counter = AtomicUsize::new(0);
    conformance::run_all(|| {
        let path = dir.path().join(format!(
            "store-{}.sqlite",
            counter.fetch_add(1, Ordering::Relaxed)
        ));
        async move { SqliteStore::open(path).expect("open store") }
    })
    .await;
}

/// The administrations registry on SQLite passes the registry conformance suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_registry_passes_conformance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let counter = AtomicUsize::new(0);
    sync_core::registry::conformance::run_all(|| {
        let path = dir.path().join(format!(
            "registry-{}.sqlite",
            counter.fetch_add(1, Ordering::Relaxed)
        ));
        async move {
            let store = SqliteStore::open(path).expect("open store");
            SqliteRegistry::new(&store).await.expect("registry")
        }
    })
    .await;
}

/// Leases on administrations on SQLite pass the lease conformance suite (exclusive, taken
/// over after expiry, renewal fails after a takeover).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_registry_passes_lease_conformance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let counter = AtomicUsize::new(0);
    sync_core::registry::conformance::run_leases(|| {
        let path = dir.path().join(format!(
            "leases-{}.sqlite",
            counter.fetch_add(1, Ordering::Relaxed)
        ));
        async move {
            let store = SqliteStore::open(path).expect("open store");
            SqliteRegistry::new(&store).await.expect("registry")
        }
    })
    .await;
}

/// The run-time adapters over SQLite pass both suites: every call, the one-transaction
/// batches included (the suite checks their atomicity), reaches the SQLite store.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dyn_store_and_registry_over_sqlite_pass_conformance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let counter = AtomicUsize::new(0);
    let open = || {
        let path = dir.path().join(format!(
            "dyn-{}.sqlite",
            counter.fetch_add(1, Ordering::Relaxed)
        ));
        SqliteStore::open(path).expect("open store")
    };
    conformance::run_all(|| {
        let store = open();
        async move { DynStore::new(store) }
    })
    .await;
    let registry = || {
        let store = open();
        async move { DynRegistry::new(SqliteRegistry::new(&store).await.expect("registry")) }
    };
    sync_core::registry::conformance::run_all(registry).await;
    sync_core::registry::conformance::run_leases(registry).await;
}
