//! `/btwtarieven`: the history of Dutch VAT rates. Scope `settings:read`.

use crate::models::BtwTarief;
use crate::request::{Method, Request};

/// `GET /btwtarieven`: every rate period (not OData, one array).
pub fn list() -> Request<Vec<BtwTarief>> {
    Request::new(Method::Get, "btwtarieven", "btwtarieven").item_by_item()
}
