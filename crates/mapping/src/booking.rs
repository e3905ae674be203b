//! Invoices → bookings, as a plan independent of the wire format.
//!
//! A [`BookingPlan`] is everything a SnelStart verkoopboeking or inkoopboeking contains, in
//! our own types: lines (ledger, cost centre, line VAT kind, signed net amount), VAT lines per
//! VAT kind, and the invoice total. Planning runs every pre-flight check of the invoice, so
//! [`plan_sales_invoice`] either returns a plan that SnelStart will accept for its content, or
//! every problem at once (see the table in [`crate::preflight`]).
//!
//! # Amounts and rounding
//!
//! * One booking line per invoice line, net (excluding VAT). A line's net is its
//!   `net_amount`, or quantity × unit price rounded to cents half away from zero. A line with
//!   amount 0 is a problem (SnelStart refuses it: BOE-0028), never left out.
//! * Every amount is bounded ([`limits::AMOUNT`], [`limits::QUANTITY`]) and every product and
//!   sum is computed with checked arithmetic: an absurd amount is a problem naming the field,
//!   never a panic.
//! * Credit notes ([`CreditNoteSign`], `invoices.credit_note_sign`): under
//!   `positive_with_flag` (default) a credit note carries positive amounts and every amount is
//!   booked × −1; under `negative_amounts` its amounts are negative as written and booked as
//!   written. A record that contradicts the convention is a problem, not a guess: a negative
//!   quantity under `positive_with_flag`, a credit note whose lines sum to the wrong sign, an
//!   invoice whose lines sum below zero. A discount line (one negative line on an invoice whose
//!   total stays positive) is fine under both.
//! * VAT: per line `net × rate / 100` **unrounded** (rate in force on the invoice date), summed
//!   per VAT line kind, and each sum rounded **once** to cents, half away from zero — the
//!   rounding Dutch invoicing uses; per-kind rounding keeps the total within half a cent per
//!   kind of the exact VAT, where per-line rounding can drift by a cent per line.
//! * `factuurbedrag` = Σ line amounts + Σ VAT amounts, exactly (all are whole cents).
//! * Reverse charge (verlegd) is never mixed with another VAT category in one booking
//!   (BOE-0062); its VAT line carries 0, on sales (the customer accounts for the VAT) and on
//!   purchases alike. Whether SnelStart expects the self-assessed VAT on an `InkopenVerlegd`
//!   line of a purchase is not documented; we send 0 and leave the VAT return to SnelStart.
//!
//! # Dates
//!
//! The booking date may lie at most 5 years before the administration's current financial
//! year (BOE-0033), given by the [`BookingContext`]. A due date before the invoice date is a
//! problem on sales and purchases alike; a sales booking's `betalingstermijn` comes from the
//! term or the due date, which must agree.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use crm_model::{
    Attachment, CrmId, InvoiceKind, InvoiceLine, Money, PurchaseInvoice, SalesInvoice, VatCategory,
};
use rust_decimal::Decimal;

use crate::config::{ChartOfAccounts, CreditNoteSign, LineVatKind, MappingConfig, VatLineKind};
use crate::notices::Notice;
use crate::preflight::{Collector, ProblemKind, Problems, RecordKind, limits};
use crate::text::{FILE_NAME_FORBIDDEN, control_char, non_blank};

/// What pre-flight of a booking needs to know about the administration, besides the chart of
/// accounts. Built with [`BookingContext::new`]; may grow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BookingContext {
    /// The administration's current financial year (`companyInfo.huidigBoekjaar`): a booking
    /// dated before `current_financial_year - 5` is refused (BOE-0033).
    pub current_financial_year: i32,
}

impl BookingContext {
    /// The context of an administration whose current financial year is
    /// `current_financial_year`.
    pub fn new(current_financial_year: i32) -> Self {
        Self {
            current_financial_year,
        }
    }

    /// A context that skips the date check (BOE-0033): for comparing existing bookings (a
    /// reconciliation) and for callers that have not read the administration's year. A booking
    /// planned with it may still be refused for its date.
    pub fn without_financial_year() -> Self {
        Self::new(i32::MIN)
    }

    /// The earliest booking year SnelStart accepts, `None` when not checked.
    fn earliest_year(&self) -> Option<i32> {
        (self.current_financial_year != i32::MIN).then(|| {
            self.current_financial_year
                .saturating_sub(limits::YEARS_BEFORE_FINANCIAL_YEAR)
        })
    }
}

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
    /// Net amount as booked: negative on credit notes.
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
    /// What the configured policies derived (e.g. the description); see [`crate::notices`].
    pub notices: Vec<Notice>,
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
/// Every problem of the invoice ([`Problems`]): number, currency, dates, description, term,
/// lines, amounts and signs, ledgers and VAT kinds (and, with a chart, ledger/cost-centre
/// existence), attachments.
pub fn plan_sales_invoice(
    invoice: &SalesInvoice,
    config: &MappingConfig,
    chart: Option<&ChartOfAccounts>,
    context: &BookingContext,
) -> Result<BookingPlan, Problems> {
    check_sales_invoice(invoice, config, chart, context).0
}

/// Plans the inkoopboeking of a purchase invoice (or a supplier's credit note).
///
/// # Errors
/// As [`plan_sales_invoice`]; inkoopboekingen have no payment term, but a due date before the
/// invoice date is still refused.
pub fn plan_purchase_invoice(
    invoice: &PurchaseInvoice,
    config: &MappingConfig,
    chart: Option<&ChartOfAccounts>,
    context: &BookingContext,
) -> Result<BookingPlan, Problems> {
    check_purchase_invoice(invoice, config, chart, context).0
}

/// The plan (or problems) and the notices of a sales invoice.
pub(crate) fn check_sales_invoice(
    invoice: &SalesInvoice,
    config: &MappingConfig,
    chart: Option<&ChartOfAccounts>,
    context: &BookingContext,
) -> (Result<BookingPlan, Problems>, Vec<Notice>) {
    let input = Input {
        id: &invoice.id,
        kind: invoice.kind,
        number: &invoice.number,
        date: invoice.date,
        due_date: invoice.due_date,
        term: invoice.payment_term_days,
        relation: &invoice.relation,
        description: invoice.description.as_deref(),
        currency: invoice.currency.as_deref(),
        lines: &invoice.lines,
        attachments: &invoice.attachments,
    };
    plan(&input, BookingSide::Sales, config, chart, context)
}

/// The plan (or problems) and the notices of a purchase invoice.
pub(crate) fn check_purchase_invoice(
    invoice: &PurchaseInvoice,
    config: &MappingConfig,
    chart: Option<&ChartOfAccounts>,
    context: &BookingContext,
) -> (Result<BookingPlan, Problems>, Vec<Notice>) {
    let input = Input {
        id: &invoice.id,
        kind: invoice.kind,
        number: &invoice.number,
        date: invoice.date,
        due_date: invoice.due_date,
        term: invoice.payment_term_days,
        relation: &invoice.relation,
        description: invoice.description.as_deref(),
        currency: invoice.currency.as_deref(),
        lines: &invoice.lines,
        attachments: &invoice.attachments,
    };
    plan(&input, BookingSide::Purchase, config, chart, context)
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
    currency: Option<&'a str>,
    lines: &'a [InvoiceLine],
    attachments: &'a [Attachment],
}

/// `Some(value)` when `|value| < limit`, else a problem at `path`.
fn bounded(c: &mut Collector, path: String, value: Decimal, limit: Decimal) -> Option<Decimal> {
    if value.abs() < limit {
        Some(value)
    } else {
        c.push(path, ProblemKind::AmountTooLarge { limit });
        None
    }
}

fn plan(
    input: &Input<'_>,
    side: BookingSide,
    config: &MappingConfig,
    chart: Option<&ChartOfAccounts>,
    context: &BookingContext,
) -> (Result<BookingPlan, Problems>, Vec<Notice>) {
    let record_kind = match side {
        BookingSide::Sales => RecordKind::SalesInvoice,
        BookingSide::Purchase => RecordKind::PurchaseInvoice,
    };
    let mut c = Collector::new(record_kind, input.id);

    c.text("number", input.number);
    let number = input.number.trim();
    if number.is_empty() {
        c.push("number", ProblemKind::Required);
    }
    c.max_len("number", number, limits::FACTUURNUMMER);

    if let Some(currency) = non_blank(input.currency)
        && !currency.eq_ignore_ascii_case("EUR")
    {
        c.push(
            "currency",
            ProblemKind::UnsupportedCurrency {
                value: currency.to_owned(),
            },
        );
    }

    if let Some(earliest_year) = context.earliest_year()
        && input.date.year() < earliest_year
    {
        c.push(
            "date",
            ProblemKind::DateTooOld {
                current_financial_year: context.current_financial_year,
                earliest_year,
            },
        );
    }

    c.opt_text("description", input.description);
    let description = match non_blank(input.description) {
        Some(d) => {
            c.max_len("description", d, limits::OMSCHRIJVING);
            d.to_owned()
        }
        None => {
            let derived = crate::text::truncate_chars(
                format!(
                    "{} {number}",
                    config.fields.booking_description_prefix.trim()
                )
                .trim(),
                limits::OMSCHRIJVING,
            );
            c.notice(
                "description",
                "fields.booking_description_prefix",
                format!("the invoice has no description; {derived:?} is written"),
            );
            derived
        }
    };

    let payment_term_days = match side {
        BookingSide::Sales => payment_term(&mut c, input),
        BookingSide::Purchase => {
            if input.due_date.is_some_and(|due| due < input.date) {
                c.push("due_date", ProblemKind::DueDateBeforeInvoiceDate);
            }
            // An inkoopboeking has no due date or term: SnelStart takes the supplier's. Said,
            // not dropped in silence.
            for (path, given) in [
                ("due_date", input.due_date.is_some()),
                ("payment_term_days", input.term.is_some()),
            ] {
                if given {
                    c.notice(
                        path,
                        "snelstart.inkoopboeking",
                        "not written: a SnelStart purchase booking has no due date or term; \
                         SnelStart uses the supplier's payment term",
                    );
                }
            }
            None
        }
    };

    let convention = config.invoices.credit_note_sign;
    // Booked amount = written amount × sign.
    let negate =
        input.kind == InvoiceKind::CreditNote && convention == CreditNoteSign::PositiveWithFlag;
    let mut lines = Vec::new();
    if input.lines.is_empty() {
        c.push("lines", ProblemKind::NoBookableLines);
    }
    let first_other = input
        .lines
        .iter()
        .map(|l| l.vat_category)
        .find(|v| *v != VatCategory::Verlegd);
    // Σ of the lines as written; `None` once a line has no usable amount.
    let mut written_total = Some(Decimal::ZERO);
    for (i, line) in input.lines.iter().enumerate() {
        let (net, planned) = plan_line(&mut c, i, line, input.kind, side, negate, config, chart);
        written_total = match (written_total, net) {
            (Some(total), Some(net)) => total.checked_add(net),
            _ => None,
        };
        if let Some(planned) = planned {
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
    if let Some(total) = written_total
        && !input.lines.is_empty()
        && bounded(&mut c, "lines".to_owned(), total, limits::AMOUNT).is_some()
    {
        let wrong_sign = match (input.kind, convention) {
            (InvoiceKind::CreditNote, CreditNoteSign::NegativeAmounts) => total > Decimal::ZERO,
            _ => total < Decimal::ZERO,
        };
        if wrong_sign {
            c.push(
                "lines",
                ProblemKind::TotalSign {
                    invoice_kind: input.kind,
                    convention,
                    total: Money::round_from(total),
                },
            );
        }
    }

    check_attachments(&mut c, input.attachments);

    // VAT and factuurbedrag only for a booking without problems (its amounts are bounded).
    if !c.problems.is_empty() {
        let notices = c.notices;
        return (Err(Problems::from_vec(c.problems)), notices);
    }
    let vat_lines = vat_lines(&mut c, input, &lines, config);
    let total = lines
        .iter()
        .try_fold(Decimal::ZERO, |sum, l| sum.checked_add(l.amount.amount()))
        .and_then(|net| {
            vat_lines
                .iter()
                .try_fold(net, |sum, v| sum.checked_add(v.amount.amount()))
        });
    let total = match total {
        Some(t) => bounded(&mut c, "lines".to_owned(), t, limits::AMOUNT),
        None => {
            c.push(
                "lines",
                ProblemKind::AmountTooLarge {
                    limit: limits::AMOUNT,
                },
            );
            None
        }
    };

    let problems = std::mem::take(&mut c.problems);
    let notices = c.notices;
    let result = Problems::check(problems, || BookingPlan {
        side,
        invoice: input.id.clone(),
        relation: input.relation.clone(),
        invoice_number: number.to_owned(),
        date: input.date,
        payment_term_days,
        description,
        lines,
        vat_lines,
        total: Money::round_from(total.unwrap_or_default()),
        notices: notices.clone(),
    });
    (result, notices)
}

/// Attachments are checked with the invoice, so a booking is never written when one of its
/// attachments would be refused (BLG-0006/0007/0008/0016/0017).
fn check_attachments(c: &mut Collector, attachments: &[Attachment]) {
    for (i, attachment) in attachments.iter().enumerate() {
        let path = format!("attachments[{i}].file_name");
        let name = &attachment.file_name;
        if name.trim().is_empty() {
            c.push(path.clone(), ProblemKind::Required);
        }
        c.max_len(path.clone(), name, limits::FILE_NAME);
        if let Some(ch) = control_char(name) {
            c.push(
                path.clone(),
                ProblemKind::ControlCharacter {
                    code_point: u32::from(ch),
                },
            );
        }
        if let Some(ch) = name.chars().find(|ch| FILE_NAME_FORBIDDEN.contains(ch)) {
            c.push(
                path,
                ProblemKind::InvalidFileNameCharacter { character: ch },
            );
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

/// A line's net amount as written, with every amount check (bounds, consistency, zero).
fn line_net(c: &mut Collector, i: usize, line: &InvoiceLine) -> Option<Decimal> {
    let path = |field: &str| format!("lines[{i}].{field}");
    let quantity = line
        .quantity
        .map(|q| bounded(c, path("quantity"), q, limits::QUANTITY));
    let unit_price = line
        .unit_price
        .map(|p| bounded(c, path("unit_price"), p.amount(), limits::AMOUNT));
    let stated = line
        .net_amount
        .map(|n| bounded(c, path("net_amount"), n.amount(), limits::AMOUNT));
    // quantity × unit price, rounded to cents; bounded inputs cannot overflow, but checked.
    let computed = match (quantity, unit_price) {
        (Some(Some(q)), Some(Some(p))) => match q.checked_mul(p) {
            Some(product) => {
                let rounded = Money::round_from(product).amount();
                Some(bounded(c, format!("lines[{i}]"), rounded, limits::AMOUNT))
            }
            None => {
                c.push(
                    format!("lines[{i}]"),
                    ProblemKind::AmountTooLarge {
                        limit: limits::AMOUNT,
                    },
                );
                Some(None)
            }
        },
        (Some(None), _) | (_, Some(None)) => Some(None),
        _ => None,
    };
    let net = match (stated, computed) {
        (Some(None), _) | (_, Some(None)) => None,
        (Some(Some(stated)), Some(Some(computed))) if stated != computed => {
            c.push(
                path("net_amount"),
                ProblemKind::LineAmountMismatch {
                    stated: Money::round_from(stated),
                    computed: Money::round_from(computed),
                },
            );
            None
        }
        (Some(Some(net)), _) | (None, Some(Some(net))) => Some(net),
        (None, None) => {
            c.push(path("net_amount"), ProblemKind::LineAmountMissing);
            None
        }
    };
    if net.is_some_and(|n| n.is_zero()) {
        c.push(format!("lines[{i}]"), ProblemKind::ZeroAmountLine);
    }
    net
}

/// Checks and plans one line: its net amount as written (for the total's sign) and the
/// planned line when nothing is wrong with it.
#[allow(clippy::too_many_arguments)]
fn plan_line(
    c: &mut Collector,
    i: usize,
    line: &InvoiceLine,
    kind: InvoiceKind,
    side: BookingSide,
    negate: bool,
    config: &MappingConfig,
    chart: Option<&ChartOfAccounts>,
) -> (Option<Decimal>, Option<PlannedLine>) {
    let path = |field: &str| format!("lines[{i}].{field}");
    c.text(path("description"), &line.description);
    c.opt_text(path("category"), line.category.as_deref());
    c.opt_text(path("project"), line.project.as_deref());
    let description = line.description.trim();
    c.max_len(path("description"), description, limits::OMSCHRIJVING);

    let convention = config.invoices.credit_note_sign;
    if convention == CreditNoteSign::PositiveWithFlag
        && line
            .quantity
            .is_some_and(|q| q.is_sign_negative() && !q.is_zero())
    {
        c.push(
            path("quantity"),
            ProblemKind::NegativeQuantity {
                invoice_kind: kind,
                convention,
            },
        );
    }
    let net = line_net(c, i, line);

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

    let planned = match (net, ledger) {
        (Some(net), Some(ledger)) if !net.is_zero() => Some(PlannedLine {
            source_index: i,
            description: description.to_owned(),
            ledger,
            cost_centre,
            line_vat,
            vat_category: line.vat_category,
            // Negating a bounded amount cannot overflow.
            amount: Money::round_from(if negate { -net } else { net }),
        }),
        _ => None,
    };
    (net, planned)
}

/// VAT per kind: unrounded per line, summed per kind (checked), rounded once.
fn vat_lines(
    c: &mut Collector,
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
        let rate = line.vat_category.rate_on(input.date);
        let vat = line
            .amount
            .amount()
            .checked_mul(rate)
            .and_then(|v| v.checked_div(Decimal::ONE_HUNDRED));
        let sum = sums.entry(kind).or_default();
        match vat.and_then(|v| sum.checked_add(v)) {
            Some(s) => *sum = s,
            None => {
                c.push(
                    format!("lines[{}]", line.source_index),
                    ProblemKind::AmountTooLarge {
                        limit: limits::AMOUNT,
                    },
                );
                return Vec::new();
            }
        }
    }
    sums.into_iter()
        .map(|(kind, sum)| PlannedVatLine {
            kind,
            amount: Money::round_from(sum),
        })
        .collect()
}
