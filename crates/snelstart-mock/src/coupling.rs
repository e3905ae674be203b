//! The customer's side of SnelStart's coupling flow (API.md §1.1, "oAuth" coupling): the
//! activate click on `web.snelstart.nl/couplings/activate/{appShortName}?referenceKey=...`,
//! and later the regenerate and delete buttons of the coupling's tile.
//!
//! A click changes which koppelsleutel opens the administration and POSTs the webhook
//! `{KoppelSleutel, ActionType, ReferenceKey}` (PascalCase, as the vendor page writes it) to
//! the configured URL, signed as [`CouplingConfig`] says:
//!
//! * **Create**: a fresh koppelsleutel (base64 of `username:password`, so both grants take it)
//!   is accepted for the administration from now on, beside its configured key.
//! * **Regenerate**: a fresh key replaces the coupling's key; the old one is refused by the
//!   token endpoint (`invalid_grant`) and tokens issued for it stop working (401).
//! * **Delete**: the coupling's key is refused from now on, its tokens too; the webhook
//!   carries the key that was deleted.
//!
//! As at SnelStart, the key changes whether or not the webhook is delivered, and a failed
//! delivery is not retried: the answer says what the webhook answered.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

use crate::error::MockError;
use crate::server::Shared;

/// The header with the Unix timestamp of a webhook delivery.
pub const TIMESTAMP_HEADER: &str = "X-Snelsync-Timestamp";
/// The header with `sha256=<hex>` of HMAC-SHA256 over `timestamp + "." + body`.
pub const SIGNATURE_HEADER: &str = "X-Snelsync-Signature";

/// What the customer clicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CouplingAction {
    /// "Activeren": couple the administration.
    Create,
    /// A new koppelsleutel for the coupling.
    Regenerate,
    /// Remove the coupling.
    Delete,
}

impl CouplingAction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Create => "Create",
            Self::Regenerate => "Regenerate",
            Self::Delete => "Delete",
        }
    }
}

/// One click: `POST /_mock/couplings` takes it as JSON
/// `{"actionType": "Create", "referenceKey": "klant-42", "administration": 1}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct CouplingClick {
    /// What the customer clicked.
    pub action_type: CouplingAction,
    /// The activate URL's `referenceKey` (mandatory for Create, at most 500 characters);
    /// Regenerate and Delete default to the coupling's own.
    #[serde(default)]
    pub reference_key: Option<String>,
    /// Which administration (its position in the configuration; default 0).
    #[serde(default)]
    pub administration: usize,
}

impl CouplingClick {
    /// A click on `administration`.
    pub fn new(action_type: CouplingAction, administration: usize) -> Self {
        CouplingClick {
            action_type,
            reference_key: None,
            administration,
        }
    }

    /// With the activate URL's `referenceKey`.
    pub fn reference_key(mut self, reference_key: impl Into<String>) -> Self {
        self.reference_key = Some(reference_key.into());
        self
    }
}

/// What a click did. Never carries the koppelsleutel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CouplingDelivery {
    /// The administration (companyInfo `administratieIdentifier`).
    pub administratie_identifier: uuid::Uuid,
    /// What was clicked.
    pub action_type: CouplingAction,
    /// The reference key sent.
    pub reference_key: String,
    /// The webhook's HTTP status, when it answered.
    pub webhook_status: Option<u16>,
    /// True when the webhook answered 2xx (SnelStart's definition of delivered).
    pub delivered: bool,
    /// Why the webhook could not be reached, when it could not.
    pub error: Option<String>,
}

/// Checks that `url` is http(s) on a loopback host.
pub(crate) fn check_webhook_url(url: &str) -> Result<reqwest::Url, MockError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| MockError::Config(format!("coupling webhook URL {url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(MockError::Config(format!(
            "coupling webhook URL {url:?} is not http(s)"
        )));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if !loopback {
        return Err(MockError::Config(format!(
            "coupling webhook URL {url:?} is not on a loopback host: the simulator sends \
             koppelsleutels to 127.0.0.1, ::1 or localhost only"
        )));
    }
    Ok(parsed)
}

/// A fresh koppelsleutel: base64 of `username:password`, 128 random bits each.
fn fresh_key() -> String {
    let mut rng = rand::rng();
    let user: [u8; 16] = rng.random();
    let pass: [u8; 16] = rng.random();
    base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        hex::encode(user),
        hex::encode(pass)
    ))
}

/// `sha256=` + hex of HMAC-SHA256 over `timestamp + "." + body`.
pub(crate) fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why a click was refused.
#[derive(Debug)]
pub(crate) enum ClickError {
    /// 400: the click itself is wrong.
    Bad(String),
    /// 409: it does not fit the coupling's state (or no webhook is configured).
    Conflict(String),
}

impl ClickError {
    fn message(&self) -> &str {
        match self {
            Self::Bad(m) | Self::Conflict(m) => m,
        }
    }
}

/// Carries out a click: changes the keys, then delivers the webhook.
pub(crate) async fn click(
    sh: &Arc<Shared>,
    click: CouplingClick,
) -> Result<CouplingDelivery, ClickError> {
    let Some(config) = sh.coupling_config() else {
        return Err(ClickError::Conflict(
            "no coupling webhook is configured (MockConfig::with_coupling_webhook)".into(),
        ));
    };
    let url = check_webhook_url(&config.webhook_url).map_err(|e| ClickError::Bad(e.to_string()))?;
    if click
        .reference_key
        .as_ref()
        .is_some_and(|r| r.chars().count() > 500)
    {
        return Err(ClickError::Bad(
            "referenceKey may hold at most 500 characters".into(),
        ));
    }
    let (id, key, reference_key) = {
        let mut world = sh.world();
        let count = world.admins.len();
        let admin = world.admins.get_mut(click.administration).ok_or_else(|| {
            ClickError::Bad(format!(
                "administration {} does not exist (there are {count})",
                click.administration
            ))
        })?;
        let (key, reference_key) = match (click.action_type, admin.coupling.take()) {
            (CouplingAction::Create, None) => {
                let Some(reference) = click.reference_key.clone() else {
                    return Err(ClickError::Bad(
                        "referenceKey is mandatory for an app with a webhook".into(),
                    ));
                };
                let key = fresh_key();
                admin.coupling = Some((key.clone(), reference.clone()));
                (key, reference)
            }
            (CouplingAction::Create, Some(existing)) => {
                admin.coupling = Some(existing);
                return Err(ClickError::Conflict(
                    "the administration is already coupled: regenerate or delete the key".into(),
                ));
            }
            (CouplingAction::Regenerate | CouplingAction::Delete, None) => {
                return Err(ClickError::Conflict(
                    "the administration is not coupled".into(),
                ));
            }
            (CouplingAction::Regenerate, Some((_, stored))) => {
                let reference = click.reference_key.clone().unwrap_or(stored);
                let key = fresh_key();
                admin.coupling = Some((key.clone(), reference.clone()));
                (key, reference)
            }
            (CouplingAction::Delete, Some((old, stored))) => {
                (old, click.reference_key.clone().unwrap_or(stored))
            }
        };
        (admin.id, key, reference_key)
    };
    if click.action_type != CouplingAction::Create {
        sh.revoke_coupling_tokens(click.administration);
    }
    let body = serde_json::to_vec(&json!({
        "KoppelSleutel": key,
        "ActionType": click.action_type.as_str(),
        "ReferenceKey": reference_key,
    }))
    .unwrap_or_default();
    let timestamp = chrono::Utc::now().timestamp();
    let signature = sign(&config.webhook_secret, timestamp, &body);
    let sent = sh
        .webhook_client()
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await;
    let (webhook_status, error) = match sent {
        Ok(resp) => (Some(resp.status().as_u16()), None),
        // Without the URL: reqwest's message names it, and the key is not in it anyway.
        Err(e) => (None, Some(e.without_url().to_string())),
    };
    tracing::debug!(
        action = click.action_type.as_str(),
        ?webhook_status,
        "coupling webhook sent"
    );
    Ok(CouplingDelivery {
        administratie_identifier: id,
        action_type: click.action_type,
        reference_key,
        webhook_status,
        delivered: webhook_status.is_some_and(|s| (200..300).contains(&s)),
        error,
    })
}

/// The client the webhook is sent with: no redirects (the key would follow them), 10 s.
pub(crate) fn new_webhook_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

/// `POST /_mock/couplings`: a [`CouplingClick`] as JSON; answers the [`CouplingDelivery`].
pub(crate) async fn inspect_couplings(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let bad = |status: StatusCode, m: &str| (status, Json(json!({"Message": m}))).into_response();
    let request: CouplingClick = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match click(&sh, request).await {
        Ok(delivery) => (StatusCode::OK, Json(delivery)).into_response(),
        Err(e @ ClickError::Bad(_)) => bad(StatusCode::BAD_REQUEST, e.message()),
        Err(e @ ClickError::Conflict(_)) => bad(StatusCode::CONFLICT, e.message()),
    }
}

/// The error [`MockServer::couple`](crate::MockServer::couple) returns.
pub(crate) fn click_error(e: ClickError) -> MockError {
    match e {
        ClickError::Bad(m) | ClickError::Conflict(m) => MockError::Coupling(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_webhooks() {
        for ok in [
            "http://127.0.0.1:8080/webhooks/snelstart",
            "https://localhost/x",
            "http://[::1]:9/x",
            "http://127.1.2.3/",
        ] {
            assert!(check_webhook_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1/x",
            "https://example.com/x",
            "ftp://127.0.0.1/x",
            "not a url",
            "http://localhost.example.com/",
        ] {
            assert!(check_webhook_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fresh_keys_are_base64_of_user_and_password() {
        let key = fresh_key();
        assert_ne!(key, fresh_key());
        let text = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(&key)
                .unwrap(),
        )
        .unwrap();
        let (user, pass) = text.split_once(':').unwrap();
        assert_eq!((user.len(), pass.len()), (32, 32));
    }

    #[test]
    fn signature_is_hmac_over_timestamp_dot_body() {
        // The format onboarding verifies (checked against it end to end in snelsync-http).
        let a = sign("geheim", 1_767_225_600, b"{}");
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64, "{a}");
        assert_ne!(a, sign("geheim", 1_767_225_601, b"{}"));
        assert_ne!(a, sign("ander", 1_767_225_600, b"{}"));
    }
}
