//! `/inkoopboekingen`: purchase bookings. Scopes `boekhouden:read` / `boekhouden:write`.
//!
//! There is no list endpoint: enumerate with
//! [`relaties::inkoopboekingen`](super::relaties::inkoopboekingen) or through
//! [`inkoopfacturen::list`](super::inkoopfacturen::list).

use crate::InkoopboekingId;
use crate::error::Error;
use crate::models::{Inkoopboeking, UblContent};
use crate::request::{Empty, Method, Request};

/// `POST /inkoopboekingen`: books a purchase invoice; answers 201.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body has an id or cannot be
/// serialized.
pub fn create(body: &Inkoopboeking) -> Result<Request<Inkoopboeking>, Error> {
    super::create("inkoopboekingen", "inkoopboekingen".to_owned(), body)
}

/// `GET /inkoopboekingen/{id}`.
pub fn get(id: InkoopboekingId) -> Request<Inkoopboeking> {
    Request::new(
        Method::Get,
        "inkoopboekingen/{id}",
        format!("inkoopboekingen/{id}"),
    )
}

/// `PUT /inkoopboekingen/{id}`: replaces the booking.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body's id differs from `id` or the
/// body cannot be serialized.
pub fn update(id: InkoopboekingId, body: &Inkoopboeking) -> Result<Request<Inkoopboeking>, Error> {
    super::update(
        "inkoopboekingen/{id}",
        format!("inkoopboekingen/{id}"),
        id.as_uuid(),
        body,
    )
}

/// `DELETE /inkoopboekingen/{id}`.
pub fn delete(id: InkoopboekingId) -> Request<Empty> {
    Request::new(
        Method::Delete,
        "inkoopboekingen/{id}",
        format!("inkoopboekingen/{id}"),
    )
}

/// `POST /inkoopboekingen/ubl`: books a UBL invoice (answers 200 with the booking); needs
/// `orders:write` too.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body cannot be serialized.
pub fn ubl(body: &UblContent) -> Result<Request<Inkoopboeking>, Error> {
    Request::with_body(
        Method::Post,
        "inkoopboekingen/ubl",
        "inkoopboekingen/ubl",
        body,
    )
}
