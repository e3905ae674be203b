//! Decodes every file in the shared fixture folder into its model, checks real values, and
//! re-serializes the models to prove the JSON they write means the same as the fixture.
//!
//! "Means the same" is what SnelStart's (Newtonsoft) model binding sees: numbers compare as
//! decimals (`1297.20` = `1297.2`), and a property that is absent on one side equals `null`,
//! `false` or `[]` on the other (the defaults the server fills in).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use snelstart_client::error::ApiError;
use snelstart_client::models::*;
use snelstart_client::wire::Reference;
use snelstart_client::{Method, RelatieId};

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/snelstart/fixtures")
}

fn read(name: &str) -> Vec<u8> {
    let path = fixture_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// Decodes a fixture with the JSON path of the first bad field in the panic message.
fn decode<T: DeserializeOwned>(name: &str) -> T {
    let bytes = read(name);
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(de)
        .unwrap_or_else(|e| panic!("{name}: {} at `{}`", e.inner(), e.path()))
}

fn raw(name: &str) -> Value {
    serde_json::from_slice(&read(name)).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"))
}

fn date(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

fn is_server_default(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn number(n: &serde_json::Number) -> Decimal {
    let text = n.to_string();
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .unwrap_or_else(|_| panic!("{text} is not a decimal"))
}

/// Asserts that two JSON documents mean the same to SnelStart; see the module docs.
fn assert_same_meaning(path: &str, expected: &Value, actual: &Value) {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => {
            assert_eq!(number(a), number(b), "{path}: numbers differ");
        }
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let here = format!("{path}.{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => assert_same_meaning(&here, x, y),
                    (Some(x), None) => assert!(
                        is_server_default(x),
                        "{here}: in the fixture ({x}) but not written"
                    ),
                    (None, Some(y)) => assert!(
                        is_server_default(y),
                        "{here}: written ({y}) but not in the fixture"
                    ),
                    (None, None) => unreachable!(),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}: array lengths differ");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_same_meaning(&format!("{path}[{i}]"), x, y);
            }
        }
        (a, b) => assert_eq!(a, b, "{path}: values differ"),
    }
}

/// Re-serializes `model` and compares it with the fixture it was read from.
fn assert_round_trip<T: Serialize>(name: &str, model: &T) {
    let written = serde_json::to_value(model).unwrap();
    assert_same_meaning(name, &raw(name), &written);
}

fn api_error(name: &str, status: u16) -> ApiError {
    ApiError::from_response(Method::Post, "fixture", status, None, None, &read(name))
}

/// Every fixture file must be decoded by a test below; a new file without one fails here.
#[test]
fn every_fixture_file_is_covered() {
    let covered: BTreeSet<&str> = [
        "btwtarieven.json",
        "document-upload-request.json",
        "document-upload-response.json",
        "documenten-list-for-verkoopboeking.json",
        "echo-response.json",
        "error-400-business.json",
        "error-400-modelstate.json",
        "error-400-multiple.json",
        "error-401-apim-missing-subscription-key.json",
        "error-429-apim-rate-limit.json",
        "grootboek.json",
        "kostenplaats.json",
        "memoriaalboeking-request.json",
        "relatie-create-request.json",
        "relatie.json",
        "relaties-page.json",
        "token-error.json",
        "token-response.json",
        "verkoopboeking-request.json",
        "verkoopboeking-response.json",
        "verkoopfacturen-page.json",
        "verkoopfactuur-open.json",
    ]
    .into_iter()
    .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixture_dir())
        .expect("the shared fixture folder exists")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    let on_disk: BTreeSet<&str> = on_disk.iter().map(String::as_str).collect();
    assert_eq!(
        on_disk, covered,
        "fixtures on disk vs fixtures decoded here"
    );
}

#[test]
fn relatie() {
    let r: Relatie = decode("relatie.json");
    assert_eq!(r.id.to_string(), "14254699-e7ff-4537-9fb8-47ad46f7d4d7");
    assert_eq!(r.relatiesoort, vec![Relatiesoort::Klant]);
    assert!(r.is_klant() && !r.is_leverancier());
    assert_eq!(r.relatiecode, Some(10234));
    assert_eq!(r.naam.as_deref(), Some("Bakkerij De Zandloper B.V."));
    assert_eq!(
        r.modified_on,
        Some(
            NaiveDate::from_ymd_opt(2024, 11, 5)
                .unwrap()
                .and_hms_milli_opt(14, 32, 7, 430)
                .unwrap()
        )
    );
    let adres = r.vestigings_adres.as_ref().unwrap();
    assert_eq!(adres.straat.as_deref(), Some("Lindengracht 118"));
    assert_eq!(
        adres.land.as_ref().unwrap().id.to_string(),
        "050de499-cbf5-4a37-99b7-99281be9c951"
    );
    assert_eq!(r.factuurkorting, Some(dec!(2.5)));
    assert_eq!(r.krediet_limiet, Some(dec!(5000)));
    assert_eq!(r.krediettermijn, Some(30));
    assert_eq!(r.aanmaningsoort, Some(Aanmaningsoort::Onderneming));
    assert_eq!(r.incasso_soort, Some(IncassoSoort::Geen));
    assert_eq!(r.fax, None);
    assert_eq!(r.ubl_bestand_als_bijlage, Some(true));
    let aanmaning = r.aanmaning_email_versturen.as_ref().unwrap();
    assert_eq!(aanmaning.should_send, Some(true));
    assert_eq!(
        aanmaning.cc_email.as_deref(),
        Some("directie@dezandloper.example")
    );
    assert_eq!(
        r.extra_velden_klant,
        vec![ExtraVeld::new("CRM-id", "ACME-000871")]
    );
    assert_round_trip("relatie.json", &r);

    // What a read-modify-write PUT would send keeps every writable value.
    let write = RelatieWrite::from(&r);
    assert_eq!(write.relatiecode, Some(10234));
    assert_eq!(write.iban.as_deref(), Some("NL38SIMB0123456789"));
    let body = serde_json::to_value(&write).unwrap();
    for read_only in [
        "id",
        "uri",
        "modifiedOn",
        "documents",
        "extraVeldenKlant",
        "fax",
    ] {
        assert!(
            body.get(read_only).is_none(),
            "{read_only} must not be written"
        );
    }
}

#[test]
fn relaties_page() {
    let page: Vec<Relatie> = decode("relaties-page.json");
    assert_eq!(page.len(), 3);
    assert_eq!(page[1].naam.as_deref(), Some("Drukkerij Van Ommen"));
    assert_eq!(page[1].relatiesoort, vec![Relatiesoort::Leverancier]);
    assert_eq!(page[2].nonactief, Some(true));
    assert_eq!(page[2].relatiecode, Some(10112));
    assert_round_trip("relaties-page.json", &page);
}

#[test]
fn relatie_create_request() {
    let r: RelatieWrite = decode("relatie-create-request.json");
    assert_eq!(r.relatiesoort, Some(vec![Relatiesoort::Klant]));
    assert_eq!(r.naam.as_deref(), Some("Fietsenmakerij Het Wiel"));
    assert_eq!(r.relatiecode, None);
    assert_eq!(r.krediettermijn, Some(14));
    assert_eq!(
        r.vestigings_adres
            .as_ref()
            .unwrap()
            .contactpersoon
            .as_deref(),
        Some("Joost Brinkman")
    );
    assert_round_trip("relatie-create-request.json", &r);
}

#[test]
fn verkoopboeking_request_balances_and_round_trips() {
    let b: Verkoopboeking = decode("verkoopboeking-request.json");
    assert_eq!(b.factuurnummer.as_deref(), Some("2024-0417"));
    assert_eq!(b.factuurdatum, Some(date(2024, 11, 12)));
    assert_eq!(b.factuurbedrag, Some(dec!(1297.20)));
    assert_eq!(b.betalingstermijn, Some(30));
    let regels = b.boekingsregels.as_deref().unwrap();
    assert_eq!(regels.len(), 2);
    assert_eq!(regels[0].bedrag, Some(dec!(1000.00)));
    assert_eq!(regels[0].btw_soort, Some(BtwSoort::Hoog));
    assert_eq!(
        regels[0].grootboek.as_ref().unwrap().id.to_string(),
        "2aac7eec-819a-4a28-9dc9-464d1fdfae69"
    );
    assert!(regels[0].kostenplaats.is_some());
    assert_eq!(regels[1].kostenplaats, None);
    assert_eq!(
        b.btw,
        Some(vec![
            VerkoopboekingBtwRegel::new(VerkoopBtwSoort::VerkopenHoog, dec!(210.00)),
            VerkoopboekingBtwRegel::new(VerkoopBtwSoort::VerkopenLaag, dec!(7.20)),
        ])
    );
    assert_eq!(b.totaal_regels(), dec!(1080));
    assert_eq!(b.totaal_btw(), dec!(217.20));
    assert!(b.is_balanced());
    assert_eq!(b.id, None);
    assert_round_trip("verkoopboeking-request.json", &b);
}

#[test]
fn verkoopboeking_response() {
    let b: Verkoopboeking = decode("verkoopboeking-response.json");
    assert_eq!(
        b.id.unwrap().to_string(),
        "030ca413-840e-48a6-9b68-994f39279a71"
    );
    assert_eq!(b.boekstuk.as_deref(), Some("2024-0417"));
    assert_eq!(
        b.klant.clone().unwrap(),
        Reference {
            id: RelatieId::from_str("14254699-e7ff-4537-9fb8-47ad46f7d4d7").unwrap(),
            uri: Some("/relaties/14254699-e7ff-4537-9fb8-47ad46f7d4d7".into()),
        }
    );
    assert_eq!(b.factuurbedrag, Some(dec!(1297.20)));
    assert!(b.modified_on.is_some());
    assert_eq!(b.documents, Some(vec![]));
    assert!(b.is_balanced());
    assert_round_trip("verkoopboeking-response.json", &b);
}

#[test]
fn verkoopfacturen() {
    let open: Verkoopfactuur = decode("verkoopfactuur-open.json");
    assert_eq!(open.factuurnummer, "2024-0417");
    assert_eq!(open.openstaand_saldo, Some(dec!(297.20)));
    assert_eq!(open.factuur_bedrag, Some(dec!(1297.20)));
    assert_eq!(open.verval_datum, Some(date(2024, 12, 12)));
    assert_eq!(open.factuur_datum, Some(date(2024, 11, 12)));
    assert_eq!(
        open.verkoop_boeking.as_ref().unwrap().id.to_string(),
        "030ca413-840e-48a6-9b68-994f39279a71"
    );
    assert_ne!(
        open.id.to_string(),
        open.verkoop_boeking.as_ref().unwrap().id.to_string()
    );
    assert!(open.is_open());
    assert_round_trip("verkoopfactuur-open.json", &open);

    let page: Vec<Verkoopfactuur> = decode("verkoopfacturen-page.json");
    assert_eq!(page.len(), 2);
    assert!(page[0].is_open());
    assert!(!page[1].is_open());
    assert_eq!(page[1].factuur_bedrag, Some(dec!(605)));
    assert_round_trip("verkoopfacturen-page.json", &page);
}

#[test]
fn kostenplaats() {
    let k: Kostenplaats = decode("kostenplaats.json");
    assert_eq!(k.nummer, Some(12));
    assert_eq!(k.omschrijving.as_deref(), Some("Project Noordvleugel"));
    assert_eq!(k.nonactief, Some(false));
    assert_eq!(
        k.id.unwrap().to_string(),
        "abb9c97b-9c1f-4503-9c85-099db9a0c6d7"
    );
    assert_round_trip("kostenplaats.json", &k);
}

#[test]
fn grootboek() {
    let g: Grootboek = decode("grootboek.json");
    assert_eq!(g.nummer, Some(8000));
    assert_eq!(g.rekening_code, Some(RekeningCode::WinstEnVerlies));
    assert_eq!(
        g.grootboekfunctie,
        Some(Grootboekfunctie::VerkopenOmzetHoog)
    );
    assert_eq!(g.btw_soort, vec![BtwSoort::Hoog]);
    assert!(g.allows_btw_soort(&BtwSoort::Hoog));
    assert!(!g.allows_btw_soort(&BtwSoort::Laag));
    assert_eq!(g.rgs_code, vec![Rgs::new("3.5", "WOmzNopOdh")]);
    assert_eq!(g.grootboek_rubriek.as_deref(), Some("Netto-omzet"));
    assert_eq!(g.vat_rate_code, None);
    assert_round_trip("grootboek.json", &g);
}

#[test]
fn btwtarieven() {
    let rates: Vec<BtwTarief> = decode("btwtarieven.json");
    assert_eq!(rates.len(), 6);
    let on = |d: NaiveDateTime, soort: BtwSoort| -> Decimal {
        let matching: Vec<_> = rates
            .iter()
            .filter(|r| r.btw_soort == soort && r.applies_on(d))
            .collect();
        assert_eq!(matching.len(), 1, "{soort} on {d}");
        matching[0].btw_percentage
    };
    assert_eq!(on(date(2024, 11, 12), BtwSoort::Hoog), dec!(21));
    assert_eq!(on(date(2012, 9, 30), BtwSoort::Hoog), dec!(19));
    assert_eq!(on(date(2012, 10, 1), BtwSoort::Hoog), dec!(21));
    assert_eq!(on(date(2018, 12, 31), BtwSoort::Laag), dec!(6));
    assert_eq!(on(date(2019, 1, 1), BtwSoort::Laag), dec!(9));
    assert_eq!(rates[0].datum_tot_en_met, Some(date(9999, 12, 31)));
    assert_round_trip("btwtarieven.json", &rates);
}

#[test]
fn memoriaalboeking_request() {
    let m: Memoriaalboeking = decode("memoriaalboeking-request.json");
    assert_eq!(m.datum, Some(date(2024, 11, 30)));
    assert_eq!(
        m.dagboek.as_ref().unwrap().id.to_string(),
        "8ec4f11e-eb7d-4b7e-98f3-d228e36ae9ab"
    );
    let regels = m.memoriaal_boekings_regels.as_deref().unwrap();
    assert_eq!(regels.len(), 2);
    assert_eq!(regels[0].debet, Some(dec!(150)));
    assert_eq!(regels[0].credit, Some(dec!(0)));
    assert_eq!(regels[1].credit, Some(dec!(150)));
    assert_eq!(regels[1].kostenplaats, None);
    assert!(m.is_balanced());
    assert_eq!(m.verkoopboeking_boekings_regels, Some(vec![]));
    assert_round_trip("memoriaalboeking-request.json", &m);
}

#[test]
fn documents() {
    let upload: DocumentContent = decode("document-upload-request.json");
    assert_eq!(upload.file_name.as_deref(), Some("factuur-2024-0417.pdf"));
    assert_eq!(
        upload.parent_identifier.unwrap().to_string(),
        "030ca413-840e-48a6-9b68-994f39279a71"
    );
    let bytes = upload.decode_content().unwrap();
    assert!(bytes.starts_with(b"%PDF-1.4"), "{:?}", &bytes[..8]);
    // Encoding the decoded bytes again gives the same body.
    let again = DocumentContent::new(
        upload.parent_identifier.unwrap(),
        "factuur-2024-0417.pdf",
        &bytes,
    );
    assert_eq!(again, upload);
    assert_round_trip("document-upload-request.json", &upload);

    let created: Reference<snelstart_client::DocumentId> = decode("document-upload-response.json");
    assert_eq!(
        created.id.to_string(),
        "2a2874a0-0e62-48e6-b747-25a0c45a3e06"
    );
    assert_eq!(
        created.uri.as_deref(),
        Some("/documenten/2a2874a0-0e62-48e6-b747-25a0c45a3e06")
    );

    let list: Vec<DocumentListItem> = decode("documenten-list-for-verkoopboeking.json");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, created.id);
    assert_eq!(list[0].verkoop_boeking_id, upload.parent_identifier);
    assert_eq!(list[0].read_only, Some(false));
    assert_round_trip("documenten-list-for-verkoopboeking.json", &list);
}

#[test]
fn echo() {
    let echoed: Option<String> = decode("echo-response.json");
    assert_eq!(echoed.as_deref(), Some("ping-42"));
}

#[test]
fn business_errors() {
    let one = api_error("error-400-business.json", 400);
    assert_eq!(one.errors.len(), 1);
    assert_eq!(one.errors[0].code.as_ref().unwrap().as_str(), "BOE-0021");
    assert_eq!(one.errors[0].message, "Het factuurnummer bestaat al");

    let two = api_error("error-400-multiple.json", 400);
    let codes: Vec<&str> = two
        .errors
        .iter()
        .map(|e| e.code.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(codes, ["BOE-0082", "REL-0006"]);
    assert_eq!(two.errors[1].message, "KvkNummer is ongeldig");
}

#[test]
fn model_state_error_names_the_field() {
    let e = api_error("error-400-modelstate.json", 400);
    assert_eq!(e.errors.len(), 1);
    assert_eq!(e.errors[0].code, None);
    assert!(
        e.errors[0].message.contains("model.Naam"),
        "{}",
        e.errors[0].message
    );
    assert!(e.errors[0].message.contains("maximum length of 50"));
}

#[test]
fn gateway_errors() {
    let e = api_error("error-401-apim-missing-subscription-key.json", 401);
    assert_eq!(e.errors.len(), 1);
    assert_eq!(e.errors[0].code, None);
    assert!(
        e.errors[0]
            .message
            .starts_with("Access denied due to missing subscription key")
    );

    let e = api_error("error-429-apim-rate-limit.json", 429);
    assert_eq!(e.status, 429);
    assert_eq!(
        e.errors[0].message,
        "Rate limit is exceeded. Try again in 12 seconds."
    );
}

#[test]
fn token_bodies() {
    let ok = raw("token-response.json");
    assert_eq!(ok["token_type"], "bearer");
    assert_eq!(ok["expires_in"], 3599);
    assert!(ok["access_token"].as_str().is_some_and(|t| !t.is_empty()));

    let refused = raw("token-error.json");
    assert_eq!(refused["error"], "invalid_grant");
    assert!(refused.get("access_token").is_none());
}

/// The comparison itself must be able to fail, or the round trips above prove nothing.
#[test]
fn comparison_detects_differences() {
    use serde_json::json;
    let same = std::panic::catch_unwind(|| {
        assert_same_meaning(
            "x",
            &json!({"a": 1.20, "b": null}),
            &json!({"a": 1.2, "c": false}),
        )
    });
    assert!(same.is_ok());
    for (expected, actual) in [
        (json!({"a": 1.2}), json!({"a": 1.21})),
        (json!({"a": "x"}), json!({})),
        (json!({}), json!({"a": true})),
        (json!([1]), json!([1, 2])),
    ] {
        let result = std::panic::catch_unwind(|| assert_same_meaning("x", &expected, &actual));
        assert!(result.is_err(), "{expected} vs {actual} should differ");
    }
}
