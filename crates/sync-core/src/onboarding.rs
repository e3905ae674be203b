//! Onboarding through SnelStart's coupling flow (API.md §1.1): the webhook SnelStart POSTs
//! when a customer couples, regenerates or deletes the link to this application.
//!
//! Framework-agnostic: the host's web server hands the raw body, the signature headers and
//! the time to [`WebhookVerifier::verify`] and parses the body with [`CouplingEvent::parse`];
//! the event then drives the administrations registry ([`crate::registry`]): Create seals and
//! registers the key (after `GET /companyInfo` names the administration), Regenerate replaces
//! it ([`crate::registry::AdministrationRegistry::replace_key`]), Delete removes it.
//!
//! # Authenticity
//!
//! SnelStart's webhook itself carries no signature (API.md §1.1), so the request this module
//! accepts is signed by whoever forwards it (the host's gateway, or the simulator's activate
//! endpoint): `X-Snelsync-Timestamp` (Unix seconds) and `X-Snelsync-Signature` (`sha256=` +
//! hex of HMAC-SHA256 over `timestamp + "." + body` with a shared secret). A timestamp outside
//! the tolerance is refused, and a signature seen within the tolerance window is refused the
//! second time (replay protection, kept in memory and bounded by the window; a replay that
//! reaches another process is harmless: Create of a registered administration is a conflict,
//! Regenerate with the same key changes nothing).
//!
//! # The service
//!
//! [`OnboardingService`] carries a verified event out against the registry (Create registers,
//! Regenerate rotates, Delete stops and destroys); see [its module](service) for the rules.
//! Mounted over HTTP by `snelsync-http` (`HttpConfigBuilder::coupling_webhook`).

pub mod service;

pub use service::{
    ClientTemplate, CouplingHandler, CouplingHooks, CouplingOutcome, IdentifyAdministration,
    IdentifyError, MappingLookup, NoHooks, OnboardingError, OnboardingService,
};

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// What the customer did in SnelStart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CouplingAction {
    /// A new coupling: a new administration to serve.
    Create,
    /// The customer generated a new koppelsleutel; the old one stops working.
    Regenerate,
    /// The coupling was removed: stop and forget the key.
    Delete,
}

/// One coupling webhook: `{KoppelSleutel, ActionType, ReferenceKey}`. `Debug` never shows the
/// koppelsleutel.
#[derive(Clone)]
#[non_exhaustive]
pub struct CouplingEvent {
    /// The administration's koppelsleutel.
    pub koppelsleutel: SecretString,
    /// What happened.
    pub action: CouplingAction,
    /// The host's context passed through the activate URL (at most 500 characters).
    pub reference_key: String,
}

impl fmt::Debug for CouplingEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CouplingEvent")
            .field("koppelsleutel", &"[redacted]")
            .field("action", &self.action)
            .field("reference_key", &self.reference_key)
            .finish()
    }
}

/// Why a webhook was refused. Never carries the koppelsleutel or the shared secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signature or timestamp header is missing or malformed.
    #[error("missing or malformed {header} header")]
    BadHeader {
        /// Which header.
        header: &'static str,
    },
    /// The timestamp is outside the tolerance.
    #[error("timestamp is {skew_seconds} s away from now (tolerance {tolerance_seconds} s)")]
    Stale {
        /// How far off.
        skew_seconds: i64,
        /// The tolerance.
        tolerance_seconds: u64,
    },
    /// The signature does not match.
    #[error("signature does not match")]
    BadSignature,
    /// The same signed request was already accepted.
    #[error("replayed request")]
    Replay,
    /// The body is not a coupling event; names the field.
    #[error("body: {detail}")]
    BadBody {
        /// What is wrong, naming the field (never its value for the key).
        detail: String,
    },
}

/// The header carrying the Unix timestamp.
pub const TIMESTAMP_HEADER: &str = "X-Snelsync-Timestamp";
/// The header carrying `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Snelsync-Signature";

/// Verifies signed webhooks; see the [module docs](self). `Debug` hides the secret.
pub struct WebhookVerifier {
    secret: SecretString,
    tolerance: Duration,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    by_time: VecDeque<(i64, [u8; 32])>,
    set: BTreeMap<[u8; 32], i64>,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secret", &"[redacted]")
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl WebhookVerifier {
    /// A verifier with `secret` and a timestamp tolerance (5 minutes is a good default).
    pub fn new(secret: SecretString, tolerance: Duration) -> Self {
        Self {
            secret,
            tolerance,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// The signature header value for `body` at `timestamp` (for senders and tests).
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        format!("sha256={}", hex::encode(self.mac(timestamp, body)))
    }

    fn mac(&self, timestamp: i64, body: &[u8]) -> [u8; 32] {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// Checks the headers against `body` at `now`; on success the request is remembered so
    /// the same one is refused within the tolerance window.
    pub fn verify(
        &self,
        timestamp_header: Option<&str>,
        signature_header: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookError> {
        let timestamp: i64 = timestamp_header.and_then(|t| t.trim().parse().ok()).ok_or(
            WebhookError::BadHeader {
                header: TIMESTAMP_HEADER,
            },
        )?;
        let signature = signature_header
            .and_then(|s| s.trim().strip_prefix("sha256="))
            .and_then(|h| hex::decode(h).ok())
            .ok_or(WebhookError::BadHeader {
                header: SIGNATURE_HEADER,
            })?;
        let tolerance = i64::try_from(self.tolerance.as_secs()).unwrap_or(i64::MAX);
        let skew = now.timestamp().saturating_sub(timestamp);
        if skew.saturating_abs() > tolerance {
            return Err(WebhookError::Stale {
                skew_seconds: skew,
                tolerance_seconds: self.tolerance.as_secs(),
            });
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        // Constant-time comparison.
        mac.verify_slice(&signature)
            .map_err(|_| WebhookError::BadSignature)?;
        let fingerprint = self.mac(timestamp, body);
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let horizon = now.timestamp().saturating_sub(tolerance);
        while seen.by_time.front().is_some_and(|(t, _)| *t < horizon) {
            if let Some((_, old)) = seen.by_time.pop_front() {
                seen.set.remove(&old);
            }
        }
        if seen.set.contains_key(&fingerprint) {
            return Err(WebhookError::Replay);
        }
        seen.set.insert(fingerprint, timestamp);
        seen.by_time.push_back((now.timestamp(), fingerprint));
        Ok(())
    }
}

impl CouplingEvent {
    /// Parses the webhook body. Property names are matched case-insensitively
    /// (`KoppelSleutel`, `koppelSleutel`, ...), as are the action values.
    pub fn parse(body: &[u8]) -> Result<Self, WebhookError> {
        let bad = |detail: String| WebhookError::BadBody { detail };
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| bad(format!("not JSON ({})", e.classify_name())))?;
        let object = value
            .as_object()
            .ok_or_else(|| bad("not a JSON object".to_owned()))?;
        let field = |name: &str| {
            object
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let text = |name: &'static str| -> Result<&str, WebhookError> {
            field(name)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| bad(format!("{name} is missing or not a string")))
        };
        let koppelsleutel = text("KoppelSleutel")?.trim();
        if koppelsleutel.is_empty() {
            return Err(bad("KoppelSleutel is empty".to_owned()));
        }
        let action = match text("ActionType")?.trim().to_ascii_lowercase().as_str() {
            "create" => CouplingAction::Create,
            "regenerate" => CouplingAction::Regenerate,
            "delete" => CouplingAction::Delete,
            _ => {
                return Err(bad(
                    "ActionType is not Create, Regenerate or Delete".to_owned()
                ));
            }
        };
        let reference_key = text("ReferenceKey")?.to_owned();
        if reference_key.chars().count() > 500 {
            return Err(bad("ReferenceKey is longer than 500 characters".to_owned()));
        }
        Ok(Self {
            koppelsleutel: SecretString::from(koppelsleutel.to_owned()),
            action,
            reference_key,
        })
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        // The category only: serde_json's message can quote the input.
        match self.classify() {
            serde_json::error::Category::Io => "I/O",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "wrong shape",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "c2VjcmV0LWtvcHBlbHNsZXV0ZWwtdGVzdA==";

    fn verifier() -> WebhookVerifier {
        WebhookVerifier::new(
            SecretString::from("gedeeld-geheim".to_owned()),
            Duration::from_secs(300),
        )
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
    }

    #[test]
    fn parses_any_casing_and_hides_the_key() {
        for body in [
            format!(
                r#"{{"KoppelSleutel":"{KEY}","ActionType":"Create","ReferenceKey":"klant-42"}}"#
            ),
            format!(
                r#"{{"koppelSleutel":"{KEY}","actionType":"create","referenceKey":"klant-42"}}"#
            ),
            format!(
                r#"{{"KOPPELSLEUTEL":"{KEY}","ACTIONTYPE":"CREATE","REFERENCEKEY":"klant-42"}}"#
            ),
        ] {
            let event = CouplingEvent::parse(body.as_bytes()).unwrap();
            assert_eq!(event.action, CouplingAction::Create);
            assert_eq!(event.reference_key, "klant-42");
            assert_eq!(event.koppelsleutel.expose_secret(), KEY);
            assert!(!format!("{event:?}").contains(KEY));
        }
        let regen =
            format!(r#"{{"KoppelSleutel":"{KEY}","ActionType":"Regenerate","ReferenceKey":""}}"#);
        assert_eq!(
            CouplingEvent::parse(regen.as_bytes()).unwrap().action,
            CouplingAction::Regenerate
        );
    }

    #[test]
    fn bad_bodies_name_the_field_never_the_key() {
        let cases = [
            (
                r#"{"ActionType":"Create","ReferenceKey":"r"}"#.to_owned(),
                "KoppelSleutel",
            ),
            (
                format!(r#"{{"KoppelSleutel":"{KEY}","ActionType":"Pause","ReferenceKey":"r"}}"#),
                "ActionType",
            ),
            (
                format!(r#"{{"KoppelSleutel":"{KEY}","ActionType":"Delete"}}"#),
                "ReferenceKey",
            ),
            (
                format!(
                    r#"{{"KoppelSleutel":"{KEY}","ActionType":"Delete","ReferenceKey":"{}"}}"#,
                    "x".repeat(501)
                ),
                "ReferenceKey",
            ),
            (format!(r#"{{"KoppelSleutel":"{KEY}""#), "truncated"),
        ];
        for (body, named) in cases {
            let err = CouplingEvent::parse(body.as_bytes()).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(named), "{text}");
            assert!(!text.contains(KEY), "{text}");
        }
    }

    #[test]
    fn signatures_timestamps_and_replays() {
        let v = verifier();
        let body = br#"{"KoppelSleutel":"k","ActionType":"Create","ReferenceKey":"r"}"#;
        let ts = now().timestamp();
        let sig = v.sign(ts, body);
        let t = ts.to_string();
        assert_eq!(v.verify(Some(&t), Some(&sig), body, now()), Ok(()));
        assert_eq!(
            v.verify(Some(&t), Some(&sig), body, now()),
            Err(WebhookError::Replay),
            "the same request twice"
        );
        // Tampered body, wrong secret, stale timestamp, missing headers.
        let ts2 = ts + 1;
        let sig2 = v.sign(ts2, body);
        let t2 = ts2.to_string();
        assert_eq!(
            v.verify(Some(&t2), Some(&sig2), b"{}", now()),
            Err(WebhookError::BadSignature)
        );
        let other = WebhookVerifier::new(
            SecretString::from("ander".to_owned()),
            Duration::from_secs(300),
        );
        assert_eq!(
            v.verify(Some(&t2), Some(&other.sign(ts2, body)), body, now()),
            Err(WebhookError::BadSignature)
        );
        let old = ts - 301;
        assert!(matches!(
            v.verify(
                Some(&old.to_string()),
                Some(&v.sign(old, body)),
                body,
                now()
            ),
            Err(WebhookError::Stale { .. })
        ));
        assert!(matches!(
            v.verify(None, Some(&sig2), body, now()),
            Err(WebhookError::BadHeader {
                header: TIMESTAMP_HEADER
            })
        ));
        assert!(matches!(
            v.verify(Some(&t2), Some("md5=00"), body, now()),
            Err(WebhookError::BadHeader {
                header: SIGNATURE_HEADER
            })
        ));
        assert_eq!(v.verify(Some(&t2), Some(&sig2), body, now()), Ok(()));
        // After the window the remembered signatures are dropped (bounded memory); the
        // timestamp check then refuses the old request anyway.
        let later = now() + chrono::TimeDelta::seconds(400);
        assert!(matches!(
            v.verify(Some(&t), Some(&sig), body, later),
            Err(WebhookError::Stale { .. })
        ));
        assert!(!format!("{v:?}").contains("gedeeld-geheim"));
    }
}
