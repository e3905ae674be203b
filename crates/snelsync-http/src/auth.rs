//! Who may look and act.
//!
//! - The JSON API takes `Authorization: Bearer <token>`.
//! - The pages take a session cookie, made by logging in with the same token at `/login`
//!   (`HttpOnly`, `SameSite=Strict`); every form carries a CSRF token derived from the
//!   session, so another site cannot make a logged-in browser act.
//!
//! Without a configured token nobody gets in.

use std::sync::PoisonError;

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::constant_time_eq;
use crate::service::Inner;

/// The name of the session cookie.
pub(crate) const SESSION_COOKIE: &str = "snelsync_session";

/// Whether the request carries the bearer token.
pub(crate) fn bearer_ok<S, Src, Snk>(inner: &Inner<S, Src, Snk>, headers: &HeaderMap) -> bool {
    let Some(token) = &inner.config.token else {
        return false;
    };
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| token.matches(given.trim()))
}

/// The session id of a logged-in browser, if the request carries a live one.
pub(crate) fn session<S, Src, Snk>(
    inner: &Inner<S, Src, Snk>,
    headers: &HeaderMap,
) -> Option<String> {
    inner.config.token.as_ref()?;
    let cookies = headers.get_all(COOKIE);
    let id = cookies
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())?;
    let sessions = inner
        .sessions
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    sessions.contains(&id).then_some(id)
}

/// Starts a session when `given` is the token.
pub(crate) fn login<S, Src, Snk>(inner: &Inner<S, Src, Snk>, given: &str) -> Option<String> {
    let token = inner.config.token.as_ref()?;
    if !token.matches(given.trim()) {
        return None;
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let id = hex::encode(bytes);
    inner
        .sessions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id.clone());
    Some(id)
}

/// Ends a session.
pub(crate) fn logout<S, Src, Snk>(inner: &Inner<S, Src, Snk>, session: &str) {
    inner
        .sessions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(session);
}

/// The CSRF token of a session (a hash of it: forms can carry it, other sites cannot know it).
pub(crate) fn csrf_token(session: &str) -> String {
    hex::encode(Sha256::digest(format!("snelsync-csrf:{session}")))
}

/// Whether a form's CSRF token belongs to the session.
pub(crate) fn csrf_ok(session: &str, given: &str) -> bool {
    constant_time_eq(csrf_token(session).as_bytes(), given.as_bytes())
}

/// The `Set-Cookie` value for a session.
pub(crate) fn session_cookie(id: &str) -> String {
    format!("{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/")
}

/// The `Set-Cookie` value that removes the session cookie.
pub(crate) fn cleared_cookie() -> String {
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}
