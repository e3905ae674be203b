//! The PostgreSQL store passes the storage conformance suite, migrates safely when many
//! processes open it at once, and keeps the connection password out of Debug and errors.

use sync_core::store::{AdminKey, StateKey, StateStore, conformance};
use sync_store_postgres::schema::SCHEMA_VERSION;
use sync_store_postgres::{PostgresOptions, PostgresStore};

use crate::support::{Schemas, database_url, fresh_schema, with_store};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_passes_conformance() {
    let schemas = Schemas::default();
    schemas.run(conformance::run_all(|| schemas.store())).await;
}

/// Eight stores opening one new schema at the same moment: one migrates, the others wait on
/// the advisory lock and find it current; all of them then work on the same tables.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_migrate_once() {
    let schema = fresh_schema();
    let url = database_url();
    let opens = (0..8).map(|_| {
        let (url, schema) = (url.clone(), schema.clone());
        tokio::spawn(async move {
            PostgresStore::connect(&url, PostgresOptions::default().schema(schema)).await
        })
    });
    let mut stores = Vec::new();
    for open in opens {
        stores.push(
            open.await
                .expect("task")
                .expect("open during a concurrent migration"),
        );
    }
    let admin = AdminKey::new("a");
    let key = StateKey::SourceCursor;
    stores[0]
        .put_state(&admin, &key, None, "1", chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(
        stores[7].state(&admin, &key).await.unwrap().as_deref(),
        Some("1"),
        "every opener sees the same tables"
    );
    // The version was recorded once, not once per opener.
    let client = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let (client, connection) = client;
    tokio::spawn(connection);
    let rows = client
        .query(
            &format!("SELECT version FROM \"{schema}\".schema_migrations ORDER BY version"),
            &[],
        )
        .await
        .unwrap();
    let versions: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, (1..=SCHEMA_VERSION as i32).collect::<Vec<_>>());
    for store in stores.drain(1..) {
        drop(store);
    }
    stores.pop().unwrap().drop_schema().await.unwrap();
}

/// A schema written by a newer build is refused, naming both versions.
#[tokio::test]
async fn newer_schema_is_refused() {
    with_store(|store| async move {
        let (client, connection) = tokio_postgres::connect(&database_url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .execute(
                &format!(
                    "INSERT INTO \"{}\".schema_migrations (version) VALUES ($1)",
                    store.schema()
                ),
                &[&(SCHEMA_VERSION as i32 + 1)],
            )
            .await
            .unwrap();
        let err = PostgresStore::connect(
            &database_url(),
            PostgresOptions::default().schema(store.schema()),
        )
        .await
        .unwrap_err();
        let text = err.to_string();
        assert!(err.is_backend(), "{text}");
        let source = std::error::Error::source(&err)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            source.contains(&format!("version {}", SCHEMA_VERSION + 1)),
            "{source}"
        );
    })
    .await;
}

/// The password never shows: not in Debug, not in a connection error.
#[tokio::test]
async fn password_stays_out_of_debug_and_errors() {
    with_store(|store| async move {
        let debug = format!("{store:?}");
        assert!(debug.contains(store.schema()), "{debug}");

        // A server that answers nothing: port 1 on loopback refuses the connection.
        let url = "postgres://postgres:Sup3rGeheim@127.0.0.1:1/test";
        let err = PostgresStore::connect(
            url,
            PostgresOptions::default()
                .schema(fresh_schema())
                .connect_timeout(std::time::Duration::from_secs(2)),
        )
        .await
        .unwrap_err();
        let mut text = format!("{err} {err:?}");
        let mut source = std::error::Error::source(&err);
        while let Some(inner) = source {
            text.push_str(&format!(" {inner} {inner:?}"));
            source = inner.source();
        }
        assert!(text.contains("127.0.0.1:1"), "names the server: {text}");
        assert!(!text.contains("Sup3rGeheim"), "password leaked: {text}");

        let err = PostgresStore::connect(
            "postgres://postgres:Sup3rGeheim@db.example.com/test",
            PostgresOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(err.is_invalid(), "{err}");
        assert!(!format!("{err} {err:?}").contains("Sup3rGeheim"));
    })
    .await;
}

/// Two stores with separate pools on one schema (two worker processes) claim one queue at
/// once: every item is handed out exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_claim_each_item_once() {
    use std::collections::HashSet;
    use std::time::Duration;

    use chrono::TimeDelta;
    use serde_json::json;
    use sync_core::store::{EntityKind, NewWorkItem, QueueStore};

    with_store(|first| async move {
        let second = crate::support::open(first.schema()).await;
        let admin = AdminKey::new("fleet");
        let t0 = conformance::t0();
        for n in 0..200 {
            // 100 records with two writes each: the second may only run after the first.
            let item = NewWorkItem::new(
                admin.clone(),
                EntityKind::Relation,
                format!("r{}", n % 100),
                if n < 100 { "create" } else { "update" },
                json!({ "n": n }),
                t0,
            );
            first.enqueue(item, t0).await.unwrap();
        }
        let workers = [first.clone(), second.clone(), first.clone(), second.clone()];
        let handles = workers.into_iter().map(|store| {
            let admin = admin.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for round in 0..400 {
                    let now = t0 + TimeDelta::seconds(round);
                    let batch = store
                        .claim(&admin, now, 7, Duration::from_secs(3600))
                        .await
                        .unwrap();
                    if batch.is_empty() && round > 50 {
                        break;
                    }
                    for item in batch {
                        seen.push((item.id, item.crm_id.clone(), item.operation.clone()));
                        store.complete(item.lease(), now).await.unwrap();
                    }
                }
                seen
            })
        });
        let mut all = Vec::new();
        for handle in handles {
            all.extend(handle.await.unwrap());
        }
        let ids: HashSet<_> = all.iter().map(|(id, _, _)| *id).collect();
        assert_eq!(all.len(), 200, "every item claimed");
        assert_eq!(ids.len(), 200, "no item claimed twice");
        let counts = second.counts(&admin).await.unwrap();
        assert_eq!(counts.done, 200);
    })
    .await;
}

/// The administrations registry on PostgreSQL passes the registry conformance suite; a
/// removed administration's sealed key is gone from the table (checked in SQL), and the
/// stored text never holds the koppelsleutel.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_registry_passes_conformance_and_removal_deletes_the_key() {
    use secrecy::SecretString;
    use sync_core::keys::{KeyId, KeyRing, MasterKey, Sealer};
    use sync_core::registry::{AdministrationRecord, AdministrationRegistry};
    use sync_store_postgres::PostgresRegistry;

    let schemas = Schemas::default();
    schemas
        .run(async {
            sync_core::registry::conformance::run_all(|| async {
                PostgresRegistry::new(&schemas.store().await)
                    .await
                    .expect("registry")
            })
            .await;

            let store = schemas.store().await;
            let registry = PostgresRegistry::new(&store).await.unwrap();
            let sealer = Sealer::new(
                KeyRing::new(MasterKey::generate(KeyId::new("k1").unwrap()), []).unwrap(),
            );
            let admin = AdminKey::new("adm-delete");
            let koppelsleutel = "dGhpcy1pcy1hLWtvcHBlbHNsZXV0ZWw=";
            let sealed = sealer.seal(&admin, &SecretString::from(koppelsleutel.to_owned()));
            let now = conformance::t0();
            registry
                .register(AdministrationRecord::new(
                    admin.clone(),
                    sealed,
                    "klant-1",
                    "standaard",
                    now,
                ))
                .await
                .unwrap();
            let (client, connection) =
                tokio_postgres::connect(&database_url(), tokio_postgres::NoTls)
                    .await
                    .unwrap();
            tokio::spawn(connection);
            let table = format!("\"{}\".administrations", store.schema());
            let rows = client
                .query(
                    &format!("SELECT sealed_key FROM {table} WHERE admin = $1"),
                    &[&admin.as_str()],
                )
                .await
                .unwrap();
            assert_eq!(rows.len(), 1);
            let stored: String = rows[0].get(0);
            assert!(stored.starts_with("v1.k1."), "{stored}");
            assert!(!stored.contains(koppelsleutel), "stored in clear");
            assert!(registry.remove_administration(&admin).await.unwrap());
            let left: i64 = client
                .query_one(
                    &format!("SELECT count(*) FROM {table} WHERE admin = $1"),
                    &[&admin.as_str()],
                )
                .await
                .unwrap()
                .get(0);
            assert_eq!(left, 0, "the sealed key is gone from the database");
        })
        .await;
}

/// Leases on administrations on PostgreSQL pass the lease conformance suite (exclusive also
/// when racing, taken over after expiry, renewal fails after a takeover).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_registry_passes_lease_conformance() {
    use sync_store_postgres::PostgresRegistry;

    let schemas = Schemas::default();
    schemas
        .run(async {
            sync_core::registry::conformance::run_leases(|| async {
                PostgresRegistry::new(&schemas.store().await)
                    .await
                    .expect("registry")
            })
            .await;
        })
        .await;
}

/// The run-time adapters over PostgreSQL pass both suites: every call, the one-transaction
/// batches included (the suite checks their atomicity), reaches the PostgreSQL store.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dyn_store_and_registry_over_postgres_pass_conformance() {
    use sync_core::registry::DynRegistry;
    use sync_core::store::DynStore;
    use sync_store_postgres::PostgresRegistry;

    let schemas = Schemas::default();
    schemas
        .run(async {
            conformance::run_all(|| async { DynStore::new(schemas.store().await) }).await;
            let registry = || async {
                DynRegistry::new(
                    PostgresRegistry::new(&schemas.store().await)
                        .await
                        .expect("registry"),
                )
            };
            sync_core::registry::conformance::run_all(registry).await;
            sync_core::registry::conformance::run_leases(registry).await;
        })
        .await;
}
