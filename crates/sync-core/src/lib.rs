//! # sync-core: the snelstart-sync engine
//!
//! CRM changes reach SnelStart exactly once, in order, within the administration's rate
//! budget, through outages and crashes, with a record of everything.
//!
//! - [`SyncEngine`]: queue CRM changes ([`SyncEngine::ingest`] from a [`CrmSource`],
//!   [`SyncEngine::submit`] for pushed events), process them ([`SyncEngine::process`],
//!   [`SyncEngine::run_until_idle`]), dry-run them ([`SyncEngine::plan`]), replay failures
//!   ([`SyncEngine::replay`]), resolve reviews ([`SyncEngine::resolve_review`]) and report
//!   ([`SyncEngine::status`]). The [engine module docs](SyncEngine) describe the path of a
//!   change and how exactly-once is kept.
//! - The way back: [`SyncEngine::read_back`] delivers payment status per invoice, customer and
//!   supplier balances and purchases per project to the [`CrmSink`], each change exactly once
//!   ([`ReadBackReport`]).
//! - [`store`]: the storage contract the engine is built on, an in-memory store, an adapter
//!   for a store chosen at run time ([`store::DynStore`]), and (feature `test-util`) the
//!   conformance suite every store runs. The embedded default is the `sync-store-sqlite` crate.
//! - [`crm`]: the CRM side through traits ([`CrmSource`], [`CrmSink`]), with in-memory
//!   implementations for tests and examples.
//!
//! ```no_run
//! use sync_core::{SyncEngine, MemorySource, MemorySink, CrmChange};
//! use sync_core::store::{AdminKey, MemoryStore};
//! # async fn run(client: snelstart_client::Client, relation: crm_model::Relation) -> Result<(), sync_core::EngineError> {
//! let engine = SyncEngine::builder(client, AdminKey::new("bakkerij-de-korst"))
//!     .store(MemoryStore::new())          // or sync_store_sqlite::SqliteStore
//!     .source(MemorySource::default())    // or your CrmSource
//!     .sink(MemorySink::new())            // or your CrmSink
//!     .config(mapping::config::MappingConfig::default())
//!     .build();
//! engine.submit(CrmChange::relation(relation)).await?;
//! let report = engine.sync().await?;
//! println!("{report}");
//! println!("{}", engine.status().await?);
//! # Ok(()) }
//! ```
//!
//! ## Metrics
//!
//! Through the `metrics` facade (install any recorder in the host):
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `sync_items_total` | counter | kind, action (created, linked, updated, unchanged, archived, skipped, review, failed, deferred) |
//! | `sync_queue_pending` | gauge | admin |
//! | `sync_readback_invoices_total` | counter | side (sales, purchase): invoices read by the read-back |
//! | `sync_payments_found_total` | counter | side: invoices whose paid amount grew |
//! | `sync_readback_events_total` | counter | event (payment_status, payment_received, payment_reversed, payment_dates, balance, project_purchases): events the CRM accepted |
//! | `sync_readback_refused_total` | counter | – : events the CRM sink refused (delivered again next run) |
//! | `sync_readback_lag_seconds` | histogram | side: now − `modifiedOn` of each invoice read |
//! | `sync_readback_duration_seconds` | histogram | – : wall time of a read-back |
//!
//! plus the client's `snelstart_client_*` metrics (calls, durations, retries, 429s).
//!
//! ## Layering
//!
//! The engine reaches storage and the CRM only through traits and never depends on a database
//! driver; store crates never depend on HTTP.

mod breaker;
mod clock;
pub mod crm;
mod engine;
pub mod error;
pub mod fleet;
mod hash;
pub mod keys;
pub mod onboarding;
pub mod registry;
pub mod report;
pub mod store;

pub use breaker::Reachability;
pub use clock::Clock;
pub use crm::{
    ChangePage, CrmChange, CrmDataset, CrmError, CrmSink, CrmSource, MemorySink, MemorySource,
    NoSink, RefusalProblem, RefusalReason, RefusedRecord, SinkEvent,
};
pub use engine::backup::{
    BackupError, ENGINE_BACKUP_FORMAT, ENGINE_BACKUP_VERSION, EngineBackup, ImportSummary,
    LinkConflict,
};
pub use engine::builder::SyncEngineBuilder;
pub use engine::intake::IntakeReport;
pub use engine::readback::{
    DeliveredPayment, LedgerSide, OpenItemsReport, PaymentsReport, ProjectPurchases,
    READBACK_OVERLAP, ReadBackReport,
};
pub use engine::reconcile::{
    CrmInventory, Difference, InvoiceSide, ReconcileCounts, ReconcileOptions, ReconcileReport,
    Sampling,
};
pub use engine::{EngineOptions, ReviewResolution, SyncEngine};
pub use error::{EngineError, FailureKind};
pub use fleet::{Fleet, FleetOptions, FleetSetup};
pub use hash::payload_hash;
pub use report::{
    Action, FailureEntry, FieldChange, KindQueue, PlanEntry, PlannedAction, ReadBackSummary,
    ReviewEntry, RunReport, StatusReport, WaitReason, Waiting,
};
