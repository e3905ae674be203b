//! Any bytes as the body of every write endpoint of the simulator, driven in process through its
//! router, gateway layer and handlers (`snelstart_mock::fuzzing::InProcess`): never a 5xx,
//! never a panic, never a dropped answer.
//!
//! Input: the first byte picks the route (`ROUTES`), the rest is the body, sent as
//! `application/json` (form-encoded for the token endpoint, which reads bytes whatever the
//! header says). Routes with an id in the path address a record that exists (a seeded relation
//! or cost centre, or a booking and a document the target creates at start), and every `@id`
//! in the body is replaced by that id, so an update can get past the id check to the rules.
//!
//! One simulator serves every input (a fresh one per input would cost more than the input);
//! it is reset to its seed every `RESET_EVERY` inputs so memory stays bounded. A crash found
//! that way is replayed on a fresh simulator first: most depend on the body alone.
//!
//! With `MOCK_BODIES_WRITE_SEEDS=DIR` set, the target writes one valid input per route into DIR
//! (the seed corpus: bodies that the simulator accepts, with the ids of its seed data) and
//! exits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use snelstart_mock::fuzzing::InProcess;
use snelstart_mock::{DEFAULT_CLIENT_KEY, MockConfig};
use std::sync::{LazyLock, Mutex};

/// Which existing record a route's path names.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    None,
    Klant,
    Kostenplaats,
    Verkoop,
    Inkoop,
    Memoriaal,
    Bank,
    Kas,
    Document,
}

const ROUTES: &[(&str, &str, Target)] = &[
    ("POST", "/v2/relaties", Target::None),
    ("PUT", "/v2/relaties/@id", Target::Klant),
    ("POST", "/v2/kostenplaatsen", Target::None),
    ("PUT", "/v2/kostenplaatsen/@id", Target::Kostenplaats),
    ("POST", "/v2/grootboeken", Target::None),
    ("POST", "/v2/verkoopboekingen", Target::None),
    ("PUT", "/v2/verkoopboekingen/@id", Target::Verkoop),
    ("POST", "/v2/inkoopboekingen", Target::None),
    ("PUT", "/v2/inkoopboekingen/@id", Target::Inkoop),
    ("POST", "/v2/memoriaalboekingen", Target::None),
    ("PUT", "/v2/memoriaalboekingen/@id", Target::Memoriaal),
    ("POST", "/v2/bankboekingen", Target::None),
    ("PUT", "/v2/bankboekingen/@id", Target::Bank),
    ("POST", "/v2/kasboekingen", Target::None),
    ("PUT", "/v2/kasboekingen/@id", Target::Kas),
    ("POST", "/v2/documenten/Verkoopboekingen", Target::None),
    ("POST", "/v2/documenten/Inkoopboekingen", Target::None),
    ("POST", "/v2/documenten/Relaties", Target::None),
    ("PUT", "/v2/documenten/@id", Target::Document),
    ("PUT", "/v2/companyInfo", Target::None),
    ("POST", "/b2b/token", Target::None),
    ("POST", "/_mock/payments", Target::None),
];

const RESET_EVERY: u32 = 20_000;

/// The ids the simulator's seed data gives (the same in every run: the seed is fixed).
struct SeedIds {
    klant: String,
    leverancier: String,
    ledger: Box<dyn Fn(i64) -> String + Send + Sync>,
    kostenplaats: String,
    journal: Box<dyn Fn(&str) -> String + Send + Sync>,
}

struct Sim {
    rt: tokio::runtime::Runtime,
    sim: InProcess,
    ids: SeedIds,
    /// The id each `Target` names (index: `Target as usize`).
    targets: Vec<String>,
    inputs: u32,
}

fn seed_ids(state: &Value) -> SeedIds {
    let admin = &state[0];
    let rows = |table: &str| admin[table].as_array().cloned().unwrap_or_default();
    let relation = |soort: &str| {
        rows("relaties")
            .iter()
            .find(|r| r["relatiesoort"][0] == soort)
            .and_then(|r| r["id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("the seed has no {soort}: raise with_seed_relations"))
    };
    let id_where = |table: &str, key: &str, value: Value| {
        rows(table)
            .iter()
            .find(|r| r[key] == value)
            .and_then(|r| r["id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("no {table} with {key} {value}"))
    };
    let ledgers = rows("grootboeken");
    let journals = rows("dagboeken");
    let find = |rows: &[Value], key: &str, value: Value| {
        rows.iter()
            .find(|r| r[key] == value)
            .and_then(|r| r["id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("no record with {key} {value}"))
    };
    SeedIds {
        klant: relation("Klant"),
        leverancier: relation("Leverancier"),
        kostenplaats: id_where("kostenplaatsen", "nummer", json!(1)),
        ledger: Box::new(move |n| find(&ledgers, "nummer", json!(n))),
        journal: Box::new(move |s| {
            journals
                .iter()
                .find(|r| r["soort"] == s)
                .and_then(|r| r["id"].as_str().map(str::to_owned))
                .unwrap_or_else(|| panic!("no dagboek {s}"))
        }),
    }
}

/// A body the simulator accepts for each route (`@id`: the record in the path; `@vb`: a sales
/// booking to pay).
fn valid_body(route: usize, ids: &SeedIds) -> Vec<u8> {
    let (_, path, _) = ROUTES[route];
    let content = "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg==";
    let verkoop = |nummer: &str| {
        json!({"factuurnummer": nummer, "factuurdatum": "2025-03-01", "klant": {"id": ids.klant},
               "omschrijving": "Advieswerk maart", "factuurbedrag": 121.00,
               "boekingsregels": [{"omschrijving": "Advies", "grootboek": {"id": (ids.ledger)(8000)},
                                   "bedrag": 100.00, "btwSoort": "Hoog"}],
               "btw": [{"btwSoort": "VerkopenHoog", "btwBedrag": 21.00}]})
    };
    let inkoop = |nummer: &str| {
        json!({"factuurnummer": nummer, "factuurdatum": "2025-02-10",
               "leverancier": {"id": ids.leverancier}, "factuurbedrag": 109.00,
               "boekingsregels": [{"grootboek": {"id": (ids.ledger)(4300)}, "bedrag": 100.00,
                                   "btwSoort": "Laag"}],
               "btw": [{"btwSoort": "InkopenLaag", "btwBedrag": 9.00}]})
    };
    let pay = |soort: &str| {
        json!({"datum": "2025-03-10", "dagboek": {"id": (ids.journal)(soort)},
               "bedragOntvangen": 21.0, "bedragUitgegeven": 0, "omschrijving": "Afschrift",
               "verkoopboekingBoekingsRegels": [{"boekingId": {"id": "@vb"},
                                                 "omschrijving": "Betaling", "debet": 0,
                                                 "credit": 21.0}]})
    };
    let memoriaal = json!({"datum": "2025-03-20", "dagboek": {"id": (ids.journal)("Memoriaal")},
        "memoriaalBoekingsRegels": [
            {"omschrijving": "a", "grootboek": {"id": (ids.ledger)(4300)}, "debet": 10},
            {"omschrijving": "b", "grootboek": {"id": (ids.ledger)(4200)}, "credit": 10}]});
    let with_id = |mut v: Value| {
        v["id"] = json!("@id");
        v
    };
    let body = match path {
        "/v2/relaties" => {
            json!({"relatiesoort": ["Klant"], "naam": "Fuzz BV", "krediettermijn": 14,
                                 "email": "a@b.example", "btwNummer": "NL001234560B89"})
        }
        "/v2/relaties/@id" => json!({"id": "@id", "relatiesoort": ["Klant"], "naam": "Fuzz BV 2"}),
        "/v2/kostenplaatsen" => json!({"nummer": 77, "omschrijving": "Fuzz", "nonactief": false}),
        "/v2/kostenplaatsen/@id" => json!({"id": "@id", "nummer": 1, "omschrijving": "Algemeen"}),
        "/v2/grootboeken" => json!({"nummer": 4999, "omschrijving": "Fuzz kosten",
                                    "grootboekfunctie": "InkopenKostenAlleBtwTarieven",
                                    "btwSoort": "Hoog", "kostenplaatsVerplicht": false}),
        "/v2/verkoopboekingen" => verkoop("FZ-1"),
        "/v2/verkoopboekingen/@id" => with_id(verkoop("FZ-0")),
        "/v2/inkoopboekingen" => inkoop("FZI-1"),
        "/v2/inkoopboekingen/@id" => with_id(inkoop("FZI-0")),
        "/v2/memoriaalboekingen" => memoriaal.clone(),
        "/v2/memoriaalboekingen/@id" => with_id(memoriaal.clone()),
        "/v2/bankboekingen" => pay("Bank"),
        "/v2/bankboekingen/@id" => with_id(pay("Bank")),
        "/v2/kasboekingen" => pay("Kas"),
        "/v2/kasboekingen/@id" => with_id(pay("Kas")),
        "/v2/documenten/Verkoopboekingen" => {
            json!({"content": content, "parentIdentifier": "@vb", "fileName": "f.pdf", "readOnly": false})
        }
        "/v2/documenten/Inkoopboekingen" => {
            json!({"content": content, "parentIdentifier": "@ib", "fileName": "i.pdf"})
        }
        "/v2/documenten/Relaties" => {
            json!({"content": content, "parentIdentifier": ids.klant, "fileName": "kvk.pdf"})
        }
        "/v2/documenten/@id" => {
            json!({"id": "@id", "content": content, "parentIdentifier": "@vb", "fileName": "g.pdf"})
        }
        "/v2/companyInfo" => json!({"administratieNaam": "Fuzz", "btwNummer": "NL001234560B89"}),
        "/b2b/token" => {
            let form = [
                ("grant_type", "clientkey"),
                ("clientkey", DEFAULT_CLIENT_KEY),
            ];
            return serde_urlencoded::to_string(form).unwrap().into_bytes();
        }
        "/_mock/payments" => json!({"factuurnummer": "FZ-0", "bedrag": 1.5, "datum": "2025-04-01"}),
        other => panic!("no valid body for {other}"),
    };
    body.to_string().into_bytes()
}

impl Sim {
    fn new() -> Sim {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let sim = rt
            .block_on(InProcess::new(MockConfig::new().with_seed_relations(8)))
            .unwrap();
        let ids = seed_ids(&sim.state_json());
        let mut s = Sim {
            rt,
            sim,
            ids,
            targets: Vec::new(),
            inputs: 0,
        };
        s.create_targets();
        s
    }

    /// The records the routes with an id address (again after each reset).
    fn create_targets(&mut self) {
        let mut targets = vec![String::new(); Target::Document as usize + 1];
        targets[Target::Klant as usize] = self.ids.klant.clone();
        targets[Target::Kostenplaats as usize] = self.ids.kostenplaats.clone();
        let posts = [
            (Target::Verkoop, 6usize),
            (Target::Inkoop, 8),
            (Target::Memoriaal, 10),
            (Target::Bank, 12),
            (Target::Kas, 14),
            (Target::Document, 18),
        ];
        for (target, put_route) in posts {
            let (_, path, kind) = ROUTES[put_route];
            assert!(kind == target);
            let collection = match target {
                Target::Document => "/v2/documenten/Verkoopboekingen",
                _ => path.trim_end_matches("/@id"),
            };
            let body = self.fill(&valid_body(put_route, &self.ids), "", &targets);
            let mut body: Value = serde_json::from_slice(&body).unwrap();
            if let Some(o) = body.as_object_mut() {
                o.remove("id");
            }
            let (status, answer) = self.rt.block_on(self.sim.call(
                "POST",
                collection,
                body.to_string().into_bytes(),
            ));
            let answer: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
            assert!(status < 300, "setup POST {collection}: {status} {answer}");
            targets[target as usize] = answer["id"].as_str().unwrap().to_owned();
        }
        self.targets = targets;
    }

    /// `body` with `@id` the record in the path and `@vb`/`@ib` the target bookings.
    fn fill(&self, body: &[u8], id: &str, targets: &[String]) -> Vec<u8> {
        let mut out = body.to_vec();
        for (placeholder, with) in [
            ("@id", id),
            ("@vb", targets[Target::Verkoop as usize].as_str()),
            ("@ib", targets[Target::Inkoop as usize].as_str()),
        ] {
            if !with.is_empty() {
                out = replace(&out, placeholder.as_bytes(), with.as_bytes());
            }
        }
        out
    }

    /// One input: the answer's status (asserted below 500).
    fn run(&mut self, route: usize, body: &[u8]) -> u16 {
        self.inputs += 1;
        if self.inputs % RESET_EVERY == 0 {
            self.sim.reset();
            self.create_targets();
        }
        let (method, path, target) = ROUTES[route];
        let id = match target {
            Target::None => "",
            t => self.targets[t as usize].as_str(),
        };
        let path = path.replace("@id", id);
        let body = self.fill(body, id, &self.targets);
        let (status, answer) = self.rt.block_on(self.sim.call(method, &path, body.clone()));
        assert!(
            (100..500).contains(&status),
            "{method} {path}: {status} {}\nbody: {}",
            String::from_utf8_lossy(&answer),
            String::from_utf8_lossy(&body),
        );
        status
    }
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

static SIM: LazyLock<Mutex<Sim>> = LazyLock::new(|| Mutex::new(Sim::new()));

/// `MOCK_BODIES_WRITE_SEEDS=DIR`: write the seed corpus, with the answer each seed gets on a
/// fresh simulator on stderr (every one should be a 2xx).
fn write_seeds(dir: &str) {
    let mut sim = Sim::new();
    for route in 0..ROUTES.len() {
        let mut input = vec![route as u8];
        input.extend(valid_body(route, &sim.ids));
        std::fs::write(format!("{dir}/valid-{route:02}"), &input).unwrap();
        let (method, path, _) = ROUTES[route];
        let status = sim.run(route, &input[1..]);
        eprintln!("seed {route:02} {method} {path}: {status}");
    }
}

fuzz_target!(
    init: {
        if let Ok(dir) = std::env::var("MOCK_BODIES_WRITE_SEEDS") {
            write_seeds(&dir);
            std::process::exit(0);
        }
    },
    |data: &[u8]| {
        let Some((&selector, body)) = data.split_first() else {
            return;
        };
        let mut sim = SIM.lock().unwrap_or_else(|e| e.into_inner());
        sim.run(usize::from(selector) % ROUTES.len(), body);
    }
);
