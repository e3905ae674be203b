//! The signature a CRM puts on every change it posts.
//!
//! Three headers:
//!
//! | header | value |
//! |---|---|
//! | `X-Snelsync-Timestamp` | Unix time in seconds when the CRM signed |
//! | `X-Snelsync-Event-Id` | the CRM's unique id of this delivery (1–128 of `A-Z a-z 0-9 . _ : -`) |
//! | `X-Snelsync-Signature` | `sha256=` + hex HMAC-SHA256 with the CRM's secret over `{timestamp}.{event id}.{body}` |
//!
//! The event id is inside the signed text so a captured request cannot be sent again under a
//! new id; the timestamp bounds how long a captured request is worth anything at all.
//! [`sign`] computes the header value, for CRM-side code and tests.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Secret;

/// The header with the signing time.
pub const TIMESTAMP_HEADER: &str = "x-snelsync-timestamp";
/// The header with the event id.
pub const EVENT_ID_HEADER: &str = "x-snelsync-event-id";
/// The header with the signature.
pub const SIGNATURE_HEADER: &str = "x-snelsync-signature";

type HmacSha256 = Hmac<Sha256>;

/// The `X-Snelsync-Signature` value for a body: `sha256=` and the hex HMAC-SHA256 of
/// `{timestamp}.{event_id}.{body}` under `secret`.
pub fn sign(secret: &Secret, timestamp: i64, event_id: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(
            keyed(secret, timestamp, event_id, body)
                .finalize()
                .into_bytes()
        )
    )
}

/// The MAC over `{timestamp}.{event_id}.{body}`, before finalising.
fn keyed(secret: &Secret, timestamp: i64, event_id: &str, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable_key());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(event_id.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cold]
fn unreachable_key() -> HmacSha256 {
    // `Hmac::new_from_slice` only fails for MACs with a fixed key size; HMAC has none.
    HmacSha256::new_from_slice(b"0").unwrap_or_else(|_| std::process::abort())
}

/// Why a delivery was refused before its body was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// A signing header is absent.
    #[error("the {0} header is missing")]
    Missing(&'static str),
    /// A header is present but malformed.
    #[error("the {header} header is malformed: {why}")]
    Malformed {
        /// Which header.
        header: &'static str,
        /// What is wrong.
        why: &'static str,
    },
    /// The timestamp is too far from the server's clock.
    #[error(
        "the timestamp is {skew_seconds} s away from the server's clock (tolerance {tolerance_seconds} s)"
    )]
    Stale {
        /// Signed time minus server time.
        skew_seconds: i64,
        /// The tolerance.
        tolerance_seconds: u64,
    },
    /// The signature does not match the body.
    #[error(
        "the signature does not match (wrong secret, or the body, timestamp or event id changed)"
    )]
    Mismatch,
}

/// The checked signing headers of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signed {
    pub event_id: String,
}

/// Checks the signing headers against the body and the clock.
pub(crate) fn verify(
    secret: &Secret,
    headers: &axum::http::HeaderMap,
    body: &[u8],
    now: i64,
    tolerance: std::time::Duration,
) -> Result<Signed, SignatureError> {
    let timestamp = header(headers, TIMESTAMP_HEADER)?;
    let timestamp: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed {
        header: TIMESTAMP_HEADER,
        why: "expected Unix seconds",
    })?;
    let event_id = header(headers, EVENT_ID_HEADER)?;
    if event_id.is_empty()
        || event_id.len() > 128
        || !event_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
    {
        return Err(SignatureError::Malformed {
            header: EVENT_ID_HEADER,
            why: "expected 1 to 128 of A-Z a-z 0-9 . _ : -",
        });
    }
    let given = header(headers, SIGNATURE_HEADER)?;
    let given = given
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(SignatureError::Malformed {
            header: SIGNATURE_HEADER,
            why: "expected sha256= and hex",
        })?;
    // The signature first: an unsigned request learns nothing about the clock.
    keyed(secret, timestamp, event_id, body)
        .verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)?;
    let skew = timestamp.saturating_sub(now);
    let tolerance_seconds = tolerance.as_secs();
    if skew.unsigned_abs() > tolerance_seconds {
        return Err(SignatureError::Stale {
            skew_seconds: skew,
            tolerance_seconds,
        });
    }
    Ok(Signed {
        event_id: event_id.to_owned(),
    })
}

fn header<'a>(
    headers: &'a axum::http::HeaderMap,
    name: &'static str,
) -> Result<&'a str, SignatureError> {
    let value = headers.get(name).ok_or(SignatureError::Missing(name))?;
    value
        .to_str()
        .map(str::trim)
        .map_err(|_| SignatureError::Malformed {
            header: name,
            why: "not visible ASCII",
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};
    use std::time::Duration;

    fn headers(ts: i64, id: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            TIMESTAMP_HEADER,
            HeaderValue::from_str(&ts.to_string()).unwrap(),
        );
        h.insert(EVENT_ID_HEADER, HeaderValue::from_str(id).unwrap());
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(sig).unwrap());
        h
    }

    #[test]
    fn a_signed_body_verifies_and_any_change_breaks_it() {
        let secret = Secret::new("s3cret");
        let body = br#"{"relations":[]}"#;
        let sig = sign(&secret, 1_700_000_000, "ev-1", body);
        let tol = Duration::from_secs(300);
        let ok = verify(
            &secret,
            &headers(1_700_000_000, "ev-1", &sig),
            body,
            1_700_000_100,
            tol,
        );
        assert_eq!(ok.unwrap().event_id, "ev-1");
        // Another event id, body, timestamp or secret: refused.
        for (h, b, s) in [
            (headers(1_700_000_000, "ev-2", &sig), &body[..], &secret),
            (headers(1_700_000_000, "ev-1", &sig), &b"{}"[..], &secret),
            (headers(1_700_000_001, "ev-1", &sig), &body[..], &secret),
            (
                headers(1_700_000_000, "ev-1", &sig),
                &body[..],
                &Secret::new("other"),
            ),
        ] {
            assert_eq!(
                verify(s, &h, b, 1_700_000_000, tol),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let secret = Secret::new("k");
        let tol = Duration::from_secs(300);
        for ts in [1_000, 2_000 + 301] {
            let sig = sign(&secret, ts, "e", b"x");
            let err = verify(&secret, &headers(ts, "e", &sig), b"x", 2_000, tol).unwrap_err();
            assert!(matches!(err, SignatureError::Stale { .. }), "{err}");
        }
    }

    #[test]
    fn malformed_headers_are_named() {
        let secret = Secret::new("k");
        let tol = Duration::from_secs(300);
        let err = verify(&secret, &HeaderMap::new(), b"", 0, tol).unwrap_err();
        assert_eq!(err, SignatureError::Missing(TIMESTAMP_HEADER));
        let err = verify(&secret, &headers(0, "a b", "sha256=00"), b"", 0, tol).unwrap_err();
        assert!(err.to_string().contains(EVENT_ID_HEADER), "{err}");
        let err = verify(&secret, &headers(0, "e", "md5=00"), b"", 0, tol).unwrap_err();
        assert!(err.to_string().contains(SIGNATURE_HEADER), "{err}");
    }
}
