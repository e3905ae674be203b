//! Schema migrations.
//!
//! The schema version lives in the one-row table `schema_version`. Each migration is a batch
//! of SQL that moves the schema from version `n - 1` to `n`; [`migrate_to`] applies the
//! missing ones in one `BEGIN IMMEDIATE` transaction, so two processes opening the same file
//! at once cannot both migrate, and a crash mid-migration leaves the old version intact.
//! Migrations are append-only: a released migration is never edited, a change is a new one.

use std::collections::HashSet;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use sync_core::store::{EntityKind, LinkPart, StateKey, StoreError, legacy_link_key};

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
    // 3: storage contract v2. Retention is per administration, and the engine asks "when is
    // the next item due" on every wait: partial indexes answer both by reading one row.
    r#"
    DROP INDEX work_items_done_by_age;
    CREATE INDEX work_items_done_by_age ON work_items (admin, updated_at) WHERE state = 'done';
    DROP INDEX audit_log_by_time;
    CREATE INDEX audit_log_by_time ON audit_log (admin, at);
    CREATE INDEX work_items_pending_due ON work_items (admin, next_attempt_at)
        WHERE state = 'pending';
    CREATE INDEX work_items_leases ON work_items (admin, lease_until) WHERE state = 'in_flight';

    -- Typed state keys: each part of a key in its own column, so no CRM id can spell another
    -- record's key; `updated_at` for retention. The old `cursors` rows are carried over by
    -- `carry_over_cursors` (Rust, because the old names must be parsed); names this library
    -- never wrote stay in `cursors`.
    CREATE TABLE state_values (
        admin      TEXT NOT NULL,
        area       TEXT NOT NULL,
        kind       TEXT NOT NULL,
        scope      TEXT NOT NULL,
        subject    TEXT NOT NULL,
        value      TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (admin, area, kind, scope, subject)
    ) WITHOUT ROWID;
    CREATE INDEX state_values_by_age ON state_values (admin, area, updated_at);
    "#,
    // 4: the outbox of CRM sink events, written in the transaction that records the outcome
    // of the item that produced them (ADR 004, "Telling the CRM").
    r#"
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        admin           TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        event           TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error      TEXT,
        created_at      INTEGER NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (admin, next_attempt_at);
    "#,
    // 5: which store instance (process) holds a claim, so a claim of a dead process is taken
    // back at once (see `holder`). NULL for claims made before.
    r#"
    ALTER TABLE work_items ADD COLUMN holder TEXT;
    "#,
    // 6: structured link keys (issue 12). The part of a CRM record a link is for (the whole
    // record, the supplier half of a relation, an attachment by file name) is two columns of
    // the key instead of a suffix of `crm_id` (`A#2`, `invoice/file`), so no CRM id can spell
    // another record's part. The old rows are carried over by `carry_over_links` (Rust: the
    // old keys are read with `legacy_link_key`, the one rule backups of format 1 use too).
    r#"
    DROP INDEX id_links_by_snelstart;
    DROP INDEX id_links_by_natural_key;
    ALTER TABLE id_links RENAME TO id_links_v5;
    CREATE TABLE id_links (
        admin        TEXT NOT NULL,
        kind         TEXT NOT NULL,
        crm_id       TEXT NOT NULL,
        part         TEXT NOT NULL,
        part_name    TEXT NOT NULL,
        snelstart_id TEXT NOT NULL,
        natural_key  TEXT,
        payload_hash TEXT,
        updated_at   INTEGER NOT NULL,
        PRIMARY KEY (admin, kind, crm_id, part, part_name)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX id_links_by_snelstart ON id_links (admin, kind, snelstart_id);
    CREATE UNIQUE INDEX id_links_by_natural_key ON id_links (admin, kind, natural_key)
        WHERE natural_key IS NOT NULL;
    "#,
    // 7: payloads in their own table (issue 12). A work item's row changes three times or
    // more (claim, completion, each retry); with its payload (1 to 3 KB of JSON, a PDF in
    // base64 for attachments) in the row, every change wrote the payload's pages again, and
    // the claim of a batch of 200 wrote about as many pages to the WAL as the batch's
    // payloads fill. Now the payload is written once, when the item is queued (or coalesced
    // into), and the rows that change are about a tenth of a page each.
    r#"
    CREATE TABLE work_payloads (
        item_id INTEGER PRIMARY KEY REFERENCES work_items (id) ON DELETE CASCADE,
        payload TEXT NOT NULL
    );
    INSERT INTO work_payloads (item_id, payload) SELECT id, payload FROM work_items;
    ALTER TABLE work_items DROP COLUMN payload;
    "#,
];

/// Runs after migration `version`'s SQL, in the same transaction.
fn after_migration(tx: &Connection, version: u32) -> Result<(), StoreError> {
    match version {
        3 => carry_over_cursors(tx),
        6 => carry_over_links(tx),
        _ => Ok(()),
    }
}

/// Moves the links of schema 1-5, whose parts were spelled into the CRM id, into the
/// structured `id_links` of schema 6 (see [`legacy_link_key`] for how an old key is read:
/// `X#2` is the supplier half of relation `X` only when `X` is linked too, an attachment key
/// is split after the longest booked invoice id), then drops the old table.
fn carry_over_links(tx: &Connection) -> Result<(), StoreError> {
    type OldLink = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        i64,
    );
    let rows: Vec<OldLink> = tx
        .prepare(
            "SELECT admin, kind, crm_id, snelstart_id, natural_key, payload_hash, updated_at
               FROM id_links_v5",
        )
        .store()?
        .query_map([], |row| OldLink::try_from(row))
        .store()?
        .collect::<rusqlite::Result<_>>()
        .store()?;
    let existing: HashSet<(&str, &str, &str)> = rows
        .iter()
        .map(|(admin, kind, crm_id, ..)| (admin.as_str(), kind.as_str(), crm_id.as_str()))
        .collect();
    let mut insert = tx
        .prepare(
            "INSERT INTO id_links (admin, kind, crm_id, part, part_name, snelstart_id,
                                   natural_key, payload_hash, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .store()?;
    for (admin, kind_text, crm_id, snelstart_id, natural_key, payload_hash, updated_at) in &rows {
        // A kind this build does not know keeps its key as it was (a whole record).
        let (crm_id, part) = match kind_text.parse::<EntityKind>() {
            Ok(kind) => legacy_link_key(kind, crm_id, |kind, id| {
                existing.contains(&(admin.as_str(), kind.as_str(), id))
            }),
            Err(_) => (crm_id.clone(), LinkPart::Whole),
        };
        insert
            .execute(rusqlite::params![
                admin,
                kind_text,
                crm_id,
                part.as_str(),
                part.name(),
                snelstart_id,
                natural_key,
                payload_hash,
                updated_at
            ])
            .store()?;
    }
    drop(insert);
    tx.execute_batch("DROP TABLE id_links_v5").store()?;
    Ok(())
}

/// Moves the string-keyed cursors of schema 1-2 into `state_values`. Their `updated_at` is
/// unknown and becomes 0 (the epoch): retention may prune old parked entries at once, which
/// only means an identical resubmission of a failed record is tried once more.
fn carry_over_cursors(tx: &Connection) -> Result<(), StoreError> {
    let rows: Vec<(String, String, String)> = tx
        .prepare("SELECT admin, name, value FROM cursors")
        .store()?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .store()?
        .collect::<rusqlite::Result<_>>()
        .store()?;
    for (admin, name, value) in rows {
        let Some(key) = StateKey::from_legacy_name(&name) else {
            tracing::warn!(%name, "kept a cursor this library did not write in the old table");
            continue;
        };
        let parts = key.parts();
        tx.execute(
            "INSERT OR REPLACE INTO state_values
                (admin, area, kind, scope, subject, value, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
            rusqlite::params![
                admin,
                parts.area.as_str(),
                parts.kind,
                parts.scope,
                parts.subject,
                value
            ],
        )
        .store()?;
        tx.execute(
            "DELETE FROM cursors WHERE admin = ?1 AND name = ?2",
            [&admin, &name],
        )
        .store()?;
    }
    Ok(())
}

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
        after_migration(&tx, index as u32 + 1)?;
        tracing::info!(version = index + 1, "applied SQLite store migration");
    }
    tx.execute("DELETE FROM schema_version", []).store()?;
    tx.execute("INSERT INTO schema_version (version) VALUES (?1)", [target])
        .store()?;
    tx.commit().store()?;
    Ok(target)
}
