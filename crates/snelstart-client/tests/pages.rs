//! A list page is decoded item by item: one malformed item is reported (operation, index,
//! JSON path) and skipped; every good item of the page is returned; a single-record GET still
//! fails clearly.

mod support;

use futures::TryStreamExt;
use rust_decimal::Decimal;
use snelstart_client::models::Verkoopfactuur;
use snelstart_client::odata::Query;
use snelstart_client::{Client, Error, ListRequest, Method, Request, ops};
use support::server;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> Client {
    support::builder(server).page_size(3).build().unwrap()
}

fn factuur(n: u32) -> serde_json::Value {
    serde_json::json!({
        "id": format!("00000000-0000-0000-0000-{n:012}"),
        "factuurnummer": format!("F-{n}"),
        "factuurBedrag": 121.0,
        "openstaandSaldo": 21.0,
        "relatie": {"id": "11111111-1111-1111-1111-111111111111"},
        "modifiedOn": "2025-03-01T10:00:00"
    })
}

#[tokio::test]
async fn one_bad_item_keeps_every_good_item_and_is_reported() {
    let server = server().await;
    let mut bad_guid = factuur(2);
    bad_guid["id"] = "not-a-guid".into();
    let mut bad_ref = factuur(5);
    bad_ref["relatie"]["id"] = 42.into();
    bad_ref["id"] = "00000000-0000-0000-0000-000000000005".into();
    // Page 1: 3 items, the second bad; page 2: 3 items, the third bad; page 3: 1 good item.
    let pages = [
        vec![factuur(1), bad_guid, factuur(3)],
        vec![factuur(4), factuur(6), bad_ref],
        vec![factuur(7)],
    ];
    for (i, page) in pages.iter().enumerate() {
        Mock::given(method("GET"))
            .and(path("/v2/verkoopfacturen"))
            .and(query_param("$skip", (i * 3).to_string().as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(page))
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let got: Vec<Verkoopfactuur> = client
        .list(ops::verkoopfacturen::list(Query::new()))
        .try_collect()
        .await
        .unwrap();
    let numbers: Vec<&str> = got.iter().map(|f| f.factuurnummer.as_str()).collect();
    assert_eq!(numbers, ["F-1", "F-3", "F-4", "F-6", "F-7"]);
    let problems = client.decode_problems();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_eq!(problems[0].route, "verkoopfacturen");
    assert_eq!(problems[0].method, Method::Get);
    assert_eq!(problems[0].index, 1);
    assert_eq!(problems[0].path, "[1].id");
    assert_eq!(problems[0].id.as_deref(), Some("not-a-guid"));
    assert_eq!(problems[1].index, 5);
    assert_eq!(problems[1].path, "[2].relatie.id");
    assert_eq!(
        problems[1].id.as_deref(),
        Some("00000000-0000-0000-0000-000000000005")
    );
    assert!(problems[1].to_string().contains("item 5"));
    // Taking them empties the record.
    let (taken, dropped) = client.take_decode_problems();
    assert_eq!((taken.len(), dropped), (2, 0));
    assert!(client.decode_problems().is_empty());
}

#[tokio::test]
async fn a_page_that_is_not_a_list_still_fails_and_a_single_get_is_strict() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/things"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"x": 1})))
        .mount(&server)
        .await;
    let mut bad = factuur(9);
    bad["openstaandSaldo"] = "veel".into();
    Mock::given(method("GET"))
        .and(path(
            "/v2/verkoopfacturen/00000000-0000-0000-0000-000000000009",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(&bad))
        .mount(&server)
        .await;
    let client = client(&server);
    let list: Result<Vec<serde_json::Value>, Error> = client
        .list_all(ListRequest::new("things", "things", Query::new()))
        .await;
    assert!(matches!(list, Err(Error::Decode(_))), "{list:?}");
    let one: Result<Verkoopfactuur, Error> = client
        .execute(Request::new(
            Method::Get,
            "verkoopfacturen/{id}",
            "verkoopfacturen/00000000-0000-0000-0000-000000000009",
        ))
        .await;
    match one {
        Err(Error::Decode(e)) => assert_eq!(e.path, "openstaandSaldo"),
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(client.decode_problems().is_empty());
}

#[tokio::test]
async fn page_amounts_keep_twenty_significant_digits() {
    let server = server().await;
    let body = r#"[{"id":"00000000-0000-0000-0000-000000000001","factuurnummer":"F-1",
        "factuurBedrag":123456789012345.67891,"openstaandSaldo":0.12345678901234567891,
        "relatie":{"id":"11111111-1111-1111-1111-111111111111"},"modifiedOn":"2025-03-01T10:00:00"}]"#;
    Mock::given(method("GET"))
        .and(path("/v2/verkoopfacturen"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let client = client(&server);
    let got = client
        .list_all(ops::verkoopfacturen::list(Query::new()))
        .await
        .unwrap();
    assert_eq!(
        got[0].factuur_bedrag,
        Some("123456789012345.67891".parse::<Decimal>().unwrap())
    );
    assert_eq!(
        got[0].openstaand_saldo.unwrap().to_string(),
        "0.12345678901234567891"
    );
}
