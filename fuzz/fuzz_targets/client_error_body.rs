//! The client's error-body decoding on any bytes (`ApiError::from_response`: SnelStart's error
//! arrays, ASP.NET model state, `{Message}`, the gateway's `{statusCode, message}`, plain
//! text), with any status: never a panic, never an error without an item, and the error's
//! `Display`, `Debug` and predicates never panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snelstart_client::Method;
use snelstart_client::error::ApiError;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data.split_first() {
        Some((first, rest)) => (400 + u16::from(*first) % 200, rest),
        None => (400, data),
    };
    let error = ApiError::from_response(Method::Post, "fuzz", status, None, None, body);
    assert!(!error.errors.is_empty(), "an error without an item");
    let _ = error.to_string();
    let _ = format!("{error:?}");
    let error = snelstart_client::Error::from(error);
    let _ = error.is_retryable();
    let _ = error.outcome_uncertain();
    let _ = error.to_string();
});
