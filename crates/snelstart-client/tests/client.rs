//! The execute path against wiremock: auth, token caching and refresh, retries, rate limiting,
//! error decoding, paging and secret redaction.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::TryStreamExt;
use serde::Deserialize;
use snelstart_client::budget::BudgetConfig;
use snelstart_client::error::{AuthError, KnownCode, NotSentError, TransportStage};
use snelstart_client::odata::{Filter, Property, Query};
use snelstart_client::retry::RetryPolicy;
use snelstart_client::{Client, Error, Grant, ListRequest, Method, Request};
use wiremock::matchers::{body_string, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request as WireRequest, Respond, ResponseTemplate};

const SUB: &str = "sub-key-SECRET-1234";
const KEY: &str = "koppel-SECRET-5678";
const TOKEN: &str = "tok-SECRET-abcd";

fn token_body(token: &str, expires_in: u64) -> serde_json::Value {
    serde_json::json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in})
}

async fn mount_token(server: &MockServer, expires_in: u64) {
    Mock::given(method("POST"))
        .and(path("/b2b/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(TOKEN, expires_in)))
        .mount(server)
        .await;
}

fn client_for(server: &MockServer) -> snelstart_client::ClientBuilder {
    Client::builder()
        .base_url(format!("{}/v2", server.uri()))
        .auth_url(format!("{}/b2b/token", server.uri()))
        .subscription_key(SUB)
        .koppelsleutel(KEY)
        .rate_budget(BudgetConfig::unlimited())
        // A paused clock jumps to the next timer while a task waits on loopback I/O: no
        // timeouts in these tests, so the only timers are the ones under test.
        .timeout(Duration::ZERO)
        .retry_policy(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(10), Duration::from_millis(100)),
        )
}

#[derive(Debug, Deserialize, PartialEq)]
struct Thing {
    id: String,
    naam: String,
}

fn get_thing() -> Request<Thing> {
    Request::new(Method::Get, "things/{id}", "things/1")
}

#[tokio::test]
async fn sends_both_credentials_as_headers_only() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/b2b/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(format!("grant_type=clientkey&clientkey={KEY}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(TOKEN, 3599)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/things/1"))
        .and(header("Ocp-Apim-Subscription-Key", SUB))
        .and(header("Authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("Accept", "application/json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id": "1", "naam": "x", "extra": 1})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server).build().unwrap();
    let thing = client.execute(get_thing()).await.unwrap();
    assert_eq!(
        thing,
        Thing {
            id: "1".into(),
            naam: "x".into()
        }
    );
    for req in server.received_requests().await.unwrap() {
        assert!(
            !req.url.as_str().contains("SECRET"),
            "secret in URL {}",
            req.url
        );
    }
}

#[tokio::test]
async fn password_grant_splits_the_base64_koppelsleutel() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/b2b/token"))
        .and(body_string(
            "grant_type=password&username=user%40example.nl&password=p%3Ass",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(TOKEN, 3599)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"id":"1","naam":"x"})),
        )
        .mount(&server)
        .await;
    // base64("user@example.nl:p:ss"); only the first colon separates.
    let key = "dXNlckBleGFtcGxlLm5sOnA6c3M=";
    let client = client_for(&server)
        .koppelsleutel(key)
        .grant(Grant::Password)
        .build()
        .unwrap();
    client.execute(get_thing()).await.unwrap();

    let bad = client_for(&server)
        .koppelsleutel("not base64 at all!")
        .grant(Grant::Password)
        .build()
        .unwrap();
    let err = bad.execute(get_thing()).await.unwrap_err();
    assert!(
        matches!(err, Error::Auth(AuthError::InvalidKoppelsleutel { .. })),
        "{err:?}"
    );
    assert!(!err.to_string().contains("not base64"));
}

#[tokio::test]
async fn invalid_grant_is_an_auth_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/b2b/token"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "invalid_grant"})),
        )
        .mount(&server)
        .await;
    let client = client_for(&server).build().unwrap();
    let err = client.execute(get_thing()).await.unwrap_err();
    match &err {
        Error::Auth(AuthError::Refused { status, error, .. }) => {
            assert_eq!(*status, 400);
            assert_eq!(error.as_deref(), Some("invalid_grant"));
        }
        other => panic!("expected a refused token, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "no API call without a token"
    );
}

#[tokio::test]
async fn fifty_concurrent_calls_share_one_token_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/b2b/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body(TOKEN, 3599))
                .set_delay(Duration::from_millis(100)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/things/1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"id":"1","naam":"x"})),
        )
        .expect(50)
        .mount(&server)
        .await;
    let client = client_for(&server).build().unwrap();
    let calls = (0..50).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.execute(get_thing()).await })
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
}

/// Answers 401 to requests with the first token and 200 to the refreshed one.
struct RejectFirstToken;
impl Respond for RejectFirstToken {
    fn respond(&self, req: &WireRequest) -> ResponseTemplate {
        let auth = req.headers.get("authorization").unwrap().to_str().unwrap();
        if auth == "Bearer first" {
            ResponseTemplate::new(401).set_body_json(
                serde_json::json!({"Message":"Authorization has been denied for this request."}),
            )
        } else {
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"id":"1","naam":"x"}))
        }
    }
}

/// Hands out `first`, then `second`, ... as tokens.
struct TokenSequence(AtomicUsize);
impl Respond for TokenSequence {
    fn respond(&self, _: &WireRequest) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        let names = ["first", "second", "third", "fourth"];
        ResponseTemplate::new(200).set_body_json(token_body(names[n.min(3)], 3599))
    }
}

#[tokio::test]
async fn a_401_refreshes_the_token_and_retries_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/b2b/token"))
        .respond_with(TokenSequence(AtomicUsize::new(0)))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/things/1"))
        .respond_with(RejectFirstToken)
        .expect(2)
        .mount(&server)
        .await;
    let client = client_for(&server).build().unwrap();
    assert_eq!(client.execute(get_thing()).await.unwrap().naam, "x");
}

#[tokio::test]
async fn a_second_401_is_reported_not_looped() {
    let server = MockServer::start().await;
    mount_token(&server, 3599).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            serde_json::json!({"statusCode":401,"message":"Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."}),
        ))
        .expect(2)
        .mount(&server)
        .await;
    let client = client_for(&server).build().unwrap();
    let err = client.execute(get_thing()).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(err.to_string().contains("invalid subscription key"));
    assert!(!err.to_string().contains(SUB));
}

#[tokio::test(start_paused = true)]
async fn tokens_are_refreshed_a_margin_before_expiry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/b2b/token"))
        .respond_with(TokenSequence(AtomicUsize::new(0)))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"id":"1","naam":"x"})),
        )
        .mount(&server)
        .await;
    let client = client_for(&server)
        .token_refresh_margin(Duration::from_secs(60))
        .build()
        .unwrap();
    client.execute(get_thing()).await.unwrap();
    // 3,599 s lifetime - 60 s margin: still cached at 3,538 s, refreshed at 3,540 s.
    tokio::time::advance(Duration::from_secs(3_538)).await;
    client.execute(get_thing()).await.unwrap();
    tokio::time::advance(Duration::from_secs(2)).await;
    client.execute(get_thing()).await.unwrap();
    let tokens: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v2/things/1")
        .map(|r| {
            r.headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(tokens, ["Bearer first", "Bearer first", "Bearer second"]);
}

/// Answers with the given statuses in turn, then 200.
struct Sequence {
    statuses: Vec<ResponseTemplate>,
    calls: AtomicUsize,
}
impl Sequence {
    fn new(statuses: Vec<ResponseTemplate>) -> Self {
        Sequence {
            statuses,
            calls: AtomicUsize::new(0),
        }
    }
}
impl Respond for Sequence {
    fn respond(&self, _: &WireRequest) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.statuses.get(n).cloned().unwrap_or_else(|| {
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"id":"1","naam":"x"}))
        })
    }
}

fn rate_limited(secs: u64) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("Retry-After", secs.to_string().as_str())
        .set_body_json(serde_json::json!({"statusCode":429,"message":format!("Rate limit is exceeded. Try again in {secs} seconds.")}))
}

#[tokio::test(start_paused = true)]
async fn a_429_waits_for_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    mount_token(&server, 3599).await;
    Mock::given(method("GET"))
        .and(path("/v2/things/1"))
        .respond_with(Sequence::new(vec![rate_limited(12), rate_limited(12)]))
        .expect(3)
        .mount(&server)
        .await;
    let client = client_for(&server).build().unwrap();
    let start = tokio::time::Instant::now();
    client.execute(get_thing()).await.unwrap();
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(24), "waited only {waited:?}");
    assert!(waited < Duration::from_secs(25), "waited {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn a_long_retry_after_is_returned_to_the_caller() {
    let server = MockServer::start().await;
    mount_token(&server, 3599).await;
    Mock::given(method("POST"))
        .respond_with(rate_limited(600))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server).build().unwrap();
    let err = client
        .execute(Request::raw(Method::Post, "things").body_value(serde_json::json!({})))
        .await
        .unwrap_err();
    assert!(err.is_rate_limited());
    assert!(err.is_retryable());
    assert!(!err.outcome_uncertain());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(600)));
}

/// One row of the classifier, end to end: how many requests reach the server.
async fn attempts_for(
    method_: Method,
    responses: Vec<ResponseTemplate>,
) -> (usize, Result<serde_json::Value, Error>) {
    let server = MockServer::start().await;
    mount_token(&server, 3599).await;
    Mock::given(path("/v2/things"))
        .respond_with(Sequence::new(responses))
        .mount(&server)
        .await;
    let client = client_for(&server)
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(4)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    let mut req = Request::raw(method_, "things");
    if method_ != Method::Get && method_ != Method::Delete {
        req = req.body_value(serde_json::json!({"naam": "x"}));
    }
    let result = client.execute(req).await;
    let n = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v2/things")
        .count();
    (n, result)
}

#[tokio::test]
async fn retry_counts_per_classifier_row() {
    let s = ResponseTemplate::new;
    // GET 500, 502, 504 then success: 4 requests.
    let (n, r) = attempts_for(Method::Get, vec![s(500), s(502), s(504)]).await;
    assert_eq!((n, r.is_ok()), (4, true));
    // GET failing 5 times: stops at max_attempts (4).
    let (n, r) = attempts_for(Method::Get, vec![s(500), s(500), s(500), s(500), s(500)]).await;
    assert_eq!(n, 4);
    assert_eq!(r.unwrap_err().status(), Some(500));
    // PUT 503 then success.
    let (n, r) = attempts_for(Method::Put, vec![s(503)]).await;
    assert_eq!((n, r.is_ok()), (2, true));
    // DELETE 408 then success.
    let (n, r) = attempts_for(Method::Delete, vec![s(408)]).await;
    assert_eq!((n, r.is_ok()), (2, true));
    // POST 500: never repeated, outcome uncertain.
    let (n, r) = attempts_for(Method::Post, vec![s(500)]).await;
    assert_eq!(n, 1);
    let e = r.unwrap_err();
    assert!(e.outcome_uncertain() && e.is_retryable());
    // POST 503 (not processed): retried.
    let (n, r) = attempts_for(Method::Post, vec![s(503)]).await;
    assert_eq!((n, r.is_ok()), (2, true));
    // POST 429: retried after Retry-After.
    let (n, r) = attempts_for(Method::Post, vec![rate_limited(0)]).await;
    assert_eq!((n, r.is_ok()), (2, true));
    // 400 business error: never retried, codes decoded.
    let business = s(400).set_body_json(serde_json::json!([
        {"errorCode": "REL-0008", "message": "Relatiecode reeds in gebruik"}
    ]));
    let (n, r) = attempts_for(Method::Post, vec![business]).await;
    assert_eq!(n, 1);
    let e = r.unwrap_err();
    assert!(!e.is_retryable() && !e.outcome_uncertain());
    assert!(e.has_code(KnownCode::DuplicateRelatiecode));
    assert_eq!(e.error_codes()[0].as_str(), "REL-0008");
    assert!(
        e.to_string()
            .contains("REL-0008 Relatiecode reeds in gebruik")
    );
    // 404: not retried.
    let (n, _) = attempts_for(Method::Get, vec![s(404)]).await;
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_even_for_post_and_reported_as_not_sent() {
    // Bind and drop a listener so the port is (almost certainly) closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let token_server = MockServer::start().await;
    mount_token(&token_server, 3599).await;
    let client = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}/v2"))
        .auth_url(format!("{}/b2b/token", token_server.uri()))
        .subscription_key(SUB)
        .koppelsleutel(KEY)
        .rate_budget(BudgetConfig::unlimited())
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let err = client
        .execute(Request::raw(Method::Post, "relaties").body_value(serde_json::json!({})))
        .await
        .unwrap_err();
    match &err {
        Error::Transport(t) => {
            assert_eq!(t.stage, TransportStage::Connect);
            assert!(!t.may_have_reached_server);
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert!(!err.outcome_uncertain());
}

#[tokio::test]
async fn decode_errors_name_the_json_path() {
    let server = MockServer::start().await;
    mount_token(&server, 3599).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
            {"id": "1", "naam": "ok"},
            {"id": "2", "naam": 42}
        ])))
        .mount(&server)
        .await;
    let client = client_for(&server).build().unwrap();
    let err = client
        .execute(Request::<Vec<Thing>>::new(Method::Get, "things", "things"))
        .await
        .unwrap_err();
    match &err {
        Error::Decode(d) => {
            assert_eq!(d.path, "[1].naam");
            assert_eq!(d.status, 200);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn empty_bodies_decode_as_empty() {
    let server = MockServer::start().await;
    mount_token(&server, 3599).await;
    Mock::given(method("DELETE"))
        .and(path("/v2/things/1"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/things/2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&server)
        .await;
    let client = client_for(&server).build().unwrap();
    for id in ["1", "2"] {
        let req: Request<snelstart_client::Empty> =
            Request::new(Method::Delete, "things/{id}", format!("things/{id}"));
        client.execute(req).await.unwrap();
    }
}

/// Serves `total` things, `$top` at a time, honouring `$skip`.
struct Pages {
    total: usize,
}
impl Respond for Pages {
    fn respond(&self, req: &WireRequest) -> ResponseTemplate {
        let q: std::collections::HashMap<String, String> =
            req.url.query_pairs().into_owned().collect();
        let skip: usize = q.get("$skip").map_or(0, |s| s.parse().unwrap());
        let top: usize = q.get("$top").map_or(500, |s| s.parse().unwrap());
        let items: Vec<_> = (skip..(skip + top).min(self.total))
            .map(|i| serde_json::json!({"id": i.to_string(), "naam": format!("n{i}")}))
            .collect();
        ResponseTemplate::new(200).set_body_json(items)
    }
}

#[tokio::test]
async fn list_walks_pages_until_a_short_one() {
    let server = MockServer::start().await;
    mount_token(&server, 3599).await;
    Mock::given(method("GET"))
        .and(path("/v2/things"))
        .and(query_param("$filter", "Naam ne 'x'"))
        .respond_with(Pages { total: 1017 })
        .expect(3)
        .mount(&server)
        .await;
    let client = client_for(&server).build().unwrap();
    let query = Query::new().filter(Filter::ne(Property::new("Naam").unwrap(), "x"));
    let items: Vec<Thing> = client
        .list(ListRequest::new("things", "things", query))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items.len(), 1017);
    assert_eq!(items[1016].id, "1016");
    let skips: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v2/things")
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "$skip")
                .unwrap()
                .1
                .into_owned()
        })
        .collect();
    assert_eq!(skips, ["0", "500", "1000"]);
}

#[tokio::test]
async fn list_stops_on_an_empty_page_and_at_the_page_cap() {
    let server = MockServer::start().await;
    mount_token(&server, 3599).await;
    Mock::given(method("GET"))
        .and(path("/v2/exact"))
        .respond_with(Pages { total: 20 })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/endless"))
        .respond_with(Pages {
            total: usize::MAX / 2,
        })
        .mount(&server)
        .await;
    let client = client_for(&server)
        .page_size(10)
        .max_pages(5)
        .build()
        .unwrap();
    // 20 items in pages of 10: two full pages, then an empty one ends the walk.
    let exact: Vec<Thing> = client
        .list(ListRequest::new("exact", "exact", Query::new()))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(exact.len(), 20);
    // A server that never ends: 5 pages, then an error, and the stream ends.
    let results: Vec<Result<Thing, Error>> = futures::StreamExt::collect(
        client.list(ListRequest::new("endless", "endless", Query::new())),
    )
    .await;
    assert_eq!(results.len(), 51);
    assert!(matches!(
        results.last().unwrap(),
        Err(Error::NotSent(NotSentError::PageCapReached {
            pages: 5,
            ..
        }))
    ));
}

#[tokio::test(start_paused = true)]
async fn the_budget_spaces_calls_so_no_429_is_needed() {
    let server = MockServer::start().await;
    mount_token(&server, 3599).await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"id":"1","naam":"x"})),
        )
        .mount(&server)
        .await;
    let client = client_for(&server)
        .rate_budget(BudgetConfig::custom(5, 0, 2))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    for _ in 0..11 {
        client.execute(get_thing()).await.unwrap();
    }
    // 5 per (61.2 s) window: calls 6-10 wait one window, call 11 a second one.
    assert!(
        start.elapsed() >= Duration::from_millis(122_400),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(client.budget_usage().total, 11);
}

#[tokio::test]
async fn request_bodies_are_sent_as_json() {
    let server = MockServer::start().await;
    mount_token(&server, 3599).await;
    Mock::given(method("POST"))
        .and(path("/v2/things"))
        .and(header("content-type", "application/json"))
        .and(body_string_contains("\"naam\":\"Bakkerij 't Hoekje\""))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(serde_json::json!({"id":"9","naam":"Bakkerij 't Hoekje"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server).build().unwrap();
    let req: Request<Thing> = Request::with_body(
        Method::Post,
        "things",
        "things",
        &serde_json::json!({"naam": "Bakkerij 't Hoekje"}),
    )
    .unwrap();
    assert_eq!(client.execute(req).await.unwrap().id, "9");
}
