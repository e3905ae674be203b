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
use sync_core::registry::leases::lease_expiry;
use sync_core::registry::{
    AdministrationLease, AdministrationLeases, AdministrationRecord, AdministrationRegistry,
};
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
    CREATE INDEX IF NOT EXISTS administrations_by_key_id ON administrations (key_id, admin);
    CREATE TABLE IF NOT EXISTS administration_leases (
        admin      text COLLATE \"C\" PRIMARY KEY,
        holder     text,
        fence      bigint NOT NULL,
        expires_at bigint NOT NULL
    );";

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
        let mut client = self.store.client().await?;
        let tx = client.transaction().await.store()?;
        let n = tx
            .execute(
                "DELETE FROM administrations WHERE admin = $1",
                &[&admin.as_str()],
            )
            .await
            .store()?;
        tx.execute(
            "DELETE FROM administration_leases WHERE admin = $1",
            &[&admin.as_str()],
        )
        .await
        .store()?;
        tx.commit().await.store()?;
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

fn lease_from_row(admin: &str, holder: String, fence: i64, expires_at: i64) -> AdministrationLease {
    AdministrationLease::new(
        AdminKey::new(admin),
        holder,
        u64::try_from(fence).unwrap_or(0),
        time_from_sql(expires_at),
    )
}

impl AdministrationLeases for PostgresRegistry {
    async fn acquire_lease(
        &self,
        admin: &AdminKey,
        holder: &str,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> StoreResult<Option<AdministrationLease>> {
        let expires = time_to_sql(lease_expiry(now, ttl))?;
        let now = time_to_sql(now)?;
        let client = self.store.client().await?;
        // One statement: the administration must be registered and unpaused, and the lease
        // row absent, released or expired (ON CONFLICT DO UPDATE locks the row and checks the
        // condition on its latest version, so two racing workers cannot both win); the fence
        // grows on every take.
        let stmt = client
            .prepare_cached(
                "INSERT INTO administration_leases AS l (admin, holder, fence, expires_at)
                 SELECT admin, $2, 1, $4 FROM administrations WHERE admin = $1 AND NOT paused
                 ON CONFLICT (admin) DO UPDATE
                    SET holder = excluded.holder, fence = l.fence + 1,
                        expires_at = excluded.expires_at
                  WHERE l.holder IS NULL OR l.expires_at <= $3
                 RETURNING fence",
            )
            .await
            .store()?;
        let row = client
            .query_opt(&stmt, &[&admin.as_str(), &holder, &now, &expires])
            .await
            .store()?;
        Ok(row.map(|row| lease_from_row(admin.as_str(), holder.to_owned(), row.get(0), expires)))
    }

    async fn renew_lease(
        &self,
        lease: &AdministrationLease,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> StoreResult<Option<AdministrationLease>> {
        let expires = time_to_sql(lease_expiry(now, ttl))?;
        let fence = i64::try_from(lease.fence).unwrap_or(i64::MAX);
        let client = self.store.client().await?;
        let stmt = client
            .prepare_cached(
                "UPDATE administration_leases SET expires_at = $4
                  WHERE admin = $1 AND holder = $2 AND fence = $3
                    AND EXISTS (SELECT 1 FROM administrations a
                                 WHERE a.admin = $1 AND NOT a.paused)",
            )
            .await
            .store()?;
        let n = client
            .execute(
                &stmt,
                &[&lease.admin.as_str(), &lease.holder, &fence, &expires],
            )
            .await
            .store()?;
        Ok((n == 1)
            .then(|| lease_from_row(lease.admin.as_str(), lease.holder.clone(), fence, expires)))
    }

    async fn release_lease(&self, lease: &AdministrationLease) -> StoreResult<bool> {
        let fence = i64::try_from(lease.fence).unwrap_or(i64::MAX);
        let client = self.store.client().await?;
        let n = client
            .execute(
                "UPDATE administration_leases SET holder = NULL
                  WHERE admin = $1 AND holder = $2 AND fence = $3",
                &[&lease.admin.as_str(), &lease.holder, &fence],
            )
            .await
            .store()?;
        Ok(n == 1)
    }

    async fn lease_of(&self, admin: &AdminKey) -> StoreResult<Option<AdministrationLease>> {
        let client = self.store.client().await?;
        let row = client
            .query_opt(
                "SELECT holder, fence, expires_at FROM administration_leases
                  WHERE admin = $1 AND holder IS NOT NULL",
                &[&admin.as_str()],
            )
            .await
            .store()?;
        Ok(row.map(|row| lease_from_row(admin.as_str(), row.get(0), row.get(1), row.get(2))))
    }

    async fn leasable_administrations(
        &self,
        now: DateTime<Utc>,
        after: Option<&AdminKey>,
        limit: usize,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        let now = time_to_sql(now)?;
        let after = after.map(|a| a.as_str().to_owned());
        let limit = count_to_sql(limit);
        let columns = COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let client = self.store.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {columns} FROM administrations a
                   LEFT JOIN administration_leases l ON l.admin = a.admin
                  WHERE NOT a.paused AND ($2::text IS NULL OR a.admin > $2)
                    AND (l.admin IS NULL OR l.holder IS NULL OR l.expires_at <= $1)
                  ORDER BY a.admin LIMIT $3"
            ))
            .await
            .store()?;
        let rows = client.query(&stmt, &[&now, &after, &limit]).await.store()?;
        rows.iter().map(decode).collect()
    }
}
