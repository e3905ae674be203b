//! The match report a team reads before its first sync: which CRM relations does SnelStart
//! already have?
//!
//! Both sides are read record by record and never stop on a value: a record that cannot be
//! read becomes an [`InvalidLine`] naming each field by its JSON path, and the report goes on
//! with the next one. The readable records go through the [`Matcher`]; each CRM relation gets a
//! [`DecisionLine`]. [`MatchReport::write_json_lines`] prints one JSON object per line:
//!
//! ```text
//! {"crm_id":"crm-1042","decision":"match","snelstart_id":"…","score":130,"reasons":["kvk_equal","name_equal"],"relatiecode":1042,"snelstart_duplicates":null,"candidates":[]}
//! {"side":"crm","index":12,"crm_id":"crm-99","decision":"invalid","problems":[{"field":"kvk_number","message":"…"}]}
//! ```
//!
//! Unreadable SnelStart records come first (`"side":"snelstart"`, left out of the matching),
//! then the CRM lines in the order of the CRM file, decisions and unreadable records
//! interleaved. The [`ReportSummary`] counts them; the report also keeps the duplicate groups
//! inside SnelStart and the likely duplicates inside the CRM.
//!
//! `examples/match_report.rs` and `snelsync match-report` are thin wrappers over this module.
//!
//! ```
//! use mapping::matching::Matcher;
//! use mapping::matching::report::{CrmRelations, SnelStartRelations, match_report};
//!
//! let crm = CrmRelations::from_json(
//!     r#"[{"id": "crm-1", "kind": "customer", "legal_name": "Bakkerij De Zandloper B.V.",
//!          "kvk_number": "KvK 87654321"},
//!         {"id": "crm-2", "kind": "customer", "legal_name": "Kapot B.V.",
//!          "kvk_number": "geen idee"}]"#,
//! )?;
//! let snelstart = SnelStartRelations::from_json(
//!     r#"[{"id": "14254699-e7ff-4537-9fb8-47ad46f7d4d7", "relatiesoort": ["Klant"],
//!          "relatiecode": 1042, "naam": "Bakkerij De Zandloper B.V.", "kvkNummer": "87654321"}]"#,
//! )?;
//! let report = match_report(&crm, &snelstart, &Matcher::default())?;
//! let summary = report.summary();
//! assert_eq!((summary.matched, summary.crm_invalid), (1, 1));
//! let mut out = Vec::new();
//! report.write_json_lines(&mut out)?;
//! let text = String::from_utf8(out)?;
//! assert!(text.lines().next().unwrap().contains(r#""decision":"match""#));
//! assert!(text.lines().nth(1).unwrap().contains(r#""field":"kvk_number""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};

use crm_model::Relation;
use crm_model::read::{JsonSyntaxError, read_export};
use serde::{Serialize, Serializer};
use serde_json::Value;
use snelstart_client::models::Relatie;

use super::{
    Candidate, Decision, DuplicateGroup, DuplicatePair, MatchError, MatchOutcome, MatchRecord,
    Matcher, Reason, Side,
};

/// A file (or list) that could not be read at all: nothing of it can be reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The CRM document is not JSON, or not an array of relations or an export document.
    #[error("CRM relations, {0}")]
    Crm(JsonSyntaxError),
    /// The SnelStart document is not a JSON array.
    #[error("SnelStart relations are not a JSON array: {0}")]
    SnelStart(String),
}

/// A field of a record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FieldProblem {
    /// The field's JSON path within the record (`kvk_number`, `vestigingsAdres.land.id`);
    /// empty when the record as a whole is wrong (not an object).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldProblem {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Serialises as the string `"invalid"`: the `decision` of an [`InvalidLine`], so a reader of
/// the lines tells them from [`DecisionLine`]s by one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct InvalidTag;

impl Serialize for InvalidTag {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("invalid")
    }
}

/// A record that could not be read; it is left out of the matching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct InvalidLine {
    /// Which file the record is in.
    pub side: Side,
    /// Its position in that file's list, from 0.
    pub index: usize,
    /// Its CRM id, when it had a usable one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm_id: Option<String>,
    /// Its SnelStart id, when it had a readable one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snelstart_id: Option<String>,
    decision: InvalidTag,
    /// Every field that could not be read; never empty.
    pub problems: Vec<FieldProblem>,
}

impl InvalidLine {
    /// An unreadable CRM record.
    pub fn crm(index: usize, crm_id: Option<String>, problems: Vec<FieldProblem>) -> Self {
        Self {
            side: Side::Crm,
            index,
            crm_id,
            snelstart_id: None,
            decision: InvalidTag,
            problems,
        }
    }

    /// An unreadable SnelStart record (for lists read elsewhere, e.g. by the client, which
    /// skips items that do not decode).
    pub fn snelstart(
        index: usize,
        snelstart_id: Option<String>,
        problems: Vec<FieldProblem>,
    ) -> Self {
        Self {
            side: Side::Snelstart,
            index,
            crm_id: None,
            snelstart_id,
            decision: InvalidTag,
            problems,
        }
    }

    fn repeated_id(side: Side, index: usize, id: String, earlier: usize) -> Self {
        let problems = vec![FieldProblem::new(
            "id",
            format!("id occurs earlier at index {earlier}; the first wins"),
        )];
        match side {
            Side::Crm => Self::crm(index, Some(id), problems),
            Side::Snelstart => Self::snelstart(index, Some(id), problems),
        }
    }
}

/// The decision for one CRM relation. The field order is the order of the JSON keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DecisionLine {
    /// The CRM relation.
    pub crm_id: String,
    /// Match (link to `snelstart_id`), review (a person decides) or new (create it).
    pub decision: Decision,
    /// The matched SnelStart relation, or the best candidate of a review.
    pub snelstart_id: Option<String>,
    /// The best candidate's score.
    pub score: i32,
    /// The best candidate's evidence and why it is or is not a match.
    pub reasons: Vec<Reason>,
    /// The relatiecode of `snelstart_id`.
    pub relatiecode: Option<i64>,
    /// "SnelStart holds this company 3 times: …; linked to 1042".
    pub snelstart_duplicates: Option<String>,
    /// For a review: the competing candidates and their evidence (empty otherwise).
    pub candidates: Vec<Candidate>,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ReportLine {
    /// A CRM relation and what to do with it.
    Decision(DecisionLine),
    /// A record of either side that could not be read.
    Invalid(InvalidLine),
}

/// The CRM side of a report: the relations that could be read (with their position in the
/// file) and a line for each one that could not.
#[derive(Debug, Clone, Default)]
pub struct CrmRelations {
    /// `(index in the file, relation)`, in file order, ids unique.
    records: Vec<(usize, Relation)>,
    invalid: Vec<InvalidLine>,
}

impl CrmRelations {
    /// Reads a JSON array of CRM relations in the `crm-model` format, or a whole export
    /// document (`{"relations": [...], ...}`), record by record with the same lenient reader
    /// as the sync's intake ([`crm_model::read`]). The same id twice: the first occurrence
    /// wins (even when it could not be read), the later one is an [`InvalidLine`] naming `id`.
    ///
    /// # Errors
    /// [`ReportError::Crm`] when the text is not JSON or not of either form (with line and
    /// column).
    pub fn from_json(text: &str) -> Result<Self, ReportError> {
        // An array of relations is read as the `relations` section of an export document, so
        // both forms go through the intake's reader. (The prefix shifts columns of line 1 only.)
        let wrapped;
        let document = if text.trim_start().starts_with('[') {
            wrapped = format!("{{\"relations\":{text}}}");
            &wrapped
        } else {
            text
        };
        let export = read_export(document).map_err(ReportError::Crm)?;
        let mut invalid: Vec<InvalidLine> = export
            .relations
            .rejections
            .iter()
            .map(|r| {
                InvalidLine::crm(
                    r.index,
                    r.id.as_ref().map(|id| id.as_str().to_owned()),
                    r.problems
                        .iter()
                        .map(|p| FieldProblem::new(p.path.clone(), p.message.clone()))
                        .collect(),
                )
            })
            .collect();
        let mut first: HashMap<String, usize> = HashMap::new();
        for line in &invalid {
            if let Some(id) = &line.crm_id {
                first.entry(id.clone()).or_insert(line.index);
            }
        }
        let mut records = Vec::with_capacity(export.relations.records.len());
        for read in export.relations.records {
            let id = read.record.id.as_str().to_owned();
            if let Some(&earlier) = first.get(&id).filter(|&&earlier| earlier < read.index) {
                invalid.push(InvalidLine::repeated_id(Side::Crm, read.index, id, earlier));
                continue;
            }
            first.insert(id, read.index);
            records.push((read.index, read.record));
        }
        records.sort_by_key(|(index, _)| *index);
        invalid.sort_by_key(|line| line.index);
        Ok(Self { records, invalid })
    }

    /// The relations that could be read, in file order.
    pub fn relations(&self) -> impl ExactSizeIterator<Item = &Relation> {
        self.records.iter().map(|(_, r)| r)
    }

    /// The records that could not be read, in file order.
    pub fn invalid(&self) -> &[InvalidLine] {
        &self.invalid
    }
}

/// The SnelStart side of a report: the relations that could be read and a line for each one
/// that could not.
#[derive(Debug, Clone, Default)]
pub struct SnelStartRelations {
    relaties: Vec<Relatie>,
    invalid: Vec<InvalidLine>,
}

impl SnelStartRelations {
    /// Reads the JSON array `GET /v2/relaties` returns (all pages concatenated), each item on
    /// its own: an item that does not decode becomes an [`InvalidLine`] naming each field that
    /// does not read; an id seen before is refused (the first wins).
    ///
    /// # Errors
    /// [`ReportError::SnelStart`] when the text is not a JSON array.
    pub fn from_json(text: &str) -> Result<Self, ReportError> {
        let items: Vec<Value> =
            serde_json::from_str(text).map_err(|e| ReportError::SnelStart(e.to_string()))?;
        Ok(Self::from_values(items))
    }

    /// As [`from_json`](Self::from_json), from items already parsed.
    pub fn from_values(items: Vec<Value>) -> Self {
        let mut relaties = Vec::with_capacity(items.len());
        let mut invalid = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            // Decoding consumes the item; its id and fields are needed only when it fails.
            match serde_json::from_value::<Relatie>(item.clone()) {
                Ok(relatie) => relaties.push((index, relatie)),
                Err(error) => invalid.push(InvalidLine::snelstart(
                    index,
                    item.get("id").and_then(Value::as_str).map(str::to_owned),
                    item_problems(&item, &error),
                )),
            }
        }
        Self::from_read(relaties, invalid)
    }

    /// Relations read elsewhere (e.g. by the client, which skips and records the items that
    /// do not decode), with their position in the list, and the lines for the skipped ones.
    /// An id seen before is refused (the first wins).
    pub fn from_read(relaties: Vec<(usize, Relatie)>, mut invalid: Vec<InvalidLine>) -> Self {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut kept = Vec::with_capacity(relaties.len());
        for (index, relatie) in relaties {
            let id = relatie.id.to_string();
            if let Some(&earlier) = seen.get(&id) {
                invalid.push(InvalidLine::repeated_id(
                    Side::Snelstart,
                    index,
                    id,
                    earlier,
                ));
                continue;
            }
            seen.insert(id, index);
            kept.push(relatie);
        }
        invalid.sort_by_key(|line| line.index);
        Self {
            relaties: kept,
            invalid,
        }
    }

    /// The relations that could be read, ids unique.
    pub fn relaties(&self) -> &[Relatie] {
        &self.relaties
    }

    /// The records that could not be read, in list order.
    pub fn invalid(&self) -> &[InvalidLine] {
        &self.invalid
    }
}

/// The problems of a SnelStart item that did not decode: each field is tried on its own (with
/// the id), so the line names it.
fn item_problems(item: &Value, error: &serde_json::Error) -> Vec<FieldProblem> {
    let fields = failing_fields(item);
    if fields.is_empty() {
        return vec![FieldProblem::new("", error.to_string())];
    }
    fields
        .into_iter()
        .map(|field| {
            let value = item.get(&field).map_or("?".into(), Value::to_string);
            FieldProblem {
                message: format!("{error}; value {value}"),
                field,
            }
        })
        .collect()
}

fn failing_fields(item: &Value) -> Vec<String> {
    let Some(object) = item.as_object() else {
        return vec![String::new()];
    };
    let id = object.get("id").cloned().unwrap_or(Value::Null);
    if serde_json::from_value::<Relatie>(serde_json::json!({ "id": id })).is_err() {
        return vec!["id".to_owned()];
    }
    object
        .iter()
        .filter(|(key, _)| *key != "id")
        .filter(|(key, value)| {
            let probe = serde_json::json!({ "id": id, key.as_str(): value });
            serde_json::from_value::<Relatie>(probe).is_err()
        })
        .map(|(key, _)| key.clone())
        .collect()
}

/// The counts of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct ReportSummary {
    /// CRM records in the input, readable or not.
    pub crm_total: usize,
    /// SnelStart records in the input, readable or not.
    pub snelstart_total: usize,
    /// CRM relations linked to a SnelStart relation.
    pub matched: usize,
    /// CRM relations a person decides on.
    pub review: usize,
    /// CRM relations SnelStart does not have.
    pub new: usize,
    /// CRM records that could not be read.
    pub crm_invalid: usize,
    /// SnelStart records that could not be read.
    pub snelstart_invalid: usize,
}

impl fmt::Display for ReportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} CRM relations against {} SnelStart relations: {} match, {} review, {} new; \
             {} CRM and {} SnelStart records could not be read",
            self.crm_total,
            self.snelstart_total,
            self.matched,
            self.review,
            self.new,
            self.crm_invalid,
            self.snelstart_invalid
        )
    }
}

/// A whole report: the lines in print order, the counts and the duplicates found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MatchReport {
    /// Unreadable SnelStart records, then the CRM records in file order.
    pub lines: Vec<ReportLine>,
    /// The counts.
    pub summary: ReportSummary,
    /// The same company held more than once inside SnelStart, with its original.
    pub snelstart_groups: Vec<DuplicateGroup>,
    /// Likely duplicates inside the CRM.
    pub crm_duplicates: Vec<DuplicatePair>,
    /// Likely duplicates inside SnelStart (pairs; [`snelstart_groups`](Self::snelstart_groups)
    /// are what the decisions use).
    pub snelstart_duplicates: Vec<DuplicatePair>,
}

impl MatchReport {
    /// The counts.
    pub fn summary(&self) -> ReportSummary {
        self.summary
    }

    /// Writes one JSON object per line.
    ///
    /// # Errors
    /// The writer's.
    pub fn write_json_lines<W: Write>(&self, mut out: W) -> io::Result<()> {
        for line in &self.lines {
            serde_json::to_writer(&mut out, line)?;
            out.write_all(b"\n")?;
        }
        out.flush()
    }

    /// The duplicates as text lines, for the human summary: "duplicate in snelstart: …" per
    /// group, "possible duplicate in crm: A and B (score N: evidence)" per pair.
    pub fn duplicate_notes(&self) -> Vec<String> {
        let groups = self
            .snelstart_groups
            .iter()
            .map(|group| format!("duplicate in snelstart: {}", group.summary()));
        let pairs = self.crm_duplicates.iter().map(|pair| {
            let evidence: Vec<String> = pair.evidence.iter().map(ToString::to_string).collect();
            format!(
                "possible duplicate in {}: {} and {} (score {}: {})",
                pair.side,
                pair.first_id,
                pair.second_id,
                pair.score,
                evidence.join(", ")
            )
        });
        groups.chain(pairs).collect()
    }
}

/// Matches the readable CRM relations against the readable SnelStart relations and builds the
/// report.
///
/// # Errors
/// What [`Matcher::run`] refuses; not expected, since both sides hold unique ids by now.
pub fn match_report(
    crm: &CrmRelations,
    snelstart: &SnelStartRelations,
    matcher: &Matcher,
) -> Result<MatchReport, MatchError> {
    let crm_records: Vec<MatchRecord> = crm.relations().map(MatchRecord::from_crm).collect();
    let ss_records: Vec<MatchRecord> = snelstart
        .relaties
        .iter()
        .map(MatchRecord::from_snelstart)
        .collect();
    let codes: HashMap<&str, i64> = ss_records
        .iter()
        .filter_map(|r| Some((r.id.as_str(), r.relatiecode?)))
        .collect();
    let MatchOutcome {
        results,
        crm_duplicates,
        snelstart_duplicates,
        snelstart_groups,
        ..
    } = matcher.run(&crm_records, &ss_records)?;

    let count = |d: Decision| results.iter().filter(|r| r.decision == d).count();
    let summary = ReportSummary {
        crm_total: results.len() + crm.invalid.len(),
        snelstart_total: ss_records.len() + snelstart.invalid.len(),
        matched: count(Decision::Match),
        review: count(Decision::Review),
        new: count(Decision::New),
        crm_invalid: crm.invalid.len(),
        snelstart_invalid: snelstart.invalid.len(),
    };

    let mut lines = Vec::with_capacity(snelstart.invalid.len() + crm.invalid.len() + results.len());
    lines.extend(snelstart.invalid.iter().cloned().map(ReportLine::Invalid));
    // CRM lines in file order: decisions and unreadable records interleaved.
    let mut invalid = crm.invalid.iter().peekable();
    for (result, (position, _)) in results.into_iter().zip(&crm.records) {
        while let Some(line) = invalid.next_if(|l| l.index < *position) {
            lines.push(ReportLine::Invalid(line.clone()));
        }
        let relatiecode = result
            .snelstart_id
            .as_deref()
            .and_then(|id| codes.get(id).copied());
        let snelstart_duplicates = result.snelstart_duplicates_note();
        let candidates = if result.decision == Decision::Review {
            result.candidates
        } else {
            Vec::new()
        };
        lines.push(ReportLine::Decision(DecisionLine {
            crm_id: result.crm_id,
            decision: result.decision,
            snelstart_id: result.snelstart_id,
            score: result.score,
            reasons: result.reasons,
            relatiecode,
            snelstart_duplicates,
            candidates,
        }));
    }
    lines.extend(invalid.cloned().map(ReportLine::Invalid));
    Ok(MatchReport {
        lines,
        summary,
        snelstart_groups,
        crm_duplicates,
        snelstart_duplicates,
    })
}
