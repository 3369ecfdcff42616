//! `/api/v1/promotion-codes`: Stripe promotion codes mapped to referrers, so checkouts using a
//! referrer's code are credited to them.

use app::{
    ssr::{services::inbound, state::AppState},
    types::PromotionCodeImportReport,
};
use axum::{Json, body::Body, extract::State};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    auth::ApiKey,
    error::{ApiError, ApiQuery, ErrorBody},
};
use crate::routes::uploads;

/// Which campaign's referrers a mapping file names.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MappingImportQuery {
    /// Campaign slug: each row's referral code or email is looked up among its referrers.
    pub campaign: String,
    /// Preview only: report what an import would do (`dry_run` is true in the answer), write
    /// nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Import promotion-code mappings from a CSV file (the request body, `text/csv`, at most 20 MB).
/// Columns are found by header name: the promotion code id (`promo_...`) and/or the code
/// customers type, and the referrer's referral code or email. Rows that cannot be mapped are
/// reported with their line, column and reason, and nothing is written for them. A code already
/// mapped to the same referrer is left as it is, so importing the same file again changes
/// nothing; a code mapped to somebody else is refused, never moved. `dry_run=true` previews:
/// the same report, nothing written.
#[utoipa::path(
    post, path = "/api/v1/promotion-codes/import", tag = "promotion codes",
    params(MappingImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, description = "What was mapped, with every refused row", body = PromotionCodeImportReport),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "Not a mapping file (no header, no promotion code or referrer column), or larger than 20 MB", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn import_csv(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiQuery(query): ApiQuery<MappingImportQuery>,
    body: Body,
) -> Result<Json<PromotionCodeImportReport>, ApiError> {
    let upload = uploads::spool(body, &state.settings.data_dir).await?;
    Ok(Json(
        inbound::import_promotion_codes(&state, &query.campaign, &upload.path, query.dry_run)
            .await?,
    ))
}
