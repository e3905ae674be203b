//! [`LinkStore`] on PostgreSQL.

use chrono::{DateTime, Utc};
use sync_core::store::{
    AdminKey, EntityKind, IdLink, LinkKey, LinkPart, LinkStore, StoreError, StoreResult,
    describe_link,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::PostgresStore;
use crate::codec::{
    CachedSql, PgResultExt, count_to_sql, kind_from_sql, time_from_sql, time_to_sql,
};

const COLUMNS: &str =
    "admin, kind, crm_id, part, part_name, snelstart_id, natural_key, payload_hash, updated_at";

fn decode(row: &Row) -> StoreResult<IdLink> {
    let admin: String = row.get(0);
    let crm_id: String = row.get(2);
    let what = || format!("id_links row for CRM id {crm_id:?} in administration {admin:?}");
    let kind = kind_from_sql(row.get(1), || format!("{}, field kind", what()))?;
    let (part, part_name): (&str, &str) = (row.get(3), row.get(4));
    let part = LinkPart::from_parts(part, part_name).ok_or_else(|| {
        StoreError::corrupt(format!(
            "{}: unknown part {part:?} named {part_name:?}",
            what()
        ))
    })?;
    let mut link = IdLink::new(
        AdminKey::new(admin),
        kind,
        crm_id,
        row.get::<_, Uuid>(5),
        time_from_sql(row.get(8)),
    )
    .with_part(part);
    link.natural_key = row.get(6);
    link.payload_hash = row.get(7);
    Ok(link)
}

/// The filter of one link's key, `$1` to `$5`.
const KEY: &str = "admin = $1 AND kind = $2 AND crm_id = $3 AND part = $4 AND part_name = $5";

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
        part: &LinkPart,
    ) -> StoreResult<Option<IdLink>> {
        self.find_link(
            KEY,
            &[
                &admin.as_str(),
                &kind.as_str(),
                &crm_id,
                &part.as_str(),
                &part.name(),
            ],
        )
        .await
    }

    async fn links_by_crm_ids(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_ids: &[&str],
        part: &LinkPart,
    ) -> StoreResult<Vec<Option<IdLink>>> {
        if crm_ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM id_links
                  WHERE admin = $1 AND kind = $2 AND crm_id = ANY($3) AND part = $4
                    AND part_name = $5"
            ))
            .await
            .store()?;
        let rows = client
            .query(
                &stmt,
                &[
                    &admin.as_str(),
                    &kind.as_str(),
                    &crm_ids,
                    &part.as_str(),
                    &part.name(),
                ],
            )
            .await
            .store()?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            let link = decode(row)?;
            found.insert(link.crm_id.clone(), link);
        }
        // One answer per id asked, in order (an id asked twice gets the link twice).
        Ok(crm_ids.iter().map(|id| found.get(*id).cloned()).collect())
    }

    async fn links_by_keys(
        &self,
        admin: &AdminKey,
        keys: &[LinkKey<'_>],
    ) -> StoreResult<Vec<Option<IdLink>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let kinds: Vec<&str> = keys.iter().map(|k| k.kind.as_str()).collect();
        let crm_ids: Vec<&str> = keys.iter().map(|k| k.crm_id).collect();
        let parts: Vec<&str> = keys.iter().map(|k| k.part.as_str()).collect();
        let names: Vec<&str> = keys.iter().map(|k| k.part.name()).collect();
        let client = self.client().await?;
        // One query for every key: the keys as a relation joined on the primary key (each
        // probe is a primary-key look-up, as `link_by_crm_id` is).
        let rows = client
            .query_cached(
                &format!(
                    "SELECT {COLUMNS}
                       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
                            AS k(k_kind, k_crm_id, k_part, k_name)
                       JOIN id_links ON admin = $1 AND kind = k_kind AND crm_id = k_crm_id
                                    AND part = k_part AND part_name = k_name"
                ),
                &[&admin.as_str(), &kinds, &crm_ids, &parts, &names],
            )
            .await
            .store()?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            let link = decode(row)?;
            found.insert(
                (
                    link.kind,
                    link.crm_id.clone(),
                    link.part.as_str(),
                    link.part.name().to_owned(),
                ),
                link,
            );
        }
        // One answer per key asked, in order (a key asked twice gets the link twice).
        Ok(keys
            .iter()
            .map(|k| {
                found
                    .get(&(
                        k.kind,
                        k.crm_id.to_owned(),
                        k.part.as_str(),
                        k.part.name().to_owned(),
                    ))
                    .cloned()
            })
            .collect())
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
        let (part, part_name) = (link.part.as_str(), link.part.name());
        let client = self.client().await?;
        // One statement, so no transaction: the unique indexes on (admin, kind, snelstart_id)
        // and (admin, kind, natural_key) are the guarantee. Only when one of them refuses the
        // row is the record holding the key looked up, to name it in the error; the upsert
        // is the hot path of every linked item and costs one round trip.
        let upserted = client
            .execute_cached(
                "INSERT INTO id_links (admin, kind, crm_id, part, part_name, snelstart_id,
                                       natural_key, payload_hash, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (admin, kind, crm_id, part, part_name) DO UPDATE SET
                    snelstart_id = excluded.snelstart_id,
                    natural_key = excluded.natural_key,
                    payload_hash = excluded.payload_hash,
                    updated_at = excluded.updated_at",
                &[
                    &admin,
                    &kind,
                    &link.crm_id,
                    &part,
                    &part_name,
                    &link.snelstart_id,
                    &link.natural_key,
                    &link.payload_hash,
                    &updated_at,
                ],
            )
            .await;
        let error = match upserted {
            Ok(_) => return Ok(()),
            Err(e) => crate::codec::pg_err(e),
        };
        let StoreError::Conflict { what } = error else {
            return Err(error);
        };
        let not_this_key = "NOT (crm_id = $4 AND part = $5 AND part_name = $6)";
        let holder = client
            .query_opt_cached(
                &format!(
                    "SELECT {COLUMNS} FROM id_links
                      WHERE admin = $1 AND kind = $2 AND snelstart_id = $3 AND {not_this_key}"
                ),
                &[
                    &admin,
                    &kind,
                    &link.snelstart_id,
                    &link.crm_id,
                    &part,
                    &part_name,
                ],
            )
            .await
            .store()?;
        if let Some(holder) = holder {
            return Err(StoreError::conflict(format!(
                "{}: SnelStart id {} is already held by the {}",
                link.describe(),
                link.snelstart_id,
                decode(&holder)?.describe()
            )));
        }
        if let Some(natural) = &link.natural_key {
            let holder = client
                .query_opt_cached(
                    &format!(
                        "SELECT {COLUMNS} FROM id_links
                          WHERE admin = $1 AND kind = $2 AND natural_key = $3 AND {not_this_key}"
                    ),
                    &[&admin, &kind, natural, &link.crm_id, &part, &part_name],
                )
                .await
                .store()?;
            if let Some(holder) = holder {
                return Err(StoreError::conflict(format!(
                    "{}: natural key {natural:?} is already held by the {}",
                    link.describe(),
                    decode(&holder)?.describe()
                )));
            }
        }
        // The holder went away meanwhile (a racing writer): the index's own words.
        Err(StoreError::conflict(format!("{}: {what}", link.describe())))
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
        let client = self.client().await?;
        let key: [&(dyn ToSql + Sync); 5] = [
            &admin.as_str(),
            &kind.as_str(),
            &crm_id,
            &part.as_str(),
            &part.name(),
        ];
        // One conditional UPDATE is the compare-and-swap; IS NOT DISTINCT FROM compares NULLs.
        let stmt = client
            .prepare_cached(&format!(
                "UPDATE id_links SET payload_hash = $7, updated_at = $8
                  WHERE {KEY} AND payload_hash IS NOT DISTINCT FROM $6"
            ))
            .await
            .store()?;
        let mut params = key.to_vec();
        params.extend([&expected as &(dyn ToSql + Sync), &new, &now]);
        let changed = client.execute(&stmt, &params).await.store()?;
        if changed == 1 {
            return Ok(());
        }
        let current = client
            .query_opt_cached(
                &format!("SELECT payload_hash FROM id_links WHERE {KEY}"),
                &key,
            )
            .await
            .store()?;
        match current {
            None => Err(StoreError::not_found(describe_link(
                admin, kind, crm_id, part,
            ))),
            Some(row) => Err(StoreError::conflict(format!(
                "{}: payload hash is {:?}, expected {expected:?}",
                describe_link(admin, kind, crm_id, part),
                row.get::<_, Option<String>>(0)
            ))),
        }
    }

    async fn list_links(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        after: Option<(&str, &LinkPart)>,
        limit: usize,
    ) -> StoreResult<Vec<IdLink>> {
        let limit = count_to_sql(limit);
        let client = self.client().await?;
        // Two statements rather than `$3 IS NULL OR …`, so both walk the primary key in
        // order (a row comparison in the key's column order). `COLLATE "C"` on the key
        // columns: the contract pages in byte order, whatever the database's collation.
        let rows = match after {
            None => {
                let stmt = client
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM id_links WHERE admin = $1 AND kind = $2
                          ORDER BY crm_id, part, part_name LIMIT $3"
                    ))
                    .await
                    .store()?;
                client
                    .query(&stmt, &[&admin.as_str(), &kind.as_str(), &limit])
                    .await
            }
            Some((crm_id, part)) => {
                let stmt = client
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM id_links
                          WHERE admin = $1 AND kind = $2
                            AND (crm_id, part, part_name) > ($3, $4, $5)
                          ORDER BY crm_id, part, part_name LIMIT $6"
                    ))
                    .await
                    .store()?;
                client
                    .query(
                        &stmt,
                        &[
                            &admin.as_str(),
                            &kind.as_str(),
                            &crm_id,
                            &part.as_str(),
                            &part.name(),
                            &limit,
                        ],
                    )
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
        part: &LinkPart,
    ) -> StoreResult<bool> {
        let client = self.client().await?;
        let n = client
            .execute_cached(
                &format!("DELETE FROM id_links WHERE {KEY}"),
                &[
                    &admin.as_str(),
                    &kind.as_str(),
                    &crm_id,
                    &part.as_str(),
                    &part.name(),
                ],
            )
            .await
            .store()?;
        Ok(n > 0)
    }
}
