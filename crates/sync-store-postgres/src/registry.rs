//! [`AdministrationRegistry`] on PostgreSQL: the coupled administrations with their sealed
//! koppelsleutels, in the store's schema.
//!
//! The table is created by [`PostgresRegistry::new`] (`CREATE TABLE IF NOT EXISTS` under the
//! same per-schema advisory lock as the migrations, so workers may start together), beside the
//! versioned store schema; it moves into the versioned migrations when the storage contract v2
//! settles. Removing an administration deletes its row; PostgreSQL reclaims the dead tuple's
//! space on the next vacuum, and the value was ciphertext under a master key the database
//! never sees.

use chrono::{DateTime, Utc};
use sync_core::keys::{KeyId, SealedSecret};
use sync_core::registry::{AdministrationRecord, AdministrationRegistry};
use sync_core::store::{AdminKey, StoreError, StoreResult};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::PostgresStore;
use crate::codec::{PgResultExt, count_to_sql, time_from_sql, time_to_sql};

const TABLE: &str = "
    CREATE TABLE IF NOT EXISTS administrations (
        admin          text COLLATE \"C\" PRIMARY KEY,
        key_id         text NOT NULL,
        sealed_key     text NOT NULL,
        reference_key  text NOT NULL,
        mapping_config text NOT NULL,
        paused         boolean NOT NULL,
        created_at     bigint NOT NULL,
        updated_at     bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS administrations_by_reference
        ON administrations (reference_key, admin);
    CREATE INDEX IF NOT EXISTS administrations_by_key_id ON administrations (key_id, admin);";

const COLUMNS: &str =
    "admin, sealed_key, reference_key, mapping_config, paused, created_at, updated_at";

/// The PostgreSQL administrations registry. Clones share the store's connection pool.
#[derive(Clone, Debug)]
pub struct PostgresRegistry {
    store: PostgresStore,
}

impl PostgresRegistry {
    /// The registry in `store`'s schema, creating its table when missing.
    pub async fn new(store: &PostgresStore) -> Result<Self, StoreError> {
        let mut client = store.client().await?;
        let tx = client.transaction().await.store()?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('snelstart-sync migrate ' || $1, 0))",
            &[&store.schema()],
        )
        .await
        .store()?;
        tx.batch_execute(TABLE).await.store()?;
        tx.commit().await.store()?;
        Ok(Self {
            store: store.clone(),
        })
    }

    async fn select(
        &self,
        filter: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Vec<AdministrationRecord>> {
        let client = self.store.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM administrations WHERE {filter} ORDER BY admin LIMIT ${}",
                params.len()
            ))
            .await
            .store()?;
        let rows = client.query(&stmt, params).await.store()?;
        rows.iter().map(decode).collect()
    }
}

fn decode(row: &Row) -> StoreResult<AdministrationRecord> {
    let admin: String = row.get(0);
    let sealed_key = SealedSecret::decode(row.get(1)).map_err(|e| {
        StoreError::corrupt(format!(
            "administrations row {admin:?}, field sealed_key: {e}"
        ))
    })?;
    let mut record = AdministrationRecord::new(
        AdminKey::new(admin),
        sealed_key,
        row.get::<_, String>(2),
        row.get::<_, String>(3),
        time_from_sql(row.get(5)),
    );
    record.paused = row.get(4);
    record.updated_at = time_from_sql(row.get(6));
    Ok(record)
}

fn not_registered(admin: &AdminKey) -> StoreError {
    StoreError::not_found(format!("administration {admin:?} is not registered"))
}

impl AdministrationRegistry for PostgresRegistry {
    async fn register(&self, record: AdministrationRecord) -> StoreResult<()> {
        let (created, updated) = (
            time_to_sql(record.created_at)?,
            time_to_sql(record.updated_at)?,
        );
        let client = self.store.client().await?;
        let n = client
            .execute(
                "INSERT INTO administrations
                    (admin, key_id, sealed_key, reference_key, mapping_config, paused,
                     created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (admin) DO NOTHING",
                &[
                    &record.admin.as_str(),
                    &record.sealed_key.key_id().as_str(),
                    &record.sealed_key.encode(),
                    &record.reference_key,
                    &record.mapping_config,
                    &record.paused,
                    &created,
                    &updated,
                ],
            )
            .await
            .store()?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::conflict(format!(
                "administration {:?} is already registered",
                record.admin
            )))
        }
    }

    async fn administration(&self, admin: &AdminKey) -> StoreResult<Option<AdministrationRecord>> {
        let client = self.store.client().await?;
        client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM administrations WHERE admin = $1"),
                &[&admin.as_str()],
            )
            .await
            .store()?
            .as_ref()
            .map(decode)
            .transpose()
    }

    async fn administrations_by_reference(
        &self,
        reference_key: &str,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        self.select("reference_key = $1", &[&reference_key, &i64::MAX])
            .await
    }

    async fn list_administrations(
        &self,
        after: Option<&AdminKey>,
        limit: usize,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        let limit = count_to_sql(limit);
        match after {
            None => self.select("true", &[&limit]).await,
            Some(after) => self.select("admin > $1", &[&after.as_str(), &limit]).await,
        }
    }

    async fn replace_key(
        &self,
        admin: &AdminKey,
        expected: &SealedSecret,
        new: SealedSecret,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = time_to_sql(now)?;
        let client = self.store.client().await?;
        let n = client
            .execute(
                "UPDATE administrations SET key_id = $3, sealed_key = $4, updated_at = $5
                  WHERE admin = $1 AND sealed_key = $2",
                &[
                    &admin.as_str(),
                    &expected.encode(),
                    &new.key_id().as_str(),
                    &new.encode(),
                    &now,
                ],
            )
            .await
            .store()?;
        if n == 1 {
            return Ok(());
        }
        let current = client
            .query_opt(
                "SELECT key_id FROM administrations WHERE admin = $1",
                &[&admin.as_str()],
            )
            .await
            .store()?;
        match current {
            None => Err(not_registered(admin)),
            Some(row) => Err(StoreError::conflict(format!(
                "the key of administration {admin:?} changed meanwhile (now sealed under {})",
                row.get::<_, String>(0)
            ))),
        }
    }

    async fn set_paused(
        &self,
        admin: &AdminKey,
        paused: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = time_to_sql(now)?;
        let client = self.store.client().await?;
        let n = client
            .execute(
                "UPDATE administrations SET paused = $2, updated_at = $3 WHERE admin = $1",
                &[&admin.as_str(), &paused, &now],
            )
            .await
            .store()?;
        if n == 1 {
            Ok(())
        } else {
            Err(not_registered(admin))
        }
    }

    async fn remove_administration(&self, admin: &AdminKey) -> StoreResult<bool> {
        let client = self.store.client().await?;
        let n = client
            .execute(
                "DELETE FROM administrations WHERE admin = $1",
                &[&admin.as_str()],
            )
            .await
            .store()?;
        Ok(n > 0)
    }

    async fn sealed_under_other_keys(
        &self,
        current: &KeyId,
        limit: usize,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        self.select("key_id <> $1", &[&current.as_str(), &count_to_sql(limit)])
            .await
    }
}
