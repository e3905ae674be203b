//! Benchmark of the fleet runner: N administrations (default 1,000), each with its own
//! koppelsleutel and SnelStart's test-key limits (100 calls a minute, 1,000 an hour, 5 at
//! once), each holding relations (default 50) and sales invoices with a PDF (default 20),
//! synced by 1, 2 and 4 worker processes sharing one PostgreSQL schema. Prints, per worker
//! count: wall time, calls per entity, 429 answers, each administration's call rate as a share
//! of its budget while it had work, fairness (slowest administration's finish ÷ median), the
//! scaling curve and the workers' CPU per call; and checks the end state (every record once,
//! in its own administration, written with its own key).
//!
//! ```text
//! cargo run --release -p sync-store-postgres --example fleet_bench -- \
//!     --administrations 1000 --workers 1,2,4 --time-scale 1
//! ```
//!
//! The simulator runs inside this (the coordinating) process, so it is one process serving
//! every administration; the workers are this same binary started with `--worker`. The
//! time-scale flag divides the simulator's and the clients' minute and hour windows alike
//! (printed), so a run against the scaled budget is faster without other changes. PostgreSQL:
//! `SNELSYNC_TEST_DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/test`; each run gets
//! a fresh schema, dropped afterwards.

#[path = "../../sync-store-sqlite/tests/fleet/scenarios.rs"]
mod scenarios;
#[path = "../tests/postgres/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use futures::StreamExt;
use scenarios::{
    key_text, queue_invoices, register_with_work, sealer, simulator_on, template_at,
    tenant_violations,
};
use snelstart_client::budget::BudgetConfig;
use snelstart_mock::MockConfig;
use sync_core::fleet::{EngineParts, Fleet, FleetOptions, FleetSetup};
use sync_core::registry::AdministrationRecord;
use sync_core::{EngineOptions, MemorySource, NoSink};
use sync_store_postgres::{PostgresOptions, PostgresRegistry, PostgresStore};

/// Runs the fleet benchmark (or, with `--worker`, one worker process of it).
#[derive(Debug, Parser)]
struct Args {
    /// Administrations, each with its own koppelsleutel and budget.
    #[arg(long, default_value_t = 1_000)]
    administrations: usize,
    /// Relations per administration.
    #[arg(long, default_value_t = 50)]
    relations: usize,
    /// Sales invoices with a PDF per administration (at most `relations`).
    #[arg(long, default_value_t = 20)]
    invoices: usize,
    /// Worker process counts to run, one run each.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2, 4])]
    workers: Vec<usize>,
    /// Divides the minute and hour windows (simulator and clients): 10 makes the minute 6 s.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Slices (administrations served at once) per worker process.
    #[arg(long, default_value_t = 32)]
    slices: usize,
    /// Items per slice (one engine batch).
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// Internal: run as a worker process with this specification.
    #[arg(long, hide = true)]
    worker: Option<String>,
}

/// What a worker process needs, `;`-separated on its command line.
struct WorkerSpec {
    id: String,
    schema: String,
    base_url: String,
    auth_url: String,
    subscription_key: String,
    max_administrations: usize,
    slices: usize,
    batch: usize,
    minute: Duration,
    hour: Duration,
    items_per_admin: u64,
}

impl WorkerSpec {
    fn encode(&self) -> String {
        format!(
            "{};{};{};{};{};{};{};{};{};{};{}",
            self.id,
            self.schema,
            self.base_url,
            self.auth_url,
            self.subscription_key,
            self.max_administrations,
            self.slices,
            self.batch,
            self.minute.as_millis(),
            self.hour.as_millis(),
            self.items_per_admin
        )
    }

    fn decode(text: &str) -> Result<Self, String> {
        let p: Vec<&str> = text.split(';').collect();
        let [
            id,
            schema,
            base,
            auth,
            sub,
            max,
            slices,
            batch,
            minute,
            hour,
            items,
        ] = p[..]
        else {
            return Err(format!("a worker spec has 11 fields: {text}"));
        };
        let num = |s: &str| s.parse::<u64>().map_err(|e| format!("{s}: {e}"));
        Ok(Self {
            id: id.to_owned(),
            schema: schema.to_owned(),
            base_url: base.to_owned(),
            auth_url: auth.to_owned(),
            subscription_key: sub.to_owned(),
            max_administrations: num(max)? as usize,
            slices: num(slices)? as usize,
            batch: num(batch)? as usize,
            minute: Duration::from_millis(num(minute)?),
            hour: Duration::from_millis(num(hour)?),
            items_per_admin: num(items)?,
        })
    }
}

/// The scenarios' setup (the simulator's mapping configuration) with benchmark tuning: one
/// batch of `batch` items per slice, at most 5 calls at once (the test key's limit).
struct BenchSetup {
    batch: usize,
}

impl FleetSetup for BenchSetup {
    type Source = MemorySource;
    type Sink = NoSink;

    fn engine_parts(
        &self,
        record: &AdministrationRecord,
    ) -> Result<EngineParts<MemorySource, NoSink>, String> {
        let parts = scenarios::Setup.engine_parts(record)?;
        let mut options = EngineOptions::default();
        options.batch_size = self.batch;
        options.concurrency = Some(5);
        Ok(parts.options(options))
    }
}

/// One administration's figures as a worker saw them.
#[derive(Clone, Copy, Debug, Default)]
struct AdminFigures {
    calls: u64,
    /// Unix milliseconds of the first slice that worked, and when its items were all done.
    started_ms: u64,
    finished_ms: u64,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// This process's CPU time (user + system), from `/proc/self/stat` (Linux; `None` elsewhere).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) (utime, stime), counted after the command name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// The `application_name` of a run's worker connections, so the coordinator can find their
/// PostgreSQL server processes and read their CPU time.
fn application_name(schema: &str) -> String {
    format!("fleet_bench_{schema}")
}

/// The database URL with `application_name` set (a URL or a key=value string).
fn url_with_application_name(url: &str, name: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}application_name={name}")
    } else {
        format!("{url} application_name={name}")
    }
}

/// CPU time (user + system) of a process by id, from `/proc/PID/stat` (Linux; `None` when
/// it is not readable, for example a PostgreSQL server on another machine).
fn cpu_time_of(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// The CPU the PostgreSQL server processes of this run's workers used so far (they live as
/// long as the workers' connection pools, which keep their connections).
async fn server_cpu(client: &tokio_postgres::Client, schema: &str) -> Option<(Duration, usize)> {
    let rows = client
        .query(
            "SELECT pid::text FROM pg_stat_activity WHERE application_name = $1",
            &[&application_name(schema)],
        )
        .await
        .ok()?;
    let mut total = Duration::ZERO;
    for row in &rows {
        total += cpu_time_of(row.get(0))?;
    }
    Some((total, rows.len()))
}

/// The load average (1, 5, 15 minutes) from `/proc/loadavg`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "n/a".to_owned())
}

async fn worker(spec: WorkerSpec) {
    let url = url_with_application_name(&support::database_url(), &application_name(&spec.schema));
    let store = PostgresStore::connect(
        &url,
        PostgresOptions::default()
            .schema(&spec.schema)
            .max_connections(6),
    )
    .await
    .expect("connect a worker's store");
    let registry = PostgresRegistry::new(&store).await.expect("registry");
    let template = template_at(&spec.base_url, &spec.auth_url, &spec.subscription_key)
        .budget(BudgetConfig::test_key().with_windows(spec.minute, spec.hour));
    let options = FleetOptions::new(spec.id.clone())
        .workers(spec.slices)
        .lease(Duration::from_secs(30))
        .max_administrations(spec.max_administrations)
        .idle_poll(Duration::from_millis(250));
    let fleet = Fleet::new(
        store,
        registry,
        sealer(),
        template,
        BenchSetup { batch: spec.batch },
        options,
    );
    let watch = fleet.clone();
    let expected = spec.items_per_admin;
    let seen: Arc<Mutex<BTreeMap<String, AdminFigures>>> = Arc::default();
    let record = Arc::clone(&seen);
    // Polls the fleet's own status: when each administration first worked, when all its
    // items were done, and its calls.
    let tracker = tokio::spawn(async move {
        loop {
            let now = unix_ms();
            let statuses = watch.status();
            {
                let mut seen = record.lock().unwrap_or_else(PoisonError::into_inner);
                for status in statuses {
                    let f = seen.entry(status.admin.to_string()).or_default();
                    let working =
                        status.slices > 0 || status.activity == sync_core::fleet::Activity::Working;
                    if f.started_ms == 0 && working {
                        f.started_ms = now;
                    }
                    if f.finished_ms == 0 && status.items >= expected {
                        f.finished_ms = now;
                    }
                    f.calls = status.api_calls;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let stop = async {
        let _ = tokio::task::spawn_blocking(|| {
            let mut byte = [0u8; 1];
            while std::io::stdin().read(&mut byte).is_ok_and(|n| n > 0) {}
        })
        .await;
    };
    fleet.run(stop).await;
    tracker.abort();
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(PoisonError::into_inner));
    let mut out = std::io::stdout().lock();
    for (admin, f) in seen {
        let _ = writeln!(
            out,
            "ADMIN {admin} {} {} {}",
            f.calls, f.started_ms, f.finished_ms
        );
    }
    let cpu = cpu_time().map_or(-1.0, |d| d.as_secs_f64());
    let _ = writeln!(out, "CPU {cpu}");
}

/// One run's figures.
struct RunFigures {
    workers: usize,
    wall: Duration,
    calls: u64,
    token_calls: u64,
    too_many: u64,
    shares: Vec<f64>,
    /// Each administration's time with work (first slice to last item), seconds, sorted.
    working: Vec<f64>,
    /// Administrations with at most 100 calls: never bound by the minute budget.
    unbound: usize,
    fairness: f64,
    worker_cpu: Option<Duration>,
    /// The PostgreSQL server processes serving the workers, and how many there were.
    server_cpu: Option<(Duration, usize)>,
    coordinator_cpu: Option<Duration>,
    load_before: String,
    load_after: String,
    violations: usize,
    failed: i64,
    /// API calls per method and route, most first: where the calls per entity go.
    routes: Vec<(String, u64)>,
}

/// Whether the bench schema has waiting or running work items: one probe of the partial index
/// of active items, cheap enough to ask ten times a second without taking the server's CPU
/// from the workers being measured (a full count reads every item).
async fn any_active(client: &tokio_postgres::Client, schema: &str) -> bool {
    client
        .query_one(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM \"{schema}\".work_items \
                  WHERE state IN ('pending', 'in_flight'))"
            ),
            &[],
        )
        .await
        .expect("progress query")
        .get(0)
}

/// Counts of the bench schema's work items: (active, done, failed or in review). Read straight
/// from the table (one query instead of one per administration while the workers run).
async fn progress(client: &tokio_postgres::Client, schema: &str) -> (i64, i64, i64) {
    let row = client
        .query_one(
            &format!(
                "SELECT count(*) FILTER (WHERE state IN ('pending', 'in_flight')), \
                        count(*) FILTER (WHERE state = 'done'), \
                        count(*) FILTER (WHERE state IN ('failed', 'needs_review')) \
                   FROM \"{schema}\".work_items"
            ),
            &[],
        )
        .await
        .expect("progress query");
    (row.get(0), row.get(1), row.get(2))
}

fn spawn_worker(spec: &WorkerSpec) -> Child {
    Command::new(std::env::current_exe().expect("this binary"))
        .args(["--worker", &spec.encode()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start a worker process")
}

async fn run(args: &Args, workers: usize) -> RunFigures {
    let n = args.administrations;
    let invoices = args.invoices.min(args.relations);
    let items_per_admin = (args.relations + 2 * invoices) as u64;
    let minute = Duration::from_secs_f64(60.0 / args.time_scale);
    let hour = Duration::from_secs_f64(3_600.0 / args.time_scale);
    let server = simulator_on(
        MockConfig::new()
            .with_rate_limits(100, 1_000, 5)
            .with_rate_limit_windows(minute, hour),
        n,
    )
    .await;
    let schema = support::fresh_schema();
    let store = support::open(&schema).await;
    let registry = PostgresRegistry::new(&store).await.expect("registry");
    let queued_at = Instant::now();
    futures::stream::iter(0..n)
        .for_each_concurrent(8, |i| {
            let (server, store, registry) = (&server, &store, &registry);
            async move {
                let key = key_text(i);
                register_with_work(server, store, registry, i, &key, args.relations).await;
                queue_invoices(server, store, i, &key, invoices).await;
            }
        })
        .await;
    println!(
        "  queued {} items for {n} administrations in {:.1} s",
        n * (args.relations + invoices),
        queued_at.elapsed().as_secs_f64()
    );
    let (db, connection) = tokio_postgres::connect(&support::database_url(), tokio_postgres::NoTls)
        .await
        .expect("connect for progress");
    tokio::spawn(connection);

    let coordinator_cpu_before = cpu_time();
    let started = Instant::now();
    let started_ms = unix_ms();
    let mut children: Vec<Child> = (0..workers)
        .map(|w| {
            spawn_worker(&WorkerSpec {
                id: format!("bench-worker-{w}"),
                schema: schema.clone(),
                base_url: server.base_url(),
                auth_url: server.auth_url(),
                subscription_key: server.subscription_key().to_owned(),
                max_administrations: n.div_ceil(workers),
                slices: args.slices,
                batch: args.batch,
                minute,
                hour,
                items_per_admin,
            })
        })
        .collect();
    let total_items = (n as u64 * items_per_admin) as i64;
    let mut last_print = Instant::now();
    let load_before = load_average();
    let failed = loop {
        let finished = !any_active(&db, &schema).await;
        let print = last_print.elapsed() >= Duration::from_secs(10);
        if finished || print {
            let (active, done, bad) = progress(&db, &schema).await;
            if active == 0 && done + bad >= total_items {
                break bad;
            }
            if print {
                println!(
                    "  {:>5.0} s: {done} of {total_items} items done, {active} active",
                    started.elapsed().as_secs_f64()
                );
                last_print = Instant::now();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(3 * 3_600),
            "the run did not finish in 3 hours"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let wall = started.elapsed();
    let load_after = load_average();
    // Before the workers stop: their connections (and server processes) end with them.
    let server_cpu = server_cpu(&db, &schema).await;
    let coordinator_cpu = coordinator_cpu_before
        .zip(cpu_time())
        .map(|(before, after)| after.saturating_sub(before));

    let mut figures: BTreeMap<String, AdminFigures> = BTreeMap::new();
    let mut worker_cpu = Some(Duration::ZERO);
    for child in &mut children {
        drop(child.stdin.take());
    }
    for child in children {
        let output = child.wait_with_output().expect("worker output");
        let mut cpu_seen = false;
        for line in output.stdout.lines().map_while(Result::ok) {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts[..] {
                ["ADMIN", admin, calls, from, to] => {
                    let f = figures.entry(admin.to_owned()).or_default();
                    f.calls += calls.parse::<u64>().unwrap_or(0);
                    let (from, to) = (from.parse().unwrap_or(0), to.parse().unwrap_or(0));
                    f.started_ms = if f.started_ms == 0 {
                        from
                    } else {
                        f.started_ms.min(from)
                    };
                    f.finished_ms = f.finished_ms.max(to);
                }
                ["CPU", secs] => {
                    cpu_seen = true;
                    let secs: f64 = secs.parse().unwrap_or(-1.0);
                    worker_cpu = worker_cpu
                        .zip((secs >= 0.0).then(|| Duration::from_secs_f64(secs)))
                        .map(|(a, b)| a + b);
                }
                _ => {}
            }
        }
        if !cpu_seen {
            worker_cpu = None;
        }
    }
    let stats = server.stats();
    let token_calls = stats.count("POST", "/b2b/token");
    let calls = stats.total() - token_calls;
    let too_many = stats.with_status(429);
    let mut routes: BTreeMap<String, u64> = BTreeMap::new();
    for e in stats.entries.iter().filter(|e| e.route.starts_with("/v2/")) {
        *routes
            .entry(format!("{} {}", e.method, e.route))
            .or_default() += e.count;
    }
    let mut routes: Vec<(String, u64)> = routes.into_iter().collect();
    routes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    // The budget allows 100 calls in any minute window, so an administration making `c`
    // calls cannot finish before (ceil(c / 100) - 1) windows have passed: that is the time
    // the budget alone needs. Its share of the budget while it had work is that time over the
    // time it actually had work (first slice to last item). At most 100 calls are not bound by
    // the minute budget at all (only by the 5 at once): those administrations are counted.
    let shares: Vec<f64> = figures
        .values()
        .filter(|f| f.calls > 100 && f.finished_ms > f.started_ms)
        .map(|f| {
            let budget_bound = ((f.calls - 1) / 100) as f64 * minute.as_millis() as f64;
            budget_bound / (f.finished_ms - f.started_ms) as f64
        })
        .collect();
    let unbound = figures.values().filter(|f| f.calls <= 100).count();
    let mut working: Vec<f64> = figures
        .values()
        .map(|f| f.finished_ms.saturating_sub(f.started_ms) as f64 / 1e3)
        .collect();
    working.sort_by(f64::total_cmp);
    let mut finishes: Vec<u64> = figures
        .values()
        .map(|f| f.finished_ms.saturating_sub(started_ms))
        .collect();
    finishes.sort_unstable();
    let fairness = match (finishes.last(), finishes.get(finishes.len() / 2)) {
        (Some(&slowest), Some(&median)) if median > 0 => slowest as f64 / median as f64,
        _ => f64::NAN,
    };
    let keys: Vec<String> = (0..n).map(key_text).collect();
    let violations = tenant_violations(&server, &keys, args.relations, invoices).len();
    if figures.len() != n {
        println!(
            "  note: the workers reported figures for {} of {n} administrations",
            figures.len()
        );
    }
    drop(store);
    support::drop_schema(&schema).await;
    server.shutdown().await;
    RunFigures {
        workers,
        wall,
        calls,
        token_calls,
        too_many,
        shares,
        working,
        unbound,
        fairness,
        worker_cpu,
        server_cpu,
        coordinator_cpu,
        load_before,
        load_after,
        violations,
        failed,
        routes,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Some(spec) = &args.worker {
        match WorkerSpec::decode(spec) {
            Ok(spec) => worker(spec).await,
            Err(e) => {
                eprintln!("fleet_bench worker: {e}");
                std::process::exit(2);
            }
        }
        return;
    }
    let invoices = args.invoices.min(args.relations);
    let entities = args.administrations * (args.relations + invoices);
    println!(
        "fleet_bench: {} administrations x ({} relations + {invoices} invoices with a PDF) = \
         {entities} entities; test-key limits 100/min, 1,000/h, 5 at once per administration; \
         time scale {} (minute window {:.1} s, hour window {:.0} s); {} slices x {} items per \
         worker process; {} cores",
        args.administrations,
        args.relations,
        args.time_scale,
        60.0 / args.time_scale,
        3_600.0 / args.time_scale,
        args.slices,
        args.batch,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let mut results = Vec::new();
    for &workers in &args.workers {
        println!("run with {workers} worker process(es):");
        let r = run(&args, workers.max(1)).await;
        let mut shares = r.shares.clone();
        shares.sort_by(f64::total_cmp);
        let per_call = |cpu: Option<Duration>| {
            cpu.map(|c| format!("{:.0} µs", c.as_secs_f64() * 1e6 / r.calls.max(1) as f64))
                .unwrap_or_else(|| "n/a".to_owned())
        };
        let cpu_per_call = per_call(r.worker_cpu);
        let server = match r.server_cpu {
            Some((cpu, processes)) => format!(
                "{:.1} s in {processes} server processes ({} per call)",
                cpu.as_secs_f64(),
                per_call(Some(cpu))
            ),
            None => "n/a".to_owned(),
        };
        println!(
            "  wall {:.1} s; {} API calls ({:.3} per entity) + {} token calls; {} answers 429; \
             budget share while working: median {:.1} %, 5th percentile {:.1} %, min {:.1} % \
             ({} administrations made at most 100 calls: not bound by the budget); \
             fairness (slowest finish / median) {:.2}; worker CPU {} ({cpu_per_call} per call); \
             PostgreSQL CPU for the workers {server}; simulator + coordinator CPU {}; {} items \
             failed; isolation violations {}; load average {} at the start, {} at the end",
            r.wall.as_secs_f64(),
            r.calls,
            r.calls as f64 / entities.max(1) as f64,
            r.token_calls,
            r.too_many,
            percentile(&shares, 0.5) * 100.0,
            percentile(&shares, 0.05) * 100.0,
            shares.first().copied().unwrap_or(f64::NAN) * 100.0,
            r.unbound,
            r.fairness,
            r.worker_cpu
                .map_or("n/a".to_owned(), |c| format!("{:.1} s", c.as_secs_f64())),
            r.coordinator_cpu
                .map_or("n/a".to_owned(), |c| format!("{:.1} s", c.as_secs_f64())),
            r.failed,
            r.violations,
            r.load_before,
            r.load_after,
        );
        let per_admin = |n: u64| n as f64 / args.administrations.max(1) as f64;
        let routes: Vec<String> = r
            .routes
            .iter()
            .map(|(route, n)| format!("{route} {:.1}", per_admin(*n)))
            .collect();
        println!("  calls per administration by route: {}", routes.join("; "));
        // An administration with at most 100 calls never waits for its minute budget: its
        // time with work is the fleet's doing alone (a budget share is not defined for it).
        println!(
            "  time an administration had work (first slice to last item): median {:.1} s, \
             95th percentile {:.1} s, max {:.1} s (the minute budget alone needs {:.1} s for \
             more than 100 calls, nothing for at most 100)",
            percentile(&r.working, 0.5),
            percentile(&r.working, 0.95),
            r.working.last().copied().unwrap_or(f64::NAN),
            60.0 / args.time_scale,
        );
        results.push(r);
    }
    println!("scaling (wall time, speed-up against the first run):");
    let base = results.first().map(|r| r.wall.as_secs_f64());
    for r in &results {
        let secs = r.wall.as_secs_f64();
        println!(
            "  {} worker process(es): {secs:.1} s, {:.0} calls/s, speed-up {:.2}",
            r.workers,
            r.calls as f64 / secs,
            base.map_or(f64::NAN, |b| b / secs)
        );
    }
    let _ = std::io::stdout().flush();
}
