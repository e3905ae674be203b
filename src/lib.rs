//! # snelstart-sync
//!
//! Connect any CRM to SnelStart, the Dutch accounting package, through its B2B API v2.
//!
//! This umbrella crate re-exports the workspace crates so an application can depend on one name:
//!
//! - [`client`]: the typed SnelStart client (`snelstart-client`).
//! - [`crm`]: the CRM-side data model (`crm-model`).
//! - [`mapping`]: the pure business rules (`mapping`).
//! - [`engine`]: the sync engine (`sync-core`).
//! - [`sqlite`]: the embedded SQLite store the engine keeps its state in (`sync-store-sqlite`).
//! - [`mock`]: a local SnelStart simulator for tests (`snelstart-mock`, feature `mock`).

pub use crm_model as crm;
pub use mapping;
pub use snelstart_client as client;
pub use sync_core as engine;
pub use sync_store_sqlite as sqlite;

#[cfg(feature = "mock")]
pub use snelstart_mock as mock;
