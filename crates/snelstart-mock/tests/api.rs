//! Authentication, reference data, relations, cost centres, ledgers and OData through HTTP.

mod common;

use base64::Engine;
use common::{Api, assert_code, codes};
use reqwest::StatusCode;
use serde_json::{Value, json};
use snelstart_mock::{AdministrationConfig, MockConfig, MockServer, ValidationConfig};

// ---------------------------------------------------------------- auth

#[tokio::test]
async fn token_clientkey_grant_and_invalid_grant() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let http = reqwest::Client::new();
    let ok: Value = http
        .post(server.auth_url())
        .form(&[
            ("grant_type", "clientkey"),
            ("clientkey", server.client_key()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["token_type"], "bearer");
    assert_eq!(ok["expires_in"], 3599);
    assert!(ok["access_token"].as_str().unwrap().len() >= 20);

    let bad = http
        .post(server.auth_url())
        .form(&[("grant_type", "clientkey"), ("clientkey", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json::<Value>().await.unwrap(),
        json!({"error": "invalid_grant"})
    );

    let unsupported = http
        .post(server.auth_url())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        unsupported.json::<Value>().await.unwrap(),
        json!({"error": "unsupported_grant_type"})
    );
}

#[tokio::test]
async fn token_password_grant_uses_base64_of_username_password() {
    let key = base64::engine::general_purpose::STANDARD.encode("gebruiker:geheim");
    let server = MockServer::start(MockConfig::new().with_client_key(key))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let r = http
        .post(server.auth_url())
        .form(&[
            ("grant_type", "password"),
            ("username", "gebruiker"),
            ("password", "geheim"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http
        .post(server.auth_url())
        .form(&[
            ("grant_type", "password"),
            ("username", "gebruiker"),
            ("password", "fout"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn subscription_key_is_checked_before_the_bearer_token() {
    let api = Api::default().await;
    let url = format!("{}/relaties", api.server.base_url());
    // No key, no token: the gateway answers first.
    let r = api.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["statusCode"], 401);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("missing subscription key")
    );
    // Wrong key.
    let r = api
        .http
        .get(&url)
        .header("Ocp-Apim-Subscription-Key", "x")
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("invalid subscription key")
    );
    // Right key, no token.
    let r = api
        .http
        .get(&url)
        .header("Ocp-Apim-Subscription-Key", api.server.subscription_key())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"Message": "Authorization has been denied for this request."})
    );
    // Key as query parameter works too.
    let r = api
        .http
        .get(format!(
            "{url}?subscription-key={}",
            api.server.subscription_key()
        ))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn expired_token_gives_401() {
    let api = Api::default().await;
    assert_eq!(api.get("/landen").await.0, StatusCode::OK);
    api.server.expire_tokens();
    assert_eq!(api.get("/landen").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn echo_returns_the_input_as_json_string() {
    let api = Api::default().await;
    let (s, v) = api.get("/echo/ping-42").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, json!("ping-42"));
}

// ---------------------------------------------------------------- reference data

#[tokio::test]
async fn reference_data_is_seeded() {
    let api = Api::default().await;
    let (_, landen) = api.get("/landen").await;
    let isos: Vec<&str> = landen
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["landcodeISO"].as_str().unwrap())
        .collect();
    for iso in ["NL", "BE", "DE", "FR", "GB", "US"] {
        assert!(isos.contains(&iso), "{iso} missing");
    }
    let nl = landen
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["landcodeISO"] == "NL")
        .unwrap();
    let (s, one) = api
        .get(&format!("/landen/{}", nl["id"].as_str().unwrap()))
        .await;
    assert_eq!((s, &one), (StatusCode::OK, nl));

    let (_, dagboeken) = api.get("/dagboeken").await;
    let soorten: Vec<&str> = dagboeken
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["soort"].as_str().unwrap())
        .collect();
    for s in ["Verkoop", "Inkoop", "Memoriaal", "Bank", "Kas"] {
        assert!(soorten.contains(&s));
    }

    let (_, tarieven) = api.get("/btwtarieven").await;
    let t = tarieven.as_array().unwrap();
    assert!(t.iter().any(|r| r["btwSoort"] == "Hoog"
        && r["btwPercentage"] == 21
        && r["datumVanaf"] == "2012-10-01T00:00:00"));
    assert!(t.iter().any(|r| r["btwSoort"] == "Hoog"
        && r["btwPercentage"] == 19
        && r["datumTotEnMet"] == "2012-09-30T00:00:00"));
    assert!(t.iter().any(|r| r["btwSoort"] == "Laag"
        && r["btwPercentage"] == 9
        && r["datumVanaf"] == "2019-01-01T00:00:00"));
    assert!(
        t.iter()
            .any(|r| r["btwSoort"] == "Laag" && r["btwPercentage"] == 6)
    );

    let (_, info) = api.get("/companyInfo").await;
    assert!(info["administratieIdentifier"].as_str().is_some());
    assert!(info.get("kvKNummer").is_some());

    let (_, g) = api.get("/grootboeken?$filter=Nummer eq 8000").await;
    assert_eq!(g[0]["grootboekfunctie"], "VerkopenOmzetHoog");
    assert_eq!(g[0]["btwSoort"], json!(["Hoog"]));
    let (_, g) = api
        .get("/grootboeken?$filter=KostenplaatsVerplicht eq true&$orderby=Nummer")
        .await;
    assert_eq!(g[0]["nummer"], 4400);
}

#[tokio::test]
async fn put_company_info_only_changes_the_foreign_vat_flag() {
    let api = Api::default().await;
    let (_, before) = api.get("/companyInfo").await;
    let (s, after) = api
        .put(
            "/companyInfo",
            json!({"factureerBuitenlandsBtw": true, "bedrijfsnaam": "Anders"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(after["factureerBuitenlandsBtw"], true);
    assert_eq!(after["bedrijfsnaam"], before["bedrijfsnaam"]);
}

// ---------------------------------------------------------------- relaties

#[tokio::test]
async fn relatie_crud_and_full_replacement() {
    let api = Api::default().await;
    let body = json!({
        "Relatiesoort": ["Klant"], "NAAM": "Fietsenmakerij Het Wiel", "krediettermijn": "14",
        "vestigingsAdres": {"straat": "Oudegracht 7", "postcode": "3511 AA", "plaats": "Utrecht"},
        "email": "joost@hetwiel.example", "onbekendVeld": 1, "id": "00000000-0000-0000-0000-000000000000",
    });
    let (s, created) = api.post("/relaties", body).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["naam"], "Fietsenmakerij Het Wiel");
    assert_eq!(created["krediettermijn"], 14);
    assert_eq!(created["fax"], Value::Null, "nulls are serialized");
    assert!(
        created["relatiecode"].as_i64().unwrap() > 0,
        "auto-numbered"
    );
    assert_eq!(
        created["vestigingsAdres"]["land"]["uri"]
            .as_str()
            .unwrap()
            .len(),
        "/landen/".len() + 36,
        "land defaults to NL"
    );
    assert_eq!(
        created["verkoopBoekingenUri"],
        format!("/relaties/{id}/verkoopboekingen")
    );
    let m1 = created["modifiedOn"].as_str().unwrap().to_owned();
    assert!(!m1.contains('+') && !m1.ends_with('Z'), "no offset: {m1}");

    let (s, got) = api.get(&format!("/relaties/{id}")).await;
    assert_eq!((s, &got), (StatusCode::OK, &created));

    // PUT replaces everything: the e-mail not sent is gone; read-only fields are ignored.
    let (s, put) = api
        .put(&format!("/relaties/{id}"), json!({"id": id, "relatiesoort": ["Klant"], "naam": "Het Wiel B.V.", "modifiedOn": "2000-01-01T00:00:00", "relatiecode": created["relatiecode"]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{put}");
    assert_eq!(put["naam"], "Het Wiel B.V.");
    assert_eq!(put["email"], Value::Null);
    assert!(
        put["modifiedOn"].as_str().unwrap() > m1.as_str(),
        "modifiedOn strictly increases"
    );

    // Delete = nonactief.
    let (s, _) = api.delete(&format!("/relaties/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    let (_, gone) = api.get(&format!("/relaties/{id}")).await;
    assert_eq!(gone["nonactief"], true);

    let (s, _) = api
        .get("/relaties/1b4e28ba-2fa1-11d2-883f-0016d3cca427")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = api.get("/relaties/geen-guid").await;
    assert_code(s, &v, "ALG-0103");
}

#[tokio::test]
async fn relatie_rules() {
    let api = Api::default().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"relatiesoort": ["Klant"]}), "REL-0007"),
        (json!({"relatiesoort": [], "naam": "x"}), "REL-0001"),
        (json!({"relatiesoort": ["Geen"], "naam": "x"}), "REL-0001"),
        (json!({"relatiesoort": ["Eigen"], "naam": "x"}), "REL-0048"),
        (
            json!({"relatiesoort": ["Klant", "Leverancier"], "naam": "x"}),
            "REL-0065",
        ),
        (json!({"relatiesoort": [2, 1], "naam": "x"}), "REL-0065"),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "vestigingsAdres": {"straat": "Dam 1"}}),
            "REL-0060",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "vestigingsAdres": {"straat": "Dam 1", "postcode": "1012 JS", "plaats": "Amsterdam", "land": {"id": "11111111-1111-1111-1111-111111111111"}}}),
            "REL-0056",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "vestigingsAdres": {"straat": "x".repeat(51), "postcode": "1", "plaats": "A"}}),
            "REL-0020",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "kvkNummer": "1234"}),
            "REL-0006",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "iban": "NL92ABNA0417164300"}),
            "REL-0011",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "bic": "abc"}),
            "REL-0010",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "btwNummer": "NL123456781B01"}),
            "REL-0088",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "btwNummer": "NL-12"}),
            "REL-0059",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "btwNummer": "DE123456789", "vestigingsAdres": {"straat": "Dam 1", "postcode": "1012 JS", "plaats": "Amsterdam"}}),
            "REL-0087",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "email": "geen-adres"}),
            "REL-0061",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "email": "a@b.nl;fout"}),
            "REL-0084",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "telefoon": "0".repeat(26)}),
            "REL-0013",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "krediettermijn": 1001}),
            "REL-0003",
        ),
        (
            json!({"relatiesoort": ["Leverancier"], "naam": "x", "factuurkorting": 2.5}),
            "REL-0004",
        ),
        (
            json!({"relatiesoort": ["Leverancier"], "naam": "x", "kredietLimiet": 100}),
            "REL-0062",
        ),
        (
            json!({"relatiesoort": ["Leverancier"], "naam": "x", "aanmaningsoort": "Onderneming"}),
            "REL-0002",
        ),
        (
            json!({"relatiesoort": ["Leverancier"], "naam": "x", "incassoSoort": "Core"}),
            "REL-0016",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "bankieren": true}),
            "REL-0014",
        ),
        (
            json!({"relatiesoort": ["Leverancier"], "naam": "x", "bankieren": true}),
            "REL-0009",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "oin": "123"}),
            "REL-0086",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "websiteUrl": "geen url"}),
            "REL-0015",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "factuurEmailVersturen": {"shouldSend": true}}),
            "REL-0032",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "factuurRelatie": {"id": "11111111-1111-1111-1111-111111111111"}}),
            "REL-0017",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "x", "id": "11111111-1111-1111-1111-111111111111"}),
            "REL-0063",
        ),
    ];
    for (body, code) in cases {
        let (s, v) = api.post("/relaties", body.clone()).await;
        assert_code(s, &v, code);
        let _ = body;
    }
    // Several errors at once.
    let (s, v) = api
        .post("/relaties", json!({"relatiesoort": [], "kvkNummer": "1"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let c = codes(&v);
    assert!(
        c.contains(&"REL-0007".into())
            && c.contains(&"REL-0001".into())
            && c.contains(&"REL-0006".into()),
        "{v}"
    );
    // Literal message.
    let (_, v) = api
        .post("/relaties", json!({"relatiesoort": ["Klant"]}))
        .await;
    assert_eq!(
        v,
        json!([{"errorCode": "REL-0007", "message": "Naam moet gevuld zijn"}])
    );
    // Name over 50: model state.
    let (s, v) = api
        .post(
            "/relaties",
            json!({"relatiesoort": ["Klant"], "naam": "n".repeat(51)}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["message"], "The request is invalid.");
    // Malformed JSON on relations: REL-0066; empty body: ALG-0106.
    let r = api
        .req(reqwest::Method::POST, "/relaties")
        .header("content-type", "application/json")
        .body("{niet json")
        .send()
        .await
        .unwrap();
    let s = r.status();
    assert_code(s, &r.json().await.unwrap(), "REL-0066");
    let r = api
        .req(reqwest::Method::POST, "/relaties")
        .header("content-type", "application/json")
        .body("")
        .send()
        .await
        .unwrap();
    let s = r.status();
    assert_code(s, &r.json().await.unwrap(), "ALG-0106");
}

#[tokio::test]
async fn relatie_valid_numbers_pass_and_checks_can_be_switched_off() {
    let api = Api::default().await;
    let (s, v) = api
        .post(
            "/relaties",
            json!({"relatiesoort": ["Leverancier"], "naam": "Groothandel", "kvkNummer": "12345678", "iban": "NL91ABNA0417164300",
                   "bic": "ABNANL2A", "btwNummer": "NL123456782B01", "bankieren": true, "oin": "00000001234567890000",
                   "websiteUrl": "https://groothandel.example", "email": "a@b.nl; c@d.nl"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let relaxed = ValidationConfig::default()
        .with_iban_checksum(false)
        .with_vat_checksum(false)
        .with_kvk_check(false);
    let api = Api::start(MockConfig::new().with_validation(relaxed)).await;
    let (s, v) = api
        .post("/relaties", json!({"relatiesoort": ["Klant"], "naam": "x", "iban": "NL30SIMB0417164300", "btwNummer": "NL009876546B21", "kvkNummer": "1"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn relatie_code_unique_kind_fixed_and_id_rules() {
    let api = Api::default().await;
    let (_, a) = api
        .post(
            "/relaties",
            json!({"relatiesoort": ["Klant"], "naam": "A", "relatiecode": 500}),
        )
        .await;
    assert_eq!(a["relatiecode"], 500);
    let (s, v) = api
        .post(
            "/relaties",
            json!({"relatiesoort": ["Klant"], "naam": "B", "relatiecode": 500}),
        )
        .await;
    assert_code(s, &v, "REL-0008");
    let id = a["id"].as_str().unwrap();
    let (s, v) = api
        .put(
            &format!("/relaties/{id}"),
            json!({"relatiesoort": ["Leverancier"], "naam": "A"}),
        )
        .await;
    assert_code(s, &v, "REL-0064");
    let (s, v) = api.put(&format!("/relaties/{id}"), json!({"id": "11111111-1111-1111-1111-111111111111", "relatiesoort": ["Klant"], "naam": "A"})).await;
    assert_code(s, &v, "REL-0047");
    // Customer referenced as invoice relation cannot be deleted.
    let (s, _) = api
        .post(
            "/relaties",
            json!({"relatiesoort": ["Klant"], "naam": "C", "factuurRelatie": {"id": id}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = api.delete(&format!("/relaties/{id}")).await;
    assert_code(s, &v, "REL-0051");
    // A supplier cannot be an invoice relation.
    let lev = api.relatie("Leverancier", "L").await;
    let (s, v) = api
        .post(
            "/relaties",
            json!({"relatiesoort": ["Klant"], "naam": "D", "factuurRelatie": {"id": lev}}),
        )
        .await;
    assert_code(s, &v, "REL-0018");
}

// ---------------------------------------------------------------- OData

#[tokio::test]
async fn odata_filter_order_page_select() {
    let api = Api::start(MockConfig::new().with_seed_relations(30)).await;
    let (s, all) = api.get("/relaties").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(all.as_array().unwrap().len(), 30);
    let (_, page) = api.get("/relaties?$top=10&$skip=25").await;
    assert_eq!(page.as_array().unwrap().len(), 5, "short last page");
    let (_, klanten) = api
        .get("/relaties?$filter=Relatiesoort/any(r:r eq 'Klant')")
        .await;
    assert!(
        klanten
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["relatiesoort"] == json!(["Klant"]))
    );
    let (_, sorted) = api
        .get("/relaties?$orderby=Relatiecode desc&$top=3&$select=Id,Relatiecode")
        .await;
    let codes: Vec<i64> = sorted
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["relatiecode"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![10030, 10029, 10028]);
    assert_eq!(
        sorted[0].as_object().unwrap().len(),
        2,
        "select keeps only the asked properties"
    );
    let first = &all[0];
    let naam = first["naam"].as_str().unwrap().replace('\'', "''");
    let (_, hit) = api
        .get(&format!(
            "/relaties?$filter=Naam eq '{naam}' and Id eq guid'{}'",
            first["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(hit.as_array().unwrap().len(), 1);
    let (_, changed) = api
        .get(&format!(
            "/relaties?$filter=ModifiedOn gt datetime'{}'",
            all[9]["modifiedOn"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        changed.as_array().unwrap().len(),
        20,
        "change feed by modifiedOn"
    );
    let (_, land) = api
        .get(&format!(
            "/relaties?$filter=VestigingsAdres/Land/Id eq guid'{}'",
            "050de499-cbf5-4a37-99b7-99281be9c951"
        ))
        .await;
    assert_eq!(land.as_array().unwrap().len(), 30);
    let (_, sub) = api.get("/relaties?$filter=substringof('a', Naam) eq true or startswith(Naam,'Bakkerij') eq true").await;
    assert!(!sub.as_array().unwrap().is_empty());

    for bad in [
        "email eq 'x'",
        "Naam eq",
        "Relatiecode eq '10001'",
        "contains(Naam,'a')",
        "Naam eq 'a' xor Naam eq 'b'",
    ] {
        let (s, v) = api
            .get(&format!("/relaties?$filter={}", urlencode(bad)))
            .await;
        assert_code(s, &v, "ALG-0104");
    }
    let (s, v) = api.get("/relaties?$top=501").await;
    assert_code(s, &v, "ALG-0104");
    let (s, v) = api.get("/relaties?$expand=Documents").await;
    assert_code(s, &v, "ALG-0104");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------- kostenplaatsen and grootboeken

/// KPL-0008 (a number in use) for creates and changes: a cost centre keeps its own number, a
/// renumbered one frees its old number, and a soft-deleted one keeps its number.
#[tokio::test]
async fn kostenplaats_numbers_stay_unique_through_changes() {
    let api = Api::default().await;
    let (s, a) = api
        .post(
            "/kostenplaatsen",
            json!({"nummer": 501, "omschrijving": "A"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let a = a["id"].as_str().unwrap().to_owned();
    let (s, b) = api
        .post(
            "/kostenplaatsen",
            json!({"nummer": 502, "omschrijving": "B"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let b = b["id"].as_str().unwrap().to_owned();
    let seeded = api.kostenplaats(10).await;

    let (s, v) = api
        .put(
            &format!("/kostenplaatsen/{a}"),
            json!({"nummer": 501, "omschrijving": "A2"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "its own number: {v}");
    let (s, v) = api
        .put(
            &format!("/kostenplaatsen/{a}"),
            json!({"nummer": 502, "omschrijving": "A"}),
        )
        .await;
    common::assert_code(s, &v, "KPL-0008");
    let (s, v) = api
        .put(
            &format!("/kostenplaatsen/{b}"),
            json!({"nummer": 10, "omschrijving": "B"}),
        )
        .await;
    common::assert_code(s, &v, "KPL-0008");
    // Renumbered: 501 is free again, 503 taken.
    let (s, v) = api
        .put(
            &format!("/kostenplaatsen/{a}"),
            json!({"nummer": 503, "omschrijving": "A"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = api
        .post(
            "/kostenplaatsen",
            json!({"nummer": 501, "omschrijving": "C"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = api
        .post(
            "/kostenplaatsen",
            json!({"nummer": 503, "omschrijving": "D"}),
        )
        .await;
    common::assert_code(s, &v, "KPL-0008");
    // A deleted (non-active) cost centre keeps its number.
    let (s, _) = api.delete(&format!("/kostenplaatsen/{seeded}")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = api
        .post(
            "/kostenplaatsen",
            json!({"nummer": 10, "omschrijving": "E"}),
        )
        .await;
    common::assert_code(s, &v, "KPL-0008");
    // After a reset only the seeded numbers are taken.
    api.server.reset();
    let (s, v) = api
        .post(
            "/kostenplaatsen",
            json!({"nummer": 503, "omschrijving": "F"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = api
        .post(
            "/kostenplaatsen",
            json!({"nummer": 20, "omschrijving": "G"}),
        )
        .await;
    common::assert_code(s, &v, "KPL-0008");
}

#[tokio::test]
async fn kostenplaats_rules() {
    let api = Api::default().await;
    let (s, k) = api
        .post(
            "/kostenplaatsen",
            json!({"nummer": 1003, "omschrijving": "Project Oost"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    for (body, code) in [
        (
            json!({"nummer": 1003, "omschrijving": "Dubbel"}),
            "KPL-0008",
        ),
        (json!({"omschrijving": "Zonder nummer"}), "KPL-0006"),
        (json!({"nummer": 0, "omschrijving": "Nul"}), "KPL-0007"),
        (
            json!({"nummer": 1_000_000_000i64, "omschrijving": "Te groot"}),
            "KPL-0007",
        ),
        (json!({"nummer": 1004}), "KPL-0004"),
        (
            json!({"nummer": 1005, "omschrijving": "x".repeat(51)}),
            "KPL-0005",
        ),
        (
            json!({"nummer": 1006, "omschrijving": "Inactief", "nonactief": true}),
            "KPL-0009",
        ),
    ] {
        let (s, v) = api.post("/kostenplaatsen", body).await;
        assert_code(s, &v, code);
    }
    let id = k["id"].as_str().unwrap();
    let (s, v) = api
        .put(
            &format!("/kostenplaatsen/{id}"),
            json!({"id": id, "nummer": 1003, "omschrijving": "Project Oost 2", "nonactief": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["nonactief"], true);
    let (_, list) = api.get("/kostenplaatsen").await;
    assert_eq!(list.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn grootboek_create_rules() {
    let api = Api::default().await;
    let (s, g) = api
        .post("/grootboeken", json!({"omschrijving": "Omzet OSS", "nummer": 8077, "grootboekfunctie": "InstallatieTeleverkoopBinnenEUgeen", "rekeningCode": "WinstEnVerlies", "vatRateCode": "SR", "btwSoort": ["Hoog"]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    assert_eq!(
        g["btwSoort"],
        json!(["Geen"]),
        "btwSoort is read-only, derived from the function"
    );
    let (s, v) = api
        .get(&format!("/grootboeken/{}", g["id"].as_str().unwrap()))
        .await;
    assert_eq!((s, v), (StatusCode::OK, g));
    for (body, code) in [
        (
            json!({"omschrijving": "Dubbel", "nummer": 8000, "grootboekfunctie": "Diversen"}),
            "BOE-0086",
        ),
        (
            json!({"omschrijving": "x".repeat(51), "nummer": 9001}),
            "BOE-0088",
        ),
        (
            json!({"omschrijving": "Fout", "nummer": 9002, "grootboekfunctie": "Bestaatniet"}),
            "BOE-0085",
        ),
        (
            json!({"omschrijving": "Tweede bank", "nummer": 9003, "grootboekfunctie": "DagboekBank"}),
            "BOE-0087",
        ),
    ] {
        let (s, v) = api.post("/grootboeken", body).await;
        assert_code(s, &v, code);
    }
}

// ---------------------------------------------------------------- administrations

#[tokio::test]
async fn administrations_never_mix() {
    let cfg = MockConfig::new().with_administration(
        AdministrationConfig::new("tweede-sleutel")
            .with_name("Tweede B.V.")
            .with_seed_relations(2),
    );
    let api = Api::start(cfg).await;
    let other = common::token_for(&api.server, &api.http, "tweede-sleutel").await;
    api.relatie("Klant", "Alleen in de eerste").await;
    let r: Value = api
        .http
        .get(format!("{}/relaties", api.server.base_url()))
        .header("Ocp-Apim-Subscription-Key", api.server.subscription_key())
        .bearer_auth(&other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r.as_array().unwrap().len(), 2);
    assert!(
        r.as_array()
            .unwrap()
            .iter()
            .all(|x| x["naam"] != "Alleen in de eerste")
    );
    let (_, mine) = api.get("/relaties").await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn seeded_relations_pass_every_rule_when_put_back() {
    let api = Api::start(MockConfig::new().with_seed_relations(40)).await;
    let (_, all) = api.get("/relaties").await;
    for r in all.as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        let (s, v) = api.put(&format!("/relaties/{id}"), r.clone()).await;
        assert_eq!(
            s,
            StatusCode::OK,
            "seeded relation {id} fails validation: {v}"
        );
        assert_eq!(v["iban"], r["iban"]);
        assert!(v["modifiedOn"].as_str() > r["modifiedOn"].as_str());
    }
}
