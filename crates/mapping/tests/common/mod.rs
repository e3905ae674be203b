//! Shared fixtures: the chart of accounts `snelstart-mock` seeds, with fixed ids.

#![allow(dead_code)]

use mapping::config::{ChartOfAccounts, CostCentreInfo, LedgerInfo, LineVatKind};
use snelstart_client::{GrootboekId, KostenplaatsId, LandId};
use uuid::Uuid;

use LineVatKind::{Geen, Hoog, Laag, Overig};

/// A readable fixed id: `00000000-0000-0000-0000-0000000NNNNN` with the number in it.
pub fn fixed(n: u32) -> Uuid {
    Uuid::from_u128(u128::from(n))
}

/// The P&L ledgers of the mock seed: (nummer, allowed VAT kinds, kostenplaats verplicht).
pub const LEDGERS: &[(u32, &[LineVatKind], bool)] = &[
    (4000, &[Geen], false),
    (4100, &[Hoog], false),
    (4200, &[Geen, Laag, Hoog], false),
    (4300, &[Geen, Laag, Hoog], false),
    (4400, &[Geen, Laag, Hoog], true),
    (4500, &[Laag], false),
    (7000, &[Geen, Laag, Hoog], false),
    (8000, &[Hoog], false),
    (8010, &[Laag], false),
    (8020, &[Geen], false),
    (8030, &[Geen], false),
    (8040, &[Geen], false),
    (8050, &[Geen], false),
    (8060, &[Overig], false),
    (8100, &[Hoog], true),
];

pub fn mock_chart() -> ChartOfAccounts {
    let ledgers = LEDGERS.iter().map(|(n, vat, kpl)| {
        let mut l = LedgerInfo::new(GrootboekId::from_uuid(fixed(*n)), *n, vat);
        l.cost_centre_required = *kpl;
        l
    });
    let cost_centres = [2024017u32, 2024018]
        .into_iter()
        .map(|n| CostCentreInfo::new(KostenplaatsId::from_uuid(fixed(n)), n));
    ChartOfAccounts::new(ledgers, cost_centres)
}

pub fn land(code: crm_model::CountryCode) -> Option<LandId> {
    match code.as_str() {
        "NL" => Some(LandId::from_uuid(fixed(31))),
        "BE" => Some(LandId::from_uuid(fixed(32))),
        "DE" => Some(LandId::from_uuid(fixed(49))),
        _ => None,
    }
}

/// A realistic customer with three contacts, both addresses and every identifier.
pub fn bakkerij() -> crm_model::Relation {
    serde_json::from_value(serde_json::json!({
        "id": "crm-1042",
        "kind": "customer",
        "number": "1042",
        "legal_name": "Bakkerij De Gouden Korst B.V.",
        "trade_name": "De Gouden Korst",
        "visit_address": { "street": "Dorpsstraat", "house_number": "12", "house_number_addition": "A",
                           "postcode": "3811ab", "city": "Amersfoort" },
        "postal_address": { "street": "Postbus", "house_number": "100", "postcode": "3800 AA",
                            "city": "Amersfoort" },
        "contacts": [
            { "id": "c-3", "name": "Kees Bakker", "role": "Verkoop", "email": "kees@goudenkorst.nl",
              "last_changed": "2024-04-01T09:00:00Z" },
            { "id": "c-2", "name": "Petra de Vries", "role": "Financiële administratie",
              "email": "facturen@goudenkorst.nl", "phone": "033-7654321" },
            { "id": "c-1", "name": "Jan Jansen", "role": "Directeur", "primary": true,
              "phone": "033-1234567" }
        ],
        "vat_number": "NL001234560B01",
        "kvk_number": "12345678",
        "iban": "NL91ABNA0417164300",
        "bic": "abnanl2a",
        "website": "goudenkorst.nl",
        "payment_term_days": 30,
        "credit_limit": "5000",
        "last_changed": "2024-04-02T08:30:00Z"
    }))
    .unwrap()
}
