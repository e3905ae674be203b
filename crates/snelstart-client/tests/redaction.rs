//! Redaction: secrets (subscription key, koppelsleutel, tokens) never appear in Debug output,
//! errors or traces. In its own test binary because tracing's per-callsite interest cache is
//! process-wide and other tests running in parallel without a subscriber would disable events.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use snelstart_client::budget::BudgetConfig;
use snelstart_client::retry::RetryPolicy;
use snelstart_client::{Client, Method, Request};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request as WireRequest, Respond, ResponseTemplate};

const SUB: &str = "sub-key-SECRET-1234";
const KEY: &str = "koppel-SECRET-5678";
const TOKEN: &str = "tok-SECRET-abcd";

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Thing {
    id: String,
}

fn get_thing() -> Request<Thing> {
    Request::new(Method::Get, "things/{id}", "things/1")
}

/// Answers 500, then 429, then 200.
struct Flaky(AtomicUsize);
impl Respond for Flaky {
    fn respond(&self, _: &WireRequest) -> ResponseTemplate {
        match self.0.fetch_add(1, Ordering::SeqCst) {
            0 => ResponseTemplate::new(500),
            1 => ResponseTemplate::new(429).insert_header("Retry-After", "0"),
            _ => ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "1"})),
        }
    }
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let builder = Client::builder()
        .subscription_key(SUB)
        .koppelsleutel(KEY)
        .base_url("http://127.0.0.1:1/v2");
    let builder_debug = format!("{builder:?}");
    let client = builder.build().unwrap();
    for text in [builder_debug, format!("{client:?}"), format!("{client:#?}")] {
        assert!(!text.contains("SECRET"), "secret leaked: {text}");
        assert!(text.contains("REDACTED"), "{text}");
    }
    let missing = Client::builder().subscription_key(SUB).build().unwrap_err();
    assert!(!format!("{missing:?} {missing}").contains("SECRET"));
}

/// Collects everything tracing writes while a request runs.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);
impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_appear_in_traces_or_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/b2b/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"access_token": TOKEN, "token_type": "bearer", "expires_in": 3599}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/things/1"))
        .respond_with(Flaky(AtomicUsize::new(0)))
        .mount(&server)
        .await;
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let client = Client::builder()
        .base_url(format!("{}/v2", server.uri()))
        .auth_url(format!("{}/b2b/token", server.uri()))
        .subscription_key(SUB)
        .koppelsleutel(KEY)
        .rate_budget(BudgetConfig::unlimited())
        .retry_policy(
            RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    client.execute(get_thing()).await.unwrap();
    let err = client
        .execute(Request::<Thing>::new(Method::Get, "missing", "missing"))
        .await
        .unwrap_err();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("snelstart.request"),
        "no spans recorded: {logs}"
    );
    for secret in [SUB, KEY, TOKEN, "SECRET"] {
        assert!(!logs.contains(secret), "{secret} in logs");
        assert!(
            !format!("{err} {err:?}").contains(secret),
            "{secret} in error"
        );
    }
}
