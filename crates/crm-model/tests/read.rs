//! The lenient reader: every form of `shared/CRM-DATA.md` reads, every bad value is a problem
//! with its JSON path, one bad record never costs another, and no JSON value panics it.

use crm_model::read::{ExportItem, ExportSection, read_export};
use crm_model::{
    FieldProblem, InvoiceKind, RecordKind, RecordRejection, VatCategory, project_from_value,
    purchase_invoice_from_value, relation_from_value, sales_invoice_from_value,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn relation_with(field: &str, value: Value) -> Value {
    let mut r = json!({"id": "crm-1", "kind": "customer", "legal_name": "Bakkerij B.V."});
    r[field] = value;
    r
}

fn invoice() -> Value {
    json!({
        "id": "inv-1", "number": "F2024-001", "date": "2024-05-01", "relation": "crm-1",
        "lines": [
            {"description": "Taart", "quantity": "3", "unit_price": "12.50", "vat_category": "laag"},
            {"description": "Advies", "net_amount": 150, "vat_category": "hoog"}
        ],
        "attachments": [{"file_name": "F2024-001.pdf", "content": "JVBERi0xLjQK"}]
    })
}

fn paths(r: &RecordRejection) -> Vec<&str> {
    r.problems.iter().map(|p| p.path.as_str()).collect()
}

/// The single problem of a rejected relation, after asserting its path.
fn relation_problem(field: &str, value: Value) -> FieldProblem {
    let rejection = relation_from_value(&relation_with(field, value.clone()))
        .expect_err(&format!("{field} = {value} must be refused"));
    assert_eq!(paths(&rejection), [field], "{value}");
    assert_eq!(rejection.kind, RecordKind::Relation);
    assert_eq!(rejection.id.as_ref().map(|i| i.as_str()), Some("crm-1"));
    rejection.problems.into_iter().next().unwrap()
}

fn invoice_problems(edit: impl FnOnce(&mut Value)) -> RecordRejection {
    let mut v = invoice();
    edit(&mut v);
    sales_invoice_from_value(&v).expect_err("must be refused")
}

// ---------------------------------------------------------------------------------------------
// Every form of CRM-DATA.md reads.
// ---------------------------------------------------------------------------------------------

#[test]
fn kvk_forms_read() {
    for form in [
        json!("12345678"),
        json!("1234 5678"),
        json!("12.34.56.78"),
        json!("KvK 12345678"),
        json!("KvK-nummer: 12345678"),
        json!("kvk-NUMMER: 12345678"),
        json!(12345678),
    ] {
        let r = relation_from_value(&relation_with("kvk_number", form.clone()))
            .unwrap_or_else(|e| panic!("{form}: {e}"))
            .record;
        let kvk = r.kvk_number.unwrap();
        assert_eq!(kvk.as_str(), "12345678", "{form}");
        assert!(!kvk.leading_zero_restored());
    }
    for form in [json!("1234567"), json!(1234567), json!("KvK 1234567")] {
        let kvk = relation_from_value(&relation_with("kvk_number", form.clone()))
            .unwrap()
            .record
            .kvk_number
            .unwrap();
        assert_eq!(kvk.as_str(), "01234567", "{form}");
        assert!(kvk.leading_zero_restored(), "{form}");
    }
}

#[test]
fn vat_forms_read() {
    for (form, printed, inferred) in [
        ("NL001234560B01", "NL001234560B01", false),
        ("NL 0012.34.560.B.01", "NL001234560B01", false),
        ("nl001234560b01", "NL001234560B01", false),
        ("001234560B01", "NL001234560B01", true),
        ("NL000099998B57", "NL000099998B57", false),
        ("BE 0123.456.789", "BE0123456789", false),
        ("0123.456.789", "BE0123456789", true),
        ("DE 123 456 789", "DE123456789", false),
    ] {
        let vat = relation_from_value(&relation_with("vat_number", json!(form)))
            .unwrap_or_else(|e| panic!("{form}: {e}"))
            .record
            .vat_number
            .unwrap();
        assert_eq!((vat.as_str(), vat.prefix_inferred()), (printed, inferred));
    }
}

#[test]
fn iban_bic_email_phone_forms_read() {
    for iban in [
        "NL91ABNA0417164300",
        "NL91 ABNA 0417 1643 00",
        "nl91abna0417164300",
    ] {
        let r = relation_from_value(&relation_with("iban", json!(iban))).unwrap();
        assert_eq!(r.record.iban.unwrap().as_str(), "NL91ABNA0417164300");
    }
    for bic in ["ABNANL2A", "ABNANL2AXXX"] {
        let r = relation_from_value(&relation_with("bic", json!(bic))).unwrap();
        assert_eq!(r.record.bic.as_deref(), Some(bic));
    }
    for (email, first, count) in [
        ("info@bakkerij.nl", "info@bakkerij.nl", 1),
        (" info@bakkerij.nl ", "info@bakkerij.nl", 1),
        (
            "info@bakkerij.nl;facturen@bakkerij.nl",
            "info@bakkerij.nl",
            2,
        ),
        (
            " info@bakkerij.nl ; facturen@bakkerij.nl ",
            "info@bakkerij.nl",
            2,
        ),
    ] {
        let list = relation_from_value(&relation_with("email", json!(email)))
            .unwrap()
            .record
            .email
            .unwrap();
        assert_eq!((list.first().as_str(), list.len()), (first, count));
    }
    for phone in [
        "020-1234567",
        "020 123 4567",
        "+31 20 1234567",
        "+31 (0)20 123 4567",
        "0031 20 1234567",
        "(020) 1234567",
        "06-12345678",
        "0211/1234567",
    ] {
        let r = relation_from_value(&relation_with("phone", json!(phone))).unwrap();
        assert_eq!(r.record.phone.as_deref(), Some(phone));
    }
}

#[test]
fn addresses_names_and_memo_read_as_given() {
    let v = json!({
        "id": 1042, "kind": "Klant", "number": 1042,
        "legal_name": "Coöperatie De Eendracht U.A.", "trade_name": "Stg. De Eendracht",
        "visit_address": {"street": "Kerkstraat 12A", "postcode": "1234ab", "city": "'s-Hertogenbosch"},
        "postal_address": {"street": "Postbus", "house_number": 123, "postcode": "1234 AB",
                           "city": "Capelle a/d IJssel", "country": "nl"},
        "contacts": [
            {"name": "Jan", "email": "jan@x.nl; jan.privé@x.nl"},
            {"id": 7, "name": "Piet", "house": "ignored"}
        ],
        "memo": "regel 1\nregel 2\r\nregel 3",
        "credit_limit": 5000,
        "payment_term_days": 30.0
    });
    let read = relation_from_value(&v).unwrap_or_else(|e| panic!("{e}"));
    let r = read.record;
    assert_eq!(r.id.as_str(), "1042");
    assert_eq!(r.number.as_deref(), Some("1042"));
    assert_eq!(r.memo.as_deref(), Some("regel 1\nregel 2\r\nregel 3"));
    assert_eq!(r.visit_address.unwrap().street, "Kerkstraat 12A");
    let postal = r.postal_address.unwrap();
    assert_eq!(postal.house_number.as_deref(), Some("123"));
    assert_eq!(r.contacts[0].email.as_ref().unwrap().len(), 2);
    assert_eq!(r.contacts[1].id.as_ref().unwrap().as_str(), "7");
    assert_eq!(r.credit_limit.unwrap().to_string(), "5000.00");
    assert_eq!(r.payment_term_days, Some(30));
    assert_eq!(read.notices.len(), 1);
    assert_eq!(read.notices[0].path, "contacts[1].house");
    assert_eq!(read.notices[0].message, "unknown field `house` ignored");

    for postcode in [
        json!("1234 AB"),
        json!("1234ab"),
        json!("2000"),
        json!("B-2000"),
        json!("D-40210"),
        json!(2000),
    ] {
        let mut v = relation_with(
            "visit_address",
            json!({"street": "Meir", "city": "Antwerpen"}),
        );
        v["visit_address"]["postcode"] = postcode.clone();
        let r = relation_from_value(&v).unwrap_or_else(|e| panic!("{postcode}: {e}"));
        assert!(r.record.visit_address.unwrap().postcode.is_some());
    }
}

#[test]
fn numbers_in_json_read_exactly() {
    let mut v = invoice();
    v["lines"][0]["quantity"] = json!("-3");
    v["lines"][0]["unit_price"] = json!(0.1);
    v["lines"][1]["net_amount"] = json!("1250.00");
    v["currency"] = json!("EUR");
    let i = sales_invoice_from_value(&v).unwrap().record;
    assert_eq!(i.lines[0].quantity.unwrap().to_string(), "-3");
    assert_eq!(i.lines[0].unit_price.unwrap().to_string(), "0.10");
    assert_eq!(i.lines[1].net_amount.unwrap().to_string(), "1250.00");
    assert_eq!(i.currency.as_deref(), Some("EUR"));

    // In export text the number's own digits are read, beyond what an f64 holds.
    let text = r#"{"sales_invoices": [{"id": "i", "number": 17, "date": "2024-01-02",
        "relation": "r", "lines": [{"net_amount": 12345678901234567.89, "quantity": 1.5e1,
        "unit_price": 1e2, "vat_category": "hoog", "project": 1043}]}]}"#;
    let export = read_export(text).unwrap();
    let line = &export.sales_invoices.records[0].record.lines[0];
    assert_eq!(line.net_amount.unwrap().to_string(), "12345678901234567.89");
    assert_eq!(line.quantity.unwrap().to_string(), "15");
    assert_eq!(line.unit_price.unwrap().to_string(), "100.00");
    assert_eq!(line.project.as_deref(), Some("1043"));
    assert_eq!(export.sales_invoices.records[0].record.number, "17");

    // A serde_json::Value holds an f64: digits it cannot hold are refused, not rounded.
    let mut v = invoice();
    v["lines"][1]["net_amount"] = json!(12345678901234567.89);
    let r = sales_invoice_from_value(&v).unwrap_err();
    assert_eq!(paths(&r), ["lines[1].net_amount"]);
    assert!(
        r.problems[0].message.contains("string"),
        "{}",
        r.problems[0]
    );
}

#[test]
fn projects_with_integer_or_string_numbers() {
    for (number, want) in [(json!(1043), "1043"), (json!("P-17"), "P-17")] {
        let p = project_from_value(&json!({"id": "p", "number": number, "description": "Bouw"}))
            .unwrap()
            .record;
        assert_eq!(p.number, want);
        assert!(p.active);
    }
}

#[test]
fn invoices_read_like_serde_reads_them() {
    let v = invoice();
    let read = sales_invoice_from_value(&v).unwrap().record;
    let serde: crm_model::SalesInvoice = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(read, serde);
    let read = purchase_invoice_from_value(&v).unwrap().record;
    let serde: crm_model::PurchaseInvoice = serde_json::from_value(v).unwrap();
    assert_eq!(read, serde);

    let mut v = invoice();
    v["kind"] = json!("Credit-Note");
    v["lines"][0]["cost_category"] = json!("inkoop");
    let read = purchase_invoice_from_value(&v).unwrap().record;
    assert_eq!(read.kind, InvoiceKind::CreditNote);
    assert_eq!(read.lines[0].category.as_deref(), Some("inkoop"));
    assert_eq!(read.lines[0].vat_category, VatCategory::Laag);
}

// ---------------------------------------------------------------------------------------------
// Every bad value is a problem at its path.
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_json_types_and_nulls_are_named() {
    let p = relation_problem("legal_name", json!(12));
    assert_eq!(p.message, "expected a string, found the number 12");
    assert_eq!(p.value.as_deref(), Some("12"));

    let p = relation_problem("legal_name", Value::Null);
    assert!(
        p.message.contains("required") && p.message.contains("null"),
        "{p}"
    );

    let p = relation_problem("active", json!("yes"));
    assert!(
        p.message.contains("true or false") && p.message.contains("\"yes\""),
        "{p}"
    );

    let p = relation_problem("contacts", json!({"name": "x"}));
    assert!(p.message.contains("array"), "{p}");

    let p = relation_problem("kind", json!("prospect"));
    assert!(
        p.message.contains("\"prospect\"") && p.message.contains("customer"),
        "{p}"
    );

    let r = relation_from_value(&json!({"kind": "customer", "legal_name": "A"})).unwrap_err();
    assert_eq!(paths(&r), ["id"]);
    assert_eq!(r.id, None);
    for bad_id in [
        json!(""),
        json!("  "),
        json!(true),
        json!(1.5),
        json!({"x": 1}),
        Value::Null,
    ] {
        let r = relation_from_value(&relation_with("id", bad_id.clone())).unwrap_err();
        assert_eq!(paths(&r), ["id"], "{bad_id}");
        assert_eq!(r.id, None);
    }

    let r = relation_from_value(&json!(["not", "an", "object"])).unwrap_err();
    assert_eq!(paths(&r), [""]);
    assert!(r.problems[0].message.contains("an array"));
}

#[test]
fn bad_identifiers_are_named() {
    for (field, value) in [
        ("kvk_number", json!("12-34-AB")),
        ("kvk_number", json!("123456789")),
        ("vat_number", json!("NL001234567B01")),
        ("vat_number", json!("2123456789")),
        ("iban", json!("NL92ABNA0417164300")),
        ("email", json!("a@x.nl;;b@x.nl")),
        ("email", json!("a@x.nl, b@x.nl")),
        ("credit_limit", json!("12.345")),
        ("credit_limit", json!(12.345)),
        ("credit_limit", json!("NaN")),
        ("credit_limit", json!("Infinity")),
        ("credit_limit", json!("-Infinity")),
        ("credit_limit", json!(true)),
        ("payment_term_days", json!("dertig")),
        ("payment_term_days", json!(30.5)),
        ("last_changed", json!("gisteren")),
    ] {
        let p = relation_problem(field, value.clone());
        let quoted = match &value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert!(p.message.contains(&quoted), "{field} = {value}: {p}");
        assert_eq!(p.value.as_deref(), Some(quoted.as_str()));
    }
    let p = relation_problem("credit_limit", json!("12.345"));
    assert!(p.message.contains("more than 2 decimals"), "{p}");
}

#[test]
fn bad_values_in_lists_and_objects_carry_indices() {
    let r = invoice_problems(|v| v["lines"][1]["unit_price"] = json!("12.345"));
    assert_eq!(paths(&r), ["lines[1].unit_price"]);
    assert_eq!(r.kind, RecordKind::SalesInvoice);
    assert_eq!(r.id.as_ref().unwrap().as_str(), "inv-1");

    let r = invoice_problems(|v| v["lines"][0]["vat_category"] = json!("super-laag"));
    assert_eq!(paths(&r), ["lines[0].vat_category"]);
    assert!(r.problems[0].message.contains("\"super-laag\""));
    assert!(r.problems[0].message.contains("hoog"));

    let r = invoice_problems(|v| v["lines"][0]["vat_category"] = Value::Null);
    assert_eq!(paths(&r), ["lines[0].vat_category"]);

    let r = invoice_problems(|v| v["attachments"][0]["content"] = json!("%%% not base64"));
    assert_eq!(paths(&r), ["attachments[0].content"]);
    assert!(r.problems[0].message.contains("base64"));

    let r = invoice_problems(|v| v["date"] = json!("2024-02-30"));
    assert_eq!(paths(&r), ["date"]);
    assert!(r.problems[0].message.contains("\"2024-02-30\""));
    for bad in [
        json!("01-05-2024"),
        json!("2024-5-1"),
        json!(20240501),
        json!(""),
    ] {
        let r = invoice_problems(|v| v["date"] = bad.clone());
        assert_eq!(paths(&r), ["date"], "{bad}");
    }

    let r = invoice_problems(|v| v["kind"] = json!("offerte"));
    assert_eq!(paths(&r), ["kind"]);

    let r = invoice_problems(|v| v["lines"][1]["quantity"] = json!("NaN"));
    assert_eq!(paths(&r), ["lines[1].quantity"]);

    let r = invoice_problems(|v| v["lines"] = Value::Null);
    assert_eq!(paths(&r), ["lines"]);

    let r = invoice_problems(|v| v["lines"][0] = json!("Taart"));
    assert_eq!(paths(&r), ["lines[0]"]);

    let r = relation_from_value(&relation_with(
        "contacts",
        json!([{"name": "a"}, {"name": "b"}, {"name": "c", "email": "c@@x.nl"}]),
    ))
    .unwrap_err();
    assert_eq!(paths(&r), ["contacts[2].email"]);

    let r = relation_from_value(&relation_with(
        "visit_address",
        json!({"street": "Dorpsstraat", "postcode": 12.5, "country": "Narnia"}),
    ))
    .unwrap_err();
    assert_eq!(
        paths(&r),
        ["visit_address.postcode", "visit_address.country"]
    );
}

#[test]
fn a_record_with_three_bad_fields_lists_three_problems() {
    let r = invoice_problems(|v| {
        v["date"] = json!("morgen");
        v["lines"][0]["unit_price"] = json!("Infinity");
        v["attachments"][0]["content"] = json!("!!");
        v["extra"] = json!(1);
    });
    assert_eq!(
        paths(&r),
        ["date", "lines[0].unit_price", "attachments[0].content"]
    );
    let text = r.to_string();
    assert!(text.starts_with("sales invoice inv-1: date: "), "{text}");
}

#[test]
fn unknown_keys_are_notices_not_silence() {
    let mut v = invoice();
    v["colour"] = json!("blue");
    v["lines"][1]["discount"] = json!("10%");
    v["attachments"][0]["mime"] = json!("application/pdf");
    let read = sales_invoice_from_value(&v).unwrap();
    let paths: Vec<&str> = read.notices.iter().map(|n| n.path.as_str()).collect();
    assert_eq!(paths.len(), 3);
    for p in ["colour", "lines[1].discount", "attachments[0].mime"] {
        assert!(paths.contains(&p), "{p} in {paths:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Exports.
// ---------------------------------------------------------------------------------------------

#[test]
fn one_unparsable_value_among_ten_records_costs_one_record() {
    let mut relations: Vec<Value> = (0..10)
        .map(|i| json!({"id": format!("crm-{i}"), "kind": "customer", "legal_name": format!("Klant {i}")}))
        .collect();
    relations[6]["credit_limit"] = json!("12.345");
    let text = serde_json::to_string_pretty(&json!({ "relations": relations })).unwrap();
    let export = read_export(&text).unwrap();
    assert_eq!(export.relations.records.len(), 9);
    assert_eq!(export.relations.rejections.len(), 1);
    let rejection = &export.relations.rejections[0];
    assert_eq!(
        (rejection.index, rejection.id.as_ref().unwrap().as_str()),
        (6, "crm-6")
    );
    assert_eq!(paths(rejection), ["credit_limit"]);
    let order: Vec<usize> = export.items().map(|i| i.index()).collect();
    assert_eq!(order, (0..10).collect::<Vec<_>>());
    assert!(matches!(
        export.items().nth(6),
        Some(ExportItem::Rejected { .. })
    ));
    assert_eq!((export.read_count(), export.rejected_count()), (9, 1));
}

#[test]
fn every_section_reads_and_items_follow_the_file() {
    let text = r#"{
      "projects": [ {"id": "p-1", "number": 1, "description": "A"}, {"id": "p-2"} ],
      "relations": [ {"id": "r-1", "kind": "supplier", "legal_name": "L"} ],
      "archived_relations": [ "r-9", 10, true ],
      "sales_invoices": null,
      "purchase_invoices": [ {"id": "pi-1", "number": "X", "date": "2024-01-01",
          "relation": "r-1", "lines": [{"net_amount": "1.00", "vat_category": "hoog"}]} ],
      "exported_by": "CRM 7"
    }"#;
    let export = read_export(text).unwrap();
    let sections: Vec<(ExportSection, usize, bool)> = export
        .items()
        .map(|i| {
            (
                i.section(),
                i.index(),
                matches!(i, ExportItem::Rejected { .. }),
            )
        })
        .collect();
    use ExportSection::*;
    assert_eq!(
        sections,
        [
            (Projects, 0, false),
            (Projects, 1, true),
            (Relations, 0, false),
            (ArchivedRelations, 0, false),
            (ArchivedRelations, 1, false),
            (ArchivedRelations, 2, true),
            (PurchaseInvoices, 0, false),
        ]
    );
    assert_eq!(
        paths(&export.projects.rejections[0]),
        ["number", "description"]
    );
    assert_eq!(export.archived_relations.records[1].record.as_str(), "10");
    assert_eq!(export.notices.len(), 1);
    assert_eq!(export.notices[0].path, "exported_by");
    assert!(export.sales_invoices.is_empty());
}

#[test]
fn duplicate_keys_in_export_text_are_problems() {
    let text = r#"{"relations": [{"id": "r", "kind": "customer", "legal_name": "A",
        "kvk_number": "12345678", "kvk_number": "87654321"}]}"#;
    let export = read_export(text).unwrap();
    assert_eq!(paths(&export.relations.rejections[0]), ["kvk_number"]);
    let text = r#"{"purchase_invoices": [{"id": "i", "number": "1", "date": "2024-01-01",
        "relation": "r", "lines": [{"vat_category": "hoog", "category": "a", "cost_category": "b"}]}]}"#;
    let export = read_export(text).unwrap();
    assert_eq!(
        paths(&export.purchase_invoices.rejections[0]),
        ["lines[0].category"]
    );
}

#[test]
fn only_text_that_is_not_json_fails_the_file() {
    let e = read_export("{\n  \"relations\": [\n    {\"id\": \"a\",}\n  ]\n}").unwrap_err();
    assert_eq!((e.line, e.column), (3, 16));
    assert!(e.to_string().starts_with("line 3, column 16: "), "{e}");

    let e = read_export("").unwrap_err();
    assert_eq!(e.line, 1);

    let e = read_export("[1, 2]").unwrap_err();
    assert_eq!((e.line, e.column), (1, 1));
    assert!(e.message.contains("object"), "{e}");

    let e = read_export("{\n \"relations\": {\"id\": \"a\"}\n}").unwrap_err();
    assert_eq!((e.line, e.column), (2, 15));
    assert!(
        e.message.contains("`relations`") && e.message.contains("array"),
        "{e}"
    );

    let e = read_export(r#"{"projects": [], "projects": []}"#).unwrap_err();
    assert!(e.message.contains("twice"), "{e}");

    // A byte order mark is not an error; an empty object is an empty export.
    let export = read_export("\u{feff}{}").unwrap();
    assert_eq!(export.items().count(), 0);
}

#[test]
fn huge_values_are_quoted_shortened() {
    let content = "!".repeat(100_000);
    let r = invoice_problems(|v| v["attachments"][0]["content"] = json!(content));
    let p = &r.problems[0];
    assert!(p.message.len() < 1_000, "{}", p.message.len());
    assert!(p.value.as_ref().unwrap().contains("100000 characters"));
}

// ---------------------------------------------------------------------------------------------
// No JSON value panics the reader.
// ---------------------------------------------------------------------------------------------

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".*".prop_map(Value::String),
        prop_oneof![
            Just("2024-02-29"),
            Just("12.345"),
            Just("NaN"),
            Just("hoog"),
            Just("customer"),
            Just("credit_note"),
            Just("KvK 1234567"),
            Just("0123.456.789"),
            Just("a@b.nl;"),
            Just("JVBERi0xLjQK"),
            Just(""),
            Just("2024-03-01T10:00:00Z"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    let key = prop_oneof![
        Just("id"),
        Just("kind"),
        Just("number"),
        Just("legal_name"),
        Just("lines"),
        Just("date"),
        Just("relation"),
        Just("vat_category"),
        Just("net_amount"),
        Just("quantity"),
        Just("unit_price"),
        Just("attachments"),
        Just("content"),
        Just("file_name"),
        Just("contacts"),
        Just("email"),
        Just("visit_address"),
        Just("postcode"),
        Just("country"),
        Just("kvk_number"),
        Just("vat_number"),
        Just("credit_limit"),
        Just("description"),
        Just("x"),
    ]
    .prop_map(str::to_owned);
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..10)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_json_value_panics_the_reader(value in arb_json()) {
        let outcomes = [
            relation_from_value(&value).err(),
            project_from_value(&value).err(),
            sales_invoice_from_value(&value).err(),
            purchase_invoice_from_value(&value).err(),
        ];
        for rejection in outcomes.into_iter().flatten() {
            prop_assert!(!rejection.problems.is_empty());
        }
        let text = serde_json::to_string(&json!({
            "relations": [value.clone()], "projects": [value.clone()],
            "sales_invoices": [value.clone()], "purchase_invoices": [value.clone()],
            "archived_relations": [value],
        })).unwrap();
        let export = read_export(&text).unwrap();
        prop_assert_eq!(export.read_count() + export.rejected_count(), 5);
    }

    #[test]
    fn no_text_panics_read_export(text in ".{0,200}") {
        let _ = read_export(&text);
        let _ = read_export(&format!("{{\"relations\": [{text}]}}"));
    }
}
