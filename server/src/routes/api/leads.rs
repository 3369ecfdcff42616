//! `/api/v1/leads`.

use app::{
    ssr::{
        services::leads::{self, CaptureRequest, Channel},
        state::AppState,
    },
    types::{Lead, LeadFilter},
};
use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::ApiKey,
    error::{ApiError, ApiJson, ApiQuery, ErrorBody},
};

/// Record a referred person.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewLead {
    /// Campaign slug.
    pub campaign: String,
    /// The friend's email.
    pub email: String,
    /// The friend's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The referral code the friend gave.
    #[serde(default)]
    pub referral_code: Option<String>,
}

/// Filters for listing leads.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LeadQuery {
    /// Campaign slug.
    pub campaign: Option<String>,
    /// pending, review, qualified or rejected.
    pub status: Option<String>,
    /// Credited referrer.
    pub referrer_id: Option<i64>,
    /// Cursor from `next_cursor` of the previous page.
    pub after: Option<i64>,
}

/// One page of leads, newest first.
#[derive(Serialize, ToSchema)]
pub struct LeadPage {
    /// The leads.
    pub items: Vec<Lead>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_cursor: Option<i64>,
}

/// Record a lead credited to the referrer whose code is given. The same email again returns the
/// existing lead with its attribution unchanged (first referrer wins).
#[utoipa::path(
    post, path = "/api/v1/leads", tag = "leads",
    request_body = NewLead,
    responses(
        (status = 201, description = "Created", body = Lead),
        (status = 200, description = "Already existed; returned unchanged", body = Lead),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 409, description = "Campaign paused", body = ErrorBody),
        (status = 422, description = "Invalid field; `unknown_referral_code` carries a `suggestion` when exactly one code is one edit away", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiJson(input): ApiJson<NewLead>,
) -> Result<(StatusCode, Json<Lead>), ApiError> {
    let outcome = leads::capture(
        &state,
        &CaptureRequest {
            campaign: input.campaign,
            name: input.name,
            email: input.email,
            referral_code: input.referral_code,
            attribution: None,
            channel: Channel::Api,
            ip_hash: None,
            referrer_cookie: None,
        },
    )
    .await?;
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(outcome.lead)))
}

/// List leads.
#[utoipa::path(
    get, path = "/api/v1/leads", tag = "leads",
    params(LeadQuery),
    responses(
        (status = 200, description = "One page", body = LeadPage),
        (status = 422, description = "Invalid filter", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiQuery(query): ApiQuery<LeadQuery>,
) -> Result<Json<LeadPage>, ApiError> {
    let page = leads::list(
        &state,
        &LeadFilter {
            campaign: query.campaign,
            status: query.status,
            referrer_id: query.referrer_id,
            after: query.after,
        },
    )
    .await?;
    Ok(Json(LeadPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}
