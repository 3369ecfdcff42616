//! The share widget's HTTP side: `embed.js` itself, what it shows for a widget token
//! (`/embed/{slug}/widget.json`), and the admin's preview (`/embed/{slug}/preview`).
//!
//! The widget runs on the business's own site, so its JSON answers carry
//! `Access-Control-Allow-Origin: *`. That is safe because no cookie is sent or read: the token
//! in the request is the only credential, and it names one customer of one campaign.

use app::{
    domain::widget::WidgetMode,
    ssr::{
        services::widget::{self, EMBED_JS, embed_version},
        state::AppState,
    },
};
use askama::Template;
use axum::{
    Json,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::routes::pages;

/// `?v=` of `/embed.js`.
#[derive(Debug, Default, Deserialize)]
pub struct EmbedQuery {
    /// The version the page asked for.
    pub v: Option<String>,
}

/// `GET /embed.js`: the widget. The versioned address is immutable; the plain one is kept for
/// an hour, then checked again with its `ETag` (a `304` costs no body).
pub async fn embed_js(
    headers: HeaderMap,
    query: Result<Query<EmbedQuery>, QueryRejection>,
) -> Response {
    let version = embed_version();
    let etag = format!("\"{version}\"");
    let versioned = query
        .ok()
        .as_ref()
        .and_then(|Query(q)| q.v.as_deref())
        .is_some_and(|v| v == version);
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    let common = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, cache.to_owned()),
        // A host page that isolates itself (COEP) may still load it.
        (
            header::HeaderName::from_static("cross-origin-resource-policy"),
            "cross-origin".to_owned(),
        ),
    ];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        StatusCode::OK,
        common,
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        EMBED_JS,
    )
        .into_response()
}

/// `?token=` of the widget's request.
#[derive(Debug, Default, Deserialize)]
pub struct TokenQuery {
    /// The widget token from the host page.
    pub token: Option<String>,
}

fn cross_origin(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    // Personal data (a customer's link and code): kept by nobody.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn nothing_to_show(status: StatusCode, code: &'static str) -> Response {
    cross_origin((status, Json(serde_json::json!({ "error": code }))).into_response())
}

/// `GET /embed/{slug}/widget.json?token=`: the customer's link, code, QR and share links with
/// the campaign's branding and display rules. A bad token answers `401` with nothing in it, and
/// the reason goes to the log.
pub async fn widget_json(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    let token = query.ok().and_then(|Query(q)| q.token).unwrap_or_default();
    match widget::view(&state, &slug, &token).await {
        Ok(Ok(view)) => cross_origin(Json(view).into_response()),
        Ok(Err(refusal)) => {
            tracing::warn!(campaign = %slug, reason = refusal.as_str(), "refused a widget token");
            nothing_to_show(StatusCode::UNAUTHORIZED, "invalid_token")
        }
        Err(app::error::AppError::NotFound { .. }) => {
            tracing::warn!(campaign = %slug, "a widget asked for a campaign that does not exist");
            nothing_to_show(StatusCode::NOT_FOUND, "not_found")
        }
        Err(e) => {
            tracing::error!(campaign = %slug, error = %e, "widget view failed");
            nothing_to_show(StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    }
}

/// `GET /embed/{slug}/preview.json`: the widget with a sample customer, for the admin's preview.
/// Public like the portal entrance: it shows the campaign's branding and nobody's data.
pub async fn preview_json(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    match widget::preview(&state, &slug).await {
        Ok(view) => Json(view).into_response(),
        Err(app::error::AppError::NotFound { .. }) => {
            nothing_to_show(StatusCode::NOT_FOUND, "not_found")
        }
        Err(e) => {
            tracing::error!(campaign = %slug, error = %e, "widget preview failed");
            nothing_to_show(StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    }
}

/// `?mode=` of the preview: the form's choice before it is saved.
#[derive(Debug, Default, Deserialize)]
pub struct PreviewQuery {
    /// `off`, `popup`, `bar` or `inline`.
    pub mode: Option<String>,
}

/// The preview page: a stand-in for the business's site with the widget on it.
#[derive(Template)]
#[template(path = "widget_preview.html")]
struct PreviewPage<'a> {
    campaign: &'a str,
    mode: &'a str,
    version: &'a str,
}

/// `GET /embed/{slug}/preview`: the page the admin's widget form shows in a frame. Framable
/// by Handoff's own pages only, under the same strict policy a careful host site would set.
pub async fn preview_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    query: Result<Query<PreviewQuery>, QueryRejection>,
) -> Response {
    let campaign = match app::ssr::services::campaigns::find_row(&state.db, &slug).await {
        Ok(row) => row,
        Err(app::error::AppError::NotFound { .. }) => {
            return pages::message(
                StatusCode::NOT_FOUND,
                "No such campaign",
                "There is no campaign at this address.",
            );
        }
        Err(e) => {
            tracing::error!(campaign = %slug, error = %e, "widget preview page failed");
            return pages::internal_error();
        }
    };
    let saved = widget::settings_of(&campaign).mode;
    let mode = query
        .ok()
        .and_then(|Query(q)| q.mode)
        .and_then(|m| WidgetMode::parse(&m))
        .unwrap_or(saved);
    let mut response = pages::render(
        StatusCode::OK,
        &PreviewPage {
            campaign: &campaign.slug,
            mode: mode.as_str(),
            version: embed_version(),
        },
    );
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; frame-ancestors 'self'",
        ),
    );
    headers.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    response
}
