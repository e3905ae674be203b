//! `/documenten`: attachments of bookings and relations. Scope `documenten:read`; writes also
//! need `boekhouden:write` and `documenten:write`.

use uuid::Uuid;

use super::encode_segment;
use crate::DocumentId;
use crate::error::Error;
use crate::models::{DocumentContent, DocumentListItem, DocumentType};
use crate::request::{Empty, Method, Request};
use crate::wire::Reference;

/// `POST /documenten/{documenttype}`: attaches a file to the record `body.parentIdentifier`;
/// answers 200 with the new document's `{id, uri}` (404 when the parent does not exist).
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body has an id or cannot be
/// serialized.
pub fn upload(
    document_type: &DocumentType,
    body: &DocumentContent,
) -> Result<Request<Reference<DocumentId>>, Error> {
    super::create(
        "documenten/{documenttype}",
        format!("documenten/{}", encode_segment(document_type.as_str())),
        body,
    )
}

/// `GET /documenten/{documenttype}/{parentId}`: the attachments of one record, without content.
pub fn list(
    document_type: &DocumentType,
    parent: impl Into<Uuid>,
) -> Request<Vec<DocumentListItem>> {
    Request::new(
        Method::Get,
        "documenten/{documenttype}/{pid}",
        format!(
            "documenten/{}/{}",
            encode_segment(document_type.as_str()),
            parent.into()
        ),
    )
    .item_by_item()
}

/// `GET /documenten/{id}`: one attachment with its content.
pub fn get(id: DocumentId) -> Request<DocumentContent> {
    Request::new(Method::Get, "documenten/{id}", format!("documenten/{id}"))
}

/// `PUT /documenten/{id}`: replaces an attachment; answers `{id, uri}`.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body's id differs from `id` or the
/// body cannot be serialized.
pub fn update(
    id: DocumentId,
    body: &DocumentContent,
) -> Result<Request<Reference<DocumentId>>, Error> {
    super::update(
        "documenten/{id}",
        format!("documenten/{id}"),
        id.as_uuid(),
        body,
    )
}

/// `DELETE /documenten/{id}`.
pub fn delete(id: DocumentId) -> Request<Empty> {
    Request::new(
        Method::Delete,
        "documenten/{id}",
        format!("documenten/{id}"),
    )
}
