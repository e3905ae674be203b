//! API drift: what SnelStart sent that this version of the client does not know.
//!
//! SnelStart adds properties and enum values to its API from time to time and advises its
//! customers to test their coupling after every update. The client decodes such responses
//! anyway (unknown properties are ignored, unknown enum values kept as `Unknown`), and records
//! here *that* it met them, so an operator notices the change before it matters: property
//! paths and enum values, never the values of properties (they may be personal data).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The most distinct drift entries a client keeps; later kinds are counted in
/// `Client::api_drift_dropped`, so a misbehaving server cannot grow the log without bound.
pub const MAX_DRIFT_ENTRIES: usize = 256;

/// The longest enum value kept (characters); a longer one is cut.
const MAX_VALUE_CHARS: usize = 64;

/// What kind of drift.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DriftKind {
    /// A property the client's model does not have, by JSON path inside the response body,
    /// or inside one item for list routes (array positions written as `[]`, so each property
    /// is listed once).
    UnknownProperty {
        /// For example `[].nieuwVeld` or `vestigingsAdres.regio`.
        path: String,
    },
    /// An enum value the client does not know.
    UnknownEnumValue {
        /// The client's enum type, for example `Relatiesoort`.
        enum_name: &'static str,
        /// The value as sent.
        value: String,
    },
}

impl fmt::Display for DriftKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriftKind::UnknownProperty { path } => write!(f, "unknown property `{path}`"),
            DriftKind::UnknownEnumValue { enum_name, value } => {
                write!(f, "unknown {enum_name} value {value:?}")
            }
        }
    }
}

/// One kind of drift on one route, with how often and since when it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ApiDrift {
    /// The HTTP method.
    pub method: &'static str,
    /// The route template, for example `relaties` or `relaties/{id}`.
    pub route: &'static str,
    /// What was unknown.
    #[serde(flatten)]
    pub kind: DriftKind,
    /// How many times it was met.
    pub count: u64,
    /// When it was first met.
    pub first_seen: DateTime<Utc>,
    /// When it was last met.
    pub last_seen: DateTime<Utc>,
}

impl fmt::Display for ApiDrift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {} ({} times since {})",
            self.method,
            self.route,
            self.kind,
            self.count,
            self.first_seen.format("%Y-%m-%d %H:%M UTC")
        )
    }
}

type Key = (&'static str, &'static str, DriftKind);

/// The drift a client met, shared by its clones.
#[derive(Default)]
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) struct DriftLog {
    inner: Mutex<DriftEntries>,
}

#[derive(Default)]
struct DriftEntries {
    entries: BTreeMap<Key, (u64, DateTime<Utc>, DateTime<Utc>)>,
    dropped: u64,
}

#[cfg_attr(not(feature = "http"), allow(dead_code))]
impl DriftLog {
    pub(crate) fn record(&self, method: &'static str, route: &'static str, notes: Vec<DriftKind>) {
        if notes.is_empty() {
            return;
        }
        let now = Utc::now();
        let mut log = self.entries();
        for kind in notes {
            let key = (method, route, kind);
            if let Some(entry) = log.entries.get_mut(&key) {
                entry.0 = entry.0.saturating_add(1);
                entry.2 = now;
                continue;
            }
            if log.entries.len() >= MAX_DRIFT_ENTRIES {
                log.dropped = log.dropped.saturating_add(1);
                continue;
            }
            tracing::warn!(
                method,
                route,
                drift = %key.2,
                "SnelStart sent something this client does not know (API drift)"
            );
            metrics::counter!("snelstart_client_api_drift_total", "route" => route).increment(1);
            log.entries.insert(key, (1, now, now));
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, DriftEntries> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many entries were not kept because the log was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.entries().dropped
    }

    pub(crate) fn snapshot(&self) -> Vec<ApiDrift> {
        self.entries()
            .entries
            .iter()
            .map(|((method, route, kind), (count, first, last))| ApiDrift {
                method,
                route,
                kind: kind.clone(),
                count: *count,
                first_seen: *first,
                last_seen: *last,
            })
            .collect()
    }
}

thread_local! {
    /// The notes of the decode running on this thread, if one is collecting. Decoding is
    /// synchronous, so a decode never leaves its thread half-way.
    static NOTES: RefCell<Option<Vec<DriftKind>>> = const { RefCell::new(None) };
}

/// Runs `decode` and returns what it noted (unknown properties through `serde_ignored`,
/// unknown enum values through [`note_enum_value`]).
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) fn collecting<R>(decode: impl FnOnce() -> R) -> (R, Vec<DriftKind>) {
    let outer = NOTES.with(|n| n.borrow_mut().replace(Vec::new()));
    let result = decode();
    let notes = NOTES.with(|n| std::mem::replace(&mut *n.borrow_mut(), outer));
    (result, notes.unwrap_or_default())
}

fn note(kind: DriftKind) {
    NOTES.with(|n| {
        if let Some(notes) = n.borrow_mut().as_mut()
            && !notes.contains(&kind)
        {
            notes.push(kind);
        }
    });
}

/// Called by the enums' decoders when a value is not one they know.
pub(crate) fn note_enum_value(enum_name: &'static str, value: &str) {
    let value: String = value.chars().take(MAX_VALUE_CHARS).collect();
    note(DriftKind::UnknownEnumValue { enum_name, value });
}

/// Called by `serde_ignored` for each property no model field took.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) fn note_ignored(path: serde_ignored::Path<'_>) {
    let mut text = String::new();
    write_path(&path, &mut text);
    note(DriftKind::UnknownProperty {
        path: text.trim_start_matches('.').to_owned(),
    });
}

#[cfg_attr(not(feature = "http"), allow(dead_code))]
fn write_path(path: &serde_ignored::Path<'_>, out: &mut String) {
    use serde_ignored::Path;
    match path {
        Path::Root => {}
        Path::Seq { parent, .. } => {
            write_path(parent, out);
            out.push_str("[]");
        }
        Path::Map { parent, key } => {
            write_path(parent, out);
            out.push('.');
            out.push_str(key);
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => write_path(parent, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Relatie;

    fn decode(body: &str) -> (Relatie, Vec<DriftKind>) {
        let (r, notes) = collecting(|| {
            let mut de = serde_json::Deserializer::from_str(body);
            serde_ignored::deserialize(&mut de, note_ignored)
        });
        (r.unwrap(), notes)
    }

    #[test]
    fn unknown_properties_and_enum_values_are_noted_without_values() {
        let (r, notes) = decode(
            r#"{"id": "2b7c1d10-5a3e-4f4b-9d55-0c1e2f3a4b02", "naam": "Jansen",
                "relatiesoort": ["Klant", "Partner"], "geheim": "IBAN NL91ABNA0417164300",
                "vestigingsAdres": {"straat": "Oudegracht 12", "regio": "Utrecht"}}"#,
        );
        assert_eq!(r.naam.as_deref(), Some("Jansen"));
        assert!(
            notes.contains(&DriftKind::UnknownProperty {
                path: "geheim".into()
            }),
            "{notes:?}"
        );
        assert!(notes.contains(&DriftKind::UnknownProperty {
            path: "vestigingsAdres.regio".into()
        }));
        assert!(notes.contains(&DriftKind::UnknownEnumValue {
            enum_name: "Relatiesoort",
            value: "Partner".into()
        }));
        assert!(!format!("{notes:?}").contains("NL91"), "no property values");
    }

    #[test]
    fn a_known_body_notes_nothing_and_nothing_leaks_between_decodes() {
        let (_, notes) = decode(r#"{"id": "2b7c1d10-5a3e-4f4b-9d55-0c1e2f3a4b02", "naam": "X"}"#);
        assert!(notes.is_empty(), "{notes:?}");
        // Outside a collecting decode nothing is kept.
        note_enum_value("Relatiesoort", "Partner");
        let ((), notes) = collecting(|| ());
        assert!(notes.is_empty());
    }

    #[test]
    fn the_log_counts_repeats_and_is_bounded() {
        let log = DriftLog::default();
        let kind = DriftKind::UnknownProperty { path: "x".into() };
        log.record("GET", "relaties", vec![kind.clone()]);
        log.record("GET", "relaties", vec![kind.clone()]);
        for i in 0..(MAX_DRIFT_ENTRIES + 10) {
            log.record(
                "GET",
                "relaties",
                vec![DriftKind::UnknownProperty {
                    path: format!("p{i}"),
                }],
            );
        }
        let list = log.snapshot();
        assert_eq!(list.len(), MAX_DRIFT_ENTRIES);
        assert_eq!(log.dropped(), 11);
        assert_eq!(list.iter().find(|d| d.kind == kind).unwrap().count, 2);
    }
}
