//! Prints how long duplicate matching takes for 100,000 CRM relations against 100,000
//! SnelStart relations (the issue's goal: under one second on a 2-core machine), and the
//! precision and recall on that same generated set.
//!
//! ```text
//! cargo run --release --example match_bench                    # 100,000 x 100,000, 5 runs
//! cargo run --release --example match_bench -- 20000 3         # per side, runs
//! cargo run --release --example match_bench -- 100000 5 1     # ... on one thread
//! ```
//!
//! The data is generated deterministically (`mapping::matching::synthetic`): realistic Dutch
//! names, typos, holdings, business centres, franchises, freemail, names cut at 50
//! characters, companies held two or three times in SnelStart, Leverancier-only namesakes,
//! e-mail + address-only matches, Belgian relations. The time covers everything
//! `Matcher::run` does, normalisation and the duplicate groups inside SnelStart included;
//! generating the data is not timed. The peak memory of the process (`VmHWM`, data
//! generation included) is printed at the end.

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use snelstart_sync::mapping::matching::synthetic::{
    LabelledSet, SyntheticConfig, evaluate, generate,
};
use snelstart_sync::mapping::matching::{Decision, MatchConfig, MatchOutcome, Matcher, Reason};

fn arg<T: std::str::FromStr>(position: usize, default: T) -> T {
    std::env::args()
        .nth(position)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time (user + system, all threads) of this process, on Linux: on a shared machine the
/// wall time depends on what else runs, the CPU time much less. Assumes the usual 100 clock
/// ticks per second.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Peak resident memory of this process (`VmHWM` in /proc/self/status), Linux only.
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{:.0} MiB", kib as f64 / 1024.0))
}

/// Why relations went to review: the most common combinations of generated case, whether
/// SnelStart truly holds the relation, the kind of doubt and the best candidate's evidence
/// (similarity figures left out), most frequent first.
fn print_review_histogram(outcome: &MatchOutcome, set: &LabelledSet) {
    let mut histogram: BTreeMap<String, usize> = BTreeMap::new();
    for ((result, truth), kind) in outcome.results.iter().zip(&set.truth).zip(&set.kinds) {
        if result.decision != Decision::Review {
            continue;
        }
        let doubt = if result
            .reasons
            .iter()
            .any(|r| matches!(r, Reason::SharedCandidate { .. }))
        {
            "two_crm_relations"
        } else if result
            .reasons
            .iter()
            .any(|r| matches!(r, Reason::Ambiguous { .. }))
        {
            "ambiguous"
        } else {
            "insufficient"
        };
        let evidence: Vec<String> = result
            .candidates
            .first()
            .map(|c| {
                c.evidence
                    .iter()
                    .map(|e| {
                        let text = e.to_string();
                        text.split(':').next().unwrap_or_default().to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let key = format!(
            "{kind:?} {} {doubt}: {}",
            if truth.is_some() { "exists" } else { "absent" },
            evidence.join("+")
        );
        *histogram.entry(key).or_default() += 1;
    }
    let mut rows: Vec<(String, usize)> = histogram.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    println!(
        "  review reasons (case, truth, doubt: best candidate's evidence), most common first:"
    );
    for (key, count) in rows.iter().take(25) {
        println!("    {count:6}  {key}");
    }
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let per_side: usize = arg(1, 100_000);
    let runs: usize = arg(2, 5).max(1);
    let default_threads = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = NonZeroUsize::new(arg(3, default_threads)).unwrap_or(NonZeroUsize::MIN);

    let started = Instant::now();
    let set = generate(SyntheticConfig::new(per_side));
    println!(
        "generated {} CRM x {} SnelStart relations in {:.2?} (not timed below)",
        set.crm.len(),
        set.snelstart.len(),
        started.elapsed()
    );

    for duplicates in [false, true] {
        let matcher = Matcher::new(
            MatchConfig::default()
                .with_threads(threads)
                .with_duplicates(duplicates),
        );
        // One warm-up run (page faults, allocator), then the measured runs.
        let mut outcome = matcher.run(&set.crm, &set.snelstart)?;
        let mut times = Vec::with_capacity(runs);
        let cpu_before = process_cpu();
        for _ in 0..runs {
            // Freeing the previous run's outcome is not part of the next run.
            drop(outcome);
            let start = Instant::now();
            outcome = matcher.run(&set.crm, &set.snelstart)?;
            times.push(start.elapsed());
        }
        let cpu_per_run = cpu_before
            .zip(process_cpu())
            .map(|(before, after)| after.saturating_sub(before) / u32::try_from(runs).unwrap_or(1));
        let best = *times.iter().min().unwrap_or(&Duration::ZERO);
        let median = median(&mut times);
        println!(
            "{} x {} on {threads} thread(s){}: median {median:.3?}, best {best:.3?} over {runs} runs{}",
            set.crm.len(),
            set.snelstart.len(),
            if duplicates {
                ", with duplicate detection on both sides"
            } else {
                ""
            },
            cpu_per_run.map_or(String::new(), |cpu| format!(
                " (CPU time {cpu:.2?} per run)"
            )),
        );
        if !duplicates {
            let quality = evaluate(&outcome, &set);
            println!(
                "  decisions: {} match, {} review ({:.1} % of CRM), {} new; precision {:.4}, recall {:.4}; {} duplicate groups in SnelStart",
                outcome.count(Decision::Match),
                outcome.count(Decision::Review),
                100.0 * outcome.count(Decision::Review) as f64 / set.crm.len().max(1) as f64,
                outcome.count(Decision::New),
                quality.precision(),
                quality.recall(),
                outcome.snelstart_groups.len()
            );
            // Where the misses are, per generated case (relations, wrong matches, missed).
            for (kind, relations, wrong, missed) in &quality.by_kind {
                println!("    {kind:?}: {relations} relations, {wrong} wrong, {missed} missed");
            }
            print_review_histogram(&outcome, &set);
        } else {
            println!(
                "  flagged {} CRM and {} SnelStart duplicate pairs",
                outcome.crm_duplicates.len(),
                outcome.snelstart_duplicates.len()
            );
        }
    }
    if let Some(peak) = peak_memory() {
        println!("peak memory (VmHWM, whole process): {peak}");
    }
    Ok(())
}
