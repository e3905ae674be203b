//! `/v2/kostenplaatsen`: cost centres (not OData: the whole list at once).

use super::{Ctx, St, created, deleted, ok, ok_rec, path_id, updated};
use crate::error::{ApiError, Errors, codes::*};
use crate::json::{Obj, parse_body};
use crate::state::Admin;
use crate::table::Record;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::response::Response;
use serde_json::{Value, json};
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
            if admin.kostenplaatsen.iter().any(|k| {
                k.get("nummer").and_then(Value::as_i64) == Some(n)
                    && crate::table::record_id(k) != Some(id)
            }) {
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

/// Not an OData list: query options are ignored, everything is returned.
pub(crate) async fn list(sh: St, ctx: Ctx, RawQuery(_q): RawQuery) -> Response {
    ok(Value::Array(
        sh.world().admins[ctx.0.0].kostenplaatsen.values(),
    ))
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
    admin.kostenplaatsen.get(&id).ok_or(ApiError::NotFound)?;
    let r = build(admin, &m, id, false)?;
    let answer = updated(&r);
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
