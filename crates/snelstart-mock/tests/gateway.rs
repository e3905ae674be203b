//! Gateway behaviour through HTTP: rate limits, faults, availability, statistics, reset.

mod common;

use common::Api;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use snelstart_mock::{FaultKind, MockConfig, ScriptedFault};
use std::time::Duration;

/// Send a request and report whether the client saw a complete answer.
async fn outcome(
    api: &Api,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<(StatusCode, Value), reqwest::Error> {
    let mut r = api.req(method, path);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await?;
    let status = resp.status();
    let bytes = resp.bytes().await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

#[tokio::test]
async fn rate_limit_per_minute_answers_429_with_retry_after() {
    let api = Api::start(MockConfig::new().with_rate_limits(3, 0, 0)).await;
    for _ in 0..3 {
        assert_eq!(api.get("/landen").await.0, StatusCode::OK);
    }
    let r = api.req(Method::GET, "/landen").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["statusCode"], 429);
    assert_eq!(
        v["message"],
        format!("Rate limit is exceeded. Try again in {retry} seconds.")
    );
    assert_eq!(api.server.stats().count_status("GET", "/landen", 429), 1);
}

#[tokio::test]
async fn rate_limit_windows_can_be_scaled_and_are_per_administration() {
    let cfg = MockConfig::new()
        .with_rate_limits(2, 0, 0)
        .with_rate_limit_windows(Duration::from_millis(200), Duration::from_secs(3600))
        .with_administration(snelstart_mock::AdministrationConfig::new("andere"));
    let api = Api::start(cfg).await;
    let other = common::token_for(&api.server, &api.http, "andere").await;
    assert_eq!(api.get("/landen").await.0, StatusCode::OK);
    assert_eq!(api.get("/landen").await.0, StatusCode::OK);
    assert_eq!(api.get("/landen").await.0, StatusCode::TOO_MANY_REQUESTS);
    // The other administration has its own budget.
    let r = api
        .http
        .get(format!("{}/landen", api.server.base_url()))
        .header("Ocp-Apim-Subscription-Key", api.server.subscription_key())
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The scaled window slides open again.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(api.get("/landen").await.0, StatusCode::OK);
}

#[tokio::test]
async fn hour_limit_and_concurrency_limit() {
    let api = Api::start(MockConfig::new().with_rate_limits(0, 2, 0)).await;
    api.get("/landen").await;
    api.get("/landen").await;
    assert_eq!(api.get("/landen").await.0, StatusCode::TOO_MANY_REQUESTS);

    // One call at a time: hold one in flight with added latency, the second is refused.
    let api = Api::start(
        MockConfig::new()
            .with_rate_limits(0, 0, 1)
            .with_latency(Duration::from_millis(300)),
    )
    .await;
    let (a, b) = tokio::join!(api.get("/landen"), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        api.get("/landen").await
    });
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);
}

#[tokio::test]
async fn scripted_status_faults_and_rate_limited_fault() {
    let api = Api::default().await;
    api.server.script_faults([
        ScriptedFault::new(FaultKind::Status(503)).on("GET", "/v2/landen"),
        ScriptedFault::new(FaultKind::Status(500))
            .on("GET", "/landen")
            .nth(2),
        ScriptedFault::new(FaultKind::RateLimited {
            retry_after_secs: 7,
        })
        .on("GET", "/dagboeken"),
    ]);
    assert_eq!(api.get("/landen").await.0, StatusCode::SERVICE_UNAVAILABLE);
    // The second fault counts matching requests from when it was scripted: this is its 2nd.
    assert_eq!(
        api.get("/landen").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(api.get("/landen").await.0, StatusCode::OK);
    let r = api.req(Method::GET, "/dagboeken").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "7");
}

#[tokio::test]
async fn connection_reset_does_not_process_the_request() {
    let api = Api::default().await;
    api.server
        .script_faults([ScriptedFault::new(FaultKind::ConnectionReset).on("POST", "/relaties")]);
    let r = outcome(
        &api,
        Method::POST,
        "/relaties",
        Some(json!({"relatiesoort": ["Klant"], "naam": "Verloren"})),
    )
    .await;
    assert!(r.is_err(), "client must see a connection error, got {r:?}");
    let (_, all) = api.get("/relaties").await;
    assert!(all.as_array().unwrap().is_empty(), "nothing was written");
    assert_eq!(api.server.stats().count_status("POST", "/relaties", 0), 1);
}

#[tokio::test]
async fn processed_but_response_lost_commits_the_write() {
    let api = Api::default().await;
    api.server.script_faults([
        ScriptedFault::new(FaultKind::ProcessedButResponseLost).on("POST", "/v2/relaties")
    ]);
    let r = outcome(
        &api,
        Method::POST,
        "/relaties",
        Some(json!({"relatiesoort": ["Klant"], "naam": "Toch opgeslagen", "relatiecode": 777})),
    )
    .await;
    assert!(
        r.is_err(),
        "client must see a connection/body error, got {r:?}"
    );
    let (_, all) = api.get("/relaties?$filter=Relatiecode eq 777").await;
    assert_eq!(all.as_array().unwrap().len(), 1, "the write committed");
    // A retry now hits the natural-key rule, as on the real server.
    let (s, v) = api
        .post(
            "/relaties",
            json!({"relatiesoort": ["Klant"], "naam": "Toch opgeslagen", "relatiecode": 777}),
        )
        .await;
    common::assert_code(s, &v, "REL-0008");
}

#[tokio::test]
async fn random_faults_are_seeded_and_deterministic() {
    async fn run() -> Vec<u16> {
        let api = Api::start(MockConfig::new().with_fault_rate(0.5, 99)).await;
        let mut out = Vec::new();
        for _ in 0..20 {
            out.push(match outcome(&api, Method::GET, "/landen", None).await {
                Ok((s, _)) => s.as_u16(),
                Err(_) => 0,
            });
        }
        out
    }
    let a = run().await;
    let b = run().await;
    assert_eq!(a, b);
    assert!(a.contains(&200) && a.iter().any(|s| *s != 200), "{a:?}");
}

#[tokio::test]
async fn unavailable_then_back() {
    let api = Api::default().await;
    api.server.set_available(false);
    let (s, v) = api.get("/landen").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["statusCode"], 503);
    let r = api
        .http
        .post(api.server.auth_url())
        .form(&[
            ("grant_type", "clientkey"),
            ("clientkey", api.server.client_key()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The same over HTTP.
    let r = api
        .http
        .post(format!("{}/_mock/availability", api.server.root_url()))
        .header("Ocp-Apim-Subscription-Key", api.server.subscription_key())
        .json(&json!({"up": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(api.get("/landen").await.0, StatusCode::OK);
}

#[tokio::test]
async fn stats_state_reset_and_faults_over_http() {
    let api = Api::start(MockConfig::new().with_seed_relations(3)).await;
    let root = api.server.root_url();
    let id = api.relatie("Klant", "Nieuw").await;
    api.get(&format!("/relaties/{id}")).await;
    api.get("/relaties/00000000-0000-0000-0000-00000000000a")
        .await;
    let stats = api.server.stats();
    assert_eq!(stats.count("POST", "/v2/relaties"), 1);
    assert_eq!(stats.count_status("GET", "/relaties/{id}", 200), 1);
    assert_eq!(stats.count_status("GET", "/relaties/{id}", 404), 1);
    assert_eq!(stats.count("POST", "/b2b/token"), 1);
    assert_eq!(stats.writes(), 1);
    let http_stats: Value = api
        .http
        .get(format!("{root}/_mock/stats"))
        .header("Ocp-Apim-Subscription-Key", api.server.subscription_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        http_stats["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["route"] == "/v2/relaties/{id}" && e["status"] == 404)
    );

    let state: Value = api
        .http
        .get(format!("{root}/_mock/state"))
        .header("Ocp-Apim-Subscription-Key", api.server.subscription_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state[0]["relaties"].as_array().unwrap().len(), 4);
    assert_eq!(api.server.state_json(), state);

    let r = api
        .http
        .post(format!("{root}/_mock/reset"))
        .header("Ocp-Apim-Subscription-Key", api.server.subscription_key())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, all) = api.get("/relaties").await;
    assert_eq!(
        all.as_array().unwrap().len(),
        3,
        "seed restored, token still valid"
    );
    assert_eq!(api.server.stats().count("POST", "/relaties"), 0);

    let r = api
        .http
        .post(format!("{root}/_mock/faults"))
        .header("Ocp-Apim-Subscription-Key", api.server.subscription_key())
        .json(&json!([{"method": "GET", "route": "/v2/landen", "kind": {"Status": 502}}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(api.get("/landen").await.0, StatusCode::BAD_GATEWAY);
    api.server.reset();
    assert_eq!(api.server.stats().total(), 0);
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let api = Api::default().await;
    let url = api.server.base_url();
    let Api { server, http, .. } = api;
    server.shutdown().await;
    let r = http
        .get(format!("{url}/echo/x"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(r.is_err());
}

#[tokio::test]
async fn debug_output_never_contains_keys_or_tokens() {
    let api = Api::start(
        MockConfig::new()
            .with_subscription_key("geheime-sub")
            .with_client_key("geheime-koppel"),
    )
    .await;
    let text = format!(
        "{:?} {:?}",
        api.server,
        MockConfig::new().with_client_key("geheime-koppel")
    );
    assert!(
        !text.contains("geheime") && !text.contains(&api.token),
        "{text}"
    );
}

#[tokio::test]
async fn inspection_routes_need_the_subscription_key_in_the_header() {
    let api = Api::default().await;
    let root = api.server.root_url();
    let key = api.server.subscription_key().to_owned();
    let routes: [(&str, &str, Option<Value>); 6] = [
        ("GET", "stats", None),
        ("GET", "state", None),
        ("POST", "reset", None),
        ("POST", "faults", Some(json!([]))),
        (
            "POST",
            "payments",
            Some(json!({"factuurnummer": "X", "bedrag": 1, "datum": "2025-01-01"})),
        ),
        ("POST", "availability", Some(json!({"up": false}))),
    ];
    for (m, route, body) in &routes {
        let send = |header: Option<&str>, query: Option<&str>| {
            let mut url = format!("{root}/_mock/{route}");
            if let Some(q) = query {
                url.push_str(&format!("?subscription-key={q}"));
            }
            let mut r = api
                .http
                .request(reqwest::Method::from_bytes(m.as_bytes()).unwrap(), url);
            if let Some(h) = header {
                r = r.header("Ocp-Apim-Subscription-Key", h);
            }
            if let Some(b) = body {
                r = r.json(b);
            }
            r.send()
        };
        for (header, query) in [
            (None, None),
            (Some("wrong"), None),
            (None, Some(key.as_str())),
        ] {
            let r = send(header, query).await.unwrap();
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "{m} /_mock/{route} with header {header:?}, query {query:?}"
            );
        }
    }
    // Nothing above had an effect: the service is still up and nothing was reset.
    assert_eq!(api.get("/landen").await.0, StatusCode::OK);
    // With the key, it answers.
    let r = api
        .http
        .get(format!("{root}/_mock/stats"))
        .header("Ocp-Apim-Subscription-Key", key.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_non_loopback_bind_needs_own_keys() {
    let any: std::net::SocketAddr = "0.0.0.0:0".parse().unwrap();
    let err = snelstart_mock::MockServer::start(MockConfig::new().with_addr(any))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("default"), "{err}");
    // Own subscription key but the default koppelsleutel: still refused.
    let half = MockConfig::new()
        .with_addr(any)
        .with_subscription_key("eigen-sleutel-1");
    assert!(snelstart_mock::MockServer::start(half).await.is_err());
    // Own keys: fine. Loopback with the defaults: fine.
    let own = MockConfig::new()
        .with_addr(any)
        .with_subscription_key("eigen-sleutel-1")
        .with_client_key("eigen-koppelsleutel-1");
    snelstart_mock::MockServer::start(own).await.unwrap();
    let local: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    snelstart_mock::MockServer::start(MockConfig::new().with_addr(local))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_deep_filter_is_alg_0104_and_the_server_lives_on() {
    let api = Api::default().await;
    for n in [40usize, 5_000] {
        let filter = format!("{}Relatiecode eq 1{}", "(".repeat(n), ")".repeat(n));
        let (status, body) = api
            .get(&format!("/relaties?$filter={}", filter.replace(' ', "%20")))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "depth {n}");
        assert_eq!(body[0]["errorCode"], "ALG-0104", "depth {n}: {body}");
    }
    assert_eq!(api.get("/landen").await.0, StatusCode::OK);
}

/// Every webhook delivery received: headers and body.
type Deliveries = std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, Vec<u8>)>>>;

/// A webhook receiver on loopback that keeps every delivery and answers `status`.
async fn webhook_receiver(status: u16) -> (String, Deliveries) {
    let seen = Deliveries::default();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let seen = seen.clone();
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push((headers, body.to_vec()));
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn token_status(server: &snelstart_mock::MockServer, key: &str) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(server.auth_url())
        .form(&[("grant_type", "clientkey"), ("clientkey", key)])
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// The activate click POSTs a signed webhook with a fresh key that opens the administration;
/// Regenerate replaces it (old key `invalid_grant`, its tokens 401); Delete revokes it.
#[tokio::test]
async fn the_coupling_clicks_post_signed_webhooks_and_switch_keys() {
    use hmac::Mac;
    use snelstart_mock::{AdministrationConfig, CouplingAction, CouplingClick};
    const SECRET: &str = "webhook-geheim";
    let (url, seen) = webhook_receiver(200).await;
    let cfg = MockConfig::new()
        .with_administration(AdministrationConfig::new("tweede").with_name("Tweede B.V."))
        .with_coupling_webhook(url, SECRET);
    let api = Api::start(cfg).await;
    let server = &api.server;

    let delivery = server
        .couple(CouplingClick::new(CouplingAction::Create, 1).reference_key("klant-42"))
        .await
        .unwrap();
    assert!(delivery.delivered, "{delivery:?}");
    assert_eq!(delivery.webhook_status, Some(200));
    let state = server.state_json();
    assert_eq!(
        delivery.administratie_identifier.to_string(),
        state[1]["administratieIdentifier"].as_str().unwrap()
    );
    let (headers, body) = seen.lock().unwrap()[0].clone();
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["ActionType"], "Create");
    assert_eq!(event["ReferenceKey"], "klant-42");
    let first_key = event["KoppelSleutel"].as_str().unwrap().to_owned();
    // The signature: sha256= hex HMAC-SHA256 over "{timestamp}.{body}".
    let ts = headers["x-snelsync-timestamp"].to_str().unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(&body);
    assert_eq!(
        headers["x-snelsync-signature"].to_str().unwrap(),
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    assert!(
        !format!("{delivery:?}").contains(&first_key),
        "the answer never carries the key"
    );

    // The new key opens the second administration.
    let old_token = common::token_for(server, &api.http, &first_key).await;
    let company = |token: String| {
        let http = api.http.clone();
        let url = format!("{}/companyInfo", server.base_url());
        let sub = server.subscription_key().to_owned();
        async move {
            let r = http
                .get(url)
                .header("Ocp-Apim-Subscription-Key", sub)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, info) = company(old_token.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        info["administratieIdentifier"],
        state[1]["administratieIdentifier"]
    );

    // A second Create is refused: the administration is coupled.
    let again = server
        .couple(CouplingClick::new(CouplingAction::Create, 1).reference_key("klant-42"))
        .await;
    assert!(again.is_err());

    // Regenerate: a new key in the webhook; the old one and its tokens stop working.
    let delivery = server
        .couple(CouplingClick::new(CouplingAction::Regenerate, 1))
        .await
        .unwrap();
    assert_eq!(
        delivery.reference_key, "klant-42",
        "the coupling's own reference"
    );
    let event: Value = serde_json::from_slice(&seen.lock().unwrap()[1].1).unwrap();
    assert_eq!(event["ActionType"], "Regenerate");
    let new_key = event["KoppelSleutel"].as_str().unwrap().to_owned();
    assert_ne!(new_key, first_key);
    let (status, body) = token_status(server, &first_key).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(company(old_token).await.0, StatusCode::UNAUTHORIZED);
    let new_token = common::token_for(server, &api.http, &new_key).await;
    assert_eq!(company(new_token.clone()).await.0, StatusCode::OK);
    // The configured key of the administration is untouched.
    assert_eq!(token_status(server, "tweede").await.0, StatusCode::OK);

    // Delete: the webhook carries the deleted key, which is refused from now on.
    server
        .couple(CouplingClick::new(CouplingAction::Delete, 1))
        .await
        .unwrap();
    let event: Value = serde_json::from_slice(&seen.lock().unwrap()[2].1).unwrap();
    assert_eq!(event["ActionType"], "Delete");
    assert_eq!(event["KoppelSleutel"], new_key.as_str());
    assert_eq!(
        token_status(server, &new_key).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(company(new_token).await.0, StatusCode::UNAUTHORIZED);
    assert!(
        server
            .couple(CouplingClick::new(CouplingAction::Regenerate, 1))
            .await
            .is_err(),
        "not coupled any more"
    );
}

/// Over HTTP: `POST /_mock/couplings` needs the subscription key; a webhook answering 500 is
/// reported undelivered (and the key changed anyway, as at SnelStart); the webhook URL must be
/// loopback; Create needs a reference key.
#[tokio::test]
async fn coupling_clicks_over_http_and_their_refusals() {
    let (url, seen) = webhook_receiver(500).await;
    let api = Api::start(MockConfig::new().with_coupling_webhook(url, "s")).await;
    let server = &api.server;
    let endpoint = format!("{}/_mock/couplings", server.root_url());
    let click = json!({"actionType": "Create", "referenceKey": "klant-1"});
    let r = api.http.post(&endpoint).json(&click).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "subscription key needed"
    );
    let post = |body: Value| {
        api.http
            .post(&endpoint)
            .header("Ocp-Apim-Subscription-Key", server.subscription_key())
            .json(&body)
            .send()
    };
    let r = post(click.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["delivered"], false);
    assert_eq!(v["webhookStatus"], 500);
    assert!(v.get("koppelSleutel").is_none() && !v.to_string().contains("KoppelSleutel"));
    let body: Value = serde_json::from_slice(&seen.lock().unwrap()[0].1).unwrap();
    let key = body["KoppelSleutel"].as_str().unwrap();
    assert_eq!(token_status(server, key).await.0, StatusCode::OK);

    assert_eq!(post(click).await.unwrap().status(), StatusCode::CONFLICT);
    assert_eq!(
        post(json!({"actionType": "Create", "administration": 0}))
            .await
            .unwrap()
            .status(),
        StatusCode::CONFLICT,
        "still coupled"
    );
    assert_eq!(
        post(json!({"actionType": "Delete", "administration": 7}))
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(json!({"actionType": "Pause"})).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );

    // Not configured: refused. Not loopback: refused at start and at run time.
    let plain = Api::default().await;
    assert!(
        plain
            .server
            .couple(snelstart_mock::CouplingClick::new(
                snelstart_mock::CouplingAction::Create,
                0
            ))
            .await
            .is_err()
    );
    let err = snelstart_mock::MockServer::start(
        MockConfig::new().with_coupling_webhook("https://crm.example.com/hook", "s"),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
    assert!(
        plain
            .server
            .set_coupling_webhook(snelstart_mock::CouplingConfig::new(
                "http://192.0.2.1/hook",
                "s"
            ))
            .is_err()
    );
}

/// The simulator records which key wrote each record (create and update), as a salted
/// fingerprint: per administration, over HTTP and on the handle alike, including a write whose
/// answer was lost; a refused write is not recorded, and no key appears in the report.
#[tokio::test]
async fn writers_name_the_key_of_every_write_per_administration() {
    let other_key = "koppelsleutel-van-de-buren";
    let api = Api::start(
        MockConfig::new().with_administration(snelstart_mock::AdministrationConfig::new(other_key)),
    )
    .await;
    let own = api.server.key_fingerprint(api.server.client_key());
    let theirs = api.server.key_fingerprint(other_key);
    assert_ne!(own, theirs);

    let id = api.relatie("Klant", "Eigen klant").await;
    let body = json!({"relatiesoort": ["Klant"], "naam": "Eigen klant, gewijzigd"});
    assert_eq!(
        api.put(&format!("/relaties/{id}"), body).await.0,
        StatusCode::OK
    );
    let (s, _) = api
        .post("/relaties", json!({"relatiesoort": ["Klant"]}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "refused: no name");
    api.server.script_faults([
        ScriptedFault::new(FaultKind::ProcessedButResponseLost).on("POST", "/v2/relaties")
    ]);
    let lost = outcome(
        &api,
        Method::POST,
        "/relaties",
        Some(json!({"relatiesoort": ["Klant"], "naam": "Antwoord kwijt"})),
    )
    .await;
    assert!(lost.is_err(), "{lost:?}");

    // The neighbour's token on this server: its write lands in its own administration.
    let neighbour = common::token_for(&api.server, &api.http, other_key).await;
    let r = api
        .http
        .post(format!("{}/relaties", api.server.base_url()))
        .header("Ocp-Apim-Subscription-Key", api.server.subscription_key())
        .bearer_auth(&neighbour)
        .json(&json!({"relatiesoort": ["Leverancier"], "naam": "Buurman"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    let writers = api.server.writers();
    assert_eq!(writers.len(), 2);
    let mine = &writers[0];
    assert_eq!(
        (mine.administration, mine.keys.clone()),
        (0, vec![own.clone()])
    );
    assert_eq!(mine.records.len(), 2, "{mine:?}");
    assert_eq!(mine.records[0].id.to_string(), id);
    assert_eq!(mine.records[0].resource, "relaties");
    assert_eq!(mine.records[0].created_by.as_deref(), Some(own.as_str()));
    assert!(
        mine.records[0].updated_by.is_empty(),
        "updated with the same key"
    );
    assert!(mine.records.iter().all(|r| r.all().all(|k| k == own)));
    let names = api.server.state_json()[0]["relaties"].clone();
    assert_eq!(names.as_array().unwrap().len(), 2);
    assert_eq!(writers[1].keys, vec![theirs.clone()]);
    assert_eq!(writers[1].records.len(), 1);
    assert_eq!(
        writers[1].records[0].created_by.as_deref(),
        Some(theirs.as_str())
    );

    let over_http: Value = api
        .http
        .get(format!("{}/_mock/writers", api.server.root_url()))
        .header("Ocp-Apim-Subscription-Key", api.server.subscription_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http, serde_json::to_value(&writers).unwrap());
    assert_eq!(over_http[1]["records"][0]["createdBy"], json!(theirs));
    let text = over_http.to_string();
    assert!(!text.contains(other_key) && !text.contains(api.server.client_key()));
    let unauthorised = api
        .http
        .get(format!("{}/_mock/writers", api.server.root_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), StatusCode::UNAUTHORIZED);

    api.server.reset();
    assert!(api.server.writers().iter().all(|a| a.records.is_empty()));
}

/// Every write route notes its record in the writer log: the handler hands the gateway the id
/// it answered with. Creates name their creator; changes of a record created otherwise (seed
/// data) name the key as updater, also when the answer of the change is lost; a `PUT
/// /companyInfo` (no record id in its answer) and a refused write note nothing.
#[tokio::test]
async fn every_write_route_notes_the_record_it_answered_with() {
    use base64::Engine;
    let api = Api::start(MockConfig::new().with_seed_relations(1)).await;
    let own = api.server.key_fingerprint(api.server.client_key());
    let mut expected: Vec<(String, String, bool)> = Vec::new();
    let answered = |status: StatusCode, v: &Value, want: StatusCode| -> String {
        assert_eq!(status, want, "{v}");
        v["id"].as_str().unwrap().to_owned()
    };

    // A seeded relation changed through the API: updated, not created, by this key.
    let (_, seeded) = api.get("/relaties").await;
    let seeded = seeded[0]["id"].as_str().unwrap().to_owned();
    let (s, v) = api
        .put(
            &format!("/relaties/{seeded}"),
            json!({"relatiesoort": seeded_kinds(&api, &seeded).await, "naam": "Gewijzigd"}),
        )
        .await;
    assert_eq!(answered(s, &v, StatusCode::OK), seeded);
    expected.push(("relaties".into(), seeded.clone(), false));

    let klant = api.relatie("Klant", "Klant").await;
    expected.push(("relaties".into(), klant.clone(), true));

    // A seeded cost centre changed with its answer lost: committed, so noted.
    let kpl = api.kostenplaats(1).await;
    api.server
        .script_faults([ScriptedFault::new(FaultKind::ProcessedButResponseLost)
            .on("PUT", "/v2/kostenplaatsen/{id}")]);
    let lost = outcome(
        &api,
        Method::PUT,
        &format!("/kostenplaatsen/{kpl}"),
        Some(json!({"omschrijving": "Kwijt", "nummer": 1})),
    )
    .await;
    assert!(lost.is_err(), "{lost:?}");
    expected.push(("kostenplaatsen".into(), kpl, false));

    let (s, v) = api
        .post(
            "/kostenplaatsen",
            json!({"omschrijving": "Project", "nummer": 4242}),
        )
        .await;
    let nieuw = answered(s, &v, StatusCode::CREATED);
    expected.push(("kostenplaatsen".into(), nieuw, true));

    let (s, v) = api
        .post("/grootboeken", json!({"omschrijving": "Omzet OSS", "nummer": 8077, "grootboekfunctie": "InstallatieTeleverkoopBinnenEUgeen", "rekeningCode": "WinstEnVerlies", "vatRateCode": "SR", "btwSoort": ["Hoog"]}))
        .await;
    expected.push((
        "grootboeken".into(),
        answered(s, &v, StatusCode::CREATED),
        true,
    ));

    let body = api.verkoop_body(&klant, "W-1").await;
    let (s, v) = api.post("/verkoopboekingen", body.clone()).await;
    let boeking = answered(s, &v, StatusCode::CREATED);
    expected.push(("verkoopboekingen".into(), boeking.clone(), true));
    let (s, v) = api.put(&format!("/verkoopboekingen/{boeking}"), body).await;
    assert_eq!(answered(s, &v, StatusCode::OK), boeking);

    let content = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4 test");
    let (s, v) = api
        .post(
            "/documenten/Verkoopboekingen",
            json!({"content": content, "parentIdentifier": boeking, "fileName": "factuur.pdf"}),
        )
        .await;
    let document = answered(s, &v, StatusCode::OK);
    expected.push(("documenten".into(), document.clone(), true));
    let (s, v) = api
        .put(
            &format!("/documenten/{document}"),
            json!({"content": content, "fileName": "factuur-2.pdf"}),
        )
        .await;
    assert_eq!(answered(s, &v, StatusCode::OK), document);

    let memo = json!({
        "datum": "2025-03-20", "dagboek": {"id": api.journal("Memoriaal").await}, "omschrijving": "Correctie",
        "memoriaalBoekingsRegels": [{"omschrijving": "a", "grootboek": {"id": api.ledger(1100).await}, "debet": 10, "credit": 0},
                                    {"omschrijving": "b", "grootboek": {"id": api.ledger(1100).await}, "debet": 0, "credit": 10}],
    });
    let (s, v) = api.post("/memoriaalboekingen", memo.clone()).await;
    let memoriaal = answered(s, &v, StatusCode::CREATED);
    expected.push(("memoriaalboekingen".into(), memoriaal.clone(), true));
    let (s, v) = api
        .put(&format!("/memoriaalboekingen/{memoriaal}"), memo)
        .await;
    assert_eq!(answered(s, &v, StatusCode::OK), memoriaal);

    let bank = json!({"datum": "2025-03-10", "dagboek": {"id": api.journal("Bank").await}, "bedragOntvangen": 21.0, "bedragUitgegeven": 0,
           "omschrijving": "Afschrift",
           "verkoopboekingBoekingsRegels": [{"boekingId": {"id": boeking}, "omschrijving": "Betaling", "debet": 0, "credit": 21.0}]});
    let (s, v) = api.post("/bankboekingen", bank.clone()).await;
    let bankboeking = answered(s, &v, StatusCode::CREATED);
    expected.push(("bankboekingen".into(), bankboeking.clone(), true));
    let (s, v) = api
        .put(&format!("/bankboekingen/{bankboeking}"), bank)
        .await;
    assert_eq!(answered(s, &v, StatusCode::OK), bankboeking);

    // No record: company info has no id; a refused write is not a write.
    let (s, _) = api
        .put("/companyInfo", json!({"factureerBuitenlandsBtw": true}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api
        .post("/kostenplaatsen", json!({"omschrijving": "Geen nummer"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let log = &api.server.writers()[0].records;
    let got: Vec<(String, String, bool)> = log
        .iter()
        .map(|r| (r.resource.clone(), r.id.to_string(), r.created_by.is_some()))
        .collect();
    assert_eq!(got, expected);
    for r in log {
        let want: Vec<&str> = vec![own.as_str()];
        assert_eq!(r.all().collect::<Vec<_>>(), want, "{r:?}");
    }
}

/// The kinds of a relation, to change it without changing its kind (REL-0064).
async fn seeded_kinds(api: &Api, id: &str) -> Value {
    let (_, r) = api.get(&format!("/relaties/{id}")).await;
    r["relatiesoort"].clone()
}

/// A write whose answer gains a property (API drift) is still noted under the record's id;
/// one whose added property overwrites the answer's `id` has no record id left to note.
#[tokio::test]
async fn a_write_answer_with_an_added_property_is_noted_unless_its_id_is_overwritten() {
    let api = Api::default().await;
    api.server
        .script_faults([ScriptedFault::new(FaultKind::NewProperty {
            name: "nieuwVeld".into(),
        })
        .on("POST", "/v2/relaties")]);
    let (s, v) = api
        .post(
            "/relaties",
            json!({"relatiesoort": ["Klant"], "naam": "Drift"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["nieuwVeld"], json!("added by SnelStart"));
    let drift = v["id"].as_str().unwrap().to_owned();

    api.server.script_faults([
        ScriptedFault::new(FaultKind::NewProperty { name: "id".into() }).on("POST", "/v2/relaties"),
    ]);
    let (s, v) = api
        .post(
            "/relaties",
            json!({"relatiesoort": ["Klant"], "naam": "Zonder id"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["id"], json!("added by SnelStart"));

    let log = &api.server.writers()[0].records;
    let ids: Vec<String> = log.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(ids, vec![drift]);
    let (_, all) = api.get("/relaties").await;
    assert_eq!(all.as_array().unwrap().len(), 2, "both were written");
}
