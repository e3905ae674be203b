//! Work-queue throughput: enqueue 10,000 items, then claim and complete them all with four
//! concurrent workers, on the memory store and on SQLite (both durability levels).
//!
//! `cargo run --release -p sync-store-sqlite --example queue_throughput [ITEMS]`
//!
//! Prints items per second per phase. Figures depend on the disk's fsync speed for
//! `Synchronous::Full`.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use sync_core::store::{AdminKey, EntityKind, MemoryStore, NewWorkItem, Store};
use sync_store_sqlite::{SqliteOptions, SqliteStore, Synchronous};

const WORKERS: usize = 4;
const BATCH: usize = 50;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("fixed instant")
}

async fn measure<S: Store>(name: &str, store: S, items: usize) {
    let admin = AdminKey::new("bench");
    let started = Instant::now();
    for n in 0..items {
        let item = NewWorkItem::new(
            admin.clone(),
            EntityKind::Relation,
            format!("r{n}"),
            "upsert",
            json!({ "naam": format!("Relatie {n}"), "n": n }),
            t0(),
        );
        store.enqueue(item, t0()).await.expect("enqueue");
    }
    let enqueue = started.elapsed();

    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let (store, admin) = (store.clone(), admin.clone());
        workers.push(tokio::spawn(async move {
            let mut handled = 0usize;
            let now = t0() + TimeDelta::seconds(1);
            // Bounded: every round handles at least one item or stops.
            for _ in 0..items {
                let batch = store
                    .claim(&admin, now, BATCH, Duration::from_secs(60))
                    .await
                    .expect("claim");
                if batch.is_empty() {
                    break;
                }
                for work in batch {
                    store.complete(work.lease(), now).await.expect("complete");
                    handled += 1;
                }
            }
            handled
        }));
    }
    let mut handled = 0;
    for worker in workers {
        handled += worker.await.expect("worker");
    }
    let process = started.elapsed();
    assert_eq!(handled, items, "every item handled exactly once");
    let per_sec = |d: Duration| items as f64 / d.as_secs_f64();
    println!(
        "{name:<22} enqueue {items} in {:>8.3}s ({:>9.0}/s)   claim+complete in {:>8.3}s ({:>9.0}/s)",
        enqueue.as_secs_f64(),
        per_sec(enqueue),
        process.as_secs_f64(),
        per_sec(process),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let items: usize = std::env::args()
        .nth(1)
        .map(|arg| arg.parse().expect("ITEMS must be a number"))
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("temp dir");

    measure("memory", MemoryStore::new(), items).await;
    for (name, sync) in [
        ("sqlite synchronous=NORMAL", Synchronous::Normal),
        ("sqlite synchronous=FULL", Synchronous::Full),
    ] {
        let path = dir.path().join(format!("{sync:?}.sqlite"));
        let store = SqliteStore::open_with(&path, SqliteOptions::default().synchronous(sync))
            .expect("open");
        measure(name, store, items).await;
    }
}
