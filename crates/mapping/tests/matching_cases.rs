//! Duplicate matching, case by case: each test is one situation a real administration has.

use mapping::matching::{
    Decision, Evidence, MatchConfig, MatchError, MatchRecord, MatchResult, Matcher, Reason, Side,
};

fn run(crm: &[MatchRecord], snelstart: &[MatchRecord]) -> Vec<MatchResult> {
    Matcher::default()
        .run(crm, snelstart)
        .expect("valid input")
        .results
}

fn zandloper_ss() -> MatchRecord {
    MatchRecord::new("ss-zandloper")
        .with_legal_name("Bakkerij De Zandloper B.V.")
        .with_kvk("87654321")
        .with_email("administratie@dezandloper.nl")
        .with_phone("020-5550142")
        .with_street_address("1015 KM", "Lindengracht 118")
}

#[test]
fn same_kvk_and_name_variant_is_a_match() {
    let crm = [MatchRecord::new("c1")
        .with_legal_name("BAKKERIJ DE ZANDLOPER BV")
        .with_kvk("8765 4321")];
    let result = &run(&crm, &[zandloper_ss()])[0];
    assert_eq!(result.decision, Decision::Match);
    assert_eq!(result.snelstart_id.as_deref(), Some("ss-zandloper"));
    assert!(
        result
            .reasons
            .contains(&Reason::Evidence(Evidence::KvkEqual))
    );
    assert!(
        result
            .reasons
            .contains(&Reason::Evidence(Evidence::NameEqual))
    );
}

#[test]
fn typo_in_name_with_agreeing_phone_and_address_is_a_match() {
    let crm = [MatchRecord::new("c1")
        .with_legal_name("Bakkerij de Zandlpoer")
        .with_phone("+31 20 555 0142")
        .with_address("1015KM", "118")];
    let result = &run(&crm, &[zandloper_ss()])[0];
    assert_eq!(result.decision, Decision::Match, "{result:?}");
}

#[test]
fn different_kvk_vetoes_an_identical_name() {
    let crm = [MatchRecord::new("c1")
        .with_legal_name("Bakkerij De Zandloper B.V.")
        .with_kvk("12345678")
        .with_email("administratie@dezandloper.nl")
        .with_address("1015KM", "118")];
    let result = &run(&crm, &[zandloper_ss()])[0];
    assert_eq!(result.decision, Decision::New);
    assert_eq!(result.snelstart_id, None);
    assert!(result.reasons.contains(&Reason::Vetoed {
        snelstart_id: "ss-zandloper".into(),
        evidence: Evidence::KvkConflict,
    }));
}

#[test]
fn holding_never_matches_its_operating_company() {
    let operating = MatchRecord::new("ss-op")
        .with_legal_name("Jansen Installatietechniek B.V.")
        .with_email("info@jansen-installatie.nl")
        .with_phone("030-1234567")
        .with_street_address("3511 AB", "Oudegracht 12");
    let holding = MatchRecord::new("ss-holding")
        .with_legal_name("Jansen Installatietechniek Holding B.V.")
        .with_email("info@jansen-installatie.nl")
        .with_phone("030-1234567")
        .with_street_address("3511 AB", "Oudegracht 12");
    let crm_holding = MatchRecord::new("c-holding")
        .with_legal_name("Jansen Installatietechniek Holding BV")
        .with_phone("0301234567")
        .with_address("3511AB", "12");
    let crm_operating = MatchRecord::new("c-op")
        .with_legal_name("Jansen Installatietechniek BV")
        .with_phone("0301234567")
        .with_address("3511AB", "12");

    let both = [operating.clone(), holding.clone()];
    let results = run(&[crm_holding.clone(), crm_operating.clone()], &both);
    assert_eq!(results[0].decision, Decision::Match);
    assert_eq!(results[0].snelstart_id.as_deref(), Some("ss-holding"));
    assert_eq!(results[1].decision, Decision::Match);
    assert_eq!(results[1].snelstart_id.as_deref(), Some("ss-op"));

    // With only the operating company in SnelStart, the holding is new.
    let results = run(&[crm_holding], &[operating]);
    assert_eq!(results[0].decision, Decision::New);
    assert!(results[0].reasons.iter().any(|r| matches!(
        r,
        Reason::Vetoed {
            evidence: Evidence::RoleConflict,
            ..
        }
    )));
    // And the other way round.
    let results = run(&[crm_operating], &[holding]);
    assert_eq!(results[0].decision, Decision::New);
}

#[test]
fn franchisees_sharing_a_name_are_told_apart_by_address() {
    let franchise = |id: &str, city: &str, postcode: &str, street: &str| {
        MatchRecord::new(id)
            .with_legal_name("Bruna B.V.")
            .with_email(format!("{city}@bruna.nl"))
            .with_street_address(postcode, street)
    };
    let snelstart = [
        franchise("ss-utrecht", "utrecht", "3511 AA", "Steenweg 3"),
        franchise("ss-zwolle", "zwolle", "8011 AB", "Diezerstraat 40"),
        franchise("ss-ede", "ede", "6711 AA", "Grotestraat 9"),
    ];
    let crm = [
        MatchRecord::new("c-zwolle")
            .with_legal_name("Bruna BV")
            .with_email("inkoop@bruna.nl")
            .with_address("8011AB", "40"),
        // Same name and domain, but nothing that says which one: a human decides.
        MatchRecord::new("c-unknown")
            .with_legal_name("Bruna")
            .with_email("winkel@bruna.nl"),
    ];
    let results = run(&crm, &snelstart);
    assert_eq!(results[0].decision, Decision::Match);
    assert_eq!(results[0].snelstart_id.as_deref(), Some("ss-zwolle"));
    assert_eq!(results[1].decision, Decision::Review, "{:?}", results[1]);
    assert!(
        results[1]
            .reasons
            .iter()
            .any(|r| matches!(r, Reason::Ambiguous { .. }))
    );
}

#[test]
fn a_chains_shared_mail_domain_is_not_a_companys_own() {
    // A chain with three branches: one legal name, one mail domain, three addresses. The
    // domain is the chain's, so a name and that domain do not make two records one company.
    let branch = |id: &str, mailbox: &str, postcode: &str, street: &str| {
        MatchRecord::new(id)
            .with_legal_name("Primera B.V.")
            .with_email(format!("{mailbox}@primera.nl"))
            .with_street_address(postcode, street)
    };
    let snelstart = [
        branch("ss-utrecht", "utrecht", "3511 AA", "Steenweg 3"),
        branch("ss-zwolle", "zwolle", "8011 AB", "Diezerstraat 40"),
        branch("ss-ede", "ede", "6711 AA", "Grotestraat 9"),
    ];
    let crm = [
        MatchRecord::new("c-zwolle")
            .with_legal_name("Primera BV")
            .with_email("inkoop@primera.nl")
            .with_address("8011AB", "40"),
        MatchRecord::new("c-unknown")
            .with_legal_name("Primera")
            .with_email("winkel@primera.nl"),
    ];
    let outcome = Matcher::default()
        .run(&crm, &snelstart)
        .expect("valid input");
    assert_eq!(outcome.results[0].decision, Decision::Match);
    assert_eq!(outcome.results[1].decision, Decision::Review);
    let own = Reason::Evidence(Evidence::OwnDomainAndName);
    assert!(
        !outcome.results[1].reasons.contains(&own),
        "{:?}",
        outcome.results[1]
    );
    // Neither are the branch with an address and the one without a CRM duplicate.
    assert!(
        outcome.crm_duplicates.is_empty(),
        "{:?}",
        outcome.crm_duplicates
    );

    // The same three branches in the CRM alone (SnelStart holds none): still the chain's
    // domain, so no duplicate pair between a branch and the record without an address.
    let mut crm_only: Vec<MatchRecord> = snelstart
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.id = r.id.replace("ss-", "c-");
            r
        })
        .collect();
    crm_only.push(crm[1].clone());
    let outcome = Matcher::default().run(&crm_only, &[]).expect("valid input");
    assert!(
        outcome.crm_duplicates.is_empty(),
        "{:?}",
        outcome.crm_duplicates
    );

    // One company's own domain still counts: a single branch, the record without an address.
    let outcome = Matcher::default()
        .run(&crm[1..], &snelstart[..1])
        .expect("valid input");
    assert!(
        outcome.results[0].reasons.contains(&own),
        "{:?}",
        outcome.results[0]
    );
    assert_eq!(outcome.results[0].decision, Decision::Match);
}

#[test]
fn namesakes_with_other_phones_and_mailboxes_are_new_not_review() {
    let snelstart = [MatchRecord::new("ss-jacobs")
        .with_legal_name("E. Jacobs")
        .with_email("ejacobs7108@outlook.com")
        .with_phone("06-09770586")];
    // Only the name agrees; phone and mailbox both differ: another E. Jacobs.
    let other = MatchRecord::new("c-other")
        .with_legal_name("E. Jacobs")
        .with_email("ejacobs20055@ziggo.nl")
        .with_phone("06-11916949")
        .with_address("2014CZ", "224");
    // Only the name agrees and only the phone differs (a contact's mobile): a person decides.
    let maybe = MatchRecord::new("c-maybe")
        .with_legal_name("E. Jacobs")
        .with_phone("06-11916949");
    let results = run(&[other, maybe], &snelstart);
    assert_eq!(results[0].decision, Decision::New, "{:?}", results[0]);
    assert_eq!(results[1].decision, Decision::Review, "{:?}", results[1]);
    assert!(
        !results[1]
            .reasons
            .contains(&Reason::Evidence(Evidence::ContactsDiffer))
    );
}

#[test]
fn shared_freemail_domain_is_no_evidence() {
    let snelstart = [MatchRecord::new("ss-1")
        .with_legal_name("Schildersbedrijf P. de Vries")
        .with_email("pdevries@gmail.com")];
    let crm = [MatchRecord::new("c1")
        .with_legal_name("Kapsalon Yvonne")
        .with_email("yvonne.kapsalon@gmail.com")];
    let result = &run(&crm, &snelstart)[0];
    assert_eq!(result.decision, Decision::New);
    assert!(result.candidates.is_empty(), "{result:?}");
}

#[test]
fn accountants_shared_mailbox_and_business_centre_do_not_link_different_names() {
    let snelstart = [MatchRecord::new("ss-1")
        .with_legal_name("Visser Dakwerken B.V.")
        .with_email("facturen@deboer-accountants.nl")
        .with_phone("030-9001000")
        .with_street_address("3528 BJ", "Businesspark 7-12")];
    let crm = [MatchRecord::new("c1")
        .with_legal_name("Mulder ICT Consultancy")
        .with_email("facturen@deboer-accountants.nl")
        .with_phone("030 900 1000")
        .with_address("3528BJ", "7-31")];
    let result = &run(&crm, &snelstart)[0];
    assert_ne!(result.decision, Decision::Match, "{result:?}");
}

#[test]
fn name_cut_at_fifty_characters_still_matches() {
    let full = "Installatiebedrijf Het Anker Van den Heuvel en Zonen Noord-Holland B.V.";
    let cut: String = full.chars().take(50).collect();
    let snelstart = [MatchRecord::new("ss-1")
        .with_legal_name(cut)
        .with_street_address("1234 AB", "Kerkstraat 5")];
    let crm = [MatchRecord::new("c1")
        .with_legal_name(full)
        .with_address("1234 ab", "5")];
    let result = &run(&crm, &snelstart)[0];
    assert_eq!(result.decision, Decision::Match, "{result:?}");
    assert!(
        result
            .reasons
            .contains(&Reason::Evidence(Evidence::NameTruncated))
    );
}

#[test]
fn name_alone_is_review_not_match() {
    let snelstart = [MatchRecord::new("ss-1").with_legal_name("Bouwbedrijf Smit-Bakker B.V.")];
    let crm = [MatchRecord::new("c1").with_legal_name("Bouwbedrijf Smit-Bakker")];
    let result = &run(&crm, &snelstart)[0];
    assert_eq!(result.decision, Decision::Review, "{result:?}");
    assert_eq!(result.snelstart_id.as_deref(), Some("ss-1"));
}

#[test]
fn conflicting_vat_blocks_an_automatic_match() {
    let snelstart = [zandloper_ss().with_vat("NL001234560B89")];
    let crm = [MatchRecord::new("c1")
        .with_legal_name("Bakkerij De Zandloper B.V.")
        .with_vat("NL009999999B01")
        .with_phone("020-5550142")
        .with_address("1015KM", "118")];
    let result = &run(&crm, &snelstart)[0];
    assert_eq!(result.decision, Decision::Review, "{result:?}");
    assert!(
        result
            .reasons
            .contains(&Reason::Evidence(Evidence::VatConflict))
    );
}

#[test]
fn two_crm_relations_matching_one_snelstart_relation_go_to_review() {
    let crm = [
        MatchRecord::new("c1")
            .with_legal_name("Bakkerij De Zandloper")
            .with_kvk("87654321"),
        MatchRecord::new("c2")
            .with_legal_name("Bakkerij de Zandloper BV")
            .with_phone("0205550142")
            .with_address("1015KM", "118"),
    ];
    let outcome = Matcher::default().run(&crm, &[zandloper_ss()]).unwrap();
    for result in &outcome.results {
        assert_eq!(result.decision, Decision::Review, "{result:?}");
    }
    assert!(
        outcome.results[0]
            .reasons
            .contains(&Reason::SharedCandidate {
                crm_id: "c2".into()
            })
    );
    assert_eq!(outcome.crm_duplicates.len(), 1);
    assert_eq!(outcome.crm_duplicates[0].first_id, "c1");
    assert_eq!(outcome.crm_duplicates[0].second_id, "c2");
    assert_eq!(
        outcome.crm_duplicates[0].via_snelstart_id.as_deref(),
        Some("ss-zandloper")
    );
}

#[test]
fn snelstart_duplicates_are_flagged() {
    let twin = MatchRecord::new("ss-twin")
        .with_legal_name("Bakkerij De Zandloper")
        .with_email("administratie@dezandloper.nl")
        .with_street_address("1015KM", "Lindengracht 118");
    let outcome = Matcher::default()
        .run(&[], &[zandloper_ss(), twin])
        .unwrap();
    assert_eq!(outcome.snelstart_duplicates.len(), 1);
    let pair = &outcome.snelstart_duplicates[0];
    assert_eq!(pair.side, Side::Snelstart);
    assert_eq!(
        (pair.first_id.as_str(), pair.second_id.as_str()),
        ("ss-twin", "ss-zandloper")
    );

    let quiet = Matcher::new(MatchConfig::default().with_duplicates(false))
        .run(
            &[],
            &[
                zandloper_ss(),
                MatchRecord::new("x").with_legal_name("Bakkerij De Zandloper"),
            ],
        )
        .unwrap();
    assert!(quiet.snelstart_duplicates.is_empty());
}

#[test]
fn extra_freemail_domains_are_configurable() {
    let snelstart = [MatchRecord::new("ss-1")
        .with_legal_name("Fietsenwinkel De Ster")
        .with_email("winkel@provider-x.nl")];
    let crm = [MatchRecord::new("c1")
        .with_legal_name("Fietsenwinkel De Ster")
        .with_email("eigenaar@provider-x.nl")];
    let default = &run(&crm, &snelstart)[0];
    assert!(
        default
            .reasons
            .contains(&Reason::Evidence(Evidence::EmailDomainEqual))
    );
    let config = MatchConfig::default().with_extra_freemail(["provider-x.nl"]);
    let result = &Matcher::new(config).run(&crm, &snelstart).unwrap().results[0];
    assert!(
        !result
            .reasons
            .contains(&Reason::Evidence(Evidence::EmailDomainEqual))
    );
}

#[test]
fn bad_input_is_refused_with_the_side_and_id() {
    let twice = [MatchRecord::new("a"), MatchRecord::new("a")];
    assert_eq!(
        Matcher::default().run(&twice, &[]).unwrap_err(),
        MatchError::DuplicateId {
            side: Side::Crm,
            id: "a".into()
        }
    );
    let empty = [MatchRecord::new("ok"), MatchRecord::new(" ")];
    let error = Matcher::default().run(&[], &empty).unwrap_err();
    assert_eq!(
        error,
        MatchError::EmptyId {
            side: Side::Snelstart,
            position: 1
        }
    );
    assert!(error.to_string().contains("snelstart"));
}

#[test]
fn empty_inputs_give_empty_outcomes() {
    let outcome = Matcher::default().run(&[], &[]).unwrap();
    assert!(outcome.results.is_empty());
    let results = run(&[MatchRecord::new("c1").with_legal_name("Iets")], &[]);
    assert_eq!(results[0].decision, Decision::New);
    assert_eq!(results[0].reasons, [Reason::NoCandidate]);
}

#[test]
fn reasons_serialise_as_short_codes() {
    let crm = [MatchRecord::new("c1")
        .with_legal_name("Bakkerij De Zandloper")
        .with_kvk("87654321")];
    let result = &run(&crm, &[zandloper_ss()])[0];
    let json = serde_json::to_value(result).unwrap();
    assert_eq!(json["decision"], "match");
    assert_eq!(json["reasons"][0], "kvk_equal");
}

#[test]
fn house_number_additions_tell_units_apart() {
    let street = MatchRecord::new("x").with_street_address("3528 BJ", "Businesspark 7-12");
    assert_eq!(street.addresses[0].house_number, "7-12");
    let snelstart = [MatchRecord::new("ss-1")
        .with_legal_name("Visser Dakwerken B.V.")
        .with_street_address("3528 BJ", "Businesspark 7-12")];
    let other_unit = [MatchRecord::new("c1")
        .with_legal_name("Visser Dakwerken")
        .with_address("3528BJ", "7-31")];
    let result = &run(&other_unit, &snelstart)[0];
    assert!(
        result
            .reasons
            .contains(&Reason::Evidence(Evidence::SameBuilding)),
        "{result:?}"
    );
    let same_unit = [MatchRecord::new("c1")
        .with_legal_name("Visser Dakwerken")
        .with_address("3528BJ", "7 - 12")];
    let result = &run(&same_unit, &snelstart)[0];
    assert!(
        result
            .reasons
            .contains(&Reason::Evidence(Evidence::AddressEqual)),
        "{result:?}"
    );
    assert_eq!(result.decision, Decision::Match);
}
