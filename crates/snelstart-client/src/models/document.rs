//! Attachments (`/documenten`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::DocumentId;
use crate::wire::api_enum;

api_enum! {
    /// The kind of record an attachment belongs to: the `{documenttype}` path segment of
    /// `POST /documenten/{documenttype}` and `GET /documenten/{documenttype}/{parentId}`.
    ///
    /// Only these three appear in the vendor definition; the integer values assume its order.
    pub enum DocumentType {
        /// Attached to a purchase booking.
        Inkoopboekingen = ("Inkoopboekingen", 0),
        /// Attached to a sales booking.
        Verkoopboekingen = ("Verkoopboekingen", 1),
        /// Attached to a relation.
        Relaties = ("Relaties", 2),
    }
}

/// An attachment as listed on a booking or relation (`DocumentModel`, in `documents`);
/// read-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct Document {
    /// The GUID of the booking or relation the attachment belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_identifier: Option<Uuid>,
    /// The file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Whether the attachment may not be changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// The id.
    pub id: DocumentId,
    /// The relative uri (`/documenten/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl Document {
    /// A reference to attachment `id`.
    pub fn new(id: DocumentId) -> Self {
        Document {
            parent_identifier: None,
            file_name: None,
            read_only: None,
            id,
            uri: None,
        }
    }
}

/// An attachment with its content (`DocumentContentModel`): the body of an upload and of
/// `PUT /documenten/{id}`, and the answer of `GET /documenten/{id}`.
///
/// `content` is kept as the **base64 text** that goes on the wire rather than as bytes, so a
/// document read from one place can be passed on without decoding and re-encoding. Use
/// [`DocumentContent::new`] to encode bytes and [`DocumentContent::decode_content`] to get
/// them back. SnelStart refuses files over 10 MB (BLG-0006, BLG-0013) and empty content
/// (BLG-0008, BLG-0011).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct DocumentContent {
    /// The file content, base64-encoded (standard alphabet, with padding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The GUID of the booking or relation to attach to; an unknown parent answers 404.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_identifier: Option<Uuid>,
    /// The file name; required (BLG-0007), no disallowed characters (BLG-0016).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Whether the attachment may not be changed afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// The id; `None` on upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<DocumentId>,
    /// The relative uri; read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl DocumentContent {
    /// An upload of `bytes` named `file_name`, attached to the record `parent` (a booking or
    /// relation id, e.g. a [`VerkoopboekingId`](crate::VerkoopboekingId)).
    pub fn new(parent: impl Into<Uuid>, file_name: impl Into<String>, bytes: &[u8]) -> Self {
        DocumentContent {
            content: Some(BASE64.encode(bytes)),
            parent_identifier: Some(parent.into()),
            file_name: Some(file_name.into()),
            // An upload says it is not read-only, as SnelStart's own clients do.
            read_only: Some(false),
            ..DocumentContent::default()
        }
    }

    /// The decoded file content (empty when there is none).
    ///
    /// # Errors
    ///
    /// When `content` is not valid base64.
    pub fn decode_content(&self) -> Result<Vec<u8>, base64::DecodeError> {
        match &self.content {
            Some(text) => BASE64.decode(text.trim()),
            None => Ok(Vec::new()),
        }
    }
}

/// One attachment in the list of `GET /documenten/{documenttype}/{parentId}`
/// (`VerkoopBoekingBijlageReferenceModel`).
///
/// The vendor reuses the sales-booking model for every document type, so the parent id is
/// always in `verkoopBoekingId`, whatever the parent's kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct DocumentListItem {
    /// The GUID of the parent record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verkoop_boeking_id: Option<Uuid>,
    /// The file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Whether the attachment may not be changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// The id.
    pub id: DocumentId,
    /// The relative uri (`/documenten/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl DocumentListItem {
    /// A list item with only its id set.
    pub fn new(id: DocumentId) -> Self {
        DocumentListItem {
            verkoop_boeking_id: None,
            file_name: None,
            read_only: None,
            id,
            uri: None,
        }
    }
}
