//! `/relaties`: customers and suppliers.
//!
//! Scopes: `relaties:read` / `relaties:write`; the booking sub-lists also need
//! `boekhouden:read`.

use crate::RelatieId;
use crate::error::Error;
use crate::models::{
    DoorlopendeIncassoMachtiging, Inkoopboeking, Relatie, RelatieCustomFields,
    RelatieUpdatedCustomFields, RelatieWrite, Verkoopboeking,
};
use crate::odata::Query;
use crate::request::{Empty, ListRequest, Method, Request};

/// `GET /relaties` (OData, at most 500 per page): relations matching `query`.
///
/// Filter on UpperCamelCase properties, e.g. `Relatiesoort/any(r:r eq 'Klant')` via
/// [`Filter::relatiesoort_is`](crate::odata::Filter::relatiesoort_is), or
/// `ModifiedOn gt datetime'…'` for a change feed.
pub fn list(query: Query) -> ListRequest<Relatie> {
    ListRequest::new("relaties", "relaties", query)
}

/// `GET /relaties/{id}`: one relation (404 when unknown).
pub fn get(id: RelatieId) -> Request<Relatie> {
    Request::new(Method::Get, "relaties/{id}", format!("relaties/{id}"))
}

/// `POST /relaties`: creates a relation; answers 201 with the stored relation.
///
/// Not idempotent: after an uncertain outcome look the relation up (by `relatiecode` or name)
/// before trying again.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body cannot be serialized.
pub fn create(body: &RelatieWrite) -> Result<Request<Relatie>, Error> {
    super::create("relaties", "relaties".to_owned(), body)
}

/// `PUT /relaties/{id}`: replaces the relation (fields left out are cleared); the path id is
/// added to the body.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body cannot be serialized.
pub fn update(id: RelatieId, body: &RelatieWrite) -> Result<Request<Relatie>, Error> {
    super::update(
        "relaties/{id}",
        format!("relaties/{id}"),
        id.as_uuid(),
        body,
    )
}

/// `DELETE /relaties/{id}`. Refused while the relation has open items or orders (REL-0049 ..
/// REL-0054); a deleted relation may stay visible as `nonactief`.
pub fn delete(id: RelatieId) -> Request<Empty> {
    Request::new(Method::Delete, "relaties/{id}", format!("relaties/{id}"))
}

/// `GET /relaties/{id}/verkoopboekingen`: all sales bookings of a customer (not OData, one
/// array).
pub fn verkoopboekingen(id: RelatieId) -> Request<Vec<Verkoopboeking>> {
    Request::new(
        Method::Get,
        "relaties/{id}/verkoopboekingen",
        format!("relaties/{id}/verkoopboekingen"),
    )
    .item_by_item()
}

/// `GET /relaties/{id}/inkoopboekingen`: all purchase bookings of a supplier (not OData, one
/// array).
pub fn inkoopboekingen(id: RelatieId) -> Request<Vec<Inkoopboeking>> {
    Request::new(
        Method::Get,
        "relaties/{id}/inkoopboekingen",
        format!("relaties/{id}/inkoopboekingen"),
    )
    .item_by_item()
}

/// `GET /relaties/{id}/doorlopendeincassomachtigingen`: the customer's recurring direct-debit
/// mandates.
pub fn doorlopende_incasso_machtigingen(
    id: RelatieId,
) -> Request<Vec<DoorlopendeIncassoMachtiging>> {
    Request::new(
        Method::Get,
        "relaties/{id}/doorlopendeincassomachtigingen",
        format!("relaties/{id}/doorlopendeincassomachtigingen"),
    )
    .item_by_item()
}

/// `GET /relaties/{id}/customFields`: the relation's custom fields with their definitions.
pub fn custom_fields(id: RelatieId) -> Request<RelatieCustomFields> {
    Request::new(
        Method::Get,
        "relaties/{id}/customFields",
        format!("relaties/{id}/customFields"),
    )
}

/// `PUT /relaties/{id}/customFields`: sets custom field values (REF-0001 .. REF-0016 on bad
/// input).
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body cannot be serialized.
pub fn put_custom_fields(
    id: RelatieId,
    body: &RelatieUpdatedCustomFields,
) -> Result<Request<RelatieCustomFields>, Error> {
    Request::with_body(
        Method::Put,
        "relaties/{id}/customFields",
        format!("relaties/{id}/customFields"),
        body,
    )
}
