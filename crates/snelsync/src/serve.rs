//! `snelsync serve`: the router and the processing loop, until SIGTERM or Ctrl-C.
//!
//! On the signal the listener stops taking connections, requests in progress are answered,
//! and each administration's loop finishes the batch in hand (its items complete, or are
//! rescheduled by the engine) before the process exits. Work still queued stays in the store
//! for the next start.

use std::io::Write as _;
use std::time::Duration;

use snelsync_http::{ProcessingOptions, Service, router};
use sync_core::MemorySource;

use crate::commands::Context;
use crate::{CliError, Outcome};

async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub async fn serve(ctx: &Context) -> Result<Outcome, CliError> {
    let loaded = crate::config::Loaded::read(&ctx.config)?;
    let store = loaded.open_store()?;
    let engines = loaded.engines(&store, ctx.admin.as_deref(), &MemorySource::default())?;
    for engine in &engines {
        engine.record_config().await?;
    }
    let http = loaded.http()?;
    if http.token.is_none() {
        tracing::warn!("no [http] token_env configured: the status page and API refuse everyone");
    }
    let minutes = loaded.file.schedule.read_back_minutes;
    let options = ProcessingOptions::default().with_read_back_every(
        (minutes > 0).then(|| Duration::from_secs(minutes.saturating_mul(60))),
    );
    let service = Service::open(engines, http, options).await?;
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
        async move { service.run_processing(stopped).await }
    });
    axum::serve(listener, router(service))
        .with_graceful_shutdown(terminated())
        .await
        .map_err(|e| CliError::Failed(format!("server: {e}")))?;
    tracing::info!("stopping: finishing the work in hand");
    let _ = stop.send(true);
    let _ = processing.await;
    let _ = writeln!(std::io::stdout(), "snelsync: stopped");
    Ok(Outcome::Clean)
}
