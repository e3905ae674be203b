//! Keys shared by every storage area: which administration and which kind of entity.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Identifies one SnelStart administration (one set of books) inside a store.
///
/// Every record in a store is scoped by an `AdminKey`, so one store can serve several
/// administrations without their links, cursors or queues ever mixing. The value is opaque to
/// the store: typically the `administratieIdentifier` or a name from the host's configuration.
/// Comparison is exact (case-sensitive, no trimming) because it is used as a database key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdminKey(String);

impl AdminKey {
    /// Wraps a key. The value is stored verbatim.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AdminKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for AdminKey {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for AdminKey {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl AsRef<str> for AdminKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The kind of entity a link, work item or audit entry is about.
///
/// [`EntityKind::as_str`] gives the stable spelling persisted by stores; it never changes
/// between releases, new kinds only add new spellings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
#[non_exhaustive]
pub enum EntityKind {
    /// A SnelStart relation (customer and/or supplier).
    Relation,
    /// A SnelStart kostenplaats (cost centre; a CRM project).
    CostCentre,
    /// A sales booking (verkoopboeking / invoice).
    SalesInvoice,
    /// A purchase booking (inkoopboeking).
    PurchaseInvoice,
    /// A document attached to a booking.
    Attachment,
    /// The payment status flowing back from SnelStart to the CRM.
    PaymentStatus,
}

impl EntityKind {
    /// Every kind, in declaration order.
    pub const ALL: [EntityKind; 6] = [
        EntityKind::Relation,
        EntityKind::CostCentre,
        EntityKind::SalesInvoice,
        EntityKind::PurchaseInvoice,
        EntityKind::Attachment,
        EntityKind::PaymentStatus,
    ];

    /// The stable storage spelling (`snake_case`).
    pub const fn as_str(self) -> &'static str {
        match self {
            EntityKind::Relation => "relation",
            EntityKind::CostCentre => "cost_centre",
            EntityKind::SalesInvoice => "sales_invoice",
            EntityKind::PurchaseInvoice => "purchase_invoice",
            EntityKind::Attachment => "attachment",
            EntityKind::PaymentStatus => "payment_status",
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<EntityKind> for &'static str {
    fn from(kind: EntityKind) -> Self {
        kind.as_str()
    }
}

/// A string that is not the storage spelling of any [`EntityKind`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown entity kind {0:?}")]
pub struct UnknownEntityKind(pub String);

impl FromStr for EntityKind {
    type Err = UnknownEntityKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntityKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownEntityKind(s.to_owned()))
    }
}

impl TryFrom<String> for EntityKind {
    type Error = UnknownEntityKind;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_kind_spelling_round_trips() {
        for kind in EntityKind::ALL {
            assert_eq!(kind.as_str().parse::<EntityKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<EntityKind>(&json).unwrap(), kind);
        }
        assert!("Relation".parse::<EntityKind>().is_err());
    }

    #[test]
    fn admin_key_is_verbatim() {
        let key = AdminKey::new(" Admin ");
        assert_eq!(key.as_str(), " Admin ");
        assert_ne!(key, AdminKey::from("admin"));
    }
}
