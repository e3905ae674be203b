//! A work item's payload: the JSON text a store keeps.
//!
//! The engine writes a change once when it is queued and reads it once when it is claimed.
//! Keeping the payload as text between the two means neither step builds a JSON tree: the
//! change is written straight to text and read straight from it into the engine's own types;
//! a store only checks, on reading, that the text is still one JSON value (a pass over the text
//! that builds nothing). As a `serde_json::Value`, every claimed item was first parsed into a
//! tree of maps and strings and then converted again: at a hundred thousand items, building and
//! freeing those trees drew a fifth of the engine's samples in the allocator.

use std::fmt;

use serde::de::{DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A work item's payload: one JSON value, kept as its text.
///
/// Build it with [`Payload::encode`] (any serializable value), from a
/// [`serde_json::Value`] (`Payload::from(value)`), or with [`Payload::from_json`] (text,
/// checked). Read it with [`Payload::decode`] into the type it holds, or as text with
/// [`Payload::as_json`].
///
/// Two payloads are equal when they hold the same JSON value, whatever their spacing or key
/// order. (No `Hash`: a hash of the text would tell equal payloads apart.)
#[derive(Clone)]
pub struct Payload {
    json: Box<str>,
}

/// A payload that could not be written or read as the JSON asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payload: {message}")]
pub struct PayloadError {
    message: String,
}

impl PayloadError {
    fn new(error: &serde_json::Error) -> Self {
        Self {
            message: error.to_string(),
        }
    }

    /// What went wrong, with the line and column of the text where the decoder has them.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl Payload {
    /// The payload of `value` as JSON.
    ///
    /// # Errors
    ///
    /// When `value` has no JSON form: a map whose keys cannot be written as JSON strings (a
    /// tuple, for instance), or its own `Serialize` failing.
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, PayloadError> {
        serde_json::to_string(value)
            .map(Self::known_json)
            .map_err(|e| PayloadError::new(&e))
    }

    /// A payload from JSON text, checked to be one JSON value that reads as a
    /// [`serde_json::Value`]: how a store reads back the text [`Payload::as_json`] gave it.
    /// The check reads every number, string and nesting level as a tree would (so `1e400`, a
    /// lone surrogate `"\ud800"` or 129 levels of nesting are refused, as a tree refuses
    /// them), but builds nothing.
    ///
    /// # Errors
    ///
    /// When `text` is not exactly one such JSON value.
    pub fn from_json(text: impl Into<String>) -> Result<Self, PayloadError> {
        let text = text.into();
        serde_json::from_str::<Readable>(&text).map_err(|e| PayloadError::new(&e))?;
        Ok(Self::known_json(text))
    }

    /// Text known to be one JSON value (written by `serde_json`).
    fn known_json(text: String) -> Self {
        Self {
            json: text.into_boxed_str(),
        }
    }

    /// The JSON text.
    pub fn as_json(&self) -> &str {
        &self.json
    }

    /// The JSON text, owned.
    pub fn into_json(self) -> String {
        self.json.into_string()
    }

    /// The payload read into `T`, straight from its text.
    ///
    /// # Errors
    ///
    /// When the JSON is not a form of `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        serde_json::from_str(&self.json).map_err(|e| PayloadError::new(&e))
    }

    /// The payload as a JSON tree (for code that inspects payloads of any shape).
    ///
    /// # Errors
    ///
    /// Only for a value more than 128 levels deep, which [`Payload::encode`] or `From<Value>`
    /// can write but a tree does not read back; [`Payload::from_json`] refuses such text.
    pub fn to_value(&self) -> Result<serde_json::Value, PayloadError> {
        self.decode()
    }
}

impl From<serde_json::Value> for Payload {
    fn from(value: serde_json::Value) -> Self {
        Self::from(&value)
    }
}

impl From<&serde_json::Value> for Payload {
    fn from(value: &serde_json::Value) -> Self {
        // A `Value`'s keys are strings and its numbers finite: it always has a JSON form.
        Self::known_json(value.to_string())
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.json == other.json
            || matches!((self.to_value(), other.to_value()), (Ok(a), Ok(b)) if a == b)
    }
}

impl Eq for Payload {}

impl PartialEq<serde_json::Value> for Payload {
    fn eq(&self, other: &serde_json::Value) -> bool {
        self.to_value().is_ok_and(|value| value == *other)
    }
}

impl PartialEq<Payload> for serde_json::Value {
    fn eq(&self, other: &Payload) -> bool {
        other == self
    }
}

/// Any JSON value that a `serde_json::Value` reads, read and dropped as it goes: the check of
/// [`Payload::from_json`]. (`serde::de::IgnoredAny` skips numbers and strings without reading
/// them, so it lets through what a tree refuses.)
struct Readable;

impl<'de> Deserialize<'de> for Readable {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ReadableVisitor)
    }
}

struct ReadableVisitor;

impl<'de> Visitor<'de> for ReadableVisitor {
    type Value = Readable;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_str<E>(self, _: &str) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_unit<E>(self) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Readable, A::Error> {
        while items.next_element::<Readable>()?.is_some() {}
        Ok(Readable)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Readable, A::Error> {
        while members.next_entry::<Readable, Readable>()?.is_some() {}
        Ok(Readable)
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Payload").field(&&*self.json).finish()
    }
}

/// As the JSON value it holds (not as a string of JSON text).
impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value()
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encoded_text_decodes_to_the_same_value() {
        let value = json!({ "naam": "Bakkerij \"De Korf\"", "n": [1, 2.5, null], "ok": true });
        let payload = Payload::encode(&value).unwrap();
        assert_eq!(payload.decode::<serde_json::Value>().unwrap(), value);
        assert_eq!(payload, value);
        assert_eq!(value, payload);
        assert_eq!(Payload::from(value.clone()), payload);
    }

    #[test]
    fn equal_values_are_equal_payloads_whatever_the_text() {
        let a = Payload::from_json(r#"{"a": 1, "b": [true]}"#).unwrap();
        let b = Payload::from_json(r#"{"b":[true],"a":1}"#).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, Payload::from_json(r#"{"a": 2, "b": [true]}"#).unwrap());
    }

    #[test]
    fn text_that_is_not_one_json_value_is_refused() {
        for text in ["", "{", "1 2", "{\"a\":}", "nul"] {
            let error = Payload::from_json(text).unwrap_err();
            assert!(!error.message().is_empty(), "{text:?}");
        }
    }

    #[test]
    fn decoding_into_the_wrong_shape_names_the_problem() {
        let payload = Payload::from(json!({ "n": "zeven" }));
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Counted {
            n: u32,
        }
        let error = payload.decode::<Counted>().unwrap_err();
        assert!(error.message().contains("invalid type"), "{error}");
    }

    #[test]
    fn serializes_as_the_value_it_holds() {
        let payload = Payload::from(json!({ "a": [1, "x"] }));
        let outer = serde_json::to_value(json!({ "payload": payload })).unwrap();
        assert_eq!(outer, json!({ "payload": { "a": [1, "x"] } }));
        let back: Payload = serde_json::from_value(json!({ "a": [1, "x"] })).unwrap();
        assert_eq!(back, payload);
    }

    #[test]
    fn text_is_accepted_exactly_when_a_tree_reads_it() {
        let deep = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        let texts = [
            "1e400".to_owned(),
            "-1e400".to_owned(),
            r#""\ud800""#.to_owned(),
            r#"{"a": [1e999]}"#.to_owned(),
            r#"{"a": 1, "a": 2}"#.to_owned(),
            r#""\u00e9\n""#.to_owned(),
            "18446744073709551616".to_owned(),
            "-0.0".to_owned(),
            deep(128),
            deep(129),
        ];
        for text in &texts {
            let as_tree = serde_json::from_str::<serde_json::Value>(text);
            match Payload::from_json(text.as_str()) {
                Ok(payload) => {
                    let tree = as_tree.unwrap_or_else(|e| panic!("{text}: checked, not read: {e}"));
                    assert_eq!(payload.to_value().unwrap(), tree, "{text}");
                    assert!(serde_json::to_string(&payload).is_ok(), "{text}");
                }
                Err(error) => assert!(as_tree.is_err(), "{text}: refused, but read: {error}"),
            }
        }
    }

    #[test]
    fn a_value_without_a_json_form_is_an_error() {
        let mut map = std::collections::HashMap::new();
        map.insert((1, 2), "pair keys have no JSON form");
        assert!(Payload::encode(&map).is_err());
    }
}
