//! `/v2/bankboekingen` and `/v2/kasboekingen`: bank and cash bookings, the way a bank statement
//! (or the till) pays invoices.
//!
//! Both have the vendor's `BankboekingModel` / `KasboekingModel` shape: the journal's own ledger
//! (`DagboekBank` / `DagboekKas`) is debited with `bedragOntvangen` and credited with
//! `bedragUitgegeven` (never both: `BOE-0027`), and the lines say where the money went:
//!
//! - `grootboekBoekingsRegels`: ledgers (`debet`/`credit`, optional `btwSoort`);
//! - `verkoopboekingBoekingsRegels`: the open item of a sales booking. A payment received is a
//!   `credit` on the debtors ledger and lowers the invoice's `openstaandSaldo` by
//!   `credit − debet` (and moves its `modifiedOn`);
//! - `inkoopboekingBoekingsRegels`: the open item of a purchase booking. A payment made is a
//!   `debet` on the creditors ledger and lowers `openstaandSaldo` by `debet − credit`;
//! - `btwBoekingsregels`: VAT (`type` TeVorderen/AfTeDragen, `tarief` Hoog/Laag/Overig).
//!
//! Balance (`BOE-0039`): `bedragOntvangen + Σ debet = bedragUitgegeven + Σ credit`. At least
//! one line (`BOE-0023`); a line with both sides non-zero is `BOE-0076`, with both zero
//! `BOE-0028`; an unknown booking in an allocation is `BOE-0001`. The journal must be of the
//! right kind: a missing bank journal is `BOE-0096`, a missing cash journal `BOE-0025`, an
//! inactive one `BOE-0024` (cash) or `ALG-0105` (bank); it cannot change later (`BOE-0077`).
//! A PUT replaces the booking: its old allocations are undone and the new ones applied; a
//! DELETE undoes them (the invoice's open amount comes back and its `modifiedOn` moves).

use super::boekingen::{Side, allocate, check_line_refs, mutatie, remove_mutaties};
use super::{Ctx, St, created, deleted, odata_list, ok_rec, path_id, updated};
use crate::error::{ApiError, Errors, MockError, codes::*};
use crate::json::{Obj, dt, money, opt_reference, parse_body, parse_decimal, reference};
use crate::server::{PaymentTarget, Shared};
use crate::state::Admin;
use crate::table::{Record, Table, ref_id, s};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::response::Response;
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

/// Bank or cash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bank,
    Kas,
}

impl Kind {
    fn table(self, a: &Admin) -> &Table {
        match self {
            Kind::Bank => &a.bankboekingen,
            Kind::Kas => &a.kasboekingen,
        }
    }
    fn table_mut(self, a: &mut Admin) -> &mut Table {
        match self {
            Kind::Bank => &mut a.bankboekingen,
            Kind::Kas => &mut a.kasboekingen,
        }
    }
    fn soort(self) -> &'static str {
        match self {
            Kind::Bank => "Bank",
            Kind::Kas => "Kas",
        }
    }
    fn resource(self) -> &'static str {
        match self {
            Kind::Bank => "bankboekingen",
            Kind::Kas => "kasboekingen",
        }
    }
    fn ledger_functie(self) -> &'static str {
        match self {
            Kind::Bank => "DagboekBank",
            Kind::Kas => "DagboekKas",
        }
    }
}

/// One allocation: `amount` pays off (positive) or re-opens (negative) the booking's invoice.
struct Alloc {
    side: Side,
    booking: Uuid,
    amount: Decimal,
    /// Debit-positive amount on the debtors/creditors ledger.
    saldo: Decimal,
}

struct Built {
    rec: Record,
    datum: NaiveDateTime,
    dagboek: Uuid,
    journal_ledger: Uuid,
    /// bedragOntvangen − bedragUitgegeven (debit-positive on the journal ledger).
    net: Decimal,
    /// (ledger, kostenplaats, debit-positive amount, description)
    lines: Vec<(Uuid, Option<Uuid>, Decimal, Option<String>)>,
    allocs: Vec<Alloc>,
}

fn cents(d: Decimal, field: &str) -> Result<Decimal, ApiError> {
    if d.normalize().scale() > 2 {
        return Err(ApiError::model(
            format!("model.{field}"),
            format!("The field {field} may have at most 2 decimals."),
        ));
    }
    Ok(d)
}

/// `debet` and `credit` of a line (absent = 0), each at most 2 decimals.
fn sides(o: &Obj<'_>, e: &mut Errors) -> Result<(Decimal, Decimal), ApiError> {
    let debet = o
        .decimal("debet")?
        .map(|d| cents(d, "Debet"))
        .transpose()?
        .unwrap_or_default();
    let credit = o
        .decimal("credit")?
        .map(|d| cents(d, "Credit"))
        .transpose()?
        .unwrap_or_default();
    e.check(debet.is_zero() || credit.is_zero(), BOE_0076);
    e.check(!(debet.is_zero() && credit.is_zero()), BOE_0028);
    Ok((debet, credit))
}

fn text_250(
    o: &Obj<'_>,
    name: &str,
    required: bool,
    e: &mut Errors,
) -> Result<Option<String>, ApiError> {
    let t = o.text(name)?;
    match &t {
        None if required => e.push(BOE_0084),
        Some(x) if x.chars().count() > 250 => e.push(BOE_0071),
        _ => {}
    }
    Ok(t)
}

fn required_amount(o: &Obj<'_>, name: &str, field: &str) -> Result<Decimal, ApiError> {
    match o.decimal(name)? {
        Some(d) => cents(d, field),
        None => Err(ApiError::model(
            format!("model.{field}"),
            format!("The {field} field is required."),
        )),
    }
}

const BTW_TYPES: &[(&str, i64)] = &[("TeVorderenBtwType", 0), ("AfTeDragenBtwType", 1)];
const BTW_TARIEVEN: &[(&str, i64)] = &[("Hoog", 0), ("Laag", 1), ("Overig", 2)];
const BTW_SOORTEN: &[(&str, i64)] = &[("Geen", 0), ("Laag", 1), ("Hoog", 2), ("Overig", 3)];

fn btw_ledger(admin: &Admin, kind: &str, tarief: &str) -> Option<Uuid> {
    let f = match (kind, tarief) {
        ("TeVorderenBtwType", "Hoog") => "BtwTeVorderenHoog",
        ("TeVorderenBtwType", "Laag") => "BtwTeVorderenLaag",
        ("TeVorderenBtwType", _) => "BtwTeVorderenOverig",
        (_, "Hoog") => "BtwAfTeDragenHoog",
        (_, "Laag") => "BtwAfteDragenLaag",
        _ => "BtwAfTeDragenOverig",
    };
    admin.ledger_by_functie(f)
}

fn build(
    admin: &Admin,
    kind: Kind,
    body: &serde_json::Map<String, Value>,
    id: Uuid,
    old_dagboek: Option<Uuid>,
) -> Result<Built, ApiError> {
    let o = Obj::new(body, "model");
    let mut e = Errors::default();
    let datum = match o.get("datum") {
        Some(Value::String(x)) => crate::json::parse_datetime(x),
        _ => None,
    };
    match datum {
        None => e.push(BOE_0070),
        Some(d) if d.year() < admin.current_year - 5 => e.push(BOE_0033),
        Some(_) => {}
    }
    let dagboek = o.reference("dagboek")?;
    let journal = dagboek
        .and_then(|d| admin.dagboeken.get(&d))
        .filter(|d| s(d, "soort") == Some(kind.soort()));
    match (kind, journal) {
        (Kind::Kas, None) => e.push(BOE_0025),
        (Kind::Bank, None) => e.push(BOE_0096),
        (Kind::Kas, Some(j)) if crate::table::b(j, "nonactief") => e.push(BOE_0024),
        (Kind::Bank, Some(j)) if crate::table::b(j, "nonactief") => e.push(ALG_0105),
        _ => {}
    }
    if let (Some(old), Some(new)) = (old_dagboek, dagboek)
        && old != new
    {
        e.push(BOE_0077);
    }
    let journal_ledger = admin.ledger_by_functie(kind.ledger_functie());
    let omschrijving = text_250(&o, "omschrijving", false, &mut e)?;
    let boekstuk = o.text("boekstuk")?;
    e.check(
        boekstuk.as_ref().is_none_or(|x| x.chars().count() <= 25),
        BOE_0068,
    );
    let uitgegeven = required_amount(&o, "bedragUitgegeven", "BedragUitgegeven")?;
    let ontvangen = required_amount(&o, "bedragOntvangen", "BedragOntvangen")?;
    e.check(uitgegeven.is_zero() || ontvangen.is_zero(), BOE_0027);

    let (mut debet_sum, mut credit_sum) = (ontvangen, uitgegeven);
    let mut count = 0usize;
    let mut gb_json = Vec::new();
    let mut lines = Vec::new();
    for l in o.objects("grootboekBoekingsRegels")? {
        count += 1;
        let (g, kpl, _) = check_line_refs(admin, &l, &mut e, false)?;
        let lo = text_250(&l, "omschrijving", true, &mut e)?;
        let (debet, credit) = sides(&l, &mut e)?;
        let btw = l.enumeration("btwSoort", BTW_SOORTEN)?;
        debet_sum += debet;
        credit_sum += credit;
        gb_json.push(json!({
            "omschrijving": lo, "grootboek": opt_reference("grootboeken", g),
            "kostenplaats": opt_reference("kostenplaatsen", kpl), "debet": money(debet),
            "credit": money(credit), "btwSoort": btw,
        }));
        if let Some(g) = g {
            lines.push((g, kpl, debet - credit, lo));
        }
    }
    let mut allocs = Vec::new();
    let mut alloc_json = |prop: &str, side: Side, e: &mut Errors| -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        for a in o.objects(prop)? {
            count += 1;
            let booking = a.reference("boekingId")?;
            let exists = booking.and_then(|b| side.table(admin).get(&b)).is_some();
            e.check(exists, BOE_0001);
            let ao = text_250(&a, "omschrijving", false, e)?;
            let (debet, credit) = sides(&a, e)?;
            debet_sum += debet;
            credit_sum += credit;
            let res = match side {
                Side::Verkoop => "verkoopboekingen",
                Side::Inkoop => "inkoopboekingen",
            };
            out.push(json!({"boekingId": opt_reference(res, booking), "omschrijving": ao, "debet": money(debet), "credit": money(credit)}));
            if let Some(b) = booking.filter(|_| exists) {
                let amount = match side {
                    Side::Verkoop => credit - debet,
                    Side::Inkoop => debet - credit,
                };
                allocs.push(Alloc {
                    side,
                    booking: b,
                    amount,
                    saldo: debet - credit,
                });
            }
        }
        Ok(out)
    };
    let inkoop = alloc_json("inkoopboekingBoekingsRegels", Side::Inkoop, &mut e)?;
    let verkoop = alloc_json("verkoopboekingBoekingsRegels", Side::Verkoop, &mut e)?;
    let mut btw_json = Vec::new();
    for l in o.objects("btwBoekingsregels")? {
        count += 1;
        let t = l.enumeration("type", BTW_TYPES)?;
        let tarief = l.enumeration("tarief", BTW_TARIEVEN)?;
        let (debet, credit) = sides(&l, &mut e)?;
        debet_sum += debet;
        credit_sum += credit;
        match (t, tarief) {
            (Some(t), Some(tarief)) => match btw_ledger(admin, t, tarief) {
                Some(g) => lines.push((g, None, debet - credit, None)),
                None => e.push(BOE_0081),
            },
            _ => e.push(BOE_0069),
        }
        btw_json.push(
            json!({"debet": money(debet), "credit": money(credit), "type": t, "tarief": tarief}),
        );
    }
    e.check(count >= 1, BOE_0023);
    e.check(debet_sum == credit_sum, BOE_0039);
    if journal_ledger.is_none() {
        e.push(BOE_0081);
    }
    e.into_result()?;
    let datum = datum.unwrap_or_default();
    let dagboek = dagboek.unwrap_or_default();
    let rec = crate::seed::obj(json!({
        "modifiedOn": null,
        "datum": dt(datum),
        "markering": o.bool("markering")?.unwrap_or(false),
        "boekstuk": boekstuk,
        "gewijzigdDoorAccountant": false,
        "omschrijving": omschrijving,
        "grootboekBoekingsRegels": gb_json,
        "inkoopboekingBoekingsRegels": inkoop,
        "verkoopboekingBoekingsRegels": verkoop,
        "btwBoekingsregels": btw_json,
        "bedragUitgegeven": money(uitgegeven),
        "bedragOntvangen": money(ontvangen),
        "dagboek": reference("dagboeken", dagboek),
        "id": id.to_string(),
        "uri": format!("/{}/{id}", kind.resource()),
    }));
    Ok(Built {
        rec,
        datum,
        dagboek,
        journal_ledger: journal_ledger.unwrap_or_default(),
        net: ontvangen - uitgegeven,
        lines,
        allocs,
    })
}

/// The allocations stored in a bank or cash record.
fn stored_allocs(r: &Record) -> Vec<Alloc> {
    let mut out = Vec::new();
    for (prop, side) in [
        ("verkoopboekingBoekingsRegels", Side::Verkoop),
        ("inkoopboekingBoekingsRegels", Side::Inkoop),
    ] {
        for a in r.get(prop).and_then(Value::as_array).into_iter().flatten() {
            let Some(m) = a.as_object() else { continue };
            let d = |k: &str| a.get(k).and_then(parse_decimal).unwrap_or_default();
            if let Some(b) = ref_id(m, "boekingId") {
                let (debet, credit) = (d("debet"), d("credit"));
                out.push(Alloc {
                    side,
                    booking: b,
                    amount: match side {
                        Side::Verkoop => credit - debet,
                        Side::Inkoop => debet - credit,
                    },
                    saldo: debet - credit,
                });
            }
        }
    }
    out
}

fn apply(admin: &mut Admin, id: Uuid, built: &Built, stamp: &Value) {
    remove_mutaties(admin, id);
    let desc = s(&built.rec, "omschrijving").map(str::to_owned);
    let boekstuk = s(&built.rec, "boekstuk").map(str::to_owned);
    let mut rows = Vec::new();
    let row = |g, k, amount, d: Option<&str>, fnr: Option<&str>, rel| {
        mutatie(
            g,
            k,
            built.datum,
            stamp,
            Some(built.dagboek),
            d.or(desc.as_deref()),
            amount,
            boekstuk.as_deref(),
            fnr,
            rel,
        )
    };
    if !built.net.is_zero() {
        rows.push(row(built.journal_ledger, None, built.net, None, None, None));
    }
    for (g, k, a, d) in &built.lines {
        rows.push(row(*g, *k, *a, d.as_deref(), None, None));
    }
    for al in &built.allocs {
        let control = match al.side {
            Side::Verkoop => admin.ledger_by_functie("DagboekVerkoop"),
            Side::Inkoop => admin.ledger_by_functie("DagboekInkoop"),
        };
        let booking = al.side.table(admin).get(&al.booking);
        let fnr = booking
            .and_then(|b| s(b, "factuurnummer"))
            .map(str::to_owned);
        let rel = booking.and_then(|b| {
            ref_id(
                b,
                match al.side {
                    Side::Verkoop => "klant",
                    Side::Inkoop => "leverancier",
                },
            )
        });
        if let Some(c) = control {
            rows.push(row(c, None, al.saldo, None, fnr.as_deref(), rel));
        }
    }
    for al in &built.allocs {
        allocate(admin, al.side, al.booking, al.amount, stamp);
    }
    let ids = rows.iter().map(|(i, _)| *i).collect();
    for (i, r) in rows {
        admin.grootboekmutaties.insert(i, r);
    }
    admin.mutaties_of.insert(id, ids);
}

fn reverse(admin: &mut Admin, old: &Record, stamp: &Value) {
    for a in stored_allocs(old) {
        allocate(admin, a.side, a.booking, -a.amount, stamp);
    }
}

fn create_in(
    sh: &Shared,
    admin: &mut Admin,
    kind: Kind,
    m: &serde_json::Map<String, Value>,
) -> Result<Record, ApiError> {
    if Obj::new(m, "model").id()?.is_some() {
        return Err(ApiError::one(ALG_0100));
    }
    let id = Uuid::new_v4();
    let mut built = build(admin, kind, m, id, None)?;
    let stamp = dt(sh.clock.tick());
    built.rec.insert("modifiedOn".into(), stamp.clone());
    kind.table_mut(admin).insert(id, built.rec.clone());
    apply(admin, id, &built, &stamp);
    Ok(built.rec)
}

async fn create(kind: Kind, sh: St, ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
    let m = parse_body(&body, None)?;
    let mut w = sh.world();
    let rec = create_in(&sh, &mut w.admins[ctx.0.0], kind, &m)?;
    Ok(created(&rec))
}

async fn get_one(kind: Kind, sh: St, ctx: Ctx, id: String) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let w = sh.world();
    kind.table(&w.admins[ctx.0.0])
        .get(&id)
        .map(ok_rec)
        .ok_or(ApiError::NotFound)
}

async fn list(kind: Kind, sh: St, ctx: Ctx, q: Option<String>) -> Result<Response, ApiError> {
    let w = sh.world();
    odata_list(&sh, q.as_deref(), kind.table(&w.admins[ctx.0.0]).iter())
}

async fn update(
    kind: Kind,
    sh: St,
    ctx: Ctx,
    id: String,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let m = parse_body(&body, None)?;
    if Obj::new(&m, "model").id()?.is_some_and(|x| x != id) {
        return Err(ApiError::one(BOE_0078));
    }
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    let old = kind
        .table(admin)
        .get(&id)
        .cloned()
        .ok_or(ApiError::NotFound)?;
    let mut built = build(admin, kind, &m, id, ref_id(&old, "dagboek"))?;
    let stamp = dt(sh.clock.tick());
    reverse(admin, &old, &stamp);
    built.rec.insert("modifiedOn".into(), stamp.clone());
    kind.table_mut(admin).insert(id, built.rec.clone());
    apply(admin, id, &built, &stamp);
    Ok(updated(&built.rec))
}

async fn delete(kind: Kind, sh: St, ctx: Ctx, id: String) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    let old = kind
        .table_mut(admin)
        .remove(&id)
        .ok_or(ApiError::NotFound)?;
    let stamp = dt(sh.clock.tick());
    reverse(admin, &old, &stamp);
    remove_mutaties(admin, id);
    Ok(deleted())
}

macro_rules! routes {
    ($kind:expr, $create:ident, $list:ident, $get:ident, $update:ident, $delete:ident) => {
        pub(crate) async fn $create(sh: St, ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
            create($kind, sh, ctx, body).await
        }
        pub(crate) async fn $list(
            sh: St,
            ctx: Ctx,
            RawQuery(q): RawQuery,
        ) -> Result<Response, ApiError> {
            list($kind, sh, ctx, q).await
        }
        pub(crate) async fn $get(
            sh: St,
            ctx: Ctx,
            Path(id): Path<String>,
        ) -> Result<Response, ApiError> {
            get_one($kind, sh, ctx, id).await
        }
        pub(crate) async fn $update(
            sh: St,
            ctx: Ctx,
            Path(id): Path<String>,
            body: Bytes,
        ) -> Result<Response, ApiError> {
            update($kind, sh, ctx, id, body).await
        }
        pub(crate) async fn $delete(
            sh: St,
            ctx: Ctx,
            Path(id): Path<String>,
        ) -> Result<Response, ApiError> {
            delete($kind, sh, ctx, id).await
        }
    };
}

routes!(
    Kind::Bank,
    create_bank,
    list_bank,
    get_bank,
    update_bank,
    delete_bank
);
routes!(
    Kind::Kas,
    create_kas,
    list_kas,
    get_kas,
    update_kas,
    delete_kas
);

/// See [`crate::MockServer::register_payment`]: a bank booking on the first bank journal that
/// receives `amount` for a sales invoice (or pays it for a purchase invoice) and allocates it
/// to the booking. A negative amount is a refund.
pub(crate) fn register_payment(
    sh: &Shared,
    admin_key: Option<&str>,
    target: PaymentTarget,
    amount: Decimal,
    date: NaiveDate,
) -> Result<Uuid, MockError> {
    let mut w = sh.world();
    let idx = match admin_key {
        None => 0,
        Some(k) => w.admin_index(k).ok_or(MockError::UnknownAdministration)?,
    };
    let admin = &mut w.admins[idx];
    let not_found = || MockError::PaymentRejected(vec![crate::error::item(BOE_0001)]);
    let find = |t: &Table| match &target {
        PaymentTarget::Boeking(id) => t.get(id).map(|_| *id),
        PaymentTarget::Factuurnummer(n) => t
            .iter()
            .find(|r| s(r, "factuurnummer") == Some(n.as_str()))
            .and_then(crate::table::record_id),
    };
    let (side, booking) = match find(&admin.verkoopboekingen) {
        Some(b) => (Side::Verkoop, b),
        None => (
            Side::Inkoop,
            find(&admin.inkoopboekingen).ok_or_else(not_found)?,
        ),
    };
    let fnr = side
        .table(admin)
        .get(&booking)
        .and_then(|r| s(r, "factuurnummer"))
        .unwrap_or("")
        .to_owned();
    let journal = admin.dagboek_by_soort("Bank").ok_or_else(not_found)?;
    let (pos, neg) = if amount >= Decimal::ZERO {
        (amount, Decimal::ZERO)
    } else {
        (Decimal::ZERO, -amount)
    };
    // Sales: money in, the debtor credited. Purchases: money out, the creditor debited.
    let (ontvangen, uitgegeven, line, prop) = match side {
        Side::Verkoop => (
            pos,
            neg,
            json!({"debet": money(neg), "credit": money(pos)}),
            "verkoopboekingBoekingsRegels",
        ),
        Side::Inkoop => (
            neg,
            pos,
            json!({"debet": money(pos), "credit": money(neg)}),
            "inkoopboekingBoekingsRegels",
        ),
    };
    let mut line = line;
    line["boekingId"] = json!({"id": booking.to_string()});
    line["omschrijving"] = json!(format!("Betaling {fnr}"));
    let mut body = json!({
        "datum": dt(super::boekingen::midnight(date)),
        "dagboek": {"id": journal.to_string()},
        "omschrijving": format!("Betaling factuur {fnr}"),
        "bedragOntvangen": money(ontvangen),
        "bedragUitgegeven": money(uitgegeven),
    });
    body[prop] = json!([line]);
    let m = crate::seed::obj(body);
    match create_in(sh, admin, Kind::Bank, &m) {
        Ok(rec) => crate::table::record_id(&rec).ok_or_else(not_found),
        Err(ApiError::Business(items)) => Err(MockError::PaymentRejected(items)),
        Err(_) => Err(not_found()),
    }
}
