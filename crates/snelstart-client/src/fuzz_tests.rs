//! Property-based fuzzing of every parser that takes outside input: page decoding, error-body
//! decoding, `Retry-After`, and request paths. They run with the normal tests; the long runs are
//! the libFuzzer targets in `fuzz/` (`client_page_decoding`, `client_error_body`), and a large
//! case count makes these a fuzzer too:
//! `PROPTEST_CASES=1000000 cargo test -p snelstart-client --lib fuzz_`. A failing case is
//! shrunk and stored in `proptest-regressions/`, and gets a named test in this file.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::client::join_path;
use crate::decoding::decode_page;
use crate::error::decode_error_items;
use crate::models::{Grootboekmutatie, Relatie, Verkoopfactuur};
use crate::request::Method;
use crate::retry::{MAX_RETRY_AFTER, parse_retry_after};

/// Any JSON value, a few levels deep, with the number forms SnelStart and proxies produce.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[ -~]{0,24}".prop_map(Value::String),
        Just(json!("00000000-0000-0000-0000-000000000001")),
        Just(json!("2024-11-12T10:14:22.867")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id".to_owned()),
                    Just("factuurnummer".to_owned()),
                    Just("openstaandSaldo".to_owned()),
                    Just("relatiesoort".to_owned()),
                    Just("errorCode".to_owned()),
                    Just("message".to_owned()),
                    Just("modelState".to_owned()),
                    "[a-zA-Z]{1,10}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check_page<T: serde::de::DeserializeOwned>(body: &[u8]) {
    if let Ok((items, problems, count)) = decode_page::<T>(Method::Get, "fuzz", 200, body, 0) {
        assert_eq!(items.len() + problems.len(), count);
        for p in &problems {
            assert!(p.path.starts_with('['), "{p:?}");
        }
    }
}

proptest! {
    #[test]
    fn fuzz_page_decoding_never_panics_and_accounts_for_every_item(
        page in prop::collection::vec(any_json(), 0..8)
    ) {
        let body = serde_json::to_vec(&page).unwrap();
        check_page::<Relatie>(&body);
        check_page::<Verkoopfactuur>(&body);
        check_page::<Grootboekmutatie>(&body);
    }

    #[test]
    fn fuzz_page_decoding_of_raw_bytes_never_panics(body in prop::collection::vec(any::<u8>(), 0..256)) {
        check_page::<Relatie>(&body);
    }

    #[test]
    fn fuzz_error_bodies_always_give_an_item(value in any_json(), raw in prop::collection::vec(any::<u8>(), 0..256)) {
        let json_body = serde_json::to_vec(&value).unwrap();
        for body in [&json_body[..], &raw[..]] {
            let items = decode_error_items(400, body);
            prop_assert!(!items.is_empty());
        }
    }

    #[test]
    fn fuzz_retry_after_is_bounded(text in "\\PC{0,40}", digits in "[0-9]{0,60}") {
        for t in [&text, &digits] {
            if let Some(d) = parse_retry_after(t) {
                prop_assert!(d <= MAX_RETRY_AFTER);
            }
        }
    }

    #[test]
    fn fuzz_a_request_path_never_leaves_the_base(path in "[a-zA-Z0-9/\\\\.:%?#@ _-]{0,40}") {
        let base = url::Url::parse("https://b2bapi.snelstart.nl/v2/").unwrap();
        if let Ok(url) = join_path(&base, &path) {
            prop_assert_eq!(url.scheme(), "https");
            prop_assert_eq!(url.host_str(), Some("b2bapi.snelstart.nl"));
            prop_assert!(url.path().starts_with("/v2/"), "{} -> {}", path, url);
        }
    }
}

/// Regression: a page item that is a bare `null` is a problem at `[i]`, not a panic.
#[test]
fn regression_null_page_item_is_a_problem() {
    let (items, problems, count) =
        decode_page::<Relatie>(Method::Get, "fuzz", 200, b"[null]", 7).unwrap();
    assert_eq!((items.len(), problems.len(), count), (0, 1, 1));
    assert_eq!(problems[0].path, "[0]");
    assert_eq!(problems[0].index, 7);
}
