//! Configuration of the simulator: administrations, limits, faults, validation switches.
//!
//! Everything has a default that follows API.md §9; everything can be changed in code (builder
//! methods) or from a TOML file (`snelstart-mock --config FILE`).

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

/// The default subscription key (`Ocp-Apim-Subscription-Key`).
pub const DEFAULT_SUBSCRIPTION_KEY: &str = "mock-subscription-key";
/// The koppelsleutel of the default administration.
pub const DEFAULT_CLIENT_KEY: &str = "mock-koppelsleutel";

/// Complete configuration of one simulator instance.
///
/// ```
/// use snelstart_mock::MockConfig;
/// let config = MockConfig::new()
///     .with_rate_limits(100, 1_000, 5)
///     .with_seed_relations(25);
/// assert_eq!(config.administrations.len(), 1);
/// ```
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MockConfig {
    /// Address to listen on; `None` binds `127.0.0.1:0` (a free port).
    pub addr: Option<SocketAddr>,
    /// The subscription key every API call must carry.
    pub subscription_key: String,
    /// The administrations, one per koppelsleutel. Their data never mixes.
    pub administrations: Vec<AdministrationConfig>,
    /// Lifetime of issued tokens in seconds (`expires_in`); SnelStart uses 3599.
    pub token_lifetime_secs: u64,
    /// Per-administration rate limits (off by default).
    pub rate_limits: RateLimitConfig,
    /// Random transient faults (off by default).
    pub faults: FaultConfig,
    /// Added latency per API call in milliseconds (0 = none).
    pub latency_ms: u64,
    /// Business-rule switches.
    pub validation: ValidationConfig,
    /// Fixed start of the server clock (Dutch local time) for deterministic `modifiedOn` values;
    /// `None` uses the wall clock.
    pub start_time: Option<NaiveDateTime>,
    /// Seed of the pseudo-random generator used for seed data and random faults.
    pub seed: u64,
    /// A file the simulated data is loaded from at start (when it exists) and saved to by
    /// [`MockServer::save_state`](crate::MockServer::save_state) and at
    /// [`shutdown`](crate::MockServer::shutdown): an embedded simulator that is the same
    /// server from one run of a program to the next.
    pub state_file: Option<std::path::PathBuf>,
    /// Where the customer's activate, regenerate and delete clicks (`POST /_mock/couplings`)
    /// deliver the coupling webhook; `None`: not configured (the clicks are refused).
    pub coupling: Option<CouplingConfig>,
}

impl std::fmt::Debug for MockConfig {
    // Hand-written so that keys never end up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockConfig")
            .field("addr", &self.addr)
            .field("subscription_key", &"<redacted>")
            .field("administrations", &self.administrations)
            .field("token_lifetime_secs", &self.token_lifetime_secs)
            .field("rate_limits", &self.rate_limits)
            .field("faults", &self.faults)
            .field("latency_ms", &self.latency_ms)
            .field("validation", &self.validation)
            .field("start_time", &self.start_time)
            .field("seed", &self.seed)
            .field("state_file", &self.state_file)
            .field("coupling", &self.coupling)
            .finish()
    }
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            addr: None,
            subscription_key: DEFAULT_SUBSCRIPTION_KEY.to_owned(),
            administrations: vec![AdministrationConfig::default()],
            token_lifetime_secs: 3599,
            rate_limits: RateLimitConfig::default(),
            faults: FaultConfig::default(),
            latency_ms: 0,
            validation: ValidationConfig::default(),
            start_time: None,
            seed: 42,
            state_file: None,
            coupling: None,
        }
    }
}

impl MockConfig {
    /// The default configuration: one administration, limits and faults off.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep the simulated data in this file between runs (see [`MockConfig::state_file`]).
    pub fn with_state_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Listen on this address instead of a free loopback port.
    pub fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.addr = Some(addr);
        self
    }

    /// Require this subscription key.
    pub fn with_subscription_key(mut self, key: impl Into<String>) -> Self {
        self.subscription_key = key.into();
        self
    }

    /// Set the koppelsleutel of the default (first) administration.
    pub fn with_client_key(mut self, key: impl Into<String>) -> Self {
        self.first_admin().client_key = key.into();
        self
    }

    /// Enable rate limits per administration: calls per minute, calls per hour, concurrent calls.
    /// A zero disables that limit.
    pub fn with_rate_limits(mut self, per_minute: u32, per_hour: u32, concurrent: u32) -> Self {
        self.rate_limits.per_minute = per_minute;
        self.rate_limits.per_hour = per_hour;
        self.rate_limits.concurrent = concurrent;
        self
    }

    /// Replace all rate-limit settings, e.g. with [`RateLimitConfig::test_tier`].
    pub fn with_rate_limit_config(mut self, limits: RateLimitConfig) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Shorten (or lengthen) the sliding windows of the minute and hour limits, so that
    /// benchmarks can exercise "100 calls per minute" as "100 calls per second".
    pub fn with_rate_limit_windows(mut self, minute: Duration, hour: Duration) -> Self {
        self.rate_limits.minute_window_ms = duration_ms(minute);
        self.rate_limits.hour_window_ms = duration_ms(hour);
        self
    }

    /// Inject transient faults (500, 502, 503, connection reset) into a fraction `p` (0..=1) of
    /// API calls, chosen by a generator seeded with `seed`.
    pub fn with_fault_rate(mut self, p: f64, seed: u64) -> Self {
        self.faults.rate = p.clamp(0.0, 1.0);
        self.faults.seed = seed;
        self
    }

    /// Add this latency to every API call.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency_ms = duration_ms(latency);
        self
    }

    /// Preload `n` realistic relations into the default administration.
    pub fn with_seed_relations(mut self, n: usize) -> Self {
        self.first_admin().seed_relations = n;
        self
    }

    /// Add another administration (its own koppelsleutel and data).
    pub fn with_administration(mut self, admin: AdministrationConfig) -> Self {
        self.administrations.push(admin);
        self
    }

    /// Replace the business-rule switches.
    pub fn with_validation(mut self, validation: ValidationConfig) -> Self {
        self.validation = validation;
        self
    }

    /// Use a fixed start for the server clock (Dutch local time).
    pub fn with_start_time(mut self, start: NaiveDateTime) -> Self {
        self.start_time = Some(start);
        self
    }

    /// Token lifetime (`expires_in`).
    pub fn with_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime_secs = lifetime.as_secs();
        self
    }

    /// Deliver the coupling webhook to `url` (loopback only), signed with `secret` (see
    /// [`CouplingConfig`]).
    pub fn with_coupling_webhook(
        mut self,
        url: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        self.coupling = Some(CouplingConfig {
            webhook_url: url.into(),
            webhook_secret: secret.into(),
        });
        self
    }

    /// Parse a TOML configuration (the format of `--config FILE`).
    ///
    /// # Errors
    /// Returns [`crate::MockError::Config`] when the text is not valid TOML for this type.
    pub fn from_toml(text: &str) -> Result<Self, crate::MockError> {
        toml::from_str(text).map_err(|e| crate::MockError::Config(e.to_string()))
    }

    fn first_admin(&mut self) -> &mut AdministrationConfig {
        if self.administrations.is_empty() {
            self.administrations.push(AdministrationConfig::default());
        }
        &mut self.administrations[0]
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Where the simulated coupling flow delivers its webhook (API.md §1.1, "oAuth" coupling).
///
/// SnelStart POSTs `{KoppelSleutel, ActionType, ReferenceKey}` to the partner's webhook URL
/// without a signature; the simulator signs what it sends the way `sync_core::onboarding`
/// verifies it: header `X-Snelsync-Timestamp` (Unix seconds) and `X-Snelsync-Signature`
/// (`sha256=` + hex of HMAC-SHA256 over `timestamp + "." + body` with `webhook_secret`), as the
/// partner's gateway in front of the webhook would. The URL must be `http(s)` on a loopback
/// host (`127.0.0.0/8`, `::1`, `localhost`): the simulator never sends a koppelsleutel
/// elsewhere. `Debug` hides the secret.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CouplingConfig {
    /// The webhook URL.
    pub webhook_url: String,
    /// The shared HMAC secret.
    pub webhook_secret: String,
}

impl CouplingConfig {
    /// A webhook at `url` signed with `secret`.
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> Self {
        CouplingConfig {
            webhook_url: url.into(),
            webhook_secret: secret.into(),
        }
    }
}

impl std::fmt::Debug for CouplingConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CouplingConfig")
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &"<redacted>")
            .finish()
    }
}

/// One administration (one SnelStart bookkeeping file) behind one koppelsleutel.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AdministrationConfig {
    /// The koppelsleutel. With the `password` grant the key is base64 of `username:password`.
    pub client_key: String,
    /// Administration name (companyInfo `administratieNaam`).
    pub name: String,
    /// Company name (companyInfo `bedrijfsnaam`).
    pub company_name: String,
    /// Number of realistic relations to preload.
    pub seed_relations: usize,
    /// Current financial year (companyInfo `huidigBoekjaar`); `None` = the year of the clock.
    pub current_year: Option<i32>,
}

impl std::fmt::Debug for AdministrationConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdministrationConfig")
            .field("client_key", &"<redacted>")
            .field("name", &self.name)
            .field("company_name", &self.company_name)
            .field("seed_relations", &self.seed_relations)
            .field("current_year", &self.current_year)
            .finish()
    }
}

impl Default for AdministrationConfig {
    fn default() -> Self {
        AdministrationConfig {
            client_key: DEFAULT_CLIENT_KEY.to_owned(),
            name: "Demo Administratie".to_owned(),
            company_name: "Simulatie Handelsonderneming B.V.".to_owned(),
            seed_relations: 0,
            current_year: None,
        }
    }
}

impl AdministrationConfig {
    /// An administration with this koppelsleutel and default data.
    pub fn new(client_key: impl Into<String>) -> Self {
        AdministrationConfig {
            client_key: client_key.into(),
            ..Self::default()
        }
    }

    /// Set the administration and company name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.company_name.clone_from(&name);
        self.name = name;
        self
    }

    /// Preload `n` relations.
    pub fn with_seed_relations(mut self, n: usize) -> Self {
        self.seed_relations = n;
        self
    }
}

/// Rate limits per administration. Zero disables a limit; all are zero by default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// Calls per (sliding) minute window.
    pub per_minute: u32,
    /// Calls per (sliding) hour window.
    pub per_hour: u32,
    /// Calls in flight at once.
    pub concurrent: u32,
    /// Length of the "minute" window in milliseconds (60000 unless scaled for benchmarks).
    pub minute_window_ms: u64,
    /// Length of the "hour" window in milliseconds.
    pub hour_window_ms: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            per_minute: 0,
            per_hour: 0,
            concurrent: 0,
            minute_window_ms: 60_000,
            hour_window_ms: 3_600_000,
        }
    }
}

impl RateLimitConfig {
    /// The published tier "Ontwikkeling & Test": 100/min, 1000/h, 5 concurrent.
    pub fn test_tier() -> Self {
        RateLimitConfig {
            per_minute: 100,
            per_hour: 1_000,
            concurrent: 5,
            ..Self::default()
        }
    }
    /// The published tiers "Maatwerk" and "Productie": 500/min, 5000/h, 50 concurrent.
    pub fn production_tier() -> Self {
        RateLimitConfig {
            per_minute: 500,
            per_hour: 5_000,
            concurrent: 50,
            ..Self::default()
        }
    }
}

/// Random transient faults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FaultConfig {
    /// Probability (0..=1) that an API call fails with a transient fault before processing.
    pub rate: f64,
    /// Seed of the fault generator.
    pub seed: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig { rate: 0.0, seed: 1 }
    }
}

/// What to do with `$top` above the maximum of 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum TopPolicy {
    /// Answer 400 `ALG-0104` (the Web API OData default).
    #[default]
    Reject,
    /// Silently return at most 500.
    Clamp,
}

/// Business-rule switches (the places where the sources are uncertain).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ValidationConfig {
    /// Check IBAN mod-97 (`REL-0011`).
    pub iban_checksum: bool,
    /// Check VAT numbers (`REL-0088`): NL by mod-97 ("NL..B.." new style) or elf-proef, other EU
    /// countries by format only.
    pub vat_checksum: bool,
    /// Check that a KvK number has exactly 8 digits (`REL-0006`).
    pub kvk_check: bool,
    /// Check each booking's VAT amounts against the rate of the invoice date (`BOE-0069`).
    pub vat_amount_check: bool,
    /// Allowed difference per booking line between the given and the computed VAT amount.
    pub vat_tolerance_per_line: Decimal,
    /// Allowed difference for the balance check (`BOE-0039`); zero = exact to the cent.
    pub balance_tolerance: Decimal,
    /// `$top` above 500.
    pub top_policy: TopPolicy,
    /// Purchase invoice numbers must be unique per supplier (`true`) or per administration.
    pub inkoop_factuurnummer_per_supplier: bool,
    /// Maximum attachment size in decoded bytes (`BLG-0006`); default 10 × 2²⁰.
    pub max_attachment_bytes: usize,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig {
            iban_checksum: true,
            vat_checksum: true,
            kvk_check: true,
            vat_amount_check: true,
            vat_tolerance_per_line: Decimal::new(1, 2),
            balance_tolerance: Decimal::ZERO,
            top_policy: TopPolicy::Reject,
            inkoop_factuurnummer_per_supplier: true,
            max_attachment_bytes: 10 * 1024 * 1024,
        }
    }
}

impl ValidationConfig {
    /// Switch the IBAN check (`REL-0011`).
    pub fn with_iban_checksum(mut self, on: bool) -> Self {
        self.iban_checksum = on;
        self
    }
    /// Switch the VAT-number check (`REL-0088`).
    pub fn with_vat_checksum(mut self, on: bool) -> Self {
        self.vat_checksum = on;
        self
    }
    /// Switch the KvK check (`REL-0006`).
    pub fn with_kvk_check(mut self, on: bool) -> Self {
        self.kvk_check = on;
        self
    }
    /// Switch the VAT-amount check of bookings (`BOE-0069`).
    pub fn with_vat_amount_check(mut self, on: bool) -> Self {
        self.vat_amount_check = on;
        self
    }
    /// Allowed VAT difference per booking line.
    pub fn with_vat_tolerance_per_line(mut self, tolerance: Decimal) -> Self {
        self.vat_tolerance_per_line = tolerance;
        self
    }
    /// What to do with `$top` above 500.
    pub fn with_top_policy(mut self, policy: TopPolicy) -> Self {
        self.top_policy = policy;
        self
    }
    /// Maximum attachment size in decoded bytes.
    pub fn with_max_attachment_bytes(mut self, bytes: usize) -> Self {
        self.max_attachment_bytes = bytes;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_keys() {
        let c = MockConfig::new()
            .with_subscription_key("sekrit-sub")
            .with_client_key("sekrit-key");
        let s = format!("{c:?}");
        assert!(!s.contains("sekrit"), "{s}");
    }

    #[test]
    fn toml_round_trip() {
        let text = r#"
            subscription_key = "abc"
            latency_ms = 5
            [rate_limits]
            per_minute = 100
            [[administrations]]
            client_key = "k1"
            seed_relations = 3
            [[administrations]]
            client_key = "k2"
        "#;
        let c = MockConfig::from_toml(text).unwrap();
        assert_eq!(c.administrations.len(), 2);
        assert_eq!(c.rate_limits.per_minute, 100);
        assert_eq!(c.rate_limits.minute_window_ms, 60_000);
        assert!(MockConfig::from_toml("bogus = 1").is_err());
    }
}
