//! The embedded SQLite store for `snelstart-sync`: the default place the sync engine keeps
//! its id links, cursors, work queue, audit log and mapping-configuration versions.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sync_core::store::StoreError> {
//! use sync_core::store::{AdminKey, StateKey, StateStore};
//! use sync_store_sqlite::SqliteStore;
//!
//! let store = SqliteStore::open("state.sqlite")?;
//! let admin = AdminKey::new("my-administration");
//! let now = chrono::Utc::now();
//! store.put_state(&admin, &StateKey::SourceCursor, None, "2026-01-01T00:00:00Z", now).await?;
//! # Ok(()) }
//! ```
//!
//! # Guarantees
//!
//! [`SqliteStore`] implements the whole [storage contract](sync_core::store) and passes its
//! conformance suite. Beyond that:
//!
//! * **Crash safety.** The database runs in WAL mode and every write is one transaction that
//!   commits before the call returns. A process killed at any moment (SIGKILL included) loses
//!   no acknowledged write and leaves no half-done one; claimed items come back once their
//!   lease expires. The crate's `crash` test proves this by killing a child process
//!   mid-work. With [`Synchronous::Full`] (the default) acknowledged writes also survive a
//!   power failure; [`Synchronous::Normal`] trades that for faster commits.
//! * **Several processes** may share one file: claims and compare-and-swaps run in
//!   `BEGIN IMMEDIATE` transactions, so they are exclusive across processes too.
//! * **Recovery in seconds.** Each open store holds an exclusive `flock` on its own lock file
//!   in `{database}.holders/`, and claims record it. The operating system releases that lock
//!   when the process dies (`kill -9` included), so the next claim by any other store sees the
//!   holder is dead and takes its items back at once instead of waiting out their leases; a
//!   live but slow holder keeps its leases.
//! * **Migrations.** Opening a file created by an older version upgrades its schema
//!   ([`schema`]); opening one from a newer version fails with [`schema::SchemaTooNew`]
//!   rather than guessing.
//!
//! # SQLite settings
//!
//! Every connection is opened with these (the reasoning is ADR 003's addendum "SQLite
//! settings"):
//!
//! | setting | value | why |
//! |---|---|---|
//! | `journal_mode` | `WAL` | readers never wait for the writer; a commit appends to the WAL instead of rewriting pages in place |
//! | `synchronous` | [`SqliteOptions::synchronous`]: `FULL` (default) or `NORMAL` | see *Durability* below |
//! | `page_size` | 4096 (SQLite's default, set when the file is created) | the operating system's page; payloads of 1 to 3 KB fit a page without overflow chains |
//! | `cache_size` | 8 MiB per connection | holds the hot index pages of a 100,000-item queue (default 2 MiB) |
//! | `mmap_size` | 0 (off, the default) | mapped pages count as the process's resident memory, and the store's reads are small indexed look-ups that gain little |
//! | `temp_store` | `MEMORY` | sorts and `UNION`s of the claim query never touch a temporary file |
//! | `journal_size_limit` | 64 MiB | the WAL file shrinks back after a burst |
//! | `wal_autocheckpoint` | 8,192 pages (32 MiB; SQLite's default is 1,000) | a queue item's page is written three times within seconds (enqueue, claim, completion); between two checkpoints it is copied into the database file once |
//! | `foreign_keys` | `ON` | dependencies go with their item |
//! | prepared statements | 128 cached per connection | every statement of the store stays prepared (rusqlite's default of 16 would evict); the store never uses rusqlite's uncached `execute`/`query_row`, which compile the SQL on every call |
//! | query planner stability guarantee | on (`SQLITE_DBCONFIG_ENABLE_QPSG`) | one plan per statement: otherwise SQLite plans some statements again whenever a bound value changes, and rusqlite's statement cache clears the bindings of every statement it takes back, so those were compiled on every use |
//!
//! **Group commit.** The per-item writes (id links and audit entries) of items the engine
//! runs at once share one transaction: the writes that arrive while a commit runs form the
//! next group (no write waits for others to join), each runs in a savepoint so a refused
//! write (a link conflict) fails alone, and every caller hears its result after the commit.
//! The 10,000-relation benchmark writes 15-17 KB to disk per item with it, 50 KB without
//! (`sync_bench`, README).
//!
//! **Write turns.** The store's own writes queue for their turn (first come, first served)
//! before they start, instead of meeting SQLite's write lock and sleeping in its busy
//! handler (1, 2, 5 ms and longer between tries); reads never wait for a turn. The busy
//! timeout still covers another process writing to the same file (ADR 003).
//!
//! ## Durability
//!
//! With [`Synchronous::Full`] every commit is fsynced before the call returns. With
//! [`Synchronous::Normal`] commits are written (a killed process loses nothing) but fsynced
//! only at checkpoints, so after an OS crash or power loss the newest commits may be rolled
//! back (never corrupted). The store then still syncs the commits whose loss could break the
//! engine's guarantees, by switching that one commit to `FULL` (which in WAL mode also makes
//! every earlier commit durable):
//!
//! * **claims**: a claim raises the attempt count that tells the next run of an item to look
//!   its record up in SnelStart before creating it (ADR 004); the create may leave right
//!   after the claim, so the claim must not be rolled back, or a relation SnelStart numbers
//!   itself could be created twice;
//! * **enqueues**: `enqueue`/`enqueue_batch` acknowledge a CRM change to the host, which may
//!   not send it again.
//!
//! What a power loss can roll back under `NORMAL` is then only what a re-run restores:
//! links, completions and other outcomes (the item is claimed again with a higher attempt
//! count, finds its record by natural key and links it; nothing is written twice), payload
//! hashes (the next run compares and writes nothing new), audit entries of the last moments
//! before the loss, parked-change markers and the source cursor (changes are read again and
//! coalesce). `NORMAL` costs one fsync per claimed batch and per enqueued batch instead of
//! one per write.
//!
//! # Runtime
//!
//! Blocking SQLite calls run on Tokio's blocking thread pool, so the store needs a Tokio
//! runtime. Each operation borrows one connection from a small pool (see
//! [`SqliteOptions::max_connections`] for why a pool and not one shared connection).
//! Dropping an operation's future does not stop SQL that already started: like a
//! [`Backend`](sync_core::store::StoreError::Backend) error, a cancelled write has an
//! unknown outcome and the caller must re-read before deciding.

mod codec;
mod group;
mod holder;
mod links;
mod outbox;
mod pool;
mod queue;
mod records;
mod registry;
pub mod schema;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sync_core::store::StoreError;

use crate::pool::Pool;

pub use crate::registry::SqliteRegistry;

/// How hard SQLite works to make a commit durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// Commits survive a killed process, and also an OS crash or power loss
    /// (`PRAGMA synchronous = FULL`).
    #[default]
    Full,
    /// Commits survive a killed process; after an OS crash or power loss the last commits may
    /// be rolled back, never corrupted (`PRAGMA synchronous = NORMAL`), except claims and
    /// enqueues, which are always synced (see the crate's *Durability* section for why a
    /// re-run restores everything else). Faster: one fsync per batch instead of per write.
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Tuning for [`SqliteStore::open_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// The most connections (and blocking threads) used at once. Default 4.
    ///
    /// Why several connections rather than one behind a mutex: in WAL mode readers never wait
    /// for the writer, so status queries keep answering while workers write. Writes still run
    /// one at a time: the store's own take turns, and each write transaction starts with
    /// `BEGIN IMMEDIATE`, taking the write lock up front (waiting up to
    /// [`busy_timeout`](Self::busy_timeout) for another process) instead of failing when a
    /// reader tries to upgrade. More connections than this mostly add idle memory.
    pub max_connections: usize,
    /// How long a statement waits for another connection's (or process's) write lock before
    /// failing with a backend error. Default 5 s.
    pub busy_timeout: Duration,
    /// Commit durability. Default [`Synchronous::Full`].
    pub synchronous: Synchronous,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            max_connections: 4,
            busy_timeout: Duration::from_secs(5),
            synchronous: Synchronous::Full,
        }
    }
}

impl SqliteOptions {
    /// Sets [`SqliteOptions::max_connections`] (at least 1).
    #[must_use]
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Sets [`SqliteOptions::busy_timeout`].
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets [`SqliteOptions::synchronous`].
    #[must_use]
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }
}

/// The SQLite-backed [`Store`](sync_core::store::Store). Clones share one connection pool.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: Arc<Pool>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with default options and migrates
    /// it to the current schema.
    ///
    /// This does blocking file I/O (normally well under a millisecond; longer when a
    /// migration runs or another process holds the write lock): call it at startup or inside
    /// `spawn_blocking`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Like [`SqliteStore::open`], with explicit options.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref();
        create_private(path);
        let mut conn = Pool::connect(path, &options)?;
        schema::migrate(&mut conn, schema::SCHEMA_VERSION)?;
        Ok(Self {
            pool: Arc::new(Pool::new(path, options, conn)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.pool.path()
    }
}

/// Creates the database file readable and writable by its owner only (0600 on Unix) when it
/// does not exist yet: it holds CRM payloads (names, e-mail addresses, IBANs) and the process
/// umask usually makes new files world-readable. SQLite gives its `-wal` and `-shm` files the
/// database file's permissions. An existing file is left as its owner set it.
fn create_private(path: &Path) {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    // An existing file is fine; other problems (a missing folder, no permission) are left to
    // SQLite's open, which reports them with the path.
    let _ = options.open(path);
}
