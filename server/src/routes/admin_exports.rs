//! Files an admin downloads from the dashboard: plain GET routes beside the Leptos pages, behind
//! the same session as the server functions (they sit in the admin half of the router, inside
//! the session layer), so a link works with or without JavaScript.

use std::collections::HashMap;

use app::{
    domain::roles::Permission,
    error::AppError,
    ssr::{
        auth,
        services::{lead_lists::LeadExport, referrer_removal, rewards},
        state::AppState,
    },
    types::{LeadFilter, RewardFilter},
};
use axum::{
    Router,
    body::Body,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;
use tower_sessions::Session;

use super::pages;

/// The download routes. Merged into the admin half of the router, so they get its session layer.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/rewards/export.csv", get(rewards_csv))
        .route("/admin/leads/export.csv", get(leads_csv))
        .route("/admin/referrers/{id}/export.csv", get(referrer_csv))
}

/// `GET /admin/referrers/{id}/export.csv`: everything about one referrer (their record, the
/// leads they brought, the rewards they earned), for the owner to keep before deleting them.
pub async fn referrer_csv(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Response {
    let result = match auth::require_in(&state, &session, Permission::ViewData).await {
        Ok(_) => referrer_removal::export_csv(&state, id).await,
        Err(e) => Err(e),
    };
    match result {
        Ok((slug, csv)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"referrer-{}.csv\"", safe_name(&slug)),
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            csv,
        )
            .into_response(),
        Err(error) => error_page(error, "Cannot export"),
    }
}

/// `GET /admin/leads/export.csv?` with the Leads tab's own query (`campaign`, `status`,
/// `referrer_id`, `q`, `from`, `to`, `sort`): every lead of that view as CSV, streamed a batch
/// at a time, so the first byte comes at once and memory stays flat at any size. A bad filter
/// is refused with a page before the file starts.
pub async fn leads_csv(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let filter = LeadFilter::from_query(|key| query.get(key).cloned());
    let export = match auth::require_in(&state, &session, Permission::ViewData).await {
        Ok(_) => LeadExport::new(&state, &filter).await,
        Err(e) => Err(e),
    };
    let export = match export {
        Ok(export) => export,
        Err(error) => return error_page(error, "Cannot export"),
    };
    let chunks =
        futures_util::stream::try_unfold((export, state), |(mut export, state)| async move {
            Ok::<_, AppError>(
                export
                    .next_chunk(&state)
                    .await?
                    .map(|chunk| (chunk, (export, state))),
            )
        });
    let file_name = format!(
        "leads-{}-{}.csv",
        safe_name(filter.campaign.as_deref().unwrap_or("all")),
        chrono::Utc::now().format("%Y-%m-%d")
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
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
    format!(
        "rewards-{}-{}-{}.csv",
        safe_name(status),
        safe_name(campaign),
        chrono::Utc::now().format("%Y-%m-%d")
    )
}

/// `s` as a part of a file name: letters, digits and `-`; anything else becomes `_`.
fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
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
