//! Route handlers, one module per resource family.

pub(crate) mod bank;
pub(crate) mod boekingen;
pub(crate) mod documenten;
pub(crate) mod grootboeken;
pub(crate) mod kostenplaatsen;
pub(crate) mod memoriaal;
pub(crate) mod reference;
pub(crate) mod relaties;

use crate::error::{ApiError, codes};
use crate::server::Shared;
use crate::table::Record;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use uuid::Uuid;

/// The shared state every handler receives.
pub(crate) type St = axum::extract::State<std::sync::Arc<Shared>>;
/// The administration a handler works on.
pub(crate) type Ctx = axum::Extension<crate::server::AdminCtx>;

/// An id from the URL path; malformed → `ALG-0103`.
pub(crate) fn path_id(s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::one(codes::ALG_0103))
}

pub(crate) fn ok(v: Value) -> Response {
    (StatusCode::OK, Json(v)).into_response()
}

pub(crate) fn ok_rec(r: &Record) -> Response {
    ok(Value::Object(r.clone()))
}

pub(crate) fn created(r: &Record) -> Response {
    (StatusCode::CREATED, Json(Value::Object(r.clone()))).into_response()
}

/// DELETE answers 200 with an empty object.
pub(crate) fn deleted() -> Response {
    ok(Value::Object(serde_json::Map::new()))
}

/// An OData list over records in creation order (`$apply` is `ALG-0104`: only grootboekmutaties
/// have it, see [`crate::odata::list`]).
pub(crate) fn odata_list<'a>(
    sh: &Shared,
    raw: Option<&str>,
    records: impl Iterator<Item = &'a Record>,
) -> Result<Response, ApiError> {
    let policy = sh.config.validation.top_policy;
    Ok(ok(Value::Array(crate::odata::list(
        raw, policy, records, false,
    )?)))
}
