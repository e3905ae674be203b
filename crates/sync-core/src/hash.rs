//! Payload hashes: how the engine knows a change is a no-op.
//!
//! The hash is taken over what would be *sent* to SnelStart (the converted write model), not
//! over the CRM record: a CRM change in a field the mapping ignores costs no call, and a
//! mapping change that alters the output does trigger updates.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// SHA-256 over the canonical JSON of `value` (object keys sorted), hex-encoded.
pub fn payload_hash<T: Serialize + ?Sized>(value: &T) -> String {
    let json = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    let mut hasher = Sha256::new();
    write_canonical(&json, &mut hasher);
    hex::encode(hasher.finalize())
}

fn write_canonical(value: &serde_json::Value, hasher: &mut Sha256) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            hasher.update(b"{");
            for k in keys {
                hasher.update(serde_json::to_string(k).unwrap_or_default().as_bytes());
                hasher.update(b":");
                write_canonical(&map[k], hasher);
                hasher.update(b",");
            }
            hasher.update(b"}");
        }
        Value::Array(items) => {
            hasher.update(b"[");
            for item in items {
                write_canonical(item, hasher);
                hasher.update(b",");
            }
            hasher.update(b"]");
        }
        other => hasher.update(other.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_does_not_matter_but_values_do() {
        let a = serde_json::json!({"naam": "A", "adres": {"plaats": "X", "straat": "Y 1"}});
        let b = serde_json::json!({"adres": {"straat": "Y 1", "plaats": "X"}, "naam": "A"});
        let c = serde_json::json!({"adres": {"straat": "Y 2", "plaats": "X"}, "naam": "A"});
        assert_eq!(payload_hash(&a), payload_hash(&b));
        assert_ne!(payload_hash(&a), payload_hash(&c));
        assert_eq!(payload_hash(&a).len(), 64);
    }
}
