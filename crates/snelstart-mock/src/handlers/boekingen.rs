//! `/v2/verkoopboekingen`, `/v2/inkoopboekingen` and the invoices they create
//! (`/v2/verkoopfacturen`, `/v2/inkoopfacturen`).

use super::{Ctx, St, created, deleted, odata_list, ok_rec, path_id, updated};
use crate::error::{ApiError, Errors, codes::*};
use crate::json::{Obj, date, dt, money, opt_reference, parse_body, parse_decimal, reference};
use crate::server::Shared;
use crate::state::Admin;
use crate::table::{Record, b, ref_id, s};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::response::Response;
use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

/// Sales or purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Verkoop,
    Inkoop,
}

impl Side {
    fn relation(self) -> &'static str {
        match self {
            Side::Verkoop => "klant",
            Side::Inkoop => "leverancier",
        }
    }
    fn resource(self) -> &'static str {
        match self {
            Side::Verkoop => "verkoopboekingen",
            Side::Inkoop => "inkoopboekingen",
        }
    }
    fn factuur_resource(self) -> &'static str {
        match self {
            Side::Verkoop => "verkoopfacturen",
            Side::Inkoop => "inkoopfacturen",
        }
    }
    fn factuur_link(self) -> &'static str {
        match self {
            Side::Verkoop => "verkoopBoeking",
            Side::Inkoop => "inkoopBoeking",
        }
    }
    fn btw_kinds(self) -> &'static [(&'static str, i64)] {
        match self {
            Side::Verkoop => &[
                ("Geen", 0),
                ("VerkopenLaag", 1),
                ("VerkopenHoog", 2),
                ("VerkopenOverig", 3),
                ("VerkopenVerlegd", 4),
                ("InkopenLaag", 5),
                ("InkopenHoog", 6),
                ("InkopenOverig", 7),
            ],
            Side::Inkoop => &[
                ("Geen", 0),
                ("VerkopenLaag", 1),
                ("VerkopenHoog", 2),
                ("VerkopenOverig", 3),
                ("InkopenLaag", 5),
                ("InkopenHoog", 6),
                ("InkopenOverig", 7),
                ("InkopenVerlegd", 8),
            ],
        }
    }
    pub(crate) fn table(self, a: &Admin) -> &crate::table::Table {
        match self {
            Side::Verkoop => &a.verkoopboekingen,
            Side::Inkoop => &a.inkoopboekingen,
        }
    }
    fn table_mut(self, a: &mut Admin) -> &mut crate::table::Table {
        match self {
            Side::Verkoop => &mut a.verkoopboekingen,
            Side::Inkoop => &mut a.inkoopboekingen,
        }
    }
    pub(crate) fn facturen_mut(self, a: &mut Admin) -> &mut crate::table::Table {
        match self {
            Side::Verkoop => &mut a.verkoopfacturen,
            Side::Inkoop => &mut a.inkoopfacturen,
        }
    }
}

pub(crate) const LINE_BTW: &[(&str, i64)] = &[("Geen", 0), ("Laag", 1), ("Hoog", 2), ("Overig", 3)];

/// The rate kind (`Hoog`, `Laag`, `Overig`) behind a booking VAT kind, and whether it is
/// reverse charge.
fn rate_kind(btw: &str) -> Option<&'static str> {
    if btw.ends_with("Hoog") {
        Some("Hoog")
    } else if btw.ends_with("Laag") {
        Some("Laag")
    } else if btw.ends_with("Overig") {
        Some("Overig")
    } else {
        None
    }
}

/// Amounts may carry at most two decimals.
fn cents(d: Decimal, field: &str) -> Result<Decimal, ApiError> {
    if d.normalize().scale() > 2 {
        return Err(ApiError::model(
            format!("model.{field}"),
            format!("The field {field} may have at most 2 decimals."),
        ));
    }
    Ok(d)
}

/// Facts of a validated booking needed for the invoice and the ledger mutations.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    pub(crate) relatie: Uuid,
    pub(crate) datum: NaiveDateTime,
    pub(crate) factuurnummer: String,
    pub(crate) bedrag: Decimal,
    pub(crate) termijn: i64,
    pub(crate) boekstuk: Option<String>,
    pub(crate) omschrijving: Option<String>,
    /// (ledger, kostenplaats, amount excl. VAT, description)
    pub(crate) lines: Vec<(Uuid, Option<Uuid>, Decimal, Option<String>)>,
    /// (VAT kind, amount)
    pub(crate) btw: Vec<(&'static str, Decimal)>,
}

/// A line's ledger id, cost-centre id and the ledger record (when it exists).
pub(crate) type LineRefs = (Option<Uuid>, Option<Uuid>, Option<Record>);

/// Check one booking line's ledger and cost centre; shared with memoriaal lines.
pub(crate) fn check_line_refs(
    admin: &Admin,
    line: &Obj<'_>,
    e: &mut Errors,
    memoriaal: bool,
) -> Result<LineRefs, ApiError> {
    let ledger_id = line.reference("grootboek")?;
    let ledger = ledger_id.and_then(|id| admin.grootboeken.get(&id)).cloned();
    match &ledger {
        None => e.push(BOE_0037),
        Some(g) => {
            if b(g, "nonactief") {
                e.push(BOE_0008);
            }
            let f = s(g, "grootboekfunctie").unwrap_or("");
            if !memoriaal && (f == "DagboekMemoriaal" || f == "DagboekBalans") {
                e.push(BOE_0075);
            }
        }
    }
    let kpl = line.reference("kostenplaats")?;
    match kpl.map(|id| admin.kostenplaatsen.get(&id)) {
        Some(None) => e.push(BOE_0019),
        Some(Some(k)) if b(k, "nonactief") => e.push(BOE_0026),
        None if ledger
            .as_ref()
            .is_some_and(|g| b(g, "kostenplaatsVerplicht")) =>
        {
            e.push(BOE_0022)
        }
        _ => {}
    }
    Ok((ledger_id, kpl, ledger))
}

fn build(
    sh: &Shared,
    admin: &Admin,
    side: Side,
    body: &serde_json::Map<String, Value>,
    id: Uuid,
) -> Result<(Record, Facts), ApiError> {
    let o = Obj::new(body, "model");
    let v = &sh.config.validation;
    let mut e = Errors::default();

    // Header.
    let factuurnummer = o.text("factuurnummer")?;
    match &factuurnummer {
        None => e.push(BOE_0058),
        Some(n) if n.chars().count() > 25 => e.push(BOE_0058),
        Some(_) => {}
    }
    let datum = match o.get("factuurdatum") {
        None => None,
        Some(Value::String(x)) => crate::json::parse_datetime(x),
        Some(_) => None,
    };
    match datum {
        None => e.push(BOE_0070),
        Some(d) if d.year() < admin.current_year - 5 => e.push(BOE_0033),
        Some(_) => {}
    }
    let relatie = o.reference(side.relation())?;
    match (side, relatie.and_then(|r| admin.relaties.get(&r))) {
        (Side::Verkoop, None) => e.push(REL_0005),
        (Side::Inkoop, None) => e.push(BOE_0038),
        (Side::Verkoop, Some(r)) if !crate::handlers::relaties::is_klant(r) => e.push(BOE_0060),
        (Side::Inkoop, Some(r)) if !crate::handlers::relaties::is_leverancier(r) => {
            e.push(BOE_0003)
        }
        (_, Some(r)) if b(r, "nonactief") => e.push(BOE_0054),
        _ => {}
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
    let termijn = if side == Side::Verkoop {
        o.int("betalingstermijn")?
    } else {
        None
    };
    if termijn.is_some_and(|t| !(0..=999).contains(&t)) {
        return Err(ApiError::model(
            "model.Betalingstermijn",
            "The field Betalingstermijn must be between 0 and 999.",
        ));
    }
    let factuurbedrag = o
        .decimal("factuurbedrag")?
        .map(|d| cents(d, "Factuurbedrag"))
        .transpose()?;

    // Lines.
    let lines = o.objects("boekingsregels")?;
    if lines.is_empty() {
        e.push(BOE_0023);
    }
    let mut out_lines = Vec::new();
    let mut facts_lines = Vec::new();
    let mut line_kinds: Vec<(&'static str, Decimal)> = Vec::new();
    for l in &lines {
        let (ledger_id, kpl, ledger) = check_line_refs(admin, l, &mut e, false)?;
        if let Some(g) = &ledger
            && s(g, "grootboekfunctie").is_some_and(|f| {
                f.starts_with("Dagboek") && f != "DagboekMemoriaal" && f != "DagboekBalans"
            })
        {
            e.push(BOE_0061);
        }
        let bedrag = l
            .decimal("bedrag")?
            .map(|d| cents(d, "Bedrag"))
            .transpose()?
            .unwrap_or_default();
        if bedrag.is_zero() {
            e.push(BOE_0028);
        }
        let lo = l.text("omschrijving")?;
        e.check(
            lo.as_ref().is_none_or(|x| x.chars().count() <= 250),
            BOE_0071,
        );
        let kind = l.enumeration("btwSoort", LINE_BTW)?;
        if let Some(g) = &ledger {
            let allowed: Vec<&str> = g
                .get("btwSoort")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let ok = match kind {
                // Omitted is fine only where the ledger has no VAT kind other than Geen.
                None => allowed.iter().all(|k| *k == "Geen"),
                Some(k) => allowed.contains(&k) || (allowed.is_empty() && k == "Geen"),
            };
            e.check(ok, BOE_0082);
        }
        let kind_s = kind.unwrap_or("Geen");
        line_kinds.push((kind_s, bedrag));
        out_lines.push(json!({
            "omschrijving": lo, "grootboek": opt_reference("grootboeken", ledger_id),
            "kostenplaats": opt_reference("kostenplaatsen", kpl), "bedrag": money(bedrag), "btwSoort": kind_s,
        }));
        if let Some(g) = ledger_id {
            facts_lines.push((g, kpl, bedrag, lo));
        }
    }

    // VAT table.
    let mut btw = Vec::new();
    for x in o.objects("btw")? {
        let kind = x
            .enumeration("btwSoort", side.btw_kinds())?
            .ok_or_else(|| {
                ApiError::model("model.Btw.BtwSoort", "The BtwSoort field is required.")
            })?;
        let amount = x
            .decimal("btwBedrag")?
            .map(|d| cents(d, "BtwBedrag"))
            .transpose()?
            .unwrap_or_default();
        btw.push((kind, amount));
    }
    let verlegd = btw.iter().any(|(k, _)| k.ends_with("Verlegd"));
    let other = btw
        .iter()
        .any(|(k, a)| !k.ends_with("Verlegd") && *k != "Geen" && !a.is_zero())
        || line_kinds.iter().any(|(k, _)| *k != "Geen");
    e.check(!(verlegd && other), BOE_0062);
    if v.vat_amount_check
        && let Some(d) = datum
    {
        let prefix = if side == Side::Verkoop {
            "Verkopen"
        } else {
            "Inkopen"
        };
        for rk in ["Hoog", "Laag", "Overig"] {
            let base: Decimal = line_kinds
                .iter()
                .filter(|(k, _)| *k == rk)
                .map(|(_, a)| *a)
                .sum();
            let n = line_kinds.iter().filter(|(k, _)| *k == rk).count();
            let given: Decimal = btw
                .iter()
                .filter(|(k, _)| rate_kind(k) == Some(rk) && k.starts_with(prefix))
                .map(|(_, a)| *a)
                .sum();
            let expected = base * crate::seed::btw_rate(rk, d.date()) / Decimal::ONE_HUNDRED;
            let tolerance = v.vat_tolerance_per_line * Decimal::from(n.max(1));
            if (given - expected).abs() > tolerance {
                e.push(BOE_0069);
            }
        }
        // VAT of the wrong side (e.g. InkopenHoog on a sale) is not valid either.
        if btw
            .iter()
            .any(|(k, a)| !k.starts_with(prefix) && *k != "Geen" && !a.is_zero())
        {
            e.push(BOE_0069);
        }
    }

    // Balance: factuurbedrag = Σ lines + Σ VAT.
    let total: Decimal = line_kinds.iter().map(|(_, a)| *a).sum::<Decimal>()
        + btw.iter().map(|(_, a)| *a).sum::<Decimal>();
    let fb = factuurbedrag.unwrap_or_default();
    e.check((fb - total).abs() <= v.balance_tolerance, BOE_0039);

    // Unique invoice number.
    if let Some(n) = &factuurnummer {
        let key = factuur_key(side, v.inkoop_factuurnummer_per_supplier, relatie, n);
        e.check(
            admin
                .factuurnummers
                .get(&key)
                .is_none_or(|owner| *owner == id),
            BOE_0021,
        );
    }
    e.into_result()?;

    let datum = datum.unwrap_or_default();
    let relatie = relatie.unwrap_or_default();
    let rel_termijn = admin
        .relaties
        .get(&relatie)
        .and_then(|r| r.get("krediettermijn"))
        .and_then(Value::as_i64);
    let mut rec = json!({
        "modifiedOn": null,
        "boekstuk": boekstuk,
        "gewijzigdDoorAccountant": false,
        "markering": o.bool("markering")?.unwrap_or(false),
        "factuurdatum": dt(datum),
        "factuurnummer": factuurnummer,
        side.relation(): reference("relaties", relatie),
        "omschrijving": omschrijving,
        "factuurbedrag": money(fb),
        "documents": [],
        "id": id.to_string(),
        "uri": format!("/{}/{id}", side.resource()),
    });
    // Moved in after `json!`, which would copy them.
    rec["boekingsregels"] = Value::Array(out_lines);
    rec["btw"] = Value::Array(
        btw.iter()
            .map(|(k, a)| json!({"btwSoort": k, "btwBedrag": money(*a)}))
            .collect(),
    );
    if side == Side::Verkoop {
        rec["betalingstermijn"] = json!(termijn);
        rec["eenmaligeIncassoMachtiging"] = Value::Null;
        rec["doorlopendeIncassoMachtiging"] = Value::Null;
    }
    let facts = Facts {
        relatie,
        datum,
        factuurnummer: factuurnummer.unwrap_or_default(),
        bedrag: fb,
        termijn: termijn.or(rel_termijn).unwrap_or(0),
        boekstuk,
        omschrijving,
        lines: facts_lines,
        btw,
    };
    Ok((crate::seed::obj(rec), facts))
}

/// The uniqueness key of an invoice number: sales numbers are unique per administration,
/// purchase numbers per supplier (or per administration when so configured).
pub(crate) fn factuur_key(
    side: Side,
    per_supplier: bool,
    relatie: Option<Uuid>,
    nummer: &str,
) -> (u8, Uuid, String) {
    match side {
        Side::Verkoop => (0, Uuid::nil(), nummer.to_owned()),
        Side::Inkoop if per_supplier => (1, relatie.unwrap_or_default(), nummer.to_owned()),
        Side::Inkoop => (1, Uuid::nil(), nummer.to_owned()),
    }
}

/// Move a booking's invoice-number index entry from `old` to `new` (either may be absent).
fn index_factuur(
    sh: &Shared,
    admin: &mut Admin,
    side: Side,
    id: Uuid,
    old: Option<&Record>,
    new: Option<&Record>,
) {
    let per_supplier = sh.config.validation.inkoop_factuurnummer_per_supplier;
    let key = |r: &Record| {
        s(r, "factuurnummer")
            .map(|n| factuur_key(side, per_supplier, ref_id(r, side.relation()), n))
    };
    if let Some(k) = old.and_then(key)
        && admin.factuurnummers.get(&k) == Some(&id)
    {
        admin.factuurnummers.remove(&k);
    }
    if let Some(k) = new.and_then(key) {
        admin.factuurnummers.insert(k, id);
    }
}

/// Create or refresh the invoice of a booking; keeps its id and the payments made.
fn upsert_factuur(admin: &mut Admin, side: Side, booking: Uuid, f: &Facts, stamp: &Value) {
    let paid = admin.paid.get(&booking).copied().unwrap_or_default();
    let fid = *admin.factuur_of.entry(booking).or_insert_with(Uuid::new_v4);
    let verval = f.datum.date() + TimeDelta::days(f.termijn);
    let mut rec = json!({
        side.factuur_link(): reference(side.resource(), booking),
        "modifiedOn": stamp,
        "openstaandSaldo": money(f.bedrag - paid),
        "factuurnummer": f.factuurnummer,
        "vervalDatum": date(verval),
        "relatie": reference("relaties", f.relatie),
        "factuurDatum": dt(f.datum),
        "factuurBedrag": money(f.bedrag),
        "id": fid.to_string(),
        "uri": format!("/{}/{fid}", side.factuur_resource()),
    });
    if side == Side::Verkoop {
        rec["verkoopOrders"] = json!([]);
    }
    side.facturen_mut(admin).insert(fid, crate::seed::obj(rec));
}

/// The ledger that carries a booking VAT kind.
fn vat_ledger(admin: &Admin, side: Side, kind: &str) -> Option<Uuid> {
    let f = match (side, rate_kind(kind)) {
        (Side::Verkoop, Some("Hoog")) => "BtwAfTeDragenHoog",
        (Side::Verkoop, Some("Laag")) => "BtwAfteDragenLaag",
        (Side::Verkoop, Some("Overig")) => "BtwAfTeDragenOverig",
        (Side::Inkoop, Some("Hoog")) => "BtwTeVorderenHoog",
        (Side::Inkoop, Some("Laag")) => "BtwTeVorderenLaag",
        (Side::Inkoop, Some("Overig")) => "BtwTeVorderenOverig",
        _ => return None,
    };
    admin.ledger_by_functie(f)
}

/// One grootboekmutatie; a positive amount is a debit.
#[allow(clippy::too_many_arguments)]
pub(crate) fn mutatie(
    ledger: Uuid,
    kpl: Option<Uuid>,
    datum: NaiveDateTime,
    stamp: &Value,
    dagboek: Option<Uuid>,
    omschrijving: Option<&str>,
    amount: Decimal,
    boekstuk: Option<&str>,
    factuurnummer: Option<&str>,
    relatie: Option<Uuid>,
) -> (Uuid, Record) {
    let id = Uuid::new_v4();
    let (debet, credit) = if amount >= Decimal::ZERO {
        (amount, Decimal::ZERO)
    } else {
        (Decimal::ZERO, -amount)
    };
    let rec = json!({
        "grootboek": reference("grootboeken", ledger),
        "kostenplaats": opt_reference("kostenplaatsen", kpl),
        "datum": dt(datum),
        "modifiedOn": stamp,
        "dagboek": opt_reference("dagboeken", dagboek),
        "omschrijving": omschrijving,
        "debet": money(debet),
        "credit": money(credit),
        "saldo": money(debet - credit),
        "documents": [],
        "boekstuk": boekstuk,
        "factuurNummer": factuurnummer,
        "relatiePublicIdentifier": opt_reference("relaties", relatie),
        "id": id.to_string(),
        "uri": format!("/grootboekmutaties/{id}"),
    });
    (id, crate::seed::obj(rec))
}

pub(crate) fn remove_mutaties(admin: &mut Admin, booking: Uuid) {
    for m in admin.mutaties_of.remove(&booking).unwrap_or_default() {
        admin.grootboekmutaties.remove(&m);
    }
}

fn write_mutaties(admin: &mut Admin, side: Side, booking: Uuid, f: &Facts, stamp: &Value) {
    remove_mutaties(admin, booking);
    // Sales debit the debtors and credit revenue and VAT; purchases the other way round.
    let sign = if side == Side::Verkoop {
        Decimal::ONE
    } else {
        Decimal::NEGATIVE_ONE
    };
    let (control, journal) = match side {
        Side::Verkoop => (
            admin.ledger_by_functie("DagboekVerkoop"),
            admin.dagboek_by_soort("Verkoop"),
        ),
        Side::Inkoop => (
            admin.ledger_by_functie("DagboekInkoop"),
            admin.dagboek_by_soort("Inkoop"),
        ),
    };
    let desc = f.omschrijving.as_deref();
    let mut ids = Vec::new();
    let mut rows = Vec::new();
    let fnr = Some(f.factuurnummer.as_str());
    let bs = f.boekstuk.as_deref();
    if let Some(c) = control {
        rows.push(mutatie(
            c,
            None,
            f.datum,
            stamp,
            journal,
            desc,
            sign * f.bedrag,
            bs,
            fnr,
            Some(f.relatie),
        ));
    }
    for (g, k, a, d) in &f.lines {
        rows.push(mutatie(
            *g,
            *k,
            f.datum,
            stamp,
            journal,
            d.as_deref().or(desc),
            -sign * *a,
            bs,
            fnr,
            Some(f.relatie),
        ));
    }
    for (kind, a) in &f.btw {
        if let Some(g) = vat_ledger(admin, side, kind)
            && !a.is_zero()
        {
            rows.push(mutatie(
                g,
                None,
                f.datum,
                stamp,
                journal,
                desc,
                -sign * *a,
                bs,
                fnr,
                Some(f.relatie),
            ));
        }
    }
    for (id, r) in rows {
        ids.push(id);
        admin.grootboekmutaties.insert(id, r);
    }
    admin.mutaties_of.insert(booking, ids);
}

async fn create(sh: St, ctx: Ctx, side: Side, body: Bytes) -> Result<Response, ApiError> {
    let m = parse_body(&body, None)?;
    if Obj::new(&m, "model").id()?.is_some() {
        return Err(ApiError::one(ALG_0100));
    }
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    let id = Uuid::new_v4();
    let (mut rec, facts) = build(&sh, admin, side, &m, id)?;
    let stamp = dt(sh.clock.tick());
    rec.insert("modifiedOn".into(), stamp.clone());
    index_factuur(&sh, admin, side, id, None, Some(&rec));
    // The answer is the record as built (what follows changes other tables only).
    let answer = created(&rec);
    side.table_mut(admin).insert(id, rec);
    upsert_factuur(admin, side, id, &facts, &stamp);
    write_mutaties(admin, side, id, &facts, &stamp);
    Ok(answer)
}

async fn get(sh: St, ctx: Ctx, side: Side, id: String) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let w = sh.world();
    side.table(&w.admins[ctx.0.0])
        .get(&id)
        .map(ok_rec)
        .ok_or(ApiError::NotFound)
}

async fn update(
    sh: St,
    ctx: Ctx,
    side: Side,
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
    let old = side
        .table(admin)
        .get(&id)
        .cloned()
        .ok_or(ApiError::NotFound)?;
    let (mut rec, facts) = build(&sh, admin, side, &m, id)?;
    let stamp = dt(sh.clock.tick());
    rec.insert("modifiedOn".into(), stamp.clone());
    if let Some(d) = old.get("documents") {
        rec.insert("documents".into(), d.clone());
    }
    index_factuur(&sh, admin, side, id, Some(&old), Some(&rec));
    let answer = updated(&rec);
    side.table_mut(admin).insert(id, rec);
    upsert_factuur(admin, side, id, &facts, &stamp);
    write_mutaties(admin, side, id, &facts, &stamp);
    Ok(answer)
}

async fn delete(sh: St, ctx: Ctx, side: Side, id: String) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    let old = side
        .table(admin)
        .get(&id)
        .cloned()
        .ok_or(ApiError::NotFound)?;
    if admin.paid.get(&id).is_some_and(|p| !p.is_zero()) {
        return Err(ApiError::one(BOE_0083));
    }
    index_factuur(&sh, admin, side, id, Some(&old), None);
    side.table_mut(admin).remove(&id);
    if let Some(fid) = admin.factuur_of.remove(&id) {
        side.facturen_mut(admin).remove(&fid);
    }
    remove_mutaties(admin, id);
    let docs: Vec<Uuid> = admin
        .documenten
        .iter()
        .filter(|d| s(d, "parentIdentifier") == Some(&id.to_string()))
        .filter_map(crate::table::record_id)
        .collect();
    for d in docs {
        admin.documenten.remove(&d);
    }
    Ok(deleted())
}

pub(crate) async fn create_verkoop(sh: St, ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
    create(sh, ctx, Side::Verkoop, body).await
}
pub(crate) async fn get_verkoop(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    get(sh, ctx, Side::Verkoop, id).await
}
pub(crate) async fn update_verkoop(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    update(sh, ctx, Side::Verkoop, id, body).await
}
pub(crate) async fn delete_verkoop(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    delete(sh, ctx, Side::Verkoop, id).await
}
pub(crate) async fn create_inkoop(sh: St, ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
    create(sh, ctx, Side::Inkoop, body).await
}
pub(crate) async fn get_inkoop(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    get(sh, ctx, Side::Inkoop, id).await
}
pub(crate) async fn update_inkoop(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    update(sh, ctx, Side::Inkoop, id, body).await
}
pub(crate) async fn delete_inkoop(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    delete(sh, ctx, Side::Inkoop, id).await
}

pub(crate) async fn list_verkoopfacturen(
    sh: St,
    ctx: Ctx,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let w = sh.world();
    odata_list(&sh, q.as_deref(), w.admins[ctx.0.0].verkoopfacturen.iter())
}

pub(crate) async fn get_verkoopfactuur(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let w = sh.world();
    w.admins[ctx.0.0]
        .verkoopfacturen
        .get(&id)
        .map(ok_rec)
        .ok_or(ApiError::NotFound)
}

pub(crate) async fn list_inkoopfacturen(
    sh: St,
    ctx: Ctx,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let w = sh.world();
    odata_list(&sh, q.as_deref(), w.admins[ctx.0.0].inkoopfacturen.iter())
}

/// Apply a payment (allocation) to a booking's invoice: lower `openstaandSaldo` by `amount`
/// and move `modifiedOn`.
pub(crate) fn allocate(
    admin: &mut Admin,
    side: Side,
    booking: Uuid,
    amount: Decimal,
    stamp: &Value,
) {
    *admin.paid.entry(booking).or_default() += amount;
    if let Some(fid) = admin.factuur_of.get(&booking).copied()
        && let Some(f) = side.facturen_mut(admin).get_mut(&fid)
    {
        let open = f
            .get("openstaandSaldo")
            .and_then(parse_decimal)
            .unwrap_or_default()
            - amount;
        f.insert("openstaandSaldo".into(), money(open));
        f.insert("modifiedOn".into(), stamp.clone());
    }
}

/// Keep the date helper in use for callers that only have a date.
pub(crate) fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_time(chrono::NaiveTime::MIN)
}
