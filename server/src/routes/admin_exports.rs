//! Files an admin downloads from the dashboard: plain GET routes beside the Leptos pages, behind
//! the same session as the server functions (they sit in the admin half of the router, inside
//! the session layer), so a link works with or without JavaScript.

use app::{
    domain::roles::Permission,
    error::AppError,
    ssr::{auth, services::rewards, state::AppState},
    types::RewardFilter,
};
use axum::{
    Router,
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;
use tower_sessions::Session;

use super::pages;

/// The download routes. Merged into the admin half of the router, so they get its session layer.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/rewards/export.csv", get(rewards_csv))
}

/// The query of `GET /admin/rewards/export.csv`.
#[derive(Debug, Default, Deserialize)]
pub struct RewardExportQuery {
    /// pending, due (the default), issued or cancelled.
    #[serde(default)]
    pub status: Option<String>,
    /// Campaign slug; empty for every campaign.
    #[serde(default)]
    pub campaign: Option<String>,
}

/// `GET /admin/rewards/export.csv?status=due&campaign=`: the rewards of a payout run as a CSV
/// attachment (see `rewards::export_csv`). Needs a session whose role may view data; without
/// one the browser is sent to the login page.
pub async fn rewards_csv(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<RewardExportQuery>,
) -> Response {
    let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let filter = RewardFilter {
        status: nonempty(query.status),
        campaign: nonempty(query.campaign),
        after: None,
    };
    let result = match auth::require_in(&state, &session, Permission::ViewData).await {
        Ok(_) => rewards::export_csv(&state, &filter).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", export_file_name(&filter)),
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            csv,
        )
            .into_response(),
        Err(error) => error_page(error, "Cannot export"),
    }
}

/// What a download route answers when it cannot give the file: the login page without a
/// session, otherwise a page with the reason (`refused_title` heads a refused request). An
/// internal error was logged where it happened; the page says only that something went wrong.
pub fn error_page(error: AppError, refused_title: &str) -> Response {
    match error {
        AppError::Unauthenticated => Redirect::to("/admin/login").into_response(),
        e @ AppError::Forbidden => {
            pages::message(StatusCode::FORBIDDEN, "Not allowed", &e.to_string())
        }
        e @ AppError::NotFound { .. } => {
            pages::message(StatusCode::NOT_FOUND, "Not found", &e.to_string())
        }
        e @ AppError::Invalid { .. } => {
            pages::message(StatusCode::BAD_REQUEST, refused_title, &e.to_string())
        }
        _ => pages::internal_error(),
    }
}

/// `rewards-due-spring-2026-11-25.csv`: what the file holds, for a downloads folder. Only
/// called after the export succeeded, so status and campaign are known-good names.
fn export_file_name(filter: &RewardFilter) -> String {
    let status = filter.status.as_deref().unwrap_or("due");
    let campaign = filter.campaign.as_deref().unwrap_or("all");
    let safe = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    format!(
        "rewards-{}-{}-{}.csv",
        safe(status),
        safe(campaign),
        chrono::Utc::now().format("%Y-%m-%d")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_name_says_what_it_holds_and_nothing_else() {
        let name = export_file_name(&RewardFilter::default());
        assert!(name.starts_with("rewards-due-all-"), "{name}");
        assert!(name.ends_with(".csv"));
        let odd = RewardFilter {
            status: Some("issued".into()),
            campaign: Some("a\"b/c".into()),
            after: None,
        };
        assert!(export_file_name(&odd).starts_with("rewards-issued-a_b_c-"));
    }
}
