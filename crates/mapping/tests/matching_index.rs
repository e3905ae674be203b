//! SnelStart's relations indexed once and matched batch by batch (`SnelstartIndex`), as the
//! sync does: the same decisions as one run over everything, relations added one at a time
//! are found by later batches, and a changed relation replaces its old self.

use mapping::matching::synthetic::{SyntheticConfig, generate};
use mapping::matching::{Decision, MatchConfig, MatchError, MatchOutcome, MatchRecord, Matcher};

/// Share of CRM relations with the same decision and the same SnelStart id in both outcomes.
fn agreement(a: &MatchOutcome, b: &MatchOutcome) -> f64 {
    assert_eq!(a.results.len(), b.results.len());
    let same = a
        .results
        .iter()
        .zip(&b.results)
        .filter(|(x, y)| {
            assert_eq!(x.crm_id, y.crm_id, "results keep the CRM order");
            x.decision == y.decision && x.snelstart_id == y.snelstart_id
        })
        .count();
    same as f64 / a.results.len().max(1) as f64
}

#[test]
fn an_index_decides_as_one_run_over_the_same_relations() {
    let set = generate(SyntheticConfig::new(3_000).with_seed(11));
    let matcher = Matcher::default();
    let whole = matcher.run(&set.crm, &set.snelstart).expect("valid");
    let index = matcher
        .index_snelstart(set.snelstart.as_slice())
        .expect("valid");
    assert_eq!(index.len(), set.snelstart.len());
    let indexed = index.run(&set.crm).expect("valid");
    // Only the chain domains the CRM side holds are unknown to an index built before the
    // CRM side was: they may add a duplicate group inside SnelStart, nothing else.
    let share = agreement(&whole, &indexed);
    println!("agreement with one run: {share:.4}");
    assert!(share >= 0.995, "agreement {share}");
    assert!(whole.count(Decision::Match) > 1_000, "the set links many");
}

#[test]
fn relations_added_one_by_one_are_found_like_relations_indexed_at_once() {
    // More than the added map holds before a rebuild (4,096), so both paths are used.
    let set = generate(SyntheticConfig::new(9_000).with_seed(5));
    let matcher = Matcher::default();
    let all = matcher
        .index_snelstart(set.snelstart.as_slice())
        .expect("valid");
    let cut = set.snelstart.len() / 3;
    let mut growing = matcher
        .index_snelstart(set.snelstart[..cut].to_vec())
        .expect("valid");
    for record in &set.snelstart[cut..] {
        growing.add(record.clone()).expect("valid id");
    }
    assert_eq!(growing.len(), set.snelstart.len());
    assert!(
        growing
            .ids()
            .eq(set.snelstart.iter().map(|r| r.id.as_str())),
        "every relation, in order"
    );

    let expected = all.run(&set.crm).expect("valid");
    let got = growing.run(&set.crm).expect("valid");
    // Added relations belong to no duplicate group (groups are found when the index is
    // built), so a company SnelStart holds twice across the cut may be decided differently;
    // every other decision is the same.
    let share = agreement(&expected, &got);
    let differing_outside_groups = expected
        .results
        .iter()
        .zip(&got.results)
        .filter(|(want, have)| {
            let grouped = want.snelstart_group.is_some()
                || want.candidates.iter().any(|c| !c.duplicates.is_empty());
            !grouped && (want.decision, &want.snelstart_id) != (have.decision, &have.snelstart_id)
        })
        .count();
    println!(
        "agreement after adding {}: {share:.4}; {differing_outside_groups} differ outside duplicate groups",
        set.snelstart.len() - cut
    );
    assert!(share >= 0.97, "agreement {share}");
    assert!(
        differing_outside_groups <= expected.results.len() / 200,
        "{differing_outside_groups} decisions differ outside duplicate groups"
    );
    // Every CRM relation whose SnelStart twin was added and that one run links to it is
    // linked to it by the grown index as well.
    let added: std::collections::HashSet<&str> =
        set.snelstart[cut..].iter().map(|r| r.id.as_str()).collect();
    let mut checked = 0;
    for (want, have) in expected.results.iter().zip(&got.results) {
        let Some(id) = want.snelstart_id.as_deref() else {
            continue;
        };
        if want.decision == Decision::Match && added.contains(id) && want.snelstart_group.is_none()
        {
            checked += 1;
            assert_eq!(have.snelstart_id.as_deref(), Some(id), "{}", want.crm_id);
            assert_eq!(have.decision, Decision::Match, "{}", want.crm_id);
        }
    }
    assert!(
        checked > 500,
        "only {checked} links to added relations checked"
    );
}

#[test]
fn a_changed_relation_replaces_its_old_self() {
    let matcher = Matcher::default();
    let mut index = matcher
        .index_snelstart(vec![
            MatchRecord::new("ss-1")
                .with_legal_name("Van Dijk Transport B.V.")
                .with_kvk("11111111"),
        ])
        .expect("valid");
    let crm = [MatchRecord::new("crm-1")
        .with_legal_name("Van Dijk Transport")
        .with_kvk("22222222")];
    let before = index.run(&crm).expect("valid");
    assert_eq!(
        before.results[0].decision,
        Decision::New,
        "another KvK is a veto"
    );

    // The sync corrected the KvK number of ss-1 in SnelStart.
    index
        .add(
            MatchRecord::new("ss-1")
                .with_legal_name("Van Dijk Transport B.V.")
                .with_kvk("22222222"),
        )
        .expect("valid");
    assert_eq!(index.len(), 1, "replaced, not added");
    let after = index.run(&crm).expect("valid");
    assert_eq!(after.results[0].decision, Decision::Match);
    assert_eq!(after.results[0].snelstart_id.as_deref(), Some("ss-1"));
}

#[test]
fn an_index_refuses_what_a_run_refuses() {
    let matcher = Matcher::default();
    let twice = vec![MatchRecord::new("ss-1"), MatchRecord::new("ss-1")];
    assert!(matches!(
        matcher.index_snelstart(twice),
        Err(MatchError::DuplicateId { .. })
    ));
    let mut index = matcher
        .index_snelstart(Vec::<MatchRecord>::new())
        .expect("empty is fine");
    assert!(index.is_empty());
    assert!(matches!(
        index.add(MatchRecord::new("  ")),
        Err(MatchError::EmptyId { position: 0, .. })
    ));
    let crm_twice = [MatchRecord::new("c"), MatchRecord::new("c")];
    assert!(matches!(
        index.run(&crm_twice),
        Err(MatchError::DuplicateId { .. })
    ));
}

/// FNV-1a over the JSON of `value`: a stable fingerprint of everything it holds.
fn json_print(value: &impl serde::Serialize) -> String {
    let json = serde_json::to_vec(value).expect("serialisable");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in json {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The whole outcome (decisions, scores, evidence, reasons, candidates, duplicate groups and
/// pairs) of a run over everything, of an index given its relations, and of an index grown
/// one relation at a time (past a rebuild) and matched in batches of 500 as the sync does,
/// as fingerprints of their JSON. The forms an index keeps its relations in exist to save
/// memory and must not change a single decision: the values are those of the code before
/// the compact forms (735808d). A deliberate change of the matcher changes them too; update
/// them then, saying why.
#[test]
fn compact_index_forms_change_no_decision() {
    let set = generate(SyntheticConfig::new(6_000).with_seed(11));
    let matcher = Matcher::default();
    let whole = matcher.run(&set.crm, &set.snelstart).expect("valid");
    let given = matcher
        .index_snelstart(set.snelstart.clone())
        .expect("valid");
    let at_once = given.run(&set.crm).expect("valid");
    let cut = set.snelstart.len() / 4;
    let mut grown = matcher
        .index_snelstart(set.snelstart[..cut].to_vec())
        .expect("valid");
    for record in &set.snelstart[cut..] {
        grown.add(record.clone()).expect("valid id");
    }
    let batches: Vec<MatchOutcome> = set
        .crm
        .chunks(500)
        .map(|batch| grown.run(batch).expect("valid"))
        .collect();
    let prints = [
        json_print(&whole),
        json_print(&at_once),
        json_print(&given.duplicate_groups()),
        json_print(&batches),
        json_print(&grown.duplicate_groups()),
    ];
    println!("{prints:?}");
    assert_eq!(
        prints,
        [
            "bf2554b08b2f0b1b",
            "bf2554b08b2f0b1b",
            "6afb4951106751a7",
            "e766e46443d254b8",
            "bb5c43e53a1b42b8"
        ]
    );
}

#[test]
fn decisions_alone_are_the_decisions_of_a_full_run() {
    // A sync asks the index for decisions only (`decide`), batch by batch; they must be the
    // very results a full run gives, whether the matcher looks for duplicates or not.
    let set = generate(SyntheticConfig::new(4_000).with_seed(23));
    for duplicates in [true, false] {
        let matcher = Matcher::new(MatchConfig::default().with_duplicates(duplicates));
        let index = matcher
            .index_snelstart(set.snelstart.as_slice())
            .expect("valid");
        let mut compared = 0;
        for batch in set.crm.chunks(200) {
            let full = index.run(batch).expect("valid");
            let alone = index.decide(batch).expect("valid");
            assert_eq!(alone, full.results, "duplicates {duplicates}");
            compared += alone.len();
        }
        assert_eq!(compared, set.crm.len());
        let whole = index.run(&set.crm).expect("valid");
        assert!(
            !whole.snelstart_groups.is_empty(),
            "the set has duplicates inside SnelStart, so the report has work to skip"
        );
    }
    // Twins inside one batch (a company the CRM holds twice) and relations added after the
    // build: still the results of a run.
    let matcher = Matcher::default();
    let mut index = matcher
        .index_snelstart(&set.snelstart[..set.snelstart.len() / 2])
        .expect("valid");
    for added in &set.snelstart[set.snelstart.len() / 2..] {
        index.add(added.clone()).expect("valid");
    }
    let mut batch: Vec<MatchRecord> = set.crm[..100].to_vec();
    for (n, twin) in set.crm[..20].iter().enumerate() {
        let mut twin = twin.clone();
        twin.id = format!("twin-{n}");
        batch.push(twin);
    }
    let full = index.run(&batch).expect("valid");
    assert_eq!(index.decide(&batch).expect("valid"), full.results);
    assert!(
        full.count(Decision::Match) + full.count(Decision::Review) > 20,
        "the batch finds SnelStart relations"
    );
    let added: std::collections::HashSet<&str> = set.snelstart[set.snelstart.len() / 2..]
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert!(
        full.results
            .iter()
            .filter_map(|r| r.snelstart_id.as_deref())
            .any(|id| added.contains(id)),
        "some of its decisions point at relations added after the build"
    );
    // The same refusals as a run.
    let index = Matcher::default()
        .index_snelstart(set.snelstart.as_slice())
        .expect("valid");
    let mut twice = set.crm[..2].to_vec();
    twice[1].id = twice[0].id.clone();
    assert!(matches!(
        index.decide(&twice),
        Err(MatchError::DuplicateId { .. })
    ));
}
