//! Who is signed in to the portal: the referrer of the `handoff_portal` cookie's session, for
//! the portal's server functions (which live under `/p/_rpc/` so the cookie, scoped to `/p`,
//! reaches them).

use axum::http::{HeaderMap, header, request::Parts};
use chrono::Utc;
use leptos::prelude::use_context;

use crate::{
    error::AppError,
    ssr::{
        auth,
        entities::referrer,
        services::{
            portal::{SESSION_COOKIE, tokens},
            secrets::{constant_time_eq, keyed_digest},
        },
    },
};

/// The value of cookie `name` in the request headers.
pub fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The current request's parts (headers, peer), as provided to server functions.
pub fn request_parts() -> Result<Parts, AppError> {
    use_context::<Parts>()
        .ok_or_else(|| AppError::internal("portal_session::request_parts", "no request in context"))
}

/// The portal session cookie's token, if the request carries one.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    read_cookie(headers, SESSION_COOKIE).filter(|t| !t.is_empty())
}

/// The referrer signed in to the portal in this request, if any.
pub async fn current_referrer() -> Result<Option<referrer::Model>, AppError> {
    let state = auth::state()?;
    let parts = request_parts()?;
    let Some(token) = session_token(&parts.headers) else {
        return Ok(None);
    };
    tokens::session_referrer(&state.db, token, Utc::now()).await
}

/// The signed-in referrer, or `Unauthenticated`.
pub async fn require_referrer() -> Result<referrer::Model, AppError> {
    current_referrer().await?.ok_or(AppError::Unauthenticated)
}

/// Cookie name of the referrer's own browser: set when they open their portal, so a sign-up from
/// the same browser is recognised as a self-referral.
pub const PORTAL_COOKIE: &str = "handoff_me";

/// How long the portal cookie lasts: a year.
pub const PORTAL_MAX_AGE_SECS: i64 = 365 * 24 * 3600;

/// The portal cookie's value for referrer `id`: `id.mac`.
pub fn encode_portal_visitor(secret: &[u8], id: i64) -> String {
    let payload = id.to_string();
    format!(
        "{payload}.{}",
        keyed_digest(secret, "portal-visitor", &payload, 32)
    )
}

/// The referrer whose browser this is, if it carries a valid portal cookie.
pub fn portal_visitor(headers: &HeaderMap, secret: &[u8]) -> Option<i64> {
    let value = read_cookie(headers, PORTAL_COOKIE)?;
    let (payload, signature) = value.rsplit_once('.')?;
    let expected = keyed_digest(secret, "portal-visitor", payload, 32);
    if !constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        return None;
    }
    payload.parse().ok()
}

/// A `Set-Cookie` value for the portal cookie.
pub fn set_portal_cookie(value: &str, secure: bool) -> String {
    format!(
        "{PORTAL_COOKIE}={value}; Path=/; Max-Age={PORTAL_MAX_AGE_SECS}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}
