//! Conversions between Rust values and their SQLite columns.
//!
//! Times are stored as INTEGER nanoseconds since the Unix epoch: exact (chrono keeps
//! nanoseconds, and the conformance suite checks they survive), cheap to compare in SQL, and
//! valid for 1677..2262, far beyond any booking date this library writes. UUIDs are stored as
//! hyphenated lowercase TEXT and JSON as TEXT, so the file stays readable with the `sqlite3`
//! shell.

use chrono::{DateTime, Utc};
use rusqlite::ErrorCode;
use sync_core::store::{EntityKind, StoreError, WorkState};
use uuid::Uuid;

/// A time as stored, or `Invalid` outside the representable range.
pub(crate) fn time_to_sql(at: DateTime<Utc>) -> Result<i64, StoreError> {
    at.timestamp_nanos_opt().ok_or_else(|| {
        StoreError::invalid(format!(
            "time {at} is outside the range the SQLite store can hold (1677..2262)"
        ))
    })
}

/// A stored time.
pub(crate) fn time_from_sql(nanos: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(nanos)
}

/// A stored UUID; `what` names the record and field for the error.
pub(crate) fn uuid_from_sql(text: &str, what: impl FnOnce() -> String) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text)
        .map_err(|e| StoreError::corrupt(format!("{}: bad UUID {text:?}: {e}", what())))
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

/// JSON as stored.
pub(crate) fn json_to_sql<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::invalid(format!("unserializable JSON: {e}")))
}

/// Stored JSON.
pub(crate) fn json_from_sql<T: serde::de::DeserializeOwned>(
    text: &str,
    what: impl FnOnce() -> String,
) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::corrupt(format!("{}: bad JSON: {e}", what())))
}

/// A limit or offset as an SQLite integer (saturating: "everything" stays "everything").
pub(crate) fn count_to_sql(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A count read back from SQLite.
pub(crate) fn count_from_sql(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Maps a driver error: constraint violations are conflicts (a uniqueness rule was about
/// to break), everything else is a backend failure.
pub(crate) fn sql_err(error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => StoreError::conflict(error.to_string()),
        _ => StoreError::backend(error),
    }
}

/// `?` support: `.map_err(sql_err)` shortened.
pub(crate) trait SqlResultExt<T> {
    /// Converts the error with [`sql_err`].
    fn store(self) -> Result<T, StoreError>;
}

impl<T> SqlResultExt<T> for rusqlite::Result<T> {
    fn store(self) -> Result<T, StoreError> {
        self.map_err(sql_err)
    }
}

/// `execute` and `query_row` through the connection's statement cache. rusqlite's own
/// `Connection::execute` and `query_row` compile the SQL on every call; on the per-item paths
/// (link upserts, audit entries) that compiling cost a tenth of the engine's CPU.
pub(crate) trait CachedSql {
    /// [`rusqlite::Statement::execute`] of a cached statement.
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;

    /// [`rusqlite::Statement::query_row`] of a cached statement.
    fn query_row_cached<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl CachedSql for rusqlite::Connection {
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn query_row_cached<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}
