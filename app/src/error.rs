//! `AppError`: the one error type that crosses from the server to the user.
//!
//! Every variant is safe to show. Internal failures are logged with their context where they
//! happen (see `AppError::internal`) and travel as the opaque `Internal` variant.

use serde::{Deserialize, Serialize};

/// An error a user may see, from a server function, a service or the REST API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppError {
    /// No session, or the session expired.
    #[error("Please log in to continue.")]
    Unauthenticated,
    /// Logged in, but the role does not allow the action.
    #[error("Your role does not allow this.")]
    Forbidden,
    /// The thing asked for does not exist (or is not visible to the caller).
    #[error("{what} was not found.")]
    NotFound {
        /// What was looked for, capitalised ("Campaign").
        what: String,
    },
    /// Bad input: a field failed validation. Nothing was changed.
    #[error("{message}")]
    Invalid {
        /// A stable machine-readable code (`invalid_email`, `unknown_referral_code`, ...).
        code: String,
        /// The input field at fault, when there is one.
        field: Option<String>,
        /// A sentence for a person.
        message: String,
        /// A close match the user may have meant ("did you mean ...?").
        suggestion: Option<String>,
    },
    /// The request clashes with existing state (a slug already taken, a paused campaign).
    #[error("{message}")]
    Conflict {
        /// A stable machine-readable code.
        code: String,
        /// A sentence for a person.
        message: String,
    },
    /// Too many attempts; try again later (HTTP 429 with `Retry-After: RETRY_AFTER_SECS`).
    #[error("Too many attempts. Wait a minute and try again.")]
    RateLimited,
    /// Something failed on the server. The detail is in the server log, never here.
    #[error("Something went wrong on our side. It has been logged; please try again.")]
    Internal,
    /// The request never reached the server function, or its answer could not be read.
    #[error("Could not reach the server: {message}")]
    Transport {
        /// What the transport reported.
        message: String,
    },
}

/// The `Retry-After` (seconds) of a 429: the "minute" [`AppError::RateLimited`] asks for.
pub const RETRY_AFTER_SECS: u64 = 60;

impl AppError {
    /// A validation error on one field.
    pub fn invalid(code: &str, field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            code: code.to_owned(),
            field: Some(field.to_owned()),
            message: message.into(),
            suggestion: None,
        }
    }

    /// A conflict with existing state.
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// A missing resource.
    pub fn not_found(what: &str) -> Self {
        AppError::NotFound {
            what: what.to_owned(),
        }
    }

    /// Logs an unexpected failure with its context and returns the opaque `Internal` error.
    #[cfg(feature = "ssr")]
    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(context, %error, "internal error");
        AppError::Internal
    }

    /// The stable machine-readable code of this error, as the REST API reports it.
    pub fn code(&self) -> &str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotFound { .. } => "not_found",
            AppError::Invalid { code, .. } | AppError::Conflict { code, .. } => code,
            AppError::RateLimited => "rate_limited",
            AppError::Internal => "internal",
            AppError::Transport { .. } => "transport",
        }
    }

    /// The field at fault, when the error is about one input.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The "did you mean" suggestion, when there is one.
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            AppError::Invalid { suggestion, .. } => suggestion.as_deref(),
            _ => None,
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        AppError::Transport {
            message: value.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A variant that cannot be encoded makes the server function layer panic, so every one
    /// must round-trip through the wire encoding.
    #[test]
    fn every_error_survives_the_trip_to_the_browser() {
        let all = [
            AppError::Unauthenticated,
            AppError::Forbidden,
            AppError::not_found("Lead"),
            AppError::Invalid {
                code: "unknown_referral_code".into(),
                field: Some("referral_code".into()),
                message: "Did you mean X?".into(),
                suggestion: Some("X".into()),
            },
            AppError::conflict("campaign_paused", "Paused."),
            AppError::RateLimited,
            AppError::Internal,
            AppError::Transport {
                message: "offline".into(),
            },
        ];
        for error in all {
            let json = serde_json::to_string(&error).expect("encodes");
            let back: AppError = serde_json::from_str(&json).expect("decodes");
            assert_eq!(back, error);
        }
    }
}
