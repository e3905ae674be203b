//! The router over real HTTP on 127.0.0.1, against snelstart-mock and a real SQLite store:
//! signatures (bad, stale, replayed: refused, nothing queued), per-record answers for a mixed
//! batch, the processing loop woken by the intake, actions and pages behind authentication,
//! pause/resume, metrics and health.

use std::time::Duration;

use serde_json::{Value, json};
use snelstart_client::Client;
use snelstart_client::budget::BudgetConfig;
use snelstart_mock::{MockConfig, MockServer};
use snelsync_http::{CrmEndpoint, HttpConfig, ProcessingOptions, Secret, Service, router, sign};
use sync_core::store::{AdminKey, QueueStore};
use sync_core::{MemorySource, NoSink, SyncEngine};
use sync_store_sqlite::SqliteStore;

const TOKEN: &str = "status-token-for-tests";
const CRM_SECRET: &str = "crm-shared-secret";

struct Harness {
    base: String,
    http: reqwest::Client,
    store: SqliteStore,
    admin: AdminKey,
    mock: MockServer,
    stop: tokio::sync::watch::Sender<bool>,
    processing: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn start(options: HttpConfig) -> Harness {
        let mock = MockServer::start(MockConfig::new()).await.unwrap();
        let client = Client::builder()
            .base_url(mock.base_url())
            .auth_url(mock.auth_url())
            .subscription_key(mock.subscription_key())
            .koppelsleutel(mock.client_key())
            .rate_budget(BudgetConfig::unlimited())
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("state.sqlite")).unwrap();
        let admin = AdminKey::new("bakkerij");
        let engine = SyncEngine::builder(client, admin.clone())
            .store(store.clone())
            .source(MemorySource::default())
            .sink(NoSink)
            .config(mapping::config::MappingConfig::default_for_mock())
            .build();
        let service = Service::open(
            [engine],
            options,
            ProcessingOptions::default()
                .with_idle_poll(Duration::from_millis(200))
                .with_read_back_every(None),
        )
        .await
        .unwrap();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let processing = tokio::spawn({
            let service = service.clone();
            async move { service.run_processing(stopped).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router(service)).await.unwrap();
        });
        Harness {
            base: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            store,
            admin,
            mock,
            stop,
            processing,
            _dir: dir,
        }
    }

    async fn default() -> Harness {
        Harness::start(config()).await
    }

    /// Posts a body signed now with a fresh event id.
    async fn post(&self, body: &str, event_id: &str) -> (u16, Value) {
        let ts = chrono::Utc::now().timestamp();
        self.post_signed(body, event_id, ts, CRM_SECRET).await
    }

    async fn post_signed(&self, body: &str, event_id: &str, ts: i64, secret: &str) -> (u16, Value) {
        let sig = sign(&Secret::new(secret), ts, event_id, body.as_bytes());
        let r = self
            .http
            .post(format!("{}/crm/hubspot/changes", self.base))
            .header("x-snelsync-timestamp", ts.to_string())
            .header("x-snelsync-event-id", event_id)
            .header("x-snelsync-signature", sig)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn queued(&self) -> u64 {
        self.store.counts(&self.admin).await.unwrap().total()
    }

    async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(30), self.processing)
            .await
            .expect("the processing loop stops on shutdown")
            .unwrap();
        self.mock.shutdown().await;
    }
}

fn config() -> HttpConfig {
    HttpConfig::builder()
        .token(Secret::new(TOKEN))
        .crm(CrmEndpoint::new(
            "hubspot",
            Secret::new(CRM_SECRET),
            AdminKey::new("bakkerij"),
        ))
        .max_body_bytes(64 * 1024)
        .build()
}

/// A customer with an address and e-mail of its own (records sharing them would be held for
/// review as possible duplicates).
fn relation(id: &str, name: &str) -> Value {
    let n: u32 = id.bytes().map(u32::from).sum::<u32>() % 200 + 1;
    json!({
        "id": id, "kind": "customer", "legal_name": name,
        "visit_address": {"street": "Kerkstraat", "house_number": n.to_string(), "postcode": "3820 BA",
                          "city": "Amersfoort", "country": "NL"},
        "email": format!("info@{id}.nl")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signature_stale_timestamp_and_replayed_event_are_refused_with_nothing_queued() {
    let h = Harness::default().await;
    let body = json!({ "relations": [relation("crm-1", "Bakkerij De Korst B.V.")] }).to_string();
    let now = chrono::Utc::now().timestamp();

    let (status, answer) = h.post_signed(&body, "ev-1", now, "not-the-secret").await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"], "signature");
    assert_eq!(h.queued().await, 0);

    let (status, answer) = h.post_signed(&body, "ev-2", now - 3600, CRM_SECRET).await;
    assert_eq!(status, 401, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("tolerance"),
        "{answer}"
    );
    assert_eq!(h.queued().await, 0);

    // Unsigned, and a CRM nobody configured.
    let r = h
        .http
        .post(format!("{}/crm/hubspot/changes", h.base))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = h
        .http
        .post(format!("{}/crm/other/changes", h.base))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(h.queued().await, 0);

    let (status, answer) = h.post(&body, "ev-3").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 1);
    let after_first = h.queued().await;
    assert_eq!(after_first, 1);

    // The same event id again, even freshly signed: refused, nothing more queued.
    let other = json!({ "relations": [relation("crm-2", "Slagerij Vos")] }).to_string();
    let (status, answer) = h.post(&other, "ev-3").await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"], "replayed_event");
    assert_eq!(h.queued().await, after_first);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_batch_is_answered_per_record_with_json_paths() {
    let h = Harness::default().await;
    let mut bad = relation("crm-2", "Kapper Knip");
    bad["kvk_number"] = json!("12-34");
    bad["credit_limit"] = json!("12.345");
    let body = json!({
        "relations": [
            relation("crm-1", "Bakkerij De Korst B.V."),
            bad,
            relation("crm-1", "Bakkerij De Korst B.V. (copy)"),
            { "kind": "customer", "legal_name": "No Id B.V." }
        ],
        "projects": [ { "id": "p-1", "number": "1043", "description": "Verbouwing" } ]
    })
    .to_string();
    let (status, answer) = h.post(&body, "batch-1").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 2, "{answer}");
    assert_eq!(answer["refused"], 3, "{answer}");
    let records = answer["records"].as_array().unwrap();
    let find = |section: &str, index: u64| {
        records
            .iter()
            .find(|r| r["section"] == section && r["index"] == index)
            .unwrap_or_else(|| panic!("no answer for {section}[{index}]: {answer}"))
    };
    assert_eq!(find("relations", 0)["status"], "accepted");
    assert_eq!(find("relations", 0)["id"], "crm-1");
    let kapper = find("relations", 1);
    assert_eq!(kapper["status"], "refused");
    assert_eq!(kapper["id"], "crm-2");
    assert_eq!(kapper["reason"], "unreadable");
    let paths: Vec<&str> = kapper["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["relations[1].kvk_number", "relations[1].credit_limit"]
    );
    assert!(
        kapper["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("12-34")
    );
    let copy = find("relations", 2);
    assert_eq!(
        copy["status"], "refused",
        "the first occurrence wins: {answer}"
    );
    assert_eq!(copy["reason"], "duplicate");
    assert!(
        copy["problems"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("relations[2]")
    );
    let no_id = find("relations", 3);
    assert_eq!(no_id["status"], "refused");
    assert_eq!(no_id["problems"][0]["path"], "relations[3].id");
    assert_eq!(find("projects", 0)["status"], "accepted");

    // Body not JSON: refused whole with line and column, nothing queued.
    let before = h.queued().await;
    let (status, answer) = h.post("{\"relations\": [", "batch-2").await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("line 1"),
        "{answer}"
    );
    assert_eq!(h.queued().await, before);

    // Over the size limit: 413, nothing queued.
    let big = json!({ "relations": (0..2000).map(|i| relation(&format!("c-{i}"), "X")).collect::<Vec<_>>() }).to_string();
    assert!(big.len() > 64 * 1024);
    let (status, _) = h.post(&big, "batch-3").await;
    assert_eq!(status, 413);
    assert_eq!(h.queued().await, before);
    h.stop().await;
}

/// Waits (bounded) until the store shows what `done` wants.
async fn eventually(
    h: &Harness,
    what: &str,
    done: impl Fn(&sync_core::store::QueueCounts) -> bool,
) {
    for _ in 0..200 {
        let counts = h.store.counts(&h.admin).await.unwrap();
        if done(&counts) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: {:?}", h.store.counts(&h.admin).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_changes_reach_snelstart_and_pause_holds_them() {
    let h = Harness::default().await;
    let (status, _) = h
        .post(
            &json!({"relations": [relation("crm-1", "Bakkerij De Korst B.V.")]}).to_string(),
            "e1",
        )
        .await;
    assert_eq!(status, 200);
    eventually(&h, "the relation is written", |c| c.done == 1).await;
    let state = h.mock.state_json().to_string();
    assert!(
        state.contains("Bakkerij De Korst B.V."),
        "SnelStart holds the relation"
    );

    // Paused: changes are accepted and kept, not sent.
    let (status, answer) = h
        .api(
            reqwest::Method::POST,
            "/api/admins/bakkerij/pause",
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, _) = h
        .post(
            &json!({"relations": [relation("crm-2", "Slagerij Vos")]}).to_string(),
            "e2",
        )
        .await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let counts = h.store.counts(&h.admin).await.unwrap();
    assert_eq!((counts.pending, counts.done), (1, 1), "paused: {counts:?}");
    let (_, status_json) = h
        .api(
            reqwest::Method::GET,
            "/api/admins/bakkerij",
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(status_json["paused"], true);
    assert_eq!(status_json["health"], "paused");

    let (status, _) = h
        .api(
            reqwest::Method::POST,
            "/api/admins/bakkerij/resume",
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200);
    eventually(&h, "resumed work is written", |c| c.done == 2).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_actions_need_the_token_and_show_failures_with_fields() {
    let h = Harness::default().await;
    let mut bad = relation("crm-9", "Kapper Knip");
    bad["kvk_number"] = json!("12-34");
    let (status, _) = h.post(&json!({"relations": [bad]}).to_string(), "f1").await;
    assert_eq!(status, 200);

    for token in [None, Some("wrong-token")] {
        let (status, _) = h
            .api(reqwest::Method::GET, "/api/admins", token, None)
            .await;
        assert_eq!(status, 401);
        let (status, _) = h
            .api(reqwest::Method::GET, "/api/admins/bakkerij", token, None)
            .await;
        assert_eq!(status, 401);
        let (status, _) = h
            .api(
                reqwest::Method::POST,
                "/api/admins/bakkerij/replay",
                token,
                Some(json!({})),
            )
            .await;
        assert_eq!(status, 401);
        let (status, _) = h
            .api(
                reqwest::Method::POST,
                "/api/admins/bakkerij/reviews/resolve",
                token,
                Some(json!({"crm_id": "crm-9", "create_new": true})),
            )
            .await;
        assert_eq!(status, 401);
        let (status, _) = h
            .api(
                reqwest::Method::POST,
                "/api/admins/bakkerij/pause",
                token,
                None,
            )
            .await;
        assert_eq!(status, 401);
    }
    assert!(
        !h.api(
            reqwest::Method::GET,
            "/api/admins/bakkerij",
            Some(TOKEN),
            None
        )
        .await
        .1["paused"]
            .as_bool()
            .unwrap()
    );

    // Pages: no session, a redirect to the login; a forged form is refused.
    let r = h
        .http
        .get(format!("{}/admins/bakkerij", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/login");
    let r = h
        .http
        .post(format!("{}/admins/bakkerij/pause", h.base))
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "no session: to the login");
    let r = h
        .http
        .post(format!("{}/login", h.base))
        .form(&[("token", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = h
        .http
        .post(format!("{}/login", h.base))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("HttpOnly")
    );
    let r = h
        .http
        .post(format!("{}/admins/bakkerij/pause", h.base))
        .header("cookie", &cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        403,
        "a form without the session's CSRF token"
    );
    assert!(
        !h.api(
            reqwest::Method::GET,
            "/api/admins/bakkerij",
            Some(TOKEN),
            None
        )
        .await
        .1["paused"]
            .as_bool()
            .unwrap()
    );

    // With the token: the failure names its record and field.
    eventually(&h, "the refusal is a failure", |c| c.failed == 1).await;
    let (status, s) = h
        .api(
            reqwest::Method::GET,
            "/api/admins/bakkerij",
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["health"], "failing");
    assert_eq!(s["failures"][0]["crm_id"], "crm-9");
    assert_eq!(s["failures"][0]["fields"], json!(["kvk_number"]));
    let page = h
        .http
        .get(format!("{}/admins/bakkerij", h.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<code class=\"field\">kvk_number</code>"),
        "{page}"
    );

    let (status, r) = h
        .api(
            reqwest::Method::POST,
            "/api/admins/bakkerij/replay",
            Some(TOKEN),
            Some(json!({"kind": "relation", "crm_id": "crm-9"})),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["replayed"], 1);

    // Without a configured token nobody gets in, whatever they send.
    h.stop().await;
    let open = Harness::start(
        HttpConfig::builder()
            .crm(CrmEndpoint::new(
                "hubspot",
                Secret::new(CRM_SECRET),
                AdminKey::new("bakkerij"),
            ))
            .build(),
    )
    .await;
    for token in [None, Some(""), Some(TOKEN)] {
        let (status, _) = open
            .api(reqwest::Method::GET, "/api/admins", token, None)
            .await;
        assert_eq!(status, 401);
    }
    let r = open
        .http
        .post(format!("{}/login", open.base))
        .form(&[("token", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    open.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_answer() {
    let h = Harness::default().await;
    let r = h
        .http
        .get(format!("{}/healthz", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = h
        .http
        .get(format!("{}/readyz", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (status, _) = h
        .post(
            &json!({"relations": [relation("crm-1", "Bakkerij De Korst B.V.")]}).to_string(),
            "m1",
        )
        .await;
    assert_eq!(status, 200);
    let _ = h.post_signed("{}", "m2", 0, CRM_SECRET).await;
    eventually(&h, "processed", |c| c.done == 1).await;
    let text = h
        .http
        .get(format!("{}/metrics", h.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("snelsync_intake_records_total{outcome=\"accepted\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("snelsync_intake_rejected_requests_total 1"),
        "{text}"
    );
    assert!(
        text.contains("snelsync_queue_items{admin=\"bakkerij\",state=\"done\"} 1"),
        "{text}"
    );
    assert!(!text.contains(TOKEN) && !text.contains(CRM_SECRET));
    // Every family's samples follow its TYPE line, as the text format requires.
    let mut seen = std::collections::HashSet::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            current = rest.split(' ').next().unwrap().to_owned();
            assert!(seen.insert(current.clone()), "{current} declared twice");
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            assert_eq!(name, current, "sample outside its family: {line}");
        }
    }
    h.stop().await;
}
