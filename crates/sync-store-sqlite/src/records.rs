//! [`StateStore`], [`AuditStore`] and [`ConfigStore`] on SQLite.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use sync_core::store::{
    AdminKey, AuditEntry, AuditOutcome, AuditStore, ConfigStore, ConfigVersion, StateArea,
    StateKey, StateStore, StoreError, StoreResult,
};

use crate::SqliteStore;
use crate::codec::{
    CachedSql, SqlResultExt, count_to_sql, json_from_sql, json_to_sql, kind_from_sql,
    time_from_sql, time_to_sql, uuid_from_sql,
};

/// Owned columns of a [`StateKey`], to move into a blocking task.
struct KeyColumns {
    admin: String,
    area: &'static str,
    kind: String,
    scope: String,
    subject: String,
}

impl KeyColumns {
    fn new(admin: &AdminKey, key: &StateKey) -> Self {
        let parts = key.parts();
        Self {
            admin: admin.as_str().to_owned(),
            area: parts.area.as_str(),
            kind: parts.kind.to_owned(),
            scope: parts.scope.to_owned(),
            subject: parts.subject.to_owned(),
        }
    }

    fn current(&self, conn: &rusqlite::Connection) -> StoreResult<Option<String>> {
        conn.prepare_cached(
            "SELECT value FROM state_values
              WHERE admin = ?1 AND area = ?2 AND kind = ?3 AND scope = ?4 AND subject = ?5",
        )
        .store()?
        .query_row(
            params![self.admin, self.area, self.kind, self.scope, self.subject],
            |row| row.get(0),
        )
        .optional()
        .store()
    }
}

impl StateStore for SqliteStore {
    async fn state(&self, admin: &AdminKey, key: &StateKey) -> StoreResult<Option<String>> {
        let cols = KeyColumns::new(admin, key);
        self.pool.run(move |conn| cols.current(conn)).await
    }

    async fn states(
        &self,
        admin: &AdminKey,
        keys: &[StateKey],
    ) -> StoreResult<Vec<Option<String>>> {
        let cols: Vec<KeyColumns> = keys.iter().map(|key| KeyColumns::new(admin, key)).collect();
        // One turn of one connection for the whole list (see `links_by_crm_ids`).
        self.pool
            .run(move |conn| cols.iter().map(|c| c.current(conn)).collect())
            .await
    }

    async fn put_state(
        &self,
        admin: &AdminKey,
        key: &StateKey,
        expected: Option<&str>,
        value: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let cols = KeyColumns::new(admin, key);
        let what = key.to_string();
        let (expected, value) = (expected.map(str::to_owned), value.to_owned());
        let now = time_to_sql(now)?;
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .store()?;
                let current = cols.current(&tx)?;
                if current != expected {
                    return Err(StoreError::conflict(format!(
                        "state {what} in administration {:?} is {current:?}, expected {expected:?}",
                        cols.admin
                    )));
                }
                tx.prepare_cached(
                    "INSERT INTO state_values (admin, area, kind, scope, subject, value, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (admin, area, kind, scope, subject)
                     DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .store()?
                .execute(params![
                    cols.admin,
                    cols.area,
                    cols.kind,
                    cols.scope,
                    cols.subject,
                    value,
                    now
                ])
                .store()?;
                tx.commit().store()
            })
            .await
    }

    async fn delete_state(
        &self,
        admin: &AdminKey,
        key: &StateKey,
        expected: Option<&str>,
    ) -> StoreResult<bool> {
        let cols = KeyColumns::new(admin, key);
        let what = key.to_string();
        let expected = expected.map(str::to_owned);
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .store()?;
                let current = cols.current(&tx)?;
                if let Some(expected) = &expected
                    && current.as_ref() != Some(expected)
                {
                    return Err(StoreError::conflict(format!(
                        "state {what} in administration {:?} is {current:?}, expected {expected:?}",
                        cols.admin
                    )));
                }
                let n = tx
                    .prepare_cached(
                        "DELETE FROM state_values
                          WHERE admin = ?1 AND area = ?2 AND kind = ?3 AND scope = ?4
                            AND subject = ?5",
                    )
                    .store()?
                    .execute(params![
                        cols.admin,
                        cols.area,
                        cols.kind,
                        cols.scope,
                        cols.subject
                    ])
                    .store()?;
                tx.commit().store()?;
                Ok(n > 0)
            })
            .await
    }

    async fn prune_state(
        &self,
        admin: &AdminKey,
        area: StateArea,
        before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let admin = admin.as_str().to_owned();
        let before = time_to_sql(before)?;
        self.pool
            .write(move |conn| {
                let n = conn
                    .prepare_cached(
                        "DELETE FROM state_values
                          WHERE admin = ?1 AND area = ?2 AND updated_at < ?3",
                    )
                    .store()?
                    .execute(params![admin, area.as_str(), before])
                    .store()?;
                Ok(n as u64)
            })
            .await
    }
}

type RawAudit = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
);

/// One `audit_log` row, column by column (rusqlite reads a tuple in column order).
fn raw_audit(row: &Row<'_>) -> rusqlite::Result<RawAudit> {
    RawAudit::try_from(row)
}

fn decode_audit(raw: RawAudit) -> StoreResult<AuditEntry> {
    let (seq, at, admin, kind, crm_id, snelstart_id, action, summary, outcome, message) = raw;
    let field = |name: &str| format!("audit_log entry {seq}, field {name}");
    let kind = kind_from_sql(&kind, || field("kind"))?;
    let outcome = match (outcome.as_str(), message) {
        ("ok", _) => AuditOutcome::Ok,
        ("error", message) => AuditOutcome::Error(message.unwrap_or_default()),
        (other, _) => {
            return Err(StoreError::corrupt(format!(
                "{}: unknown outcome {other:?}",
                field("outcome")
            )));
        }
    };
    let mut entry = AuditEntry::new(
        time_from_sql(at),
        AdminKey::new(admin),
        kind,
        action,
        summary,
        outcome,
    );
    entry.crm_id = crm_id;
    entry.snelstart_id = snelstart_id
        .map(|text| uuid_from_sql(&text, || field("snelstart_id")))
        .transpose()?;
    Ok(entry)
}

/// An audit outcome as its columns (outcome, message).
fn audit_outcome(outcome: &AuditOutcome) -> StoreResult<(&'static str, Option<&str>)> {
    match outcome {
        AuditOutcome::Ok => Ok(("ok", None)),
        AuditOutcome::Error(message) => Ok(("error", Some(message.as_str()))),
        other => Err(StoreError::invalid(format!(
            "audit outcome {other:?} is not supported by this store version"
        ))),
    }
}

/// Appends one audit entry on `conn` (inside the caller's transaction, if any).
pub(crate) fn insert_audit(conn: &Connection, entry: &AuditEntry) -> StoreResult<()> {
    let at = time_to_sql(entry.at)?;
    let (outcome, message) = audit_outcome(&entry.outcome)?;
    conn.prepare_cached(
        "INSERT INTO audit_log
            (at, admin, kind, crm_id, snelstart_id, action, request_summary, outcome, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .store()?
    .execute(params![
        at,
        entry.admin.as_str(),
        entry.kind.as_str(),
        entry.crm_id,
        entry.snelstart_id.map(|id| id.to_string()),
        entry.action,
        entry.request_summary,
        outcome,
        message
    ])
    .store()?;
    Ok(())
}

impl AuditStore for SqliteStore {
    async fn append_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        // Refused before it reaches the writer (and its group) when the store cannot keep it.
        time_to_sql(entry.at)?;
        audit_outcome(&entry.outcome)?;
        // One of the per-item writes: committed together with those of concurrent items.
        self.pool
            .write_grouped(move |conn| insert_audit(conn, &entry))
            .await
    }

    async fn recent_audit(&self, admin: &AdminKey, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let (admin, limit) = (admin.as_str().to_owned(), count_to_sql(limit));
        self.pool
            .run(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT seq, at, admin, kind, crm_id, snelstart_id, action, request_summary,
                                outcome, message
                           FROM audit_log WHERE admin = ?1 ORDER BY seq DESC LIMIT ?2",
                    )
                    .store()?;
                let rows = stmt.query_map(params![admin, limit], raw_audit).store()?;
                rows.map(|raw| decode_audit(raw.store()?)).collect()
            })
            .await
    }

    async fn prune_audit(&self, admin: &AdminKey, before: DateTime<Utc>) -> StoreResult<u64> {
        let before = time_to_sql(before)?;
        let admin = admin.as_str().to_owned();
        self.pool
            .write(move |conn| {
                let n = conn
                    .execute_cached(
                        "DELETE FROM audit_log WHERE admin = ?2 AND at < ?1",
                        params![before, admin],
                    )
                    .store()?;
                Ok(n as u64)
            })
            .await
    }
}

fn version_from_sql(version: i64, admin: &str) -> StoreResult<u64> {
    u64::try_from(version).map_err(|_| {
        StoreError::corrupt(format!(
            "config_versions of administration {admin:?}: negative version {version}"
        ))
    })
}

fn version_to_sql(version: u64) -> StoreResult<i64> {
    i64::try_from(version)
        .map_err(|_| StoreError::invalid(format!("configuration version {version} is too large")))
}

impl ConfigStore for SqliteStore {
    async fn save_config(
        &self,
        admin: &AdminKey,
        document: serde_json::Value,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let now = time_to_sql(now)?;
        let document = json_to_sql(&document)?;
        let admin = admin.as_str().to_owned();
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .store()?;
                let latest: Option<i64> = tx
                    .query_row_cached(
                        "SELECT max(version) FROM config_versions WHERE admin = ?1",
                        [&admin],
                        |row| row.get(0),
                    )
                    .store()?;
                let latest = latest.map(|v| version_from_sql(v, &admin)).transpose()?;
                if latest != expected_version {
                    return Err(StoreError::conflict(format!(
                        "mapping configuration of administration {admin:?} is at version {latest:?}, expected {expected_version:?}"
                    )));
                }
                let version = latest.unwrap_or(0) + 1;
                tx.execute_cached(
                    "INSERT INTO config_versions (admin, version, document, saved_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![admin, version_to_sql(version)?, document, now],
                )
                .store()?;
                tx.commit().store()?;
                Ok(version)
            })
            .await
    }

    async fn config(&self, admin: &AdminKey, version: u64) -> StoreResult<Option<ConfigVersion>> {
        let admin = admin.as_str().to_owned();
        let Ok(sql_version) = i64::try_from(version) else {
            return Ok(None);
        };
        self.pool
            .run(move |conn| {
                let row: Option<(String, i64)> = conn
                    .query_row_cached(
                        "SELECT document, saved_at FROM config_versions WHERE admin = ?1 AND version = ?2",
                        params![admin, sql_version],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()
                    .store()?;
                row.map(|(document, saved_at)| {
                    let document = json_from_sql(&document, || {
                        format!("config_versions {admin:?} version {version}, field document")
                    })?;
                    Ok(ConfigVersion::new(version, document, time_from_sql(saved_at)))
                })
                .transpose()
            })
            .await
    }

    async fn latest_config(&self, admin: &AdminKey) -> StoreResult<Option<ConfigVersion>> {
        let admin = admin.as_str().to_owned();
        self.pool
            .run(move |conn| {
                let row: Option<(i64, String, i64)> = conn
                    .query_row_cached(
                        "SELECT version, document, saved_at FROM config_versions
                          WHERE admin = ?1 ORDER BY version DESC LIMIT 1",
                        [&admin],
                        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                    )
                    .optional()
                    .store()?;
                row.map(|(version, document, saved_at)| {
                    let version = version_from_sql(version, &admin)?;
                    let document = json_from_sql(&document, || {
                        format!("config_versions {admin:?} version {version}, field document")
                    })?;
                    Ok(ConfigVersion::new(
                        version,
                        document,
                        time_from_sql(saved_at),
                    ))
                })
                .transpose()
            })
            .await
    }

    async fn config_versions(&self, admin: &AdminKey) -> StoreResult<Vec<u64>> {
        let admin = admin.as_str().to_owned();
        self.pool
            .run(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT version FROM config_versions WHERE admin = ?1 ORDER BY version",
                    )
                    .store()?;
                let rows = stmt
                    .query_map([&admin], |row| row.get::<_, i64>(0))
                    .store()?;
                rows.map(|v| version_from_sql(v.store()?, &admin)).collect()
            })
            .await
    }
}
