//! [`LinkStore`] on SQLite.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use sync_core::store::{AdminKey, EntityKind, IdLink, LinkStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::SqliteStore;
use crate::codec::{
    CachedSql, SqlResultExt, count_to_sql, kind_from_sql, time_from_sql, time_to_sql, uuid_from_sql,
};

const COLUMNS: &str = "admin, kind, crm_id, snelstart_id, natural_key, payload_hash, updated_at";

/// The raw columns of one `id_links` row, decoded outside the driver callback so decode
/// failures become typed `Corrupt` errors.
type RawLink = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
);

fn raw_link(row: &Row<'_>) -> rusqlite::Result<RawLink> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

fn decode(raw: RawLink) -> StoreResult<IdLink> {
    let (admin, kind, crm_id, snelstart_id, natural_key, payload_hash, updated_at) = raw;
    let what = || format!("id_links row for CRM id {crm_id:?} in administration {admin:?}");
    let kind = kind_from_sql(&kind, || format!("{}, field kind", what()))?;
    let snelstart_id = uuid_from_sql(&snelstart_id, || format!("{}, field snelstart_id", what()))?;
    let mut link = IdLink::new(
        AdminKey::new(admin),
        kind,
        crm_id,
        snelstart_id,
        time_from_sql(updated_at),
    );
    link.natural_key = natural_key;
    link.payload_hash = payload_hash;
    Ok(link)
}

fn find_one(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Option<IdLink>> {
    let sql = format!("SELECT {COLUMNS} FROM id_links WHERE {filter}");
    conn.prepare_cached(&sql)
        .store()?
        .query_row(params, raw_link)
        .optional()
        .store()?
        .map(decode)
        .transpose()
}

fn describe(admin: &str, kind: EntityKind, crm_id: &str) -> String {
    format!("{kind} link for CRM id {crm_id:?} in administration {admin:?}")
}

impl LinkStore for SqliteStore {
    async fn link_by_crm_id(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
    ) -> StoreResult<Option<IdLink>> {
        let (admin, crm_id) = (admin.as_str().to_owned(), crm_id.to_owned());
        self.pool
            .run(move |conn| {
                find_one(
                    conn,
                    "admin = ?1 AND kind = ?2 AND crm_id = ?3",
                    params![admin, kind.as_str(), crm_id],
                )
            })
            .await
    }

    async fn link_by_snelstart_id(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        snelstart_id: Uuid,
    ) -> StoreResult<Option<IdLink>> {
        let admin = admin.as_str().to_owned();
        self.pool
            .run(move |conn| {
                find_one(
                    conn,
                    "admin = ?1 AND kind = ?2 AND snelstart_id = ?3",
                    params![admin, kind.as_str(), snelstart_id.to_string()],
                )
            })
            .await
    }

    async fn link_by_natural_key(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        natural_key: &str,
    ) -> StoreResult<Option<IdLink>> {
        let (admin, natural_key) = (admin.as_str().to_owned(), natural_key.to_owned());
        self.pool
            .run(move |conn| {
                find_one(
                    conn,
                    "admin = ?1 AND kind = ?2 AND natural_key = ?3",
                    params![admin, kind.as_str(), natural_key],
                )
            })
            .await
    }

    async fn upsert_link(&self, link: IdLink) -> StoreResult<()> {
        let updated_at = time_to_sql(link.updated_at)?;
        // One of the per-item writes: committed together with those of concurrent items.
        self.pool
            .write_grouped(move |tx| {
                let (admin, kind) = (link.admin.as_str(), link.kind.as_str());
                let snelstart_id = link.snelstart_id.to_string();
                let holder: Option<String> = tx
                    .query_row_cached(
                        "SELECT crm_id FROM id_links
                          WHERE admin = ?1 AND kind = ?2 AND snelstart_id = ?3 AND crm_id <> ?4",
                        params![admin, kind, snelstart_id, link.crm_id],
                        |row| row.get(0),
                    )
                    .optional()
                    .store()?;
                if let Some(holder) = holder {
                    return Err(StoreError::conflict(format!(
                        "{}: SnelStart id {} is already linked to CRM id {holder:?}",
                        link.describe(),
                        link.snelstart_id
                    )));
                }
                if let Some(natural) = &link.natural_key {
                    let holder: Option<String> = tx
                        .query_row_cached(
                            "SELECT crm_id FROM id_links
                              WHERE admin = ?1 AND kind = ?2 AND natural_key = ?3 AND crm_id <> ?4",
                            params![admin, kind, natural, link.crm_id],
                            |row| row.get(0),
                        )
                        .optional()
                        .store()?;
                    if let Some(holder) = holder {
                        return Err(StoreError::conflict(format!(
                            "{}: natural key {natural:?} is already linked to CRM id {holder:?}",
                            link.describe()
                        )));
                    }
                }
                tx.execute_cached(
                    "INSERT INTO id_links (admin, kind, crm_id, snelstart_id, natural_key, payload_hash, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (admin, kind, crm_id) DO UPDATE SET
                        snelstart_id = excluded.snelstart_id,
                        natural_key = excluded.natural_key,
                        payload_hash = excluded.payload_hash,
                        updated_at = excluded.updated_at",
                    params![
                        admin,
                        kind,
                        link.crm_id,
                        snelstart_id,
                        link.natural_key,
                        link.payload_hash,
                        updated_at
                    ],
                )
                .store()?;
                Ok(())
            })
            .await
    }

    async fn set_payload_hash(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
        expected: Option<&str>,
        new: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = time_to_sql(now)?;
        let (admin, crm_id) = (admin.as_str().to_owned(), crm_id.to_owned());
        let (expected, new) = (expected.map(str::to_owned), new.map(str::to_owned));
        self.pool
            .run(move |conn| {
                // One conditional UPDATE is the compare-and-swap; `IS` compares NULLs too.
                let changed = conn
                    .prepare_cached(
                        "UPDATE id_links SET payload_hash = ?5, updated_at = ?6
                          WHERE admin = ?1 AND kind = ?2 AND crm_id = ?3 AND payload_hash IS ?4",
                    )
                    .store()?
                    .execute(params![admin, kind.as_str(), crm_id, expected, new, now])
                    .store()?;
                if changed == 1 {
                    return Ok(());
                }
                let current: Option<Option<String>> = conn
                    .query_row_cached(
                        "SELECT payload_hash FROM id_links WHERE admin = ?1 AND kind = ?2 AND crm_id = ?3",
                        params![admin, kind.as_str(), crm_id],
                        |row| row.get(0),
                    )
                    .optional()
                    .store()?;
                match current {
                    None => Err(StoreError::not_found(describe(&admin, kind, &crm_id))),
                    Some(current) => Err(StoreError::conflict(format!(
                        "{}: payload hash is {current:?}, expected {expected:?}",
                        describe(&admin, kind, &crm_id)
                    ))),
                }
            })
            .await
    }

    async fn list_links(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<IdLink>> {
        let (admin, after) = (admin.as_str().to_owned(), after.map(str::to_owned));
        let limit = count_to_sql(limit);
        self.pool
            .run(move |conn| {
                let sql = format!(
                    "SELECT {COLUMNS} FROM id_links
                      WHERE admin = ?1 AND kind = ?2 AND (?3 IS NULL OR crm_id > ?3)
                      ORDER BY crm_id LIMIT ?4"
                );
                let mut stmt = conn.prepare_cached(&sql).store()?;
                let rows = stmt
                    .query_map(params![admin, kind.as_str(), after, limit], raw_link)
                    .store()?;
                rows.map(|raw| decode(raw.store()?)).collect()
            })
            .await
    }

    async fn delete_link(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
    ) -> StoreResult<bool> {
        let (admin, crm_id) = (admin.as_str().to_owned(), crm_id.to_owned());
        self.pool
            .run(move |conn| {
                let n = conn
                    .execute_cached(
                        "DELETE FROM id_links WHERE admin = ?1 AND kind = ?2 AND crm_id = ?3",
                        params![admin, kind.as_str(), crm_id],
                    )
                    .store()?;
                Ok(n > 0)
            })
            .await
    }
}
