//! A small OData v3 query engine for the subset SnelStart documents.
//!
//! Supported in `$filter`: `eq ne gt ge lt le`, `and or not`, parentheses, the functions
//! `substringof`, `startswith`, `endswith`, `tolower`, `toupper`, `year`, `month`, `day`,
//! lambdas `Path/any(x: ...)` (e.g. `Relatiesoort/any(r:r eq 'Klant')`), literals `'text'`
//! (with `''` for a quote), numbers, `true`/`false`, `null`, `guid'…'`, `datetime'…'`, and
//! property paths such as `Relatie/Id` or `VestigingsAdres/Land/Id`. Property names are
//! case-sensitive UpperCamelCase; a camelCase name is "not found", as on the real server.
//! Anything else is a 400 `ALG-0104`.
//!
//! Also `$top` (max 500), `$skip`, `$orderby` (`asc`/`desc`), `$select` and, on
//! grootboekmutaties, `$apply` (see [`apply`]).

use crate::config::TopPolicy;
use crate::error::{ApiError, codes};
use crate::json::{parse_datetime, parse_decimal};
use crate::table::Record;
use chrono::{Datelike, NaiveDateTime};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::HashMap;
use uuid::Uuid;

/// The largest page the server returns.
pub(crate) const MAX_TOP: usize = 500;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(Decimal),
    Guid(Uuid),
    DateTime(NaiveDateTime),
    LParen,
    RParen,
    Comma,
    Colon,
    Slash,
}

fn bad() -> ApiError {
    ApiError::one(codes::ALG_0104)
}

fn lex(input: &str) -> Result<Vec<Tok>, ApiError> {
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1;
            }
            '/' => {
                out.push(Tok::Slash);
                i += 1;
            }
            '\'' => {
                let (s, next) = quoted(&chars, i)?;
                out.push(Tok::Str(s));
                i = next;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                // OData v3 type suffixes: 1.5m (decimal), 2L (int64), 1.0d/f.
                if i < chars.len()
                    && matches!(chars[i], 'm' | 'M' | 'L' | 'l' | 'd' | 'D' | 'f' | 'F')
                {
                    i += 1;
                    let text: String = chars[start..i - 1].iter().collect();
                    out.push(Tok::Num(text.parse().map_err(|_| bad())?));
                } else {
                    let text: String = chars[start..i].iter().collect();
                    out.push(Tok::Num(text.parse().map_err(|_| bad())?));
                }
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                // The first character always belongs to the word (a `$` alone used to leave `i`
                // where it was: an endless loop that grew the token list until the process
                // ran out of memory; found by the fuzz run).
                i += 1;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if i < chars.len()
                    && chars[i] == '\''
                    && (word == "guid" || word == "datetime" || word == "datetimeoffset")
                {
                    let (s, next) = quoted(&chars, i)?;
                    i = next;
                    match word.as_str() {
                        "guid" => out.push(Tok::Guid(Uuid::parse_str(&s).map_err(|_| bad())?)),
                        _ => out.push(Tok::DateTime(parse_datetime(&s).ok_or_else(bad)?)),
                    }
                } else {
                    out.push(Tok::Ident(word));
                }
            }
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

/// A quoted literal starting at `chars[start] == '\''`; `''` is an escaped quote.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), ApiError> {
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => return Err(bad()),
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                s.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((s, i + 1)),
            Some(c) => {
                s.push(*c);
                i += 1;
            }
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// The parsed filter expression.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Lit(Val),
    /// A property path; the first segment may be a lambda variable.
    Path(Vec<String>),
    Cmp(Box<Expr>, Op, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Func(String, Vec<Expr>),
    Any {
        collection: Vec<String>,
        var: String,
        body: Box<Expr>,
    },
}

/// A runtime value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    Bool(bool),
    Num(Decimal),
    Str(String),
    Guid(Uuid),
    DateTime(NaiveDateTime),
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    vars: Vec<String>,
    /// Current nesting (parentheses, `not`, function arguments, lambda bodies).
    depth: usize,
}

/// The deepest nesting a `$filter` may have; deeper is `ALG-0104` (the parser recurses, and a
/// filter of 100,000 `(` must not overflow the stack).
pub(crate) const MAX_FILTER_DEPTH: usize = 32;
/// The most tokens a `$filter` may have; longer is `ALG-0104` (bounds the `and`/`or` chains,
/// whose trees the evaluator walks recursively).
pub(crate) const MAX_FILTER_TOKENS: usize = 2_000;

const FUNCS: &[(&str, usize)] = &[
    ("substringof", 2),
    ("startswith", 2),
    ("endswith", 2),
    ("tolower", 1),
    ("toupper", 1),
    ("year", 1),
    ("month", 1),
    ("day", 1),
    ("trim", 1),
    ("length", 1),
];

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn expect(&mut self, t: &Tok) -> Result<(), ApiError> {
        if self.next().as_ref() == Some(t) {
            Ok(())
        } else {
            Err(bad())
        }
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(x)) if x == w)
    }

    fn or(&mut self) -> Result<Expr, ApiError> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(bad());
        }
        let mut l = self.and()?;
        while self.is_word("or") {
            self.pos += 1;
            let r = self.and()?;
            l = Expr::Or(Box::new(l), Box::new(r));
        }
        self.depth -= 1;
        Ok(l)
    }
    fn and(&mut self) -> Result<Expr, ApiError> {
        let mut l = self.not()?;
        while self.is_word("and") {
            self.pos += 1;
            let r = self.not()?;
            l = Expr::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn not(&mut self) -> Result<Expr, ApiError> {
        if self.is_word("not") {
            self.pos += 1;
            self.depth += 1;
            if self.depth > MAX_FILTER_DEPTH {
                return Err(bad());
            }
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Result<Expr, ApiError> {
        let l = self.primary()?;
        let op = match self.peek() {
            Some(Tok::Ident(w)) => match w.as_str() {
                "eq" => Some(Op::Eq),
                "ne" => Some(Op::Ne),
                "gt" => Some(Op::Gt),
                "ge" => Some(Op::Ge),
                "lt" => Some(Op::Lt),
                "le" => Some(Op::Le),
                _ => None,
            },
            _ => None,
        };
        match op {
            Some(op) => {
                self.pos += 1;
                let r = self.primary()?;
                Ok(Expr::Cmp(Box::new(l), op, Box::new(r)))
            }
            None => Ok(l),
        }
    }
    fn primary(&mut self) -> Result<Expr, ApiError> {
        match self.next().ok_or_else(bad)? {
            Tok::LParen => {
                let e = self.or()?;
                self.expect(&Tok::RParen)?;
                Ok(e)
            }
            Tok::Str(s) => Ok(Expr::Lit(Val::Str(s))),
            Tok::Num(n) => Ok(Expr::Lit(Val::Num(n))),
            Tok::Guid(g) => Ok(Expr::Lit(Val::Guid(g))),
            Tok::DateTime(d) => Ok(Expr::Lit(Val::DateTime(d))),
            Tok::Ident(w) => match w.as_str() {
                "true" => Ok(Expr::Lit(Val::Bool(true))),
                "false" => Ok(Expr::Lit(Val::Bool(false))),
                "null" => Ok(Expr::Lit(Val::Null)),
                _ if self.peek() == Some(&Tok::LParen) => {
                    let arity = FUNCS
                        .iter()
                        .find(|(n, _)| *n == w)
                        .map(|(_, a)| *a)
                        .ok_or_else(bad)?;
                    self.pos += 1;
                    let mut args = vec![self.or()?];
                    while self.peek() == Some(&Tok::Comma) {
                        self.pos += 1;
                        args.push(self.or()?);
                    }
                    self.expect(&Tok::RParen)?;
                    if args.len() != arity {
                        return Err(bad());
                    }
                    Ok(Expr::Func(w, args))
                }
                _ => self.path(w),
            },
            _ => Err(bad()),
        }
    }
    fn path(&mut self, first: String) -> Result<Expr, ApiError> {
        let mut segs = vec![first];
        while self.peek() == Some(&Tok::Slash) {
            self.pos += 1;
            match self.next() {
                Some(Tok::Ident(w)) if w == "any" || w == "all" => {
                    if w == "all" {
                        return Err(bad());
                    }
                    self.expect(&Tok::LParen)?;
                    let var = match self.next() {
                        Some(Tok::Ident(v)) => v,
                        _ => return Err(bad()),
                    };
                    self.expect(&Tok::Colon)?;
                    self.vars.push(var.clone());
                    let body = self.or()?;
                    self.vars.pop();
                    self.expect(&Tok::RParen)?;
                    self.check_path(&segs)?;
                    return Ok(Expr::Any {
                        collection: segs,
                        var,
                        body: Box::new(body),
                    });
                }
                Some(Tok::Ident(w)) => segs.push(w),
                _ => return Err(bad()),
            }
        }
        self.check_path(&segs)?;
        Ok(Expr::Path(segs))
    }
    /// Property names must be UpperCamelCase unless the path starts at a lambda variable.
    fn check_path(&self, segs: &[String]) -> Result<(), ApiError> {
        let skip = usize::from(self.vars.iter().any(|v| *v == segs[0]));
        if segs[skip..]
            .iter()
            .all(|s| s.chars().next().is_some_and(char::is_uppercase))
        {
            Ok(())
        } else {
            Err(bad())
        }
    }
}

/// Parse a `$filter` expression.
pub(crate) fn parse_filter(input: &str) -> Result<Expr, ApiError> {
    let toks = lex(input)?;
    if toks.len() > MAX_FILTER_TOKENS {
        return Err(bad());
    }
    let mut p = Parser {
        toks,
        pos: 0,
        vars: Vec::new(),
        depth: 0,
    };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(bad());
    }
    Ok(e)
}

/// `VestigingsAdres` → `vestigingsAdres`.
fn json_name(prop: &str) -> String {
    let mut c = prop.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Resolve a property path on a JSON value. `Err` when a property does not exist on the model.
fn resolve<'a>(mut v: &'a Value, segs: &[String]) -> Result<Option<&'a Value>, ApiError> {
    for s in segs {
        match v {
            Value::Null => return Ok(None),
            Value::Object(m) => match m.get(&json_name(s)) {
                Some(x) => v = x,
                None => return Err(bad()),
            },
            _ => return Err(bad()),
        }
    }
    Ok(Some(v))
}

/// Resolve a path whose first segment is a property of the record itself.
fn resolve_root<'a>(root: &'a Record, segs: &[String]) -> Result<Option<&'a Value>, ApiError> {
    match root.get(&json_name(&segs[0])) {
        Some(v) => resolve(v, &segs[1..]),
        None => Err(bad()),
    }
}

fn to_val(v: Option<&Value>) -> Val {
    match v {
        None | Some(Value::Null) => Val::Null,
        Some(Value::Bool(b)) => Val::Bool(*b),
        Some(Value::Number(_)) => v.and_then(parse_decimal).map(Val::Num).unwrap_or(Val::Null),
        Some(Value::String(s)) => Val::Str(s.clone()),
        Some(_) => Val::Null,
    }
}

struct Env<'a> {
    root: &'a Record,
    vars: Vec<(String, &'a Value)>,
}

fn eval<'a>(e: &Expr, env: &mut Env<'a>) -> Result<Val, ApiError> {
    match e {
        Expr::Lit(v) => Ok(v.clone()),
        Expr::Path(segs) => {
            if let Some((_, bound)) = env.vars.iter().rev().find(|(n, _)| *n == segs[0]) {
                let bound: &Value = bound;
                return Ok(to_val(resolve(bound, &segs[1..])?));
            }
            Ok(to_val(resolve_root(env.root, segs)?))
        }
        Expr::And(a, b) => Ok(Val::Bool(
            truthy(&eval(a, env)?)? && truthy(&eval(b, env)?)?,
        )),
        Expr::Or(a, b) => Ok(Val::Bool(
            truthy(&eval(a, env)?)? || truthy(&eval(b, env)?)?,
        )),
        Expr::Not(a) => Ok(Val::Bool(!truthy(&eval(a, env)?)?)),
        Expr::Cmp(a, op, b) => {
            let (l, r) = (eval(a, env)?, eval(b, env)?);
            compare(&l, *op, &r).map(Val::Bool)
        }
        Expr::Func(name, args) => {
            let vals: Vec<Val> = args
                .iter()
                .map(|a| eval(a, env))
                .collect::<Result<_, _>>()?;
            func(name, &vals)
        }
        Expr::Any {
            collection,
            var,
            body,
        } => {
            let root = env.root;
            let coll = match resolve_root(root, collection)? {
                Some(Value::Array(items)) => items,
                Some(Value::Null) | None => return Ok(Val::Bool(false)),
                Some(_) => return Err(bad()),
            };
            for item in coll {
                env.vars.push((var.clone(), item));
                let r = eval(body, env);
                env.vars.pop();
                if truthy(&r?)? {
                    return Ok(Val::Bool(true));
                }
            }
            Ok(Val::Bool(false))
        }
    }
}

fn truthy(v: &Val) -> Result<bool, ApiError> {
    match v {
        Val::Bool(b) => Ok(*b),
        Val::Null => Ok(false),
        _ => Err(bad()),
    }
}

fn compare(l: &Val, op: Op, r: &Val) -> Result<bool, ApiError> {
    let ord: Option<Ordering> = match (l, r) {
        (Val::Null, Val::Null) => Some(Ordering::Equal),
        (Val::Null, _) | (_, Val::Null) => {
            return Ok(match op {
                Op::Eq => false,
                Op::Ne => true,
                _ => false,
            });
        }
        (Val::Num(a), Val::Num(b)) => Some(a.cmp(b)),
        (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
        (Val::Str(a), Val::Str(b)) => Some(a.cmp(b)),
        (Val::Guid(a), Val::Guid(b)) => Some(a.cmp(b)),
        // Ids are stored as strings; compare them as GUIDs against guid literals.
        (Val::Str(a), Val::Guid(b)) => Some(Uuid::parse_str(a).map_err(|_| bad())?.cmp(b)),
        (Val::Guid(a), Val::Str(b)) => Some(a.cmp(&Uuid::parse_str(b).map_err(|_| bad())?)),
        (Val::Str(a), Val::DateTime(b)) => Some(parse_datetime(a).ok_or_else(bad)?.cmp(b)),
        (Val::DateTime(a), Val::Str(b)) => Some(a.cmp(&parse_datetime(b).ok_or_else(bad)?)),
        (Val::DateTime(a), Val::DateTime(b)) => Some(a.cmp(b)),
        // OData is typed: 'text' against a number (or the reverse) is an invalid filter.
        _ => return Err(bad()),
    };
    let ord = ord.ok_or_else(bad)?;
    Ok(match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
    })
}

fn func(name: &str, a: &[Val]) -> Result<Val, ApiError> {
    let s = |v: &Val| match v {
        Val::Str(s) => Ok(Some(s.clone())),
        Val::Null => Ok(None),
        _ => Err(bad()),
    };
    let date = |v: &Val| match v {
        Val::Str(x) => parse_datetime(x).map(Some).ok_or_else(bad),
        Val::DateTime(d) => Ok(Some(*d)),
        Val::Null => Ok(None),
        _ => Err(bad()),
    };
    Ok(match name {
        // OData v3 argument order: substringof(needle, haystack).
        "substringof" => match (s(&a[0])?, s(&a[1])?) {
            (Some(n), Some(h)) => Val::Bool(h.contains(&n)),
            _ => Val::Bool(false),
        },
        "startswith" => match (s(&a[0])?, s(&a[1])?) {
            (Some(h), Some(p)) => Val::Bool(h.starts_with(&p)),
            _ => Val::Bool(false),
        },
        "endswith" => match (s(&a[0])?, s(&a[1])?) {
            (Some(h), Some(p)) => Val::Bool(h.ends_with(&p)),
            _ => Val::Bool(false),
        },
        "tolower" => s(&a[0])?
            .map(|x| Val::Str(x.to_lowercase()))
            .unwrap_or(Val::Null),
        "toupper" => s(&a[0])?
            .map(|x| Val::Str(x.to_uppercase()))
            .unwrap_or(Val::Null),
        "trim" => s(&a[0])?
            .map(|x| Val::Str(x.trim().to_owned()))
            .unwrap_or(Val::Null),
        "length" => s(&a[0])?
            .map(|x| Val::Num(Decimal::from(x.chars().count())))
            .unwrap_or(Val::Null),
        "year" => date(&a[0])?
            .map(|d| Val::Num(Decimal::from(d.year())))
            .unwrap_or(Val::Null),
        "month" => date(&a[0])?
            .map(|d| Val::Num(Decimal::from(d.month())))
            .unwrap_or(Val::Null),
        "day" => date(&a[0])?
            .map(|d| Val::Num(Decimal::from(d.day())))
            .unwrap_or(Val::Null),
        _ => return Err(bad()),
    })
}

/// Does this record match the filter?
pub(crate) fn matches(e: &Expr, rec: &Record) -> Result<bool, ApiError> {
    let mut env = Env {
        root: rec,
        vars: Vec::new(),
    };
    truthy(&eval(e, &mut env)?)
}

/// Parsed query options of one list request.
#[derive(Debug, Default)]
pub(crate) struct Query {
    filter: Option<Expr>,
    top: Option<usize>,
    skip: usize,
    orderby: Vec<(Vec<String>, bool)>,
    select: Option<Vec<String>>,
    apply: Option<String>,
}

/// Parse the query string of an OData list. Unknown `$` options and malformed values are
/// `ALG-0104`. Non-`$` parameters (such as `subscription-key`) are ignored.
pub(crate) fn parse_query(raw: Option<&str>, policy: TopPolicy) -> Result<Query, ApiError> {
    let mut q = Query::default();
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|_| bad())?;
    for (k, v) in pairs {
        match k.as_str() {
            "$filter" => q.filter = Some(parse_filter(&v)?),
            "$top" => {
                let n: usize = v.trim().parse().map_err(|_| bad())?;
                if n > MAX_TOP && policy == TopPolicy::Reject {
                    return Err(bad());
                }
                q.top = Some(n.min(MAX_TOP));
            }
            "$skip" => q.skip = v.trim().parse().map_err(|_| bad())?,
            "$orderby" => {
                for part in v.split(',') {
                    let mut words = part.split_whitespace();
                    let path = words.next().ok_or_else(bad)?;
                    let desc = match words.next() {
                        None | Some("asc") => false,
                        Some("desc") => true,
                        Some(_) => return Err(bad()),
                    };
                    if words.next().is_some() {
                        return Err(bad());
                    }
                    let segs: Vec<String> = path.split('/').map(str::to_owned).collect();
                    if !segs
                        .iter()
                        .all(|s| s.chars().next().is_some_and(char::is_uppercase))
                    {
                        return Err(bad());
                    }
                    q.orderby.push((segs, desc));
                }
            }
            "$select" => {
                let names: Vec<String> = v.split(',').map(|s| s.trim().to_owned()).collect();
                if names
                    .iter()
                    .any(|n| !n.chars().next().is_some_and(char::is_uppercase))
                {
                    return Err(bad());
                }
                q.select = Some(names);
            }
            "$apply" => q.apply = Some(v),
            k if k.starts_with('$') => return Err(bad()),
            _ => {}
        }
    }
    Ok(q)
}

#[cfg(test)]
fn sort_key(v: &Value, segs: &[String]) -> Result<Val, ApiError> {
    Ok(to_val(resolve(v, segs)?))
}

/// The sort key of a property path of the record (as resolving it on the record as a JSON
/// object would give), without making the record a [`Value`].
fn sort_key_of_record(r: &Record, segs: &[String]) -> Result<Val, ApiError> {
    if segs.is_empty() {
        // The record itself: an object, which sorts as null.
        return Ok(Val::Null);
    }
    Ok(to_val(resolve_root(r, segs)?))
}

fn cmp_vals(a: &Val, b: &Val) -> Ordering {
    match (a, b) {
        (Val::Null, Val::Null) => Ordering::Equal,
        (Val::Null, _) => Ordering::Less,
        (_, Val::Null) => Ordering::Greater,
        (Val::Num(x), Val::Num(y)) => x.cmp(y),
        (Val::Str(x), Val::Str(y)) => match (parse_datetime(x), parse_datetime(y)) {
            (Some(dx), Some(dy)) if x.len() >= 10 && y.len() >= 10 => dx.cmp(&dy),
            _ => x.cmp(y),
        },
        (Val::Bool(x), Val::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// The answer to an OData list request over `records` (in creation order): `$apply` after
/// `$filter` where the resource has it (`allow_apply`, grootboekmutaties), otherwise filter,
/// order, skip/top and select. `$apply` elsewhere is `ALG-0104`.
pub(crate) fn list<'a>(
    raw: Option<&str>,
    policy: TopPolicy,
    records: impl Iterator<Item = &'a Record>,
    allow_apply: bool,
) -> Result<Vec<Value>, ApiError> {
    page(raw, policy, records, allow_apply).map(Page::into_values)
}

/// What [`list`] answers, without copying the stored records it answers with unchanged:
/// serialize it for the response.
pub(crate) fn page<'a>(
    raw: Option<&str>,
    policy: TopPolicy,
    records: impl Iterator<Item = &'a Record>,
    allow_apply: bool,
) -> Result<Page<'a>, ApiError> {
    let mut q = parse_query(raw, policy)?;
    match q.apply.take() {
        None => run(&q, records),
        // Paging applies to the groups of `$apply`, which has none of its own: not paged.
        Some(spec) if allow_apply => Ok(Page::Made(apply(&spec, &run_unpaged(&q, records)?)?)),
        Some(_) => Err(bad()),
    }
}

/// The items of a list answer: stored records as they are, or objects made for the answer
/// (`$select`, `$apply`). Serializes as a JSON array, the same as [`Page::into_values`].
#[derive(Debug)]
pub(crate) enum Page<'a> {
    Stored(Vec<&'a Record>),
    Made(Vec<Value>),
}

impl Page<'_> {
    pub(crate) fn into_values(self) -> Vec<Value> {
        match self {
            Page::Stored(records) => records
                .into_iter()
                .map(|r| Value::Object(r.clone()))
                .collect(),
            Page::Made(values) => values,
        }
    }
}

impl serde::Serialize for Page<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Page::Stored(records) => s.collect_seq(records),
            Page::Made(values) => s.collect_seq(values),
        }
    }
}

/// Filter and order only (no paging, no select): the input of `$apply`.
fn run_unpaged<'a>(
    q: &Query,
    records: impl Iterator<Item = &'a Record>,
) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    for r in records {
        if let Some(f) = &q.filter
            && !matches(f, r)?
        {
            continue;
        }
        out.push(Value::Object(r.clone()));
    }
    Ok(out)
}

/// Apply filter, order, skip/top and select to records (already in creation order). The
/// records are referenced, not copied; `$select` makes new objects of the chosen fields.
fn run<'a>(q: &Query, records: impl Iterator<Item = &'a Record>) -> Result<Page<'a>, ApiError> {
    let top = q.top.unwrap_or(MAX_TOP);
    let needs_sort = !q.orderby.is_empty();
    let mut out: Vec<&'a Record> = Vec::new();
    let mut skipped = 0usize;
    for r in records {
        if let Some(f) = &q.filter
            && !matches(f, r)?
        {
            continue;
        }
        if !needs_sort {
            if skipped < q.skip {
                skipped += 1;
                continue;
            }
            if out.len() >= top {
                break;
            }
        }
        out.push(r);
    }
    if needs_sort {
        let mut keyed: Vec<(Vec<Val>, &'a Record)> = out
            .into_iter()
            .map(|r| {
                let keys = q
                    .orderby
                    .iter()
                    .map(|(segs, _)| sort_key_of_record(r, segs))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((keys, r))
            })
            .collect::<Result<_, ApiError>>()?;
        keyed.sort_by(|(ka, _), (kb, _)| {
            for (i, (_, desc)) in q.orderby.iter().enumerate() {
                let o = cmp_vals(&ka[i], &kb[i]);
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
        out = keyed
            .into_iter()
            .map(|(_, v)| v)
            .skip(q.skip)
            .take(top)
            .collect();
    }
    if let Some(names) = &q.select {
        return Ok(Page::Made(
            out.into_iter()
                .map(|r| {
                    let mut m = Map::new();
                    for n in names {
                        let key = json_name(n);
                        match r.get(&key) {
                            Some(x) => {
                                m.insert(key, x.clone());
                            }
                            None => return Err(bad()),
                        }
                    }
                    Ok(Value::Object(m))
                })
                .collect::<Result<_, ApiError>>()?,
        ));
    }
    Ok(Page::Stored(out))
}

/// `$apply` on grootboekmutaties. Supported forms:
/// `aggregate(P with f as A)`, `groupby((F1,F2))`, `groupby((F1,..),aggregate(P with f as A))`
/// with `P` one of `Saldo`, `Debet`, `Credit` and `f` one of `sum`, `min`, `max`, `average`.
///
/// Response shape (documented choice, the real one is unknown): a bare array with one object per
/// group; each group property is the camelCase field (a reference stays `{id, uri}`) and the
/// aggregate is a number under the alias exactly as written. `aggregate` alone yields one object.
fn apply(spec: &str, rows: &[Value]) -> Result<Vec<Value>, ApiError> {
    let spec = spec.trim();
    let (group, agg) = if let Some(inner) = spec
        .strip_prefix("groupby(")
        .and_then(|s| s.strip_suffix(')'))
    {
        let inner = inner.trim();
        let rest = inner.strip_prefix('(').ok_or_else(bad)?;
        let close = rest.find(')').ok_or_else(bad)?;
        let fields: Vec<String> = rest[..close]
            .split(',')
            .map(|s| s.trim().to_owned())
            .collect();
        let after = rest[close + 1..].trim();
        let agg = if after.is_empty() {
            None
        } else {
            let a = after.strip_prefix(',').ok_or_else(bad)?.trim();
            Some(parse_aggregate(a)?)
        };
        (fields, agg)
    } else if spec.starts_with("aggregate(") {
        (Vec::new(), Some(parse_aggregate(spec)?))
    } else {
        return Err(bad());
    };
    const GROUPABLE: &[&str] = &[
        "Grootboek",
        "Kostenplaats",
        "Dagboek",
        "Datum",
        "RelatiePublicIdentifier",
        "FactuurNummer",
        "Boekstuk",
        "Omschrijving",
    ];
    if group.iter().any(|g| !GROUPABLE.contains(&g.as_str())) {
        return Err(bad());
    }
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, (Map<String, Value>, Vec<Decimal>)> = HashMap::new();
    for r in rows {
        let mut keyobj = Map::new();
        for g in &group {
            let name = json_name(g);
            keyobj.insert(name.clone(), r.get(&name).cloned().unwrap_or(Value::Null));
        }
        let key = Value::Object(keyobj.clone()).to_string();
        let value = match &agg {
            Some((prop, _, _)) => r
                .get(json_name(prop).as_str())
                .and_then(parse_decimal)
                .unwrap_or_default(),
            None => Decimal::ZERO,
        };
        let entry = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            (keyobj, Vec::new())
        });
        entry.1.push(value);
    }
    if group.is_empty() && order.is_empty() {
        order.push(String::from("{}"));
        groups.insert(String::from("{}"), (Map::new(), Vec::new()));
    }
    Ok(order
        .into_iter()
        .filter_map(|k| groups.remove(&k))
        .map(|(mut obj, vals)| {
            if let Some((_, f, alias)) = &agg {
                let v = match f.as_str() {
                    "sum" => vals.iter().copied().sum(),
                    "min" => vals.iter().copied().min().unwrap_or_default(),
                    "max" => vals.iter().copied().max().unwrap_or_default(),
                    _ => {
                        if vals.is_empty() {
                            Decimal::ZERO
                        } else {
                            (vals.iter().copied().sum::<Decimal>() / Decimal::from(vals.len()))
                                .round_dp(2)
                        }
                    }
                };
                obj.insert(alias.clone(), crate::json::money(v));
            }
            Value::Object(obj)
        })
        .collect())
}

fn parse_aggregate(s: &str) -> Result<(String, String, String), ApiError> {
    let inner = s
        .strip_prefix("aggregate(")
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(bad)?;
    let words: Vec<&str> = inner.split_whitespace().collect();
    match words.as_slice() {
        [prop, "with", f, "as", alias]
            if ["Saldo", "Debet", "Credit"].contains(prop)
                && ["sum", "min", "max", "average"].contains(f) =>
        {
            Ok(((*prop).to_owned(), (*f).to_owned(), (*alias).to_owned()))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Lists answer with references to the stored records; sorting resolves paths on the
    /// record directly. Both must give what copying the records into values gave.
    #[test]
    fn pages_of_references_answer_what_copies_did() {
        let records: Vec<Record> = (0..12)
            .map(|i| {
                json!({
                    "id": format!("00000000-0000-0000-0000-{i:012}"),
                    "naam": format!("Relatie {}", (i * 7) % 5),
                    "relatiecode": 100 - i,
                    "modifiedOn": format!("2024-11-{:02}T10:00:00", 1 + (i * 5) % 9),
                    "email": if i % 3 == 0 { Value::Null } else { json!(format!("r{i}@x.nl")) },
                    "vestigingsAdres": {"plaats": if i % 2 == 0 { Value::Null } else { json!(format!("Plaats {}", i % 4)) }},
                })
                .as_object()
                .unwrap()
                .clone()
            })
            .collect();
        for segs in [
            vec!["Naam"],
            vec!["Email"],
            vec!["VestigingsAdres", "Plaats"],
            vec!["VestigingsAdres"],
            vec!["Onbekend"],
            vec!["VestigingsAdres", "Onbekend"],
            vec![],
        ] {
            let segs: Vec<String> = segs.into_iter().map(str::to_owned).collect();
            for r in &records {
                let by_value = sort_key(&Value::Object(r.clone()), &segs);
                let by_record = sort_key_of_record(r, &segs);
                assert_eq!(by_value.is_err(), by_record.is_err(), "{segs:?}");
                if let (Ok(a), Ok(b)) = (by_value, by_record) {
                    assert_eq!(a, b, "{segs:?}");
                }
            }
        }
        for query in [
            "",
            "$top=3&$skip=2",
            "$orderby=Naam desc,Relatiecode&$top=5",
            "$orderby=VestigingsAdres/Plaats,ModifiedOn desc&$skip=3",
            "$orderby=Email&$select=Id,Email",
            "$filter=Relatiecode gt 93&$orderby=ModifiedOn",
            "$select=Naam&$top=2",
        ] {
            let page = page(Some(query), TopPolicy::Reject, records.iter(), false).unwrap();
            let served = serde_json::to_value(&page).unwrap();
            assert_eq!(served, Value::Array(page.into_values()), "{query}");
        }
        let sorted = list(
            Some("$orderby=Naam desc,Relatiecode"),
            TopPolicy::Reject,
            records.iter(),
            false,
        )
        .unwrap();
        let order: Vec<(String, i64)> = sorted
            .iter()
            .map(|r| {
                (
                    r["naam"].as_str().unwrap().to_owned(),
                    r["relatiecode"].as_i64().unwrap(),
                )
            })
            .collect();
        let mut expected = order.clone();
        expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        assert_eq!(order, expected);
        assert_eq!(order.len(), 12);
        assert!(
            list(
                Some("$orderby=Onbekend"),
                TopPolicy::Reject,
                records.iter(),
                false
            )
            .is_err()
        );
    }

    fn rec() -> Value {
        json!({
            "id": "14254699-e7ff-4537-9fb8-47ad46f7d4d7",
            "naam": "Bakkerij O'Brien",
            "relatiecode": 10234,
            "relatiesoort": ["Klant"],
            "modifiedOn": "2024-11-05T14:32:07.43",
            "email": null,
            "vestigingsAdres": {"land": {"id": "050de499-cbf5-4a37-99b7-99281be9c951"}},
            "extraVeldenKlant": [{"naam": "lid", "waarde": "5299"}],
        })
    }

    fn t(f: &str) -> bool {
        matches(&parse_filter(f).unwrap(), rec().as_object().unwrap()).unwrap()
    }

    #[test]
    fn comparisons_and_logic() {
        assert!(t("Relatiecode eq 10234"));
        assert!(t("Relatiecode gt 10000 and Relatiecode le 10234"));
        assert!(!t("Relatiecode lt 10000 or Relatiecode ne 10234"));
        assert!(t("not (Relatiecode eq 1)"));
        assert!(t("Naam eq 'Bakkerij O''Brien'"));
        assert!(t("Email eq null"));
        assert!(t("Id eq guid'14254699-e7ff-4537-9fb8-47ad46f7d4d7'"));
        assert!(t(
            "VestigingsAdres/Land/Id eq guid'050de499-cbf5-4a37-99b7-99281be9c951'"
        ));
        assert!(t("ModifiedOn gt datetime'2024-11-01T00:00:00'"));
        assert!(!t("ModifiedOn gt datetime'2024-12-01T00:00:00'"));
        assert!(t("year(ModifiedOn) eq 2024"));
    }

    #[test]
    fn functions_and_lambdas() {
        assert!(t("substringof('kkerij', Naam) eq true"));
        assert!(t("startswith(Naam,'Bakk') eq true"));
        assert!(t("Relatiesoort/any(r:r eq 'Klant')"));
        assert!(!t("Relatiesoort/any(r:r eq 'Leverancier')"));
        assert!(t(
            "ExtraVeldenKlant/any(e:e/Waarde eq '5299' and e/Naam eq 'lid')"
        ));
    }

    fn code(e: ApiError) -> &'static str {
        match e {
            ApiError::Business(items) => items[0].code,
            _ => "not a business error",
        }
    }

    #[test]
    fn deep_or_long_filters_are_alg_0104_not_a_crash() {
        let deep = |n: usize| format!("{}Relatiecode eq 1{}", "(".repeat(n), ")".repeat(n));
        assert!(parse_filter(&deep(MAX_FILTER_DEPTH - 1)).is_ok());
        for n in [MAX_FILTER_DEPTH + 1, 1_000, 200_000] {
            let e = parse_filter(&deep(n)).unwrap_err();
            assert_eq!(code(e), "ALG-0104", "depth {n}");
        }
        let nots = format!("{}Relatiecode eq 1", "not ".repeat(100_000));
        assert_eq!(code(parse_filter(&nots).unwrap_err()), "ALG-0104");
        let funcs = format!("{}Naam{}", "tolower(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(code(parse_filter(&funcs).unwrap_err()), "ALG-0104");
        let lambdas = format!(
            "{}x eq 'a'{}",
            "Relatiesoort/any(x:".repeat(100_000),
            ")".repeat(100_000)
        );
        assert_eq!(code(parse_filter(&lambdas).unwrap_err()), "ALG-0104");
        let chain = vec!["Relatiecode eq 1"; 100_000].join(" and ");
        assert_eq!(code(parse_filter(&chain).unwrap_err()), "ALG-0104");
        let ok_chain = vec!["Relatiecode eq 1"; 100].join(" or ");
        assert!(
            matches(
                &parse_filter(&ok_chain).unwrap(),
                rec().as_object().unwrap()
            )
            .is_ok()
        );
    }

    #[test]
    fn rejects_what_the_server_rejects() {
        for f in [
            "email eq 'x'",
            "Naam eq",
            "Naam eq 'x",
            "contains(Naam,'x')",
            "Relatiecode eq '10234'",
            "Naam eq 5",
            "Onbekend eq 1",
            "Naam eq 'x' foo",
        ] {
            let r = parse_filter(f).and_then(|e| matches(&e, rec().as_object().unwrap()));
            assert!(r.is_err(), "{f} should be rejected");
        }
    }

    #[test]
    fn query_options() {
        assert!(parse_query(Some("$top=501"), TopPolicy::Reject).is_err());
        assert!(parse_query(Some("$top=501"), TopPolicy::Clamp).is_ok());
        assert!(parse_query(Some("$expand=X"), TopPolicy::Reject).is_err());
        assert!(parse_query(Some("$orderby=naam"), TopPolicy::Reject).is_err());
        assert!(
            parse_query(
                Some("$orderby=Naam desc&$skip=1&subscription-key=x"),
                TopPolicy::Reject
            )
            .is_ok()
        );
    }

    #[test]
    fn apply_groupby_aggregate() {
        let rows = vec![
            json!({"kostenplaats": {"id": "a"}, "saldo": 10}),
            json!({"kostenplaats": {"id": "a"}, "saldo": 5}),
            json!({"kostenplaats": null, "saldo": -3}),
        ];
        let out = apply(
            "groupby((Kostenplaats),aggregate(Saldo with sum as Totaal))",
            &rows,
        )
        .unwrap();
        assert_eq!(
            out,
            vec![
                json!({"kostenplaats": {"id": "a"}, "Totaal": 15}),
                json!({"kostenplaats": null, "Totaal": -3})
            ]
        );
        let out = apply("aggregate(Saldo with sum as Totaal)", &rows).unwrap();
        assert_eq!(out, vec![json!({"Totaal": 12})]);
        assert!(apply("groupby((Bestaatniet))", &rows).is_err());
        assert!(apply("filter(Saldo gt 1)", &rows).is_err());
    }
}

/// Property-based fuzzing of the OData parser and evaluator, run with the normal tests; the long
/// run is the libFuzzer target `mock_odata` in `fuzz/`. With a large case count these are a
/// fuzzer too: `PROPTEST_CASES=1000000 cargo test -p snelstart-mock --lib odata::fuzz`.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Filters built from the tokens SnelStart's grammar knows, in any order.
    fn tokens() -> impl Strategy<Value = String> {
        let tok = prop_oneof![
            Just("("),
            Just(")"),
            Just(" and "),
            Just(" or "),
            Just("not "),
            Just(" eq "),
            Just(" ne "),
            Just(" gt "),
            Just(" le "),
            Just("Naam"),
            Just("Relatiecode"),
            Just("Relatiesoort/any(r:r eq 'Klant')"),
            Just("r"),
            Just("/"),
            Just(":"),
            Just(","),
            Just("'x'"),
            Just("''"),
            Just("'"),
            Just("1"),
            Just("-1.5"),
            Just("null"),
            Just("true"),
            Just("guid'00000000-0000-0000-0000-000000000001'"),
            Just("datetime'2024-01-01T00:00:00'"),
            Just("substringof("),
            Just("tolower("),
            Just("any("),
            Just("VestigingsAdres/Plaats"),
            Just(" "),
        ];
        prop::collection::vec(tok, 0..40).prop_map(|t| t.concat())
    }

    fn record() -> Record {
        json!({"naam": "Bakkerij", "relatiecode": 5, "relatiesoort": ["Klant"],
               "vestigingsAdres": {"plaats": "Utrecht"}})
        .as_object()
        .unwrap()
        .clone()
    }

    /// Regression (fuzz): a `$` in a filter hung the lexer and exhausted memory.
    #[test]
    fn regression_dollar_in_a_filter_is_alg_0104_not_a_hang() {
        for f in ["$", "Naam eq $", "$filter", "a$b eq 1", "$$"] {
            if let Ok(e) = parse_filter(f) {
                let _ = matches(&e, &record());
            }
        }
        assert!(parse_filter("$").is_err());
    }

    proptest! {
        #[test]
        fn fuzz_filters_from_grammar_tokens_never_panic(f in tokens()) {
            if let Ok(e) = parse_filter(&f) {
                let _ = matches(&e, &record());
            }
        }

        #[test]
        fn fuzz_any_text_filter_never_panics(f in "\\PC{0,80}") {
            if let Ok(e) = parse_filter(&f) {
                let _ = matches(&e, &record());
            }
        }

        #[test]
        fn fuzz_query_strings_never_panic(q in "[$a-z=&%'() 0-9]{0,80}") {
            for policy in [TopPolicy::Reject, TopPolicy::Clamp] {
                let _ = parse_query(Some(&q), policy);
            }
        }
    }
}
