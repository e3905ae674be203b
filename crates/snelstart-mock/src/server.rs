//! The HTTP server: router, authentication, limits, faults, statistics and the handle.

use crate::clock::Clock;
use crate::config::{CouplingConfig, MockConfig};
use crate::coupling::{CouplingClick, CouplingDelivery};
use crate::error::{ApiError, MockError};
use crate::faults::{FaultKind, Script, ScriptedFault};
use crate::handlers::Written;
use crate::limits::AdminLimiter;
use crate::state::World;
use crate::stats::Stats;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Which administration a request addresses (set by the auth layer).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdminCtx(pub(crate) usize);

/// Marks a response whose connection is dropped instead of answered.
#[derive(Debug, Clone, Copy)]
struct Dropped;

#[derive(Debug)]
struct Token {
    admin: usize,
    expires: Instant,
    /// Issued for the key of the coupling flow (revoked on Regenerate and Delete).
    coupled: bool,
    /// The fingerprint of the key it was issued for (recorded as the writer of its writes).
    key: Arc<str>,
}

/// Who makes an admitted API call: the administration and the fingerprint of the key its
/// token was issued for.
#[derive(Debug, Clone)]
struct Caller {
    admin: usize,
    key: Arc<str>,
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: MockConfig,
    pub(crate) clock: Clock,
    world: Mutex<World>,
    tokens: Mutex<HashMap<String, Token>>,
    stats: Mutex<crate::stats::Counters>,
    limiters: Vec<AdminLimiter>,
    script: Mutex<Script>,
    fault_rng: Mutex<StdRng>,
    available: AtomicBool,
    coupling: Mutex<Option<CouplingConfig>>,
    webhook: std::sync::OnceLock<reqwest::Client>,
    fingerprints: crate::writers::Fingerprints,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in one handler must not take the whole simulator down with poisoned locks.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// The simulator's state for `config`, without a socket: checks the configuration, seeds
    /// every administration and loads the state file when one is configured.
    pub(crate) fn new(config: MockConfig) -> Result<Arc<Shared>, MockError> {
        validate_config(&config)?;
        let clock = Clock::new(config.start_time);
        let mut world = World::new(&config, &clock);
        if let Some(path) = &config.state_file
            && let Some(stamp) = crate::persist::load(&mut world, path)?
        {
            clock.continue_after(stamp);
        }
        let coupling = config.coupling.clone();
        Ok(Arc::new(Shared {
            limiters: config
                .administrations
                .iter()
                .map(|_| AdminLimiter::default())
                .collect(),
            fault_rng: Mutex::new(StdRng::seed_from_u64(config.faults.seed)),
            config,
            clock,
            world: Mutex::new(world),
            tokens: Mutex::new(HashMap::new()),
            stats: Mutex::new(crate::stats::Counters::default()),
            script: Mutex::new(Script::default()),
            available: AtomicBool::new(true),
            coupling: Mutex::new(coupling),
            webhook: std::sync::OnceLock::new(),
            fingerprints: crate::writers::Fingerprints::new(),
        }))
    }

    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    pub(crate) fn coupling_config(&self) -> Option<CouplingConfig> {
        lock(&self.coupling).clone()
    }

    pub(crate) fn webhook_client(&self) -> &reqwest::Client {
        self.webhook
            .get_or_init(crate::coupling::new_webhook_client)
    }

    /// Tokens issued for administration `admin`'s coupling key stop working.
    pub(crate) fn revoke_coupling_tokens(&self, admin: usize) {
        lock(&self.tokens).retain(|_, t| !(t.admin == admin && t.coupled));
    }

    fn count(&self, route: &str, method: &str, status: u16) {
        lock(&self.stats).count(route, method, status);
    }
}

/// A running simulator. Dropping the handle (or [`MockServer::shutdown`]) stops it.
///
/// ```no_run
/// # async fn demo() -> Result<(), snelstart_mock::MockError> {
/// use snelstart_mock::{MockConfig, MockServer};
/// let server = MockServer::start(MockConfig::new().with_seed_relations(10)).await?;
/// println!("API at {} (token at {})", server.base_url(), server.auth_url());
/// server.shutdown().await;
/// # Ok(()) }
/// ```
pub struct MockServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MockServer {
    // Hand-written: the shared state holds koppelsleutels and tokens, which never go to logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .field("administrations", &self.shared.config.administrations.len())
            .finish()
    }
}

impl MockServer {
    /// Start a simulator on `config.addr` (default `127.0.0.1:0`, a free port).
    ///
    /// # Errors
    /// [`MockError::Config`] for an inconsistent configuration (no administration, a duplicate
    /// koppelsleutel, a fault rate outside 0..=1) and [`MockError::Bind`] when the address cannot
    /// be bound.
    pub async fn start(config: MockConfig) -> Result<MockServer, MockError> {
        let addr = config
            .addr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let shared = Shared::new(config)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| MockError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| MockError::Bind {
            addr: addr.to_string(),
            source,
        })?;
        let app = router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "snelstart-mock server stopped with an error");
            }
        });
        tracing::debug!(addr = %local, "snelstart-mock started");
        Ok(MockServer {
            shared,
            addr: local,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL, `http://127.0.0.1:PORT/v2`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    /// The token URL, `http://127.0.0.1:PORT/b2b/token`.
    pub fn auth_url(&self) -> String {
        format!("http://{}/b2b/token", self.addr)
    }

    /// The root URL, `http://127.0.0.1:PORT` (the inspection routes live under `/_mock`).
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The subscription key the server requires.
    pub fn subscription_key(&self) -> &str {
        &self.shared.config.subscription_key
    }

    /// The koppelsleutel of the default (first) administration.
    pub fn client_key(&self) -> &str {
        self.shared
            .config
            .administrations
            .first()
            .map(|a| a.client_key.as_str())
            .unwrap_or("")
    }

    /// A snapshot of the request counters.
    pub fn stats(&self) -> Stats {
        Stats::from_map(&lock(&self.shared.stats))
    }

    /// All data of all administrations as JSON (keyed by koppelsleutel index order).
    pub fn state_json(&self) -> Value {
        state_json(&self.shared)
    }

    /// Which key wrote each record of every administration (created or changed through the
    /// API since the start or the last reset), with the fingerprints of the keys that open
    /// each administration now. The same as `GET /_mock/writers`.
    pub fn writers(&self) -> Vec<crate::writers::AdministrationWriters> {
        writers(&self.shared)
    }

    /// The fingerprint this server records for writes made with `koppelsleutel` (salted per
    /// server start, never the key itself), to compare with [`MockServer::writers`].
    pub fn key_fingerprint(&self, koppelsleutel: &str) -> String {
        self.shared.fingerprints.of(koppelsleutel)
    }

    /// Restore the seed data of every administration and clear statistics, scripted faults and
    /// rate-limit windows. Issued tokens stay valid.
    pub fn reset(&self) {
        reset(&self.shared);
    }

    /// Queue faults; each fires once on its `nth` matching request.
    pub fn script_faults(&self, faults: impl IntoIterator<Item = ScriptedFault>) {
        lock(&self.shared.script)
            .pending
            .extend(faults.into_iter().map(|f| (f, 0)));
    }

    /// Simulate SnelStart being down (`false`: every call, token calls included, gets a 503)
    /// or back up (`true`).
    pub fn set_available(&self, up: bool) {
        self.shared.available.store(up, Ordering::SeqCst);
    }

    /// Make every issued token expired (the next call with it gets a 401).
    pub fn expire_tokens(&self) {
        let past = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .unwrap_or_else(Instant::now);
        for t in lock(&self.shared.tokens).values_mut() {
            t.expires = past;
        }
    }

    /// Pay an invoice the way a bank statement does: a bankboeking on the first bank journal,
    /// dated `date`, that receives `amount` for a sales invoice (or pays it out for a purchase
    /// invoice) and allocates it to the booking in `verkoopboekingBoekingsRegels` /
    /// `inkoopboekingBoekingsRegels`: `openstaandSaldo` drops and `modifiedOn` moves. A negative
    /// amount is a refund. The target is looked up among sales bookings first, then purchase
    /// bookings. `admin` is a koppelsleutel (`None` = the default administration).
    ///
    /// Returns the id of the bankboeking created (delete or change it through the API to
    /// reverse the payment).
    ///
    /// # Errors
    /// [`MockError::UnknownAdministration`] for an unknown koppelsleutel and
    /// [`MockError::PaymentRejected`] when the invoice does not exist or the booking is invalid.
    pub fn register_payment(
        &self,
        admin: Option<&str>,
        invoice: impl Into<PaymentTarget>,
        amount: rust_decimal::Decimal,
        date: chrono::NaiveDate,
    ) -> Result<uuid::Uuid, MockError> {
        crate::handlers::bank::register_payment(&self.shared, admin, invoice.into(), amount, date)
    }

    /// Plays the customer's click in SnelStart Web: activate the coupling (Create), regenerate
    /// its key or delete it, then POST the signed webhook to the configured URL (see
    /// [`crate::CouplingConfig`]). The same as `POST /_mock/couplings`.
    ///
    /// # Errors
    /// [`MockError::Coupling`] when no webhook is configured, the administration does not
    /// exist, the click does not fit (Create of a coupled administration, Regenerate or Delete
    /// of an uncoupled one) or Create has no reference key. A webhook that does not answer 2xx
    /// is not an error: [`CouplingDelivery::delivered`] says so.
    pub async fn couple(&self, click: CouplingClick) -> Result<CouplingDelivery, MockError> {
        crate::coupling::click(&self.shared, click)
            .await
            .map_err(crate::coupling::click_error)
    }

    /// Deliver the coupling webhook to another URL (loopback only) from now on.
    ///
    /// # Errors
    /// [`MockError::Config`] when the URL is not http(s) on a loopback host.
    pub fn set_coupling_webhook(&self, config: CouplingConfig) -> Result<(), MockError> {
        crate::coupling::check_webhook_url(&config.webhook_url)?;
        *lock(&self.shared.coupling) = Some(config);
        Ok(())
    }

    /// Stop the server and wait (at most two seconds) for it to finish.
    /// Saves the simulated data to the configured [state file](MockConfig::state_file).
    ///
    /// # Errors
    ///
    /// [`MockError::State`] when no state file is configured or it cannot be written.
    pub fn save_state(&self) -> Result<(), MockError> {
        let path = self
            .shared
            .config
            .state_file
            .clone()
            .ok_or_else(|| MockError::State("no state file is configured".into()))?;
        self.save_state_to(&path)
    }

    /// Saves the simulated data to `path` (loadable with [`MockConfig::with_state_file`]).
    ///
    /// # Errors
    ///
    /// [`MockError::State`] when the file cannot be written.
    pub fn save_state_to(&self, path: &std::path::Path) -> Result<(), MockError> {
        let last = self.shared.clock.last_stamp();
        crate::persist::save(&self.shared.world(), last, path)
    }

    /// Stops the server; saves the state first when a state file is configured (a failure to
    /// save is logged).
    pub async fn shutdown(mut self) {
        if self.shared.config.state_file.is_some()
            && let Err(e) = self.save_state()
        {
            tracing::warn!(error = %e, "could not save the simulator state");
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The invoice a payment is for: the verkoopboeking id or the factuurnummer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaymentTarget {
    /// The id of the verkoopboeking (not of the verkoopfactuur).
    Boeking(uuid::Uuid),
    /// The invoice number.
    Factuurnummer(String),
}

impl From<uuid::Uuid> for PaymentTarget {
    fn from(id: uuid::Uuid) -> Self {
        PaymentTarget::Boeking(id)
    }
}

impl From<&str> for PaymentTarget {
    fn from(n: &str) -> Self {
        PaymentTarget::Factuurnummer(n.to_owned())
    }
}

impl From<String> for PaymentTarget {
    fn from(n: String) -> Self {
        PaymentTarget::Factuurnummer(n)
    }
}

fn validate_config(c: &MockConfig) -> Result<(), MockError> {
    if c.administrations.is_empty() {
        return Err(MockError::Config(
            "at least one administration is needed".into(),
        ));
    }
    let mut keys: Vec<&str> = c
        .administrations
        .iter()
        .map(|a| a.client_key.as_str())
        .collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(MockError::Config(
            "two administrations share a koppelsleutel".into(),
        ));
    }
    if keys.iter().any(|k| k.is_empty()) {
        return Err(MockError::Config("a koppelsleutel may not be empty".into()));
    }
    // The default keys are public constants: anyone who can reach the port could read and
    // change everything. Off loopback, real keys are required.
    let addr = c
        .addr
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let default_keys = c.subscription_key == crate::config::DEFAULT_SUBSCRIPTION_KEY
        || c.administrations
            .iter()
            .any(|a| a.client_key == crate::config::DEFAULT_CLIENT_KEY);
    if !addr.ip().is_loopback() && default_keys {
        return Err(MockError::Config(format!(
            "refusing to listen on {addr} (not loopback) with the default, public keys: set a \
             subscription key and every koppelsleutel (--subscription-key, --client-key or the \
             configuration file), or bind 127.0.0.1"
        )));
    }
    if let Some(coupling) = &c.coupling {
        crate::coupling::check_webhook_url(&coupling.webhook_url)?;
    }
    if c.subscription_key.is_empty() {
        return Err(MockError::Config(
            "the subscription key may not be empty".into(),
        ));
    }
    if !(0.0..=1.0).contains(&c.faults.rate) {
        return Err(MockError::Config(format!(
            "fault rate {} is outside 0..=1",
            c.faults.rate
        )));
    }
    Ok(())
}

pub(crate) fn state_json(sh: &Shared) -> Value {
    let w = sh.world();
    Value::Array(w.admins.iter().map(crate::state::Admin::dump).collect())
}

fn writers(sh: &Shared) -> Vec<crate::writers::AdministrationWriters> {
    let w = sh.world();
    w.admins
        .iter()
        .enumerate()
        .map(|(i, a)| crate::writers::AdministrationWriters {
            administration: i,
            administratie_identifier: a.id,
            keys: std::iter::once(&a.client_key)
                .chain(a.coupling.as_ref().map(|(key, _)| key))
                .map(|key| sh.fingerprints.of(key))
                .collect(),
            records: a.writers.records().to_vec(),
        })
        .collect()
}

pub(crate) fn reset(sh: &Shared) {
    sh.clock.reset();
    let fresh = World::new(&sh.config, &sh.clock);
    *sh.world() = fresh;
    lock(&sh.stats).clear();
    lock(&sh.script).pending.clear();
    for l in &sh.limiters {
        l.reset();
    }
}

pub(crate) fn router(sh: Arc<Shared>) -> Router {
    use crate::handlers::*;
    let api = Router::new()
        .route("/v2/echo/{input}", get(reference::echo))
        .route("/v2/echo/", get(reference::echo_empty))
        .route(
            "/v2/companyInfo",
            get(reference::company_info).put(reference::put_company_info),
        )
        .route("/v2/landen", get(reference::landen))
        .route("/v2/landen/{id}", get(reference::land))
        .route("/v2/dagboeken", get(reference::dagboeken))
        .route("/v2/btwtarieven", get(reference::btwtarieven))
        .route("/v2/relaties", get(relaties::list).post(relaties::create))
        .route(
            "/v2/relaties/{id}",
            get(relaties::get_one)
                .put(relaties::update)
                .delete(relaties::delete),
        )
        .route(
            "/v2/relaties/{id}/verkoopboekingen",
            get(relaties::verkoopboekingen),
        )
        .route(
            "/v2/relaties/{id}/inkoopboekingen",
            get(relaties::inkoopboekingen),
        )
        .route(
            "/v2/relaties/{id}/doorlopendeincassomachtigingen",
            get(relaties::machtigingen),
        )
        .route(
            "/v2/kostenplaatsen",
            get(kostenplaatsen::list).post(kostenplaatsen::create),
        )
        .route(
            "/v2/kostenplaatsen/{id}",
            get(kostenplaatsen::get_one)
                .put(kostenplaatsen::update)
                .delete(kostenplaatsen::delete),
        )
        .route(
            "/v2/grootboeken",
            get(grootboeken::list).post(grootboeken::create),
        )
        .route("/v2/grootboeken/{id}", get(grootboeken::get_one))
        .route("/v2/verkoopboekingen", post(boekingen::create_verkoop))
        .route(
            "/v2/verkoopboekingen/{id}",
            get(boekingen::get_verkoop)
                .put(boekingen::update_verkoop)
                .delete(boekingen::delete_verkoop),
        )
        .route("/v2/inkoopboekingen", post(boekingen::create_inkoop))
        .route(
            "/v2/inkoopboekingen/{id}",
            get(boekingen::get_inkoop)
                .put(boekingen::update_inkoop)
                .delete(boekingen::delete_inkoop),
        )
        .route("/v2/verkoopfacturen", get(boekingen::list_verkoopfacturen))
        .route(
            "/v2/verkoopfacturen/{id}",
            get(boekingen::get_verkoopfactuur),
        )
        .route("/v2/inkoopfacturen", get(boekingen::list_inkoopfacturen))
        .route("/v2/memoriaalboekingen", post(memoriaal::create))
        .route(
            "/v2/memoriaalboekingen/{id}",
            get(memoriaal::get_one)
                .put(memoriaal::update)
                .delete(memoriaal::delete),
        )
        .route(
            "/v2/bankboekingen",
            get(bank::list_bank).post(bank::create_bank),
        )
        .route(
            "/v2/bankboekingen/{id}",
            get(bank::get_bank)
                .put(bank::update_bank)
                .delete(bank::delete_bank),
        )
        .route(
            "/v2/kasboekingen",
            get(bank::list_kas).post(bank::create_kas),
        )
        .route(
            "/v2/kasboekingen/{id}",
            get(bank::get_kas)
                .put(bank::update_kas)
                .delete(bank::delete_kas),
        )
        .route("/v2/grootboekmutaties", get(memoriaal::list_mutaties))
        .route("/v2/grootboekmutaties/{id}", get(memoriaal::get_mutatie))
        .route(
            "/v2/documenten/{x}",
            post(documenten::upload)
                .get(documenten::get_one)
                .put(documenten::update)
                .delete(documenten::delete),
        )
        .route(
            "/v2/documenten/{documenttype}/{parent}",
            get(documenten::list_for_parent),
        )
        .route("/b2b/token", post(token))
        .route_layer(middleware::from_fn_with_state(sh.clone(), api_layer));
    let inspect = Router::new()
        .route("/_mock/stats", get(inspect_stats))
        .route("/_mock/state", get(inspect_state))
        .route("/_mock/writers", get(inspect_writers))
        .route("/_mock/reset", post(inspect_reset))
        .route("/_mock/faults", post(inspect_faults))
        .route("/_mock/payments", post(inspect_payment))
        .route("/_mock/availability", post(inspect_availability))
        .route("/_mock/couplings", post(crate::coupling::inspect_couplings))
        .route_layer(middleware::from_fn_with_state(sh.clone(), inspect_layer));
    // axum refuses bodies above 2 MB by default. SnelStart takes a document of up to 10 MB as
    // base64 inside JSON and answers BLG-0006 for a larger file, not a gateway 413, so the limit
    // leaves room for twice the largest accepted file (base64 grows by 4/3) plus the JSON around
    // it: files just over the limit reach the handler and get SnelStart's own answer.
    let body_limit = sh
        .config
        .validation
        .max_attachment_bytes
        .saturating_mul(8)
        .div_ceil(3)
        .saturating_add(1 << 20);
    api.merge(inspect)
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .with_state(sh)
}

fn apim(status: StatusCode, message: String) -> Response {
    (
        status,
        Json(json!({"statusCode": status.as_u16(), "message": message})),
    )
        .into_response()
}

fn denied() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"Message": "Authorization has been denied for this request."})),
    )
        .into_response()
}

fn rate_limited(secs: u64) -> Response {
    let mut r = apim(
        StatusCode::TOO_MANY_REQUESTS,
        format!("Rate limit is exceeded. Try again in {secs} seconds."),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// A response whose body fails at once: hyper aborts the connection, so the client sees a
/// connection or body error instead of an answer.
fn dropped() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated connection loss",
        ))
    });
    let mut r = Response::new(Body::from_stream(stream));
    r.extensions_mut().insert(Dropped);
    r
}

fn fault_response(kind: &FaultKind) -> Response {
    match kind {
        FaultKind::Status(s) => {
            let status = StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, Json(json!({"Message": "An error has occurred."}))).into_response()
        }
        FaultKind::RateLimited { retry_after_secs } => rate_limited(*retry_after_secs),
        FaultKind::ConnectionReset | FaultKind::ProcessedButResponseLost => dropped(),
        // Handled in `api_layer` (they need the handler's answer).
        FaultKind::MalformedListItem { .. } | FaultKind::NewProperty { .. } => {
            (StatusCode::INTERNAL_SERVER_ERROR, "unhandled fault").into_response()
        }
    }
}

/// The handler's answer with item `index` of its JSON array made undecodable (`uri` a number).
/// Anything that is not a JSON array of objects passes unchanged.
async fn malform_list_item(response: Response, index: usize) -> Response {
    rewrite_json(response, |value| {
        if let Some(item) = value.get_mut(index).and_then(Value::as_object_mut) {
            item.insert("uri".into(), json!(12345));
        }
    })
    .await
}

/// The handler's answer with property `name` added to its object, or to each object of its
/// array.
async fn add_property(mut response: Response, name: String) -> Response {
    if name == "id" {
        // The answer's `id` is no longer the record's: nothing to note as written, as when
        // the writer log read the id from the answer.
        response.extensions_mut().remove::<Written>();
    }
    rewrite_json(response, |value| {
        let objects: Vec<&mut serde_json::Map<String, Value>> = match value {
            Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).collect(),
            Value::Object(o) => vec![o],
            _ => Vec::new(),
        };
        for o in objects {
            o.insert(name.clone(), json!("added by SnelStart"));
        }
    })
    .await
}

/// The handler's JSON answer changed by `change`; a body that is not JSON passes unchanged.
async fn rewrite_json(response: Response, change: impl FnOnce(&mut Value)) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return dropped();
    };
    let mut value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    change(&mut value);
    let body = serde_json::to_vec(&value).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// Gateway behaviour for every API and token route, in APIM order: availability, subscription
/// key, bearer token, rate limits, faults; then latency and the handler; then statistics.
async fn api_layer(
    State(sh): State<Arc<Shared>>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    // Borrowed for the whole call: the matched route template is shared, the method is
    // `Copy`-cheap; only a request no route matched copies its path.
    let method = req.method().clone();
    let method = method.as_str();
    let unmatched;
    let route = match &matched {
        Some(m) => m.as_str(),
        None => {
            unmatched = req.uri().path().to_owned();
            unmatched.as_str()
        }
    };
    let resp = gateway(&sh, method, route, &mut req).await;
    let resp = match resp {
        Err(r) => r,
        Ok((permit, fault, caller)) => {
            let write = matches!(method, "POST" | "PUT").then_some(caller).flatten();
            // Latency is part of the call: it holds its concurrency slot meanwhile.
            if sh.config.latency_ms > 0 {
                tokio::time::sleep(Duration::from_millis(sh.config.latency_ms)).await;
            }
            let r = match fault {
                Some(FaultKind::ProcessedButResponseLost) => {
                    // Commit first, then lose the answer: the hardest failure for a client.
                    let answer = next.run(req).await;
                    if let Some(caller) = &write {
                        note_writer(&sh, route, method, caller, &answer);
                    }
                    dropped()
                }
                Some(FaultKind::MalformedListItem { index }) => {
                    malform_list_item(next.run(req).await, index).await
                }
                Some(FaultKind::NewProperty { name }) => {
                    add_property(next.run(req).await, name).await
                }
                Some(kind) => fault_response(&kind),
                None => next.run(req).await,
            };
            drop(permit);
            if let Some(caller) = &write {
                note_writer(&sh, route, method, caller, &r);
            }
            r
        }
    };
    let status = if resp.extensions().get::<Dropped>().is_some() {
        0
    } else {
        resp.status().as_u16()
    };
    sh.count(route, method, status);
    resp
}

/// Records the caller as the writer of the record a successful write answered with (the `id`
/// of its JSON answer, which the handler attached as [`Written`]: the answer is not read
/// again). An answer without it (a dropped connection, `PUT /companyInfo`) notes nothing.
fn note_writer(sh: &Shared, route: &str, method: &str, caller: &Caller, answer: &Response) {
    if !answer.status().is_success() {
        return;
    }
    if let Some(Written(id)) = answer.extensions().get::<Written>() {
        let resource = crate::writers::resource_of(route);
        if let Some(admin) = sh.world().admins.get_mut(caller.admin) {
            admin
                .writers
                .note(resource, *id, &caller.key, method == "POST");
        }
    }
}

type Admitted = (
    Option<crate::limits::Permit>,
    Option<FaultKind>,
    Option<Caller>,
);

async fn gateway(
    sh: &Shared,
    method: &str,
    route: &str,
    req: &mut Request,
) -> Result<Admitted, Response> {
    if !sh.available.load(Ordering::SeqCst) {
        return Err(apim(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable".into(),
        ));
    }
    if route == "/b2b/token" {
        return Ok((None, None, None));
    }
    // 1. Subscription key (header, or the `subscription-key` query parameter).
    let header_key = req
        .headers()
        .get("ocp-apim-subscription-key")
        .and_then(|v| v.to_str().ok())
        .map(std::borrow::Cow::Borrowed);
    // Only parsed when the header is absent: the header is the common case.
    let query_key = || {
        req.uri().query().and_then(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .ok()
                .and_then(|p| {
                    p.into_iter()
                        .find(|(k, _)| k == "subscription-key")
                        .map(|(_, v)| std::borrow::Cow::Owned(v))
                })
        })
    };
    match header_key.or_else(query_key) {
        None => {
            return Err(apim(
                StatusCode::UNAUTHORIZED,
                "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.".into(),
            ));
        }
        Some(k) if *k != *sh.config.subscription_key => {
            return Err(apim(
                StatusCode::UNAUTHORIZED,
                "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.".into(),
            ));
        }
        Some(_) => {}
    }
    // Echo needs no scope, hence no token.
    if route.starts_with("/v2/echo") {
        return Ok((None, None, None));
    }
    // 2. Bearer token.
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let caller = {
        let tokens = lock(&sh.tokens);
        match token.and_then(|t| tokens.get(t)) {
            Some(t) if t.expires > Instant::now() => Caller {
                admin: t.admin,
                key: t.key.clone(),
            },
            _ => return Err(denied()),
        }
    };
    let admin = caller.admin;
    req.extensions_mut().insert(AdminCtx(admin));
    // 3. Rate limits of this administration.
    let permit = match sh.limiters[admin].admit(&sh.config.rate_limits, Instant::now()) {
        Ok(p) => p,
        Err(secs) => return Err(rate_limited(secs)),
    };
    // 4. Faults: scripted first, then random.
    let mut fault = lock(&sh.script).take(method, route);
    if fault.is_none() && sh.config.faults.rate > 0.0 {
        let mut rng = lock(&sh.fault_rng);
        if rng.random_bool(sh.config.faults.rate) {
            fault = Some(match rng.random_range(0..4) {
                0 => FaultKind::Status(500),
                1 => FaultKind::Status(502),
                2 => FaultKind::Status(503),
                _ => FaultKind::ConnectionReset,
            });
        }
    }
    Ok((permit, fault, Some(caller)))
}

/// `POST /b2b/token` with the `clientkey` or `password` grant.
async fn token(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let err = |e: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response();
    let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return err("invalid_request");
    };
    let field = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let key = match field("grant_type").as_deref() {
        Some("clientkey") => match field("clientkey") {
            Some(k) => k,
            None => return err("invalid_request"),
        },
        Some("password") => match (field("username"), field("password")) {
            // The koppelsleutel is base64 of "username:password".
            (Some(u), Some(p)) => {
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            }
            _ => return err("invalid_request"),
        },
        Some(_) => return err("unsupported_grant_type"),
        None => return err("invalid_request"),
    };
    let (admin, coupled) = {
        let world = sh.world();
        let Some(admin) = world.admin_index(&key) else {
            return err("invalid_grant");
        };
        let coupled = world.admins[admin]
            .coupling
            .as_ref()
            .is_some_and(|(k, _)| *k == key);
        (admin, coupled)
    };
    let access_token = {
        let mut rng = rand::rng();
        let bytes: [u8; 32] = rng.random();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    let lifetime = Duration::from_secs(sh.config.token_lifetime_secs);
    {
        let mut tokens = lock(&sh.tokens);
        let now = Instant::now();
        tokens.retain(|_, t| t.expires > now);
        tokens.insert(
            access_token.clone(),
            Token {
                admin,
                expires: now + lifetime,
                coupled,
                key: sh.fingerprints.of(&key).into(),
            },
        );
    }
    Json(json!({"access_token": access_token, "token_type": "bearer", "expires_in": sh.config.token_lifetime_secs})).into_response()
}

/// The inspection routes (`/_mock/*`) answer only with the subscription key in the
/// `Ocp-Apim-Subscription-Key` header (not in the query: URLs end up in logs).
async fn inspect_layer(State(sh): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get("ocp-apim-subscription-key")
        .map(HeaderValue::as_bytes);
    match given {
        Some(k) if constant_time_eq(k, sh.config.subscription_key.as_bytes()) => next.run(req).await,
        Some(_) => apim(
            StatusCode::UNAUTHORIZED,
            "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.".into(),
        ),
        None => apim(
            StatusCode::UNAUTHORIZED,
            "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.".into(),
        ),
    }
}

/// Compares two secrets without an early exit on the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn inspect_stats(State(sh): State<Arc<Shared>>) -> Json<Stats> {
    Json(Stats::from_map(&lock(&sh.stats)))
}

async fn inspect_state(State(sh): State<Arc<Shared>>) -> Json<Value> {
    Json(state_json(&sh))
}

async fn inspect_writers(
    State(sh): State<Arc<Shared>>,
) -> Json<Vec<crate::writers::AdministrationWriters>> {
    Json(writers(&sh))
}

async fn inspect_reset(State(sh): State<Arc<Shared>>) -> StatusCode {
    reset(&sh);
    StatusCode::NO_CONTENT
}

async fn inspect_faults(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let faults: Vec<ScriptedFault> = match serde_json::from_slice::<Value>(&body) {
        Ok(v @ Value::Array(_)) => match serde_json::from_value(v) {
            Ok(f) => f,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"Message": e.to_string()})),
                )
                    .into_response();
            }
        },
        Ok(v) => match serde_json::from_value::<ScriptedFault>(v) {
            Ok(f) => vec![f],
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"Message": e.to_string()})),
                )
                    .into_response();
            }
        },
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"Message": e.to_string()})),
            )
                .into_response();
        }
    };
    let n = faults.len();
    lock(&sh.script)
        .pending
        .extend(faults.into_iter().map(|f| (f, 0)));
    (StatusCode::OK, Json(json!({"scripted": n}))).into_response()
}

/// `POST /_mock/payments` `{"clientKey"?, "verkoopboekingId"? | "factuurnummer"?, "bedrag", "datum"}`:
/// a bankboeking that pays the invoice (sales or purchase; answers `{"bankboekingId"}`).
async fn inspect_payment(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let bad = |m: String| (StatusCode::BAD_REQUEST, Json(json!({"Message": m}))).into_response();
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&body) else {
        return bad("body must be a JSON object".into());
    };
    let o = crate::json::Obj::new(&m, "payment");
    let admin = o.str("clientKey").ok().flatten();
    let target = match (
        o.reference("verkoopboeking").ok().flatten(),
        o.str("verkoopboekingId").ok().flatten(),
        o.str("factuurnummer").ok().flatten(),
    ) {
        (Some(id), _, _) => PaymentTarget::Boeking(id),
        (None, Some(id), _) => match uuid::Uuid::parse_str(&id) {
            Ok(id) => PaymentTarget::Boeking(id),
            Err(_) => return bad("verkoopboekingId is not a GUID".into()),
        },
        (None, None, Some(n)) => PaymentTarget::Factuurnummer(n),
        _ => return bad("give verkoopboekingId or factuurnummer".into()),
    };
    let Ok(Some(amount)) = o.decimal("bedrag") else {
        return bad("bedrag is required".into());
    };
    let date = match o.datetime("datum") {
        Ok(Some(d)) => d.date(),
        Ok(None) => sh.clock.now_local().date(),
        Err(_) => return bad("datum is not a date".into()),
    };
    match crate::handlers::bank::register_payment(&sh, admin.as_deref(), target, amount, date) {
        Ok(id) => (
            StatusCode::CREATED,
            Json(json!({"bankboekingId": id.to_string()})),
        )
            .into_response(),
        Err(MockError::PaymentRejected(items)) => ApiError::Business(items).into_response(),
        Err(e) => bad(e.to_string()),
    }
}

/// `POST /_mock/availability` `{"up": bool}`.
async fn inspect_availability(State(sh): State<Arc<Shared>>, Json(v): Json<Value>) -> StatusCode {
    let up = v.get("up").and_then(Value::as_bool).unwrap_or(true);
    sh.available.store(up, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}
