//! `GET /p/{slug}/{token}`: the referrer's own page with their link, code and numbers. The token
//! is derived from the server secret, so knowing someone's public link does not open their portal.

use app::{
    error::AppError,
    ssr::{services::referrers, state::AppState},
};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};

use crate::routes::pages;

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
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let (stats, campaign) = match referrers::portal(&state, &slug, &token).await {
        Ok(found) => found,
        Err(AppError::NotFound { .. }) => return not_found(),
        Err(_) => return pages::internal_error(),
    };
    pages::render(
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
    )
}
