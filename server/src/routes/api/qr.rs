//! `/api/v1/referrers/{id}/qr.svg` and `/qr.png`: a referrer's link as a QR code. The options,
//! the rendering and the caching headers are those of the public `/qr/...` route.

use app::ssr::{
    services::qr::{self, QrFormat, QrQuery},
    state::AppState,
};
use axum::{extract::State, http::HeaderMap, response::Response};

use super::{
    auth::ApiKey,
    error::{ApiError, ApiPath, ApiQuery, ErrorBody},
};
use crate::routes::qr::{PRIVATE_CACHE, logo, respond};

async fn image(
    state: &AppState,
    id: i64,
    query: &QrQuery,
    headers: &HeaderMap,
    format: QrFormat,
) -> Result<Response, ApiError> {
    let options = query.parse()?;
    let target = qr::target_by_referrer(state, id).await?;
    let logo = logo(state, query, &target).await?;
    Ok(respond(
        headers,
        &target,
        format,
        &options,
        logo.as_deref(),
        query.download(),
        PRIVATE_CACHE,
    )?)
}

/// Get a referrer's link as an SVG QR code.
#[utoipa::path(
    get, path = "/api/v1/referrers/{id}/qr.svg", tag = "referrers",
    params(("id" = i64, Path, description = "Referrer id"), QrQuery),
    responses(
        (status = 200, description = "The QR code (`image/svg+xml`), with an ETag; scales to any size", content_type = "image/svg+xml", body = String),
        (status = 304, description = "Not modified: `If-None-Match` named the current ETag"),
        (status = 404, description = "No such referrer", body = ErrorBody),
        (status = 422, description = "Invalid size or colours (too little contrast, or light on dark)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn svg(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<QrQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    image(&state, id, &query, &headers, QrFormat::Svg).await
}

/// Get a referrer's link as a PNG QR code.
#[utoipa::path(
    get, path = "/api/v1/referrers/{id}/qr.png", tag = "referrers",
    params(("id" = i64, Path, description = "Referrer id"), QrQuery),
    responses(
        (status = 200, description = "The QR code (`image/png`), with an ETag; about `size` pixels square", content_type = "image/png", body = [u8]),
        (status = 304, description = "Not modified: `If-None-Match` named the current ETag"),
        (status = 404, description = "No such referrer", body = ErrorBody),
        (status = 422, description = "Invalid size or colours (too little contrast, or light on dark)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn png(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<QrQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    image(&state, id, &query, &headers, QrFormat::Png).await
}
