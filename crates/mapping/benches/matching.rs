//! Duplicate matching throughput on generated Dutch relations.
//!
//! `cargo bench -p mapping --bench matching`. The goal is 100,000 x 100,000 relations
//! in under a second on a 2-core machine; `examples/match_bench.rs` prints that figure
//! directly.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mapping::matching::normalize::normalize_name;
use mapping::matching::synthetic::{SyntheticConfig, generate};
use mapping::matching::{MatchConfig, Matcher};

fn normalisation(c: &mut Criterion) {
    c.bench_function("normalize_name", |b| {
        b.iter(|| {
            normalize_name(black_box(
                "Installatiebedrijf Van den Heuvel & Zn. B.V. i.o.",
            ))
        })
    });
}

fn matching(c: &mut Criterion) {
    let mut group = c.benchmark_group("match");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for per_side in [10_000, 100_000] {
        let set = generate(SyntheticConfig::new(per_side));
        let label = format!("{per_side}x{per_side}");
        let without = Matcher::new(MatchConfig::default().with_duplicates(false));
        group.bench_function(format!("{label}/crm_vs_snelstart"), |b| {
            b.iter(|| without.run(black_box(&set.crm), black_box(&set.snelstart)))
        });
        let with = Matcher::new(MatchConfig::default());
        group.bench_function(format!("{label}/with_duplicates"), |b| {
            b.iter(|| with.run(black_box(&set.crm), black_box(&set.snelstart)))
        });
    }
    group.finish();
}

criterion_group!(benches, normalisation, matching);
criterion_main!(benches);
