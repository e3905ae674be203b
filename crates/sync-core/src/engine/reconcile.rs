//! Reconciliation between the CRM and SnelStart. (Being written; see issue 6.)
