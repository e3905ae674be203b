//! `/inkoopfacturen`: purchase invoices (open items). Scope `orders:read`.

use crate::models::Inkoopfactuur;
use crate::odata::Query;
use crate::request::ListRequest;

/// `GET /inkoopfacturen` (OData). There is no by-id route in v2.
pub fn list(query: Query) -> ListRequest<Inkoopfactuur> {
    ListRequest::new("inkoopfacturen", "inkoopfacturen", query)
}
