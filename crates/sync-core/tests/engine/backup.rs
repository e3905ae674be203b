//! Configuration backup and restore, rollback and the chart-of-accounts check, against
//! `snelstart-mock` over real HTTP.

use chrono::{TimeZone, Utc};
use crm_model::{Project, Relation, RelationKind};
use mapping::config::{ConfigProblemKind, LedgerRule, MappingConfig, RelatiecodePolicy};
use snelstart_mock::{MockConfig, MockServer};
use sync_core::store::{
    AdminKey, ConfigStore, EntityKind, IdLink, LinkPart, LinkStore, MemoryStore,
};
use sync_core::{
    BackupError, CrmChange, ENGINE_BACKUP_VERSION, EngineBackup, MemorySink, MemorySource,
    SyncEngine,
};
use uuid::Uuid;

use crate::support::client;

type Engine = SyncEngine<MemoryStore, MemorySource, MemorySink>;

fn config() -> MappingConfig {
    let mut c = MappingConfig::default_for_mock();
    c.relatiecode = RelatiecodePolicy::FromCrmNumber {
        fallback_to_snelstart: true,
    };
    c
}

/// The configuration with a revenue rule on a ledger SnelStart does not have.
fn broken_config() -> MappingConfig {
    let mut c = config();
    c.ledgers
        .revenue
        .push(LedgerRule::new("licenties", None, 9999));
    c
}

fn engine(server: &MockServer, store: MemoryStore, admin: &str, config: MappingConfig) -> Engine {
    let changes = (1..=5)
        .map(|i| {
            let mut r = Relation::new(
                format!("crm-{i}"),
                RelationKind::Customer,
                format!("Hoveniersbedrijf Bakker {i}"),
            );
            r.number = Some(format!("{}", 30_000 + i));
            CrmChange::relation(r)
        })
        .chain((1..=3).map(|i| {
            CrmChange::project(Project::new(
                format!("prj-{i}"),
                format!("P{:04}", 500 + i),
                format!("Tuinaanleg {i}"),
            ))
        }))
        .collect();
    SyncEngine::with_options(
        client(server),
        store,
        MemorySource::new(changes),
        MemorySink::new(),
        AdminKey::new(admin),
        config,
        sync_core::EngineOptions::default(),
        sync_core::Clock::system(),
    )
}

/// An engine that synced relations and projects, has two configuration versions and a link
/// of every other kind.
async fn populated(server: &MockServer) -> (Engine, MemoryStore) {
    let store = MemoryStore::new();
    let e = engine(server, store.clone(), "admin-a", config());
    assert_eq!(e.record_config().await.unwrap(), 1);
    e.sync().await.unwrap();
    let admin = AdminKey::new("admin-a");
    let v2 = serde_json::to_value(broken_config()).unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).unwrap();
    assert_eq!(store.save_config(&admin, v2, Some(1), at).await.unwrap(), 2);
    for (i, kind) in [
        EntityKind::SalesInvoice,
        EntityKind::PurchaseInvoice,
        EntityKind::Attachment,
        EntityKind::PaymentStatus,
    ]
    .into_iter()
    .enumerate()
    {
        let link = IdLink::new(admin.clone(), kind, format!("x-{i}"), Uuid::new_v4(), at)
            .with_natural_key(format!("F-{i}"))
            .with_payload_hash("abc");
        store.upsert_link(link).await.unwrap();
    }
    (e, store)
}

async fn all_links(store: &MemoryStore, admin: &str) -> Vec<IdLink> {
    let mut links = Vec::new();
    for kind in EntityKind::ALL {
        links.extend(
            store
                .list_links(&AdminKey::new(admin), kind, None, 10_000)
                .await
                .unwrap(),
        );
    }
    links
}

async fn history(store: &MemoryStore, admin: &str) -> Vec<sync_core::store::ConfigVersion> {
    let admin = AdminKey::new(admin);
    let mut out = Vec::new();
    for v in store.config_versions(&admin).await.unwrap() {
        out.push(store.config(&admin, v).await.unwrap().unwrap());
    }
    out
}

#[tokio::test]
async fn export_then_import_into_an_empty_store_restores_links_and_history() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let (source, store) = populated(&server).await;
    let backup = source.export_backup().await.unwrap();
    assert_eq!(backup.format_version, ENGINE_BACKUP_VERSION);
    assert_eq!(backup.config_versions.len(), 2);
    assert_eq!(
        backup.links.len(),
        5 + 3 + 4,
        "relations, cost centres, others"
    );

    // Through a file, onto a new machine.
    let text = backup.to_json_string();
    let read = EngineBackup::from_json_str(&text).unwrap();
    assert_eq!(read, backup);
    let fresh = MemoryStore::new();
    let target = engine(&server, fresh.clone(), "admin-a", config());
    let summary = target.import_backup(&read).await.unwrap();
    assert_eq!(summary.links_added, 12);
    assert_eq!(summary.config_versions_added, 2);

    assert_eq!(
        all_links(&fresh, "admin-a").await,
        all_links(&store, "admin-a").await
    );
    assert_eq!(
        history(&fresh, "admin-a").await,
        history(&store, "admin-a").await
    );

    // Importing again changes nothing and is not an error (an interrupted import is re-run).
    let again = target.import_backup(&read).await.unwrap();
    assert_eq!(again.links_added, 0);
    assert_eq!(again.links_present, 12);
    assert_eq!(again.config_versions_added, 0);
    assert_eq!(again.config_versions_present, 2);

    // The restored engine makes no write for the relations it already synced.
    let writes = server.stats().writes();
    target.sync().await.unwrap();
    assert_eq!(
        server.stats().writes(),
        writes,
        "links and hashes were restored"
    );
}

#[tokio::test]
async fn conflicting_links_are_refused_by_name_and_nothing_is_imported() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let (source, _) = populated(&server).await;
    let backup = source.export_backup().await.unwrap();

    let other = MemoryStore::new();
    let admin = AdminKey::new("admin-a");
    let wrong = Uuid::new_v4();
    other
        .upsert_link(IdLink::new(
            admin.clone(),
            EntityKind::Relation,
            "crm-3",
            wrong,
            Utc::now(),
        ))
        .await
        .unwrap();
    let target = engine(&server, other.clone(), "admin-a", config());
    let err = target.import_backup(&backup).await.unwrap_err();
    match &err {
        BackupError::LinkConflicts(conflicts) => {
            assert_eq!(conflicts.len(), 1, "{conflicts:?}");
            assert_eq!(conflicts[0].crm_id, "crm-3");
            assert_eq!(conflicts[0].kind, EntityKind::Relation);
            assert!(conflicts[0].reason.contains(&wrong.to_string()));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("crm-3"), "{err}");
    assert_eq!(
        all_links(&other, "admin-a").await.len(),
        1,
        "nothing imported"
    );
    assert!(
        history(&other, "admin-a").await.is_empty(),
        "nothing imported"
    );

    // A store with another configuration history is refused too.
    let diverged = MemoryStore::new();
    diverged
        .save_config(
            &admin,
            serde_json::json!({"schema_version": 1}),
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    let target = engine(&server, diverged, "admin-a", config());
    assert!(matches!(
        target.import_backup(&backup).await,
        Err(BackupError::HistoryConflict { version: 1 })
    ));

    // And a backup of another administration.
    let target = engine(&server, MemoryStore::new(), "admin-b", config());
    assert!(matches!(
        target.import_backup(&backup).await,
        Err(BackupError::AdminMismatch { .. })
    ));
}

#[tokio::test]
async fn rollback_saves_an_earlier_version_as_the_latest() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let (e, store) = populated(&server).await;
    let (latest, current) = e.stored_config(None).await.unwrap().unwrap();
    assert_eq!(latest, 2);
    assert_eq!(current, broken_config());

    assert_eq!(e.rollback_config(1).await.unwrap(), 3);
    let (latest, restored) = e.stored_config(None).await.unwrap().unwrap();
    assert_eq!(latest, 3);
    assert_eq!(restored, config());
    let versions = history(&store, "admin-a").await;
    assert_eq!(versions.len(), 3, "history is kept, not rewritten");
    assert_eq!(versions[2].document, versions[0].document);

    assert!(matches!(
        e.rollback_config(42).await,
        Err(BackupError::UnknownVersion(42))
    ));
    assert!(matches!(
        e.stored_config(Some(0)).await,
        Err(BackupError::UnknownVersion(0))
    ));
}

#[tokio::test]
async fn corrupt_foreign_and_newer_documents_are_refused() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let (e, _) = populated(&server).await;
    let good: serde_json::Value =
        serde_json::from_str(&e.export_backup().await.unwrap().to_json_string()).unwrap();

    assert!(matches!(
        EngineBackup::from_json_str("{ not json"),
        Err(BackupError::Malformed(_))
    ));
    assert!(matches!(
        EngineBackup::from_json_str(&good.to_string()[..200]),
        Err(BackupError::Malformed(_))
    ));

    let mut foreign = good.clone();
    foreign["format"] = "snelstart-sync/mapping-backup".into();
    assert!(matches!(
        EngineBackup::from_json_str(&foreign.to_string()),
        Err(BackupError::NotABackup(_))
    ));

    let mut newer = good.clone();
    newer["format_version"] = 3.into();
    match EngineBackup::from_json_str(&newer.to_string()) {
        Err(BackupError::NewerFormat { found, supported }) => {
            assert_eq!((found, supported), (3, 2));
        }
        other => panic!("unexpected {other:?}"),
    }

    let mut gap = good.clone();
    gap["config_versions"][1]["version"] = 3.into();
    assert!(matches!(
        EngineBackup::from_json_str(&gap.to_string()),
        Err(BackupError::Inconsistent(m)) if m.contains("config_versions[1]")
    ));

    let mut bad_config = good.clone();
    bad_config["config_versions"][1]["document"]["schema_version"] = 99.into();
    assert!(matches!(
        EngineBackup::from_json_str(&bad_config.to_string()),
        Err(BackupError::InvalidConfig { version: 2, .. })
    ));

    let mut duplicate = good.clone();
    let first = duplicate["links"][0].clone();
    duplicate["links"].as_array_mut().unwrap().push(first);
    assert!(matches!(
        EngineBackup::from_json_str(&duplicate.to_string()),
        Err(BackupError::Inconsistent(m)) if m.contains("repeats")
    ));

    let mut unknown_field = good;
    unknown_field["surprise"] = true.into();
    assert!(matches!(
        EngineBackup::from_json_str(&unknown_field.to_string()),
        Err(BackupError::Malformed(_))
    ));
}

#[tokio::test]
async fn check_config_reports_an_unknown_ledger() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let good = engine(&server, MemoryStore::new(), "admin-a", config());
    let report = good.check_config().await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);

    let broken = engine(&server, MemoryStore::new(), "admin-a", broken_config());
    let report = broken.check_config().await.unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(
        report.problems[0].kind,
        ConfigProblemKind::LedgerNotFound(9999)
    );
    assert!(report.problems[0].path.starts_with("ledgers.revenue["));
    // A candidate can be checked before it is rolled back to.
    assert!(broken.check_mapping(&config()).await.unwrap().is_ok());
}

/// Backups of format 1 spelled the part of a record into the CRM id (`A#2`, `invoice/file`);
/// they are still read, by the rule the store migrations use (issue 12).
#[tokio::test]
async fn a_format_1_backup_reads_its_link_keys_as_structured() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let (e, _) = populated(&server).await;
    let mut old: serde_json::Value =
        serde_json::from_str(&e.export_backup().await.unwrap().to_json_string()).unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).unwrap();
    let admin = AdminKey::new("admin-a");
    let legacy = |kind, crm_id: &str, n: u128| {
        let mut link = serde_json::to_value(IdLink::new(
            admin.clone(),
            kind,
            crm_id,
            Uuid::from_u128(n),
            at,
        ))
        .unwrap();
        link.as_object_mut().unwrap().remove("part");
        link
    };
    old["format_version"] = 1.into();
    old["links"] = serde_json::json!([
        legacy(EntityKind::Relation, "A", 1),
        legacy(EntityKind::Relation, "A#2", 2),
        legacy(EntityKind::Relation, "B#2", 3),
        legacy(EntityKind::SalesInvoice, "x/y", 4),
        legacy(EntityKind::Attachment, "x/y/z.pdf", 5),
    ]);
    let backup = EngineBackup::from_json_str(&old.to_string()).unwrap();
    assert_eq!(backup.format_version, ENGINE_BACKUP_VERSION);
    let keys: Vec<(EntityKind, &str, LinkPart)> = backup
        .links
        .iter()
        .map(|l| (l.kind, l.crm_id.as_str(), l.part.clone()))
        .collect();
    assert_eq!(
        keys,
        [
            (EntityKind::Relation, "A", LinkPart::Whole),
            (EntityKind::Relation, "A", LinkPart::SupplierHalf),
            (EntityKind::Relation, "B#2", LinkPart::Whole),
            (EntityKind::SalesInvoice, "x/y", LinkPart::Whole),
            (EntityKind::Attachment, "x/y", LinkPart::attachment("z.pdf")),
        ]
    );
    // Written again, it is format 2 and reads back the same.
    let again = EngineBackup::from_json_str(&backup.to_json_string()).unwrap();
    assert_eq!(again, backup);
}
