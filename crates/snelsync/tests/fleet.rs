//! `snelsync serve` syncs an administration coupled through onboarding with the fleet runner,
//! end to end over HTTP on 127.0.0.1 against snelstart-mock (SQLite, and PostgreSQL as
//! `tests/postgres.rs` finds it): the simulator's activate click reaches the webhook, the CRM
//! posts the new administration's changes to `/crm/{crm}/admins/{ReferenceKey}/changes`, and
//! the records appear in that administration in SnelStart, written with the coupled
//! koppelsleutel (the simulator's writer fingerprints say so, not the engine's own account).
//! Its status shows the fleet's view; pause releases it and keeps changes queued, resume sends
//! them; SIGTERM releases the lease and a restart serves the administration from the
//! registry; after Regenerate the next change is written with the new key; Delete stops its
//! work and its intake.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use snelstart_mock::{
    AdministrationConfig, CouplingAction, CouplingClick, CouplingConfig, MockConfig,
};
use support::{HOOK_PATH, Setup, WEBHOOK_SECRET};
use sync_core::registry::{AdministrationLeases, AdministrationRegistry};
use sync_core::store::AdminKey;
use sync_store_postgres::PostgresRegistry;
use sync_store_sqlite::{SqliteRegistry, SqliteStore};

/// The secret of the CRM that feeds the onboarded administrations.
const KLANTEN_SECRET: &str = "klanten-crm-geheim";
/// The configured key of the simulator's second administration (the one coupled here).
const SECOND_KEY: &str = "sleutel-tweede-administratie";
const REFERENCE: &str = "klant-7";

/// `snelsync init`, then `[onboarding]` (a short lease, so the test also sees renewals) and a
/// CRM for the onboarded administrations.
fn configure(s: &Setup) {
    s.init();
    s.append_config(&support::onboarding_section(
        r#"workers = 2
lease_seconds = 6

[[crm]]
name = "klanten"
secret_env = "SNELSYNC_KLANTEN_SECRET"
onboarded = true
"#,
    ));
}

fn env(store_env: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut env = support::onboarding_env();
    env.push(("SNELSYNC_KLANTEN_SECRET", KLANTEN_SECRET.to_owned()));
    env.extend_from_slice(store_env);
    env
}

/// Posts a signed change for the onboarded administration named `admin` (key or ReferenceKey).
async fn post(base: &str, admin: &str, event: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let ts = chrono::Utc::now().timestamp();
    let sig = snelsync_http::sign(
        &snelsync_http::Secret::new(KLANTEN_SECRET),
        ts,
        event,
        body.as_bytes(),
    );
    let r = reqwest::Client::new()
        .post(format!("{base}/crm/klanten/admins/{admin}/changes"))
        .header("x-snelsync-timestamp", ts.to_string())
        .header("x-snelsync-event-id", event)
        .header("x-snelsync-signature", sig)
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
        .bearer_auth(support::TOKEN)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// `GET /_mock/writers` over HTTP: the writers of the simulator's administration `index`.
async fn writers(s: &Setup, index: usize) -> Value {
    let all: Value = reqwest::Client::new()
        .get(format!(
            "{}/_mock/writers",
            s.mock.base_url().trim_end_matches("/v2")
        ))
        .header("Ocp-Apim-Subscription-Key", s.mock.subscription_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .find(|a| a["administration"] == index)
        .cloned()
        .unwrap()
}

/// The names of the relations in the simulator's administration `index`.
fn relation_names(s: &Setup, index: usize) -> Vec<String> {
    s.mock.state_json()[index]["relaties"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|r| r["naam"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The id of the relation named `name` in the simulator's administration `index`.
fn relation_id(s: &Setup, index: usize, name: &str) -> String {
    s.mock.state_json()[index]["relaties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["naam"] == name)
        .and_then(|r| r["id"].as_str())
        .unwrap()
        .to_owned()
}

/// Polls (bounded: 20 s in steps of 50 ms) until `done`.
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..400 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not reached within 20 s: {what}");
}

fn relation(id: &str, name: &str, kind: &str) -> Value {
    json!({"id": id, "kind": kind, "legal_name": name,
           "visit_address": {"street": "Dorpsstraat", "house_number": "9", "postcode": "1234 AB", "city": "Ergens", "country": "NL"}})
}

async fn the_onboarded_administration_is_synced(
    s: &Setup,
    store_env: &[(&'static str, String)],
    registry: &(impl AdministrationRegistry + AdministrationLeases),
) {
    let env = env(store_env);
    let (serve, base) = s.serve(&env);
    s.mock
        .set_coupling_webhook(CouplingConfig::new(
            format!("{base}{HOOK_PATH}"),
            WEBHOOK_SECRET,
        ))
        .unwrap();

    // Before the coupling the CRM's changes for its customer have nowhere to go.
    let first = json!({
        "relations": [relation("k7-1", "Schildersbedrijf Verf B.V.", "customer"),
                      relation("k7-2", "Houthandel Plank B.V.", "supplier")],
        "sales_invoices": [{"id": "k7-inv-1", "number": "K7-0001", "date": "2026-01-05", "relation": "k7-1",
            "lines": [{"description": "Schilderwerk", "quantity": "1", "unit_price": "250.00", "vat_category": "hoog"}]}]
    });
    let (status, answer) = post(&base, REFERENCE, "k7-ev-0", &first).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (404, Some("unknown_administration")),
        "{answer}"
    );

    // The customer's activate click for the simulator's second administration.
    let delivery = s
        .mock
        .couple(CouplingClick::new(CouplingAction::Create, 1).reference_key(REFERENCE))
        .await
        .unwrap();
    assert!(delivery.delivered, "{delivery:?}");
    let admin = AdminKey::new(delivery.administratie_identifier.to_string());

    // The CRM posts by its own reference; the answer names the administration.
    let (status, answer) = post(&base, REFERENCE, "k7-ev-1", &first).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 3, "{answer}");
    assert_eq!(answer["administration"], admin.as_str());

    // Written into the second administration, by the coupled key: not its configured key,
    // not the first administration's.
    eventually("two relations and the invoice in SnelStart", async || {
        let w = writers(s, 1).await;
        let records = w["records"].as_array().unwrap();
        let count = |resource: &str| records.iter().filter(|r| r["resource"] == resource).count();
        count("relaties") == 2 && count("verkoopboekingen") == 1
    })
    .await;
    let w = writers(s, 1).await;
    let configured = s.mock.key_fingerprint(SECOND_KEY);
    let first_admin = s.mock.key_fingerprint(s.mock.client_key());
    let coupled: Vec<&str> = w["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|k| *k != configured)
        .collect();
    assert_eq!(coupled.len(), 1, "the coupling's key opens it: {w}");
    for record in w["records"].as_array().unwrap() {
        assert_eq!(record["createdBy"], coupled[0], "{record}");
        assert_ne!(record["createdBy"], first_admin.as_str());
        assert_eq!(record["updatedBy"], json!([]), "{record}");
    }
    let names = relation_names(s, 1);
    assert!(
        names.iter().any(|n| n == "Schildersbedrijf Verf B.V."),
        "{names:?}"
    );
    assert!(
        !relation_names(s, 0)
            .iter()
            .any(|n| n == "Schildersbedrijf Verf B.V."),
        "nothing in the first administration"
    );
    // The first administration holds only the relation the setup typed in.
    let first_records = writers(s, 0).await["records"].clone();
    assert_eq!(
        first_records.as_array().unwrap().len(),
        1,
        "{first_records}"
    );
    assert_eq!(first_records[0]["createdBy"], first_admin.as_str());

    // Its status: the fleet holds it, the queue is done, nothing failed.
    let path = format!("/api/admins/{admin}");
    eventually("the status shows the fleet's slices", async || {
        let (status, body) = api(&base, reqwest::Method::GET, &path).await;
        status == 200 && body["onboarded"]["items"].as_u64().unwrap_or(0) >= 3
    })
    .await;
    let (_, body) = api(&base, reqwest::Method::GET, &path).await;
    assert_eq!(body["onboarded"]["reference_key"], REFERENCE, "{body}");
    assert_eq!(body["onboarded"]["held"], true, "{body}");
    assert_eq!(body["queue"]["done"], 3, "{body}");
    assert_eq!(body["failures"], json!([]), "{body}");
    let (_, all) = api(&base, reqwest::Method::GET, "/api/admins").await;
    let keys: Vec<&str> = all["administrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["admin"].as_str())
        .collect();
    assert_eq!(
        keys.len(),
        2,
        "the configured and the onboarded one: {keys:?}"
    );
    assert!(keys.contains(&"bakkerij") && keys.contains(&admin.as_str()));

    // Pause: kept in the registry, the lease released; a change is queued, not sent.
    let (status, _) = api(&base, reqwest::Method::POST, &format!("{path}/pause")).await;
    assert_eq!(status, 200);
    let record = registry.administration(&admin).await.unwrap().unwrap();
    assert!(record.paused, "paused in the registry");
    assert_eq!(registry.lease_of(&admin).await.unwrap(), None, "released");
    let (_, body) = api(&base, reqwest::Method::GET, &path).await;
    assert_eq!(
        (
            body["paused"].as_bool(),
            body["onboarded"]["held"].as_bool()
        ),
        (Some(true), Some(false)),
        "{body}"
    );
    let second = json!({"relations": [relation("k7-3", "Glashandel Ruit B.V.", "customer")]});
    let (status, answer) = post(&base, admin.as_str(), "k7-ev-2", &second).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );
    let (_, body) = api(&base, reqwest::Method::GET, &path).await;
    assert_eq!(body["queue"]["pending"], 1, "queued while paused: {body}");
    assert!(
        !relation_names(s, 1)
            .iter()
            .any(|n| n == "Glashandel Ruit B.V.")
    );

    // Resume: the fleet takes it again and sends what waited.
    let (status, _) = api(&base, reqwest::Method::POST, &format!("{path}/resume")).await;
    assert_eq!(status, 200);
    eventually("the change queued while paused is written", async || {
        relation_names(s, 1)
            .iter()
            .any(|n| n == "Glashandel Ruit B.V.")
    })
    .await;

    // SIGTERM releases the fleet's lease.
    serve.stop().await;
    assert_eq!(
        registry.lease_of(&admin).await.unwrap(),
        None,
        "released on a graceful stop"
    );

    // A restart serves it from the registry.
    let (serve, base) = s.serve(&env);
    s.mock
        .set_coupling_webhook(CouplingConfig::new(
            format!("{base}{HOOK_PATH}"),
            WEBHOOK_SECRET,
        ))
        .unwrap();
    let third = json!({"relations": [relation("k7-4", "Tegelzetter Voeg", "customer")]});
    let (status, answer) = post(&base, REFERENCE, "k7-ev-3", &third).await;
    assert_eq!(status, 200, "{answer}");
    eventually("written after the restart", async || {
        relation_names(s, 1).iter().any(|n| n == "Tegelzetter Voeg")
    })
    .await;
    let lease = registry.lease_of(&admin).await.unwrap().expect("leased");
    assert!(lease.fence >= 2, "a new lease after the release: {lease:?}");

    // Regenerate: the old key is refused from now on; the next change is written with the
    // new one (the fleet rebuilt its client).
    let old_key = coupled[0].to_owned();
    let delivery = s
        .mock
        .couple(CouplingClick::new(CouplingAction::Regenerate, 1))
        .await
        .unwrap();
    assert!(delivery.delivered, "{delivery:?}");
    let fifth = json!({"relations": [relation("k7-6", "Na Vernieuwen B.V.", "customer")]});
    let (status, answer) = post(&base, REFERENCE, "k7-ev-5", &fifth).await;
    assert_eq!(status, 200, "{answer}");
    eventually("written after Regenerate", async || {
        relation_names(s, 1)
            .iter()
            .any(|n| n == "Na Vernieuwen B.V.")
    })
    .await;
    let id = relation_id(s, 1, "Na Vernieuwen B.V.");
    let w = writers(s, 1).await;
    let record = w["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .cloned()
        .unwrap();
    let new_key = record["createdBy"].as_str().unwrap();
    assert!(
        new_key != old_key && new_key != configured && new_key != first_admin,
        "written with the regenerated key: {record}"
    );
    assert!(
        w["keys"].as_array().unwrap().iter().any(|k| k == new_key),
        "{w}"
    );

    // Delete: the work stops, the intake refuses, the status is gone, the row is deleted.
    let delivery = s
        .mock
        .couple(CouplingClick::new(CouplingAction::Delete, 1))
        .await
        .unwrap();
    assert!(delivery.delivered, "{delivery:?}");
    assert!(registry.administration(&admin).await.unwrap().is_none());
    assert_eq!(registry.lease_of(&admin).await.unwrap(), None);
    let (status, _) = api(&base, reqwest::Method::GET, &path).await;
    assert_eq!(status, 404, "no status after Delete");
    let fourth = json!({"relations": [relation("k7-5", "Na Verwijderen B.V.", "customer")]});
    let (status, answer) = post(&base, REFERENCE, "k7-ev-4", &fourth).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (404, Some("unknown_administration")),
        "{answer}"
    );
    let (_, all) = api(&base, reqwest::Method::GET, "/api/admins").await;
    assert_eq!(all["administrations"].as_array().unwrap().len(), 1);
    serve.stop().await;
    assert!(
        !relation_names(s, 1)
            .iter()
            .any(|n| n == "Na Verwijderen B.V.")
    );
}

async fn setup() -> Setup {
    let config = MockConfig::new().with_administration(
        AdministrationConfig::new(SECOND_KEY).with_name("Schildersbedrijf Tweede"),
    );
    Setup::start_with(config).await.blocking(configure).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_syncs_a_coupled_administration_on_sqlite() {
    let s = setup().await;
    let store = SqliteStore::open(s.path("snelsync.sqlite")).unwrap();
    let registry = SqliteRegistry::new(&store).await.unwrap();
    the_onboarded_administration_is_synced(&s, &[], &registry).await;
    s.mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_syncs_a_coupled_administration_on_postgres() {
    let s = setup().await;
    let (store, url) = support::postgres_schema("t_fleet").await;
    let registry = PostgresRegistry::new(&store).await.unwrap();
    the_onboarded_administration_is_synced(&s, &[("SNELSYNC_STORE", url)], &registry).await;
    store.drop_schema().await.unwrap();
    s.mock.shutdown().await;
}
