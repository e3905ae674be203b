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
//! - `mock`: a local SnelStart simulator for tests (`snelstart-mock`), only with the feature
//!   `mock`, which is off by default so an application does not compile the simulator.

pub use crm_model as crm;
pub use mapping;
pub use snelstart_client as client;
pub use sync_core as engine;
pub use sync_store_sqlite as sqlite;

#[cfg(feature = "mock")]
pub use snelstart_mock as mock;

#[cfg(test)]
mod tests {
    /// Issue 12: `mock` was a default feature, so every embedder compiled the simulator (an axum
    /// server). The examples, tests and benches reach it as a dev-dependency instead.
    #[test]
    fn the_simulator_is_not_a_default_feature() {
        let manifest = include_str!("../Cargo.toml");
        let features = manifest
            .split("\n[features]\n")
            .nth(1)
            .expect("the umbrella package has a [features] table");
        let table = features.split("\n[").next().unwrap_or_default();
        let default = table
            .lines()
            .find(|l| l.trim_start().starts_with("default"))
            .expect("a default feature list");
        assert!(!default.contains("mock"), "{default}");
        assert!(
            manifest.contains("[dev-dependencies]\n# The simulator")
                && manifest.contains("\nsnelstart-mock.workspace = true\n"),
            "examples, tests and benches get the simulator as a dev-dependency"
        );
    }
}
