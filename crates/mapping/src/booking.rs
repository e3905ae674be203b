//! Invoices → bookings, as a plan independent of the wire format.
//!
//! A [`BookingPlan`] is everything a SnelStart verkoopboeking or inkoopboeking contains, in
//! our own types: lines (ledger, cost centre, line VAT kind, signed net amount), VAT lines per
//! VAT kind, and the invoice total. Planning runs every pre-flight check of the invoice, so
//! [`plan_sales_invoice`] either returns a plan that SnelStart will accept for its content, or
//! every problem at once.
//!
//! # Amounts and rounding
//!
//! * One booking line per invoice line with a non-zero amount, net (excluding VAT). A line's
//!   net is its `net_amount`, or quantity × unit price rounded to cents half away from zero.
//!   Lines with amount 0 are left out (SnelStart refuses them: BOE-0028).
//! * Credit notes: every amount is multiplied by −1 ([`InvoiceKind::sign`]).
//! * VAT: per line `net × rate / 100` **unrounded** (rate in force on the invoice date), summed
//!   per VAT line kind, and each sum rounded **once** to cents, half away from zero — the
//!   rounding Dutch invoicing uses; per-kind rounding keeps the total within half a cent per
//!   kind of the exact VAT, where per-line rounding can drift by a cent per line.
//! * `factuurbedrag` = Σ line amounts + Σ VAT amounts, exactly (all are whole cents).
//! * Reverse charge (verlegd) is never mixed with another VAT category in one booking
//!   (BOE-0062); its VAT line carries 0, on sales (the customer accounts for the VAT) and on
//!   purchases alike. Whether SnelStart expects the self-assessed VAT on an `InkopenVerlegd`
//!   line of a purchase is not documented; we send 0 and leave the VAT return to SnelStart.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use crm_model::{
    Attachment, CrmId, InvoiceKind, InvoiceLine, Money, PurchaseInvoice, SalesInvoice, VatCategory,
};
use rust_decimal::Decimal;

use crate::config::{ChartOfAccounts, LineVatKind, MappingConfig, VatLineKind};
use crate::preflight::{Collector, ProblemKind, Problems, RecordKind, limits};
use crate::text::non_blank;

/// Sales or purchase side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BookingSide {
    /// A verkoopboeking.
    Sales,
    /// An inkoopboeking.
    Purchase,
}

/// One booking line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlannedLine {
    /// Index of the invoice line it comes from.
    pub source_index: usize,
    /// Line text (at most 250 characters).
    pub description: String,
    /// Ledger number.
    pub ledger: u32,
    /// Kostenplaats number, when the line has a project.
    pub cost_centre: Option<u32>,
    /// The line's `btwSoort`.
    pub line_vat: LineVatKind,
    /// The CRM VAT category.
    pub vat_category: VatCategory,
    /// Net amount, negative on credit notes.
    pub amount: Money,
}

/// One VAT line: the VAT of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlannedVatLine {
    /// The kind (`Verkopen…`/`Inkopen…` by side).
    pub kind: VatLineKind,
    /// The VAT, rounded once; negative on credit notes.
    pub amount: Money,
}

/// A booking ready to be written in SnelStart's wire format. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BookingPlan {
    /// Sales or purchase.
    pub side: BookingSide,
    /// The CRM invoice id.
    pub invoice: CrmId,
    /// The CRM relation id (customer or supplier).
    pub relation: CrmId,
    /// `factuurnummer`.
    pub invoice_number: String,
    /// `factuurdatum`.
    pub date: NaiveDate,
    /// `betalingstermijn` in days (sales only; from the term or the due date).
    pub payment_term_days: Option<i32>,
    /// `omschrijving`.
    pub description: String,
    /// The lines, in invoice order.
    pub lines: Vec<PlannedLine>,
    /// The VAT lines, one per kind present, ordered by kind.
    pub vat_lines: Vec<PlannedVatLine>,
    /// `factuurbedrag`: lines + VAT.
    pub total: Money,
}

impl BookingPlan {
    /// Σ line amounts.
    pub fn net_total(&self) -> Money {
        self.lines.iter().map(|l| l.amount).sum()
    }

    /// Σ VAT amounts.
    pub fn vat_total(&self) -> Money {
        self.vat_lines.iter().map(|l| l.amount).sum()
    }
}

/// Plans the verkoopboeking of a sales invoice or credit note.
///
/// # Errors
/// Every problem of the invoice ([`Problems`]): number, description, term, lines, ledgers and
/// VAT kinds (and, with a chart, ledger/cost-centre existence), attachments.
pub fn plan_sales_invoice(
    invoice: &SalesInvoice,
    config: &MappingConfig,
    chart: Option<&ChartOfAccounts>,
) -> Result<BookingPlan, Problems> {
    let input = Input {
        id: &invoice.id,
        kind: invoice.kind,
        number: &invoice.number,
        date: invoice.date,
        due_date: invoice.due_date,
        term: invoice.payment_term_days,
        relation: &invoice.relation,
        description: invoice.description.as_deref(),
        lines: &invoice.lines,
        attachments: &invoice.attachments,
    };
    plan(&input, BookingSide::Sales, config, chart)
}

/// Plans the inkoopboeking of a purchase invoice (or a supplier's credit note).
///
/// # Errors
/// As [`plan_sales_invoice`]; the payment term is not checked (inkoopboekingen have none).
pub fn plan_purchase_invoice(
    invoice: &PurchaseInvoice,
    config: &MappingConfig,
    chart: Option<&ChartOfAccounts>,
) -> Result<BookingPlan, Problems> {
    let input = Input {
        id: &invoice.id,
        kind: invoice.kind,
        number: &invoice.number,
        date: invoice.date,
        due_date: invoice.due_date,
        term: invoice.payment_term_days,
        relation: &invoice.relation,
        description: invoice.description.as_deref(),
        lines: &invoice.lines,
        attachments: &invoice.attachments,
    };
    plan(&input, BookingSide::Purchase, config, chart)
}

/// The fields sales and purchase invoices share.
struct Input<'a> {
    id: &'a CrmId,
    kind: InvoiceKind,
    number: &'a str,
    date: NaiveDate,
    due_date: Option<NaiveDate>,
    term: Option<i32>,
    relation: &'a CrmId,
    description: Option<&'a str>,
    lines: &'a [InvoiceLine],
    attachments: &'a [Attachment],
}

fn plan(
    input: &Input<'_>,
    side: BookingSide,
    config: &MappingConfig,
    chart: Option<&ChartOfAccounts>,
) -> Result<BookingPlan, Problems> {
    let record_kind = match side {
        BookingSide::Sales => RecordKind::SalesInvoice,
        BookingSide::Purchase => RecordKind::PurchaseInvoice,
    };
    let mut c = Collector::new(record_kind, input.id);

    let number = input.number.trim();
    if number.is_empty() {
        c.push("number", ProblemKind::Required);
    }
    c.max_len("number", number, limits::FACTUURNUMMER);

    let description = match non_blank(input.description) {
        Some(d) => {
            c.max_len("description", d, limits::OMSCHRIJVING);
            d.to_owned()
        }
        None => crate::text::truncate_chars(
            format!(
                "{} {number}",
                config.fields.booking_description_prefix.trim()
            )
            .trim(),
            limits::OMSCHRIJVING,
        ),
    };

    let payment_term_days = match side {
        BookingSide::Sales => payment_term(&mut c, input),
        BookingSide::Purchase => None,
    };

    let sign = input.kind.sign();
    let mut lines = Vec::new();
    if input.lines.is_empty() {
        c.push("lines", ProblemKind::NoBookableLines);
    }
    let first_other = input
        .lines
        .iter()
        .map(|l| l.vat_category)
        .find(|v| *v != VatCategory::Verlegd);
    for (i, line) in input.lines.iter().enumerate() {
        if let Some(planned) = plan_line(&mut c, i, line, side, sign, config, chart) {
            lines.push(planned);
        }
        if line.vat_category == VatCategory::Verlegd
            && let Some(other) = first_other
        {
            c.push(
                format!("lines[{i}].vat_category"),
                ProblemKind::VerlegdMixedWithOtherVat { other },
            );
        }
    }
    if !input.lines.is_empty() && lines.is_empty() && c.problems.is_empty() {
        c.push("lines", ProblemKind::NoBookableLines);
    }

    for (i, attachment) in input.attachments.iter().enumerate() {
        if attachment.file_name.trim().is_empty() {
            c.push(format!("attachments[{i}].file_name"), ProblemKind::Required);
        }
        if attachment.bytes.is_empty() {
            c.push(
                format!("attachments[{i}].content"),
                ProblemKind::AttachmentEmpty,
            );
        } else if attachment.bytes.len() > limits::ATTACHMENT_BYTES {
            c.push(
                format!("attachments[{i}].content"),
                ProblemKind::AttachmentTooLarge {
                    bytes: attachment.bytes.len(),
                },
            );
        }
    }

    let problems = std::mem::take(&mut c.problems);
    Problems::check(problems, || {
        let vat_lines = vat_lines(input, &lines, config);
        let total = lines.iter().map(|l| l.amount).sum::<Money>()
            + vat_lines.iter().map(|l| l.amount).sum::<Money>();
        BookingPlan {
            side,
            invoice: input.id.clone(),
            relation: input.relation.clone(),
            invoice_number: number.to_owned(),
            date: input.date,
            payment_term_days,
            description,
            lines,
            vat_lines,
            total,
        }
    })
}

fn payment_term(c: &mut Collector, input: &Input<'_>) -> Option<i32> {
    let from_due = input.due_date.map(|due| (due - input.date).num_days());
    if from_due.is_some_and(|d| d < 0) {
        c.push("due_date", ProblemKind::DueDateBeforeInvoiceDate);
        return None;
    }
    let (term, path) = match (input.term, from_due) {
        (Some(term), Some(days)) if i64::from(term) != days => {
            c.push(
                "due_date",
                ProblemKind::DueDateTermMismatch {
                    due_date_days: days,
                    term_days: term,
                },
            );
            return None;
        }
        (Some(term), _) => (i64::from(term), "payment_term_days"),
        (None, Some(days)) => (days, "due_date"),
        (None, None) => return None,
    };
    let range = limits::BETALINGSTERMIJN;
    match i32::try_from(term).ok().filter(|t| range.contains(t)) {
        Some(t) => Some(t),
        None => {
            c.push(
                path,
                ProblemKind::OutOfRange {
                    value: term,
                    min: i64::from(*range.start()),
                    max: i64::from(*range.end()),
                },
            );
            None
        }
    }
}

fn plan_line(
    c: &mut Collector,
    i: usize,
    line: &InvoiceLine,
    side: BookingSide,
    sign: Decimal,
    config: &MappingConfig,
    chart: Option<&ChartOfAccounts>,
) -> Option<PlannedLine> {
    let path = |field: &str| format!("lines[{i}].{field}");
    let description = line.description.trim();
    c.max_len(path("description"), description, limits::OMSCHRIJVING);

    let net = match (line.net_amount, line.computed_net()) {
        (Some(stated), Some(computed)) if stated != computed => {
            c.push(
                path("net_amount"),
                ProblemKind::LineAmountMismatch { stated, computed },
            );
            None
        }
        (Some(net), _) | (None, Some(net)) => Some(net),
        (None, None) => {
            c.push(path("net_amount"), ProblemKind::LineAmountMissing);
            None
        }
    };

    let category = non_blank(line.category.as_deref());
    let ledger = match side {
        BookingSide::Sales => config.revenue_ledger(category, line.vat_category),
        BookingSide::Purchase => config.cost_ledger(category, line.vat_category),
    };
    let line_vat = config.vat_rule(line.vat_category).line;
    if ledger.is_none() {
        let category = category.map_or_else(
            || match side {
                BookingSide::Sales => config.ledgers.default_revenue_category.clone(),
                BookingSide::Purchase => config.ledgers.default_cost_category.clone(),
            },
            str::to_owned,
        );
        c.push(
            path("category"),
            ProblemKind::NoLedger {
                category,
                vat: line.vat_category,
            },
        );
    }

    let project = non_blank(line.project.as_deref());
    let cost_centre = project.and_then(|p| {
        let n = config.kostenplaats_nummer(p);
        if n.is_none() {
            c.push(
                path("project"),
                ProblemKind::ProjectNotMappable {
                    project: p.to_owned(),
                },
            );
        }
        n
    });

    if let (Some(chart), Some(ledger)) = (chart, ledger) {
        match chart.ledger(ledger) {
            None => c.push(path("category"), ProblemKind::LedgerNotFound { ledger }),
            Some(info) => {
                if !info.active {
                    c.push(path("category"), ProblemKind::LedgerInactive { ledger });
                }
                if !info.allows(line_vat) {
                    c.push(
                        path("vat_category"),
                        ProblemKind::VatKindNotAllowed {
                            ledger,
                            line: line_vat,
                        },
                    );
                }
                if info.cost_centre_required && project.is_none() {
                    c.push(path("project"), ProblemKind::CostCentreRequired { ledger });
                }
            }
        }
        if let Some(nummer) = cost_centre {
            match chart.cost_centre(nummer) {
                None => c.push(path("project"), ProblemKind::CostCentreNotFound { nummer }),
                Some(cc) if !cc.active => {
                    c.push(path("project"), ProblemKind::CostCentreInactive { nummer });
                }
                Some(_) => {}
            }
        }
    }

    let amount = Money::round_from(net?.amount() * sign);
    if amount.is_zero() {
        return None;
    }
    Some(PlannedLine {
        source_index: i,
        description: description.to_owned(),
        ledger: ledger?,
        cost_centre,
        line_vat,
        vat_category: line.vat_category,
        amount,
    })
}

/// VAT per kind: unrounded per line, summed per kind, rounded once.
fn vat_lines(
    input: &Input<'_>,
    lines: &[PlannedLine],
    config: &MappingConfig,
) -> Vec<PlannedVatLine> {
    let mut sums: BTreeMap<VatLineKind, Decimal> = BTreeMap::new();
    for line in lines {
        let kind = config.vat_rule(line.vat_category).vat_line;
        if kind == VatLineKind::None {
            continue;
        }
        *sums.entry(kind).or_default() += line.vat_category.vat_on(line.amount, input.date);
    }
    sums.into_iter()
        .map(|(kind, sum)| PlannedVatLine {
            kind,
            amount: Money::round_from(sum),
        })
        .collect()
}
