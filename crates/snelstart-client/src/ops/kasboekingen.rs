//! `/kasboekingen`: kas bookings, the way payments reach invoices. Scopes `kas:read` /
//! `kas:write`.

use crate::KasboekingId;
use crate::error::Error;
use crate::models::Kasboeking;
use crate::odata::Query;
use crate::request::{Empty, ListRequest, Method, Request};

/// `GET /kasboekingen` (OData, at most 500 per page). With
/// `Filter` on `ModifiedOn` this is the change feed of payments.
pub fn list(query: Query) -> ListRequest<Kasboeking> {
    ListRequest::new("kasboekingen", "kasboekingen", query)
}

/// `POST /kasboekingen`: answers 201 with the stored booking.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body has an id or cannot be
/// serialized.
pub fn create(body: &Kasboeking) -> Result<Request<Kasboeking>, Error> {
    super::create("kasboekingen", "kasboekingen".to_owned(), body)
}

/// `GET /kasboekingen/{id}`.
pub fn get(id: KasboekingId) -> Request<Kasboeking> {
    Request::new(
        Method::Get,
        "kasboekingen/{id}",
        format!("kasboekingen/{id}"),
    )
}

/// `PUT /kasboekingen/{id}`: replaces the booking (and its allocations).
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body's id differs from `id` or the
/// body cannot be serialized.
pub fn update(id: KasboekingId, body: &Kasboeking) -> Result<Request<Kasboeking>, Error> {
    super::update(
        "kasboekingen/{id}",
        format!("kasboekingen/{id}"),
        id.as_uuid(),
        body,
    )
}

/// `DELETE /kasboekingen/{id}`: the allocations it made are undone.
pub fn delete(id: KasboekingId) -> Request<Empty> {
    Request::new(
        Method::Delete,
        "kasboekingen/{id}",
        format!("kasboekingen/{id}"),
    )
}
