//! Bank and cash bookings (`/bankboekingen`, `/kasboekingen`): allocations to sales and purchase
//! invoices, their undoing on PUT and DELETE, the rules of ERRORS.md, and the payment shortcut.

mod common;

use chrono::NaiveDate;
use common::{Api, assert_code};
use reqwest::StatusCode;
use rust_decimal_macros::dec;
use serde_json::{Value, json};

async fn sale(api: &Api, nr: &str) -> (String, Value) {
    let klant = api.relatie("Klant", &format!("Klant {nr}")).await;
    let (s, b) = api
        .post("/verkoopboekingen", api.verkoop_body(&klant, nr).await)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    (b["id"].as_str().unwrap().to_owned(), b)
}

async fn factuur(api: &Api, nr: &str) -> Value {
    let (_, f) = api
        .get(&format!("/verkoopfacturen?$filter=Factuurnummer eq '{nr}'"))
        .await;
    f[0].clone()
}

fn pay(journal: &str, booking: &str, datum: &str, bedrag: f64) -> Value {
    json!({"datum": datum, "dagboek": {"id": journal}, "bedragOntvangen": bedrag, "bedragUitgegeven": 0,
           "omschrijving": "Afschrift",
           "verkoopboekingBoekingsRegels": [{"boekingId": {"id": booking}, "omschrijving": "Betaling", "debet": 0, "credit": bedrag}]})
}

#[tokio::test]
async fn a_bank_booking_pays_a_sales_invoice_and_deleting_it_restores_the_open_amount() {
    let api = Api::default().await;
    let (vb, _) = sale(&api, "B-1").await;
    let bank = api.journal("Bank").await;
    let before = factuur(&api, "B-1").await;
    assert_eq!(before["openstaandSaldo"], json!(121));

    let (s, b) = api
        .post("/bankboekingen", pay(&bank, &vb, "2025-03-10", 21.0))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["verkoopboekingBoekingsRegels"][0]["credit"], json!(21));
    let id = b["id"].as_str().unwrap().to_owned();
    let after = factuur(&api, "B-1").await;
    assert_eq!(after["openstaandSaldo"], json!(100));
    assert_ne!(after["modifiedOn"], before["modifiedOn"]);

    // The list is an OData change feed.
    let (s, l) = api
        .get(&format!(
            "/bankboekingen?$filter=ModifiedOn ge datetime'{}'",
            b["modifiedOn"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!(l.as_array().unwrap().len(), 1);

    // PUT replaces the allocation: 21 becomes 121.
    let mut full = pay(&bank, &vb, "2025-03-10", 121.0);
    full["id"] = json!(id);
    let (s, u) = api.put(&format!("/bankboekingen/{id}"), full).await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(factuur(&api, "B-1").await["openstaandSaldo"], json!(0));

    // An invoice with payments cannot be deleted.
    let (s, e) = api.delete(&format!("/verkoopboekingen/{vb}")).await;
    assert_code(s, &e, "BOE-0083");

    let m1 = factuur(&api, "B-1").await["modifiedOn"].clone();
    let (s, _) = api.delete(&format!("/bankboekingen/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    let restored = factuur(&api, "B-1").await;
    assert_eq!(restored["openstaandSaldo"], json!(121));
    assert_ne!(restored["modifiedOn"], m1);
    let (s, _) = api.get(&format!("/bankboekingen/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_cash_booking_pays_a_purchase_invoice() {
    let api = Api::default().await;
    let lev = api.relatie("Leverancier", "Leverancier").await;
    let (s, ib) = api
        .post(
            "/inkoopboekingen",
            json!({"factuurnummer": "I-1", "factuurdatum": "2025-02-10", "leverancier": {"id": lev}, "factuurbedrag": 121,
                   "boekingsregels": [{"grootboek": {"id": api.ledger(4100).await}, "bedrag": 100, "btwSoort": "Hoog"}],
                   "btw": [{"btwSoort": "InkopenHoog", "btwBedrag": 21}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ib}");
    let kas = api.journal("Kas").await;
    let (s, k) = api
        .post(
            "/kasboekingen",
            json!({"datum": "2025-03-01", "dagboek": {"id": kas}, "bedragOntvangen": 0, "bedragUitgegeven": 121,
                   "inkoopboekingBoekingsRegels": [{"boekingId": {"id": ib["id"]}, "omschrijving": "I-1", "debet": 121, "credit": 0}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let (_, f) = api.get("/inkoopfacturen").await;
    assert_eq!(f[0]["openstaandSaldo"], json!(0));
    // The cash ledger and the creditors ledger got their mutations.
    let (_, m) = api
        .get(&format!(
            "/grootboekmutaties?$filter=Dagboek/Id eq guid'{kas}'"
        ))
        .await;
    assert_eq!(m.as_array().unwrap().len(), 2, "{m}");
    let (s, _) = api
        .delete(&format!("/kasboekingen/{}", k["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, f) = api.get("/inkoopfacturen").await;
    assert_eq!(f[0]["openstaandSaldo"], json!(121));
}

#[tokio::test]
async fn bank_and_cash_rules_answer_the_documented_codes() {
    let api = Api::default().await;
    let (vb, _) = sale(&api, "R-1").await;
    let bank = api.journal("Bank").await;
    let kas = api.journal("Kas").await;
    let memoriaal = api.journal("Memoriaal").await;

    // Both amounts non-zero.
    let mut b = pay(&bank, &vb, "2025-03-10", 10.0);
    b["bedragUitgegeven"] = json!(1);
    let (s, e) = api.post("/bankboekingen", b).await;
    assert_code(s, &e, "BOE-0027");
    // Not in balance.
    let mut b = pay(&bank, &vb, "2025-03-10", 10.0);
    b["bedragOntvangen"] = json!(11);
    let (s, e) = api.post("/bankboekingen", b).await;
    assert_code(s, &e, "BOE-0039");
    // No lines.
    let (s, e) = api
        .post(
            "/bankboekingen",
            json!({"datum": "2025-03-10", "dagboek": {"id": bank}, "bedragOntvangen": 0, "bedragUitgegeven": 0}),
        )
        .await;
    assert_code(s, &e, "BOE-0023");
    // Journals: a bank booking on a memoriaal journal, a cash booking on a bank journal.
    let (s, e) = api
        .post("/bankboekingen", pay(&memoriaal, &vb, "2025-03-10", 10.0))
        .await;
    assert_code(s, &e, "BOE-0096");
    let (s, e) = api
        .post("/kasboekingen", pay(&bank, &vb, "2025-03-10", 10.0))
        .await;
    assert_code(s, &e, "BOE-0025");
    // Unknown booking, both sides on one line, a zero line.
    let (s, e) = api
        .post(
            "/bankboekingen",
            pay(
                &bank,
                "6f9d3c1e-0000-4000-8000-000000000001",
                "2025-03-10",
                10.0,
            ),
        )
        .await;
    assert_code(s, &e, "BOE-0001");
    let mut b = pay(&bank, &vb, "2025-03-10", 10.0);
    b["verkoopboekingBoekingsRegels"][0]["debet"] = json!(1);
    b["bedragOntvangen"] = json!(9);
    let (s, e) = api.post("/bankboekingen", b).await;
    assert_code(s, &e, "BOE-0076");
    let (s, e) = api
        .post("/bankboekingen", pay(&bank, &vb, "2025-03-10", 0.0))
        .await;
    assert_code(s, &e, "BOE-0028");
    // A ledger line on the memoriaal ledger.
    let mut b = pay(&bank, &vb, "2025-03-10", 10.0);
    b["bedragOntvangen"] = json!(0);
    b["grootboekBoekingsRegels"] = json!([{"omschrijving": "x", "grootboek": {"id": api.ledger(2000).await}, "debet": 10, "credit": 0}]);
    let (s, e) = api.post("/bankboekingen", b).await;
    assert_code(s, &e, "BOE-0075");
    // The journal cannot change.
    let (_, ok) = api
        .post("/kasboekingen", pay(&kas, &vb, "2025-03-10", 10.0))
        .await;
    let id = ok["id"].as_str().unwrap();
    let mut other = pay(&bank, &vb, "2025-03-10", 10.0);
    other["id"] = json!(id);
    let (s, e) = api.put(&format!("/kasboekingen/{id}"), other).await;
    assert!(s.is_client_error());
    assert!(common::codes(&e).contains(&"BOE-0077".to_owned()), "{e}");
    // Nothing was allocated by the refused requests: only the cash booking's 10.
    assert_eq!(factuur(&api, "R-1").await["openstaandSaldo"], json!(111));
    // A missing required amount is a model error.
    let mut b = pay(&bank, &vb, "2025-03-10", 10.0);
    b.as_object_mut().unwrap().remove("bedragUitgegeven");
    let (s, _) = api.post("/bankboekingen", b).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_payment_shortcut_makes_a_bank_booking_for_sales_and_purchases() {
    let api = Api::default().await;
    let (vb, _) = sale(&api, "S-1").await;
    let date = NaiveDate::from_ymd_opt(2025, 3, 20).unwrap();
    let id = api
        .server
        .register_payment(None, "S-1", dec!(21.00), date)
        .unwrap();
    let (s, b) = api.get(&format!("/bankboekingen/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["datum"], "2025-03-20T00:00:00");
    assert_eq!(b["bedragOntvangen"], json!(21));
    assert_eq!(
        b["verkoopboekingBoekingsRegels"][0]["boekingId"]["id"],
        json!(vb)
    );
    assert_eq!(factuur(&api, "S-1").await["openstaandSaldo"], json!(100));

    // A purchase invoice is paid out of the bank.
    let lev = api.relatie("Leverancier", "Leverancier").await;
    let (_, ib) = api
        .post(
            "/inkoopboekingen",
            json!({"factuurnummer": "P-9", "factuurdatum": "2025-02-10", "leverancier": {"id": lev}, "factuurbedrag": 121,
                   "boekingsregels": [{"grootboek": {"id": api.ledger(4100).await}, "bedrag": 100, "btwSoort": "Hoog"}],
                   "btw": [{"btwSoort": "InkopenHoog", "btwBedrag": 21}]}),
        )
        .await;
    let id = api
        .server
        .register_payment(None, "P-9", dec!(121), date)
        .unwrap();
    let (_, b) = api.get(&format!("/bankboekingen/{id}")).await;
    assert_eq!(b["bedragUitgegeven"], json!(121));
    assert_eq!(
        b["inkoopboekingBoekingsRegels"][0]["boekingId"]["id"],
        ib["id"]
    );
    let (_, f) = api.get("/inkoopfacturen").await;
    assert_eq!(f[0]["openstaandSaldo"], json!(0));

    // Over HTTP the answer names the bank booking.
    let r = api
        .http
        .post(format!("{}/_mock/payments", api.server.root_url()))
        .header("Ocp-Apim-Subscription-Key", api.server.subscription_key())
        .json(&json!({"factuurnummer": "S-1", "bedrag": 100, "datum": "2025-03-21"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    assert!(v["bankboekingId"].is_string(), "{v}");
    assert_eq!(factuur(&api, "S-1").await["openstaandSaldo"], json!(0));
}
