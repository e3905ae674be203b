//! What the API-drift recording costs on the decode hot path: a full page (500 items, `$top`'s
//! maximum) decoded three ways, the figures printed.
//!
//! - `whole`: one `serde_json::from_slice::<Vec<T>>` (no item-by-item tolerance, no paths, no
//!   recording): the floor.
//! - `items`: item by item with `serde_path_to_error`, as `decode_page` did before the drift
//!   recording.
//! - `items+drift`: [`snelstart_client::decoding::decode_page`], the client's hot path today:
//!   the same plus `serde_ignored` around every item, each unknown property formatted as a
//!   path and noted.
//!
//! Each on a page exactly as the vendor fixture has it and on one where SnelStart added four
//! properties to every item (the case the recording is for). Items are the fixtures
//! `relatie.json` (a full relation, ~2 KB) and the first item of `verkoopfacturen-page.json`
//! (~0.5 KB), read from `../shared/snelstart/fixtures` like the crate's fixture tests.
//!
//! Printed per page: how many properties of an item the model does not know, the page size, and
//! per way the median and best wall time with the median's throughput; last, what `items+drift`
//! adds to `items`, by median and by best. On a busy machine prefer the best: a decode that
//! takes several milliseconds is often preempted, which inflates its median but not its cost.
//!
//! `cargo run --release -p snelstart-client --example decode_bench [ROUNDS]`

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use snelstart_client::Method;
use snelstart_client::decoding::decode_page;
use snelstart_client::models::{Relatie, Verkoopfactuur};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const PAGE: usize = 500;

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/snelstart/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (the vendor fixtures)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `PAGE` copies of `item`, each with its own id, optionally with four properties the models
/// do not know (top level, nested, a list, an object).
fn page(item: &Value, drifted: bool) -> Vec<u8> {
    let items: Vec<Value> = (0..PAGE)
        .map(|i| {
            let mut v = item.clone();
            v["id"] = json!(format!("00000000-0000-4000-8000-{i:012}"));
            if drifted {
                v["nieuwVeld"] = json!(format!("waarde {i}"));
                v["labels"] = json!(["a", "b"]);
                v["extra"] = json!({"bron": "web", "score": i});
                // One nested too: in the relation's address or the invoice's relation.
                let nested = if v.get("vestigingsAdres").is_some() {
                    "vestigingsAdres"
                } else {
                    "relatie"
                };
                if let Some(object) = v.get_mut(nested).and_then(Value::as_object_mut) {
                    object.insert("gemeente".into(), json!("Amsterdam"));
                }
            }
            v
        })
        .collect();
    serde_json::to_vec(&items).expect("a page serializes")
}

fn whole<T: DeserializeOwned>(body: &[u8]) -> usize {
    serde_json::from_slice::<Vec<T>>(body)
        .expect("the page decodes")
        .len()
}

fn items<T: DeserializeOwned>(body: &[u8]) -> usize {
    let raw: Vec<Box<serde_json::value::RawValue>> =
        serde_json::from_slice(body).expect("a JSON array");
    let mut good = 0;
    for item in &raw {
        let mut de = serde_json::Deserializer::from_str(item.get());
        if serde_path_to_error::deserialize::<_, T>(&mut de).is_ok() {
            good += 1;
        }
    }
    good
}

fn items_drift<T: DeserializeOwned>(body: &[u8]) -> usize {
    let (good, problems, count) =
        decode_page::<T>(Method::Get, "bench", 200, body, 0).expect("a JSON array");
    assert!(problems.is_empty() && count == PAGE);
    good.len()
}

/// Median and best time of each decode over `rounds` rounds (after one warm-up round). The
/// decoders take turns within a round, so a busy machine slows them alike.
fn time(rounds: usize, body: &[u8], decoders: &[fn(&[u8]) -> usize]) -> Vec<(Duration, Duration)> {
    for decode in decoders {
        assert_eq!(decode(body), PAGE, "every item decodes");
    }
    let mut times = vec![Vec::with_capacity(rounds); decoders.len()];
    for _ in 0..rounds {
        for (decode, times) in decoders.iter().zip(&mut times) {
            let start = Instant::now();
            black_box(decode(black_box(body)));
            times.push(start.elapsed());
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            (t[t.len() / 2], t[0])
        })
        .collect()
}

/// How many properties of one item `T` does not know (what the recording notes).
fn unknown_per_item<T: DeserializeOwned>(item: &Value) -> usize {
    let mut unknown = 0;
    let text = item.to_string();
    let mut de = serde_json::Deserializer::from_str(&text);
    let _: T = serde_ignored::deserialize(&mut de, |_| unknown += 1).expect("the item decodes");
    unknown
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let relatie = fixture("relatie.json");
    let factuur = fixture("verkoopfacturen-page.json")[0].clone();
    println!("{PAGE} items per page, median (best) of {rounds} rounds, release build");
    println!(
        "{:<14} {:<8} {:>7} {:>5} {:>22} {:>22} {:>22} {:>15}",
        "model", "page", "unknown", "KiB", "whole", "items", "items+drift", "drift + (best)"
    );
    bench::<Relatie>("Relatie", &relatie, rounds);
    bench::<Verkoopfactuur>("Verkoopfactuur", &factuur, rounds);
}

/// One line per page form (as the fixture has it, and with four new properties per item).
fn bench<T: DeserializeOwned>(name: &str, item: &Value, rounds: usize) {
    let decoders: [fn(&[u8]) -> usize; 3] = [whole::<T>, items::<T>, items_drift::<T>];
    for drifted in [false, true] {
        let body = page(item, drifted);
        let figures = time(rounds, &body, &decoders);
        let cell = |(median, best): (Duration, Duration)| {
            let mib_s = body.len() as f64 / median.as_secs_f64() / (1024.0 * 1024.0);
            format!(
                "{:.2} ({:.2}) ms {:>4.0} MiB/s",
                median.as_secs_f64() * 1e3,
                best.as_secs_f64() * 1e3,
                mib_s
            )
        };
        let extra = |pick: fn(&(Duration, Duration)) -> Duration| {
            (pick(&figures[2]).as_secs_f64() / pick(&figures[1]).as_secs_f64() - 1.0) * 100.0
        };
        let drifted_item: Value = serde_json::from_slice::<Vec<Value>>(&body)
            .expect("the page is JSON")
            .swap_remove(0);
        println!(
            "{:<14} {:<8} {:>7} {:>5} {:>22} {:>22} {:>22} {:>5.0}% ({:>3.0}%)",
            name,
            if drifted { "+4 new" } else { "fixture" },
            unknown_per_item::<T>(&drifted_item),
            body.len() / 1024,
            cell(figures[0]),
            cell(figures[1]),
            cell(figures[2]),
            extra(|f| f.0),
            extra(|f| f.1),
        );
    }
}
