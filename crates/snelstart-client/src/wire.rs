//! How SnelStart writes values on the wire, and serde helpers that read and write them faithfully.
//!
//! - **Dates and times** are ISO-8601 *without* an offset (`2023-06-29T21:44:48.51`), with a
//!   fraction of 0 to 7 digits with trailing zeros trimmed; date-only fields come back as
//!   midnight. We parse leniently (also `YYYY-MM-DD`, a space instead of `T`, and an RFC 3339
//!   offset, which is dropped because SnelStart works in Dutch wall-clock time) and emit exactly
//!   the SnelStart form. See [`format_datetime`].
//! - **Money** is a JSON number. We read any JSON number *or* numeric string into an exact
//!   [`Decimal`] from the number's **text** as it was on the wire (serde_json's raw-value
//!   path), never through `f64`, so 20 significant digits come back as sent. (Only when the
//!   input is not JSON text, e.g. an already parsed `serde_json::Value`, is the number what that
//!   value holds.) On write an amount is a JSON number; one that an `f64` cannot hold exactly
//!   is written from its exact text when serializing to JSON text.
//! - **References** to other records are `{"id": …, "uri": …}` objects: [`Reference`].

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Formats a date-time the way SnelStart emits it: no offset, fraction trimmed.
///
/// ```
/// use chrono::NaiveDate;
/// let t = NaiveDate::from_ymd_opt(2023, 6, 29).unwrap().and_hms_milli_opt(21, 44, 48, 510).unwrap();
/// assert_eq!(snelstart_client::wire::format_datetime(&t), "2023-06-29T21:44:48.51");
/// let d = NaiveDate::from_ymd_opt(2024, 11, 12).unwrap().and_hms_opt(0, 0, 0).unwrap();
/// assert_eq!(snelstart_client::wire::format_datetime(&d), "2024-11-12T00:00:00");
/// ```
pub fn format_datetime(value: &NaiveDateTime) -> String {
    let mut out = value.format("%Y-%m-%dT%H:%M:%S").to_string();
    // .NET ticks are 100 ns, so at most 7 meaningful digits.
    let ticks = value.nanosecond() % 1_000_000_000 / 100;
    if ticks != 0 {
        let fraction = format!("{ticks:07}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out
}

/// Parses any date-time form SnelStart or its clients use; see the [module docs](self).
///
/// # Errors
///
/// Returns a message naming the value when it is not a date or date-time.
pub fn parse_datetime(text: &str) -> Result<NaiveDateTime, String> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        // Keep the wall-clock time as written: SnelStart has no notion of offsets.
        return Ok(t.naive_local());
    }
    let normalised = text.replacen(' ', "T", 1);
    let normalised = normalised.trim_end_matches('Z');
    if let Ok(t) = NaiveDateTime::parse_from_str(normalised, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(t);
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(normalised, "%Y-%m-%dT%H:%M") {
        return Ok(t);
    }
    if let Ok(d) = NaiveDate::parse_from_str(normalised, "%Y-%m-%d") {
        return Ok(d.and_time(NaiveTime::MIN));
    }
    Err(format!("`{text}` is not a SnelStart date-time"))
}

/// Serde helpers for a required `NaiveDateTime` in SnelStart form.
pub mod datetime {
    use super::*;

    /// Serializes in SnelStart form.
    ///
    /// # Errors
    ///
    /// Only the serializer's own errors.
    pub fn serialize<S: Serializer>(value: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_datetime(value))
    }

    /// Deserializes leniently.
    ///
    /// # Errors
    ///
    /// When the value is not a string in a date or date-time form.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let text = String::deserialize(d)?;
        parse_datetime(&text).map_err(de::Error::custom)
    }
}

/// Serde helpers for an optional `NaiveDateTime` (`null` or absent is `None`).
pub mod option_datetime {
    use super::*;

    /// Serializes `None` as `null`.
    ///
    /// # Errors
    ///
    /// Only the serializer's own errors.
    pub fn serialize<S: Serializer>(
        value: &Option<NaiveDateTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_str(&format_datetime(v)),
            None => s.serialize_none(),
        }
    }

    /// Deserializes leniently; an empty string counts as `None`.
    ///
    /// # Errors
    ///
    /// When the value is neither null nor a date or date-time string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(t) if t.trim().is_empty() => Ok(None),
            Some(t) => parse_datetime(&t).map(Some).map_err(de::Error::custom),
        }
    }
}

/// serde_json's marker for a raw value (the `raw_value` feature): asking for a newtype struct of
/// this name makes serde_json hand over the value's exact text. Any other deserializer simply
/// calls `visit_newtype_struct`, and the value is read the usual way.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Parses the exact text of a JSON value as an amount: a number, a numeric string, or `null`
/// (`Ok(None)`).
fn decimal_from_json_text<E: de::Error>(raw: &str) -> Result<Option<Decimal>, E> {
    let raw = raw.trim();
    if raw == "null" {
        return Ok(None);
    }
    if raw.starts_with('"') {
        let text: String = serde_json::from_str(raw).map_err(E::custom)?;
        return DecimalVisitor.visit_str(&text).map(Some);
    }
    if raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Decimal::from_str(raw)
            .or_else(|_| Decimal::from_scientific(raw))
            .map(Some)
            .map_err(|_| E::custom(format!("{raw} does not fit in a decimal")));
    }
    Err(E::invalid_type(
        de::Unexpected::Other(raw.get(..40).unwrap_or(raw)),
        &"a decimal number or a numeric string",
    ))
}

/// Reads an amount exactly: from the JSON text when the deserializer is serde_json's, else
/// through the ordinary visitor. `null` is `None`.
fn deserialize_exact<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    struct Exact;
    impl<'de> Visitor<'de> for Exact {
        type Value = Option<Decimal>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("null, a decimal number or a numeric string")
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            // serde_json's raw value: one entry, the token and the exact text.
            let Some(key) = map.next_key::<String>()? else {
                return Err(de::Error::invalid_type(de::Unexpected::Map, &self));
            };
            if key != RAW_VALUE_TOKEN {
                return Err(de::Error::invalid_type(de::Unexpected::Map, &self));
            }
            let raw: String = map.next_value()?;
            decimal_from_json_text(&raw)
        }
        fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            DecimalVisitor.visit_i64(v).map(Some)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            DecimalVisitor.visit_u64(v).map(Some)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            DecimalVisitor.visit_f64(v).map(Some)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            DecimalVisitor.visit_str(v).map(Some)
        }
    }
    d.deserialize_newtype_struct(RAW_VALUE_TOKEN, Exact)
}

struct DecimalVisitor;

impl Visitor<'_> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number or a numeric string")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        if !v.is_finite() {
            return Err(E::custom(format!("{v} is not a finite amount")));
        }
        // `f64`'s Display is the shortest text that reads back to the same float, i.e. the
        // text serde_json parsed for any amount of up to 15 significant digits.
        Decimal::from_str(&v.to_string())
            .or_else(|_| Decimal::from_scientific(&format!("{v:e}")))
            .map_err(|_| E::custom(format!("{v} does not fit in a decimal")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        let t = v.trim();
        Decimal::from_str(t)
            .or_else(|_| Decimal::from_scientific(t))
            .map_err(|_| E::custom(format!("`{v}` is not a decimal number")))
    }
}

/// The `f64` that serde_json writes as exactly `value`, if there is one.
///
/// The test is on the text serde_json will write (its shortest form, which may differ from
/// `f64`'s `Display`, e.g. `-159594025928527.12` for the float nearest to `…527.13`), and only
/// text `Decimal` can hold without rounding counts: `Decimal::from_str` rounds past 28
/// fraction digits, which once let `1e-28` out as `1.0000000000000001e-28`.
fn exact_f64(value: &Decimal) -> Option<f64> {
    let f = value.to_f64()?;
    if !f.is_finite() {
        return None;
    }
    let text = serde_json::to_string(&f).ok()?;
    if text.contains(['e', 'E']) {
        return None;
    }
    let fraction_digits = text
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len());
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    if fraction_digits > 28 || digits > 28 {
        return None;
    }
    (Decimal::from_str(&text).ok()? == *value).then_some(f)
}

/// Serde helpers for a required money/decimal value.
pub mod decimal {
    use super::*;

    /// Writes a JSON number.
    ///
    /// # Errors
    ///
    /// When the value cannot be represented as a JSON number (never for money amounts).
    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        match exact_f64(value) {
            // Exact as a float: the ordinary JSON number (what SnelStart's amounts always are).
            Some(f) => s.serialize_f64(f),
            // More digits than a float holds: the exact text, as a raw JSON number.
            None => match serde_json::value::RawValue::from_string(value.normalize().to_string()) {
                Ok(raw) => raw.serialize(s),
                Err(_) => Err(serde::ser::Error::custom(format!(
                    "{value} cannot be written as a JSON number"
                ))),
            },
        }
    }

    /// Reads a JSON number or numeric string exactly.
    ///
    /// # Errors
    ///
    /// When the value is not numeric.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        super::deserialize_exact(d)?
            .ok_or_else(|| de::Error::invalid_type(de::Unexpected::Unit, &"a decimal number"))
    }
}

/// Serde helpers for an optional money/decimal value.
pub mod option_decimal {
    use super::*;

    /// Writes a JSON number or `null`.
    ///
    /// # Errors
    ///
    /// When the value cannot be represented as a JSON number (never for money amounts).
    pub fn serialize<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => super::decimal::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    /// Reads `null`, a JSON number or a numeric string.
    ///
    /// # Errors
    ///
    /// When the value is neither null nor numeric.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        super::deserialize_exact(d)
    }
}

/// A list as it was on the wire: its items, and whether SnelStart sent a list at all.
///
/// SnelStart writes `null` (or leaves out) a list that was never set, and `[]` for an empty
/// one. Both read as no items, but they are different values: a `null`/absent list is written
/// back as `null`, an empty list as `[]`, so a read-modify-write sends exactly what came.
/// It dereferences to `Vec<T>`, so `contains`, `iter`, `is_empty`, `len`, indexing ... work as on
/// a `Vec`; changing it through `DerefMut` (`push`, ...) makes it a sent list.
#[derive(Debug, Clone, Eq)]
pub struct WireList<T> {
    items: Vec<T>,
    sent: bool,
}

impl<T> Default for WireList<T> {
    /// A list that was not sent (`null`/absent).
    fn default() -> Self {
        WireList {
            items: Vec::new(),
            sent: false,
        }
    }
}

impl<T> WireList<T> {
    /// A list that was not sent (`null`/absent).
    pub fn absent() -> Self {
        WireList::default()
    }

    /// Whether the list was not sent (`null` or absent on the wire).
    pub fn is_absent(&self) -> bool {
        !self.sent
    }

    /// The list as the wire had it: `None` for `null`/absent, `Some` (maybe empty) otherwise.
    pub fn as_option(&self) -> Option<&Vec<T>> {
        self.sent.then_some(&self.items)
    }

    /// The items (empty for a list that was not sent).
    pub fn into_vec(self) -> Vec<T> {
        self.items
    }
}

impl<T> std::ops::Deref for WireList<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.items
    }
}

impl<T> std::ops::DerefMut for WireList<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        self.sent = true;
        &mut self.items
    }
}

impl<T> From<Vec<T>> for WireList<T> {
    /// A sent list (`[]` for an empty `Vec`).
    fn from(items: Vec<T>) -> Self {
        WireList { items, sent: true }
    }
}

impl<T> From<Option<Vec<T>>> for WireList<T> {
    fn from(items: Option<Vec<T>>) -> Self {
        items.map(WireList::from).unwrap_or_default()
    }
}

impl<T: PartialEq> PartialEq for WireList<T> {
    fn eq(&self, other: &Self) -> bool {
        self.sent == other.sent && self.items == other.items
    }
}

impl<T: PartialEq> PartialEq<Vec<T>> for WireList<T> {
    /// Compares the items only.
    fn eq(&self, other: &Vec<T>) -> bool {
        self.items == *other
    }
}

impl<'a, T> IntoIterator for &'a WireList<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<T> IntoIterator for WireList<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<T: Serialize> Serialize for WireList<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.sent {
            self.items.serialize(s)
        } else {
            s.serialize_none()
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for WireList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<Vec<T>>::deserialize(d).map(WireList::from)
    }
}

/// A reference to another SnelStart record: `{"id": "<guid>", "uri": "/<resource>/<guid>"}`.
///
/// Only `id` matters on write; `uri` is filled by SnelStart on read and skipped on write when
/// absent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound(serialize = "I: Serialize", deserialize = "I: Deserialize<'de>"))]
pub struct Reference<I> {
    /// The id of the referenced record.
    pub id: I,
    /// The relative uri SnelStart reports (`/relaties/…`); read-only, not needed on write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl<I> Reference<I> {
    /// A reference to `id`, as sent on write.
    pub const fn new(id: I) -> Self {
        Reference { id, uri: None }
    }
}

impl<I> From<I> for Reference<I> {
    fn from(id: I) -> Self {
        Reference::new(id)
    }
}

/// Defines a SnelStart string enum: `#[non_exhaustive]`, written as its string name, read from
/// the string name or from the integer the vendor's .NET client sends, with an `Unknown(String)`
/// fallback so a value SnelStart adds later never breaks decoding.
macro_rules! api_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = ($wire:literal, $num:literal) ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, Debug)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version of the crate does not know (kept as sent).
            Unknown(String),
        }

        impl $name {
            /// The string SnelStart uses for this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )*
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// All known values, in the vendor's order.
            pub const KNOWN: &'static [$name] = &[ $( $name::$variant, )* ];

            fn from_wire(s: &str) -> Self {
                match s {
                    $( $wire => $name::$variant, )*
                    other => {
                        $crate::drift::note_enum_value(stringify!($name), other);
                        $name::Unknown(other.to_owned())
                    }
                }
            }

            fn from_number(n: i64) -> Self {
                match n {
                    $( $num => $name::$variant, )*
                    other => {
                        $crate::drift::note_enum_value(stringify!($name), &other.to_string());
                        $name::Unknown(other.to_string())
                    }
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name::from_wire(s))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl ::serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " name or number"))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::from_wire(v))
                    }
                    fn visit_i64<E: ::serde::de::Error>(self, v: i64) -> Result<$name, E> {
                        Ok($name::from_number(v))
                    }
                    fn visit_u64<E: ::serde::de::Error>(self, v: u64) -> Result<$name, E> {
                        Ok($name::from_number(v as i64))
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}
pub(crate) use api_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Amount {
        #[serde(with = "decimal")]
        bedrag: Decimal,
        #[serde(with = "option_decimal", default)]
        optional: Option<Decimal>,
        #[serde(with = "option_datetime", default)]
        datum: Option<NaiveDateTime>,
    }

    #[test]
    fn money_reads_numbers_and_strings_exactly() {
        let a: Amount =
            serde_json::from_str(r#"{"bedrag": 1297.20, "optional": "0.1", "datum": null}"#)
                .unwrap();
        assert_eq!(a.bedrag, Decimal::from_str("1297.2").unwrap());
        assert_eq!(a.optional, Some(Decimal::from_str("0.1").unwrap()));
        assert_eq!(a.datum, None);
        let big: Amount = serde_json::from_str(r#"{"bedrag": 12345678901.23}"#).unwrap();
        assert_eq!(big.bedrag.to_string(), "12345678901.23");
    }

    #[test]
    fn money_keeps_twenty_significant_digits() {
        let body = r#"{"bedrag": 123456789012345.67891, "optional": -0.12345678901234567891}"#;
        let a: Amount = serde_json::from_str(body).unwrap();
        assert_eq!(a.bedrag.to_string(), "123456789012345.67891");
        assert_eq!(a.optional.unwrap().to_string(), "-0.12345678901234567891");
        // Also from bytes and inside a list, through serde_path_to_error (the client's path).
        let list = format!("[{body}, {{\"bedrag\": 1e2}}]");
        let mut de = serde_json::Deserializer::from_slice(list.as_bytes());
        let v: Vec<Amount> = serde_path_to_error::deserialize(&mut de).unwrap();
        assert_eq!(v[0].bedrag.to_string(), "123456789012345.67891");
        assert_eq!(v[1].bedrag, Decimal::from(100));
        // Written back exactly when serialized to JSON text.
        let out = serde_json::to_string(&a).unwrap();
        assert!(out.contains("123456789012345.67891"), "{out}");
        assert!(out.contains("-0.12345678901234567891"), "{out}");
        // null and absent read the same; a non-number is an error naming the type.
        let n: Amount = serde_json::from_str(r#"{"bedrag": 1, "optional": null}"#).unwrap();
        assert_eq!(n.optional, None);
        assert!(serde_json::from_str::<Amount>(r#"{"bedrag": null}"#).is_err());
        assert!(serde_json::from_str::<Amount>(r#"{"bedrag": true}"#).is_err());
        assert!(serde_json::from_str::<Amount>(r#"{"bedrag": {"a": 1}}"#).is_err());
        // From an already parsed Value the ordinary path still works.
        let v: Amount = serde_json::from_value(serde_json::json!({"bedrag": 12.5})).unwrap();
        assert_eq!(v.bedrag.to_string(), "12.5");
    }

    #[test]
    fn money_is_written_as_the_exact_decimal_even_where_a_float_is_close() {
        for text in [
            "0.0000000000000000000000000001",
            "-0.0000000000000000000000000001",
            "-159594025928527.13",
            "79228162514264337593543950335",
            "0.30000000000000004",
            "1234.5",
        ] {
            let a: Amount = serde_json::from_str(&format!("{{\"bedrag\": {text}}}")).unwrap();
            let out = serde_json::to_string(&a).unwrap();
            let back: Amount = serde_json::from_str(&out).unwrap();
            assert_eq!(back.bedrag, a.bedrag, "{text} was written as {out}");
            assert_eq!(back.bedrag.to_string(), text, "{out}");
        }
    }

    #[test]
    fn money_writes_a_json_number() {
        let a = Amount {
            bedrag: Decimal::from_str("-210.10").unwrap(),
            optional: None,
            datum: None,
        };
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"bedrag":-210.1,"optional":null,"datum":null}"#
        );
    }

    #[test]
    fn datetimes_round_trip_in_snelstart_form() {
        for text in [
            "2023-06-29T21:44:48.51",
            "2024-11-12T00:00:00",
            "2024-01-02T03:04:05.1234567",
        ] {
            let t = parse_datetime(text).unwrap();
            assert_eq!(format_datetime(&t), text);
        }
        assert_eq!(
            format_datetime(&parse_datetime("2024-03-27 10:20:18").unwrap()),
            "2024-03-27T10:20:18"
        );
        assert_eq!(
            format_datetime(&parse_datetime("2024-03-27").unwrap()),
            "2024-03-27T00:00:00"
        );
        assert_eq!(
            format_datetime(&parse_datetime("2024-03-27T10:20:18+02:00").unwrap()),
            "2024-03-27T10:20:18"
        );
        assert!(parse_datetime("gisteren").is_err());
    }
}
