//! [`LinkStore`] on SQLite.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use sync_core::store::{
    AdminKey, EntityKind, IdLink, LinkKey, LinkPart, LinkStore, StoreError, StoreResult,
    describe_link,
};
use uuid::Uuid;

use crate::SqliteStore;
use crate::codec::{
    CachedSql, SqlResultExt, count_to_sql, kind_from_sql, time_from_sql, time_to_sql, uuid_from_sql,
};

const COLUMNS: &str =
    "admin, kind, crm_id, part, part_name, snelstart_id, natural_key, payload_hash, updated_at";

/// The raw columns of one `id_links` row, decoded outside the driver callback so decode
/// failures become typed `Corrupt` errors.
struct RawLink {
    admin: String,
    kind: String,
    crm_id: String,
    part: String,
    part_name: String,
    snelstart_id: String,
    natural_key: Option<String>,
    payload_hash: Option<String>,
    updated_at: i64,
}

fn raw_link(row: &Row<'_>) -> rusqlite::Result<RawLink> {
    Ok(RawLink {
        admin: row.get(0)?,
        kind: row.get(1)?,
        crm_id: row.get(2)?,
        part: row.get(3)?,
        part_name: row.get(4)?,
        snelstart_id: row.get(5)?,
        natural_key: row.get(6)?,
        payload_hash: row.get(7)?,
        updated_at: row.get(8)?,
    })
}

fn decode(raw: RawLink) -> StoreResult<IdLink> {
    let what = || {
        format!(
            "id_links row for CRM id {:?} in administration {:?}",
            raw.crm_id, raw.admin
        )
    };
    let kind = kind_from_sql(&raw.kind, || format!("{}, field kind", what()))?;
    let snelstart_id = uuid_from_sql(&raw.snelstart_id, || {
        format!("{}, field snelstart_id", what())
    })?;
    let part = LinkPart::from_parts(&raw.part, &raw.part_name).ok_or_else(|| {
        StoreError::corrupt(format!(
            "{}: unknown part {:?} named {:?}",
            what(),
            raw.part,
            raw.part_name
        ))
    })?;
    let mut link = IdLink::new(
        AdminKey::new(raw.admin),
        kind,
        raw.crm_id,
        snelstart_id,
        time_from_sql(raw.updated_at),
    )
    .with_part(part);
    link.natural_key = raw.natural_key;
    link.payload_hash = raw.payload_hash;
    Ok(link)
}

/// The filter of one link's key, `?1` to `?5` (admin, kind, CRM id, part, part name).
const KEY: &str = "admin = ?1 AND kind = ?2 AND crm_id = ?3 AND part = ?4 AND part_name = ?5";

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

/// The link holding a secondary key (`column = value`) under another key than `link`'s.
fn other_holder(
    conn: &Connection,
    link: &IdLink,
    column: &str,
    value: &str,
) -> StoreResult<Option<IdLink>> {
    find_one(
        conn,
        &format!(
            "admin = ?1 AND kind = ?2 AND {column} = ?3
             AND NOT (crm_id = ?4 AND part = ?5 AND part_name = ?6)"
        ),
        params![
            link.admin.as_str(),
            link.kind.as_str(),
            value,
            link.crm_id,
            link.part.as_str(),
            link.part.name()
        ],
    )
}

impl LinkStore for SqliteStore {
    async fn link_by_crm_id(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
        part: &LinkPart,
    ) -> StoreResult<Option<IdLink>> {
        let (admin, crm_id, part) = (admin.as_str().to_owned(), crm_id.to_owned(), part.clone());
        self.pool
            .run(move |conn| {
                find_one(
                    conn,
                    KEY,
                    params![admin, kind.as_str(), crm_id, part.as_str(), part.name()],
                )
            })
            .await
    }

    async fn links_by_crm_ids(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_ids: &[&str],
        part: &LinkPart,
    ) -> StoreResult<Vec<Option<IdLink>>> {
        let admin = admin.as_str().to_owned();
        let crm_ids: Vec<String> = crm_ids.iter().map(|id| (*id).to_owned()).collect();
        let part = part.clone();
        // One turn of one connection for the whole list: the per-record cost was the trip
        // to the blocking pool, not the indexed look-up.
        self.pool
            .run(move |conn| {
                crm_ids
                    .iter()
                    .map(|crm_id| {
                        find_one(
                            conn,
                            KEY,
                            params![admin, kind.as_str(), crm_id, part.as_str(), part.name()],
                        )
                    })
                    .collect()
            })
            .await
    }

    async fn links_by_keys(
        &self,
        admin: &AdminKey,
        keys: &[LinkKey<'_>],
    ) -> StoreResult<Vec<Option<IdLink>>> {
        let admin = admin.as_str().to_owned();
        let keys: Vec<(EntityKind, String, LinkPart)> = keys
            .iter()
            .map(|key| (key.kind, key.crm_id.to_owned(), key.part.clone()))
            .collect();
        // One turn of one connection for the whole list, as `links_by_crm_ids`.
        self.pool
            .run(move |conn| {
                keys.iter()
                    .map(|(kind, crm_id, part)| {
                        find_one(
                            conn,
                            KEY,
                            params![admin, kind.as_str(), crm_id, part.as_str(), part.name()],
                        )
                    })
                    .collect()
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
                let snelstart_id = link.snelstart_id.to_string();
                if let Some(holder) = other_holder(tx, &link, "snelstart_id", &snelstart_id)? {
                    return Err(StoreError::conflict(format!(
                        "{}: SnelStart id {} is already held by the {}",
                        link.describe(),
                        link.snelstart_id,
                        holder.describe()
                    )));
                }
                if let Some(natural) = &link.natural_key
                    && let Some(holder) = other_holder(tx, &link, "natural_key", natural)?
                {
                    return Err(StoreError::conflict(format!(
                        "{}: natural key {natural:?} is already held by the {}",
                        link.describe(),
                        holder.describe()
                    )));
                }
                tx.execute_cached(
                    "INSERT INTO id_links (admin, kind, crm_id, part, part_name, snelstart_id,
                                           natural_key, payload_hash, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (admin, kind, crm_id, part, part_name) DO UPDATE SET
                        snelstart_id = excluded.snelstart_id,
                        natural_key = excluded.natural_key,
                        payload_hash = excluded.payload_hash,
                        updated_at = excluded.updated_at",
                    params![
                        link.admin.as_str(),
                        link.kind.as_str(),
                        link.crm_id,
                        link.part.as_str(),
                        link.part.name(),
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
        part: &LinkPart,
        expected: Option<&str>,
        new: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = time_to_sql(now)?;
        let (admin, crm_id, part) = (admin.clone(), crm_id.to_owned(), part.clone());
        let (expected, new) = (expected.map(str::to_owned), new.map(str::to_owned));
        self.pool
            .write(move |conn| {
                let key = params![
                    admin.as_str(),
                    kind.as_str(),
                    crm_id,
                    part.as_str(),
                    part.name()
                ];
                // One conditional UPDATE is the compare-and-swap; `IS` compares NULLs too.
                let changed = conn
                    .prepare_cached(
                        "UPDATE id_links SET payload_hash = ?7, updated_at = ?8
                          WHERE admin = ?1 AND kind = ?2 AND crm_id = ?3 AND part = ?4
                            AND part_name = ?5 AND payload_hash IS ?6",
                    )
                    .store()?
                    .execute(params![
                        admin.as_str(),
                        kind.as_str(),
                        crm_id,
                        part.as_str(),
                        part.name(),
                        expected,
                        new,
                        now
                    ])
                    .store()?;
                if changed == 1 {
                    return Ok(());
                }
                let current: Option<Option<String>> = conn
                    .query_row_cached(
                        "SELECT payload_hash FROM id_links
                          WHERE admin = ?1 AND kind = ?2 AND crm_id = ?3 AND part = ?4
                            AND part_name = ?5",
                        key,
                        |row| row.get(0),
                    )
                    .optional()
                    .store()?;
                let describe = || describe_link(&admin, kind, &crm_id, &part);
                match current {
                    None => Err(StoreError::not_found(describe())),
                    Some(current) => Err(StoreError::conflict(format!(
                        "{}: payload hash is {current:?}, expected {expected:?}",
                        describe()
                    ))),
                }
            })
            .await
    }

    async fn list_links(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        after: Option<(&str, &LinkPart)>,
        limit: usize,
    ) -> StoreResult<Vec<IdLink>> {
        let admin = admin.as_str().to_owned();
        // Keyset paging on the primary key: a row value comparison in the key's column order
        // (BINARY collation: byte order, as the contract says).
        let after = after.map(|(crm_id, part)| {
            (
                crm_id.to_owned(),
                part.as_str().to_owned(),
                part.name().to_owned(),
            )
        });
        let limit = count_to_sql(limit);
        self.pool
            .run(move |conn| {
                let order = "ORDER BY crm_id, part, part_name LIMIT ?3";
                let rows = match after {
                    None => {
                        let sql = format!(
                            "SELECT {COLUMNS} FROM id_links WHERE admin = ?1 AND kind = ?2 {order}"
                        );
                        let mut stmt = conn.prepare_cached(&sql).store()?;
                        stmt.query_map(params![admin, kind.as_str(), limit], raw_link)
                            .store()?
                            .collect::<rusqlite::Result<Vec<_>>>()
                    }
                    Some((crm_id, part, name)) => {
                        let sql = format!(
                            "SELECT {COLUMNS} FROM id_links
                              WHERE admin = ?1 AND kind = ?2 AND (crm_id, part, part_name) > (?4, ?5, ?6)
                              {order}"
                        );
                        let mut stmt = conn.prepare_cached(&sql).store()?;
                        stmt.query_map(
                            params![admin, kind.as_str(), limit, crm_id, part, name],
                            raw_link,
                        )
                        .store()?
                        .collect::<rusqlite::Result<Vec<_>>>()
                    }
                };
                rows.store()?.into_iter().map(decode).collect()
            })
            .await
    }

    async fn delete_link(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
        part: &LinkPart,
    ) -> StoreResult<bool> {
        let (admin, crm_id, part) = (admin.as_str().to_owned(), crm_id.to_owned(), part.clone());
        self.pool
            .write(move |conn| {
                let n = conn
                    .execute_cached(
                        "DELETE FROM id_links WHERE admin = ?1 AND kind = ?2 AND crm_id = ?3
                            AND part = ?4 AND part_name = ?5",
                        params![admin, kind.as_str(), crm_id, part.as_str(), part.name()],
                    )
                    .store()?;
                Ok(n > 0)
            })
            .await
    }
}
