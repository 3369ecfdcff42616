//! The referrer portal's server functions. They live under `/p/_rpc/` (not `/rpc/`) so that the
//! portal's session cookie, scoped to `/p`, reaches them; campaign slugs never contain `_`.
//! Every one that shows data takes the referrer from the session, and checks that they belong
//! to the campaign in the request.

use leptos::prelude::*;

use crate::{
    error::AppError,
    types::{PortalSettingsInput, PortalView},
};

/// The campaign's portal settings, for the admin's form.
#[server(prefix = "/rpc", endpoint = "portal_settings")]
pub async fn load_portal_settings(slug: String) -> Result<PortalSettingsInput, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::portal::settings},
    };
    auth::require(Permission::ViewData).await?;
    settings::get(&auth::state()?, &slug).await
}

/// Saves the campaign's portal settings (headline, intro, reward text, terms, footer, sign-up,
/// sites that may frame it).
#[server(prefix = "/rpc", endpoint = "portal_settings_save")]
pub async fn save_portal_settings(
    slug: String,
    settings: PortalSettingsInput,
) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, portal::settings as portal_settings},
        },
    };
    let admin = auth::require(Permission::ManageCampaigns).await?;
    portal_settings::update(&auth::state()?, &Actor::admin(&admin), &slug, &settings).await?;
    crate::api::redirect_back_with(&[("saved", "portal")]);
    Ok(())
}

/// What `/p/{slug}` shows: the campaign's branding, and the signed-in referrer's own page when
/// the session's referrer belongs to this campaign (the entrance otherwise). `page` pages the
/// leads list, `rewards` the rewards list.
#[server(prefix = "/p/_rpc", endpoint = "home")]
pub async fn load_portal(
    slug: String,
    page: Option<u32>,
    rewards: Option<u32>,
) -> Result<PortalView, AppError> {
    use crate::ssr::{
        auth,
        client_ip::ClientIp,
        portal_session,
        services::{
            portal::{self, HomePages},
            secrets::ip_hash,
        },
    };
    use axum::http::{HeaderValue, header};
    let state = auth::state()?;
    let parts = portal_session::request_parts()?;
    let session = portal_session::session_token(&parts.headers);
    let pages = HomePages {
        leads: page.unwrap_or(1),
        rewards: rewards.unwrap_or(1),
    };
    let page = portal::view(&state, &slug, session, pages).await?;
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        // Nothing about a referrer is kept by a browser cache or a shared proxy.
        response.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // Not framable unless the campaign lists the business's own sites; the policy wins
        // over the server-wide X-Frame-Options in every current browser.
        if let Ok(value) = HeaderValue::from_str(&page.frame_policy) {
            response.insert_header(header::CONTENT_SECURITY_POLICY, value);
        }
        if let Some(referrer) = &page.referrer {
            let cookie = portal_session::set_portal_cookie(
                &portal_session::encode_portal_visitor(&state.settings.secret, referrer.id),
                state.settings.secure_cookies,
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.append_header(header::SET_COOKIE, value);
            }
        }
    }
    if let Some(referrer) = &page.referrer {
        // The referrer's own address and browser, for the self-referral and same-IP signals.
        let client = ClientIp::of(&parts, &state).0;
        portal::remember_address(&state, referrer, &ip_hash(&state.settings.secret, client))
            .await?;
    }
    Ok(page.view)
}

#[cfg(feature = "ssr")]
fn client_key() -> Result<String, AppError> {
    use crate::ssr::{auth, client_ip::ClientIp, portal_session, services::secrets::ip_hash};
    let state = auth::state()?;
    let parts = portal_session::request_parts()?;
    Ok(ip_hash(
        &state.settings.secret,
        ClientIp::of(&parts, &state).0,
    ))
}

/// Sends the browser of a plain form post back to the portal entrance with `notice`.
#[cfg(feature = "ssr")]
fn back_to_entrance(slug: &str, notice: &str) {
    use axum::http::header;
    let Ok(parts) = crate::ssr::portal_session::request_parts() else {
        return;
    };
    let html = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if html {
        let slug: String = slug
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        leptos_axum::redirect(&format!("/p/{slug}?notice={notice}"));
    }
}

/// "Email me a sign-in link". The same answer whether or not the email takes part.
#[server(prefix = "/p/_rpc", endpoint = "sign_in")]
pub async fn portal_sign_in(slug: String, email: String) -> Result<String, AppError> {
    use crate::ssr::{auth, services::portal};
    let message = portal::request_sign_in(&auth::state()?, &slug, &email, &client_key()?).await?;
    back_to_entrance(&slug, "sent");
    Ok(message.to_owned())
}

/// Joins the programme. `consent` is the terms checkbox (`on` when ticked).
#[server(prefix = "/p/_rpc", endpoint = "join")]
pub async fn portal_join(
    slug: String,
    name: String,
    email: String,
    consent: Option<String>,
) -> Result<String, AppError> {
    use crate::ssr::{auth, services::portal};
    let message = portal::join(
        &auth::state()?,
        &slug,
        &name,
        &email,
        consent.is_some(),
        &client_key()?,
    )
    .await?;
    back_to_entrance(&slug, "sent");
    Ok(message.to_owned())
}

/// Turns the signed-in referrer's notification emails on or off.
#[server(prefix = "/p/_rpc", endpoint = "emails")]
pub async fn portal_set_emails(slug: String, on: Option<String>) -> Result<(), AppError> {
    use crate::ssr::{auth, portal_session, services::portal};
    let referrer = portal_session::require_referrer().await?;
    portal::set_emails(&auth::state()?, referrer.id, on.is_some()).await?;
    back_to_entrance(&slug, "saved");
    Ok(())
}

/// Signs out of the portal.
#[server(prefix = "/p/_rpc", endpoint = "sign_out")]
pub async fn portal_sign_out(slug: String) -> Result<(), AppError> {
    use crate::ssr::{
        auth, portal_session,
        services::portal::{self, SESSION_COOKIE, tokens},
    };
    use axum::http::{HeaderValue, header};
    let state = auth::state()?;
    let parts = portal_session::request_parts()?;
    if let Some(token) = portal_session::read_cookie(&parts.headers, SESSION_COOKIE) {
        tokens::end_session(&state.db, token, chrono::Utc::now()).await?;
    }
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        for removal in portal::session_cookie_removals(&state.settings) {
            if let Ok(value) = HeaderValue::from_str(&removal) {
                response.append_header(header::SET_COOKIE, value);
            }
        }
    }
    back_to_entrance(&slug, "signed_out");
    Ok(())
}
