//! Every typed operation against a local mock SnelStart: the exact method, path, query,
//! headers and body that go on the wire, and the decoding of the answer.
//!
//! Each expectation is mounted with `expect(1)`, so wiremock also fails the test when an
//! operation is sent twice or not at all. The query is compared *exactly* (no missing and no
//! extra parameters).

#![cfg(feature = "http")]

use std::path::PathBuf;

use chrono::NaiveDate;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use snelstart_client::models::*;
use snelstart_client::odata::{Filter, Property, Query};
use snelstart_client::ops::{
    self,
    grootboekmutaties::{Aggregate, Apply},
};
use snelstart_client::*;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Match, Mock, MockServer, Request as WireRequest, ResponseTemplate};

const RELATIE: &str = "14254699-e7ff-4537-9fb8-47ad46f7d4d7";
const BOEKING: &str = "030ca413-840e-48a6-9b68-994f39279a71";
const GROOTBOEK: &str = "2aac7eec-819a-4a28-9dc9-464d1fdfae69";
const KOSTENPLAATS: &str = "abb9c97b-9c1f-4503-9c85-099db9a0c6d7";
const DOCUMENT: &str = "2a2874a0-0e62-48e6-b747-25a0c45a3e06";
const LAND: &str = "050de499-cbf5-4a37-99b7-99281be9c951";
const DAGBOEK: &str = "8ec4f11e-eb7d-4b7e-98f3-d228e36ae9ab";
const OTHER: &str = "a1b2c3d4-0000-4000-8000-00000000000f";

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/snelstart/fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn id<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    text.parse().unwrap()
}

/// Matches when the request's query parameters are exactly `expected` (any order).
struct ExactQuery(Vec<(String, String)>);

impl Match for ExactQuery {
    fn matches(&self, request: &WireRequest) -> bool {
        let mut actual: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let mut expected = self.0.clone();
        actual.sort();
        expected.sort();
        actual == expected
    }
}

/// Matches a request without a body.
struct NoBody;

impl Match for NoBody {
    fn matches(&self, request: &WireRequest) -> bool {
        request.body.is_empty()
    }
}

struct Api {
    server: MockServer,
    client: Client,
}

impl Api {
    async fn start() -> Api {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/b2b/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "tok", "token_type": "bearer", "expires_in": 3599}),
            ))
            .mount(&server)
            .await;
        let client = Client::builder()
            .base_url(format!("{}/v2", server.uri()))
            .auth_url(format!("{}/b2b/token", server.uri()))
            .subscription_key("sub")
            .koppelsleutel("key")
            .build()
            .expect("client");
        Api { server, client }
    }

    /// Expects exactly one `verb /v2{route}` with the query `query` and body `body` (`None`:
    /// no body at all) carrying both credentials, and answers `status` with `answer`.
    async fn expect(
        &self,
        verb: &str,
        route: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
        status: u16,
        answer: Option<Value>,
    ) {
        let mut mock = Mock::given(method(verb))
            .and(path(format!("/v2/{route}")))
            .and(header("Ocp-Apim-Subscription-Key", "sub"))
            .and(header("Authorization", "Bearer tok"))
            .and(ExactQuery(
                query
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ));
        mock = match body {
            Some(body) => mock.and(body_json(body)),
            None => mock.and(NoBody),
        };
        let template = match answer {
            Some(answer) => ResponseTemplate::new(status).set_body_json(answer),
            None => ResponseTemplate::new(status),
        };
        mock.respond_with(template)
            .expect(1)
            .named(format!("{verb} {route}"))
            .mount(&self.server)
            .await;
    }
}

fn page(top: &str) -> [(&'static str, String); 2] {
    [("$skip", "0".to_owned()), ("$top", top.to_owned())]
}

#[tokio::test]
async fn relaties() {
    let api = Api::start().await;
    let relatie_id: RelatieId = id(RELATIE);

    // list: OData filter plus the first page.
    let filter =
        Filter::relatiesoort_is("Klant").and(Filter::eq(Property::new("Naam").unwrap(), "O'Brien"));
    let [skip, top] = page("500");
    api.expect(
        "GET",
        "relaties",
        &[
            (
                "$filter",
                "Relatiesoort/any(r:r eq 'Klant') and Naam eq 'O''Brien'",
            ),
            (skip.0, &skip.1),
            (top.0, &top.1),
        ],
        None,
        200,
        Some(fixture("relaties-page.json")),
    )
    .await;
    let all = api
        .client
        .list_all(ops::relaties::list(Query::new().filter(filter)))
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].naam.as_deref(), Some("Bakkerij De Zandloper B.V."));

    // get
    api.expect(
        "GET",
        &format!("relaties/{RELATIE}"),
        &[],
        None,
        200,
        Some(fixture("relatie.json")),
    )
    .await;
    let relatie = api
        .client
        .execute(ops::relaties::get(relatie_id))
        .await
        .unwrap();
    assert_eq!(relatie.relatiecode, Some(10234));

    // create: exactly the writable fields, no id, decimals as numbers.
    let mut nieuw = RelatieWrite::new(Relatiesoort::Klant, "Fietsenmakerij Het Wiel");
    nieuw.krediettermijn = Some(14);
    nieuw.factuurkorting = Some(dec!(2.50));
    nieuw.vestigings_adres = Some(Adres::new(
        "Oudegracht 7",
        "3511 AA",
        "Utrecht",
        Some(id(LAND)),
    ));
    api.expect(
        "POST",
        "relaties",
        &[],
        Some(json!({
            "relatiesoort": ["Klant"],
            "naam": "Fietsenmakerij Het Wiel",
            "vestigingsAdres": {"straat": "Oudegracht 7", "postcode": "3511 AA", "plaats": "Utrecht", "land": {"id": LAND}},
            "factuurkorting": 2.5,
            "krediettermijn": 14
        })),
        201,
        Some(fixture("relatie.json")),
    )
    .await;
    let created = api
        .client
        .execute(ops::relaties::create(&nieuw).unwrap())
        .await
        .unwrap();
    assert_eq!(created.id, relatie_id);

    // update: the path id is put into the body.
    let mut wijziging = RelatieWrite::from(&relatie);
    wijziging.memo = Some("Nieuwe memo".into());
    let mut expected = serde_json::to_value(&wijziging).unwrap();
    expected["id"] = json!(RELATIE);
    assert_eq!(expected["memo"], "Nieuwe memo");
    api.expect(
        "PUT",
        &format!("relaties/{RELATIE}"),
        &[],
        Some(expected),
        200,
        Some(fixture("relatie.json")),
    )
    .await;
    api.client
        .execute(ops::relaties::update(relatie_id, &wijziging).unwrap())
        .await
        .unwrap();

    // delete answers an empty object or nothing; both decode.
    api.expect(
        "DELETE",
        &format!("relaties/{RELATIE}"),
        &[],
        None,
        200,
        Some(json!({})),
    )
    .await;
    api.client
        .execute(ops::relaties::delete(relatie_id))
        .await
        .unwrap();

    // sub-lists
    api.expect(
        "GET",
        &format!("relaties/{RELATIE}/verkoopboekingen"),
        &[],
        None,
        200,
        Some(json!([fixture("verkoopboeking-response.json")])),
    )
    .await;
    let verkoop = api
        .client
        .execute(ops::relaties::verkoopboekingen(relatie_id))
        .await
        .unwrap();
    assert_eq!(verkoop[0].factuurbedrag, Some(dec!(1297.20)));

    api.expect(
        "GET",
        &format!("relaties/{RELATIE}/inkoopboekingen"),
        &[],
        None,
        200,
        Some(
            json!([{"factuurdatum": "2024-10-01T00:00:00", "factuurnummer": "INK-7",
            "leverancier": {"id": RELATIE}, "factuurbedrag": 121.0, "id": BOEKING}]),
        ),
    )
    .await;
    let inkoop = api
        .client
        .execute(ops::relaties::inkoopboekingen(relatie_id))
        .await
        .unwrap();
    assert_eq!(inkoop[0].factuurnummer.as_deref(), Some("INK-7"));

    api.expect(
        "GET",
        &format!("relaties/{RELATIE}/doorlopendeincassomachtigingen"),
        &[],
        None,
        200,
        Some(
            json!([{"kenmerk": "M-1", "afsluitDatum": "2023-01-01T00:00:00",
            "klant": {"id": RELATIE}, "intrekkingsDatum": null, "id": OTHER}]),
        ),
    )
    .await;
    let machtigingen = api
        .client
        .execute(ops::relaties::doorlopende_incasso_machtigingen(relatie_id))
        .await
        .unwrap();
    assert_eq!(machtigingen[0].kenmerk.as_deref(), Some("M-1"));
    assert!(!machtigingen[0].is_ingetrokken());

    // custom fields
    let custom = json!({"klantCustomFields": [{"value": "5299",
        "definition": {"name": "lidnummer", "type": "Text", "properties": []}}],
        "leverancierCustomFields": []});
    api.expect(
        "GET",
        &format!("relaties/{RELATIE}/customFields"),
        &[],
        None,
        200,
        Some(custom.clone()),
    )
    .await;
    let fields = api
        .client
        .execute(ops::relaties::custom_fields(relatie_id))
        .await
        .unwrap();
    let definition = fields.klant_custom_fields[0].definition.as_ref().unwrap();
    assert_eq!(definition.field_type, Some(CustomFieldType::Text));

    let mut update = RelatieUpdatedCustomFields::default();
    update.klant_custom_fields = vec![UpdatedCustomField::new("lidnummer", "6000")];
    api.expect(
        "PUT",
        &format!("relaties/{RELATIE}/customFields"),
        &[],
        Some(
            json!({"klantCustomFields": [{"name": "lidnummer", "value": "6000"}],
            "leverancierCustomFields": []}),
        ),
        200,
        Some(custom),
    )
    .await;
    api.client
        .execute(ops::relaties::put_custom_fields(relatie_id, &update).unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn kostenplaatsen() {
    let api = Api::start().await;
    let kp: KostenplaatsId = id(KOSTENPLAATS);
    api.expect(
        "GET",
        "kostenplaatsen",
        &[],
        None,
        200,
        Some(json!([fixture("kostenplaats.json")])),
    )
    .await;
    let all = api
        .client
        .execute(ops::kostenplaatsen::list())
        .await
        .unwrap();
    assert_eq!(all[0].nummer, Some(12));

    api.expect(
        "GET",
        &format!("kostenplaatsen/{KOSTENPLAATS}"),
        &[],
        None,
        200,
        Some(fixture("kostenplaats.json")),
    )
    .await;
    let one = api
        .client
        .execute(ops::kostenplaatsen::get(kp))
        .await
        .unwrap();
    assert_eq!(one.id, Some(kp));

    api.expect(
        "POST",
        "kostenplaatsen",
        &[],
        Some(json!({"omschrijving": "Project Noordvleugel", "nonactief": false, "nummer": 12})),
        201,
        Some(fixture("kostenplaats.json")),
    )
    .await;
    api.client
        .execute(
            ops::kostenplaatsen::create(&Kostenplaats::new(12, "Project Noordvleugel")).unwrap(),
        )
        .await
        .unwrap();

    // The read model goes back as is: its own id matches the path.
    let mut changed = one.clone();
    changed.omschrijving = Some("Project Zuidvleugel".into());
    api.expect(
        "PUT",
        &format!("kostenplaatsen/{KOSTENPLAATS}"),
        &[],
        Some(
            json!({"omschrijving": "Project Zuidvleugel", "nonactief": false, "nummer": 12,
            "id": KOSTENPLAATS, "uri": format!("/kostenplaatsen/{KOSTENPLAATS}")}),
        ),
        200,
        Some(fixture("kostenplaats.json")),
    )
    .await;
    api.client
        .execute(ops::kostenplaatsen::update(kp, &changed).unwrap())
        .await
        .unwrap();

    api.expect(
        "DELETE",
        &format!("kostenplaatsen/{KOSTENPLAATS}"),
        &[],
        None,
        200,
        None,
    )
    .await;
    api.client
        .execute(ops::kostenplaatsen::delete(kp))
        .await
        .unwrap();

    // A body id that differs from the path never leaves the process.
    let err = ops::kostenplaatsen::update(id(OTHER), &changed).unwrap_err();
    assert!(err.to_string().contains("differs"), "{err}");
    assert!(!err.outcome_uncertain());
}

#[tokio::test]
async fn grootboeken_btwtarieven_landen_dagboeken_company_info() {
    let api = Api::start().await;
    let modified = NaiveDate::from_ymd_opt(2024, 11, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let [skip, top] = page("100");
    api.expect(
        "GET",
        "grootboeken",
        &[
            ("$filter", "ModifiedOn gt datetime'2024-11-01T00:00:00'"),
            (skip.0, &skip.1),
            (top.0, &top.1),
        ],
        None,
        200,
        Some(json!([fixture("grootboek.json")])),
    )
    .await;
    let query = Query::new()
        .filter(Filter::modified_after(modified))
        .top(100)
        .unwrap();
    let ledgers = api
        .client
        .list_all(ops::grootboeken::list(query))
        .await
        .unwrap();
    assert_eq!(ledgers[0].nummer, Some(8000));

    api.expect(
        "GET",
        &format!("grootboeken/{GROOTBOEK}"),
        &[],
        None,
        200,
        Some(fixture("grootboek.json")),
    )
    .await;
    let ledger = api
        .client
        .execute(ops::grootboeken::get(id(GROOTBOEK)))
        .await
        .unwrap();
    assert_eq!(
        ledger.grootboekfunctie,
        Some(Grootboekfunctie::VerkopenOmzetHoog)
    );

    let mut nieuw = Grootboek::new(
        8077,
        "Omzet OSS",
        RekeningCode::WinstEnVerlies,
        Grootboekfunctie::InstallatieTeleverkoopBinnenEUgeen,
    );
    nieuw.vat_rate_code = Some("SR".into());
    api.expect(
        "POST",
        "grootboeken",
        &[],
        Some(json!({"omschrijving": "Omzet OSS",
            "rekeningCode": "WinstEnVerlies", "nonactief": false, "nummer": 8077,
            "grootboekfunctie": "InstallatieTeleverkoopBinnenEUgeen", "vatRateCode": "SR"})),
        201,
        Some(fixture("grootboek.json")),
    )
    .await;
    api.client
        .execute(ops::grootboeken::create(&nieuw).unwrap())
        .await
        .unwrap();

    api.expect(
        "GET",
        "btwtarieven",
        &[],
        None,
        200,
        Some(fixture("btwtarieven.json")),
    )
    .await;
    let rates = api.client.execute(ops::btwtarieven::list()).await.unwrap();
    assert_eq!(rates.len(), 6);

    let land = json!({"naam": "Nederland", "landcodeISO": "NL", "landcode": "NL", "id": LAND,
        "uri": format!("/landen/{LAND}")});
    api.expect("GET", "landen", &[], None, 200, Some(json!([land.clone()])))
        .await;
    let landen = api.client.execute(ops::landen::list()).await.unwrap();
    assert_eq!(landen[0].landcode_iso.as_deref(), Some("NL"));
    api.expect("GET", &format!("landen/{LAND}"), &[], None, 200, Some(land))
        .await;
    let nl = api
        .client
        .execute(ops::landen::get(id(LAND)))
        .await
        .unwrap();
    assert_eq!(nl.naam.as_deref(), Some("Nederland"));

    api.expect(
        "GET",
        "dagboeken",
        &[],
        None,
        200,
        Some(
            json!([{"omschrijving": "Memoriaal", "soort": "Memoriaal", "nonactief": false,
            "nummer": 90, "id": DAGBOEK}]),
        ),
    )
    .await;
    let dagboeken = api.client.execute(ops::dagboeken::list()).await.unwrap();
    assert_eq!(dagboeken[0].soort, Some(DagboekSoort::Memoriaal));

    let info = json!({"administratieIdentifier": OTHER, "administratieNaam": "Demo BV",
        "kvKNummer": "12345678", "rechtsvorm": "Bv", "huidigBoekjaar": 2024,
        "kleineOndernemersregeling": {"isKleineOndernemersRegelingActief": false},
        "factureerBuitenlandsBtw": false});
    api.expect("GET", "companyInfo", &[], None, 200, Some(info.clone()))
        .await;
    let company = api.client.execute(ops::company_info::get()).await.unwrap();
    assert_eq!(company.kvk_nummer.as_deref(), Some("12345678"));
    assert_eq!(company.rechtsvorm, Some(Rechtsvorm::Bv));

    let mut aan = company.clone();
    aan.factureer_buitenlands_btw = Some(true);
    let mut expected = serde_json::to_value(&aan).unwrap();
    assert_eq!(expected["factureerBuitenlandsBtw"], true);
    expected["factureerBuitenlandsBtw"] = json!(true);
    api.expect("PUT", "companyInfo", &[], Some(expected), 200, Some(info))
        .await;
    api.client
        .execute(ops::company_info::update(&aan).unwrap())
        .await
        .unwrap();
}

fn datum() -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 11, 12)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

#[tokio::test]
async fn verkoopboekingen() {
    let api = Api::start().await;
    let boeking_id: VerkoopboekingId = id(BOEKING);
    let mut boeking = Verkoopboeking::new("2024-0417", id(RELATIE), datum());
    let mut regel =
        VerkoopboekingRegel::new("Advieswerk", id(GROOTBOEK), dec!(1000.00), BtwSoort::Hoog);
    regel.kostenplaats = Some(Reference::new(id(KOSTENPLAATS)));
    boeking.boekingsregels = Some(vec![regel]);
    boeking.btw = Some(vec![VerkoopboekingBtwRegel::new(
        VerkoopBtwSoort::VerkopenHoog,
        dec!(210.00),
    )]);
    boeking.betalingstermijn = Some(30);
    boeking.set_factuurbedrag_from_lines();
    let body = json!({
        "factuurdatum": "2024-11-12T00:00:00", "factuurnummer": "2024-0417",
        "klant": {"id": RELATIE}, "factuurbedrag": 1210.0, "betalingstermijn": 30,
        "boekingsregels": [{"omschrijving": "Advieswerk", "grootboek": {"id": GROOTBOEK},
            "kostenplaats": {"id": KOSTENPLAATS}, "bedrag": 1000.0, "btwSoort": "Hoog"}],
        "btw": [{"btwSoort": "VerkopenHoog", "btwBedrag": 210.0}]
    });
    api.expect(
        "POST",
        "verkoopboekingen",
        &[],
        Some(body.clone()),
        201,
        Some(fixture("verkoopboeking-response.json")),
    )
    .await;
    let created = api
        .client
        .execute(ops::verkoopboekingen::create(&boeking).unwrap())
        .await
        .unwrap();
    assert_eq!(created.id, Some(boeking_id));

    api.expect(
        "GET",
        &format!("verkoopboekingen/{BOEKING}"),
        &[],
        None,
        200,
        Some(fixture("verkoopboeking-response.json")),
    )
    .await;
    let read = api
        .client
        .execute(ops::verkoopboekingen::get(boeking_id))
        .await
        .unwrap();
    assert!(read.is_balanced());

    let mut put_body = body;
    put_body["id"] = json!(BOEKING);
    api.expect(
        "PUT",
        &format!("verkoopboekingen/{BOEKING}"),
        &[],
        Some(put_body),
        200,
        Some(fixture("verkoopboeking-response.json")),
    )
    .await;
    api.client
        .execute(ops::verkoopboekingen::update(boeking_id, &boeking).unwrap())
        .await
        .unwrap();

    api.expect(
        "DELETE",
        &format!("verkoopboekingen/{BOEKING}"),
        &[],
        None,
        200,
        Some(json!({})),
    )
    .await;
    api.client
        .execute(ops::verkoopboekingen::delete(boeking_id))
        .await
        .unwrap();

    // A read booking cannot be posted again as new: it has an id.
    let err = ops::verkoopboekingen::create(&read).unwrap_err();
    assert!(err.to_string().contains("must not have an `id`"), "{err}");
}

#[tokio::test]
async fn inkoopboekingen() {
    let api = Api::start().await;
    let boeking_id: InkoopboekingId = id(BOEKING);
    let mut boeking = Inkoopboeking::new("INK-7", id(RELATIE), datum());
    boeking.boekingsregels = Some(vec![InkoopboekingRegel::new(
        "Papier",
        id(GROOTBOEK),
        dec!(100),
        BtwSoort::Hoog,
    )]);
    boeking.btw = Some(vec![InkoopboekingBtwRegel::new(
        InkoopBtwSoort::InkopenHoog,
        dec!(21),
    )]);
    boeking.set_factuurbedrag_from_lines();
    let body = json!({
        "factuurdatum": "2024-11-12T00:00:00", "factuurnummer": "INK-7",
        "leverancier": {"id": RELATIE}, "factuurbedrag": 121.0,
        "boekingsregels": [{"omschrijving": "Papier", "grootboek": {"id": GROOTBOEK},
            "bedrag": 100.0, "btwSoort": "Hoog"}],
        "btw": [{"btwSoort": "InkopenHoog", "btwBedrag": 21.0}]
    });
    let mut answer = body.clone();
    answer["id"] = json!(BOEKING);
    api.expect(
        "POST",
        "inkoopboekingen",
        &[],
        Some(body.clone()),
        201,
        Some(answer.clone()),
    )
    .await;
    let created = api
        .client
        .execute(ops::inkoopboekingen::create(&boeking).unwrap())
        .await
        .unwrap();
    assert_eq!(created.factuurbedrag, Some(dec!(121)));

    api.expect(
        "GET",
        &format!("inkoopboekingen/{BOEKING}"),
        &[],
        None,
        200,
        Some(answer.clone()),
    )
    .await;
    let read = api
        .client
        .execute(ops::inkoopboekingen::get(boeking_id))
        .await
        .unwrap();
    assert_eq!(
        read.btw.as_ref().unwrap()[0].btw_soort,
        Some(InkoopBtwSoort::InkopenHoog)
    );

    api.expect(
        "PUT",
        &format!("inkoopboekingen/{BOEKING}"),
        &[],
        Some(answer.clone()),
        200,
        Some(answer.clone()),
    )
    .await;
    api.client
        .execute(ops::inkoopboekingen::update(boeking_id, &read).unwrap())
        .await
        .unwrap();

    api.expect(
        "DELETE",
        &format!("inkoopboekingen/{BOEKING}"),
        &[],
        None,
        200,
        Some(json!({})),
    )
    .await;
    api.client
        .execute(ops::inkoopboekingen::delete(boeking_id))
        .await
        .unwrap();

    let mut ubl = UblContent::default();
    ubl.file_name = Some("f.xml".into());
    ubl.content = Some("PFVCTC8+".into());
    api.expect(
        "POST",
        "inkoopboekingen/ubl",
        &[],
        Some(json!({"fileName": "f.xml", "content": "PFVCTC8+"})),
        200,
        Some(answer),
    )
    .await;
    api.client
        .execute(ops::inkoopboekingen::ubl(&ubl).unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn facturen() {
    let api = Api::start().await;
    let relatie: RelatieId = id(RELATIE);
    let [skip, top] = page("500");
    api.expect(
        "GET",
        "verkoopfacturen",
        &[
            (
                "$filter",
                &format!("Relatie/Id eq guid'{RELATIE}' and OpenstaandSaldo ne 0"),
            ),
            (skip.0, &skip.1),
            (top.0, &top.1),
        ],
        None,
        200,
        Some(fixture("verkoopfacturen-page.json")),
    )
    .await;
    let open = Filter::eq(Property::new("Relatie/Id").unwrap(), relatie).and(Filter::ne(
        Property::new("OpenstaandSaldo").unwrap(),
        rust_decimal::Decimal::ZERO,
    ));
    let facturen = api
        .client
        .list_all(ops::verkoopfacturen::list(Query::new().filter(open)))
        .await
        .unwrap();
    assert_eq!(facturen.len(), 2);

    let factuur_id = facturen[0].id;
    api.expect(
        "GET",
        &format!("verkoopfacturen/{factuur_id}"),
        &[],
        None,
        200,
        Some(fixture("verkoopfactuur-open.json")),
    )
    .await;
    let factuur = api
        .client
        .execute(ops::verkoopfacturen::get(factuur_id))
        .await
        .unwrap();
    assert_eq!(factuur.openstaand_saldo, Some(dec!(297.20)));

    api.expect(
        "GET",
        &format!("verkoopfacturen/{factuur_id}/ubl"),
        &[],
        None,
        200,
        Some(json!([{"Invoice": "…"}])),
    )
    .await;
    let ubl = api
        .client
        .execute(ops::verkoopfacturen::ubl(factuur_id))
        .await
        .unwrap();
    assert_eq!(ubl[0]["Invoice"], "…");

    let [skip, top] = page("500");
    api.expect(
        "GET",
        "inkoopfacturen",
        &[(skip.0, &skip.1), (top.0, &top.1)],
        None,
        200,
        Some(
            json!([{"modifiedOn": "2024-10-02T11:20:45.5", "openstaandSaldo": 121.0,
            "factuurnummer": "INK-7", "relatie": {"id": RELATIE}, "factuurBedrag": 121.0,
            "inkoopBoeking": {"id": BOEKING}, "id": OTHER}]),
        ),
    )
    .await;
    let inkoop = api
        .client
        .list_all(ops::inkoopfacturen::list(Query::new()))
        .await
        .unwrap();
    assert!(inkoop[0].is_open());
}

#[tokio::test]
async fn documenten() {
    let api = Api::start().await;
    let document: DocumentId = id(DOCUMENT);
    let boeking: VerkoopboekingId = id(BOEKING);
    let upload = DocumentContent::new(boeking, "factuur-2024-0417.pdf", b"%PDF-1.4 test");
    api.expect(
        "POST",
        "documenten/Verkoopboekingen",
        &[],
        Some(
            json!({"content": "JVBERi0xLjQgdGVzdA==", "parentIdentifier": BOEKING,
            "fileName": "factuur-2024-0417.pdf", "readOnly": false}),
        ),
        200,
        Some(fixture("document-upload-response.json")),
    )
    .await;
    let created = api
        .client
        .execute(ops::documenten::upload(&DocumentType::Verkoopboekingen, &upload).unwrap())
        .await
        .unwrap();
    assert_eq!(created.id, document);

    api.expect(
        "GET",
        &format!("documenten/Relaties/{RELATIE}"),
        &[],
        None,
        200,
        Some(fixture("documenten-list-for-verkoopboeking.json")),
    )
    .await;
    let list = api
        .client
        .execute(ops::documenten::list(
            &DocumentType::Relaties,
            id::<RelatieId>(RELATIE),
        ))
        .await
        .unwrap();
    assert_eq!(list[0].file_name.as_deref(), Some("factuur-2024-0417.pdf"));

    let mut stored = fixture("document-upload-request.json");
    stored["id"] = json!(DOCUMENT);
    api.expect(
        "GET",
        &format!("documenten/{DOCUMENT}"),
        &[],
        None,
        200,
        Some(stored.clone()),
    )
    .await;
    let full = api
        .client
        .execute(ops::documenten::get(document))
        .await
        .unwrap();
    assert!(full.decode_content().unwrap().starts_with(b"%PDF"));

    api.expect(
        "PUT",
        &format!("documenten/{DOCUMENT}"),
        &[],
        Some(stored),
        200,
        Some(fixture("document-upload-response.json")),
    )
    .await;
    api.client
        .execute(ops::documenten::update(document, &full).unwrap())
        .await
        .unwrap();

    api.expect(
        "DELETE",
        &format!("documenten/{DOCUMENT}"),
        &[],
        None,
        200,
        Some(json!({})),
    )
    .await;
    api.client
        .execute(ops::documenten::delete(document))
        .await
        .unwrap();
}

/// Every number as a float, the way [`wire::decimal`](snelstart_client::wire::decimal)
/// writes amounts (`0` becomes `0.0`); for bodies whose only numbers are amounts.
fn amounts_as_floats(value: Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(items) => Value::Array(items.into_iter().map(amounts_as_floats).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, amounts_as_floats(v)))
                .collect(),
        ),
        other => other,
    }
}

#[tokio::test]
async fn memoriaalboekingen() {
    let api = Api::start().await;
    let memoriaal_id: MemoriaalboekingId = id(OTHER);
    let mut m = Memoriaalboeking::new(
        NaiveDate::from_ymd_opt(2024, 11, 30)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
        id(DAGBOEK),
    );
    m.omschrijving = Some("Herallocatie kosten naar project".into());
    let mut debet = MemoriaalboekingRegel::debet(
        "Naar project Noordvleugel",
        id("99d6cf78-67a8-4cac-ad18-f6ef86ad0568"),
        dec!(150.00),
    );
    debet.kostenplaats = Some(Reference::new(id(KOSTENPLAATS)));
    let credit = MemoriaalboekingRegel::credit(
        "Van algemene kosten",
        id("99d6cf78-67a8-4cac-ad18-f6ef86ad0568"),
        dec!(150.00),
    );
    m.memoriaal_boekings_regels = Some(vec![debet, credit]);
    m.inkoopboeking_boekings_regels = Some(vec![]);
    m.verkoopboeking_boekings_regels = Some(vec![]);
    // The fixture writes `"credit": 0`; the client always writes amounts as JSON floats.
    let mut expected = amounts_as_floats(fixture("memoriaalboeking-request.json"));
    api.expect(
        "POST",
        "memoriaalboekingen",
        &[],
        Some(expected.clone()),
        201,
        Some(fixture("memoriaalboeking-request.json")),
    )
    .await;
    api.client
        .execute(ops::memoriaalboekingen::create(&m).unwrap())
        .await
        .unwrap();

    api.expect(
        "GET",
        &format!("memoriaalboekingen/{OTHER}"),
        &[],
        None,
        200,
        Some(fixture("memoriaalboeking-request.json")),
    )
    .await;
    let read = api
        .client
        .execute(ops::memoriaalboekingen::get(memoriaal_id))
        .await
        .unwrap();
    assert!(read.is_balanced());

    expected["id"] = json!(OTHER);
    api.expect(
        "PUT",
        &format!("memoriaalboekingen/{OTHER}"),
        &[],
        Some(expected),
        200,
        Some(fixture("memoriaalboeking-request.json")),
    )
    .await;
    api.client
        .execute(ops::memoriaalboekingen::update(memoriaal_id, &m).unwrap())
        .await
        .unwrap();

    api.expect(
        "DELETE",
        &format!("memoriaalboekingen/{OTHER}"),
        &[],
        None,
        200,
        None,
    )
    .await;
    api.client
        .execute(ops::memoriaalboekingen::delete(memoriaal_id))
        .await
        .unwrap();
}

#[tokio::test]
async fn grootboekmutaties() {
    let api = Api::start().await;
    let mutatie = json!({"grootboek": {"id": GROOTBOEK}, "datum": "2024-11-12T00:00:00",
        "debet": 0, "credit": 1000.0, "saldo": -1000.0, "factuurNummer": "2024-0417",
        "relatiePublicIdentifier": {"id": RELATIE}, "id": OTHER});
    let [skip, top] = page("500");
    api.expect(
        "GET",
        "grootboekmutaties",
        &[(skip.0, &skip.1), (top.0, &top.1)],
        None,
        200,
        Some(json!([mutatie.clone()])),
    )
    .await;
    let all = api
        .client
        .list_all(ops::grootboekmutaties::list(Query::new()))
        .await
        .unwrap();
    assert_eq!(all[0].saldo, Some(dec!(-1000)));

    api.expect(
        "GET",
        &format!("grootboekmutaties/{OTHER}"),
        &[],
        None,
        200,
        Some(mutatie),
    )
    .await;
    let one = api
        .client
        .execute(ops::grootboekmutaties::get(id(OTHER)))
        .await
        .unwrap();
    assert_eq!(one.factuur_nummer.as_deref(), Some("2024-0417"));

    api.expect(
        "GET",
        "grootboekmutaties",
        &[
            ("$filter", &format!("Grootboek/Id eq guid'{GROOTBOEK}'")),
            (
                "$apply",
                "groupby((Kostenplaats),aggregate(Saldo with sum as Totaal))",
            ),
        ],
        None,
        200,
        Some(json!([{"Kostenplaats": {"Id": KOSTENPLAATS}, "Totaal": -1297.2}])),
    )
    .await;
    let apply = Apply::group_by([Property::new("Kostenplaats").unwrap()])
        .aggregate(Aggregate::sum_of_saldo(Property::new("Totaal").unwrap()));
    let filter = Filter::eq(
        Property::new("Grootboek/Id").unwrap(),
        id::<GrootboekId>(GROOTBOEK),
    );
    let rows = api
        .client
        .execute(ops::grootboekmutaties::aggregate(Some(filter), &apply).unwrap())
        .await
        .unwrap();
    assert_eq!(rows[0].decimal("Totaal"), Some(dec!(-1297.2)));
    assert_eq!(
        rows[0].group_id("Kostenplaats").unwrap().to_string(),
        KOSTENPLAATS
    );
}

#[tokio::test]
async fn echo() {
    let api = Api::start().await;
    api.expect(
        "GET",
        "echo/ping-42",
        &[],
        None,
        200,
        Some(fixture("echo-response.json")),
    )
    .await;
    let pong = api.client.execute(ops::echo::get("ping-42")).await.unwrap();
    assert_eq!(pong.as_deref(), Some("ping-42"));

    // 204 without a body is `None`; the input is one percent-encoded path segment.
    Mock::given(method("GET"))
        .and(|r: &WireRequest| r.url.path() == "/v2/echo/a%2Fb%3Fc")
        .and(ExactQuery(vec![]))
        .and(header("Ocp-Apim-Subscription-Key", "sub"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&api.server)
        .await;
    let nothing = api.client.execute(ops::echo::get("a/b?c")).await.unwrap();
    assert_eq!(nothing, None);
}
