//! Read-mostly reference data: echo, companyInfo, landen, dagboeken, btwtarieven.

use super::{Ctx, St, ok, ok_rec, path_id};
use crate::error::ApiError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// `GET /v2/echo/{input}`: the input as a JSON string.
pub(crate) async fn echo(Path(input): Path<String>) -> Response {
    if input.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Json(Value::String(input)).into_response()
    }
}

/// `GET /v2/echo/`: no input, 204.
pub(crate) async fn echo_empty() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn company_info(sh: St, ctx: Ctx) -> Response {
    ok(sh.world().admins[ctx.0.0].company.clone())
}

/// `PUT /v2/companyInfo`: only `factureerBuitenlandsBtw` changes.
pub(crate) async fn put_company_info(sh: St, ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
    let m = crate::json::parse_body(&body, None)?;
    let o = crate::json::Obj::new(&m, "model");
    let flag = o.bool("factureerBuitenlandsBtw")?.unwrap_or(false);
    let mut w = sh.world();
    let c = &mut w.admins[ctx.0.0].company;
    c["factureerBuitenlandsBtw"] = Value::Bool(flag);
    let answer = ok(c.clone());
    // Company info has no `id`: no record to note as written, unless one is ever added.
    let id = c
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| uuid::Uuid::parse_str(s).ok());
    Ok(super::written(answer, id))
}

pub(crate) async fn landen(sh: St, ctx: Ctx) -> Response {
    super::ok_records(sh.world().admins[ctx.0.0].landen.iter())
}

pub(crate) async fn land(sh: St, ctx: Ctx, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let w = sh.world();
    w.admins[ctx.0.0]
        .landen
        .get(&id)
        .map(ok_rec)
        .ok_or(ApiError::NotFound)
}

pub(crate) async fn dagboeken(sh: St, ctx: Ctx) -> Response {
    super::ok_records(sh.world().admins[ctx.0.0].dagboeken.iter())
}

pub(crate) async fn btwtarieven(sh: St, ctx: Ctx) -> Response {
    ok(Value::Array(sh.world().admins[ctx.0.0].btwtarieven.clone()))
}
