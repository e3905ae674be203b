//! The fleet runner on SQLite over real HTTP to `snelstart-mock` on 127.0.0.1: two fleets on
//! one database file split the administrations; a crashed fleet's administrations are taken
//! over after lease expiry with an exact end state; an administration whose key the
//! simulator refuses does not stop the others; pause, resume, remove and add at run time.

mod scenarios;

use std::path::Path;

use scenarios::*;
use sync_core::fleet::Activity;
use sync_core::registry::{AdministrationLeases, AdministrationRegistry};
use sync_core::store::QueueStore;
use sync_store_sqlite::{SqliteRegistry, SqliteStore};

async fn open(path: &Path) -> (SqliteStore, SqliteRegistry) {
    let store = SqliteStore::open(path).expect("open store");
    let registry = SqliteRegistry::new(&store).await.expect("registry");
    (store, registry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_fleets_on_one_file_split_the_administrations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.sqlite");
    two_fleets_split(open(&path).await, open(&path).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_fleet_is_taken_over_after_lease_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.sqlite");
    crashed_fleet_is_taken_over(open(&path).await, open(&path).await).await;
}

/// The simulator refuses one administration's key: that administration fails and backs off
/// (its status says why, never the key), the others are synced completely.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_does_not_stop_the_others() {
    const PER: usize = 9;
    let dir = tempfile::tempdir().unwrap();
    let (store, registry) = open(&dir.path().join("fleet.sqlite")).await;
    let server = simulator(3).await;
    let refused_key = "ingetrokken-koppelsleutel-0000";
    for i in 0..3 {
        let key = if i == 1 {
            refused_key.to_owned()
        } else {
            key_text(i)
        };
        register_with_work(&server, &store, &registry, i, &key, PER).await;
    }
    let fleet = fleet(
        &server,
        store.clone(),
        registry.clone(),
        options("worker-a"),
    );
    let (stop, stopped) = stop_signal();
    let run = fleet.clone();
    let s = stopped();
    let task = tokio::spawn(async move { run.run(s).await });
    wait_for(
        "the good administrations to finish and the bad one to fail twice",
        || async {
            finished(&store, 0, PER).await
                && finished(&store, 2, PER).await
                && [0, 2].iter().all(|i| {
                    fleet
                        .status_of(&admin(*i))
                        .is_some_and(|s| s.items == PER as u64)
                })
                && fleet
                    .status_of(&admin(1))
                    .is_some_and(|s| s.consecutive_failures >= 2)
        },
    )
    .await;
    let bad = fleet.status_of(&admin(1)).unwrap();
    assert_eq!(bad.activity, Activity::Failing, "{bad:?}");
    let error = bad.last_error.clone().expect("the failure is recorded");
    assert!(
        !error.contains(refused_key),
        "the status never shows the key: {error}"
    );
    assert_eq!(bad.items, 0, "{bad:?}");
    for i in [0, 2] {
        let good = fleet.status_of(&admin(i)).unwrap();
        assert_eq!(
            (good.items, good.consecutive_failures),
            (PER as u64, 0),
            "{good:?}"
        );
    }
    stop.send(true).unwrap();
    task.await.unwrap();
    assert_exact(&server, 0, PER);
    assert_exact(&server, 2, PER);
    assert!(names_in(&server, 1).is_empty());
    assert_eq!(
        store.counts(&admin(1)).await.unwrap().pending,
        PER as u64,
        "kept for later"
    );
}

/// Pause, resume, remove and add while the fleet runs, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_remove_and_add_at_run_time() {
    const PER: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let (store, registry) = open(&dir.path().join("fleet.sqlite")).await;
    let server = simulator(4).await;
    for i in 0..3 {
        register_with_work(&server, &store, &registry, i, &key_text(i), PER).await;
    }
    let fleet = fleet(
        &server,
        store.clone(),
        registry.clone(),
        options("worker-a"),
    );
    fleet.pause(&admin(1)).await.unwrap();
    let (stop, stopped) = stop_signal();
    let run = fleet.clone();
    let s = stopped();
    let task = tokio::spawn(async move { run.run(s).await });

    wait_for("administrations 0 and 2", || async {
        finished(&store, 0, PER).await && finished(&store, 2, PER).await
    })
    .await;
    assert!(
        names_in(&server, 1).is_empty(),
        "a paused administration is not run"
    );
    assert!(!fleet.held().contains(&admin(1)));
    assert_eq!(registry.lease_of(&admin(1)).await.unwrap(), None);

    // Remove a held administration: released, row and key gone.
    assert!(fleet.held().contains(&admin(2)));
    assert!(fleet.remove(&admin(2)).await.unwrap());
    assert!(!fleet.held().contains(&admin(2)));
    assert_eq!(registry.administration(&admin(2)).await.unwrap(), None);
    assert_eq!(registry.lease_of(&admin(2)).await.unwrap(), None);
    assert!(
        !fleet.remove(&admin(2)).await.unwrap(),
        "removing twice: not registered"
    );

    // Resume: taken and synced.
    fleet.resume(&admin(1)).await.unwrap();
    wait_for("the resumed administration", || finished(&store, 1, PER)).await;

    // Add at run time: a new administration with work is taken and synced.
    queue_work(&server, &store, 3, &key_text(3), PER).await;
    fleet
        .add(
            admin(3),
            &secrecy::SecretString::from(key_text(3)),
            "klant-3",
            "standaard",
        )
        .await
        .unwrap();
    wait_for("the added administration", || finished(&store, 3, PER)).await;
    let mut held = fleet.held();
    held.sort();
    assert_eq!(held, vec![admin(0), admin(1), admin(3)]);

    // Pause a held administration at run time: released at once.
    fleet.pause(&admin(0)).await.unwrap();
    assert!(!fleet.held().contains(&admin(0)));
    assert_eq!(registry.lease_of(&admin(0)).await.unwrap(), None);

    stop.send(true).unwrap();
    task.await.unwrap();
    for i in [0, 1, 2, 3] {
        assert_exact(&server, i, PER);
    }
}
