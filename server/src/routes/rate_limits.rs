//! Per-client limits on the public endpoints (`AppState::public_limits`): referral link clicks,
//! friend form posts, webhooks in and the REST API each get a token bucket per client address
//! (`HANDOFF_RATE_LIMITS`). Past it: `429` with `Retry-After`, counted, and shown by `/metrics`.
//! One address flooding never slows another: buckets are per address.

use std::sync::atomic::Ordering;

use app::{error::AppError, ssr::state::AppState};
use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::routes::{api::error::ApiError, client_ip::ClientIp};

/// Refuses a request over its client's limit; passes every other one on.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limits = &state.public_limits;
    let path = request.uri().path();
    let is_post = request.method() == Method::POST;
    let (buckets, is_api) = if path.starts_with("/r/") {
        (&limits.redirects, false)
    } else if path.starts_with("/f/") && is_post {
        (&limits.friend_form, false)
    } else if path.starts_with("/webhooks/") {
        (&limits.webhooks, false)
    } else if path.starts_with("/api/") {
        (&limits.api, true)
    } else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let ClientIp(client) = ClientIp::of(&parts, &state);
    let wait = match buckets.take(client) {
        Ok(()) => return next.run(Request::from_parts(parts, body)).await,
        Err(wait) => wait,
    };
    tracing::warn!(path = %parts.uri.path(), seconds = wait, "rate limited a client");
    let mut response = if is_api {
        ApiError::from(AppError::RateLimited).into_response()
    } else {
        (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests from your address. Wait a moment and try again.",
        )
            .into_response()
    };
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    response
}

/// `GET /metrics`: the refusals and dropped clicks since the start, in Prometheus' text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let limits = &state.public_limits;
    let mut text = String::from(
        "# HELP handoff_rate_limited_total Requests refused with 429 by the per-client limits.\n\
         # TYPE handoff_rate_limited_total counter\n",
    );
    for (name, buckets) in [
        ("redirects", &limits.redirects),
        ("friend_form", &limits.friend_form),
        ("webhooks", &limits.webhooks),
        ("api", &limits.api),
    ] {
        text.push_str(&format!(
            "handoff_rate_limited_total{{endpoint=\"{name}\"}} {}\n",
            buckets.refused()
        ));
    }
    text.push_str(&format!(
        "# HELP handoff_clicks_dropped_total Clicks not recorded because the click queue was full.\n\
         # TYPE handoff_clicks_dropped_total counter\n\
         handoff_clicks_dropped_total {}\n",
        limits.clicks_dropped.load(Ordering::Relaxed)
    ));
    text.push_str(&format!(
        "# HELP handoff_connections_open Connections being served now.\n\
         # TYPE handoff_connections_open gauge\n\
         handoff_connections_open {}\n\
         # HELP handoff_connections_accepted_total Connections accepted since start.\n\
         # TYPE handoff_connections_accepted_total counter\n\
         handoff_connections_accepted_total {}\n\
         # HELP handoff_connections_refused_total Connections closed at once: their address had its share open.\n\
         # TYPE handoff_connections_refused_total counter\n\
         handoff_connections_refused_total {}\n",
        limits.connections.open.load(Ordering::Relaxed),
        limits.connections.accepted.load(Ordering::Relaxed),
        limits.connections.refused_per_client.load(Ordering::Relaxed)
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
