//! Benchmark of the engine's initial sync against the simulator, printing its figures.
//!
//! ```sh
//! cargo run --release --example sync_bench                      # 10,000 relations + 1,000 projects, limits off
//! cargo run --release --example sync_bench -- --limited         # the test-key budget, 60x faster
//! cargo run --release --example sync_bench -- --relations 2000 --projects 200
//! ```
//!
//! The CRM dataset is generated and queued 5,000 records at a time (`--chunk`), as a host
//! streams its export, so the bench's own dataset is not in the engine's memory figures; the
//! time the bench spends generating it is not counted in any figure.
//!
//! **Unlimited** (default): the simulator has no limits; the engine runs with SQLite state
//! (NORMAL durability) in a temporary folder. Prints wall time, SnelStart calls per entity
//! (target: one write per new entity plus one read per 500 existing, no per-record look-ups)
//! and peak memory of the process (simulator included).
//!
//! **Simulator in its own process** (`--simulator-process target/release/snelstart-mock`):
//! the engine's peak memory is then this process's alone, and the simulator's is printed
//! apart (build it first: `cargo build --release -p snelstart-mock`).
//!
//! **Limited** (`--limited`): the simulator enforces the test key's budget scaled 60 times in
//! speed (100 calls per *second*, 5 at once) and the client is configured with the same
//! budget. Prints the call rate the engine sustains as a share of the limit (target: at least
//! 95 %) and the number of 429 answers (target: none).

use std::time::{Duration, Instant};

use clap::Parser;
use snelstart_mock::{MockConfig, MockServer, Stats};
use snelstart_sync::client::Client;
use snelstart_sync::client::budget::BudgetConfig;
use snelstart_sync::crm::{Address, Contact, Project, Relation, RelationKind};
use snelstart_sync::engine::store::{AdminKey, EntityKind};
use snelstart_sync::engine::{Action, CrmChange, EngineOptions, MemorySource, NoSink, SyncEngine};
use snelstart_sync::mapping::config::{MappingConfig, RelatiecodePolicy};
use snelstart_sync::sqlite::{SqliteOptions, SqliteStore, Synchronous};

#[derive(Parser)]
struct Args {
    /// CRM relations to sync.
    #[arg(long, default_value_t = 10_000)]
    relations: u32,
    /// CRM projects to sync.
    #[arg(long, default_value_t = 1_000)]
    projects: u32,
    /// Run against a rate-limited simulator (100 calls per second, 5 concurrent).
    #[arg(long)]
    limited: bool,
    /// Run the simulator as this `snelstart-mock` binary in its own process, so the peak
    /// memory printed for this process is the engine's alone.
    #[arg(long)]
    simulator_process: Option<std::path::PathBuf>,
    /// Keep the SQLite state file after the run (its path is printed), to look inside
    /// (`sqlite3`, the `dbstat` table) at where the disk writes went.
    #[arg(long)]
    keep_state: bool,
    /// Items claimed per batch (`EngineOptions::batch_size`).
    #[arg(long, default_value_t = 200)]
    batch_size: usize,
    /// Items run at once (`EngineOptions::concurrency`); the engine's own choice without it.
    #[arg(long)]
    concurrency: Option<usize>,
    /// CRM records generated and queued at a time, as a host streams its export (0: the
    /// whole dataset generated first and queued in one batch, as before).
    #[arg(long, default_value_t = 5_000)]
    chunk: u32,
}

/// The simulator: in this process, or a `snelstart-mock` process of its own.
enum Simulator {
    InProcess(MockServer),
    Process {
        child: std::process::Child,
        base_url: String,
        auth_url: String,
        subscription_key: String,
        client_key: String,
    },
}

impl Simulator {
    async fn start(
        config: MockConfig,
        binary: Option<&std::path::Path>,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let Some(binary) = binary else {
            return Ok(Self::InProcess(MockServer::start(config).await?));
        };
        use std::io::BufRead;
        // Keys of this run only: the simulator refuses nothing on loopback, but public
        // default keys are not needed here.
        let subscription_key = format!("bench-sub-{}", std::process::id());
        let client_key = format!("bench-key-{}", std::process::id());
        let limits = config.rate_limits;
        let mut child = std::process::Command::new(binary)
            .args(["--addr", "127.0.0.1:0"])
            .args(["--rate-limit-per-minute", &limits.per_minute.to_string()])
            .args(["--rate-limit-per-hour", &limits.per_hour.to_string()])
            .args(["--max-concurrent", &limits.concurrent.to_string()])
            .env("SNELSTART_MOCK_SUBSCRIPTION_KEY", &subscription_key)
            .env("SNELSTART_MOCK_CLIENT_KEY", &client_key)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout of the simulator")?;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let (mut base_url, mut auth_url) = (None, None);
        for line in lines.by_ref().take(10) {
            let line = line?;
            if let Some(url) = line.strip_prefix("snelstart-mock API base URL:") {
                base_url = Some(url.trim().to_owned());
            } else if let Some(url) = line.strip_prefix("snelstart-mock token URL:") {
                auth_url = Some(url.trim().to_owned());
            }
            if base_url.is_some() && auth_url.is_some() {
                break;
            }
        }
        let (Some(base_url), Some(auth_url)) = (base_url, auth_url) else {
            let _ = child.kill();
            return Err("the simulator process printed no URLs".into());
        };
        // Keep reading what it prints: a closed pipe would fail its next line.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self::Process {
            child,
            base_url,
            auth_url,
            subscription_key,
            client_key,
        })
    }

    fn client(&self, budget: BudgetConfig) -> Result<Client, Box<dyn std::error::Error>> {
        let builder = Client::builder().rate_budget(budget);
        let builder = match self {
            Self::InProcess(server) => builder
                .base_url(server.base_url())
                .auth_url(server.auth_url())
                .subscription_key(server.subscription_key())
                .koppelsleutel(server.client_key()),
            Self::Process {
                base_url,
                auth_url,
                subscription_key,
                client_key,
                ..
            } => builder
                .base_url(base_url.as_str())
                .auth_url(auth_url.as_str())
                .subscription_key(subscription_key.as_str())
                .koppelsleutel(client_key.as_str()),
        };
        Ok(builder.build()?)
    }

    /// The simulator's request counters (over HTTP for a process of its own).
    async fn stats(&self) -> Result<Stats, Box<dyn std::error::Error>> {
        match self {
            Self::InProcess(server) => Ok(server.stats()),
            Self::Process {
                base_url,
                subscription_key,
                ..
            } => {
                let root = base_url.trim_end_matches('/').trim_end_matches("/v2");
                Ok(reqwest::Client::new()
                    .get(format!("{root}/_mock/stats"))
                    .header("Ocp-Apim-Subscription-Key", subscription_key.as_str())
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?)
            }
        }
    }

    /// CPU time (user + system) of the simulator's own process so far, when it has one.
    fn own_cpu_seconds(&self) -> Option<f64> {
        match self {
            Self::InProcess(_) => None,
            Self::Process { child, .. } => cpu_seconds_of(&format!("/proc/{}/stat", child.id())),
        }
    }

    /// Peak memory of the simulator's own process, when it has one.
    fn own_peak_mib(&self) -> Option<f64> {
        match self {
            Self::InProcess(_) => None,
            Self::Process { child, .. } => {
                peak_memory_mib_of(&format!("/proc/{}/status", child.id()))
            }
        }
    }

    async fn shutdown(self) {
        match self {
            Self::InProcess(server) => server.shutdown().await,
            Self::Process { mut child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The bench's CRM relation number `i`: the same record for the same `i` in every run and
/// whatever the chunk it is generated in.
fn relation(i: u32) -> Relation {
    let mut r = Relation::new(
        format!("crm-{i}"),
        if i.is_multiple_of(5) {
            RelationKind::Supplier
        } else {
            RelationKind::Customer
        },
        format!("Benchmark Handelmaatschappij {i:05} B.V."),
    );
    r.number = Some((100_000 + i).to_string());
    r.kvk_number = Some(format!("{:08}", 50_000_000 + i).parse().unwrap());
    r.visit_address = Some(Address::dutch(
        "Handelsweg",
        (i % 300 + 1).to_string(),
        "1011 AB",
        "Amsterdam",
    ));
    r.email = Some(format!("info@bench{i}.nl").parse().unwrap());
    r.phone = Some(format!("020-{:07}", 1_000_000 + i));
    let mut c = Contact::named(format!("Contact {i}"));
    c.role = Some("Financiële administratie".into());
    r.contacts = vec![c, Contact::named(format!("Directeur {i}"))];
    r
}

/// The bench's CRM project number `p`.
fn project(p: u32) -> Project {
    Project::new(
        format!("prj-{p}"),
        format!("B{:05}", 10_000 + p),
        format!("Benchproject {p}"),
    )
}

/// How long queueing took, the bench's own generating of the dataset left out.
struct Queued {
    /// Wall time inside `submit_batch`.
    wall: Duration,
    /// CPU time of the process inside `submit_batch` (`/proc/self/stat`, summed per chunk).
    cpu: Option<f64>,
    /// Wall time the bench spent generating its dataset (not the engine's).
    generating: Duration,
}

/// Queues the bench's whole CRM (`relations` relations, then `projects` projects) the way a
/// host streams its export: `chunk` records generated and submitted at a time, each chunk
/// dropped before the next is made (0: all in one batch). Records do not depend on each
/// other, so the chunks queue exactly what one batch of everything would; only the bench's
/// own memory differs: a 100,000-relation dataset held whole (and its changes) left a few
/// hundred MiB the allocator keeps, counted in the engine's peak although the engine never
/// held it. Only the time inside `submit_batch` counts as queueing.
async fn queue_dataset(
    engine: &SyncEngine<SqliteStore, MemorySource, NoSink>,
    relations: u32,
    projects: u32,
    chunk: u32,
) -> Result<Queued, Box<dyn std::error::Error>> {
    let chunk = if chunk == 0 { u32::MAX } else { chunk };
    let total = u64::from(relations) + u64::from(projects);
    let mut queued = Queued {
        wall: Duration::ZERO,
        cpu: Some(0.0),
        generating: Duration::ZERO,
    };
    let mut start = 0u64;
    while start < total {
        let end = (start + u64::from(chunk)).min(total);
        let rel = |at: u64| at.min(u64::from(relations)) as u32;
        let prj = |at: u64| at.saturating_sub(u64::from(relations)) as u32;
        let generating = Instant::now();
        let changes: Vec<CrmChange> = (rel(start)..rel(end))
            .map(|i| CrmChange::relation(relation(i)))
            .chain((prj(start)..prj(end)).map(|p| CrmChange::project(project(p))))
            .collect();
        queued.generating += generating.elapsed();
        let (cpu_before, submitting) = (cpu_seconds(), Instant::now());
        engine.submit_batch(changes).await?;
        queued.wall += submitting.elapsed();
        queued.cpu = match (queued.cpu, cpu_before, cpu_seconds()) {
            (Some(sum), Some(before), Some(after)) => Some(sum + after - before),
            _ => None,
        };
        start = end;
    }
    Ok(queued)
}

/// A field of `/proc/self/io` (`write_bytes`: bytes this process caused to be written to the
/// storage layer; `wchar`: bytes passed to write calls, page cache included).
fn proc_io(field: &str) -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    let line = io.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time (user + system) of this process so far, in seconds (`/proc/self/stat`, clock
/// ticks of 1/100 s as Linux reports them to user space).
fn cpu_seconds() -> Option<f64> {
    cpu_seconds_of("/proc/self/stat")
}

/// CPU time (user + system) of the process whose `stat` file this is, in seconds.
fn cpu_seconds_of(stat_file: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_file).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The 1-minute load average: how busy the machine was (other processes included).
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Restarts this process's peak resident memory (`VmHWM`) at its current size (Linux: `5`
/// to `/proc/self/clear_refs`); false where that is not possible.
fn reset_peak_memory() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn peak_memory_mib() -> Option<f64> {
    peak_memory_mib_of("/proc/self/status")
}

/// `VmHWM` of a process's `status` file, in MiB.
fn peak_memory_mib_of(status_file: &str) -> Option<f64> {
    let status = std::fs::read_to_string(status_file).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let (mock_config, budget) = if args.limited {
        let window = (Duration::from_secs(1), Duration::from_secs(3_600));
        (
            MockConfig::new()
                .with_rate_limits(100, 1_000_000, 5)
                .with_rate_limit_windows(window.0, window.1),
            BudgetConfig::custom(100, 0, 5).with_windows(window.0, window.1),
        )
    } else {
        (MockConfig::new(), BudgetConfig::unlimited())
    };
    if args.limited && args.simulator_process.is_some() {
        // The binary has no flag for the shortened windows the limited mode needs.
        return Err(
            "--limited runs the simulator in this process; drop --simulator-process".into(),
        );
    }
    let server = Simulator::start(mock_config, args.simulator_process.as_deref()).await?;
    let client = server.client(budget)?;
    let dir = std::env::temp_dir().join(format!("snelsync-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = SqliteStore::open_with(
        dir.join("state.sqlite"),
        SqliteOptions::default().synchronous(Synchronous::Normal),
    )?;
    let mut config = MappingConfig::default_for_mock();
    config.relatiecode = RelatiecodePolicy::FromCrmNumber {
        fallback_to_snelstart: false,
    };
    let mut options = EngineOptions::default();
    options.batch_size = args.batch_size;
    options.concurrency = args.concurrency;
    let engine = SyncEngine::with_options(
        client.clone(),
        store,
        MemorySource::default(),
        NoSink,
        AdminKey::new("bench"),
        config,
        options,
        snelstart_sync::engine::Clock::system(),
    );
    let entities = u64::from(args.relations + args.projects);

    let load_before = load_average();
    let (bytes_before, wchar_before) = (proc_io("write_bytes:"), proc_io("wchar:"));
    let started = Instant::now();
    let queueing = queue_dataset(&engine, args.relations, args.projects, args.chunk).await?;
    let queued = queueing.wall;
    let cpu_queued = cpu_seconds();
    let simulator_cpu_queued = server.own_cpu_seconds();
    // The bench's own dataset is not the engine's memory: it was generated a chunk at a
    // time and dropped; restart the peak, so the processing peak below is the engine's alone.
    let peak_reset = reset_peak_memory();
    let report = engine.run_until_idle(Duration::from_secs(3_600)).await?;
    let wall = started.elapsed() - queueing.generating;
    let processing_peak = peak_reset.then(peak_memory_mib).flatten();
    let cpu_after = cpu_seconds();
    let simulator_cpu_after = server.own_cpu_seconds();
    let (bytes_after, wchar_after) = (proc_io("write_bytes:"), proc_io("wchar:"));

    let stats = server.stats().await?;
    let reads = stats.total() - stats.writes();
    let created = report.total(Action::Created);
    println!("{report}");
    println!(
        "initial sync of {} relations and {} projects: {:.2} s wall ({:.2} s queueing), {:.0} \
         entities/s (the bench generating its dataset, {:.2} s, not counted)",
        args.relations,
        args.projects,
        wall.as_secs_f64(),
        queued.as_secs_f64(),
        entities as f64 / wall.as_secs_f64(),
        queueing.generating.as_secs_f64(),
    );
    println!(
        "SnelStart calls: {} total = {} writes ({:.3} per entity) + {} reads ({:.4} per entity); 429 answers: {}",
        stats.total(),
        stats.writes(),
        stats.writes() as f64 / entities as f64,
        reads,
        reads as f64 / entities as f64,
        stats.with_status(429),
    );
    assert_eq!(
        created,
        entities,
        "every entity created once ({} relations, {} cost centres)",
        report.count(EntityKind::Relation, Action::Created),
        report.count(EntityKind::CostCentre, Action::Created)
    );
    if args.limited {
        let overall = stats.total() as f64 / wall.as_secs_f64();
        let processing = report.api_calls as f64 / report.elapsed.as_secs_f64();
        println!(
            "sustained {processing:.1} calls/s while processing ({overall:.1} calls/s including \
             queueing) against a limit of 100/s: {processing:.1} % of the budget; {} throttled",
            stats.with_status(429)
        );
    }
    let processing = wall - queued;
    println!(
        "queueing: {:.0} items/s ({} items in {:.2} s); end to end: {:.0} calls/s ({} calls in \
         {:.2} s after queueing); {:.1} µs per item overall",
        entities as f64 / queued.as_secs_f64(),
        entities,
        queued.as_secs_f64(),
        report.api_calls as f64 / processing.as_secs_f64(),
        report.api_calls,
        processing.as_secs_f64(),
        wall.as_secs_f64() * 1e6 / entities as f64,
    );
    if let (Some(queued_cpu), Some(after), Some(queueing_cpu)) =
        (cpu_queued, cpu_after, queueing.cpu)
    {
        println!(
            "CPU time (this process{}): {:.2} s queueing + {:.2} s processing = {:.2} s for \
             {:.2} s wall; load average before {} / after {} (2 cores, other work included)",
            if args.simulator_process.is_some() {
                ", the engine alone"
            } else {
                ", simulator included"
            },
            queueing_cpu,
            after - queued_cpu,
            queueing_cpu + after - queued_cpu,
            wall.as_secs_f64(),
            load_before.as_deref().unwrap_or("?"),
            load_average().as_deref().unwrap_or("?"),
        );
    }
    if let (Some(before), Some(after)) = (simulator_cpu_queued, simulator_cpu_after) {
        // The simulator's share of the two cores: at 100,000 its cost per call is part of
        // the time per item too.
        println!(
            "CPU time of the simulator process while processing: {:.2} s ({:.1} µs per call)",
            after - before,
            (after - before) * 1e6 / report.api_calls.max(1) as f64,
        );
    }
    if let (Some(b0), Some(b1), Some(w0), Some(w1)) =
        (bytes_before, bytes_after, wchar_before, wchar_after)
    {
        println!(
            "disk: {:.1} KB written to storage per item (/proc/self/io write_bytes {} B), \
             {:.1} KB passed to write calls per item (wchar {} B)",
            (b1 - b0) as f64 / 1000.0 / entities as f64,
            b1 - b0,
            (w1 - w0) as f64 / 1000.0 / entities as f64,
            w1 - w0,
        );
    }
    // A rerun of the same data: nothing changed, so nothing may be written to SnelStart.
    let before_rerun = server.stats().await?;
    let writes_before_rerun = before_rerun.writes();
    let rerun_started = Instant::now();
    let rerun_queueing = queue_dataset(&engine, args.relations, args.projects, args.chunk).await?;
    let rerun_queued = rerun_queueing.wall;
    engine.run_until_idle(Duration::from_secs(3_600)).await?;
    println!(
        "rerun of the same {} entities: {} SnelStart writes, {} calls in all, {:.2} s ({:.2} s queueing)",
        entities,
        server.stats().await?.writes() - writes_before_rerun,
        server.stats().await?.total() - before_rerun.total(),
        (rerun_started.elapsed() - rerun_queueing.generating).as_secs_f64(),
        rerun_queued.as_secs_f64(),
    );
    match (processing_peak, server.own_peak_mib()) {
        (Some(engine), Some(_)) => println!(
            "peak memory of the engine while processing: {engine:.1} MiB (VmHWM restarted after \
             queueing, with the bench's own dataset dropped)"
        ),
        (Some(both), None) => println!(
            "peak memory while processing: {both:.1} MiB (simulator included; VmHWM restarted \
             after queueing, with the bench's own dataset dropped)"
        ),
        _ => {}
    }
    match (peak_memory_mib(), server.own_peak_mib()) {
        (Some(engine), Some(simulator)) => println!(
            "peak memory (VmHWM since the restart, the rerun and its dataset included): engine \
             process {engine:.1} MiB; simulator process {simulator:.1} MiB"
        ),
        (Some(both), None) => println!("peak memory (VmHWM, simulator included): {both:.1} MiB"),
        _ => {}
    }
    server.shutdown().await;
    if args.keep_state {
        println!("state kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
