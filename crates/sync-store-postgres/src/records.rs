//! [`StateStore`], [`AuditStore`] and [`ConfigStore`] on PostgreSQL.

use chrono::{DateTime, Utc};
use sync_core::store::{
    AdminKey, AuditEntry, AuditOutcome, AuditStore, ConfigStore, ConfigVersion, StateArea,
    StateKey, StateStore, StoreError, StoreResult,
};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::PostgresStore;
use crate::codec::{
    CachedSql, PgResultExt, count_to_sql, json_from_sql, json_to_sql, kind_from_sql, time_from_sql,
    time_to_sql,
};

impl StateStore for PostgresStore {
    async fn state(&self, admin: &AdminKey, key: &StateKey) -> StoreResult<Option<String>> {
        let p = key.parts();
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT value FROM state_values
                  WHERE admin = $1 AND area = $2 AND kind = $3 AND scope = $4 AND subject = $5",
            )
            .await
            .store()?;
        Ok(client
            .query_opt(
                &stmt,
                &[
                    &admin.as_str(),
                    &p.area.as_str(),
                    &p.kind,
                    &p.scope,
                    &p.subject,
                ],
            )
            .await
            .store()?
            .map(|row| row.get(0)))
    }

    async fn put_state(
        &self,
        admin: &AdminKey,
        key: &StateKey,
        expected: Option<&str>,
        value: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = time_to_sql(now)?;
        let p = key.parts();
        let area = p.area.as_str();
        let client = self.client().await?;
        // Each arm is one atomic statement: a racing writer either inserted first (the
        // insert does nothing) or changed the value (the update matches nothing).
        let changed = match expected {
            None => {
                client
                    .execute_cached(
                        "INSERT INTO state_values
                            (admin, area, kind, scope, subject, value, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (admin, area, kind, scope, subject) DO NOTHING",
                        &[
                            &admin.as_str(),
                            &area,
                            &p.kind,
                            &p.scope,
                            &p.subject,
                            &value,
                            &now,
                        ],
                    )
                    .await
            }
            Some(expected) => {
                client
                    .execute_cached(
                        "UPDATE state_values SET value = $7, updated_at = $8
                          WHERE admin = $1 AND area = $2 AND kind = $3 AND scope = $4
                            AND subject = $5 AND value = $6",
                        &[
                            &admin.as_str(),
                            &area,
                            &p.kind,
                            &p.scope,
                            &p.subject,
                            &expected,
                            &value,
                            &now,
                        ],
                    )
                    .await
            }
        }
        .store()?;
        if changed == 1 {
            return Ok(());
        }
        let current = self.state(admin, key).await?;
        Err(StoreError::conflict(format!(
            "state {key} in administration {admin:?} is {current:?}, expected {expected:?}"
        )))
    }

    async fn delete_state(
        &self,
        admin: &AdminKey,
        key: &StateKey,
        expected: Option<&str>,
    ) -> StoreResult<bool> {
        let p = key.parts();
        let area = p.area.as_str();
        let client = self.client().await?;
        let deleted = client
            .execute_cached(
                "DELETE FROM state_values
                  WHERE admin = $1 AND area = $2 AND kind = $3 AND scope = $4 AND subject = $5
                    AND ($6::text IS NULL OR value = $6)",
                &[
                    &admin.as_str(),
                    &area,
                    &p.kind,
                    &p.scope,
                    &p.subject,
                    &expected,
                ],
            )
            .await
            .store()?;
        if deleted == 1 {
            return Ok(true);
        }
        match (expected, self.state(admin, key).await?) {
            (Some(expected), current) => Err(StoreError::conflict(format!(
                "state {key} in administration {admin:?} is {current:?}, expected {expected:?}"
            ))),
            (None, _) => Ok(false),
        }
    }

    async fn prune_state(
        &self,
        admin: &AdminKey,
        area: StateArea,
        before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let before = time_to_sql(before)?;
        let client = self.client().await?;
        client
            .execute_cached(
                "DELETE FROM state_values WHERE admin = $1 AND area = $2 AND updated_at < $3",
                &[&admin.as_str(), &area.as_str(), &before],
            )
            .await
            .store()
    }
}

fn decode_audit(row: &Row) -> StoreResult<AuditEntry> {
    let seq: i64 = row.get(0);
    let field = |name: &str| format!("audit_log entry {seq}, field {name}");
    let kind = kind_from_sql(row.get(3), || field("kind"))?;
    let outcome: &str = row.get(8);
    let outcome = match outcome {
        "ok" => AuditOutcome::Ok,
        "error" => AuditOutcome::Error(row.get::<_, Option<String>>(9).unwrap_or_default()),
        other => {
            return Err(StoreError::corrupt(format!(
                "{}: unknown outcome {other:?}",
                field("outcome")
            )));
        }
    };
    let mut entry = AuditEntry::new(
        time_from_sql(row.get(1)),
        AdminKey::new(row.get::<_, String>(2)),
        kind,
        row.get::<_, String>(6),
        row.get::<_, String>(7),
        outcome,
    );
    entry.crm_id = row.get(4);
    entry.snelstart_id = row.get::<_, Option<Uuid>>(5);
    Ok(entry)
}

/// Appends audit entries in order, as arrays: one statement for any number of entries.
const INSERT_AUDIT: &str = "
    INSERT INTO audit_log
        (at, admin, kind, crm_id, snelstart_id, action, request_summary, outcome, message)
    SELECT at, admin, kind, crm_id, snelstart_id, action, request_summary, outcome, message
      FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::text[],
                  $7::text[], $8::text[], $9::text[]) WITH ORDINALITY
           AS a(at, admin, kind, crm_id, snelstart_id, action, request_summary, outcome,
                message, n)
     ORDER BY n";

/// Audit entries as the columns of [`INSERT_AUDIT`].
#[derive(Default)]
pub(crate) struct AuditRows {
    at: Vec<i64>,
    admin: Vec<String>,
    kind: Vec<&'static str>,
    crm_id: Vec<Option<String>>,
    snelstart_id: Vec<Option<Uuid>>,
    action: Vec<String>,
    summary: Vec<String>,
    outcome: Vec<&'static str>,
    message: Vec<Option<String>>,
}

impl AuditRows {
    pub(crate) fn push(&mut self, entry: AuditEntry) -> StoreResult<()> {
        let (outcome, message) = match entry.outcome {
            AuditOutcome::Ok => ("ok", None),
            AuditOutcome::Error(message) => ("error", Some(message)),
            other => {
                return Err(StoreError::invalid(format!(
                    "audit outcome {other:?} is not supported by this store version"
                )));
            }
        };
        self.at.push(time_to_sql(entry.at)?);
        self.admin.push(entry.admin.as_str().to_owned());
        self.kind.push(entry.kind.as_str());
        self.crm_id.push(entry.crm_id);
        self.snelstart_id.push(entry.snelstart_id);
        self.action.push(entry.action);
        self.summary.push(entry.request_summary);
        self.outcome.push(outcome);
        self.message.push(message);
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// Appends the entries (nothing when there are none).
    pub(crate) async fn insert(&self, client: &impl CachedSql) -> StoreResult<()> {
        if self.is_empty() {
            return Ok(());
        }
        client
            .execute_cached(
                INSERT_AUDIT,
                &[
                    &self.at,
                    &self.admin,
                    &self.kind,
                    &self.crm_id,
                    &self.snelstart_id,
                    &self.action,
                    &self.summary,
                    &self.outcome,
                    &self.message,
                ],
            )
            .await
            .store()?;
        Ok(())
    }
}

impl AuditStore for PostgresStore {
    async fn append_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        let mut rows = AuditRows::default();
        rows.push(entry)?;
        let client = self.client().await?;
        rows.insert(&client).await
    }

    async fn recent_audit(&self, admin: &AdminKey, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT seq, at, admin, kind, crm_id, snelstart_id, action, request_summary,
                        outcome, message
                   FROM audit_log WHERE admin = $1 ORDER BY seq DESC LIMIT $2",
            )
            .await
            .store()?;
        let rows = client
            .query(&stmt, &[&admin.as_str(), &count_to_sql(limit)])
            .await
            .store()?;
        rows.iter().map(decode_audit).collect()
    }

    async fn prune_audit(&self, admin: &AdminKey, before: DateTime<Utc>) -> StoreResult<u64> {
        let before = time_to_sql(before)?;
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM audit_log WHERE admin = $1 AND at < $2",
                &[&admin.as_str(), &before],
            )
            .await
            .store()
    }
}

fn version_from_sql(version: i64, admin: &AdminKey) -> StoreResult<u64> {
    u64::try_from(version).map_err(|_| {
        StoreError::corrupt(format!(
            "config_versions of administration {admin:?}: negative version {version}"
        ))
    })
}

fn decode_config(row: &Row, admin: &AdminKey) -> StoreResult<ConfigVersion> {
    let version = version_from_sql(row.get(0), admin)?;
    let document = json_from_sql(row.get(1), || {
        format!("config_versions {admin:?} version {version}, field document")
    })?;
    Ok(ConfigVersion::new(
        version,
        document,
        time_from_sql(row.get(2)),
    ))
}

impl ConfigStore for PostgresStore {
    async fn save_config(
        &self,
        admin: &AdminKey,
        document: serde_json::Value,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let now = time_to_sql(now)?;
        let document = json_to_sql(&document)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.store()?;
        let latest: Option<i64> = tx
            .query_one(
                "SELECT max(version) FROM config_versions WHERE admin = $1",
                &[&admin.as_str()],
            )
            .await
            .store()?
            .get(0);
        let latest = latest.map(|v| version_from_sql(v, admin)).transpose()?;
        if latest != expected_version {
            return Err(StoreError::conflict(format!(
                "mapping configuration of administration {admin:?} is at version {latest:?}, expected {expected_version:?}"
            )));
        }
        let version = latest.unwrap_or(0) + 1;
        let sql_version = i64::try_from(version).map_err(|_| {
            StoreError::invalid(format!("configuration version {version} is too large"))
        })?;
        // Two racers that both read the same latest version collide on the primary key: the
        // loser gets a unique violation, which is the Conflict the contract asks for.
        tx.execute(
            "INSERT INTO config_versions (admin, version, document, saved_at)
             VALUES ($1, $2, $3::text::jsonb, $4)",
            &[&admin.as_str(), &sql_version, &document, &now],
        )
        .await
        .map_err(|e| match crate::codec::pg_err(e) {
            StoreError::Conflict { .. } => StoreError::conflict(format!(
                "mapping configuration of administration {admin:?}: version {version} was saved concurrently"
            )),
            other => other,
        })?;
        tx.commit().await.store()?;
        Ok(version)
    }

    async fn config(&self, admin: &AdminKey, version: u64) -> StoreResult<Option<ConfigVersion>> {
        let Ok(sql_version) = i64::try_from(version) else {
            return Ok(None);
        };
        let client = self.client().await?;
        client
            .query_opt(
                "SELECT version, document::text, saved_at FROM config_versions
                  WHERE admin = $1 AND version = $2",
                &[&admin.as_str(), &sql_version],
            )
            .await
            .store()?
            .map(|row| decode_config(&row, admin))
            .transpose()
    }

    async fn latest_config(&self, admin: &AdminKey) -> StoreResult<Option<ConfigVersion>> {
        let client = self.client().await?;
        client
            .query_opt(
                "SELECT version, document::text, saved_at FROM config_versions
                  WHERE admin = $1 ORDER BY version DESC LIMIT 1",
                &[&admin.as_str()],
            )
            .await
            .store()?
            .map(|row| decode_config(&row, admin))
            .transpose()
    }

    async fn config_versions(&self, admin: &AdminKey) -> StoreResult<Vec<u64>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT version FROM config_versions WHERE admin = $1 ORDER BY version",
                &[&admin.as_str()],
            )
            .await
            .store()?;
        rows.iter()
            .map(|row| version_from_sql(row.get(0), admin))
            .collect()
    }
}
