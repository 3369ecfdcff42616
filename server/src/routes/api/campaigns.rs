//! `/api/v1/campaigns`.

use app::{
    ssr::{services::campaigns, state::AppState},
    types::{Campaign, CampaignInput},
};
use axum::{Json, extract::State, http::StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    auth::ApiKey,
    error::{ApiError, ApiJson, ApiPath, ErrorBody},
};

/// A list of campaigns, newest first.
#[derive(Serialize, ToSchema)]
pub struct CampaignList {
    /// The campaigns.
    pub items: Vec<Campaign>,
}

/// Create a campaign.
#[utoipa::path(
    post, path = "/api/v1/campaigns", tag = "campaigns",
    request_body = CampaignInput,
    responses(
        (status = 201, description = "Created", body = Campaign),
        (status = 401, description = "Missing or bad API key", body = ErrorBody),
        (status = 422, description = "Invalid field, or slug taken", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    key: ApiKey,
    ApiJson(input): ApiJson<CampaignInput>,
) -> Result<(StatusCode, Json<Campaign>), ApiError> {
    let campaign = campaigns::create(&state, &key.actor(), &input).await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

/// List campaigns.
#[utoipa::path(
    get, path = "/api/v1/campaigns", tag = "campaigns",
    responses(
        (status = 200, description = "All campaigns", body = CampaignList),
        (status = 401, description = "Missing or bad API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _key: ApiKey,
) -> Result<Json<CampaignList>, ApiError> {
    Ok(Json(CampaignList {
        items: campaigns::list(&state.db).await?,
    }))
}

/// Get one campaign.
#[utoipa::path(
    get, path = "/api/v1/campaigns/{slug}", tag = "campaigns",
    params(("slug" = String, Path, description = "Campaign slug")),
    responses(
        (status = 200, description = "The campaign", body = Campaign),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(campaigns::get(&state.db, &slug).await?))
}
