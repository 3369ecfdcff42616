//! `GET /p/{slug}/{token}`: the referrer's own page with their link, code and numbers. The token
//! is derived from the server secret, so knowing someone's public link does not open their portal.

use app::ssr::{
    entities::{campaign, referrer},
    services::{
        referrers::{self, portal_token},
        secrets::constant_time_eq,
    },
    state::AppState,
};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

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
    let expected = portal_token(&state.settings, &slug);
    if !constant_time_eq(expected.as_bytes(), token.as_bytes()) {
        return not_found();
    }
    let row = match referrer::Entity::find()
        .filter(referrer::Column::Slug.eq(slug.as_str()))
        .one(&state.db)
        .await
    {
        Ok(Some(row)) => row,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "portal: loading referrer");
            return pages::internal_error();
        }
    };
    let (stats, campaign) = match (
        referrers::get(&state, row.id).await,
        campaign::Entity::find_by_id(row.campaign_id)
            .one(&state.db)
            .await,
    ) {
        (Ok(stats), Ok(Some(campaign))) => (stats, campaign),
        _ => return pages::internal_error(),
    };
    pages::render(
        StatusCode::OK,
        &PortalPage {
            campaign_name: campaign.name,
            brand_color: campaign.brand_color,
            logo_url: campaign.logo_url,
            referrer_name: row.name,
            link: stats.referrer.link,
            code: stats.referrer.code,
            clicks: stats.clicks,
            leads: stats.leads,
            qualified: stats.qualified,
        },
    )
}
