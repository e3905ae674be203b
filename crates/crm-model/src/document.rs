//! Projects, invoices, attachments and payment status.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{opt_text_or_integer, text_or_integer};
use crate::{CrmId, Money, VatCategory};

/// A project (becomes a SnelStart kostenplaats, a cost centre).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Project {
    /// The CRM's id.
    pub id: CrmId,
    /// The project number as the CRM shows it (`2024-017`, `P1043`); a JSON integer is read as
    /// its text (`1043` → `"1043"`).
    #[serde(deserialize_with = "text_or_integer")]
    pub number: String,
    /// Description.
    pub description: String,
    /// False for closed projects.
    #[serde(default = "default_true")]
    pub active: bool,
    /// When the CRM last changed the project.
    #[serde(default)]
    pub last_changed: Option<DateTime<Utc>>,
}

impl Project {
    /// An active project.
    pub fn new(
        id: impl Into<CrmId>,
        number: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            number: number.into(),
            description: description.into(),
            active: true,
            last_changed: None,
        }
    }
}

fn default_true() -> bool {
    true
}

/// Invoice or credit note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InvoiceKind {
    /// An ordinary invoice.
    #[default]
    Invoice,
    /// A credit note. Its lines carry the amounts *as printed on the credit note* (normally
    /// positive); the conversion books them negative.
    CreditNote,
}

impl InvoiceKind {
    /// +1 for an invoice, −1 for a credit note: the factor applied to every amount when booking.
    pub fn sign(self) -> Decimal {
        match self {
            Self::Invoice => Decimal::ONE,
            Self::CreditNote => Decimal::NEGATIVE_ONE,
        }
    }
}

/// One line of a sales or purchase invoice.
///
/// Give either `net_amount`, or `quantity` and `unit_price` (then net = quantity × unit price,
/// rounded to cents half away from zero); when both are given they must agree to the cent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InvoiceLine {
    /// Line text.
    #[serde(default)]
    pub description: String,
    /// Quantity (may be fractional: hours, kilos).
    #[serde(default)]
    pub quantity: Option<Decimal>,
    /// Price per unit excluding VAT.
    #[serde(default)]
    pub unit_price: Option<Money>,
    /// Line total excluding VAT.
    #[serde(default)]
    pub net_amount: Option<Money>,
    /// VAT treatment.
    pub vat_category: VatCategory,
    /// Revenue category (sales) or cost category (purchases) used to pick the ledger; the
    /// configuration's default category when absent.
    #[serde(default, alias = "revenue_category", alias = "cost_category")]
    pub category: Option<String>,
    /// Project number this line belongs to (becomes the line's kostenplaats); a JSON integer
    /// is read as its text.
    #[serde(default, deserialize_with = "opt_text_or_integer")]
    pub project: Option<String>,
}

impl InvoiceLine {
    /// A line with a net amount.
    pub fn net(description: impl Into<String>, net: Money, vat: VatCategory) -> Self {
        Self {
            description: description.into(),
            quantity: None,
            unit_price: None,
            net_amount: Some(net),
            vat_category: vat,
            category: None,
            project: None,
        }
    }

    /// A line of `quantity` × `unit_price`.
    pub fn priced(
        description: impl Into<String>,
        quantity: Decimal,
        unit_price: Money,
        vat: VatCategory,
    ) -> Self {
        Self {
            quantity: Some(quantity),
            unit_price: Some(unit_price),
            net_amount: None,
            ..Self::net(description, Money::ZERO, vat)
        }
    }

    /// The net amount: `net_amount`, else quantity × unit price rounded to cents. `None` when
    /// neither is given.
    pub fn net_total(&self) -> Option<Money> {
        self.net_amount.or_else(|| self.computed_net())
    }

    /// quantity × unit price rounded to cents, when both are given and the product is within
    /// `Decimal`'s range.
    pub fn computed_net(&self) -> Option<Money> {
        match (self.quantity, self.unit_price) {
            // Checked: a product beyond Decimal's range is no amount (pre-flight names it).
            (Some(q), Some(p)) => q.checked_mul(p.amount()).map(Money::round_from),
            _ => None,
        }
    }
}

/// A file attached to an invoice.
///
/// JSON form: `{"file_name": "F2024-001.pdf", "content": "<standard base64>"}`. Base64 rather
/// than skipping, so a document exported from one system and read back loses nothing.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Attachment {
    /// File name including extension.
    pub file_name: String,
    /// The file's bytes.
    #[serde(rename = "content", with = "base64_bytes")]
    pub bytes: Vec<u8>,
}

impl Attachment {
    /// An attachment.
    pub fn new(file_name: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self {
            file_name: file_name.into(),
            bytes,
        }
    }
}

impl std::fmt::Debug for Attachment {
    // Printing megabytes of PDF in a log helps nobody.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("file_name", &self.file_name)
            .field("len", &self.bytes.len())
            .finish()
    }
}

mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        STANDARD
            .decode(compact)
            .map_err(|e| serde::de::Error::custom(format!("invalid attachment content: {e}")))
    }
}

/// A sales invoice or credit note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SalesInvoice {
    /// The CRM's id.
    pub id: CrmId,
    /// Invoice or credit note.
    #[serde(default)]
    pub kind: InvoiceKind,
    /// Invoice number (SnelStart `factuurnummer`, at most 25 characters, unique); a JSON
    /// integer is read as its text.
    #[serde(deserialize_with = "text_or_integer")]
    pub number: String,
    /// Invoice date.
    pub date: NaiveDate,
    /// Due date; alternative to `payment_term_days`.
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
    /// Payment term in days; alternative to `due_date`.
    #[serde(default)]
    pub payment_term_days: Option<i32>,
    /// The customer (CRM id of a relation).
    pub relation: CrmId,
    /// Description of the invoice as a whole.
    #[serde(default)]
    pub description: Option<String>,
    /// The invoice's currency as the CRM gives it (an ISO 4217 code such as `EUR`); absent
    /// means euro. Not checked here: the mapping refuses anything but euro.
    #[serde(default)]
    pub currency: Option<String>,
    /// The lines.
    pub lines: Vec<InvoiceLine>,
    /// Attached files (the invoice PDF).
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// When the CRM last changed the invoice.
    #[serde(default)]
    pub last_changed: Option<DateTime<Utc>>,
}

impl SalesInvoice {
    /// An invoice (kind [`InvoiceKind::Invoice`]) without term, description or attachments;
    /// set those fields directly.
    pub fn new(
        id: impl Into<CrmId>,
        number: impl Into<String>,
        date: NaiveDate,
        relation: impl Into<CrmId>,
        lines: Vec<InvoiceLine>,
    ) -> Self {
        Self {
            id: id.into(),
            kind: InvoiceKind::Invoice,
            number: number.into(),
            date,
            due_date: None,
            payment_term_days: None,
            relation: relation.into(),
            description: None,
            currency: None,
            lines,
            attachments: Vec::new(),
            last_changed: None,
        }
    }
}

/// A purchase invoice (or a supplier's credit note) received from a supplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PurchaseInvoice {
    /// The CRM's id.
    pub id: CrmId,
    /// Invoice or credit note.
    #[serde(default)]
    pub kind: InvoiceKind,
    /// The supplier's invoice number; a JSON integer is read as its text.
    #[serde(deserialize_with = "text_or_integer")]
    pub number: String,
    /// Invoice date.
    pub date: NaiveDate,
    /// Due date.
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
    /// Payment term in days.
    #[serde(default)]
    pub payment_term_days: Option<i32>,
    /// The supplier (CRM id of a relation).
    pub relation: CrmId,
    /// Description of the invoice as a whole.
    #[serde(default)]
    pub description: Option<String>,
    /// The invoice's currency as the CRM gives it (an ISO 4217 code such as `EUR`); absent
    /// means euro. Not checked here: the mapping refuses anything but euro.
    #[serde(default)]
    pub currency: Option<String>,
    /// The lines (their `category` is the cost category).
    pub lines: Vec<InvoiceLine>,
    /// Attached files.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// When the CRM last changed the invoice.
    #[serde(default)]
    pub last_changed: Option<DateTime<Utc>>,
}

impl PurchaseInvoice {
    /// A purchase invoice without term, description or attachments; set those directly.
    pub fn new(
        id: impl Into<CrmId>,
        number: impl Into<String>,
        date: NaiveDate,
        supplier: impl Into<CrmId>,
        lines: Vec<InvoiceLine>,
    ) -> Self {
        Self {
            id: id.into(),
            kind: InvoiceKind::Invoice,
            number: number.into(),
            date,
            due_date: None,
            payment_term_days: None,
            relation: supplier.into(),
            description: None,
            currency: None,
            lines,
            attachments: Vec::new(),
            last_changed: None,
        }
    }
}

/// Where an invoice stands with its payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PaymentState {
    /// Nothing paid, not yet due.
    Open,
    /// Something paid, something still open, not yet due.
    PartlyPaid,
    /// Settled.
    Paid,
    /// Something still open after the due date.
    Overdue,
}

/// The payment status of one invoice, as written back to the CRM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentStatus {
    /// The invoice (CRM id).
    pub invoice: CrmId,
    /// The derived state.
    pub state: PaymentState,
    /// Invoice total including VAT.
    pub total: Money,
    /// Amount paid so far.
    pub paid: Money,
    /// Amount still open (SnelStart `openstaandSaldo`).
    pub outstanding: Money,
    /// Due date.
    pub due_date: Option<NaiveDate>,
    /// The date this status was determined on.
    pub as_of: NaiveDate,
}

impl PaymentStatus {
    /// Derives the status from the invoice total and the open amount on `as_of`.
    ///
    /// Paid when nothing is outstanding; overdue when something is outstanding after the due
    /// date; partly paid when some but not all was paid; open otherwise. Works for credit notes
    /// too (negative totals): "paid" compares magnitudes.
    pub fn derive(
        invoice: CrmId,
        total: Money,
        outstanding: Money,
        due_date: Option<NaiveDate>,
        as_of: NaiveDate,
    ) -> Self {
        let paid = total - outstanding;
        let state = if outstanding.is_zero() {
            PaymentState::Paid
        } else if due_date.is_some_and(|due| as_of > due) {
            PaymentState::Overdue
        } else if paid.is_zero() {
            PaymentState::Open
        } else {
            PaymentState::PartlyPaid
        };
        Self {
            invoice,
            state,
            total,
            paid,
            outstanding,
            due_date,
            as_of,
        }
    }
}
