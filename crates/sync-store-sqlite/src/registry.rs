//! [`AdministrationRegistry`] on SQLite: the coupled administrations with their sealed
//! koppelsleutels, in the store's database file.
//!
//! The table is created by [`SqliteRegistry::new`] (`CREATE TABLE IF NOT EXISTS` in an
//! immediate transaction, safe when several processes start at once), beside the versioned
//! store schema, so the registry can be adopted without a store migration; it moves into the
//! versioned migrations when the storage contract v2 settles.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use sync_core::keys::{KeyId, SealedSecret};
use sync_core::registry::leases::lease_expiry;
use sync_core::registry::{
    AdministrationLease, AdministrationLeases, AdministrationRecord, AdministrationRegistry,
};
use sync_core::store::{AdminKey, StoreError, StoreResult};

use crate::SqliteStore;
use crate::codec::{CachedSql, SqlResultExt, count_to_sql, time_from_sql, time_to_sql};
use crate::pool::Pool;

const TABLE: &str = "
    CREATE TABLE IF NOT EXISTS administrations (
        admin          TEXT PRIMARY KEY,
        key_id         TEXT NOT NULL,
        sealed_key     TEXT NOT NULL,
        reference_key  TEXT NOT NULL,
        mapping_config TEXT NOT NULL,
        paused         INTEGER NOT NULL CHECK (paused IN (0, 1)),
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS administrations_by_reference ON administrations (reference_key, admin);
    CREATE INDEX IF NOT EXISTS administrations_by_key_id ON administrations (key_id, admin);
    CREATE TABLE IF NOT EXISTS administration_leases (
        admin      TEXT PRIMARY KEY,
        holder     TEXT,
        fence      INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;";

const COLUMNS: &str =
    "admin, sealed_key, reference_key, mapping_config, paused, created_at, updated_at";

/// The SQLite administrations registry. Clones share the store's connection pool.
#[derive(Clone, Debug)]
pub struct SqliteRegistry {
    pool: Arc<Pool>,
}

impl SqliteRegistry {
    /// The registry in `store`'s database, creating its table when missing.
    pub async fn new(store: &SqliteStore) -> Result<Self, StoreError> {
        let pool = Arc::clone(&store.pool);
        pool.write(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .store()?;
            tx.execute_batch(TABLE).store()?;
            tx.commit().store()
        })
        .await?;
        Ok(Self { pool })
    }
}

type Raw = (String, String, String, String, i64, i64, i64);

/// One `administrations` row, column by column (rusqlite reads a tuple in column order).
fn raw(row: &Row<'_>) -> rusqlite::Result<Raw> {
    Raw::try_from(row)
}

fn decode(raw: Raw) -> StoreResult<AdministrationRecord> {
    let (admin, sealed, reference_key, mapping_config, paused, created_at, updated_at) = raw;
    let sealed_key = SealedSecret::decode(&sealed).map_err(|e| {
        StoreError::corrupt(format!(
            "administrations row {admin:?}, field sealed_key: {e}"
        ))
    })?;
    let mut record = AdministrationRecord::new(
        AdminKey::new(admin),
        sealed_key,
        reference_key,
        mapping_config,
        time_from_sql(created_at),
    );
    record.paused = paused != 0;
    record.updated_at = time_from_sql(updated_at);
    Ok(record)
}

fn not_registered(admin: &str) -> StoreError {
    StoreError::not_found(format!("administration {admin:?} is not registered"))
}

impl SqliteRegistry {
    async fn select(
        &self,
        filter: &'static str,
        args: Vec<String>,
        limit: i64,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        self.pool
            .run(move |conn| {
                let sql = format!(
                    "SELECT {COLUMNS} FROM administrations WHERE {filter} ORDER BY admin LIMIT ?{}",
                    args.len() + 1
                );
                let mut values: Vec<&dyn rusqlite::ToSql> =
                    args.iter().map(|a| a as &dyn rusqlite::ToSql).collect();
                values.push(&limit);
                let mut stmt = conn.prepare_cached(&sql).store()?;
                let rows = stmt.query_map(values.as_slice(), raw).store()?;
                rows.map(|r| decode(r.store()?)).collect()
            })
            .await
    }
}

impl AdministrationRegistry for SqliteRegistry {
    async fn register(&self, record: AdministrationRecord) -> StoreResult<()> {
        let (created, updated) = (
            time_to_sql(record.created_at)?,
            time_to_sql(record.updated_at)?,
        );
        self.pool
            .write(move |conn| {
                let n = conn
                    .execute_cached(
                        "INSERT INTO administrations
                            (admin, key_id, sealed_key, reference_key, mapping_config, paused,
                             created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                         ON CONFLICT (admin) DO NOTHING",
                        params![
                            record.admin.as_str(),
                            record.sealed_key.key_id().as_str(),
                            record.sealed_key.encode(),
                            record.reference_key,
                            record.mapping_config,
                            record.paused,
                            created,
                            updated
                        ],
                    )
                    .store()?;
                if n == 1 {
                    Ok(())
                } else {
                    Err(StoreError::conflict(format!(
                        "administration {:?} is already registered",
                        record.admin
                    )))
                }
            })
            .await
    }

    async fn administration(&self, admin: &AdminKey) -> StoreResult<Option<AdministrationRecord>> {
        let admin = admin.as_str().to_owned();
        self.pool
            .run(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM administrations WHERE admin = ?1"
                ))
                .store()?
                .query_row([admin], raw)
                .optional()
                .store()?
                .map(decode)
                .transpose()
            })
            .await
    }

    async fn administrations_by_reference(
        &self,
        reference_key: &str,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        self.select(
            "reference_key = ?1",
            vec![reference_key.to_owned()],
            i64::MAX,
        )
        .await
    }

    async fn list_administrations(
        &self,
        after: Option<&AdminKey>,
        limit: usize,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        let limit = count_to_sql(limit);
        match after {
            None => self.select("1 = 1", Vec::new(), limit).await,
            Some(after) => {
                self.select("admin > ?1", vec![after.as_str().to_owned()], limit)
                    .await
            }
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
        let (admin, expected) = (admin.as_str().to_owned(), expected.encode());
        self.pool
            .write(move |conn| {
                let n = conn
                    .execute_cached(
                        "UPDATE administrations SET key_id = ?3, sealed_key = ?4, updated_at = ?5
                          WHERE admin = ?1 AND sealed_key = ?2",
                        params![admin, expected, new.key_id().as_str(), new.encode(), now],
                    )
                    .store()?;
                if n == 1 {
                    return Ok(());
                }
                let current: Option<String> = conn
                    .query_row_cached(
                        "SELECT key_id FROM administrations WHERE admin = ?1",
                        [&admin],
                        |row| row.get(0),
                    )
                    .optional()
                    .store()?;
                match current {
                    None => Err(not_registered(&admin)),
                    Some(key_id) => Err(StoreError::conflict(format!(
                        "the key of administration {admin:?} changed meanwhile (now sealed under {key_id})"
                    ))),
                }
            })
            .await
    }

    async fn set_paused(
        &self,
        admin: &AdminKey,
        paused: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = time_to_sql(now)?;
        let admin = admin.as_str().to_owned();
        self.pool
            .write(move |conn| {
                let n = conn
                    .execute_cached(
                        "UPDATE administrations SET paused = ?2, updated_at = ?3 WHERE admin = ?1",
                        params![admin, paused, now],
                    )
                    .store()?;
                if n == 1 {
                    Ok(())
                } else {
                    Err(not_registered(&admin))
                }
            })
            .await
    }

    async fn remove_administration(&self, admin: &AdminKey) -> StoreResult<bool> {
        let admin = admin.as_str().to_owned();
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .store()?;
                let n = tx
                    .execute_cached("DELETE FROM administrations WHERE admin = ?1", [&admin])
                    .store()?;
                tx.execute_cached(
                    "DELETE FROM administration_leases WHERE admin = ?1",
                    [&admin],
                )
                .store()?;
                tx.commit().store()?;
                Ok(n > 0)
            })
            .await
    }

    async fn sealed_under_other_keys(
        &self,
        current: &KeyId,
        limit: usize,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        self.select(
            "key_id <> ?1",
            vec![current.as_str().to_owned()],
            count_to_sql(limit),
        )
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

impl AdministrationLeases for SqliteRegistry {
    async fn acquire_lease(
        &self,
        admin: &AdminKey,
        holder: &str,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> StoreResult<Option<AdministrationLease>> {
        let expires = time_to_sql(lease_expiry(now, ttl))?;
        let now = time_to_sql(now)?;
        let (admin, holder) = (admin.as_str().to_owned(), holder.to_owned());
        self.pool
            .write(move |conn| {
                // One statement: the administration must be registered and unpaused, and the
                // lease row absent, released or expired; the fence grows on every take.
                let fence: Option<i64> = conn
                    .prepare_cached(
                        "INSERT INTO administration_leases (admin, holder, fence, expires_at)
                         SELECT admin, ?2, 1, ?4 FROM administrations
                          WHERE admin = ?1 AND paused = 0
                         ON CONFLICT (admin) DO UPDATE
                            SET holder = excluded.holder,
                                fence = administration_leases.fence + 1,
                                expires_at = excluded.expires_at
                          WHERE administration_leases.holder IS NULL
                             OR administration_leases.expires_at <= ?3
                         RETURNING fence",
                    )
                    .store()?
                    .query_row(params![admin, holder, now, expires], |row| row.get(0))
                    .optional()
                    .store()?;
                Ok(fence.map(|fence| lease_from_row(&admin, holder, fence, expires)))
            })
            .await
    }

    async fn renew_lease(
        &self,
        lease: &AdministrationLease,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> StoreResult<Option<AdministrationLease>> {
        let expires = time_to_sql(lease_expiry(now, ttl))?;
        let fence = i64::try_from(lease.fence).unwrap_or(i64::MAX);
        let (admin, holder) = (lease.admin.as_str().to_owned(), lease.holder.clone());
        self.pool
            .write(move |conn| {
                let n = conn
                    .prepare_cached(
                        "UPDATE administration_leases SET expires_at = ?4
                          WHERE admin = ?1 AND holder = ?2 AND fence = ?3
                            AND EXISTS (SELECT 1 FROM administrations a
                                         WHERE a.admin = ?1 AND a.paused = 0)",
                    )
                    .store()?
                    .execute(params![admin, holder, fence, expires])
                    .store()?;
                Ok((n == 1).then(|| lease_from_row(&admin, holder, fence, expires)))
            })
            .await
    }

    async fn release_lease(&self, lease: &AdministrationLease) -> StoreResult<bool> {
        let fence = i64::try_from(lease.fence).unwrap_or(i64::MAX);
        let (admin, holder) = (lease.admin.as_str().to_owned(), lease.holder.clone());
        self.pool
            .write(move |conn| {
                let n = conn
                    .execute_cached(
                        "UPDATE administration_leases SET holder = NULL
                          WHERE admin = ?1 AND holder = ?2 AND fence = ?3",
                        params![admin, holder, fence],
                    )
                    .store()?;
                Ok(n == 1)
            })
            .await
    }

    async fn lease_of(&self, admin: &AdminKey) -> StoreResult<Option<AdministrationLease>> {
        let admin = admin.as_str().to_owned();
        self.pool
            .run(move |conn| {
                let row: Option<(String, i64, i64)> = conn
                    .query_row_cached(
                        "SELECT holder, fence, expires_at FROM administration_leases
                          WHERE admin = ?1 AND holder IS NOT NULL",
                        [&admin],
                        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                    )
                    .optional()
                    .store()?;
                Ok(row
                    .map(|(holder, fence, expires)| lease_from_row(&admin, holder, fence, expires)))
            })
            .await
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
        self.pool
            .run(move |conn| {
                let columns = COLUMNS
                    .split(", ")
                    .map(|c| format!("a.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "SELECT {columns} FROM administrations a
                       LEFT JOIN administration_leases l ON l.admin = a.admin
                      WHERE a.paused = 0 AND (?2 IS NULL OR a.admin > ?2)
                        AND (l.admin IS NULL OR l.holder IS NULL OR l.expires_at <= ?1)
                      ORDER BY a.admin LIMIT ?3"
                );
                let mut stmt = conn.prepare_cached(&sql).store()?;
                let rows = stmt.query_map(params![now, after, limit], raw).store()?;
                rows.map(|r| decode(r.store()?)).collect()
            })
            .await
    }
}
