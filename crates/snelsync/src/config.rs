//! `snelsync.toml`: where SnelStart is, the administrations, the CRMs, the store and the HTTP
//! listener. Secrets are never written in the file: it names the environment variables that
//! hold them (`*_env` keys).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mapping::config::MappingConfig;
use serde::Deserialize;
use snelstart_client::Client;
use snelstart_client::budget::BudgetConfig;
use snelsync_http::{CrmEndpoint, HttpConfig, HttpConfigBuilder, Secret};
use sync_core::store::{AdminKey, DynStore};
use sync_core::{MemorySource, NoSink, SyncEngine};

use crate::CliError;
use crate::store::StoreTarget;

/// The engine type the binary runs.
pub type Engine = SyncEngine<DynStore, MemorySource, NoSink>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub http: HttpSection,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub snelstart: SnelStartSection,
    #[serde(default)]
    pub schedule: ScheduleSection,
    #[serde(default, rename = "administration")]
    pub administrations: Vec<AdminSection>,
    #[serde(default, rename = "crm")]
    pub crms: Vec<CrmSection>,
    /// The SnelStart coupling webhook; absent: not mounted.
    #[serde(default)]
    pub onboarding: Option<OnboardingSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    pub token_env: Option<String>,
    #[serde(default = "default_body")]
    pub max_body_bytes: usize,
    #[serde(default = "default_tolerance")]
    pub timestamp_tolerance_seconds: u64,
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            listen: default_listen(),
            token_env: None,
            max_body_bytes: default_body(),
            timestamp_tolerance_seconds: default_tolerance(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7878))
}
fn default_body() -> usize {
    2 * 1024 * 1024
}
fn default_tolerance() -> u64 {
    300
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// The SQLite file (relative to the configuration), when no URL names another store.
    #[serde(default = "default_sqlite")]
    pub sqlite: PathBuf,
    /// A store URL: `postgres://…` (with an optional `?schema=NAME`) for PostgreSQL.
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable holding the store URL (for a URL with a password).
    #[serde(default)]
    pub url_env: Option<String>,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            sqlite: default_sqlite(),
            url: None,
            url_env: None,
        }
    }
}

fn default_sqlite() -> PathBuf {
    PathBuf::from("snelsync.sqlite")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnelStartSection {
    pub base_url: Option<String>,
    pub auth_url: Option<String>,
    #[serde(default = "default_key_env")]
    pub subscription_key_env: String,
    #[serde(default = "default_budget")]
    pub budget: String,
}

impl Default for SnelStartSection {
    fn default() -> Self {
        SnelStartSection {
            base_url: None,
            auth_url: None,
            subscription_key_env: default_key_env(),
            budget: default_budget(),
        }
    }
}

fn default_key_env() -> String {
    "SNELSTART_SUBSCRIPTION_KEY".to_owned()
}
fn default_budget() -> String {
    "test_key".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSection {
    #[serde(default = "default_read_back")]
    pub read_back_minutes: u64,
    /// The time zone the appointments below are read in (IANA name).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// The weekly digest's appointment (`"mon 08:00"`); absent or empty: no digest.
    #[serde(default)]
    pub digest: Option<String>,
    /// Where digests are written (relative to this file), one Markdown file per run.
    #[serde(default)]
    pub digest_dir: Option<PathBuf>,
    /// The environment variable holding the URL the digest is POSTed to as JSON.
    #[serde(default)]
    pub digest_webhook_env: Option<String>,
    /// The monthly reconcile's appointment (`"1 06:00"`); absent or empty: none.
    #[serde(default)]
    pub reconcile: Option<String>,
    /// The CRM's full export the monthly reconcile compares against (the file the CRM
    /// writes; relative to this file).
    #[serde(default)]
    pub reconcile_from: Option<PathBuf>,
}

impl Default for ScheduleSection {
    fn default() -> Self {
        ScheduleSection {
            read_back_minutes: default_read_back(),
            timezone: default_timezone(),
            digest: None,
            digest_dir: None,
            digest_webhook_env: None,
            reconcile: None,
            reconcile_from: None,
        }
    }
}

fn default_timezone() -> String {
    "Europe/Amsterdam".to_owned()
}

fn default_read_back() -> u64 {
    15
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    pub key: String,
    pub koppelsleutel_env: String,
    pub mapping: Option<PathBuf>,
}

/// `[[crm]]`: a CRM that may post changes. It feeds one configured `administration`, or with
/// `onboarded = true` the administrations coupled through `[onboarding]`, naming one per
/// request (`POST /crm/{name}/admins/{administration or ReferenceKey}/changes`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmSection {
    pub name: String,
    pub secret_env: String,
    #[serde(default)]
    pub administration: Option<String>,
    #[serde(default)]
    pub onboarded: bool,
}

/// `[onboarding]`: SnelStart's coupling webhook (the customer's activate, regenerate and
/// delete clicks register, rekey and remove administrations in the store's registry).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardingSection {
    /// Where the webhook is mounted.
    #[serde(default = "default_coupling_path")]
    pub path: String,
    /// The environment variable holding the secret the webhook's requests are signed with.
    pub secret_env: String,
    /// The environment variable holding the master keys koppelsleutels are sealed with
    /// (`id=base64[,id=base64...]`, the first one current; see `sync_core::keys::KeyRing`).
    #[serde(default = "default_master_keys_env")]
    pub master_keys_env: String,
    /// The mapping configuration (a mapping file, relative to this file) of a coupling whose
    /// ReferenceKey is not listed in `mappings`; absent: such couplings are refused.
    #[serde(default)]
    pub default_mapping: Option<PathBuf>,
    /// The mapping configuration per ReferenceKey.
    #[serde(default)]
    pub mappings: std::collections::BTreeMap<String, PathBuf>,
    /// How many coupled administrations the fleet runner works on at once.
    #[serde(default = "default_fleet_workers")]
    pub workers: usize,
    /// How long this process's lease on a coupled administration lasts without renewal
    /// (another `serve` on the same database takes it over after that when this one dies).
    #[serde(default = "default_lease_seconds")]
    pub lease_seconds: u64,
}

fn default_fleet_workers() -> usize {
    4
}

fn default_lease_seconds() -> u64 {
    30
}

fn default_coupling_path() -> String {
    snelsync_http::coupling::DEFAULT_PATH.to_owned()
}

fn default_master_keys_env() -> String {
    sync_core::keys::MASTER_KEYS_VAR.to_owned()
}

/// A configuration read from a file, with paths resolved against the file's folder.
#[derive(Debug)]
pub struct Loaded {
    pub file: FileConfig,
    pub dir: PathBuf,
}

pub(crate) fn env_secret(var: &str, what: &str) -> Result<String, CliError> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(CliError::Config(format!(
            "{what}: the environment variable {var} is not set"
        ))),
    }
}

impl Loaded {
    pub fn read(path: &Path) -> Result<Loaded, CliError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
        Self::parse(&text, path)
    }

    /// A configuration from its text; `path` is where it is (or will be) written: messages
    /// name it and relative paths are resolved against its folder.
    pub fn parse(text: &str, path: &Path) -> Result<Loaded, CliError> {
        let file: FileConfig = toml::from_str(text)
            .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
        if file.administrations.is_empty() {
            return Err(CliError::Config(format!(
                "{}: no [[administration]] configured",
                path.display()
            )));
        }
        for crm in &file.crms {
            match (&crm.administration, crm.onboarded) {
                (Some(admin), false) => {
                    if !file.administrations.iter().any(|a| &a.key == admin) {
                        return Err(CliError::Config(format!(
                            "{}: CRM `{}` feeds administration `{admin}`, which is not configured",
                            path.display(),
                            crm.name,
                        )));
                    }
                }
                (None, true) => {
                    if file.onboarding.is_none() {
                        return Err(CliError::Config(format!(
                            "{}: CRM `{}` feeds the onboarded administrations, but there is no \
                             [onboarding] section",
                            path.display(),
                            crm.name,
                        )));
                    }
                }
                (Some(_), true) => {
                    return Err(CliError::Config(format!(
                        "{}: CRM `{}` has both `administration` and `onboarded = true`: it feeds \
                         one configured administration or the onboarded ones, not both",
                        path.display(),
                        crm.name,
                    )));
                }
                (None, false) => {
                    return Err(CliError::Config(format!(
                        "{}: CRM `{}` names no `administration` (or set `onboarded = true` for \
                         the administrations coupled through [onboarding])",
                        path.display(),
                        crm.name,
                    )));
                }
            }
        }
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(Loaded { file, dir })
    }

    pub(crate) fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }

    /// The calendar jobs of `serve`, checked: appointments, time zone, files.
    pub fn jobs(&self) -> Result<crate::schedule::Jobs, CliError> {
        use crate::schedule::{Cadence, DigestJob, Jobs, ReconcileJob};
        let s = &self.file.schedule;
        let cadence = |what: &str, text: &Option<String>| -> Result<Option<Cadence>, CliError> {
            match text.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(t) => t
                    .parse()
                    .map(Some)
                    .map_err(|e| CliError::Config(format!("[schedule] {what}: {e}"))),
            }
        };
        let tz: chrono_tz::Tz = s.timezone.parse().map_err(|_| {
            CliError::Config(format!(
                "[schedule] timezone {:?}: not a time zone name such as Europe/Amsterdam",
                s.timezone
            ))
        })?;
        let digest = match cadence("digest", &s.digest)? {
            None => None,
            Some(cadence) => {
                let webhook = match &s.digest_webhook_env {
                    None => None,
                    Some(var) => match std::env::var(var) {
                        Ok(v) if !v.trim().is_empty() => Some(
                            crate::schedule::Webhook::parse(var, v.trim())
                                .map_err(CliError::Config)?,
                        ),
                        _ => None,
                    },
                };
                Some(DigestJob {
                    cadence,
                    dir: s.digest_dir.as_deref().map(|d| self.resolve(d)),
                    webhook,
                })
            }
        };
        let reconcile = match cadence("reconcile", &s.reconcile)? {
            None => None,
            Some(cadence) => {
                let Some(from) = &s.reconcile_from else {
                    return Err(CliError::Config(
                        "[schedule] reconcile needs reconcile_from: the CRM export to compare against"
                            .to_owned(),
                    ));
                };
                Some(ReconcileJob {
                    cadence,
                    from: self.resolve(from),
                })
            }
        };
        Ok(Jobs {
            tz,
            digest,
            reconcile,
        })
    }

    /// Where the store is: `over` (the command line's `--store`), else `[store] url` or
    /// `url_env`, else the SQLite file.
    pub fn store_target(&self, over: Option<&StoreTarget>) -> Result<StoreTarget, CliError> {
        if let Some(target) = over {
            return Ok(target.clone());
        }
        let s = &self.file.store;
        let url = match (&s.url, &s.url_env) {
            (Some(_), Some(_)) => {
                return Err(CliError::Config(
                    "[store] url and url_env: give one of them".to_owned(),
                ));
            }
            (Some(url), None) => Some(url.clone()),
            (None, Some(var)) => Some(env_secret(var, "the store URL")?),
            (None, None) => None,
        };
        match url {
            Some(url) => match StoreTarget::parse(&url)
                .map_err(|e| CliError::Config(format!("[store] url: {e}")))?
            {
                StoreTarget::Sqlite(path) => Ok(StoreTarget::Sqlite(self.resolve(&path))),
                postgres => Ok(postgres),
            },
            None => Ok(StoreTarget::Sqlite(self.resolve(&s.sqlite))),
        }
    }

    /// Opens the store (see [`store_target`](Self::store_target)).
    pub async fn open_store(&self, over: Option<&StoreTarget>) -> Result<DynStore, CliError> {
        self.store_target(over)?
            .open()
            .await
            .map_err(CliError::Failed)
    }

    pub(crate) fn budget(&self) -> Result<BudgetConfig, CliError> {
        match self.file.snelstart.budget.as_str() {
            "test_key" => Ok(BudgetConfig::test_key()),
            "production" => Ok(BudgetConfig::production()),
            "unlimited" => Ok(BudgetConfig::unlimited()),
            other => Err(CliError::Config(format!(
                "[snelstart] budget `{other}`: expected test_key, production or unlimited"
            ))),
        }
    }

    pub fn mapping(&self, admin: &AdminSection) -> Result<MappingConfig, CliError> {
        let Some(path) = &admin.mapping else {
            return Ok(MappingConfig::default());
        };
        self.mapping_file(path)
    }

    /// The mapping file at `path` (relative to the configuration), read and checked.
    pub fn mapping_file(&self, path: &Path) -> Result<MappingConfig, CliError> {
        let path = self.resolve(path);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
        MappingConfig::from_toml_str(&text)
            .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))
    }

    /// The one administration a command works on: `only`, or the only one configured.
    pub fn administration(&self, only: Option<&str>) -> Result<&AdminSection, CliError> {
        let admins = &self.file.administrations;
        match only {
            Some(key) => admins.iter().find(|a| a.key == key).ok_or_else(|| {
                CliError::Config(format!("no administration `{key}` is configured"))
            }),
            None => match admins.as_slice() {
                [one] => Ok(one),
                _ => Err(CliError::Config(
                    "several administrations are configured: name one with --admin".to_owned(),
                )),
            },
        }
    }

    /// Whether the environment holds both secrets `admin`'s client needs.
    pub fn has_credentials(&self, admin: &AdminSection) -> bool {
        [
            &self.file.snelstart.subscription_key_env,
            &admin.koppelsleutel_env,
        ]
        .iter()
        .all(|var| std::env::var(var).is_ok_and(|v| !v.trim().is_empty()))
    }

    /// A SnelStart client for `admin`, with the secrets from the environment.
    pub fn client(&self, admin: &AdminSection) -> Result<Client, CliError> {
        let s = &self.file.snelstart;
        let mut builder = Client::builder()
            .subscription_key(env_secret(&s.subscription_key_env, "the subscription key")?)
            .koppelsleutel(env_secret(
                &admin.koppelsleutel_env,
                &format!("the koppelsleutel of `{}`", admin.key),
            )?)
            .rate_budget(self.budget()?);
        if let Some(url) = &s.base_url {
            builder = builder.base_url(url);
        }
        if let Some(url) = &s.auth_url {
            builder = builder.auth_url(url);
        }
        builder
            .build()
            .map_err(|e| CliError::Config(format!("SnelStart client: {e}")))
    }

    /// One engine per administration (all on one store), optionally only `only`.
    pub fn engines(
        &self,
        store: &DynStore,
        only: Option<&str>,
        source: &MemorySource,
    ) -> Result<Vec<Engine>, CliError> {
        let mut out = Vec::new();
        for admin in &self.file.administrations {
            if only.is_some_and(|o| o != admin.key) {
                continue;
            }
            out.push(
                SyncEngine::builder(self.client(admin)?, AdminKey::new(&admin.key))
                    .store(store.clone())
                    .source(source.clone())
                    .sink(NoSink)
                    .config(self.mapping(admin)?)
                    .build(),
            );
        }
        if out.is_empty() {
            return Err(CliError::Config(format!(
                "no administration `{}` is configured",
                only.unwrap_or_default()
            )));
        }
        Ok(out)
    }

    /// The router's configuration before it is built (`serve` adds the coupling webhook).
    pub fn http_builder(&self) -> Result<HttpConfigBuilder, CliError> {
        let h = &self.file.http;
        let mut builder = HttpConfig::builder()
            .max_body_bytes(h.max_body_bytes)
            .timestamp_tolerance(Duration::from_secs(h.timestamp_tolerance_seconds));
        if let Some(var) = &h.token_env {
            builder = builder.token(Secret::new(env_secret(var, "the access token")?));
        }
        for crm in &self.file.crms {
            let secret = Secret::new(env_secret(
                &crm.secret_env,
                &format!("the secret of CRM `{}`", crm.name),
            )?);
            builder = builder.crm(match &crm.administration {
                Some(admin) => CrmEndpoint::new(&crm.name, secret, AdminKey::new(admin)),
                None => CrmEndpoint::onboarded(&crm.name, secret),
            });
        }
        Ok(builder)
    }
}

/// The commented configuration `snelsync init` writes.
pub fn template(
    base_url: Option<&str>,
    auth_url: Option<&str>,
    admin: &str,
    budget: &str,
) -> String {
    let url = |key: &str, value: Option<&str>, default: &str| match value {
        Some(v) => format!("{key} = \"{v}\""),
        None => format!("# {key} = \"{default}\""),
    };
    format!(
        r#"# snelsync configuration. Secrets are never written here: each *_env key names the
# environment variable that holds the secret.

[http]
# Where the status page, the API and the CRM intake listen. Keep 127.0.0.1 unless a reverse
# proxy with TLS sits in front.
listen = "127.0.0.1:7878"
# The access token for the status page and the API (nobody gets in without one).
token_env = "SNELSYNC_TOKEN"
# Largest CRM intake body, and how far a signed timestamp may be from this clock.
max_body_bytes = 2097152
timestamp_tolerance_seconds = 300

[store]
# The SQLite file with the queue, links, cursors and audit log (relative to this file).
sqlite = "snelsync.sqlite"
# Or PostgreSQL (several workers, or a database the CRM already runs): a URL, with the
# schema as a parameter; a URL with a password belongs in an environment variable (url_env).
# The command line's --store URL overrides both.
# url = "postgres://snelsync@127.0.0.1:5432/crm?schema=snelsync"
# url_env = "SNELSYNC_STORE_URL"

[snelstart]
{}
{}
subscription_key_env = "SNELSTART_SUBSCRIPTION_KEY"
# The rate budget: test_key (100 calls a minute), production, or unlimited (simulator only).
budget = "{budget}"

[schedule]
# Read payment status back from SnelStart this often.
read_back_minutes = 15
# The appointments below are local times in this zone.
timezone = "Europe/Amsterdam"
# The weekly status digest (failures with record and field, reviews, budget, read-back,
# reconcile): written to digest_dir and, when the environment variable named by
# digest_webhook_env holds a URL (https, or http on this machine), POSTed there as JSON
# {{"text": "<markdown>", ...}}. The first digest comes when the service first starts.
digest = "mon 08:00"
digest_dir = "digests"
digest_webhook_env = "SNELSYNC_DIGEST_WEBHOOK"
# The monthly reconcile against the CRM's full export (a file the CRM writes there).
# reconcile = "1 06:00"
# reconcile_from = "crm-export.json"

[[administration]]
key = "{admin}"
koppelsleutel_env = "SNELSTART_KOPPELSLEUTEL"
# The ledger mapping (grootboekrekeningen, btw, kostenplaatsen); see mapping.toml.
mapping = "mapping.toml"

# A CRM that posts changes to POST /crm/{{name}}/changes, signed with its secret.
[[crm]]
name = "crm"
secret_env = "SNELSYNC_CRM_SECRET"
administration = "{admin}"

# SnelStart's coupling webhook (onboarding): a customer's activate, regenerate and delete
# clicks register, rekey and remove administrations in the store's registry. Absent: the
# route does not exist. The requests must be signed with the secret in secret_env (your
# gateway signs what SnelStart sends); koppelsleutels are sealed with the master keys in
# master_keys_env ("id=base64,..." with 32-byte keys, the first one current; e.g.
# k1=$(openssl rand -base64 32)).
# [onboarding]
# path = "/snelstart/coupling"
# secret_env = "SNELSYNC_COUPLING_SECRET"
# master_keys_env = "SNELSYNC_MASTER_KEYS"
# The mapping file per ReferenceKey (the activate URL's referenceKey), and the one for the
# others; without default_mapping an unlisted reference key is refused.
# default_mapping = "mapping.toml"
# mappings = {{ "klant-42" = "mapping-klant-42.toml" }}
# `serve` syncs the coupled administrations with the fleet runner: this many at once, each
# leased for lease_seconds (several serve processes on one PostgreSQL database share them).
# workers = 4
# lease_seconds = 30
# The CRM that posts the coupled administrations' changes, each to
# POST /crm/{{name}}/admins/{{administration or ReferenceKey}}/changes, signed with its secret.
# [[crm]]
# name = "crm-klanten"
# secret_env = "SNELSYNC_ONBOARDED_CRM_SECRET"
# onboarded = true
"#,
        url("base_url", base_url, snelstart_client::DEFAULT_BASE_URL),
        url("auth_url", auth_url, snelstart_client::DEFAULT_AUTH_URL),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The template's commented `[onboarding]` section, switched on, is what the parser reads.
    #[test]
    fn the_templates_onboarding_section_parses() {
        let text = template(None, None, "bakkerij", "test_key");
        let plain = Loaded::parse(&text, Path::new("snelsync.toml")).unwrap();
        assert!(plain.file.onboarding.is_none(), "off by default");
        let start = text.find("# [onboarding]").unwrap();
        let on: String = text[start..]
            .lines()
            .map(|l| l.strip_prefix("# ").unwrap_or(l))
            .filter(|l| l.starts_with('[') || l.contains(" = "))
            .collect::<Vec<_>>()
            .join("\n");
        let loaded = Loaded::parse(
            &format!("{}\n{on}\n", &text[..start]),
            Path::new("snelsync.toml"),
        )
        .unwrap();
        let section = loaded.file.onboarding.expect("switched on");
        assert_eq!(section.path, snelsync_http::coupling::DEFAULT_PATH);
        assert_eq!(section.secret_env, "SNELSYNC_COUPLING_SECRET");
        assert_eq!(section.master_keys_env, sync_core::keys::MASTER_KEYS_VAR);
        assert_eq!(section.default_mapping, Some(PathBuf::from("mapping.toml")));
        assert_eq!(
            section.mappings.get("klant-42"),
            Some(&PathBuf::from("mapping-klant-42.toml"))
        );
        assert_eq!((section.workers, section.lease_seconds), (4, 30));
        let onboarded = loaded
            .file
            .crms
            .iter()
            .find(|c| c.onboarded)
            .expect("onboarded CRM");
        assert_eq!(
            (onboarded.name.as_str(), onboarded.administration.as_deref()),
            ("crm-klanten", None)
        );
    }
}
