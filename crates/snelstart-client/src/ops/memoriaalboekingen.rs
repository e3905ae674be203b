//! `/memoriaalboekingen`: journal entries. Scopes `memoriaal:read` / `memoriaal:write`.

use crate::MemoriaalboekingId;
use crate::error::Error;
use crate::models::Memoriaalboeking;
use crate::request::{Empty, Method, Request};

/// `POST /memoriaalboekingen`: answers 201 with the stored entry.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body has an id or cannot be
/// serialized.
pub fn create(body: &Memoriaalboeking) -> Result<Request<Memoriaalboeking>, Error> {
    super::create("memoriaalboekingen", "memoriaalboekingen".to_owned(), body)
}

/// `GET /memoriaalboekingen/{id}`.
pub fn get(id: MemoriaalboekingId) -> Request<Memoriaalboeking> {
    Request::new(
        Method::Get,
        "memoriaalboekingen/{id}",
        format!("memoriaalboekingen/{id}"),
    )
}

/// `PUT /memoriaalboekingen/{id}`: replaces the entry.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body's id differs from `id` or the
/// body cannot be serialized.
pub fn update(
    id: MemoriaalboekingId,
    body: &Memoriaalboeking,
) -> Result<Request<Memoriaalboeking>, Error> {
    super::update(
        "memoriaalboekingen/{id}",
        format!("memoriaalboekingen/{id}"),
        id.as_uuid(),
        body,
    )
}

/// `DELETE /memoriaalboekingen/{id}`.
pub fn delete(id: MemoriaalboekingId) -> Request<Empty> {
    Request::new(
        Method::Delete,
        "memoriaalboekingen/{id}",
        format!("memoriaalboekingen/{id}"),
    )
}
