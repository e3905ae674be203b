//! Shared by the `snelsync` tests: a snelstart-mock with a relation typed in by hand, a
//! configuration written by `snelsync init`, a CRM export that yields a failure and a review,
//! and running the built binary.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};
use snelstart_client::Client;
use snelstart_client::models::RelatieWrite;
use snelstart_mock::{MockConfig, MockServer};

pub const TOKEN: &str = "token-for-the-status-page";
pub const CRM_SECRET: &str = "crm-secret-for-tests";

/// Kills a child process when dropped (a failed assertion must not leave it running).
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Killed {
    /// SIGTERM, then waits off the async runtime (the test's server tasks keep running); a
    /// graceful stop must exit 0.
    pub async fn stop(mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let code = tokio::task::spawn_blocking(move || self.0.wait().unwrap().code())
            .await
            .unwrap();
        assert_eq!(code, Some(0), "a graceful stop exits 0");
    }
}

/// The secret the coupling webhook checks, and where `[onboarding]` mounts it.
pub const WEBHOOK_SECRET: &str = "koppel-webhook-geheim";
pub const HOOK_PATH: &str = "/hooks/snelstart";

/// The `[onboarding]` section with its webhook and key settings and `extra` lines
/// (workers, mappings, ...), for [`Setup::append_config`].
pub fn onboarding_section(extra: &str) -> String {
    format!(
        r#"
[onboarding]
path = "{HOOK_PATH}"
secret_env = "SNELSYNC_COUPLING_SECRET"
master_keys_env = "SNELSYNC_MASTER_KEYS"
default_mapping = "mapping.toml"
{extra}"#
    )
}

/// The environment [`onboarding_section`] names: the webhook secret, then one master key
/// `k1` (in this order: a test may replace the keys at index 1).
pub fn onboarding_env() -> Vec<(&'static str, String)> {
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    vec![
        ("SNELSYNC_COUPLING_SECRET", WEBHOOK_SECRET.to_owned()),
        ("SNELSYNC_MASTER_KEYS", format!("k1={key}")),
    ]
}

/// The test database: `SNELSYNC_TEST_DATABASE_URL`, else PostgreSQL on 127.0.0.1 (user
/// postgres, database `test`, trust).
pub fn database_url() -> String {
    std::env::var("SNELSYNC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A PostgreSQL store in a fresh schema `{prefix}_{random}` (the caller drops it with
/// `drop_schema`), and the URL that names it for `snelsync` (`?schema=`).
pub async fn postgres_schema(prefix: &str) -> (sync_store_postgres::PostgresStore, String) {
    use sync_store_postgres::{PostgresOptions, PostgresStore};
    let schema = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let store = PostgresStore::connect(&database_url(), PostgresOptions::default().schema(&schema))
        .await
        .unwrap();
    (store, format!("{}?schema={schema}", database_url()))
}

pub struct Setup {
    pub mock: MockServer,
    pub dir: tempfile::TempDir,
    /// The SnelStart relation the review should offer.
    pub existing_id: String,
}

impl Setup {
    pub async fn start() -> Setup {
        Self::start_with(MockConfig::new()).await
    }

    /// [`Setup::start`] with a simulator configured by `config` (more administrations).
    pub async fn start_with(config: MockConfig) -> Setup {
        let mock = MockServer::start(config).await.unwrap();
        // A customer the bookkeeper typed into SnelStart before the coupling existed: same
        // address and e-mail domain as a CRM relation with another name (a namesake to review).
        let existing = create_in(
            &mock,
            json!({
                "relatiesoort": ["Klant"],
                "relatiecode": 500,
                "naam": "Bakkerij De Korst B.V.",
                "vestigingsAdres": {"straat": "Kerkstraat 2", "postcode": "3820 BA", "plaats": "Amersfoort"},
                "email": "info@dekorst.nl"
            }),
        )
        .await;
        Setup {
            mock,
            dir: tempfile::tempdir().unwrap(),
            existing_id: existing,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `f` off the async runtime (it runs the binary, which blocks) and hands the setup
    /// back.
    pub async fn blocking(self, f: impl FnOnce(&Setup) + Send + 'static) -> Setup {
        tokio::task::spawn_blocking(move || {
            f(&self);
            self
        })
        .await
        .unwrap()
    }

    /// Appends `text` to `snelsync.toml`.
    pub fn append_config(&self, text: &str) {
        let path = self.path("snelsync.toml");
        let mut config = std::fs::read_to_string(&path).unwrap();
        config.push_str(text);
        std::fs::write(&path, config).unwrap();
    }

    /// Runs `snelsync ARGS` with the secrets in the environment.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    /// [`Setup::run`] with `extra` in the environment too.
    pub fn run_with(&self, args: &[&str], extra: &[(&str, String)]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_snelsync"))
            .args(args)
            .current_dir(self.dir.path())
            .envs(self.env())
            .envs(extra.iter().map(|(k, v)| (k, v)))
            .env("SNELSYNC_CONFIG", self.path("snelsync.toml"))
            .output()
            .unwrap();
        eprintln!(
            "$ snelsync {}\nexit {:?}\n{}{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Starts `snelsync serve` with the secrets (and `extra`) in the environment; the process
    /// and the base URL it listens on, read from its first line.
    pub fn serve(&self, extra: &[(&str, String)]) -> (Killed, String) {
        let mut serve = Killed(
            Command::new(env!("CARGO_BIN_EXE_snelsync"))
                .arg("serve")
                .current_dir(self.dir.path())
                .envs(self.env())
                .envs(extra.iter().map(|(k, v)| (k, v)))
                .env("SNELSYNC_CONFIG", self.path("snelsync.toml"))
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let first = BufReader::new(serve.0.stdout.take().unwrap())
            .lines()
            .next()
            .unwrap()
            .unwrap();
        let base = first
            .strip_prefix("snelsync: listening on ")
            .unwrap_or_else(|| panic!("{first}"))
            .to_owned();
        (serve, base)
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "SNELSTART_SUBSCRIPTION_KEY",
                self.mock.subscription_key().to_owned(),
            ),
            ("SNELSTART_KOPPELSLEUTEL", self.mock.client_key().to_owned()),
            ("SNELSYNC_TOKEN", TOKEN.to_owned()),
            ("SNELSYNC_CRM_SECRET", CRM_SECRET.to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ]
    }

    /// `snelsync init` for this simulator, listening on a free port.
    pub fn init(&self) {
        let out = self.run(&[
            "init",
            "--dir",
            self.dir.path().to_str().unwrap(),
            "--admin-key",
            "bakkerij",
            "--base-url",
            &self.mock.base_url(),
            "--auth-url",
            &self.mock.auth_url(),
            "--budget",
            "unlimited",
            "--mock-chart",
        ]);
        assert_eq!(out.status.code(), Some(0));
        let path = self.path("snelsync.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("127.0.0.1:7878", "127.0.0.1:0")).unwrap();
    }

    /// Writes the CRM export and returns its path.
    pub fn export(&self) -> PathBuf {
        let path = self.path("export.json");
        std::fs::write(&path, serde_json::to_string_pretty(&export()).unwrap()).unwrap();
        path
    }
}

/// A small CRM export: two good customers, one with a KvK number that is not one (a failure
/// naming `kvk_number`), one that shares its address and e-mail domain with a relation
/// SnelStart already holds (held for review), a supplier, a project and an invoice.
pub fn export() -> Value {
    json!({
        "relations": [
            {"id": "crm-1", "kind": "customer", "number": "10001", "legal_name": "Installatiebedrijf Jansen B.V.",
             "visit_address": {"street": "Industrieweg", "house_number": "3", "postcode": "8062 CA", "city": "Zwolle", "country": "NL"},
             "email": "info@jansen-installatie.nl", "kvk_number": "60000037"},
            {"id": "crm-2", "kind": "customer", "legal_name": "Kapsalon Knip",
             "visit_address": {"street": "Markt", "house_number": "1", "postcode": "1011 AA", "city": "Amsterdam", "country": "NL"},
             "kvk_number": "12-34"},
            {"id": "crm-3", "kind": "customer", "legal_name": "Banketbakkerij De Korst",
             "visit_address": {"street": "Kerkstraat", "house_number": "2", "postcode": "3820 BA", "city": "Amersfoort", "country": "NL"},
             "email": "bestellingen@dekorst.nl"},
            {"id": "crm-4", "kind": "supplier", "legal_name": "Groothandel Meel B.V.",
             "visit_address": {"street": "Havenweg", "house_number": "7", "postcode": "3011 AB", "city": "Rotterdam", "country": "NL"},
             "email": "verkoop@meel.nl"}
        ],
        "projects": [ {"id": "p-1", "number": "1043", "description": "Verbouwing winkel"} ],
        "sales_invoices": [
            {"id": "inv-1", "number": "2026-0001", "date": "2026-01-05", "relation": "crm-1",
             "lines": [{"description": "Onderhoud", "quantity": "1", "unit_price": "100.00", "vat_category": "hoog"}]}
        ]
    })
}

/// Types a relation into the simulator's SnelStart; its id.
pub async fn create_relation(s: &Setup, relatie: Value) -> String {
    create_in(&s.mock, relatie).await
}

async fn create_in(mock: &MockServer, relatie: Value) -> String {
    let client = Client::builder()
        .base_url(mock.base_url())
        .auth_url(mock.auth_url())
        .subscription_key(mock.subscription_key())
        .koppelsleutel(mock.client_key())
        .build()
        .unwrap();
    let write: RelatieWrite = serde_json::from_value(relatie).unwrap();
    let created = client
        .execute(snelstart_client::ops::relaties::create(&write).unwrap())
        .await
        .unwrap();
    created.id.to_string()
}

pub fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
