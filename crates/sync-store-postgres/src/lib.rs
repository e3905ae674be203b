//! The PostgreSQL store for `snelstart-sync`: the [storage contract](sync_core::store) on a
//! PostgreSQL database that many worker processes, on many machines, share.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sync_core::store::StoreError> {
//! use sync_core::store::{AdminKey, StateKey, StateStore};
//! use sync_store_postgres::{PostgresOptions, PostgresStore};
//!
//! let store = PostgresStore::connect(
//!     "postgres://sync@127.0.0.1:5432/crm",
//!     PostgresOptions::default().schema("snelstart_sync"),
//! )
//! .await?;
//! let admin = AdminKey::new("my-administration");
//! let now = chrono::Utc::now();
//! store.put_state(&admin, &StateKey::SourceCursor, None, "2026-01-01T00:00:00Z", now).await?;
//! # Ok(()) }
//! ```
//!
//! # When to choose it
//!
//! The embedded SQLite store (`sync-store-sqlite`) is the default and the right choice for one
//! process on one machine. Choose this store when several worker processes (on several
//! machines) serve the same administrations, or when one database holds many administrations
//! and the host already runs PostgreSQL for its CRM. `docs/adr/005-postgres-store.md` explains
//! the design and shows the query plans.
//!
//! # Guarantees
//!
//! [`PostgresStore`] implements the whole storage contract and passes the shared conformance
//! suite. Beyond that:
//!
//! * **Many processes.** Claims use `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent
//!   workers never wait for each other's rows and never receive the same item for the same
//!   lease; leases are fencing tokens (the attempt number), so a stalled worker's late
//!   `complete` is refused. Coalescing and per-record order take a transaction-scoped
//!   advisory lock per record, so two processes enqueueing the same record at once still
//!   coalesce.
//! * **Migrations** are embedded and versioned ([`schema`]); they run on
//!   [`PostgresStore::connect`] inside one transaction holding an advisory lock on the schema,
//!   so any number of processes may start at once: one migrates, the others wait and find
//!   the schema current. A database from a newer build is refused
//!   ([`schema::SchemaTooNew`]).
//! * **Durability** is PostgreSQL's: every write is one transaction that commits before the
//!   call returns.
//! * **Secrets.** The connection password never appears in `Debug` output, logs or errors.
//!   Connections go without TLS, so a TCP host that is not a loopback address is refused (a
//!   Unix socket or a local TLS proxy is the way to reach a remote server); see
//!   [`PostgresOptions`].
//!
//! # Runtime
//!
//! The store needs a Tokio runtime (the driver spawns a task per connection).

mod codec;
mod links;
mod outbox;
mod queue;
mod records;
mod registry;
pub mod schema;

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use sync_core::store::StoreError;
use tokio_postgres::NoTls;
use tokio_postgres::config::Host;

use crate::codec::PgResultExt;

pub use crate::registry::PostgresRegistry;

/// The schema used when [`PostgresOptions::schema`] is not set.
pub const DEFAULT_SCHEMA: &str = "snelstart_sync";

/// Tuning for [`PostgresStore::connect`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// The PostgreSQL schema holding the store's tables (created when missing). Default
    /// [`DEFAULT_SCHEMA`]. Lets one database hold several independent stores (tests give each
    /// run its own schema).
    pub schema: String,
    /// The most connections this process opens. Default 8.
    pub max_connections: usize,
    /// How long an operation waits for a free connection before failing with a backend
    /// error. Default 30 s.
    pub acquire_timeout: Duration,
    /// How long opening a connection may take. Default 10 s.
    pub connect_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            schema: DEFAULT_SCHEMA.to_owned(),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl PostgresOptions {
    /// Sets [`PostgresOptions::schema`].
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Sets [`PostgresOptions::max_connections`] (at least 1).
    #[must_use]
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Sets [`PostgresOptions::acquire_timeout`].
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets [`PostgresOptions::connect_timeout`].
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
}

/// The PostgreSQL-backed [`Store`](sync_core::store::Store). Clones share one connection pool.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    schema: String,
    /// `user@host:port/dbname`, never the password.
    target: String,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.inner.target)
            .field("schema", &self.inner.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database named by `url` (a `postgres://` URL or a libpq key=value
    /// string), creates the schema when missing and migrates it to the current version.
    ///
    /// Errors never repeat the URL, so a password in it stays out of logs.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url).map_err(|e| {
            // The driver's parse errors name the option, not its value.
            StoreError::invalid(format!("PostgreSQL connection string: {e}"))
        })?;
        schema::check_identifier(&options.schema)?;
        check_no_plaintext_remote(&config)?;
        config.connect_timeout(options.connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name("snelstart-sync");
        }
        // Every connection resolves the store's tables in its schema; `pg_temp` last so a
        // temporary table can never shadow one of ours.
        config.options(format!("-c search_path={},pg_temp", options.schema));
        let target = describe_target(&config);

        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .wait_timeout(Some(options.acquire_timeout))
            .create_timeout(Some(options.connect_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::backend(format!("PostgreSQL pool: {e}")))?;
        let store = Self {
            inner: Arc::new(Inner {
                pool,
                schema: options.schema,
                target,
            }),
        };
        {
            let mut client = store.client().await?;
            schema::migrate(&mut client, &store.inner.schema, schema::SCHEMA_VERSION).await?;
        }
        Ok(store)
    }

    /// The schema holding the store's tables.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// Removes the store's schema with everything in it (`DROP SCHEMA ... CASCADE`) and
    /// closes the pool. Meant for tests and for tearing down a tenant database; there is no
    /// undo.
    pub async fn drop_schema(self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                self.inner.schema
            ))
            .await
            .store()?;
        drop(client);
        self.inner.pool.close();
        Ok(())
    }

    /// A pooled connection.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.inner.pool.get().await.map_err(|e| {
            // Pool errors display the driver error or a timeout, never the configuration.
            StoreError::backend(format!(
                "PostgreSQL connection to {}: {e}",
                self.inner.target
            ))
        })
    }
}

/// `user@host:port/dbname` for messages: enough to find the server, never the password.
fn describe_target(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or("?"),
        config.get_dbname().unwrap_or("?")
    )
}

/// Refuses TCP hosts that are not loopback addresses: this build connects without TLS, and
/// the store carries CRM data and (encrypted) koppelsleutels that must not cross a network
/// in clear. Unix sockets and `localhost` are fine.
fn check_no_plaintext_remote(config: &tokio_postgres::Config) -> Result<(), StoreError> {
    for host in config.get_hosts() {
        if let Host::Tcp(name) = host {
            let loopback = name.eq_ignore_ascii_case("localhost")
                || name
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(StoreError::invalid(format!(
                    "PostgreSQL host {name:?} is not a loopback address and this store connects without TLS; \
                     connect through a Unix socket or a local TLS proxy (for example pgbouncer or stunnel)"
                )));
            }
        }
    }
    for addr in config.get_hostaddrs() {
        if !addr.is_loopback() {
            return Err(StoreError::invalid(format!(
                "PostgreSQL hostaddr {addr} is not a loopback address and this store connects without TLS"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> tokio_postgres::Config {
        tokio_postgres::Config::from_str(url).unwrap()
    }

    #[test]
    fn target_description_has_no_password() {
        let target = describe_target(&config("postgres://sync:hunter2@127.0.0.1:6543/crm"));
        assert_eq!(target, "sync@127.0.0.1:6543/crm");
    }

    #[test]
    fn remote_tcp_hosts_are_refused_without_tls() {
        assert!(check_no_plaintext_remote(&config("postgres://u@127.0.0.1/db")).is_ok());
        assert!(check_no_plaintext_remote(&config("postgres://u@localhost/db")).is_ok());
        assert!(check_no_plaintext_remote(&config("postgres://u@[::1]/db")).is_ok());
        assert!(check_no_plaintext_remote(&config("host=/var/run/postgresql user=u")).is_ok());
        let err = check_no_plaintext_remote(&config("postgres://u:secret@db.example.com/db"))
            .unwrap_err();
        assert!(err.is_invalid());
        assert!(!err.to_string().contains("secret"));
    }
}
