//! In-process entry points for the libFuzzer targets in the repository's `fuzz/` folder
//! (`mock_odata`, `mock_request_bodies`), usable by anything else that wants the simulator
//! without a socket.
//!
//! They run exactly the code the HTTP server runs — the OData engine of the list endpoints and
//! the whole router with its gateway layer — so what they answer is what a client over HTTP
//! gets, minus hyper. They are not part of the simulated API.
//!
//! ```
//! use serde_json::json;
//! use snelstart_mock::fuzzing::odata_list;
//!
//! let records = [json!({"naam": "Bakkerij", "relatiecode": 5})];
//! let (status, body) = odata_list("$filter=Relatiecode gt 1&$top=1", &records, false);
//! assert_eq!((status, body), (200, json!([{"naam": "Bakkerij", "relatiecode": 5}])));
//! let (status, body) = odata_list("$filter=Relatiecode gt", &records, false);
//! assert_eq!((status, &body[0]["errorCode"]), (400, &json!("ALG-0104")));
//! ```

use crate::config::{MockConfig, TopPolicy};
use crate::error::MockError;
use crate::server::Shared;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

/// The answer of a list endpoint to the query string `query` (without the `?`; URL-encoded as
/// on the wire) over `records` in creation order: `(200, array)` or the error status and body
/// (`400` `ALG-0104` for anything the engine does not accept). `allow_apply` gives the
/// grootboekmutaties endpoint, the only one with `$apply`. Items of `records` that are not JSON
/// objects are skipped (the simulator stores only objects). `$top` above 500 is refused, the
/// default [`TopPolicy`].
pub fn odata_list(query: &str, records: &[Value], allow_apply: bool) -> (u16, Value) {
    let records = records.iter().filter_map(Value::as_object);
    match crate::odata::list(Some(query), TopPolicy::Reject, records, allow_apply) {
        Ok(items) => (200, Value::Array(items)),
        Err(e) => {
            let (status, body) = e.status_and_body();
            (status.as_u16(), body)
        }
    }
}

/// A simulator without a socket: requests go through the same router, gateway layer and
/// handlers as over HTTP, authenticated with a token of the first administration.
pub struct InProcess {
    shared: Arc<Shared>,
    router: Router,
    token: String,
}

impl std::fmt::Debug for InProcess {
    // Hand-written: the shared state holds koppelsleutels and the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess").finish_non_exhaustive()
    }
}

impl InProcess {
    /// The simulator for `config` (its `addr` is not used), with a token for the first
    /// administration from its own `POST /b2b/token`.
    ///
    /// # Errors
    /// [`MockError::Config`] for an inconsistent configuration (as [`crate::MockServer::start`])
    /// or when the token endpoint grants no token; [`MockError::State`] for a state file that
    /// cannot be read.
    pub async fn new(config: MockConfig) -> Result<InProcess, MockError> {
        let client_key = config
            .administrations
            .first()
            .map(|a| a.client_key.clone())
            .unwrap_or_default();
        let shared = Shared::new(config)?;
        let router = crate::server::router(shared.clone());
        let form = serde_urlencoded::to_string([
            ("grant_type", "clientkey"),
            ("clientkey", client_key.as_str()),
        ])
        .map_err(|e| MockError::Config(e.to_string()))?;
        let request = Request::post("/b2b/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .map_err(|e| MockError::Config(e.to_string()))?;
        let (status, body) = send(&router, request).await;
        let token = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("access_token")?.as_str().map(str::to_owned))
            .ok_or_else(|| {
                MockError::Config(format!(
                    "the token endpoint answered {status} without a token"
                ))
            })?;
        Ok(InProcess {
            shared,
            router,
            token,
        })
    }

    /// `method path` (`path` from the root, e.g. `/v2/relaties?$top=1`) with `body` as
    /// `application/json`, the subscription key and the bearer token: the status and the body
    /// bytes of the answer. A method or path that is not valid HTTP (which hyper would refuse
    /// before the simulator saw it) is answered `400` with an empty body. A fault that drops the
    /// connection gives status `0`.
    pub async fn call(&self, method: &str, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                "Ocp-Apim-Subscription-Key",
                self.shared.config.subscription_key.as_str(),
            )
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .body(Body::from(body));
        match request {
            Ok(request) => send(&self.router, request).await,
            Err(_) => (400, Vec::new()),
        }
    }

    /// Restore the seed data, as [`crate::MockServer::reset`] (the token stays valid).
    pub fn reset(&self) {
        crate::server::reset(&self.shared);
    }

    /// All data of all administrations as JSON, as [`crate::MockServer::state_json`].
    pub fn state_json(&self) -> Value {
        crate::server::state_json(&self.shared)
    }
}

async fn send(router: &Router, request: Request<Body>) -> (u16, Vec<u8>) {
    // The router's error type is `Infallible`.
    let Ok(response) = router.clone().oneshot(request).await;
    let status = response.status().as_u16();
    match axum::body::to_bytes(response.into_body(), usize::MAX).await {
        Ok(bytes) => (status, bytes.to_vec()),
        // A body that fails on purpose: the fault that drops the connection.
        Err(_) => (0, Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn in_process_calls_pass_the_gateway_and_reach_the_handlers() {
        let sim = InProcess::new(MockConfig::new().with_seed_relations(2))
            .await
            .unwrap();
        let (status, body) = sim.call("GET", "/v2/relaties?$top=1", Vec::new()).await;
        assert_eq!(status, 200);
        let page: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(page.as_array().map(Vec::len), Some(1));
        let new = json!({"relatiesoort": ["Klant"], "naam": "Fuzz BV"}).to_string();
        let (status, body) = sim.call("POST", "/v2/relaties", new.into_bytes()).await;
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        let (status, _) = sim.call("POST", "/v2/relaties", b"{".to_vec()).await;
        assert_eq!(status, 400);
        let (status, _) = sim.call("G ET", "/v2/relaties", Vec::new()).await;
        assert_eq!(status, 400);
        sim.reset();
        let relations = sim.state_json()[0]["relaties"].as_array().map(Vec::len);
        assert_eq!(relations, Some(2));
    }

    #[test]
    fn odata_list_answers_like_the_endpoints() {
        let rows = [
            json!({"saldo": 10, "kostenplaats": null}),
            json!("not an object"),
            json!({"saldo": -3, "kostenplaats": null}),
        ];
        let (status, body) = odata_list("$apply=aggregate(Saldo with sum as T)", &rows, true);
        assert_eq!((status, body), (200, json!([{"T": 7}])));
        let (status, body) = odata_list("$apply=aggregate(Saldo with sum as T)", &rows, false);
        assert_eq!((status, &body[0]["errorCode"]), (400, &json!("ALG-0104")));
        let (status, body) = odata_list("$orderby=Saldo&$skip=1", &rows, false);
        assert_eq!(
            (status, body),
            (200, json!([{"saldo": 10, "kostenplaats": null}]))
        );
    }
}
