//! Shared by the client's wiremock tests: a server that hands out tokens, and a client for it
//! without rate limits or retries, so each test sees exactly the answers it scripts.

#![allow(dead_code)]

use snelstart_client::ClientBuilder;
use snelstart_client::budget::BudgetConfig;
use snelstart_client::retry::RetryPolicy;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A wiremock server whose token endpoint (`/b2b/token`) accepts any key.
pub async fn server() -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server).await;
    server
}

/// Mounts the token endpoint on `server`.
pub async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/b2b/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"access_token": "t", "token_type": "bearer", "expires_in": 3599}),
        ))
        .mount(server)
        .await;
}

/// A client builder for `server` (API under `/v2`), unlimited budget, no retries.
pub fn builder(server: &MockServer) -> ClientBuilder {
    snelstart_client::Client::builder()
        .base_url(format!("{}/v2", server.uri()))
        .auth_url(format!("{}/b2b/token", server.uri()))
        .subscription_key("s")
        .koppelsleutel("k")
        .rate_budget(BudgetConfig::unlimited())
        .retry_policy(RetryPolicy::none())
}
