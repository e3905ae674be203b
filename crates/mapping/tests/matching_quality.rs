//! Quality of duplicate matching on a labelled, realistic Dutch data set.
//!
//! The set is generated deterministically (`mapping::matching::synthetic`) with the hard
//! cases of real administrations: holdings next to their operating companies, business
//! centres, franchisees sharing a name and an e-mail domain, sole traders on freemail,
//! accountants' shared mailboxes, names cut at 50 characters, typos, and a few duplicates on
//! either side; companies held two or three times in SnelStart (the original is the lowest
//! active relatiecode), Leverancier-only namesakes of CRM customers, e-mail + postcode + house
//! number only, trade vs legal name, moved companies, Belgian relations and identifier forms
//! of real exports. The thresholds are the issue's: precision >= 0.99, recall >= 0.95, review
//! at most 5 % of the CRM relations.

use mapping::matching::synthetic::{LabelledSet, Quality, SyntheticConfig, evaluate, generate};
use mapping::matching::{Decision, MatchConfig, Matcher};

fn run(set: &LabelledSet) -> Quality {
    let outcome = Matcher::new(MatchConfig::default())
        .run(&set.crm, &set.snelstart)
        .expect("generated ids are unique");
    assert_eq!(outcome.results.len(), set.crm.len());
    evaluate(&outcome, set)
}

fn report(label: &str, q: &Quality) {
    println!(
        "{label}: precision {:.4} recall {:.4} (true {}, false {}, missed {}, review {}, existing {})",
        q.precision(),
        q.recall(),
        q.true_matches,
        q.false_matches,
        q.missed,
        q.reviews,
        q.existing
    );
    for (kind, n, wrong, missed) in &q.by_kind {
        println!("  {kind:?}: {n} relations, {wrong} wrong matches, {missed} missed");
    }
}

#[test]
fn labelled_set_meets_precision_and_recall() {
    let mut total = Quality::default();
    for seed in 1..=3 {
        let set = generate(SyntheticConfig::new(4_000).with_seed(seed));
        let quality = run(&set);
        report(&format!("seed {seed}"), &quality);
        assert!(
            quality.precision() >= 0.99,
            "precision {:.4} < 0.99 for seed {seed}",
            quality.precision()
        );
        assert!(
            quality.recall() >= 0.95,
            "recall {:.4} < 0.95 for seed {seed}",
            quality.recall()
        );
        assert!(
            quality.reviews * 20 <= set.crm.len(),
            "{} reviews of {} CRM relations is over 5 % for seed {seed}",
            quality.reviews,
            set.crm.len()
        );
        total.true_matches += quality.true_matches;
        total.false_matches += quality.false_matches;
        total.existing += quality.existing;
    }
    println!(
        "overall: precision {:.4} recall {:.4}",
        total.precision(),
        total.recall()
    );
}

#[test]
fn planted_duplicates_are_flagged_on_both_sides() {
    let set = generate(SyntheticConfig::new(20_000).with_seed(11));
    assert!(!set.crm_duplicates.is_empty() && !set.snelstart_duplicates.is_empty());
    let outcome = Matcher::default().run(&set.crm, &set.snelstart).unwrap();
    let found = |pairs: &[(String, String)], flagged: &[mapping::matching::DuplicatePair]| {
        pairs
            .iter()
            .filter(|(a, b)| {
                let (first, second) = if a <= b { (a, b) } else { (b, a) };
                flagged
                    .iter()
                    .any(|p| &p.first_id == first && &p.second_id == second)
            })
            .count()
    };
    let crm_found = found(&set.crm_duplicates, &outcome.crm_duplicates);
    let ss_found = found(&set.snelstart_duplicates, &outcome.snelstart_duplicates);
    println!(
        "crm duplicates: {crm_found}/{} planted found, {} flagged; snelstart: {ss_found}/{} found, {} flagged",
        set.crm_duplicates.len(),
        outcome.crm_duplicates.len(),
        set.snelstart_duplicates.len(),
        outcome.snelstart_duplicates.len()
    );
    assert!(crm_found * 10 >= set.crm_duplicates.len() * 8);
    assert!(ss_found * 10 >= set.snelstart_duplicates.len() * 8);
    // A CRM duplicate matching one SnelStart relation must not be linked twice.
    let mut linked: Vec<&str> = outcome
        .results
        .iter()
        .filter(|r| r.decision == Decision::Match)
        .filter_map(|r| r.snelstart_id.as_deref())
        .collect();
    let before = linked.len();
    linked.sort_unstable();
    linked.dedup();
    assert_eq!(
        before,
        linked.len(),
        "a SnelStart relation was matched twice"
    );
}

#[test]
fn snelstart_duplicate_groups_resolve_to_their_original() {
    let set = generate(SyntheticConfig::new(10_000).with_seed(5));
    assert!(set.snelstart_groups.len() > 100);
    let outcome = Matcher::default().run(&set.crm, &set.snelstart).unwrap();
    let found = set
        .snelstart_groups
        .iter()
        .filter(|(original, members)| {
            outcome.snelstart_groups.iter().any(|g| {
                &g.original == original
                    && members
                        .iter()
                        .all(|m| g.members.iter().any(|x| &x.snelstart_id == m))
            })
        })
        .count();
    println!(
        "{found} of {} planted groups found with their original; {} groups flagged",
        set.snelstart_groups.len(),
        outcome.snelstart_groups.len()
    );
    assert!(found * 10 >= set.snelstart_groups.len() * 9);
    // No CRM relation is ever linked to a member that is not its group's original.
    for result in &outcome.results {
        if result.decision == Decision::Match
            && let Some(group) = &result.snelstart_group
        {
            assert_eq!(result.snelstart_id.as_ref(), Some(&group.original));
            assert!(result.snelstart_duplicates_note().is_some());
        }
    }
}
