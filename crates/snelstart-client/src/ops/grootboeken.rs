//! `/grootboeken`: ledger accounts. Scopes `boekhouden:read` / `boekhouden:write`.

use crate::GrootboekId;
use crate::error::Error;
use crate::models::Grootboek;
use crate::odata::Query;
use crate::request::{ListRequest, Method, Request};

/// `GET /grootboeken` (OData, at most 500 per page).
pub fn list(query: Query) -> ListRequest<Grootboek> {
    ListRequest::new("grootboeken", "grootboeken", query)
}

/// `GET /grootboeken/{id}`.
pub fn get(id: GrootboekId) -> Request<Grootboek> {
    Request::new(Method::Get, "grootboeken/{id}", format!("grootboeken/{id}"))
}

/// `POST /grootboeken`: creates a ledger (BOE-0086 when the number exists). There is no update
/// or delete in v2.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body has an id or cannot be
/// serialized.
pub fn create(body: &Grootboek) -> Result<Request<Grootboek>, Error> {
    super::create("grootboeken", "grootboeken".to_owned(), body)
}
