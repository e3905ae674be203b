//! Bearer tokens from the SnelStart token endpoint.
//!
//! A token is requested with the koppelsleutel, cached, and refreshed a margin before it
//! expires. The cache sits behind an async mutex, so however many calls need a token at once,
//! exactly one token request goes out and the others wait for its answer.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::{AuthError, Error};

/// How the koppelsleutel is exchanged for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Grant {
    /// `grant_type=clientkey&clientkey=<koppelsleutel>`: the key is sent as is. The simplest
    /// form, documented by SnelStart.
    #[default]
    ClientKey,
    /// `grant_type=password`: the koppelsleutel is base64 of `username:password`; the halves are
    /// sent as `username` and `password` (what the vendor's .NET client does).
    Password,
}

impl Grant {
    fn name(self) -> &'static str {
        match self {
            Grant::ClientKey => "clientkey",
            Grant::Password => "password",
        }
    }
}

/// The token endpoint's success body.
#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// The token endpoint's error body (OAuth style).
#[derive(serde::Deserialize, Default)]
struct TokenErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

struct Cached {
    token: SecretString,
    refresh_at: Instant,
    generation: u64,
}

/// A token together with the generation it belongs to, so a 401 invalidates exactly the token
/// that failed and not a fresher one another task already fetched.
pub(crate) struct Token {
    pub(crate) secret: SecretString,
    pub(crate) generation: u64,
}

/// Fetches and caches tokens for one koppelsleutel.
pub(crate) struct TokenSource {
    http: reqwest::Client,
    auth_url: url::Url,
    koppelsleutel: SecretString,
    grant: Grant,
    margin: Duration,
    cache: Mutex<Option<Cached>>,
    generations: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("auth_url", &self.auth_url.as_str())
            .field("grant", &self.grant)
            .field("koppelsleutel", &"[REDACTED]")
            .field("margin", &self.margin)
            .finish()
    }
}

/// Tokens without a stated lifetime are treated as living this long.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3_599);

impl TokenSource {
    pub(crate) fn new(
        http: reqwest::Client,
        auth_url: url::Url,
        koppelsleutel: SecretString,
        grant: Grant,
        margin: Duration,
    ) -> Self {
        TokenSource {
            http,
            auth_url,
            koppelsleutel,
            grant,
            margin,
            cache: Mutex::new(None),
            generations: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// A valid token, from the cache or freshly requested.
    pub(crate) async fn token(&self) -> Result<Token, Error> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(Token {
                secret: c.token.clone(),
                generation: c.generation,
            });
        }
        let (secret, lifetime) = self.request_token().await?;
        let generation = self
            .generations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        // Refresh `margin` before expiry, but never treat a token as stale on arrival.
        let usable = lifetime.saturating_sub(self.margin).max(lifetime / 2);
        *cache = Some(Cached {
            token: secret.clone(),
            refresh_at: Instant::now() + usable,
            generation,
        });
        Ok(Token { secret, generation })
    }

    /// Drops the cached token if it is still the one of `generation` (after a 401).
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref().is_some_and(|c| c.generation == generation) {
            *cache = None;
        }
    }

    fn form(&self) -> Result<Vec<(&'static str, String)>, Error> {
        let key = self.koppelsleutel.expose_secret();
        Ok(match self.grant {
            Grant::ClientKey => vec![
                ("grant_type", "clientkey".to_owned()),
                ("clientkey", key.to_owned()),
            ],
            Grant::Password => {
                let invalid = |message: &str| {
                    Error::from(AuthError::InvalidKoppelsleutel {
                        grant: Grant::Password.name(),
                        message: message.to_owned(),
                    })
                };
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(key.trim())
                    .map_err(|_| invalid("it is not valid base64"))?;
                let text =
                    String::from_utf8(decoded).map_err(|_| invalid("it is not UTF-8 text"))?;
                let (user, pass) = text
                    .split_once(':')
                    .ok_or_else(|| invalid("it does not decode to `username:password`"))?;
                vec![
                    ("grant_type", "password".to_owned()),
                    ("username", user.to_owned()),
                    ("password", pass.to_owned()),
                ]
            }
        })
    }

    async fn request_token(&self) -> Result<(SecretString, Duration), Error> {
        let form = self.form()?;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = self
                .http
                .post(self.auth_url.clone())
                .header(reqwest::header::ACCEPT, "application/json")
                .form(&form)
                .send()
                .await;
            let response = match result {
                Ok(r) => r,
                Err(e) if attempt < 3 => {
                    tracing::debug!(attempt, error = %e, "token request failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                    continue;
                }
                Err(e) => {
                    return Err(AuthError::Unreachable {
                        source: Box::new(strip_url(e)),
                    }
                    .into());
                }
            };
            let status = response.status().as_u16();
            if (300..400).contains(&status) {
                // Never followed (the client has no redirect policy): a 307/308 would re-POST
                // the koppelsleutel to whatever host the Location names.
                return Err(AuthError::Redirected {
                    status,
                    location_host: crate::client::location_host(&self.auth_url, response.headers()),
                }
                .into());
            }
            let body =
                match crate::client::read_capped(response, crate::client::MAX_TOKEN_RESPONSE_BYTES)
                    .await
                {
                    Ok(Some(body)) => body,
                    Ok(None) => {
                        return Err(AuthError::TooLarge {
                            limit: crate::client::MAX_TOKEN_RESPONSE_BYTES,
                        }
                        .into());
                    }
                    Err(_) => bytes::Bytes::new(),
                };
            if (500..600).contains(&status) && attempt < 3 {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                continue;
            }
            if !(200..300).contains(&status) {
                let parsed: TokenErrorBody = serde_json::from_slice(&body).unwrap_or_default();
                return Err(AuthError::Refused {
                    status,
                    error: parsed.error,
                    description: parsed.error_description,
                }
                .into());
            }
            let parsed: TokenResponse =
                serde_json::from_slice(&body).map_err(|e| AuthError::InvalidResponse {
                    message: e.to_string(),
                })?;
            if parsed.access_token.is_empty() {
                return Err(AuthError::InvalidResponse {
                    message: "empty access_token".into(),
                }
                .into());
            }
            let lifetime = parsed
                .expires_in
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_LIFETIME);
            tracing::debug!(
                lifetime_s = lifetime.as_secs(),
                "obtained a SnelStart token"
            );
            return Ok((SecretString::from(parsed.access_token), lifetime));
        }
    }
}

/// reqwest errors carry the URL; the token URL holds no secret, but the form body never
/// appears in them either. Kept as a function so the rule is stated once.
fn strip_url(e: reqwest::Error) -> reqwest::Error {
    e.without_url()
}
