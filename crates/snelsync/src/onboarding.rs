//! `[onboarding]`: SnelStart's coupling webhook, and the fleet runner that syncs the
//! administrations coupled through it.
//!
//! The customer's activate, regenerate and delete clicks reach the router's webhook
//! (`snelsync_http::coupling`), which hands them to a `sync_core` [`OnboardingService`] over
//! the administrations registry in the same database as the rest of the store. The webhook's
//! shared secret and the master keys that seal koppelsleutels come from environment
//! variables; the file only names them.
//!
//! `serve` runs the registered administrations with `sync_core`'s [`Fleet`] (leases in the
//! registry, so several `serve` processes on one PostgreSQL database share them; its own
//! client, budget and mapping per administration), beside the configured ones its own loop
//! runs. Each is also [attached](snelsync_http::Service::attach) to the router's service
//! with an engine of its own for the intake, status and actions: a CRM posts an onboarded
//! administration's changes to `POST /crm/{crm}/admins/{administration or ReferenceKey}/changes`
//! (a `[[crm]]` with `onboarded = true`), they are in the store before the answer, and the
//! fleet is woken to send them. The [`CouplingHooks`] here keep the two in step: Create attaches
//! and wakes, Regenerate rebuilds both engines' clients with the new key, Delete stops the
//! fleet's work (returning after a running slice) and detaches before the key is destroyed.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mapping::config::MappingConfig;
use secrecy::{ExposeSecret, SecretString};
use snelsync_http::{AdminRunner, CouplingWebhook, Secret, Service};
use sync_core::fleet::{AdministrationStatus, EngineParts, Fleet, FleetOptions, FleetSetup};
use sync_core::keys::{KeyRing, Sealer};
use sync_core::onboarding::{ClientTemplate, CouplingHooks, OnboardingService};
use sync_core::registry::{AdministrationRecord, AdministrationRegistry, DynRegistry};
use sync_core::store::{AdminKey, DynStore, StoreError};
use sync_core::{MemorySource, NoSink, SyncEngine};

use crate::CliError;
use crate::config::{Loaded, OnboardingSection, env_secret};

/// The router's service as `serve` runs it.
pub type Svc = Service<DynStore, MemorySource, NoSink>;

/// The fleet runner over the registry's administrations.
pub type ServeFleet = Fleet<DynStore, DynRegistry, KeyRing, Mappings>;

/// Registry rows read per page when `serve` starts.
const LIST_PAGE: usize = 200;

/// The mapping configuration per ReferenceKey, with the default for the others (`None`:
/// refused). The name recorded for an administration is the mapping file as the
/// configuration names it.
#[derive(Debug, Clone)]
struct MappingChoice {
    by_reference: BTreeMap<String, String>,
    default: Option<String>,
}

impl MappingChoice {
    fn of(section: &OnboardingSection) -> Self {
        MappingChoice {
            by_reference: section
                .mappings
                .iter()
                .map(|(reference, path)| (reference.clone(), mapping_name(path)))
                .collect(),
            default: section.default_mapping.as_deref().map(mapping_name),
        }
    }

    fn lookup(&self, reference_key: &str) -> Option<String> {
        self.by_reference
            .get(reference_key)
            .or(self.default.as_ref())
            .cloned()
    }
}

/// The name a registered administration records for a mapping file: the path as the
/// configuration writes it.
fn mapping_name(path: &std::path::Path) -> String {
    path.display().to_string()
}

/// The mapping configurations `[onboarding]` names, read when `serve` starts, by the name a
/// registered administration records; the fleet's [`FleetSetup`].
#[derive(Debug, Clone)]
pub struct Mappings {
    by_name: Arc<BTreeMap<String, MappingConfig>>,
}

impl Mappings {
    /// Reads every mapping file the section names.
    ///
    /// # Errors
    /// A file that does not read or is not a mapping configuration.
    fn read(loaded: &Loaded, section: &OnboardingSection) -> Result<Self, CliError> {
        let mut by_name = BTreeMap::new();
        for path in section
            .default_mapping
            .iter()
            .chain(section.mappings.values())
        {
            by_name.insert(mapping_name(path), loaded.mapping_file(path)?);
        }
        Ok(Mappings {
            by_name: Arc::new(by_name),
        })
    }

    fn get(&self, name: &str) -> Result<&MappingConfig, String> {
        self.by_name.get(name).ok_or_else(|| {
            format!(
                "mapping configuration `{name}` is not named in [onboarding] (default_mapping or \
                 mappings)"
            )
        })
    }
}

impl FleetSetup for Mappings {
    type Source = MemorySource;
    type Sink = NoSink;

    /// The recorded mapping; no source (the CRM's changes come in through the router's
    /// intake and are in the store already) and no sink (as for the configured
    /// administrations).
    fn engine_parts(
        &self,
        record: &AdministrationRecord,
    ) -> Result<EngineParts<MemorySource, NoSink>, String> {
        Ok(EngineParts::new(
            self.get(&record.mapping_config)?.clone(),
            MemorySource::default(),
            NoSink,
        ))
    }
}

/// The client template `[snelstart]` describes: its URLs and budget, the subscription key
/// from the environment.
fn client_template(loaded: &Loaded) -> Result<ClientTemplate, CliError> {
    let s = &loaded.file.snelstart;
    Ok(ClientTemplate::new(SecretString::from(env_secret(
        &s.subscription_key_env,
        "the subscription key",
    )?))
    .urls(
        s.base_url
            .as_deref()
            .unwrap_or(snelstart_client::DEFAULT_BASE_URL),
        s.auth_url
            .as_deref()
            .unwrap_or(snelstart_client::DEFAULT_AUTH_URL),
    )
    .budget(loaded.budget()?))
}

/// This process's id in the lease rows: host and process id (unique per process).
fn worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| "snelsync".to_owned());
    format!("{host}-{}", std::process::id())
}

/// Builds the service's engine of a registered administration and attaches it.
struct Attacher {
    store: DynStore,
    registry: DynRegistry,
    sealer: Sealer<KeyRing>,
    template: ClientTemplate,
    mappings: Mappings,
    runner: Arc<dyn AdminRunner>,
    /// Set once the service exists (the webhook is part of its configuration, and no request
    /// reaches it before the listener is bound, after the service is set).
    service: OnceLock<Svc>,
}

impl Attacher {
    fn service(&self) -> Option<&Svc> {
        self.service.get()
    }

    /// Attaches (or re-attaches, with a new key) `record`'s administration; logs and skips
    /// one that cannot be opened (an unknown master key, a mapping no longer configured):
    /// the fleet shows the same failure in the log and `snelsync check` names it.
    fn attach(&self, record: &AdministrationRecord) {
        let Some(service) = self.service() else {
            return;
        };
        match self.engine(record) {
            Ok(engine) => {
                if service.attach(
                    engine,
                    Arc::clone(&self.runner),
                    record.reference_key.clone(),
                    record.paused,
                ) {
                    tracing::info!(admin = %record.admin, "onboarded administration attached");
                } else {
                    tracing::error!(admin = %record.admin, "an [[administration]] has this key: the onboarded one is not shown or fed here");
                }
            }
            Err(e) => {
                tracing::error!(admin = %record.admin, error = %e, "onboarded administration not served");
            }
        }
    }

    fn engine(
        &self,
        record: &AdministrationRecord,
    ) -> Result<SyncEngine<DynStore, MemorySource, NoSink>, String> {
        let key = self
            .sealer
            .open(&record.admin, &record.sealed_key)
            .map_err(|e| e.to_string())?;
        let client = self
            .template
            .client(&key)
            .map_err(|e| format!("SnelStart client: {e}"))?;
        let config = self.mappings.get(&record.mapping_config)?.clone();
        Ok(SyncEngine::builder(client, record.admin.clone())
            .store(self.store.clone())
            .source(MemorySource::default())
            .sink(NoSink)
            .config(config)
            .build())
    }

    async fn attach_admin(&self, admin: &AdminKey) {
        match self.registry.administration(admin).await {
            Ok(Some(record)) => self.attach(&record),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(admin = %admin, error = %e, "registry unreadable: administration not re-attached")
            }
        }
    }

    /// Attaches every registered administration (paused ones show as paused).
    async fn attach_all(&self) -> Result<usize, CliError> {
        let mut after: Option<AdminKey> = None;
        let mut count = 0;
        loop {
            let page = self
                .registry
                .list_administrations(after.as_ref(), LIST_PAGE)
                .await
                .map_err(|e| CliError::Failed(format!("administrations registry: {e}")))?;
            let Some(last) = page.last().map(|r| r.admin.clone()) else {
                break;
            };
            for record in &page {
                self.attach(record);
                count += 1;
            }
            if page.len() < LIST_PAGE {
                break;
            }
            after = Some(last);
        }
        Ok(count)
    }
}

/// The fleet as the service's [`AdminRunner`]: waking, pausing and its status.
struct FleetRunner(ServeFleet);

impl AdminRunner for FleetRunner {
    fn wake(&self, admin: &AdminKey) {
        self.0.wake(admin);
    }

    fn set_paused<'a>(
        &'a self,
        admin: &'a AdminKey,
        paused: bool,
    ) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>> {
        Box::pin(async move {
            let result = if paused {
                self.0.pause(admin).await
            } else {
                self.0.resume(admin).await
            };
            result.map_err(|e| match e {
                sync_core::fleet::FleetError::Store(e) => e,
                other => StoreError::Backend(Box::new(other)),
            })
        })
    }

    fn status(&self, admin: &AdminKey) -> Option<AdministrationStatus> {
        self.0.status_of(admin)
    }
}

/// What the coupling events do in `serve`: the fleet's hooks, and the service's view kept in
/// step.
#[derive(Clone)]
struct Hooks {
    fleet: ServeFleet,
    attacher: Arc<Attacher>,
}

impl CouplingHooks for Hooks {
    async fn registered(&self, record: &AdministrationRecord) {
        // Attached first: the CRM's first change may follow the click at once.
        self.attacher.attach(record);
        CouplingHooks::registered(&self.fleet, record).await;
    }

    async fn key_replaced(&self, admin: &AdminKey) {
        CouplingHooks::key_replaced(&self.fleet, admin).await;
        self.attacher.attach_admin(admin).await;
    }

    async fn stop(&self, admin: &AdminKey) {
        CouplingHooks::stop(&self.fleet, admin).await;
        if let Some(service) = self.attacher.service() {
            service.detach(admin.as_str());
        }
    }
}

/// `[onboarding]` as `serve` runs it: the webhook to mount, the fleet to run, and the
/// registered administrations to attach once the service exists.
pub struct Onboarding {
    /// The coupling webhook.
    pub webhook: CouplingWebhook,
    /// The fleet runner over the registry.
    pub fleet: ServeFleet,
    attacher: Arc<Attacher>,
}

impl Onboarding {
    /// Gives the service to the hooks and attaches every registered administration; the
    /// number attached.
    ///
    /// # Errors
    /// The registry cannot be read.
    pub async fn attach_to(&self, service: &Svc) -> Result<usize, CliError> {
        let _ = self.attacher.service.set(service.clone());
        self.attacher.attach_all().await
    }
}

/// What `[onboarding]` describes, over `store`'s registry; `None` without the section.
///
/// # Errors
/// A secret or the master keys missing from the environment, a mapping file that does not
/// read, or a path the router cannot mount: all found at start, not at the first click.
pub async fn onboarding(loaded: &Loaded, store: &DynStore) -> Result<Option<Onboarding>, CliError> {
    let Some(section) = &loaded.file.onboarding else {
        return Ok(None);
    };
    let secret = Secret::new(env_secret(
        &section.secret_env,
        "[onboarding] the webhook secret",
    )?);
    let ring = KeyRing::from_var(&section.master_keys_env)
        .map_err(|e| CliError::Config(format!("[onboarding] master keys: {e}")))?;
    let sealer = Sealer::new(ring);
    let mappings = Mappings::read(loaded, section)?;
    let template = client_template(loaded)?;
    let registry = crate::store::registry(store)
        .await
        .map_err(CliError::Failed)?;
    let options = FleetOptions::new(worker_id())
        .workers(section.workers)
        .lease(Duration::from_secs(section.lease_seconds.max(1)));
    let fleet = Fleet::new(
        store.clone(),
        registry.clone(),
        sealer.clone(),
        template.clone(),
        mappings.clone(),
        options,
    );
    let attacher = Arc::new(Attacher {
        store: store.clone(),
        registry: registry.clone(),
        sealer: sealer.clone(),
        template: template.clone(),
        mappings,
        runner: Arc::new(FleetRunner(fleet.clone())),
        service: OnceLock::new(),
    });
    let choice = MappingChoice::of(section);
    let service = OnboardingService::new(registry, sealer, template, move |reference: &str| {
        choice.lookup(reference)
    })
    .hooks(Hooks {
        fleet: fleet.clone(),
        attacher: Arc::clone(&attacher),
    });
    let tolerance = Duration::from_secs(loaded.file.http.timestamp_tolerance_seconds);
    let webhook = CouplingWebhook::with_tolerance(secret, Arc::new(service), tolerance)
        .and_then(|w| w.path(section.path.clone()))
        .map_err(|e| CliError::Config(format!("[onboarding] {e}")))?;
    Ok(Some(Onboarding {
        webhook,
        fleet,
        attacher,
    }))
}

/// What `snelsync check` found in `[onboarding]`.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// What makes onboarding unsafe (or impossible) to run.
    pub problems: Vec<String>,
    /// What was checked and found in order.
    pub checked: Vec<String>,
    /// Registered administrations seen in the store.
    pub registered: usize,
}

/// Checks `[onboarding]` without starting anything: the webhook secret is set, the master
/// keys parse and seal and open a probe through the key provider (and every registered
/// administration's sealed key opens with them), every mapping file reads and passes its own
/// validation, and every registered administration records a mapping the section names.
pub async fn check(loaded: &Loaded, section: &OnboardingSection, store: &DynStore) -> CheckReport {
    let mut report = CheckReport::default();
    match env_secret(&section.secret_env, "[onboarding] the webhook secret") {
        Ok(_) => report
            .checked
            .push(format!("webhook secret set ({})", section.secret_env)),
        Err(e) => report.problems.push(e.to_string()),
    }
    let sealer = match KeyRing::from_var(&section.master_keys_env) {
        Ok(ring) => {
            let sealer = Sealer::new(ring);
            let probe_admin = AdminKey::new("snelsync-check");
            let probe = SecretString::from("snelsync-check-probe".to_owned());
            let opened = sealer.open(&probe_admin, &sealer.seal(&probe_admin, &probe));
            match opened {
                Ok(k) if k.expose_secret() == probe.expose_secret() => {
                    report.checked.push(format!(
                        "master keys ({}) seal and open a key",
                        section.master_keys_env
                    ));
                    Some(sealer)
                }
                Ok(_) => {
                    report.problems.push(format!(
                        "[onboarding] master keys ({}): a sealed probe opened to another value",
                        section.master_keys_env
                    ));
                    None
                }
                Err(e) => {
                    report
                        .problems
                        .push(format!("[onboarding] master keys: {e}"));
                    None
                }
            }
        }
        Err(e) => {
            report
                .problems
                .push(format!("[onboarding] master keys: {e}"));
            None
        }
    };
    if let Err(e) = env_secret(
        &loaded.file.snelstart.subscription_key_env,
        "the subscription key (the onboarded administrations' clients)",
    ) {
        report.problems.push(e.to_string());
    }
    if section.default_mapping.is_none() && section.mappings.is_empty() {
        report.problems.push(
            "[onboarding] names no mapping (default_mapping or mappings): every coupling would be \
             refused"
                .to_owned(),
        );
    }
    let mut named = BTreeMap::new();
    let listed = section
        .mappings
        .iter()
        .map(|(reference, path)| (format!("ReferenceKey `{reference}`"), path));
    let default = section
        .default_mapping
        .iter()
        .map(|path| ("default_mapping".to_owned(), path));
    for (what, path) in listed.chain(default) {
        match loaded.mapping_file(path) {
            Ok(config) => {
                let problems = config.validate();
                if problems.is_empty() {
                    report
                        .checked
                        .push(format!("{what}: mapping {} reads", path.display()));
                } else {
                    for p in problems {
                        report
                            .problems
                            .push(format!("{what}: mapping {}: {p}", path.display()));
                    }
                }
                named.insert(mapping_name(path), ());
            }
            Err(e) => report.problems.push(format!("{what}: {e}")),
        }
    }
    // The administrations already coupled: each key must open, each mapping be named.
    let registry = match crate::store::registry(store).await {
        Ok(r) => r,
        Err(e) => {
            report.problems.push(e);
            return report;
        }
    };
    let mut after: Option<AdminKey> = None;
    loop {
        let page = match registry
            .list_administrations(after.as_ref(), LIST_PAGE)
            .await
        {
            Ok(page) => page,
            Err(e) => {
                report
                    .problems
                    .push(format!("administrations registry: {e}"));
                break;
            }
        };
        for record in &page {
            report.registered += 1;
            if let Some(sealer) = &sealer
                && let Err(e) = sealer.open(&record.admin, &record.sealed_key)
            {
                report.problems.push(format!(
                    "onboarded administration {} (ReferenceKey `{}`): its koppelsleutel does \
                     not open with the master keys: {e}",
                    record.admin, record.reference_key
                ));
            }
            if loaded
                .file
                .administrations
                .iter()
                .any(|a| a.key == record.admin.as_str())
            {
                report.problems.push(format!(
                    "onboarded administration {} has the key of an [[administration]]: both \
                     would sync it",
                    record.admin
                ));
            }
            if !named.contains_key(&record.mapping_config) {
                report.problems.push(format!(
                    "onboarded administration {} (ReferenceKey `{}`) records mapping `{}`, which \
                     [onboarding] does not name (or does not read)",
                    record.admin, record.reference_key, record.mapping_config
                ));
            }
        }
        match page.last() {
            Some(last) if page.len() == LIST_PAGE => after = Some(last.admin.clone()),
            _ => break,
        }
    }
    report
}

/// A SnelStart client for a registered (onboarded) administration named by its key or its
/// ReferenceKey, with its recorded mapping; `Ok(None)` when the registry holds no such one.
///
/// # Errors
/// The registry unreadable, a ReferenceKey naming several administrations, a key that does
/// not open, or a mapping not named in `[onboarding]`.
pub async fn registered_client(
    loaded: &Loaded,
    store: &DynStore,
    name: &str,
) -> Result<Option<(AdminKey, snelstart_client::Client, MappingConfig)>, CliError> {
    let Some(section) = &loaded.file.onboarding else {
        return Ok(None);
    };
    let registry = crate::store::registry(store)
        .await
        .map_err(CliError::Failed)?;
    let failed = |e: StoreError| CliError::Failed(format!("administrations registry: {e}"));
    let record = match registry
        .administration(&AdminKey::new(name))
        .await
        .map_err(failed)?
    {
        Some(record) => record,
        None => {
            let mut found = registry
                .administrations_by_reference(name)
                .await
                .map_err(failed)?;
            match found.len() {
                0 => return Ok(None),
                1 => found.remove(0),
                n => {
                    return Err(CliError::Config(format!(
                        "ReferenceKey `{name}` names {n} onboarded administrations ({}): name one \
                         by its key with --admin",
                        found
                            .iter()
                            .map(|r| r.admin.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
    };
    let ring = KeyRing::from_var(&section.master_keys_env)
        .map_err(|e| CliError::Config(format!("[onboarding] master keys: {e}")))?;
    let key = Sealer::new(ring)
        .open(&record.admin, &record.sealed_key)
        .map_err(|e| CliError::Config(format!("administration {}: {e}", record.admin)))?;
    let client = client_template(loaded)?
        .client(&key)
        .map_err(|e| CliError::Config(format!("SnelStart client: {e}")))?;
    let mappings = Mappings::read(loaded, section)?;
    let config = mappings
        .get(&record.mapping_config)
        .map_err(CliError::Config)?
        .clone();
    Ok(Some((record.admin, client, config)))
}

/// The registered administrations (key and ReferenceKey), for messages that list the choices;
/// empty without `[onboarding]`.
///
/// # Errors
/// The registry cannot be read.
pub async fn registered(
    loaded: &Loaded,
    store: &DynStore,
) -> Result<Vec<(AdminKey, String)>, CliError> {
    if loaded.file.onboarding.is_none() {
        return Ok(Vec::new());
    }
    let registry = crate::store::registry(store)
        .await
        .map_err(CliError::Failed)?;
    let mut out = Vec::new();
    let mut after: Option<AdminKey> = None;
    loop {
        let page = registry
            .list_administrations(after.as_ref(), LIST_PAGE)
            .await
            .map_err(|e| CliError::Failed(format!("administrations registry: {e}")))?;
        out.extend(
            page.iter()
                .map(|r| (r.admin.clone(), r.reference_key.clone())),
        );
        match page.last() {
            Some(last) if page.len() == LIST_PAGE => after = Some(last.admin.clone()),
            _ => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn a_listed_reference_key_wins_over_the_default() {
        let mut section = OnboardingSection {
            path: "/x".into(),
            secret_env: "S".into(),
            master_keys_env: "M".into(),
            default_mapping: None,
            mappings: BTreeMap::from([("klant-42".to_owned(), PathBuf::from("groot.toml"))]),
            workers: 4,
            lease_seconds: 30,
        };
        let strict = MappingChoice::of(&section);
        assert_eq!(strict.lookup("klant-42").as_deref(), Some("groot.toml"));
        assert_eq!(strict.lookup("klant-1"), None, "no default: refused");
        section.default_mapping = Some(PathBuf::from("mapping.toml"));
        let open = MappingChoice::of(&section);
        assert_eq!(open.lookup("klant-1").as_deref(), Some("mapping.toml"));
        assert_eq!(open.lookup("klant-42").as_deref(), Some("groot.toml"));
    }
}
