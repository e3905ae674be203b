//! Id links: which SnelStart record a CRM record became.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AdminKey, EntityKind};

/// The link between one CRM record and the SnelStart record it is synced to.
///
/// Within one `(admin, kind)` a link is unique by each of its three keys: the CRM id (its
/// identity), the SnelStart id, and the natural key when present (relatiecode, kostenplaats
/// nummer, factuurnummer). A store refuses a link that would share a SnelStart id or natural
/// key with another CRM record, because two CRM records writing into one SnelStart record is
/// exactly the duplicate-or-overwrite bug the links exist to prevent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdLink {
    /// The administration the SnelStart record lives in.
    pub admin: AdminKey,
    /// What kind of record this is.
    pub kind: EntityKind,
    /// The record's id in the CRM.
    pub crm_id: String,
    /// The record's id in SnelStart.
    pub snelstart_id: Uuid,
    /// The business key SnelStart also knows the record by (relatiecode, kostenplaats nummer,
    /// factuurnummer), used to find the record again when a create's outcome was lost.
    pub natural_key: Option<String>,
    /// Hash of the last payload successfully written to SnelStart, to skip no-op changes.
    pub payload_hash: Option<String>,
    /// When the link last changed.
    pub updated_at: DateTime<Utc>,
}

impl IdLink {
    /// A link without natural key or payload hash.
    pub fn new(
        admin: AdminKey,
        kind: EntityKind,
        crm_id: impl Into<String>,
        snelstart_id: Uuid,
        updated_at: DateTime<Utc>,
    ) -> Self {
        Self {
            admin,
            kind,
            crm_id: crm_id.into(),
            snelstart_id,
            natural_key: None,
            payload_hash: None,
            updated_at,
        }
    }

    /// Sets the natural key.
    #[must_use]
    pub fn with_natural_key(mut self, natural_key: impl Into<String>) -> Self {
        self.natural_key = Some(natural_key.into());
        self
    }

    /// Sets the payload hash.
    #[must_use]
    pub fn with_payload_hash(mut self, payload_hash: impl Into<String>) -> Self {
        self.payload_hash = Some(payload_hash.into());
        self
    }

    /// A short description naming the record, for error messages.
    pub fn describe(&self) -> String {
        describe_link(&self.admin, self.kind, &self.crm_id)
    }
}

/// `relation 42 in admin X`: how store errors name a link.
pub(crate) fn describe_link(admin: &AdminKey, kind: EntityKind, crm_id: &str) -> String {
    format!("{kind} link for CRM id {crm_id:?} in administration {admin:?}")
}
