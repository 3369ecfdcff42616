//! `/api/v1/leads`.

use app::{
    ssr::{
        services::{
            conversions::source,
            lead_lists,
            leads::{CaptureRequest, Channel},
            sales::{self, Order},
        },
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
    /// The friend's email. May be left out when `phone` is given.
    #[serde(default)]
    pub email: String,
    /// The friend's phone number (7 to 15 digits; spaces, dashes, brackets and a leading + allowed).
    #[serde(default)]
    pub phone: Option<String>,
    /// The friend's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The referral code the friend gave.
    #[serde(default)]
    pub referral_code: Option<String>,
    /// A note for the lead's timeline (at most 1,000 characters).
    #[serde(default)]
    pub note: Option<String>,
    /// An order to qualify the lead at once, as a conversion of the campaign's qualifying event.
    #[serde(default)]
    pub order: Option<NewLeadOrder>,
}

/// An order recorded with a new lead.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewLeadOrder {
    /// Your order id. It shares `POST /api/v1/conversions`' event ids: the same id again is
    /// recognised and changes nothing.
    pub order_id: String,
    /// Amount in minor units (cents).
    #[serde(default)]
    pub amount: Option<i64>,
    /// ISO 4217 currency of the amount.
    #[serde(default)]
    pub currency: Option<String>,
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
    /// Search: a whole email or phone number, an order id, a referral code, or the start of
    /// the friend's name or email.
    pub q: Option<String>,
    /// Created on or after this day (UTC, `YYYY-MM-DD`).
    pub from: Option<String>,
    /// Created on or before this day (UTC, `YYYY-MM-DD`).
    pub to: Option<String>,
    /// `newest` (the default) or `oldest` first.
    pub sort: Option<String>,
    /// Cursor from `next_cursor` of the previous page.
    pub after: Option<i64>,
}

/// One page of leads, in the order asked for (newest first by default).
#[derive(Serialize, ToSchema)]
pub struct LeadPage {
    /// The leads.
    pub items: Vec<Lead>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_cursor: Option<i64>,
}

/// Record a lead credited to the referrer whose code is given: the same as the admin's sales
/// desk, for a business's own CRM. The same email (or phone) again returns the existing lead with
/// its attribution unchanged (first referrer wins); an `order` is then still applied to it, once
/// per order id.
#[utoipa::path(
    post, path = "/api/v1/leads", tag = "leads",
    request_body = NewLead,
    responses(
        (status = 201, description = "Created", body = Lead),
        (status = 200, description = "Already existed; returned with its attribution unchanged", body = Lead),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 409, description = "Campaign paused", body = ErrorBody),
        (status = 422, description = "Invalid field (nothing recorded); `unknown_referral_code` carries a `suggestion` when exactly one code is one edit away", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    _key: ApiKey,
    ApiJson(input): ApiJson<NewLead>,
) -> Result<(StatusCode, Json<Lead>), ApiError> {
    let order = input.order.map(|o| Order {
        order_id: o.order_id,
        amount_minor: o.amount,
        currency: o.currency,
    });
    let recorded = sales::record(
        &state,
        &CaptureRequest {
            campaign: input.campaign,
            name: input.name,
            email: input.email,
            phone: input.phone,
            note: input.note,
            entered_by: None,
            referral_code: input.referral_code,
            attribution: None,
            channel: Channel::Api,
            ip_hash: None,
            referrer_cookie: None,
        },
        order.as_ref(),
        source::API,
    )
    .await?;
    let status = if recorded.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(recorded.lead)))
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
    let page = lead_lists::list(
        &state,
        &LeadFilter {
            campaign: query.campaign,
            status: query.status,
            referrer_id: query.referrer_id,
            entered_by: None,
            search: query.q,
            from: query.from,
            to: query.to,
            sort: query.sort,
            after: query.after,
        },
    )
    .await?;
    Ok(Json(LeadPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}
