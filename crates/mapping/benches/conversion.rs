//! Throughput of the pure conversions: how many invoices and relations per second become
//! SnelStart payloads (including every pre-flight check). Prints the figures criterion
//! measures; run with `cargo bench -p mapping --bench conversion`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_main};
use crm_model::{Contact, InvoiceLine, Money, Relation, RelationKind, SalesInvoice, VatCategory};
use mapping::config::{ChartOfAccounts, LedgerInfo, LineVatKind, MappingConfig};
use mapping::convert::{relation_to_relaties, sales_invoice_to_verkoopboeking};
use snelstart_client::{GrootboekId, LandId, RelatieId};
use uuid::Uuid;

fn chart() -> ChartOfAccounts {
    use LineVatKind::{Geen, Hoog, Laag};
    let ledgers = [
        (8000, vec![Hoog]),
        (8010, vec![Laag]),
        (8020, vec![Geen]),
        (8030, vec![Geen]),
        (8040, vec![Geen]),
        (8050, vec![Geen]),
        (8100, vec![Hoog]),
    ]
    .into_iter()
    .map(|(n, vat)| LedgerInfo::new(GrootboekId::from_uuid(Uuid::from_u128(n)), n as u32, &vat));
    ChartOfAccounts::new(ledgers, [])
}

fn invoices(n: usize) -> Vec<SalesInvoice> {
    (0..n)
        .map(|i| {
            let mut inv: SalesInvoice = serde_json::from_value(serde_json::json!({
                "id": format!("inv-{i}"), "number": format!("F{i:08}"), "date": "2024-05-01",
                "payment_term_days": 30, "relation": format!("crm-{}", i % 1000), "lines": []
            }))
            .unwrap_or_else(|e| panic!("fixture: {e}"));
            inv.lines = (0..8)
                .map(|l| {
                    let vat = if l % 3 == 0 {
                        VatCategory::Laag
                    } else {
                        VatCategory::Hoog
                    };
                    InvoiceLine::net(
                        format!("regel {l}"),
                        Money::from_cents(((i * 7919 + l * 104_729) % 500_000) as i64 + 1),
                        vat,
                    )
                })
                .collect();
            inv
        })
        .collect()
}

fn relations(n: usize) -> Vec<Relation> {
    (0..n)
        .map(|i| {
            let mut r = Relation::new(
                format!("crm-{i}"),
                RelationKind::Customer,
                format!("Klant {i} B.V."),
            );
            r.visit_address = Some(crm_model::Address::dutch(
                "Dorpsstraat",
                i.to_string(),
                "1234 AB",
                "Utrecht",
            ));
            r.contacts = (0..4)
                .map(|c| {
                    let mut contact = Contact::named(format!("Contact {c}"));
                    contact.role = Some(if c == 2 { "Finance" } else { "Sales" }.to_owned());
                    contact
                })
                .collect();
            r
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let config = MappingConfig::default_for_mock();
    let chart = chart();
    let klant = RelatieId::from_uuid(Uuid::from_u128(1));
    let context = mapping::booking::BookingContext::new(2024);
    let land = |_| Some(LandId::from_uuid(Uuid::from_u128(31)));

    let invs = invoices(1_000);
    let mut group = c.benchmark_group("conversion");
    group.throughput(Throughput::Elements(invs.len() as u64));
    group.bench_function("1000 invoices x 8 lines -> verkoopboeking", |b| {
        b.iter(|| {
            for inv in &invs {
                black_box(
                    sales_invoice_to_verkoopboeking(inv, &config, &chart, &context, klant).is_ok(),
                );
            }
        });
    });

    let rels = relations(1_000);
    group.throughput(Throughput::Elements(rels.len() as u64));
    group.bench_function("1000 relations x 4 contacts -> relatie", |b| {
        b.iter(|| {
            for r in &rels {
                black_box(relation_to_relaties(r, &config, land).is_ok());
            }
        });
    });
    group.finish();
}

mod group {
    // `criterion_group!` generates an undocumented public function; allow it only here.
    #![allow(missing_docs)]
    use criterion::criterion_group;
    criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
