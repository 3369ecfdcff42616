//! `GET /p/{slug}/{token}`: the old never-expiring portal links. They open nothing any more:
//! they answer 410 Gone with a link to the campaign's portal entrance, where the referrer asks
//! for a sign-in link.

use app::ssr::{
    services::{portal, referrers},
    state::AppState,
};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};

use crate::routes::pages;

#[derive(Template)]
#[template(path = "portal_moved.html")]
struct PortalMoved<'a> {
    brand_color: &'a str,
    campaign_name: &'a str,
    entrance: &'a str,
}

/// Answers an old portal link.
pub async fn old_link(
    State(state): State<AppState>,
    Path((slug, _token)): Path<(String, String)>,
) -> Response {
    match referrers::campaign_of_slug(&state.db, &slug).await {
        Ok(Some(campaign)) => pages::render(
            StatusCode::GONE,
            &PortalMoved {
                brand_color: &campaign.brand_color,
                campaign_name: &campaign.name,
                entrance: &portal::entrance_url(&state.settings, &campaign.slug),
            },
        ),
        Ok(None) => pages::message(
            StatusCode::NOT_FOUND,
            "Page not found",
            "This portal link is not valid. Ask the programme's organiser for your current link.",
        ),
        Err(_) => pages::internal_error(),
    }
}
