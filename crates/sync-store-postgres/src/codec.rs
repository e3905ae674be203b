//! Conversions between Rust values and their PostgreSQL columns, and error mapping.
//!
//! Times are stored as BIGINT nanoseconds since the Unix epoch, as in the SQLite store:
//! `timestamptz` keeps only microseconds and the contract (and its conformance suite) wants
//! the caller's instant back exactly. Valid for 1677..2262. SnelStart ids are `uuid`; JSON
//! documents are `jsonb` (queryable by operators; serde_json values compare equal after the
//! round trip, key order aside).

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use sync_core::store::{EntityKind, StoreError, WorkState};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

/// A time as stored, or `Invalid` outside the representable range.
pub(crate) fn time_to_sql(at: DateTime<Utc>) -> Result<i64, StoreError> {
    at.timestamp_nanos_opt().ok_or_else(|| {
        StoreError::invalid(format!(
            "time {at} is outside the range the PostgreSQL store can hold (1677..2262)"
        ))
    })
}

/// A stored time.
pub(crate) fn time_from_sql(nanos: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(nanos)
}

/// A stored entity kind.
pub(crate) fn kind_from_sql(
    text: &str,
    what: impl FnOnce() -> String,
) -> Result<EntityKind, StoreError> {
    text.parse()
        .map_err(|e| StoreError::corrupt(format!("{}: {e}", what())))
}

/// A stored work state.
pub(crate) fn state_from_sql(
    text: &str,
    what: impl FnOnce() -> String,
) -> Result<WorkState, StoreError> {
    WorkState::parse(text)
        .ok_or_else(|| StoreError::corrupt(format!("{}: unknown work state {text:?}", what())))
}

/// A value as a `jsonb` parameter (sent as text and cast in SQL with `::jsonb`).
pub(crate) fn json_to_sql<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::invalid(format!("unserializable JSON: {e}")))
}

/// A `jsonb` column read back as text (selected with `::text`).
pub(crate) fn json_from_sql<T: serde::de::DeserializeOwned>(
    text: &str,
    what: impl FnOnce() -> String,
) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::corrupt(format!("{}: bad JSON: {e}", what())))
}

/// A limit or offset as a BIGINT (saturating: "everything" stays "everything").
pub(crate) fn count_to_sql(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A count read back.
pub(crate) fn count_from_sql(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Maps a driver error: a unique or exclusion violation is a conflict (a uniqueness rule was
/// about to break, typically a racing writer), everything else a backend failure. The
/// driver's messages carry the server's text, never the connection's password.
pub(crate) fn pg_err(error: tokio_postgres::Error) -> StoreError {
    match error.code() {
        Some(code)
            if *code == SqlState::UNIQUE_VIOLATION || *code == SqlState::EXCLUSION_VIOLATION =>
        {
            let detail = error
                .as_db_error()
                .map(|db| format!("{} ({})", db.message(), db.constraint().unwrap_or("?")))
                .unwrap_or_else(|| error.to_string());
            StoreError::conflict(detail)
        }
        _ => StoreError::backend(error),
    }
}

/// `?` support: `.map_err(pg_err)` shortened.
pub(crate) trait PgResultExt<T> {
    /// Converts the error with [`pg_err`].
    fn store(self) -> Result<T, StoreError>;
}

impl<T> PgResultExt<T> for Result<T, tokio_postgres::Error> {
    fn store(self) -> Result<T, StoreError> {
        self.map_err(pg_err)
    }
}

/// Statements through the connection's statement cache: prepared once per pooled connection,
/// then every call is one round trip (Bind/Execute). A plain `query("...")` prepares an
/// unnamed statement first, which costs a second round trip and a parse and plan on the
/// server every time; the fleet's hot paths run thousands of these a second.
pub(crate) trait CachedSql: GenericClient {
    /// `query` with the statement cached.
    async fn query_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let stmt = self.prepare_cached(sql).await?;
        self.query(&stmt, params).await
    }

    /// `query_opt` with the statement cached.
    async fn query_opt_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        let stmt = self.prepare_cached(sql).await?;
        self.query_opt(&stmt, params).await
    }

    /// `query_one` with the statement cached.
    async fn query_one_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, tokio_postgres::Error> {
        let stmt = self.prepare_cached(sql).await?;
        self.query_one(&stmt, params).await
    }

    /// `execute` with the statement cached.
    async fn execute_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, tokio_postgres::Error> {
        let stmt = self.prepare_cached(sql).await?;
        self.execute(&stmt, params).await
    }
}

impl<C: GenericClient> CachedSql for C {}
