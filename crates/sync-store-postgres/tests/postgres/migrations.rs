//! Migrations that carry data over: migration 4 (structured link keys, issue 12).

use sync_core::store::{AdminKey, EntityKind, LinkPart, LinkStore};
use uuid::Uuid;

use crate::support::{Schemas, database_url};

/// A schema at version 3 (its `id_links` as migrations 1-3 left it) with links written by
/// then, migrated to the current version: `X#2` is the supplier half of relation `X` only when
/// `X` is linked too, an attachment key is split after the longest booked invoice id (the
/// rule `sync_core::store::legacy_link_key`, shared with SQLite and backups).
#[tokio::test]
async fn link_keys_become_structured() {
    let schemas = Schemas::default();
    schemas
        .run(async {
            let store = schemas.store().await;
            let schema = store.schema().to_owned();
            drop(store);
            let (client, connection) =
                tokio_postgres::connect(&database_url(), tokio_postgres::NoTls)
                    .await
                    .unwrap();
            tokio::spawn(connection);
            // Back to version 3: the table as migration 1 created it.
            client
                .batch_execute(&format!(
                    r#"SET search_path TO "{schema}";
                    DROP TABLE id_links;
                    CREATE TABLE id_links (
                        admin        text NOT NULL,
                        kind         text NOT NULL,
                        crm_id       text COLLATE "C" NOT NULL,
                        snelstart_id uuid NOT NULL,
                        natural_key  text,
                        payload_hash text,
                        updated_at   bigint NOT NULL,
                        PRIMARY KEY (admin, kind, crm_id)
                    );
                    CREATE UNIQUE INDEX id_links_by_snelstart ON id_links (admin, kind, snelstart_id);
                    CREATE UNIQUE INDEX id_links_by_natural_key ON id_links (admin, kind, natural_key)
                        WHERE natural_key IS NOT NULL;
                    DELETE FROM schema_migrations WHERE version > 3;"#
                ))
                .await
                .unwrap();
            let rows: [(&str, &str, &str, u128); 8] = [
                ("admin", "relation", "A", 1),
                ("admin", "relation", "A#2", 2),
                ("admin", "relation", "B#2", 3),
                ("other", "relation", "C", 4),
                ("admin", "relation", "C#2", 5),
                ("admin", "sales_invoice", "x", 6),
                ("admin", "purchase_invoice", "x/y", 7),
                ("admin", "attachment", "x/y/z.pdf", 8),
            ];
            for (admin, kind, crm_id, id) in rows {
                client
                    .execute(
                        &format!(
                            "INSERT INTO \"{schema}\".id_links
                                (admin, kind, crm_id, snelstart_id, natural_key, payload_hash, updated_at)
                             VALUES ($1, $2, $3, $4, $5, 'h', 7)"
                        ),
                        &[&admin, &kind, &crm_id, &Uuid::from_u128(id), &format!("nk-{id}")],
                    )
                    .await
                    .unwrap();
            }
            let store = crate::support::open(&schema).await;
            let expect: [(&str, EntityKind, &str, LinkPart, u128); 8] = [
                ("admin", EntityKind::Relation, "A", LinkPart::Whole, 1),
                ("admin", EntityKind::Relation, "A", LinkPart::SupplierHalf, 2),
                ("admin", EntityKind::Relation, "B#2", LinkPart::Whole, 3),
                ("other", EntityKind::Relation, "C", LinkPart::Whole, 4),
                ("admin", EntityKind::Relation, "C#2", LinkPart::Whole, 5),
                ("admin", EntityKind::SalesInvoice, "x", LinkPart::Whole, 6),
                ("admin", EntityKind::PurchaseInvoice, "x/y", LinkPart::Whole, 7),
                (
                    "admin",
                    EntityKind::Attachment,
                    "x/y",
                    LinkPart::attachment("z.pdf"),
                    8,
                ),
            ];
            for (admin, kind, crm_id, part, id) in expect {
                let admin = AdminKey::new(admin);
                let link = store
                    .link_by_crm_id(&admin, kind, crm_id, &part)
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("{kind} {crm_id:?} ({part}) carried over"));
                assert_eq!(link.snelstart_id, Uuid::from_u128(id));
                assert_eq!(link.natural_key, Some(format!("nk-{id}")));
                assert_eq!(link.payload_hash.as_deref(), Some("h"));
            }
            let old: Option<String> = client
                .query_one(
                    &format!("SELECT to_regclass('\"{schema}\".id_links_v3')::text"),
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            assert_eq!(old, None, "the old table is gone");
        })
        .await;
}
