//! Kill -9 of a real worker process: three worker processes run fleets on one PostgreSQL
//! schema against the simulator (in this test's process, on 127.0.0.1); one of them is killed
//! with SIGKILL mid-run. Its administrations continue on the others once its leases expire,
//! and the end state read back from the simulator is exact by natural key.
//!
//! The worker processes are this test binary itself, started again with only
//! [`fleet_worker_process`] selected and its parameters in the environment: no other binary
//! has to be built first, and the worker runs exactly the fleet of the in-process scenarios.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use snelstart_mock::MockConfig;
use sync_core::registry::AdministrationLeases;
use sync_core::store::QueueStore;

use crate::fleet::handle;
use crate::fleet::scenarios::*;
use crate::support::Schemas;

/// The environment variable carrying a worker's parameters (see [`WorkerSpec`]).
const WORKER_ENV: &str = "SNELSYNC_TEST_FLEET_WORKER";

/// A worker process's parameters, `;`-separated in [`WORKER_ENV`].
struct WorkerSpec {
    worker: String,
    schema: String,
    base_url: String,
    auth_url: String,
    subscription_key: String,
    lease: Duration,
    max_administrations: usize,
}

impl WorkerSpec {
    fn encode(&self) -> String {
        format!(
            "{};{};{};{};{};{};{}",
            self.worker,
            self.schema,
            self.base_url,
            self.auth_url,
            self.subscription_key,
            self.lease.as_millis(),
            self.max_administrations
        )
    }

    fn decode(text: &str) -> Self {
        let parts: Vec<&str> = text.split(';').collect();
        assert_eq!(parts.len(), 7, "a worker spec has 7 fields: {text}");
        Self {
            worker: parts[0].to_owned(),
            schema: parts[1].to_owned(),
            base_url: parts[2].to_owned(),
            auth_url: parts[3].to_owned(),
            subscription_key: parts[4].to_owned(),
            lease: Duration::from_millis(parts[5].parse().expect("lease in ms")),
            max_administrations: parts[6].parse().expect("max administrations"),
        }
    }
}

/// The entry point of a worker process started by
/// [`a_killed_worker_process_is_taken_over_by_the_others`] (ignored: it is not a test of its
/// own). It runs a fleet until its standard input closes (the parent ended) or it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a worker process of the kill -9 test, started by it"]
async fn fleet_worker_process() {
    let Ok(spec) = std::env::var(WORKER_ENV) else {
        eprintln!("{WORKER_ENV} is not set: this entry point only runs as the kill test's worker");
        return;
    };
    let spec = WorkerSpec::decode(&spec);
    let (store, registry) = handle(&spec.schema).await;
    let fleet = sync_core::Fleet::new(
        store,
        registry,
        sealer(),
        template_at(&spec.base_url, &spec.auth_url, &spec.subscription_key),
        Setup,
        options(&spec.worker)
            .lease(spec.lease)
            .max_administrations(spec.max_administrations),
    );
    let parent_gone = async {
        let _ = tokio::task::spawn_blocking(|| {
            let mut byte = [0u8; 1];
            while std::io::stdin().read(&mut byte).is_ok_and(|n| n > 0) {}
        })
        .await;
    };
    fleet.run(parent_gone).await;
}

/// Worker processes, killed when dropped (also when the test fails).
struct Workers(Vec<(String, Option<Child>)>);

impl Workers {
    fn start(specs: &[WorkerSpec]) -> Self {
        let exe = std::env::current_exe().expect("the test binary");
        Self(
            specs
                .iter()
                .map(|spec| {
                    let child = Command::new(&exe)
                        .args([
                            "--exact",
                            "fleet_processes::fleet_worker_process",
                            "--ignored",
                            "--nocapture",
                            "--test-threads=1",
                        ])
                        .env(WORKER_ENV, spec.encode())
                        .stdin(Stdio::piped())
                        .stdout(Stdio::null())
                        .stderr(Stdio::inherit())
                        .spawn()
                        .expect("start a worker process");
                    (spec.worker.clone(), Some(child))
                })
                .collect(),
        )
    }

    /// SIGKILL: no release of leases, no last words.
    fn kill(&mut self, worker: &str) {
        let (_, child) = self
            .0
            .iter_mut()
            .find(|(w, _)| w == worker)
            .expect("a known worker");
        let mut child = child.take().expect("alive");
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reaped");
        assert!(!status.success(), "killed, not ended: {status:?}");
    }

    /// Closes the survivors' standard input: they stop in order and release their leases.
    fn stop(&mut self) {
        for (_, child) in &mut self.0 {
            if let Some(mut c) = child.take() {
                drop(c.stdin.take());
                let _ = c.wait();
            }
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            if let Some(c) = child.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// Three worker processes share six administrations; the one holding most unfinished work is
/// killed with SIGKILL. Checked: every one of its administrations is leased by a surviving
/// worker with a higher fencing token, only after the dead lease expired, and has new records
/// in the simulator; the time that took is printed (a figure: a wall-time bound flakes on a
/// loaded machine). End state: every relation exactly once, by name, in its own
/// administration; no item failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_process_is_taken_over_by_the_others() {
    const N: usize = 6;
    const PER: usize = 40;
    const LEASE: Duration = Duration::from_secs(3);
    let schemas = Schemas::default();
    let first = schemas.store().await;
    schemas
        .run(async {
            let schema = first.schema().to_owned();
            let (store, registry) = handle(&schema).await;
            // Latency per call stretches the run to several seconds, so the kill is mid-run.
            let server =
                simulator_on(MockConfig::new().with_latency(Duration::from_millis(30)), N).await;
            for i in 0..N {
                register_with_work(&server, &store, &registry, i, &key_text(i), PER).await;
            }
            let specs: Vec<WorkerSpec> = (0..3)
                .map(|w| WorkerSpec {
                    worker: format!("process-{w}"),
                    schema: schema.clone(),
                    base_url: server.base_url(),
                    auth_url: server.auth_url(),
                    subscription_key: server.subscription_key().to_owned(),
                    lease: LEASE,
                    // Room for a dead worker's administrations beside their own.
                    max_administrations: N / 2,
                })
                .collect();
            let mut workers = Workers::start(&specs);

            // Every administration leased and some work done everywhere, none finished.
            wait_for(
                "the workers to lease every administration and write",
                || async {
                    for i in 0..N {
                        if registry.lease_of(&admin(i)).await.unwrap().is_none()
                            || names_in(&server, i).len() < 2
                        {
                            return false;
                        }
                    }
                    true
                },
            )
            .await;
            let mut held: Vec<(String, Vec<usize>)> = Vec::new();
            for i in 0..N {
                let lease = registry.lease_of(&admin(i)).await.unwrap().unwrap();
                match held.iter_mut().find(|(w, _)| *w == lease.holder) {
                    Some((_, admins)) => admins.push(i),
                    None => held.push((lease.holder.clone(), vec![i])),
                }
            }
            held.sort_by_key(|(_, admins)| std::cmp::Reverse(admins.len()));
            let (victim, victims) = held[0].clone();
            let mut fences = Vec::new();
            for &i in &victims {
                fences.push(registry.lease_of(&admin(i)).await.unwrap().unwrap().fence);
            }

            workers.kill(&victim);
            let killed_at = Instant::now();
            // The dead worker renews no more: its leases as they stand now are its last. (A
            // renewal it sent just before dying may still land; that only makes them later.)
            let mut dead_until = Vec::new();
            for &i in &victims {
                let lease = registry.lease_of(&admin(i)).await.unwrap();
                dead_until.push(lease.filter(|l| l.holder == victim).map(|l| l.expires_at));
            }
            let written_at_kill: Vec<usize> = victims
                .iter()
                .map(|&i| names_in(&server, i).len())
                .collect();
            for (k, &i) in victims.iter().enumerate() {
                assert!(
                    written_at_kill[k] < PER,
                    "administration {i} was unfinished when {victim} was killed"
                );
            }

            // The lease protocol, not wall time (a loaded machine stretches any wall-time
            // bound): every administration of the dead worker is taken by a survivor with a
            // higher fencing token, only after the dead lease expired, and its work goes on
            // there. How long that took is printed, not asserted; fleet_bench measures the
            // takeover at scale.
            let mut continued: Vec<Option<Duration>> = vec![None; victims.len()];
            // Bounded polling (a minute and more: a give-up, not a timing goal).
            for _ in 0..3_000 {
                for (k, &i) in victims.iter().enumerate() {
                    if continued[k].is_some() {
                        continue;
                    }
                    let Some(lease) = registry.lease_of(&admin(i)).await.unwrap() else {
                        continue;
                    };
                    if lease.holder == victim || names_in(&server, i).len() <= written_at_kill[k] {
                        continue;
                    }
                    assert!(
                        lease.fence > fences[k],
                        "administration {i} taken over by {} with fence {}, not above the \
                             dead worker's {}",
                        lease.holder,
                        lease.fence,
                        fences[k]
                    );
                    // Taken at some time t >= the dead lease's expiry, for LEASE from t
                    // (renewals only move it later).
                    if let Some(until) = dead_until[k] {
                        assert!(
                            lease.expires_at >= until + chrono::TimeDelta::from_std(LEASE).unwrap(),
                            "administration {i} was taken over before the dead lease \
                                 expired: the new lease ends {}, the dead one ended {until}",
                            lease.expires_at
                        );
                    }
                    continued[k] = Some(killed_at.elapsed());
                }
                if continued.iter().all(Option::is_some) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let continued: Vec<Duration> = continued
                .into_iter()
                .map(|c| c.expect("every administration of the killed worker continued"))
                .collect();
            eprintln!(
                "kill -9 of {victim} (holding administrations {victims:?}, lease {LEASE:?}): \
                 continued on the others after {continued:?} (a figure, not a bound)"
            );

            wait_for("every administration to be finished", || {
                all_finished(&store, N, PER)
            })
            .await;
            workers.stop();
            for i in 0..N {
                assert_exact(&server, i, PER);
                let c = store.counts(&admin(i)).await.unwrap();
                assert_eq!(
                    (c.done, c.failed, c.needs_review),
                    (PER as u64, 0, 0),
                    "{c:?}"
                );
                assert_eq!(
                    registry.lease_of(&admin(i)).await.unwrap(),
                    None,
                    "the survivors released their leases on an orderly stop"
                );
            }
            let keys: Vec<String> = (0..N).map(key_text).collect();
            let violations = tenant_violations(&server, &keys, PER, 0);
            assert!(violations.is_empty(), "{violations:#?}");
        })
        .await;
}
