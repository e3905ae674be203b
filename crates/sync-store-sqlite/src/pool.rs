//! A small connection pool that runs blocking SQLite work off the async runtime.
//!
//! Why a pool of a few connections rather than one `Mutex<Connection>`: in WAL mode readers
//! never wait for the writer, so status queries (`counts`, `list_work`) keep answering while
//! workers write. Writes still serialise inside SQLite; every write transaction starts with
//! `BEGIN IMMEDIATE`, which takes the write lock up front (waiting up to `busy_timeout`)
//! instead of failing with `SQLITE_BUSY` when a read transaction tries to upgrade. A
//! semaphore bounds both open connections and occupied blocking threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use sync_core::store::StoreError;
use tokio::sync::Semaphore;

use crate::codec::SqlResultExt;
use crate::group::GroupCommit;
use crate::holder::Holder;
use crate::{SqliteOptions, Synchronous};

/// Bytes per database page for new files: the operating system's page, and large enough that
/// a work item's payload (1 to 3 KB of JSON) fits without an overflow chain.
const PAGE_SIZE: i64 = 4096;

/// Page cache per connection: negative is KiB (`PRAGMA cache_size`). 8 MiB holds the hot
/// index pages of a queue of 100,000 items; SQLite's default is 2 MiB.
const CACHE_SIZE_KIB: i64 = -8_192;

/// After a checkpoint the WAL file is truncated to at most this many bytes, so one burst of
/// writes does not leave a large file behind.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// WAL pages after which a commit copies the WAL back into the database file (SQLite's
/// default is 1,000 pages, 4 MB). A page written several times between two checkpoints is
/// copied once, and a queue item's page is written three times within seconds (enqueue,
/// claim, completion): a longer interval copies it once instead of up to three times.
const WAL_AUTOCHECKPOINT: i64 = 8_192;

/// Prepared statements kept per connection. The store prepares about 35 distinct statements
/// (more with the filter variants of `replay`); rusqlite's default of 16 would evict and
/// re-prepare them on every turn of the worker loop.
const STATEMENT_CACHE: usize = 128;

/// Runs `op` (which commits a write transaction) with `synchronous = FULL` for that commit
/// when the connection otherwise runs with `NORMAL` (`switch`). In WAL mode a FULL commit
/// fsyncs the WAL, which makes this commit and every earlier one durable against power loss.
/// The setting is restored whatever `op` returns.
pub(crate) fn with_durable_commit<T>(
    conn: &mut Connection,
    switch: bool,
    op: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if !switch {
        return op(conn);
    }
    conn.pragma_update(None, "synchronous", "FULL").store()?;
    let result = op(conn);
    let restored = conn.pragma_update(None, "synchronous", "NORMAL").store();
    let value = result?;
    restored?;
    Ok(value)
}

#[derive(Debug)]
pub(crate) struct Pool {
    path: PathBuf,
    options: SqliteOptions,
    /// This store's holder lock (see [`crate::holder`]); `None` when the lock file could not
    /// be made, and claims then fall back to lease expiry alone.
    holder: Option<Holder>,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    /// Small writes of concurrent callers committed together (see [`crate::group`]).
    group: GroupCommit,
    /// Taken by every write of this store for as long as it runs (see [`Pool::write`]).
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl Pool {
    pub(crate) fn new(path: &Path, options: SqliteOptions, first: Connection) -> Self {
        let max = options.max_connections.max(1);
        let holder = Holder::take(path)
            .inspect_err(|e| {
                tracing::warn!(error = %e, path = %path.display(), "no holder lock: claims of a killed process come back only after their lease");
            })
            .ok();
        Self {
            path: path.to_owned(),
            options,
            holder,
            idle: Mutex::new(vec![first]),
            permits: Arc::new(Semaphore::new(max)),
            group: GroupCommit::default(),
            writer: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The queue of writes waiting for a group commit.
    pub(crate) fn group(&self) -> &GroupCommit {
        &self.group
    }

    /// This store's holder lock, if it has one.
    pub(crate) fn holder(&self) -> Option<&Holder> {
        self.holder.as_ref()
    }

    /// Opens and configures a connection.
    pub(crate) fn connect(path: &Path, options: &SqliteOptions) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).store()?;
        conn.busy_timeout(options.busy_timeout).store()?;
        // Takes effect only on a new, empty file (before WAL mode and the first table).
        conn.pragma_update(None, "page_size", PAGE_SIZE).store()?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .store()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::backend(format!(
                "{}: SQLite refused WAL mode (journal_mode is {mode:?}); is it on a network file system?",
                path.display()
            )));
        }
        conn.pragma_update(None, "synchronous", options.synchronous.pragma())
            .store()?;
        conn.pragma_update(None, "foreign_keys", "ON").store()?;
        // The rest of the tuning; the reasons are in the crate documentation ("SQLite
        // settings") and ADR 003.
        conn.pragma_update(None, "temp_store", "MEMORY").store()?;
        conn.pragma_update(None, "cache_size", CACHE_SIZE_KIB)
            .store()?;
        conn.pragma_update(None, "mmap_size", 0).store()?;
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
            .store()?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)
            .store()?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // One plan per statement, whatever values are bound (the query planner stability
        // guarantee). Without it SQLite marks statements whose plan could depend on a bound
        // value (an `ORDER BY ... LIMIT`, a comparison with a partial index's condition) to
        // be planned again when that value changes, and rusqlite's statement cache clears
        // the bindings of every statement it takes back, which counts as a change: such
        // statements were parsed and planned anew on every use (a tenth of the engine's CPU
        // in sync_bench's profile). The store's queries are chosen for their indexes, not
        // for the values (ADR 003, "SQLite settings").
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .store()?;
        Ok(conn)
    }

    /// Whether commits that must survive a power loss need `synchronous = FULL` switched on
    /// for them (the connection runs with `NORMAL`); see [`with_durable_commit`].
    pub(crate) fn normal_sync(&self) -> bool {
        self.options.synchronous == Synchronous::Normal
    }

    /// Runs `op`, which only reads, on a pooled connection on Tokio's blocking thread pool.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.run_in_turn(None, op).await
    }

    /// Runs `op`, which writes, like [`Pool::run`], once no other write of this store runs.
    ///
    /// Why: SQLite lets one connection write at a time, and a connection that finds the write
    /// lock taken polls for it in sleeps of 1, 2, 5, 10 ms and more (its busy handler). The
    /// engine writes from several tasks at once (a claim ahead, completions, the group commit
    /// of id links), so its writes kept meeting and the loser slept past the moment the lock
    /// came free, with every item of its group waiting behind it. Queued here (first come,
    /// first served), a write starts the moment the one before it ends; readers never wait
    /// (WAL). Another process writing to the same file still meets the busy handler.
    pub(crate) async fn write<T, F>(self: &Arc<Self>, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let turn = Arc::clone(&self.writer).lock_owned().await;
        self.run_in_turn(Some(turn), op).await
    }

    /// Runs `op` on the blocking thread pool, holding `turn` (the write turn, if any) until
    /// `op` has ended: a caller that stops waiting does not end the turn of a write still
    /// running.
    async fn run_in_turn<T, F>(
        self: &Arc<Self>,
        turn: Option<tokio::sync::OwnedMutexGuard<()>>,
        op: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::backend("SQLite store connection pool closed"))?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _turn = turn;
            let mut conn = pool.checkout()?;
            let result = op(&mut conn);
            pool.checkin(conn);
            result
        })
        .await
        .map_err(|e| StoreError::backend(format!("SQLite store task failed: {e}")))?
    }

    fn checkout(&self) -> Result<Connection, StoreError> {
        let idle = self
            .idle
            .lock()
            .map_err(|_| StoreError::backend("SQLite pool lock poisoned"))?
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => Self::connect(&self.path, &self.options),
        }
    }

    fn checkin(&self, conn: Connection) {
        // A connection left inside a transaction (an operation bailed out between BEGIN and
        // COMMIT without its guard rolling back) is dropped rather than reused.
        if !conn.is_autocommit() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "synchronous", |row| row.get(0))
            .expect("read synchronous")
    }

    /// A durable commit runs with FULL and the connection is back on NORMAL afterwards,
    /// whether the operation succeeded or failed; without the switch nothing changes.
    #[test]
    fn durable_commit_switches_to_full_and_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = SqliteOptions::default().synchronous(Synchronous::Normal);
        let mut conn = Pool::connect(&dir.path().join("s.sqlite"), &options).expect("open");
        assert_eq!(synchronous(&conn), 1, "NORMAL");
        let inside = with_durable_commit(&mut conn, true, |c| Ok(synchronous(c))).unwrap();
        assert_eq!(inside, 2, "FULL for the durable commit");
        assert_eq!(synchronous(&conn), 1, "NORMAL again");
        let failed: Result<(), StoreError> =
            with_durable_commit(&mut conn, true, |_| Err(StoreError::backend("boom")));
        assert!(failed.is_err());
        assert_eq!(synchronous(&conn), 1, "NORMAL again after a failure");
        let untouched = with_durable_commit(&mut conn, false, |c| Ok(synchronous(c))).unwrap();
        assert_eq!(untouched, 1, "no switch when not asked");
    }

    /// The settings the crate documentation promises are the ones a connection gets.
    #[test]
    fn connections_get_the_documented_settings() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn =
            Pool::connect(&dir.path().join("s.sqlite"), &SqliteOptions::default()).expect("open");
        let value = |name: &str| -> i64 {
            conn.pragma_query_value(None, name, |row| row.get(0))
                .expect(name)
        };
        assert_eq!(value("synchronous"), 2, "FULL by default");
        assert_eq!(value("page_size"), PAGE_SIZE);
        assert_eq!(value("cache_size"), CACHE_SIZE_KIB);
        assert_eq!(value("temp_store"), 2, "MEMORY");
        assert_eq!(value("journal_size_limit"), JOURNAL_SIZE_LIMIT);
        assert_eq!(value("mmap_size"), 0);
        assert_eq!(value("wal_autocheckpoint"), WAL_AUTOCHECKPOINT);
        assert_eq!(value("foreign_keys"), 1);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .expect("journal_mode");
        assert_eq!(mode, "wal");
        assert!(
            conn.db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG)
                .expect("QPSG")
        );
    }

    /// Writes of one store take turns instead of meeting SQLite's write lock: with no busy
    /// timeout at all (a write that found the lock taken would fail at once with "database is
    /// locked"), many writes started together, each holding its transaction open for a
    /// moment, all commit. The same writes through `run` do meet the lock (checked below), so
    /// a `write` that stopped queueing would fail here.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_take_turns_instead_of_meeting_the_lock() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.sqlite");
        let options = SqliteOptions::default().busy_timeout(std::time::Duration::ZERO);
        let conn = Pool::connect(&path, &options).expect("open");
        conn.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .expect("table");
        let pool = Arc::new(Pool::new(&path, options, conn));
        let insert = |k: i64| {
            move |conn: &mut Connection| {
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .store()?;
                tx.execute("INSERT INTO t (k) VALUES (?1)", [k]).store()?;
                std::thread::sleep(std::time::Duration::from_millis(2));
                tx.commit().store()
            }
        };
        let writes: Vec<_> = (0..16)
            .map(|k| {
                tokio::spawn({
                    let pool = Arc::clone(&pool);
                    async move { pool.write(insert(k)).await }
                })
            })
            .collect();
        for (k, write) in writes.into_iter().enumerate() {
            write
                .await
                .expect("task")
                .unwrap_or_else(|e| panic!("write {k} met the lock: {e}"));
        }
        let rows: i64 = pool
            .run(|conn| {
                conn.query_row("SELECT count(*) FROM t", [], |row| row.get(0))
                    .store()
            })
            .await
            .expect("count");
        assert_eq!(rows, 16);

        // The control: two writes through `run`, the second started while the first holds
        // its transaction open, meet the lock.
        let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let first = Arc::clone(&pool);
        let holder = tokio::spawn(async move {
            first
                .run(move |conn| {
                    let tx = conn
                        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                        .store()?;
                    tx.execute("INSERT INTO t (k) VALUES (100)", []).store()?;
                    let _ = held_tx.send(());
                    let _ = done_rx.recv_timeout(std::time::Duration::from_secs(10));
                    tx.commit().store()
                })
                .await
        });

        tokio::task::spawn_blocking(move || {
            held_rx.recv_timeout(std::time::Duration::from_secs(10))
        })
        .await
        .expect("task")
        .expect("the first write holds the lock");
        let second = pool.run(insert(101)).await;
        let _ = done_tx.send(());
        holder
            .await
            .expect("task")
            .expect("the first write commits");
        let message = second
            .expect_err("a write beside an open write transaction meets the lock")
            .to_string();
        assert!(
            message.contains("locked") || message.contains("busy"),
            "{message}"
        );
    }

    /// A cached statement is planned once, however often it runs with other values: the
    /// store's statements of the kind SQLite would plan again per binding (an `ORDER BY ...
    /// LIMIT` over an index, a lookup by several keys) are not parsed again on every use.
    #[test]
    fn cached_statements_are_not_planned_again_for_new_values() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.sqlite");
        drop(crate::SqliteStore::open(&path).expect("store with its schema"));
        let conn = Pool::connect(&path, &SqliteOptions::default()).expect("open");
        for sql in [
            "SELECT id FROM work_items
              WHERE admin = ?1 AND kind = ?2 AND crm_id = ?3 AND operation = ?4
                AND state = 'pending'
              ORDER BY id DESC LIMIT 1",
            "SELECT depends_on FROM work_deps WHERE item_id = ?1 ORDER BY depends_on",
        ] {
            let mut replanned = 0;
            for round in 0..20_i64 {
                let mut statement = conn.prepare_cached(sql).expect("prepare");
                let values: Vec<rusqlite::types::Value> = (0..statement.parameter_count())
                    .map(|i| rusqlite::types::Value::Integer(round * 10 + i as i64))
                    .collect();
                let mut rows = statement
                    .query(rusqlite::params_from_iter(values))
                    .expect("query");
                while rows.next().expect("step").is_some() {}
                drop(rows);
                replanned = statement.get_status(rusqlite::StatementStatus::RePrepare);
            }
            assert_eq!(replanned, 0, "planned again for new values: {sql}");
        }
    }
}
