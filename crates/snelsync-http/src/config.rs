//! What the router needs to know: who may post changes (a shared secret per CRM), who may
//! look and act (a bearer token), and the limits of the intake.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sync_core::store::AdminKey;

/// A secret (an HMAC key or an access token): never shown by `Debug` or `Display`.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Compares in constant time (a token check must not tell how many characters matched).
    pub(crate) fn matches(&self, given: &str) -> bool {
        constant_time_eq(self.expose().as_bytes(), given.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Equality that takes the same time wherever the first difference is.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A CRM allowed to post changes: its name (in the URL), the secret it signs with, and the
/// administration its changes go to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CrmEndpoint {
    /// The name in `POST /crm/{name}/changes`.
    pub name: String,
    /// The shared HMAC-SHA256 key.
    pub secret: Secret,
    /// The administration its changes are queued for; `None`: it feeds the administrations
    /// attached to the service (coupled through onboarding), naming one per request in
    /// `POST /crm/{name}/admins/{admin}/changes`.
    pub admin: Option<AdminKey>,
}

impl CrmEndpoint {
    /// A CRM named `name` that signs with `secret` and feeds `admin`.
    pub fn new(name: impl Into<String>, secret: Secret, admin: AdminKey) -> Self {
        CrmEndpoint {
            name: name.into(),
            secret,
            admin: Some(admin),
        }
    }

    /// A CRM named `name` that signs with `secret` and feeds the attached administrations
    /// (see [`crate::Service::attach`]): a multi-tenant CRM posting each customer's changes
    /// to `POST /crm/{name}/admins/{admin}/changes`, where `{admin}` is the administration's
    /// key or its coupling's ReferenceKey (the CRM's own customer reference). It cannot post
    /// to the administrations given to [`crate::Service::open`].
    pub fn onboarded(name: impl Into<String>, secret: Secret) -> Self {
        CrmEndpoint {
            name: name.into(),
            secret,
            admin: None,
        }
    }
}

/// The router's configuration. Build it with [`HttpConfig::builder`].
///
/// Without an access token the status and action endpoints (JSON and pages) refuse every
/// request: the service is never open by default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpConfig {
    /// The bearer token for status and actions (`None`: nobody may look or act).
    pub token: Option<Secret>,
    /// The CRMs that may post changes.
    pub crms: Vec<CrmEndpoint>,
    /// How far a signed timestamp may be from the server's clock, either way.
    pub timestamp_tolerance: Duration,
    /// The largest intake body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The largest number of records one intake request may carry.
    pub max_records: usize,
    /// The SnelStart coupling webhook (onboarding); `None`: not mounted.
    pub coupling: Option<crate::coupling::CouplingWebhook>,
}

impl HttpConfig {
    /// A builder with the defaults: no token, no CRM, 5 minutes tolerance, 2 MiB bodies,
    /// 1,000 records per request.
    pub fn builder() -> HttpConfigBuilder {
        HttpConfigBuilder {
            config: HttpConfig {
                token: None,
                crms: Vec::new(),
                timestamp_tolerance: Duration::from_secs(300),
                max_body_bytes: 2 * 1024 * 1024,
                max_records: 1000,
                coupling: None,
            },
        }
    }

    pub(crate) fn crm(&self, name: &str) -> Option<&CrmEndpoint> {
        self.crms.iter().find(|c| c.name == name)
    }
}

/// Builds an [`HttpConfig`].
#[derive(Debug)]
pub struct HttpConfigBuilder {
    config: HttpConfig,
}

impl HttpConfigBuilder {
    /// The bearer token for status and actions.
    pub fn token(mut self, token: Secret) -> Self {
        self.config.token = Some(token);
        self
    }

    /// Adds a CRM that may post changes.
    pub fn crm(mut self, crm: CrmEndpoint) -> Self {
        self.config.crms.push(crm);
        self
    }

    /// How far a signed timestamp may be off (default 5 minutes).
    pub fn timestamp_tolerance(mut self, tolerance: Duration) -> Self {
        self.config.timestamp_tolerance = tolerance;
        self
    }

    /// The largest intake body (default 2 MiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.config.max_body_bytes = bytes;
        self
    }

    /// The most records per intake request (default 1,000).
    pub fn max_records(mut self, records: usize) -> Self {
        self.config.max_records = records;
        self
    }

    /// Mounts the SnelStart coupling webhook (onboarding; see [`crate::coupling`]).
    pub fn coupling_webhook(mut self, webhook: crate::coupling::CouplingWebhook) -> Self {
        self.config.coupling = Some(webhook);
        self
    }

    /// The configuration.
    pub fn build(self) -> HttpConfig {
        self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug() {
        let config = HttpConfig::builder()
            .token(Secret::new("tok-123"))
            .crm(CrmEndpoint::new(
                "crm",
                Secret::new("hmac-456"),
                AdminKey::new("a"),
            ))
            .build();
        let text = format!("{config:?}");
        assert!(
            !text.contains("tok-123") && !text.contains("hmac-456"),
            "{text}"
        );
        assert!(text.contains("redacted"));
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
