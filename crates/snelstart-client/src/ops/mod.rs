//! Typed operations: one module per resource, one plain function per endpoint.
//!
//! Each function only *describes* the call and returns a [`Request`] (or a
//! [`ListRequest`](crate::request::ListRequest) for OData lists); a client executes it. That
//! keeps every operation testable without a network and gives the client a single execute
//! path.
//!
//! ```
//! use snelstart_client::ops;
//! use snelstart_client::odata::{Filter, Query};
//! use snelstart_client::models::{RelatieWrite, Relatiesoort};
//! # fn main() -> Result<(), snelstart_client::Error> {
//! let open_customers = ops::relaties::list(Query::new().filter(Filter::relatiesoort_is("Klant")));
//! assert_eq!(open_customers.path(), "relaties");
//!
//! let create = ops::relaties::create(&RelatieWrite::new(Relatiesoort::Klant, "Het Wiel"))?;
//! assert_eq!(create.method().as_str(), "POST");
//! assert_eq!(create.body().unwrap()["naam"], "Het Wiel");
//! # Ok(()) }
//! ```
//!
//! Paths are relative to the API base URL and never start with `/`. Write operations check
//! what SnelStart would refuse about ids before anything is sent: a create body must not carry
//! an id (ALG-0100), and an update body's id must match the path (ALG-0101); an update body
//! without an id gets the path id filled in.

pub mod bankboekingen;
pub mod btwtarieven;
pub mod company_info;
pub mod dagboeken;
pub mod documenten;
pub mod echo;
pub mod grootboeken;
pub mod grootboekmutaties;
pub mod inkoopboekingen;
pub mod inkoopfacturen;
pub mod kasboekingen;
pub mod kostenplaatsen;
pub mod landen;
pub mod memoriaalboekingen;
pub mod relaties;
pub mod verkoopboekingen;
pub mod verkoopfacturen;

use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::{Error, NotSentError};
use crate::request::{Method, Request};

/// Serializes a body, naming the route when that fails.
fn to_json<B: Serialize + ?Sized>(
    route: &'static str,
    body: &B,
) -> Result<serde_json::Value, Error> {
    serde_json::to_value(body).map_err(|e| {
        Error::from(NotSentError::InvalidBody {
            route,
            source: Box::new(e),
        })
    })
}

/// The id a body carries, if any: `None` for an absent, `null` or all-zero id (the vendor's
/// .NET client sends the zero GUID on create).
fn body_id(route: &'static str, body: &serde_json::Value) -> Result<Option<Uuid>, Error> {
    match body.get("id") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(text)) => match Uuid::parse_str(text) {
            Ok(id) if id.is_nil() => Ok(None),
            Ok(id) => Ok(Some(id)),
            Err(_) => Err(invalid(
                route,
                format!("the body's `id` `{text}` is not a GUID"),
            )),
        },
        Some(other) => Err(invalid(
            route,
            format!("the body's `id` must be a GUID string, not {other}"),
        )),
    }
}

fn invalid(route: &'static str, message: String) -> Error {
    Error::from(NotSentError::InvalidRequest { route, message })
}

/// `POST path` with `body`, which must not carry an id yet (SnelStart assigns it; a real id
/// gives ALG-0100).
pub(crate) fn create<B, T>(route: &'static str, path: String, body: &B) -> Result<Request<T>, Error>
where
    B: Serialize + ?Sized,
    T: DeserializeOwned,
{
    let value = to_json(route, body)?;
    if let Some(id) = body_id(route, &value)? {
        return Err(invalid(
            route,
            format!("a new record must not have an `id` (got {id}); SnelStart assigns it"),
        ));
    }
    Ok(Request::new(Method::Post, route, path).body_value(value))
}

/// `PUT path` with `body` as a full replacement of record `id`. The body's id, when present,
/// must be `id` (ALG-0101 otherwise); when absent it is filled in, because SnelStart's handling
/// of a PUT without a body id is not documented.
pub(crate) fn update<B, T>(
    route: &'static str,
    path: String,
    id: Uuid,
    body: &B,
) -> Result<Request<T>, Error>
where
    B: Serialize + ?Sized,
    T: DeserializeOwned,
{
    let mut value = to_json(route, body)?;
    match body_id(route, &value)? {
        Some(body_id) if body_id != id => {
            return Err(invalid(
                route,
                format!("the body's `id` {body_id} differs from the id in the path {id}"),
            ));
        }
        _ => {}
    }
    match value.as_object_mut() {
        Some(object) => {
            object.insert("id".to_owned(), serde_json::Value::String(id.to_string()));
        }
        None => return Err(invalid(route, "the body must be a JSON object".to_owned())),
    }
    Ok(Request::new(Method::Put, route, path).body_value(value))
}

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters), so a
/// free-text value such as an echo input can never add a segment or a query.
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Empty;

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode_segment("ping-42"), "ping-42");
        assert_eq!(encode_segment("a/b?c=d e"), "a%2Fb%3Fc%3Dd%20e");
        assert_eq!(encode_segment("é"), "%C3%A9");
        assert_eq!(encode_segment(".."), "..");
    }

    #[test]
    fn create_refuses_a_real_id_but_accepts_the_zero_guid() {
        let with_id = serde_json::json!({"id": "a1b2c3d4-0000-4000-8000-00000000000f"});
        let err = create::<_, Empty>("relaties", "relaties".into(), &with_id).unwrap_err();
        assert!(err.to_string().contains("must not have an `id`"), "{err}");
        let zero = serde_json::json!({"id": "00000000-0000-0000-0000-000000000000"});
        assert!(create::<_, Empty>("relaties", "relaties".into(), &zero).is_ok());
        let bad = serde_json::json!({"id": 7});
        assert!(create::<_, Empty>("relaties", "relaties".into(), &bad).is_err());
    }

    #[test]
    fn update_fills_in_or_checks_the_id() {
        let id = Uuid::parse_str("a1b2c3d4-0000-4000-8000-00000000000f").unwrap();
        let req: Request<Empty> = update(
            "relaties/{id}",
            format!("relaties/{id}"),
            id,
            &serde_json::json!({"naam": "x"}),
        )
        .unwrap();
        assert_eq!(req.body().unwrap()["id"], id.to_string());
        let other = serde_json::json!({"id": Uuid::nil().to_string().replace('0', "1")});
        let err =
            update::<_, Empty>("relaties/{id}", format!("relaties/{id}"), id, &other).unwrap_err();
        assert!(err.to_string().contains("differs"), "{err}");
        assert!(update::<_, Empty>("x", "x".into(), id, &serde_json::json!([1])).is_err());
    }
}
