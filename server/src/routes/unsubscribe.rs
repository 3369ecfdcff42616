//! `/p/unsubscribe/{token}`: the unsubscribe address in every notification email (the footer
//! link and `List-Unsubscribe`).
//!
//! Opening it (GET) only asks, with a button: mail scanners and link previews open links, and
//! must not unsubscribe anybody. The button, and a mail client's one-click unsubscribe (RFC 8058:
//! a POST with the body `List-Unsubscribe=One-Click`, no cookies), POST to the same address,
//! which turns the referrer's notification emails off. The token is signed (`{id}-{digest}`,
//! `services::emails::unsubscribe_url`), so it needs no session and no CSRF token, and POSTing
//! it twice changes nothing more.

use app::{
    domain::emails::mask_email,
    ssr::{
        entities::{campaign, referrer},
        services::{emails, portal},
        state::AppState,
    },
};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use sea_orm::EntityTrait;

use crate::routes::pages;

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage<'a> {
    brand_color: &'a str,
    campaign_name: &'a str,
    heading: &'a str,
    masked_email: String,
    entrance: String,
    done: bool,
}

/// The referrer and campaign a token names, `Ok(None)` for a forged token or a referrer that is
/// gone.
async fn lookup(
    state: &AppState,
    token: &str,
) -> Result<Option<(referrer::Model, campaign::Model)>, sea_orm::DbErr> {
    let Some(id) = emails::check_unsubscribe(&state.settings, token) else {
        return Ok(None);
    };
    let Some(row) = referrer::Entity::find_by_id(id).one(&state.db).await? else {
        return Ok(None);
    };
    Ok(campaign::Entity::find_by_id(row.campaign_id)
        .one(&state.db)
        .await?
        .map(|c| (row, c)))
}

fn page(
    state: &AppState,
    row: &referrer::Model,
    campaign: &campaign::Model,
    done: bool,
) -> Response {
    let mut response = pages::render(
        StatusCode::OK,
        &UnsubscribePage {
            brand_color: &campaign.brand_color,
            campaign_name: &campaign.name,
            heading: if done {
                "You are unsubscribed"
            } else {
                "Stop notification emails?"
            },
            masked_email: mask_email(&row.email),
            entrance: portal::entrance_url(&state.settings, &campaign.slug),
            done,
        },
    );
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The token is in the address: never send it on to another site.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn not_found() -> Response {
    pages::message(
        StatusCode::NOT_FOUND,
        "Page not found",
        "This unsubscribe link is not valid. Use the link in your latest email, or turn notifications off in your referral portal.",
    )
}

/// Asks before unsubscribing (or says it is done, for a referrer already unsubscribed).
pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match lookup(&state, &token).await {
        Ok(Some((row, campaign))) => {
            let done = row.emails_opt_out;
            page(&state, &row, &campaign, done)
        }
        Ok(None) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, "unsubscribe: lookup failed");
            pages::internal_error()
        }
    }
}

/// Turns the referrer's notification emails off: the page's button and RFC 8058 one-click
/// unsubscribe (whose body, `List-Unsubscribe=One-Click`, is all it sends and is not read).
pub async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match lookup(&state, &token).await {
        Ok(Some((row, campaign))) => match portal::set_emails(&state, row.id, false).await {
            Ok(()) => page(&state, &row, &campaign, true),
            Err(e) => {
                tracing::error!(error = %e, "unsubscribe: could not turn emails off");
                pages::internal_error()
            }
        },
        Ok(None) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, "unsubscribe: lookup failed");
            pages::internal_error()
        }
    }
}
