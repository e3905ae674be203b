//! The error every newtype parser returns.

use std::fmt;

use serde::Deserialize;

/// Why a value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorReason {
    /// The value was empty (after trimming).
    Empty,
    /// The value does not have the expected shape; the text says what was expected.
    Format(&'static str),
    /// The value has the right shape but its check digits are wrong.
    Checksum,
    /// The value has more decimals than allowed.
    TooManyDecimals,
    /// The value is outside the allowed range.
    OutOfRange,
    /// The value is not one of the known names.
    Unknown,
}

impl fmt::Display for ParseErrorReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::Format(expected) => write!(f, "expected {expected}"),
            Self::Checksum => f.write_str("its check digits are wrong"),
            Self::TooManyDecimals => f.write_str("it has more than 2 decimals"),
            Self::OutOfRange => f.write_str("it is out of range"),
            Self::Unknown => f.write_str("it is not a known value"),
        }
    }
}

/// A value that could not be parsed into one of this crate's newtypes.
///
/// It names the kind of field (`"vat_number"`, `"kvk_number"`, ...), carries the offending value
/// verbatim and says why it was refused, so a report can point a user at the exact input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field} {value:?}: {reason}")]
pub struct ParseError {
    field: &'static str,
    value: String,
    reason: ParseErrorReason,
}

impl ParseError {
    /// Creates an error for `field` holding `value`.
    pub fn new(field: &'static str, value: impl Into<String>, reason: ParseErrorReason) -> Self {
        Self {
            field,
            value: value.into(),
            reason,
        }
    }

    /// The kind of field that was being parsed, e.g. `"vat_number"`.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// The input exactly as it was given.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Why it was refused.
    pub fn reason(&self) -> ParseErrorReason {
        self.reason
    }
}

/// Implements `Serialize` as the `Display` string and `Deserialize` through `FromStr`, so every
/// newtype travels as a plain JSON/TOML string and is parsed leniently on the way in.
macro_rules! string_serde {
    ($ty:ty, $expecting:literal) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
        $crate::error::string_serde!(@deserialize $ty, $expecting);
    };
    // A type whose serialized form keeps what reading inferred (a restored leading zero, an
    // inferred country prefix), so a record written to a queue and read back is the record
    // that was read, flags included; `Display` stays the strict form that is written.
    ($ty:ty, $expecting:literal, serialize_as = $ser:path) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($ser(self))
            }
        }
        $crate::error::string_serde!(@deserialize $ty, $expecting);
    };
    (@deserialize $ty:ty, $expecting:literal) => {

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                    // Numbers are accepted too: spreadsheets and some CRMs export a KvK
                    // number or postcode digits as a JSON number.
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$ty, E> {
                        self.visit_str(&v.to_string())
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$ty, E> {
                        self.visit_str(&v.to_string())
                    }
                }
                deserializer.deserialize_any(V)
            }
        }
    };
}
pub(crate) use string_serde;

/// Deserializes text given as a JSON string or a JSON integer (kept as its decimal text): the
/// form CRMs use for ids and numbers (`"P-17"`, `1043`).
pub(crate) fn text_or_integer<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or an integer")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    deserializer.deserialize_any(V)
}

/// Like [`text_or_integer`] for an optional field (`null` or absent is `None`).
pub(crate) fn opt_text_or_integer<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Wrap(#[serde(deserialize_with = "text_or_integer")] String);
    Ok(Option::<Wrap>::deserialize(deserializer)?.map(|w| w.0))
}

/// Removes the separators people type inside identifiers (spaces, dots, dashes) and upper-cases.
pub(crate) fn compact_upper(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '\u{a0}' | '\t'))
        .flat_map(char::to_uppercase)
        .collect()
}
