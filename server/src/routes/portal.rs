//! `GET /p/{slug}/{token}`: the referrer's own page with their link, code and numbers. The token
//! is derived from the server secret, so knowing someone's public link does not open their portal.

use app::ssr::services::secrets::ip_hash;
use app::{
    error::AppError,
    ssr::{services::referrers, state::AppState},
};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::Response,
};

use crate::routes::{client_ip::ClientIp, cookies, pages};

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    campaign_name: String,
    brand_color: String,
    logo_url: Option<String>,
    referrer_name: String,
    link: String,
    code: Option<String>,
    clicks: i64,
    leads: i64,
    qualified: i64,
}

fn not_found() -> Response {
    pages::message(
        StatusCode::NOT_FOUND,
        "Page not found",
        "This portal link is not valid. Ask the programme's organiser for your current link.",
    )
}

/// Shows a referrer's portal.
pub async fn show(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let visitor_ip = ip_hash(&state.settings.secret, client);
    let (stats, campaign) = match referrers::portal(&state, &slug, &token, Some(&visitor_ip)).await
    {
        Ok(found) => found,
        Err(AppError::NotFound { .. }) => return not_found(),
        Err(_) => return pages::internal_error(),
    };
    let referrer_id = stats.referrer.id;
    let mut response = pages::render(
        StatusCode::OK,
        &PortalPage {
            campaign_name: campaign.name,
            brand_color: campaign.brand_color,
            logo_url: campaign.logo_url,
            referrer_name: stats.referrer.name,
            link: stats.referrer.link,
            code: stats.referrer.code,
            clicks: stats.clicks,
            leads: stats.leads,
            qualified: stats.qualified,
        },
    );
    // Marks this browser as the referrer's own, for the self-referral signal.
    let cookie = cookies::set_portal_cookie(
        &cookies::encode_portal_visitor(&state.settings.secret, referrer_id),
        state.settings.secure_cookies,
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
