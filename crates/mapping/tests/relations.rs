//! Relations → SnelStart relaties, pre-flight of relations and projects, contact collapse.

mod common;

use chrono::{TimeZone, Utc};
use crm_model::{Address, Contact, Money, Project, Relation, RelationKind};
use mapping::config::{
    BothKindsPolicy, LongNamePolicy, MappingConfig, NameSource, RelatiecodePolicy,
};
use mapping::contacts::choose_contact;
use mapping::convert::{project_to_kostenplaats, relation_to_relaties};
use mapping::preflight::{self, ProblemKind};
use proptest::prelude::*;
use snelstart_client::models::Relatiesoort;

#[test]
fn customer_becomes_one_klant_with_joined_street_and_primary_contact() {
    let rel = common::bakkerij();
    let out = relation_to_relaties(&rel, &MappingConfig::default(), common::land).unwrap();
    assert_eq!(out.len(), 1);
    let r = &out[0];
    assert_eq!(r.relatiesoort, Some(vec![Relatiesoort::Klant]));
    assert_eq!(r.naam.as_deref(), Some("Bakkerij De Gouden Korst B.V."));
    let adres = r.vestigings_adres.as_ref().unwrap();
    assert_eq!(adres.straat.as_deref(), Some("Dorpsstraat 12 A"));
    assert_eq!(adres.postcode.as_deref(), Some("3811 AB"));
    assert_eq!(adres.contactpersoon.as_deref(), Some("Jan Jansen"));
    // The relation has no e-mail or phone of its own: the kept contact's phone fills in, and
    // it has no e-mail, so there is none (other contacts' data stays in memo).
    assert_eq!(r.telefoon.as_deref(), Some("033-1234567"));
    assert_eq!(r.email, None);
    assert_eq!(r.website_url.as_deref(), Some("https://goudenkorst.nl"));
    assert_eq!(r.bic.as_deref(), Some("ABNANL2A"));
    assert_eq!(r.krediet_limiet, Some(Money::from_cents(500_000).amount()));
    assert_eq!(r.relatiecode, None, "SnelStart assigns by default");
    let memo = r.memo.as_deref().unwrap();
    assert!(memo.contains("Handelsnaam: De Gouden Korst"), "{memo}");
    assert!(
        memo.contains("Petra de Vries (Financiële administratie), facturen@goudenkorst.nl"),
        "{memo}"
    );
    assert!(memo.contains("Kees Bakker"), "{memo}");
}

#[test]
fn both_kinds_policies() {
    let mut rel = common::bakkerij();
    rel.kind = RelationKind::Both;
    let mut config = MappingConfig::default();
    config.relatiecode = RelatiecodePolicy::FromCrmNumber {
        fallback_to_snelstart: false,
    };

    let kinds = |config: &MappingConfig| -> Vec<(Vec<Relatiesoort>, Option<i32>)> {
        relation_to_relaties(&rel, config, common::land)
            .unwrap()
            .into_iter()
            .map(|r| (r.relatiesoort.unwrap_or_default(), r.relatiecode))
            .collect()
    };
    assert_eq!(
        kinds(&config),
        vec![(vec![Relatiesoort::Klant], Some(1042))]
    );
    config.both_kinds = BothKindsPolicy::SupplierOnly;
    assert_eq!(
        kinds(&config),
        vec![(vec![Relatiesoort::Leverancier], Some(1042))]
    );
    config.both_kinds = BothKindsPolicy::TwoRelations {
        supplier_relatiecode_offset: 100_000,
    };
    assert_eq!(
        kinds(&config),
        vec![
            (vec![Relatiesoort::Klant], Some(1042)),
            (vec![Relatiesoort::Leverancier], Some(101_042)),
        ]
    );
    // The supplier twin may not carry a credit limit (REL-0062): it is kept in memo instead.
    let out = relation_to_relaties(&rel, &config, common::land).unwrap();
    assert_eq!(out[1].krediet_limiet, None);
    assert!(
        out[1]
            .memo
            .as_deref()
            .unwrap()
            .contains("Kredietlimiet (CRM): 5000.00")
    );

    config.both_kinds = BothKindsPolicy::Reject;
    let problems = relation_to_relaties(&rel, &config, common::land).unwrap_err();
    assert_eq!(problems.as_slice()[0].path, "kind");
    assert_eq!(problems.as_slice()[0].kind, ProblemKind::BothKindsRefused);
}

#[test]
fn long_names_are_rejected_or_truncated_with_the_full_name_in_memo() {
    let mut rel = common::bakkerij();
    rel.legal_name = "Stichting Vrienden van het Historisch Museum Amersfoort en Omstreken".into();
    let mut config = MappingConfig::default();
    let problems = relation_to_relaties(&rel, &config, common::land).unwrap_err();
    assert_eq!(problems.as_slice()[0].path, "legal_name");
    assert_eq!(
        problems.as_slice()[0].kind,
        ProblemKind::TooLong {
            max: 50,
            actual: 68
        }
    );

    config.fields.long_name = LongNamePolicy::Truncate;
    let r = &relation_to_relaties(&rel, &config, common::land).unwrap()[0];
    assert_eq!(
        r.naam.as_deref(),
        Some("Stichting Vrienden van het Historisch Museum Amers")
    );
    assert!(r.memo.as_deref().unwrap().starts_with(
        "Volledige naam: Stichting Vrienden van het Historisch Museum Amersfoort en Omstreken"
    ));

    config.fields.name_source = NameSource::TradeName;
    let r = &relation_to_relaties(&rel, &config, common::land).unwrap()[0];
    assert_eq!(r.naam.as_deref(), Some("De Gouden Korst"));
}

#[test]
fn every_problem_of_a_relation_at_once() {
    let mut rel = Relation::new("crm-9", RelationKind::Customer, "");
    let mut visit = Address::dutch("", "1", "12345", "");
    visit.street = "A".repeat(60);
    rel.visit_address = Some(visit);
    let mut foreign = Address::default();
    foreign.street = "Hauptstraße 1".into();
    foreign.city = "Zürich".into();
    foreign.postcode = Some("8001".into());
    foreign.country = "CH".parse().unwrap();
    rel.postal_address = Some(foreign);
    rel.vat_number = Some("DE123456789".parse().unwrap());
    rel.phone = Some("+31 (0)33 123 456 789 012 345".into());
    rel.payment_term_days = Some(2000);
    let mut config = MappingConfig::default();
    config.relatiecode = RelatiecodePolicy::FromCrmNumber {
        fallback_to_snelstart: false,
    };

    let problems = relation_to_relaties(&rel, &config, common::land).unwrap_err();
    let got: Vec<(&str, &ProblemKind)> = problems
        .iter()
        .map(|p| (p.path.as_str(), &p.kind))
        .collect();
    let expected = vec![
        ("legal_name", ProblemKind::Required),
        ("number", ProblemKind::RelatiecodeMissing),
        ("visit_address.city", ProblemKind::Required),
        (
            "visit_address.street",
            ProblemKind::TooLong {
                max: 50,
                actual: 62,
            },
        ),
        (
            "visit_address.postcode",
            ProblemKind::InvalidPostcode {
                value: "12345".into(),
            },
        ),
        (
            "vat_number",
            ProblemKind::VatNumberCountryMismatch {
                vat_country: "DE".into(),
                address_country: "NL".into(),
            },
        ),
        (
            "phone",
            ProblemKind::TooLong {
                max: 25,
                actual: 29,
            },
        ),
        (
            "payment_term_days",
            ProblemKind::OutOfRange {
                value: 2000,
                min: -365,
                max: 1000,
            },
        ),
        (
            "postal_address.country",
            ProblemKind::UnknownCountry { code: "CH".into() },
        ),
    ];
    let expected: Vec<(&str, &ProblemKind)> = expected.iter().map(|(p, k)| (*p, k)).collect();
    assert_eq!(got, expected);
    assert!(problems.iter().all(|p| p.record.id.as_str() == "crm-9"));
    // The error text names record, field and problem.
    assert!(
        problems
            .to_string()
            .contains("relation crm-9 visit_address.postcode"),
        "{problems}"
    );
}

#[test]
fn relatiecode_must_be_digits_in_range() {
    let mut rel = common::bakkerij();
    let mut config = MappingConfig::default();
    config.relatiecode = RelatiecodePolicy::FromCrmNumber {
        fallback_to_snelstart: true,
    };
    for bad in ["K-1042", "0", "99999999999"] {
        rel.number = Some(bad.into());
        let problems = preflight::relation(&rel, &config);
        assert_eq!(
            problems.iter().map(|p| &p.kind).collect::<Vec<_>>(),
            vec![&ProblemKind::RelatiecodeInvalid { value: bad.into() }]
        );
    }
    rel.number = None;
    assert!(
        preflight::relation(&rel, &config).is_empty(),
        "fallback lets SnelStart number it"
    );
}

#[test]
fn projects_become_kostenplaatsen() {
    let config = MappingConfig::default();
    let mut project = Project::new("prj-17", "P-2024-017", "Verbouwing winkel Utrecht");
    let k = project_to_kostenplaats(&project, &config).unwrap();
    assert_eq!(
        (k.nummer, k.omschrijving.as_deref(), k.nonactief),
        (
            Some(2_024_017),
            Some("Verbouwing winkel Utrecht"),
            Some(false)
        )
    );
    project.active = false;
    assert_eq!(
        project_to_kostenplaats(&project, &config)
            .unwrap()
            .nonactief,
        Some(true)
    );
    project.number = "intern".into();
    let problems = project_to_kostenplaats(&project, &config).unwrap_err();
    assert_eq!(
        problems.as_slice()[0].kind,
        ProblemKind::ProjectNotMappable {
            project: "intern".into()
        }
    );
}

#[test]
fn foreign_address_needs_a_known_country_and_keeps_its_postcode() {
    let mut rel = common::bakkerij();
    let mut be = Address::default();
    be.street = "Grote Markt".into();
    be.house_number = Some("1".into());
    be.postcode = Some("1000".into());
    be.city = "Brussel".into();
    be.country = "BE".parse().unwrap();
    rel.visit_address = Some(be);
    rel.vat_number = Some("BE0123456749".parse().unwrap());
    let r = &relation_to_relaties(&rel, &MappingConfig::default(), common::land).unwrap()[0];
    let adres = r.vestigings_adres.as_ref().unwrap();
    assert_eq!(adres.postcode.as_deref(), Some("1000"));
    assert_eq!(
        adres.land.as_ref().map(|l| l.id),
        common::land("BE".parse().unwrap())
    );
}

fn arb_contact() -> impl Strategy<Value = Contact> {
    (
        prop::option::of("c-[0-9]{1,2}"),
        prop::sample::select(vec!["", "Jan", "Piet", "Anna", "anna"]),
        prop::option::of(prop::sample::select(vec![
            "Finance",
            "CEO",
            "Boekhouding",
            "Sales",
        ])),
        prop::option::of(prop::sample::select(vec!["a@x.nl", "b@x.nl"])),
        any::<bool>(),
        prop::option::of(0i64..5),
    )
        .prop_map(|(id, name, role, email, primary, day)| {
            let mut c = Contact::named(name);
            c.id = id.map(Into::into);
            c.role = role.map(str::to_owned);
            c.email = email.map(|e| e.parse().unwrap());
            c.primary = primary;
            c.last_changed = day.map(|d| Utc.timestamp_opt(1_700_000_000 + d * 86_400, 0).unwrap());
            c
        })
}

proptest! {
    /// The kept contact, the order of the others and the memo never depend on the order the
    /// CRM listed the contacts in.
    #[test]
    fn contact_collapse_is_independent_of_input_order(
        contacts in prop::collection::vec(arb_contact(), 0..8),
        perm in prop::collection::vec(any::<prop::sample::Index>(), 8),
    ) {
        let rules = mapping::config::ContactRules::default();
        let mut shuffled = contacts.clone();
        for (i, idx) in perm.iter().enumerate().take(shuffled.len()) {
            let j = idx.index(shuffled.len());
            shuffled.swap(i, j);
        }
        let a = choose_contact(&contacts, &rules);
        let b = choose_contact(&shuffled, &rules);
        prop_assert_eq!(a.kept, b.kept);
        prop_assert_eq!(a.reason, b.reason);
        prop_assert_eq!(&a.others, &b.others);
        prop_assert_eq!(a.memo_summary(&rules), b.memo_summary(&rules));
        prop_assert_eq!(a.others.len() + usize::from(a.kept.is_some()), contacts.len());
        // An explicit primary with a name always wins over a non-primary with a name.
        if let Some(kept) = a.kept
            && contacts.iter().any(|c| c.primary && !c.name.is_empty())
        {
            prop_assert!(kept.primary);
        }
    }

    /// Converting a relation whose contacts are permuted gives the same SnelStart relation.
    #[test]
    fn relation_conversion_is_independent_of_contact_order(
        contacts in prop::collection::vec(arb_contact(), 0..6),
        rotate in 0usize..6,
    ) {
        let mut rel = common::bakkerij();
        rel.contacts = contacts;
        let mut rotated = rel.clone();
        if !rotated.contacts.is_empty() {
            let k = rotate % rotated.contacts.len();
            rotated.contacts.rotate_left(k);
        }
        let config = MappingConfig::default();
        prop_assert_eq!(
            relation_to_relaties(&rel, &config, common::land),
            relation_to_relaties(&rotated, &config, common::land)
        );
    }
}

#[test]
fn nameless_contact_still_lends_its_email_and_phone() {
    let mut rel = Relation::new("crm-5", RelationKind::Customer, "Kapsalon Knip");
    let mut c = Contact::named("");
    c.email = Some("info@knip.nl".parse().unwrap());
    c.phone = Some("020-1234567".into());
    rel.contacts = vec![c];
    let r = &relation_to_relaties(&rel, &MappingConfig::default(), common::land).unwrap()[0];
    assert_eq!(r.email.as_deref(), Some("info@knip.nl"));
    assert_eq!(r.telefoon.as_deref(), Some("020-1234567"));
    assert_eq!(
        r.vestigings_adres, None,
        "no name, no address: nothing to write"
    );

    let mut config = MappingConfig::default();
    config.contacts.email_fallback = false;
    config.contacts.phone_fallback = false;
    let r = &relation_to_relaties(&rel, &config, common::land).unwrap()[0];
    assert_eq!((r.email.as_deref(), r.telefoon.as_deref()), (None, None));
}

/// Issue 9: a relation with contacts but no visiting address used to be written with a
/// `vestigingsAdres` holding only the contact person, which SnelStart refuses as a half-filled
/// address (REL-0060). The contact goes on the correspondence address instead.
#[test]
fn without_a_visiting_address_the_contact_goes_on_the_correspondence_address() {
    let mut rel = common::bakkerij();
    rel.visit_address = None;
    rel.postal_address = None;
    let out = relation_to_relaties(&rel, &MappingConfig::default(), common::land).unwrap();
    assert_eq!(out[0].vestigings_adres, None);
    let post = out[0].correspondentie_adres.as_ref().unwrap();
    assert_eq!(post.contactpersoon.as_deref(), Some("Jan Jansen"));
    assert_eq!(post.straat, None);
}
