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

/// The record a successful write (`POST`, `PUT`) answered with: the `id` of its JSON answer.
/// The gateway reads it to note the caller as the record's writer
/// ([`crate::writers::WriterLog`]) without parsing the answer again. A write answer without
/// it has no record to note (`PUT /companyInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written(pub(crate) Uuid);

/// Marks `response` as the answer of a write of record `id` (see [`Written`]).
pub(crate) fn written(mut response: Response, id: Option<Uuid>) -> Response {
    if let Some(id) = id {
        response.extensions_mut().insert(Written(id));
    }
    response
}

/// A JSON answer serialized straight from `value` (no copy into a [`Value`] first); the same
/// bytes and headers as `(status, Json(value))`.
pub(crate) fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response {
    // A relation is about 1.5 KB: one allocation instead of a series of regrowths.
    let mut buf = Vec::with_capacity(2048);
    match serde_json::to_writer(&mut buf, value) {
        Ok(()) => (
            status,
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            buf,
        )
            .into_response(),
        // What `Json` answers when serialization fails (a map key that is not a string; our
        // records never have one).
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// 200 with stored records as a JSON array, serialized from the table (no copies).
pub(crate) fn ok_records<'a>(records: impl Iterator<Item = &'a Record>) -> Response {
    json_response(StatusCode::OK, &records.collect::<Vec<_>>())
}

/// 200 with a stored record (a read).
pub(crate) fn ok_rec(r: &Record) -> Response {
    json_response(StatusCode::OK, r)
}

/// 200 with the record a `PUT` wrote, marked as written.
pub(crate) fn updated(r: &Record) -> Response {
    written(json_response(StatusCode::OK, r), crate::table::record_id(r))
}

/// 201 with the record a `POST` created, marked as written.
pub(crate) fn created(r: &Record) -> Response {
    written(
        json_response(StatusCode::CREATED, r),
        crate::table::record_id(r),
    )
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
    let page = crate::odata::page(raw, policy, records, false)?;
    Ok(json_response(StatusCode::OK, &page))
}
