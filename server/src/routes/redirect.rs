//! `GET /r/{slug}`: the referral link. Records the click off the request path and sends the
//! friend on with attribution.

use app::{
    domain::channel::Channel,
    ssr::{
        services::{
            clicks::NewClick,
            links::{self, LinkTarget},
            secrets::{ip_hash, random_token},
        },
        state::AppState,
    },
};
use axum::{
    extract::{Path, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use tokio::sync::mpsc::error::TrySendError;

use crate::routes::{
    client_ip::ClientIp,
    cookies::{self, ATTRIBUTION_COOKIE, Attribution},
    pages,
};

/// Follows a referral link: 302 (never 301, so every click comes back to be counted).
pub async fn follow(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ClientIp(client): ClientIp,
    // The whole request rather than a `HeaderMap` extractor, which would copy every header.
    request: Request,
) -> Response {
    let headers = request.headers();
    let target = match links::resolve(&state, &slug).await {
        Ok(Some(target)) => target,
        Ok(None) => {
            return pages::message(
                StatusCode::NOT_FOUND,
                "This referral link doesn't work",
                "We couldn't find this referral link. Check that it was copied completely, or ask the person who shared it for a new one.",
            );
        }
        Err(_) => return pages::internal_error(),
    };
    if !target.active {
        return pages::message(
            StatusCode::NOT_FOUND,
            "This referral programme is paused",
            "This referral programme isn't taking sign-ups right now. Please check back later.",
        );
    }
    let now = Utc::now();
    let secret = state.settings.secret.clone();
    let visitor_id = cookies::read(headers, ATTRIBUTION_COOKIE)
        .and_then(|v| cookies::decode(&secret, v, now))
        .map(|a| a.visitor_id)
        .unwrap_or_else(|| random_token(12));
    // The channel marker (`?ch=card` on a printed QR code) labels the click; who is credited
    // comes from the path alone.
    let channel = Channel::from_query(request.uri().query());
    record_click(&state, &target, client, headers, &visitor_id, channel);
    let cookie = cookies::encode(
        &secret,
        &Attribution {
            referrer_id: target.referrer_id,
            clicked_at: now.timestamp(),
            visitor_id,
        },
    );
    let mut response = StatusCode::FOUND.into_response();
    let h = response.headers_mut();
    h.insert(header::LOCATION, target.location.clone());
    if let Ok(v) =
        HeaderValue::from_str(&cookies::set_cookie(&cookie, state.settings.secure_cookies))
    {
        h.insert(header::SET_COOKIE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Hands the click to the batch writer without waiting. When the queue is full the click waits
/// in its own task rather than being dropped or making the friend wait.
fn record_click(
    state: &AppState,
    target: &LinkTarget,
    client: std::net::IpAddr,
    headers: &HeaderMap,
    visitor_id: &str,
    channel: Channel,
) {
    let click = NewClick {
        campaign_id: target.campaign_id,
        referrer_id: target.referrer_id,
        ip_hash: ip_hash(&state.settings.secret, client),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(cut_user_agent)
            .unwrap_or_default(),
        visitor_id: visitor_id.to_owned(),
        at: Utc::now(),
        channel,
    };
    match state.clicks.try_send(click) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            // A flood: the visitor still gets where they go (and their referral cookie); the
            // click row, a statistic, is dropped and counted (`/metrics`).
            state
                .public_limits
                .clicks_dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Err(TrySendError::Closed(_)) => {
            tracing::error!("click writer stopped; a click was not recorded");
        }
    }
}

/// User agents are kept to 512 characters; most are far shorter and are copied as they are.
fn cut_user_agent(ua: &str) -> String {
    if ua.len() <= 512 {
        ua.to_owned()
    } else {
        ua.chars().take(512).collect()
    }
}
