//! `GET /healthz`: 200 when the database answers.

use app::ssr::state::AppState;
use axum::{extract::State, http::StatusCode};

/// 200 `ok` when the database answers a ping, 503 otherwise.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database did not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
