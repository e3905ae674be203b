//! The JSON tree the reader walks: numbers keep their text, objects keep every key in order
//! (duplicates included), and nesting deeper than [`MAX_DEPTH`] is skipped, not recursed into.
//!
//! Two ways in: [`Node::from_value`] for a `serde_json::Value` (numbers as serde_json prints
//! them), and [`parse_export`] for export text (numbers exactly as written).

use serde_json::Value;

use super::{ExportSection, FieldNotice, JsonSyntaxError};

/// Deeper nesting than this becomes [`Node::TooDeep`] (no CRM record nests more than 4 levels).
pub(crate) const MAX_DEPTH: usize = 64;

/// One JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    /// A number with the text it was written with. `inexact` when it came from an `f64` whose
    /// shortest form has more significant digits than an `f64` holds exactly (the text may not
    /// be what the sender wrote).
    Num {
        text: String,
        inexact: bool,
    },
    Str(String),
    Arr(Vec<Node>),
    /// Every member in order, duplicate keys included.
    Obj(Vec<(String, Node)>),
    /// An array or object nested deeper than [`MAX_DEPTH`], not read.
    TooDeep,
}

impl Node {
    /// Converts a `serde_json::Value`. Integers keep their exact text; other numbers are what
    /// serde_json made of them (an `f64`), printed in their shortest round-trip form.
    pub(crate) fn from_value(value: &Value) -> Node {
        Self::from_value_at(value, 0)
    }

    fn from_value_at(value: &Value, depth: usize) -> Node {
        match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => {
                let text = n.to_string();
                let inexact = n.is_f64() && significant_digits(&text) > 15;
                Node::Num { text, inexact }
            }
            Value::String(s) => Node::Str(s.clone()),
            Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => Node::TooDeep,
            Value::Array(items) => Node::Arr(
                items
                    .iter()
                    .map(|v| Self::from_value_at(v, depth + 1))
                    .collect(),
            ),
            Value::Object(map) => Node::Obj(
                map.iter()
                    .map(|(k, v)| (k.clone(), Self::from_value_at(v, depth + 1)))
                    .collect(),
            ),
        }
    }

    /// What the value is, for messages: `the number 12.5`, `the string "abc"`, `an array`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Node::Null => "null".to_owned(),
            Node::Bool(b) => format!("the boolean {b}"),
            Node::Num { text, .. } => format!("the number {}", abbreviate(text)),
            Node::Str(s) => format!("the string {:?}", abbreviate(s)),
            Node::Arr(_) => "an array".to_owned(),
            Node::Obj(_) => "an object".to_owned(),
            Node::TooDeep => format!("a value nested more than {MAX_DEPTH} levels deep"),
        }
    }

    /// The value quoted in a problem: a string as it is, anything else as compact JSON;
    /// shortened when long.
    pub(crate) fn quoted(&self) -> String {
        match self {
            Node::Str(s) => abbreviate(s),
            other => {
                let mut out = String::new();
                other.write_json(&mut out, 256);
                abbreviate(&out)
            }
        }
    }

    /// Compact JSON text, stopping once `out` is longer than `limit` bytes.
    fn write_json(&self, out: &mut String, limit: usize) {
        if out.len() > limit {
            return;
        }
        match self {
            Node::Null => out.push_str("null"),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Num { text, .. } => out.push_str(text),
            Node::Str(s) => {
                out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}")));
            }
            Node::TooDeep => out.push_str("[…]"),
            Node::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out, limit);
                    if out.len() > limit {
                        return;
                    }
                }
                out.push(']');
            }
            Node::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).unwrap_or_else(|_| format!("{k:?}")));
                    out.push(':');
                    v.write_json(out, limit);
                    if out.len() > limit {
                        return;
                    }
                }
                out.push('}');
            }
        }
    }
}

/// Values quoted in messages are cut after this many characters.
const QUOTE_CHARS: usize = 120;

/// The text itself when short, else its start and its length: a problem about a 10 MB
/// attachment should not carry the 10 MB.
pub(crate) fn abbreviate(s: &str) -> String {
    let count = s.chars().count();
    if count <= QUOTE_CHARS {
        s.to_owned()
    } else {
        let head: String = s.chars().take(QUOTE_CHARS).collect();
        format!("{head}… ({count} characters)")
    }
}

/// Significant digits of a JSON number's text (`0.000120` has 2, `1.5e16` has 2).
fn significant_digits(text: &str) -> usize {
    let mantissa = text.split(['e', 'E']).next().unwrap_or_default();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    digits.trim_start_matches('0').trim_end_matches('0').len()
}

/// The exact decimal a JSON number's text denotes, as plain decimal text (`1.5e3` → `1500`,
/// `12e-3` → `0.012`); `None` when it has more than `max_digits` digits before or after the
/// point (far beyond any amount or quantity) or is not a JSON number.
pub(crate) fn plain_decimal(text: &str, max_digits: usize) -> Option<String> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some("0".to_owned());
    }
    // value = digits × 10^(exponent − frac.len())
    let frac_len = i64::try_from(frac.len()).ok()?;
    let shift = exponent.checked_sub(frac_len)?;
    let digits_len = i64::try_from(digits.len()).ok()?;
    let int_digits = digits_len.checked_add(shift)?;
    let max = i64::try_from(max_digits).ok()?;
    if int_digits > max || shift < -max - digits_len {
        return None;
    }
    let body = if shift >= 0 {
        format!("{digits}{}", "0".repeat(usize::try_from(shift).ok()?))
    } else {
        let point = int_digits;
        if point > 0 {
            let p = usize::try_from(point).ok()?;
            format!("{}.{}", &digits[..p], &digits[p..])
        } else {
            format!("0.{}{digits}", "0".repeat(usize::try_from(-point).ok()?))
        }
    };
    Some(if negative { format!("-{body}") } else { body })
}

/// A position in the text, 1-based line and column (in characters), as serde_json reports.
fn line_column(text: &str, pos: usize) -> (usize, usize) {
    let before = &text[..pos.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The sections of an export, each as the nodes of its records in order, plus notices about
/// top-level keys that are not sections.
pub(crate) struct ParsedExport {
    /// Sections in the order they appear, each with its records' nodes.
    pub sections: Vec<(ExportSection, Vec<Node>)>,
    /// Unknown top-level keys.
    pub notices: Vec<FieldNotice>,
}

/// Parses export text: only text that is not JSON, a top level that is not an object, a
/// section that is not an array (or null), or a section given twice is an error.
pub(crate) fn parse_export(text: &str) -> Result<ParsedExport, JsonSyntaxError> {
    // Some Windows tools write a byte order mark; it is not part of the JSON.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // serde_json checks the syntax (and gives line and column); the tree below is then
    // built from text known to be valid.
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(JsonSyntaxError {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        });
    }
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    let fail = |p: &Parser<'_>, at: usize, message: String| {
        let (line, column) = line_column(p.text, at);
        JsonSyntaxError {
            line,
            column,
            message,
        }
    };
    p.ws();
    if p.peek() != Some(b'{') {
        let at = p.pos;
        let found = p.value(0).map(|n| n.describe()).unwrap_or_default();
        return Err(fail(
            &p,
            at,
            format!(
                "expected the export to be a JSON object with the sections {}, found {found}",
                ExportSection::ALL.map(ExportSection::as_str).join(", ")
            ),
        ));
    }
    p.pos += 1;
    let mut out = ParsedExport {
        sections: Vec::new(),
        notices: Vec::new(),
    };
    loop {
        p.ws();
        match p.peek() {
            Some(b'}') | None => break,
            Some(b',') => {
                p.pos += 1;
                continue;
            }
            _ => {}
        }
        let key_at = p.pos;
        let key = p.string().map_err(|m| fail(&p, key_at, m))?;
        p.ws();
        p.pos += 1; // ':'
        p.ws();
        let value_at = p.pos;
        let Some(section) = ExportSection::from_key(&key) else {
            p.skip_value();
            out.notices.push(FieldNotice {
                path: key.clone(),
                message: format!("unknown section `{key}` ignored"),
            });
            continue;
        };
        if out.sections.iter().any(|(s, _)| *s == section) {
            return Err(fail(
                &p,
                key_at,
                format!("the section `{key}` appears twice"),
            ));
        }
        match p.peek() {
            Some(b'[') => {
                p.pos += 1;
                let mut records = Vec::new();
                loop {
                    p.ws();
                    match p.peek() {
                        Some(b']') | None => {
                            p.pos += 1;
                            break;
                        }
                        Some(b',') => {
                            p.pos += 1;
                            continue;
                        }
                        _ => {}
                    }
                    let at = p.pos;
                    records.push(p.value(2).map_err(|m| fail(&p, at, m))?);
                }
                out.sections.push((section, records));
            }
            Some(b'n') => {
                p.pos += 4;
                out.sections.push((section, Vec::new()));
            }
            _ => {
                let found = p.value(1).map(|n| n.describe()).unwrap_or_default();
                return Err(fail(
                    &p,
                    value_at,
                    format!(
                        "expected the section `{key}` to be an array of records, found {found}"
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// serde_json's message without its trailing ` at line L column C` (reported apart).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// A reader over JSON text that serde_json has already validated.
struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, String> {
        self.ws();
        match self.peek() {
            Some(b'{' | b'[') if depth >= MAX_DEPTH => {
                self.skip_value();
                Ok(Node::TooDeep)
            }
            Some(b'{') => {
                self.pos += 1;
                let mut members = Vec::new();
                loop {
                    self.ws();
                    match self.peek() {
                        Some(b'}') | None => {
                            self.pos += 1;
                            return Ok(Node::Obj(members));
                        }
                        Some(b',') => self.pos += 1,
                        _ => {
                            let key = self.string()?;
                            self.ws();
                            self.pos += 1; // ':'
                            let value = self.value(depth + 1)?;
                            members.push((key, value));
                        }
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    match self.peek() {
                        Some(b']') | None => {
                            self.pos += 1;
                            return Ok(Node::Arr(items));
                        }
                        Some(b',') => self.pos += 1,
                        _ => items.push(self.value(depth + 1)?),
                    }
                }
            }
            Some(b'"') => self.string().map(Node::Str),
            Some(b't') => {
                self.pos += 4;
                Ok(Node::Bool(true))
            }
            Some(b'f') => {
                self.pos += 5;
                Ok(Node::Bool(false))
            }
            Some(b'n') => {
                self.pos += 4;
                Ok(Node::Null)
            }
            Some(_) => {
                let start = self.pos;
                while matches!(
                    self.peek(),
                    Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                ) {
                    self.pos += 1;
                }
                if self.pos == start {
                    return Err("expected a JSON value".to_owned());
                }
                Ok(Node::Num {
                    text: self.text[start..self.pos].to_owned(),
                    inexact: false,
                })
            }
            None => Err("unexpected end of the text".to_owned()),
        }
    }

    /// A string starting at the current `"`; escapes are decoded by serde_json.
    fn string(&mut self) -> Result<String, String> {
        let start = self.pos;
        if self.peek() != Some(b'"') {
            return Err("expected a string".to_owned());
        }
        self.pos += 1;
        let mut escaped = false;
        loop {
            match self.peek() {
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 2;
                }
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
                None => return Err("unterminated string".to_owned()),
            }
        }
        let raw = self.text.get(start..self.pos).ok_or("invalid string")?;
        if escaped {
            serde_json::from_str::<String>(raw).map_err(|e| strip_position(&e.to_string()))
        } else {
            Ok(raw[1..raw.len() - 1].to_owned())
        }
    }

    /// Skips one value without building it (iteratively, so any depth is fine).
    fn skip_value(&mut self) {
        self.ws();
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None => return,
                Some(b'"') => {
                    // A string is valid here, so this cannot fail.
                    let _ = self.string();
                }
                Some(b'[' | b'{') => {
                    depth += 1;
                    self.pos += 1;
                }
                Some(b']' | b'}') => {
                    depth = depth.saturating_sub(1);
                    self.pos += 1;
                }
                Some(b',' | b':' | b' ' | b'\n' | b'\r' | b'\t') => self.pos += 1,
                Some(_) => {
                    // A scalar: runs until a delimiter.
                    while !matches!(
                        self.peek(),
                        None | Some(b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t')
                    ) {
                        self.pos += 1;
                    }
                }
            }
            if depth == 0 {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimal_is_exact() {
        for (text, want) in [
            ("0", "0"),
            ("-0", "0"),
            ("12", "12"),
            ("12.50", "12.50"),
            ("1.5e3", "1500"),
            ("1E+2", "100"),
            ("12e-3", "0.012"),
            ("-1.25e1", "-12.5"),
            ("0.1", "0.1"),
            ("123456789012345678901234.5", "123456789012345678901234.5"),
        ] {
            assert_eq!(plain_decimal(text, 40).as_deref(), Some(want), "{text}");
        }
        assert_eq!(plain_decimal("1e400", 40), None);
        assert_eq!(plain_decimal("1e-400", 40), None);
        assert_eq!(plain_decimal("1e99999999999999999999", 40), None);
        assert_eq!(plain_decimal("NaN", 40), None);
    }

    #[test]
    fn significant_digits_of_shortest_forms() {
        assert_eq!(significant_digits("0.1"), 1);
        assert_eq!(significant_digits("1e16"), 1);
        assert_eq!(significant_digits("1234.5600"), 6);
        assert_eq!(significant_digits("0.30000000000000004"), 17);
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("x", 0), (1, 1));
    }

    #[test]
    fn deep_nesting_is_skipped_not_recursed() {
        let deep = format!(
            "{{\"relations\": [{{\"id\": \"a\", \"x\": {}{}}}]}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let parsed = parse_export(&deep).unwrap();
        let Node::Obj(members) = &parsed.sections[0].1[0] else {
            panic!("object expected");
        };
        assert!(matches!(&members[1].1, Node::Arr(_)));
    }
}
