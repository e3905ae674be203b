//! `/landen`: countries. Scope `settings:read`.

use crate::LandId;
use crate::models::Land;
use crate::request::{Method, Request};

/// `GET /landen`: every country (not OData, one array).
pub fn list() -> Request<Vec<Land>> {
    Request::new(Method::Get, "landen", "landen").item_by_item()
}

/// `GET /landen/{id}`.
pub fn get(id: LandId) -> Request<Land> {
    Request::new(Method::Get, "landen/{id}", format!("landen/{id}"))
}
