//! The simulator's OData engine (`snelstart_mock::fuzzing::odata_list`, the code of every list
//! endpoint) on any bytes: as a whole query string, or URL-encoded as the value of `$filter`,
//! `$orderby`, `$top`, `$skip`, `$select` or `$apply`, over a few records shaped like the
//! vendor fixtures (a relation, a sales invoice, a ledger mutation: nested objects, lists,
//! nulls, dates, money). Never a panic, never a stack overflow (libFuzzer reports one as a
//! crash), never an input slower than `-timeout`; the answer is a page of at most 500 items or
//! a 400 `ALG-0104`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use std::sync::LazyLock;

static RECORDS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let land = json!({"id": "050de499-cbf5-4a37-99b7-99281be9c951",
                      "uri": "/landen/050de499-cbf5-4a37-99b7-99281be9c951"});
    vec![
        json!({
            "id": "14254699-e7ff-4537-9fb8-47ad46f7d4d7",
            "uri": "/relaties/14254699-e7ff-4537-9fb8-47ad46f7d4d7",
            "relatiesoort": ["Klant"],
            "modifiedOn": "2024-11-05T14:32:07.43",
            "relatiecode": 10234,
            "naam": "Bakkerij De Zandloper B.V.",
            "vestigingsAdres": {"contactpersoon": "Marloes Verhagen", "straat": "Lindengracht 118",
                                "postcode": "1015 KM", "plaats": "Amsterdam", "land": land},
            "correspondentieAdres": null,
            "email": "administratie@dezandloper.example",
            "fax": null,
            "factuurkorting": 2.5,
            "krediettermijn": 30,
            "nonactief": false,
            "kredietLimiet": 5000.0,
            "extraVeldenKlant": [{"naam": "lid", "waarde": "5299"}, {"naam": "ß", "waarde": null}],
            "documents": [],
        }),
        json!({
            "id": "cada0344-66a6-4238-877c-399996023db2",
            "uri": "/verkoopfacturen/cada0344-66a6-4238-877c-399996023db2",
            "verkoopBoeking": {"id": "030ca413-840e-48a6-9b68-994f39279a71",
                               "uri": "/verkoopboekingen/030ca413-840e-48a6-9b68-994f39279a71"},
            "modifiedOn": "2024-11-26T08:47:13.1",
            "openstaandSaldo": 297.20,
            "factuurnummer": "2024-0417",
            "vervalDatum": "2024-12-12T00:00:00",
            "relatie": {"id": "14254699-e7ff-4537-9fb8-47ad46f7d4d7", "uri": "/relaties/x"},
            "factuurDatum": "2024-11-12T00:00:00",
            "factuurBedrag": 1297.20,
            "verkoopOrders": [],
            "naam": "Ω",
            "relatiecode": -1,
        }),
        json!({
            "id": "6f0c4e52-3b4d-4a7e-9a53-0f9d2b1c7e11",
            "modifiedOn": "2025-01-31T23:59:59.9999999",
            "grootboek": {"id": "a4b1c0de-0000-4000-8000-000000008000", "uri": "/grootboeken/a"},
            "kostenplaats": null,
            "dagboek": {"id": "d0000000-0000-4000-8000-000000000001", "uri": "/dagboeken/d"},
            "datum": "2025-01-31T00:00:00",
            "relatiePublicIdentifier": null,
            "factuurNummer": "2025-0001",
            "boekstuk": "V2025-0001",
            "omschrijving": "Omzet hoog",
            "debet": 0,
            "credit": 100.00,
            "saldo": -100.00,
            "documents": null,
            "relatiesoort": [],
            "naam": null,
            "relatiecode": 7.9e28,
        }),
    ]
});

/// The query parameter the rest of the input is the value of (`None`: a whole query string).
const PARAMS: &[Option<&str>] = &[
    None,
    Some("$filter"),
    Some("$filter"),
    Some("$orderby"),
    Some("$top"),
    Some("$skip"),
    Some("$select"),
    Some("$apply"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let query = match PARAMS[usize::from(selector) % PARAMS.len()] {
        None => text.into_owned(),
        Some(name) => serde_urlencoded::to_string([(name, text.as_ref())]).unwrap(),
    };
    let allow_apply = selector & 0x80 != 0;
    let (status, body) = snelstart_mock::fuzzing::odata_list(&query, &RECORDS, allow_apply);
    match status {
        200 => {
            let items = body.as_array().expect("a page is an array");
            assert!(items.len() <= 500, "more than $top's maximum");
        }
        400 => assert_eq!(body[0]["errorCode"], "ALG-0104", "{body}"),
        other => panic!("status {other} for {query:?}: {body}"),
    }
});
