//! Id links: which SnelStart record a CRM record (or a part of it) became.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AdminKey, EntityKind};

/// Which part of a CRM record a link is for.
///
/// Most CRM records become one SnelStart record ([`LinkPart::Whole`]). Some become several: a
/// relation that is both customer and supplier becomes two SnelStart relations under the
/// two-relations policy ([`LinkPart::SupplierHalf`] is the second), and every attachment of an
/// invoice becomes a document of its booking ([`LinkPart::Attachment`], by file name, under
/// the invoice's CRM id). The part is a field of the link's key next to the CRM id, never a
/// suffix of it: a CRM relation whose id is `A#2` is its own record, not the supplier half of
/// `A`, and attachment `y/z` of invoice `x` is not attachment `z` of invoice `x/y`.
///
/// Stores persist [`LinkPart::as_str`] and [`LinkPart::name`] as two columns;
/// [`LinkPart::from_parts`] reads them back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LinkPart {
    /// The CRM record itself: its relation (the customer, or the only one), cost centre or
    /// booking.
    #[default]
    Whole,
    /// The second SnelStart relation of a CRM relation that is both customer and supplier:
    /// the supplier, which purchase bookings are booked on.
    SupplierHalf,
    /// A document attached to the booking of the CRM invoice, by its file name.
    Attachment {
        /// The file name, as the CRM sent it.
        file_name: String,
    },
}

impl LinkPart {
    /// An attachment by file name.
    pub fn attachment(file_name: impl Into<String>) -> Self {
        LinkPart::Attachment {
            file_name: file_name.into(),
        }
    }

    /// Whether this is [`LinkPart::Whole`].
    pub fn is_whole(&self) -> bool {
        matches!(self, LinkPart::Whole)
    }

    /// The stable storage spelling of the variant (`whole`, `supplier_half`, `attachment`).
    pub const fn as_str(&self) -> &'static str {
        match self {
            LinkPart::Whole => "whole",
            LinkPart::SupplierHalf => "supplier_half",
            LinkPart::Attachment { .. } => "attachment",
        }
    }

    /// The name within the variant: the file name of an attachment, empty otherwise.
    pub fn name(&self) -> &str {
        match self {
            LinkPart::Attachment { file_name } => file_name,
            LinkPart::Whole | LinkPart::SupplierHalf => "",
        }
    }

    /// The part stored as `(as_str, name)`; `None` for a spelling this build does not know
    /// (or a name where the variant has none).
    pub fn from_parts(part: &str, name: &str) -> Option<Self> {
        match (part, name) {
            ("whole", "") => Some(LinkPart::Whole),
            ("supplier_half", "") => Some(LinkPart::SupplierHalf),
            ("attachment", name) => Some(LinkPart::attachment(name)),
            _ => None,
        }
    }

    /// The order of links within one CRM id: byte order of `(as_str, name)`, which is what
    /// the SQL stores sort by (see [`LinkStore::list_links`](super::LinkStore::list_links)).
    pub fn sort_key(&self) -> (&'static str, &str) {
        (self.as_str(), self.name())
    }
}

impl fmt::Display for LinkPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkPart::Whole => f.write_str("whole record"),
            LinkPart::SupplierHalf => f.write_str("supplier half"),
            LinkPart::Attachment { file_name } => write!(f, "attachment {file_name:?}"),
        }
    }
}

/// The link between one CRM record (or one [`LinkPart`] of it) and the SnelStart record it is
/// synced to.
///
/// Within one `(admin, kind)` a link is identified by `(crm_id, part)`, and unique by the
/// SnelStart id and by the natural key when present (relatiecode, kostenplaats nummer,
/// factuurnummer). A store refuses a link that would share a SnelStart id or natural key with
/// another key, because two CRM records writing into one SnelStart record is exactly the
/// duplicate-or-overwrite bug the links exist to prevent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdLink {
    /// The administration the SnelStart record lives in.
    pub admin: AdminKey,
    /// What kind of record this is.
    pub kind: EntityKind,
    /// The record's id in the CRM (for an attachment: its invoice's id).
    pub crm_id: String,
    /// Which part of the CRM record this link is for (absent in backups of format 1, which
    /// spelled parts into `crm_id`: see [`legacy_link_key`]).
    #[serde(default)]
    pub part: LinkPart,
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
    /// A link of a whole record, without natural key or payload hash.
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
            part: LinkPart::Whole,
            snelstart_id,
            natural_key: None,
            payload_hash: None,
            updated_at,
        }
    }

    /// Sets the part.
    #[must_use]
    pub fn with_part(mut self, part: LinkPart) -> Self {
        self.part = part;
        self
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
        describe_link(&self.admin, self.kind, &self.crm_id, &self.part)
    }
}

/// The key of one link within an administration: what [`LinkStore::links_by_keys`] is asked
/// for (links of several kinds and parts in one call).
///
/// [`LinkStore::links_by_keys`]: super::LinkStore::links_by_keys
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct LinkKey<'a> {
    /// What kind of record.
    pub kind: EntityKind,
    /// The record's id in the CRM (for an attachment: its invoice's id).
    pub crm_id: &'a str,
    /// Which part of the record.
    pub part: &'a LinkPart,
}

impl<'a> LinkKey<'a> {
    /// The key of `part` of CRM record `crm_id` of `kind`.
    pub const fn new(kind: EntityKind, crm_id: &'a str, part: &'a LinkPart) -> Self {
        Self { kind, crm_id, part }
    }
}

/// `relation link for CRM id "42" (supplier half) in administration "X"`: how store errors
/// name a link.
pub fn describe_link(admin: &AdminKey, kind: EntityKind, crm_id: &str, part: &LinkPart) -> String {
    match part {
        LinkPart::Whole => format!("{kind} link for CRM id {crm_id:?} in administration {admin:?}"),
        part => format!("{kind} link for CRM id {crm_id:?} ({part}) in administration {admin:?}"),
    }
}

/// The key `(crm_id, part)` of a link stored by a version before structured link keys, which
/// spelled the part into the CRM id: the supplier half of relation `X` as `X#2`, attachment
/// `F` of invoice `I` as `I/F`. Used by store migrations and by backups of format 1.
///
/// Such a key is ambiguous (a CRM relation could be called `X#2`), so it is read with what
/// else was stored: `exists(kind, crm_id)` answers whether a link of that kind and CRM id (a
/// whole record) exists in the same administration.
///
/// * A relation link `X#2` is the supplier half of `X` when a relation link `X` exists;
///   otherwise `X#2` is a CRM id. (Only `#2` was ever written: two SnelStart relations at
///   most.)
/// * An attachment link is split at the longest prefix `I` followed by `/` for which a sales
///   or purchase booking link `I` exists; without one, at the last `/` (SnelStart refuses file
///   names with `/`, so an uploaded file's name has none). A key without `/` was not written
///   by this library and stays a whole-record key.
/// * Every other link is a whole record.
pub fn legacy_link_key(
    kind: EntityKind,
    crm_id: &str,
    exists: impl Fn(EntityKind, &str) -> bool,
) -> (String, LinkPart) {
    match kind {
        EntityKind::Relation => {
            if let Some(base) = crm_id.strip_suffix("#2")
                && exists(EntityKind::Relation, base)
            {
                return (base.to_owned(), LinkPart::SupplierHalf);
            }
        }
        EntityKind::Attachment => {
            let booked = |invoice: &str| {
                exists(EntityKind::SalesInvoice, invoice)
                    || exists(EntityKind::PurchaseInvoice, invoice)
            };
            let longest = crm_id
                .match_indices('/')
                .rev()
                .map(|(at, _)| at)
                .find(|&at| booked(&crm_id[..at]))
                .or_else(|| crm_id.rfind('/'));
            if let Some(at) = longest {
                return (
                    crm_id[..at].to_owned(),
                    LinkPart::attachment(&crm_id[at + 1..]),
                );
            }
        }
        _ => {}
    }
    (crm_id.to_owned(), LinkPart::Whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_round_trip_their_storage_spelling() {
        for part in [
            LinkPart::Whole,
            LinkPart::SupplierHalf,
            LinkPart::attachment("a.pdf"),
            LinkPart::attachment(""),
        ] {
            assert_eq!(
                LinkPart::from_parts(part.as_str(), part.name()),
                Some(part.clone())
            );
            let json = serde_json::to_string(&part).unwrap();
            assert_eq!(serde_json::from_str::<LinkPart>(&json).unwrap(), part);
        }
        assert_eq!(LinkPart::from_parts("whole", "x"), None);
        assert_eq!(LinkPart::from_parts("supplier", ""), None);
    }

    #[test]
    fn legacy_keys_are_split_only_where_this_library_wrote_them() {
        let links = [
            (EntityKind::Relation, "A"),
            (EntityKind::SalesInvoice, "x"),
            (EntityKind::PurchaseInvoice, "x/y"),
        ];
        let exists = |kind, id: &str| links.contains(&(kind, id));
        let key = |kind, id| legacy_link_key(kind, id, exists);
        assert_eq!(
            key(EntityKind::Relation, "A#2"),
            ("A".into(), LinkPart::SupplierHalf)
        );
        // No relation `B`: `B#2` is a CRM id; `#3` was never written.
        assert_eq!(
            key(EntityKind::Relation, "B#2"),
            ("B#2".into(), LinkPart::Whole)
        );
        assert_eq!(
            key(EntityKind::Relation, "A#3"),
            ("A#3".into(), LinkPart::Whole)
        );
        // Only relations have halves.
        assert_eq!(
            key(EntityKind::CostCentre, "A#2"),
            ("A#2".into(), LinkPart::Whole)
        );
        // The longest booked prefix wins.
        assert_eq!(
            key(EntityKind::Attachment, "x/y/z.pdf"),
            ("x/y".into(), LinkPart::attachment("z.pdf"))
        );
        assert_eq!(
            key(EntityKind::Attachment, "x/z.pdf"),
            ("x".into(), LinkPart::attachment("z.pdf"))
        );
        // Booking link gone: the last `/`.
        assert_eq!(
            key(EntityKind::Attachment, "q/r/s.pdf"),
            ("q/r".into(), LinkPart::attachment("s.pdf"))
        );
        assert_eq!(
            key(EntityKind::Attachment, "noslash"),
            ("noslash".into(), LinkPart::Whole)
        );
    }

    #[test]
    fn backups_without_a_part_read_as_whole_records() {
        let link = IdLink::new(
            AdminKey::new("a"),
            EntityKind::Relation,
            "A",
            Uuid::from_u128(1),
            DateTime::from_timestamp(0, 0).unwrap(),
        );
        let mut value = serde_json::to_value(&link).unwrap();
        value.as_object_mut().unwrap().remove("part");
        assert_eq!(serde_json::from_value::<IdLink>(value).unwrap(), link);
    }
}
