//! SQLite-specific behaviour beyond the shared conformance suite.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use sync_core::store::{AdminKey, EntityKind, NewWorkItem, QueueStore, WorkItemId};
use sync_store_sqlite::{SqliteOptions, SqliteStore};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("fixed instant")
}

fn admin() -> AdminKey {
    AdminKey::new("admin")
}

/// Two independently opened stores on one file behave like two processes: their claims
/// never overlap, because claims take SQLite's write lock (`BEGIN IMMEDIATE`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn separate_handles_on_one_file_claim_exclusively() {
    const ITEMS: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.sqlite");
    let first = SqliteStore::open(&path).unwrap();
    let second =
        SqliteStore::open_with(&path, SqliteOptions::default().max_connections(2)).unwrap();
    for n in 0..ITEMS {
        first
            .enqueue(
                NewWorkItem::new(
                    admin(),
                    EntityKind::Relation,
                    format!("r{n}"),
                    "upsert",
                    json!(n),
                    t0(),
                ),
                t0(),
            )
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for worker in 0..6 {
        let store = if worker % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for _ in 0..ITEMS {
                let batch = store
                    .claim(&admin(), t0(), 7, Duration::from_secs(60))
                    .await
                    .expect("claim");
                if batch.is_empty() {
                    break;
                }
                for work in batch {
                    store.complete(work.lease(), t0()).await.expect("complete");
                    mine.push(work.id);
                }
            }
            mine
        }));
    }
    let mut all: Vec<WorkItemId> = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let distinct: HashSet<WorkItemId> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "an item was claimed twice");
    assert_eq!(all.len(), ITEMS);
}

/// Times outside SQLite's nanosecond range are refused with a typed error, not truncated.
#[tokio::test]
async fn unrepresentable_times_are_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("t.sqlite")).unwrap();
    let far = t0() + TimeDelta::days(365 * 400);
    let err = store
        .enqueue(
            NewWorkItem::new(
                admin(),
                EntityKind::Relation,
                "r1",
                "upsert",
                json!(1),
                t0(),
            )
            .not_before(far),
            t0(),
        )
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
    let err = store
        .claim(&admin(), t0(), 1, Duration::MAX)
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "overflowing lease: {err}");
    assert!(
        store
            .claim(&admin(), t0(), 0, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty(),
        "limit 0 claims nothing"
    );
}

/// A file that is not a database fails to open with a backend error naming the problem.
#[test]
fn garbage_file_fails_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.sqlite");
    std::fs::write(
        &path,
        b"this is not an SQLite database, not even close......",
    )
    .unwrap();
    let err = SqliteStore::open(&path).expect_err("garbage must not open");
    assert!(err.is_backend(), "{err}");
}

/// Issue 12: the state file holds CRM payloads (names, e-mail addresses, IBANs); it is created
/// readable by its owner only, whatever the process umask.
#[cfg(unix)]
#[test]
fn a_new_state_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let _store = SqliteStore::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
}

/// A claim of another store that is alive is honoured until its lease ends; once that store
/// is gone (its process ended; here: every handle dropped), its claims are taken at once.
#[tokio::test]
async fn claims_of_a_live_holder_wait_and_of_a_gone_one_come_back_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("holders.sqlite");
    let worker = SqliteStore::open(&path).unwrap();
    let other = SqliteStore::open(&path).unwrap();
    let item = NewWorkItem::new(
        admin(),
        EntityKind::Relation,
        "r1",
        "upsert",
        json!(1),
        t0(),
    );
    worker.enqueue(item, t0()).await.unwrap();
    let lease = Duration::from_secs(300);
    let claimed = worker.claim(&admin(), t0(), 10, lease).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let soon = t0() + TimeDelta::seconds(1);
    assert!(
        other
            .claim(&admin(), soon, 10, lease)
            .await
            .unwrap()
            .is_empty(),
        "the holder is alive: its lease stands"
    );
    drop(worker);
    let taken = other.claim(&admin(), soon, 10, lease).await.unwrap();
    assert_eq!(
        taken.len(),
        1,
        "the holder is gone: taken back without waiting 300 s"
    );
    assert_eq!(
        taken[0].attempts, 2,
        "the lost attempt counts (lookup before create)"
    );
}

/// An export in the forms `shared/CRM-DATA.md` lists for real CRM data (written from that page,
/// not from the engine's own cases): every change it turns into goes into the queue as JSON
/// text and comes back from a claim as the same change, and as the same JSON value the
/// change serializes to (what the parked-change hash is taken over).
#[tokio::test]
async fn changes_of_a_real_world_export_come_back_from_the_queue_unchanged() {
    let export = json!({
        "relations": [
            {"id": "R-001", "kind": "customer", "legal_name": "Coöperatie De Eendracht U.A.",
             "trade_name": "De Eendracht", "kvk_number": "KvK-nummer: 1234 5678",
             "vat_number": "NL 0012.34.560.B.01", "iban": "nl91 abna 0417 1643 00",
             "bic": "ABNANL2A", "email": " info@eendracht.nl; facturen@eendracht.nl ",
             "phone": "+31 (0)20 123 4567", "website": "https://www.eendracht.nl",
             "memo": "Levering alleen 's ochtends.\nSleutel bij de buren (nr. 14).\r\nZie € tarief",
             "visit_address": {"street": "Kerkstraat 12A", "postcode": "1234ab",
                               "city": "'s-Hertogenbosch"},
             "postal_address": {"street": "Postbus 123", "postcode": "1234 AB",
                                "city": "Den Bosch"},
             "contacts": [
                 {"name": "Anneke van der Berg", "role": "Inkoop", "email": "anneke@eendracht.nl"},
                 {"name": "Piet", "phone": "06-12345678", "primary": true}
             ]},
            {"id": 4711, "kind": "supplier", "legal_name": "Müller GmbH & Co. KG",
             "vat_number": "DE 123 456 789", "phone": "0211/1234567",
             "visit_address": {"street": "Königsallee", "house_number": "5 hs",
                               "postcode": "D-40210", "city": "Düsseldorf", "country": "DE"}},
            {"id": "R-003", "kind": "customer", "legal_name": "bakkerij jansen b.v.",
             "kvk_number": "1234567", "phone": "0031 20 7654321",
             "visit_address": {"street": "Dorpsstraat", "house_number": "12-2",
                               "postcode": "B-2000", "city": "Antwerpen", "country": "BE"}},
            {"id": "R-003", "kind": "customer", "legal_name": "Bakkerij Jansen (dubbel)"},
            {"id": "R-004", "kind": "customer", "legal_name": "Stg. Naam\u{0007}Met Belletje"}
        ],
        "archived_relations": ["R-900"],
        "projects": [
            {"id": "P-1", "number": 20240017, "description": "Renovatie Capelle a/d IJssel"},
            {"id": "P-2", "number": "20240018", "description": "Nieuwbouw"}
        ],
        "sales_invoices": [
            {"id": "F-1", "number": "2024-0001", "date": "2024-03-01", "due_date": "2024-03-31",
             "relation": "R-001",
             "lines": [
                 {"description": "Brood", "quantity": 3, "unit_price": 12.5,
                  "vat_category": "laag", "project": "P-1"},
                 {"description": "Advies", "quantity": "1", "unit_price": "1250.00",
                  "vat_category": "hoog"}
             ]},
            {"id": "F-2", "number": "2024-0002", "date": "2024-03-02", "relation": "R-001",
             "lines": [{"description": "Creditering", "quantity": "-3", "unit_price": "12.50",
                        "vat_category": "laag"}]},
            {"id": "F-3", "number": "2024-0003", "date": "2024-02-30", "relation": "R-001",
             "lines": [{"description": "Datum bestaat niet", "net_amount": "10.00",
                        "vat_category": "hoog"}]}
        ],
        "purchase_invoices": [
            {"id": "I-1", "number": "RE-88812", "date": "2024-03-05", "relation": "4711",
             "lines": [{"description": "Gereedschap", "net_amount": "-3", "vat_category": "hoog"}]}
        ]
    });
    let dataset: sync_core::CrmDataset = serde_json::from_value(export).unwrap();
    let changes = dataset.changes();
    // Readable records and refusals (a duplicate id, a date that does not exist, a control
    // character in a name, whatever the reader makes of the rest) all travel the same way.
    assert!(changes.len() >= 12, "{changes:#?}");
    assert!(
        changes
            .iter()
            .any(|c| matches!(c, sync_core::CrmChange::Refused(_))),
        "{changes:#?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("export.sqlite")).unwrap();
    for (n, change) in changes.iter().enumerate() {
        let payload = sync_core::store::Payload::encode(change).unwrap();
        // One item per change, under a key of its own, so every one is claimable at once.
        let item = NewWorkItem::new(
            admin(),
            change.kind(),
            format!("{n}:{}", change.crm_id()),
            change.operation(),
            payload,
            t0(),
        );
        store.enqueue(item, t0()).await.unwrap();
    }
    let mut claimed = store
        .claim(&admin(), t0(), changes.len() + 1, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), changes.len());
    claimed.sort_by_key(|item| item.id);
    for (item, change) in claimed.iter().zip(&changes) {
        let back: sync_core::CrmChange = item.payload.decode().unwrap();
        assert_eq!(&back, change);
        assert_eq!(
            serde_json::to_value(change).unwrap(),
            item.payload,
            "{change:?}"
        );
    }
}
