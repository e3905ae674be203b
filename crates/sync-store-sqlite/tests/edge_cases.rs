//! SQLite-specific behaviour beyond the shared conformance suite.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use sync_core::store::{AdminKey, EntityKind, NewWorkItem, QueueStore, WorkItemId};
use sync_store_sqlite::{SqliteOptions, SqliteStore};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("fixed instant")
}

fn admin() -> AdminKey {
    AdminKey::new("admin")
}

/// Two independently opened stores on one file behave like two processes: their claims
/// never overlap, because claims take SQLite's write lock (`BEGIN IMMEDIATE`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn separate_handles_on_one_file_claim_exclusively() {
    const ITEMS: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.sqlite");
    let first = SqliteStore::open(&path).unwrap();
    let second =
        SqliteStore::open_with(&path, SqliteOptions::default().max_connections(2)).unwrap();
    for n in 0..ITEMS {
        first
            .enqueue(
                NewWorkItem::new(
                    admin(),
                    EntityKind::Relation,
                    format!("r{n}"),
                    "upsert",
                    json!(n),
                    t0(),
                ),
                t0(),
            )
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for worker in 0..6 {
        let store = if worker % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for _ in 0..ITEMS {
                let batch = store
                    .claim(&admin(), t0(), 7, Duration::from_secs(60))
                    .await
                    .expect("claim");
                if batch.is_empty() {
                    break;
                }
                for work in batch {
                    store.complete(work.lease(), t0()).await.expect("complete");
                    mine.push(work.id);
                }
            }
            mine
        }));
    }
    let mut all: Vec<WorkItemId> = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let distinct: HashSet<WorkItemId> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "an item was claimed twice");
    assert_eq!(all.len(), ITEMS);
}

/// Times outside SQLite's nanosecond range are refused with a typed error, not truncated.
#[tokio::test]
async fn unrepresentable_times_are_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("t.sqlite")).unwrap();
    let far = t0() + TimeDelta::days(365 * 400);
    let err = store
        .enqueue(
            NewWorkItem::new(
                admin(),
                EntityKind::Relation,
                "r1",
                "upsert",
                json!(1),
                t0(),
            )
            .not_before(far),
            t0(),
        )
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
    let err = store
        .claim(&admin(), t0(), 1, Duration::MAX)
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "overflowing lease: {err}");
    assert!(
        store
            .claim(&admin(), t0(), 0, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty(),
        "limit 0 claims nothing"
    );
}

/// A file that is not a database fails to open with a backend error naming the problem.
#[test]
fn garbage_file_fails_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.sqlite");
    std::fs::write(
        &path,
        b"this is not an SQLite database, not even close......",
    )
    .unwrap();
    let err = SqliteStore::open(&path).expect_err("garbage must not open");
    assert!(err.is_backend(), "{err}");
}

/// Issue 12: the state file holds CRM payloads (names, e-mail addresses, IBANs); it is created
/// readable by its owner only, whatever the process umask.
#[cfg(unix)]
#[test]
fn a_new_state_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let _store = SqliteStore::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
}

/// A claim of another store that is alive is honoured until its lease ends; once that store
/// is gone (its process ended; here: every handle dropped), its claims are taken at once.
#[tokio::test]
async fn claims_of_a_live_holder_wait_and_of_a_gone_one_come_back_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("holders.sqlite");
    let worker = SqliteStore::open(&path).unwrap();
    let other = SqliteStore::open(&path).unwrap();
    let item = NewWorkItem::new(
        admin(),
        EntityKind::Relation,
        "r1",
        "upsert",
        json!(1),
        t0(),
    );
    worker.enqueue(item, t0()).await.unwrap();
    let lease = Duration::from_secs(300);
    let claimed = worker.claim(&admin(), t0(), 10, lease).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let soon = t0() + TimeDelta::seconds(1);
    assert!(
        other
            .claim(&admin(), soon, 10, lease)
            .await
            .unwrap()
            .is_empty(),
        "the holder is alive: its lease stands"
    );
    drop(worker);
    let taken = other.claim(&admin(), soon, 10, lease).await.unwrap();
    assert_eq!(
        taken.len(),
        1,
        "the holder is gone: taken back without waiting 300 s"
    );
    assert_eq!(
        taken[0].attempts, 2,
        "the lost attempt counts (lookup before create)"
    );
}
