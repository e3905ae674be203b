//! [`LinkStore`] on PostgreSQL.

use chrono::{DateTime, Utc};
use sync_core::store::{AdminKey, EntityKind, IdLink, LinkStore, StoreError, StoreResult};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::PostgresStore;
use crate::codec::{PgResultExt, count_to_sql, kind_from_sql, time_from_sql, time_to_sql};

const COLUMNS: &str = "admin, kind, crm_id, snelstart_id, natural_key, payload_hash, updated_at";

fn decode(row: &Row) -> StoreResult<IdLink> {
    let admin: String = row.get(0);
    let crm_id: String = row.get(2);
    let kind = kind_from_sql(row.get(1), || {
        format!("id_links row for CRM id {crm_id:?} in administration {admin:?}, field kind")
    })?;
    let mut link = IdLink::new(
        AdminKey::new(admin),
        kind,
        crm_id,
        row.get::<_, Uuid>(3),
        time_from_sql(row.get(6)),
    );
    link.natural_key = row.get(4);
    link.payload_hash = row.get(5);
    Ok(link)
}

fn describe(admin: &AdminKey, kind: EntityKind, crm_id: &str) -> String {
    format!("{kind} link for CRM id {crm_id:?} in administration {admin:?}")
}

impl PostgresStore {
    async fn find_link(
        &self,
        filter: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Option<IdLink>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!("SELECT {COLUMNS} FROM id_links WHERE {filter}"))
            .await
            .store()?;
        client
            .query_opt(&stmt, params)
            .await
            .store()?
            .as_ref()
            .map(decode)
            .transpose()
    }
}

impl LinkStore for PostgresStore {
    async fn link_by_crm_id(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
    ) -> StoreResult<Option<IdLink>> {
        self.find_link(
            "admin = $1 AND kind = $2 AND crm_id = $3",
            &[&admin.as_str(), &kind.as_str(), &crm_id],
        )
        .await
    }

    async fn link_by_snelstart_id(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        snelstart_id: Uuid,
    ) -> StoreResult<Option<IdLink>> {
        self.find_link(
            "admin = $1 AND kind = $2 AND snelstart_id = $3",
            &[&admin.as_str(), &kind.as_str(), &snelstart_id],
        )
        .await
    }

    async fn link_by_natural_key(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        natural_key: &str,
    ) -> StoreResult<Option<IdLink>> {
        self.find_link(
            "admin = $1 AND kind = $2 AND natural_key = $3",
            &[&admin.as_str(), &kind.as_str(), &natural_key],
        )
        .await
    }

    async fn upsert_link(&self, link: IdLink) -> StoreResult<()> {
        let updated_at = time_to_sql(link.updated_at)?;
        let (admin, kind) = (link.admin.as_str(), link.kind.as_str());
        let mut client = self.client().await?;
        let tx = client.transaction().await.store()?;
        // The unique indexes are the guarantee (a racing writer gets a unique violation,
        // mapped to Conflict); these look-ups only name the record holding the key.
        let holder = tx
            .query_opt(
                "SELECT crm_id FROM id_links
                  WHERE admin = $1 AND kind = $2 AND snelstart_id = $3 AND crm_id <> $4",
                &[&admin, &kind, &link.snelstart_id, &link.crm_id],
            )
            .await
            .store()?;
        if let Some(holder) = holder {
            return Err(StoreError::conflict(format!(
                "{}: SnelStart id {} is already linked to CRM id {:?}",
                link.describe(),
                link.snelstart_id,
                holder.get::<_, String>(0)
            )));
        }
        if let Some(natural) = &link.natural_key {
            let holder = tx
                .query_opt(
                    "SELECT crm_id FROM id_links
                      WHERE admin = $1 AND kind = $2 AND natural_key = $3 AND crm_id <> $4",
                    &[&admin, &kind, natural, &link.crm_id],
                )
                .await
                .store()?;
            if let Some(holder) = holder {
                return Err(StoreError::conflict(format!(
                    "{}: natural key {natural:?} is already linked to CRM id {:?}",
                    link.describe(),
                    holder.get::<_, String>(0)
                )));
            }
        }
        let stmt = tx
            .prepare_cached(
                "INSERT INTO id_links (admin, kind, crm_id, snelstart_id, natural_key, payload_hash, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (admin, kind, crm_id) DO UPDATE SET
                    snelstart_id = excluded.snelstart_id,
                    natural_key = excluded.natural_key,
                    payload_hash = excluded.payload_hash,
                    updated_at = excluded.updated_at",
            )
            .await
            .store()?;
        tx.execute(
            &stmt,
            &[
                &admin,
                &kind,
                &link.crm_id,
                &link.snelstart_id,
                &link.natural_key,
                &link.payload_hash,
                &updated_at,
            ],
        )
        .await
        .map_err(|e| match crate::codec::pg_err(e) {
            StoreError::Conflict { what } => {
                StoreError::conflict(format!("{}: {what}", link.describe()))
            }
            other => other,
        })?;
        tx.commit().await.store()
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
        let client = self.client().await?;
        // One conditional UPDATE is the compare-and-swap; IS NOT DISTINCT FROM compares NULLs.
        let stmt = client
            .prepare_cached(
                "UPDATE id_links SET payload_hash = $5, updated_at = $6
                  WHERE admin = $1 AND kind = $2 AND crm_id = $3
                    AND payload_hash IS NOT DISTINCT FROM $4",
            )
            .await
            .store()?;
        let changed = client
            .execute(
                &stmt,
                &[
                    &admin.as_str(),
                    &kind.as_str(),
                    &crm_id,
                    &expected,
                    &new,
                    &now,
                ],
            )
            .await
            .store()?;
        if changed == 1 {
            return Ok(());
        }
        let current = client
            .query_opt(
                "SELECT payload_hash FROM id_links WHERE admin = $1 AND kind = $2 AND crm_id = $3",
                &[&admin.as_str(), &kind.as_str(), &crm_id],
            )
            .await
            .store()?;
        match current {
            None => Err(StoreError::not_found(describe(admin, kind, crm_id))),
            Some(row) => Err(StoreError::conflict(format!(
                "{}: payload hash is {:?}, expected {expected:?}",
                describe(admin, kind, crm_id),
                row.get::<_, Option<String>>(0)
            ))),
        }
    }

    async fn list_links(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<IdLink>> {
        let limit = count_to_sql(limit);
        let client = self.client().await?;
        // Two statements rather than `$3 IS NULL OR crm_id > $3`, so both walk the primary
        // key in order. `COLLATE "C"`: the contract pages in byte order of the CRM id,
        // whatever the database's collation.
        let rows = match after {
            None => {
                let stmt = client
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM id_links WHERE admin = $1 AND kind = $2
                          ORDER BY crm_id LIMIT $3"
                    ))
                    .await
                    .store()?;
                client
                    .query(&stmt, &[&admin.as_str(), &kind.as_str(), &limit])
                    .await
            }
            Some(after) => {
                let stmt = client
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM id_links
                          WHERE admin = $1 AND kind = $2 AND crm_id > $3
                          ORDER BY crm_id LIMIT $4"
                    ))
                    .await
                    .store()?;
                client
                    .query(&stmt, &[&admin.as_str(), &kind.as_str(), &after, &limit])
                    .await
            }
        }
        .store()?;
        rows.iter().map(decode).collect()
    }

    async fn delete_link(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
    ) -> StoreResult<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM id_links WHERE admin = $1 AND kind = $2 AND crm_id = $3",
                &[&admin.as_str(), &kind.as_str(), &crm_id],
            )
            .await
            .store()?;
        Ok(n > 0)
    }
}
