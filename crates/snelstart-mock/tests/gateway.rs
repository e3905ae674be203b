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
