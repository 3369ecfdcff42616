//! The referrer's side: the portal entrance (join, ask for a sign-in link), signing in without a
//! password (`tokens`), and what the signed-in page shows. Every function that shows a
//! referrer's data takes the referrer from their session, never from the request.

pub mod settings;
pub mod tokens;

use chrono::Utc;
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};

use chrono::{DateTime, Duration};

use crate::{
    domain::{
        color::Rgb,
        email::Email,
        emails::{EmailKind, mask_email},
        rules::format_amount,
    },
    error::AppError,
    ssr::{
        entities::{campaign, click, lead, referrer, reward},
        services::{
            campaigns::{self, DEFAULT_BRAND_COLOR},
            emails, qr, referrers,
        },
        state::{AppState, RuntimeSettings},
    },
    types::{PortalBranding, PortalHome, PortalLead, PortalReward},
};

/// The name of the portal's session cookie (path `/p`, apart from the admin's session).
pub const SESSION_COOKIE: &str = "handoff_portal";
/// Leads shown per page on the referrer's page.
pub const LEADS_PER_PAGE: u64 = 20;

/// The campaign's portal entrance: where a referrer joins, asks for a sign-in link and comes
/// back. It opens nothing by itself.
pub fn entrance_url(settings: &RuntimeSettings, campaign_slug: &str) -> String {
    format!("{}/p/{campaign_slug}", settings.public_url)
}

/// A sign-in link for a token made by [`tokens::issue`].
pub fn sign_in_link(settings: &RuntimeSettings, campaign_slug: &str, token: &str) -> String {
    format!("{}/p/{campaign_slug}/login/{token}", settings.public_url)
}

/// The `Set-Cookie` value of a portal session (`None` clears it).
pub fn session_cookie(settings: &RuntimeSettings, token: Option<&str>) -> String {
    let secure = if settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    match token {
        Some(token) => format!(
            "{SESSION_COOKIE}={token}; Path=/p; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            tokens::SESSION_TTL.num_seconds()
        ),
        None => format!("{SESSION_COOKIE}=; Path=/p; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

/// A campaign's branding as the portal shows it.
pub fn branding(row: &campaign::Model) -> PortalBranding {
    let brand = Rgb::parse(&row.brand_color)
        .or_else(|| Rgb::parse(DEFAULT_BRAND_COLOR))
        .unwrap_or(Rgb::BLACK);
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    PortalBranding {
        slug: row.slug.clone(),
        name: row.name.clone(),
        brand_color: brand.hex(),
        brand_text_color: brand.readable_text().hex(),
        logo_url: present(&row.logo_url),
        headline: present(&row.portal_headline)
            .unwrap_or_else(|| format!("Refer a friend to {}", row.name)),
        intro: present(&row.portal_intro),
        reward_text: present(&row.reward_text),
        terms_url: present(&row.terms_url),
        footer: present(&row.portal_footer),
        signup_open: row.signup_open,
    }
}

/// The portal entrance of campaign `slug`, with the `Content-Security-Policy` its pages carry
/// (who may frame them). Paused campaigns show their entrance too: referrers still sign in to
/// see their rewards.
pub async fn entrance(state: &AppState, slug: &str) -> Result<(PortalBranding, String), AppError> {
    campaigns::find_row(&state.db, slug)
        .await
        .map(|c| (branding(&c), settings::frame_policy(&c)))
}

/// The answer to every join and sign-in request that passed the checks, whether or not the
/// email is known: it tells nobody who takes part.
pub const CHECK_YOUR_EMAIL: &str = "Check your email: if the address takes part in this programme, a sign-in link is on its way. It works once, for 30 minutes.";

fn limit(state: &AppState, email: &str, client: &str) -> Result<(), AppError> {
    // Both are counted, so neither a flood from one client nor one inbox flooded from many
    // clients gets through.
    let by_email = state.portal_limits.by_email.attempt(email);
    let by_client = state.portal_limits.by_client.attempt(client);
    if by_email && by_client {
        Ok(())
    } else {
        Err(AppError::RateLimited)
    }
}

fn parse_email(email: &str) -> Result<Email, AppError> {
    Email::parse(email).map_err(|e| AppError::invalid("invalid_email", "email", e.to_string()))
}

/// "Email me a sign-in link": the same answer whether or not the email takes part.
/// `client` identifies the caller for the rate limit (a hash of their address).
pub async fn request_sign_in(
    state: &AppState,
    slug: &str,
    email: &str,
    client: &str,
) -> Result<&'static str, AppError> {
    let campaign = campaigns::find_row(&state.db, slug).await?;
    let email = parse_email(email)?;
    limit(state, &email.normalized(), client)?;
    if let Some(row) = referrers::find_by_email(&state.db, campaign.id, &email.normalized()).await?
    {
        emails::send_sign_in(state, &campaign, &row).await?;
    }
    Ok(CHECK_YOUR_EMAIL)
}

/// Joins the programme on the portal: a new referrer gets the link-and-code email (with a
/// sign-in link); somebody who already takes part gets a sign-in link instead, never a second
/// record. The answer is the same either way.
pub async fn join(
    state: &AppState,
    slug: &str,
    name: &str,
    email: &str,
    consent: bool,
    client: &str,
) -> Result<&'static str, AppError> {
    let campaign = campaigns::find_row(&state.db, slug).await?;
    if !campaign.signup_open {
        return Err(AppError::conflict(
            "signup_closed",
            "This programme is not taking new referrers on its portal. If you already take part, ask for a sign-in link.",
        ));
    }
    if !consent {
        return Err(AppError::invalid(
            "consent_required",
            "consent",
            "Tick the box to accept the programme's terms.",
        ));
    }
    let parsed = parse_email(email)?;
    limit(state, &parsed.normalized(), client)?;
    if let Some(row) =
        referrers::find_by_email(&state.db, campaign.id, &parsed.normalized()).await?
    {
        emails::send_sign_in(state, &campaign, &row).await?;
        return Ok(CHECK_YOUR_EMAIL);
    }
    let (created, _) = referrers::create(
        state,
        &campaign.slug,
        name,
        email,
        referrers::Welcome::SendEmail,
    )
    .await?;
    // A campaign that stopped the link-and-code email from going out on its own still lets a
    // new referrer in: they get a sign-in link instead.
    let welcome =
        emails::templates::effective(&state.db, campaign.id, EmailKind::LinkAndCode).await?;
    if !welcome.auto_send
        && let Some(row) = referrer::Entity::find_by_id(created.id)
            .one(&state.db)
            .await
            .map_err(|e| AppError::internal("portal::join referrer", e))?
    {
        emails::send_sign_in(state, &campaign, &row).await?;
    }
    Ok(CHECK_YOUR_EMAIL)
}

fn reward_note(row: &reward::Model) -> Option<String> {
    match row.status.as_str() {
        "pending" => Some(match row.due_at {
            Some(at) => format!(
                "On hold until {} (the refund window).",
                at.format("%Y-%m-%d")
            ),
            None => "Waiting for approval.".to_owned(),
        }),
        "cancelled" => Some(
            row.cancel_reason
                .clone()
                .unwrap_or_else(|| "Cancelled.".to_owned()),
        ),
        _ => None,
    }
}

/// The signed-in referrer's page, for `referrer` (from the session) in campaign `slug`. A
/// session of another campaign's referrer shows nothing here: `Unauthenticated`.
pub async fn home(
    state: &AppState,
    slug: &str,
    referrer: &referrer::Model,
    page: u32,
) -> Result<PortalHome, AppError> {
    let campaign = campaigns::find_row(&state.db, slug).await?;
    if referrer.campaign_id != campaign.id {
        return Err(AppError::Unauthenticated);
    }
    let db = &state.db;
    let err = |what: &'static str| move |e| AppError::internal(what, e);
    let clicks = click::Entity::find()
        .filter(click::Column::ReferrerId.eq(referrer.id))
        .count(db)
        .await
        .map_err(err("portal::home clicks"))?;
    let statuses: Vec<(String, i64)> = lead::Entity::find()
        .select_only()
        .column(lead::Column::Status)
        .column_as(lead::Column::Id.count(), "n")
        .filter(lead::Column::ReferrerId.eq(referrer.id))
        .group_by(lead::Column::Status)
        .into_tuple()
        .all(db)
        .await
        .map_err(err("portal::home lead counts"))?;
    let leads: i64 = statuses.iter().map(|(_, n)| n).sum();
    let qualified = statuses
        .iter()
        .filter(|(s, _)| s == "qualified")
        .map(|(_, n)| n)
        .sum();
    let rewards = reward::Entity::find()
        .filter(reward::Column::ReferrerId.eq(referrer.id))
        .filter(reward::Column::Recipient.eq("referrer"))
        .order_by_desc(reward::Column::Id)
        .limit(100)
        .all(db)
        .await
        .map_err(err("portal::home rewards"))?
        .into_iter()
        .map(|r| PortalReward {
            amount: match r.amount_minor {
                Some(minor) => format_amount(minor, r.currency.as_deref()),
                None => r.description.clone(),
            },
            status: r.status.clone(),
            note: reward_note(&r),
            created_at: r.created_at,
        })
        .collect();
    let page = page.max(1);
    let mut recent: Vec<PortalLead> = lead::Entity::find()
        .filter(lead::Column::ReferrerId.eq(referrer.id))
        .order_by_desc(lead::Column::Id)
        .offset(u64::from(page - 1) * LEADS_PER_PAGE)
        .limit(LEADS_PER_PAGE + 1)
        .all(db)
        .await
        .map_err(err("portal::home leads"))?
        .into_iter()
        .map(|l| PortalLead {
            masked_email: mask_email(&l.email),
            status: l.status,
            created_at: l.created_at,
        })
        .collect();
    let next_page = (recent.len() as u64 > LEADS_PER_PAGE).then_some(page + 1);
    recent.truncate(LEADS_PER_PAGE as usize);
    let link = referrers::link(&state.settings, &referrer.slug);
    let qr_svg = qr::default_svg(&link)?;
    Ok(PortalHome {
        branding: branding(&campaign),
        name: referrer.name.clone(),
        link,
        code: referrer.code.clone(),
        qr_svg,
        clicks: i64::try_from(clicks).unwrap_or(i64::MAX),
        leads,
        qualified,
        rewards,
        recent_leads: recent,
        next_page,
        page,
        emails_on: !referrer.emails_opt_out,
    })
}

/// Keeps the address the referrer's page was opened from, for the same-IP fraud signal.
pub async fn remember_address(
    state: &AppState,
    referrer: &referrer::Model,
    ip_hash: &str,
) -> Result<(), AppError> {
    if referrer.last_ip_hash.as_deref() == Some(ip_hash) {
        return Ok(());
    }
    referrer::Entity::update_many()
        .col_expr(referrer::Column::LastIpHash, Expr::value(ip_hash))
        .filter(referrer::Column::Id.eq(referrer.id))
        .exec(&state.db)
        .await
        .map_err(|e| AppError::internal("portal::remember_address", e))?;
    Ok(())
}

/// Turns a referrer's notification emails on or off.
pub async fn set_emails(state: &AppState, referrer_id: i64, on: bool) -> Result<(), AppError> {
    referrer::Entity::update_many()
        .col_expr(referrer::Column::EmailsOptOut, Expr::value(!on))
        .filter(referrer::Column::Id.eq(referrer_id))
        .exec(&state.db)
        .await
        .map_err(|e| AppError::internal("portal::set_emails", e))?;
    Ok(())
}

/// A signed portal link for a business that opens the portal from its own product
/// (`POST /api/v1/referrers/{id}/portal-link`): single use, `ttl_minutes` long (default 15, at
/// most 24 hours). Returns the link and when it expires.
pub async fn api_link(
    state: &AppState,
    referrer_id: i64,
    ttl_minutes: Option<i64>,
) -> Result<(String, DateTime<Utc>), AppError> {
    let ttl = match ttl_minutes {
        None => tokens::API_LINK_DEFAULT_TTL,
        Some(m) if (1..=tokens::API_LINK_MAX_TTL.num_minutes()).contains(&m) => {
            Duration::minutes(m)
        }
        Some(_) => {
            return Err(AppError::invalid(
                "invalid_ttl",
                "ttl_minutes",
                format!(
                    "ttl_minutes is 1 to {} (24 hours).",
                    tokens::API_LINK_MAX_TTL.num_minutes()
                ),
            ));
        }
    };
    let row = referrer::Entity::find_by_id(referrer_id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("portal::api_link", e))?
        .ok_or_else(|| AppError::not_found("Referrer"))?;
    let campaign = campaign::Entity::find_by_id(row.campaign_id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("portal::api_link campaign", e))?
        .ok_or_else(|| AppError::not_found("Campaign"))?;
    let now = Utc::now();
    let token = tokens::issue(&state.db, row.id, tokens::TokenPurpose::ApiLink, ttl, now).await?;
    Ok((
        sign_in_link(&state.settings, &campaign.slug, &token),
        now + ttl,
    ))
}
