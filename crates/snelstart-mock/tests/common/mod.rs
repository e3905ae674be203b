//! Shared helpers for the integration tests: a server, a token and a small JSON client.
#![allow(dead_code)]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use snelstart_mock::{MockConfig, MockServer};

pub struct Api {
    pub server: MockServer,
    pub http: reqwest::Client,
    pub token: String,
}

pub async fn token_for(server: &MockServer, http: &reqwest::Client, key: &str) -> String {
    let r = http
        .post(server.auth_url())
        .form(&[("grant_type", "clientkey"), ("clientkey", key)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

impl Api {
    pub async fn start(config: MockConfig) -> Api {
        let server = MockServer::start(config).await.unwrap();
        let http = reqwest::Client::new();
        let token = token_for(&server, &http, server.client_key()).await;
        Api {
            server,
            http,
            token,
        }
    }

    pub async fn default() -> Api {
        Api::start(MockConfig::new()).await
    }

    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.server.base_url(), path))
            .header("Ocp-Apim-Subscription-Key", self.server.subscription_key())
            .bearer_auth(&self.token)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self.req(method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, v)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// The id of a seeded ledger by number.
    pub async fn ledger(&self, nummer: i64) -> String {
        let (_, v) = self
            .get(&format!("/grootboeken?$filter=Nummer eq {nummer}"))
            .await;
        v[0]["id"].as_str().unwrap().to_owned()
    }

    pub async fn kostenplaats(&self, nummer: i64) -> String {
        let (_, v) = self.get("/kostenplaatsen").await;
        v.as_array()
            .unwrap()
            .iter()
            .find(|k| k["nummer"] == nummer)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn journal(&self, soort: &str) -> String {
        let (_, v) = self.get("/dagboeken").await;
        v.as_array()
            .unwrap()
            .iter()
            .find(|k| k["soort"] == soort)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Create a relation of this kind and return its id.
    pub async fn relatie(&self, soort: &str, naam: &str) -> String {
        let (s, v) = self
            .post(
                "/relaties",
                json!({"relatiesoort": [soort], "naam": naam, "krediettermijn": 14}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// A valid sales booking body: 100.00 revenue high + 21.00 VAT = 121.00.
    pub async fn verkoop_body(&self, klant: &str, factuurnummer: &str) -> Value {
        json!({
            "factuurnummer": factuurnummer,
            "factuurdatum": "2025-03-01",
            "klant": {"id": klant},
            "omschrijving": "Advieswerk maart",
            "factuurbedrag": 121.00,
            "boekingsregels": [{"omschrijving": "Advies", "grootboek": {"id": self.ledger(8000).await}, "bedrag": 100.00, "btwSoort": "Hoog"}],
            "btw": [{"btwSoort": "VerkopenHoog", "btwBedrag": 21.00}],
        })
    }
}

/// The error codes of a SnelStart business-error body.
pub fn codes(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["errorCode"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Assert a 400 whose body contains `code`.
#[track_caller]
pub fn assert_code(status: StatusCode, body: &Value, code: &str) {
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "expected 400 {code}, got {status}: {body}"
    );
    assert!(
        codes(body).iter().any(|c| c == code),
        "expected {code} in {body}"
    );
}
