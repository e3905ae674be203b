//! The mapping configuration: load, validate, validate against a chart, diff, backup.

mod common;

use chrono::{TimeZone, Utc};
use crm_model::VatCategory;
use mapping::config::{
    BothKindsPolicy, ConfigBackup, ConfigChange, ConfigError, ConfigProblemKind, CreditNoteSign,
    LedgerRule, LineVatKind, MappingConfig, ProjectRule, VatLineKind, VatWithoutPrefixPolicy, diff,
};

#[test]
fn mock_default_roundtrips_through_toml_and_json() {
    let config = MappingConfig::default_for_mock();
    let toml = config.to_toml_string().unwrap();
    assert_eq!(
        MappingConfig::from_toml_str(&toml).unwrap(),
        config,
        "{toml}"
    );
    let json = config.to_json_string();
    assert_eq!(MappingConfig::from_json_str(&json).unwrap(), config);
}

#[test]
fn mock_default_fits_the_mock_chart() {
    let report = MappingConfig::default_for_mock().validate_against(&common::mock_chart());
    assert!(report.is_ok(), "{:?}", report.problems);
    let required: Vec<u32> = report
        .cost_centre_required
        .iter()
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(required, vec![8100, 4400]);
}

#[test]
fn empty_document_is_the_default() {
    assert_eq!(
        MappingConfig::from_toml_str("").unwrap(),
        MappingConfig::default()
    );
    assert_eq!(
        MappingConfig::from_json_str("{}").unwrap(),
        MappingConfig::default()
    );
}

#[test]
fn unknown_keys_are_refused_with_their_name() {
    let err = MappingConfig::from_toml_str("[fields]\nlong_nam = \"truncate\"\n").unwrap_err();
    assert!(matches!(err, ConfigError::Toml(_)));
    assert!(err.to_string().contains("long_nam"), "{err}");
}

#[test]
fn newer_schema_version_is_reported_as_such_even_with_new_keys() {
    let err = MappingConfig::from_toml_str("schema_version = 2\n[future]\nx = 1\n").unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::UnsupportedSchemaVersion {
                found: 2,
                supported: 1
            }
        ),
        "{err}"
    );
    let err = MappingConfig::from_json_str(r#"{"schema_version": 0}"#).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::UnsupportedSchemaVersion { found: 0, .. }
    ));
}

#[test]
fn policies_parse_from_toml() {
    let toml = r#"
[fields]
long_name = "truncate"
name_source = "trade_name"

[projects]
mode = "table"
numbers = { "P-1" = 101, "P-2" = 102 }

[relatiecode]
mode = "from_crm_number"
fallback_to_snelstart = true

[both_kinds]
mode = "two_relations"
supplier_relatiecode_offset = 500000
"#;
    let config = MappingConfig::from_toml_str(toml).unwrap();
    assert_eq!(config.kostenplaats_nummer("P-2"), Some(102));
    assert_eq!(config.kostenplaats_nummer("P-3"), None);
    assert_eq!(
        config.both_kinds,
        BothKindsPolicy::TwoRelations {
            supplier_relatiecode_offset: 500_000
        }
    );
}

#[test]
fn structural_validation_reports_every_problem_with_paths() {
    let mut config = MappingConfig::default_for_mock();
    config
        .ledgers
        .revenue
        .push(LedgerRule::new("omzet", Some(VatCategory::Hoog), 8001));
    config
        .ledgers
        .revenue
        .push(LedgerRule::new("extra", None, 0));
    config.ledgers.cost.retain(|r| r.category != "inkoop");
    config.vat.rules[0].vat_line = VatLineKind::Verlegd;
    config.projects = ProjectRule::Table {
        numbers: [("P".to_owned(), 0u32)].into_iter().collect(),
    };
    config.matching.review_threshold = config.matching.match_threshold + 1;

    let problems = config.validate();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "ledgers.revenue[8]",
            "ledgers.revenue[9].ledger",
            "vat.rules[0].vat_line",
            "projects.numbers.P",
            "matching",
        ]
    );
    assert!(problems.iter().any(|p| p.kind
        == ConfigProblemKind::DuplicateLedgerRule {
            category: "omzet".into(),
            vat: Some(VatCategory::Hoog)
        }));
    // Removing the catch-all cost rule leaves the default cost category unable to book
    // most VAT categories: advisory, not an error.
    let gaps: Vec<_> = config.coverage_gaps().into_iter().map(|p| p.kind).collect();
    assert!(gaps.contains(&ConfigProblemKind::DefaultCategoryUncovered {
        category: "inkoop".into(),
        vat: VatCategory::Export
    }));
    assert!(MappingConfig::default_for_mock().coverage_gaps().is_empty());
    // Loading refuses it as a whole, listing them all.
    let err = MappingConfig::from_json_str(&config.to_json_string()).unwrap_err();
    let ConfigError::Invalid(listed) = err else {
        panic!("{err}")
    };
    assert_eq!(listed, problems);
}

#[test]
fn chart_validation_finds_missing_inactive_and_wrong_vat_ledgers() {
    let mut config = MappingConfig::default_for_mock();
    config
        .ledgers
        .revenue
        .push(LedgerRule::new("oud", None, 9999));
    // Laag revenue on the hoog-only ledger.
    config
        .ledgers
        .revenue
        .push(LedgerRule::new("fout", Some(VatCategory::Laag), 8000));
    let mut chart = common::mock_chart();
    let report = config.validate_against(&chart);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.path == "ledgers.revenue[8].ledger"
                && p.kind == ConfigProblemKind::LedgerNotFound(9999))
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.path == "ledgers.revenue[9].ledger"
                && p.kind
                    == ConfigProblemKind::VatKindNotAllowed {
                        ledger: 8000,
                        vat: VatCategory::Laag,
                        line: LineVatKind::Laag
                    })
    );
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);

    let mut inactive = chart.ledger(8010).unwrap().clone();
    inactive.active = false;
    chart = mapping::config::ChartOfAccounts::new(
        common::mock_chart()
            .ledger(8000)
            .cloned()
            .into_iter()
            .chain([inactive]),
        [],
    );
    let report = MappingConfig::default_for_mock().validate_against(&chart);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.kind == ConfigProblemKind::LedgerInactive(8010))
    );
}

#[test]
fn diff_keys_rules_by_what_they_are_about() {
    let old = MappingConfig::default_for_mock();
    let mut new = old.clone();
    assert!(diff(&old, &new).is_empty());

    // Reordering rules is no change.
    new.ledgers.revenue.reverse();
    assert!(diff(&old, &new).is_empty());

    for rule in &mut new.ledgers.revenue {
        if rule.category == "omzet" && rule.vat == Some(VatCategory::Hoog) {
            rule.ledger = 8001;
        }
    }
    new.ledgers.cost.push(LedgerRule::new("reis", None, 4200));
    new.fields.default_payment_term_days = Some(30);
    new.both_kinds = BothKindsPolicy::SupplierOnly;

    let changes = diff(&old, &new);
    let shown: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        vec![
            "~ both_kinds.mode: \"customer_only\" -> \"supplier_only\"",
            "~ fields.default_payment_term_days: null -> 30",
            "+ ledgers.cost[reis/*]: {\"category\":\"reis\",\"ledger\":4200,\"vat\":null}",
            "~ ledgers.revenue[omzet/hoog].ledger: 8000 -> 8001",
        ]
    );
    assert!(
        matches!(&changes[3], ConfigChange::Changed { path, .. } if path == "ledgers.revenue[omzet/hoog].ledger")
    );
}

#[test]
fn backup_roundtrip_and_refusals() {
    let at = Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap();
    let backup = ConfigBackup::new(
        MappingConfig::default_for_mock(),
        at,
        Some("admin 1".into()),
    );
    let json = backup.to_json_string();
    assert_eq!(ConfigBackup::from_json_str(&json).unwrap(), backup);

    let wrong = json.replace("snelstart-sync/mapping-backup", "something-else");
    assert!(matches!(
        ConfigBackup::from_json_str(&wrong),
        Err(ConfigError::NotABackup(_))
    ));
    let newer = json.replace("\"backup_version\": 1", "\"backup_version\": 7");
    assert!(matches!(
        ConfigBackup::from_json_str(&newer),
        Err(ConfigError::NotABackup(_))
    ));
    let invalid = json.replace("\"ledger\": 8000", "\"ledger\": 0");
    assert!(matches!(
        ConfigBackup::from_json_str(&invalid),
        Err(ConfigError::Invalid(_))
    ));
}

#[test]
fn chart_from_snelstart_read_models() {
    use snelstart_client::models::{Grootboek, Kostenplaats};
    let ledgers: Vec<Grootboek> = serde_json::from_value(serde_json::json!([
        { "id": "00000000-0000-0000-0000-000000008000", "nummer": 8000, "omschrijving": "Omzet hoog",
          "btwSoort": ["Hoog"], "kostenplaatsVerplicht": false, "nonactief": false },
        { "id": "00000000-0000-0000-0000-000000008010", "nummer": 8010, "omschrijving": "Omzet laag",
          "btwSoort": ["Laag"], "kostenplaatsVerplicht": true, "nonactief": true },
        { "id": "00000000-0000-0000-0000-000000009000", "nummer": 9000, "btwSoort": [] },
        { "nummer": 9100, "omschrijving": "no id: cannot be referenced" }
    ]))
    .unwrap();
    let cost_centres: Vec<Kostenplaats> = serde_json::from_value(serde_json::json!([
        { "id": "00000000-0000-0000-0000-000000000017", "nummer": 17, "omschrijving": "P17", "nonactief": true }
    ]))
    .unwrap();
    let chart = mapping::config::ChartOfAccounts::from_snelstart(&ledgers, &cost_centres);

    let hoog = chart.ledger(8000).unwrap();
    assert!(hoog.active && hoog.allows(LineVatKind::Hoog) && !hoog.allows(LineVatKind::Laag));
    let laag = chart.ledger(8010).unwrap();
    assert!(!laag.active && laag.cost_centre_required);
    // An empty btwSoort list is "not reported", so nothing is refused on it.
    assert!(chart.ledger(9000).unwrap().allows(LineVatKind::Overig));
    assert!(chart.ledger(9100).is_none());
    assert!(!chart.cost_centre(17).unwrap().active);

    let mut config = MappingConfig::default();
    config.ledgers.revenue = vec![
        LedgerRule::new("omzet", Some(VatCategory::Hoog), 8000),
        LedgerRule::new("omzet", Some(VatCategory::Laag), 8010),
    ];
    let report = config.validate_against(&chart);
    assert_eq!(
        report.problems.iter().map(|p| &p.kind).collect::<Vec<_>>(),
        vec![&ConfigProblemKind::LedgerInactive(8010)]
    );
    assert_eq!(
        report.cost_centre_required,
        vec![("ledgers.revenue[1].ledger".to_owned(), 8010)]
    );
}

#[test]
fn matching_rules_feed_the_matcher() {
    let defaults = MappingConfig::default().matching.to_match_config();
    let matcher_defaults = mapping::matching::MatchConfig::default();
    assert_eq!(defaults.match_threshold, matcher_defaults.match_threshold);
    assert_eq!(defaults.review_threshold, matcher_defaults.review_threshold);
    assert_eq!(defaults.ambiguity_margin, matcher_defaults.ambiguity_margin);

    let config = MappingConfig::from_toml_str(
        "[matching]\nmatch_threshold = 70\nreview_threshold = 30\nextra_freemail = [\"kpnmail.nl\"]\n",
    )
    .unwrap();
    let m = config.matching.to_match_config();
    assert_eq!((m.match_threshold, m.review_threshold), (70, 30));
    assert_eq!(m.extra_freemail, vec!["kpnmail.nl".to_owned()]);
}

#[test]
fn strict_writing_policies_parse_roundtrip_and_diff() {
    let defaults = MappingConfig::default();
    assert_eq!(
        defaults.fields.vat_without_prefix,
        VatWithoutPrefixPolicy::AddPrefix
    );
    assert_eq!(
        defaults.invoices.credit_note_sign,
        CreditNoteSign::PositiveWithFlag
    );

    let toml = r#"
[fields]
vat_without_prefix = "reject"
website_add_scheme = false

[invoices]
credit_note_sign = "negative_amounts"
"#;
    let config = MappingConfig::from_toml_str(toml).unwrap();
    assert_eq!(
        config.fields.vat_without_prefix,
        VatWithoutPrefixPolicy::Reject
    );
    assert_eq!(
        config.invoices.credit_note_sign,
        CreditNoteSign::NegativeAmounts
    );
    assert!(!config.fields.website_add_scheme);

    let again = MappingConfig::from_toml_str(&config.to_toml_string().unwrap()).unwrap();
    assert_eq!(again, config);
    let json = config.to_json_string();
    assert!(
        json.contains("\"credit_note_sign\": \"negative_amounts\""),
        "{json}"
    );
    assert_eq!(MappingConfig::from_json_str(&json).unwrap(), config);

    let shown: Vec<String> = diff(&defaults, &config)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        vec![
            "~ fields.vat_without_prefix: \"add_prefix\" -> \"reject\"",
            "~ fields.website_add_scheme: true -> false",
            "~ invoices.credit_note_sign: \"positive_with_flag\" -> \"negative_amounts\"",
        ]
    );
}

#[test]
fn strict_writing_policies_refuse_unknown_keys_and_values() {
    for bad in [
        "[invoices]\ncredit_note_sing = \"negative_amounts\"\n",
        "[invoices]\ncredit_note_sign = \"negative\"\n",
        "[fields]\nvat_without_prefix = \"guess\"\n",
        "[fields]\nlong_memo = \"truncate\"\n",
    ] {
        let err = MappingConfig::from_toml_str(bad).unwrap_err();
        assert!(matches!(err, ConfigError::Toml(_)), "{bad}: {err}");
    }
    let err = MappingConfig::from_json_str(r#"{"invoices": {"sign": "x"}}"#).unwrap_err();
    assert!(err.to_string().contains("sign"), "{err}");
}

/// A CRM relation that is both customer and supplier links to the SnelStart half the mapping
/// writes it as (issue 10 follow-up).
#[test]
fn the_match_config_follows_the_both_kinds_policy() {
    use mapping::config::BothKindsPolicy;
    use mapping::matching::MatchKind;
    let mut config = MappingConfig::default();
    assert_eq!(config.match_config().both_kinds_link, MatchKind::Customer);
    config.both_kinds = BothKindsPolicy::SupplierOnly;
    assert_eq!(config.match_config().both_kinds_link, MatchKind::Supplier);
}
