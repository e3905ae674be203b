//! Administrations attached to a running service (the `snelsync` binary attaches the ones
//! coupled through onboarding, run by the fleet), over real HTTP on 127.0.0.1 with a real
//! SQLite store: a CRM for the onboarded administrations names one by key or ReferenceKey and
//! reaches no other; the routes of the two kinds of CRM do not mix; a ReferenceKey two
//! couplings share is refused; the runner is woken by the intake and asked to pause; a
//! detached administration takes no more changes.

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use snelstart_client::Client;
use snelstart_client::budget::BudgetConfig;
use snelstart_mock::{MockConfig, MockServer};
use snelsync_http::{
    AdminRunner, CrmEndpoint, HttpConfig, ProcessingOptions, Secret, Service, router, sign,
};
use sync_core::fleet::AdministrationStatus;
use sync_core::store::{AdminKey, QueueStore, StoreError};
use sync_core::{MemorySource, NoSink, SyncEngine};
use sync_store_sqlite::SqliteStore;

const TOKEN: &str = "status-token";
const CONFIGURED_SECRET: &str = "hubspot-secret";
const ONBOARDED_SECRET: &str = "klanten-secret";

/// What the service asked of the runner.
#[derive(Default)]
struct Recorder {
    woken: Mutex<Vec<String>>,
    paused: Mutex<Vec<(String, bool)>>,
}

impl AdminRunner for Recorder {
    fn wake(&self, admin: &AdminKey) {
        self.woken.lock().unwrap().push(admin.as_str().to_owned());
    }

    fn set_paused<'a>(
        &'a self,
        admin: &'a AdminKey,
        paused: bool,
    ) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>> {
        self.paused
            .lock()
            .unwrap()
            .push((admin.as_str().to_owned(), paused));
        Box::pin(async { Ok(()) })
    }

    fn status(&self, _admin: &AdminKey) -> Option<AdministrationStatus> {
        None
    }
}

type Engine = SyncEngine<SqliteStore, MemorySource, NoSink>;

fn engine(mock: &MockServer, store: &SqliteStore, admin: &str) -> Engine {
    let client = Client::builder()
        .base_url(mock.base_url())
        .auth_url(mock.auth_url())
        .subscription_key(mock.subscription_key())
        .koppelsleutel(mock.client_key())
        .rate_budget(BudgetConfig::unlimited())
        .build()
        .unwrap();
    SyncEngine::builder(client, AdminKey::new(admin))
        .store(store.clone())
        .source(MemorySource::default())
        .sink(NoSink)
        .config(mapping::config::MappingConfig::default_for_mock())
        .build()
}

async fn post(base: &str, path: &str, secret: &str, event: &str) -> (u16, Value) {
    let body = json!({"relations": [{"id": "c-1", "kind": "customer", "legal_name": "Drukkerij Pers B.V."}]})
        .to_string();
    let ts = chrono::Utc::now().timestamp();
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("x-snelsync-timestamp", ts.to_string())
        .header("x-snelsync-event-id", event)
        .header(
            "x-snelsync-signature",
            sign(&Secret::new(secret), ts, event, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn api(base: &str, method: reqwest::Method, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_administrations_take_changes_by_key_or_reference() {
    let mock = MockServer::start(MockConfig::new()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("state.sqlite")).unwrap();
    let config = HttpConfig::builder()
        .token(Secret::new(TOKEN))
        .crm(CrmEndpoint::new(
            "hubspot",
            Secret::new(CONFIGURED_SECRET),
            AdminKey::new("bakkerij"),
        ))
        .crm(CrmEndpoint::onboarded(
            "klanten",
            Secret::new(ONBOARDED_SECRET),
        ))
        .build();
    let service = Service::open(
        [engine(&mock, &store, "bakkerij")],
        config,
        ProcessingOptions::default().with_read_back_every(None),
    )
    .await
    .unwrap();
    let runner = Arc::new(Recorder::default());
    for (admin, reference) in [
        ("adm-a", "klant-1"),
        ("adm-b", "klant-1"),
        ("adm-c", "klant-3"),
    ] {
        assert!(service.attach(
            engine(&mock, &store, admin),
            runner.clone(),
            reference,
            false
        ));
    }
    assert!(
        !service.attach(
            engine(&mock, &store, "bakkerij"),
            runner.clone(),
            "x",
            false
        ),
        "an opened administration is never replaced"
    );
    assert!(!service.is_attached("bakkerij") && service.is_attached("adm-c"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served = service.clone();
    tokio::spawn(async move { axum::serve(listener, router(served)).await.unwrap() });

    // The routes of the two kinds of CRM do not mix.
    let (status, body) = post(&base, "/crm/klanten/changes", ONBOARDED_SECRET, "e1").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("administration_required"))
    );
    let (status, body) = post(
        &base,
        "/crm/hubspot/admins/adm-c/changes",
        CONFIGURED_SECRET,
        "e2",
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (404, Some("wrong_route")));
    let (status, body) = post(
        &base,
        "/crm/klanten/admins/bakkerij/changes",
        ONBOARDED_SECRET,
        "e3",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_administration")),
        "a configured administration is not an onboarded CRM's"
    );
    // Signed with the other CRM's secret: refused before anything else.
    let (status, _) = post(
        &base,
        "/crm/klanten/admins/adm-c/changes",
        CONFIGURED_SECRET,
        "e4",
    )
    .await;
    assert_eq!(status, 401);
    // A ReferenceKey two couplings share names neither.
    let (status, body) = post(
        &base,
        "/crm/klanten/admins/klant-1/changes",
        ONBOARDED_SECRET,
        "e5",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("ambiguous_reference"))
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("adm-a") && message.contains("adm-b"),
        "{message}"
    );
    for admin in ["adm-a", "adm-b", "adm-c", "bakkerij"] {
        assert_eq!(
            store.counts(&AdminKey::new(admin)).await.unwrap().total(),
            0,
            "nothing queued for {admin}"
        );
    }
    assert!(runner.woken.lock().unwrap().is_empty());

    // By ReferenceKey, and by key: queued for that administration, its runner woken.
    let (status, body) = post(
        &base,
        "/crm/klanten/admins/klant-3/changes",
        ONBOARDED_SECRET,
        "e6",
    )
    .await;
    assert_eq!(
        (status, body["administration"].as_str()),
        (200, Some("adm-c")),
        "{body}"
    );
    let (status, body) = post(
        &base,
        "/crm/klanten/admins/adm-a/changes",
        ONBOARDED_SECRET,
        "e7",
    )
    .await;
    assert_eq!(
        (status, body["administration"].as_str()),
        (200, Some("adm-a")),
        "{body}"
    );
    assert_eq!(
        store.counts(&AdminKey::new("adm-c")).await.unwrap().pending,
        1
    );
    assert_eq!(
        store.counts(&AdminKey::new("adm-a")).await.unwrap().pending,
        1
    );
    assert_eq!(*runner.woken.lock().unwrap(), ["adm-c", "adm-a"]);

    // Status and pause go through the service; pausing asks the runner.
    let (status, body) = api(&base, reqwest::Method::GET, "/api/admins/adm-c").await;
    assert_eq!(status, 200);
    assert_eq!(body["onboarded"]["reference_key"], "klant-3");
    assert_eq!(body["onboarded"]["held"], false);
    let (_, body) = api(&base, reqwest::Method::GET, "/api/admins/bakkerij").await;
    assert_eq!(body["onboarded"], Value::Null);
    let (status, _) = api(&base, reqwest::Method::POST, "/api/admins/adm-c/pause").await;
    assert_eq!(status, 200);
    assert_eq!(*runner.paused.lock().unwrap(), [("adm-c".to_owned(), true)]);
    assert!(service.is_paused("adm-c"));

    // Detached: no more changes, no status; the opened one cannot be detached.
    assert!(service.detach("adm-c"));
    assert!(!service.detach("bakkerij"));
    let (status, body) = post(
        &base,
        "/crm/klanten/admins/klant-3/changes",
        ONBOARDED_SECRET,
        "e8",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_administration"))
    );
    let (status, _) = api(&base, reqwest::Method::GET, "/api/admins/adm-c").await;
    assert_eq!(status, 404);
    mock.shutdown().await;
}
