//! Bookings, invoices, payments, journal entries, attachments and ledger mutations via HTTP.

mod common;

use base64::Engine;
use chrono::NaiveDate;
use common::{Api, assert_code};
use reqwest::StatusCode;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use snelstart_mock::{MockConfig, ValidationConfig};

#[tokio::test]
async fn verkoopboeking_creates_its_verkoopfactuur() {
    let api = Api::default().await;
    let klant = api.relatie("Klant", "Bakkerij De Zandloper").await;
    let body = api.verkoop_body(&klant, "2025-0001").await;
    let (s, b) = api.post("/verkoopboekingen", body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let bid = b["id"].as_str().unwrap();
    assert_eq!(b["factuurbedrag"], json!(121));
    assert_eq!(b["factuurdatum"], "2025-03-01T00:00:00");
    assert_eq!(b["betalingstermijn"], Value::Null);

    let (_, facturen) = api
        .get("/verkoopfacturen?$filter=Factuurnummer eq '2025-0001'")
        .await;
    let f = &facturen[0];
    assert_ne!(f["id"], b["id"], "the invoice has its own id");
    assert_eq!(f["verkoopBoeking"]["id"], b["id"]);
    assert_eq!(f["openstaandSaldo"], json!(121));
    assert_eq!(f["factuurBedrag"], json!(121));
    // No betalingstermijn: the relation's krediettermijn (14 days) applies.
    assert_eq!(f["vervalDatum"], "2025-03-15T00:00:00");
    let (s, one) = api
        .get(&format!("/verkoopfacturen/{}", f["id"].as_str().unwrap()))
        .await;
    assert_eq!((s, &one), (StatusCode::OK, f));
    let (_, open) = api
        .get(&format!(
            "/verkoopfacturen?$filter=Relatie/Id eq guid'{klant}' and OpenstaandSaldo ne 0"
        ))
        .await;
    assert_eq!(open.as_array().unwrap().len(), 1);
    let (_, sub) = api
        .get(&format!("/relaties/{klant}/verkoopboekingen"))
        .await;
    assert_eq!(sub[0]["id"], b["id"]);

    // Update with explicit betalingstermijn moves vervalDatum; the invoice keeps its id.
    let mut upd = api.verkoop_body(&klant, "2025-0001").await;
    upd["betalingstermijn"] = json!(30);
    let (s, u) = api.put(&format!("/verkoopboekingen/{bid}"), upd).await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let (_, f2) = api
        .get(&format!("/verkoopfacturen/{}", f["id"].as_str().unwrap()))
        .await;
    assert_eq!(f2["vervalDatum"], "2025-03-31T00:00:00");
    assert!(f2["modifiedOn"].as_str() > f["modifiedOn"].as_str());

    // Delete removes booking and invoice.
    assert_eq!(
        api.delete(&format!("/verkoopboekingen/{bid}")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        api.get(&format!("/verkoopboekingen/{bid}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, none) = api.get("/verkoopfacturen").await;
    assert!(none.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn booking_rules() {
    let api = Api::default().await;
    let klant = api.relatie("Klant", "Klant").await;
    let lev = api.relatie("Leverancier", "Leverancier").await;
    let (s, _) = api
        .post("/verkoopboekingen", api.verkoop_body(&klant, "F-1").await)
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let base = api.verkoop_body(&klant, "F-2").await;
    let l8010 = api.ledger(8010).await;
    let l8020 = api.ledger(8020).await;
    let l8100 = api.ledger(8100).await;
    let l1300 = api.ledger(1300).await;
    let l2000 = api.ledger(2000).await;
    let kpl = api.kostenplaats(10).await;
    let with = |patch: &dyn Fn(&mut Value)| {
        let mut b = base.clone();
        patch(&mut b);
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (api.verkoop_body(&klant, "F-1").await, "BOE-0021"),
        (
            with(&|b| b["factuurnummer"] = json!("x".repeat(26))),
            "BOE-0058",
        ),
        (with(&|b| b["factuurnummer"] = Value::Null), "BOE-0058"),
        (with(&|b| b["factuurbedrag"] = json!(120)), "BOE-0039"),
        (with(&|b| b["klant"]["id"] = json!(lev)), "BOE-0060"),
        (
            with(&|b| b["klant"]["id"] = json!("11111111-1111-1111-1111-111111111111")),
            "REL-0005",
        ),
        (with(&|b| b["boekingsregels"] = json!([])), "BOE-0023"),
        (
            with(&|b| b["boekingsregels"][0]["bedrag"] = json!(0)),
            "BOE-0028",
        ),
        (
            with(&|b| b["boekingsregels"][0]["btwSoort"] = json!("Laag")),
            "BOE-0082",
        ),
        (
            with(&|b| {
                b["boekingsregels"][0]["grootboek"]["id"] =
                    json!("11111111-1111-1111-1111-111111111111")
            }),
            "BOE-0037",
        ),
        (
            with(&|b| b["boekingsregels"][0]["grootboek"]["id"] = json!(l8100)),
            "BOE-0022",
        ),
        (
            with(&|b| {
                b["boekingsregels"][0]["kostenplaats"] =
                    json!({"id": "11111111-1111-1111-1111-111111111111"})
            }),
            "BOE-0019",
        ),
        (
            with(&|b| b["boekingsregels"][0]["grootboek"]["id"] = json!(l1300)),
            "BOE-0061",
        ),
        (
            with(&|b| b["boekingsregels"][0]["grootboek"]["id"] = json!(l2000)),
            "BOE-0075",
        ),
        (
            with(&|b| b["btw"][0]["btwBedrag"] = json!(25.00)),
            "BOE-0069",
        ),
        (
            with(&|b| b["omschrijving"] = json!("x".repeat(251))),
            "BOE-0071",
        ),
        (with(&|b| b["boekstuk"] = json!("x".repeat(26))), "BOE-0068"),
        (with(&|b| b["factuurdatum"] = json!("1-3-2025")), "BOE-0070"),
        (
            with(&|b| b["factuurdatum"] = json!("2001-01-01")),
            "BOE-0033",
        ),
        (
            with(&|b| b["id"] = json!("11111111-1111-1111-1111-111111111111")),
            "ALG-0100",
        ),
        (
            with(&|b| {
                b["boekingsregels"] = json!([
                    {"grootboek": {"id": l8020}, "bedrag": 100, "btwSoort": "Geen"},
                    {"grootboek": {"id": l8010}, "bedrag": 100, "btwSoort": "Laag"}
                ]);
                b["btw"] = json!([{"btwSoort": "VerkopenVerlegd", "btwBedrag": 0}, {"btwSoort": "VerkopenLaag", "btwBedrag": 9}]);
                b["factuurbedrag"] = json!(209);
            }),
            "BOE-0062",
        ),
    ];
    for (body, code) in cases {
        let (s, v) = api.post("/verkoopboekingen", body).await;
        assert_code(s, &v, code);
    }
    // More than two decimals: model-state 400.
    let (s, v) = api
        .post(
            "/verkoopboekingen",
            with(&|b| b["boekingsregels"][0]["bedrag"] = json!(100.001)),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["message"], "The request is invalid.");
    // Inactive customer.
    assert_eq!(
        api.delete(&format!("/relaties/{klant}")).await.0,
        StatusCode::BAD_REQUEST,
        "open invoice blocks delete"
    );
    let k2 = api.relatie("Klant", "Weg").await;
    api.delete(&format!("/relaties/{k2}")).await;
    let (s, v) = api
        .post("/verkoopboekingen", with(&|b| b["klant"]["id"] = json!(k2)))
        .await;
    assert_code(s, &v, "BOE-0054");
    // Inactive cost centre on a ledger that requires one.
    let (_, _) = api.delete(&format!("/kostenplaatsen/{kpl}")).await;
    let (s, v) = api
        .post(
            "/verkoopboekingen",
            with(&|b| {
                b["boekingsregels"][0]["grootboek"]["id"] = json!(l8100);
                b["boekingsregels"][0]["kostenplaats"] = json!({"id": kpl});
            }),
        )
        .await;
    assert_code(s, &v, "BOE-0026");
    // VAT of the invoice date: 19 % before 2012-10-01.
    let old = with(&|b| {
        b["factuurdatum"] = json!("2012-09-30");
        b["btw"][0]["btwBedrag"] = json!(19);
        b["factuurbedrag"] = json!(119);
    });
    let api_old = Api::start(
        MockConfig::new().with_start_time(
            NaiveDate::from_ymd_opt(2015, 1, 1)
                .unwrap()
                .and_hms_opt(9, 0, 0)
                .unwrap(),
        ),
    )
    .await;
    let k = api_old.relatie("Klant", "Oud").await;
    let mut old = old;
    old["klant"]["id"] = json!(k);
    old["boekingsregels"][0]["grootboek"]["id"] = json!(api_old.ledger(8000).await);
    let (s, v) = api_old.post("/verkoopboekingen", old).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(
        v["modifiedOn"].as_str().unwrap().starts_with("2015-01-01T"),
        "fixed start time: {v}"
    );
}

#[tokio::test]
async fn vat_tolerance_is_configurable() {
    let api = Api::start(
        MockConfig::new().with_validation(ValidationConfig::default().with_vat_amount_check(false)),
    )
    .await;
    let klant = api.relatie("Klant", "K").await;
    let mut b = api.verkoop_body(&klant, "T-1").await;
    b["btw"][0]["btwBedrag"] = json!(25);
    b["factuurbedrag"] = json!(125);
    assert_eq!(
        api.post("/verkoopboekingen", b).await.0,
        StatusCode::CREATED
    );
    // Within one cent per line is accepted by default.
    let api = Api::default().await;
    let klant = api.relatie("Klant", "K").await;
    let mut b = api.verkoop_body(&klant, "T-2").await;
    b["btw"][0]["btwBedrag"] = json!(21.01);
    b["factuurbedrag"] = json!(121.01);
    assert_eq!(
        api.post("/verkoopboekingen", b).await.0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn inkoopboeking_and_inkoopfactuur() {
    let api = Api::default().await;
    let lev = api.relatie("Leverancier", "Groothandel").await;
    let klant = api.relatie("Klant", "Klant").await;
    let body = json!({
        "factuurnummer": "INK-77", "factuurdatum": "2025-02-10", "leverancier": {"id": lev}, "factuurbedrag": 109.00,
        "boekingsregels": [{"grootboek": {"id": api.ledger(4300).await}, "bedrag": 100.00, "btwSoort": "Laag"}],
        "btw": [{"btwSoort": "InkopenLaag", "btwBedrag": 9.00}],
    });
    let (s, b) = api.post("/inkoopboekingen", body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (_, f) = api.get("/inkoopfacturen").await;
    assert_eq!(f[0]["inkoopBoeking"]["id"], b["id"]);
    assert_eq!(f[0]["openstaandSaldo"], json!(109));
    let (s, v) = api.post("/inkoopboekingen", body.clone()).await;
    assert_code(s, &v, "BOE-0021");
    let mut other = body.clone();
    other["leverancier"]["id"] = json!(klant);
    let (s, v) = api.post("/inkoopboekingen", other).await;
    assert_code(s, &v, "BOE-0003");
    let mut missing = body.clone();
    missing["leverancier"]["id"] = json!("11111111-1111-1111-1111-111111111111");
    let (s, v) = api.post("/inkoopboekingen", missing).await;
    assert_code(s, &v, "BOE-0038");
    let (_, sub) = api.get(&format!("/relaties/{lev}/inkoopboekingen")).await;
    assert_eq!(sub.as_array().unwrap().len(), 1);
    let (s, _) = api.delete(&format!("/relaties/{lev}")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "supplier with open invoice");
}

#[tokio::test]
async fn memoriaal_allocation_reduces_openstaand_saldo() {
    let api = Api::default().await;
    let klant = api.relatie("Klant", "K").await;
    let (_, b) = api
        .post("/verkoopboekingen", api.verkoop_body(&klant, "M-1").await)
        .await;
    let bid = b["id"].as_str().unwrap().to_owned();
    let (_, f0) = api.get("/verkoopfacturen").await;
    let memo = json!({
        "datum": "2025-03-20", "dagboek": {"id": api.journal("Memoriaal").await}, "omschrijving": "Betaling",
        "memoriaalBoekingsRegels": [{"omschrijving": "Bank", "grootboek": {"id": api.ledger(1100).await}, "debet": 100.00, "credit": 0}],
        "verkoopboekingBoekingsRegels": [{"boekingId": {"id": bid}, "omschrijving": "Deelbetaling", "bedrag": 100.00}],
    });
    let (s, m) = api.post("/memoriaalboekingen", memo.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let (_, f1) = api.get("/verkoopfacturen").await;
    assert_eq!(f1[0]["openstaandSaldo"], json!(21));
    assert!(f1[0]["modifiedOn"].as_str() > f0[0]["modifiedOn"].as_str());
    // An invoice with payments cannot be deleted.
    let (s, v) = api.delete(&format!("/verkoopboekingen/{bid}")).await;
    assert_code(s, &v, "BOE-0083");
    // Deleting the payment restores the open amount.
    let mid = m["id"].as_str().unwrap();
    assert_eq!(
        api.delete(&format!("/memoriaalboekingen/{mid}")).await.0,
        StatusCode::OK
    );
    let (_, f2) = api.get("/verkoopfacturen").await;
    assert_eq!(f2[0]["openstaandSaldo"], json!(121));

    // Journal-entry rules.
    let bank = api.ledger(1100).await;
    let l4300 = api.ledger(4300).await;
    let j = api.journal("Memoriaal").await;
    for (body, code) in [
        (
            json!({"datum": "2025-03-20", "dagboek": {"id": j}, "memoriaalBoekingsRegels": [{"omschrijving": "a", "grootboek": {"id": bank}, "debet": 1}]}),
            "BOE-0094",
        ),
        (
            json!({"datum": "2025-03-20", "dagboek": {"id": j}, "memoriaalBoekingsRegels": [{"omschrijving": "a", "grootboek": {"id": bank}, "debet": 1}, {"omschrijving": "b", "grootboek": {"id": l4300}, "credit": 2}]}),
            "BOE-0039",
        ),
        (
            json!({"datum": "2025-03-20", "dagboek": {"id": j}, "memoriaalBoekingsRegels": [{"omschrijving": "a", "grootboek": {"id": bank}, "debet": 1, "credit": 1}, {"omschrijving": "b", "grootboek": {"id": l4300}, "credit": 0}]}),
            "BOE-0076",
        ),
        (
            json!({"datum": "2025-03-20", "dagboek": {"id": api.journal("Bank").await}, "memoriaalBoekingsRegels": [{"omschrijving": "a", "grootboek": {"id": bank}, "debet": 1}, {"omschrijving": "b", "grootboek": {"id": l4300}, "credit": 1}]}),
            "BOE-0095",
        ),
        (
            json!({"datum": "2025-03-20", "dagboek": {"id": j}, "memoriaalBoekingsRegels": [{"grootboek": {"id": bank}, "debet": 1}, {"omschrijving": "b", "grootboek": {"id": l4300}, "credit": 1}]}),
            "BOE-0084",
        ),
    ] {
        let (s, v) = api.post("/memoriaalboekingen", body).await;
        assert_code(s, &v, code);
    }
    // Negative amounts are allowed (vendor test books credit 1 and -1).
    let (s, v) = api
        .post("/memoriaalboekingen", json!({"datum": "2025-03-20", "dagboek": {"id": j}, "memoriaalBoekingsRegels": [{"omschrijving": "a", "grootboek": {"id": l4300}, "credit": 1}, {"omschrijving": "b", "grootboek": {"id": l4300}, "credit": -1}]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn register_payment_via_handle_and_http() {
    let api = Api::default().await;
    let klant = api.relatie("Klant", "K").await;
    let (_, b) = api
        .post("/verkoopboekingen", api.verkoop_body(&klant, "P-1").await)
        .await;
    let date = NaiveDate::from_ymd_opt(2025, 3, 20).unwrap();
    api.server
        .register_payment(None, "P-1", dec!(21.00), date)
        .unwrap();
    let (_, f) = api.get("/verkoopfacturen").await;
    assert_eq!(f[0]["openstaandSaldo"], json!(100));
    let r = api
        .http
        .post(format!("{}/_mock/payments", api.server.root_url()))
        .header("Ocp-Apim-Subscription-Key", api.server.subscription_key())
        .json(&json!({"verkoopboekingId": b["id"], "bedrag": 100, "datum": "2025-03-21"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, f) = api
        .get("/verkoopfacturen?$filter=OpenstaandSaldo eq 0")
        .await;
    assert_eq!(f.as_array().unwrap().len(), 1);
    assert!(
        api.server
            .register_payment(None, "BESTAAT-NIET", dec!(1), date)
            .is_err()
    );
    assert!(
        api.server
            .register_payment(Some("onbekend"), "P-1", dec!(1), date)
            .is_err()
    );
}

#[tokio::test]
async fn documenten_upload_list_get_delete() {
    let api = Api::start(
        MockConfig::new()
            .with_validation(ValidationConfig::default().with_max_attachment_bytes(1024)),
    )
    .await;
    let klant = api.relatie("Klant", "K").await;
    let (_, b) = api
        .post("/verkoopboekingen", api.verkoop_body(&klant, "D-1").await)
        .await;
    let bid = b["id"].as_str().unwrap();
    let content = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4 test");
    let (s, up) = api
        .post("/documenten/Verkoopboekingen", json!({"content": content, "parentIdentifier": bid, "fileName": "factuur.pdf", "readOnly": false}))
        .await;
    assert_eq!(s, StatusCode::OK, "{up}");
    let did = up["id"].as_str().unwrap();
    assert_eq!(up["uri"], format!("/documenten/{did}"));
    let (_, list) = api
        .get(&format!("/documenten/Verkoopboekingen/{bid}"))
        .await;
    assert_eq!(
        list,
        json!([{"verkoopBoekingId": bid, "fileName": "factuur.pdf", "readOnly": false, "id": did, "uri": format!("/documenten/{did}")}])
    );
    let (_, doc) = api.get(&format!("/documenten/{did}")).await;
    assert_eq!(doc["content"], content);
    let (_, booking) = api.get(&format!("/verkoopboekingen/{bid}")).await;
    assert_eq!(booking["documents"][0]["id"], did);

    for (body, code) in [
        (
            json!({"content": content, "parentIdentifier": bid}),
            "BLG-0007",
        ),
        (
            json!({"content": content, "parentIdentifier": bid, "fileName": "a/b.pdf"}),
            "BLG-0016",
        ),
        (
            json!({"parentIdentifier": bid, "fileName": "a.pdf"}),
            "BLG-0011",
        ),
        (
            json!({"content": base64::engine::general_purpose::STANDARD.encode(vec![0u8; 2048]), "parentIdentifier": bid, "fileName": "groot.pdf"}),
            "BLG-0006",
        ),
    ] {
        let (s, v) = api.post("/documenten/Verkoopboekingen", body).await;
        assert_code(s, &v, code);
    }
    let (s, _) = api.post("/documenten/Verkoopboekingen", json!({"content": content, "parentIdentifier": "11111111-1111-1111-1111-111111111111", "fileName": "a.pdf"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "parent must exist");
    let (s, _) = api
        .post(
            "/documenten/Relaties",
            json!({"content": content, "parentIdentifier": klant, "fileName": "kvk.pdf"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    assert_eq!(
        api.delete(&format!("/documenten/{did}")).await.0,
        StatusCode::OK
    );
    let (s, v) = api.delete(&format!("/documenten/{did}")).await;
    assert_code(s, &v, "BLG-0001");
    let (_, booking) = api.get(&format!("/verkoopboekingen/{bid}")).await;
    assert_eq!(booking["documents"], json!([]));
}

/// Regression (issue 9): axum's default 2 MB body limit answered 413 to valid uploads of a few
/// megabytes. SnelStart takes files up to 10 MB and answers BLG-0006 above that.
#[tokio::test]
async fn documenten_accept_files_up_to_the_limit_and_answer_blg_0006_above_it() {
    let api = Api::start(MockConfig::new()).await;
    let klant = api.relatie("Klant", "K").await;
    let (_, b) = api
        .post("/verkoopboekingen", api.verkoop_body(&klant, "D-2").await)
        .await;
    let bid = b["id"].as_str().unwrap();
    let limit = ValidationConfig::default().max_attachment_bytes;
    let at_limit = base64::engine::general_purpose::STANDARD.encode(vec![b'%'; limit]);
    let (s, v) = api
        .post(
            "/documenten/Verkoopboekingen",
            json!({"content": at_limit, "parentIdentifier": bid, "fileName": "groot.pdf"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "a file of exactly the limit is accepted: {v}"
    );
    let over = base64::engine::general_purpose::STANDARD.encode(vec![b'%'; limit + limit / 2]);
    let (s, v) = api
        .post(
            "/documenten/Verkoopboekingen",
            json!({"content": over, "parentIdentifier": bid, "fileName": "te-groot.pdf"}),
        )
        .await;
    assert_code(s, &v, "BLG-0006");
}

#[tokio::test]
async fn grootboekmutaties_and_apply() {
    let api = Api::default().await;
    let klant = api.relatie("Klant", "K").await;
    api.post("/verkoopboekingen", api.verkoop_body(&klant, "G-1").await)
        .await;
    let kpl = api.kostenplaats(10).await;
    let mut b = api.verkoop_body(&klant, "G-2").await;
    b["boekingsregels"][0]["grootboek"]["id"] = json!(api.ledger(8100).await);
    b["boekingsregels"][0]["kostenplaats"] = json!({"id": kpl});
    let (s, v) = api.post("/verkoopboekingen", b).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, rows) = api.get("/grootboekmutaties").await;
    // Per booking: debtors, revenue, VAT.
    assert_eq!(rows.as_array().unwrap().len(), 6);
    let total: f64 = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["saldo"].as_f64().unwrap())
        .sum();
    assert!(total.abs() < 1e-9, "double entry balances");
    let (_, by_kpl) = api
        .get(
            "/grootboekmutaties?$apply=groupby((Kostenplaats),aggregate(Saldo with sum as Totaal))",
        )
        .await;
    let groups = by_kpl.as_array().unwrap();
    assert_eq!(groups.len(), 2);
    let project = groups
        .iter()
        .find(|g| g["kostenplaats"]["id"] == json!(kpl))
        .unwrap();
    assert_eq!(project["Totaal"], json!(-100));
    let (_, sum) = api.get(&format!("/grootboekmutaties?$filter=Grootboek/Id eq guid'{}'&$apply=aggregate(Saldo with sum as Totaal)", api.ledger(1300).await)).await;
    assert_eq!(sum, json!([{"Totaal": 242}]));
    let (s, v) = api
        .get("/grootboekmutaties?$apply=filter(Saldo gt 0)")
        .await;
    assert_code(s, &v, "ALG-0104");
    let id = rows[0]["id"].as_str().unwrap();
    assert_eq!(
        api.get(&format!("/grootboekmutaties/{id}")).await.1,
        rows[0]
    );
}

#[tokio::test]
async fn inactive_ledger_id_rules_and_unknown_paths() {
    let api = Api::default().await;
    let klant = api.relatie("Klant", "K").await;
    let (s, g) = api
        .post("/grootboeken", json!({"omschrijving": "Oude omzet", "nummer": 8900, "grootboekfunctie": "VerkopenOmzetHoog", "nonactief": true}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let mut b = api.verkoop_body(&klant, "X-1").await;
    b["boekingsregels"][0]["grootboek"]["id"] = g["id"].clone();
    let (s, v) = api.post("/verkoopboekingen", b).await;
    assert_code(s, &v, "BOE-0008");

    let (_, created) = api
        .post("/verkoopboekingen", api.verkoop_body(&klant, "X-2").await)
        .await;
    let id = created["id"].as_str().unwrap();
    let mut b = api.verkoop_body(&klant, "X-2").await;
    b["id"] = json!("11111111-1111-1111-1111-111111111111");
    let (s, v) = api.put(&format!("/verkoopboekingen/{id}"), b.clone()).await;
    assert_code(s, &v, "BOE-0078");
    let (s, _) = api
        .put(
            "/verkoopboekingen/22222222-2222-2222-2222-222222222222",
            api.verkoop_body(&klant, "X-3").await,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Updating a booking keeps its own invoice number free for itself (no BOE-0021 against itself).
    let (s, v) = api
        .put(
            &format!("/verkoopboekingen/{id}"),
            api.verkoop_body(&klant, "X-2").await,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let (_, k) = api.get("/kostenplaatsen").await;
    let kid = k[0]["id"].as_str().unwrap();
    let (s, v) = api
        .put(
            &format!("/kostenplaatsen/{kid}"),
            json!({"id": "11111111-1111-1111-1111-111111111111", "nummer": 1, "omschrijving": "x"}),
        )
        .await;
    assert_code(s, &v, "ALG-0101");
    let (s, v) = api
        .post(
            "/kostenplaatsen",
            json!({"id": kid, "nummer": 77, "omschrijving": "x"}),
        )
        .await;
    assert_code(s, &v, "ALG-0100");
}
