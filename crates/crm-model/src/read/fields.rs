//! Walking a record's fields: every problem is collected with its JSON path, every unknown key
//! becomes a notice, and each leaf is read on its own.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::json::{MAX_DEPTH, Node, abbreviate, plain_decimal};
use super::{FieldNotice, FieldProblem};
use crate::error::ParseError;
use crate::money::lenient_decimal;
use crate::{CrmId, InvoiceKind, Money, RelationKind, VatCategory};

/// Problems and notices of the record being read.
#[derive(Default)]
pub(crate) struct Ctx {
    pub problems: Vec<FieldProblem>,
    pub notices: Vec<FieldNotice>,
}

impl Ctx {
    pub fn problem(&mut self, path: &str, message: String, value: Option<&Node>) {
        self.problems.push(FieldProblem {
            path: path.to_owned(),
            message,
            value: value.map(Node::quoted),
        });
    }

    /// "expected X, found Y".
    pub fn wrong_type(&mut self, path: &str, expected: &str, node: &Node) {
        let message = match node {
            Node::TooDeep => format!(
                "expected {expected}, found a value nested more than {MAX_DEPTH} levels deep"
            ),
            _ => format!("expected {expected}, found {}", node.describe()),
        };
        self.problem(path, message, Some(node));
    }

    /// A newtype's parse error: it names the kind of value, quotes it and says why.
    pub fn parse_error(&mut self, path: &str, error: &ParseError, node: &Node) {
        let message = format!(
            "invalid {} {:?}: {}",
            error.field().replace('_', " "),
            abbreviate(error.value()),
            error.reason()
        );
        self.problem(path, message, Some(node));
    }
}

/// `base.key` (or `key` at the top of a record).
pub(crate) fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}

/// What looking a field up found.
pub(crate) enum Taken<'a> {
    /// Not there.
    Absent,
    /// There more than once (already reported).
    Ambiguous,
    /// There, at this path.
    Present(String, &'a Node),
}

/// The members of one JSON object, tracking which were read.
pub(crate) struct Fields<'a> {
    base: String,
    members: &'a [(String, Node)],
    used: Vec<bool>,
}

impl<'a> Fields<'a> {
    pub fn new(base: impl Into<String>, members: &'a [(String, Node)]) -> Self {
        Self {
            base: base.into(),
            members,
            used: vec![false; members.len()],
        }
    }

    /// The path of a member of this object.
    pub fn path(&self, key: &str) -> String {
        join(&self.base, key)
    }

    /// Looks up `names[0]` or one of its aliases. Given more than once (also under two of the
    /// names) is a problem: which value was meant is not known.
    pub fn take(&mut self, ctx: &mut Ctx, names: &[&str]) -> Taken<'a> {
        let hits: Vec<usize> = (0..self.members.len())
            .filter(|&i| names.contains(&self.members[i].0.as_str()))
            .collect();
        for &i in &hits {
            self.used[i] = true;
        }
        match hits.as_slice() {
            [] => Taken::Absent,
            [i] => {
                let (key, node) = &self.members[*i];
                Taken::Present(self.path(key), node)
            }
            [first, ..] => {
                let keys: Vec<String> = hits
                    .iter()
                    .map(|&i| format!("`{}`", self.members[i].0))
                    .collect();
                let path = self.path(&self.members[*first].0);
                ctx.problem(
                    &path,
                    format!(
                        "the field is given {} times ({}): which value is meant is unclear",
                        hits.len(),
                        keys.join(", ")
                    ),
                    None,
                );
                Taken::Ambiguous
            }
        }
    }

    /// A required field: missing or `null` is a problem.
    pub fn required<T>(
        &mut self,
        ctx: &mut Ctx,
        names: &[&str],
        read: impl FnOnce(&mut Ctx, &str, &'a Node) -> Option<T>,
    ) -> Option<T> {
        match self.take(ctx, names) {
            Taken::Absent => {
                let path = self.path(names[0]);
                ctx.problem(
                    &path,
                    format!("the required field `{}` is missing", names[0]),
                    None,
                );
                None
            }
            Taken::Ambiguous => None,
            Taken::Present(path, Node::Null) => {
                ctx.problem(
                    &path,
                    format!("the required field `{}` is null", names[0]),
                    Some(&Node::Null),
                );
                None
            }
            Taken::Present(path, node) => read(ctx, &path, node),
        }
    }

    /// An optional value that is parsed (a number, date, identifier, ...): absent, `null` and
    /// a blank string all mean "not given".
    pub fn optional<T>(
        &mut self,
        ctx: &mut Ctx,
        names: &[&str],
        read: impl FnOnce(&mut Ctx, &str, &'a Node) -> Option<T>,
    ) -> Option<T> {
        match self.take(ctx, names) {
            Taken::Absent | Taken::Ambiguous | Taken::Present(_, Node::Null) => None,
            Taken::Present(_, Node::Str(s)) if s.trim().is_empty() => None,
            Taken::Present(path, node) => read(ctx, &path, node),
        }
    }

    /// Optional free text: absent and `null` mean "not given"; a string is kept as it is.
    pub fn optional_text(
        &mut self,
        ctx: &mut Ctx,
        names: &[&str],
        read: impl FnOnce(&mut Ctx, &str, &'a Node) -> Option<String>,
    ) -> Option<String> {
        match self.take(ctx, names) {
            Taken::Absent | Taken::Ambiguous | Taken::Present(_, Node::Null) => None,
            Taken::Present(path, node) => read(ctx, &path, node),
        }
    }

    /// Reports every member that was not read as a notice.
    pub fn finish(self, ctx: &mut Ctx) {
        for (i, (key, _)) in self.members.iter().enumerate() {
            if !self.used[i] {
                ctx.notices.push(FieldNotice {
                    path: join(&self.base, key),
                    message: format!("unknown field `{key}` ignored"),
                });
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Leaf readers. Each gets a value that is not `null` and reports its own problem.
// ---------------------------------------------------------------------------------------------

/// A JSON string, kept as it is.
pub(crate) fn text(ctx: &mut Ctx, path: &str, node: &Node) -> Option<String> {
    match node {
        Node::Str(s) => Some(s.clone()),
        other => {
            ctx.wrong_type(path, "a string", other);
            None
        }
    }
}

/// A string, or a JSON integer kept as its decimal text (numbers, codes, ids).
pub(crate) fn code(ctx: &mut Ctx, path: &str, node: &Node) -> Option<String> {
    match node {
        Node::Str(s) => Some(s.clone()),
        Node::Num { text, .. } if is_integer_text(text) => Some(text.clone()),
        other => {
            ctx.wrong_type(path, "a string or an integer", other);
            None
        }
    }
}

fn is_integer_text(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A CRM id: a string or an integer, not blank.
pub(crate) fn crm_id(ctx: &mut Ctx, path: &str, node: &Node) -> Option<CrmId> {
    let id = code(ctx, path, node)?;
    if id.trim().is_empty() {
        ctx.problem(
            path,
            "expected a CRM id (a string or an integer), found a blank string".to_owned(),
            Some(node),
        );
        return None;
    }
    Some(CrmId::new(id))
}

/// `true` or `false`.
pub(crate) fn boolean(ctx: &mut Ctx, path: &str, node: &Node) -> Option<bool> {
    match node {
        Node::Bool(b) => Some(*b),
        other => {
            ctx.wrong_type(path, "true or false", other);
            None
        }
    }
}

/// A newtype parsed from a string (or from an integer's text: KvK numbers exported as numbers).
pub(crate) fn parsed<T: FromStr<Err = ParseError>>(
    expected: &'static str,
) -> impl FnOnce(&mut Ctx, &str, &Node) -> Option<T> {
    move |ctx, path, node| {
        let text = match node {
            Node::Str(s) => s.as_str(),
            Node::Num { text, .. } if is_integer_text(text) => text.as_str(),
            other => {
                ctx.wrong_type(path, expected, other);
                return None;
            }
        };
        match text.parse() {
            Ok(v) => Some(v),
            Err(e) => {
                ctx.parse_error(path, &e, node);
                None
            }
        }
    }
}

/// Digits either side of the point a JSON number may have to be read as an amount/quantity.
const MAX_NUMBER_DIGITS: usize = 40;

/// The exact decimal of a JSON number, or a problem.
fn json_number(
    ctx: &mut Ctx,
    path: &str,
    node: &Node,
    text: &str,
    inexact: bool,
) -> Option<Decimal> {
    if inexact {
        ctx.problem(
            path,
            format!(
                "the number {text} has more significant digits than a JSON number read as a \
                 64-bit float keeps exactly; write it as a string such as \"1250.00\""
            ),
            Some(node),
        );
        return None;
    }
    let exact = plain_decimal(text, MAX_NUMBER_DIGITS)
        .and_then(|plain| Decimal::from_str_exact(&plain).ok());
    if exact.is_none() {
        ctx.problem(
            path,
            format!(
                "the number {} is out of range (at most 28 significant digits)",
                abbreviate(text)
            ),
            Some(node),
        );
    }
    exact
}

const MONEY_EXPECTED: &str =
    "an amount with at most 2 decimals (a string such as \"1250.00\" or a JSON number)";

/// An amount in euros: a decimal string (lenient: `1.234,56`, `€ 12,50`) or a JSON number read
/// exactly; more than 2 decimals, `NaN`, `Infinity` and empty are refused.
pub(crate) fn money(ctx: &mut Ctx, path: &str, node: &Node) -> Option<Money> {
    match node {
        Node::Str(s) => match s.parse::<Money>() {
            Ok(m) => Some(m),
            Err(e) => {
                ctx.parse_error(path, &e, node);
                None
            }
        },
        Node::Num { text, inexact } => {
            let d = json_number(ctx, path, node, text, *inexact)?;
            match Money::try_from_decimal(d) {
                Ok(m) => Some(m),
                Err(e) => {
                    ctx.parse_error(path, &ParseError::new("amount", text, e.reason()), node);
                    None
                }
            }
        }
        other => {
            ctx.wrong_type(path, MONEY_EXPECTED, other);
            None
        }
    }
}

/// A quantity: a decimal string (`"-3"`, `"1,5"`) or a JSON number, read exactly.
pub(crate) fn quantity(ctx: &mut Ctx, path: &str, node: &Node) -> Option<Decimal> {
    match node {
        Node::Str(s) => match lenient_decimal(s, s, "quantity", "a decimal number such as 1.5") {
            Ok(d) => Some(d),
            Err(e) => {
                ctx.parse_error(path, &e, node);
                None
            }
        },
        Node::Num { text, inexact } => json_number(ctx, path, node, text, *inexact),
        other => {
            ctx.wrong_type(
                path,
                "a quantity (a string such as \"-3\" or \"1.5\", or a JSON number)",
                other,
            );
            None
        }
    }
}

/// A whole number of days: a JSON number or a string holding a whole number (`30`, `"30"`,
/// `30.0`).
pub(crate) fn days(ctx: &mut Ctx, path: &str, node: &Node) -> Option<i32> {
    let text = match node {
        Node::Str(s) => s.trim(),
        Node::Num { text, .. } => text.as_str(),
        other => {
            ctx.wrong_type(path, "a whole number of days", other);
            return None;
        }
    };
    let whole = plain_decimal(text, MAX_NUMBER_DIGITS)
        .and_then(|plain| Decimal::from_str_exact(&plain).ok())
        .filter(|d| d.fract().is_zero())
        .and_then(|d| d.to_i32());
    if whole.is_none() {
        ctx.problem(
            path,
            format!(
                "invalid number of days {:?}: expected a whole number such as 30",
                abbreviate(text)
            ),
            Some(node),
        );
    }
    whole
}

/// A calendar date `YYYY-MM-DD`.
pub(crate) fn date(ctx: &mut Ctx, path: &str, node: &Node) -> Option<NaiveDate> {
    let Node::Str(s) = node else {
        ctx.wrong_type(path, "a date such as \"2024-05-01\"", node);
        return None;
    };
    let t = s.trim();
    let valid = t.len() == 10 && t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-';
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) if valid => Some(d),
        _ => {
            ctx.problem(
                path,
                format!(
                    "invalid date {:?}: expected an existing calendar date written YYYY-MM-DD, \
                     such as \"2024-05-01\"",
                    abbreviate(s)
                ),
                Some(node),
            );
            None
        }
    }
}

/// A moment in RFC 3339 (`2024-03-01T10:00:00Z`, any offset), kept in UTC.
pub(crate) fn timestamp(ctx: &mut Ctx, path: &str, node: &Node) -> Option<DateTime<Utc>> {
    let Node::Str(s) = node else {
        ctx.wrong_type(
            path,
            "a date and time such as \"2024-03-01T10:00:00Z\"",
            node,
        );
        return None;
    };
    match s.trim().parse::<DateTime<FixedOffset>>() {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            ctx.problem(
                path,
                format!(
                    "invalid date and time {:?}: expected RFC 3339 with an offset, such as \
                     \"2024-03-01T10:00:00Z\"",
                    abbreviate(s)
                ),
                Some(node),
            );
            None
        }
    }
}

/// Lower case, `-` and spaces as `_`: the key enum names are compared on.
fn enum_key(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| if matches!(c, '-' | ' ') { '_' } else { c })
        .flat_map(char::to_lowercase)
        .collect()
}

/// `customer`, `supplier`, `both` (also `klant`, `leverancier`), any case.
pub(crate) fn relation_kind(ctx: &mut Ctx, path: &str, node: &Node) -> Option<RelationKind> {
    const EXPECTED: &str = "customer, supplier or both (or klant, leverancier)";
    let Node::Str(s) = node else {
        ctx.wrong_type(path, &format!("a relation kind: {EXPECTED}"), node);
        return None;
    };
    match enum_key(s).as_str() {
        "customer" | "klant" => Some(RelationKind::Customer),
        "supplier" | "leverancier" => Some(RelationKind::Supplier),
        "both" => Some(RelationKind::Both),
        _ => {
            ctx.problem(
                path,
                format!(
                    "unknown relation kind {:?}: expected {EXPECTED}",
                    abbreviate(s)
                ),
                Some(node),
            );
            None
        }
    }
}

/// `invoice` or `credit_note` (also `credit-note`, `factuur`, `creditnota`), any case.
pub(crate) fn invoice_kind(ctx: &mut Ctx, path: &str, node: &Node) -> Option<InvoiceKind> {
    const EXPECTED: &str = "invoice or credit_note";
    let Node::Str(s) = node else {
        ctx.wrong_type(path, &format!("an invoice kind: {EXPECTED}"), node);
        return None;
    };
    match enum_key(s).as_str() {
        "invoice" | "factuur" => Some(InvoiceKind::Invoice),
        "credit_note" | "creditnote" | "creditnota" | "creditfactuur" => {
            Some(InvoiceKind::CreditNote)
        }
        _ => {
            ctx.problem(
                path,
                format!(
                    "unknown invoice kind {:?}: expected {EXPECTED}",
                    abbreviate(s)
                ),
                Some(node),
            );
            None
        }
    }
}

/// A VAT category (`hoog`, `laag`, `nul`, `vrijgesteld`, `verlegd`, `intra_eu`, `export`, or an
/// alias such as `21%`, `high`, `reverse_charge`, `ICP`).
pub(crate) fn vat_category(ctx: &mut Ctx, path: &str, node: &Node) -> Option<VatCategory> {
    const EXPECTED: &str = "hoog, laag, nul, vrijgesteld, verlegd, intra_eu or export (or an \
                            alias such as 21%, high, reverse_charge, ICP)";
    let text = match node {
        Node::Str(s) => s.as_str(),
        Node::Num { text, .. } if is_integer_text(text) => text.as_str(),
        other => {
            ctx.wrong_type(path, &format!("a VAT category: {EXPECTED}"), other);
            return None;
        }
    };
    match text.parse::<VatCategory>() {
        Ok(v) => Some(v),
        Err(_) => {
            ctx.problem(
                path,
                format!(
                    "unknown VAT category {:?}: expected {EXPECTED}",
                    abbreviate(text)
                ),
                Some(node),
            );
            None
        }
    }
}

/// Standard base64 (whitespace and line breaks inside are allowed).
pub(crate) fn base64(ctx: &mut Ctx, path: &str, node: &Node) -> Option<Vec<u8>> {
    let Node::Str(s) = node else {
        ctx.wrong_type(path, "the file's bytes as a standard base64 string", node);
        return None;
    };
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    match STANDARD.decode(compact.as_bytes()) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            ctx.problem(
                path,
                format!(
                    "invalid base64 content {:?}: {e} (expected standard base64, A-Z a-z 0-9 + / \
                     with = padding)",
                    abbreviate(s)
                ),
                Some(node),
            );
            None
        }
    }
}

/// The elements of an array, each with its path `base[i]`.
pub(crate) fn array<'a>(
    ctx: &mut Ctx,
    path: &str,
    node: &'a Node,
    what: &str,
) -> Option<Vec<(String, &'a Node)>> {
    match node {
        Node::Arr(items) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| (format!("{path}[{i}]"), item))
                .collect(),
        ),
        other => {
            ctx.wrong_type(path, &format!("an array of {what}"), other);
            None
        }
    }
}

/// The members of an object.
pub(crate) fn object<'a>(
    ctx: &mut Ctx,
    path: &str,
    node: &'a Node,
    what: &str,
) -> Option<Fields<'a>> {
    match node {
        Node::Obj(members) => Some(Fields::new(path, members)),
        other => {
            ctx.wrong_type(path, what, other);
            None
        }
    }
}
