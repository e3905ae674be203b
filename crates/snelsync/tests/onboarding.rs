//! `snelsync serve` with an `[onboarding]` section against snelstart-mock: the simulator's
//! activate click reaches the mounted coupling webhook and the administration is registered
//! in the store's registry (SQLite, and PostgreSQL on 127.0.0.1 as `tests/postgres.rs` finds
//! it), with the mapping its ReferenceKey names; a click signed with
//! another secret, and a request without a signature, register nothing. Without the section
//! the route does not exist.

mod support;

use std::process::Command;

use base64::Engine as _;
use snelstart_mock::{CouplingAction, CouplingClick, CouplingConfig};
use support::Setup;
use sync_core::registry::AdministrationRegistry;
use sync_core::store::AdminKey;
use sync_store_postgres::{PostgresOptions, PostgresRegistry, PostgresStore};
use sync_store_sqlite::{SqliteRegistry, SqliteStore};

const WEBHOOK_SECRET: &str = "koppel-webhook-geheim";
const PATH: &str = "/hooks/snelstart";

/// `snelsync init`, then the `[onboarding]` section appended: klant-42 gets its own mapping
/// file, every other reference key the default one.
fn configure(s: &Setup) {
    s.init();
    std::fs::copy(s.path("mapping.toml"), s.path("mapping-groot.toml")).unwrap();
    let path = s.path("snelsync.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!(
        r#"
[onboarding]
path = "{PATH}"
secret_env = "SNELSYNC_COUPLING_SECRET"
master_keys_env = "SNELSYNC_MASTER_KEYS"
default_mapping = "mapping.toml"
mappings = {{ "klant-42" = "mapping-groot.toml" }}
"#
    ));
    std::fs::write(&path, text).unwrap();
}

fn onboarding_env() -> Vec<(&'static str, String)> {
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    vec![
        ("SNELSYNC_COUPLING_SECRET", WEBHOOK_SECRET.to_owned()),
        ("SNELSYNC_MASTER_KEYS", format!("k1={key}")),
    ]
}

fn stop(mut serve: support::Killed) {
    let pid = serve.0.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    assert_eq!(serve.0.wait().unwrap().code(), Some(0));
}

/// Starts `serve` (with `store_env` choosing the store) and plays the customer's clicks;
/// `registry` is the registry in that store.
async fn activate_through_serve(
    s: &Setup,
    store_env: &[(&'static str, String)],
    registry: &impl AdministrationRegistry,
) {
    let mut env = onboarding_env();
    env.extend_from_slice(store_env);
    let (serve, base) = s.serve(&env);
    let webhook = format!("{base}{PATH}");

    // Signed with another secret: refused, nothing registered.
    s.mock
        .set_coupling_webhook(CouplingConfig::new(&webhook, "een ander geheim"))
        .unwrap();
    let delivery = s
        .mock
        .couple(CouplingClick::new(CouplingAction::Create, 0).reference_key("klant-42"))
        .await
        .unwrap();
    assert_eq!(
        (delivery.webhook_status, delivery.delivered),
        (Some(401), false)
    );
    let unsigned = reqwest::Client::new()
        .post(&webhook)
        .header("content-type", "application/json")
        .body(r#"{"KoppelSleutel":"k","ActionType":"Create","ReferenceKey":"klant-1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401, "unsigned");
    assert!(
        registry
            .list_administrations(None, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing registered without a valid signature"
    );

    // With the configured secret. The refused Create left the simulator's coupling in place:
    // the customer deletes it (nothing registered here to remove) and activates again.
    s.mock
        .set_coupling_webhook(CouplingConfig::new(&webhook, WEBHOOK_SECRET))
        .unwrap();
    let delivery = s
        .mock
        .couple(CouplingClick::new(CouplingAction::Delete, 0))
        .await
        .unwrap();
    assert!(delivery.delivered, "{delivery:?}");
    let delivery = s
        .mock
        .couple(CouplingClick::new(CouplingAction::Create, 0).reference_key("klant-42"))
        .await
        .unwrap();
    assert!(delivery.delivered, "{delivery:?}");
    let admin = AdminKey::new(delivery.administratie_identifier.to_string());
    let record = registry
        .administration(&admin)
        .await
        .unwrap()
        .expect("registered by the webhook");
    assert_eq!(record.reference_key, "klant-42");
    assert_eq!(record.mapping_config, "mapping-groot.toml");
    assert_eq!(
        registry.list_administrations(None, 10).await.unwrap().len(),
        1
    );

    stop(serve);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_registers_a_coupled_administration_on_sqlite() {
    let s = Setup::start().await;
    let s = tokio::task::spawn_blocking(move || {
        configure(&s);
        s
    })
    .await
    .unwrap();
    let store = SqliteStore::open(s.path("snelsync.sqlite")).unwrap();
    let registry = SqliteRegistry::new(&store).await.unwrap();
    activate_through_serve(&s, &[], &registry).await;
    s.mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_registers_a_coupled_administration_on_postgres() {
    let database = std::env::var("SNELSYNC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("t_onb_{}", uuid::Uuid::new_v4().simple());
    let s = Setup::start().await;
    let s = tokio::task::spawn_blocking(move || {
        configure(&s);
        s
    })
    .await
    .unwrap();
    let store = PostgresStore::connect(&database, PostgresOptions::default().schema(&schema))
        .await
        .unwrap();
    let registry = PostgresRegistry::new(&store).await.unwrap();
    let url = format!("{database}?schema={schema}");
    activate_through_serve(&s, &[("SNELSYNC_STORE", url)], &registry).await;
    assert!(
        !s.path("snelsync.sqlite").exists(),
        "the registry beside the PostgreSQL store, not in SQLite"
    );
    store.drop_schema().await.unwrap();
    s.mock.shutdown().await;
}

/// Without `[onboarding]` the webhook is not mounted: its path answers 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_section_there_is_no_webhook() {
    let s = Setup::start().await;
    let s = tokio::task::spawn_blocking(move || {
        s.init();
        s
    })
    .await
    .unwrap();
    let (serve, base) = s.serve(&onboarding_env());
    let r = reqwest::Client::new()
        .post(format!("{base}{}", snelsync_http::coupling::DEFAULT_PATH))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    stop(serve);
    s.mock.shutdown().await;
}
