//! `/api/v1/conversions`, `/api/v1/campaigns/{slug}/rules`, `/api/v1/rewards` and lead decisions:
//! the qualification engine's REST doors.

use app::{
    domain::rules::CampaignRules,
    ssr::{
        services::{
            conversions::{self, Decision, source},
            imports::{self, ImportOptions},
            rewards, rules,
        },
        state::AppState,
    },
    types::{ConversionInput, ConversionResult, ImportReport, Reward, RewardFilter},
};
use axum::{Json, body::Body, extract::State, http::StatusCode};

use crate::routes::uploads;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::ApiKey,
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody},
};

/// Record a conversion event (a purchase, a signed contract...). The campaign's rule decides
/// whether it qualifies the lead; rewards are created exactly once. Sending the same `event_id`
/// again returns the first result with `duplicate: true` and changes nothing.
#[utoipa::path(
    post, path = "/api/v1/conversions", tag = "conversions",
    request_body = ConversionInput,
    responses(
        (status = 201, description = "Recorded", body = ConversionResult),
        (status = 200, description = "Seen before: the first result, with duplicate true", body = ConversionResult),
        (status = 401, description = "Missing or bad API key", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "Invalid field; `unattributable` when neither a known code nor a known email is given", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn record(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiJson(input): ApiJson<ConversionInput>,
) -> Result<(StatusCode, Json<ConversionResult>), ApiError> {
    let result = conversions::record(&state, source::API, &input).await?;
    let status = if result.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(result)))
}

/// Read a campaign's qualification rule and rewards.
#[utoipa::path(
    get, path = "/api/v1/campaigns/{slug}/rules", tag = "conversions",
    params(("slug" = String, Path, description = "Campaign slug")),
    responses(
        (status = 200, description = "The rule book", body = CampaignRules),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get_rules(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<CampaignRules>, ApiError> {
    Ok(Json(rules::get(&state, &slug).await?))
}

/// Replace a campaign's qualification rule and rewards. Rewards already earned are kept;
/// unchanged reward rules keep their ids.
#[utoipa::path(
    put, path = "/api/v1/campaigns/{slug}/rules", tag = "conversions",
    params(("slug" = String, Path, description = "Campaign slug")),
    request_body = CampaignRules,
    responses(
        (status = 200, description = "The new rule book", body = CampaignRules),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "Invalid rule; `field` names it, e.g. rewards.0.amount_minor", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn put_rules(
    State(state): State<AppState>,
    key: ApiKey,
    ApiPath(slug): ApiPath<String>,
    ApiJson(input): ApiJson<CampaignRules>,
) -> Result<Json<CampaignRules>, ApiError> {
    Ok(Json(
        rules::replace(&state, &key.actor(), &slug, input).await?,
    ))
}

/// Filters for listing rewards.
#[derive(Debug, Deserialize, IntoParams)]
pub struct RewardQuery {
    /// Campaign slug.
    pub campaign: Option<String>,
    /// pending, due, issued or cancelled.
    pub status: Option<String>,
    /// Cursor from `next_cursor` of the previous page.
    pub after: Option<i64>,
}

/// One page of rewards, newest first.
#[derive(Serialize, ToSchema)]
pub struct RewardPage {
    /// The rewards.
    pub items: Vec<Reward>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_cursor: Option<i64>,
}

/// List rewards.
#[utoipa::path(
    get, path = "/api/v1/rewards", tag = "conversions",
    params(RewardQuery),
    responses(
        (status = 200, description = "One page of rewards", body = RewardPage),
        (status = 422, description = "Unknown status", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_rewards(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiQuery(query): ApiQuery<RewardQuery>,
) -> Result<Json<RewardPage>, ApiError> {
    let page = rewards::list(
        &state,
        &RewardFilter {
            campaign: query.campaign,
            status: query.status,
            after: query.after,
        },
    )
    .await?;
    Ok(Json(RewardPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// Mark a due reward as issued (paid out, delivered).
#[utoipa::path(
    post, path = "/api/v1/rewards/{id}/issue", tag = "conversions",
    params(("id" = i64, Path, description = "Reward id")),
    responses(
        (status = 200, description = "Issued", body = Reward),
        (status = 404, description = "No such reward", body = ErrorBody),
        (status = 409, description = "Not due (pending, already issued, or cancelled)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn issue_reward(
    State(state): State<AppState>,
    key: ApiKey,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Reward>, ApiError> {
    let mut issued = rewards::issue(&state, &key.actor(), &[id]).await?;
    issued
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError(app::error::AppError::not_found("Reward")))
}

/// A decision's reason.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DecisionInput {
    /// Why; required to reject, shown on the lead's timeline.
    #[serde(default)]
    pub reason: String,
}

/// Qualify a lead by hand (or approve one held for review): its rewards are created.
#[utoipa::path(
    post, path = "/api/v1/leads/{id}/qualify", tag = "leads",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = DecisionInput,
    responses(
        (status = 200, description = "Qualified", body = ConversionResult),
        (status = 404, description = "No such lead", body = ErrorBody),
        (status = 409, description = "Already qualified", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn qualify_lead(
    State(state): State<AppState>,
    key: ApiKey,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> Result<Json<ConversionResult>, ApiError> {
    Ok(Json(
        conversions::decide(&state, id, Decision::Qualify, &input.reason, &key.actor()).await?,
    ))
}

/// Reject a lead: rewards not yet issued are cancelled.
#[utoipa::path(
    post, path = "/api/v1/leads/{id}/reject", tag = "leads",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = DecisionInput,
    responses(
        (status = 200, description = "Rejected", body = ConversionResult),
        (status = 404, description = "No such lead", body = ErrorBody),
        (status = 409, description = "Already rejected", body = ErrorBody),
        (status = 422, description = "Missing reason", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn reject_lead(
    State(state): State<AppState>,
    key: ApiKey,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> Result<Json<ConversionResult>, ApiError> {
    Ok(Json(
        conversions::decide(&state, id, Decision::Reject, &input.reason, &key.actor()).await?,
    ))
}

/// Where and how to import a CSV.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ImportQuery {
    /// Campaign slug.
    pub campaign: String,
    /// Preview only: report what would happen, write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Event name for rows without an event column (default: the campaign's first qualifying
    /// event).
    pub event: Option<String>,
}

/// Import conversions from a CSV file (the request body, `text/csv`). Columns are found by
/// header name (email, referral code, promo/coupon code, amount, currency, event, date,
/// order/external id). Rows already imported are skipped, so the same file twice, or a re-run
/// after an interruption, adds nothing twice. `dry_run=true` previews without writing.
#[utoipa::path(
    post, path = "/api/v1/conversions/import", tag = "conversions",
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, description = "What was imported (or would be), with every refused row", body = ImportReport),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "The file is not a conversions CSV (no header, no email or code column)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn import_csv(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: Body,
) -> Result<Json<ImportReport>, ApiError> {
    let upload = uploads::spool(body, &state.settings.data_dir).await?;
    let report = imports::run(
        &state,
        &upload.path,
        &ImportOptions {
            campaign: query.campaign,
            filename: "api-upload.csv".to_owned(),
            dry_run: query.dry_run,
            default_event: query.event,
        },
    )
    .await?;
    Ok(Json(report))
}
