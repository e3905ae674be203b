//! The PostgreSQL store for `snelstart-sync`: the storage contract of
//! [`sync_core::store`] on a PostgreSQL database shared by many worker processes.
//!
//! Work in progress: the store itself lands in the following commits
//! (see `docs/adr/005-postgres-store.md`).
