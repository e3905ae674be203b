//! The simulator's responses decode with the `snelstart-client` models (every call below goes
//! through the typed client, which fails with a decode error naming the JSON path when a
//! response does not fit), and its state survives a restart through a state file.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use snelstart_client::budget::BudgetConfig;
use snelstart_client::models::{
    BtwSoort, DocumentContent, DocumentType, Kostenplaats, RelatieWrite, Relatiesoort,
    VerkoopBtwSoort, Verkoopboeking, VerkoopboekingBtwRegel, VerkoopboekingRegel,
};
use snelstart_client::odata::{Filter, Property, Query};
use snelstart_client::ops::grootboekmutaties::{Aggregate, Apply};
use snelstart_client::{Client, ops};
use snelstart_mock::{MockConfig, MockServer};

fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .auth_url(server.auth_url())
        .subscription_key(server.subscription_key())
        .koppelsleutel(server.client_key())
        .rate_budget(BudgetConfig::unlimited())
        .build()
        .unwrap()
}

fn midnight(y: i32, m: u32, d: u32) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

#[tokio::test]
async fn every_response_decodes_with_the_client_models() {
    let server = MockServer::start(MockConfig::new().with_seed_relations(12))
        .await
        .unwrap();
    let c = client(&server);

    // Reference data.
    assert_eq!(
        c.execute(ops::echo::get("ping")).await.unwrap().as_deref(),
        Some("ping")
    );
    let company = c.execute(ops::company_info::get()).await.unwrap();
    assert!(company.administratie_naam.is_some());
    let landen = c.execute(ops::landen::list()).await.unwrap();
    assert!(
        landen
            .iter()
            .any(|l| l.landcode_iso.as_deref() == Some("NL"))
    );
    assert!(!c.execute(ops::dagboeken::list()).await.unwrap().is_empty());
    let tarieven = c.execute(ops::btwtarieven::list()).await.unwrap();
    assert!(tarieven.iter().any(|t| t.btw_soort == BtwSoort::Hoog));
    let grootboeken = c
        .list_all(ops::grootboeken::list(Query::new()))
        .await
        .unwrap();
    let omzet_hoog = grootboeken.iter().find(|g| g.nummer == Some(8000)).unwrap();
    assert!(omzet_hoog.btw_soort.contains(&BtwSoort::Hoog));
    let kostenplaatsen = c.execute(ops::kostenplaatsen::list()).await.unwrap();
    assert!(!kostenplaatsen.is_empty());

    // Relations: the seeded ones, a created one, a filtered list.
    let seeded = c.list_all(ops::relaties::list(Query::new())).await.unwrap();
    assert!(seeded.len() >= 12);
    for r in &seeded {
        c.execute(ops::relaties::get(r.id)).await.unwrap();
    }
    let mut w = RelatieWrite::new(Relatiesoort::Klant, "Decodeer Test B.V.");
    w.relatiecode = Some(98_765);
    let created = c.execute(ops::relaties::create(&w).unwrap()).await.unwrap();
    let filtered =
        c.list_all(ops::relaties::list(
            Query::new().filter(Filter::eq(Property::new("Relatiecode").unwrap(), 98_765)),
        ))
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0].id, created.id);

    // A cost centre and a booking on it, its invoice, an attachment and a payment.
    let kpl = c
        .execute(ops::kostenplaatsen::create(&Kostenplaats::new(4242, "Decodeerproject")).unwrap())
        .await
        .unwrap();
    let ledger = omzet_hoog.id.unwrap();
    let mut boeking = Verkoopboeking::new("DEC-0001", created.id, midnight(2024, 3, 1));
    let mut regel =
        VerkoopboekingRegel::new("Werk", ledger, Decimal::new(10_000, 2), BtwSoort::Hoog);
    regel.kostenplaats = kpl.id.map(snelstart_client::Reference::new);
    boeking.boekingsregels = Some(vec![regel]);
    boeking.btw = Some(vec![VerkoopboekingBtwRegel::new(
        VerkoopBtwSoort::VerkopenHoog,
        Decimal::new(2_100, 2),
    )]);
    boeking.factuurbedrag = Some(Decimal::new(12_100, 2));
    boeking.betalingstermijn = Some(14);
    let booked = c
        .execute(ops::verkoopboekingen::create(&boeking).unwrap())
        .await
        .unwrap();
    let booking_id = booked.id.unwrap();
    c.execute(ops::verkoopboekingen::get(booking_id))
        .await
        .unwrap();
    let facturen = c
        .list_all(ops::verkoopfacturen::list(Query::new()))
        .await
        .unwrap();
    let factuur = facturen
        .iter()
        .find(|f| f.factuurnummer == "DEC-0001")
        .unwrap();
    assert_eq!(factuur.openstaand_saldo, Some(Decimal::new(12_100, 2)));
    c.execute(ops::verkoopfacturen::get(factuur.id))
        .await
        .unwrap();

    let doc = DocumentContent::new(booking_id, "factuur.pdf", b"%PDF-1.4 test");
    let uploaded = c
        .execute(ops::documenten::upload(&DocumentType::Verkoopboekingen, &doc).unwrap())
        .await
        .unwrap();
    let listed = c
        .execute(ops::documenten::list(
            &DocumentType::Verkoopboekingen,
            booking_id,
        ))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let fetched = c.execute(ops::documenten::get(uploaded.id)).await.unwrap();
    assert_eq!(fetched.decode_content().unwrap(), b"%PDF-1.4 test");

    server
        .register_payment(
            None,
            "DEC-0001",
            Decimal::new(2_100, 2),
            NaiveDate::from_ymd_opt(2024, 3, 5).unwrap(),
        )
        .unwrap();
    let after = c
        .execute(ops::verkoopfacturen::get(factuur.id))
        .await
        .unwrap();
    assert_eq!(after.openstaand_saldo, Some(Decimal::new(10_000, 2)));

    // Ledger mutations, listed and aggregated per cost centre.
    let mutaties = c
        .list_all(ops::grootboekmutaties::list(Query::new()))
        .await
        .unwrap();
    assert!(!mutaties.is_empty());
    let apply = Apply::group_by([Property::new("Kostenplaats").unwrap()])
        .aggregate(Aggregate::sum_of_saldo(Property::new("Totaal").unwrap()));
    let rows = c
        .execute(ops::grootboekmutaties::aggregate(None, &apply).unwrap())
        .await
        .unwrap();
    assert!(!rows.is_empty());
}

#[tokio::test]
async fn state_survives_a_restart_through_the_state_file() {
    let dir = std::env::temp_dir().join(format!("snelstart-mock-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    let _ = std::fs::remove_file(&file);

    let first = MockServer::start(MockConfig::new().with_state_file(&file))
        .await
        .unwrap();
    let c = client(&first);
    let mut w = RelatieWrite::new(Relatiesoort::Klant, "Blijvend B.V.");
    w.relatiecode = Some(5_555);
    let created = c.execute(ops::relaties::create(&w).unwrap()).await.unwrap();
    let kpl = Kostenplaats::new(4_711, "Blijvend project");
    c.execute(ops::kostenplaatsen::create(&kpl).unwrap())
        .await
        .unwrap();
    first.shutdown().await;
    assert!(file.exists());

    let second = MockServer::start(MockConfig::new().with_state_file(&file))
        .await
        .unwrap();
    let c = client(&second);
    let again = c.execute(ops::relaties::get(created.id)).await.unwrap();
    assert_eq!(again.naam.as_deref(), Some("Blijvend B.V."));
    // The uniqueness index came back too.
    let dup = c
        .execute(ops::relaties::create(&w).unwrap())
        .await
        .unwrap_err();
    assert_eq!(dup.error_codes()[0].as_str(), "REL-0008");
    let dup = c
        .execute(ops::kostenplaatsen::create(&kpl).unwrap())
        .await
        .unwrap_err();
    assert_eq!(dup.error_codes()[0].as_str(), "KPL-0008");
    // Stamps keep increasing across the restart.
    let mut other = RelatieWrite::new(Relatiesoort::Leverancier, "Later B.V.");
    other.relatiecode = Some(5_556);
    let later = c
        .execute(ops::relaties::create(&other).unwrap())
        .await
        .unwrap();
    assert!(later.modified_on > again.modified_on);
    second.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
