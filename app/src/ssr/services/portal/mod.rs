//! The referrer's side: the portal entrance (join, ask for a sign-in link), signing in without a
//! password (`tokens`), and what the signed-in page shows. Every function that shows a
//! referrer's data takes the referrer from their session, never from the request.

pub mod settings;
pub mod tokens;

use chrono::Utc;
use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement,
    sea_query::Expr,
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
        entities::{campaign, lead, referrer, reward},
        services::{
            campaigns::{self, DEFAULT_BRAND_COLOR},
            emails, referrers,
        },
        state::{AppState, RuntimeSettings},
    },
    types::{PortalBranding, PortalHome, PortalLead, PortalReward, PortalView},
};

/// The name of the portal's session cookie (path `/p`, apart from the admin's session).
pub const SESSION_COOKIE: &str = "handoff_portal";
/// Leads shown per page on the referrer's page.
pub const LEADS_PER_PAGE: u64 = 20;
/// Rewards shown per page on the referrer's page.
pub const REWARDS_PER_PAGE: u64 = 10;

/// The campaign's portal entrance: where a referrer joins, asks for a sign-in link and comes
/// back. It opens nothing by itself.
pub fn entrance_url(settings: &RuntimeSettings, campaign_slug: &str) -> String {
    format!("{}/p/{campaign_slug}", settings.public_url)
}

/// A sign-in link for a token made by [`tokens::issue`].
pub fn sign_in_link(settings: &RuntimeSettings, campaign_slug: &str, token: &str) -> String {
    format!("{}/p/{campaign_slug}/login/{token}", settings.public_url)
}

/// The `Set-Cookie` value that starts a portal session for a referrer of `campaign`.
///
/// Why two kinds: a browser sends a `SameSite=Lax` cookie only when the portal is the page
/// itself, so a portal that a campaign lets the business's own sites frame (`frame-ancestors`)
/// would show its entrance to a signed-in referrer. For those campaigns, on https, the cookie is
/// `SameSite=None; Secure; Partitioned`: sent inside the frame, and kept apart per embedding
/// site (CHIPS), which browsers that block third-party cookies still allow. A referrer signs in
/// inside the frame (with a link from `POST /api/v1/referrers/{id}/portal-link`, say).
pub fn session_cookie(
    settings: &RuntimeSettings,
    campaign: &campaign::Model,
    token: &str,
) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/p; HttpOnly; Max-Age={}{}",
        tokens::SESSION_TTL.num_seconds(),
        cookie_scope(settings.secure_cookies, settings::is_framable(campaign))
    )
}

/// The `Set-Cookie` values that end a portal session, whichever kind it was.
pub fn session_cookie_removals(settings: &RuntimeSettings) -> Vec<String> {
    let removal = |framed| {
        format!(
            "{SESSION_COOKIE}=; Path=/p; HttpOnly; Max-Age=0{}",
            cookie_scope(settings.secure_cookies, framed)
        )
    };
    let mut removals = vec![removal(false)];
    if settings.secure_cookies {
        removals.push(removal(true));
    }
    removals
}

/// `SameSite` and the rest for a portal cookie on an https (`secure`) or plain http portal.
fn cookie_scope(secure: bool, framed: bool) -> &'static str {
    match (secure, framed) {
        (true, true) => "; SameSite=None; Secure; Partitioned",
        (true, false) => "; SameSite=Lax; Secure",
        (false, _) => "; SameSite=Lax",
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

/// What `/p/{slug}` shows, with the `Content-Security-Policy` its pages carry (who may frame
/// them): the referrer's own page when `referrer` (from the session) belongs to this campaign,
/// the entrance otherwise. One lookup of the campaign serves both. Paused campaigns show their
/// portal too: referrers still sign in to see their rewards.
pub async fn view(
    state: &AppState,
    slug: &str,
    referrer: Option<&referrer::Model>,
    pages: HomePages,
) -> Result<(PortalView, String), AppError> {
    let campaign = campaigns::find_row(&state.db, slug).await?;
    let home = match referrer {
        Some(referrer) if referrer.campaign_id == campaign.id => {
            Some(home(state, referrer, pages).await?)
        }
        _ => None,
    };
    let view = PortalView {
        branding: branding(&campaign),
        home,
    };
    Ok((view, settings::frame_policy(&campaign)))
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

/// Which page of leads and which page of rewards the referrer's page shows (1-based).
#[derive(Clone, Copy, Debug)]
pub struct HomePages {
    /// The leads page (`?page=`).
    pub leads: u32,
    /// The rewards page (`?rewards=`).
    pub rewards: u32,
}

/// A referrer's numbers: clicks, friends, qualified friends.
#[derive(Debug, FromQueryResult)]
struct HomeCounts {
    clicks: i64,
    leads: i64,
    qualified: i64,
}

/// The signed-in referrer's page (their campaign already checked by [`view`]).
///
/// Why it is shaped like this: on SQLite every statement and every row crosses from sqlx's
/// worker thread to the async side, so the page asks for few rows in few statements: the three
/// numbers in one statement (counted from indexes alone), one page of rewards and one of leads
/// (BENCHMARKS, "Referrer portal page").
async fn home(
    state: &AppState,
    referrer: &referrer::Model,
    pages: HomePages,
) -> Result<PortalHome, AppError> {
    let db = &state.db;
    let err = |what: &'static str| move |e| AppError::internal(what, e);
    let counts = HomeCounts::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        "SELECT \
           (SELECT COUNT(*) FROM clicks WHERE referrer_id = $1) AS clicks, \
           (SELECT COUNT(*) FROM leads WHERE referrer_id = $1) AS leads, \
           (SELECT COUNT(*) FROM leads WHERE referrer_id = $1 AND status = 'qualified') AS qualified",
        [referrer.id.into()],
    ))
    .one(db)
    .await
    .map_err(err("portal::home counts"))?
    .unwrap_or(HomeCounts {
        clicks: 0,
        leads: 0,
        qualified: 0,
    });
    let rewards_page = pages.rewards.max(1);
    let mut rewards: Vec<PortalReward> = reward::Entity::find()
        .filter(reward::Column::ReferrerId.eq(referrer.id))
        .filter(reward::Column::Recipient.eq("referrer"))
        .order_by_desc(reward::Column::Id)
        .offset(u64::from(rewards_page - 1) * REWARDS_PER_PAGE)
        .limit(REWARDS_PER_PAGE + 1)
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
    let rewards_next_page = (rewards.len() as u64 > REWARDS_PER_PAGE).then_some(rewards_page + 1);
    rewards.truncate(REWARDS_PER_PAGE as usize);
    let page = pages.leads.max(1);
    let mut recent: Vec<PortalLead> = lead::Entity::find()
        .select_only()
        .columns([
            lead::Column::Email,
            lead::Column::Status,
            lead::Column::CreatedAt,
        ])
        .filter(lead::Column::ReferrerId.eq(referrer.id))
        .order_by_desc(lead::Column::Id)
        .offset(u64::from(page - 1) * LEADS_PER_PAGE)
        .limit(LEADS_PER_PAGE + 1)
        .into_tuple::<(String, String, DateTime<Utc>)>()
        .all(db)
        .await
        .map_err(err("portal::home leads"))?
        .into_iter()
        .map(|(email, status, created_at)| PortalLead {
            masked_email: mask_email(&email),
            status,
            created_at,
        })
        .collect();
    let next_page = (recent.len() as u64 > LEADS_PER_PAGE).then_some(page + 1);
    recent.truncate(LEADS_PER_PAGE as usize);
    Ok(PortalHome {
        name: referrer.name.clone(),
        link: referrers::link(&state.settings, &referrer.slug),
        link_slug: referrer.slug.clone(),
        code: referrer.code.clone(),
        clicks: counts.clicks,
        leads: counts.leads,
        qualified: counts.qualified,
        rewards,
        rewards_page,
        rewards_next_page,
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
