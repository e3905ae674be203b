//! The PostgreSQL store's tests, one binary (linking is the expensive part): the shared
//! conformance suite and its PostgreSQL-specific companions, and the engine end to end over
//! the simulator with this store.

mod conformance;
mod engine;
mod fleet;
mod fleet_processes;
mod migrations;
mod support;
