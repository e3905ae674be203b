//! Onboarding end to end over real HTTP on 127.0.0.1: the simulator's activate click POSTs
//! the signed coupling webhook to the router, which registers the administration through an
//! `OnboardingService`; a relation syncs through it; Regenerate rotates the key (the old one
//! is refused, work goes on with the new one); Delete stops the work and the key is gone from
//! the database (checked in SQL, on SQLite and on PostgreSQL); bad signatures, stale
//! timestamps, replays and unknown reference keys are refused with nothing registered.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crm_model::{Relation, RelationKind};
use futures::FutureExt;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use snelstart_client::budget::BudgetConfig;
use snelstart_client::retry::RetryPolicy;
use snelstart_mock::{AdministrationConfig, CouplingAction, CouplingClick, MockConfig, MockServer};
use snelsync_http::{CouplingWebhook, HttpConfig, ProcessingOptions, Secret, Service, router};
use sync_core::keys::{KeyId, KeyRing, MasterKey, Sealer};
use sync_core::onboarding::{ClientTemplate, CouplingHooks, OnboardingService, WebhookVerifier};
use sync_core::registry::{AdministrationRecord, AdministrationRegistry};
use sync_core::store::{AdminKey, Store};
use sync_core::{Action, CrmChange, MemorySource, NoSink, SyncEngine};

const SECRET: &str = "koppel-webhook-geheim";
const PATH: &str = "/hooks/snelstart";

/// What the host's workers were told.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl CouplingHooks for Recorder {
    async fn registered(&self, record: &AdministrationRecord) {
        self.0
            .lock()
            .unwrap()
            .push(format!("start {}", record.admin));
    }
    async fn key_replaced(&self, admin: &AdminKey) {
        self.0.lock().unwrap().push(format!("rekey {admin}"));
    }
    async fn stop(&self, admin: &AdminKey) {
        self.0.lock().unwrap().push(format!("stop {admin}"));
    }
}

fn lookup(reference: &str) -> Option<String> {
    reference
        .starts_with("klant-")
        .then(|| "standaard".to_owned())
}

/// Two companies nothing alike (a look-alike of the first would rightly go to review).
const NAMES: [&str; 2] = [
    "Bakkerij De Gekoppelde Korst B.V.",
    "Loodgietersbedrijf Sleutelaar",
];

fn relation(i: u32) -> Relation {
    let mut r = Relation::new(
        format!("crm-{i}"),
        RelationKind::Customer,
        NAMES[i as usize - 1],
    );
    r.number = Some(format!("{}", 40_000 + i));
    r
}

/// Reads the stored sealed key of an administration with SQL (`None`: no row) and counts
/// the rows holding a given text anywhere in `sealed_key`.
trait SqlProbe {
    fn sealed_key(&self, admin: &str) -> impl Future<Output = Option<String>>;
    fn rows(&self) -> impl Future<Output = i64>;
}

/// A webhook request signed now (or at `ts`) with `secret`.
async fn post_webhook(
    http: &reqwest::Client,
    url: &str,
    body: &str,
    ts: i64,
    secret: &str,
) -> (u16, Value) {
    let signer = WebhookVerifier::new(
        SecretString::from(secret.to_owned()),
        Duration::from_secs(300),
    );
    let r = http
        .post(url)
        .header("X-Snelsync-Timestamp", ts.to_string())
        .header("X-Snelsync-Signature", signer.sign(ts, body.as_bytes()))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn token_answer(mock: &MockServer, key: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(mock.auth_url())
        .form(&[("grant_type", "clientkey"), ("clientkey", key)])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The whole flow with `registry` (and `store` for the engine), checking the database with
/// `probe`.
async fn coupling_flow<R, S>(registry: R, store: S, probe: impl SqlProbe)
where
    R: AdministrationRegistry + Clone + Send + Sync + 'static,
    S: Store + Clone + 'static,
{
    // The router's address first: the simulator must know where to send the webhook.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let webhook_url = format!("http://{}{PATH}", listener.local_addr().unwrap());
    let mock = MockServer::start(
        MockConfig::new()
            .with_administration(AdministrationConfig::new("tweede").with_name("Tweede B.V."))
            .with_coupling_webhook(webhook_url.clone(), SECRET),
    )
    .await
    .unwrap();
    let template = ClientTemplate::new(SecretString::from(mock.subscription_key().to_owned()))
        .urls(mock.base_url(), mock.auth_url())
        .budget(BudgetConfig::unlimited())
        .retry_policy(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(5), Duration::from_millis(50))
                .with_max_attempts(2),
        );
    let sealer =
        Sealer::new(KeyRing::new(MasterKey::generate(KeyId::new("k1").unwrap()), []).unwrap());
    let hooks = Recorder::default();
    let onboarding = Arc::new(
        OnboardingService::new(registry.clone(), sealer, template, lookup).hooks(hooks.clone()),
    );
    let config = HttpConfig::builder()
        .coupling_webhook(
            CouplingWebhook::new(Secret::new(SECRET), onboarding.clone())
                .unwrap()
                .path(PATH)
                .unwrap(),
        )
        .build();
    let service = Service::<S, MemorySource, NoSink>::open(
        Vec::new(),
        config,
        ProcessingOptions::default().with_read_back_every(None),
    )
    .await
    .unwrap();
    tokio::spawn(async move { axum::serve(listener, router(service)).await.unwrap() });
    let http = reqwest::Client::new();
    let engine_for = |client: snelstart_client::Client, admin: &AdminKey| {
        SyncEngine::builder(client, admin.clone())
            .store(store.clone())
            .source(MemorySource::default())
            .sink(NoSink)
            .config(mapping::config::MappingConfig::default_for_mock())
            .build()
    };
    let names_in = |index: usize| -> Vec<String> {
        mock.state_json()[index]["relaties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["naam"].as_str().unwrap_or_default().to_owned())
            .collect()
    };

    // --- Refusals first: nothing may be registered by them. --------------------------------
    let now = chrono::Utc::now().timestamp();
    let create_default = json!({
        "KoppelSleutel": mock.client_key(), "ActionType": "Create", "ReferenceKey": "klant-1"
    })
    .to_string();
    let (status, body) = post_webhook(&http, &webhook_url, &create_default, now, "fout").await;
    assert_eq!(status, 401, "bad signature: {body}");
    let (status, _) = post_webhook(&http, &webhook_url, &create_default, now - 3600, SECRET).await;
    assert_eq!(status, 401, "stale timestamp");
    let r = http
        .post(&webhook_url)
        .header("content-type", "application/json")
        .body(create_default.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "unsigned");
    let unknown_reference = json!({
        "KoppelSleutel": mock.client_key(), "ActionType": "Create", "ReferenceKey": "onbekend"
    })
    .to_string();
    let (status, body) = post_webhook(&http, &webhook_url, &unknown_reference, now, SECRET).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("onbekend"),
        "{body}"
    );
    assert!(!body.to_string().contains(mock.client_key()), "{body}");
    assert!(
        registry
            .list_administrations(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(probe.rows().await, 0, "nothing registered");

    // --- The activate click: Create. -----------------------------------------------------
    let delivery = mock
        .couple(CouplingClick::new(CouplingAction::Create, 1).reference_key("klant-42"))
        .await
        .unwrap();
    assert!(delivery.delivered, "{delivery:?}");
    let admin = AdminKey::new(delivery.administratie_identifier.to_string());
    let record = registry
        .administration(&admin)
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(record.mapping_config, "standaard");
    assert_eq!(record.reference_key, "klant-42");
    let first_key = onboarding.koppelsleutel(&admin).await.unwrap();
    let sealed = probe.sealed_key(admin.as_str()).await.expect("a row");
    assert!(sealed.starts_with("v1.k1."), "{sealed}");
    assert!(
        !sealed.contains(first_key.expose_secret()),
        "sealed, not in clear"
    );
    assert_eq!(probe.rows().await, 1);

    // One relation syncs through it, into the coupled administration only.
    let old_client = onboarding.client_for(&admin).await.unwrap();
    let engine = engine_for(old_client.clone(), &admin);
    engine
        .submit(CrmChange::relation(relation(1)))
        .await
        .unwrap();
    let report = engine.sync().await.unwrap();
    assert_eq!(report.total(Action::Created), 1, "{report}");
    assert!(names_in(1).contains(&NAMES[0].to_owned()));
    assert!(
        !names_in(0).contains(&NAMES[0].to_owned()),
        "not in the other administration"
    );

    // A second delivery of the same coupling changes nothing (written in camelCase, so it is
    // not byte for byte the simulator's request, which would be a replay).
    let same = json!({
        "koppelSleutel": first_key.expose_secret(), "actionType": "Create", "referenceKey": "klant-42"
    })
    .to_string();
    let ts = chrono::Utc::now().timestamp();
    let (status, body) = post_webhook(&http, &webhook_url, &same, ts, SECRET).await;
    assert_eq!((status, body["outcome"].as_str()), (200, Some("unchanged")));
    // The very same signed request again is a replay.
    let (status, _) = post_webhook(&http, &webhook_url, &same, ts, SECRET).await;
    assert_eq!(status, 401, "replay");

    // --- Regenerate: the old key is refused, work goes on with the new one. ---------------
    let delivery = mock
        .couple(CouplingClick::new(CouplingAction::Regenerate, 1))
        .await
        .unwrap();
    assert!(delivery.delivered, "{delivery:?}");
    let new_key = onboarding.koppelsleutel(&admin).await.unwrap();
    assert_ne!(new_key.expose_secret(), first_key.expose_secret());
    let (status, body) = token_answer(&mock, first_key.expose_secret()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        old_client
            .execute(snelstart_client::ops::company_info::get())
            .await
            .is_err(),
        "a client with the old key no longer gets in"
    );
    let new_sealed = probe.sealed_key(admin.as_str()).await.expect("a row");
    assert_ne!(new_sealed, sealed, "the stored key was replaced");
    let engine = engine_for(onboarding.client_for(&admin).await.unwrap(), &admin);
    engine
        .submit(CrmChange::relation(relation(2)))
        .await
        .unwrap();
    let report = engine.sync().await.unwrap();
    assert_eq!(report.total(Action::Created), 1, "{report}");
    assert!(names_in(1).contains(&NAMES[1].to_owned()));

    // --- Delete: work stops, the key is gone from the database. ----------------------------
    let delivery = mock
        .couple(CouplingClick::new(CouplingAction::Delete, 1))
        .await
        .unwrap();
    assert!(delivery.delivered, "{delivery:?}");
    assert!(registry.administration(&admin).await.unwrap().is_none());
    assert_eq!(probe.sealed_key(admin.as_str()).await, None, "row deleted");
    assert_eq!(probe.rows().await, 0, "no sealed key left at all");
    assert_eq!(token_answer(&mock, new_key.expose_secret()).await.0, 400);
    // Delivered again (another request: camelCase names): nothing left to do.
    let again = json!({
        "koppelSleutel": new_key.expose_secret(), "actionType": "delete", "referenceKey": "klant-42"
    })
    .to_string();
    let (status, body) = post_webhook(
        &http,
        &webhook_url,
        &again,
        chrono::Utc::now().timestamp(),
        SECRET,
    )
    .await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("not_registered"))
    );
    assert_eq!(
        *hooks.0.lock().unwrap(),
        vec![
            format!("start {admin}"),
            format!("rekey {admin}"),
            format!("stop {admin}")
        ]
    );

    // A captured Create replayed after its coupling was deleted registers nothing.
    let ts = chrono::Utc::now().timestamp();
    let (status, body) = post_webhook(&http, &webhook_url, &create_default, ts, SECRET).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("registered"))
    );
    let first_admin = AdminKey::new(body["administration"].as_str().unwrap());
    let delete_default = json!({
        "koppelSleutel": mock.client_key(), "actionType": "Delete", "referenceKey": "klant-1"
    })
    .to_string();
    let (status, body) = post_webhook(&http, &webhook_url, &delete_default, ts, SECRET).await;
    assert_eq!((status, body["outcome"].as_str()), (200, Some("removed")));
    let (status, _) = post_webhook(&http, &webhook_url, &create_default, ts, SECRET).await;
    assert_eq!(status, 401, "replay");
    assert!(
        registry
            .administration(&first_admin)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(probe.rows().await, 0, "nothing registered by the replay");
    mock.shutdown().await;
}

struct SqliteProbe(std::path::PathBuf);

impl SqlProbe for SqliteProbe {
    async fn sealed_key(&self, admin: &str) -> Option<String> {
        let conn = rusqlite::Connection::open(&self.0).unwrap();
        let mut stmt = conn
            .prepare("SELECT sealed_key FROM administrations WHERE admin = ?1")
            .unwrap();
        let mut rows = stmt.query([admin]).unwrap();
        rows.next().unwrap().map(|r| r.get(0).unwrap())
    }

    async fn rows(&self) -> i64 {
        let conn = rusqlite::Connection::open(&self.0).unwrap();
        conn.query_row("SELECT count(*) FROM administrations", [], |r| r.get(0))
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn onboarding_end_to_end_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let store = sync_store_sqlite::SqliteStore::open(&path).unwrap();
    let registry = sync_store_sqlite::SqliteRegistry::new(&store)
        .await
        .unwrap();
    coupling_flow(registry, store, SqliteProbe(path)).await;
}

fn database_url() -> String {
    std::env::var("SNELSYNC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

struct PostgresProbe(String);

impl PostgresProbe {
    async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&database_url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
    }
}

impl SqlProbe for PostgresProbe {
    async fn sealed_key(&self, admin: &str) -> Option<String> {
        let sql = format!(
            "SELECT sealed_key FROM \"{}\".administrations WHERE admin = $1",
            self.0
        );
        let rows = self.client().await.query(&sql, &[&admin]).await.unwrap();
        rows.first().map(|r| r.get(0))
    }

    async fn rows(&self) -> i64 {
        let sql = format!("SELECT count(*) FROM \"{}\".administrations", self.0);
        self.client()
            .await
            .query_one(&sql, &[])
            .await
            .unwrap()
            .get(0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn onboarding_end_to_end_on_postgres() {
    let schema = format!("t_{:016x}", rand::rng().random::<u64>());
    let store = sync_store_postgres::PostgresStore::connect(
        &database_url(),
        sync_store_postgres::PostgresOptions::default()
            .schema(&schema)
            .max_connections(6),
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "PostgreSQL test database not reachable ({e}); start PostgreSQL on 127.0.0.1:5432 \
             with a database `test`, or set SNELSYNC_TEST_DATABASE_URL"
        )
    });
    let registry = sync_store_postgres::PostgresRegistry::new(&store)
        .await
        .unwrap();
    let outcome = std::panic::AssertUnwindSafe(coupling_flow(
        registry,
        store,
        PostgresProbe(schema.clone()),
    ))
    .catch_unwind()
    .await;
    let probe = PostgresProbe(schema.clone());
    probe
        .client()
        .await
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Without the configuration the route does not exist: the webhook is never open by default.
#[tokio::test]
async fn the_webhook_is_not_mounted_without_configuration() {
    let service = Service::<sync_core::store::MemoryStore, MemorySource, NoSink>::open(
        Vec::new(),
        HttpConfig::builder().build(),
        ProcessingOptions::default(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(service)).await.unwrap() });
    let body = r#"{"KoppelSleutel":"k","ActionType":"Create","ReferenceKey":"klant-1"}"#;
    let ts = chrono::Utc::now().timestamp();
    for path in [PATH, snelsync_http::coupling::DEFAULT_PATH] {
        let (status, _) = post_webhook(
            &reqwest::Client::new(),
            &format!("{base}{path}"),
            body,
            ts,
            SECRET,
        )
        .await;
        assert_eq!(status, 404, "{path}");
    }
}
