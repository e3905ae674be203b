//! Fuzzing of the simulator's request bodies: arbitrary JSON (and bytes) posted and put to every
//! write endpoint of a running simulator (real HTTP) never gives a 5xx and never stops the
//! server. The long run is the libFuzzer target `mock_request_bodies` in `fuzz/` (in process);
//! a large case count makes this a fuzzer too:
//! `PROPTEST_CASES=100000 cargo test --release -p snelstart-mock --test fuzz_bodies`.

mod common;

use common::Api;
use proptest::prelude::*;
use serde_json::{Value, json};
use snelstart_mock::MockConfig;

const ROUTES: &[(&str, &str)] = &[
    ("POST", "/relaties"),
    ("PUT", "/relaties/00000000-0000-0000-0000-000000000001"),
    ("POST", "/kostenplaatsen"),
    ("POST", "/grootboeken"),
    ("POST", "/verkoopboekingen"),
    ("POST", "/inkoopboekingen"),
    ("POST", "/memoriaalboekingen"),
    ("POST", "/documenten/Verkoopboekingen"),
    ("PUT", "/companyInfo"),
];

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e20f64..1e20).prop_map(|f| json!(f)),
        "[ -~]{0,16}".prop_map(Value::String),
        Just(json!("2025-02-30")),
        Just(json!("00000000-0000-0000-0000-000000000001")),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("naam".to_owned()),
                    Just("relatiesoort".to_owned()),
                    Just("factuurnummer".to_owned()),
                    Just("klant".to_owned()),
                    Just("id".to_owned()),
                    Just("boekingsregels".to_owned()),
                    Just("btw".to_owned()),
                    Just("bedrag".to_owned()),
                    Just("grootboek".to_owned()),
                    Just("btwSoort".to_owned()),
                    Just("factuurdatum".to_owned()),
                    Just("nummer".to_owned()),
                    Just("omschrijving".to_owned()),
                    Just("content".to_owned()),
                    Just("parentIdentifier".to_owned()),
                    "[a-zA-Z]{1,8}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn fuzz_request_bodies_never_give_a_5xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt.block_on(Api::start(MockConfig::new().with_seed_relations(2)));
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(
            &(
                0..ROUTES.len(),
                any_json(),
                prop::collection::vec(any::<u8>(), 0..64),
            ),
            |(route, body, raw)| {
                let (method, path) = ROUTES[route];
                let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let statuses = rt.block_on(async {
                    let a = api.call(method.clone(), path, Some(body.clone())).await.0;
                    let b = api
                        .req(method.clone(), path)
                        .header("content-type", "application/json")
                        .body(raw.clone())
                        .send()
                        .await
                        .unwrap()
                        .status();
                    (a, b)
                });
                prop_assert!(
                    statuses.0.as_u16() < 500 && statuses.1.as_u16() < 500,
                    "{method} {path}: {statuses:?} for {body}"
                );
                Ok(())
            },
        )
        .unwrap();
    // Still serving.
    let (status, _) = rt.block_on(api.get("/landen"));
    assert_eq!(status.as_u16(), 200);
}
