//! `/kostenplaatsen`: cost centres. Scopes `settings:read` / `settings:write`.

use crate::KostenplaatsId;
use crate::error::Error;
use crate::models::Kostenplaats;
use crate::request::{Empty, Method, Request};

/// `GET /kostenplaatsen`: every cost centre (not OData, one array; no `modifiedOn`, so re-read
/// the whole list to see changes).
pub fn list() -> Request<Vec<Kostenplaats>> {
    Request::new(Method::Get, "kostenplaatsen", "kostenplaatsen").item_by_item()
}

/// `GET /kostenplaatsen/{id}`.
pub fn get(id: KostenplaatsId) -> Request<Kostenplaats> {
    Request::new(
        Method::Get,
        "kostenplaatsen/{id}",
        format!("kostenplaatsen/{id}"),
    )
}

/// `POST /kostenplaatsen`: creates a cost centre (KPL-0008 when the number exists).
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body has an id or cannot be
/// serialized.
pub fn create(body: &Kostenplaats) -> Result<Request<Kostenplaats>, Error> {
    super::create("kostenplaatsen", "kostenplaatsen".to_owned(), body)
}

/// `PUT /kostenplaatsen/{id}`: replaces the cost centre.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body's id differs from `id` or the
/// body cannot be serialized.
pub fn update(id: KostenplaatsId, body: &Kostenplaats) -> Result<Request<Kostenplaats>, Error> {
    super::update(
        "kostenplaatsen/{id}",
        format!("kostenplaatsen/{id}"),
        id.as_uuid(),
        body,
    )
}

/// `DELETE /kostenplaatsen/{id}`.
pub fn delete(id: KostenplaatsId) -> Request<Empty> {
    Request::new(
        Method::Delete,
        "kostenplaatsen/{id}",
        format!("kostenplaatsen/{id}"),
    )
}
