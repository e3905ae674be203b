//! # snelsync-http: the snelstart-sync service as an embeddable axum router
//!
//! What a team deploys to keep a CRM and SnelStart in step, and what people check every
//! week. Mount [`router`] in any axum host (the `snelsync` binary does) and run
//! [`Service::run_processing`] beside it:
//!
//! - **CRM change intake**: `POST /crm/{crm}/changes` with one change or a batch in the CRM
//!   export format, signed with HMAC-SHA256 ([`signature`]), answered per record
//!   ([`intake`]). Accepted changes are in the store before the answer and processing wakes at
//!   once. A CRM that feeds the administrations coupled through onboarding
//!   ([`CrmEndpoint::onboarded`]) names one in the path: `POST /crm/{crm}/admins/{admin}/changes`
//!   (its key or its coupling's ReferenceKey).
//! - **Status and actions** as JSON behind a bearer token ([`api`]): queue, failures with the
//!   field named, the review queue with SnelStart candidates, budget use, reachability, last
//!   read-back and reconcile; replay, link/create a review, pause/resume.
//! - **The status page** (`/`, `/admins/{admin}`, after logging in at `/login` with the same
//!   token): server-rendered HTML with an embedded stylesheet, usable with the keyboard alone.
//! - `/metrics` (Prometheus text), `/healthz`, `/readyz`.
//! - **The SnelStart coupling webhook** (onboarding, [`coupling`]) when configured with
//!   [`HttpConfigBuilder::coupling_webhook`]: a signed `POST` that registers, rotates or
//!   removes an administration through an `OnboardingService`.
//!
//! Nothing is open by default: without [`HttpConfigBuilder::token`] no status or action is
//! served, and an intake request needs a configured CRM and its secret. The binary binds to
//! `127.0.0.1` unless told otherwise.
//!
//! ```no_run
//! use snelsync_http::{CrmEndpoint, HttpConfig, ProcessingOptions, Secret, Service, router};
//! # async fn run(engine: sync_core::SyncEngine<sync_core::store::MemoryStore, sync_core::MemorySource, sync_core::NoSink>) -> Result<(), Box<dyn std::error::Error>> {
//! let config = HttpConfig::builder()
//!     .token(Secret::new(std::env::var("SNELSYNC_TOKEN")?))
//!     .crm(CrmEndpoint::new("crm", Secret::new(std::env::var("CRM_SECRET")?), engine.admin().clone()))
//!     .build();
//! let service = Service::open([engine], config, ProcessingOptions::default()).await?;
//! let (stop, stopped) = tokio::sync::watch::channel(false);
//! let processing = tokio::spawn({
//!     let service = service.clone();
//!     async move { service.run_processing(stopped).await }
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7878").await?;
//! axum::serve(listener, router(service)).await?;
//! stop.send(true)?;
//! processing.await?;
//! # Ok(()) }
//! ```

pub mod api;
mod auth;
pub mod config;
pub mod coupling;
pub mod intake;
mod page;
pub mod service;
pub mod signature;
pub mod status;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use sync_core::store::Store;
use sync_core::{CrmSink, CrmSource};

pub use config::{CrmEndpoint, HttpConfig, HttpConfigBuilder, Secret};
pub use coupling::{CouplingWebhook, CouplingWebhookError};
pub use service::{
    AdminRunner, ProcessingOptions, ReconcileSummary, Service, last_reconcile, put_state,
    record_reconcile,
};
pub use signature::{SignatureError, sign};
pub use status::{AdminStatus, Health, RunnerView};

/// The router: intake, JSON API, pages, metrics and health (see the [crate docs](crate)).
pub fn router<S, Src, Snk>(service: Service<S, Src, Snk>) -> Router
where
    S: Store + 'static,
    Src: CrmSource + 'static,
    Snk: CrmSink + 'static,
{
    let limit = service.inner.config.max_body_bytes;
    let coupling = service.inner.config.coupling.clone();
    let router = Router::new()
        .route(
            "/crm/{crm}/changes",
            post(intake::post_changes::<S, Src, Snk>).layer(DefaultBodyLimit::max(limit)),
        )
        .route(
            "/crm/{crm}/admins/{admin}/changes",
            post(intake::post_admin_changes::<S, Src, Snk>).layer(DefaultBodyLimit::max(limit)),
        )
        .route("/api/admins", get(api::list::<S, Src, Snk>))
        .route("/api/admins/{admin}", get(api::one::<S, Src, Snk>))
        .route(
            "/api/admins/{admin}/replay",
            post(api::replay::<S, Src, Snk>),
        )
        .route(
            "/api/admins/{admin}/reviews/resolve",
            post(api::resolve::<S, Src, Snk>),
        )
        .route("/api/admins/{admin}/pause", post(api::pause::<S, Src, Snk>))
        .route(
            "/api/admins/{admin}/resume",
            post(api::resume::<S, Src, Snk>),
        )
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz::<S, Src, Snk>))
        .route("/metrics", get(api::metrics::<S, Src, Snk>))
        .merge(page::routes::<S, Src, Snk>());
    let router = match coupling {
        Some(hook) => {
            let path = hook.mount_path().to_owned();
            router.route(
                &path,
                post(coupling::receive)
                    .with_state(hook)
                    .layer(DefaultBodyLimit::max(coupling::MAX_WEBHOOK_BYTES)),
            )
        }
        None => router,
    };
    router.with_state(service)
}
