//! Embedded, versioned schema migrations.
//!
//! The applied versions live in the table `schema_migrations` of the store's schema. Each
//! migration is a batch of SQL moving the schema from version `n - 1` to `n`. Migrating
//! runs inside one transaction that first takes a transaction-scoped advisory lock keyed by
//! the schema's name, so any number of processes can open the store at once: the first
//! migrates, the others wait for its commit and then find the schema current. PostgreSQL's
//! DDL is transactional, so a crash mid-migration leaves the previous version intact.
//! Migrations are append-only: a released migration is never edited, a change is a new one.

use std::collections::HashSet;

use sync_core::store::{EntityKind, LinkPart, StoreError, legacy_link_key};

use crate::codec::PgResultExt;

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Migration `i` takes the schema from version `i` to `i + 1`.
///
/// Every engine query has an index; `docs/adr/005-postgres-store.md` lists each query with
/// its plan. Partial indexes keep the hot ones (claim, coalescing, per-record order) small:
/// they hold only the items still waiting or running, however much history the queue keeps.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE id_links (
        admin        text NOT NULL,
        kind         text NOT NULL,
        -- Byte order: list_links pages by CRM id in byte order, whatever the database's
        -- collation.
        crm_id       text COLLATE "C" NOT NULL,
        snelstart_id uuid NOT NULL,
        natural_key  text,
        payload_hash text,
        updated_at   bigint NOT NULL,
        PRIMARY KEY (admin, kind, crm_id)
    );
    CREATE UNIQUE INDEX id_links_by_snelstart ON id_links (admin, kind, snelstart_id);
    CREATE UNIQUE INDEX id_links_by_natural_key ON id_links (admin, kind, natural_key)
        WHERE natural_key IS NOT NULL;

    CREATE TABLE cursors (
        admin text NOT NULL,
        name  text NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (admin, name)
    );

    -- An identity column never hands out a value twice, even after the newest items are
    -- pruned: ids are never reused.
    CREATE TABLE work_items (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        admin           text NOT NULL,
        kind            text NOT NULL,
        crm_id          text NOT NULL,
        operation       text NOT NULL,
        payload         jsonb NOT NULL,
        state           text NOT NULL CHECK (state IN
                            ('pending', 'in_flight', 'done', 'failed', 'needs_review')),
        attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_at bigint NOT NULL,
        lease_until     bigint,
        last_error      jsonb,
        review          jsonb,
        created_at      bigint NOT NULL,
        updated_at      bigint NOT NULL
    );
    -- claim: the waiting and running items of one administration in id order.
    CREATE INDEX work_items_active ON work_items (admin, id)
        WHERE state IN ('pending', 'in_flight');
    -- enqueue's coalescing candidate and claim's per-record order check.
    CREATE INDEX work_items_active_by_record ON work_items (admin, kind, crm_id, operation, id)
        WHERE state IN ('pending', 'in_flight');
    -- replay of one record (the engine replays on every submit) or one kind.
    CREATE INDEX work_items_parked_by_record ON work_items (admin, kind, crm_id)
        WHERE state IN ('failed', 'needs_review');
    -- counts, list_work by state, replay of a whole administration, the blocked count.
    CREATE INDEX work_items_by_state ON work_items (admin, state, id);
    -- list_work without a state filter.
    CREATE INDEX work_items_by_admin ON work_items (admin, id);
    -- prune_done.
    CREATE INDEX work_items_done_by_age ON work_items (updated_at) WHERE state = 'done';

    -- No foreign key on depends_on: a Done dependency may be pruned while its (Done)
    -- dependant keeps the row, and a missing dependency counts as done.
    CREATE TABLE work_deps (
        item_id    bigint NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
        depends_on bigint NOT NULL,
        PRIMARY KEY (item_id, depends_on)
    );
    CREATE INDEX work_deps_by_dependency ON work_deps (depends_on, item_id);

    CREATE TABLE audit_log (
        seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at              bigint NOT NULL,
        admin           text NOT NULL,
        kind            text NOT NULL,
        crm_id          text,
        snelstart_id    uuid,
        action          text NOT NULL,
        request_summary text NOT NULL,
        outcome         text NOT NULL CHECK (outcome IN ('ok', 'error')),
        message         text
    );
    CREATE INDEX audit_log_by_admin ON audit_log (admin, seq);
    CREATE INDEX audit_log_by_time ON audit_log (at);

    CREATE TABLE config_versions (
        admin    text NOT NULL,
        version  bigint NOT NULL CHECK (version >= 1),
        document jsonb NOT NULL,
        saved_at bigint NOT NULL,
        PRIMARY KEY (admin, version)
    );
    "#,
    // 2: storage contract v2 (issue 12). Typed state keys replace the string-keyed cursors
    // (each part of a key its own column; `updated_at` for retention); retention is per
    // administration; `next_due` reads one row of a partial index per state. The cursors
    // table of version 1 was never part of a release, so its rows are not carried over.
    r#"
    CREATE TABLE state_values (
        admin      text NOT NULL,
        area       text NOT NULL,
        kind       text NOT NULL,
        scope      text NOT NULL,
        subject    text NOT NULL,
        value      text NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (admin, area, kind, scope, subject)
    );
    CREATE INDEX state_values_by_age ON state_values (admin, area, updated_at);
    DROP TABLE cursors;
    DROP INDEX work_items_done_by_age;
    CREATE INDEX work_items_done_by_age ON work_items (admin, updated_at) WHERE state = 'done';
    DROP INDEX audit_log_by_time;
    CREATE INDEX audit_log_by_time ON audit_log (admin, at);
    CREATE INDEX work_items_pending_due ON work_items (admin, next_attempt_at)
        WHERE state = 'pending';
    CREATE INDEX work_items_leases ON work_items (admin, lease_until) WHERE state = 'in_flight';
    "#,
    // 3: the outbox of CRM sink events, written in the transaction that records the outcome
    // of the item that produced them (ADR 004, "Telling the CRM").
    r#"
    CREATE TABLE outbox (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        admin           text NOT NULL,
        idempotency_key text NOT NULL,
        event           jsonb NOT NULL,
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at bigint NOT NULL,
        last_error      text,
        created_at      bigint NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (admin, next_attempt_at);
    "#,
    // 4: structured link keys (issue 12). The part of a CRM record a link is for (the whole
    // record, the supplier half of a relation, an attachment by file name) is two columns of
    // the key instead of a suffix of `crm_id` (`A#2`, `invoice/file`), so no CRM id can spell
    // another record's part. The old rows are carried over by `carry_over_links` (Rust: the
    // old keys are read with `legacy_link_key`, the one rule the SQLite store and backups of
    // format 1 use too).
    r#"
    ALTER TABLE id_links RENAME TO id_links_v3;
    ALTER TABLE id_links_v3 RENAME CONSTRAINT id_links_pkey TO id_links_v3_pkey;
    DROP INDEX id_links_by_snelstart;
    DROP INDEX id_links_by_natural_key;
    CREATE TABLE id_links (
        admin        text NOT NULL,
        kind         text NOT NULL,
        -- Byte order: list_links pages by (crm_id, part, part_name) in byte order, whatever
        -- the database's collation.
        crm_id       text COLLATE "C" NOT NULL,
        part         text COLLATE "C" NOT NULL,
        part_name    text COLLATE "C" NOT NULL,
        snelstart_id uuid NOT NULL,
        natural_key  text,
        payload_hash text,
        updated_at   bigint NOT NULL,
        PRIMARY KEY (admin, kind, crm_id, part, part_name)
    );
    CREATE UNIQUE INDEX id_links_by_snelstart ON id_links (admin, kind, snelstart_id);
    CREATE UNIQUE INDEX id_links_by_natural_key ON id_links (admin, kind, natural_key)
        WHERE natural_key IS NOT NULL;
    "#,
];

/// Runs after migration `version`'s SQL, in the same transaction.
async fn after_migration(
    tx: &deadpool_postgres::Transaction<'_>,
    version: u32,
) -> Result<(), StoreError> {
    match version {
        4 => carry_over_links(tx).await,
        _ => Ok(()),
    }
}

/// Moves the links of versions 1-3, whose parts were spelled into the CRM id, into the
/// structured `id_links` of version 4 (see [`legacy_link_key`] for how an old key is read:
/// `X#2` is the supplier half of relation `X` only when `X` is linked too, an attachment key
/// is split after the longest booked invoice id), then drops the old table.
async fn carry_over_links(tx: &deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
    let rows = tx
        .query(
            "SELECT admin, kind, crm_id, snelstart_id, natural_key, payload_hash, updated_at
               FROM id_links_v3",
            &[],
        )
        .await
        .store()?;
    let existing: HashSet<(&str, &str, &str)> = rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    let insert = tx
        .prepare(
            "INSERT INTO id_links (admin, kind, crm_id, part, part_name, snelstart_id,
                                   natural_key, payload_hash, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await
        .store()?;
    for row in &rows {
        let (admin, kind_text, crm_id): (&str, &str, &str) = (row.get(0), row.get(1), row.get(2));
        // A kind this build does not know keeps its key as it was (a whole record).
        let (crm_id, part) = match kind_text.parse::<EntityKind>() {
            Ok(kind) => legacy_link_key(kind, crm_id, |kind, id| {
                existing.contains(&(admin, kind.as_str(), id))
            }),
            Err(_) => (crm_id.to_owned(), LinkPart::Whole),
        };
        let (snelstart_id, natural_key, payload_hash, updated_at): (
            uuid::Uuid,
            Option<&str>,
            Option<&str>,
            i64,
        ) = (row.get(3), row.get(4), row.get(5), row.get(6));
        tx.execute(
            &insert,
            &[
                &admin,
                &kind_text,
                &crm_id,
                &part.as_str(),
                &part.name(),
                &snelstart_id,
                &natural_key,
                &payload_hash,
                &updated_at,
            ],
        )
        .await
        .store()?;
    }
    tx.batch_execute("DROP TABLE id_links_v3").await.store()?;
    Ok(())
}

/// The database was written by a newer build whose schema this one does not know.
#[derive(Debug, thiserror::Error)]
#[error(
    "PostgreSQL store schema {schema:?} is at version {found}, newer than this build of sync-store-postgres supports ({supported}); upgrade the library"
)]
pub struct SchemaTooNew {
    /// The schema.
    pub schema: String,
    /// The version found.
    pub found: u32,
    /// [`SCHEMA_VERSION`].
    pub supported: u32,
}

/// Checks that `name` is a plain lowercase SQL identifier (`[a-z_][a-z0-9_]*`, at most 63
/// bytes), so it can be spliced into DDL and `search_path` without quoting surprises.
pub fn check_identifier(name: &str) -> Result<(), StoreError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && name.len() <= 63 && !name.starts_with("pg_") {
        Ok(())
    } else {
        Err(StoreError::invalid(format!(
            "PostgreSQL schema name {name:?} must match [a-z_][a-z0-9_]*, be at most 63 bytes and not start with pg_"
        )))
    }
}

/// The schema version of the store in `schema` (0 when it has none yet).
pub(crate) async fn current_version(
    client: &impl deadpool_postgres::GenericClient,
    schema: &str,
) -> Result<u32, StoreError> {
    let row = client
        .query_one(
            "SELECT to_regclass(quote_ident($1) || '.schema_migrations') IS NOT NULL",
            &[&schema],
        )
        .await
        .store()?;
    if !row.get::<_, bool>(0) {
        return Ok(0);
    }
    let row = client
        .query_one(
            &format!("SELECT max(version) FROM \"{schema}\".schema_migrations"),
            &[],
        )
        .await
        .store()?;
    let version: Option<i32> = row.get(0);
    u32::try_from(version.unwrap_or(0))
        .map_err(|_| StoreError::corrupt(format!("schema_migrations holds {version:?}")))
}

/// Applies the missing migrations up to `target` in `schema` (created when missing);
/// returns the resulting version.
pub(crate) async fn migrate(
    client: &mut deadpool_postgres::Client,
    schema: &str,
    target: u32,
) -> Result<u32, StoreError> {
    check_identifier(schema)?;
    if target > SCHEMA_VERSION {
        return Err(StoreError::invalid(format!(
            "schema version {target} requested, this build knows up to {SCHEMA_VERSION}"
        )));
    }
    let tx = client.transaction().await.store()?;
    // One lock per schema: stores in different schemas migrate independently.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('snelstart-sync migrate ' || $1, 0))",
        &[&schema],
    )
    .await
    .store()?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
         SET LOCAL search_path TO \"{schema}\", pg_temp;
         CREATE TABLE IF NOT EXISTS schema_migrations (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         );"
    ))
    .await
    .store()?;
    let found = current_version(&tx, schema).await?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::backend(SchemaTooNew {
            schema: schema.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        }));
    }
    if found >= target {
        tx.commit().await.store()?;
        return Ok(found);
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(found as usize)
    {
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        tx.batch_execute(sql).await.store()?;
        after_migration(&tx, index as u32 + 1).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await
        .store()?;
        tracing::info!(schema, version, "applied PostgreSQL store migration");
    }
    tx.commit().await.store()?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(check_identifier("snelstart_sync").is_ok());
        assert!(check_identifier("t_0a9").is_ok());
        for bad in ["", "Upper", "9x", "a-b", "a\"b", "pg_x", &"x".repeat(64)] {
            assert!(check_identifier(bad).is_err(), "{bad:?}");
        }
    }
}
