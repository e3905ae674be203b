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

use rusqlite::{Connection, OpenFlags};
use sync_core::store::StoreError;
use tokio::sync::Semaphore;

use crate::SqliteOptions;
use crate::codec::SqlResultExt;

#[derive(Debug)]
pub(crate) struct Pool {
    path: PathBuf,
    options: SqliteOptions,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl Pool {
    pub(crate) fn new(path: &Path, options: SqliteOptions, first: Connection) -> Self {
        let max = options.max_connections.max(1);
        Self {
            path: path.to_owned(),
            options,
            idle: Mutex::new(vec![first]),
            permits: Arc::new(Semaphore::new(max)),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Opens and configures a connection.
    pub(crate) fn connect(path: &Path, options: &SqliteOptions) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).store()?;
        conn.busy_timeout(options.busy_timeout).store()?;
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
        Ok(conn)
    }

    /// Runs `op` on a pooled connection on Tokio's blocking thread pool.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, op: F) -> Result<T, StoreError>
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
