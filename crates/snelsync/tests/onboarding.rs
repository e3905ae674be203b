//! `snelsync serve` with an `[onboarding]` section against snelstart-mock: the simulator's
//! activate click reaches the mounted coupling webhook and the administration is registered
//! in the store's registry (SQLite, and PostgreSQL on 127.0.0.1 as `tests/postgres.rs` finds
//! it), with the mapping its ReferenceKey names; a click signed with
//! another secret, and a request without a signature, register nothing. Without the section
//! the route does not exist.

mod support;

use base64::Engine as _;
use snelstart_mock::{CouplingAction, CouplingClick, CouplingConfig};
use support::{HOOK_PATH, Setup, WEBHOOK_SECRET, onboarding_env};
use sync_core::registry::AdministrationRegistry;
use sync_core::store::AdminKey;
use sync_store_postgres::PostgresRegistry;
use sync_store_sqlite::{SqliteRegistry, SqliteStore};

/// `snelsync init`, then the `[onboarding]` section appended: klant-42 gets its own mapping
/// file, every other reference key the default one.
fn configure(s: &Setup) {
    s.init();
    std::fs::copy(s.path("mapping.toml"), s.path("mapping-groot.toml")).unwrap();
    s.append_config(&support::onboarding_section(
        "mappings = { \"klant-42\" = \"mapping-groot.toml\" }\n",
    ));
}

/// Starts `serve` (with `store_env` choosing the store) and plays the customer's clicks;
/// `registry` is the registry in that store.
async fn activate_through_serve(
    s: &Setup,
    store_env: &[(&'static str, String)],
    registry: &impl AdministrationRegistry,
) -> AdminKey {
    let mut env = onboarding_env();
    env.extend_from_slice(store_env);
    let (serve, base) = s.serve(&env);
    let webhook = format!("{base}{HOOK_PATH}");

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

    serve.stop().await;
    admin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_registers_a_coupled_administration_on_sqlite() {
    let s = Setup::start().await.blocking(configure).await;
    let store = SqliteStore::open(s.path("snelsync.sqlite")).unwrap();
    let registry = SqliteRegistry::new(&store).await.unwrap();
    let admin = activate_through_serve(&s, &[], &registry).await;
    let s = s
        .blocking(move |s| {
            match_report_names_the_administration(s, &admin);
            check_validates_onboarding(s, &admin);
        })
        .await;
    s.mock.shutdown().await;
}

/// With a coupled administration beside the configured one, `match-report` through the
/// client needs `--admin`, and the error lists both; the coupled one is named by its
/// ReferenceKey (or key) and read with its own sealed koppelsleutel.
fn match_report_names_the_administration(s: &Setup, admin: &AdminKey) {
    let crm = s.path("crm.json");
    std::fs::write(&crm, support::export()["relations"].to_string()).unwrap();
    let crm = crm.to_str().unwrap();
    let env = onboarding_env();
    let out = s.run_with(&["match-report", crm], &env);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("name one with --admin")
            && err.contains("configured: bakkerij")
            && err.contains(&format!("onboarded: {admin} (ReferenceKey klant-42)")),
        "{err}"
    );
    let out = s.run_with(&["match-report", crm, "--admin", "klant-42"], &env);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("read from administration `{admin}`")),
        "{err}"
    );
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(lines, 4, "a line per CRM relation");
    let out = s.run_with(&["match-report", crm, "--admin", "bakkerij"], &env);
    assert_eq!(out.status.code(), Some(0));
    let out = s.run_with(&["match-report", crm, "--admin", "klant-1"], &env);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--admin klant-1: no such administration"),
    );
}

/// `check` validates `[onboarding]`: safe with everything in place; each missing or wrong
/// part is a problem naming it, and the exit code says not safe (3).
fn check_validates_onboarding(s: &Setup, admin: &AdminKey) {
    let check = |env: &[(&str, String)]| {
        let out = s.run_with(&["check", "--json"], env);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), json)
    };
    let (code, json) = check(&onboarding_env());
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["onboarding"]["safe"], true, "{json}");
    assert_eq!(json["onboarding"]["registered"], 1);

    // No secret, no master keys.
    let (code, json) = check(&[]);
    assert_eq!(code, Some(3), "{json}");
    let problems = json["onboarding"]["problems"].to_string();
    assert!(
        problems.contains("SNELSYNC_COUPLING_SECRET") && problems.contains("SNELSYNC_MASTER_KEYS"),
        "{problems}"
    );
    assert_eq!(json["safe_to_sync"], false);

    // Other master keys: the registered administration's key no longer opens.
    let other = base64::engine::general_purpose::STANDARD.encode([8u8; 32]);
    let mut env = onboarding_env();
    env[1].1 = format!("k2={other}");
    let (code, json) = check(&env);
    assert_eq!(code, Some(3), "{json}");
    let problems = json["onboarding"]["problems"].to_string();
    assert!(
        problems.contains(&format!("onboarded administration {admin}"))
            && problems.contains("does not open"),
        "{problems}"
    );

    // A ReferenceKey whose mapping file is missing, and the registered administration's
    // mapping no longer named.
    let path = s.path("snelsync.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            r#"mappings = { "klant-42" = "mapping-groot.toml" }"#,
            r#"mappings = { "klant-9" = "ontbreekt.toml" }"#,
        ),
    )
    .unwrap();
    let (code, json) = check(&onboarding_env());
    assert_eq!(code, Some(3), "{json}");
    let problems = json["onboarding"]["problems"].to_string();
    assert!(
        problems.contains("ReferenceKey `klant-9`") && problems.contains("ontbreekt.toml"),
        "{problems}"
    );
    assert!(
        problems.contains("records mapping `mapping-groot.toml`"),
        "{problems}"
    );
    std::fs::write(&path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_registers_a_coupled_administration_on_postgres() {
    let s = Setup::start().await.blocking(configure).await;
    let (store, url) = support::postgres_schema("t_onb").await;
    let registry = PostgresRegistry::new(&store).await.unwrap();
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
    let s = Setup::start().await.blocking(Setup::init).await;
    let (serve, base) = s.serve(&onboarding_env());
    let r = reqwest::Client::new()
        .post(format!("{base}{}", snelsync_http::coupling::DEFAULT_PATH))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    serve.stop().await;
    s.mock.shutdown().await;
}
