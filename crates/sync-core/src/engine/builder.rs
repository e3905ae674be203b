//! [`SyncEngineBuilder`]: an engine from its parts, naming each one.

use mapping::config::MappingConfig;
use snelstart_client::Client;

use super::{EngineOptions, SyncEngine};
use crate::clock::Clock;
use crate::crm::{CrmSink, CrmSource, MemorySource, NoSink};
use crate::store::{AdminKey, MemoryStore, Store};

/// Builds a [`SyncEngine`]; start with [`SyncEngine::builder`].
///
/// Everything but the client and the administration has a default: an in-memory store (give
/// a persistent one for anything that must survive a restart), a source with no changes (for
/// hosts that only [`submit`](SyncEngine::submit)), a sink that drops events, the default
/// mapping configuration and options, and the system clock.
///
/// ```no_run
/// # fn run(client: snelstart_client::Client, config: mapping::config::MappingConfig) {
/// use sync_core::{MemorySink, SyncEngine};
/// use sync_core::store::{AdminKey, MemoryStore};
///
/// let sink = MemorySink::new();
/// let engine = SyncEngine::builder(client, AdminKey::new("bakkerij-de-korst"))
///     .store(MemoryStore::new())
///     .sink(sink.clone())
///     .config(config)
///     .build();
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct SyncEngineBuilder<S = MemoryStore, Src = MemorySource, Snk = NoSink> {
    client: Client,
    admin: AdminKey,
    store: S,
    source: Src,
    sink: Snk,
    config: MappingConfig,
    options: EngineOptions,
    clock: Clock,
}

impl SyncEngine<MemoryStore, MemorySource, NoSink> {
    /// A builder for an engine of administration `admin` talking to SnelStart through
    /// `client`.
    pub fn builder(client: Client, admin: AdminKey) -> SyncEngineBuilder {
        SyncEngineBuilder {
            client,
            admin,
            store: MemoryStore::new(),
            source: MemorySource::default(),
            sink: NoSink,
            config: MappingConfig::default(),
            options: EngineOptions::default(),
            clock: Clock::system(),
        }
    }
}

impl<S, Src, Snk> SyncEngineBuilder<S, Src, Snk> {
    /// Where the engine keeps its state (queue, links, cursors, audit, configuration).
    pub fn store<S2: Store>(self, store: S2) -> SyncEngineBuilder<S2, Src, Snk> {
        SyncEngineBuilder {
            client: self.client,
            admin: self.admin,
            store,
            source: self.source,
            sink: self.sink,
            config: self.config,
            options: self.options,
            clock: self.clock,
        }
    }

    /// Where [`SyncEngine::ingest`] pulls CRM changes from.
    pub fn source<Src2: CrmSource>(self, source: Src2) -> SyncEngineBuilder<S, Src2, Snk> {
        SyncEngineBuilder {
            client: self.client,
            admin: self.admin,
            store: self.store,
            source,
            sink: self.sink,
            config: self.config,
            options: self.options,
            clock: self.clock,
        }
    }

    /// Where links, reviews, failures, notices and read-back events go.
    pub fn sink<Snk2: CrmSink>(self, sink: Snk2) -> SyncEngineBuilder<S, Src, Snk2> {
        SyncEngineBuilder {
            client: self.client,
            admin: self.admin,
            store: self.store,
            source: self.source,
            sink,
            config: self.config,
            options: self.options,
            clock: self.clock,
        }
    }

    /// The mapping configuration.
    pub fn config(mut self, config: MappingConfig) -> Self {
        self.config = config;
        self
    }

    /// Tuning (batch size, concurrency, leases, backoff, breaker).
    pub fn options(mut self, options: EngineOptions) -> Self {
        self.options = options;
        self
    }

    /// The clock (tests use a manual one).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngineBuilder<S, Src, Snk> {
    /// The engine.
    pub fn build(self) -> SyncEngine<S, Src, Snk> {
        SyncEngine::with_options(
            self.client,
            self.store,
            self.source,
            self.sink,
            self.admin,
            self.config,
            self.options,
            self.clock,
        )
    }
}
