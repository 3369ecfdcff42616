//! Server-rendered public pages (askama): friendly notices for people, never stack traces.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};

/// The brand colour of pages that belong to no campaign.
pub const HANDOFF_COLOR: &str = "#4338ca";

/// A heading and a sentence.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    /// Page heading.
    pub heading: &'a str,
    /// One or two sentences.
    pub message: &'a str,
    /// Campaign colour, or Handoff's.
    pub brand_color: &'a str,
}

/// Renders a template with a status; a template that fails to render is logged and answered
/// with a plain 500.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            )
                .into_response()
        }
    }
}

/// A friendly notice page.
pub fn message(status: StatusCode, heading: &str, message: &str) -> Response {
    render(
        status,
        &MessagePage {
            heading,
            message,
            brand_color: HANDOFF_COLOR,
        },
    )
}

/// The generic page for an internal error (the detail is already in the log).
pub fn internal_error() -> Response {
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Something went wrong on our side. It has been logged; please try again in a moment.",
    )
}
