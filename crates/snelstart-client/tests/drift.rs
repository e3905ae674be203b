//! API drift: a response with a property or an enum value the models do not know still
//! decodes (exactly), and the client lists what it met (paths and enum values only) for the
//! operator, per route, counted.

mod support;

use rust_decimal::Decimal;
use snelstart_client::drift::DriftKind;
use snelstart_client::odata::Query;
use snelstart_client::{Client, RelatieId, ops};
use support::server;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> Client {
    support::builder(server).build().unwrap()
}

const ID: &str = "2b7c1d10-5a3e-4f4b-9d55-0c1e2f3a4b02";

fn relatie(extra: serde_json::Value) -> serde_json::Value {
    let mut r = serde_json::json!({
        "id": ID, "naam": "Jansen B.V.", "relatiesoort": ["Klant"],
        "kredietLimiet": 123456789012345.67,
        "vestigingsAdres": {"straat": "Oudegracht 12", "postcode": "3511 AB", "plaats": "Utrecht"}
    });
    for (k, v) in extra.as_object().unwrap() {
        r[k] = v.clone();
    }
    r
}

#[tokio::test]
async fn unknown_properties_and_enum_values_are_listed_per_route_without_values() {
    let server = server().await;
    let mut one = relatie(
        serde_json::json!({"klantSegment": "Goud-vertrouwelijk", "relatiesoort": ["Klant", "Partner"]}),
    );
    one["vestigingsAdres"]["regio"] = "Midden".into();
    Mock::given(method("GET"))
        .and(path(format!("/v2/relaties/{ID}")))
        // As text: a serde_json::Value would round the amount before it is sent.
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(
                one.to_string()
                    .replace("123456789012345.67", "123456789012345.67891"),
                "application/json",
            ),
        )
        .mount(&server)
        .await;
    let page = serde_json::json!([
        relatie(serde_json::json!({"klantSegment": "A"})),
        relatie(serde_json::json!({"klantSegment": "B"}))
    ]);
    Mock::given(method("GET"))
        .and(path("/v2/relaties"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(&server)
        .await;
    let c = client(&server);
    assert!(c.api_drift().is_empty());

    let r = c
        .execute(ops::relaties::get(ID.parse::<RelatieId>().unwrap()))
        .await
        .unwrap();
    // Still decoded, and exactly (the drift wrapper must not touch the exact-number path).
    assert_eq!(r.naam.as_deref(), Some("Jansen B.V."));
    assert_eq!(
        r.krediet_limiet,
        Some("123456789012345.67891".parse::<Decimal>().unwrap())
    );
    let all = c.list_all(ops::relaties::list(Query::new())).await.unwrap();
    assert_eq!(all.len(), 2);
    let _ = c
        .execute(ops::relaties::get(ID.parse::<RelatieId>().unwrap()))
        .await
        .unwrap();

    let drift = c.api_drift();
    let text = format!("{drift:?}");
    assert!(
        !text.contains("Goud") && !text.contains("Midden"),
        "no property values: {text}"
    );
    let find = |route: &str, kind: &DriftKind| {
        drift
            .iter()
            .find(|d| d.route == route && &d.kind == kind)
            .unwrap_or_else(|| panic!("{route} {kind}: {text}"))
    };
    let segment = DriftKind::UnknownProperty {
        path: "klantSegment".into(),
    };
    assert_eq!(find("relaties/{id}", &segment).count, 2, "two GETs");
    assert_eq!(
        find("relaties", &segment).count,
        1,
        "one page, listed once however many items carry it"
    );
    find(
        "relaties/{id}",
        &DriftKind::UnknownProperty {
            path: "vestigingsAdres.regio".into(),
        },
    );
    let partner = find(
        "relaties/{id}",
        &DriftKind::UnknownEnumValue {
            enum_name: "Relatiesoort",
            value: "Partner".into(),
        },
    );
    assert_eq!(partner.method, "GET");
    assert!(partner.to_string().contains("Relatiesoort"), "{partner}");
    assert_eq!(drift.len(), 4, "{text}");
    assert_eq!(c.api_drift_dropped(), 0);
    // Clones share the log.
    assert_eq!(c.clone().api_drift().len(), 4);
}
