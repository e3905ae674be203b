//! A typed builder for the OData (v3 flavour) queries SnelStart understands.
//!
//! SnelStart's list endpoints take `$filter`, `$top`, `$skip`, `$select` and `$orderby`. Its
//! dialect is strict in ways that are easy to get wrong by hand, and this builder makes the
//! wrong forms impossible to build:
//!
//! - property paths are **UpperCamelCase and case-sensitive** (`ModifiedOn`, `Relatie/Id`);
//!   [`Property::new`] refuses anything else;
//! - literals are v3 style: `'text'` with `''` for a quote, `guid'…'`, `datetime'…'`;
//!   [`Literal`] renders them and no string value can break out of its quotes;
//! - `$top` is at most 500 (25 on artikelen); [`Query::top`] refuses more.
//!
//! ```
//! use snelstart_client::odata::{Filter, Property, Query};
//! # fn main() -> Result<(), snelstart_client::odata::ODataError> {
//! let q = Query::new()
//!     .filter(Filter::eq(Property::new("Naam")?, "Jansen & Zn'")
//!         .and(Filter::relatiesoort_is("Klant")))
//!     .top(100)?;
//! assert_eq!(
//!     q.filter_text().unwrap(),
//!     "Naam eq 'Jansen & Zn''' and Relatiesoort/any(r:r eq 'Klant')"
//! );
//! # Ok(()) }
//! ```

use std::fmt;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::wire::format_datetime;

/// The largest page SnelStart serves on most lists.
pub const MAX_TOP: u32 = 500;
/// The largest page on `/artikelen` and `/artikelen/prijsafspraken`.
pub const MAX_TOP_ARTIKELEN: u32 = 25;

/// A query that SnelStart would refuse, caught before sending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ODataError {
    /// A property path segment is not UpperCamelCase ASCII.
    #[error(
        "`{path}` is not a SnelStart property path (segments must be UpperCamelCase, like `Relatie/Id`)"
    )]
    InvalidProperty {
        /// The path as given.
        path: String,
    },
    /// `$top` above the endpoint's maximum.
    #[error("$top={requested} is above the maximum of {max} for this endpoint")]
    TopTooLarge {
        /// What was asked.
        requested: u32,
        /// The endpoint's maximum.
        max: u32,
    },
    /// `$top=0` would return nothing.
    #[error("$top must be at least 1")]
    TopZero,
}

/// A property path such as `ModifiedOn` or `VestigingsAdres/Land/Id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Property(String);

impl Property {
    /// Checks and wraps a property path.
    ///
    /// # Errors
    ///
    /// [`ODataError::InvalidProperty`] unless every `/`-separated segment starts with an ASCII
    /// upper-case letter and continues with ASCII letters and digits.
    pub fn new(path: impl Into<String>) -> Result<Self, ODataError> {
        let path = path.into();
        let valid = !path.is_empty()
            && path.split('/').all(|seg| {
                let mut chars = seg.chars();
                matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
                    && chars.all(|c| c.is_ascii_alphanumeric())
            });
        if valid {
            Ok(Property(path))
        } else {
            Err(ODataError::InvalidProperty { path })
        }
    }

    /// `ModifiedOn`, the change marker on relations, invoices, ledgers and mutations.
    pub fn modified_on() -> Self {
        Property("ModifiedOn".into())
    }

    /// `Id`.
    pub fn id() -> Self {
        Property("Id".into())
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A literal value in a filter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Literal {
    /// `'text'`, with every `'` doubled.
    String(String),
    /// `guid'…'`.
    Guid(Uuid),
    /// `datetime'2024-11-01T00:00:00'` (SnelStart's offset-less form).
    DateTime(NaiveDateTime),
    /// A bare integer.
    Int(i64),
    /// A bare decimal, e.g. an amount (`OpenstaandSaldo ne 0`).
    Decimal(Decimal),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(s) => {
                f.write_str("'")?;
                f.write_str(&s.replace('\'', "''"))?;
                f.write_str("'")
            }
            Literal::Guid(g) => write!(f, "guid'{}'", g.hyphenated()),
            Literal::DateTime(t) => write!(f, "datetime'{}'", format_datetime(t)),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Decimal(d) => write!(f, "{}", d.normalize()),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

macro_rules! literal_from {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {
        $(impl From<$t> for Literal { fn from($v: $t) -> Self { $e } })*
    };
}
literal_from! {
    &str => |v| Literal::String(v.to_owned()),
    String => |v| Literal::String(v),
    &String => |v| Literal::String(v.clone()),
    Uuid => |v| Literal::Guid(v),
    NaiveDateTime => |v| Literal::DateTime(v),
    i64 => |v| Literal::Int(v),
    i32 => |v| Literal::Int(v.into()),
    u32 => |v| Literal::Int(v.into()),
    Decimal => |v| Literal::Decimal(v),
    bool => |v| Literal::Bool(v),
}

macro_rules! literal_from_id {
    ($($t:ty),*) => { $(impl From<$t> for Literal { fn from(v: $t) -> Self { Literal::Guid(v.as_uuid()) } })* };
}
literal_from_id!(
    crate::ids::RelatieId,
    crate::ids::KostenplaatsId,
    crate::ids::GrootboekId,
    crate::ids::VerkoopboekingId,
    crate::ids::InkoopboekingId,
    crate::ids::VerkoopfactuurId,
    crate::ids::DagboekId,
    crate::ids::LandId
);

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Lt => "lt",
            Op::Le => "le",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Compare(Property, Op, Literal),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    SubstringOf(Literal, Property),
    StartsWith(Property, Literal),
    AnyEq {
        collection: Property,
        value: Literal,
    },
}

/// A `$filter` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(Node);

impl Filter {
    fn compare(p: Property, op: Op, v: impl Into<Literal>) -> Self {
        Filter(Node::Compare(p, op, v.into()))
    }

    /// `P eq v`.
    pub fn eq(p: Property, v: impl Into<Literal>) -> Self {
        Self::compare(p, Op::Eq, v)
    }
    /// `P ne v`.
    pub fn ne(p: Property, v: impl Into<Literal>) -> Self {
        Self::compare(p, Op::Ne, v)
    }
    /// `P gt v`.
    pub fn gt(p: Property, v: impl Into<Literal>) -> Self {
        Self::compare(p, Op::Gt, v)
    }
    /// `P ge v`.
    pub fn ge(p: Property, v: impl Into<Literal>) -> Self {
        Self::compare(p, Op::Ge, v)
    }
    /// `P lt v`.
    pub fn lt(p: Property, v: impl Into<Literal>) -> Self {
        Self::compare(p, Op::Lt, v)
    }
    /// `P le v`.
    pub fn le(p: Property, v: impl Into<Literal>) -> Self {
        Self::compare(p, Op::Le, v)
    }

    /// `substringof('text', P) eq true`: P contains the text.
    pub fn contains(p: Property, text: impl Into<String>) -> Self {
        Filter(Node::SubstringOf(Literal::String(text.into()), p))
    }

    /// `startswith(P,'text') eq true`.
    pub fn starts_with(p: Property, text: impl Into<String>) -> Self {
        Filter(Node::StartsWith(p, Literal::String(text.into())))
    }

    /// `Relatiesoort/any(r:r eq 'Klant')`: relations of one kind (`Klant`, `Leverancier`,
    /// `Eigen`).
    pub fn relatiesoort_is(kind: impl Into<String>) -> Self {
        Filter(Node::AnyEq {
            collection: Property("Relatiesoort".into()),
            value: Literal::String(kind.into()),
        })
    }

    /// `ModifiedOn gt datetime'…'`: the change feed.
    pub fn modified_after(since: NaiveDateTime) -> Self {
        Self::gt(Property::modified_on(), since)
    }

    /// Both must hold.
    pub fn and(self, other: Filter) -> Self {
        Filter(Node::And(Box::new(self.0), Box::new(other.0)))
    }

    /// Either must hold.
    pub fn or(self, other: Filter) -> Self {
        Filter(Node::Or(Box::new(self.0), Box::new(other.0)))
    }

    /// Negation.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Filter(Node::Not(Box::new(self.0)))
    }
}

fn write_node(node: &Node, f: &mut fmt::Formatter<'_>, parent_is_and: bool) -> fmt::Result {
    match node {
        Node::Compare(p, op, v) => write!(f, "{p} {} {v}", op.as_str()),
        Node::And(a, b) => {
            write_node(a, f, true)?;
            f.write_str(" and ")?;
            write_node(b, f, true)
        }
        Node::Or(a, b) => {
            // `and` binds tighter than `or`: parenthesise an `or` inside an `and`.
            if parent_is_and {
                f.write_str("(")?;
            }
            write_node(a, f, false)?;
            f.write_str(" or ")?;
            write_node(b, f, false)?;
            if parent_is_and {
                f.write_str(")")?;
            }
            Ok(())
        }
        Node::Not(inner) => {
            f.write_str("not (")?;
            write_node(inner, f, false)?;
            f.write_str(")")
        }
        Node::SubstringOf(text, p) => write!(f, "substringof({text}, {p}) eq true"),
        Node::StartsWith(p, text) => write!(f, "startswith({p},{text}) eq true"),
        Node::AnyEq { collection, value } => write!(f, "{collection}/any(r:r eq {value})"),
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_node(&self.0, f, false)
    }
}

/// Sort direction for `$orderby`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Ascending (the default).
    Asc,
    /// Descending.
    Desc,
}

/// The OData part of a list request.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    filter: Option<Filter>,
    top: Option<u32>,
    skip: Option<u32>,
    select: Vec<Property>,
    order_by: Vec<(Property, Direction)>,
    max_top: u32,
}

impl Default for Query {
    fn default() -> Self {
        Query::new()
    }
}

impl Query {
    /// An empty query for an endpoint whose `$top` maximum is 500.
    pub fn new() -> Self {
        Query::with_max_top(MAX_TOP)
    }

    /// An empty query for an endpoint with another `$top` maximum (25 for artikelen).
    pub fn with_max_top(max_top: u32) -> Self {
        Query {
            filter: None,
            top: None,
            skip: None,
            select: Vec::new(),
            order_by: Vec::new(),
            max_top,
        }
    }

    /// Sets `$filter` (replacing an earlier one).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Sets `$top`.
    ///
    /// # Errors
    ///
    /// [`ODataError::TopTooLarge`] above the endpoint maximum, [`ODataError::TopZero`] for 0.
    pub fn top(mut self, top: u32) -> Result<Self, ODataError> {
        if top == 0 {
            return Err(ODataError::TopZero);
        }
        if top > self.max_top {
            return Err(ODataError::TopTooLarge {
                requested: top,
                max: self.max_top,
            });
        }
        self.top = Some(top);
        Ok(self)
    }

    /// Sets `$skip`.
    pub fn skip(mut self, skip: u32) -> Self {
        self.skip = Some(skip);
        self
    }

    /// Adds a property to `$select`.
    pub fn select(mut self, p: Property) -> Self {
        self.select.push(p);
        self
    }

    /// Adds a sort key to `$orderby`.
    pub fn order_by(mut self, p: Property, direction: Direction) -> Self {
        self.order_by.push((p, direction));
        self
    }

    /// The `$filter` text, if any.
    pub fn filter_text(&self) -> Option<String> {
        self.filter.as_ref().map(ToString::to_string)
    }

    /// The filter, if any.
    pub fn filter_expr(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// The `$top` value, if set.
    pub fn top_value(&self) -> Option<u32> {
        self.top
    }

    /// The `$skip` value, if set.
    pub fn skip_value(&self) -> Option<u32> {
        self.skip
    }

    /// The endpoint's `$top` maximum this query was built for.
    pub fn max_top(&self) -> u32 {
        self.max_top
    }

    /// The query parameters, not yet percent-encoded.
    pub fn to_params(&self) -> Vec<(String, String)> {
        let mut params = Vec::new();
        if let Some(f) = &self.filter {
            params.push(("$filter".to_owned(), f.to_string()));
        }
        if !self.order_by.is_empty() {
            let text = self
                .order_by
                .iter()
                .map(|(p, d)| match d {
                    Direction::Asc => p.to_string(),
                    Direction::Desc => format!("{p} desc"),
                })
                .collect::<Vec<_>>()
                .join(",");
            params.push(("$orderby".to_owned(), text));
        }
        if !self.select.is_empty() {
            let text = self
                .select
                .iter()
                .map(Property::as_str)
                .collect::<Vec<_>>()
                .join(",");
            params.push(("$select".to_owned(), text));
        }
        if let Some(skip) = self.skip {
            params.push(("$skip".to_owned(), skip.to_string()));
        }
        if let Some(top) = self.top {
            params.push(("$top".to_owned(), top.to_string()));
        }
        params
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn p(s: &str) -> Property {
        Property::new(s).unwrap()
    }

    #[test]
    fn renders_the_server_dialect() {
        let t = NaiveDate::from_ymd_opt(2024, 11, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let id: Uuid = "75b4fe7b-0000-4000-8000-000000000001".parse().unwrap();
        let f = Filter::modified_after(t)
            .and(Filter::eq(p("Relatie/Id"), id))
            .and(Filter::eq(p("Relatiecode"), 42).or(Filter::contains(p("Naam"), "Bakker")))
            .and(Filter::starts_with(p("Email"), "info@"))
            .and(Filter::ne(p("OpenstaandSaldo"), Decimal::new(0, 0)).not());
        assert_eq!(
            f.to_string(),
            "ModifiedOn gt datetime'2024-11-01T00:00:00' and Relatie/Id eq guid'75b4fe7b-0000-4000-8000-000000000001' \
             and (Relatiecode eq 42 or substringof('Bakker', Naam) eq true) and startswith(Email,'info@') eq true \
             and not (OpenstaandSaldo ne 0)"
        );
    }

    #[test]
    fn refuses_camel_case_and_junk_properties() {
        for bad in [
            "email",
            "modifiedOn",
            "Relatie/id",
            "",
            "Naam eq 'x'",
            "Na-am",
            "Relatie//Id",
        ] {
            assert!(Property::new(bad).is_err(), "{bad} accepted");
        }
        assert!(Property::new("VestigingsAdres/Land/Id").is_ok());
    }

    #[test]
    fn top_is_bounded_per_endpoint() {
        assert!(Query::new().top(500).is_ok());
        assert_eq!(
            Query::new().top(501).unwrap_err(),
            ODataError::TopTooLarge {
                requested: 501,
                max: 500
            }
        );
        assert!(Query::with_max_top(MAX_TOP_ARTIKELEN).top(26).is_err());
        assert_eq!(Query::new().top(0).unwrap_err(), ODataError::TopZero);
    }

    #[test]
    fn params_in_a_stable_order() {
        let q = Query::new()
            .filter(Filter::eq(p("Naam"), "x"))
            .order_by(p("Naam"), Direction::Desc)
            .select(p("Id"))
            .select(p("Naam"))
            .skip(1000)
            .top(500)
            .unwrap();
        let params = q.to_params();
        let names: Vec<_> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["$filter", "$orderby", "$select", "$skip", "$top"]);
        assert_eq!(params[1].1, "Naam desc");
        assert_eq!(params[2].1, "Id,Naam");
    }

    /// A reference tokenizer for the literal part of `P eq '…'`: reads the quoted string the
    /// way an OData v3 parser does and returns it with the rest of the input.
    fn read_string_literal(input: &str) -> Option<(String, &str)> {
        let rest = input.strip_prefix('\'')?;
        let mut out = String::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if let Some((_, '\'')) = chars.peek() {
                    chars.next();
                    out.push('\'');
                } else {
                    return Some((out, &rest[i + 1..]));
                }
            } else {
                out.push(c);
            }
        }
        None
    }

    proptest! {
        /// No string value can escape its literal: whatever the text, the rendered filter
        /// parses back to exactly one literal equal to it, followed by nothing.
        #[test]
        fn string_literals_cannot_escape(value in any::<String>()) {
            let rendered = Filter::eq(p("Naam"), value.as_str()).to_string();
            let literal = rendered.strip_prefix("Naam eq ").unwrap();
            let (parsed, rest) = read_string_literal(literal).expect("unterminated literal");
            prop_assert_eq!(parsed, value);
            prop_assert_eq!(rest, "");
        }

        #[test]
        fn substringof_literal_cannot_escape(value in "[a-z' )(]{0,20}") {
            let rendered = Filter::contains(p("Naam"), value.as_str()).to_string();
            let inner = rendered.strip_prefix("substringof(").unwrap();
            let (parsed, rest) = read_string_literal(inner).expect("unterminated literal");
            prop_assert_eq!(parsed, value);
            prop_assert_eq!(rest, ", Naam) eq true");
        }
    }
}
