//! `/v2/kostenplaatsen`: cost centres (not OData: the whole list at once).

use super::{Ctx, St, created, deleted, ok_rec, ok_records, path_id, updated};
use crate::error::{ApiError, Errors, codes::*};
use crate::json::{Obj, parse_body};
use crate::state::Admin;
use crate::table::{Record, Table};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use uuid::Uuid;

fn build(
    admin: &Admin,
    body: &serde_json::Map<String, Value>,
    id: Uuid,
    creating: bool,
) -> Result<Record, ApiError> {
    let o = Obj::new(body, "model");
    let mut e = Errors::default();
    let omschrijving = o.text("omschrijving")?;
    match &omschrijving {
        None => e.push(KPL_0004),
        Some(x) if x.chars().count() > 50 => e.push(KPL_0005),
        Some(_) => {}
    }
    let nummer = o.int("nummer")?;
    match nummer {
        None => e.push(KPL_0006),
        Some(n) if !(1..=999_999_999).contains(&n) => e.push(KPL_0007),
        Some(n) => {
            if admin
                .kostenplaats_nummers
                .range((n, Uuid::nil())..=(n, Uuid::max()))
                .any(|(_, k)| *k != id)
            {
                e.push(KPL_0008);
            }
        }
    }
    let nonactief = o.bool("nonactief")?.unwrap_or(false);
    e.check(!(creating && nonactief), KPL_0009);
    e.into_result()?;
    Ok(crate::seed::obj(json!({
        "omschrijving": omschrijving, "nonactief": nonactief, "nummer": nummer,
        "id": id.to_string(), "uri": format!("/kostenplaatsen/{id}"),
    })))
}

/// The (nummer, id) of every cost centre in `t` (the index behind KPL-0008).
pub(crate) fn nummers(t: &Table) -> BTreeSet<(i64, Uuid)> {
    t.iter().filter_map(entry).collect()
}

fn entry(r: &Record) -> Option<(i64, Uuid)> {
    Some((
        r.get("nummer").and_then(Value::as_i64)?,
        crate::table::record_id(r)?,
    ))
}

/// Not an OData list: query options are ignored, everything is returned.
pub(crate) async fn list(sh: St, ctx: Ctx, RawQuery(_q): RawQuery) -> Response {
    ok_records(sh.world().admins[ctx.0.0].kostenplaatsen.iter())
}

pub(crate) async fn get_one(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let w = sh.world();
    w.admins[ctx.0.0]
        .kostenplaatsen
        .get(&id)
        .map(ok_rec)
        .ok_or(ApiError::NotFound)
}

pub(crate) async fn create(sh: St, ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
    let m = parse_body(&body, None)?;
    if Obj::new(&m, "model").id()?.is_some() {
        return Err(ApiError::one(ALG_0100));
    }
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    let id = Uuid::new_v4();
    let r = build(admin, &m, id, true)?;
    let answer = created(&r);
    admin.kostenplaats_nummers.extend(entry(&r));
    admin.kostenplaatsen.insert(id, r);
    Ok(answer)
}

pub(crate) async fn update(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let m = parse_body(&body, None)?;
    if Obj::new(&m, "model").id()?.is_some_and(|b| b != id) {
        return Err(ApiError::one(ALG_0101));
    }
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    let old = admin.kostenplaatsen.get(&id).ok_or(ApiError::NotFound)?;
    let old = entry(old);
    let r = build(admin, &m, id, false)?;
    let answer = updated(&r);
    if let Some(old) = old {
        admin.kostenplaats_nummers.remove(&old);
    }
    admin.kostenplaats_nummers.extend(entry(&r));
    admin.kostenplaatsen.insert(id, r);
    Ok(answer)
}

/// Soft delete: the cost centre becomes `nonactief` (BOE-0026 "is verwijderd en staat op
/// nonactief").
pub(crate) async fn delete(sh: St, ctx: Ctx, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let mut w = sh.world();
    let r = w.admins[ctx.0.0]
        .kostenplaatsen
        .get_mut(&id)
        .ok_or(ApiError::NotFound)?;
    r.insert("nonactief".into(), Value::Bool(true));
    Ok(deleted())
}
