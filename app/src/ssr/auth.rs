//! Who is calling: the signed-in admin of a server function, checked against a permission.

use leptos::prelude::use_context;
use tower_sessions::Session;

use crate::{
    domain::roles::Permission,
    error::AppError,
    ssr::{services::admins, state::AppState},
    types::CurrentAdmin,
};

/// Session key holding the signed-in admin's id.
pub const ADMIN_ID_KEY: &str = "admin_id";

/// The application state, as provided to every server function and route.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>()
        .ok_or_else(|| AppError::internal("auth::state", "AppState missing from context"))
}

/// The current request's session.
pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| AppError::internal("auth::session", e))
}

/// The signed-in admin, or `Unauthenticated`.
pub async fn current_admin() -> Result<CurrentAdmin, AppError> {
    admin_of(&state()?, &session().await?).await
}

/// The admin signed in to `session`, for axum routes that have the session as an extractor.
pub async fn admin_of(state: &AppState, session: &Session) -> Result<CurrentAdmin, AppError> {
    let id: Option<i64> = session
        .get(ADMIN_ID_KEY)
        .await
        .map_err(|e| AppError::internal("auth::admin_of session read", e))?;
    let id = id.ok_or(AppError::Unauthenticated)?;
    admins::find(&state.db, id)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// `admin`, if their role allows `permission`; otherwise `Forbidden`.
pub fn allowed(admin: CurrentAdmin, permission: Permission) -> Result<CurrentAdmin, AppError> {
    if admin.role.allows(permission) {
        Ok(admin)
    } else {
        Err(AppError::Forbidden)
    }
}

/// The signed-in admin, if their role allows `permission`; otherwise `Unauthenticated` or
/// `Forbidden`. Every server function starts with this.
pub async fn require(permission: Permission) -> Result<CurrentAdmin, AppError> {
    allowed(current_admin().await?, permission)
}

/// [`require`] for axum routes: the admin of `session`, if their role allows `permission`.
pub async fn require_in(
    state: &AppState,
    session: &Session,
    permission: Permission,
) -> Result<CurrentAdmin, AppError> {
    allowed(admin_of(state, session).await?, permission)
}

/// Starts an admin session: a new session id (against fixation), then the admin's id.
pub async fn start_session(session: &Session, admin: &CurrentAdmin) -> Result<(), AppError> {
    session
        .cycle_id()
        .await
        .map_err(|e| AppError::internal("auth::start_session cycle", e))?;
    session
        .insert(ADMIN_ID_KEY, admin.id)
        .await
        .map_err(|e| AppError::internal("auth::start_session insert", e))
}
