//! `/verkoopboekingen`: sales bookings. Scopes `boekhouden:read` / `boekhouden:write`.
//!
//! There is no list endpoint: enumerate with
//! [`relaties::verkoopboekingen`](super::relaties::verkoopboekingen) or through
//! [`verkoopfacturen::list`](super::verkoopfacturen::list).

use crate::VerkoopboekingId;
use crate::error::Error;
use crate::models::Verkoopboeking;
use crate::request::{Empty, Method, Request};

/// `POST /verkoopboekingen`: books a sales invoice; answers 201 with the stored booking.
///
/// Not idempotent, but invoice numbers are unique: after an uncertain outcome a retry that
/// fails with BOE-0021 means the first attempt succeeded; look it up with
/// `GET /verkoopfacturen?$filter=Factuurnummer eq '…'`.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body has an id or cannot be
/// serialized.
pub fn create(body: &Verkoopboeking) -> Result<Request<Verkoopboeking>, Error> {
    super::create("verkoopboekingen", "verkoopboekingen".to_owned(), body)
}

/// `GET /verkoopboekingen/{id}`.
pub fn get(id: VerkoopboekingId) -> Request<Verkoopboeking> {
    Request::new(
        Method::Get,
        "verkoopboekingen/{id}",
        format!("verkoopboekingen/{id}"),
    )
}

/// `PUT /verkoopboekingen/{id}`: replaces the booking.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body's id differs from `id` or the
/// body cannot be serialized.
pub fn update(
    id: VerkoopboekingId,
    body: &Verkoopboeking,
) -> Result<Request<Verkoopboeking>, Error> {
    super::update(
        "verkoopboekingen/{id}",
        format!("verkoopboekingen/{id}"),
        id.as_uuid(),
        body,
    )
}

/// `DELETE /verkoopboekingen/{id}` (refused when paid, BOE-0083, or linked, BOE-0046..0050).
pub fn delete(id: VerkoopboekingId) -> Request<Empty> {
    Request::new(
        Method::Delete,
        "verkoopboekingen/{id}",
        format!("verkoopboekingen/{id}"),
    )
}
