//! Portal tokens: single-use sign-in links and the sessions they open, in one table.
//!
//! A token is 32 random bytes shown once (in an email, an API answer or a cookie) and stored
//! only as its SHA-256, so a copy of the database opens no portal. Sessions live in the database
//! like admin sessions, so several server processes share them.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, Query, SelectStatement},
};

use crate::{
    error::AppError,
    ssr::{
        entities::{portal_token, referrer},
        services::secrets::{random_token, sha256_hex},
    },
};

/// How long a sign-in link asked for on the portal lasts.
pub const SIGN_IN_TTL: Duration = Duration::minutes(30);
/// How long the sign-in link inside a link-and-code email lasts: the email may be read days
/// after it was sent, and the portal entrance is always there to ask for a fresh one.
pub const WELCOME_SIGN_IN_TTL: Duration = Duration::days(7);
/// The default and the longest life of a signed portal link made through the API.
pub const API_LINK_DEFAULT_TTL: Duration = Duration::minutes(15);
/// See [`API_LINK_DEFAULT_TTL`].
pub const API_LINK_MAX_TTL: Duration = Duration::hours(24);
/// How long a token the business asks for through the API lives: `minutes` when given (1 to
/// [`API_LINK_MAX_TTL`], else `422 invalid_ttl`), `default` when not. Portal links and widget
/// tokens both take `ttl_minutes` this way.
pub fn requested_ttl(minutes: Option<i64>, default: Duration) -> Result<Duration, AppError> {
    match minutes {
        None => Ok(default),
        Some(m) if (1..=API_LINK_MAX_TTL.num_minutes()).contains(&m) => Ok(Duration::minutes(m)),
        Some(_) => Err(AppError::invalid(
            "invalid_ttl",
            "ttl_minutes",
            format!(
                "ttl_minutes is 1 to {} (24 hours).",
                API_LINK_MAX_TTL.num_minutes()
            ),
        )),
    }
}

/// How long a portal session lasts.
pub const SESSION_TTL: Duration = Duration::days(30);

/// What a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    /// A sign-in link sent by email.
    EmailLink,
    /// A signed portal link a business asked for through the API.
    ApiLink,
    /// A signed-in browser (the `handoff_portal` cookie).
    Session,
}

impl TokenPurpose {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::EmailLink => "email",
            TokenPurpose::ApiLink => "api",
            TokenPurpose::Session => "session",
        }
    }

    fn is_link(purpose: &str) -> bool {
        purpose == TokenPurpose::EmailLink.as_str() || purpose == TokenPurpose::ApiLink.as_str()
    }
}

/// Makes a token for `referrer_id` that lasts `ttl`; returns the token (shown once).
pub async fn issue(
    db: &impl ConnectionTrait,
    referrer_id: i64,
    purpose: TokenPurpose,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let token = random_token(32);
    portal_token::ActiveModel {
        token_hash: Set(sha256_hex(&token)),
        referrer_id: Set(referrer_id),
        purpose: Set(purpose.as_str().to_owned()),
        expires_at: Set(now + ttl),
        used_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| AppError::internal("portal::tokens::issue", e))?;
    Ok(token)
}

/// The one answer for every sign-in link that does not work, so that a guess learns nothing.
pub fn link_refused() -> AppError {
    AppError::conflict(
        "sign_in_link_invalid",
        "This sign-in link has expired, was already used, or belongs to another programme. Ask for a new one below.",
    )
}

/// Finds the referrer of an unused, unexpired sign-in link for `campaign_id`, without using it
/// (the confirmation page shows who is signing in; mail scanners that open links use nothing).
pub async fn peek_link(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    token: &str,
    now: DateTime<Utc>,
) -> Result<referrer::Model, AppError> {
    let row = portal_token::Entity::find()
        .filter(portal_token::Column::TokenHash.eq(sha256_hex(token)))
        .one(db)
        .await
        .map_err(|e| AppError::internal("portal::tokens::peek", e))?
        .filter(|t| TokenPurpose::is_link(&t.purpose) && t.used_at.is_none() && t.expires_at > now)
        .ok_or_else(link_refused)?;
    referrer::Entity::find_by_id(row.referrer_id)
        .filter(referrer::Column::CampaignId.eq(campaign_id))
        .one(db)
        .await
        .map_err(|e| AppError::internal("portal::tokens::peek referrer", e))?
        .ok_or_else(link_refused)
}

/// Uses a sign-in link: marks it used (one winner when two requests race) and returns its
/// referrer, who must belong to `campaign_id`.
pub async fn redeem_link(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    token: &str,
    now: DateTime<Utc>,
) -> Result<referrer::Model, AppError> {
    let referrer = peek_link(db, campaign_id, token, now).await?;
    let done = portal_token::Entity::update_many()
        .col_expr(portal_token::Column::UsedAt, Expr::value(now))
        .filter(portal_token::Column::TokenHash.eq(sha256_hex(token)))
        .filter(portal_token::Column::UsedAt.is_null())
        .exec(db)
        .await
        .map_err(|e| AppError::internal("portal::tokens::redeem", e))?;
    if done.rows_affected != 1 {
        return Err(link_refused());
    }
    Ok(referrer)
}

/// `SELECT referrer_id` of session token `token` if it is live at `now`: the one definition of a
/// live session, for [`session_referrer`] and for statements that read more beside it.
pub fn live_session(token: &str, now: DateTime<Utc>) -> SelectStatement {
    Query::select()
        .column(portal_token::Column::ReferrerId)
        .from(portal_token::Entity)
        .and_where(portal_token::Column::TokenHash.eq(sha256_hex(token)))
        .and_where(portal_token::Column::Purpose.eq(TokenPurpose::Session.as_str()))
        .and_where(portal_token::Column::UsedAt.is_null())
        .and_where(portal_token::Column::ExpiresAt.gt(now))
        .to_owned()
}

/// The referrer signed in with session token `token`, if the session is live. One statement:
/// this runs on every signed-in portal action (the page itself reads it with more, in
/// `portal::head`).
pub async fn session_referrer(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<referrer::Model>, AppError> {
    referrer::Entity::find()
        .filter(referrer::Column::Id.in_subquery(live_session(token, now)))
        .one(db)
        .await
        .map_err(|e| AppError::internal("portal::tokens::session", e))
}

/// Ends a session (sign out). Unknown tokens are ignored.
pub async fn end_session(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    portal_token::Entity::update_many()
        .col_expr(portal_token::Column::UsedAt, Expr::value(now))
        .filter(portal_token::Column::TokenHash.eq(sha256_hex(token)))
        .filter(portal_token::Column::Purpose.eq(TokenPurpose::Session.as_str()))
        .exec(db)
        .await
        .map_err(|e| AppError::internal("portal::tokens::end_session", e))?;
    Ok(())
}

/// Deletes tokens that expired more than a day ago (the hourly clean-up).
pub async fn delete_expired(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    portal_token::Entity::delete_many()
        .filter(portal_token::Column::ExpiresAt.lt(now - Duration::days(1)))
        .exec(db)
        .await
        .map(|r| r.rows_affected)
        .map_err(|e| AppError::internal("portal::tokens::delete_expired", e))
}
