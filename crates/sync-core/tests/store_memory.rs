//! The in-memory store passes the storage conformance suite.

use sync_core::store::{MemoryStore, conformance};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_conformance() {
    conformance::run_all(|| async { MemoryStore::new() }).await;
}
