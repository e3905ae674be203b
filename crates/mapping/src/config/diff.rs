//! What changed between two versions of a configuration.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use super::MappingConfig;

/// One difference between two configurations, with the path of the entry.
///
/// Paths use dots for fields and brackets for list entries. Ledger and VAT rules are keyed by
/// what they are about instead of their position, so reordering rules is no change and a
/// change reads as `ledgers.revenue[omzet/hoog].ledger: 8000 → 8001`; the catch-all rule of a
/// category is `[category/*]`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigChange {
    /// An entry only the new version has.
    Added {
        /// Where.
        path: String,
        /// The new value.
        value: Value,
    },
    /// An entry only the old version has.
    Removed {
        /// Where.
        path: String,
        /// The old value.
        value: Value,
    },
    /// An entry whose value changed.
    Changed {
        /// Where.
        path: String,
        /// Before.
        old: Value,
        /// After.
        new: Value,
    },
}

impl ConfigChange {
    /// The path of the changed entry.
    pub fn path(&self) -> &str {
        match self {
            Self::Added { path, .. } | Self::Removed { path, .. } | Self::Changed { path, .. } => {
                path
            }
        }
    }
}

impl fmt::Display for ConfigChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Added { path, value } => write!(f, "+ {path}: {value}"),
            Self::Removed { path, value } => write!(f, "- {path}: {value}"),
            Self::Changed { path, old, new } => write!(f, "~ {path}: {old} -> {new}"),
        }
    }
}

/// Lists every difference from `old` to `new`, in a stable order (sorted by path within each
/// level). Empty when they are equal.
pub fn diff(old: &MappingConfig, new: &MappingConfig) -> Vec<ConfigChange> {
    let mut out = Vec::new();
    let old = serde_json::to_value(old).unwrap_or(Value::Null);
    let new = serde_json::to_value(new).unwrap_or(Value::Null);
    walk("", &old, &new, &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<ConfigChange>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let a: BTreeMap<_, _> = a.iter().collect();
            let b: BTreeMap<_, _> = b.iter().collect();
            compare_maps(path, &a, &b, join, out);
        }
        (Value::Array(a), Value::Array(b)) => match (keyed(a), keyed(b)) {
            (Some(a), Some(b)) => compare_maps(path, &a, &b, |p, k| format!("{p}[{k}]"), out),
            _ => {
                for i in 0..a.len().max(b.len()) {
                    let p = format!("{path}[{i}]");
                    match (a.get(i), b.get(i)) {
                        (Some(x), Some(y)) => walk(&p, x, y, out),
                        (Some(x), None) => out.push(ConfigChange::Removed {
                            path: p,
                            value: x.clone(),
                        }),
                        (None, Some(y)) => out.push(ConfigChange::Added {
                            path: p,
                            value: y.clone(),
                        }),
                        (None, None) => {}
                    }
                }
            }
        },
        (a, b) if a == b => {}
        (a, b) => out.push(ConfigChange::Changed {
            path: path.to_owned(),
            old: a.clone(),
            new: b.clone(),
        }),
    }
}

fn compare_maps<K: Ord + fmt::Display>(
    path: &str,
    a: &BTreeMap<K, &Value>,
    b: &BTreeMap<K, &Value>,
    name: impl Fn(&str, &str) -> String,
    out: &mut Vec<ConfigChange>,
) {
    let mut keys: Vec<&K> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let p = name(path, &key.to_string());
        match (a.get(key), b.get(key)) {
            (Some(x), Some(y)) => walk(&p, x, y, out),
            (Some(x), None) => out.push(ConfigChange::Removed {
                path: p,
                value: (*x).clone(),
            }),
            (None, Some(y)) => out.push(ConfigChange::Added {
                path: p,
                value: (*y).clone(),
            }),
            (None, None) => {}
        }
    }
}

/// Rule lists (`ledgers.*`, `vat.rules`) keyed by `category[/vat]`; `None` for other arrays or
/// when two entries share a key (then positions are compared).
fn keyed(items: &[Value]) -> Option<BTreeMap<String, &Value>> {
    let mut map = BTreeMap::new();
    for item in items {
        let obj = item.as_object()?;
        let category = obj.get("category")?;
        let category = match category {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let key = if obj.contains_key("ledger") {
            let vat = obj.get("vat").and_then(Value::as_str).unwrap_or("*");
            format!("{category}/{vat}")
        } else {
            category
        };
        if map.insert(key, item).is_some() {
            return None;
        }
    }
    Some(map)
}
