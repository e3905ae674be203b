//! `/v2/memoriaalboekingen` (journal entries, including payment allocations) and
//! `/v2/grootboekmutaties` (the ledger lines every booking produces).
//!
//! Sign convention of allocation lines (the sources are silent; this is our documented choice):
//! a positive `bedrag` in `verkoopboekingBoekingsRegels` is a payment received, credited to the
//! debtors ledger and subtracted from the invoice's `openstaandSaldo`; a positive `bedrag` in
//! `inkoopboekingBoekingsRegels` is a payment made, debited to the creditors ledger. Balance:
//! Σ debet + Σ inkoop allocations = Σ credit + Σ verkoop allocations.

use super::boekingen::{Side, allocate, check_line_refs, mutatie, remove_mutaties};
use super::{Ctx, St, created, deleted, ok_rec, path_id, updated};
use crate::error::{ApiError, Errors, codes::*};
use crate::json::{Obj, dt, money, opt_reference, parse_body, parse_decimal, reference};
use crate::server::Shared;
use crate::state::Admin;
use crate::table::{Record, ref_id, s};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::response::Response;
use chrono::{Datelike, NaiveDateTime};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

struct Alloc {
    side: Side,
    booking: Uuid,
    amount: Decimal,
}

struct Built {
    rec: Record,
    datum: NaiveDateTime,
    dagboek: Uuid,
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

fn build(
    admin: &Admin,
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
        .filter(|d| s(d, "soort") == Some("Memoriaal"));
    match journal {
        None => e.push(BOE_0095),
        Some(j) if crate::table::b(j, "nonactief") => e.push(ALG_0105),
        Some(_) => {}
    }
    if let (Some(old), Some(new)) = (old_dagboek, dagboek)
        && old != new
    {
        e.push(BOE_0077);
    }
    let omschrijving = o.text("omschrijving")?;
    e.check(
        omschrijving
            .as_ref()
            .is_none_or(|x| x.chars().count() <= 250),
        BOE_0071,
    );
    let boekstuk = o.text("boekstuk")?;
    e.check(
        boekstuk.as_ref().is_none_or(|x| x.chars().count() <= 25),
        BOE_0068,
    );

    let mut out_lines = Vec::new();
    let mut lines = Vec::new();
    let (mut debet_sum, mut credit_sum) = (Decimal::ZERO, Decimal::ZERO);
    for l in o.objects("memoriaalBoekingsRegels")? {
        let (g, kpl, _) = check_line_refs(admin, &l, &mut e, true)?;
        let lo = l.text("omschrijving")?;
        match &lo {
            None => e.push(BOE_0084),
            Some(x) if x.chars().count() > 250 => e.push(BOE_0071),
            Some(_) => {}
        }
        let debet = l
            .decimal("debet")?
            .map(|d| cents(d, "Debet"))
            .transpose()?
            .unwrap_or_default();
        let credit = l
            .decimal("credit")?
            .map(|d| cents(d, "Credit"))
            .transpose()?
            .unwrap_or_default();
        e.check(debet.is_zero() || credit.is_zero(), BOE_0076);
        debet_sum += debet;
        credit_sum += credit;
        out_lines.push(json!({
            "omschrijving": lo, "grootboek": opt_reference("grootboeken", g),
            "kostenplaats": opt_reference("kostenplaatsen", kpl), "debet": money(debet), "credit": money(credit),
        }));
        if let Some(g) = g {
            lines.push((g, kpl, debet - credit, lo));
        }
    }
    let mut allocs = Vec::new();
    let mut alloc_json = |prop: &str, side: Side, e: &mut Errors| -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        for a in o.objects(prop)? {
            let booking = a.reference("boekingId")?;
            let exists = booking.and_then(|b| side.table(admin).get(&b)).is_some();
            e.check(exists, BOE_0001);
            let ao = a.text("omschrijving")?;
            match &ao {
                None => e.push(BOE_0084),
                Some(x) if x.chars().count() > 250 => e.push(BOE_0071),
                Some(_) => {}
            }
            let bedrag = a
                .decimal("bedrag")?
                .map(|d| cents(d, "Bedrag"))
                .transpose()?
                .unwrap_or_default();
            let res = match side {
                Side::Verkoop => "verkoopboekingen",
                Side::Inkoop => "inkoopboekingen",
            };
            out.push(json!({"boekingId": opt_reference(res, booking), "omschrijving": ao, "bedrag": money(bedrag)}));
            if let Some(b) = booking.filter(|_| exists) {
                allocs.push(Alloc {
                    side,
                    booking: b,
                    amount: bedrag,
                });
            }
        }
        Ok(out)
    };
    let verkoop = alloc_json("verkoopboekingBoekingsRegels", Side::Verkoop, &mut e)?;
    let inkoop = alloc_json("inkoopboekingBoekingsRegels", Side::Inkoop, &mut e)?;
    let count = out_lines.len() + verkoop.len() + inkoop.len();
    e.check(count >= 2, BOE_0094);
    let verkoop_sum: Decimal = allocs
        .iter()
        .filter(|a| a.side == Side::Verkoop)
        .map(|a| a.amount)
        .sum();
    let inkoop_sum: Decimal = allocs
        .iter()
        .filter(|a| a.side == Side::Inkoop)
        .map(|a| a.amount)
        .sum();
    e.check(debet_sum + inkoop_sum == credit_sum + verkoop_sum, BOE_0039);
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
        "memoriaalBoekingsRegels": out_lines,
        "inkoopboekingBoekingsRegels": inkoop,
        "verkoopboekingBoekingsRegels": verkoop,
        "dagboek": reference("dagboeken", dagboek),
        "id": id.to_string(),
        "uri": format!("/memoriaalboekingen/{id}"),
    }));
    Ok(Built {
        rec,
        datum,
        dagboek,
        lines,
        allocs,
    })
}

/// The allocations stored in a memoriaal record.
fn stored_allocs(r: &Record) -> Vec<Alloc> {
    let mut out = Vec::new();
    for (prop, side) in [
        ("verkoopboekingBoekingsRegels", Side::Verkoop),
        ("inkoopboekingBoekingsRegels", Side::Inkoop),
    ] {
        for a in r.get(prop).and_then(Value::as_array).into_iter().flatten() {
            let Some(m) = a.as_object() else { continue };
            if let (Some(b), Some(amount)) = (
                ref_id(m, "boekingId"),
                a.get("bedrag").and_then(parse_decimal),
            ) {
                out.push(Alloc {
                    side,
                    booking: b,
                    amount,
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
    for (g, k, a, d) in &built.lines {
        rows.push(mutatie(
            *g,
            *k,
            built.datum,
            stamp,
            Some(built.dagboek),
            d.as_deref().or(desc.as_deref()),
            *a,
            boekstuk.as_deref(),
            None,
            None,
        ));
    }
    for al in &built.allocs {
        let (control, sign) = match al.side {
            Side::Verkoop => (
                admin.ledger_by_functie("DagboekVerkoop"),
                Decimal::NEGATIVE_ONE,
            ),
            Side::Inkoop => (admin.ledger_by_functie("DagboekInkoop"), Decimal::ONE),
        };
        let booking = al.side.table(admin).get(&al.booking);
        let fnr = booking
            .and_then(|b| s(b, "factuurnummer"))
            .map(str::to_owned);
        let rel = booking.and_then(|b| {
            ref_id(
                b,
                if al.side == Side::Verkoop {
                    "klant"
                } else {
                    "leverancier"
                },
            )
        });
        if let Some(c) = control {
            rows.push(mutatie(
                c,
                None,
                built.datum,
                stamp,
                Some(built.dagboek),
                desc.as_deref(),
                sign * al.amount,
                boekstuk.as_deref(),
                fnr.as_deref(),
                rel,
            ));
        }
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

/// Create a memoriaalboeking in an administration.
fn create_in(
    sh: &Shared,
    admin: &mut Admin,
    m: &serde_json::Map<String, Value>,
) -> Result<Record, ApiError> {
    if Obj::new(m, "model").id()?.is_some() {
        return Err(ApiError::one(ALG_0100));
    }
    let id = Uuid::new_v4();
    let mut built = build(admin, m, id, None)?;
    let stamp = dt(sh.clock.tick());
    built.rec.insert("modifiedOn".into(), stamp.clone());
    admin.memoriaalboekingen.insert(id, built.rec.clone());
    apply(admin, id, &built, &stamp);
    Ok(built.rec)
}

pub(crate) async fn create(sh: St, ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
    let m = parse_body(&body, None)?;
    let mut w = sh.world();
    let rec = create_in(&sh, &mut w.admins[ctx.0.0], &m)?;
    Ok(created(&rec))
}

pub(crate) async fn get_one(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let w = sh.world();
    w.admins[ctx.0.0]
        .memoriaalboekingen
        .get(&id)
        .map(ok_rec)
        .ok_or(ApiError::NotFound)
}

pub(crate) async fn update(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let m = parse_body(&body, None)?;
    if Obj::new(&m, "model").id()?.is_some_and(|x| x != id) {
        return Err(ApiError::one(BOE_0078));
    }
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    let old = admin
        .memoriaalboekingen
        .get(&id)
        .cloned()
        .ok_or(ApiError::NotFound)?;
    let mut built = build(admin, &m, id, ref_id(&old, "dagboek"))?;
    let stamp = dt(sh.clock.tick());
    reverse(admin, &old, &stamp);
    built.rec.insert("modifiedOn".into(), stamp.clone());
    admin.memoriaalboekingen.insert(id, built.rec.clone());
    apply(admin, id, &built, &stamp);
    Ok(updated(&built.rec))
}

pub(crate) async fn delete(sh: St, ctx: Ctx, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    let old = admin
        .memoriaalboekingen
        .remove(&id)
        .ok_or(ApiError::NotFound)?;
    let stamp = dt(sh.clock.tick());
    reverse(admin, &old, &stamp);
    remove_mutaties(admin, id);
    Ok(deleted())
}

/// `GET /v2/grootboekmutaties` with OData and `$apply`.
pub(crate) async fn list_mutaties(
    sh: St,
    ctx: Ctx,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let w = sh.world();
    let rows = w.admins[ctx.0.0].grootboekmutaties.iter();
    let policy = sh.config.validation.top_policy;
    let page = crate::odata::page(q.as_deref(), policy, rows, true)?;
    Ok(super::json_response(axum::http::StatusCode::OK, &page))
}

pub(crate) async fn get_mutatie(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let w = sh.world();
    w.admins[ctx.0.0]
        .grootboekmutaties
        .get(&id)
        .map(ok_rec)
        .ok_or(ApiError::NotFound)
}
