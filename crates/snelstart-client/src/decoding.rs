//! Decoding of success bodies, exactly as [`Client`](crate::Client) does it: a record strictly,
//! a list item by item.
//!
//! Public so that a body kept from elsewhere (a log, a fixture, a fuzzer's input) can be decoded
//! the client's way without a server.

use serde::de::DeserializeOwned;

use crate::error::{DecodeError, Error, ItemDecodeProblem};
use crate::request::Method;

/// Decodes a list page item by item: the good items, a problem per bad item, and the number of
/// items on the page. A body that is not a JSON array is a [`DecodeError`].
///
/// # Errors
///
/// [`Error::Decode`] when the body is not a JSON array.
pub fn decode_page<T: DeserializeOwned>(
    method: Method,
    route: &'static str,
    status: u16,
    body: &[u8],
    first_index: u32,
) -> Result<(Vec<T>, Vec<ItemDecodeProblem>, usize), Error> {
    let raw: Vec<Box<serde_json::value::RawValue>> = decode(method, route, status, body)?;
    let mut items = Vec::with_capacity(raw.len());
    let mut problems = Vec::new();
    for (i, item) in raw.iter().enumerate() {
        let mut de = serde_json::Deserializer::from_str(item.get());
        // Unknown properties are noted as API drift (see `crate::drift`).
        let mut ignored = crate::drift::note_ignored;
        let de = serde_ignored::Deserializer::new(&mut de, &mut ignored);
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(v) => items.push(v),
            Err(e) => {
                let inner_path = e.path().to_string();
                let path = if inner_path == "." {
                    format!("[{i}]")
                } else {
                    format!("[{i}].{inner_path}")
                };
                let id = serde_json::from_str::<serde_json::Value>(item.get())
                    .ok()
                    .and_then(|v| v.get("id")?.as_str().map(str::to_owned));
                problems.push(ItemDecodeProblem {
                    method,
                    route,
                    index: first_index.saturating_add(u32::try_from(i).unwrap_or(u32::MAX)),
                    path,
                    message: e.inner().to_string(),
                    id,
                });
            }
        }
    }
    Ok((items, problems, raw.len()))
}

/// Decodes a success body, naming the JSON path of a value that does not fit. An empty body
/// (204, or a DELETE answered with nothing) decodes as JSON `null`.
///
/// # Errors
///
/// [`Error::Decode`] naming the JSON path of the first value that does not fit `T`.
pub fn decode<T: DeserializeOwned>(
    method: Method,
    route: &'static str,
    status: u16,
    body: &[u8],
) -> Result<T, Error> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        body
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    // Unknown properties are noted as API drift (see `crate::drift`). Not for the raw items
    // of a page: they are decoded (and noted) one by one in `decode_page`.
    let mut ignored = crate::drift::note_ignored;
    let de = serde_ignored::Deserializer::new(&mut de, &mut ignored);
    serde_path_to_error::deserialize(de).map_err(|e| {
        Error::from(DecodeError {
            method,
            route,
            status,
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })
    })
}
