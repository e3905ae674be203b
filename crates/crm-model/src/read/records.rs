//! The four record types (and archived relation ids) read field by field.

use super::fields::{
    Ctx, Fields, array, base64, boolean, code, crm_id, date, days, invoice_kind, money, object,
    parsed, quantity, relation_kind, text, timestamp, vat_category,
};
use super::json::Node;
use super::{FieldProblem, Read, RecordRejection};
use crate::{
    Address, Attachment, BtwId, Contact, CountryCode, CrmId, EmailList, Iban, InvoiceKind,
    InvoiceLine, KvkNumber, Project, PurchaseInvoice, RecordKind, Relation, SalesInvoice,
};

/// The outcome of reading one record.
pub(crate) type Outcome<T> = Result<Read<T>, RecordRejection>;

/// Reads a record: `body` gets the record's fields and returns the record when every field it
/// needs was read; any problem makes it a rejection naming every problem.
fn read_record<T>(
    kind: RecordKind,
    index: usize,
    node: &Node,
    body: impl FnOnce(&mut Ctx, &mut Fields<'_>, Option<CrmId>) -> Option<T>,
) -> Outcome<T> {
    let mut ctx = Ctx::default();
    let Node::Obj(members) = node else {
        ctx.wrong_type(
            "",
            &format!("a {} object", kind.as_str().replace('_', " ")),
            node,
        );
        return Err(RecordRejection {
            kind,
            id: None,
            number: None,
            index,
            problems: ctx.problems,
        });
    };
    let number = members.iter().find_map(|(key, value)| match value {
        Node::Str(text) if key == "number" && !text.trim().is_empty() => {
            Some(text.trim().to_owned())
        }
        Node::Num { text, .. } if key == "number" => Some(text.clone()),
        _ => None,
    });
    let mut fields = Fields::new("", members);
    let id = fields.required(&mut ctx, &["id"], crm_id);
    let record = body(&mut ctx, &mut fields, id.clone());
    fields.finish(&mut ctx);
    match record {
        Some(record) if ctx.problems.is_empty() => Ok(Read {
            index,
            record,
            notices: ctx.notices,
        }),
        _ => {
            if ctx.problems.is_empty() {
                // Cannot happen: a field that was not read always reported why.
                ctx.problems.push(FieldProblem {
                    path: String::new(),
                    message: "the record could not be read".to_owned(),
                    value: None,
                });
            }
            Err(RecordRejection {
                kind,
                id,
                number,
                index,
                problems: ctx.problems,
            })
        }
    }
}

pub(crate) fn relation(index: usize, node: &Node) -> Outcome<Relation> {
    read_record(RecordKind::Relation, index, node, |ctx, f, id| {
        let kind = f.required(ctx, &["kind"], relation_kind);
        let number = f.optional_text(ctx, &["number"], code);
        let legal_name = f.required(ctx, &["legal_name"], text);
        let trade_name = f.optional_text(ctx, &["trade_name"], text);
        let visit_address = f.optional(ctx, &["visit_address"], address);
        let postal_address = f.optional(ctx, &["postal_address"], address);
        let contacts = f
            .optional(ctx, &["contacts"], |ctx, path, node| {
                let items = array(ctx, path, node, "contact objects")?;
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for (path, item) in items {
                    match contact(ctx, &path, item) {
                        Some(c) => out.push(c),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            })
            .unwrap_or_default();
        let email = f.optional(ctx, &["email"], parsed::<EmailList>(EMAIL));
        let phone = f.optional_text(ctx, &["phone"], text);
        let website = f.optional_text(ctx, &["website"], text);
        let vat_number = f.optional(
            ctx,
            &["vat_number"],
            parsed::<BtwId>("a VAT identification number such as \"NL001234560B01\""),
        );
        let kvk_number = f.optional(
            ctx,
            &["kvk_number"],
            parsed::<KvkNumber>("a KvK number such as \"12345678\""),
        );
        let iban = f.optional(
            ctx,
            &["iban"],
            parsed::<Iban>("an IBAN such as \"NL91 ABNA 0417 1643 00\""),
        );
        let bic = f.optional_text(ctx, &["bic"], text);
        let payment_term_days = f.optional(ctx, &["payment_term_days"], days);
        let credit_limit = f.optional(ctx, &["credit_limit"], money);
        let memo = f.optional_text(ctx, &["memo"], text);
        let active = f.optional(ctx, &["active"], boolean).unwrap_or(true);
        let last_changed = f.optional(ctx, &["last_changed"], timestamp);
        Some(Relation {
            id: id?,
            kind: kind?,
            number,
            legal_name: legal_name?,
            trade_name,
            visit_address,
            postal_address,
            contacts,
            email,
            phone,
            website,
            vat_number,
            kvk_number,
            iban,
            bic,
            payment_term_days,
            credit_limit,
            memo,
            active,
            last_changed,
        })
    })
}

const EMAIL: &str = "an e-mail address, or several separated by `;`";

fn address(ctx: &mut Ctx, path: &str, node: &Node) -> Option<Address> {
    let before = ctx.problems.len();
    let mut f = object(ctx, path, node, "an address object")?;
    let street = f.optional_text(ctx, &["street"], text).unwrap_or_default();
    let house_number = f.optional_text(ctx, &["house_number"], code);
    let house_number_addition = f.optional_text(ctx, &["house_number_addition"], code);
    let postcode = f.optional_text(ctx, &["postcode"], code);
    let city = f.optional_text(ctx, &["city"], text).unwrap_or_default();
    let country = f
        .optional(
            ctx,
            &["country"],
            parsed::<CountryCode>("a country such as \"NL\""),
        )
        .unwrap_or_default();
    f.finish(ctx);
    (ctx.problems.len() == before).then_some(Address {
        street,
        house_number,
        house_number_addition,
        postcode,
        city,
        country,
    })
}

fn contact(ctx: &mut Ctx, path: &str, node: &Node) -> Option<Contact> {
    let before = ctx.problems.len();
    let mut f = object(ctx, path, node, "a contact object")?;
    let id = f.optional(ctx, &["id"], crm_id);
    let name = f.optional_text(ctx, &["name"], text).unwrap_or_default();
    let role = f.optional_text(ctx, &["role"], text);
    let email = f.optional(ctx, &["email"], parsed::<EmailList>(EMAIL));
    let phone = f.optional_text(ctx, &["phone"], text);
    let primary = f.optional(ctx, &["primary"], boolean).unwrap_or(false);
    let last_changed = f.optional(ctx, &["last_changed"], timestamp);
    f.finish(ctx);
    (ctx.problems.len() == before).then_some(Contact {
        id,
        name,
        role,
        email,
        phone,
        primary,
        last_changed,
    })
}

pub(crate) fn project(index: usize, node: &Node) -> Outcome<Project> {
    read_record(RecordKind::Project, index, node, |ctx, f, id| {
        let number = f.required(ctx, &["number"], code);
        let description = f.required(ctx, &["description"], text);
        let active = f.optional(ctx, &["active"], boolean).unwrap_or(true);
        let last_changed = f.optional(ctx, &["last_changed"], timestamp);
        Some(Project {
            id: id?,
            number: number?,
            description: description?,
            active,
            last_changed,
        })
    })
}

/// The fields sales and purchase invoices share.
struct InvoiceFields {
    id: CrmId,
    kind: InvoiceKind,
    number: String,
    date: chrono::NaiveDate,
    due_date: Option<chrono::NaiveDate>,
    payment_term_days: Option<i32>,
    relation: CrmId,
    description: Option<String>,
    currency: Option<String>,
    lines: Vec<InvoiceLine>,
    attachments: Vec<Attachment>,
    last_changed: Option<chrono::DateTime<chrono::Utc>>,
}

fn invoice(ctx: &mut Ctx, f: &mut Fields<'_>, id: Option<CrmId>) -> Option<InvoiceFields> {
    let kind = f.optional(ctx, &["kind"], invoice_kind).unwrap_or_default();
    let number = f.required(ctx, &["number"], code);
    let date_ = f.required(ctx, &["date"], date);
    let due_date = f.optional(ctx, &["due_date"], date);
    let payment_term_days = f.optional(ctx, &["payment_term_days"], days);
    let relation = f.required(ctx, &["relation"], crm_id);
    let description = f.optional_text(ctx, &["description"], text);
    let currency = f.optional_text(ctx, &["currency"], text);
    let lines = f.required(ctx, &["lines"], |ctx, path, node| {
        let items = array(ctx, path, node, "line objects")?;
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (path, item) in items {
            match line(ctx, &path, item) {
                Some(l) => out.push(l),
                None => ok = false,
            }
        }
        ok.then_some(out)
    });
    let attachments = f
        .optional(ctx, &["attachments"], |ctx, path, node| {
            let items = array(ctx, path, node, "attachment objects")?;
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for (path, item) in items {
                match attachment(ctx, &path, item) {
                    Some(a) => out.push(a),
                    None => ok = false,
                }
            }
            ok.then_some(out)
        })
        .unwrap_or_default();
    let last_changed = f.optional(ctx, &["last_changed"], timestamp);
    Some(InvoiceFields {
        id: id?,
        kind,
        number: number?,
        date: date_?,
        due_date,
        payment_term_days,
        relation: relation?,
        description,
        currency,
        lines: lines?,
        attachments,
        last_changed,
    })
}

fn line(ctx: &mut Ctx, path: &str, node: &Node) -> Option<InvoiceLine> {
    let before = ctx.problems.len();
    let mut f = object(ctx, path, node, "a line object")?;
    let description = f
        .optional_text(ctx, &["description"], text)
        .unwrap_or_default();
    let quantity = f.optional(ctx, &["quantity"], quantity);
    let unit_price = f.optional(ctx, &["unit_price"], money);
    let net_amount = f.optional(ctx, &["net_amount"], money);
    let vat_category = f.required(ctx, &["vat_category"], vat_category);
    let category = f.optional_text(
        ctx,
        &["category", "revenue_category", "cost_category"],
        text,
    );
    let project = f.optional_text(ctx, &["project"], code);
    f.finish(ctx);
    let vat_category = vat_category?;
    (ctx.problems.len() == before).then_some(InvoiceLine {
        description,
        quantity,
        unit_price,
        net_amount,
        vat_category,
        category,
        project,
    })
}

fn attachment(ctx: &mut Ctx, path: &str, node: &Node) -> Option<Attachment> {
    let before = ctx.problems.len();
    let mut f = object(ctx, path, node, "an attachment object")?;
    let file_name = f.required(ctx, &["file_name"], text);
    let bytes = f.required(ctx, &["content"], base64);
    f.finish(ctx);
    let (file_name, bytes) = (file_name?, bytes?);
    (ctx.problems.len() == before).then_some(Attachment { file_name, bytes })
}

pub(crate) fn sales_invoice(index: usize, node: &Node) -> Outcome<SalesInvoice> {
    read_record(RecordKind::SalesInvoice, index, node, |ctx, f, id| {
        let i = invoice(ctx, f, id)?;
        Some(SalesInvoice {
            id: i.id,
            kind: i.kind,
            number: i.number,
            date: i.date,
            due_date: i.due_date,
            payment_term_days: i.payment_term_days,
            relation: i.relation,
            description: i.description,
            currency: i.currency,
            lines: i.lines,
            attachments: i.attachments,
            last_changed: i.last_changed,
        })
    })
}

pub(crate) fn purchase_invoice(index: usize, node: &Node) -> Outcome<PurchaseInvoice> {
    read_record(RecordKind::PurchaseInvoice, index, node, |ctx, f, id| {
        let i = invoice(ctx, f, id)?;
        Some(PurchaseInvoice {
            id: i.id,
            kind: i.kind,
            number: i.number,
            date: i.date,
            due_date: i.due_date,
            payment_term_days: i.payment_term_days,
            relation: i.relation,
            description: i.description,
            currency: i.currency,
            lines: i.lines,
            attachments: i.attachments,
            last_changed: i.last_changed,
        })
    })
}

/// An entry of `archived_relations`: the CRM id of a relation.
pub(crate) fn archived_relation(index: usize, node: &Node) -> Outcome<CrmId> {
    let mut ctx = Ctx::default();
    match crm_id(&mut ctx, "id", node) {
        Some(id) => Ok(Read {
            index,
            record: id,
            notices: Vec::new(),
        }),
        None => Err(RecordRejection {
            kind: RecordKind::Relation,
            id: None,
            number: None,
            index,
            problems: ctx.problems,
        }),
    }
}
