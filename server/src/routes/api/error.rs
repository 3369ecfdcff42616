//! `ApiError`: `{"error":{"code","message","field"}}` with a fitting status. 5xx detail stays in
//! the log.

use app::error::AppError;
use axum::{
    Json,
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

/// The error body of every failed API call.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `unknown_referral_code`, `invalid_email`, `not_found`.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A close match ("did you mean ...?"), when there is exactly one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

/// An API failure.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

/// Codes for requests that could not even be read (400, not 422).
const MALFORMED_REQUEST_CODES: [&str; 3] = ["invalid_body", "invalid_query", "invalid_path"];

fn bad_request(code: &str, message: String) -> ApiError {
    ApiError(AppError::Invalid {
        code: code.into(),
        field: None,
        message,
        suggestion: None,
    })
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        bad_request(
            "invalid_body",
            format!(
                "The request body is not valid JSON for this call: {}",
                rejection.body_text()
            ),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        bad_request("invalid_query", rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        bad_request("invalid_path", rejection.body_text())
    }
}

impl ApiError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::Invalid { code, .. } if MALFORMED_REQUEST_CODES.contains(&code.as_str()) => {
                StatusCode::BAD_REQUEST
            }
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal | AppError::Transport { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self.0 {
            // Never leak transport detail; Internal is already opaque.
            AppError::Transport { .. } => AppError::Internal.to_string(),
            AppError::Unauthenticated => {
                "Send a valid API key as `Authorization: Bearer <key>`.".to_owned()
            }
            // In the REST API only a key's access refuses a call.
            AppError::Forbidden => {
                "This API key's access does not allow this call; its access is shown on the API keys page."
                    .to_owned()
            }
            e => e.to_string(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.0.code().to_owned(),
                message,
                field: self.0.field().map(str::to_owned),
                suggestion: self.0.suggestion().map(str::to_owned),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(app::error::RETRY_AFTER_SECS),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// `Json<T>` whose rejections are `ApiError`s.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query<T>` whose rejections are `ApiError`s.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path<T>` whose rejections are `ApiError`s.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);
