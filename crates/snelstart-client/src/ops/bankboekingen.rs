//! `/bankboekingen`: bank bookings, the way payments reach invoices. Scopes `bankieren:read` /
//! `bankieren:write`.

use crate::BankboekingId;
use crate::error::Error;
use crate::models::Bankboeking;
use crate::odata::Query;
use crate::request::{Empty, ListRequest, Method, Request};

/// `GET /bankboekingen` (OData, at most 500 per page). With
/// `Filter` on `ModifiedOn` this is the change feed of payments.
pub fn list(query: Query) -> ListRequest<Bankboeking> {
    ListRequest::new("bankboekingen", "bankboekingen", query)
}

/// `POST /bankboekingen`: answers 201 with the stored booking.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body has an id or cannot be
/// serialized.
pub fn create(body: &Bankboeking) -> Result<Request<Bankboeking>, Error> {
    super::create("bankboekingen", "bankboekingen".to_owned(), body)
}

/// `GET /bankboekingen/{id}`.
pub fn get(id: BankboekingId) -> Request<Bankboeking> {
    Request::new(
        Method::Get,
        "bankboekingen/{id}",
        format!("bankboekingen/{id}"),
    )
}

/// `PUT /bankboekingen/{id}`: replaces the booking (and its allocations).
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body's id differs from `id` or the
/// body cannot be serialized.
pub fn update(id: BankboekingId, body: &Bankboeking) -> Result<Request<Bankboeking>, Error> {
    super::update(
        "bankboekingen/{id}",
        format!("bankboekingen/{id}"),
        id.as_uuid(),
        body,
    )
}

/// `DELETE /bankboekingen/{id}`: the allocations it made are undone.
pub fn delete(id: BankboekingId) -> Request<Empty> {
    Request::new(
        Method::Delete,
        "bankboekingen/{id}",
        format!("bankboekingen/{id}"),
    )
}
