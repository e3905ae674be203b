//! Keys never leave: the subscription key and the koppelsleutel reach only the two configured
//! hosts, never over plain http off loopback, and hostile answers (redirects, huge bodies, a
//! huge `Retry-After`) end in typed errors.
//!
//! Two wiremock servers play SnelStart (`good`) and an attacker (`evil`); `evil` records every
//! request and must never see one carrying a key.

use std::time::Duration;

use snelstart_client::budget::BudgetConfig;
use snelstart_client::error::{AuthError, NotSentError};
use snelstart_client::retry::{MAX_RETRY_AFTER, RetryPolicy};
use snelstart_client::{Client, Error, Method, Request};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SUB: &str = "sub-key-SECRET-1234";
const KEY: &str = "koppel-SECRET-5678";
const TOKEN: &str = "tok-SECRET-abcd";

fn token_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(
        serde_json::json!({"access_token": TOKEN, "token_type": "bearer", "expires_in": 3599}),
    )
}

async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/b2b/token"))
        .respond_with(token_ok())
        .mount(server)
        .await;
}

/// The attacker answers everything with 200 and records it.
async fn evil() -> MockServer {
    let evil = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(token_ok())
        .mount(&evil)
        .await;
    evil
}

fn client_for(server: &MockServer) -> snelstart_client::ClientBuilder {
    Client::builder()
        .base_url(format!("{}/v2", server.uri()))
        .auth_url(format!("{}/b2b/token", server.uri()))
        .subscription_key(SUB)
        .koppelsleutel(KEY)
        .rate_budget(BudgetConfig::unlimited())
        .retry_policy(RetryPolicy::none())
}

/// Fails when any request that reached `evil` carries a key or the token, anywhere.
async fn assert_no_secret_reached(evil: &MockServer) {
    let requests = evil.received_requests().await.unwrap_or_default();
    for r in &requests {
        let mut seen = format!("{} {}\n", r.method, r.url);
        for (name, value) in &r.headers {
            seen.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or_default()));
        }
        seen.push_str(&String::from_utf8_lossy(&r.body));
        for secret in [SUB, KEY, TOKEN] {
            assert!(
                !seen.contains(secret),
                "the second host saw `{secret}`:\n{seen}"
            );
        }
    }
    assert!(
        requests.is_empty(),
        "the second host was contacted at all: {requests:?}"
    );
}

fn get_raw(path: &str) -> Request<serde_json::Value> {
    Request::raw(Method::Get, path)
}

#[tokio::test]
async fn a_cross_host_redirect_on_an_api_call_is_an_error_and_not_followed() {
    let good = MockServer::start().await;
    let evil = evil().await;
    mount_token(&good).await;
    for status in [301u16, 302, 303, 307, 308] {
        let p = format!("/v2/things/{status}");
        Mock::given(method("GET"))
            .and(path(p.as_str()))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("Location", format!("{}/steal", evil.uri()).as_str()),
            )
            .mount(&good)
            .await;
    }
    let client = client_for(&good).build().unwrap();
    for status in [301u16, 302, 303, 307, 308] {
        let err = client
            .execute(get_raw(&format!("things/{status}")))
            .await
            .unwrap_err();
        let Error::Redirect(redirect) = &err else {
            panic!("expected a redirect error, got {err:?}");
        };
        assert_eq!(redirect.status, status);
        let evil_host = evil.uri().trim_start_matches("http://").to_owned();
        assert_eq!(redirect.location_host.as_deref(), Some(evil_host.as_str()));
        assert!(err.to_string().contains(&evil_host), "{err}");
        assert!(!err.is_retryable());
    }
    // A POST with a body is not re-sent either.
    Mock::given(method("POST"))
        .and(path("/v2/things"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("Location", format!("{}/steal", evil.uri()).as_str()),
        )
        .mount(&good)
        .await;
    let post = Request::raw(Method::Post, "things").body_value(serde_json::json!({"x": KEY}));
    assert!(matches!(
        client.execute(post).await,
        Err(Error::Redirect(_))
    ));
    assert_no_secret_reached(&evil).await;
}

#[tokio::test]
async fn a_token_endpoint_redirect_never_reposts_the_koppelsleutel() {
    for status in [301u16, 302, 307, 308] {
        let good = MockServer::start().await;
        let evil = evil().await;
        Mock::given(method("POST"))
            .and(path("/b2b/token"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("Location", format!("{}/b2b/token", evil.uri()).as_str()),
            )
            .mount(&good)
            .await;
        let client = client_for(&good).build().unwrap();
        let err = client.execute(get_raw("things/1")).await.unwrap_err();
        match &err {
            Error::Auth(AuthError::Redirected {
                status: s,
                location_host,
            }) => {
                assert_eq!(*s, status);
                let evil_host = evil.uri().trim_start_matches("http://").to_owned();
                assert_eq!(location_host.as_deref(), Some(evil_host.as_str()));
            }
            other => panic!("expected AuthError::Redirected, got {other:?}"),
        }
        assert_no_secret_reached(&evil).await;
        // Nothing reached the API either: no token, no call.
        let calls = good.received_requests().await.unwrap();
        assert!(calls.iter().all(|r| r.url.path() == "/b2b/token"));
    }
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let build = |base: &str, auth: &str| {
        Client::builder()
            .base_url(base)
            .auth_url(auth)
            .subscription_key(SUB)
            .koppelsleutel(KEY)
            .build()
    };
    let https_api = "https://b2bapi.snelstart.nl/v2";
    let https_auth = "https://auth.snelstart.nl/b2b/token";
    // http to a real host, for either URL: refused before anything is sent.
    for (base, auth) in [
        ("http://b2bapi.snelstart.nl/v2", https_auth),
        (https_api, "http://auth.snelstart.nl/b2b/token"),
        ("http://10.0.0.5:8080/v2", https_auth),
        ("http://0.0.0.0:8080/v2", https_auth),
        ("http://localhost.evil.example/v2", https_auth),
        ("ftp://b2bapi.snelstart.nl/v2", https_auth),
        ("https://user:pw@b2bapi.snelstart.nl/v2", https_auth),
    ] {
        match build(base, auth) {
            Err(Error::NotSent(NotSentError::Configuration { message })) => {
                assert!(
                    !message.contains(KEY) && !message.contains(SUB),
                    "{message}"
                );
            }
            other => panic!("{base} / {auth}: expected a configuration error, got {other:?}"),
        }
    }
    // Loopback http (a local simulator) and https are fine.
    for (base, auth) in [
        (https_api, https_auth),
        (
            "http://127.0.0.1:8080/v2",
            "http://127.0.0.1:8080/b2b/token",
        ),
        (
            "http://127.1.2.3:8080/v2",
            "http://localhost:8080/b2b/token",
        ),
        ("http://[::1]:8080/v2", "http://LOCALHOST:8080/b2b/token"),
    ] {
        build(base, auth).unwrap_or_else(|e| panic!("{base} / {auth}: {e}"));
    }
    // The explicit opt-in.
    Client::builder()
        .base_url("http://10.0.0.5:8080/v2")
        .auth_url("http://10.0.0.5:8080/b2b/token")
        .subscription_key(SUB)
        .koppelsleutel(KEY)
        .allow_insecure_http(true)
        .build()
        .unwrap();
}

#[tokio::test]
async fn a_raw_path_can_never_change_scheme_or_host() {
    let good = MockServer::start().await;
    let evil = evil().await;
    mount_token(&good).await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&good)
        .await;
    let client = client_for(&good).build().unwrap();
    let evil_host = evil.uri().trim_start_matches("http://").to_owned();
    let hostile = [
        format!("http://{evil_host}/steal"),
        format!("HTTP://{evil_host}/steal"),
        format!("https://{evil_host}/steal"),
        format!("//{evil_host}/steal"),
        format!("///{evil_host}/steal"),
        format!("\\\\{evil_host}\\steal"),
        format!("/\\{evil_host}/steal"),
        format!("relaties\\..\\..\\{evil_host}"),
        "../b2b/token".to_owned(),
        "relaties/../../b2b/token".to_owned(),
        "relaties/%2e%2e/%2E%2E/b2b/token".to_owned(),
        "relaties/.%2e/x".to_owned(),
        "relaties/./x".to_owned(),
        "javascript:alert(1)".to_owned(),
        "relaties#frag".to_owned(),
        "relaties/\nx".to_owned(),
    ];
    for p in &hostile {
        let err = client.execute(get_raw(p)).await.unwrap_err();
        assert!(
            matches!(err, Error::NotSent(NotSentError::InvalidRequest { .. })),
            "{p:?}: {err:?}"
        );
    }
    assert_no_secret_reached(&evil).await;
    // The API host only saw nothing of them either (no call left the process).
    assert!(good.received_requests().await.unwrap().is_empty());
    // Ordinary paths still work, with or without a leading slash, with a query.
    for p in ["relaties", "/relaties/1", "relaties?$top=1", "companyInfo"] {
        client.execute(get_raw(p)).await.unwrap();
    }
    let seen: Vec<String> = good
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() != "/b2b/token")
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        seen,
        [
            "/v2/relaties",
            "/v2/relaties/1",
            "/v2/relaties",
            "/v2/companyInfo"
        ]
    );
}

#[tokio::test]
async fn oversized_bodies_are_a_typed_error() {
    let good = MockServer::start().await;
    mount_token(&good).await;
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(4096));
    Mock::given(method("GET"))
        .and(path("/v2/big"))
        .respond_with(ResponseTemplate::new(200).set_body_string(big.clone()))
        .mount(&good)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/bigerror"))
        .respond_with(ResponseTemplate::new(400).set_body_string(big.clone()))
        .mount(&good)
        .await;
    let client = client_for(&good).max_response_bytes(1024).build().unwrap();
    match client.execute(get_raw("big")).await {
        Err(Error::TooLarge(e)) => {
            assert_eq!((e.status, e.limit), (200, 1024));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(matches!(
        client.execute(get_raw("bigerror")).await,
        Err(Error::TooLarge(_))
    ));
    // Within the cap all is well.
    let roomy = client_for(&good).build().unwrap();
    roomy.execute(get_raw("big")).await.unwrap();
    assert_eq!(
        snelstart_client::DEFAULT_MAX_RESPONSE_BYTES,
        16 * 1024 * 1024
    );
}

#[tokio::test]
async fn an_oversized_token_answer_is_a_typed_error() {
    let good = MockServer::start().await;
    let huge = format!(
        "{{\"access_token\":\"{}\",\"expires_in\":3599}}",
        "t".repeat(snelstart_client::MAX_TOKEN_RESPONSE_BYTES + 1)
    );
    Mock::given(method("POST"))
        .and(path("/b2b/token"))
        .respond_with(ResponseTemplate::new(200).set_body_string(huge))
        .mount(&good)
        .await;
    let client = client_for(&good).build().unwrap();
    let err = client.execute(get_raw("things/1")).await.unwrap_err();
    assert!(
        matches!(err, Error::Auth(AuthError::TooLarge { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_huge_retry_after_is_clamped() {
    let good = MockServer::start().await;
    mount_token(&good).await;
    for (header, expected) in [
        ("100000000000000", MAX_RETRY_AFTER),
        ("18446744073709551615", MAX_RETRY_AFTER),
        ("999999999999999999999999999999", MAX_RETRY_AFTER),
        ("7", Duration::from_secs(7)),
    ] {
        let server = MockServer::start().await;
        mount_token(&server).await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", header))
            .mount(&server)
            .await;
        let client = client_for(&server).build().unwrap();
        let err = client.execute(get_raw("things/1")).await.unwrap_err();
        assert!(err.is_rate_limited());
        assert_eq!(err.retry_after(), Some(expected), "Retry-After: {header}");
        // What the engine does with it: add it to a date-time. Must not panic.
        let wait = chrono::TimeDelta::from_std(err.retry_after().unwrap()).unwrap();
        assert!(chrono::Utc::now().checked_add_signed(wait).is_some());
        let _ = chrono::Utc::now() + wait;
    }
    drop(good);
}
