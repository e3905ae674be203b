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
//! {"crm_id":"crm-1042","decision":"match","snelstart_id":"14254699-…","score":130,"reasons":["kvk_equal","name_equal"],"relatiecode":1042,"snelstart_duplicates":null,"candidates":[]}
//! {"crm_id":"crm-2001","decision":"review","snelstart_id":"…","score":48,"reasons":["email_domain_equal","name_equal","ambiguous_with:…:48"],…,"candidates":[{"snelstart_id":"…","score":48,"evidence":["email_domain_equal","name_equal"],…},…]}
//! {"crm_id":"crm-3003","decision":"new","snelstart_id":null,"score":0,"reasons":["no_candidate"],…}
//! {"crm_id":"crm-7","decision":"match","snelstart_id":"…","score":95,"reasons":[…,"snelstart_holds_company_3_times:1042,1187,1301;original:1042"],"relatiecode":1042,"snelstart_duplicates":"SnelStart holds this company 3 times: 1042, 1187, 1301; linked to 1042",…}
//! {"side":"crm","index":12,"crm_id":"crm-99","decision":"invalid","problems":[{"field":"kvk_number","message":"…"}]}
//! ```
//!
//! `decision` is `match` (link to `snelstart_id`), `review` (a person decides; `snelstart_id`
//! is the best candidate, `candidates` are the competitors with the evidence of each), `new`
//! (create it) or `invalid` (the record could not be read: `problems` names each field by its
//! JSON path; the report goes on with the next record). `reasons` are the evidence codes of the
//! best candidate (`kvk_equal`, `vat_equal`, `iban_equal`, `email_equal`,
//! `email_domain_equal`, `phone_equal`, `address_equal`, `email_and_address_equal`, `own_domain_phone_address_equal`, `kvk_confirmed_by_contact`, `own_domain_and_name_equal`,
//! `same_building`, `name_equal`, `name_truncated`, `name_similar:0.934`, `name_contained`,
//! `name_different:0.412`, `legal_form_differs`, `address_differs`, `contacts_differ`,
//! `vat_conflict`) and why it is or is not a
//! match (`ambiguous_with:ID:SCORE`, `also_matched_by_crm:ID`, `vetoed:ID:kvk_conflict`,
//! `vetoed:ID:holding_vs_operating`, `kind_conflict:ID:relatiecode_N:snelstart_is_leverancier:SCORE`,
//! `snelstart_holds_company_N_times:CODES;original:CODE`, `insufficient_evidence`,
//! `no_candidate`). SnelStart records that cannot be read get a line with `"side":"snelstart"`
//! and are left out of the matching. A summary, the duplicate groups inside SnelStart ("SnelStart
//! holds this company 3 times: …; the original is 1042") and the likely duplicates inside the CRM
//! go to standard error. The exit code is 0 whenever a report was written; only a file that
//! cannot be read or is not JSON at all stops it (naming file, line and column).
//!
//! # `CRM.json`
//!
//! A JSON array of CRM relations in the `crm-model` format, or a whole export document
//! (`{"relations": [...], ...}`). It is read record by record with the same lenient reader as
//! the sync's intake (`crm_model::read`): every form of real exports is accepted (`KvK 12345678`,
//! a VAT id without `NL`, several e-mail addresses separated by `;`, ...).
//!
//! ```json
//! [{"id": "crm-1042", "kind": "customer", "legal_name": "Bakkerij De Zandloper B.V.",
//!   "trade_name": "De Zandloper",
//!   "visit_address": {"street": "Lindengracht", "house_number": "118",
//!                     "postcode": "1015 KM", "city": "Amsterdam", "country": "NL"},
//!   "contacts": [{"name": "Marloes Verhagen", "email": "facturen@dezandloper.nl"}],
//!   "email": "info@dezandloper.nl", "phone": "020-5550142", "website": "dezandloper.nl",
//!   "vat_number": "NL001234560B89", "kvk_number": "KvK 87654321",
//!   "iban": "NL91 ABNA 0417 1643 00", "active": true}]
//! ```
//!
//! Only `id`, `kind` and `legal_name` are required; the matcher uses the kind (customer,
//! supplier), the names, KvK, VAT, IBAN, e-mail addresses and phone numbers (also the
//! contacts'), the website, and postcode + house number.
//!
//! # `SNELSTART.json`
//!
//! The JSON array `GET /v2/relaties` returns (all pages concatenated), in SnelStart's own
//! camelCase form: `id`, `relatiesoort`, `relatiecode`, `nonactief`, `naam`, `kvkNummer`,
//! `btwNummer`, `iban`, `email`, `telefoon`, `mobieleTelefoon`, `websiteUrl`,
//! `vestigingsAdres` / `correspondentieAdres` (`straat` with the house number in it,
//! `postcode`), `factuurEmailVersturen.email`; other fields are read and ignored. Each item is
//! read on its own.

use std::collections::HashMap;
use std::error::Error;
use std::fs;
use std::io::{self, BufWriter, Write};

use serde_json::Value;
use snelstart_sync::client::models::Relatie;
use snelstart_sync::crm::Relation;
use snelstart_sync::crm::read::read_export;
use snelstart_sync::mapping::matching::{
    Candidate, Decision, MatchRecord, MatchResult, Matcher, Reason,
};

/// One decision line; a struct (not `json!`) so the keys keep this order.
#[derive(serde::Serialize)]
struct ReportLine<'a> {
    crm_id: &'a str,
    decision: Decision,
    snelstart_id: Option<&'a str>,
    score: i32,
    reasons: &'a [Reason],
    /// The relatiecode of `snelstart_id`.
    relatiecode: Option<i64>,
    /// "SnelStart holds this company 3 times: …; linked to 1042".
    snelstart_duplicates: Option<String>,
    /// For review: the competing candidates and their evidence.
    candidates: &'a [Candidate],
}

/// A field that could not be read.
#[derive(serde::Serialize)]
struct Problem {
    field: String,
    message: String,
}

/// A record that could not be read.
#[derive(serde::Serialize)]
struct InvalidLine {
    side: &'static str,
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    crm_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snelstart_id: Option<String>,
    decision: &'static str,
    problems: Vec<Problem>,
}

/// The CRM relations that could be read, and a line for each one that could not.
fn read_crm(path: &str) -> Result<(Vec<Relation>, Vec<InvalidLine>), Box<dyn Error>> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read CRM file {path}: {e}"))?;
    // An array of relations is read as the `relations` section of an export document, so
    // both forms go through the intake's reader. (The prefix shifts columns of line 1 only.)
    let document = if text.trim_start().starts_with('[') {
        format!("{{\"relations\":{text}}}")
    } else {
        text
    };
    let export = read_export(&document).map_err(|e| format!("CRM file {path}: {e}"))?;
    let mut invalid: Vec<InvalidLine> = export
        .relations
        .rejections
        .iter()
        .map(|r| InvalidLine {
            side: "crm",
            index: r.index,
            crm_id: r.id.as_ref().map(|id| id.as_str().to_owned()),
            snelstart_id: None,
            decision: "invalid",
            problems: r
                .problems
                .iter()
                .map(|p| Problem {
                    field: p.path.clone(),
                    message: p.message.clone(),
                })
                .collect(),
        })
        .collect();
    // The same id twice: the first occurrence wins (even when it could not be read), the
    // later one is refused naming `id`.
    let mut first: HashMap<String, usize> = HashMap::new();
    for line in &invalid {
        if let Some(id) = &line.crm_id {
            first.entry(id.clone()).or_insert(line.index);
        }
    }
    let mut relations = Vec::with_capacity(export.relations.records.len());
    for read in export.relations.records {
        let id = read.record.id.as_str().to_owned();
        if let Some(&earlier) = first.get(&id).filter(|&&earlier| earlier < read.index) {
            invalid.push(InvalidLine {
                side: "crm",
                index: read.index,
                crm_id: Some(id),
                snelstart_id: None,
                decision: "invalid",
                problems: vec![Problem {
                    field: "id".into(),
                    message: format!("id occurs earlier at index {earlier}; the first wins"),
                }],
            });
            continue;
        }
        first.insert(id, read.index);
        relations.push((read.index, read.record));
    }
    relations.sort_by_key(|(index, _)| *index);
    invalid.sort_by_key(|line| line.index);
    Ok((relations.into_iter().map(|(_, r)| r).collect(), invalid))
}

/// Which field of a SnelStart item does not read: each field is tried on its own (with the
/// id), so the line names it.
fn failing_fields(item: &Value) -> Vec<String> {
    let Some(object) = item.as_object() else {
        return vec![String::new()];
    };
    let id = object.get("id").cloned().unwrap_or(Value::Null);
    let mut fields = Vec::new();
    if serde_json::from_value::<Relatie>(serde_json::json!({ "id": id })).is_err() {
        fields.push("id".to_owned());
        return fields;
    }
    for (key, value) in object {
        if key == "id" {
            continue;
        }
        let probe = serde_json::json!({ "id": id, key.as_str(): value });
        if serde_json::from_value::<Relatie>(probe).is_err() {
            fields.push(key.clone());
        }
    }
    fields
}

/// The SnelStart relations that could be read, and a line for each one that could not.
fn read_snelstart(path: &str) -> Result<(Vec<Relatie>, Vec<InvalidLine>), Box<dyn Error>> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read SnelStart file {path}: {e}"))?;
    let items: Vec<Value> = serde_json::from_str(&text)
        .map_err(|e| format!("SnelStart file {path} is not a JSON array: {e}"))?;
    let mut relaties = Vec::with_capacity(items.len());
    let mut invalid = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, item) in items.into_iter().enumerate() {
        let snelstart_id = item.get("id").and_then(Value::as_str).map(str::to_owned);
        match serde_json::from_value::<Relatie>(item.clone()) {
            Ok(relatie) => {
                let id = relatie.id.to_string();
                if let Some(&earlier) = seen.get(&id) {
                    invalid.push(InvalidLine {
                        side: "snelstart",
                        index,
                        crm_id: None,
                        snelstart_id: Some(id),
                        decision: "invalid",
                        problems: vec![Problem {
                            field: "id".into(),
                            message: format!(
                                "id occurs earlier at index {earlier}; the first wins"
                            ),
                        }],
                    });
                    continue;
                }
                seen.insert(id, index);
                relaties.push(relatie);
            }
            Err(error) => {
                let fields = failing_fields(&item);
                let problems = if fields.is_empty() {
                    vec![Problem {
                        field: String::new(),
                        message: error.to_string(),
                    }]
                } else {
                    fields
                        .into_iter()
                        .map(|field| Problem {
                            message: format!(
                                "{error}; value {}",
                                item.get(&field).map_or("?".into(), Value::to_string)
                            ),
                            field,
                        })
                        .collect()
                };
                invalid.push(InvalidLine {
                    side: "snelstart",
                    index,
                    crm_id: None,
                    snelstart_id,
                    decision: "invalid",
                    problems,
                });
            }
        }
    }
    Ok((relaties, invalid))
}

fn report_line(result: &MatchResult, relatiecode: Option<i64>) -> ReportLine<'_> {
    ReportLine {
        crm_id: &result.crm_id,
        decision: result.decision,
        snelstart_id: result.snelstart_id.as_deref(),
        score: result.score,
        reasons: &result.reasons,
        relatiecode,
        snelstart_duplicates: result.snelstart_duplicates_note(),
        candidates: if result.decision == Decision::Review {
            &result.candidates
        } else {
            &[]
        },
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(crm_path), Some(snelstart_path)) = (args.next(), args.next()) else {
        eprintln!("usage: match_report CRM.json SNELSTART.json");
        std::process::exit(2);
    };
    let (crm, crm_invalid) = read_crm(&crm_path)?;
    let (snelstart, ss_invalid) = read_snelstart(&snelstart_path)?;

    let crm_records: Vec<MatchRecord> = crm.iter().map(MatchRecord::from_crm).collect();
    let ss_records: Vec<MatchRecord> = snelstart.iter().map(MatchRecord::from_snelstart).collect();
    let codes: HashMap<&str, i64> = ss_records
        .iter()
        .filter_map(|r| Some((r.id.as_str(), r.relatiecode?)))
        .collect();
    // Ids are unique on both sides by now, so the matcher has nothing to refuse.
    let outcome = Matcher::default().run(&crm_records, &ss_records)?;

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for line in &ss_invalid {
        writeln!(out, "{}", serde_json::to_string(line)?)?;
    }
    // CRM lines in file order: decisions and unreadable records interleaved.
    let mut invalid = crm_invalid.iter().peekable();
    let positions: Vec<usize> = {
        // The file index of each readable record: every index not taken by an invalid line.
        let taken: std::collections::HashSet<usize> = crm_invalid.iter().map(|l| l.index).collect();
        (0..crm.len() + crm_invalid.len())
            .filter(|i| !taken.contains(i))
            .collect()
    };
    for (result, position) in outcome.results.iter().zip(&positions) {
        while let Some(line) = invalid.next_if(|l| l.index < *position) {
            writeln!(out, "{}", serde_json::to_string(line)?)?;
        }
        let code = result
            .snelstart_id
            .as_deref()
            .and_then(|id| codes.get(id).copied());
        writeln!(
            out,
            "{}",
            serde_json::to_string(&report_line(result, code))?
        )?;
    }
    for line in invalid {
        writeln!(out, "{}", serde_json::to_string(line)?)?;
    }
    out.flush()?;

    eprintln!(
        "{} CRM relations against {} SnelStart relations: {} match, {} review, {} new; {} CRM and {} SnelStart records could not be read",
        outcome.results.len() + crm_invalid.len(),
        ss_records.len() + ss_invalid.len(),
        outcome.count(Decision::Match),
        outcome.count(Decision::Review),
        outcome.count(Decision::New),
        crm_invalid.len(),
        ss_invalid.len(),
    );
    for group in &outcome.snelstart_groups {
        eprintln!("duplicate in snelstart: {}", group.summary());
    }
    for pair in &outcome.crm_duplicates {
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
