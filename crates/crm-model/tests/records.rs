//! The record types: JSON round-trips, lenient input, payment status derivation.

use chrono::NaiveDate;
use crm_model::{
    Attachment, CrmId, InvoiceKind, Money, PaymentState, PaymentStatus, Relation, RelationKind,
    SalesInvoice,
};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn minimal_relation_fills_defaults() {
    let r: Relation = serde_json::from_str(
        r#"{"id": "x", "kind": "leverancier", "legal_name": "Groothandel Jansen"}"#,
    )
    .unwrap();
    assert_eq!(r.kind, RelationKind::Supplier);
    assert!(r.active, "active defaults to true");
    assert!(r.contacts.is_empty());
    assert_eq!(
        r,
        Relation::new("x", RelationKind::Supplier, "Groothandel Jansen")
    );
}

#[test]
fn relation_roundtrips_in_strict_form() {
    let messy = r#"{
        "id": "crm-7", "kind": "both", "legal_name": "Jansen & Zn V.O.F.",
        "visit_address": {"street": "Markt", "house_number": "3", "postcode": "9711ab",
                          "city": "Groningen", "country": "nederland"},
        "contacts": [{"name": "Els", "email": " Els@Jansen.NL "}],
        "vat_number": "nl 0012.34.560.b01", "kvk_number": 1234567,
        "iban": "nl91 abna 0417 1643 00", "credit_limit": 2500.5
    }"#;
    let r: Relation = serde_json::from_str(messy).unwrap();
    let strict = serde_json::to_value(&r).unwrap();
    assert_eq!(strict["vat_number"], "NL001234560B01");
    // A KvK that lost its leading zero stays as read (7 digits) in the serialized form, so a
    // record that travels through a queue is still known not to be writable (issue 9: the
    // strict 8-digit form used to come back as a clean number and was written).
    assert_eq!(strict["kvk_number"], "1234567");
    assert_eq!(r.kvk_number.unwrap().to_string(), "01234567");
    assert_eq!(strict["iban"], "NL91ABNA0417164300");
    assert_eq!(strict["credit_limit"], "2500.50");
    assert_eq!(strict["visit_address"]["country"], "NL");
    assert_eq!(strict["contacts"][0]["email"], "Els@jansen.nl");
    let back: Relation = serde_json::from_value(strict).unwrap();
    assert_eq!(back, r);
    assert!(back.kvk_number.unwrap().leading_zero_restored());
}

#[test]
fn an_inferred_vat_prefix_survives_a_round_trip() {
    let r: Relation = serde_json::from_str(
        r#"{"id": "crm-8", "kind": "customer", "legal_name": "A", "vat_number": "001234560B01"}"#,
    )
    .unwrap();
    let json = serde_json::to_value(&r).unwrap();
    let back: Relation = serde_json::from_value(json).unwrap();
    let vat = back.vat_number.unwrap();
    assert!(vat.prefix_inferred());
    assert_eq!(vat.to_string(), "NL001234560B01");
}

#[test]
fn bad_values_are_named_in_the_error() {
    let err = serde_json::from_str::<Relation>(
        r#"{"id": "x", "kind": "customer", "legal_name": "A", "kvk_number": "12-34-AB"}"#,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("kvk_number") && text.contains("12-34-AB"),
        "{text}"
    );
}

#[test]
fn attachments_travel_as_base64_and_do_not_flood_debug_output() {
    let a = Attachment::new("f.pdf", vec![0, 1, 2, 250, 251, 252]);
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(json, r#"{"file_name":"f.pdf","content":"AAEC+vv8"}"#);
    assert_eq!(serde_json::from_str::<Attachment>(&json).unwrap(), a);
    assert_eq!(
        format!("{a:?}"),
        r#"Attachment { file_name: "f.pdf", len: 6 }"#
    );
    assert!(serde_json::from_str::<Attachment>(r#"{"file_name":"x","content":"!!"}"#).is_err());
}

#[test]
fn credit_note_kind_and_quantity_lines() {
    let inv: SalesInvoice = serde_json::from_str(
        r#"{"id": "c1", "kind": "credit_note", "number": "C-1", "date": "2024-02-29",
            "relation": "crm-1",
            "lines": [{"quantity": "2.5", "unit_price": "0.99", "vat_category": "Laag"}]}"#,
    )
    .unwrap();
    assert_eq!(inv.kind, InvoiceKind::CreditNote);
    // 2.5 x 0.99 = 2.475 -> 2.48 (half away from zero).
    assert_eq!(inv.lines[0].net_total(), Some(Money::from_cents(248)));
}

#[test]
fn payment_status_is_derived_from_amounts_and_dates() {
    let due = Some(date(2024, 6, 30));
    let status = |outstanding: i64, as_of: NaiveDate| {
        PaymentStatus::derive(
            CrmId::new("inv-1"),
            Money::from_cents(12_100),
            Money::from_cents(outstanding),
            due,
            as_of,
        )
    };
    assert_eq!(status(12_100, date(2024, 6, 1)).state, PaymentState::Open);
    assert_eq!(
        status(2_100, date(2024, 6, 1)).state,
        PaymentState::PartlyPaid
    );
    assert_eq!(
        status(2_100, date(2024, 6, 1)).paid,
        Money::from_cents(10_000)
    );
    assert_eq!(status(0, date(2024, 8, 1)).state, PaymentState::Paid);
    assert_eq!(
        status(12_100, date(2024, 6, 30)).state,
        PaymentState::Open,
        "due today"
    );
    assert_eq!(
        status(12_100, date(2024, 7, 1)).state,
        PaymentState::Overdue
    );
    // A credit note (negative) is handled the same way.
    let credit = PaymentStatus::derive(
        CrmId::new("cn-1"),
        Money::from_cents(-5_000),
        Money::from_cents(-5_000),
        None,
        date(2025, 1, 1),
    );
    assert_eq!(credit.state, PaymentState::Open);
    let json = serde_json::to_value(&credit).unwrap();
    assert_eq!(json["state"], "open");
    assert_eq!(json["outstanding"], "-50.00");
}

#[test]
fn relation_reads_from_toml_with_the_same_names() {
    let toml = r#"
id = "crm-8"
kind = "customer"
legal_name = "Installatiebedrijf Post"
kvk_number = "87654321"
payment_term_days = 14

[visit_address]
street = "Industrieweg"
house_number = "5"
postcode = "7411 KT"
city = "Deventer"

[[contacts]]
name = "Mark Post"
primary = true
"#;
    let r: Relation = toml::from_str(toml).unwrap();
    assert_eq!(r.kvk_number.unwrap().as_str(), "87654321");
    assert_eq!(r.visit_address.as_ref().unwrap().country.as_str(), "NL");
    assert!(r.contacts[0].primary);
}

#[test]
fn constructors_match_the_json_form() {
    use crm_model::{InvoiceLine, PurchaseInvoice, VatCategory};
    use rust_decimal_macros::dec;
    let lines = vec![InvoiceLine::priced(
        "Uren",
        dec!(2.5),
        Money::from_cents(8000),
        VatCategory::Hoog,
    )];
    let built = SalesInvoice::new("i-1", "F-1", date(2024, 1, 2), "crm-1", lines.clone());
    let parsed: SalesInvoice = serde_json::from_str(
        r#"{"id": "i-1", "number": "F-1", "date": "2024-01-02", "relation": "crm-1",
            "lines": [{"description": "Uren", "quantity": "2.5", "unit_price": "80.00",
                       "vat_category": "hoog"}]}"#,
    )
    .unwrap();
    assert_eq!(built, parsed);
    assert_eq!(built.lines[0].net_total(), Some(Money::from_cents(20_000)));
    let p = PurchaseInvoice::new("p-1", "L-1", date(2024, 1, 2), "sup-1", lines);
    assert_eq!(p.relation.as_str(), "sup-1");
}
