//! `RecordKind`: which of the four CRM record types something is about.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of CRM record: the four record types of an export, used to name the record a
/// reading problem or a pre-flight problem belongs to. Exhaustive on purpose: a new record type
/// is a change every consumer has to handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A [`Relation`](crate::Relation).
    Relation,
    /// A [`Project`](crate::Project).
    Project,
    /// A [`SalesInvoice`](crate::SalesInvoice).
    SalesInvoice,
    /// A [`PurchaseInvoice`](crate::PurchaseInvoice).
    PurchaseInvoice,
}

impl RecordKind {
    /// The snake_case name used in serde: `relation`, `project`, `sales_invoice`,
    /// `purchase_invoice`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Relation => "relation",
            Self::Project => "project",
            Self::SalesInvoice => "sales_invoice",
            Self::PurchaseInvoice => "purchase_invoice",
        }
    }
}

impl fmt::Display for RecordKind {
    /// The same as [`as_str`](Self::as_str).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
