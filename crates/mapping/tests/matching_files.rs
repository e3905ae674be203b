//! The sample files of the `match_report` example, parsed with the real models and matched:
//! every hard case gets the decision a bookkeeper would take.

use crm_model::Relation;
use mapping::matching::{Decision, MatchRecord, Matcher};
use snelstart_client::models::Relatie;

const CRM: &str = include_str!("data/matching/crm.json");
const SNELSTART: &str = include_str!("data/matching/snelstart.json");

#[test]
fn sample_files_get_the_expected_decisions() {
    let crm: Vec<Relation> = serde_json::from_str(CRM).expect("crm.json parses");
    let snelstart: Vec<Relatie> = serde_json::from_str(SNELSTART).expect("snelstart.json parses");
    let crm: Vec<MatchRecord> = crm.iter().map(MatchRecord::from_crm).collect();
    let snelstart: Vec<MatchRecord> = snelstart.iter().map(MatchRecord::from_snelstart).collect();
    let outcome = Matcher::default()
        .run(&crm, &snelstart)
        .expect("unique ids");

    let zandloper = "14254699-e7ff-4537-9fb8-47ad46f7d4d7";
    let expected: [(&str, Decision, Option<&str>); 9] = [
        // Same KvK; and a typo'd name with phone and address: both the same bakery, so both
        // go to review as a CRM duplicate instead of overwriting each other.
        ("crm-1", Decision::Review, Some(zandloper)),
        ("crm-2", Decision::Review, Some(zandloper)),
        // The holding matches the holding, not the operating company at the same address.
        (
            "crm-3",
            Decision::Match,
            Some("2b7c1d10-5a3e-4f4b-9d55-0c1e2f3a4b02"),
        ),
        // Same name and address as the operating company, but another KvK number.
        ("crm-4", Decision::New, None),
        // Franchisee told apart by its address; the other one cannot be.
        (
            "crm-5",
            Decision::Match,
            Some("7d0b5e2a-1111-4c8e-8a11-3b9f00000002"),
        ),
        ("crm-6", Decision::Review, None),
        // Name cut at 50 characters in SnelStart.
        (
            "crm-7",
            Decision::Match,
            Some("9e8f7a6b-2222-4d3c-9b2a-1c0d00000001"),
        ),
        // Shares the accountant's mailbox and the business centre's phone: not a match.
        ("crm-8", Decision::Review, None),
        // Shares only a freemail domain.
        ("crm-9", Decision::New, None),
    ];
    for ((id, decision, target), result) in expected.iter().zip(&outcome.results) {
        assert_eq!(result.crm_id, *id);
        assert_eq!(result.decision, *decision, "{result:?}");
        if let Some(target) = target {
            assert_eq!(result.snelstart_id.as_deref(), Some(*target), "{result:?}");
        }
    }
    // crm-1/crm-2 inside the CRM, and the two De Vries records inside SnelStart.
    assert_eq!(
        outcome.crm_duplicates.len(),
        1,
        "{:?}",
        outcome.crm_duplicates
    );
    assert_eq!(
        outcome.snelstart_duplicates.len(),
        1,
        "{:?}",
        outcome.snelstart_duplicates
    );
}
