//! Snapshots of converted payloads, exactly as they go over the wire. Review changes with
//! `cargo insta review` (or `INSTA_UPDATE=always` and `git diff`).

mod common;

use crm_model::{Project, PurchaseInvoice, RelationKind, SalesInvoice};
use mapping::booking::BookingContext;
use mapping::config::{BothKindsPolicy, MappingConfig, RelatiecodePolicy};
use mapping::convert::{
    project_to_kostenplaats, purchase_invoice_to_inkoopboeking, relation_to_relaties,
    sales_invoice_to_verkoopboeking,
};
use snelstart_client::RelatieId;

fn sales(kind: &str) -> SalesInvoice {
    serde_json::from_value(serde_json::json!({
        "id": "inv-77", "kind": kind, "number": "F2024-0077", "date": "2024-11-12",
        "due_date": "2024-12-12", "relation": "crm-1042",
        "description": "Advies en naslagwerk november 2024",
        "lines": [
            { "description": "Advieswerk 10 uur a 100,00", "quantity": "10", "unit_price": "100.00",
              "vat_category": "hoog", "category": "projecten", "project": "P-2024-017" },
            { "description": "Naslagwerk (boek)", "net_amount": "80.00", "vat_category": "laag" },
            { "description": "Verzendkosten", "net_amount": "6.95", "vat_category": "hoog" }
        ]
    }))
    .unwrap()
}

#[test]
fn relatie_of_a_customer() {
    let out =
        relation_to_relaties(&common::bakkerij(), &MappingConfig::default(), common::land).unwrap();
    insta::assert_json_snapshot!(out);
}

#[test]
fn relaties_of_a_customer_and_supplier_split_in_two() {
    let mut rel = common::bakkerij();
    rel.kind = RelationKind::Both;
    let mut config = MappingConfig::default();
    config.relatiecode = RelatiecodePolicy::FromCrmNumber {
        fallback_to_snelstart: false,
    };
    config.both_kinds = BothKindsPolicy::TwoRelations {
        supplier_relatiecode_offset: 100_000,
    };
    let out = relation_to_relaties(&rel, &config, common::land).unwrap();
    insta::assert_json_snapshot!(out);
}

#[test]
fn kostenplaats_of_a_project() {
    let project = Project::new("prj-17", "P-2024-017", "Verbouwing winkel Utrecht");
    insta::assert_json_snapshot!(
        project_to_kostenplaats(&project, &MappingConfig::default()).unwrap()
    );
}

#[test]
fn verkoopboeking_of_an_invoice() {
    let booking = sales_invoice_to_verkoopboeking(
        &sales("invoice"),
        &MappingConfig::default_for_mock(),
        &common::mock_chart(),
        &BookingContext::new(2024),
        RelatieId::from_uuid(common::fixed(1042)),
    )
    .unwrap();
    assert!(booking.is_balanced());
    insta::assert_json_snapshot!(booking);
}

#[test]
fn verkoopboeking_of_a_credit_note() {
    let booking = sales_invoice_to_verkoopboeking(
        &sales("credit_note"),
        &MappingConfig::default_for_mock(),
        &common::mock_chart(),
        &BookingContext::new(2024),
        RelatieId::from_uuid(common::fixed(1042)),
    )
    .unwrap();
    assert!(booking.is_balanced());
    insta::assert_json_snapshot!(booking);
}

#[test]
fn inkoopboeking_of_a_purchase_invoice() {
    let invoice: PurchaseInvoice = serde_json::from_value(serde_json::json!({
        "id": "pi-5", "number": "LEV-2024-311", "date": "2024-10-03", "relation": "sup-7",
        "lines": [
            { "description": "Kantoorpapier", "net_amount": "41.32", "vat_category": "hoog", "category": "kantoor" },
            { "description": "Materiaal project", "net_amount": "250.00", "vat_category": "hoog",
              "category": "projectkosten", "project": "P-2024-018" },
            { "description": "Lunch klant", "net_amount": "35.78", "vat_category": "laag", "category": "representatie" }
        ]
    }))
    .unwrap();
    let booking = purchase_invoice_to_inkoopboeking(
        &invoice,
        &MappingConfig::default_for_mock(),
        &common::mock_chart(),
        &BookingContext::new(2024),
        RelatieId::from_uuid(common::fixed(7)),
    )
    .unwrap();
    assert!(booking.is_balanced());
    insta::assert_json_snapshot!(booking);
}
