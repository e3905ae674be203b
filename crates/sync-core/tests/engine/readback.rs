//! Read-back end to end against `snelstart-mock` over real HTTP: payment status per invoice,
//! balances per customer and supplier, purchases per project, exactly once across restarts.
//!
//! Bookings are created directly through the client (the read-back does not care who booked
//! them); payments through the mock's `register_payment` (sales) or a memoriaalboeking that
//! allocates to the purchase booking (purchases), as a bank import would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use crm_model::{Money, PaymentState};
use futures::TryStreamExt;
use rust_decimal::Decimal;
use snelstart_client::models::{
    BankKasInkoopboekingRegel, BankKasVerkoopboekingRegel, Bankboeking, BtwSoort, DagboekSoort,
    InkoopBtwSoort, Inkoopboeking, InkoopboekingBtwRegel, InkoopboekingRegel,
    InkoopboekingVerantwoordingsRegel, Kasboeking, Memoriaalboeking, MemoriaalboekingRegel,
    RelatieWrite, Relatiesoort, VerkoopBtwSoort, Verkoopboeking, VerkoopboekingBtwRegel,
    VerkoopboekingRegel, VerkoopboekingVerantwoordingsRegel,
};
use snelstart_client::odata::Query;
use snelstart_client::{Client, GrootboekId, InkoopboekingId, KostenplaatsId, RelatieId, ops};
use snelstart_mock::{MockConfig, MockServer};
use sync_core::crm::PaymentBookingKind;
use sync_core::store::{AdminKey, EntityKind, IdLink, LinkStore, MemoryStore};
use sync_core::{
    Clock, CrmError, CrmSink, EngineOptions, MemorySink, MemorySource, SinkEvent, SyncEngine,
};

use crate::support::client;

type Engine<Snk> = SyncEngine<MemoryStore, MemorySource, Snk>;

/// The mock's clock starts here (Dutch local time).
const MOCK_START: &str = "2025-03-01T09:00:00";

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap()
}

/// Noon UTC on `date`: the same calendar day in the Netherlands.
fn noon(date: &str) -> DateTime<Utc> {
    day(date).and_hms_opt(12, 0, 0).unwrap().and_utc()
}

fn money(cents: i64) -> Money {
    Money::from_cents(cents)
}

fn dec(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

fn engine<Snk: CrmSink>(
    server: &MockServer,
    store: &MemoryStore,
    sink: Snk,
    today: &str,
) -> Engine<Snk> {
    SyncEngine::with_options(
        client(server),
        store.clone(),
        MemorySource::default(),
        sink,
        AdminKey::new("test"),
        mapping::config::MappingConfig::default_for_mock(),
        EngineOptions::default(),
        Clock::starting_at(noon(today)),
    )
}

async fn start_mock() -> MockServer {
    MockServer::start(MockConfig::new().with_start_time(at(MOCK_START)))
        .await
        .unwrap()
}

async fn ledger(c: &Client, nummer: i32) -> GrootboekId {
    let all: Vec<_> = c
        .list(ops::grootboeken::list(Query::new()))
        .try_collect()
        .await
        .unwrap();
    all.into_iter()
        .find(|g| g.nummer == Some(nummer))
        .unwrap_or_else(|| panic!("ledger {nummer} is seeded"))
        .id
        .unwrap()
}

async fn kostenplaats(c: &Client, nummer: i32) -> KostenplaatsId {
    c.execute(ops::kostenplaatsen::list())
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.nummer == Some(nummer))
        .unwrap_or_else(|| panic!("kostenplaats {nummer} is seeded"))
        .id
        .unwrap()
}

async fn relation(c: &Client, code: i32, soort: Relatiesoort) -> RelatieId {
    let mut w = RelatieWrite::default();
    // Suppliers' invoices fall due after the relation's term (inkoopboekingen carry none).
    w.krediettermijn = Some(30);
    w.relatiesoort = Some(vec![soort]);
    w.relatiecode = Some(code);
    w.naam = Some(format!("Relatie {code}"));
    c.execute(ops::relaties::create(&w).unwrap())
        .await
        .unwrap()
        .id
}

/// A sales booking of `net` cents at 21 %, dated `date`, due `term` days later.
async fn sale(
    c: &Client,
    revenue: GrootboekId,
    klant: RelatieId,
    nummer: &str,
    date: &str,
    term: i32,
    net: i64,
) -> uuid::Uuid {
    let mut b = Verkoopboeking::new(nummer, klant, day(date).and_hms_opt(0, 0, 0).unwrap());
    b.betalingstermijn = Some(term);
    b.boekingsregels = Some(vec![VerkoopboekingRegel::new(
        "Diensten",
        revenue,
        dec(net),
        BtwSoort::Hoog,
    )]);
    b.btw = Some(vec![VerkoopboekingBtwRegel::new(
        VerkoopBtwSoort::VerkopenHoog,
        dec(net * 21 / 100),
    )]);
    b.set_factuurbedrag_from_lines();
    c.execute(ops::verkoopboekingen::create(&b).unwrap())
        .await
        .unwrap()
        .id
        .unwrap()
        .as_uuid()
}

fn status_events(events: &[SinkEvent]) -> HashMap<String, crm_model::PaymentStatus> {
    let mut out = HashMap::new();
    for e in events {
        if let SinkEvent::PaymentStatusChanged { crm_id, status, .. } = e {
            assert!(
                out.insert(crm_id.clone(), status.clone()).is_none(),
                "two status events for {crm_id} in one run: {events:#?}"
            );
        }
    }
    out
}

fn balance_events(events: &[SinkEvent]) -> Vec<(EntityKind, Option<String>, Money, Money)> {
    events
        .iter()
        .filter_map(|e| match e {
            SinkEvent::BalanceChanged {
                kind,
                crm_id,
                open,
                overdue,
                ..
            } => Some((*kind, crm_id.clone(), *open, *overdue)),
            _ => None,
        })
        .collect()
}

/// Customer A ("crm-a", linked) has F1 (paid), F2 (partly paid) and F3 (overdue); customer B
/// (not linked) has F4 (open, due 2025-03-11). F1 was booked by the engine (linked as
/// "crm-inv-1").
struct Sales {
    server: MockServer,
    store: MemoryStore,
    customer_b: RelatieId,
}

async fn sales_setup() -> Sales {
    let server = start_mock().await;
    let c = client(&server);
    let store = MemoryStore::new();
    let revenue = ledger(&c, 8000).await;
    let a = relation(&c, 501, Relatiesoort::Klant).await;
    let b = relation(&c, 502, Relatiesoort::Klant).await;
    let admin = AdminKey::new("test");
    store
        .upsert_link(IdLink::new(
            admin.clone(),
            EntityKind::Relation,
            "crm-a",
            a.as_uuid(),
            noon("2025-03-01"),
        ))
        .await
        .unwrap();
    let f1 = sale(&c, revenue, a, "F1", "2025-02-20", 30, 10_000).await;
    store
        .upsert_link(
            IdLink::new(
                admin.clone(),
                EntityKind::SalesInvoice,
                "crm-inv-1",
                f1,
                noon("2025-03-01"),
            )
            .with_natural_key("F1"),
        )
        .await
        .unwrap();
    sale(&c, revenue, a, "F2", "2025-02-20", 30, 20_000).await;
    sale(&c, revenue, a, "F3", "2025-01-01", 14, 5_000).await;
    sale(&c, revenue, b, "F4", "2025-02-25", 14, 10_000).await;
    server
        .register_payment(None, f1, dec(12_100), day("2025-02-28"))
        .unwrap();
    server
        .register_payment(None, "F2", dec(10_000), day("2025-02-28"))
        .unwrap();
    Sales {
        server,
        store,
        customer_b: b,
    }
}

#[tokio::test]
async fn sales_statuses_and_customer_balances_are_derived_with_amounts() {
    let s = sales_setup().await;
    let sink = MemorySink::new();
    let e = engine(&s.server, &s.store, sink.clone(), "2025-03-01");
    let report = e.read_back().await.unwrap();
    let events = sink.events();
    let statuses = status_events(&events);
    assert_eq!(statuses.len(), 4, "{events:#?}");

    // F1 was booked by the engine: reported under its CRM id.
    let f1 = &statuses["crm-inv-1"];
    assert_eq!(f1.state, PaymentState::Paid);
    assert_eq!(
        (f1.total, f1.paid, f1.outstanding),
        (money(12_100), money(12_100), money(0))
    );
    assert_eq!(f1.due_date, Some(day("2025-03-22")));

    let f2 = &statuses["F2"];
    assert_eq!(f2.state, PaymentState::PartlyPaid);
    assert_eq!(
        (f2.total, f2.paid, f2.outstanding),
        (money(24_200), money(10_000), money(14_200))
    );

    let f3 = &statuses["F3"];
    assert_eq!(f3.state, PaymentState::Overdue);
    assert_eq!(f3.outstanding, money(6_050));
    assert_eq!(f3.due_date, Some(day("2025-01-15")));

    let f4 = &statuses["F4"];
    assert_eq!(f4.state, PaymentState::Open);
    assert_eq!((f4.paid, f4.outstanding), (money(0), money(12_100)));
    assert_eq!(f4.as_of, day("2025-03-01"));

    let mut balances = balance_events(&events);
    balances.sort_by(|x, y| x.1.cmp(&y.1));
    assert_eq!(
        balances,
        vec![
            // B is not linked to a CRM relation: the event names only the SnelStart id.
            (EntityKind::SalesInvoice, None, money(12_100), money(0)),
            (
                EntityKind::SalesInvoice,
                Some("crm-a".to_owned()),
                money(14_200 + 6_050),
                money(6_050)
            ),
        ]
    );
    assert!(
        events.iter().any(|e| matches!(e,
        SinkEvent::BalanceChanged { snelstart_id, .. } if *snelstart_id == s.customer_b.as_uuid()))
    );

    assert_eq!(report.sales.invoices_seen, 4);
    assert_eq!(report.sales.payments_found, 2, "F1 and F2 had payments");
    assert_eq!(report.sales.became_overdue, 1);
    assert_eq!(report.sales.status_events, 4);
    assert_eq!(report.sales.balance_events, 2);
    assert_eq!(report.events_delivered(), events.len() as u64);
    assert!(report.sales.cursor.is_some());

    // The status report shows the read-back.
    let status = e.status().await.unwrap();
    let last = status.last_read_back.expect("a read-back ran");
    assert_eq!(last.payments_found, 2);
    assert_eq!(last.events_delivered, report.events_delivered());
    assert!(status.to_string().contains("2 payments found"), "{status}");
}

#[tokio::test]
async fn payment_events_are_delivered_exactly_once_across_restarts() {
    let s = sales_setup().await;
    let first = MemorySink::new();
    engine(&s.server, &s.store, first.clone(), "2025-03-01")
        .read_back()
        .await
        .unwrap();
    assert_eq!(status_events(&first.events()).len(), 4);

    // A second engine over the same store (a restart) re-reads the overlap window but delivers
    // nothing: every status was delivered already.
    let second = MemorySink::new();
    let restarted = engine(&s.server, &s.store, second.clone(), "2025-03-01");
    let report = restarted.read_back().await.unwrap();
    assert!(second.events().is_empty(), "{:#?}", second.events());
    assert_eq!(
        report.sales.invoices_seen, 4,
        "the overlap window re-reads the recent invoices"
    );
    assert_eq!(report.events_delivered(), 0);
    assert_eq!(report.payments_found(), 0);

    // A new payment: exactly one status event and one balance event.
    s.server
        .register_payment(None, "F4", dec(2_100), day("2025-03-01"))
        .unwrap();
    let report = restarted.read_back().await.unwrap();
    let events = second.events();
    let statuses = status_events(&events);
    assert_eq!(statuses.len(), 1, "{events:#?}");
    let f4 = &statuses["F4"];
    assert_eq!(f4.state, PaymentState::PartlyPaid);
    assert_eq!(f4.outstanding, money(10_000));
    assert_eq!(
        balance_events(&events),
        vec![(EntityKind::SalesInvoice, None, money(10_000), money(0))]
    );
    assert_eq!(report.sales.payments_found, 1);

    // And a third engine still has nothing new to say.
    let third = MemorySink::new();
    engine(&s.server, &s.store, third.clone(), "2025-03-01")
        .read_back()
        .await
        .unwrap();
    assert!(third.events().is_empty(), "{:#?}", third.events());
}

#[tokio::test]
async fn invoices_become_overdue_with_time_exactly_once() {
    let s = sales_setup().await;
    engine(&s.server, &s.store, MemorySink::new(), "2025-03-01")
        .read_back()
        .await
        .unwrap();

    // Two weeks later nothing changed in SnelStart, but F4 (due 2025-03-11) is now overdue.
    let later = MemorySink::new();
    let e = engine(&s.server, &s.store, later.clone(), "2025-03-15");
    let report = e.read_back().await.unwrap();
    let events = later.events();
    let statuses = status_events(&events);
    assert_eq!(statuses.len(), 1, "{events:#?}");
    let f4 = &statuses["F4"];
    assert_eq!(f4.state, PaymentState::Overdue);
    assert_eq!(f4.outstanding, money(12_100));
    assert_eq!(f4.as_of, day("2025-03-15"));
    assert_eq!(report.sales.became_overdue, 1);
    // Only F4 fell due in the window [2025-03-01, 2025-03-15) with an amount open.
    assert_eq!(report.sales.overdue_rechecked, 1);
    assert_eq!(
        balance_events(&events),
        vec![(EntityKind::SalesInvoice, None, money(12_100), money(12_100))]
    );

    // The next day: still overdue, nothing new.
    let next_day = MemorySink::new();
    engine(&s.server, &s.store, next_day.clone(), "2025-03-16")
        .read_back()
        .await
        .unwrap();
    assert!(next_day.events().is_empty(), "{:#?}", next_day.events());
}

#[tokio::test]
async fn overdue_is_found_by_the_due_date_recheck_even_when_the_feed_reads_nothing() {
    let s = sales_setup().await;
    let no_overlap = |sink: MemorySink, today: &str| {
        let mut options = EngineOptions::default();
        options.readback_overlap = Duration::ZERO;
        SyncEngine::with_options(
            client(&s.server),
            s.store.clone(),
            MemorySource::default(),
            sink,
            AdminKey::new("test"),
            mapping::config::MappingConfig::default_for_mock(),
            options,
            Clock::starting_at(noon(today)),
        )
    };
    no_overlap(MemorySink::new(), "2025-03-01")
        .read_back()
        .await
        .unwrap();
    let sink = MemorySink::new();
    let report = no_overlap(sink.clone(), "2025-03-15")
        .read_back()
        .await
        .unwrap();
    assert_eq!(
        report.sales.invoices_seen, 0,
        "nothing changed in SnelStart"
    );
    assert_eq!(report.sales.overdue_rechecked, 1);
    let statuses = status_events(&sink.events());
    assert_eq!(statuses.len(), 1, "{:#?}", sink.events());
    assert_eq!(statuses["F4"].state, PaymentState::Overdue);
    assert_eq!(report.sales.became_overdue, 1);
}

/// A sink that refuses payment-status events of one invoice while `refuse` is set.
#[derive(Clone, Default)]
struct PickySink {
    inner: MemorySink,
    refuse: Arc<Mutex<Option<String>>>,
}

impl CrmSink for PickySink {
    async fn deliver(&self, event: SinkEvent) -> Result<(), CrmError> {
        if let SinkEvent::PaymentStatusChanged { crm_id, .. } = &event
            && self.refuse.lock().unwrap().as_deref() == Some(crm_id.as_str())
        {
            return Err(CrmError::new(format!("CRM is busy with {crm_id}")));
        }
        self.inner.deliver(event).await
    }
}

#[tokio::test]
async fn a_refused_event_is_delivered_by_the_next_run_and_the_rest_only_once() {
    let s = sales_setup().await;
    let sink = PickySink::default();
    *sink.refuse.lock().unwrap() = Some("F2".to_owned());
    let e = engine(&s.server, &s.store, sink.clone(), "2025-03-01");
    let report = e.read_back().await.unwrap();
    assert_eq!(report.sales.refused, 1);
    assert_eq!(status_events(&sink.inner.events()).len(), 3);

    *sink.refuse.lock().unwrap() = None;
    let before = sink.inner.events().len();
    let report = e.read_back().await.unwrap();
    let new = &sink.inner.events()[before..];
    let statuses = status_events(new);
    assert_eq!(statuses.keys().collect::<Vec<_>>(), vec!["F2"], "{new:#?}");
    assert_eq!(statuses["F2"].state, PaymentState::PartlyPaid);
    assert_eq!(report.sales.refused, 0);
    assert!(e.read_back().await.unwrap().events_delivered() == 0);
}

async fn purchase(
    c: &Client,
    supplier: RelatieId,
    nummer: &str,
    date: &str,
    lines: &[(GrootboekId, Option<KostenplaatsId>, i64)],
) -> InkoopboekingId {
    let mut b = Inkoopboeking::new(nummer, supplier, day(date).and_hms_opt(0, 0, 0).unwrap());
    let mut regels = Vec::new();
    for (g, k, net) in lines {
        let mut r = InkoopboekingRegel::new("Materiaal", *g, dec(*net), BtwSoort::Hoog);
        r.kostenplaats = k.map(snelstart_client::Reference::new);
        regels.push(r);
    }
    let net: i64 = lines.iter().map(|l| l.2).sum();
    b.boekingsregels = Some(regels);
    b.btw = Some(vec![InkoopboekingBtwRegel::new(
        InkoopBtwSoort::InkopenHoog,
        dec(net * 21 / 100),
    )]);
    b.set_factuurbedrag_from_lines();
    c.execute(ops::inkoopboekingen::create(&b).unwrap())
        .await
        .unwrap()
        .id
        .unwrap()
}

/// Pays `cents` of a purchase booking from the bank, as a bank import would.
async fn pay_purchase(c: &Client, booking: InkoopboekingId, cents: i64) {
    let bank = ledger(c, 1100).await;
    let journal = c
        .execute(ops::dagboeken::list())
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.soort == Some(DagboekSoort::Memoriaal))
        .unwrap()
        .id;
    let mut m = Memoriaalboeking::new(at("2025-02-28T00:00:00"), journal);
    m.omschrijving = Some("Betaling leverancier".into());
    m.memoriaal_boekings_regels = Some(vec![MemoriaalboekingRegel::credit(
        "Bank",
        bank,
        dec(cents),
    )]);
    m.inkoopboeking_boekings_regels = Some(vec![InkoopboekingVerantwoordingsRegel::new(
        booking,
        "Betaling",
        dec(cents),
    )]);
    c.execute(ops::memoriaalboekingen::create(&m).unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn purchase_invoices_supplier_balances_and_purchases_per_project() {
    let server = start_mock().await;
    let c = client(&server);
    let store = MemoryStore::new();
    let admin = AdminKey::new("test");
    let project_costs = ledger(&c, 4400).await;
    let office = ledger(&c, 4300).await;
    let noord = kostenplaats(&c, 10).await;
    let zuid = kostenplaats(&c, 20).await;
    for (crm, k, nummer) in [("proj-noord", noord, "10"), ("proj-zuid", zuid, "20")] {
        store
            .upsert_link(
                IdLink::new(
                    admin.clone(),
                    EntityKind::CostCentre,
                    crm,
                    k.as_uuid(),
                    noon("2025-03-01"),
                )
                .with_natural_key(nummer),
            )
            .await
            .unwrap();
    }
    let supplier = relation(&c, 701, Relatiesoort::Leverancier).await;
    store
        .upsert_link(IdLink::new(
            admin.clone(),
            EntityKind::Relation,
            "crm-supplier",
            supplier.as_uuid(),
            noon("2025-03-01"),
        ))
        .await
        .unwrap();
    // P1: 1000 on Noordvleugel + 300 on Zuidas + 50 without project; paid in full.
    let p1 = purchase(
        &c,
        supplier,
        "P1",
        "2025-02-10",
        &[
            (project_costs, Some(noord), 100_000),
            (project_costs, Some(zuid), 30_000),
            (office, None, 5_000),
        ],
    )
    .await;
    pay_purchase(&c, p1, 163_350).await;
    // P2: a credit note of 100 on Noordvleugel, still open (due 2025-03-22).
    purchase(
        &c,
        supplier,
        "P2",
        "2025-02-20",
        &[(project_costs, Some(noord), -10_000)],
    )
    .await;
    // P3: 400 on Noordvleugel, due 2025-02-04, half paid.
    let p3 = purchase(
        &c,
        supplier,
        "P3",
        "2025-01-05",
        &[(project_costs, Some(noord), 40_000)],
    )
    .await;
    pay_purchase(&c, p3, 24_200).await;

    let sink = MemorySink::new();
    let e = engine(&server, &store, sink.clone(), "2025-03-01");
    // The figures on their own, without delivery.
    let figures = e.project_purchases().await.unwrap();
    let by_crm: HashMap<_, _> = figures
        .iter()
        .map(|p| (p.crm_id.as_str(), p.total))
        .collect();
    assert_eq!(by_crm["proj-noord"], money(100_000 - 10_000 + 40_000));
    assert_eq!(by_crm["proj-zuid"], money(30_000));
    assert!(sink.events().is_empty());

    let report = e.read_back().await.unwrap();
    let events = sink.events();
    let statuses: HashMap<_, _> = events
        .iter()
        .filter_map(|e| match e {
            SinkEvent::PaymentStatusChanged {
                kind,
                crm_id,
                status,
            } => {
                assert_eq!(*kind, EntityKind::PurchaseInvoice);
                Some((crm_id.as_str(), status.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(statuses.len(), 3, "{events:#?}");
    assert_eq!(statuses["P1"].state, PaymentState::Paid);
    assert_eq!(statuses["P1"].paid, money(163_350));
    assert_eq!(statuses["P2"].outstanding, money(-12_100));
    assert_eq!(statuses["P2"].state, PaymentState::Open);
    assert_eq!(statuses["P3"].state, PaymentState::Overdue);
    assert_eq!(statuses["P3"].outstanding, money(48_400 - 24_200));
    assert_eq!(report.purchases.payments_found, 2);
    assert_eq!(report.sales.invoices_seen, 0);

    assert_eq!(
        balance_events(&events),
        vec![(
            EntityKind::PurchaseInvoice,
            Some("crm-supplier".to_owned()),
            money(-12_100 + 24_200),
            money(24_200)
        )]
    );

    let mut projects: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            SinkEvent::ProjectPurchases {
                crm_id,
                total,
                snelstart_id,
            } => Some((crm_id.clone(), *snelstart_id, *total)),
            _ => None,
        })
        .collect();
    projects.sort();
    assert_eq!(
        projects,
        vec![
            ("proj-noord".to_owned(), noord.as_uuid(), money(130_000)),
            ("proj-zuid".to_owned(), zuid.as_uuid(), money(30_000)),
        ]
    );
    assert_eq!(report.project_events, 2);
    assert_eq!(report.projects, figures);

    // Nothing changed: nothing delivered. A new purchase on Zuidas: exactly one project event
    // plus the new invoice's status and the supplier's balance.
    let before = sink.events().len();
    assert_eq!(e.read_back().await.unwrap().events_delivered(), 0);
    purchase(
        &c,
        supplier,
        "P4",
        "2025-03-01",
        &[(project_costs, Some(zuid), 1_000)],
    )
    .await;
    let report = e.read_back().await.unwrap();
    let new = &sink.events()[before..];
    assert_eq!(report.project_events, 1, "{new:#?}");
    assert!(new.iter().any(|e| matches!(e,
        SinkEvent::ProjectPurchases { crm_id, total, .. } if crm_id == "proj-zuid" && *total == money(31_000))));
    assert_eq!(report.purchases.status_events, 1);
    assert_eq!(report.purchases.balance_events, 1);
}

#[tokio::test]
async fn the_status_report_counts_unfinished_work_per_kind() {
    let server = start_mock().await;
    let store = MemoryStore::new();
    let e = engine(&server, &store, MemorySink::new(), "2025-03-01");
    let status = e.status().await.unwrap();
    assert!(status.by_kind.is_empty());
    assert!(status.last_read_back.is_none());
    assert!(
        status.to_string().contains("last read-back: never"),
        "{status}"
    );

    // A relation without a name fails pre-flight; a second one stays queued.
    e.submit(sync_core::CrmChange::relation(crm_model::Relation::new(
        "nameless",
        crm_model::RelationKind::Customer,
        "",
    )))
    .await
    .unwrap();
    e.process().await.unwrap();
    e.submit(sync_core::CrmChange::relation(crm_model::Relation::new(
        "queued",
        crm_model::RelationKind::Customer,
        "Bakkerij De Korst B.V.",
    )))
    .await
    .unwrap();
    let status = e.status().await.unwrap();
    let relations = status.by_kind[&EntityKind::Relation];
    assert_eq!((relations.pending, relations.failed), (1, 1), "{status}");
    assert_eq!((relations.in_flight, relations.needs_review), (0, 0));
    assert!(
        status
            .to_string()
            .contains("relation: 1 queued, 0 in flight, 1 failed, 0 waiting for review"),
        "{status}"
    );

    e.read_back().await.unwrap();
    let status = e.status().await.unwrap();
    let last = status.last_read_back.expect("recorded");
    assert!(
        last.at >= noon("2025-03-01") && last.at < noon("2025-03-02"),
        "{last:?}"
    );
    assert_eq!(
        (
            last.invoices_seen,
            last.payments_found,
            last.events_delivered
        ),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn invoices_booked_by_the_engine_are_reported_under_their_crm_ids() {
    use crm_model::{
        Address, InvoiceLine, Project, PurchaseInvoice, Relation, RelationKind, SalesInvoice,
        VatCategory,
    };
    use sync_core::CrmChange;

    let relation = |id: &str, kind, name: &str| {
        let mut r = Relation::new(id, kind, name);
        r.visit_address = Some(Address::dutch("Kerkstraat", "1", "3511 AB", "Utrecht"));
        r
    };
    let mut sales = SalesInvoice::new(
        "inv-1",
        "2024-0001",
        day("2024-03-04"),
        "cust-1",
        vec![InvoiceLine::net("Werk", money(10_000), VatCategory::Hoog)],
    );
    sales.payment_term_days = Some(30);
    let mut project_line = InvoiceLine::net("Materiaal", money(50_000), VatCategory::Hoog);
    project_line.category = Some("projectkosten".into());
    project_line.project = Some("P501".into());
    let purchase = PurchaseInvoice::new(
        "pinv-1",
        "LEV-1",
        day("2024-03-05"),
        "supp-1",
        vec![project_line],
    );
    let source = MemorySource::new(vec![
        CrmChange::relation(relation("cust-1", RelationKind::Customer, "Klant 1 B.V.")),
        CrmChange::relation(relation(
            "supp-1",
            RelationKind::Supplier,
            "Leverancier 1 B.V.",
        )),
        CrmChange::project(Project::new("prj-1", "P501", "Project 1")),
        CrmChange::sales_invoice(sales),
        CrmChange::purchase_invoice(purchase),
    ]);
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let sink = MemorySink::new();
    let e = SyncEngine::with_options(
        client(&server),
        MemoryStore::new(),
        source,
        sink.clone(),
        AdminKey::new("test"),
        mapping::config::MappingConfig::default_for_mock(),
        EngineOptions::default(),
        Clock::starting_at(noon("2024-03-10")),
    );
    let run = e.sync().await.unwrap();
    assert_eq!(run.total(sync_core::Action::Failed), 0, "{run}");
    assert_eq!(
        run.count(EntityKind::SalesInvoice, sync_core::Action::Created),
        1,
        "{run}"
    );
    server
        .register_payment(None, "2024-0001", dec(5_000), day("2024-03-08"))
        .unwrap();

    let before = sink.events().len();
    let report = e.read_back().await.unwrap();
    let events = sink.events()[before..].to_vec();
    let statuses: HashMap<_, _> = events
        .iter()
        .filter_map(|e| match e {
            SinkEvent::PaymentStatusChanged {
                kind,
                crm_id,
                status,
            } => Some(((*kind, crm_id.as_str()), status.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(statuses.len(), 2, "{events:#?}");
    let sale = &statuses[&(EntityKind::SalesInvoice, "inv-1")];
    assert_eq!(sale.state, PaymentState::PartlyPaid);
    assert_eq!(sale.outstanding, money(12_100 - 5_000));
    assert_eq!(sale.invoice.as_str(), "inv-1");
    let bought = &statuses[&(EntityKind::PurchaseInvoice, "pinv-1")];
    assert_eq!(bought.outstanding, money(60_500));

    let mut balances = balance_events(&events);
    balances.sort_by(|x, y| x.1.cmp(&y.1));
    assert_eq!(balances.len(), 2, "{events:#?}");
    assert_eq!(
        balances[0],
        (
            EntityKind::SalesInvoice,
            Some("cust-1".to_owned()),
            money(7_100),
            money(0)
        )
    );
    assert_eq!(balances[1].0, EntityKind::PurchaseInvoice);
    assert_eq!(balances[1].1.as_deref(), Some("supp-1"));
    assert_eq!(balances[1].2, money(60_500));

    assert!(
        events.iter().any(|e| matches!(e,
            SinkEvent::ProjectPurchases { crm_id, total, .. }
                if crm_id == "prj-1" && *total == money(50_000))),
        "{events:#?}"
    );
    assert_eq!(report.payments_found(), 1);
}

/// More customers than the per-customer query limit: balances come from one paged read of all
/// open invoices instead.
#[tokio::test]
async fn balances_of_many_customers_come_from_one_scan_of_open_items() {
    let server = start_mock().await;
    let c = client(&server);
    let store = MemoryStore::new();
    let revenue = ledger(&c, 8000).await;
    let mut expected = HashMap::new();
    for i in 0..25 {
        let klant = relation(&c, 600 + i, Relatiesoort::Klant).await;
        let net = 1_000 * i64::from(i + 1);
        sale(&c, revenue, klant, &format!("M{i}"), "2025-02-20", 30, net).await;
        // Every third customer has an older invoice that is overdue.
        let mut overdue = 0;
        if i % 3 == 0 {
            sale(
                &c,
                revenue,
                klant,
                &format!("M{i}-old"),
                "2025-01-01",
                14,
                500,
            )
            .await;
            overdue = 605;
        }
        expected.insert(
            klant.as_uuid(),
            (money(net * 121 / 100 + overdue), money(overdue)),
        );
    }
    let sink = MemorySink::new();
    let calls_before = server.stats().total();
    let report = engine(&server, &store, sink.clone(), "2025-03-01")
        .read_back()
        .await
        .unwrap();
    let calls = server.stats().total() - calls_before;
    let mut seen = 0;
    for e in sink.events() {
        if let SinkEvent::BalanceChanged {
            snelstart_id,
            open,
            overdue,
            ..
        } = e
        {
            assert_eq!(expected[&snelstart_id], (open, overdue), "{snelstart_id}");
            seen += 1;
        }
    }
    assert_eq!(seen, 25);
    assert_eq!(report.sales.balance_events, 25);
    // Not one call per customer: feed, open-items scan, purchases feed, journals, $apply.
    assert!(calls < 15, "{calls} calls");
}

/// Figures, not a timing assertion: run with
/// `cargo test -p sync-core --release --test engine -- --ignored --nocapture readback::`.
/// What is asserted is the call count: paged reads only, no call per invoice or customer.
#[tokio::test]
#[ignore = "prints figures; slow in debug builds"]
async fn read_back_figures_for_two_thousand_invoices() {
    const INVOICES: usize = 2_000;
    const CUSTOMERS: usize = 200;
    let server = start_mock().await;
    let c = client(&server);
    let revenue = ledger(&c, 8000).await;
    let mut klanten = Vec::new();
    for i in 0..CUSTOMERS {
        klanten.push(relation(&c, 1_000 + i as i32, Relatiesoort::Klant).await);
    }
    let mut boekingen = Vec::new();
    for i in 0..INVOICES {
        let date = if i % 4 == 0 {
            "2025-01-02"
        } else {
            "2025-02-20"
        };
        boekingen.push(
            sale(
                &c,
                revenue,
                klanten[i % CUSTOMERS],
                &format!("B{i}"),
                date,
                14,
                10_000,
            )
            .await,
        );
    }
    for b in boekingen.iter().step_by(3) {
        server
            .register_payment(None, *b, dec(5_000), day("2025-02-28"))
            .unwrap();
    }
    let store = MemoryStore::new();
    let sink = MemorySink::new();
    let e = engine(&server, &store, sink.clone(), "2025-03-01");

    let calls = server.stats().total();
    let started = std::time::Instant::now();
    let first = e.read_back().await.unwrap();
    let first_time = started.elapsed();
    let first_calls = server.stats().total() - calls;

    let calls = server.stats().total();
    let started = std::time::Instant::now();
    let second = e.read_back().await.unwrap();
    let second_time = started.elapsed();
    let second_calls = server.stats().total() - calls;

    println!(
        "first read-back: {} invoices, {} events, {} payments found, {first_calls} API calls, {:.0} ms ({:.0} invoices/s)",
        first.invoices_seen(),
        first.events_delivered(),
        first.payments_found(),
        first_time.as_secs_f64() * 1e3,
        first.invoices_seen() as f64 / first_time.as_secs_f64()
    );
    println!(
        "second read-back (nothing changed, overlap re-read): {} invoices re-read, {} events, {second_calls} API calls, {:.0} ms",
        second.invoices_seen(),
        second.events_delivered(),
        second_time.as_secs_f64() * 1e3
    );
    assert_eq!(first.sales.status_events, INVOICES as u64);
    assert_eq!(first.sales.balance_events, CUSTOMERS as u64);
    assert_eq!(second.events_delivered(), 0);
    // The token, the sales feed (4 pages of 500 and an empty one), the open-items scan for
    // the balances (the same), the purchases feed, the journals and the `$apply`: 14; the
    // payments add the bank feed (667 bookings: 2 pages), the cash feed, the journals and the
    // memoriaal mutations: 5.
    assert!(first_calls <= 20, "{first_calls} calls");
}

// ---------------------------------------------------------------------------------------------
// Payments with their dates (issue 13): bank, cash and memoriaal bookings.
// ---------------------------------------------------------------------------------------------

/// A payment event in a flat form: (CRM id, reversed?, date, amount, booking kind, booking id).
type Paid = (
    String,
    bool,
    NaiveDate,
    Money,
    PaymentBookingKind,
    uuid::Uuid,
);

fn payment_events(events: &[SinkEvent]) -> Vec<Paid> {
    events
        .iter()
        .filter_map(|e| match e {
            SinkEvent::PaymentReceived {
                crm_id, payment, ..
            } => Some((crm_id.clone(), false, payment)),
            SinkEvent::PaymentReversed {
                crm_id, payment, ..
            } => Some((crm_id.clone(), true, payment)),
            _ => None,
        })
        .map(|(c, r, p)| (c, r, p.date, p.amount, p.booking_kind, p.booking_id))
        .collect()
}

/// (CRM id, paid, outstanding, paid_on, last_payment_on) of every `PaymentDates` event.
type Dates = (String, Money, Money, Option<NaiveDate>, Option<NaiveDate>);

fn date_events(events: &[SinkEvent]) -> Vec<Dates> {
    events
        .iter()
        .filter_map(|e| match e {
            SinkEvent::PaymentDates {
                crm_id,
                paid,
                outstanding,
                paid_on,
                last_payment_on,
                ..
            } => Some((
                crm_id.clone(),
                *paid,
                *outstanding,
                *paid_on,
                *last_payment_on,
            )),
            _ => None,
        })
        .collect()
}

async fn link_invoice(
    store: &MemoryStore,
    kind: EntityKind,
    crm: &str,
    booking: uuid::Uuid,
    natural_key: &str,
) {
    store
        .upsert_link(
            IdLink::new(
                AdminKey::new("test"),
                kind,
                crm,
                booking,
                noon("2025-03-01"),
            )
            .with_natural_key(natural_key),
        )
        .await
        .unwrap();
}

/// Runs a read-back on a fresh engine over `store` (a restart) and returns its events.
async fn restart_and_read(server: &MockServer, store: &MemoryStore) -> Vec<SinkEvent> {
    let sink = MemorySink::new();
    engine(server, store, sink.clone(), "2025-03-10")
        .read_back()
        .await
        .unwrap();
    sink.events()
}

async fn journal(c: &Client, soort: DagboekSoort) -> snelstart_client::DagboekId {
    c.execute(ops::dagboeken::list())
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.soort.as_ref() == Some(&soort))
        .unwrap()
        .id
}

#[tokio::test]
async fn partial_payments_over_several_dates_arrive_with_their_dates_exactly_once() {
    let server = start_mock().await;
    let c = client(&server);
    let store = MemoryStore::new();
    let revenue = ledger(&c, 8000).await;
    let klant = relation(&c, 601, Relatiesoort::Klant).await;
    let f = sale(&c, revenue, klant, "D-1", "2025-02-01", 30, 10_000).await;
    link_invoice(&store, EntityKind::SalesInvoice, "inv-d1", f, "D-1").await;
    let p1 = server
        .register_payment(None, "D-1", dec(2_100), day("2025-02-10"))
        .unwrap();
    let p2 = server
        .register_payment(None, "D-1", dec(5_000), day("2025-02-20"))
        .unwrap();

    let sink = MemorySink::new();
    let e = engine(&server, &store, sink.clone(), "2025-03-01");
    let report = e.read_back().await.unwrap();
    let events = sink.events();
    let b = PaymentBookingKind::Bank;
    assert_eq!(
        payment_events(&events),
        vec![
            (
                "inv-d1".into(),
                false,
                day("2025-02-10"),
                money(2_100),
                b,
                p1
            ),
            (
                "inv-d1".into(),
                false,
                day("2025-02-20"),
                money(5_000),
                b,
                p2
            ),
        ],
        "{events:#?}"
    );
    assert_eq!(
        date_events(&events),
        vec![(
            "inv-d1".into(),
            money(7_100),
            money(5_000),
            None,
            Some(day("2025-02-20"))
        )]
    );
    // The JSON form the README shows.
    let json = events
        .iter()
        .find(|e| matches!(e, SinkEvent::PaymentReceived { .. }))
        .map(|e| serde_json::to_value(e).unwrap())
        .unwrap();
    assert_eq!(json["event"], "payment_received");
    assert_eq!(json["kind"], "sales_invoice");
    assert_eq!(json["payment"]["date"], "2025-02-10");
    assert_eq!(json["payment"]["amount"], "21.00");
    assert_eq!(json["payment"]["booking_kind"], "bank");
    assert_eq!(json["payment"]["booking_id"], p1.to_string());
    let json = events
        .iter()
        .find(|e| matches!(e, SinkEvent::PaymentDates { .. }))
        .map(|e| serde_json::to_value(e).unwrap())
        .unwrap();
    assert_eq!(json["event"], "payment_dates");
    assert_eq!(json["paid"], "71.00");
    assert_eq!(json["paid_on"], serde_json::Value::Null);
    assert_eq!(json["last_payment_on"], "2025-02-20");
    assert_eq!(report.payments.received_events, 2);
    assert_eq!(report.payments.delivered.len(), 2);
    assert_eq!(report.events_delivered(), events.len() as u64);

    // The rest on a third date: the invoice is paid on that date.
    let p3 = server
        .register_payment(None, "D-1", dec(5_000), day("2025-03-05"))
        .unwrap();
    let before = sink.events().len();
    e.read_back().await.unwrap();
    let new = sink.events()[before..].to_vec();
    assert_eq!(
        payment_events(&new),
        vec![(
            "inv-d1".into(),
            false,
            day("2025-03-05"),
            money(5_000),
            b,
            p3
        )]
    );
    assert_eq!(
        date_events(&new),
        vec![(
            "inv-d1".into(),
            money(12_100),
            money(0),
            Some(day("2025-03-05")),
            Some(day("2025-03-05"))
        )]
    );

    // A restart (new engine, same store) delivers nothing again.
    let again = restart_and_read(&server, &store).await;
    assert!(payment_events(&again).is_empty(), "{again:#?}");
    assert!(date_events(&again).is_empty(), "{again:#?}");
}

#[tokio::test]
async fn memoriaal_payments_and_reversed_bank_payments_are_told_to_the_crm() {
    let server = start_mock().await;
    let c = client(&server);
    let store = MemoryStore::new();
    let revenue = ledger(&c, 8000).await;
    let bank_ledger = ledger(&c, 1100).await;
    let klant = relation(&c, 602, Relatiesoort::Klant).await;
    let f = sale(&c, revenue, klant, "M-1", "2025-02-01", 30, 10_000).await;
    link_invoice(&store, EntityKind::SalesInvoice, "inv-m1", f, "M-1").await;

    // A memoriaal booking that allocates 60.50 (dated 15 February).
    let mut m = Memoriaalboeking::new(
        at("2025-02-15T00:00:00"),
        journal(&c, DagboekSoort::Memoriaal).await,
    );
    m.memoriaal_boekings_regels = Some(vec![MemoriaalboekingRegel::debet(
        "Bank",
        bank_ledger,
        dec(6_050),
    )]);
    m.verkoopboeking_boekings_regels = Some(vec![VerkoopboekingVerantwoordingsRegel::new(
        f.into(),
        "Betaling",
        dec(6_050),
    )]);
    let memo = c
        .execute(ops::memoriaalboekingen::create(&m).unwrap())
        .await
        .unwrap()
        .id
        .unwrap();
    // And a bank payment of 20.00 (dated 20 February).
    let bank = server
        .register_payment(None, "M-1", dec(2_000), day("2025-02-20"))
        .unwrap();

    let sink = MemorySink::new();
    let e = engine(&server, &store, sink.clone(), "2025-03-01");
    e.read_back().await.unwrap();
    let events = sink.events();
    let paid = payment_events(&events);
    assert_eq!(paid.len(), 2, "{events:#?}");
    assert!(paid.contains(&(
        "inv-m1".into(),
        false,
        day("2025-02-20"),
        money(2_000),
        PaymentBookingKind::Bank,
        bank
    )));
    let memo_payment = paid
        .iter()
        .find(|p| p.4 == PaymentBookingKind::Memoriaal)
        .expect("the memoriaal payment")
        .clone();
    assert_eq!(
        (memo_payment.2, memo_payment.3),
        (day("2025-02-15"), money(6_050))
    );

    // The bank booking is deleted in SnelStart: a correction, and the dates follow.
    c.execute(ops::bankboekingen::delete(bank.into()))
        .await
        .unwrap();
    let before = sink.events().len();
    let report = e.read_back().await.unwrap();
    let new = sink.events()[before..].to_vec();
    assert_eq!(
        payment_events(&new),
        vec![(
            "inv-m1".into(),
            true,
            day("2025-02-20"),
            money(2_000),
            PaymentBookingKind::Bank,
            bank
        )],
        "{new:#?}"
    );
    assert_eq!(report.payments.reversed_events, 1);
    assert_eq!(
        date_events(&new),
        vec![(
            "inv-m1".into(),
            money(6_050),
            money(6_050),
            None,
            Some(day("2025-02-15"))
        )]
    );

    // The memoriaal booking is deleted too: its payment is reversed.
    c.execute(ops::memoriaalboekingen::delete(memo))
        .await
        .unwrap();
    let before = sink.events().len();
    e.read_back().await.unwrap();
    let new = sink.events()[before..].to_vec();
    let mut reversed = memo_payment.clone();
    reversed.1 = true;
    assert_eq!(payment_events(&new), vec![reversed], "{new:#?}");

    let again = restart_and_read(&server, &store).await;
    assert!(payment_events(&again).is_empty(), "{again:#?}");
    assert!(date_events(&again).is_empty(), "{again:#?}");
}

#[tokio::test]
async fn a_changed_bank_booking_is_a_correction_and_a_new_payment() {
    let server = start_mock().await;
    let c = client(&server);
    let store = MemoryStore::new();
    let revenue = ledger(&c, 8000).await;
    let klant = relation(&c, 603, Relatiesoort::Klant).await;
    let f = sale(&c, revenue, klant, "W-1", "2025-02-01", 30, 10_000).await;
    link_invoice(&store, EntityKind::SalesInvoice, "inv-w1", f, "W-1").await;
    let id = server
        .register_payment(None, "W-1", dec(2_100), day("2025-02-10"))
        .unwrap();
    let sink = MemorySink::new();
    let e = engine(&server, &store, sink.clone(), "2025-03-01");
    e.read_back().await.unwrap();

    // The accountant corrects the amount and the date of the bank booking.
    let mut b = c.execute(ops::bankboekingen::get(id.into())).await.unwrap();
    b.datum = Some(at("2025-02-11T00:00:00"));
    b.bedrag_ontvangen = Some(dec(12_100));
    b.verkoopboeking_boekings_regels = Some(vec![BankKasVerkoopboekingRegel::payment(
        f.into(),
        "Betaling",
        dec(12_100),
    )]);
    c.execute(ops::bankboekingen::update(id.into(), &b).unwrap())
        .await
        .unwrap();
    let before = sink.events().len();
    e.read_back().await.unwrap();
    let new = sink.events()[before..].to_vec();
    let k = PaymentBookingKind::Bank;
    assert_eq!(
        payment_events(&new),
        vec![
            (
                "inv-w1".into(),
                true,
                day("2025-02-10"),
                money(2_100),
                k,
                id
            ),
            (
                "inv-w1".into(),
                false,
                day("2025-02-11"),
                money(12_100),
                k,
                id
            ),
        ],
        "{new:#?}"
    );
    assert_eq!(
        date_events(&new),
        vec![(
            "inv-w1".into(),
            money(12_100),
            money(0),
            Some(day("2025-02-11")),
            Some(day("2025-02-11"))
        )]
    );
    assert!(payment_events(&restart_and_read(&server, &store).await).is_empty());
}

#[tokio::test]
async fn a_credit_note_settling_an_invoice_pays_both() {
    let server = start_mock().await;
    let c = client(&server);
    let store = MemoryStore::new();
    let revenue = ledger(&c, 8000).await;
    let klant = relation(&c, 604, Relatiesoort::Klant).await;
    let f = sale(&c, revenue, klant, "K-1", "2025-02-01", 30, 10_000).await;
    let cn = sale(&c, revenue, klant, "K-1-CN", "2025-02-05", 30, -10_000).await;
    link_invoice(&store, EntityKind::SalesInvoice, "inv-k1", f, "K-1").await;
    link_invoice(&store, EntityKind::SalesInvoice, "cn-k1", cn, "K-1-CN").await;
    // Settled against each other on the bank journal without money moving.
    let mut b = Bankboeking::new(
        at("2025-02-06T00:00:00"),
        journal(&c, DagboekSoort::Bank).await,
    );
    let mut credit_line = BankKasVerkoopboekingRegel::payment(cn.into(), "Creditnota", dec(0));
    credit_line.debet = Some(dec(12_100));
    b.verkoopboeking_boekings_regels = Some(vec![
        BankKasVerkoopboekingRegel::payment(f.into(), "Verrekend", dec(12_100)),
        credit_line,
    ]);
    assert!(b.is_balanced());
    let settled = c
        .execute(ops::bankboekingen::create(&b).unwrap())
        .await
        .unwrap()
        .id
        .unwrap()
        .as_uuid();

    let sink = MemorySink::new();
    engine(&server, &store, sink.clone(), "2025-03-01")
        .read_back()
        .await
        .unwrap();
    let events = sink.events();
    let k = PaymentBookingKind::Bank;
    let mut paid = payment_events(&events);
    paid.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        paid,
        vec![
            (
                "cn-k1".into(),
                false,
                day("2025-02-06"),
                money(-12_100),
                k,
                settled
            ),
            (
                "inv-k1".into(),
                false,
                day("2025-02-06"),
                money(12_100),
                k,
                settled
            ),
        ],
        "{events:#?}"
    );
    let mut dates = date_events(&events);
    dates.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        dates[0].3,
        Some(day("2025-02-06")),
        "the credit note is settled"
    );
    assert_eq!(dates[1].3, Some(day("2025-02-06")), "the invoice is paid");
    assert!(payment_events(&restart_and_read(&server, &store).await).is_empty());
}

#[tokio::test]
async fn a_purchase_invoice_paid_by_bank_and_cash() {
    let server = start_mock().await;
    let c = client(&server);
    let store = MemoryStore::new();
    let costs = ledger(&c, 4100).await;
    let supplier = relation(&c, 605, Relatiesoort::Leverancier).await;
    let p = purchase(&c, supplier, "IN-1", "2025-02-01", &[(costs, None, 10_000)]).await;
    link_invoice(
        &store,
        EntityKind::PurchaseInvoice,
        "bill-1",
        p.as_uuid(),
        &format!("{}:IN-1", supplier.as_uuid()),
    )
    .await;
    let bank = server
        .register_payment(None, "IN-1", dec(10_000), day("2025-02-12"))
        .unwrap();
    let mut kas = Kasboeking::new(
        at("2025-02-14T00:00:00"),
        journal(&c, DagboekSoort::Kas).await,
    );
    kas.bedrag_uitgegeven = Some(dec(2_100));
    kas.inkoopboeking_boekings_regels = Some(vec![BankKasInkoopboekingRegel::payment(
        p,
        "Contant",
        dec(2_100),
    )]);
    let kas_id = c
        .execute(ops::kasboekingen::create(&kas).unwrap())
        .await
        .unwrap()
        .id
        .unwrap()
        .as_uuid();

    let sink = MemorySink::new();
    engine(&server, &store, sink.clone(), "2025-03-01")
        .read_back()
        .await
        .unwrap();
    let events = sink.events();
    assert_eq!(
        payment_events(&events),
        vec![
            (
                "bill-1".into(),
                false,
                day("2025-02-12"),
                money(10_000),
                PaymentBookingKind::Bank,
                bank
            ),
            (
                "bill-1".into(),
                false,
                day("2025-02-14"),
                money(2_100),
                PaymentBookingKind::Kas,
                kas_id
            ),
        ],
        "{events:#?}"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        SinkEvent::PaymentReceived {
            kind: EntityKind::PurchaseInvoice,
            ..
        }
    )));
    assert_eq!(
        date_events(&events),
        vec![(
            "bill-1".into(),
            money(12_100),
            money(0),
            Some(day("2025-02-14")),
            Some(day("2025-02-14"))
        )]
    );
    assert!(payment_events(&restart_and_read(&server, &store).await).is_empty());
}

/// A journal item that does not decode is skipped and reported by the client; the memoriaal
/// feed must not run without it (its payments would be lost for good once the cursor moves
/// on), so the read-back fails naming it, and the next run delivers the payment.
#[tokio::test]
async fn a_journal_that_does_not_decode_stops_the_memoriaal_feed_instead_of_losing_its_payments() {
    let server = start_mock().await;
    let c = client(&server);
    let store = MemoryStore::new();
    let revenue = ledger(&c, 8000).await;
    let bank_ledger = ledger(&c, 1100).await;
    let klant = relation(&c, 603, Relatiesoort::Klant).await;
    let f = sale(&c, revenue, klant, "M-2", "2025-02-01", 30, 10_000).await;
    link_invoice(&store, EntityKind::SalesInvoice, "inv-m2", f, "M-2").await;
    let memoriaal = journal(&c, DagboekSoort::Memoriaal).await;
    let mut m = Memoriaalboeking::new(at("2025-02-15T00:00:00"), memoriaal);
    m.memoriaal_boekings_regels = Some(vec![MemoriaalboekingRegel::debet(
        "Bank",
        bank_ledger,
        dec(6_050),
    )]);
    m.verkoopboeking_boekings_regels = Some(vec![VerkoopboekingVerantwoordingsRegel::new(
        f.into(),
        "Betaling",
        dec(6_050),
    )]);
    c.execute(ops::memoriaalboekingen::create(&m).unwrap())
        .await
        .unwrap();
    let journals = c.execute(ops::dagboeken::list()).await.unwrap();
    let pos = journals.iter().position(|d| d.id == memoriaal).unwrap();
    server.script_faults([snelstart_mock::ScriptedFault::new(
        snelstart_mock::FaultKind::MalformedListItem { index: pos },
    )
    .on("GET", "/v2/dagboeken")]);

    let sink = MemorySink::new();
    let e = engine(&server, &store, sink.clone(), "2025-03-01");
    let err = e.read_back().await.unwrap_err().to_string();
    assert!(
        err.contains("dagboeken") && err.contains("did not decode"),
        "{err}"
    );
    assert!(
        !payment_events(&sink.events())
            .iter()
            .any(|p| p.4 == PaymentBookingKind::Memoriaal),
        "{:#?}",
        sink.events()
    );

    e.read_back().await.unwrap();
    let paid = payment_events(&sink.events());
    let memo = paid
        .iter()
        .find(|p| p.4 == PaymentBookingKind::Memoriaal)
        .expect("the memoriaal payment, on the next run");
    assert_eq!((memo.2, memo.3), (day("2025-02-15"), money(6_050)));
}
