//! The fleet runner on SQLite over real HTTP to `snelstart-mock` on 127.0.0.1: two fleets on
//! one database file split the administrations; a crashed fleet's administrations are taken
//! over after lease expiry with an exact end state; an administration whose key the
//! simulator refuses does not stop the others; pause, resume, remove and add at run time;
//! every record in every administration written with that administration's own key.

mod scenarios;

use std::path::Path;

use scenarios::*;
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

/// Tenant isolation, proved on what the simulator reports: every record in every
/// administration was written with that administration's key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_is_written_with_its_administrations_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.sqlite");
    tenants_stay_isolated(open(&path).await, open(&path).await).await;
}

/// A fleet's slices of one administration share what they read from SnelStart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slices_of_one_administration_read_snelstart_once() {
    let dir = tempfile::tempdir().unwrap();
    slices_read_snelstart_once(open(&dir.path().join("fleet.sqlite")).await).await;
}

/// The isolation check is not a formality: swapped keys in the registry are reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_isolation_check_catches_swapped_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.sqlite");
    a_key_mix_up_is_caught(open(&path).await, open(&path).await).await;
}

/// The simulator refuses one administration's key, and the host's setup panics for another:
/// those fail and back off (their status says why, never the key), the others are synced
/// completely.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_does_not_stop_the_others() {
    const PER: usize = 9;
    let dir = tempfile::tempdir().unwrap();
    let (store, registry) = open(&dir.path().join("fleet.sqlite")).await;
    let server = simulator(4).await;
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
    queue_work(&server, &store, 3, &key_text(3), PER).await;
    fleet
        .add(
            admin(3),
            &secrecy::SecretString::from(key_text(3)),
            "klant-3",
            "panikeer",
        )
        .await
        .unwrap();
    let (stop, stopped) = stop_signal();
    let run = fleet.clone();
    let s = stopped();
    let task = tokio::spawn(async move { run.run(s).await });
    wait_for(
        "the good administrations to finish and the bad ones to fail twice",
        || async {
            finished(&store, 0, PER).await
                && finished(&store, 2, PER).await
                && [0, 2].iter().all(|i| {
                    fleet
                        .status_of(&admin(*i))
                        .is_some_and(|s| s.items == PER as u64)
                })
                && [1, 3].iter().all(|i| {
                    fleet
                        .status_of(&admin(*i))
                        .is_some_and(|s| s.consecutive_failures >= 2)
                })
        },
    )
    .await;
    let bad = fleet.status_of(&admin(1)).unwrap();
    assert!(bad.consecutive_failures >= 2, "{bad:?}");
    let error = bad.last_error.clone().expect("the failure is recorded");
    assert!(
        !error.contains(refused_key),
        "the status never shows the key: {error}"
    );
    assert_eq!(bad.items, 0, "{bad:?}");
    let panicked = fleet.status_of(&admin(3)).unwrap();
    assert!(panicked.consecutive_failures >= 2, "{panicked:?}");
    let error = panicked.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("panicked") && error.contains("adm-03"),
        "{error}"
    );
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
    assert!(names_in(&server, 3).is_empty());
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

/// Records which administration each link was made for, in order (one worker: slices run one
/// after another, so the order is the fleet's schedule).
#[derive(Clone, Default)]
struct Log(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

struct LogSink {
    admin: String,
    log: Log,
}

impl sync_core::CrmSink for LogSink {
    async fn deliver(&self, event: sync_core::SinkEvent) -> Result<(), sync_core::CrmError> {
        if matches!(event, sync_core::SinkEvent::Linked { .. }) {
            self.log.0.lock().unwrap().push(self.admin.clone());
        }
        Ok(())
    }
}

struct LogSetup(Log);

impl sync_core::fleet::FleetSetup for LogSetup {
    type Source = sync_core::MemorySource;
    type Sink = LogSink;

    fn engine_parts(
        &self,
        record: &sync_core::registry::AdministrationRecord,
    ) -> Result<sync_core::fleet::EngineParts<Self::Source, Self::Sink>, String> {
        let parts = Setup.engine_parts(record)?;
        Ok(sync_core::fleet::EngineParts::new(
            parts.config,
            sync_core::MemorySource::default(),
            LogSink {
                admin: record.admin.to_string(),
                log: self.0.clone(),
            },
        )
        .options(parts.options))
    }
}

/// Fair share: with one worker, a busy administration (60 relations) and a small one (6)
/// take turns batch by batch, so the small one is done after at most three of the busy one's
/// batches instead of waiting for all twenty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_administration_does_not_starve_a_small_one() {
    let dir = tempfile::tempdir().unwrap();
    let (store, registry) = open(&dir.path().join("fleet.sqlite")).await;
    let server = simulator(2).await;
    register_with_work(&server, &store, &registry, 0, &key_text(0), 60).await;
    register_with_work(&server, &store, &registry, 1, &key_text(1), 6).await;
    let log = Log::default();
    let fleet = sync_core::Fleet::new(
        store.clone(),
        registry.clone(),
        sealer(),
        template(&server),
        LogSetup(log.clone()),
        options("worker-a").workers(1),
    );
    let (stop, stopped) = stop_signal();
    let run = fleet.clone();
    let s = stopped();
    let task = tokio::spawn(async move { run.run(s).await });
    wait_for("both administrations", || async {
        finished(&store, 0, 60).await && finished(&store, 1, 6).await
    })
    .await;
    stop.send(true).unwrap();
    task.await.unwrap();
    let log = log.0.lock().unwrap().clone();
    assert_eq!(log.len(), 66, "{log:?}");
    let small_done = log.iter().rposition(|a| a == "adm-01").unwrap() + 1;
    let busy_before = log[..small_done].iter().filter(|a| *a == "adm-00").count();
    assert!(
        busy_before <= 9,
        "the small administration finished after {busy_before} of the busy one's links: {log:?}"
    );
    assert_exact(&server, 0, 60);
    assert_exact(&server, 1, 6);
}

/// Onboarding through the fleet's `CouplingHooks`: a Create is served without a restart (the
/// hook wakes the fleet), a Delete stops the administration's work and releases its lease
/// before the row and key go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_events_take_effect_in_a_running_fleet() {
    use sync_core::onboarding::{CouplingEvent, CouplingOutcome, OnboardingService};
    const PER: usize = 5;
    let dir = tempfile::tempdir().unwrap();
    let (store, registry) = open(&dir.path().join("fleet.sqlite")).await;
    let server = simulator(1).await;
    let fleet = fleet(
        &server,
        store.clone(),
        registry.clone(),
        options("worker-a"),
    );
    let onboarding = OnboardingService::new(
        registry.clone(),
        sealer(),
        template(&server),
        |reference: &str| {
            reference
                .starts_with("klant-")
                .then(|| "standaard".to_owned())
        },
    )
    .hooks(fleet.clone());
    let (stop, stopped) = stop_signal();
    let run = fleet.clone();
    let s = stopped();
    let task = tokio::spawn(async move { run.run(s).await });

    let event = |action: &str| {
        CouplingEvent::parse(
            format!(
                r#"{{"KoppelSleutel":"{}","ActionType":"{action}","ReferenceKey":"klant-0"}}"#,
                key_text(0)
            )
            .as_bytes(),
        )
        .unwrap()
    };
    let CouplingOutcome::Registered { admin, .. } =
        onboarding.handle(&event("Create")).await.unwrap()
    else {
        panic!("Create registers");
    };
    let client = template(&server)
        .client(&secrecy::SecretString::from(key_text(0)))
        .unwrap();
    sync_core::SyncEngine::builder(client, admin.clone())
        .store(store.clone())
        .build()
        .submit_batch((0..PER).map(|j| sync_core::CrmChange::relation(relation(0, j))))
        .await
        .unwrap();
    wait_for("the coupled administration to be synced", || async {
        let c = store.counts(&admin).await.unwrap();
        c.pending == 0 && c.done == PER as u64
    })
    .await;
    assert_exact(&server, 0, PER);
    assert!(fleet.held().contains(&admin));

    let outcome = onboarding.handle(&event("Delete")).await.unwrap();
    assert_eq!(
        outcome,
        CouplingOutcome::Removed {
            admin: admin.clone()
        }
    );
    assert!(
        !fleet.held().contains(&admin),
        "stopped before the key was destroyed"
    );
    assert_eq!(registry.lease_of(&admin).await.unwrap(), None);
    assert_eq!(registry.administration(&admin).await.unwrap(), None);
    stop.send(true).unwrap();
    task.await.unwrap();
}

/// Work queued by another engine on the same store (as a web intake does) is picked up at
/// once after `Fleet::wake`, not after the idle poll (an hour here, so only the wake can
/// explain it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wake_makes_an_idle_administration_due_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, registry) = open(&dir.path().join("fleet.sqlite")).await;
    let server = simulator(1).await;
    register_with_work(&server, &store, &registry, 0, &key_text(0), 2).await;
    let fleet = fleet(
        &server,
        store.clone(),
        registry.clone(),
        options("worker-a").idle_poll(std::time::Duration::from_secs(3600)),
    );
    let (stop, stopped) = stop_signal();
    let run = fleet.clone();
    let s = stopped();
    let task = tokio::spawn(async move { run.run(s).await });
    wait_for("the first relations, then idle", || async {
        finished(&store, 0, 2).await
            && fleet
                .status_of(&admin(0))
                .is_some_and(|s| s.activity == sync_core::fleet::Activity::Idle)
    })
    .await;
    queue_work(&server, &store, 0, &key_text(0), 4).await;
    fleet.wake(&admin(0));
    wait_for("the relations queued after the wake", || async {
        names_in(&server, 0).len() == 4
    })
    .await;
    assert_exact(&server, 0, 4);
    stop.send(true).unwrap();
    task.await.unwrap();
    assert_eq!(registry.lease_of(&admin(0)).await.unwrap(), None);
}
