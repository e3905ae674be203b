//! The in-memory store passes the storage conformance suite, directly and through the
//! run-time adapter [`DynStore`].

use sync_core::store::{DynStore, MemoryStore, conformance};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_conformance() {
    conformance::run_all(|| async { MemoryStore::new() }).await;
}

/// Through `DynStore` every call reaches the store inside, batch methods included: the
/// suite's `queue_enqueue_batch_atomic` and `queue_complete_batch_atomic_and_fenced` fail if
/// the adapter fell back to the traits' non-atomic default loops.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dyn_store_over_memory_passes_conformance() {
    conformance::run_all(|| async { DynStore::new(MemoryStore::new()) }).await;
}
