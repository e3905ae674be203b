//! Reading request bodies the way SnelStart's ASP.NET binder does, and writing response values.
//!
//! Request property names are matched case-insensitively, unknown properties are ignored,
//! numbers may arrive as strings, enums as strings or integers and dates in several forms.

use crate::error::ApiError;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value};
use std::str::FromStr;
use uuid::Uuid;

/// A read-only view of one JSON object with case-insensitive property lookup.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    /// Model-state prefix used in error keys, e.g. `model.VestigingsAdres`.
    path: &'a str,
}

/// Parses a request body. An empty body is `ALG-0106`; invalid JSON or a non-object is a
/// model-state error, or `malformed` when the resource has its own code (relations: REL-0066).
pub(crate) fn parse_body(
    bytes: &[u8],
    malformed: Option<(&'static str, &'static str)>,
) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::one(crate::error::codes::ALG_0106));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Err(ApiError::one(crate::error::codes::ALG_0106)),
        Ok(_) | Err(_) => match malformed {
            Some(code) => Err(ApiError::one(code)),
            None => Err(ApiError::model(
                "model",
                "The request body is not a valid JSON object.",
            )),
        },
    }
}

fn type_error(path: &str, name: &str, what: &str) -> ApiError {
    ApiError::model(
        format!("{path}.{name}"),
        format!("Error converting value to type '{what}'."),
    )
}

impl<'a> Obj<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>, path: &'a str) -> Self {
        Obj { map, path }
    }

    /// The raw value (case-insensitive name); JSON `null` counts as absent.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        let v = match self.map.get(name) {
            Some(v) => Some(v),
            None => self
                .map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v),
        };
        v.filter(|v| !v.is_null())
    }

    pub(crate) fn str(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(type_error(self.path, name, "System.String")),
        }
    }

    /// A string where empty counts as absent.
    pub(crate) fn text(&self, name: &str) -> Result<Option<String>, ApiError> {
        Ok(self.str(name)?.filter(|s| !s.is_empty()))
    }

    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(Some(false)),
            Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(Some(true)),
            Some(_) => Err(type_error(self.path, name, "System.Boolean")),
        }
    }

    pub(crate) fn decimal(&self, name: &str) -> Result<Option<Decimal>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => parse_decimal(v)
                .map(Some)
                .ok_or_else(|| type_error(self.path, name, "System.Decimal")),
        }
    }

    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.decimal(name) {
            Ok(None) => Ok(None),
            Ok(Some(d)) if d.fract().is_zero() => d
                .to_i64()
                .map(Some)
                .ok_or_else(|| type_error(self.path, name, "System.Int32")),
            _ => Err(type_error(self.path, name, "System.Int32")),
        }
    }

    /// An enum given as its name (case-insensitive) or its integer value.
    pub(crate) fn enumeration(
        &self,
        name: &str,
        values: &[(&'static str, i64)],
    ) -> Result<Option<&'static str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => parse_enum(v, values)
                .map(Some)
                .ok_or_else(|| type_error(self.path, name, "Enum")),
        }
    }

    pub(crate) fn datetime(&self, name: &str) -> Result<Option<NaiveDateTime>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => parse_datetime(s)
                .map(Some)
                .ok_or_else(|| type_error(self.path, name, "System.DateTime")),
            Some(_) => Err(type_error(self.path, name, "System.DateTime")),
        }
    }

    pub(crate) fn object(&self, name: &str) -> Result<Option<Obj<'a>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Obj {
                map: m,
                path: self.path,
            })),
            Some(_) => Err(type_error(self.path, name, "Object")),
        }
    }

    pub(crate) fn array(&self, name: &str) -> Result<Vec<&'a Value>, ApiError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.iter().collect()),
            Some(_) => Err(type_error(self.path, name, "Array")),
        }
    }

    /// Objects of an array property.
    pub(crate) fn objects(&self, name: &str) -> Result<Vec<Obj<'a>>, ApiError> {
        self.array(name)?
            .into_iter()
            .map(|v| match v {
                Value::Object(m) => Ok(Obj {
                    map: m,
                    path: self.path,
                }),
                _ => Err(type_error(self.path, name, "Object")),
            })
            .collect()
    }

    /// The id of a reference property (`{"id": "..."}`); the zero GUID counts as absent.
    pub(crate) fn reference(&self, name: &str) -> Result<Option<Uuid>, ApiError> {
        match self.object(name)? {
            None => Ok(None),
            Some(o) => o.id(),
        }
    }

    /// This object's `id`; absent or the zero GUID give `None`, malformed gives `ALG-0103`.
    pub(crate) fn id(&self) -> Result<Option<Uuid>, ApiError> {
        match self.get("id") {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => match Uuid::parse_str(s) {
                Ok(u) if u.is_nil() => Ok(None),
                Ok(u) => Ok(Some(u)),
                Err(_) => Err(ApiError::one(crate::error::codes::ALG_0103)),
            },
            Some(_) => Err(ApiError::one(crate::error::codes::ALG_0103)),
        }
    }
}

pub(crate) fn parse_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => {
            let s = n.to_string();
            Decimal::from_str(&s)
                .or_else(|_| Decimal::from_scientific(&s))
                .ok()
        }
        Value::String(s) => {
            let t = s.trim();
            Decimal::from_str(t)
                .or_else(|_| Decimal::from_scientific(t))
                .ok()
        }
        _ => None,
    }
}

pub(crate) fn parse_enum(v: &Value, values: &[(&'static str, i64)]) -> Option<&'static str> {
    match v {
        Value::String(s) => {
            if let Some((n, _)) = values
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(s.trim()))
            {
                return Some(n);
            }
            let i: i64 = s.trim().parse().ok()?;
            values.iter().find(|(_, x)| *x == i).map(|(n, _)| *n)
        }
        Value::Number(n) => {
            let i = n.as_i64()?;
            values.iter().find(|(_, x)| *x == i).map(|(n, _)| *n)
        }
        _ => None,
    }
}

/// Lenient date parsing: RFC 3339 (offset dropped after conversion is *not* done: the local
/// wall-clock part is kept, as SnelStart stores local times), `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.f]]`
/// and the space-separated form.
pub(crate) fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.naive_local());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(d);
        }
    }
    if let Some(stripped) = s.strip_suffix('Z')
        && let Ok(d) = NaiveDateTime::parse_from_str(stripped, "%Y-%m-%dT%H:%M:%S%.f")
    {
        return Some(d);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(NaiveTime::MIN))
}

/// Formats a timestamp like SnelStart: no offset, fraction trimmed (`2023-06-29T21:44:48.51`).
///
/// Every write stamps `modifiedOn`, so this writes the digits itself; years outside
/// 0..=9999 and leap seconds take chrono's formatting ([`fmt_datetime_chrono`]), which gives
/// the same text for all other values.
pub(crate) fn fmt_datetime(d: NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    let (year, nanos) = (d.year(), d.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return fmt_datetime_chrono(d);
    }
    let mut out = String::with_capacity(27);
    push_digits(&mut out, year.unsigned_abs(), 4);
    for (sep, n) in [
        ('-', d.month()),
        ('-', d.day()),
        ('T', d.hour()),
        (':', d.minute()),
        (':', d.second()),
    ] {
        out.push(sep);
        push_digits(&mut out, n, 2);
    }
    // .NET ticks: at most seven fraction digits, trailing zeros trimmed.
    let mut ticks = nanos / 100;
    if ticks > 0 {
        let mut width = 7;
        while ticks % 10 == 0 {
            ticks /= 10;
            width -= 1;
        }
        out.push('.');
        push_digits(&mut out, ticks, width);
    }
    out
}

/// The last `width` decimal digits of `n`, zero-padded.
fn push_digits(out: &mut String, n: u32, width: u32) {
    for p in (0..width).rev() {
        out.push(char::from(b'0' + (n / 10u32.pow(p) % 10) as u8));
    }
}

/// [`fmt_datetime`] through chrono's formatter.
fn fmt_datetime_chrono(d: NaiveDateTime) -> String {
    use chrono::Timelike;
    let base = d.format("%Y-%m-%dT%H:%M:%S").to_string();
    // .NET ticks: at most seven fraction digits, trailing zeros trimmed.
    let ticks = format!("{:07}", d.nanosecond() % 1_000_000_000 / 100);
    let trimmed = ticks.trim_end_matches('0');
    if trimmed.is_empty() {
        base
    } else {
        format!("{base}.{trimmed}")
    }
}

pub(crate) fn dt(d: NaiveDateTime) -> Value {
    Value::String(fmt_datetime(d))
}

pub(crate) fn date(d: NaiveDate) -> Value {
    dt(d.and_time(NaiveTime::MIN))
}

/// Money as a JSON number (never a string).
pub(crate) fn money(d: Decimal) -> Value {
    let n = d.normalize();
    if n.scale() == 0
        && let Some(i) = n.to_i64()
    {
        return Value::from(i);
    }
    n.to_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// A reference object `{"id": ..., "uri": "/resource/id"}`.
pub(crate) fn reference(resource: &str, id: Uuid) -> Value {
    serde_json::json!({"id": id.to_string(), "uri": format!("/{resource}/{id}")})
}

pub(crate) fn opt_reference(resource: &str, id: Option<Uuid>) -> Value {
    id.map(|id| reference(resource, id)).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn datetime_formats() {
        let d = parse_datetime("2023-06-29T21:44:48.510").unwrap();
        assert_eq!(fmt_datetime(d), "2023-06-29T21:44:48.51");
        let d = parse_datetime("2024-03-27 10:20:18").unwrap();
        assert_eq!(fmt_datetime(d), "2024-03-27T10:20:18");
        let d = parse_datetime("2024-03-27").unwrap();
        assert_eq!(fmt_datetime(d), "2024-03-27T00:00:00");
        let d = parse_datetime("2024-03-27T10:00:00+02:00").unwrap();
        assert_eq!(fmt_datetime(d), "2024-03-27T10:00:00");
        assert!(parse_datetime("27-03-2024").is_none());
    }

    #[test]
    fn case_insensitive_lookup_and_lenient_numbers() {
        let m = json!({"Naam": "x", "factuurBedrag": "12.50", "soort": 2})
            .as_object()
            .unwrap()
            .clone();
        let o = Obj::new(&m, "model");
        assert_eq!(o.str("naam").unwrap().as_deref(), Some("x"));
        assert_eq!(
            o.decimal("FACTUURBEDRAG").unwrap(),
            Some(Decimal::new(1250, 2))
        );
        assert_eq!(
            o.enumeration("soort", &[("A", 1), ("B", 2)]).unwrap(),
            Some("B")
        );
        assert!(o.decimal("naam").is_err());
    }

    /// The hand-written formatter gives chrono's text for every timestamp it handles.
    #[test]
    fn datetime_formatting_matches_chrono() {
        use chrono::{Duration, NaiveDate};
        let base = NaiveDate::from_ymd_opt(2025, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let mut checked = 0;
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..20_000u64 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // Whole seconds, 100 ns ticks with trailing zeros, and nanoseconds below a tick.
            let nanos = match i % 4 {
                0 => 0,
                1 => (seed >> 20) % 10_000_000 * 100,
                2 => (seed >> 20) % 1000 * 1_000_000,
                _ => (seed >> 20) % 1_000_000_000,
            };
            let secs = (seed >> 1) % (400 * 365 * 86_400);
            for d in [
                base + Duration::seconds(secs as i64) + Duration::nanoseconds(nanos as i64),
                base - Duration::seconds(secs as i64 * 5) + Duration::nanoseconds(nanos as i64),
            ] {
                assert_eq!(fmt_datetime(d), fmt_datetime_chrono(d), "{d:?}");
                checked += 1;
            }
        }
        let edge = NaiveDate::from_ymd_opt(9999, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 999_999_999)
            .unwrap();
        assert_eq!(fmt_datetime(edge), "9999-12-31T23:59:59.9999999");
        assert_eq!(
            fmt_datetime(edge + Duration::seconds(1)),
            "+10000-01-01T00:00:00.9999999"
        );
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_milli_opt(23, 59, 59, 1_500)
            .unwrap();
        assert_eq!(fmt_datetime(leap), fmt_datetime_chrono(leap));
        assert_eq!(checked, 40_000);
    }

    #[test]
    fn money_is_a_number() {
        assert_eq!(money(Decimal::new(129720, 2)), json!(1297.2));
        assert_eq!(money(Decimal::new(500, 2)), json!(5));
    }
}
