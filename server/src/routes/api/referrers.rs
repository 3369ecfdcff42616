//! `/api/v1/referrers`.

use app::{
    ssr::{
        services::{
            referrer_changes::{self, ReferrerEdit},
            referrers,
        },
        state::AppState,
    },
    types::{Page, Referrer, ReferrerFilter, ReferrerWithStats},
};
use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::ApiKey,
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody},
};

/// Add a referrer.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewReferrer {
    /// Campaign slug.
    pub campaign: String,
    /// Email address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Send the link-and-code email (link, code, QR, portal entrance and a sign-in link). A
    /// referrer never gets this first email twice, however often it is asked for.
    #[serde(default)]
    pub send_welcome_email: bool,
}

/// Filters for listing referrers.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ReferrerQuery {
    /// Campaign slug.
    pub campaign: Option<String>,
    /// Exact email (compared normalized).
    pub email: Option<String>,
    /// Exact referral code (case, spaces and hyphens ignored).
    pub code: Option<String>,
    /// Cursor from `next_cursor` of the previous page.
    pub after: Option<i64>,
    /// `true`: only referrers who never had a link-and-code email.
    pub never_emailed: Option<bool>,
}

/// One page of referrers, newest first.
#[derive(Serialize, ToSchema)]
pub struct ReferrerPage {
    /// The referrers with their numbers.
    pub items: Vec<ReferrerWithStats>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_cursor: Option<i64>,
}

impl From<Page<ReferrerWithStats>> for ReferrerPage {
    fn from(page: Page<ReferrerWithStats>) -> Self {
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

/// Add a referrer, or get the existing one with the same email in the campaign.
#[utoipa::path(
    post, path = "/api/v1/referrers", tag = "referrers",
    request_body = NewReferrer,
    responses(
        (status = 201, description = "Created", body = Referrer),
        (status = 200, description = "Already existed; returned unchanged", body = Referrer),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    key: ApiKey,
    ApiJson(input): ApiJson<NewReferrer>,
) -> Result<(StatusCode, Json<Referrer>), ApiError> {
    let (referrer, created) = referrers::create(
        &state,
        Some(&key.actor()),
        &input.campaign,
        &input.name,
        &input.email,
        if input.send_welcome_email {
            referrers::Welcome::SendEmail
        } else {
            referrers::Welcome::Quiet
        },
    )
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(referrer)))
}

/// Get a referrer with their clicks, leads and qualified counts.
#[utoipa::path(
    get, path = "/api/v1/referrers/{id}", tag = "referrers",
    params(("id" = i64, Path, description = "Referrer id")),
    responses(
        (status = 200, description = "The referrer", body = ReferrerWithStats),
        (status = 404, description = "No such referrer", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ReferrerWithStats>, ApiError> {
    Ok(Json(referrers::get(&state, id).await?))
}

/// Change a referrer: any of name, email, note and whether they are active.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReferrerChange {
    /// Display name (1 to 200 characters).
    #[serde(default)]
    pub name: Option<String>,
    /// Email; unique within the campaign (`422 email_taken` otherwise).
    #[serde(default)]
    pub email: Option<String>,
    /// Your team's note on the referrer (at most 2,000 characters; empty removes it).
    #[serde(default)]
    pub note: Option<String>,
    /// `false` deactivates: their code is refused and their link credits nobody; `true`
    /// reactivates.
    #[serde(default)]
    pub active: Option<bool>,
}

/// Change a referrer's name, email or note, or deactivate or reactivate them. Fields left out
/// keep their value; a refused field changes nothing.
#[utoipa::path(
    patch, path = "/api/v1/referrers/{id}", tag = "referrers",
    params(("id" = i64, Path, description = "Referrer id")),
    request_body = ReferrerChange,
    responses(
        (status = 200, description = "The referrer as it is now", body = Referrer),
        (status = 404, description = "No such referrer", body = ErrorBody),
        (status = 422, description = "Invalid field, or `email_taken`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    key: ApiKey,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ReferrerChange>,
) -> Result<Json<Referrer>, ApiError> {
    let actor = key.actor();
    let mut changed = referrer_changes::update(
        &state,
        &actor,
        id,
        ReferrerEdit {
            name: input.name.as_deref(),
            email: input.email.as_deref(),
            note: input.note.as_deref(),
        },
    )
    .await?;
    if let Some(active) = input.active {
        changed = referrer_changes::set_active(&state, &actor, id, active).await?;
    }
    Ok(Json(changed))
}

/// List referrers.
#[utoipa::path(
    get, path = "/api/v1/referrers", tag = "referrers",
    params(ReferrerQuery),
    responses(
        (status = 200, description = "One page", body = ReferrerPage),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiQuery(query): ApiQuery<ReferrerQuery>,
) -> Result<Json<ReferrerPage>, ApiError> {
    let filter = ReferrerFilter {
        campaign: query.campaign,
        email: query.email,
        code: query.code,
        search: None,
        after: query.after,
        never_emailed: query.never_emailed.unwrap_or(false),
    };
    Ok(Json(referrers::list(&state, &filter).await?.into()))
}

/// Ask for a signed portal link.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PortalLinkRequest {
    /// How long the link works, in minutes: 1 to 1440 (24 hours); 15 when left out.
    #[serde(default)]
    pub ttl_minutes: Option<i64>,
}

/// A signed, single-use link that signs the referrer in to their portal.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalLink {
    /// Open it (or redirect the referrer's browser to it) to sign them in; it works once.
    pub url: String,
    /// When it stops working.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Make a signed portal link, for a business that opens the portal from its own logged-in
/// product. Single use; expires after `ttl_minutes` (default 15, at most 24 hours).
#[utoipa::path(
    post, path = "/api/v1/referrers/{id}/portal-link", tag = "referrers",
    params(("id" = i64, Path, description = "Referrer id")),
    request_body = PortalLinkRequest,
    responses(
        (status = 201, description = "The link", body = PortalLink),
        (status = 404, description = "No such referrer", body = ErrorBody),
        (status = 422, description = "ttl_minutes out of range", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn portal_link(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<PortalLinkRequest>,
) -> Result<(StatusCode, Json<PortalLink>), ApiError> {
    let (url, expires_at) =
        app::ssr::services::portal::api_link(&state, id, input.ttl_minutes).await?;
    Ok((StatusCode::CREATED, Json(PortalLink { url, expires_at })))
}

/// Ask for a share widget token for one of your customers.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WidgetTokenRequest {
    /// Campaign slug (the script tag's `data-campaign`).
    pub campaign: String,
    /// The customer's email, as your backend knows it.
    pub email: String,
    /// The customer's name; needed only when they are new to the programme.
    #[serde(default)]
    pub name: Option<String>,
    /// How long the token works, in minutes: 1 to 1440 (24 hours); 60 when left out.
    #[serde(default)]
    pub ttl_minutes: Option<i64>,
    /// Send a customer who becomes a referrer now the link-and-code email.
    #[serde(default)]
    pub send_welcome_email: bool,
}

/// A widget token for the page, and whose it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetToken {
    /// Put it on the page: `<script src=".../embed.js" data-campaign="slug" data-token="...">`.
    pub token: String,
    /// When it stops working (the widget then shows nothing; ask for a new one per page view).
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The customer as a referrer.
    pub referrer: Referrer,
    /// Whether this request made them a referrer (and fired `referrer.created`).
    pub created: bool,
}

/// Make a share widget token for a customer of your own logged-in product. The customer is
/// found by email in the campaign; one who is not a referrer yet becomes one when the campaign
/// lets anyone join (`referrer.created` fires), otherwise the answer is `409 signup_closed`.
/// Call it from your backend, never from the browser: the API key must stay secret.
#[utoipa::path(
    post, path = "/api/v1/referrers/widget-token", tag = "referrers",
    request_body = WidgetTokenRequest,
    responses(
        (status = 201, description = "Token for a referrer made by this request", body = WidgetToken),
        (status = 200, description = "Token for an existing referrer", body = WidgetToken),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 409, description = "`signup_closed` (new customer, campaign closed) or `referrer_inactive`", body = ErrorBody),
        (status = 422, description = "Invalid field (`invalid_email`, `name_required`, `invalid_ttl`)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn widget_token(
    State(state): State<AppState>,
    key: ApiKey,
    ApiJson(input): ApiJson<WidgetTokenRequest>,
) -> Result<(StatusCode, Json<WidgetToken>), ApiError> {
    let issued = app::ssr::services::widget::issue(
        &state,
        &key.actor(),
        &app::ssr::services::widget::TokenRequest {
            campaign: input.campaign,
            email: input.email,
            name: input.name,
            ttl_minutes: input.ttl_minutes,
            send_welcome_email: input.send_welcome_email,
        },
    )
    .await?;
    let status = if issued.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(WidgetToken {
            token: issued.token,
            expires_at: issued.expires_at,
            referrer: issued.referrer,
            created: issued.created,
        }),
    ))
}
