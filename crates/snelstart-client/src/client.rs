//! The client: one execute path for every request.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;

use crate::auth::{Grant, TokenSource};
use crate::budget::{BudgetConfig, BudgetUsage, RateBudget};
use crate::decoding::{decode, decode_page};
use crate::error::{
    ApiError, Error, ItemDecodeProblem, NotSentError, RedirectError, TooLargeError, TransportError,
    TransportStage,
};
use crate::odata::MAX_TOP;
use crate::request::{ListRequest, Method, Request};
use crate::retry::{Decision, Outcome, RetryPolicy, jitter};

/// The production API base URL.
pub const DEFAULT_BASE_URL: &str = "https://b2bapi.snelstart.nl/v2";
/// The production token endpoint.
pub const DEFAULT_AUTH_URL: &str = "https://auth.snelstart.nl/b2b/token";

const SUBSCRIPTION_HEADER: &str = "Ocp-Apim-Subscription-Key";

/// The default cap on an API response body: 16 MiB.
///
/// SnelStart's largest legitimate answers are (a) `GET /documenten/{id}` with a file of at
/// most 10 MB (`BLG-0006`/`BLG-0013`), i.e. 10,485,760 bytes as base64 = 13,981,014 bytes plus
/// a small JSON envelope, and (b) a 500-item list page of the widest model (`RelatieModel`
/// with every field filled is about 3-4 KB; 500 x 32 KiB = 16 MiB leaves a margin of 8). Raise
/// it with [`ClientBuilder::max_response_bytes`] if an administration needs more.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// The cap on a token endpoint body: 64 KiB (an OAuth token answer is a few hundred bytes to a
/// few KB even when the token is a JWT).
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// Builds a [`Client`]. Obtain one with [`Client::builder`].
pub struct ClientBuilder {
    base_url: String,
    auth_url: String,
    subscription_key: Option<SecretString>,
    koppelsleutel: Option<SecretString>,
    grant: Grant,
    refresh_margin: Duration,
    retry: RetryPolicy,
    budget: Option<Arc<RateBudget>>,
    budget_config: BudgetConfig,
    timeout: Duration,
    connect_timeout: Duration,
    page_size: u32,
    max_pages: u32,
    user_agent: String,
    allow_insecure_http: bool,
    max_response_bytes: usize,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("auth_url", &self.auth_url)
            .field(
                "subscription_key",
                &self.subscription_key.as_ref().map(|_| "[REDACTED]"),
            )
            .field(
                "koppelsleutel",
                &self.koppelsleutel.as_ref().map(|_| "[REDACTED]"),
            )
            .field("grant", &self.grant)
            .field("refresh_margin", &self.refresh_margin)
            .field("retry", &self.retry)
            .field("budget_config", &self.budget_config)
            .field("timeout", &self.timeout)
            .field("page_size", &self.page_size)
            .field("max_pages", &self.max_pages)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: DEFAULT_BASE_URL.to_owned(),
            auth_url: DEFAULT_AUTH_URL.to_owned(),
            subscription_key: None,
            koppelsleutel: None,
            grant: Grant::ClientKey,
            refresh_margin: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            budget: None,
            budget_config: BudgetConfig::test_key(),
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            page_size: MAX_TOP,
            max_pages: 10_000,
            user_agent: concat!("snelstart-sync/", env!("CARGO_PKG_VERSION")).to_owned(),
            allow_insecure_http: false,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl ClientBuilder {
    /// The API base URL (default `https://b2bapi.snelstart.nl/v2`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The token endpoint itself (default `https://auth.snelstart.nl/b2b/token`).
    pub fn auth_url(mut self, url: impl Into<String>) -> Self {
        self.auth_url = url.into();
        self
    }

    /// The partner's subscription key (sent only in the `Ocp-Apim-Subscription-Key` header).
    pub fn subscription_key(mut self, key: impl Into<String>) -> Self {
        self.subscription_key = Some(SecretString::from(key.into()));
        self
    }

    /// The koppelsleutel of the administration.
    pub fn koppelsleutel(mut self, key: impl Into<String>) -> Self {
        self.koppelsleutel = Some(SecretString::from(key.into()));
        self
    }

    /// The grant used at the token endpoint (default [`Grant::ClientKey`]).
    pub fn grant(mut self, grant: Grant) -> Self {
        self.grant = grant;
        self
    }

    /// How long before expiry a token is refreshed (default 60 s).
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The rate limits of the administration (default [`BudgetConfig::test_key`], safe for every
    /// key). Use [`BudgetConfig::production`] with a maatwerk or productie key.
    pub fn rate_budget(mut self, config: BudgetConfig) -> Self {
        self.budget_config = config;
        self.budget = None;
        self
    }

    /// Shares a budget with other clients of the same administration.
    pub fn shared_budget(mut self, budget: Arc<RateBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The timeout of one HTTP exchange (default 60 s); `Duration::ZERO` disables it (and the
    /// connection pool's idle timer), which tests with a paused tokio clock need.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The page size [`Client::list`] asks for (default and maximum 500).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, MAX_TOP);
        self
    }

    /// The most pages [`Client::list`] reads before giving up (default 10,000).
    pub fn max_pages(mut self, pages: u32) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// Allows plain `http://` base and token URLs on hosts that are not loopback (default
    /// `false`). Without it, `http` is accepted only for `127.0.0.0/8`, `::1` and `localhost`
    /// (a local simulator); anywhere else the koppelsleutel and subscription key would cross
    /// the network in clear text.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The largest API response body read (default [`DEFAULT_MAX_RESPONSE_BYTES`], 16 MiB);
    /// a larger answer is [`Error::TooLarge`]. The token endpoint has its own fixed cap,
    /// [`MAX_TOKEN_RESPONSE_BYTES`].
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes.max(1);
        self
    }

    /// Builds the client.
    ///
    /// The HTTP client never follows redirects (a 3xx is [`Error::Redirect`] or
    /// [`AuthError::Redirected`](crate::error::AuthError::Redirected)), so the keys only ever
    /// go to the two configured hosts.
    ///
    /// # Errors
    ///
    /// [`NotSentError::Configuration`] when a key is missing or empty, a URL is invalid, or a
    /// URL is plain `http` off loopback without [`ClientBuilder::allow_insecure_http`].
    pub fn build(self) -> Result<Client, Error> {
        let config_error = |message: String| Error::from(NotSentError::Configuration { message });
        let subscription_key = self
            .subscription_key
            .filter(|k| !k.expose_secret().trim().is_empty())
            .ok_or_else(|| config_error("the subscription key is missing".into()))?;
        let koppelsleutel = self
            .koppelsleutel
            .filter(|k| !k.expose_secret().trim().is_empty())
            .ok_or_else(|| config_error("the koppelsleutel is missing".into()))?;
        let mut base = url::Url::parse(&self.base_url)
            .map_err(|e| config_error(format!("base URL `{}`: {e}", self.base_url)))?;
        // Paths are joined relative to the base, which therefore must end in a slash.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let auth_url = url::Url::parse(&self.auth_url)
            .map_err(|e| config_error(format!("auth URL `{}`: {e}", self.auth_url)))?;
        check_endpoint("base URL", &base, self.allow_insecure_http).map_err(config_error)?;
        check_endpoint("auth URL", &auth_url, self.allow_insecure_http).map_err(config_error)?;
        let mut http = reqwest::Client::builder()
            .user_agent(self.user_agent)
            // Never follow a redirect: reqwest would carry the subscription key along to any
            // host, and re-POST the koppelsleutel on a 307/308 from the token endpoint.
            .redirect(reqwest::redirect::Policy::none());
        if self.timeout.is_zero() {
            http = http.pool_idle_timeout(None);
        } else {
            http = http
                .timeout(self.timeout)
                .connect_timeout(self.connect_timeout);
        }
        let http = http
            .build()
            .map_err(|e| config_error(format!("HTTP client: {e}")))?;
        let tokens = TokenSource::new(
            http.clone(),
            auth_url,
            koppelsleutel,
            self.grant,
            self.refresh_margin,
        );
        let budget = self
            .budget
            .unwrap_or_else(|| RateBudget::new(self.budget_config));
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                subscription_key,
                tokens,
                retry: self.retry,
                budget,
                page_size: self.page_size,
                max_pages: self.max_pages,
                max_response_bytes: self.max_response_bytes,
                problems: ProblemSink::default(),
                drift: crate::drift::DriftLog::default(),
            }),
        })
    }
}

struct Inner {
    http: reqwest::Client,
    base: url::Url,
    subscription_key: SecretString,
    tokens: TokenSource,
    retry: RetryPolicy,
    budget: Arc<RateBudget>,
    page_size: u32,
    max_pages: u32,
    max_response_bytes: usize,
    problems: ProblemSink,
    drift: crate::drift::DriftLog,
}

/// The most item decode problems a client keeps; later ones are counted, not kept.
pub const MAX_KEPT_DECODE_PROBLEMS: usize = 1_000;

/// Where list items that did not decode are recorded, for the caller (the engine) to read.
#[derive(Default)]
struct ProblemSink {
    kept: std::sync::Mutex<(Vec<ItemDecodeProblem>, u64)>,
    /// Every problem ever recorded (never reset), so a reader can tell whether its own list
    /// read skipped an item.
    total: std::sync::atomic::AtomicU64,
}

impl ProblemSink {
    fn record(&self, problem: ItemDecodeProblem) {
        self.total.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tracing::warn!(
            route = problem.route,
            index = problem.index,
            path = %problem.path,
            message = %problem.message,
            "a list item did not decode and was skipped"
        );
        metrics::counter!("snelstart_client_item_decode_problems_total", "route" => problem.route)
            .increment(1);
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.0.len() < MAX_KEPT_DECODE_PROBLEMS {
            kept.0.push(problem);
        } else {
            kept.1 += 1;
        }
    }
}

/// A SnelStart client for one administration. Cheap to clone; clones share the token cache
/// and the rate budget.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("subscription_key", &"[REDACTED]")
            .field("tokens", &self.inner.tokens)
            .field("retry", &self.inner.retry)
            .field("budget", &self.inner.budget)
            .finish()
    }
}

/// A response as read off the wire.
struct RawResponse {
    status: u16,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    /// The host a 3xx answer's `Location` names.
    location_host: Option<String>,
    body: bytes::Bytes,
}

/// Why one exchange produced no usable response.
enum SendError {
    Transport(TransportError),
    TooLarge(TooLargeError),
}

impl Client {
    /// Starts building a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The API base URL, with a trailing slash.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str()
    }

    /// The rate budget this client draws from.
    pub fn budget(&self) -> &Arc<RateBudget> {
        &self.inner.budget
    }

    /// How much of the rate budget is in use.
    pub fn budget_usage(&self) -> BudgetUsage {
        self.inner.budget.usage()
    }

    /// The list items that did not decode since the last [`Client::take_decode_problems`]
    /// (at most [`MAX_KEPT_DECODE_PROBLEMS`]), oldest first. Shared by clones of this client.
    pub fn decode_problems(&self) -> Vec<ItemDecodeProblem> {
        let kept = self.inner.problems.kept.lock();
        kept.unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .clone()
    }

    /// How many list items did not decode since the client was built (never reset, shared by
    /// clones). Read it before and after a list read: a difference means the read skipped
    /// items (or a concurrent read of this client did), so the list is not the whole truth.
    pub fn decode_problem_total(&self) -> u64 {
        self.inner
            .problems
            .total
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Takes the recorded item decode problems, and how many more were dropped past
    /// [`MAX_KEPT_DECODE_PROBLEMS`], leaving the record empty. An engine calls this after a
    /// read and reports them (a skipped item is a record it did not see: do not conclude from
    /// a list with problems that a record is absent).
    pub fn take_decode_problems(&self) -> (Vec<ItemDecodeProblem>, u64) {
        let mut kept = self
            .inner
            .problems
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (std::mem::take(&mut kept.0), std::mem::take(&mut kept.1))
    }

    /// Executes one request: token, subscription key, rate budget, retries, error decoding,
    /// tracing and metrics all happen here.
    ///
    /// A record is decoded strictly (a value that does not fit is an [`Error::Decode`] naming
    /// its JSON path); a plain list built with [`Request::item_by_item`] (every list of
    /// [`ops`](crate::ops)) is decoded item by item like an OData page, its bad items recorded
    /// as [`ItemDecodeProblem`]s.
    ///
    /// # Errors
    ///
    /// Any [`Error`]; use its predicates ([`Error::outcome_uncertain`] above all for creates)
    /// to decide what to do.
    pub async fn execute<T: DeserializeOwned>(&self, request: Request<T>) -> Result<T, Error> {
        let span = tracing::info_span!(
            "snelstart.request",
            method = %request.method(),
            route = request.route(),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        let (method, route) = (request.method(), request.route());
        let item_decoder = request.item_decoder();
        let (status, body) = self.execute_inner(request).instrument(span).await?;
        if let Some(decode_items) = item_decoder {
            // A plain list (`GET /kostenplaatsen`, ...): like an OData page, a bad item is
            // skipped and recorded, never the whole list.
            let (items, problems, _count) = self.noting_drift(method, route, || {
                decode_items(method, route, status, &body, 0)
            })?;
            for p in problems {
                self.inner.problems.record(p);
            }
            return Ok(items);
        }
        self.noting_drift(method, route, || decode(method, route, status, &body))
    }

    /// Runs `decode` and records the API drift it met for this route (see [`crate::drift`]).
    fn noting_drift<R>(
        &self,
        method: Method,
        route: &'static str,
        decode: impl FnOnce() -> R,
    ) -> R {
        let (result, drift) = crate::drift::collecting(decode);
        self.inner.drift.record(method.as_str(), route, drift);
        result
    }

    /// What SnelStart sent that this client's models do not know (properties and enum
    /// values; never property values), per route, since the client was built. Shared by
    /// clones. `snelsync check` and the status page show it, so a change on SnelStart's side
    /// is noticed before it matters.
    pub fn api_drift(&self) -> Vec<crate::drift::ApiDrift> {
        self.inner.drift.snapshot()
    }

    /// How many drift entries were not kept because [`crate::drift::MAX_DRIFT_ENTRIES`]
    /// distinct ones were already.
    pub fn api_drift_dropped(&self) -> u64 {
        self.inner.drift.dropped()
    }

    /// Executes one list page and decodes it item by item: the good items, and how many items
    /// the page had. Items that do not decode go to the problem sink.
    async fn execute_page<T: DeserializeOwned>(
        &self,
        request: Request<Vec<T>>,
        first_index: u32,
    ) -> Result<(Vec<T>, usize), Error> {
        let span = tracing::info_span!(
            "snelstart.request",
            method = %request.method(),
            route = request.route(),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        let (method, route) = (request.method(), request.route());
        let (status, body) = self.execute_inner(request).instrument(span).await?;
        let (items, problems, count) = self.noting_drift(method, route, || {
            decode_page(method, route, status, &body, first_index)
        })?;
        for p in problems {
            self.inner.problems.record(p);
        }
        Ok((items, count))
    }

    async fn execute_inner<T>(&self, request: Request<T>) -> Result<(u16, bytes::Bytes), Error> {
        let inner = &*self.inner;
        let method = request.method();
        let route = request.route();
        let url = self.url_for(&request)?;
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut refreshed_after_401 = false;
        loop {
            attempt += 1;
            tracing::Span::current().record("attempts", attempt);
            let token = inner.tokens.token().await?;
            let sent_at = Instant::now();
            let result = {
                let _permit = inner.budget.acquire().await;
                self.send_once(&request, &url, &token.secret).await
            };
            let elapsed_call = sent_at.elapsed().as_secs_f64();
            let (outcome, error) = match result {
                Ok(raw) if (200..300).contains(&raw.status) => {
                    record_call(method, route, raw.status, elapsed_call);
                    tracing::Span::current().record("status", raw.status);
                    return Ok((raw.status, raw.body));
                }
                Ok(raw) if (300..400).contains(&raw.status) => {
                    record_call(method, route, raw.status, elapsed_call);
                    tracing::Span::current().record("status", raw.status);
                    return Err(RedirectError {
                        method,
                        route,
                        status: raw.status,
                        location_host: raw.location_host,
                    }
                    .into());
                }
                Err(SendError::TooLarge(e)) => {
                    record_call(method, route, e.status, elapsed_call);
                    tracing::Span::current().record("status", e.status);
                    return Err(e.into());
                }
                Ok(raw) if raw.status == 401 && !refreshed_after_401 => {
                    // The token may have been revoked or expired early: fetch a fresh one and
                    // try once more. This retry does not count as an attempt.
                    record_call(method, route, raw.status, elapsed_call);
                    refreshed_after_401 = true;
                    inner.tokens.invalidate(token.generation).await;
                    attempt -= 1;
                    tracing::debug!("401: refreshing the token and retrying once");
                    continue;
                }
                Ok(raw) => {
                    record_call(method, route, raw.status, elapsed_call);
                    tracing::Span::current().record("status", raw.status);
                    if raw.status == 429 {
                        metrics::counter!("snelstart_client_rate_limited_total", "route" => route)
                            .increment(1);
                    }
                    let outcome = Outcome::Status {
                        status: raw.status,
                        retry_after: raw.retry_after,
                    };
                    let error = ApiError::from_response(
                        method,
                        route,
                        raw.status,
                        raw.request_id,
                        raw.retry_after,
                        &raw.body,
                    );
                    (outcome, Error::from(error))
                }
                Err(SendError::Transport(error)) => {
                    record_call(method, route, 0, elapsed_call);
                    (Outcome::Transport(error.stage), Error::from(error))
                }
            };
            match inner
                .retry
                .classify(method, outcome, attempt, started.elapsed())
            {
                Decision::Stop => {
                    tracing::debug!(attempt, error = %error, "giving up");
                    return Err(error);
                }
                Decision::RetryAfter(delay) => {
                    let delay = match outcome {
                        // The server said how long; waiting less only earns another 429.
                        Outcome::Status {
                            retry_after: Some(_),
                            ..
                        } => delay,
                        _ => jitter(delay, rand::random::<f64>()),
                    };
                    metrics::counter!("snelstart_client_retries_total", "route" => route)
                        .increment(1);
                    tracing::debug!(attempt, ?delay, error = %error, "retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    fn url_for<T>(&self, request: &Request<T>) -> Result<url::Url, Error> {
        let mut url = join_path(&self.inner.base, request.path()).map_err(|message| {
            Error::from(NotSentError::InvalidRequest {
                route: request.route(),
                message,
            })
        })?;
        if !request.query().is_empty() {
            url.query_pairs_mut().extend_pairs(request.query());
        }
        Ok(url)
    }

    async fn send_once<T>(
        &self,
        request: &Request<T>,
        url: &url::Url,
        token: &SecretString,
    ) -> Result<RawResponse, SendError> {
        let inner = &*self.inner;
        let method = request.method();
        let mut builder = inner
            .http
            .request(to_reqwest(method), url.clone())
            .header(SUBSCRIPTION_HEADER, inner.subscription_key.expose_secret())
            .bearer_auth(token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = request.body() {
            builder = builder.json(body);
        }
        let transport =
            |stage: TransportStage, may_have_reached_server: bool, e: reqwest::Error| {
                TransportError {
                    method,
                    route: request.route(),
                    stage,
                    may_have_reached_server,
                    // The URL holds no secret, but drop it anyway: errors end up in logs and
                    // status reports, and the query may hold customer names.
                    source: Box::new(e.without_url()),
                }
            };
        let response = builder.send().await.map_err(|e| {
            SendError::Transport(if e.is_connect() {
                transport(TransportStage::Connect, false, e)
            } else if e.is_timeout() {
                transport(TransportStage::Timeout, true, e)
            } else {
                transport(TransportStage::AfterSend, true, e)
            })
        })?;
        let status = response.status().as_u16();
        let headers = response.headers();
        let request_id = ["x-request-id", "request-id", "x-ms-request-id"]
            .iter()
            .find_map(|h| headers.get(*h))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::retry::parse_retry_after);
        let location_host = location_host(url, headers);
        let body = match read_capped(response, inner.max_response_bytes).await {
            Ok(Some(body)) => body,
            Ok(None) => {
                return Err(SendError::TooLarge(TooLargeError {
                    method,
                    route: request.route(),
                    status,
                    limit: inner.max_response_bytes,
                }));
            }
            Err(e) => {
                let stage = if e.is_timeout() {
                    TransportStage::Timeout
                } else {
                    TransportStage::AfterSend
                };
                return Err(SendError::Transport(transport(stage, true, e)));
            }
        };
        Ok(RawResponse {
            status,
            request_id,
            retry_after,
            location_host,
            body,
        })
    }

    /// Walks an OData list page by page (`$skip`/`$top`, 500 per page by default) and yields
    /// its items.
    ///
    /// Each item is decoded on its own: an item that does not fit the model (a value-type
    /// field `null`, an id that is not a GUID, ...) is skipped and recorded as an
    /// [`ItemDecodeProblem`] (operation, index, JSON path), readable with
    /// [`Client::decode_problems`] / [`Client::take_decode_problems`]; the good items of the
    /// page are yielded. A page that is not a JSON array at all is still an
    /// [`Error::Decode`]. A single-record GET ([`Client::execute`]) decodes strictly. Stops on a short or empty page; stops with
    /// [`NotSentError::PageCapReached`] after the page cap. Pages are fetched lazily, one at a
    /// time, so memory stays at one page.
    ///
    /// Offset paging over data that changes while it is read can skip or repeat rows; for
    /// change feeds use [`ChangeFeed`](crate::paging::ChangeFeed), which orders by `ModifiedOn`
    /// and re-reads with an overlap.
    pub fn list<T>(
        &self,
        request: ListRequest<T>,
    ) -> impl Stream<Item = Result<T, Error>> + Send + 'static
    where
        T: DeserializeOwned + Send + 'static,
    {
        let page_size = request
            .query()
            .top_value()
            .unwrap_or(self.inner.page_size)
            .min(request.query().max_top());
        let start = request.query().skip_value().unwrap_or(0);
        let state = ListState {
            client: self.clone(),
            request,
            page_size,
            next_skip: start,
            pages: 0,
            buffer: VecDeque::new(),
            done: false,
        };
        futures::stream::unfold(state, |mut s| async move {
            loop {
                if let Some(item) = s.buffer.pop_front() {
                    return Some((Ok(item), s));
                }
                if s.done {
                    return None;
                }
                if s.pages >= s.client.inner.max_pages {
                    s.done = true;
                    let err = NotSentError::PageCapReached {
                        route: s.request.route(),
                        pages: s.pages,
                    };
                    return Some((Err(err.into()), s));
                }
                let page = s.request.page(s.next_skip, s.page_size);
                match s.client.execute_page(page, s.next_skip).await {
                    Ok((items, count)) => {
                        // Paging counts every item on the page, decoded or not.
                        let count = u32::try_from(count).unwrap_or(u32::MAX);
                        s.pages += 1;
                        if count < s.page_size {
                            s.done = true;
                        }
                        s.next_skip = s.next_skip.saturating_add(count);
                        s.buffer.extend(items);
                    }
                    Err(e) => {
                        s.done = true;
                        return Some((Err(e), s));
                    }
                }
            }
        })
    }

    /// Reads a whole list into memory. Prefer [`Client::list`] for large collections.
    ///
    /// # Errors
    ///
    /// The first error of any page.
    pub async fn list_all<T>(&self, request: ListRequest<T>) -> Result<Vec<T>, Error>
    where
        T: DeserializeOwned + Send + 'static,
    {
        use futures::TryStreamExt;
        self.list(request).try_collect().await
    }
}

struct ListState<T> {
    client: Client,
    request: ListRequest<T>,
    page_size: u32,
    next_skip: u32,
    pages: u32,
    buffer: VecDeque<T>,
    done: bool,
}

/// Reads a body up to `limit` bytes; `Ok(None)` when it is larger (reading stops there).
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Option<bytes::Bytes>, reqwest::Error> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Ok(None);
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

/// The host (and port, when the URL names one) of a redirect's `Location`, resolved against
/// the request URL. Never the path or query.
pub(crate) fn location_host(
    url: &url::Url,
    headers: &reqwest::header::HeaderMap,
) -> Option<String> {
    let location = headers.get(reqwest::header::LOCATION)?.to_str().ok()?;
    let target = url.join(location).ok()?;
    let host = target.host_str()?;
    Some(match target.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// Whether a URL's host is loopback: `127.0.0.0/8`, `::1` or `localhost`.
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.');
            d.eq_ignore_ascii_case("localhost")
        }
        None => false,
    }
}

/// The rule for the base and token URLs: `https`, or `http` on loopback or with the explicit
/// opt-in. No other scheme, no credentials in the URL.
fn check_endpoint(what: &str, url: &url::Url, allow_insecure_http: bool) -> Result<(), String> {
    if url.host().is_none() {
        return Err(format!("{what} `{url}` has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{what} must not carry credentials"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) || allow_insecure_http => Ok(()),
        "http" => Err(format!(
            "{what} `{}://{}` is plain http off loopback: the keys would travel in clear text \
             (use https, or ClientBuilder::allow_insecure_http(true) if you really mean it)",
            url.scheme(),
            url.host_str().unwrap_or_default()
        )),
        other => Err(format!(
            "{what}: scheme `{other}` is not supported (https only)"
        )),
    }
}

/// Joins a request path onto the base so that it can never leave it: no scheme, no host, no
/// backslash, no dot segment (also percent-encoded), no fragment; the result must keep the
/// base's scheme, host and port and stay under its path.
pub(crate) fn join_path(base: &url::Url, path: &str) -> Result<url::Url, String> {
    let refuse = |why: &str| Err(format!("path `{path}` refused: {why}"));
    if path.starts_with("//") {
        return refuse("a path starting with `//` names a host");
    }
    if path.contains('\\') {
        return refuse("backslashes are not allowed");
    }
    if path.contains('#') {
        return refuse("fragments are not allowed");
    }
    if path.chars().any(char::is_control) {
        return refuse("control characters are not allowed");
    }
    let relative = path.trim_start_matches('/');
    let (path_part, _query) = relative.split_once('?').unwrap_or((relative, ""));
    if path_part
        .split('/')
        .next()
        .is_some_and(|first| first.contains(':'))
    {
        return refuse("an absolute URL or a scheme is not allowed");
    }
    for segment in path_part.split('/') {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        if decoded == "." || decoded == ".." {
            return refuse("dot segments are not allowed");
        }
    }
    let url = base
        .join(relative)
        .map_err(|e| format!("path `{path}`: {e}"))?;
    let same_origin = url.scheme() == base.scheme()
        && url.host() == base.host()
        && url.port_or_known_default() == base.port_or_known_default()
        && url.username() == base.username()
        && url.path().starts_with(base.path());
    if !same_origin {
        return refuse("it leaves the API base URL");
    }
    Ok(url)
}

fn to_reqwest(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Delete => reqwest::Method::DELETE,
    }
}

fn record_call(method: Method, route: &'static str, status: u16, seconds: f64) {
    metrics::counter!(
        "snelstart_client_requests_total",
        "method" => method.as_str(),
        "route" => route,
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "snelstart_client_request_duration_seconds",
        "method" => method.as_str(),
        "route" => route
    )
    .record(seconds);
}
