//! Who wrote what: for every record created (`POST`) or changed (`PUT`) through the API, the
//! simulator remembers a fingerprint of the koppelsleutel whose token made the call. A test
//! can then prove tenant isolation from the simulator's side: every record in every
//! administration was written with that administration's own key
//! ([`MockServer::writers`](crate::MockServer::writers), `GET /_mock/writers`).
//!
//! A fingerprint is the first 16 hex digits of `SHA-256(salt || koppelsleutel)` with a random
//! salt per server start: it identifies a key within one run ([`MockServer::key_fingerprint`]
//! (crate::MockServer::key_fingerprint) computes it for a key the test holds) and reveals
//! nothing about the key, and it cannot be matched across runs. The record is kept in memory
//! only (not in the state file); a reset forgets it.
//!
//! The writer is taken where every write passes, the gateway layer: after the handler answers
//! 2xx to a `POST` or `PUT`, the `id` of its JSON answer is the record written (a relation, a
//! booking, a document, ...); the handler attaches that id to its answer, so the gateway does
//! not parse the answer again. A write whose answer is lost (`ProcessedButResponseLost`) is
//! recorded too: it was committed.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The writers of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RecordWriters {
    /// The resource the write went to: the first path segment after `/v2/` (`relaties`,
    /// `verkoopboekingen`, `documenten`, ...).
    pub resource: String,
    /// The record's id.
    pub id: Uuid,
    /// The fingerprint of the key that created it (`None`: it was changed through the API but
    /// created otherwise, e.g. seed data).
    pub created_by: Option<String>,
    /// The fingerprints of the keys that changed it afterwards, each once, in first-seen order.
    pub updated_by: Vec<String>,
}

impl RecordWriters {
    /// Every fingerprint that wrote the record: the creator and the updaters.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.created_by
            .iter()
            .chain(&self.updated_by)
            .map(String::as_str)
    }
}

/// The writers of every record of one administration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AdministrationWriters {
    /// The administration's position in the configuration (0 = the default one), as in
    /// [`MockServer::state_json`](crate::MockServer::state_json).
    pub administration: usize,
    /// Its `administratieIdentifier`.
    pub administratie_identifier: Uuid,
    /// Fingerprints of the keys that open it now (its configured key and, when coupled, the
    /// coupling's key).
    pub keys: Vec<String>,
    /// Every record written through the API, in order of first write.
    pub records: Vec<RecordWriters>,
}

/// The writers of one administration's records (part of its state).
#[derive(Debug, Clone, Default)]
pub(crate) struct WriterLog {
    records: Vec<RecordWriters>,
    index: HashMap<Uuid, usize>,
}

impl WriterLog {
    /// Notes a write of record `id` in `resource` by the key with fingerprint `key`.
    pub(crate) fn note(&mut self, resource: &str, id: Uuid, key: &str, create: bool) {
        match self.index.get(&id) {
            Some(&i) => {
                let record = &mut self.records[i];
                if record.created_by.as_deref() != Some(key)
                    && !record.updated_by.iter().any(|k| k == key)
                {
                    record.updated_by.push(key.to_owned());
                }
            }
            None => {
                self.index.insert(id, self.records.len());
                self.records.push(RecordWriters {
                    resource: resource.to_owned(),
                    id,
                    created_by: create.then(|| key.to_owned()),
                    updated_by: if create {
                        Vec::new()
                    } else {
                        vec![key.to_owned()]
                    },
                });
            }
        }
    }

    pub(crate) fn records(&self) -> &[RecordWriters] {
        &self.records
    }
}

/// Makes key fingerprints with this server's salt.
#[derive(Debug)]
pub(crate) struct Fingerprints {
    salt: [u8; 16],
}

impl Fingerprints {
    pub(crate) fn new() -> Self {
        Self {
            salt: rand::random(),
        }
    }

    /// The fingerprint of `key`: 16 hex digits of `SHA-256(salt || key)`.
    pub(crate) fn of(&self, key: &str) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(self.salt);
        h.update(key.as_bytes());
        hex::encode(&h.finalize()[..8])
    }
}

/// The resource of an API route: `/v2/relaties/{id}` → `relaties`.
pub(crate) fn resource_of(route: &str) -> &str {
    route
        .strip_prefix("/v2/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(route)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_keeps_its_creator_and_each_other_writer_once() {
        let mut log = WriterLog::default();
        let id = Uuid::from_u128(7);
        log.note("relaties", id, "aaaa", true);
        log.note("relaties", id, "aaaa", false);
        log.note("relaties", id, "bbbb", false);
        log.note("relaties", id, "bbbb", false);
        let updated_only = Uuid::from_u128(8);
        log.note("relaties", updated_only, "cccc", false);
        assert_eq!(log.records().len(), 2);
        assert_eq!(log.records()[0].created_by.as_deref(), Some("aaaa"));
        assert_eq!(log.records()[0].updated_by, vec!["bbbb".to_owned()]);
        assert_eq!(log.records()[1].created_by, None);
        assert_eq!(
            log.records()[1].all().collect::<Vec<_>>(),
            vec!["cccc"],
            "a seeded record changed through the API"
        );
    }

    #[test]
    fn fingerprints_are_salted_per_server_and_never_the_key() {
        let (a, b) = (Fingerprints::new(), Fingerprints::new());
        let key = "geheime-koppelsleutel";
        assert_eq!(a.of(key), a.of(key));
        assert_ne!(a.of(key), b.of(key), "another salt, another fingerprint");
        assert_ne!(a.of(key), a.of("andere-koppelsleutel"));
        assert_eq!(a.of(key).len(), 16);
        assert!(!a.of(key).contains("geheim"));
    }

    #[test]
    fn routes_name_their_resource() {
        assert_eq!(resource_of("/v2/relaties/{id}"), "relaties");
        assert_eq!(resource_of("/v2/verkoopboekingen"), "verkoopboekingen");
    }
}
