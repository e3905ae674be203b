//! Read-back: open items and payment status from SnelStart to the CRM. (Being written; see issue 6.)
