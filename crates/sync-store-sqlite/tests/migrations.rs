//! Schema migrations and reopening: state written by one open survives the next, an older
//! schema is upgraded in place, and a newer one is refused.

use chrono::DateTime;
use serde_json::json;
use sync_core::store::{
    AdminKey, AuditStore, ConfigStore, EntityKind, IdLink, LinkPart, LinkStore, NewWorkItem,
    QueueStore, StateKey, StateStore, WorkState,
};
use sync_store_sqlite::schema::{self, SCHEMA_VERSION, SchemaTooNew};
use sync_store_sqlite::{SqliteOptions, SqliteStore, Synchronous};
use uuid::Uuid;

fn admin() -> AdminKey {
    AdminKey::new("admin")
}

fn t0() -> chrono::DateTime<chrono::Utc> {
    DateTime::from_timestamp(1_767_225_600, 42).expect("fixed instant")
}

#[tokio::test]
async fn state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let id = {
        let store = SqliteStore::open(&path).unwrap();
        store
            .upsert_link(
                IdLink::new(
                    admin(),
                    EntityKind::Relation,
                    "c1",
                    Uuid::from_u128(7),
                    t0(),
                )
                .with_natural_key("1001"),
            )
            .await
            .unwrap();
        store
            .put_state(&admin(), &StateKey::SourceCursor, None, "v1", t0())
            .await
            .unwrap();
        store
            .save_config(&admin(), json!({"a": 1}), None, t0())
            .await
            .unwrap();
        store
            .enqueue(
                NewWorkItem::new(
                    admin(),
                    EntityKind::Relation,
                    "c1",
                    "upsert",
                    json!(1),
                    t0(),
                ),
                t0(),
            )
            .await
            .unwrap()
    };
    let store = SqliteStore::open_with(
        &path,
        SqliteOptions::default()
            .max_connections(2)
            .synchronous(Synchronous::Normal),
    )
    .unwrap();
    assert_eq!(store.path(), path.as_path());
    let link = store
        .link_by_natural_key(&admin(), EntityKind::Relation, "1001")
        .await
        .unwrap()
        .expect("link survives");
    assert_eq!(link.snelstart_id, Uuid::from_u128(7));
    assert_eq!(link.updated_at, t0(), "nanoseconds survive");
    assert_eq!(
        store
            .state(&admin(), &StateKey::SourceCursor)
            .await
            .unwrap()
            .as_deref(),
        Some("v1")
    );
    assert_eq!(store.config_versions(&admin()).await.unwrap(), vec![1]);
    let item = store
        .work_item(&admin(), id)
        .await
        .unwrap()
        .expect("item survives");
    assert_eq!(item.state, WorkState::Pending);
    assert_eq!(schema::schema_version(&path).unwrap(), SCHEMA_VERSION);
}

#[tokio::test]
async fn older_schema_is_migrated_keeping_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.sqlite");
    assert_eq!(schema::migrate_to(&path, 1).unwrap(), 1);
    assert_eq!(schema::schema_version(&path).unwrap(), 1);
    {
        // Data written by a version-1 build.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO id_links (admin, kind, crm_id, snelstart_id, natural_key, payload_hash, updated_at)
             VALUES ('admin', 'relation', 'c1', ?1, '1001', 'h1', 0)",
            [Uuid::from_u128(9).to_string()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO audit_log (at, admin, kind, action, request_summary, outcome)
             VALUES (0, 'admin', 'relation', 'create', 'POST /relaties', 'ok')",
            [],
        )
        .unwrap();
        let has_v2_index: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE name = 'audit_log_by_time'",
                [],
                |row| row.get(0),
            )
            .ok();
        assert_eq!(has_v2_index, None, "version 1 lacks the version 2 index");
    }
    let store = SqliteStore::open(&path).expect("open migrates");
    assert_eq!(schema::schema_version(&path).unwrap(), SCHEMA_VERSION);
    let link = store
        .link_by_crm_id(&admin(), EntityKind::Relation, "c1", &LinkPart::Whole)
        .await
        .unwrap()
        .expect("old link kept");
    assert_eq!(link.payload_hash.as_deref(), Some("h1"));
    assert_eq!(store.recent_audit(&admin(), 10).await.unwrap().len(), 1);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let index: String = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE name = 'audit_log_by_time'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(index, "audit_log_by_time");
    // Migrating again is a no-op.
    drop(store);
    assert_eq!(
        schema::migrate_to(&path, SCHEMA_VERSION).unwrap(),
        SCHEMA_VERSION
    );
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.sqlite");
    drop(SqliteStore::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE schema_version SET version = ?1",
            [SCHEMA_VERSION + 1],
        )
        .unwrap();
    let err = SqliteStore::open(&path).expect_err("newer schema must be refused");
    assert!(err.is_backend());
    let source = std::error::Error::source(&err).expect("source");
    let too_new = source
        .downcast_ref::<SchemaTooNew>()
        .expect("SchemaTooNew source");
    assert_eq!(too_new.found, SCHEMA_VERSION + 1);
    assert_eq!(too_new.supported, SCHEMA_VERSION);
    assert!(
        schema::migrate_to(&path, SCHEMA_VERSION + 1)
            .unwrap_err()
            .is_invalid(),
        "unknown target version"
    );
}

#[tokio::test]
async fn corrupt_rows_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    let id = store
        .enqueue(
            NewWorkItem::new(
                admin(),
                EntityKind::Relation,
                "c1",
                "upsert",
                json!(1),
                t0(),
            ),
            t0(),
        )
        .await
        .unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE work_payloads SET payload = '{not json' WHERE item_id = ?1",
            [id.get()],
        )
        .unwrap();
    let err = store.work_item(&admin(), id).await.unwrap_err();
    assert!(err.is_corrupt(), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("payload") && message.contains("c1"),
        "{message}"
    );
}

/// Schema 3 carries the string-keyed cursors of schema 2 over to typed state keys, CRM ids
/// with separators in them included; names this library never wrote stay where they were.
#[tokio::test]
async fn cursors_become_typed_state_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.sqlite");
    assert_eq!(schema::migrate_to(&path, 2).unwrap(), 2);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for (name, value) in [
            ("crm_source", "page-7"),
            ("administration_identifier", "42"),
            ("last_success:relation", "2026-01-01T00:00:00Z"),
            ("parked:relation:upsert:A:1", "hash 12"),
            ("review_resolution:relation:A#2", "new"),
            ("readback:sales:balance:0000-1", "fp"),
            ("readback:payments:purchase:b-9", "ledger"),
            ("readback:last_run", "{}"),
            ("host:private", "kept"),
        ] {
            conn.execute(
                "INSERT INTO cursors (admin, name, value) VALUES ('admin', ?1, ?2)",
                [name, value],
            )
            .unwrap();
        }
    }
    let store = SqliteStore::open(&path).expect("open migrates");
    let expect = [
        (StateKey::SourceCursor, "page-7"),
        (StateKey::AdministrationBinding, "42"),
        (
            StateKey::LastSuccess(EntityKind::Relation),
            "2026-01-01T00:00:00Z",
        ),
        (
            StateKey::parked(EntityKind::Relation, "upsert", "A:1"),
            "hash 12",
        ),
        (
            StateKey::review_resolution(EntityKind::Relation, "A#2"),
            "new",
        ),
        (StateKey::read_back_of("sales:balance", "0000-1"), "fp"),
        (StateKey::read_back_of("payments:purchase", "b-9"), "ledger"),
        (StateKey::read_back("last_run"), "{}"),
    ];
    for (key, value) in expect {
        assert_eq!(
            store.state(&admin(), &key).await.unwrap().as_deref(),
            Some(value),
            "{key}"
        );
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let left: Vec<String> = conn
        .prepare("SELECT name FROM cursors")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(left, vec!["host:private".to_owned()]);
}

/// Schema 6 moves the part of a record out of the CRM id (issue 12): a relation link `X#2` is
/// the supplier half of `X` only when `X` is linked too (otherwise `X#2` is a CRM id), and an
/// attachment key is split after the longest invoice id that has a booking link.
#[tokio::test]
async fn link_keys_become_structured() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.sqlite");
    assert_eq!(schema::migrate_to(&path, 5).unwrap(), 5);
    let rows: [(&str, &str, &str, u128, Option<&str>); 11] = [
        ("admin", "relation", "A", 1, Some("1001")),
        ("admin", "relation", "A#2", 2, Some("1002")),
        // No `B`: `B#2` is a CRM id.
        ("admin", "relation", "B#2", 3, Some("1003")),
        // `C` exists in another administration only.
        ("other", "relation", "C", 4, None),
        ("admin", "relation", "C#2", 5, None),
        // Only relations have halves.
        ("admin", "cost_centre", "P", 6, None),
        ("admin", "cost_centre", "P#2", 7, None),
        ("admin", "sales_invoice", "x", 8, Some("V-1")),
        ("admin", "purchase_invoice", "x/y", 9, Some("I-1")),
        ("admin", "attachment", "x/y/z.pdf", 10, None),
        ("admin", "attachment", "x/z.pdf", 11, None),
    ];
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for (admin, kind, crm_id, id, natural) in rows {
            conn.execute(
                "INSERT INTO id_links (admin, kind, crm_id, snelstart_id, natural_key, payload_hash, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'h', 7)",
                rusqlite::params![admin, kind, crm_id, Uuid::from_u128(id).to_string(), natural],
            )
            .unwrap();
        }
    }
    let store = SqliteStore::open(&path).expect("open migrates");
    assert_eq!(schema::schema_version(&path).unwrap(), SCHEMA_VERSION);
    let expect: [(&str, EntityKind, &str, LinkPart, u128); 11] = [
        ("admin", EntityKind::Relation, "A", LinkPart::Whole, 1),
        (
            "admin",
            EntityKind::Relation,
            "A",
            LinkPart::SupplierHalf,
            2,
        ),
        ("admin", EntityKind::Relation, "B#2", LinkPart::Whole, 3),
        ("other", EntityKind::Relation, "C", LinkPart::Whole, 4),
        ("admin", EntityKind::Relation, "C#2", LinkPart::Whole, 5),
        ("admin", EntityKind::CostCentre, "P", LinkPart::Whole, 6),
        ("admin", EntityKind::CostCentre, "P#2", LinkPart::Whole, 7),
        ("admin", EntityKind::SalesInvoice, "x", LinkPart::Whole, 8),
        (
            "admin",
            EntityKind::PurchaseInvoice,
            "x/y",
            LinkPart::Whole,
            9,
        ),
        (
            "admin",
            EntityKind::Attachment,
            "x/y",
            LinkPart::attachment("z.pdf"),
            10,
        ),
        (
            "admin",
            EntityKind::Attachment,
            "x",
            LinkPart::attachment("z.pdf"),
            11,
        ),
    ];
    for (admin, kind, crm_id, part, id) in expect {
        let admin = AdminKey::new(admin);
        let link = store
            .link_by_crm_id(&admin, kind, crm_id, &part)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{kind} {crm_id:?} ({part}) carried over"));
        assert_eq!(link.snelstart_id, Uuid::from_u128(id), "{kind} {crm_id:?}");
        assert_eq!(link.payload_hash.as_deref(), Some("h"));
        assert_eq!(link.updated_at, DateTime::from_timestamp_nanos(7));
        // The natural key and SnelStart id still find it, with its part.
        assert_eq!(
            store
                .link_by_snelstart_id(&admin, kind, Uuid::from_u128(id))
                .await
                .unwrap()
                .map(|l| (l.crm_id, l.part)),
            Some((crm_id.to_owned(), part))
        );
    }
    assert_eq!(
        store
            .link_by_crm_id(&admin(), EntityKind::Relation, "A#2", &LinkPart::Whole)
            .await
            .unwrap(),
        None,
        "A#2 was A's supplier half"
    );
    assert_eq!(
        store
            .link_by_natural_key(&admin(), EntityKind::Relation, "1002")
            .await
            .unwrap()
            .map(|l| l.part),
        Some(LinkPart::SupplierHalf)
    );
    // The unique indexes hold on the new table.
    let err = store
        .upsert_link(IdLink::new(
            admin(),
            EntityKind::Relation,
            "D",
            Uuid::from_u128(2),
            t0(),
        ))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let old: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE name = 'id_links_v5'",
            [],
            |row| row.get(0),
        )
        .ok();
    assert_eq!(old, None, "the old table is gone");
}

/// Schema 7 moves payloads out of `work_items`: items queued by a version-6 build keep their
/// payloads, dependencies and states, are claimed and completed as before, and pruning them
/// takes their payloads along.
#[tokio::test]
async fn payloads_move_to_their_own_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v6.sqlite");
    assert_eq!(schema::migrate_to(&path, 6).unwrap(), 6);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for (id, crm_id, payload, state) in [
            (
                1,
                "c1",
                r#"{"name":"Klant 1","iban":"NL91ABNA0417164300"}"#,
                "done",
            ),
            (2, "c2", r#"{"name":"Klant 2"}"#, "pending"),
            (
                3,
                "inv-1",
                r#"{"number":"F-1","pdf":"JVBERi0xLjQK"}"#,
                "pending",
            ),
        ] {
            conn.execute(
                "INSERT INTO work_items (id, admin, kind, crm_id, operation, payload, state,
                                         attempts, next_attempt_at, created_at, updated_at)
                 VALUES (?1, 'admin', 'relation', ?2, 'upsert', ?3, ?4, 0, 0, 0, 0)",
                rusqlite::params![id, crm_id, payload, state],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO work_deps (item_id, depends_on) VALUES (3, 2)",
            [],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).expect("open migrates");
    assert_eq!(schema::schema_version(&path).unwrap(), SCHEMA_VERSION);
    let done = store
        .work_item(&admin(), sync_core::store::WorkItemId::new(1))
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(
        done.payload,
        json!({ "name": "Klant 1", "iban": "NL91ABNA0417164300" })
    );
    let at = t0() + chrono::Duration::days(1);
    let claimed = store
        .claim(&admin(), at, 10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "the invoice waits for its relation");
    assert_eq!(claimed[0].crm_id, "c2");
    assert_eq!(claimed[0].payload, json!({ "name": "Klant 2" }));
    store.complete(claimed[0].lease(), at).await.unwrap();
    let next = store
        .claim(&admin(), at, 10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(
        next[0].payload,
        json!({ "number": "F-1", "pdf": "JVBERi0xLjQK" })
    );
    assert_eq!(
        next[0].depends_on,
        vec![sync_core::store::WorkItemId::new(2)]
    );

    // Pruning done items removes their payloads with them (item 2, done, stays while the
    // invoice that depends on it is unfinished).
    store
        .prune_done(&admin(), at + chrono::Duration::days(1))
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let payloads: Vec<i64> = conn
        .prepare("SELECT item_id FROM work_payloads ORDER BY item_id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(payloads, vec![2, 3], "the pruned item's payload is gone");
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('work_items')")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!columns.iter().any(|c| c == "payload"), "{columns:?}");
}
