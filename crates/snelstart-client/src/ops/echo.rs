//! `/echo/{input}`: the connectivity check (no scope needed).

use super::encode_segment;
use crate::request::{Method, Request};

/// `GET /echo/{input}`: answers 200 with `input` as a JSON string, or 204 (no body, `None`)
/// when the input is empty. `input` is percent-encoded into one path segment.
///
/// An executing client must decode an empty success body as `null` for this to yield `None`.
pub fn get(input: &str) -> Request<Option<String>> {
    Request::new(
        Method::Get,
        "echo/{input}",
        format!("echo/{}", encode_segment(input)),
    )
}
