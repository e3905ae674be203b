//! Invariants of duplicate matching, checked with proptest.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use mapping::matching::normalize::normalize_kvk;
use mapping::matching::synthetic::{SyntheticConfig, generate};
use mapping::matching::{Decision, MatchConfig, MatchOutcome, MatchRecord, MatchResult, Matcher};
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "Bakkerij De Zandloper B.V.",
    "Bakkerij de Zandloper",
    "Bakkerij De Zandlopr BV",
    "Jansen Holding B.V.",
    "Jansen B.V.",
    "Jansen BV",
    "Bruna Utrecht",
    "Bruna",
];
const KVKS: &[&str] = &["87654321", "8765 4321", "12345678", "11112222"];
const EMAILS: &[&str] = &[
    "info@zandloper.nl",
    "info@jansen.nl",
    "jan@gmail.com",
    "x@bruna.nl",
];
const PHONES: &[&str] = &["020-5550142", "+31205550142", "030-1234567"];
const POSTCODES: &[&str] = &["1015 KM", "3511AB"];

/// Records from a tiny vocabulary, so that names, identifiers and contact data collide a lot.
fn record(id: String) -> impl Strategy<Value = MatchRecord> {
    (
        0..NAMES.len(),
        proptest::option::of(0..KVKS.len()),
        proptest::option::of(0..EMAILS.len()),
        proptest::option::of(0..PHONES.len()),
        proptest::option::of((0..POSTCODES.len(), 1u32..3)),
    )
        .prop_map(move |(name, kvk, email, phone, address)| {
            let mut r = MatchRecord::new(id.clone()).with_legal_name(NAMES[name]);
            if let Some(k) = kvk {
                r = r.with_kvk(KVKS[k]);
            }
            if let Some(e) = email {
                r = r.with_email(EMAILS[e]);
            }
            if let Some(p) = phone {
                r = r.with_phone(PHONES[p]);
            }
            if let Some((pc, nr)) = address {
                r = r.with_address(POSTCODES[pc], nr.to_string());
            }
            r
        })
}

fn side(prefix: &'static str, max: usize) -> impl Strategy<Value = Vec<MatchRecord>> {
    (0..=max).prop_flat_map(move |n| {
        (0..n)
            .map(|i| record(format!("{prefix}{i}")))
            .collect::<Vec<_>>()
    })
}

fn by_crm_id(outcome: &MatchOutcome) -> BTreeMap<&str, &MatchResult> {
    outcome
        .results
        .iter()
        .map(|r| (r.crm_id.as_str(), r))
        .collect()
}

fn kvk(record: &MatchRecord) -> Option<String> {
    record.kvk.as_deref().and_then(normalize_kvk)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_links_across_a_kvk_conflict(crm in side("c", 12), snelstart in side("s", 12)) {
        let outcome = Matcher::default().run(&crm, &snelstart).unwrap();
        let ss: BTreeMap<&str, &MatchRecord> =
            snelstart.iter().map(|r| (r.id.as_str(), r)).collect();
        for (result, record) in outcome.results.iter().zip(&crm) {
            if result.decision == Decision::Match {
                let other = ss[result.snelstart_id.as_deref().unwrap()];
                if let (Some(a), Some(b)) = (kvk(record), kvk(other)) {
                    prop_assert_eq!(a, b, "matched across a KvK conflict: {:?}", result);
                }
            }
        }
        let crm_by_id: BTreeMap<&str, &MatchRecord> =
            crm.iter().map(|r| (r.id.as_str(), r)).collect();
        for pair in &outcome.crm_duplicates {
            if pair.via_snelstart_id.is_none() {
                let (a, b) = (crm_by_id[pair.first_id.as_str()], crm_by_id[pair.second_id.as_str()]);
                if let (Some(x), Some(y)) = (kvk(a), kvk(b)) {
                    prop_assert_eq!(x, y);
                }
            }
        }
    }

    #[test]
    fn outcome_is_independent_of_input_order(
        crm in side("c", 12),
        snelstart in side("s", 12),
        rotate_crm in 0usize..12,
        rotate_ss in 0usize..12,
    ) {
        let matcher = Matcher::default();
        let before = matcher.run(&crm, &snelstart).unwrap();
        let mut crm2 = crm.clone();
        let mut ss2 = snelstart.clone();
        crm2.reverse();
        ss2.reverse();
        if !crm2.is_empty() {
            let k = rotate_crm % crm2.len();
            crm2.rotate_left(k);
        }
        if !ss2.is_empty() {
            let k = rotate_ss % ss2.len();
            ss2.rotate_left(k);
        }
        let after = matcher.run(&crm2, &ss2).unwrap();
        prop_assert_eq!(by_crm_id(&before), by_crm_id(&after));
        prop_assert_eq!(&before.crm_duplicates, &after.crm_duplicates);
        prop_assert_eq!(&before.snelstart_duplicates, &after.snelstart_duplicates);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// On realistic generated data: shuffling both sides and changing the thread count
    /// changes nothing.
    #[test]
    fn generated_sets_are_order_and_thread_independent(seed in 0u64..1_000, shift in 1usize..500) {
        let set = generate(SyntheticConfig::new(1_500).with_seed(seed));
        let one = NonZeroUsize::MIN;
        let base = Matcher::new(MatchConfig::default().with_threads(one))
            .run(&set.crm, &set.snelstart)
            .unwrap();
        let mut crm = set.crm.clone();
        let mut snelstart = set.snelstart.clone();
        crm.reverse();
        let (k, l) = (shift % crm.len(), shift % snelstart.len());
        crm.rotate_left(k);
        snelstart.rotate_left(l);
        let threads = NonZeroUsize::new(3).unwrap();
        let shuffled = Matcher::new(MatchConfig::default().with_threads(threads))
            .run(&crm, &snelstart)
            .unwrap();
        prop_assert_eq!(by_crm_id(&base), by_crm_id(&shuffled));
        prop_assert_eq!(&base.crm_duplicates, &shuffled.crm_duplicates);
        prop_assert_eq!(&base.snelstart_duplicates, &shuffled.snelstart_duplicates);
    }
}
