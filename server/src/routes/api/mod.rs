//! REST API v1: JSON over HTTP, `Authorization: Bearer <api key>`. Every handler calls the same
//! services as the admin UI.

pub mod auth;
pub mod campaigns;
pub mod conversions;
pub mod docs;
pub mod error;
pub mod leads;
pub mod print;
pub mod promotion_codes;
pub mod qr;
pub mod referrers;

use app::ssr::state::AppState;
use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};

/// The `/api/v1` router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/campaigns",
            post(campaigns::create).get(campaigns::list),
        )
        .route("/api/v1/campaigns/{slug}", get(campaigns::get_one))
        .route("/api/v1/campaigns/{slug}/print.pdf", get(print::pdf))
        .route("/api/v1/campaigns/{slug}/print.csv", get(print::csv))
        .route("/api/v1/campaigns/{slug}/print.html", get(print::html))
        .route(
            "/api/v1/referrers",
            post(referrers::create).get(referrers::list),
        )
        .route(
            "/api/v1/referrers/widget-token",
            post(referrers::widget_token),
        )
        .route(
            "/api/v1/referrers/{id}",
            get(referrers::get_one).patch(referrers::update),
        )
        .route(
            "/api/v1/referrers/{id}/portal-link",
            post(referrers::portal_link),
        )
        .route("/api/v1/referrers/{id}/qr.svg", get(qr::svg))
        .route("/api/v1/referrers/{id}/qr.png", get(qr::png))
        .route("/api/v1/referrers/{id}/card.svg", get(print::card_svg))
        .route("/api/v1/referrers/{id}/card.png", get(print::card_png))
        .route(
            "/api/v1/campaigns/{slug}/rules",
            get(conversions::get_rules).put(conversions::put_rules),
        )
        .route("/api/v1/leads", post(leads::create).get(leads::list))
        .route(
            "/api/v1/leads/{id}/qualify",
            post(conversions::qualify_lead),
        )
        .route("/api/v1/leads/{id}/reject", post(conversions::reject_lead))
        .route("/api/v1/conversions", post(conversions::record))
        .route(
            "/api/v1/conversions/import",
            post(conversions::import_csv)
                .layer(DefaultBodyLimit::disable())
                .layer(axum::middleware::from_fn(
                    crate::routes::deadline::for_upload,
                )),
        )
        .route(
            "/api/v1/promotion-codes/import",
            post(promotion_codes::import_csv)
                .layer(DefaultBodyLimit::disable())
                .layer(axum::middleware::from_fn(
                    crate::routes::deadline::for_upload,
                )),
        )
        .route("/api/v1/rewards", get(conversions::list_rewards))
        .route(
            "/api/v1/rewards/{id}/issue",
            post(conversions::issue_reward),
        )
        .route("/api/v1/openapi.json", get(docs::openapi_json))
        .route("/api/v1/docs", get(docs::reference_page))
}
