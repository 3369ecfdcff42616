//! Plain portal routes beside the Leptos pages: `GET /p/{slug}/card.pdf` and `card.svg`, the
//! signed-in referrer's cards as a PDF and their card as an image, and `GET /p/{slug}/{token}`, the old never-expiring portal links.
//! Those open nothing any more: they answer 410 Gone with a link to the campaign's portal
//! entrance, where the referrer asks for a sign-in link.

use app::{
    domain::slug::Slug,
    error::AppError,
    ssr::{
        portal_session,
        services::{
            portal::{self, tokens},
            print::{self, layout::Paper},
            referrers,
        },
        state::AppState,
    },
};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;

use crate::routes::{
    api::print::{PrintType, file_response, pdf_response},
    pages,
};

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

fn no_programme() -> Response {
    pages::message(
        StatusCode::NOT_FOUND,
        "This programme doesn't exist",
        "Check the address of the referral programme.",
    )
}

/// `GET /p/{slug}/card.pdf[?paper=letter]`: the signed-in referrer's business card, a sheet of
/// it (10 on A4 or Letter) to print at home or take to a print shop, drawn by the print studio's
/// business-card template. Without a session for this campaign it sends them to the entrance.
pub async fn card_pdf(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<CardQuery>,
    headers: HeaderMap,
) -> Response {
    let paper = match query.paper.as_deref().map(Paper::parse).transpose() {
        Ok(paper) => paper.unwrap_or(Paper::A4),
        Err(error) => {
            return pages::message(
                StatusCode::BAD_REQUEST,
                "This card can't be printed",
                &error.to_string(),
            );
        }
    };
    own_card(&state, &slug, &headers, async |slug, referrer| {
        let file = print::referrer_sheet(&state, slug, referrer, paper).await?;
        file.map(pdf_response).transpose()
    })
    .await
}

/// `GET /p/{slug}/card.svg`: the signed-in referrer's business card alone, as the portal shows
/// it and the browser prints it ("Print my card"): the studio's template, the same as the PDF.
pub async fn card_svg(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    own_card(&state, &slug, &headers, async |slug, referrer| {
        let request = print::PrintRequest::default();
        let file = print::referrer_card(&state, slug, referrer, &request).await?;
        file.map(|file| file_response(file, PrintType::Svg))
            .transpose()
    })
    .await
}

/// Runs `made` for the referrer signed in to campaign `slug`; without a session for it, sends
/// the browser to the entrance.
async fn own_card(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
    made: impl AsyncFnOnce(
        &str,
        &app::ssr::entities::referrer::Model,
    ) -> Result<Option<Response>, AppError>,
) -> Response {
    let Ok(slug) = Slug::parse(slug) else {
        return no_programme();
    };
    let entrance = || Redirect::to(&format!("/p/{}", slug.as_str())).into_response();
    let Some(token) = portal_session::session_token(headers) else {
        return entrance();
    };
    let referrer = match tokens::session_referrer(&state.db, token, Utc::now()).await {
        Ok(Some(referrer)) => referrer,
        Ok(None) => return entrance(),
        Err(_) => return pages::internal_error(),
    };
    match made(slug.as_str(), &referrer).await {
        Ok(Some(response)) => response,
        Ok(None) => entrance(),
        Err(AppError::NotFound { .. }) => no_programme(),
        Err(_) => pages::internal_error(),
    }
}

/// The query of [`card_pdf`].
#[derive(Debug, Default, serde::Deserialize)]
pub struct CardQuery {
    /// `a4` (default) or `letter`.
    pub paper: Option<String>,
}
