//! The store the binary runs on: SQLite by default, PostgreSQL by URL.
//!
//! The commands and the router are generic over one store type; the backend is chosen at run
//! time, so that type is [`DynStore`] (and [`DynRegistry`] for the administrations registry
//! beside it), sync-core's adapter that hands every call to the store inside.

use std::fmt;
use std::path::PathBuf;

use sync_core::registry::DynRegistry;
use sync_core::store::DynStore;
use sync_store_postgres::{PostgresOptions, PostgresRegistry, PostgresStore};
use sync_store_sqlite::{SqliteRegistry, SqliteStore};

/// Where the engine's state lives, as `--store` or `[store]` names it.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreTarget {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…`, without the `schema` parameter) and the schema
    /// in it (`?schema=NAME`; the store's default when absent).
    Postgres { url: String, schema: Option<String> },
}

impl fmt::Debug for StoreTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            // The URL may carry a password.
            Self::Postgres { schema, .. } => f
                .debug_struct("Postgres")
                .field("url", &"<redacted>")
                .field("schema", schema)
                .finish(),
        }
    }
}

impl StoreTarget {
    /// `postgres://…` or `postgresql://…` (with an optional `schema=NAME` query parameter)
    /// is PostgreSQL; anything else is a SQLite file (`sqlite://` or `sqlite:` before the
    /// path is allowed).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an empty store: give a SQLite file or a postgres:// URL".to_owned());
        }
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            let path = text
                .strip_prefix("sqlite://")
                .or_else(|| text.strip_prefix("sqlite:"))
                .unwrap_or(text);
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        let (base, query) = text.split_once('?').unwrap_or((text, ""));
        let mut schema = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.strip_prefix("schema=") {
                Some(name) if !name.is_empty() => schema = Some(name.to_owned()),
                Some(_) => return Err("the store URL's schema parameter is empty".to_owned()),
                None => kept.push(pair),
            }
        }
        let url = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok(Self::Postgres { url, schema })
    }

    /// Opens (and for PostgreSQL connects and migrates) the store.
    pub async fn open(&self) -> Result<DynStore, String> {
        match self {
            Self::Sqlite(path) => SqliteStore::open(path)
                .map(DynStore::new)
                .map_err(|e| format!("store {}: {e}", path.display())),
            Self::Postgres { url, schema } => {
                let mut options = PostgresOptions::default();
                if let Some(schema) = schema {
                    options = options.schema(schema.clone());
                }
                PostgresStore::connect(url, options)
                    .await
                    .map(DynStore::new)
                    .map_err(|e| format!("PostgreSQL store: {e}"))
            }
        }
    }
}

/// The administrations registry (onboarding) beside `store`, in the same database (its table
/// is created when missing).
pub async fn registry(store: &DynStore) -> Result<DynRegistry, String> {
    let registry = if let Some(sqlite) = store.downcast_ref::<SqliteStore>() {
        SqliteRegistry::new(sqlite).await.map(DynRegistry::new)
    } else if let Some(postgres) = store.downcast_ref::<PostgresStore>() {
        PostgresRegistry::new(postgres).await.map(DynRegistry::new)
    } else {
        // `open` makes only the two above; a store from elsewhere has no registry here.
        return Err(format!(
            "administrations registry: no registry for a {} store",
            store.backend_name()
        ));
    };
    registry.map_err(|e| format!("administrations registry: {e}"))
}

#[cfg(test)]
mod tests {
    use super::StoreTarget;
    use std::path::PathBuf;

    #[test]
    fn targets_are_told_apart_by_scheme() {
        assert_eq!(
            StoreTarget::parse("snelsync.sqlite"),
            Ok(StoreTarget::Sqlite(PathBuf::from("snelsync.sqlite")))
        );
        assert_eq!(
            StoreTarget::parse("sqlite:///var/lib/snelsync.sqlite"),
            Ok(StoreTarget::Sqlite(PathBuf::from(
                "/var/lib/snelsync.sqlite"
            )))
        );
        assert_eq!(
            StoreTarget::parse("postgres://sync@127.0.0.1:5432/crm?schema=s1&connect_timeout=5"),
            Ok(StoreTarget::Postgres {
                url: "postgres://sync@127.0.0.1:5432/crm?connect_timeout=5".to_owned(),
                schema: Some("s1".to_owned()),
            })
        );
        assert!(StoreTarget::parse("postgresql://u@127.0.0.1/db?schema=").is_err());
        assert!(StoreTarget::parse("  ").is_err());
    }

    #[test]
    fn debug_hides_the_url() {
        let target = StoreTarget::parse("postgres://sync:geheim@127.0.0.1/crm").unwrap();
        assert!(!format!("{target:?}").contains("geheim"));
    }
}
