//! HTTP statuses for server functions' errors.
//!
//! The server function layer answers every error with 500, a bad field as much as a failure.
//! The browser's client reads the error from the body whatever the status (any 4xx or 5xx), so
//! this layer gives each error the status the REST API gives it (`ApiError::status`): a session
//! that expired answers 401, a role that may not 403, a bad field 422, a request the server
//! function layer could not read 400. Only failures on the server's side then count as server
//! errors in access logs and monitoring. Plain form posts without JavaScript are redirected back
//! to their page (302) before this runs, and are left as they are.
//!
//! Two consequences, both fine today: the session layer saves a changed session unless the
//! answer is a 5xx, so a server function must not change the session before it fails (none
//! does: login and logout change it only on success); and a 401 here has no `WWW-Authenticate`
//! header, since a session cookie is not an HTTP authentication scheme a client could answer.

use axum::{
    body::{Body, to_bytes},
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;

use app::error::AppError;

use super::api::error::ApiError;

/// The most of an error body read to find its status; `AppError`s are a few hundred bytes.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// Sets the status of a server function's error answer from the error it carries.
pub async fn error_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    // A body of unknown or large size is passed on as it is rather than cut.
    let small = axum::body::HttpBody::size_hint(response.body())
        .upper()
        .is_some_and(|upper| upper <= MAX_ERROR_BYTES as u64);
    if !small {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match to_bytes(body, MAX_ERROR_BYTES).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "could not read a server function's error answer");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    match serde_json::from_slice::<AppError>(&bytes) {
        // Transport errors on this side are requests the server function layer could not
        // read (missing or malformed arguments); the REST API never sends them.
        Ok(AppError::Transport { .. }) => parts.status = StatusCode::BAD_REQUEST,
        Ok(error) => {
            parts.status = ApiError(error).status();
            if parts.status == StatusCode::TOO_MANY_REQUESTS {
                parts.headers.insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(app::error::RETRY_AFTER_SECS),
                );
            }
        }
        // Only `AppError`s are sent this way; anything else stays a server error.
        Err(error) => tracing::warn!(%error, "a server function's error answer is not an AppError"),
    }
    Response::from_parts(parts, Body::from(bytes))
}
