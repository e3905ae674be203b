//! `mapping::matching::report` on the messy sample files: every record of both files is
//! accounted for exactly once, CRM lines keep the file's order, unreadable SnelStart records
//! come first, and the summary counts what the lines say.

use mapping::matching::Matcher;
use mapping::matching::report::{CrmRelations, ReportLine, SnelStartRelations, match_report};
use serde_json::Value;

const CRM: &str = include_str!("data/matching/crm_messy.json");
const SNELSTART: &str = include_str!("data/matching/snelstart_messy.json");

#[test]
fn every_record_has_one_line_in_file_order() {
    let crm = CrmRelations::from_json(CRM).expect("a JSON array");
    let snelstart = SnelStartRelations::from_json(SNELSTART).expect("a JSON array");
    let report = match_report(&crm, &snelstart, &Matcher::default()).expect("unique ids");
    let crm_items: Vec<Value> = serde_json::from_str(CRM).expect("JSON");
    let ss_items: Vec<Value> = serde_json::from_str(SNELSTART).expect("JSON");
    let s = report.summary();
    assert_eq!(s.crm_total, crm_items.len());
    assert_eq!(s.snelstart_total, ss_items.len());
    assert!(s.crm_invalid > 0 && s.snelstart_invalid > 0, "{s:?}");
    assert_eq!(s.matched + s.review + s.new + s.crm_invalid, s.crm_total);
    assert_eq!(report.lines.len(), s.snelstart_invalid + s.crm_total);

    // SnelStart's unreadable records first, then one line per CRM record in file order.
    let (ss_lines, crm_lines) = report.lines.split_at(s.snelstart_invalid);
    for line in ss_lines {
        let ReportLine::Invalid(invalid) = line else {
            panic!("a decision among the SnelStart lines: {line:?}");
        };
        assert!(!invalid.problems.is_empty());
    }
    let ids_in_file: Vec<Option<&str>> = crm_items
        .iter()
        .map(|item| item.get("id").and_then(Value::as_str))
        .collect();
    for (position, line) in crm_lines.iter().enumerate() {
        match line {
            ReportLine::Decision(d) => assert_eq!(Some(d.crm_id.as_str()), ids_in_file[position]),
            ReportLine::Invalid(i) => {
                assert_eq!(i.index, position);
                assert!(!i.problems.is_empty());
            }
            other => panic!("unexpected line {other:?}"),
        }
    }

    // The lines are the JSON lines the example prints: one object each, `decision` always set.
    let mut out = Vec::new();
    report.write_json_lines(&mut out).expect("in memory");
    let text = String::from_utf8(out).expect("UTF-8");
    assert_eq!(text.lines().count(), report.lines.len());
    for line in text.lines() {
        let value: Value = serde_json::from_str(line).expect("one JSON object per line");
        assert!(value["decision"].is_string(), "{line}");
    }
}
