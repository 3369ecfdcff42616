//! `/p/{slug}/login/{token}`: the sign-in link from an email or the API.
//!
//! Opening the link (GET) only shows who is signing in, with a button: mail scanners and link
//! previews open links, and must not use up a single-use token. The button (POST) uses the
//! token, starts a portal session (cookie `handoff_portal`, path `/p`) and goes to the portal.

use app::{
    error::AppError,
    ssr::{
        services::{
            campaigns,
            portal::{self, tokens},
        },
        state::AppState,
    },
};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;

use crate::routes::pages;

#[derive(Template)]
#[template(path = "portal_login.html")]
struct LoginPage<'a> {
    brand_color: &'a str,
    campaign_name: &'a str,
    referrer_name: Option<&'a str>,
    message: String,
    entrance: String,
}

fn page(
    state: &AppState,
    campaign: &app::ssr::entities::campaign::Model,
    referrer_name: Option<&str>,
    error: Option<AppError>,
) -> Response {
    let status = if error.is_some() {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    let mut response = pages::render(
        status,
        &LoginPage {
            brand_color: &campaign.brand_color,
            campaign_name: &campaign.name,
            referrer_name,
            message: error.map(|e| e.to_string()).unwrap_or_default(),
            entrance: portal::entrance_url(&state.settings, &campaign.slug),
        },
    );
    no_store(&mut response);
    framable_as_portal(&mut response, campaign);
    response
}

/// The campaign's framing policy, as on its portal: a portal framed by the business's own site
/// signs its referrer in inside the frame.
fn framable_as_portal(response: &mut Response, campaign: &app::ssr::entities::campaign::Model) {
    if let Ok(value) = HeaderValue::from_str(&portal::settings::frame_policy(campaign)) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The token is in the address: never send it on to another site.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

fn not_found() -> Response {
    pages::message(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no referral programme at this address.",
    )
}

/// Shows who the link signs in, without using it.
pub async fn show(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let campaign = match campaigns::find_row(&state.db, &slug).await {
        Ok(c) => c,
        Err(AppError::NotFound { .. }) => return not_found(),
        Err(_) => return pages::internal_error(),
    };
    match tokens::peek_link(&state.db, campaign.id, &token, Utc::now()).await {
        Ok(referrer) => page(&state, &campaign, Some(&referrer.name), None),
        Err(e @ AppError::Conflict { .. }) => page(&state, &campaign, None, Some(e)),
        Err(_) => pages::internal_error(),
    }
}

/// Uses the link: starts a portal session and goes to the portal.
pub async fn redeem(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let campaign = match campaigns::find_row(&state.db, &slug).await {
        Ok(c) => c,
        Err(AppError::NotFound { .. }) => return not_found(),
        Err(_) => return pages::internal_error(),
    };
    let now = Utc::now();
    let referrer = match tokens::redeem_link(&state.db, campaign.id, &token, now).await {
        Ok(r) => r,
        Err(e @ AppError::Conflict { .. }) => return page(&state, &campaign, None, Some(e)),
        Err(_) => return pages::internal_error(),
    };
    let session = match tokens::issue(
        &state.db,
        referrer.id,
        tokens::TokenPurpose::Session,
        tokens::SESSION_TTL,
        now,
    )
    .await
    {
        Ok(t) => t,
        Err(_) => return pages::internal_error(),
    };
    let mut response = Redirect::to(&format!("/p/{}", campaign.slug)).into_response();
    if let Ok(value) = HeaderValue::from_str(&portal::session_cookie(
        &state.settings,
        &campaign,
        &session,
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    no_store(&mut response);
    framable_as_portal(&mut response, &campaign);
    response
}
