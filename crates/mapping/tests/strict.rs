//! Issue 9, strict writing: one test per pre-flight rule (the problem's path and kind), the
//! policies on and off with their notices, and no panic on any amount.

mod common;

use crm_model::{
    Attachment, InvoiceKind, InvoiceLine, Money, Project, PurchaseInvoice, Relation, SalesInvoice,
    VatCategory,
};
use mapping::booking::{BookingContext, plan_purchase_invoice, plan_sales_invoice};
use mapping::config::{CreditNoteSign, LongNamePolicy, MappingConfig, VatWithoutPrefixPolicy};
use mapping::convert::{project_to_kostenplaats, relation_to_relaties};
use mapping::preflight::{self, Problem, ProblemKind, limits};
use mapping::{Notice, notices};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn ctx() -> BookingContext {
    BookingContext::new(2024)
}

fn config() -> MappingConfig {
    MappingConfig::default_for_mock()
}

fn relation(json: serde_json::Value) -> Relation {
    let mut base = serde_json::json!({
        "id": "crm-1", "kind": "customer", "legal_name": "Bakkerij De Korst B.V.",
    });
    for (k, v) in json.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn sales(json: serde_json::Value) -> SalesInvoice {
    let mut base = serde_json::json!({
        "id": "inv-1", "number": "F2024-001", "date": "2024-05-01", "relation": "crm-1",
        "description": "Levering mei",
        "lines": [ { "description": "Brood", "net_amount": "100.00", "vat_category": "laag" } ],
    });
    for (k, v) in json.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn purchase(json: serde_json::Value) -> PurchaseInvoice {
    let mut base = serde_json::json!({
        "id": "pi-1", "number": "LEV-77", "date": "2024-05-01", "relation": "sup-1",
        "description": "Meel",
        "lines": [ { "description": "Meel", "net_amount": "40.00", "vat_category": "laag" } ],
    });
    for (k, v) in json.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn kinds(problems: &[Problem]) -> Vec<(&str, &ProblemKind)> {
    problems
        .iter()
        .map(|p| (p.path.as_str(), &p.kind))
        .collect()
}

fn sales_problems(inv: &SalesInvoice, config: &MappingConfig) -> Vec<Problem> {
    preflight::sales_invoice(inv, config, None, &ctx())
}

fn purchase_problems(inv: &PurchaseInvoice, config: &MappingConfig) -> Vec<Problem> {
    preflight::purchase_invoice(inv, config, None, &ctx())
}

fn one(problems: &[Problem]) -> (&str, &ProblemKind) {
    assert_eq!(problems.len(), 1, "{problems:#?}");
    (problems[0].path.as_str(), &problems[0].kind)
}

fn control(c: char) -> ProblemKind {
    ProblemKind::ControlCharacter {
        code_point: u32::from(c),
    }
}

fn policies(notices: &[Notice]) -> Vec<(&str, &str)> {
    notices
        .iter()
        .map(|n| (n.path.as_str(), n.policy.as_str()))
        .collect()
}

// ---------------------------------------------------------------- relations

#[test]
fn nul_esc_and_line_breaks_in_a_name_are_refused() {
    for (name, c) in [
        ("Bakkerij\0", '\0'),
        ("Bakkerij \u{1b}[31mrood", '\u{1b}'),
        ("Bakkerij\r\nDe Korst", '\r'),
        ("Bakkerij\nDe Korst", '\n'),
    ] {
        let r = relation(serde_json::json!({ "legal_name": name }));
        let problems = preflight::relation(&r, &config());
        assert_eq!(
            kinds(&problems),
            vec![("legal_name", &control(c))],
            "{name:?}"
        );
        assert!(relation_to_relaties(&r, &config(), common::land).is_err());
    }
}

#[test]
fn control_characters_are_refused_in_every_written_text() {
    let r = relation(serde_json::json!({
        "number": "10\u{7}42",
        "trade_name": "De\u{1}Korst",
        "visit_address": { "street": "Dorps\u{0}straat", "house_number": "1\t2", "postcode": "3811 AB",
                           "city": "Amers\u{7f}foort" },
        "postal_address": { "street": "Postbus", "house_number": "100", "postcode": "3800\u{85}AA",
                            "city": "Amersfoort" },
        "contacts": [ { "name": "Jan\u{2028}Jansen", "role": "Direc\u{1b}teur", "phone": "033\u{8}1234567" } ],
        "phone": "033\n1234567",
        "website": "https://goudenkorst.nl/\u{0}",
        "bic": "ABNA\u{9}NL2A",
    }));
    let problems = preflight::relation(&r, &config());
    let got: Vec<&str> = problems
        .iter()
        .filter(|p| matches!(p.kind, ProblemKind::ControlCharacter { .. }))
        .map(|p| p.path.as_str())
        .collect();
    for path in [
        "number",
        "trade_name",
        "visit_address.street",
        "visit_address.house_number",
        "visit_address.city",
        "postal_address.postcode",
        "contacts[0].name",
        "contacts[0].role",
        "contacts[0].phone",
        "phone",
        "website",
        "bic",
    ] {
        assert!(got.contains(&path), "{path} not in {got:?}");
    }
}

#[test]
fn memo_may_hold_line_breaks_and_tabs_but_no_other_control_characters() {
    let r = relation(serde_json::json!({ "memo": "Klant sinds 1998.\r\nAltijd\tbellen." }));
    assert!(preflight::relation(&r, &config()).is_empty());
    let r = relation(serde_json::json!({ "memo": "Bel\u{7} eerst" }));
    assert_eq!(
        kinds(&preflight::relation(&r, &config())),
        vec![("memo", &control('\u{7}'))]
    );
}

#[test]
fn the_crm_memo_is_written_first_then_the_derived_lines() {
    let r = relation(serde_json::json!({
        "memo": "Klant sinds 1998.\nAltijd bellen.",
        "trade_name": "De Korst",
    }));
    let out = relation_to_relaties(&r, &config(), common::land).unwrap();
    assert_eq!(
        out[0].memo.as_deref(),
        Some("Klant sinds 1998.\nAltijd bellen.\nHandelsnaam: De Korst")
    );
}

#[test]
fn website_must_be_a_valid_url() {
    for bad in [
        "n.v.t.",
        "ftp://goudenkorst.nl",
        "https://localhost",
        "www.gouden korst.nl",
    ] {
        let r = relation(serde_json::json!({ "website": bad }));
        let problems = preflight::relation(&r, &config());
        let (path, kind) = one(&problems);
        assert_eq!(path, "website", "{bad}");
        assert!(
            matches!(kind, ProblemKind::InvalidUrl { .. }),
            "{bad}: {kind:?}"
        );
    }
}

#[test]
fn website_scheme_is_added_with_a_notice_or_refused_when_the_policy_is_off() {
    let r = relation(serde_json::json!({ "website": "www.goudenkorst.nl" }));
    let out = relation_to_relaties(&r, &config(), common::land).unwrap();
    assert_eq!(
        out[0].website_url.as_deref(),
        Some("https://www.goudenkorst.nl")
    );
    let n = notices::relation(&r, &config());
    assert_eq!(policies(&n), vec![("website", "fields.website_add_scheme")]);
    assert!(
        n[0].message.contains("https://www.goudenkorst.nl"),
        "{}",
        n[0]
    );

    let with_scheme = relation(serde_json::json!({ "website": "https://goudenkorst.nl" }));
    assert!(notices::relation(&with_scheme, &config()).is_empty());

    let mut off = config();
    off.fields.website_add_scheme = false;
    let problems = preflight::relation(&r, &off);
    assert_eq!(
        kinds(&problems),
        vec![(
            "website",
            &ProblemKind::InvalidUrl {
                value: "www.goudenkorst.nl".into()
            }
        )]
    );
    assert!(notices::relation(&r, &off).is_empty());
}

#[test]
fn a_kvk_number_with_a_restored_leading_zero_is_not_written() {
    let r = relation(serde_json::json!({ "kvk_number": "1234567" }));
    let problems = preflight::relation(&r, &config());
    assert_eq!(
        kinds(&problems),
        vec![(
            "kvk_number",
            &ProblemKind::KvkLeadingZeroRestored {
                restored: "01234567".into()
            }
        )]
    );
    let r = relation(serde_json::json!({ "kvk_number": "KvK 01234567" }));
    assert!(preflight::relation(&r, &config()).is_empty());
}

#[test]
fn vat_id_without_prefix_gets_the_prefix_with_a_notice_or_is_refused() {
    let r = relation(serde_json::json!({ "vat_number": "001234560B01" }));
    let out = relation_to_relaties(&r, &config(), common::land).unwrap();
    assert_eq!(out[0].btw_nummer.as_deref(), Some("NL001234560B01"));
    let n = notices::relation(&r, &config());
    assert_eq!(
        policies(&n),
        vec![("vat_number", "fields.vat_without_prefix")]
    );

    let mut reject = config();
    reject.fields.vat_without_prefix = VatWithoutPrefixPolicy::Reject;
    assert_eq!(
        kinds(&preflight::relation(&r, &reject)),
        vec![(
            "vat_number",
            &ProblemKind::VatPrefixMissing {
                inferred: "NL001234560B01".into()
            }
        )]
    );
    let prefixed = relation(serde_json::json!({ "vat_number": "NL001234560B01" }));
    assert!(preflight::relation(&prefixed, &reject).is_empty());
    assert!(notices::relation(&prefixed, &config()).is_empty());
}

#[test]
fn long_names_are_refused_by_default_and_truncated_with_a_notice() {
    let long = "Stichting Vrienden van het Openluchtmuseum Gelderland te Arnhem";
    let r = relation(serde_json::json!({
        "legal_name": long,
        "contacts": [ { "name": "Jonkheer Willem Alexander van Oranje-Nassau tot Amsberg" } ],
    }));
    let problems = preflight::relation(&r, &config());
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, vec!["legal_name", "contacts[0].name"]);
    assert!(notices::relation(&r, &config()).is_empty());

    let mut truncate = config();
    truncate.fields.long_name = LongNamePolicy::Truncate;
    let out = relation_to_relaties(&r, &truncate, common::land).unwrap();
    assert_eq!(out[0].naam.as_deref().map(str::len), Some(50));
    let n = notices::relation(&r, &truncate);
    assert_eq!(
        policies(&n),
        vec![
            ("legal_name", "fields.long_name"),
            ("contacts[0].name", "fields.long_name")
        ]
    );
    assert!(out[0].memo.as_deref().unwrap().contains(long));
}

#[test]
fn contact_fallbacks_and_unlisted_contacts_get_notices() {
    let r = relation(serde_json::json!({
        "contacts": [
            { "name": "Petra", "email": "petra@korst.nl", "phone": "033-7654321", "primary": true },
            { "name": "Kees" },
            { "name": "Anna" },
        ],
    }));
    let n = notices::relation(&r, &config());
    assert_eq!(
        policies(&n),
        vec![
            ("email", "contacts.email_fallback"),
            ("phone", "contacts.phone_fallback")
        ]
    );

    let mut few = config();
    few.contacts.max_listed_in_memo = 1;
    let n = notices::relation(&r, &few);
    assert_eq!(n.last().unwrap().path, "contacts[1]");
    assert_eq!(n.last().unwrap().policy, "contacts.max_listed_in_memo");

    let mut none = config();
    none.contacts.summarize_others_in_memo = false;
    none.contacts.email_fallback = false;
    none.contacts.phone_fallback = false;
    let n = notices::relation(&r, &none);
    assert_eq!(
        policies(&n),
        vec![
            ("contacts[2]", "contacts.summarize_others_in_memo"),
            ("contacts[1]", "contacts.summarize_others_in_memo")
        ]
    );
}

// ---------------------------------------------------------------- projects

#[test]
fn an_empty_project_description_is_required_never_replaced_by_the_number() {
    let p = Project::new("prj-1", "P-2024-017", "  ");
    let err = project_to_kostenplaats(&p, &MappingConfig::default()).unwrap_err();
    assert_eq!(
        kinds(err.as_slice()),
        vec![("description", &ProblemKind::Required)]
    );
}

#[test]
fn project_description_is_at_most_50_or_truncated_with_a_notice() {
    let long = "Verbouwing winkel Utrecht, tweede fase met nieuwe gevel";
    let p = Project::new("prj-1", "P-2024-017", long);
    assert_eq!(
        kinds(&preflight::project(&p, &MappingConfig::default())),
        vec![(
            "description",
            &ProblemKind::TooLong {
                max: 50,
                actual: long.chars().count()
            }
        )]
    );
    let mut truncate = MappingConfig::default();
    truncate.fields.long_name = LongNamePolicy::Truncate;
    let k = project_to_kostenplaats(&p, &truncate).unwrap();
    // Cut at 50 and the trailing blank removed.
    assert_eq!(
        k.omschrijving.as_deref(),
        Some("Verbouwing winkel Utrecht, tweede fase met nieuwe")
    );
    assert_eq!(
        policies(&notices::project(&p, &truncate)),
        vec![("description", "fields.long_name")]
    );
    assert!(notices::project(&p, &MappingConfig::default()).is_empty());
}

#[test]
fn kostenplaats_nummer_must_be_1_to_999999999() {
    for (number, kind) in [
        (
            "P-1234567890",
            ProblemKind::OutOfRange {
                value: 1_234_567_890,
                min: 1,
                max: 999_999_999,
            },
        ),
        (
            "P-0000",
            ProblemKind::OutOfRange {
                value: 0,
                min: 1,
                max: 999_999_999,
            },
        ),
        (
            "intern",
            ProblemKind::ProjectNotMappable {
                project: "intern".into(),
            },
        ),
        ("", ProblemKind::Required),
    ] {
        let p = Project::new("prj-1", number, "Project");
        assert_eq!(
            kinds(&preflight::project(&p, &MappingConfig::default())),
            vec![("number", &kind)],
            "{number}"
        );
    }
    let p = Project::new("prj-1", "P-99999999999999999999999", "Project");
    let problems = preflight::project(&p, &MappingConfig::default());
    assert!(matches!(
        one(&problems),
        ("number", ProblemKind::OutOfRange { .. })
    ));
}

#[test]
fn control_characters_in_a_project_are_refused() {
    let p = Project::new("prj-1", "P-2024-017", "Verbouwing\r\nwinkel");
    assert_eq!(
        kinds(&preflight::project(&p, &MappingConfig::default())),
        vec![("description", &control('\r'))]
    );
}

// ---------------------------------------------------------------- invoices

#[test]
fn an_invoice_needs_at_least_one_line() {
    let inv = sales(serde_json::json!({ "lines": [] }));
    assert_eq!(
        kinds(&sales_problems(&inv, &config())),
        vec![("lines", &ProblemKind::NoBookableLines)]
    );
    let inv = purchase(serde_json::json!({ "lines": [] }));
    assert_eq!(
        kinds(&purchase_problems(&inv, &config())),
        vec![("lines", &ProblemKind::NoBookableLines)]
    );
}

#[test]
fn a_zero_line_is_a_problem_never_dropped() {
    let lines = serde_json::json!([
        { "description": "Brood", "net_amount": "10.00", "vat_category": "laag" },
        { "description": "Gratis", "quantity": "2", "unit_price": "0.00", "vat_category": "laag" },
    ]);
    let inv = sales(serde_json::json!({ "lines": lines }));
    assert_eq!(
        kinds(&sales_problems(&inv, &config())),
        vec![("lines[1]", &ProblemKind::ZeroAmountLine)]
    );
    let inv = purchase(serde_json::json!({ "lines": lines }));
    assert_eq!(
        kinds(&purchase_problems(&inv, &config())),
        vec![("lines[1]", &ProblemKind::ZeroAmountLine)]
    );
}

#[test]
fn only_euro_is_booked() {
    for ok in [None, Some("EUR"), Some("eur"), Some(" Eur ")] {
        let inv = sales(serde_json::json!({ "currency": ok }));
        assert!(sales_problems(&inv, &config()).is_empty(), "{ok:?}");
    }
    let inv = sales(serde_json::json!({ "currency": "USD" }));
    assert_eq!(
        kinds(&sales_problems(&inv, &config())),
        vec![(
            "currency",
            &ProblemKind::UnsupportedCurrency {
                value: "USD".into()
            }
        )]
    );
    let inv = purchase(serde_json::json!({ "currency": "GBP" }));
    assert_eq!(one(&purchase_problems(&inv, &config())).0, "currency");
}

#[test]
fn a_due_date_before_the_invoice_date_is_refused_on_purchases_too() {
    let inv = purchase(serde_json::json!({ "due_date": "2024-04-30" }));
    assert_eq!(
        kinds(&purchase_problems(&inv, &config())),
        vec![("due_date", &ProblemKind::DueDateBeforeInvoiceDate)]
    );
    let inv = purchase(serde_json::json!({ "due_date": "2024-05-01" }));
    assert!(purchase_problems(&inv, &config()).is_empty());
    let inv = sales(serde_json::json!({ "due_date": "2024-04-30" }));
    assert_eq!(one(&sales_problems(&inv, &config())).0, "due_date");
}

#[test]
fn a_purchase_due_date_or_term_is_said_not_written() {
    // SnelStart's inkoopboeking has no due date or term: the CRM hears it, nothing is dropped
    // in silence.
    let inv = purchase(serde_json::json!({ "due_date": "2024-05-31", "payment_term_days": 30 }));
    assert_eq!(
        policies(&notices::purchase_invoice(&inv, &config())),
        vec![
            ("due_date", "snelstart.inkoopboeking"),
            ("payment_term_days", "snelstart.inkoopboeking")
        ]
    );
    assert!(notices::purchase_invoice(&purchase(serde_json::json!({})), &config()).is_empty());
}

#[test]
fn factuurnummer_is_1_to_25_characters() {
    let inv = sales(serde_json::json!({ "number": "F".repeat(26) }));
    assert_eq!(
        kinds(&sales_problems(&inv, &config())),
        vec![(
            "number",
            &ProblemKind::TooLong {
                max: 25,
                actual: 26
            }
        )]
    );
    let inv = purchase(serde_json::json!({ "number": " " }));
    assert_eq!(
        kinds(&purchase_problems(&inv, &config())),
        vec![("number", &ProblemKind::Required)]
    );
    let inv = sales(serde_json::json!({ "number": "F".repeat(25) }));
    assert!(sales_problems(&inv, &config()).is_empty());
}

#[test]
fn a_booking_more_than_5_years_before_the_financial_year_is_refused() {
    let inv = sales(serde_json::json!({ "date": "2018-12-31" }));
    let problems = preflight::sales_invoice(&inv, &config(), None, &BookingContext::new(2024));
    assert_eq!(
        kinds(&problems),
        vec![(
            "date",
            &ProblemKind::DateTooOld {
                current_financial_year: 2024,
                earliest_year: 2019
            }
        )]
    );
    let inv = sales(serde_json::json!({ "date": "2019-01-01" }));
    assert!(preflight::sales_invoice(&inv, &config(), None, &BookingContext::new(2024)).is_empty());
    let inv = purchase(serde_json::json!({ "date": "2010-01-01" }));
    assert_eq!(
        one(&preflight::purchase_invoice(
            &inv,
            &config(),
            None,
            &BookingContext::new(2024)
        ))
        .0,
        "date"
    );
    // Not checked without the administration's year.
    assert!(
        preflight::purchase_invoice(
            &inv,
            &config(),
            None,
            &BookingContext::without_financial_year()
        )
        .is_empty()
    );
}

#[test]
fn attachments_are_checked_before_the_booking_is_written() {
    let pdf = || b"%PDF-1.7".to_vec();
    for (name, kind) in [
        ("", ProblemKind::Required),
        (
            "factuur/2024.pdf",
            ProblemKind::InvalidFileNameCharacter { character: '/' },
        ),
        (
            "factuur:1.pdf",
            ProblemKind::InvalidFileNameCharacter { character: ':' },
        ),
        (
            "f*.pdf",
            ProblemKind::InvalidFileNameCharacter { character: '*' },
        ),
        (
            "f?.pdf",
            ProblemKind::InvalidFileNameCharacter { character: '?' },
        ),
        (
            "\"f\".pdf",
            ProblemKind::InvalidFileNameCharacter { character: '"' },
        ),
        (
            "<f>.pdf",
            ProblemKind::InvalidFileNameCharacter { character: '<' },
        ),
        (
            "f|g.pdf",
            ProblemKind::InvalidFileNameCharacter { character: '|' },
        ),
        (
            "f\\g.pdf",
            ProblemKind::InvalidFileNameCharacter { character: '\\' },
        ),
        ("f\u{1}.pdf", control('\u{1}')),
    ] {
        let mut inv = sales(serde_json::json!({}));
        inv.attachments = vec![Attachment::new(name, pdf())];
        assert_eq!(
            kinds(&sales_problems(&inv, &config())),
            vec![("attachments[0].file_name", &kind)],
            "{name:?}"
        );
    }
    let mut inv = purchase(serde_json::json!({}));
    inv.attachments = vec![
        Attachment::new("ok.pdf", pdf()),
        Attachment::new(format!("{}.pdf", "a".repeat(252)), pdf()),
        Attachment::new("groot.pdf", vec![0; limits::ATTACHMENT_BYTES + 1]),
    ];
    assert_eq!(
        kinds(&purchase_problems(&inv, &config())),
        vec![
            (
                "attachments[1].file_name",
                &ProblemKind::TooLong {
                    max: 255,
                    actual: 256
                }
            ),
            (
                "attachments[2].content",
                &ProblemKind::AttachmentTooLarge {
                    bytes: limits::ATTACHMENT_BYTES + 1
                }
            ),
        ]
    );
    inv.attachments = vec![Attachment::new(format!("{}.pdf", "a".repeat(251)), pdf())];
    assert!(purchase_problems(&inv, &config()).is_empty());
}

#[test]
fn control_characters_in_invoice_texts_are_refused() {
    let inv = sales(serde_json::json!({
        "number": "F\u{0}1",
        "description": "Levering\u{1b}",
        "lines": [ { "description": "Brood\nwit", "net_amount": "10.00", "vat_category": "laag",
                     "category": "om\u{7}zet", "project": "P\u{0}1" } ],
    }));
    let problems = sales_problems(&inv, &config());
    let got: Vec<&str> = problems
        .iter()
        .filter(|p| matches!(p.kind, ProblemKind::ControlCharacter { .. }))
        .map(|p| p.path.as_str())
        .collect();
    assert_eq!(
        got,
        vec![
            "number",
            "description",
            "lines[0].description",
            "lines[0].category",
            "lines[0].project"
        ]
    );
}

#[test]
fn amounts_and_quantities_beyond_sane_bounds_are_problems_naming_the_field() {
    let line = |json: serde_json::Value| {
        let mut l = serde_json::json!({ "description": "x", "vat_category": "hoog" });
        for (k, v) in json.as_object().unwrap() {
            l[k] = v.clone();
        }
        l
    };
    let big = ProblemKind::AmountTooLarge {
        limit: limits::AMOUNT,
    };
    let many = ProblemKind::AmountTooLarge {
        limit: limits::QUANTITY,
    };
    for (l, path, kind) in [
        (
            line(serde_json::json!({ "net_amount": "100000000000" })),
            "lines[0].net_amount",
            &big,
        ),
        (
            line(serde_json::json!({ "net_amount": "-100000000000.00" })),
            "lines[0].net_amount",
            &big,
        ),
        (
            line(serde_json::json!({ "quantity": "1", "unit_price": "100000000000" })),
            "lines[0].unit_price",
            &big,
        ),
        (
            line(serde_json::json!({ "quantity": "1000000000", "unit_price": "1" })),
            "lines[0].quantity",
            &many,
        ),
        (
            line(serde_json::json!({ "quantity": "999999999", "unit_price": "99999999999" })),
            "lines[0]",
            &big,
        ),
    ] {
        let inv = sales(serde_json::json!({ "lines": [l] }));
        assert_eq!(kinds(&sales_problems(&inv, &config())), vec![(path, kind)]);
    }
    // Each line fits, the sum does not.
    let l = line(serde_json::json!({ "net_amount": "60000000000" }));
    let inv = sales(serde_json::json!({ "lines": [l, l] }));
    assert_eq!(
        kinds(&sales_problems(&inv, &config())),
        vec![("lines", &big)]
    );
    // Decimal's extremes: problems, not panics.
    let mut inv = sales(serde_json::json!({}));
    inv.lines = vec![InvoiceLine::priced(
        "x",
        Decimal::MAX,
        Money::round_from(Decimal::MAX),
        VatCategory::Hoog,
    )];
    assert!(!sales_problems(&inv, &config()).is_empty());
}

// ---------------------------------------------------------------- credit notes

fn lines(rows: &[(&str, &str)]) -> serde_json::Value {
    serde_json::Value::Array(
        rows.iter()
            .map(|(q, p)| {
                serde_json::json!({ "description": "x", "quantity": q, "unit_price": p,
                                    "vat_category": "hoog" })
            })
            .collect(),
    )
}

fn negative_amounts() -> MappingConfig {
    let mut c = config();
    c.invoices.credit_note_sign = CreditNoteSign::NegativeAmounts;
    c
}

#[test]
fn positive_with_flag_refuses_negative_quantities_and_wrong_totals() {
    let pwf = CreditNoteSign::PositiveWithFlag;
    // A credit note written with negative quantities.
    let inv =
        sales(serde_json::json!({ "kind": "credit_note", "lines": lines(&[("-2", "50.00")]) }));
    let problems = sales_problems(&inv, &config());
    assert_eq!(
        kinds(&problems),
        vec![
            (
                "lines[0].quantity",
                &ProblemKind::NegativeQuantity {
                    invoice_kind: InvoiceKind::CreditNote,
                    convention: pwf
                }
            ),
            (
                "lines",
                &ProblemKind::TotalSign {
                    invoice_kind: InvoiceKind::CreditNote,
                    convention: pwf,
                    total: Money::from_cents(-10_000)
                }
            ),
        ]
    );
    // The message names the setting that would accept it.
    assert!(
        problems[0].to_string().contains("negative_amounts"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].to_string().contains("negative_amounts"),
        "{}",
        problems[1]
    );

    // A negative quantity on an ordinary invoice.
    let inv = sales(serde_json::json!({ "lines": lines(&[("3", "50.00"), ("-1", "10.00")]) }));
    assert_eq!(
        kinds(&sales_problems(&inv, &config())),
        vec![(
            "lines[1].quantity",
            &ProblemKind::NegativeQuantity {
                invoice_kind: InvoiceKind::Invoice,
                convention: pwf
            }
        )]
    );
    // An invoice whose total is negative.
    let inv = purchase(serde_json::json!({ "lines": [
        { "description": "x", "net_amount": "-40.00", "vat_category": "hoog" } ] }));
    let problems = purchase_problems(&inv, &config());
    assert!(matches!(
        one(&problems),
        ("lines", ProblemKind::TotalSign { .. })
    ));
    assert!(
        problems[0].to_string().contains("credit_note"),
        "{}",
        problems[0]
    );
}

#[test]
fn positive_with_flag_books_a_credit_note_negative() {
    let inv =
        sales(serde_json::json!({ "kind": "credit_note", "lines": lines(&[("2", "50.00")]) }));
    let plan = plan_sales_invoice(&inv, &config(), None, &ctx()).unwrap();
    assert_eq!(plan.lines[0].amount, Money::from_cents(-10_000));
    assert_eq!(plan.total, Money::from_cents(-12_100));
}

#[test]
fn negative_amounts_books_credit_notes_as_written() {
    let na = CreditNoteSign::NegativeAmounts;
    let written =
        sales(serde_json::json!({ "kind": "credit_note", "lines": lines(&[("-2", "50.00")]) }));
    let plan = plan_sales_invoice(&written, &negative_amounts(), None, &ctx()).unwrap();
    assert_eq!(plan.lines[0].amount, Money::from_cents(-10_000));
    assert_eq!(plan.total, Money::from_cents(-12_100));
    // The same credit note under the other convention gives the same booking.
    let flagged =
        sales(serde_json::json!({ "kind": "credit_note", "lines": lines(&[("2", "50.00")]) }));
    let other = plan_sales_invoice(&flagged, &config(), None, &ctx()).unwrap();
    assert_eq!(plan.lines, other.lines);
    assert_eq!(plan.vat_lines, other.vat_lines);
    assert_eq!(plan.total, other.total);

    // A credit note with a positive total contradicts the convention.
    let problems = sales_problems(&flagged, &negative_amounts());
    assert_eq!(
        kinds(&problems),
        vec![(
            "lines",
            &ProblemKind::TotalSign {
                invoice_kind: InvoiceKind::CreditNote,
                convention: na,
                total: Money::from_cents(10_000)
            }
        )]
    );
    assert!(
        problems[0].to_string().contains("positive_with_flag"),
        "{}",
        problems[0]
    );
    // So does an invoice with a negative total.
    let inv = purchase(serde_json::json!({ "lines": lines(&[("-2", "50.00")]) }));
    assert!(matches!(
        one(&purchase_problems(&inv, &negative_amounts())),
        ("lines", ProblemKind::TotalSign { .. })
    ));
}

#[test]
fn discount_lines_are_allowed_under_both_conventions() {
    let discount = serde_json::json!([
        { "description": "Brood", "net_amount": "100.00", "vat_category": "laag" },
        { "description": "Korting", "quantity": "1", "unit_price": "-10.00", "vat_category": "laag" },
    ]);
    for config in [config(), negative_amounts()] {
        let inv = sales(serde_json::json!({ "lines": discount }));
        let plan = plan_sales_invoice(&inv, &config, None, &ctx()).unwrap();
        assert_eq!(plan.net_total(), Money::from_cents(9_000));
        let inv = purchase(serde_json::json!({ "lines": discount }));
        assert!(plan_purchase_invoice(&inv, &config, None, &ctx()).is_ok());
    }
    // A discount as a negative quantity is a negative_amounts convention.
    let inv = sales(serde_json::json!({ "lines": lines(&[("3", "50.00"), ("-1", "10.00")]) }));
    assert!(plan_sales_invoice(&inv, &negative_amounts(), None, &ctx()).is_ok());
}

#[test]
fn the_derived_booking_description_gets_a_notice() {
    let inv = sales(serde_json::json!({ "description": null }));
    let plan = plan_sales_invoice(&inv, &config(), None, &ctx()).unwrap();
    assert_eq!(plan.description, "Factuur F2024-001");
    assert_eq!(
        policies(&plan.notices),
        vec![("description", "fields.booking_description_prefix")]
    );
    assert_eq!(notices::sales_invoice(&inv, &config()), plan.notices);
    let inv = purchase(serde_json::json!({}));
    assert!(notices::purchase_invoice(&inv, &config()).is_empty());
}

#[test]
fn notices_name_the_record_and_serialize() {
    let r = relation(serde_json::json!({ "website": "korst.nl" }));
    let n = notices::relation(&r, &config());
    let json = serde_json::to_value(&n[0]).unwrap();
    assert_eq!(json["record"]["kind"], "relation");
    assert_eq!(json["record"]["id"], "crm-1");
    assert_eq!(json["path"], "website");
    assert_eq!(json["policy"], "fields.website_add_scheme");
    assert!(
        n[0].to_string().starts_with("relation crm-1 website: "),
        "{}",
        n[0]
    );
}

// ---------------------------------------------------------------- no panics

fn arb_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            0u32..=28
        )
            .prop_map(|(lo, mid, hi, neg, scale)| Decimal::from_parts(lo, mid, hi, neg, scale)),
        (-1_000_000_000i64..1_000_000_000, 0u32..4).prop_map(|(n, s)| Decimal::new(n, s)),
        Just(Decimal::MAX),
        Just(Decimal::MIN),
        Just(Decimal::ZERO),
    ]
}

fn arb_line() -> impl Strategy<Value = InvoiceLine> {
    (
        prop::option::of(arb_decimal()),
        prop::option::of(arb_decimal()),
        prop::option::of(arb_decimal()),
        prop::sample::select(VatCategory::ALL.to_vec()),
    )
        .prop_map(|(q, p, n, vat)| {
            let mut l = InvoiceLine::net("x", Money::ZERO, vat);
            l.quantity = q;
            l.unit_price = p.map(Money::round_from);
            l.net_amount = n.map(Money::round_from);
            l
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// No invoice, whatever its amounts, makes pre-flight or conversion panic; a plan that
    /// comes out balances.
    #[test]
    fn no_amount_panics_preflight_or_conversion(
        lines in prop::collection::vec(arb_line(), 0..6),
        credit in any::<bool>(),
        negative in any::<bool>(),
    ) {
        let mut config = config();
        if negative {
            config.invoices.credit_note_sign = CreditNoteSign::NegativeAmounts;
        }
        let chart = common::mock_chart();
        let mut inv = sales(serde_json::json!({}));
        inv.lines = lines.clone();
        if credit {
            inv.kind = InvoiceKind::CreditNote;
        }
        let _ = preflight::sales_invoice(&inv, &config, Some(&chart), &ctx());
        let _ = notices::sales_invoice(&inv, &config);
        if let Ok(plan) = plan_sales_invoice(&inv, &config, None, &ctx()) {
            prop_assert_eq!(plan.total, plan.net_total() + plan.vat_total());
        }
        let booking = mapping::convert::sales_invoice_to_verkoopboeking(
            &inv, &config, &chart, &ctx(), snelstart_client::RelatieId::from_uuid(common::fixed(1)),
        );
        if let Ok(b) = booking {
            prop_assert!(b.is_balanced());
        }
        let mut pinv = purchase(serde_json::json!({}));
        pinv.lines = lines;
        let _ = preflight::purchase_invoice(&pinv, &config, Some(&chart), &ctx());
        let _ = mapping::convert::purchase_invoice_to_inkoopboeking(
            &pinv, &config, &chart, &ctx(), snelstart_client::RelatieId::from_uuid(common::fixed(7)),
        );
    }
}

#[test]
fn derived_relation_values_get_notices() {
    use mapping::config::BothKindsPolicy;
    let both = relation(serde_json::json!({ "kind": "both" }));
    assert_eq!(
        policies(&notices::relation(&both, &config())),
        vec![("kind", "both_kinds")]
    );
    let mut reject = config();
    reject.both_kinds = BothKindsPolicy::Reject;
    assert!(notices::relation(&both, &reject).is_empty());
    assert_eq!(
        kinds(&preflight::relation(&both, &reject)),
        vec![("kind", &ProblemKind::BothKindsRefused)]
    );

    let r = relation(serde_json::json!({
        "visit_address": { "street": "Dorpsstraat", "house_number": "1", "postcode": "3811 AB",
                           "city": "Amersfoort" },
    }));
    assert!(notices::relation(&r, &config()).is_empty());
    let mut derived = config();
    derived.fields.default_payment_term_days = Some(30);
    derived.fields.postal_falls_back_to_visit = true;
    assert_eq!(
        policies(&notices::relation(&r, &derived)),
        vec![
            ("payment_term_days", "fields.default_payment_term_days"),
            ("postal_address", "fields.postal_falls_back_to_visit"),
        ]
    );
    let out = relation_to_relaties(&r, &derived, common::land).unwrap();
    assert_eq!(out[0].krediettermijn, Some(30));
    assert!(out[0].correspondentie_adres.is_some());
}

/// Second independent check (issue 9): a BIC of 7 characters passed pre-flight and SnelStart
/// answered REL-0010.
#[test]
fn a_bic_must_have_the_shape_of_a_bic() {
    for bad in ["RABONL2", "RABONL2UX", "12BONL2U", "RABO NL2U"] {
        let r = relation(serde_json::json!({ "bic": bad }));
        let problems = preflight::relation(&r, &config());
        assert_eq!(one(&problems).0, "bic", "{bad}");
        assert!(
            matches!(one(&problems).1, ProblemKind::InvalidBic { .. }),
            "{bad}"
        );
    }
    for good in ["RABONL2U", "rabonl2u", "ABNANL2AXXX"] {
        let r = relation(serde_json::json!({ "bic": good }));
        assert!(preflight::relation(&r, &config()).is_empty(), "{good}");
    }
}

/// Second independent check (issue 9): a supplier's credit limit (SnelStart keeps one for
/// customers only) went to the memo without a word.
#[test]
fn a_suppliers_credit_limit_is_told_not_dropped() {
    let r = relation(serde_json::json!({ "kind": "supplier", "credit_limit": "5000.00" }));
    assert_eq!(
        policies(&notices::relation(&r, &config())),
        vec![("credit_limit", "snelstart.relatie")]
    );
    let out = mapping::convert::relation_to_relaties(&r, &config(), |_| None).unwrap();
    assert!(out[0].memo.as_deref().unwrap().contains("5000.00"));
    let customer = relation(serde_json::json!({ "credit_limit": "5000.00" }));
    assert!(notices::relation(&customer, &config()).is_empty());
}

/// Second independent check (issue 9): SnelStart's contact person is a name only; the kept
/// contact's role and e-mail were dropped.
#[test]
fn the_kept_contacts_details_go_in_the_memo() {
    let r = relation(serde_json::json!({
        "email": "info@korst.nl",
        "contacts": [ { "name": "Anna de Wit", "role": "Inkoop", "email": "anna@korst.nl" } ],
    }));
    let out = mapping::convert::relation_to_relaties(&r, &config(), |_| None).unwrap();
    let memo = out[0].memo.as_deref().unwrap();
    assert!(
        memo.contains("Contactpersoon: Anna de Wit (Inkoop), anna@korst.nl"),
        "{memo}"
    );
}
