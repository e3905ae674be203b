//! Prints what matching one batch of CRM relations against an indexed administration costs,
//! as the sync does it (`SnelstartIndex::decide`), against a full run of the same batch with
//! the duplicate report (`SnelstartIndex::run`).
//!
//! ```text
//! cargo run --release --example match_batch_bench                 # 100,000 per side
//! cargo run --release --example match_batch_bench -- 20000        # per side
//! ```
//!
//! The data is the generated set of `match_bench` (duplicates inside SnelStart included).
//! 100 batches of 200 CRM relations (`sync_bench`'s batch size; the engine's default is 50,
//! and the report's cost is the same per batch whatever its size) are matched each way, each
//! way first on every other batch; the median per batch is printed. Generating the data and
//! building the index are not timed.

use std::time::{Duration, Instant};

use snelstart_sync::mapping::matching::Matcher;
use snelstart_sync::mapping::matching::synthetic::{SyntheticConfig, generate};

const BATCH: usize = 200;
const BATCHES: usize = 100;

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let per_side: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let set = generate(SyntheticConfig::new(per_side));
    let matcher = Matcher::default();
    let index = matcher.index_snelstart(set.snelstart.as_slice())?;
    let (mut full, mut alone) = (Vec::new(), Vec::new());
    let mut report = (0, 0);
    for (n, batch) in set.crm.chunks(BATCH).take(BATCHES).enumerate() {
        // Each way goes first on every other batch, so neither always finds the caches warm.
        let mut timed_decide = || -> Result<_, Box<dyn std::error::Error>> {
            let start = Instant::now();
            let decisions = index.decide(batch)?;
            alone.push(start.elapsed());
            Ok(decisions)
        };
        let early = if n % 2 == 0 {
            Some(timed_decide()?)
        } else {
            None
        };
        let start = Instant::now();
        let outcome = index.run(batch)?;
        full.push(start.elapsed());
        report = (
            outcome.snelstart_groups.len(),
            outcome.snelstart_duplicates.len(),
        );
        let decisions = match early {
            Some(decisions) => decisions,
            None => timed_decide()?,
        };
        assert_eq!(decisions, outcome.results, "the same decisions");
    }
    println!(
        "{} batches of {BATCH} CRM relations against {} SnelStart relations ({} duplicate groups, {} duplicate pairs inside SnelStart):",
        full.len(),
        set.snelstart.len(),
        report.0,
        report.1
    );
    println!(
        "  decisions only (the sync): {:.2?} per batch; with the duplicate report: {:.2?} per batch (medians)",
        median(&mut alone),
        median(&mut full)
    );
    Ok(())
}
