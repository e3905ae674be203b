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
//! This is a thin wrapper over `snelstart_sync::mapping::matching::report`; `snelsync
//! match-report` prints the same lines (and reads SnelStart's relations through the client
//! when no SnelStart file is given).
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

use std::error::Error;
use std::fs;
use std::io::{self, BufWriter};

use snelstart_sync::mapping::matching::Matcher;
use snelstart_sync::mapping::matching::report::{CrmRelations, SnelStartRelations, match_report};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(crm_path), Some(snelstart_path)) = (args.next(), args.next()) else {
        eprintln!("usage: match_report CRM.json SNELSTART.json");
        std::process::exit(2);
    };
    let crm_text = fs::read_to_string(&crm_path)
        .map_err(|e| format!("cannot read CRM file {crm_path}: {e}"))?;
    let crm = CrmRelations::from_json(&crm_text).map_err(|e| format!("{crm_path}: {e}"))?;
    let snelstart_text = fs::read_to_string(&snelstart_path)
        .map_err(|e| format!("cannot read SnelStart file {snelstart_path}: {e}"))?;
    let snelstart = SnelStartRelations::from_json(&snelstart_text)
        .map_err(|e| format!("{snelstart_path}: {e}"))?;

    let report = match_report(&crm, &snelstart, &Matcher::default())?;
    report.write_json_lines(BufWriter::new(io::stdout().lock()))?;
    eprintln!("{}", report.summary());
    for note in report.duplicate_notes() {
        eprintln!("{note}");
    }
    Ok(())
}
