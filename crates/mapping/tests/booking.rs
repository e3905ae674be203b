//! Invoices → booking plans and SnelStart bookings: VAT per kind, the factuurbedrag identity,
//! credit notes, reverse charge, and every pre-flight problem at once.

mod common;

use chrono::NaiveDate;
use crm_model::{
    Attachment, InvoiceKind, InvoiceLine, Money, PurchaseInvoice, SalesInvoice, VatCategory,
};
use mapping::booking::{BookingContext, plan_purchase_invoice, plan_sales_invoice};
use mapping::config::{MappingConfig, VatLineKind};
use mapping::convert::sales_invoice_to_verkoopboeking;
use mapping::preflight::ProblemKind;
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use snelstart_client::RelatieId;

/// An administration in financial year 2024: bookings from 2019 on are accepted.
fn ctx() -> BookingContext {
    BookingContext::new(2024)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn invoice(lines: Vec<InvoiceLine>) -> SalesInvoice {
    serde_json::from_value(serde_json::json!({
        "id": "inv-1", "number": "F2024-001", "date": "2024-05-01", "relation": "crm-1",
        "lines": [],
    }))
    .map(|mut inv: SalesInvoice| {
        inv.lines = lines;
        inv
    })
    .unwrap()
}

fn line(net: Decimal, vat: VatCategory) -> InvoiceLine {
    InvoiceLine::net("regel", Money::try_from_decimal(net).unwrap(), vat)
}

#[test]
fn vat_is_summed_per_kind_and_rounded_once() {
    // 9 % of 0.50 is 0.045: rounded per line that is 0.05 three times (0.15); summed first it
    // is 0.135, rounded once 0.14. We book 0.14.
    let inv = invoice(vec![
        line(dec!(0.50), VatCategory::Laag),
        line(dec!(0.50), VatCategory::Laag),
        line(dec!(0.50), VatCategory::Laag),
        line(dec!(100.00), VatCategory::Hoog),
    ]);
    let plan = plan_sales_invoice(&inv, &MappingConfig::default_for_mock(), None, &ctx()).unwrap();
    let vat: Vec<(VatLineKind, String)> = plan
        .vat_lines
        .iter()
        .map(|v| (v.kind, v.amount.to_string()))
        .collect();
    assert_eq!(
        vat,
        vec![
            (VatLineKind::Hoog, "21.00".into()),
            (VatLineKind::Laag, "0.14".into())
        ]
    );
    assert_eq!(plan.total.to_string(), "122.64");
}

#[test]
fn half_cents_round_away_from_zero() {
    // 21 % of 0.50 = 0.105 -> 0.11; on a credit note -0.105 -> -0.11.
    let mut inv = invoice(vec![line(dec!(0.50), VatCategory::Hoog)]);
    let plan = plan_sales_invoice(&inv, &MappingConfig::default_for_mock(), None, &ctx()).unwrap();
    assert_eq!(plan.vat_lines[0].amount.to_string(), "0.11");
    inv.kind = InvoiceKind::CreditNote;
    let plan = plan_sales_invoice(&inv, &MappingConfig::default_for_mock(), None, &ctx()).unwrap();
    assert_eq!(plan.vat_lines[0].amount.to_string(), "-0.11");
}

#[test]
fn rate_follows_the_invoice_date() {
    let mut inv = invoice(vec![
        line(dec!(100), VatCategory::Hoog),
        line(dec!(100), VatCategory::Laag),
    ]);
    inv.date = date(2012, 9, 30);
    // An administration in 2013 still takes 2012 bookings (BOE-0033 allows 5 years back).
    let ctx = || BookingContext::new(2013);
    let plan = plan_sales_invoice(&inv, &MappingConfig::default_for_mock(), None, &ctx()).unwrap();
    assert_eq!(plan.total.to_string(), "225.00"); // 19 % + 6 %
    inv.date = date(2019, 1, 1);
    let plan = plan_sales_invoice(&inv, &MappingConfig::default_for_mock(), None, &ctx()).unwrap();
    assert_eq!(plan.total.to_string(), "230.00"); // 21 % + 9 %
}

#[test]
fn credit_note_is_the_exact_negative_of_the_invoice() {
    let lines = vec![
        line(dec!(12.34), VatCategory::Hoog),
        line(dec!(0.05), VatCategory::Laag),
    ];
    let config = MappingConfig::default_for_mock();
    let normal = plan_sales_invoice(&invoice(lines.clone()), &config, None, &ctx()).unwrap();
    let mut credit = invoice(lines);
    credit.kind = InvoiceKind::CreditNote;
    let credit = plan_sales_invoice(&credit, &config, None, &ctx()).unwrap();
    assert_eq!(credit.total, -normal.total);
    for (a, b) in normal.vat_lines.iter().zip(&credit.vat_lines) {
        assert_eq!(a.amount, -b.amount);
    }
}

#[test]
fn reverse_charge_is_never_mixed() {
    let inv = invoice(vec![
        line(dec!(100), VatCategory::Hoog),
        line(dec!(50), VatCategory::Verlegd),
    ]);
    let problems =
        plan_sales_invoice(&inv, &MappingConfig::default_for_mock(), None, &ctx()).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems}");
    let p = &problems.as_slice()[0];
    assert_eq!(p.path, "lines[1].vat_category");
    assert_eq!(
        p.kind,
        ProblemKind::VerlegdMixedWithOtherVat {
            other: VatCategory::Hoog
        }
    );

    let only = invoice(vec![line(dec!(50), VatCategory::Verlegd)]);
    let plan = plan_sales_invoice(&only, &MappingConfig::default_for_mock(), None, &ctx()).unwrap();
    assert_eq!(plan.vat_lines.len(), 1);
    assert_eq!(plan.vat_lines[0].kind, VatLineKind::Verlegd);
    assert!(plan.vat_lines[0].amount.is_zero());
    assert_eq!(plan.total.to_string(), "50.00");
}

#[test]
fn every_problem_of_an_invoice_at_once() {
    let mut bad_amount = line(dec!(10), VatCategory::Hoog);
    bad_amount.quantity = Some(dec!(3));
    bad_amount.unit_price = Some(Money::try_from_decimal(dec!(3.50)).unwrap());
    let mut no_amount = line(dec!(1), VatCategory::Laag);
    no_amount.net_amount = None;
    let mut unknown_category = line(dec!(5), VatCategory::Hoog);
    unknown_category.category = Some("diensten".into());
    let mut needs_project = line(dec!(5), VatCategory::Hoog);
    needs_project.category = Some("projecten".into());
    let mut unknown_project = line(dec!(5), VatCategory::Hoog);
    unknown_project.project = Some("P-2099-001".into());

    let mut inv = invoice(vec![
        bad_amount,
        no_amount,
        unknown_category,
        needs_project,
        unknown_project,
    ]);
    inv.number = "F".repeat(26);
    inv.due_date = Some(date(2024, 4, 1));
    inv.attachments = vec![Attachment::new("", Vec::new())];

    let problems = mapping::preflight::sales_invoice(
        &inv,
        &MappingConfig::default_for_mock(),
        Some(&common::mock_chart()),
        &ctx(),
    );
    let got: Vec<(&str, &ProblemKind)> = problems
        .iter()
        .map(|p| (p.path.as_str(), &p.kind))
        .collect();
    let expected: Vec<(&str, ProblemKind)> = vec![
        (
            "number",
            ProblemKind::TooLong {
                max: 25,
                actual: 26,
            },
        ),
        ("due_date", ProblemKind::DueDateBeforeInvoiceDate),
        (
            "lines[0].net_amount",
            ProblemKind::LineAmountMismatch {
                stated: Money::from_cents(1000),
                computed: Money::from_cents(1050),
            },
        ),
        ("lines[1].net_amount", ProblemKind::LineAmountMissing),
        (
            "lines[2].category",
            ProblemKind::NoLedger {
                category: "diensten".into(),
                vat: VatCategory::Hoog,
            },
        ),
        (
            "lines[3].project",
            ProblemKind::CostCentreRequired { ledger: 8100 },
        ),
        (
            "lines[4].project",
            ProblemKind::CostCentreNotFound { nummer: 2_099_001 },
        ),
        ("attachments[0].file_name", ProblemKind::Required),
        ("attachments[0].content", ProblemKind::AttachmentEmpty),
    ];
    let expected: Vec<(&str, &ProblemKind)> = expected.iter().map(|(p, k)| (*p, k)).collect();
    assert_eq!(got, expected);
    assert!(problems.iter().all(|p| p.record.id.as_str() == "inv-1"));
}

/// Issue 9: a zero line used to be left out silently; it is now a problem naming the line
/// (SnelStart refuses it: BOE-0028), and an invoice without lines is refused (BOE-0023).
#[test]
fn zero_lines_are_refused_naming_the_line_and_no_lines_is_refused() {
    let inv = invoice(vec![
        line(dec!(0), VatCategory::Hoog),
        line(dec!(10), VatCategory::Hoog),
    ]);
    let problems =
        plan_sales_invoice(&inv, &MappingConfig::default_for_mock(), None, &ctx()).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems}");
    assert_eq!(problems.as_slice()[0].path, "lines[0]");
    assert_eq!(problems.as_slice()[0].kind, ProblemKind::ZeroAmountLine);

    let inv = invoice(vec![]);
    let problems =
        plan_sales_invoice(&inv, &MappingConfig::default_for_mock(), None, &ctx()).unwrap_err();
    assert_eq!(problems.as_slice()[0].path, "lines");
    assert_eq!(problems.as_slice()[0].kind, ProblemKind::NoBookableLines);
}

#[test]
fn purchase_lines_use_cost_ledgers() {
    let inv: PurchaseInvoice = serde_json::from_value(serde_json::json!({
        "id": "pi-1", "number": "LEV-77", "date": "2024-05-01", "relation": "sup-1",
        "lines": [
            { "description": "Papier", "net_amount": "40.00", "vat_category": "hoog", "category": "kantoor" },
            { "description": "Inkoop", "net_amount": "100.00", "vat_category": "laag" }
        ]
    }))
    .unwrap();
    let plan = plan_purchase_invoice(
        &inv,
        &MappingConfig::default_for_mock(),
        Some(&common::mock_chart()),
        &ctx(),
    )
    .unwrap();
    let ledgers: Vec<u32> = plan.lines.iter().map(|l| l.ledger).collect();
    assert_eq!(ledgers, vec![4300, 7000]);
    assert_eq!(plan.total.to_string(), "157.40");
}

/// Every category but verlegd, or verlegd alone: the invoices SnelStart can take.
fn arb_vat(verlegd: bool) -> impl Strategy<Value = VatCategory> {
    let cats: Vec<VatCategory> = VatCategory::ALL
        .into_iter()
        .filter(|c| (*c == VatCategory::Verlegd) == verlegd)
        .collect();
    prop::sample::select(cats)
}

fn arb_line(verlegd: bool) -> impl Strategy<Value = InvoiceLine> {
    (
        -1_000_000i64..1_000_000,
        arb_vat(verlegd),
        prop::option::of((1i64..10_000, 0u32..4, 1i64..100_000)),
    )
        .prop_map(|(cents, vat, qty_price)| match qty_price {
            // quantity x unit price, quantity with up to 3 decimals.
            Some((q, scale, price_cents)) => {
                let mut l = line(Decimal::ZERO, vat);
                l.net_amount = None;
                l.quantity = Some(Decimal::new(q, scale));
                l.unit_price = Some(Money::from_cents(price_cents));
                l
            }
            None => line(Decimal::new(cents, 2), vat),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// For any invoice: factuurbedrag = Σ lines + Σ VAT exactly, each VAT line is the rounded
    /// sum of its lines' exact VAT (so within half a cent), and the wire model balances.
    #[test]
    fn vat_sums_and_factuurbedrag_identity(
        // One in eight invoices is reverse charge only.
        lines in prop::bool::weighted(0.125)
            .prop_flat_map(|verlegd| prop::collection::vec(arb_line(verlegd), 1..12)),
        credit in any::<bool>(),
        day in 0i64..6000,
    ) {
        let config = MappingConfig::default_for_mock();
        let mut inv = invoice(lines);
        inv.date = date(2010, 1, 1) + chrono::Duration::days(day);
        if credit {
            inv.kind = InvoiceKind::CreditNote;
        }
        let result = plan_sales_invoice(&inv, &config, None, &BookingContext::new(2012));
        let plan = match result {
            Ok(plan) => plan,
            // Only possible for a zero line or lines summing below zero.
            Err(p) => {
                prop_assert!(p.iter().all(|p| matches!(
                    p.kind,
                    ProblemKind::ZeroAmountLine | ProblemKind::TotalSign { .. }
                )), "{}", p);
                return Ok(());
            }
        };
        prop_assert_eq!(plan.total, plan.net_total() + plan.vat_total());
        prop_assert!(plan.lines.iter().all(|l| !l.amount.is_zero()));
        for vat_line in &plan.vat_lines {
            let exact: Decimal = plan
                .lines
                .iter()
                .filter(|l| config.vat_rule(l.vat_category).vat_line == vat_line.kind)
                .map(|l| l.vat_category.vat_on(l.amount, inv.date))
                .sum();
            prop_assert!((vat_line.amount.amount() - exact).abs() <= dec!(0.005));
            prop_assert_eq!(vat_line.amount.amount().scale(), 2);
        }
        // Kinds are unique and present only when some line uses them.
        let mut kinds: Vec<_> = plan.vat_lines.iter().map(|v| v.kind).collect();
        kinds.dedup();
        prop_assert_eq!(kinds.len(), plan.vat_lines.len());
        let sign = if credit { dec!(-1) } else { dec!(1) };
        for l in &plan.lines {
            let src = &inv.lines[l.source_index];
            prop_assert_eq!(l.amount.amount(), src.net_total().unwrap().amount() * sign);
        }

        let booking = sales_invoice_to_verkoopboeking(
            &inv, &config, &common::mock_chart(), &BookingContext::new(2012),
            RelatieId::from_uuid(common::fixed(1)),
        ).unwrap();
        prop_assert!(booking.is_balanced());
        prop_assert_eq!(booking.factuurbedrag, Some(plan.total.amount()));
        prop_assert_eq!(booking.boekingsregels.as_ref().map_or(0, Vec::len), plan.lines.len());
    }

    /// Reverse charge together with any other category is always refused, naming every
    /// verlegd line.
    #[test]
    fn verlegd_mixed_is_always_refused(
        others in prop::collection::vec(arb_line(false), 1..5),
        verlegd in prop::collection::vec(arb_line(true), 1..5),
        seed in any::<u64>(),
    ) {
        let mut lines: Vec<InvoiceLine> = others.into_iter().chain(verlegd).collect();
        // Deterministic shuffle from the seed.
        let n = lines.len();
        for i in (1..n).rev() {
            let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
            lines.swap(i, j);
        }
        let inv = invoice(lines);
        let problems = plan_sales_invoice(&inv, &MappingConfig::default_for_mock(), None, &ctx()).unwrap_err();
        for (i, l) in inv.lines.iter().enumerate() {
            let flagged = problems.as_slice().iter().any(|p| p.path == format!("lines[{i}].vat_category")
                && matches!(p.kind, ProblemKind::VerlegdMixedWithOtherVat { .. }));
            prop_assert_eq!(flagged, l.vat_category == VatCategory::Verlegd);
        }
    }
}
