//! Bearer API keys.

use app::{
    error::AppError,
    ssr::{
        services::{api_keys, audit::Actor},
        state::AppState,
    },
};
use axum::{
    extract::{FromRequestParts, OriginalUri},
    http::request::Parts,
};

use super::error::ApiError;

/// A request authenticated by a live API key whose access allows the call.
#[derive(Clone, Debug)]
pub struct ApiKey {
    /// The key's id.
    pub id: i64,
    /// Its name.
    pub name: String,
}

impl ApiKey {
    /// The key as the audit log names who made a change.
    pub fn actor(&self) -> Actor {
        Actor::api_key(&self.name)
    }
}

impl FromRequestParts<AppState> for ApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(ApiError(AppError::Unauthenticated))?;
        let identity = api_keys::authenticate(&state.db, key)
            .await?
            .ok_or(ApiError(AppError::Unauthenticated))?;
        // The path as the client sent it, even under a nested router.
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.path(), |original| original.0.path());
        if !identity.access.allows(parts.method.as_str(), path) {
            return Err(ApiError(AppError::Forbidden));
        }
        Ok(ApiKey {
            id: identity.id,
            name: identity.name,
        })
    }
}
