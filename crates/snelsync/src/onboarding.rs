//! `[onboarding]`: SnelStart's coupling webhook, mounted by `serve` when configured.
//!
//! The customer's activate, regenerate and delete clicks reach the router's webhook
//! (`snelsync_http::coupling`), which hands them to a `sync_core` [`OnboardingService`] over
//! the administrations registry in the same database as the rest of the store. The webhook's
//! shared secret and the master keys that seal koppelsleutels come from environment
//! variables; the file only names them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use snelsync_http::{CouplingWebhook, Secret};
use sync_core::keys::{KeyRing, Sealer};
use sync_core::onboarding::{ClientTemplate, OnboardingService};

use crate::CliError;
use crate::config::{Loaded, OnboardingSection, env_secret};
use crate::store::AnyStore;

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
        let name = |p: &std::path::Path| p.display().to_string();
        MappingChoice {
            by_reference: section
                .mappings
                .iter()
                .map(|(reference, path)| (reference.clone(), name(path)))
                .collect(),
            default: section.default_mapping.as_deref().map(name),
        }
    }

    fn lookup(&self, reference_key: &str) -> Option<String> {
        self.by_reference
            .get(reference_key)
            .or(self.default.as_ref())
            .cloned()
    }
}

/// The webhook `[onboarding]` describes, over `store`'s registry; `None` without the section.
///
/// # Errors
/// A secret or the master keys missing from the environment, a mapping file that does not
/// read, or a path the router cannot mount: all found at start, not at the first click.
pub async fn coupling_webhook(
    loaded: &Loaded,
    store: &AnyStore,
) -> Result<Option<CouplingWebhook>, CliError> {
    let Some(section) = &loaded.file.onboarding else {
        return Ok(None);
    };
    let secret = Secret::new(env_secret(
        &section.secret_env,
        "[onboarding] the webhook secret",
    )?);
    let ring = KeyRing::from_var(&section.master_keys_env)
        .map_err(|e| CliError::Config(format!("[onboarding] master keys: {e}")))?;
    for path in section
        .default_mapping
        .iter()
        .chain(section.mappings.values())
    {
        loaded.mapping_file(path)?;
    }
    let s = &loaded.file.snelstart;
    let template = ClientTemplate::new(SecretString::from(env_secret(
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
    .budget(loaded.budget()?);
    let registry = store.registry().await.map_err(CliError::Failed)?;
    let choice = MappingChoice::of(section);
    let service = OnboardingService::new(
        registry,
        Sealer::new(ring),
        template,
        move |reference: &str| choice.lookup(reference),
    );
    let tolerance = Duration::from_secs(loaded.file.http.timestamp_tolerance_seconds);
    let webhook = CouplingWebhook::with_tolerance(secret, Arc::new(service), tolerance)
        .and_then(|w| w.path(section.path.clone()))
        .map_err(|e| CliError::Config(format!("[onboarding] {e}")))?;
    Ok(Some(webhook))
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
