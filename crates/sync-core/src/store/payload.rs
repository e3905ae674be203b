//! A work item's payload: the JSON text a store keeps.
//!
//! The engine writes a change once when it is queued and reads it once when it is claimed.
//! Keeping the payload as text between the two means neither step builds a JSON tree: the
//! change is written straight to text and read straight from it into the engine's own types;
//! a store only checks, on reading, that the text is still one JSON value (a scan that builds
//! nothing). As a `serde_json::Value`, every claimed item was first parsed into a tree of
//! maps and strings and then converted again: at a hundred thousand items, building and
//! freeing those trees was about a fifth of the engine's time in the allocator.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A work item's payload: one JSON value, kept as its text.
///
/// Build it with [`Payload::encode`] (any serializable value), from a
/// [`serde_json::Value`] (`Payload::from(value)`), or with [`Payload::from_json`] (text,
/// checked). Read it with [`Payload::decode`] into the type it holds, or as text with
/// [`Payload::as_json`].
///
/// Two payloads are equal when they hold the same JSON value, whatever their spacing or key
/// order.
#[derive(Clone)]
pub struct Payload {
    json: Box<str>,
}

/// A payload that could not be written or read as the JSON asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payload: {message}")]
#[non_exhaustive]
pub struct PayloadError {
    /// What went wrong, with the decoder's position where it has one.
    pub message: String,
}

impl PayloadError {
    fn new(error: &serde_json::Error) -> Self {
        Self {
            message: error.to_string(),
        }
    }
}

impl Payload {
    /// The payload of `value` as JSON.
    ///
    /// # Errors
    ///
    /// When `value` has no JSON form (a map whose keys are not strings, or its own
    /// `Serialize` failing).
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, PayloadError> {
        serde_json::to_string(value)
            .map(Self::known_json)
            .map_err(|e| PayloadError::new(&e))
    }

    /// A payload from JSON text, checked to be one JSON value: how a store reads back the
    /// text [`Payload::as_json`] gave it. The check scans the text without building
    /// anything.
    ///
    /// # Errors
    ///
    /// When `text` is not exactly one JSON value.
    pub fn from_json(text: impl Into<String>) -> Result<Self, PayloadError> {
        let text = text.into();
        serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(|e| PayloadError::new(&e))?;
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
    /// Only for text a store was handed from elsewhere that is JSON a tree cannot hold
    /// (`1e400`, a lone surrogate `"\ud800"`): [`Payload::from_json`] checks the form, not
    /// every value. What [`Payload::encode`] and `From<Value>` write always reads.
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

impl PartialEq<serde_json::Value> for Payload {
    fn eq(&self, other: &serde_json::Value) -> bool {
        self.to_value().is_ok_and(|value| value == *other)
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
            assert!(!error.message.is_empty(), "{text:?}");
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
        assert!(error.message.contains("invalid type"), "{error}");
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
    fn json_a_tree_cannot_hold_is_an_error_when_read_not_a_panic() {
        for text in ["1e400", "-1e400", r#""\ud800""#, r#"{"a": [1e999]}"#] {
            // Refused when checked, or checked and then refused as a tree: never a wrong
            // value.
            if let Ok(payload) = Payload::from_json(text) {
                assert!(payload.to_value().is_err(), "{text}");
                assert_ne!(payload, serde_json::Value::Null, "{text}");
                assert!(serde_json::to_string(&payload).is_err(), "{text}");
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
