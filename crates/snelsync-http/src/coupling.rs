//! The SnelStart coupling webhook (onboarding), mounted when configured
//! ([`HttpConfigBuilder::coupling_webhook`](crate::HttpConfigBuilder::coupling_webhook)).
//!
//! `POST {path}` with `{KoppelSleutel, ActionType, ReferenceKey}`, signed with the shared
//! secret as [`sync_core::onboarding`] documents (`X-Snelsync-Timestamp`,
//! `X-Snelsync-Signature: sha256=<hex HMAC-SHA256 over "{timestamp}.{body}">`; timestamp
//! tolerance, a signature is accepted once). The verified event goes to the host's
//! [`CouplingHandler`] (an [`OnboardingService`](sync_core::onboarding::OnboardingService)).
//!
//! Answers (SnelStart counts any 2xx as delivered and does not retry):
//!
//! | status | when |
//! |---|---|
//! | 200 | carried out: `{"outcome": "registered" \| "key_replaced" \| "unchanged" \| "removed" \| "not_registered", "administration": id}` |
//! | 400 | the body is not a coupling event (the field is named) |
//! | 401 | signature or timestamp missing, wrong or stale, or the request was already received |
//! | 413 | body over 64 KiB |
//! | 422 | refused: unknown reference key, or SnelStart refused the key |
//! | 503 | SnelStart or the store could not be reached: sign and send again later |
//!
//! Without the configuration there is no such route (404): the webhook is never open by
//! default. No answer and no log line carries the koppelsleutel.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde_json::json;
use sync_core::onboarding::{
    CouplingEvent, CouplingHandler, IdentifyError, OnboardingError, SIGNATURE_HEADER,
    TIMESTAMP_HEADER, WebhookVerifier,
};

use crate::config::Secret;

/// The largest webhook body accepted (the event is three short strings).
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;

/// The default path of the webhook.
pub const DEFAULT_PATH: &str = "/snelstart/coupling";

/// The coupling webhook's configuration: where it is mounted, the secret it verifies with,
/// and the handler that carries events out. `Debug` hides the secret. Clones share the replay
/// memory.
#[derive(Clone)]
pub struct CouplingWebhook {
    path: String,
    verifier: Arc<WebhookVerifier>,
    handler: Arc<dyn CouplingHandler>,
}

impl fmt::Debug for CouplingWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CouplingWebhook")
            .field("path", &self.path)
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

/// Why a coupling webhook configuration was refused.
#[derive(Debug, thiserror::Error)]
#[error("coupling webhook: {0}")]
pub struct CouplingWebhookError(String);

impl CouplingWebhook {
    /// The webhook at [`DEFAULT_PATH`] with `secret` (5 minutes timestamp tolerance),
    /// carrying events out with `handler`.
    ///
    /// # Errors
    /// When the secret is empty.
    pub fn new(
        secret: Secret,
        handler: Arc<dyn CouplingHandler>,
    ) -> Result<Self, CouplingWebhookError> {
        Self::with_tolerance(secret, handler, Duration::from_secs(300))
    }

    /// The same with another timestamp tolerance.
    ///
    /// # Errors
    /// When the secret is empty.
    pub fn with_tolerance(
        secret: Secret,
        handler: Arc<dyn CouplingHandler>,
        tolerance: Duration,
    ) -> Result<Self, CouplingWebhookError> {
        if secret.expose().trim().is_empty() {
            return Err(CouplingWebhookError("the shared secret is empty".into()));
        }
        Ok(Self {
            path: DEFAULT_PATH.to_owned(),
            verifier: Arc::new(WebhookVerifier::new(
                SecretString::from(secret.expose().to_owned()),
                tolerance,
            )),
            handler,
        })
    }

    /// Mounts it at `path` instead (`/` and one or more literal segments; no `{captures}`).
    ///
    /// # Errors
    /// When the path is not of that form.
    pub fn path(mut self, path: impl Into<String>) -> Result<Self, CouplingWebhookError> {
        let path = path.into();
        let ok = path.len() > 1
            && path.starts_with('/')
            && !path.ends_with('/')
            && !path.contains("//")
            && path.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~')
            });
        if !ok {
            return Err(CouplingWebhookError(format!(
                "path {path:?} must start with / and hold literal segments of A-Z a-z 0-9 - _ . ~"
            )));
        }
        self.path = path;
        Ok(self)
    }

    /// Where it is mounted.
    pub fn mount_path(&self) -> &str {
        &self.path
    }
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

/// `POST {path}`: verify, parse, carry out.
pub(crate) async fn receive(
    State(hook): State<CouplingWebhook>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Err(e) = hook.verifier.verify(
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        chrono::Utc::now(),
    ) {
        tracing::warn!(error = %e, "coupling webhook refused");
        return answer(StatusCode::UNAUTHORIZED, json!({"error": e.to_string()}));
    }
    let event = match CouplingEvent::parse(&body) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "coupling webhook body refused");
            return answer(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}));
        }
    };
    match hook.handler.handle_event(&event).await {
        Ok(outcome) => answer(
            StatusCode::OK,
            json!({
                "outcome": outcome.name(),
                "administration": outcome.admin().map(|a| a.as_str()),
            }),
        ),
        Err(e) => {
            let status = match &e {
                OnboardingError::UnknownReference { .. }
                | OnboardingError::Identify(IdentifyError::Refused { .. }) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                e if e.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            answer(status, json!({"error": e.to_string()}))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;

    use sync_core::onboarding::CouplingOutcome;

    use super::*;

    struct Nothing;

    impl CouplingHandler for Nothing {
        fn handle_event<'a>(
            &'a self,
            _event: &'a CouplingEvent,
        ) -> Pin<Box<dyn Future<Output = Result<CouplingOutcome, OnboardingError>> + Send + 'a>>
        {
            Box::pin(async { Ok(CouplingOutcome::NotRegistered) })
        }
    }

    #[test]
    fn secrets_and_paths() {
        assert!(CouplingWebhook::new(Secret::new(" "), Arc::new(Nothing)).is_err());
        let hook =
            CouplingWebhook::new(Secret::new("webhook-secret-1"), Arc::new(Nothing)).unwrap();
        assert_eq!(hook.mount_path(), DEFAULT_PATH);
        let text = format!(
            "{:?}",
            crate::HttpConfig::builder()
                .coupling_webhook(hook.clone())
                .build()
        );
        assert!(!text.contains("webhook-secret-1"), "{text}");
        for bad in ["", "/", "hooks", "/hooks/", "/a//b", "/{admin}", "/a b"] {
            assert!(hook.clone().path(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            hook.path("/hooks/snelstart-coupling").unwrap().mount_path(),
            "/hooks/snelstart-coupling"
        );
    }
}
