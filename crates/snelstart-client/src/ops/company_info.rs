//! `/companyInfo`: the administration's own data. Scopes `settings:read` / `settings:write`.

use crate::error::Error;
use crate::models::CompanyInfo;
use crate::request::{Method, Request};

/// `GET /companyInfo`: tells which administration the koppelsleutel addresses.
pub fn get() -> Request<CompanyInfo> {
    Request::new(Method::Get, "companyInfo", "companyInfo")
}

/// `PUT /companyInfo`: SnelStart only applies `factureerBuitenlandsBtw` from the body.
///
/// # Errors
///
/// [`NotSentError`](crate::error::NotSentError) when the body cannot be serialized.
pub fn update(body: &CompanyInfo) -> Result<Request<CompanyInfo>, Error> {
    Request::with_body(Method::Put, "companyInfo", "companyInfo", body)
}
