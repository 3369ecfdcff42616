//! Logging in and out, first-run setup, and who is signed in.

use leptos::prelude::*;

use crate::{error::AppError, types::CurrentAdmin};

/// The signed-in admin (any role).
#[server(prefix = "/rpc", endpoint = "me")]
pub async fn me() -> Result<CurrentAdmin, AppError> {
    crate::ssr::auth::current_admin().await
}

/// Logs in with email and password, then goes to the admin's first page (the sales desk for
/// the sales role, the campaigns otherwise).
#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    use crate::ssr::{
        auth,
        client_ip::ClientIp,
        services::{admins, secrets::ip_hash},
    };
    let state = auth::state()?;
    let parts = crate::ssr::portal_session::request_parts()?;
    let client = ip_hash(&state.settings.secret, ClientIp::of(&parts, &state).0);
    let admin = admins::log_in(&state, &email, &password, &client).await?;
    auth::start_session(&auth::session().await?, &admin).await?;
    leptos_axum::redirect(admin.role.home());
    Ok(())
}

/// Ends the session and goes to the login page.
#[server(prefix = "/rpc", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let session = crate::ssr::auth::session().await?;
    session
        .flush()
        .await
        .map_err(|e| AppError::internal("logout", e))?;
    leptos_axum::redirect("/admin/login");
    Ok(())
}

/// Creates the first owner with the one-time setup token, signs them in, and goes to campaigns.
#[server(prefix = "/rpc", endpoint = "setup")]
pub async fn complete_setup(
    token: String,
    email: String,
    password: String,
) -> Result<(), AppError> {
    use crate::ssr::{auth, services::admins};
    let state = auth::state()?;
    let admin = admins::complete_setup(&state.db, &token, &email, &password).await?;
    auth::start_session(&auth::session().await?, &admin).await?;
    leptos_axum::redirect("/admin");
    Ok(())
}

/// Whether `token` is a usable setup token (so the page can explain a dead link up front).
#[server(prefix = "/rpc", endpoint = "setup_token_valid")]
pub async fn setup_token_valid(token: String) -> Result<bool, AppError> {
    use crate::ssr::{auth, services::admins};
    let state = auth::state()?;
    admins::setup_token_is_valid(&state.db, &token).await
}
