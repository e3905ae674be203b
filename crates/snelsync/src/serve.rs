//! `snelsync serve`: the router, the processing loop and the calendar jobs (weekly digest,
//! monthly reconcile; see [`crate::schedule`]), until SIGTERM or Ctrl-C.
//!
//! The configured administrations (`[[administration]]`) are run by the service's own loop;
//! those coupled through `[onboarding]` by `sync_core`'s fleet runner (see
//! [`crate::onboarding`]).
//!
//! On the signal the listener stops taking connections, requests in progress are answered,
//! each configured administration's loop finishes the batch in hand (its items complete, or
//! are rescheduled by the engine), and the fleet waits for its running slices and releases its
//! leases (another `serve` on the same database may take the administrations at once), before
//! the process exits. Work still queued stays in the store for the next start.

use std::io::Write as _;
use std::time::Duration;

use snelsync_http::{ProcessingOptions, Service, router};
use sync_core::MemorySource;

use crate::commands::Context;
use crate::{CliError, Outcome};

/// The stop signal, registered before anything starts: a SIGTERM that arrives while the
/// service is still starting (a deploy that changes its mind) stops it gracefully too,
/// instead of killing it with the default action.
struct StopSignal {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl StopSignal {
    fn register() -> StopSignal {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignal {
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            StopSignal {}
        }
    }

    async fn received(self) {
        #[cfg(unix)]
        if let Some(mut term) = self.term {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub async fn serve(ctx: &Context) -> Result<Outcome, CliError> {
    let stop_signal = StopSignal::register();
    let loaded = crate::config::Loaded::read(&ctx.config)?;
    let jobs = loaded.jobs()?;
    let store = loaded.open_store(ctx.store.as_ref()).await?;
    let engines = loaded.engines(&store, ctx.admin.as_deref(), &MemorySource::default())?;
    for engine in &engines {
        engine.record_config().await?;
    }
    let mut http = loaded.http_builder()?;
    let onboarding = crate::onboarding::onboarding(&loaded, &store).await?;
    if let Some(onboarding) = &onboarding {
        let webhook = onboarding.webhook.clone();
        tracing::info!(path = webhook.mount_path(), "coupling webhook mounted");
        http = http.coupling_webhook(webhook);
    }
    let http = http.build();
    if http.token.is_none() {
        tracing::warn!("no [http] token_env configured: the status page and API refuse everyone");
    }
    let minutes = loaded.file.schedule.read_back_minutes;
    let options = ProcessingOptions::default().with_read_back_every(
        (minutes > 0).then(|| Duration::from_secs(minutes.saturating_mul(60))),
    );
    let service = Service::open(engines, http, options).await?;
    if let Some(onboarding) = &onboarding {
        let attached = onboarding.attach_to(&service).await?;
        tracing::info!(
            attached,
            "onboarded administrations served by the fleet runner"
        );
    }
    let listen = loaded.file.http.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::Failed(e.to_string()))?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "listening beyond loopback: put TLS in front (a reverse proxy)");
    }
    // Scripts and tests read this line to learn the port (listen = "127.0.0.1:0").
    // Written, not printed: a closed stdout must not stop the service.
    let _ = writeln!(std::io::stdout(), "snelsync: listening on http://{addr}");
    let _ = std::io::stdout().flush();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let processing = tokio::spawn({
        let service = service.clone();
        let stopped = stopped.clone();
        async move { service.run_processing(stopped).await }
    });
    // The administrations coupled through onboarding, leased from the registry.
    let fleet = onboarding.as_ref().map(|onboarding| {
        let fleet = onboarding.fleet.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            fleet
                .run(async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                })
                .await;
        })
    });
    // The weekly digest and the monthly reconcile, beside the processing loop.
    let scheduled = if jobs.is_empty() {
        None
    } else {
        tracing::info!(jobs = %jobs.describe(), "schedule");
        Some(tokio::spawn(jobs.run(service.clone(), stopped)))
    };
    axum::serve(listener, router(service))
        .with_graceful_shutdown(stop_signal.received())
        .await
        .map_err(|e| CliError::Failed(format!("server: {e}")))?;
    tracing::info!("stopping: finishing the work in hand");
    let _ = stop.send(true);
    let _ = processing.await;
    if let Some(fleet) = fleet {
        // Returns after the running slices ended and every lease was released.
        let _ = fleet.await;
    }
    if let Some(scheduled) = scheduled {
        let _ = scheduled.await;
    }
    let _ = writeln!(std::io::stdout(), "snelsync: stopped");
    Ok(Outcome::Clean)
}
