//! Conversions from the CRM model and the SnelStart read model into [`MatchRecord`].
//!
//! Kept apart from the matcher so that the matcher depends on neither model.

use crm_model::{Address, Relation, RelationKind};
use snelstart_client::models::{Adres, Relatie, Relatiesoort};

use super::record::{MatchKind, MatchRecord};

impl MatchRecord {
    /// The match view of a CRM relation: its names, identifiers, the e-mail addresses and
    /// phone numbers of the relation *and* of its contacts (SnelStart often holds a contact's
    /// address as the relation's), and its visit and postal addresses.
    pub fn from_crm(relation: &Relation) -> Self {
        let mut record = Self::new(relation.id.as_str())
            .with_legal_name(&relation.legal_name)
            .with_kind(match relation.kind {
                RelationKind::Customer => MatchKind::Customer,
                RelationKind::Supplier => MatchKind::Supplier,
                _ => MatchKind::Both,
            });
        if let Some(website) = &relation.website {
            record = record.with_website(website);
        }
        if let Some(address) = relation
            .visit_address
            .as_ref()
            .or(relation.postal_address.as_ref())
        {
            record = record.with_country(address.country.as_str());
        }
        if let Some(trade) = &relation.trade_name {
            record = record.with_trade_name(trade);
        }
        if let Some(kvk) = &relation.kvk_number {
            record = record.with_kvk(kvk.as_str());
        }
        if let Some(vat) = &relation.vat_number {
            record = record.with_vat(vat.as_str());
        }
        if let Some(iban) = &relation.iban {
            record = record.with_iban(iban.as_str());
        }
        for email in relation.email.iter().flat_map(|list| list.iter()) {
            record = record.with_email(email.as_str());
        }
        if let Some(phone) = &relation.phone {
            record = record.with_phone(phone);
        }
        for contact in &relation.contacts {
            for email in contact.email.iter().flat_map(|list| list.iter()) {
                record = record.with_email(email.as_str());
            }
            if let Some(phone) = &contact.phone {
                record = record.with_phone(phone);
            }
        }
        for address in [&relation.visit_address, &relation.postal_address]
            .into_iter()
            .flatten()
        {
            record = with_crm_address(record, address);
        }
        record
    }

    /// The match view of a SnelStart relation (`GET /relaties`): `naam` as legal name,
    /// `kvkNummer`, `btwNummer`, `iban`, the main and invoice e-mail addresses, both phone
    /// numbers, and both addresses (house number read from `straat`).
    ///
    /// `relatiesoort`, `relatiecode` and `nonactief` are carried over: they decide which
    /// relations a CRM relation may be linked to, and which of several duplicates inside
    /// SnelStart is the original. Inactive relations are included: linking to one and
    /// reactivating it is better than creating a twin.
    pub fn from_snelstart(relatie: &Relatie) -> Self {
        let mut record = Self::new(relatie.id.to_string()).with_inactive(relatie.is_inactive());
        if let Some(code) = relatie.relatiecode {
            record = record.with_relatiecode(i64::from(code));
        }
        record.kind = MatchKind::from_flags(
            relatie.relatiesoort.contains(&Relatiesoort::Klant),
            relatie.relatiesoort.contains(&Relatiesoort::Leverancier),
        );
        if let Some(website) = &relatie.website_url {
            record = record.with_website(website);
        }
        if let Some(naam) = &relatie.naam {
            record = record.with_legal_name(naam);
        }
        if let Some(kvk) = &relatie.kvk_nummer {
            record = record.with_kvk(kvk);
        }
        if let Some(vat) = &relatie.btw_nummer {
            record = record.with_vat(vat);
        }
        if let Some(iban) = &relatie.iban {
            record = record.with_iban(iban);
        }
        if let Some(email) = &relatie.email {
            record = record.with_email(email);
        }
        if let Some(email) = relatie
            .factuur_email_versturen
            .as_ref()
            .and_then(|v| v.email.as_ref())
        {
            record = record.with_email(email);
        }
        for phone in [&relatie.telefoon, &relatie.mobiele_telefoon]
            .into_iter()
            .flatten()
        {
            record = record.with_phone(phone);
        }
        for adres in [&relatie.vestigings_adres, &relatie.correspondentie_adres]
            .into_iter()
            .flatten()
        {
            record = with_snelstart_address(record, adres);
        }
        record
    }
}

fn with_crm_address(record: MatchRecord, address: &Address) -> MatchRecord {
    let Some(postcode) = &address.postcode else {
        return record;
    };
    match &address.house_number {
        Some(number) => {
            // A separator keeps "7" + "31" (unit 31) from reading as number 731.
            match address.house_number_addition.as_deref().map(str::trim) {
                Some(addition) if !addition.is_empty() => {
                    record.with_address(postcode, format!("{number}-{addition}"))
                }
                _ => record.with_address(postcode, number),
            }
        }
        // Some CRMs keep the number in the street line, as SnelStart does.
        None => record.with_street_address(postcode, &address.street),
    }
}

fn with_snelstart_address(record: MatchRecord, adres: &Adres) -> MatchRecord {
    match (&adres.postcode, &adres.straat) {
        (Some(postcode), Some(straat)) => record.with_street_address(postcode, straat),
        _ => record,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{Decision, MatchAddress, Matcher};

    const RELATIE: &str = r#"{
        "id": "14254699-e7ff-4537-9fb8-47ad46f7d4d7",
        "relatiesoort": ["Klant"],
        "relatiecode": 10234,
        "naam": "Bakkerij De Zandloper B.V.",
        "vestigingsAdres": {"contactpersoon": "Marloes Verhagen", "straat": "Lindengracht 118",
            "postcode": "1015 KM", "plaats": "Amsterdam", "land": null},
        "correspondentieAdres": {"contactpersoon": null, "straat": "Postbus 90412",
            "postcode": "1006 BK", "plaats": "Amsterdam", "land": null},
        "telefoon": "020-5550142",
        "mobieleTelefoon": "06-55501427",
        "email": "administratie@dezandloper.example",
        "btwNummer": "NL001234560B89",
        "kvkNummer": "87654321",
        "iban": "NL91ABNA0417164300",
        "factuurEmailVersturen": {"shouldSend": true, "email": "facturen@dezandloper.example", "ccEmail": null},
        "bankieren": false,
        "nonactief": false,
        "ublBestandAlsBijlage": false
    }"#;

    const RELATION: &str = r#"{
        "id": "crm-1042",
        "kind": "customer",
        "legal_name": "Bakkerij de Zandloper BV",
        "trade_name": "De Zandloper",
        "visit_address": {"street": "Lindengracht", "house_number": "118",
            "postcode": "1015km", "city": "Amsterdam", "country": "NL"},
        "contacts": [{"name": "Marloes Verhagen", "email": "facturen@dezandloper.example",
            "phone": "06 5550 1427"}],
        "kvk_number": "8765 4321",
        "active": true
    }"#;

    #[test]
    fn snelstart_relatie_becomes_a_match_record() {
        let relatie: Relatie = serde_json::from_str(RELATIE).expect("fixture parses");
        let record = MatchRecord::from_snelstart(&relatie);
        assert_eq!(record.id, "14254699-e7ff-4537-9fb8-47ad46f7d4d7");
        assert_eq!(
            record.legal_name.as_deref(),
            Some("Bakkerij De Zandloper B.V.")
        );
        assert_eq!(record.kvk.as_deref(), Some("87654321"));
        assert_eq!(record.vat.as_deref(), Some("NL001234560B89"));
        assert_eq!(record.iban.as_deref(), Some("NL91ABNA0417164300"));
        assert_eq!(
            record.emails,
            [
                "administratie@dezandloper.example",
                "facturen@dezandloper.example"
            ]
        );
        assert_eq!(record.phones, ["020-5550142", "06-55501427"]);
        assert_eq!(
            record.addresses,
            [
                MatchAddress::new("1015 KM", "118"),
                MatchAddress::new("1006 BK", "90412")
            ]
        );
    }

    #[test]
    fn crm_relation_becomes_a_match_record_and_matches() {
        let relation: Relation = serde_json::from_str(RELATION).expect("fixture parses");
        let record = MatchRecord::from_crm(&relation);
        assert_eq!(record.id, "crm-1042");
        assert_eq!(record.trade_name.as_deref(), Some("De Zandloper"));
        assert_eq!(record.kvk.as_deref(), Some("87654321"));
        assert_eq!(record.emails, ["facturen@dezandloper.example"]);
        assert_eq!(record.addresses, [MatchAddress::new("1015km", "118")]);

        let relatie: Relatie = serde_json::from_str(RELATIE).expect("fixture parses");
        let outcome = Matcher::default()
            .run(&[record], &[MatchRecord::from_snelstart(&relatie)])
            .expect("valid ids");
        assert_eq!(outcome.results[0].decision, Decision::Match);
    }
}
