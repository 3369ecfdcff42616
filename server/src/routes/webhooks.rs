//! `POST /webhooks/stripe` and `POST /webhooks/in/{token}`: conversions arriving from Stripe and
//! from integration tools. Authentication and processing live in `services::inbound`; this file
//! only translates HTTP.

use app::{
    error::AppError,
    ssr::{
        services::inbound::{self, Received, Refused, SignedHeaders},
        state::AppState,
    },
};
use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::api::error::ApiError;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn refusal(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// Stripe's webhook. Stripe retries anything but 2xx for days, so an event that is verified but
/// cannot be credited is acknowledged (and logged for the admin), and only our own failures
/// answer 500.
pub async fn stripe(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match inbound::receive_stripe(&state, header(&headers, "stripe-signature"), &body).await {
        Err(Refused::NotConfigured) => refusal(
            StatusCode::BAD_REQUEST,
            "not_configured",
            "No Stripe webhook secret is configured.".to_owned(),
        ),
        Err(Refused::BadSignature(e)) => {
            refusal(StatusCode::BAD_REQUEST, "invalid_signature", e.to_string())
        }
        Err(Refused::UnknownSource) => StatusCode::NOT_FOUND.into_response(),
        Ok(Received {
            delivery_id,
            result,
        }) => match result {
            Some(Err(AppError::Internal)) => {
                refusal(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Retry later.".to_owned())
            }
            Some(Ok(r)) => (
                StatusCode::OK,
                Json(json!({"received": true, "delivery": delivery_id, "outcome": r.outcome, "duplicate": r.duplicate, "lead": r.lead.id})),
            )
                .into_response(),
            Some(Err(e)) => (
                StatusCode::OK,
                Json(json!({"received": true, "delivery": delivery_id, "outcome": "not_recorded", "reason": e.to_string()})),
            )
                .into_response(),
            None => (
                StatusCode::OK,
                Json(json!({"received": true, "delivery": delivery_id, "outcome": "ignored"})),
            )
                .into_response(),
        },
    }
}

/// An inbound source's webhook (Zapier, Make, n8n, HubSpot, Salesforce, custom).
pub async fn source(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signed = SignedHeaders {
        id: header(&headers, "webhook-id"),
        timestamp: header(&headers, "webhook-timestamp"),
        signature: header(&headers, "webhook-signature"),
    };
    match inbound::receive(&state, &token, signed, &body).await {
        Err(Refused::UnknownSource) => refusal(
            StatusCode::NOT_FOUND,
            "not_found",
            "No source has this URL; copy it again from the Integrations page.".to_owned(),
        ),
        Err(Refused::BadSignature(e)) => {
            refusal(StatusCode::UNAUTHORIZED, "invalid_signature", e.to_string())
        }
        Err(Refused::NotConfigured) => StatusCode::NOT_FOUND.into_response(),
        Ok(Received { result, .. }) => match result {
            Some(Ok(r)) => {
                let status = if r.duplicate {
                    StatusCode::OK
                } else {
                    StatusCode::CREATED
                };
                (status, Json(r)).into_response()
            }
            Some(Err(e)) => ApiError(e).into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        },
    }
}
