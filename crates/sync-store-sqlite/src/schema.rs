//! Schema migrations.
//!
//! The schema version lives in the one-row table `schema_version`. Each migration is a batch
//! of SQL that moves the schema from version `n - 1` to `n`; [`migrate_to`] applies the
//! missing ones in one `BEGIN IMMEDIATE` transaction, so two processes opening the same file
//! at once cannot both migrate, and a crash mid-migration leaves the old version intact.
//! Migrations are append-only: a released migration is never edited, a change is a new one.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use sync_core::store::StoreError;

use crate::codec::SqlResultExt;

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE id_links (
        admin        TEXT NOT NULL,
        kind         TEXT NOT NULL,
        crm_id       TEXT NOT NULL,
        snelstart_id TEXT NOT NULL,
        natural_key  TEXT,
        payload_hash TEXT,
        updated_at   INTEGER NOT NULL,
        PRIMARY KEY (admin, kind, crm_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX id_links_by_snelstart ON id_links (admin, kind, snelstart_id);
    CREATE UNIQUE INDEX id_links_by_natural_key ON id_links (admin, kind, natural_key)
        WHERE natural_key IS NOT NULL;

    CREATE TABLE cursors (
        admin TEXT NOT NULL,
        name  TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (admin, name)
    ) WITHOUT ROWID;

    -- AUTOINCREMENT: ids are never reused, even after the newest items are pruned.
    CREATE TABLE work_items (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        admin           TEXT NOT NULL,
        kind            TEXT NOT NULL,
        crm_id          TEXT NOT NULL,
        operation       TEXT NOT NULL,
        payload         TEXT NOT NULL,
        state           TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        lease_until     INTEGER,
        last_error      TEXT,
        review          TEXT,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
    );
    CREATE INDEX work_items_by_state ON work_items (admin, state, id);
    CREATE INDEX work_items_by_record ON work_items (admin, kind, crm_id, state);

    -- No foreign key on depends_on: a Done dependency may be pruned while its (Done)
    -- dependant keeps the row, and a missing dependency counts as done.
    CREATE TABLE work_deps (
        item_id    INTEGER NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
        depends_on INTEGER NOT NULL,
        PRIMARY KEY (item_id, depends_on)
    ) WITHOUT ROWID;
    CREATE INDEX work_deps_by_dependency ON work_deps (depends_on, item_id);

    CREATE TABLE audit_log (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        at              INTEGER NOT NULL,
        admin           TEXT NOT NULL,
        kind            TEXT NOT NULL,
        crm_id          TEXT,
        snelstart_id    TEXT,
        action          TEXT NOT NULL,
        request_summary TEXT NOT NULL,
        outcome         TEXT NOT NULL,
        message         TEXT
    );
    CREATE INDEX audit_log_by_admin ON audit_log (admin, seq);

    CREATE TABLE config_versions (
        admin    TEXT NOT NULL,
        version  INTEGER NOT NULL,
        document TEXT NOT NULL,
        saved_at INTEGER NOT NULL,
        PRIMARY KEY (admin, version)
    ) WITHOUT ROWID;
    "#,
    // 2: indexes for the retention jobs (`prune_done`, `prune_audit`), which otherwise scan
    // whole tables once history grows.
    r#"
    CREATE INDEX work_items_done_by_age ON work_items (updated_at) WHERE state = 'done';
    CREATE INDEX audit_log_by_time ON audit_log (at);
    "#,
];

/// The database was written by a newer build whose schema this one does not know.
#[derive(Debug, thiserror::Error)]
#[error(
    "database schema version {found} is newer than this build of sync-store-sqlite supports ({supported}); upgrade the library"
)]
pub struct SchemaTooNew {
    /// The version found in the file.
    pub found: u32,
    /// [`SCHEMA_VERSION`].
    pub supported: u32,
}

/// The schema version of the database at `path` (0 for a new or empty file).
pub fn schema_version(path: &Path) -> Result<u32, StoreError> {
    let conn = Connection::open(path).store()?;
    current_version(&conn)
}

/// Brings the database at `path` to schema version `target` (at most [`SCHEMA_VERSION`]),
/// creating the file if needed. Opening a store does this automatically up to the latest
/// version; this function exists for staged upgrades and for testing upgrades from older
/// schemas.
pub fn migrate_to(path: &Path, target: u32) -> Result<u32, StoreError> {
    let mut conn = Connection::open(path).store()?;
    migrate(&mut conn, target)
}

pub(crate) fn current_version(conn: &Connection) -> Result<u32, StoreError> {
    let has_table: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .optional()
        .store()?;
    if has_table.is_none() {
        return Ok(0);
    }
    let version: Option<i64> = conn
        .query_row("SELECT max(version) FROM schema_version", [], |row| {
            row.get(0)
        })
        .store()?;
    u32::try_from(version.unwrap_or(0))
        .map_err(|_| StoreError::corrupt(format!("schema_version holds {version:?}")))
}

/// Applies missing migrations up to `target`; returns the resulting version.
pub(crate) fn migrate(conn: &mut Connection, target: u32) -> Result<u32, StoreError> {
    if target > SCHEMA_VERSION {
        return Err(StoreError::invalid(format!(
            "schema version {target} requested, this build knows up to {SCHEMA_VERSION}"
        )));
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .store()?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .store()?;
    let found = current_version(&tx)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::backend(SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        }));
    }
    if found >= target {
        return Ok(found);
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(found as usize)
    {
        tx.execute_batch(sql).store()?;
        tracing::info!(version = index + 1, "applied SQLite store migration");
    }
    tx.execute("DELETE FROM schema_version", []).store()?;
    tx.execute("INSERT INTO schema_version (version) VALUES (?1)", [target])
        .store()?;
    tx.commit().store()?;
    Ok(target)
}
