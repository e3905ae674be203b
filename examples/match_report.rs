//! What a team runs before its first sync: which CRM relations does SnelStart already have?
//!
//! ```text
//! cargo run --release --example match_report -- CRM.json SNELSTART.json
//! cargo run --release --example match_report -- \
//!     crates/mapping/tests/data/matching/crm.json crates/mapping/tests/data/matching/snelstart.json
//! ```
//!
//! Prints one JSON line per CRM relation, in the order of `CRM.json`:
//!
//! ```text
//! {"crm_id":"crm-1042","decision":"match","snelstart_id":"14254699-…","score":130,"reasons":["kvk_equal","name_equal"]}
//! {"crm_id":"crm-2001","decision":"review","snelstart_id":"…","score":48,"reasons":["email_domain_equal","name_equal","ambiguous_with:…:48"]}
//! {"crm_id":"crm-3003","decision":"new","snelstart_id":null,"score":0,"reasons":["no_candidate"]}
//! ```
//!
//! `decision` is `match` (link to `snelstart_id`), `review` (a person decides; `snelstart_id`
//! is the best candidate) or `new` (create it). `reasons` are the evidence codes of the best
//! candidate (`kvk_equal`, `vat_equal`, `iban_equal`, `email_equal`, `email_domain_equal`,
//! `phone_equal`, `address_equal`, `same_building`, `name_equal`, `name_truncated`,
//! `name_similar:0.934`, `name_contained`, `name_different:0.412`, `legal_form_differs`,
//! `vat_conflict`) and why it is not a match (`ambiguous_with:ID:SCORE`,
//! `also_matched_by_crm:ID`, `vetoed:ID:kvk_conflict`, `vetoed:ID:holding_vs_operating`,
//! `insufficient_evidence`, `no_candidate`). A summary and the likely duplicates inside either
//! file go to standard error.
//!
//! # `CRM.json`
//!
//! A JSON array of CRM relations in the `crm-model` serde format (see the `crm-model` crate
//! documentation for every field):
//!
//! ```json
//! [{"id": "crm-1042", "kind": "customer", "legal_name": "Bakkerij De Zandloper B.V.",
//!   "trade_name": "De Zandloper",
//!   "visit_address": {"street": "Lindengracht", "house_number": "118",
//!                     "postcode": "1015 KM", "city": "Amsterdam", "country": "NL"},
//!   "contacts": [{"name": "Marloes Verhagen", "email": "facturen@dezandloper.nl"}],
//!   "email": "info@dezandloper.nl", "phone": "020-5550142",
//!   "vat_number": "NL001234560B89", "kvk_number": "87654321",
//!   "iban": "NL91 ABNA 0417 1643 00", "active": true}]
//! ```
//!
//! Only `id`, `kind` and `legal_name` are required; the matcher uses the names, KvK, VAT,
//! IBAN, e-mail addresses and phone numbers (also the contacts'), and postcode + house number.
//!
//! # `SNELSTART.json`
//!
//! The JSON array `GET /v2/relaties` returns (all pages concatenated), in SnelStart's own
//! camelCase form: `id`, `naam`, `kvkNummer`, `btwNummer`, `iban`, `email`, `telefoon`,
//! `mobieleTelefoon`, `vestigingsAdres` / `correspondentieAdres` (`straat` with the house
//! number in it, `postcode`), `factuurEmailVersturen.email`; other fields are read and ignored.

use std::error::Error;
use std::fs;
use std::io::{self, BufWriter, Write};

use snelstart_sync::client::models::Relatie;
use snelstart_sync::crm::Relation;
use snelstart_sync::mapping::matching::{Decision, MatchRecord, Matcher, Reason};

/// One output line; a struct (not `json!`) so the keys keep this order.
#[derive(serde::Serialize)]
struct ReportLine<'a> {
    crm_id: &'a str,
    decision: Decision,
    snelstart_id: Option<&'a str>,
    score: i32,
    reasons: &'a [Reason],
}

fn read_array<T: serde::de::DeserializeOwned>(
    path: &str,
    what: &str,
) -> Result<Vec<T>, Box<dyn Error>> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {what} file {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| {
        format!("{what} file {path} is not a JSON array of {what} relations: {e}").into()
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(crm_path), Some(snelstart_path)) = (args.next(), args.next()) else {
        eprintln!("usage: match_report CRM.json SNELSTART.json");
        std::process::exit(2);
    };
    let crm: Vec<Relation> = read_array(&crm_path, "CRM")?;
    let snelstart: Vec<Relatie> = read_array(&snelstart_path, "SnelStart")?;

    let crm_records: Vec<MatchRecord> = crm.iter().map(MatchRecord::from_crm).collect();
    let ss_records: Vec<MatchRecord> = snelstart.iter().map(MatchRecord::from_snelstart).collect();
    let outcome = Matcher::default().run(&crm_records, &ss_records)?;

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for result in &outcome.results {
        let line = ReportLine {
            crm_id: &result.crm_id,
            decision: result.decision,
            snelstart_id: result.snelstart_id.as_deref(),
            score: result.score,
            reasons: &result.reasons,
        };
        writeln!(out, "{}", serde_json::to_string(&line)?)?;
    }
    out.flush()?;

    eprintln!(
        "{} CRM relations against {} SnelStart relations: {} match, {} review, {} new",
        outcome.results.len(),
        ss_records.len(),
        outcome.count(Decision::Match),
        outcome.count(Decision::Review),
        outcome.count(Decision::New),
    );
    for pair in outcome
        .crm_duplicates
        .iter()
        .chain(&outcome.snelstart_duplicates)
    {
        let evidence: Vec<String> = pair.evidence.iter().map(ToString::to_string).collect();
        eprintln!(
            "possible duplicate in {}: {} and {} (score {}: {})",
            pair.side,
            pair.first_id,
            pair.second_id,
            pair.score,
            evidence.join(", ")
        );
    }
    Ok(())
}
