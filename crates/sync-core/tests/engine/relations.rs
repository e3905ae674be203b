//! The engine end to end against `snelstart-mock` over real HTTP: relations and cost centres.

use std::time::Duration;

use crm_model::{Address, Contact, CrmId, Project, Relation, RelationKind};
use mapping::config::{MappingConfig, RelatiecodePolicy};
use snelstart_client::models::{Relatie, RelatieWrite, Relatiesoort};
use snelstart_client::odata::Query;
use snelstart_client::ops;
use snelstart_mock::{FaultKind, MockConfig, MockServer, ScriptedFault};
use sync_core::store::{
    AdminKey, AuditStore, EntityKind, LinkPart, MemoryStore, NewWorkItem, OutboxStore, QueueStore,
    ReplayFilter,
};
use sync_core::{
    Action, CrmChange, EngineOptions, MemorySink, MemorySource, PlannedAction, SinkEvent,
    SyncEngine,
};

type Engine = SyncEngine<MemoryStore, MemorySource, MemorySink>;

fn options() -> EngineOptions {
    let mut o = EngineOptions::default();
    o.base_backoff = Duration::from_millis(20);
    o.max_backoff = Duration::from_millis(200);
    o.breaker_base = Duration::from_millis(50);
    o.breaker_max = Duration::from_millis(200);
    o
}

fn config_from_crm_numbers() -> MappingConfig {
    let mut c = MappingConfig::default_for_mock();
    c.relatiecode = RelatiecodePolicy::FromCrmNumber {
        fallback_to_snelstart: true,
    };
    c
}

struct Setup {
    server: MockServer,
    engine: Engine,
    source: MemorySource,
    sink: MemorySink,
    store: MemoryStore,
}

async fn setup_with(mock: MockConfig, config: MappingConfig, changes: Vec<CrmChange>) -> Setup {
    let server = MockServer::start(mock).await.unwrap();
    let source = MemorySource::new(changes);
    let sink = MemorySink::new();
    let store = MemoryStore::new();
    let engine = SyncEngine::with_options(
        client(&server),
        store.clone(),
        source.clone(),
        sink.clone(),
        AdminKey::new("test"),
        config,
        options(),
        sync_core::Clock::system(),
    );
    Setup {
        server,
        engine,
        source,
        sink,
        store,
    }
}

const TRADES: [&str; 20] = [
    "Bakkerij",
    "Installatiebedrijf",
    "Schildersbedrijf",
    "Autobedrijf",
    "Hoveniersbedrijf",
    "Drukkerij",
    "Timmerfabriek",
    "Adviesbureau",
    "Transportbedrijf",
    "Architectenbureau",
    "Loodgietersbedrijf",
    "Dakdekkersbedrijf",
    "Slagerij",
    "Kapsalon",
    "Fietsenmaker",
    "Accountantskantoor",
    "Elektrotechniek",
    "Metaalbewerking",
    "Bloembinderij",
    "Zonwering",
];
const SURNAMES: [&str; 30] = [
    "Jansen",
    "De Vries",
    "Van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "De Boer",
    "Mulder",
    "De Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Van Leeuwen",
    "Dekker",
    "Brouwer",
    "De Wit",
    "Dijkstra",
    "Smits",
    "De Graaf",
    "Van der Meer",
    "Kok",
    "Jacobs",
    "De Haan",
    "Vermeulen",
    "Van Dijk",
    "Schouten",
    "Willems",
    "Hoekstra",
];

/// A distinct, realistic company name for index `i` (600 combinations).
fn company_name(i: u32) -> String {
    format!(
        "{} {} B.V.",
        TRADES[(i % 20) as usize],
        SURNAMES[((i / 20) % 30) as usize]
    )
}

/// A realistic, valid Dutch customer with two contacts.
fn customer(i: u32) -> Relation {
    let mut r = Relation::new(format!("crm-{i}"), RelationKind::Customer, company_name(i));
    r.number = Some(format!("{}", 20_000 + i));
    r.visit_address = Some(Address::dutch(
        "Stationsstraat",
        format!("{}", i % 200 + 1),
        format!("{:04} AB", 1000 + i % 8000),
        "Utrecht",
    ));
    r.phone = Some(format!("030-{:07}", 1_000_000 + i));
    r.email = Some(format!("info@klant{i}.nl").parse().unwrap());
    r.kvk_number = Some(format!("{:08}", 30_000_000 + i).parse().unwrap());
    let mut a = Contact::named(format!("Jan Jansen {i}"));
    a.role = Some("Directeur".into());
    let mut b = Contact::named(format!("Petra de Vries {i}"));
    b.role = Some("Financiële administratie".into());
    b.email = Some(format!("facturen@klant{i}.nl").parse().unwrap());
    r.contacts = vec![a, b];
    r
}

fn project(i: u32) -> Project {
    Project::new(
        format!("prj-{i}"),
        format!("P{:04}", 100 + i),
        format!("Bouwproject {i}"),
    )
}

async fn all_relaties(server: &MockServer) -> Vec<Relatie> {
    client(server)
        .list_all(ops::relaties::list(Query::new()))
        .await
        .unwrap()
}

/// The relations the tests created (their KvK numbers start with 300).
fn ours(relaties: &[Relatie]) -> Vec<&Relatie> {
    relaties
        .iter()
        .filter(|r| {
            r.kvk_nummer
                .as_deref()
                .is_some_and(|k| k.starts_with("300"))
        })
        .collect()
}

#[tokio::test]
async fn initial_sync_then_a_second_run_makes_no_writes() {
    let mut changes: Vec<CrmChange> = (0..40).map(|i| CrmChange::relation(customer(i))).collect();
    changes.extend((0..10).map(|i| CrmChange::project(project(i))));
    let s = setup_with(MockConfig::new(), config_from_crm_numbers(), changes).await;

    let report = s.engine.sync().await.unwrap();
    assert_eq!(report.ingested, 50);
    assert_eq!(
        report.count(EntityKind::Relation, Action::Created),
        40,
        "{report}"
    );
    assert_eq!(
        report.count(EntityKind::CostCentre, Action::Created),
        10,
        "{report}"
    );
    let relaties = all_relaties(&s.server).await;
    assert_eq!(ours(&relaties).len(), 40);
    let r5 = relaties
        .iter()
        .find(|r| r.relatiecode == Some(20_005))
        .unwrap();
    assert_eq!(r5.naam.as_deref(), Some(company_name(5).as_str()));
    assert!(r5.relatiesoort.contains(&Relatiesoort::Klant));
    let adres = r5.vestigings_adres.as_ref().unwrap();
    assert_eq!(adres.straat.as_deref(), Some("Stationsstraat 6"));
    assert!(adres.contactpersoon.is_some(), "one contact kept");
    let links: Vec<_> = s
        .sink
        .events()
        .into_iter()
        .filter(|e| matches!(e, SinkEvent::Linked { created: true, .. }))
        .collect();
    assert_eq!(links.len(), 50);

    // Second run: the same changes arrive again (a re-sent webhook); nothing is written.
    let writes_before = s.server.stats().writes();
    for i in 0..40 {
        s.engine
            .submit(CrmChange::relation(customer(i)))
            .await
            .unwrap();
    }
    let again = s.engine.sync().await.unwrap();
    assert_eq!(
        again.count(EntityKind::Relation, Action::Unchanged),
        40,
        "{again}"
    );
    assert_eq!(s.server.stats().writes(), writes_before, "no write calls");
    assert_eq!(again.api_calls, 0, "unchanged payloads need no call at all");
}

#[tokio::test]
async fn a_changed_field_propagates_and_snelstart_fields_stay() {
    let s = setup_with(
        MockConfig::new(),
        config_from_crm_numbers(),
        vec![CrmChange::relation(customer(1))],
    )
    .await;
    s.engine.sync().await.unwrap();
    // Someone sets a SnelStart-only field (invoice discount) in SnelStart itself.
    let c = client(&s.server);
    let existing = all_relaties(&s.server)
        .await
        .into_iter()
        .find(|r| r.relatiecode == Some(20_001))
        .unwrap();
    let mut body = serde_json::to_value(&existing).unwrap();
    body["factuurkorting"] = serde_json::json!(2.5);
    let write: RelatieWrite = serde_json::from_value(body).unwrap();
    c.execute(ops::relaties::update(existing.id, &write).unwrap())
        .await
        .unwrap();

    let mut changed = customer(1);
    changed.phone = Some("030-7654321".into());
    s.source.push(CrmChange::relation(changed));
    let report = s.engine.sync().await.unwrap();
    assert_eq!(
        report.count(EntityKind::Relation, Action::Updated),
        1,
        "{report}"
    );
    let after = c.execute(ops::relaties::get(existing.id)).await.unwrap();
    assert_eq!(after.telefoon.as_deref(), Some("030-7654321"));
    assert_eq!(
        after.factuurkorting.map(|d| d.to_string()),
        Some("2.5".into())
    );
    assert_eq!(after.naam, existing.naam);
}

#[tokio::test]
async fn existing_relations_are_linked_not_duplicated_and_ambiguous_ones_wait() {
    let s = setup_with(MockConfig::new(), config_from_crm_numbers(), vec![]).await;
    let c = client(&s.server);
    // SnelStart already has customer 7 (same KvK, other relatiecode) ...
    let mut existing = RelatieWrite::default();
    existing.relatiesoort = Some(vec![Relatiesoort::Klant]);
    existing.relatiecode = Some(777);
    existing.naam = Some(company_name(7).replace(" B.V.", " BV"));
    existing.kvk_nummer = Some("30000007".into());
    let existing = c
        .execute(ops::relaties::create(&existing).unwrap())
        .await
        .unwrap();
    // ... and two relations that each resemble customer 8 a bit (same name, other places).
    for (code, plaats) in [(881, "Zwolle"), (882, "Breda")] {
        let mut w = RelatieWrite::default();
        w.relatiesoort = Some(vec![Relatiesoort::Klant]);
        w.relatiecode = Some(code);
        w.naam = Some(company_name(8));
        let mut adres = snelstart_client::models::Adres::default();
        adres.straat = Some("Kerkstraat 1".into());
        adres.postcode = Some("8000 AA".into());
        adres.plaats = Some(plaats.into());
        w.vestigings_adres = Some(adres);
        c.execute(ops::relaties::create(&w).unwrap()).await.unwrap();
    }
    let mut eight = customer(8);
    eight.kvk_number = None;
    eight.email = None;
    eight.phone = None;
    eight.visit_address = None;
    s.source.push(CrmChange::relation(customer(7)));
    s.source.push(CrmChange::relation(eight));
    s.source.push(CrmChange::relation(customer(9)));
    let report = s.engine.sync().await.unwrap();
    assert_eq!(
        report.count(EntityKind::Relation, Action::Linked),
        1,
        "{report}"
    );
    assert_eq!(
        report.count(EntityKind::Relation, Action::Review),
        1,
        "{report}"
    );
    assert_eq!(
        report.count(EntityKind::Relation, Action::Created),
        1,
        "{report}"
    );
    let relaties = all_relaties(&s.server).await;
    assert_eq!(
        relaties
            .iter()
            .filter(|r| r.kvk_nummer.as_deref() == Some("30000007"))
            .count(),
        1,
        "customer 7 not duplicated"
    );
    let link = s
        .store
        .link_by_crm_id(
            &AdminKey::new("test"),
            EntityKind::Relation,
            "crm-7",
            &LinkPart::Whole,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.snelstart_id, existing.id.as_uuid());
    let status = s.engine.status().await.unwrap();
    assert_eq!(status.queue.needs_review, 1);
    assert_eq!(status.review[0].crm_id, "crm-8");
    assert!(
        s.sink
            .events()
            .iter()
            .any(|e| matches!(e, SinkEvent::ReviewNeeded { crm_id, .. } if crm_id == "crm-8"))
    );
}

use sync_core::store::LinkStore;

use crate::support::{client, client_with_budget};

#[tokio::test]
async fn invalid_records_fail_with_reasons_while_the_rest_syncs_and_replay_works() {
    let mut bad = customer(3);
    bad.legal_name = String::new();
    bad.trade_name = None;
    let s = setup_with(
        MockConfig::new(),
        config_from_crm_numbers(),
        vec![
            CrmChange::relation(customer(1)),
            CrmChange::relation(bad),
            CrmChange::relation(customer(2)),
        ],
    )
    .await;
    let report = s.engine.sync().await.unwrap();
    assert_eq!(
        report.count(EntityKind::Relation, Action::Created),
        2,
        "{report}"
    );
    assert_eq!(
        report.count(EntityKind::Relation, Action::Failed),
        1,
        "{report}"
    );
    let status = s.engine.status().await.unwrap();
    assert_eq!(status.failures.len(), 1);
    let failure = &status.failures[0];
    assert_eq!(failure.crm_id, "crm-3");
    let error = failure.error.as_ref().unwrap();
    assert_eq!(error.kind, "permanent");
    assert!(error.message.contains("crm-3"), "{}", error.message);
    assert!(
        error.message.contains("name"),
        "names the field: {}",
        error.message
    );
    assert!(format!("{status}").contains("crm-3"));

    // An explicit replay runs it again: same data, same failure, attempts start over.
    let replayed = s
        .engine
        .replay(ReplayFilter::failed(AdminKey::new("test")))
        .await
        .unwrap();
    assert_eq!(replayed, 1);
    let again = s.engine.process().await.unwrap();
    assert_eq!(
        again.count(EntityKind::Relation, Action::Failed),
        1,
        "{again}"
    );

    // The record is fixed in the CRM: the new change supersedes the failure and syncs.
    s.source.push(CrmChange::relation(customer(3)));
    let report = s.engine.sync().await.unwrap();
    assert_eq!(
        report.count(EntityKind::Relation, Action::Created),
        1,
        "{report}"
    );
    let status = s.engine.status().await.unwrap();
    assert_eq!(status.queue.failed, 0, "{status}");
    assert!(status.failures.is_empty());
}

/// A queued payload is decoded straight from its JSON text into the change when it is claimed:
/// text that is JSON but not a change (written by an older version, or by hand) fails that
/// item, naming it, and the items claimed with it sync.
#[tokio::test]
async fn a_queued_payload_that_is_not_a_change_fails_alone() {
    let s = setup_with(
        MockConfig::new(),
        config_from_crm_numbers(),
        vec![CrmChange::relation(customer(1))],
    )
    .await;
    let admin = AdminKey::new("test");
    let not_a_change = serde_json::json!({ "type": "relation", "record": { "id": 7 } });
    s.store
        .enqueue(
            NewWorkItem::new(
                admin.clone(),
                EntityKind::Relation,
                "crm-odd",
                "upsert",
                not_a_change,
                chrono::Utc::now(),
            ),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    s.source.push(CrmChange::relation(customer(2)));
    let report = s.engine.sync().await.unwrap();
    let created_and_failed =
        [Action::Created, Action::Failed].map(|action| report.count(EntityKind::Relation, action));
    assert_eq!(created_and_failed, [2, 1], "{report}");
    let status = s.engine.status().await.unwrap();
    assert_eq!(status.failures.len(), 1, "{status}");
    let failure = &status.failures[0];
    assert_eq!(failure.crm_id, "crm-odd");
    let message = &failure.error.as_ref().unwrap().message;
    assert!(message.contains("unreadable change"), "{message}");
    assert_eq!(all_relaties(&s.server).await.len(), 2);
}

#[tokio::test]
async fn lost_responses_on_creates_make_no_duplicates_and_miss_nothing() {
    for config in [config_from_crm_numbers(), MappingConfig::default_for_mock()] {
        let changes: Vec<CrmChange> = (0..30).map(|i| CrmChange::relation(customer(i))).collect();
        let mut projects: Vec<CrmChange> = (0..6).map(|i| CrmChange::project(project(i))).collect();
        let mut all = changes;
        all.append(&mut projects);
        let s = setup_with(MockConfig::new(), config, all).await;
        let mut faults = Vec::new();
        for n in [1, 3, 4, 10, 17, 25] {
            faults.push(
                ScriptedFault::new(FaultKind::ProcessedButResponseLost)
                    .on("POST", "/relaties")
                    .nth(n),
            );
        }
        for n in [1, 2, 4] {
            faults.push(
                ScriptedFault::new(FaultKind::ProcessedButResponseLost)
                    .on("POST", "/kostenplaatsen")
                    .nth(n),
            );
        }
        s.server.script_faults(faults);
        s.engine.ingest().await.unwrap();
        s.engine
            .run_until_idle(Duration::from_secs(30))
            .await
            .unwrap();
        let relaties = all_relaties(&s.server).await;
        let ours = ours(&relaties);
        assert_eq!(
            ours.len(),
            30,
            "exactly one SnelStart relation per CRM relation"
        );
        let mut names: Vec<_> = ours.iter().map(|r| r.naam.clone().unwrap()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 30, "no duplicates");
        let kpl = client(&s.server)
            .execute(ops::kostenplaatsen::list())
            .await
            .unwrap();
        assert_eq!(
            kpl.iter()
                .filter(|k| k
                    .omschrijving
                    .as_deref()
                    .is_some_and(|o| o.starts_with("Bouwproject")))
                .count(),
            6
        );
        let status = s.engine.status().await.unwrap();
        assert_eq!(status.queue.failed, 0, "{status}");
        assert_eq!(status.queue.pending, 0, "{status}");
    }
}

#[tokio::test]
async fn a_429_storm_slows_the_sync_but_loses_nothing() {
    let changes: Vec<CrmChange> = (0..25).map(|i| CrmChange::relation(customer(i))).collect();
    let s = setup_with(MockConfig::new(), config_from_crm_numbers(), changes).await;
    let storm: Vec<_> = (1..=15)
        .map(|n| {
            ScriptedFault::new(FaultKind::RateLimited {
                retry_after_secs: 0,
            })
            .nth(n * 2)
        })
        .collect();
    s.server.script_faults(storm);
    s.engine.ingest().await.unwrap();
    let report = s
        .engine
        .run_until_idle(Duration::from_secs(30))
        .await
        .unwrap();
    assert!(
        s.server.stats().with_status(429) >= 10,
        "the storm happened"
    );
    assert_eq!(ours(&all_relaties(&s.server).await).len(), 25, "{report}");
    assert_eq!(s.engine.status().await.unwrap().queue.failed, 0);
}

#[tokio::test]
async fn snelstart_down_mid_sync_then_back_completes() {
    let changes: Vec<CrmChange> = (0..30).map(|i| CrmChange::relation(customer(i))).collect();
    let s = setup_with(MockConfig::new(), config_from_crm_numbers(), changes).await;
    s.engine.ingest().await.unwrap();
    // Ten calls go through, then SnelStart answers 503 to the next seventy.
    s.server
        .script_faults((11..=80).map(|n| ScriptedFault::new(FaultKind::Status(503)).nth(n)));
    let first = s.engine.process().await.unwrap();
    assert!(first.interrupted_by_outage, "{first}");
    assert!(
        first.count(EntityKind::Relation, Action::Created) >= 5,
        "{first}"
    );
    let status = s.engine.status().await.unwrap();
    assert!(
        matches!(
            status.reachability,
            sync_core::Reachability::Unreachable { .. }
        ),
        "{status}"
    );
    assert!(status.queue.pending > 0);
    // SnelStart comes back (the faults run out); the engine resumes by itself.
    let report = s
        .engine
        .run_until_idle(Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(ours(&all_relaties(&s.server).await).len(), 30, "{report}");
    let status = s.engine.status().await.unwrap();
    assert_eq!(status.queue.pending + status.queue.failed, 0, "{status}");
    assert!(matches!(
        status.reachability,
        sync_core::Reachability::Reachable { .. }
    ));
}

#[tokio::test]
async fn plan_writes_nothing_and_says_what_would_happen() {
    let s = setup_with(
        MockConfig::new(),
        config_from_crm_numbers(),
        vec![
            CrmChange::relation(customer(1)),
            CrmChange::project(project(1)),
        ],
    )
    .await;
    s.engine.sync().await.unwrap();
    let mut changed = customer(1);
    changed.phone = Some("030-1111111".into());
    let mut bad = customer(2);
    bad.legal_name = String::new();
    s.source.push(CrmChange::relation(changed));
    s.source.push(CrmChange::relation(bad));
    s.source.push(CrmChange::relation(customer(3)));
    s.source.push(CrmChange::project(project(1)));
    let writes = s.server.stats().writes();
    let counts = s.engine.status().await.unwrap().queue;
    let plan = s.engine.plan().await.unwrap();
    assert_eq!(
        s.server.stats().writes(),
        writes,
        "plan() writes nothing to SnelStart"
    );
    assert_eq!(
        s.engine.status().await.unwrap().queue,
        counts,
        "nor to the queue"
    );
    let find = |id: &str| {
        plan.iter()
            .find(|p| p.crm_id == id)
            .map(|p| p.action.clone())
            .unwrap()
    };
    match find("crm-1") {
        PlannedAction::Update { changes, .. } => {
            assert_eq!(changes.len(), 1, "{changes:?}");
            assert_eq!(changes[0].field, "telefoon");
        }
        other => panic!("expected an update, got {other:?}"),
    }
    assert!(matches!(find("crm-2"), PlannedAction::Fail { .. }));
    assert!(matches!(find("crm-3"), PlannedAction::Create));
    assert!(matches!(find("prj-1"), PlannedAction::Skip { .. }));
}

#[tokio::test]
async fn archiving_sets_nonactief_and_projects_deactivate() {
    let s = setup_with(
        MockConfig::new(),
        config_from_crm_numbers(),
        vec![
            CrmChange::relation(customer(4)),
            CrmChange::project(project(4)),
        ],
    )
    .await;
    s.engine.sync().await.unwrap();
    s.source
        .push(CrmChange::relation_archived(CrmId::new("crm-4")));
    let mut closed = project(4);
    closed.active = false;
    s.source.push(CrmChange::project(closed));
    let report = s.engine.sync().await.unwrap();
    assert_eq!(
        report.count(EntityKind::Relation, Action::Archived),
        1,
        "{report}"
    );
    assert_eq!(
        report.count(EntityKind::CostCentre, Action::Updated),
        1,
        "{report}"
    );
    let r = all_relaties(&s.server)
        .await
        .into_iter()
        .find(|r| r.relatiecode == Some(20_004))
        .unwrap();
    assert_eq!(r.nonactief, Some(true));
    let kpl = client(&s.server)
        .execute(ops::kostenplaatsen::list())
        .await
        .unwrap();
    assert!(
        kpl.iter()
            .find(|k| k.omschrijving.as_deref() == Some("Bouwproject 4"))
            .unwrap()
            .is_inactive()
    );
}

/// Issue 9: an inactive CRM project still becomes a kostenplaats (SnelStart refuses to create
/// one inactive, KPL-0009, so it is created and then deactivated); a kostenplaats SnelStart
/// already has under the project's number with another description is not taken over.
#[tokio::test]
async fn inactive_projects_exist_and_foreign_cost_centres_are_not_taken_over() {
    let mut closed = project(2);
    closed.active = false;
    let s = setup_with(
        MockConfig::new(),
        config_from_crm_numbers(),
        vec![CrmChange::project(project(1)), CrmChange::project(closed)],
    )
    .await;
    // Kostenplaats 101 exists already, typed in by hand for something else.
    let direct = client(&s.server);
    direct
        .execute(
            ops::kostenplaatsen::create(&snelstart_client::models::Kostenplaats::new(
                101, "Kantine",
            ))
            .unwrap(),
        )
        .await
        .unwrap();
    s.engine.sync().await.unwrap();
    let kpl = direct.execute(ops::kostenplaatsen::list()).await.unwrap();
    let k101 = kpl.iter().find(|k| k.nummer == Some(101)).unwrap();
    assert_eq!(
        k101.omschrijving.as_deref(),
        Some("Kantine"),
        "not overwritten"
    );
    let k102 = kpl.iter().find(|k| k.nummer == Some(102)).unwrap();
    assert_eq!(k102.omschrijving.as_deref(), Some("Bouwproject 2"));
    assert!(k102.is_inactive(), "the closed project is there, inactive");
    let status = s.engine.status().await.unwrap();
    let failure = status
        .failures
        .iter()
        .find(|f| f.crm_id == "prj-1")
        .unwrap();
    assert_eq!(failure.fields(), vec!["number"]);
    assert!(status.failures.iter().all(|f| f.crm_id != "prj-2"));
    // A rerun writes nothing.
    let before = s.server.stats().writes();
    s.engine.sync().await.unwrap();
    assert_eq!(s.server.stats().writes(), before);
}

/// Issue 12: `run_until_idle` honours its deadline between batches, not only after the queue
/// is drained (a 300 s run took 551 s).
#[tokio::test]
async fn run_until_idle_stops_claiming_at_its_deadline() {
    let changes = (1..=120)
        .map(|i| CrmChange::relation(customer(i)))
        .collect();
    let s = setup_with(MockConfig::new(), config_from_crm_numbers(), changes).await;
    s.engine.ingest().await.unwrap();
    let report = s.engine.run_until_idle(Duration::ZERO).await.unwrap();
    let handled: u64 = [
        Action::Created,
        Action::Linked,
        Action::Failed,
        Action::Review,
    ]
    .iter()
    .map(|a| report.count(EntityKind::Relation, *a))
    .sum();
    assert_eq!(handled, 50, "exactly one batch: {report}");
    let rest = s
        .engine
        .run_until_idle(Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        rest.count(EntityKind::Relation, Action::Created),
        70,
        "{rest}"
    );
}

/// Issue 12: an administration key is bound to the SnelStart administration its first
/// koppelsleutel opened; a key for another administration is refused before anything runs.
#[tokio::test]
async fn a_koppelsleutel_for_another_administration_is_refused() {
    let s = setup_with(
        MockConfig::new(),
        config_from_crm_numbers(),
        vec![CrmChange::relation(customer(1))],
    )
    .await;
    s.engine.sync().await.unwrap();
    // The same administration key and store, but a client for another SnelStart.
    let mut another = MockConfig::new();
    another.seed = 7; // another administration (its administratieIdentifier is seeded)
    let other = MockServer::start(another).await.unwrap();
    let engine = SyncEngine::builder(client(&other), AdminKey::new("test"))
        .store(s.store.clone())
        .source(s.source.clone())
        .sink(s.sink.clone())
        .config(config_from_crm_numbers())
        .options(options())
        .build();
    s.source.push(CrmChange::relation(customer(2)));
    let err = engine.sync().await.unwrap_err();
    assert!(
        matches!(err, sync_core::EngineError::AdministrationMismatch { .. }),
        "{err}"
    );
    assert_eq!(
        other.stats().writes(),
        0,
        "nothing written to the other administration"
    );
}

/// Issue 12: items that failed during an outage wait for the breaker's probe, not for their
/// own backoff (which grows to the maximum): a 10-second outage stalled the sync for minutes.
/// And a batch that was in flight when SnelStart went down opens the breaker for one
/// cool-down, not fifty doublings of it.
#[tokio::test]
async fn after_an_outage_items_are_due_when_the_breaker_probes() {
    let changes: Vec<CrmChange> = (0..60).map(|i| CrmChange::relation(customer(i))).collect();
    let s = setup_with(MockConfig::new(), config_from_crm_numbers(), changes).await;
    let mut o = options();
    o.base_backoff = Duration::from_secs(60); // an item's own backoff would be at least a minute
    o.max_backoff = Duration::from_secs(600);
    o.breaker_base = Duration::from_millis(50);
    o.breaker_max = Duration::from_secs(1);
    let engine = SyncEngine::with_options(
        client(&s.server),
        s.store.clone(),
        s.source.clone(),
        s.sink.clone(),
        AdminKey::new("test"),
        config_from_crm_numbers(),
        o,
        sync_core::Clock::system(),
    );
    engine.ingest().await.unwrap();
    engine.ensure_bound().await.unwrap();
    s.server.set_available(false);
    let first = engine.process().await.unwrap();
    assert!(first.interrupted_by_outage, "{first}");
    let horizon = chrono::Utc::now() + chrono::TimeDelta::seconds(5);
    let pending = s
        .store
        .list_work(
            &AdminKey::new("test"),
            Some(sync_core::store::WorkState::Pending),
            500,
            0,
        )
        .await
        .unwrap();
    assert!(!pending.is_empty());
    assert!(
        pending.iter().all(|i| i.next_attempt_at < horizon),
        "every item is due by the breaker's next probe (cool-down at most 1 s), not after its \
         own 60 s backoff"
    );
    s.server.set_available(true);
    let report = engine
        .run_until_idle(Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(ours(&all_relaties(&s.server).await).len(), 60, "{report}");
}

/// Issue 12: finished work items (with the CRM payloads they carry) are pruned after
/// `EngineOptions::retention`; nothing pruned them before, so the state grew forever.
#[tokio::test]
async fn finished_work_is_pruned_after_the_retention() {
    let changes = (1..=3).map(|i| CrmChange::relation(customer(i))).collect();
    let s = setup_with(MockConfig::new(), config_from_crm_numbers(), changes).await;
    s.engine.sync().await.unwrap();
    assert_eq!(s.engine.status().await.unwrap().queue.done, 3);
    let mut o = options();
    o.retention = Some(Duration::ZERO);
    let pruning = SyncEngine::builder(client(&s.server), AdminKey::new("test"))
        .store(s.store.clone())
        .source(s.source.clone())
        .sink(s.sink.clone())
        .config(config_from_crm_numbers())
        .options(o)
        .build();
    s.source.push(CrmChange::relation(customer(4)));
    pruning.sync().await.unwrap();
    let done = pruning.status().await.unwrap().queue.done;
    assert!(
        done <= 1,
        "the first run's items are gone: {done} done left"
    );
    // The links stay: a rerun still writes nothing.
    let before = s.server.stats().writes();
    s.source.push(CrmChange::relation(customer(1)));
    pruning.sync().await.unwrap();
    assert_eq!(s.server.stats().writes(), before);
}

/// Issue 10: SnelStart holds the company twice (typed in by hand twice); the CRM relation is
/// linked to the original (lowest relatiecode that is active) and the CRM hears that SnelStart
/// holds copies.
#[tokio::test]
async fn the_original_among_snelstart_duplicates_is_linked_and_the_copies_reported() {
    let s = setup_with(MockConfig::new(), config_from_crm_numbers(), vec![]).await;
    let c = client(&s.server);
    let mut ids = Vec::new();
    for code in [1042, 1187] {
        let mut w = RelatieWrite::default();
        w.relatiesoort = Some(vec![Relatiesoort::Klant]);
        w.relatiecode = Some(code);
        w.naam = Some(company_name(11));
        w.kvk_nummer = Some("30000011".into());
        ids.push(
            c.execute(ops::relaties::create(&w).unwrap())
                .await
                .unwrap()
                .id,
        );
    }
    s.source.push(CrmChange::relation(customer(11)));
    let report = s.engine.sync().await.unwrap();
    assert_eq!(
        report.count(EntityKind::Relation, Action::Linked),
        1,
        "{report}"
    );
    let linked = s.sink.events().into_iter().find_map(|e| match e {
        SinkEvent::Linked { snelstart_id, .. } => Some(snelstart_id),
        _ => None,
    });
    assert_eq!(
        linked,
        Some(ids[0].as_uuid()),
        "the original, relatiecode 1042"
    );
    let note = s.sink.events().into_iter().find_map(|e| match e {
        SinkEvent::Notice {
            policy, message, ..
        } if policy == "matching.snelstart_duplicates" => Some(message),
        _ => None,
    });
    let note = note.expect("a notice about the copies");
    assert!(note.contains("1042") && note.contains("1187"), "{note}");
}

/// Issue 12 (create-once): a cost centre's create that got no answer (the connection dropped,
/// or the gateway answered 502) is no evidence that SnelStart is up. The cost-centre copy of
/// the protocol told the circuit breaker "SnelStart answered" after such a failure (and after
/// a number found in the run's own copy), so an outage during cost-centre creates never
/// opened the breaker. Two creates and their lookups failing in a row must open it (threshold
/// 2); once SnelStart is back each project has exactly one kostenplaats.
#[tokio::test]
async fn a_create_without_an_answer_is_no_answer_for_the_breaker() {
    for fault in [FaultKind::ConnectionReset, FaultKind::Status(502)] {
        let server = MockServer::start(MockConfig::new()).await.unwrap();
        let store = MemoryStore::new();
        let mut o = options();
        o.breaker_threshold = 2;
        o.concurrency = Some(1);
        let engine: Engine = SyncEngine::with_options(
            client(&server),
            store.clone(),
            MemorySource::new(vec![
                CrmChange::project(project(1)),
                CrmChange::project(project(2)),
            ]),
            MemorySink::new(),
            AdminKey::new("test"),
            MappingConfig::default_for_mock(),
            o,
            sync_core::Clock::system(),
        );
        engine.ingest().await.unwrap();
        // The run's first list of cost centres is answered; then both creates get no answer
        // and every lookup after them fails (three tries each): SnelStart is down.
        let mut faults: Vec<ScriptedFault> = (0..2)
            .map(|_| ScriptedFault::new(fault.clone()).on("POST", "/kostenplaatsen"))
            .collect();
        faults.extend((2..=7).map(|n| {
            ScriptedFault::new(FaultKind::Status(503))
                .on("GET", "/kostenplaatsen")
                .nth(n)
        }));
        server.script_faults(faults);
        let report = engine.process().await.unwrap();
        let status = engine.status().await.unwrap();
        assert!(
            matches!(
                status.reachability,
                sync_core::Reachability::Unreachable { .. }
            ),
            "{fault:?}: two creates without an answer and their failed lookups are an outage: \
             {report} {status}"
        );
        assert!(report.interrupted_by_outage, "{fault:?}: {report}");

        // SnelStart answers again: one kostenplaats per project, nothing failed.
        engine
            .run_until_idle(Duration::from_secs(30))
            .await
            .unwrap();
        let kpl = client(&server)
            .execute(ops::kostenplaatsen::list())
            .await
            .unwrap();
        for i in [1, 2] {
            let description = project(i).description;
            let n = kpl
                .iter()
                .filter(|k| k.omschrijving.as_deref() == Some(description.as_str()))
                .count();
            assert_eq!(n, 1, "{fault:?}: {n} kostenplaatsen for project {i}");
        }
        let status = engine.status().await.unwrap();
        assert_eq!(status.queue.failed, 0, "{fault:?}: {status}");
        assert_eq!(status.queue.pending, 0, "{fault:?}: {status}");
    }
}

/// Issue 12 (create-once): REL-0008 (the relatiecode is taken by somebody else's relation)
/// fails the record naming the number, and like every create it leaves an audit entry; the
/// relations copy of the protocol wrote none.
#[tokio::test]
async fn a_taken_relatiecode_fails_the_record_and_is_audited() {
    let s = setup_with(
        MockConfig::new(),
        config_from_crm_numbers(),
        vec![CrmChange::relation(customer(1))],
    )
    .await;
    // Somebody else's relation already has the CRM number (20001) as its relatiecode; its
    // name and KvK number share nothing with the CRM relation, so nothing matches it.
    let mut other = RelatieWrite::default();
    other.relatiesoort = Some(vec![Relatiesoort::Klant]);
    other.relatiecode = Some(20_001);
    other.naam = Some("Zeilmakerij Oostwold".into());
    client(&s.server)
        .execute(ops::relaties::create(&other).unwrap())
        .await
        .unwrap();

    s.engine.sync().await.unwrap();

    let status = s.engine.status().await.unwrap();
    let failure = status
        .failures
        .iter()
        .find(|f| f.crm_id == "crm-1")
        .unwrap_or_else(|| panic!("crm-1 failed: {status}"));
    let error = failure.error.as_ref().unwrap();
    assert_eq!(error.code.as_deref(), Some("REL-0008"), "{error:?}");
    assert!(error.message.contains("20001"), "{}", error.message);
    assert!(
        error.message.contains("Zeilmakerij Oostwold"),
        "{}",
        error.message
    );

    let audit = s
        .store
        .recent_audit(&AdminKey::new("test"), 100)
        .await
        .unwrap();
    let entry = audit
        .iter()
        .find(|e| e.kind == EntityKind::Relation && e.crm_id.as_deref() == Some("crm-1"))
        .unwrap_or_else(|| panic!("no audit entry for the refused create: {audit:?}"));
    assert_eq!(entry.action, "create");
    assert!(entry.request_summary.contains("20001"), "{entry:?}");
    assert!(!entry.outcome.is_ok(), "{entry:?}");
    assert_eq!(
        ours(&all_relaties(&s.server).await).len(),
        0,
        "no second relation with the number"
    );
}

/// Issue 12 (waiting is visible): when the call budget is spent the calls wait inside the
/// client, and nothing said so. `waiting()` (and `status().waiting`) now says the engine waits
/// for room in the budget and until when, while it waits.
#[tokio::test]
async fn a_spent_budget_is_a_visible_wait_with_its_end() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    // Two calls per (one-second) "minute": the sync of four relations must wait for room.
    let budget = snelstart_client::budget::BudgetConfig::custom(2, 0, 0)
        .with_windows(Duration::from_secs(1), Duration::from_secs(3_600));
    let engine: Engine = SyncEngine::with_options(
        client_with_budget(&server, budget),
        MemoryStore::new(),
        MemorySource::new((0..4).map(|i| CrmChange::relation(customer(i))).collect()),
        MemorySink::new(),
        AdminKey::new("test"),
        config_from_crm_numbers(),
        options(),
        sync_core::Clock::system(),
    );
    assert_eq!(engine.waiting(), None, "nothing to wait for before a run");
    engine.ingest().await.unwrap();
    let running = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run_until_idle(Duration::from_secs(60)).await }
    });
    let mut seen = None;
    for _ in 0..400 {
        if let Some(w) = engine.waiting()
            && w.reason == sync_core::WaitReason::Budget
        {
            seen = Some(w);
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let waiting = seen.expect("the engine said it waits for the call budget");
    let now = chrono::Utc::now();
    assert!(
        waiting.until > now - chrono::TimeDelta::milliseconds(50)
            && waiting.until <= now + chrono::TimeDelta::seconds(2),
        "until the window has room (within its second): {waiting}"
    );
    assert!(waiting.to_string().contains("call budget"), "{waiting}");
    running.await.unwrap().unwrap();
    assert_eq!(ours(&all_relaties(&server).await).len(), 4);
    assert_eq!(engine.waiting(), None, "nothing waits once idle");
}

/// Issue 12: the calls SnelStart still counts survive a restart. A second process (a new
/// client with a fresh budget) on the same store starts with the first one's calls counted,
/// instead of a full budget that would meet 429 answers.
#[tokio::test]
async fn spent_budget_survives_a_restart() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let budgeted = || {
        snelstart_client::Client::builder()
            .base_url(server.base_url())
            .auth_url(server.auth_url())
            .subscription_key(server.subscription_key())
            .koppelsleutel(server.client_key())
            .rate_budget(snelstart_client::budget::BudgetConfig::custom(
                500, 1_000, 0,
            ))
            .build()
            .unwrap()
    };
    let store = MemoryStore::new();
    let engine = |client| -> Engine {
        SyncEngine::with_options(
            client,
            store.clone(),
            MemorySource::default(),
            MemorySink::new(),
            AdminKey::new("test"),
            config_from_crm_numbers(),
            options(),
            sync_core::Clock::system(),
        )
    };
    let first_client = budgeted();
    let first = engine(first_client.clone());
    for i in 0..4 {
        first
            .submit(CrmChange::relation(customer(i)))
            .await
            .unwrap();
    }
    let report = first.process().await.unwrap();
    assert_eq!(report.total(Action::Created), 4);
    let spent = first_client.budget_usage().last_minute;
    assert!(spent >= 4, "at least one call per relation: {spent}");

    // "Restart": a new client and engine on the same store.
    let second_client = budgeted();
    assert_eq!(
        second_client.budget_usage().last_minute,
        0,
        "a fresh budget"
    );
    let second = engine(second_client.clone());
    second.process().await.unwrap();
    let usage = second_client.budget_usage();
    assert_eq!(
        usage.last_minute, spent,
        "the first process's calls count in the second's minute window"
    );
    assert_eq!(usage.last_hour, spent);
    assert_eq!(usage.total, 0, "the second process made no call of its own");
}

/// Issue 11: when the relation the CRM record matches is the list item that did not decode,
/// the engine does not create a twin: the record waits for review, naming the skipped id.
#[tokio::test]
async fn a_match_that_did_not_decode_is_reviewed_not_recreated() {
    let s = setup_with(MockConfig::new(), config_from_crm_numbers(), vec![]).await;
    let c = client(&s.server);
    let mut existing = RelatieWrite::default();
    existing.relatiesoort = Some(vec![Relatiesoort::Klant]);
    existing.relatiecode = Some(777);
    existing.naam = Some(company_name(7));
    existing.kvk_nummer = Some("30000007".into());
    let existing = c
        .execute(ops::relaties::create(&existing).unwrap())
        .await
        .unwrap();
    let pos = all_relaties(&s.server)
        .await
        .iter()
        .position(|r| r.id == existing.id)
        .unwrap();
    assert!(pos < 500, "on the first page");
    s.server.script_faults([
        ScriptedFault::new(FaultKind::MalformedListItem { index: pos }).on("GET", "/v2/relaties"),
    ]);
    s.source.push(CrmChange::relation(customer(7)));
    let report = s.engine.sync().await.unwrap();
    assert_eq!(
        report.count(EntityKind::Relation, Action::Created),
        0,
        "{report}"
    );
    assert_eq!(
        report.count(EntityKind::Relation, Action::Review),
        1,
        "{report}"
    );
    let status = s.engine.status().await.unwrap();
    assert_eq!(status.review[0].crm_id, "crm-7");
    assert!(
        status
            .skipped_items
            .iter()
            .any(|i| i.contains(&existing.id.to_string())),
        "{:?}",
        status.skipped_items
    );
    assert_eq!(
        all_relaties(&s.server)
            .await
            .iter()
            .filter(|r| r.kvk_nummer.as_deref() == Some("30000007"))
            .count(),
        1,
        "customer 7 not duplicated"
    );
}

/// A CRM sink that refuses every event while it is down (counting the refusals), and
/// otherwise hands them to a [`MemorySink`].
#[derive(Clone, Default)]
struct SwitchedSink {
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    refused: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    accepted: MemorySink,
}

impl SwitchedSink {
    fn check(&self) -> Result<(), sync_core::CrmError> {
        if self.up.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        self.refused
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Err(sync_core::CrmError::new("the CRM is down"))
    }
}

impl sync_core::CrmSink for SwitchedSink {
    async fn deliver(&self, event: SinkEvent) -> Result<(), sync_core::CrmError> {
        self.check()?;
        self.accepted.deliver(event).await
    }

    async fn deliver_keyed(
        &self,
        idempotency_key: &str,
        event: SinkEvent,
    ) -> Result<(), sync_core::CrmError> {
        self.check()?;
        self.accepted.deliver_keyed(idempotency_key, event).await
    }
}

/// Regression (issue 12): sink events were delivered once and dropped when the sink failed,
/// so the CRM could never learn a SnelStart id. They are now stored with the item's outcome
/// and delivered, with a stable idempotency key, until the sink accepts them: by a later run,
/// after a restart, and again when a deliverer died before recording the delivery.
#[tokio::test]
async fn sink_events_wait_in_the_outbox_until_the_crm_accepts_them() {
    let mut bad = customer(3);
    bad.legal_name = String::new();
    bad.trade_name = None;
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let store = MemoryStore::new();
    let sink = SwitchedSink::default();
    let engine_at = |clock: sync_core::Clock, sink: SwitchedSink| {
        SyncEngine::builder(client(&server), AdminKey::new("test"))
            .store(store.clone())
            .source(MemorySource::new(vec![
                CrmChange::relation(customer(1)),
                CrmChange::relation(bad.clone()),
                CrmChange::relation(customer(2)),
            ]))
            .sink(sink)
            .config(config_from_crm_numbers())
            .options(options())
            .clock(clock)
            .build()
    };
    let start = chrono::Utc::now();
    let first = engine_at(sync_core::Clock::starting_at(start), sink.clone());
    let report = first.sync().await.unwrap();
    assert_eq!(
        report.count(EntityKind::Relation, Action::Created),
        2,
        "{report}"
    );
    assert_eq!(
        report.count(EntityKind::Relation, Action::Failed),
        1,
        "{report}"
    );
    assert_eq!(
        sink.refused.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one refusal ends the delivery pass: a CRM that is down is not asked per event"
    );
    assert!(sink.accepted.events().is_empty());
    let status = first.status().await.unwrap();
    assert_eq!(status.outbox.waiting, 3, "two links and one failure wait");
    assert!(
        status
            .to_string()
            .contains("CRM sink: 3 event(s) not accepted yet")
    );
    drop(first);

    // A process an hour later takes the events for delivery and dies before recording it.
    let later = start + chrono::TimeDelta::hours(1);
    let dead = store
        .claim_outbox(&AdminKey::new("test"), later, 10, Duration::from_secs(60))
        .await
        .unwrap();
    let dead_keys: Vec<String> = dead.iter().map(|e| e.idempotency_key.clone()).collect();
    assert_eq!(dead_keys.len(), 3);

    // The next process, after that lease, delivers them: the same keys, in order.
    sink.up.store(true, std::sync::atomic::Ordering::SeqCst);
    let writes = server.stats().writes();
    let restarted = engine_at(
        sync_core::Clock::starting_at(later + chrono::TimeDelta::minutes(2)),
        sink.clone(),
    );
    restarted.process().await.unwrap();
    assert_eq!(sink.accepted.idempotency_keys(), dead_keys);
    let events = sink.accepted.events();
    let linked: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            SinkEvent::Linked {
                crm_id,
                created: true,
                ..
            } => Some(crm_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(linked, ["crm-1", "crm-2"]);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SinkEvent::Failed { crm_id, .. } if crm_id == "crm-3"))
    );
    assert_eq!(
        server.stats().writes(),
        writes,
        "delivering writes nothing to SnelStart"
    );
    assert_eq!(restarted.status().await.unwrap().outbox.waiting, 0);

    // Delivered means delivered: another run sends nothing again.
    restarted.process().await.unwrap();
    assert_eq!(sink.accepted.events().len(), 3);
}

/// An engine over `s`'s store and simulator with batches of `batch_size`.
fn engine_in_batches(s: &Setup, batch_size: usize) -> Engine {
    let mut o = options();
    o.batch_size = batch_size;
    SyncEngine::with_options(
        client(&s.server),
        s.store.clone(),
        s.source.clone(),
        s.sink.clone(),
        AdminKey::new("test"),
        config_from_crm_numbers(),
        o,
        sync_core::Clock::system(),
    )
}

/// The engine claims the next batch while one runs (and matches it once that one's items
/// have ended). A CRM record that duplicates one of the batch before must still meet the
/// relation that batch created: matching the next batch while the earlier one still ran
/// would create the company twice.
#[tokio::test]
async fn a_crm_duplicate_in_the_next_batch_meets_the_relation_created_before_it() {
    let s = setup_with(MockConfig::new(), config_from_crm_numbers(), vec![]).await;
    let engine = engine_in_batches(&s, 2);
    // Batches of two: [crm-0, crm-1], [crm-2, twin of crm-0], [crm-4, crm-5].
    let original = customer(0);
    let mut twin = Relation::new("crm-twin", RelationKind::Customer, company_name(0));
    twin.number = Some("20999".to_owned());
    twin.visit_address = original.visit_address.clone();
    twin.phone = original.phone.clone();
    twin.email = original.email.clone();
    twin.kvk_number = original.kvk_number;
    s.source.push(CrmChange::relation(original));
    s.source.push(CrmChange::relation(customer(1)));
    s.source.push(CrmChange::relation(customer(2)));
    s.source.push(CrmChange::relation(twin));
    s.source.push(CrmChange::relation(customer(4)));
    s.source.push(CrmChange::relation(customer(5)));
    let report = engine.sync().await.unwrap();
    let relaties = all_relaties(&s.server).await;
    assert_eq!(
        relaties
            .iter()
            .filter(|r| r.kvk_nummer.as_deref() == Some("30000000"))
            .count(),
        1,
        "one SnelStart relation for the company and its CRM twin: {report}"
    );
    assert_eq!(ours(&relaties).len(), 5, "{report}");
    assert_eq!(
        report.count(EntityKind::Relation, Action::Created),
        5,
        "{report}"
    );
}

/// A batch claimed ahead and not run goes back to the queue at once when SnelStart stops
/// answering: nothing stays in flight until its lease ends, and once SnelStart is back
/// every record is created exactly once.
#[tokio::test]
async fn a_batch_claimed_ahead_is_given_back_when_snelstart_goes_down() {
    let changes: Vec<CrmChange> = (0..30).map(|i| CrmChange::relation(customer(i))).collect();
    let s = setup_with(MockConfig::new(), config_from_crm_numbers(), changes).await;
    let engine = engine_in_batches(&s, 5);
    engine.ingest().await.unwrap();
    engine.ensure_bound().await.unwrap();
    // Ten calls go through, then SnelStart answers 503 to the next seventy.
    s.server
        .script_faults((11..=80).map(|n| ScriptedFault::new(FaultKind::Status(503)).nth(n)));
    let first = engine.process().await.unwrap();
    assert!(first.interrupted_by_outage, "{first}");
    let counts = s.store.counts(&AdminKey::new("test")).await.unwrap();
    assert_eq!(
        counts.in_flight, 0,
        "no claim outlives the run that made it: {counts:?}"
    );
    assert!(counts.pending > 0, "{counts:?}");
    let report = engine
        .run_until_idle(Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(ours(&all_relaties(&s.server).await).len(), 30, "{report}");
    let counts = s.store.counts(&AdminKey::new("test")).await.unwrap();
    assert_eq!((counts.done, counts.total()), (30, 30), "{counts:?}");
}

/// A run whose deadline has passed (a fleet's slice, `run_until_idle(0)`) runs one batch
/// and claims nothing ahead: every other item is as it was, never claimed.
#[tokio::test]
async fn a_slice_runs_one_batch_and_claims_nothing_ahead() {
    let changes: Vec<CrmChange> = (0..12).map(|i| CrmChange::relation(customer(i))).collect();
    let s = setup_with(MockConfig::new(), config_from_crm_numbers(), changes).await;
    let engine = engine_in_batches(&s, 4);
    engine.ingest().await.unwrap();
    let report = engine.run_until_idle(Duration::ZERO).await.unwrap();
    assert_eq!(
        report.count(EntityKind::Relation, Action::Created),
        4,
        "{report}"
    );
    let items = s
        .store
        .list_work(&AdminKey::new("test"), None, 100, 0)
        .await
        .unwrap();
    let (done, waiting): (Vec<_>, Vec<_>) = items
        .iter()
        .partition(|i| i.state == sync_core::store::WorkState::Done);
    assert_eq!(done.len(), 4);
    assert!(
        waiting
            .iter()
            .all(|i| i.state == sync_core::store::WorkState::Pending && i.attempts == 0),
        "never claimed: {:?}",
        waiting
            .iter()
            .map(|i| (i.id, i.state, i.attempts))
            .collect::<Vec<_>>()
    );
}

/// A sink whose first delivery takes `delay`; every later one is immediate.
#[derive(Clone)]
struct SlowFirstDelivery {
    delay: Duration,
    delivered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl sync_core::CrmSink for SlowFirstDelivery {
    async fn deliver(&self, _event: SinkEvent) -> Result<(), sync_core::CrmError> {
        if self
            .delivered
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            == 0
        {
            tokio::time::sleep(self.delay).await;
        }
        Ok(())
    }
}

/// A batch claimed ahead that waited half its lease (here behind a slow delivery of the batch
/// before it to the CRM) is given back and claimed afresh, so no item starts on a lease about
/// to end: its items carry a second claim, and every record is still created once.
#[tokio::test]
async fn a_batch_claimed_ahead_that_waited_half_its_lease_is_claimed_afresh() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let store = MemoryStore::new();
    let source = MemorySource::new((0..6).map(|i| CrmChange::relation(customer(i))).collect());
    let mut o = options();
    o.batch_size = 2;
    o.lease = Duration::from_millis(400);
    let sink = SlowFirstDelivery {
        // Past half the lease (200 ms), well inside the whole lease: a batch run on its first
        // claim would still hold valid leases, so only the half-lease rule claims it again.
        delay: Duration::from_millis(300),
        delivered: Default::default(),
    };
    let engine = SyncEngine::with_options(
        client(&server),
        store.clone(),
        source,
        sink,
        AdminKey::new("test"),
        config_from_crm_numbers(),
        o,
        sync_core::Clock::system(),
    );
    // Batches of two: [crm-0, crm-1] runs while [crm-2, crm-3] is claimed ahead; delivering
    // the first batch's events takes 300 ms.
    let report = engine.sync().await.unwrap();
    assert_eq!(
        report.count(EntityKind::Relation, Action::Created),
        6,
        "{report}"
    );
    assert_eq!(ours(&all_relaties(&server).await).len(), 6, "{report}");
    let items = store
        .list_work(&AdminKey::new("test"), None, 100, 0)
        .await
        .unwrap();
    let attempts = |crm_id: &str| {
        items
            .iter()
            .find(|i| i.crm_id == crm_id)
            .map(|i| (i.state, i.attempts))
    };
    let done = sync_core::store::WorkState::Done;
    assert_eq!(attempts("crm-0"), Some((done, 1)));
    assert_eq!(attempts("crm-1"), Some((done, 1)));
    assert_eq!(
        attempts("crm-2"),
        Some((done, 2)),
        "claimed ahead, given back after half its lease, claimed again"
    );
    assert_eq!(attempts("crm-3"), Some((done, 2)));
}
