//! Contract test: every response body's field names equal the vendor schema of the same name.
//!
//! The vendor definition is read from the file named by `SNELSTART_OPENAPI`. When the variable is
//! unset the test prints a notice and passes; when it is set, a missing file is a failure.

mod common;

use base64::Engine;
use common::Api;
use serde_json::{Value, json};
use serde_yaml_ng::Value as Yaml;
use snelstart_mock::MockConfig;

const PREFIX: &str = "SnelStart.B2B.Api.V2.Models.";

struct Spec(Yaml, std::cell::Cell<usize>);

impl Spec {
    fn load() -> Option<Spec> {
        let Some(path) = std::env::var_os("SNELSTART_OPENAPI") else {
            eprintln!("notice: SNELSTART_OPENAPI is not set; skipping the contract test");
            return None;
        };
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("SNELSTART_OPENAPI={path:?} cannot be read: {e}"));
        Some(Spec(
            serde_yaml_ng::from_str(&text).expect("the vendor definition is valid YAML"),
            std::cell::Cell::new(0),
        ))
    }

    fn schema(&self, name: &str) -> &Yaml {
        let full = if name.starts_with(PREFIX) {
            name.to_owned()
        } else {
            format!("{PREFIX}{name}")
        };
        let s = &self.0["components"]["schemas"][full.as_str()];
        assert!(!s.is_null(), "schema {full} not in the vendor definition");
        s
    }

    /// The schema a property refers to (`$ref`, `allOf: [$ref]` or `items.$ref`).
    fn target(prop: &Yaml) -> Option<String> {
        let r = prop["$ref"]
            .as_str()
            .or_else(|| prop["allOf"][0]["$ref"].as_str())
            .or_else(|| prop["items"]["$ref"].as_str())?;
        Some(r.rsplit('/').next()?.to_owned())
    }

    /// The enum values a property allows: its own `enum`, or that of the schema it refers to
    /// (`$ref`, `allOf: [$ref]`), or, for a list, that of its items.
    fn enum_values(&self, prop: &Yaml) -> Option<Vec<String>> {
        let own = |y: &Yaml| {
            y["enum"].as_sequence().map(|vals| {
                vals.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
        };
        if let Some(vals) = own(prop).or_else(|| own(&prop["items"])) {
            return Some(vals);
        }
        let target = Spec::target(prop)?;
        let s = &self.0["components"]["schemas"][target.as_str()];
        own(s)
    }

    /// Checks that a string (or every string of a list) is one of the vendor's enum values.
    fn check_enum(&self, prop: &Yaml, child: &Value, path: &str, problems: &mut Vec<String>) {
        let Some(allowed) = self.enum_values(prop) else {
            return;
        };
        let values: Vec<&Value> = match child {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for v in values {
            match v {
                Value::String(s) => {
                    self.1.set(self.1.get() + 1);
                    if !allowed.iter().any(|a| a == s) {
                        problems.push(format!(
                            "{path}: \"{s}\" is not a value of the vendor enum {allowed:?}"
                        ));
                    }
                }
                Value::Null | Value::Object(_) => {}
                other => problems.push(format!("{path}: enum value {other} is not a string")),
            }
        }
    }

    /// Compare an object's keys with the schema's properties, recursing into nested models,
    /// and every enum value with the vendor's values.
    fn check(
        &self,
        schema_name: &str,
        v: &Value,
        path: &str,
        problems: &mut Vec<String>,
        checked: &mut usize,
    ) {
        let schema = self.schema(schema_name);
        let Some(props) = schema["properties"].as_mapping() else {
            return;
        };
        let Some(obj) = v.as_object() else {
            problems.push(format!("{path}: expected an object for {schema_name}"));
            return;
        };
        for (k, p) in props {
            *checked += 1;
            let k = k.as_str().unwrap_or_default();
            match obj.get(k) {
                None => problems.push(format!("{path}.{k}: missing (schema {schema_name})")),
                Some(child) => {
                    self.check_enum(p, child, &format!("{path}.{k}"), problems);
                    if let Some(t) = Spec::target(p) {
                        match child {
                            Value::Object(_) => {
                                self.check(&t, child, &format!("{path}.{k}"), problems, checked)
                            }
                            Value::Array(items) => {
                                for (i, it) in items.iter().enumerate() {
                                    if it.is_object() {
                                        self.check(
                                            &t,
                                            it,
                                            &format!("{path}.{k}[{i}]"),
                                            problems,
                                            checked,
                                        );
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        for k in obj.keys() {
            if !props.contains_key(Yaml::String(k.clone())) {
                problems.push(format!("{path}.{k}: not in schema {schema_name}"));
            }
        }
    }
}

#[tokio::test]
async fn response_field_names_match_the_vendor_schemas() {
    let Some(spec) = Spec::load() else { return };
    let api = Api::start(MockConfig::new().with_seed_relations(2)).await;
    let klant = api.relatie("Klant", "Contract").await;
    let lev = api.relatie("Leverancier", "Leverancier").await;
    let (_, vb) = api
        .post("/verkoopboekingen", api.verkoop_body(&klant, "C-1").await)
        .await;
    let (_, ib) = api
        .post(
            "/inkoopboekingen",
            json!({"factuurnummer": "I-1", "factuurdatum": "2025-02-10", "leverancier": {"id": lev}, "factuurbedrag": 121,
                   "boekingsregels": [{"grootboek": {"id": api.ledger(4100).await}, "bedrag": 100, "btwSoort": "Hoog"}],
                   "btw": [{"btwSoort": "InkopenHoog", "btwBedrag": 21}]}),
        )
        .await;
    let (_, mb) = api
        .post(
            "/memoriaalboekingen",
            json!({"datum": "2025-03-20", "dagboek": {"id": api.journal("Memoriaal").await},
                   "memoriaalBoekingsRegels": [{"omschrijving": "Bank", "grootboek": {"id": api.ledger(1100).await}, "debet": 10, "credit": 0}],
                   "verkoopboekingBoekingsRegels": [{"boekingId": {"id": vb["id"]}, "omschrijving": "Betaling", "bedrag": 10}]}),
        )
        .await;
    let bank_body = |journal: String| {
        json!({"datum": "2025-03-21", "dagboek": {"id": journal}, "bedragOntvangen": 20, "bedragUitgegeven": 0,
               "omschrijving": "Afschrift", "boekstuk": "A1",
               "grootboekBoekingsRegels": [{"omschrijving": "Kosten", "grootboek": {"id": ""}, "debet": 10, "credit": 0, "btwSoort": "Hoog"}],
               "btwBoekingsregels": [{"debet": 0, "credit": 0.5, "type": "AfTeDragenBtwType", "tarief": "Hoog"}],
               "inkoopboekingBoekingsRegels": [{"boekingId": {"id": ib["id"]}, "omschrijving": "I-1", "debet": 0.5, "credit": 0}],
               "verkoopboekingBoekingsRegels": [{"boekingId": {"id": vb["id"]}, "omschrijving": "C-1", "debet": 0, "credit": 30}]})
    };
    let kosten = api.ledger(4100).await;
    let mut bank = bank_body(api.journal("Bank").await);
    bank["grootboekBoekingsRegels"][0]["grootboek"]["id"] = json!(kosten);
    let (st, bankb) = api.post("/bankboekingen", bank).await;
    assert_eq!(st.as_u16(), 201, "{bankb}");
    let mut kas = bank_body(api.journal("Kas").await);
    kas["grootboekBoekingsRegels"][0]["grootboek"]["id"] = json!(kosten);
    let (st, kasb) = api.post("/kasboekingen", kas).await;
    assert_eq!(st.as_u16(), 201, "{kasb}");
    let content = base64::engine::general_purpose::STANDARD.encode(b"x");
    let (_, doc) = api
        .post(
            "/documenten/Verkoopboekingen",
            json!({"content": content, "parentIdentifier": vb["id"], "fileName": "a.pdf"}),
        )
        .await;
    let (_, doc_full) = api
        .get(&format!("/documenten/{}", doc["id"].as_str().unwrap()))
        .await;
    let (_, doc_list) = api
        .get(&format!(
            "/documenten/Verkoopboekingen/{}",
            vb["id"].as_str().unwrap()
        ))
        .await;
    let (_, vb_full) = api
        .get(&format!("/verkoopboekingen/{}", vb["id"].as_str().unwrap()))
        .await;

    let mut bodies: Vec<(&str, Value)> = vec![
        (
            "Relaties.RelatieModel",
            api.get(&format!("/relaties/{klant}")).await.1,
        ),
        (
            "Kostenplaatsen.KostenplaatsModel",
            api.get("/kostenplaatsen").await.1[0].clone(),
        ),
        (
            "Grootboeken.GrootboekModel",
            api.get("/grootboeken").await.1[0].clone(),
        ),
        ("Landen.LandModel", api.get("/landen").await.1[0].clone()),
        (
            "Dagboeken.DagboekModel",
            api.get("/dagboeken").await.1[0].clone(),
        ),
        (
            "BtwTarieven.BtwTariefModel",
            api.get("/btwtarieven").await.1[0].clone(),
        ),
        (
            "CompanyInfo.CompanyInfoModel",
            api.get("/companyInfo").await.1,
        ),
        ("VerkoopBoekingen.VerkoopBoekingModel", vb_full),
        ("Inkoopboekingen.InkoopboekingModel", ib),
        (
            "Verkoopfacturen.VerkoopfactuurModel",
            api.get("/verkoopfacturen").await.1[0].clone(),
        ),
        (
            "Inkoopfacturen.InkoopfactuurModel",
            api.get("/inkoopfacturen").await.1[0].clone(),
        ),
        ("Bankboekingen.MemoriaalboekingModel", mb),
        ("Bankboekingen.BankboekingModel", bankb),
        ("Kasboekingen.KasboekingModel", kasb),
        (
            "Bankboekingen.BankboekingModel",
            api.get("/bankboekingen").await.1[0].clone(),
        ),
        (
            "GrootboekMutaties.GrootboekMutatieModel",
            api.get("/grootboekmutaties").await.1[0].clone(),
        ),
        ("Documenten.DocumentContentModel", doc_full),
        ("Documenten.DocumentIdentifierModel", doc),
        (
            "Bijlagen.VerkoopBoekingBijlageReferenceModel",
            doc_list[0].clone(),
        ),
    ];
    // A seeded relation too (the seed goes through a different code path).
    bodies.push((
        "Relaties.RelatieModel",
        api.get("/relaties").await.1[0].clone(),
    ));
    let mut problems = Vec::new();
    let mut checked = 0;
    for (schema, body) in &bodies {
        spec.check(schema, body, schema, &mut problems, &mut checked);
    }
    // The answer to PUT /companyInfo is a CompanyInfoModel too.
    let (_, put) = api
        .put("/companyInfo", json!({"factureerBuitenlandsBtw": false}))
        .await;
    spec.check(
        "CompanyInfo.CompanyInfoModel",
        &put,
        "PUT companyInfo",
        &mut problems,
        &mut checked,
    );
    // Guard against a vacuous pass (e.g. schemas without properties after a format change).
    assert!(checked > 250, "only {checked} properties were compared");
    // Every enum value the simulator emits was compared (relatiesoort, btwSoort, the
    // companyInfo enums, ...).
    assert!(
        spec.1.get() > 25,
        "only {} enum values were compared",
        spec.1.get()
    );
    assert!(
        problems.is_empty(),
        "{} contract problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
