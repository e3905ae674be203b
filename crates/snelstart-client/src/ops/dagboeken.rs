//! `/dagboeken`: journals. Scope `boekhouden:read`.

use crate::models::Dagboek;
use crate::request::{Method, Request};

/// `GET /dagboeken`: every journal (not OData, one array).
pub fn list() -> Request<Vec<Dagboek>> {
    Request::new(Method::Get, "dagboeken", "dagboeken").item_by_item()
}
