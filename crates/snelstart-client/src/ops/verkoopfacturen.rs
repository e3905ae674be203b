//! `/verkoopfacturen`: sales invoices (open items). Scope `orders:read`.

use crate::VerkoopfactuurId;
use crate::models::Verkoopfactuur;
use crate::odata::Query;
use crate::request::{ListRequest, Method, Request};

/// `GET /verkoopfacturen` (OData, at most 500 per page).
///
/// Open items of one customer: `Relatie/Id eq guid'…' and OpenstaandSaldo ne 0`; a change
/// feed: `ModifiedOn gt datetime'…'`.
pub fn list(query: Query) -> ListRequest<Verkoopfactuur> {
    ListRequest::new("verkoopfacturen", "verkoopfacturen", query)
}

/// `GET /verkoopfacturen/{id}`.
pub fn get(id: VerkoopfactuurId) -> Request<Verkoopfactuur> {
    Request::new(
        Method::Get,
        "verkoopfacturen/{id}",
        format!("verkoopfacturen/{id}"),
    )
}

/// `GET /verkoopfacturen/{id}/ubl`: the invoice as UBL. The vendor does not pin down the
/// response shape (its definition says an array of objects, its client reads XML), so it is
/// returned as raw JSON.
pub fn ubl(id: VerkoopfactuurId) -> Request<serde_json::Value> {
    Request::new(
        Method::Get,
        "verkoopfacturen/{id}/ubl",
        format!("verkoopfacturen/{id}/ubl"),
    )
}
