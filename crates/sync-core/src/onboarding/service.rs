//! The onboarding service: what a verified coupling webhook does to the administrations
//! registry.
//!
//! [`OnboardingService::handle`] takes a [`CouplingEvent`] (already verified and parsed, see
//! the [module docs](super)) and:
//!
//! * **Create**: chooses the mapping configuration by the event's `ReferenceKey` through the
//!   host's [`MappingLookup`] (an unknown reference is refused before any call to SnelStart),
//!   asks SnelStart which administration the new koppelsleutel opens (`GET /companyInfo`,
//!   `administratieIdentifier`, through an [`IdentifyAdministration`]), seals the key with the
//!   [`Sealer`] and registers the administration; then tells the host
//!   ([`CouplingHooks::registered`]) so its workers start.
//! * **Regenerate**: identifies the administration the same way and replaces its sealed key
//!   (compare-and-swap); the host is told ([`CouplingHooks::key_replaced`]) so clients holding
//!   the old key are rebuilt with the new one ([`OnboardingService::client_for`]). SnelStart
//!   itself advises to let a customer regenerate the key when a Create was not delivered
//!   (there is no retry), so a Regenerate for an administration this installation does not
//!   know registers it like a Create.
//! * **Delete**: the key is already revoked at SnelStart, so the administration is found by
//!   the key itself: each stored key is opened and compared in constant time (the coupling's
//!   `ReferenceKey` first, then all). The administration is paused in the registry (other
//!   processes stop taking its work), the host stops its local work
//!   ([`CouplingHooks::stop`], awaited), and the row with its sealed key is deleted.
//!
//! Repeated deliveries are harmless: a Create or Regenerate with the key already stored
//! changes nothing ([`CouplingOutcome::Unchanged`]), a Delete of a key no administration holds
//! is [`CouplingOutcome::NotRegistered`]. Errors never carry the koppelsleutel.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use snelstart_client::Client;
use snelstart_client::budget::BudgetConfig;
use snelstart_client::retry::RetryPolicy;

use super::{CouplingAction, CouplingEvent};
use crate::keys::{KeyError, KeyProvider, Sealer};
use crate::registry::{AdministrationRecord, AdministrationRegistry};
use crate::store::{AdminKey, StoreError};

/// How often a compare-and-swap that lost a race is tried again before giving up.
const CAS_ROUNDS: usize = 5;
/// How many records one page of the Delete scan reads.
const SCAN_PAGE: usize = 200;

/// Finds out which administration a koppelsleutel opens. [`ClientTemplate`] does it with
/// `GET /companyInfo`; tests may use anything.
pub trait IdentifyAdministration: Send + Sync {
    /// The administration's id (`administratieIdentifier`).
    fn identify(
        &self,
        koppelsleutel: &SecretString,
    ) -> impl Future<Output = Result<AdminKey, IdentifyError>> + Send;
}

/// Why the administration of a key could not be identified. Never carries the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifyError {
    /// SnelStart refused the key (token endpoint or API answered 4xx): the key is not valid
    /// (any more).
    #[error("SnelStart refused the koppelsleutel: {detail}")]
    Refused {
        /// What SnelStart answered.
        detail: String,
    },
    /// SnelStart could not be asked (network, 5xx, 429): the same delivery may succeed later.
    #[error("SnelStart could not be asked which administration the key opens: {detail}")]
    Unavailable {
        /// What went wrong.
        detail: String,
    },
    /// `companyInfo` carried no `administratieIdentifier`.
    #[error("companyInfo carried no administratieIdentifier")]
    NoIdentifier,
}

/// The settings every administration's [`Client`] shares: API and token URLs, the partner's
/// subscription key, the rate budget per administration and the retry policy. Makes a client
/// for a koppelsleutel ([`ClientTemplate::client`]) and identifies administrations with
/// `GET /companyInfo`. `Debug` hides the subscription key.
#[derive(Clone)]
pub struct ClientTemplate {
    base_url: String,
    auth_url: String,
    subscription_key: SecretString,
    budget: BudgetConfig,
    retry: RetryPolicy,
    timeout: Duration,
}

impl fmt::Debug for ClientTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTemplate")
            .field("base_url", &self.base_url)
            .field("auth_url", &self.auth_url)
            .field("subscription_key", &"[redacted]")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl ClientTemplate {
    /// Production URLs, the test-key budget and the client's default retries.
    pub fn new(subscription_key: SecretString) -> Self {
        Self {
            base_url: snelstart_client::DEFAULT_BASE_URL.to_owned(),
            auth_url: snelstart_client::DEFAULT_AUTH_URL.to_owned(),
            subscription_key,
            budget: BudgetConfig::test_key(),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(60),
        }
    }

    /// Other URLs (a simulator's `base_url()` and `auth_url()`).
    pub fn urls(mut self, base_url: impl Into<String>, auth_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self.auth_url = auth_url.into();
        self
    }

    /// The rate budget of each administration's client.
    pub fn budget(mut self, budget: BudgetConfig) -> Self {
        self.budget = budget;
        self
    }

    /// The retry policy of each client.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The timeout of one HTTP exchange (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A client for the administration `koppelsleutel` opens.
    pub fn client(&self, koppelsleutel: &SecretString) -> Result<Client, snelstart_client::Error> {
        Client::builder()
            .base_url(self.base_url.clone())
            .auth_url(self.auth_url.clone())
            .subscription_key(self.subscription_key.expose_secret())
            .koppelsleutel(koppelsleutel.expose_secret())
            .rate_budget(self.budget.clone())
            .retry_policy(self.retry.clone())
            .timeout(self.timeout)
            .build()
    }
}

impl IdentifyAdministration for ClientTemplate {
    async fn identify(&self, koppelsleutel: &SecretString) -> Result<AdminKey, IdentifyError> {
        let client = self
            .client(koppelsleutel)
            .map_err(|e| IdentifyError::Refused {
                detail: e.to_string(),
            })?;
        let info = client
            .execute(snelstart_client::ops::company_info::get())
            .await
            .map_err(|e| {
                let refused = matches!(
                    e,
                    snelstart_client::Error::Auth(_) | snelstart_client::Error::Api(_)
                ) && !e.is_retryable();
                let detail = e.to_string();
                if refused {
                    IdentifyError::Refused { detail }
                } else {
                    IdentifyError::Unavailable { detail }
                }
            })?;
        info.administratie_identifier
            .map(|id| AdminKey::new(id.to_string()))
            .ok_or(IdentifyError::NoIdentifier)
    }
}

/// The host's choice of mapping configuration for a coupling's `ReferenceKey` (the context
/// the host put in the activate URL, e.g. its customer number). `None` refuses the coupling.
/// Implemented for closures `Fn(&str) -> Option<String>`.
pub trait MappingLookup: Send + Sync {
    /// The name of the mapping configuration for `reference_key`, or `None`.
    fn mapping_config(&self, reference_key: &str) -> Option<String>;
}

impl<F> MappingLookup for F
where
    F: Fn(&str) -> Option<String> + Send + Sync,
{
    fn mapping_config(&self, reference_key: &str) -> Option<String> {
        self(reference_key)
    }
}

/// What the host's workers do when the registry changes. Every method has a default that
/// does nothing; [`NoHooks`] is the host without workers of its own.
pub trait CouplingHooks: Send + Sync {
    /// A new administration was registered: start serving it.
    fn registered(&self, record: &AdministrationRecord) -> impl Future<Output = ()> + Send {
        let _ = record;
        async {}
    }

    /// Its koppelsleutel was replaced: drop clients and tokens made with the old key and
    /// carry on with [`OnboardingService::client_for`].
    fn key_replaced(&self, admin: &AdminKey) -> impl Future<Output = ()> + Send {
        let _ = admin;
        async {}
    }

    /// The coupling is being deleted: stop the administration's work and return when it has
    /// stopped. Its key is destroyed after this returns.
    fn stop(&self, admin: &AdminKey) -> impl Future<Output = ()> + Send {
        let _ = admin;
        async {}
    }
}

/// Hooks that do nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl CouplingHooks for NoHooks {}

/// What a coupling event did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CouplingOutcome {
    /// A new administration was registered with this mapping configuration.
    Registered {
        /// The administration.
        admin: AdminKey,
        /// The mapping configuration chosen by the reference key.
        mapping_config: String,
    },
    /// The administration's koppelsleutel was replaced.
    KeyReplaced {
        /// The administration.
        admin: AdminKey,
    },
    /// The administration already had this key (a repeated delivery).
    Unchanged {
        /// The administration.
        admin: AdminKey,
    },
    /// The administration's work was stopped and its key destroyed.
    Removed {
        /// The administration.
        admin: AdminKey,
    },
    /// A Delete for a key no registered administration holds (already deleted, or never
    /// coupled here).
    NotRegistered,
}

impl CouplingOutcome {
    /// A short name: `registered`, `key_replaced`, `unchanged`, `removed`, `not_registered`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Registered { .. } => "registered",
            Self::KeyReplaced { .. } => "key_replaced",
            Self::Unchanged { .. } => "unchanged",
            Self::Removed { .. } => "removed",
            Self::NotRegistered => "not_registered",
        }
    }

    /// The administration concerned, when there is one.
    pub fn admin(&self) -> Option<&AdminKey> {
        match self {
            Self::Registered { admin, .. }
            | Self::KeyReplaced { admin }
            | Self::Unchanged { admin }
            | Self::Removed { admin } => Some(admin),
            Self::NotRegistered => None,
        }
    }
}

/// Why a coupling event was not carried out. Never carries the koppelsleutel.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnboardingError {
    /// The host has no mapping configuration for this reference key: the coupling is refused
    /// and nothing is registered.
    #[error(
        "no mapping configuration for reference key {reference_key:?}: coupling refused, nothing registered"
    )]
    UnknownReference {
        /// The reference key (the host's own context, not a secret).
        reference_key: String,
    },
    /// SnelStart could not tell which administration the key opens.
    #[error(transparent)]
    Identify(#[from] IdentifyError),
    /// The registry failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored key could not be opened.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A client could not be built for a stored key.
    #[error("administration {admin}: no client for its key: {detail}")]
    Client {
        /// The administration.
        admin: AdminKey,
        /// What was wrong.
        detail: String,
    },
    /// The key kept changing under this request (another delivery won every race).
    #[error("administration {admin}: the stored key kept changing; deliver again")]
    Contended {
        /// The administration.
        admin: AdminKey,
    },
}

impl OnboardingError {
    /// True when delivering the same event again later may succeed (SnelStart unreachable,
    /// the store failed, a lost race); false when it never will as it is.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Identify(IdentifyError::Unavailable { .. }) | Self::Contended { .. } => true,
            Self::Store(e) => e.is_backend(),
            _ => false,
        }
    }
}

/// Carries out coupling events against an administrations registry. See the
/// [module docs](self). `Debug` shows no key.
pub struct OnboardingService<R, P, I, L, H = NoHooks> {
    registry: R,
    sealer: Sealer<P>,
    identify: I,
    lookup: L,
    hooks: H,
    template: Option<ClientTemplate>,
}

impl<R, P, I, L, H> fmt::Debug for OnboardingService<R, P, I, L, H>
where
    R: fmt::Debug,
    P: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnboardingService")
            .field("registry", &self.registry)
            .field("sealer", &self.sealer)
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

impl<R, P, L> OnboardingService<R, P, ClientTemplate, L, NoHooks>
where
    R: AdministrationRegistry + Send + Sync,
    P: KeyProvider,
    L: MappingLookup,
{
    /// The usual service: identifies administrations over SnelStart with `template`, which
    /// also makes the clients [`OnboardingService::client_for`] returns.
    pub fn new(registry: R, sealer: Sealer<P>, template: ClientTemplate, lookup: L) -> Self {
        Self {
            registry,
            sealer,
            identify: template.clone(),
            lookup,
            hooks: NoHooks,
            template: Some(template),
        }
    }
}

impl<R, P, I, L, H> OnboardingService<R, P, I, L, H>
where
    R: AdministrationRegistry + Send + Sync,
    P: KeyProvider,
    I: IdentifyAdministration,
    L: MappingLookup,
    H: CouplingHooks,
{
    /// A service with its own way of identifying administrations (no client template:
    /// [`OnboardingService::client_for`] then refuses).
    pub fn with_identifier(registry: R, sealer: Sealer<P>, identify: I, lookup: L) -> Self
    where
        H: Default,
    {
        Self {
            registry,
            sealer,
            identify,
            lookup,
            hooks: H::default(),
            template: None,
        }
    }

    /// The same service telling `hooks` about every change.
    pub fn hooks<H2: CouplingHooks>(self, hooks: H2) -> OnboardingService<R, P, I, L, H2> {
        OnboardingService {
            registry: self.registry,
            sealer: self.sealer,
            identify: self.identify,
            lookup: self.lookup,
            hooks,
            template: self.template,
        }
    }

    /// The registry.
    pub fn registry(&self) -> &R {
        &self.registry
    }

    /// The koppelsleutel of a registered administration, opened.
    pub async fn koppelsleutel(&self, admin: &AdminKey) -> Result<SecretString, OnboardingError> {
        let record = self.registry.administration(admin).await?.ok_or_else(|| {
            StoreError::not_found(format!("administration {admin:?} is not registered"))
        })?;
        Ok(self.sealer.open(admin, &record.sealed_key)?)
    }

    /// A client for a registered administration with its current key (after a Regenerate,
    /// the new one).
    pub async fn client_for(&self, admin: &AdminKey) -> Result<Client, OnboardingError> {
        let template = self
            .template
            .as_ref()
            .ok_or_else(|| OnboardingError::Client {
                admin: admin.clone(),
                detail: "the service has no client template".to_owned(),
            })?;
        let key = self.koppelsleutel(admin).await?;
        template.client(&key).map_err(|e| OnboardingError::Client {
            admin: admin.clone(),
            detail: e.to_string(),
        })
    }

    /// Carries out one coupling event; see the [module docs](self).
    pub async fn handle(&self, event: &CouplingEvent) -> Result<CouplingOutcome, OnboardingError> {
        let outcome = match event.action {
            CouplingAction::Create => self.create(event).await,
            CouplingAction::Regenerate => self.regenerate(event).await,
            CouplingAction::Delete => self.delete(event).await,
        };
        match &outcome {
            Ok(o) => tracing::info!(
                action = ?event.action,
                reference_key = %event.reference_key,
                outcome = o.name(),
                admin = o.admin().map(AdminKey::as_str),
                "coupling event carried out"
            ),
            Err(e) => tracing::warn!(
                action = ?event.action,
                reference_key = %event.reference_key,
                error = %e,
                "coupling event refused"
            ),
        }
        outcome
    }

    fn config_for(&self, reference_key: &str) -> Result<String, OnboardingError> {
        self.lookup
            .mapping_config(reference_key)
            .ok_or_else(|| OnboardingError::UnknownReference {
                reference_key: reference_key.chars().take(100).collect(),
            })
    }

    async fn create(&self, event: &CouplingEvent) -> Result<CouplingOutcome, OnboardingError> {
        // Refused before SnelStart is asked anything.
        let config = self.config_for(&event.reference_key)?;
        let admin = self.identify.identify(&event.koppelsleutel).await?;
        self.register_or_replace(admin, event, Some(config)).await
    }

    async fn regenerate(&self, event: &CouplingEvent) -> Result<CouplingOutcome, OnboardingError> {
        let admin = self.identify.identify(&event.koppelsleutel).await?;
        self.register_or_replace(admin, event, None).await
    }

    /// Registers `admin` with the event's key, or, when it is registered, makes the event's
    /// key its key. `config` is looked up only when it is needed and not given.
    async fn register_or_replace(
        &self,
        admin: AdminKey,
        event: &CouplingEvent,
        mut config: Option<String>,
    ) -> Result<CouplingOutcome, OnboardingError> {
        for _ in 0..CAS_ROUNDS {
            let now = Utc::now();
            match self.registry.administration(&admin).await? {
                None => {
                    let mapping_config = match config.take() {
                        Some(c) => c,
                        None => self.config_for(&event.reference_key)?,
                    };
                    let sealed = self.sealer.seal(&admin, &event.koppelsleutel);
                    let record = AdministrationRecord::new(
                        admin.clone(),
                        sealed,
                        event.reference_key.clone(),
                        mapping_config.clone(),
                        now,
                    );
                    match self.registry.register(record.clone()).await {
                        Ok(()) => {
                            self.hooks.registered(&record).await;
                            return Ok(CouplingOutcome::Registered {
                                admin,
                                mapping_config,
                            });
                        }
                        // Another delivery registered it meanwhile: look again.
                        Err(e) if e.is_conflict() => config = Some(mapping_config),
                        Err(e) => return Err(e.into()),
                    }
                }
                Some(record) => {
                    // A stored key that no longer opens (its master key retired too early) is
                    // replaced by the key SnelStart just proved valid.
                    let same = self
                        .sealer
                        .open(&admin, &record.sealed_key)
                        .ok()
                        .is_some_and(|stored| {
                            constant_time_eq(
                                stored.expose_secret().as_bytes(),
                                event.koppelsleutel.expose_secret().as_bytes(),
                            )
                        });
                    if same {
                        return Ok(CouplingOutcome::Unchanged { admin });
                    }
                    let sealed = self.sealer.seal(&admin, &event.koppelsleutel);
                    match self
                        .registry
                        .replace_key(&admin, &record.sealed_key, sealed, now)
                        .await
                    {
                        Ok(()) => {
                            self.hooks.key_replaced(&admin).await;
                            return Ok(CouplingOutcome::KeyReplaced { admin });
                        }
                        Err(e) if e.is_conflict() || e.is_not_found() => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Err(OnboardingError::Contended { admin })
    }

    async fn delete(&self, event: &CouplingEvent) -> Result<CouplingOutcome, OnboardingError> {
        let Some(record) = self.find_by_key(event).await? else {
            return Ok(CouplingOutcome::NotRegistered);
        };
        let admin = record.admin;
        // Other processes stop taking its work; this one stops its own.
        match self.registry.set_paused(&admin, true, Utc::now()).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Ok(CouplingOutcome::NotRegistered),
            Err(e) => return Err(e.into()),
        }
        self.hooks.stop(&admin).await;
        if self.registry.remove_administration(&admin).await? {
            Ok(CouplingOutcome::Removed { admin })
        } else {
            Ok(CouplingOutcome::NotRegistered)
        }
    }

    /// The administration whose stored key is the event's key: those coupled with the same
    /// reference key first, then every one.
    async fn find_by_key(
        &self,
        event: &CouplingEvent,
    ) -> Result<Option<AdministrationRecord>, OnboardingError> {
        let holds = |record: &AdministrationRecord| match self
            .sealer
            .open(&record.admin, &record.sealed_key)
        {
            Ok(stored) => constant_time_eq(
                stored.expose_secret().as_bytes(),
                event.koppelsleutel.expose_secret().as_bytes(),
            ),
            Err(e) => {
                tracing::warn!(admin = %record.admin, error = %e, "a stored key does not open; skipped while looking for a deleted coupling");
                false
            }
        };
        let by_reference = self
            .registry
            .administrations_by_reference(&event.reference_key)
            .await?;
        if let Some(found) = by_reference.into_iter().find(|r| holds(r)) {
            return Ok(Some(found));
        }
        let mut after: Option<AdminKey> = None;
        loop {
            let page = self
                .registry
                .list_administrations(after.as_ref(), SCAN_PAGE)
                .await?;
            let Some(last) = page.last().map(|r| r.admin.clone()) else {
                return Ok(None);
            };
            if let Some(found) = page.into_iter().find(|r| holds(r)) {
                return Ok(Some(found));
            }
            after = Some(last);
        }
    }
}

/// The object-safe face of an [`OnboardingService`], for a web server that holds it as
/// `Arc<dyn CouplingHandler>` (the `snelsync-http` router does).
pub trait CouplingHandler: Send + Sync {
    /// Carries out one verified event.
    fn handle_event<'a>(
        &'a self,
        event: &'a CouplingEvent,
    ) -> Pin<Box<dyn Future<Output = Result<CouplingOutcome, OnboardingError>> + Send + 'a>>;
}

impl<R, P, I, L, H> CouplingHandler for OnboardingService<R, P, I, L, H>
where
    R: AdministrationRegistry + Send + Sync,
    P: KeyProvider,
    I: IdentifyAdministration,
    L: MappingLookup,
    H: CouplingHooks,
{
    fn handle_event<'a>(
        &'a self,
        event: &'a CouplingEvent,
    ) -> Pin<Box<dyn Future<Output = Result<CouplingOutcome, OnboardingError>> + Send + 'a>> {
        Box::pin(self.handle(event))
    }
}

/// Equality that takes the same time wherever the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyId, KeyRing, MasterKey};
    use crate::registry::MemoryRegistry;
    use snelstart_mock::{AdministrationConfig, MockConfig, MockServer};
    use std::sync::Mutex;

    fn sealer() -> Sealer<KeyRing> {
        Sealer::new(KeyRing::new(MasterKey::generate(KeyId::new("k1").unwrap()), []).unwrap())
    }

    fn lookup(reference: &str) -> Option<String> {
        reference
            .starts_with("klant-")
            .then(|| "standaard".to_owned())
    }

    fn event(action: &str, key: &str, reference: &str) -> CouplingEvent {
        CouplingEvent::parse(
            format!(
                r#"{{"KoppelSleutel":"{key}","ActionType":"{action}","ReferenceKey":"{reference}"}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    async fn server() -> MockServer {
        let mut second = AdministrationConfig::default();
        second.client_key = "tweede-koppelsleutel".to_owned();
        second.name = "Tweede".to_owned();
        let mut config = MockConfig::new();
        config.administrations.push(second);
        MockServer::start(config).await.unwrap()
    }

    fn template(server: &MockServer) -> ClientTemplate {
        ClientTemplate::new(SecretString::from(server.subscription_key().to_owned()))
            .urls(server.base_url(), server.auth_url())
            .budget(BudgetConfig::unlimited())
            .retry_policy(RetryPolicy::default().with_max_attempts(1))
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl CouplingHooks for &Recorder {
        async fn registered(&self, record: &AdministrationRecord) {
            self.0
                .lock()
                .unwrap()
                .push(format!("registered {}", record.admin));
        }
        async fn key_replaced(&self, admin: &AdminKey) {
            self.0.lock().unwrap().push(format!("replaced {admin}"));
        }
        async fn stop(&self, admin: &AdminKey) {
            self.0.lock().unwrap().push(format!("stop {admin}"));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn create_identifies_seals_and_is_idempotent_delete_destroys() {
        let server = server().await;
        let registry = MemoryRegistry::new();
        let recorder = Recorder::default();
        let service = OnboardingService::new(registry.clone(), sealer(), template(&server), lookup)
            .hooks(&recorder);
        let key = "tweede-koppelsleutel";
        let outcome = service
            .handle(&event("Create", key, "klant-7"))
            .await
            .unwrap();
        let CouplingOutcome::Registered {
            admin,
            mapping_config,
        } = outcome.clone()
        else {
            panic!("{outcome:?}");
        };
        assert_eq!(mapping_config, "standaard");
        // The id is the second administration's, as companyInfo tells it.
        let state = server.state_json();
        assert_eq!(
            admin.as_str(),
            state[1]["administratieIdentifier"].as_str().unwrap()
        );
        let record = registry.administration(&admin).await.unwrap().unwrap();
        assert_eq!(record.reference_key, "klant-7");
        assert!(!record.sealed_key.encode().contains(key));
        assert_eq!(
            service.koppelsleutel(&admin).await.unwrap().expose_secret(),
            key
        );
        // The client made for it works.
        let client = service.client_for(&admin).await.unwrap();
        client
            .execute(snelstart_client::ops::company_info::get())
            .await
            .unwrap();

        // The same delivery again changes nothing.
        assert_eq!(
            service
                .handle(&event("Create", key, "klant-7"))
                .await
                .unwrap(),
            CouplingOutcome::Unchanged {
                admin: admin.clone()
            }
        );
        // Delete finds it by its key, stops it, and destroys the key; twice is harmless.
        assert_eq!(
            service
                .handle(&event("Delete", key, "klant-7"))
                .await
                .unwrap(),
            CouplingOutcome::Removed {
                admin: admin.clone()
            }
        );
        assert!(registry.administration(&admin).await.unwrap().is_none());
        assert_eq!(
            service
                .handle(&event("Delete", key, "klant-7"))
                .await
                .unwrap(),
            CouplingOutcome::NotRegistered
        );
        assert_eq!(
            *recorder.0.lock().unwrap(),
            vec![format!("registered {admin}"), format!("stop {admin}")]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refusals_name_the_cause_never_the_key() {
        let server = server().await;
        let registry = MemoryRegistry::new();
        let service = OnboardingService::new(registry.clone(), sealer(), template(&server), lookup);
        // Unknown reference: refused before SnelStart is asked.
        let err = service
            .handle(&event("Create", "tweede-koppelsleutel", "onbekend-1"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, OnboardingError::UnknownReference { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("onbekend-1"));
        assert!(!err.is_transient());
        assert_eq!(server.stats().total(), 0, "no call to SnelStart");
        // A key SnelStart does not know.
        let bogus = "Ym9ndXM6c2xldXRlbA==";
        let err = service
            .handle(&event("Create", bogus, "klant-1"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                OnboardingError::Identify(IdentifyError::Refused { .. })
            ),
            "{err}"
        );
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(bogus), "{text}");
        }
        // SnelStart down: transient.
        server.set_available(false);
        let err = service
            .handle(&event("Create", "tweede-koppelsleutel", "klant-1"))
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert!(!err.to_string().contains("tweede-koppelsleutel"));
        assert!(
            registry
                .list_administrations(None, 10)
                .await
                .unwrap()
                .is_empty(),
            "nothing registered"
        );
    }
}
