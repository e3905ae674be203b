//! Matching that knows SnelStart: `relatiesoort`, `nonactief`, relatiecode order and the
//! original among duplicates, the e-mail + postcode + house number rule, and the identifier
//! forms of real exports.

use mapping::matching::{Decision, Evidence, MatchKind, MatchRecord, MatchResult, Matcher, Reason};

fn run(crm: &[MatchRecord], snelstart: &[MatchRecord]) -> Vec<MatchResult> {
    Matcher::default()
        .run(crm, snelstart)
        .expect("valid input")
        .results
}

fn bakery(id: &str, code: i64, kind: MatchKind) -> MatchRecord {
    MatchRecord::new(id)
        .with_legal_name("Bakkerij De Zandloper B.V.")
        .with_kvk("87654321")
        .with_email("administratie@dezandloper.nl")
        .with_phone("020-5550142")
        .with_street_address("1015 KM", "Lindengracht 118")
        .with_relatiecode(code)
        .with_kind(kind)
}

fn crm_bakery(kind: MatchKind) -> MatchRecord {
    MatchRecord::new("crm-1")
        .with_legal_name("Bakkerij de Zandloper BV")
        .with_kvk("8765 4321")
        .with_address("1015KM", "118")
        .with_kind(kind)
}

#[test]
fn a_customer_is_never_linked_to_a_supplier_only_relation() {
    let snelstart = [bakery("ss-lev", 2001, MatchKind::Supplier)];
    let result = &run(&[crm_bakery(MatchKind::Customer)], &snelstart)[0];
    assert_eq!(result.decision, Decision::New, "{result:?}");
    assert_eq!(result.snelstart_id, None);
    // The administrator learns that SnelStart holds the company as a supplier.
    assert!(
        result.reasons.iter().any(|r| matches!(
            r,
            Reason::KindConflict { snelstart_id, relatiecode: Some(2001), snelstart_kind: MatchKind::Supplier, .. }
                if snelstart_id == "ss-lev"
        )),
        "{result:?}"
    );
    let text: Vec<String> = result.reasons.iter().map(ToString::to_string).collect();
    assert!(
        text.iter().any(
            |r| r.starts_with("kind_conflict:ss-lev:relatiecode_2001:snelstart_is_leverancier")
        ),
        "{text:?}"
    );

    // And the other way round.
    let snelstart = [bakery("ss-klant", 1001, MatchKind::Customer)];
    let result = &run(&[crm_bakery(MatchKind::Supplier)], &snelstart)[0];
    assert_eq!(result.decision, Decision::New, "{result:?}");
}

#[test]
fn the_relation_of_the_right_kind_wins_over_its_other_kind_twin() {
    // A company that is customer and supplier is two SnelStart relations (REL-0065): not
    // duplicates of each other, and each CRM kind finds its own.
    let snelstart = [
        bakery("ss-lev", 2001, MatchKind::Supplier),
        bakery("ss-klant", 1001, MatchKind::Customer),
    ];
    let outcome = Matcher::default()
        .run(&[crm_bakery(MatchKind::Customer)], &snelstart)
        .unwrap();
    let result = &outcome.results[0];
    assert_eq!(result.decision, Decision::Match, "{result:?}");
    assert_eq!(result.snelstart_id.as_deref(), Some("ss-klant"));
    assert!(outcome.snelstart_groups.is_empty());
    assert!(outcome.snelstart_duplicates.is_empty());

    let result = &run(&[crm_bakery(MatchKind::Supplier)], &snelstart)[0];
    assert_eq!(result.snelstart_id.as_deref(), Some("ss-lev"), "{result:?}");
    assert_eq!(result.decision, Decision::Match);
    // Unknown kinds never rule anything out.
    let result = &run(
        &[crm_bakery(MatchKind::Customer)],
        &[MatchRecord::new("ss-x")
            .with_legal_name("Bakkerij De Zandloper")
            .with_kvk("87654321")],
    )[0];
    assert_eq!(result.decision, Decision::Match);
}

#[test]
fn duplicates_inside_snelstart_resolve_to_the_original() {
    // Entered three times over the years; the newest looks closest to the CRM record.
    let newest = bakery("ss-1301", 1301, MatchKind::Customer).with_vat("NL001234560B89");
    let middle = MatchRecord::new("ss-1187")
        .with_legal_name("Bakkerij de Zandloper")
        .with_email("administratie@dezandloper.nl")
        .with_street_address("1015 KM", "Lindengracht 118")
        .with_relatiecode(1187)
        .with_kind(MatchKind::Customer);
    let original = MatchRecord::new("ss-1042")
        .with_legal_name("Bakkerij De Zandloper")
        .with_phone("0205550142")
        .with_street_address("1015KM", "Lindengracht 118")
        .with_relatiecode(1042)
        .with_kind(MatchKind::Customer);
    let crm = [crm_bakery(MatchKind::Customer).with_vat("NL 0012.34.560.B89")];
    let outcome = Matcher::default()
        .run(&crm, &[newest, middle, original.clone()])
        .unwrap();
    let result = &outcome.results[0];
    assert_eq!(result.decision, Decision::Match, "{result:?}");
    assert_eq!(result.snelstart_id.as_deref(), Some("ss-1042"));
    assert_eq!(
        result.snelstart_duplicates_note().as_deref(),
        Some("SnelStart holds this company 3 times: 1042, 1187, 1301; linked to 1042")
    );
    assert!(result.reasons.contains(&Reason::SnelstartDuplicates {
        linked: "1042".into(),
        members: vec!["1042".into(), "1187".into(), "1301".into()],
    }));
    // The evidence came from the newest record; the candidate says so.
    assert_eq!(result.candidates[0].snelstart_id, "ss-1042");
    assert_eq!(
        result.candidates[0].evidence_from.as_deref(),
        Some("ss-1301")
    );
    assert_eq!(outcome.snelstart_groups.len(), 1);
    assert_eq!(outcome.snelstart_groups[0].original, "ss-1042");
    assert_eq!(
        outcome.snelstart_groups[0].summary(),
        "SnelStart holds this company 3 times: 1042, 1187, 1301; the original is 1042"
    );
}

#[test]
fn an_inactive_duplicate_is_never_the_original() {
    let old = bakery("ss-1042", 1042, MatchKind::Customer).with_inactive(true);
    let current = bakery("ss-1187", 1187, MatchKind::Customer);
    let result = &run(&[crm_bakery(MatchKind::Customer)], &[old, current])[0];
    assert_eq!(result.decision, Decision::Match, "{result:?}");
    assert_eq!(result.snelstart_id.as_deref(), Some("ss-1187"));
    assert_eq!(
        result.snelstart_duplicates_note().as_deref(),
        Some("SnelStart holds this company 2 times: 1042 (nonactief), 1187; linked to 1187")
    );
    // All inactive: the lowest code, to be reactivated rather than twinned.
    let a = bakery("ss-a", 1042, MatchKind::Customer).with_inactive(true);
    let b = bakery("ss-b", 1187, MatchKind::Customer).with_inactive(true);
    let result = &run(&[crm_bakery(MatchKind::Customer)], &[b, a])[0];
    assert_eq!(result.snelstart_id.as_deref(), Some("ss-a"));
}

#[test]
fn two_crm_relations_on_one_snelstart_group_still_go_to_review() {
    let crm = [
        crm_bakery(MatchKind::Customer),
        MatchRecord::new("crm-2")
            .with_legal_name("Zandloper Bakkerij")
            .with_email("administratie@dezandloper.nl")
            .with_address("1015 km", "118")
            .with_kind(MatchKind::Customer),
    ];
    let snelstart = [
        bakery("ss-1042", 1042, MatchKind::Customer),
        bakery("ss-1187", 1187, MatchKind::Customer),
    ];
    for result in run(&crm, &snelstart) {
        assert_eq!(result.decision, Decision::Review, "{result:?}");
    }
}

#[test]
fn email_with_postcode_and_house_number_links_a_differently_spelled_name() {
    let snelstart = [MatchRecord::new("ss-1")
        .with_legal_name("Haarmode Yvonne")
        .with_email("yvonne.dekker@hotmail.com")
        .with_street_address("3811 AB", "Dorpsstraat 12 A")
        .with_kind(MatchKind::Customer)];
    let crm = [MatchRecord::new("c1")
        .with_legal_name("Y. Dekker Kapsalon")
        .with_email(" Yvonne.Dekker@Hotmail.com ")
        .with_address("3811ab", "12a")
        .with_kind(MatchKind::Customer)];
    let result = &run(&crm, &snelstart)[0];
    assert_eq!(result.decision, Decision::Match, "{result:?}");
    assert!(
        result
            .reasons
            .contains(&Reason::Evidence(Evidence::EmailAndAddress))
    );

    // A conflicting KvK number stays a veto.
    let snelstart = [snelstart[0].clone().with_kvk("11112222")];
    let crm = [crm[0].clone().with_kvk("33334444")];
    assert_eq!(run(&crm, &snelstart)[0].decision, Decision::New);

    // Another unit in the building is not the same address.
    let snelstart = [MatchRecord::new("ss-1")
        .with_legal_name("Haarmode Yvonne")
        .with_email("yvonne.dekker@hotmail.com")
        .with_street_address("3811 AB", "Dorpsstraat 12 B")];
    let crm = [MatchRecord::new("c1")
        .with_legal_name("Y. Dekker Kapsalon")
        .with_email("yvonne.dekker@hotmail.com")
        .with_address("3811ab", "12a")];
    assert_ne!(run(&crm, &snelstart)[0].decision, Decision::Match);
}

#[test]
fn identifier_forms_of_real_exports_are_evidence() {
    let snelstart = [MatchRecord::new("ss-1")
        .with_legal_name("Van Dijk Metaal B.V.")
        .with_kvk("01234567")
        .with_vat("NL123456789B01")];
    for (kvk, vat) in [
        ("KvK 01234567", "123456789B01"),
        ("KvK-nummer: 0123 4567", "NL 1234.56.789.B.01"),
        ("1234567", "nl123456789b01"),
        ("01.23.45.67", "NL123456789B01"),
    ] {
        let crm = [MatchRecord::new("c1")
            .with_legal_name("Van Dijk Metaal")
            .with_kvk(kvk)
            .with_vat(vat)];
        let result = &run(&crm, &snelstart)[0];
        assert_eq!(result.decision, Decision::Match, "{kvk} {vat}: {result:?}");
        assert!(
            result
                .reasons
                .contains(&Reason::Evidence(Evidence::KvkEqual))
        );
        assert!(
            result
                .reasons
                .contains(&Reason::Evidence(Evidence::VatEqual))
        );
    }
}

#[test]
fn a_belgian_relation_matches_on_its_own_forms() {
    let snelstart = [MatchRecord::new("ss-be")
        .with_legal_name("Brouwerij Het Anker BV")
        .with_vat("BE 0123.456.749")
        .with_phone("+32 3 123 45 67")
        .with_street_address("B-2000", "Meir 12")];
    let crm = [MatchRecord::new("c-be")
        .with_legal_name("Brouwerij Het Anker")
        .with_vat("0123.456.749")
        .with_phone("03 123 45 67")
        .with_address("2000", "12")
        .with_country("BE")];
    let result = &run(&crm, &snelstart)[0];
    assert_eq!(result.decision, Decision::Match, "{result:?}");
    for evidence in [
        Evidence::VatEqual,
        Evidence::PhoneEqual,
        Evidence::AddressEqual,
    ] {
        assert!(
            result.reasons.contains(&Reason::Evidence(evidence)),
            "{evidence}"
        );
    }
}

#[test]
fn website_domain_counts_like_a_company_mail_domain() {
    let snelstart = [MatchRecord::new("ss-1")
        .with_legal_name("De Zandloper")
        .with_email("info@dezandloper.nl")];
    let crm = [MatchRecord::new("c1")
        .with_legal_name("Bakkerij De Zandloper B.V.")
        .with_website("https://www.dezandloper.nl/contact")];
    let result = &run(&crm, &snelstart)[0];
    assert!(
        result
            .reasons
            .contains(&Reason::Evidence(Evidence::EmailDomainEqual)),
        "{result:?}"
    );
}

#[test]
fn traps_stay_apart() {
    // Fiscal unity: one VAT id for the group, two KvK numbers.
    let snelstart = [MatchRecord::new("ss-op")
        .with_legal_name("Jansen Installatietechniek B.V.")
        .with_kvk("11111111")
        .with_vat("NL001234560B01")
        .with_street_address("3511 AB", "Oudegracht 12")];
    let crm = [MatchRecord::new("c-sister")
        .with_legal_name("Jansen Service B.V.")
        .with_kvk("22222222")
        .with_vat("NL001234560B01")
        .with_address("3511AB", "12")];
    assert_eq!(run(&crm, &snelstart)[0].decision, Decision::New);

    // Business centre: same building and reception phone, other unit and name.
    let snelstart = [MatchRecord::new("ss-1")
        .with_legal_name("Visser Dakwerken B.V.")
        .with_phone("030-9001000")
        .with_street_address("3528 BJ", "Businesspark 7-12")];
    let crm = [MatchRecord::new("c1")
        .with_legal_name("Mulder ICT Consultancy")
        .with_phone("030 900 1000")
        .with_address("3528BJ", "7-31")];
    assert_ne!(run(&crm, &snelstart)[0].decision, Decision::Match);

    // Namesakes in different cities, nothing else in common.
    let snelstart = [MatchRecord::new("ss-1")
        .with_legal_name("Bouwbedrijf De Vries B.V.")
        .with_street_address("9711 AA", "Herestraat 1")];
    let crm = [MatchRecord::new("c1")
        .with_legal_name("Bouwbedrijf De Vries B.V.")
        .with_address("4811AA", "20")];
    assert_ne!(run(&crm, &snelstart)[0].decision, Decision::Match);

    // Holding next to its operating company, sharing e-mail and address.
    let snelstart = [MatchRecord::new("ss-op")
        .with_legal_name("Bakker Bouw B.V.")
        .with_email("info@bakkerbouw.nl")
        .with_street_address("1234 AB", "Kerkstraat 5")];
    let crm = [MatchRecord::new("c-holding")
        .with_legal_name("Bakker Bouw Holding B.V.")
        .with_email("info@bakkerbouw.nl")
        .with_address("1234AB", "5")];
    assert_eq!(run(&crm, &snelstart)[0].decision, Decision::New);
}

#[test]
fn namesakes_in_different_places_are_new_not_review() {
    let snelstart = [MatchRecord::new("ss-1")
        .with_legal_name("Kapsalon Jansen")
        .with_street_address("9711 AA", "Herestraat 1")];
    let elsewhere = [MatchRecord::new("c1")
        .with_legal_name("Kapsalon Jansen")
        .with_address("4811AA", "20")];
    let result = &run(&elsewhere, &snelstart)[0];
    assert_eq!(result.decision, Decision::New, "{result:?}");
    assert!(
        result
            .candidates
            .first()
            .is_some_and(|c| c.evidence.contains(&Evidence::AddressDiffers))
    );
    // Without an address to tell them apart, a person decides.
    let unknown = [MatchRecord::new("c1").with_legal_name("Kapsalon Jansen")];
    assert_eq!(run(&unknown, &snelstart)[0].decision, Decision::Review);
    // A move shows itself by the phone (or e-mail, or an identifier): still linked.
    let moved = [MatchRecord::new("c1")
        .with_legal_name("Kapsalon Jansen")
        .with_phone("050-1234567")
        .with_address("4811AA", "20")];
    let snelstart = [snelstart[0].clone().with_phone("0501234567")];
    assert_eq!(run(&moved, &snelstart)[0].decision, Decision::Match);
}

#[test]
fn a_crm_relation_of_both_kinds_links_to_the_half_of_its_first_write() {
    let snelstart = [
        bakery("ss-lev", 2001, MatchKind::Supplier),
        bakery("ss-klant", 1001, MatchKind::Customer),
    ];
    let crm = [crm_bakery(MatchKind::Both)];
    let result = &run(&crm, &snelstart)[0];
    assert_eq!(result.decision, Decision::Match, "{result:?}");
    assert_eq!(result.snelstart_id.as_deref(), Some("ss-klant"));
    let config =
        mapping::matching::MatchConfig::default().with_both_kinds_link(MatchKind::Supplier);
    let result = &Matcher::new(config).run(&crm, &snelstart).unwrap().results[0];
    assert_eq!(result.snelstart_id.as_deref(), Some("ss-lev"), "{result:?}");
}
