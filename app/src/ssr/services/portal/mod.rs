//! The referrer's side: the portal entrance (join, ask for a sign-in link), signing in without a
//! password (`tokens`), and what the signed-in page shows. Every function that shows a
//! referrer's data takes the referrer from their session, never from the request.

pub mod settings;
pub mod tokens;

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult,
    IdenStatic, QueryFilter, QueryTrait, SelectA, SelectB,
    sea_query::{Condition, Expr},
};

use chrono::DateTime;

use crate::domain::rules::RewardStatus;
use crate::{
    domain::{
        color::Rgb,
        email::Email,
        emails::{EmailKind, mask_email},
        rules::format_amount,
    },
    error::AppError,
    ssr::{
        entities::{campaign, referrer},
        services::{
            campaigns::{self, DEFAULT_BRAND_COLOR},
            emails, logos, referrers,
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

/// A campaign's branding as the portal shows it; `public_url` tells an uploaded logo from one
/// given by address.
pub fn branding(row: &campaign::Model, public_url: &str) -> PortalBranding {
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
        qr_logo: logos::is_uploaded(public_url, &row.slug, row.logo_url.as_deref()),
    }
}

/// What `/p/{slug}` answers with: the page, the `Content-Security-Policy` it carries (who may
/// frame it), and the signed-in referrer when the page is theirs.
pub struct PortalPage {
    /// The referrer's own page, or the entrance.
    pub view: PortalView,
    /// The `Content-Security-Policy` value.
    pub frame_policy: String,
    /// The session's referrer, when they belong to this campaign and the page is theirs.
    pub referrer: Option<referrer::Model>,
}

/// What `/p/{slug}` shows: the referrer's own page when `session` (the portal cookie's token)
/// is live and its referrer belongs to this campaign, the entrance otherwise. Paused campaigns
/// show their portal too: referrers still sign in to see their rewards.
///
/// Why it is shaped like this: on SQLite every statement crosses from sqlx's worker thread to
/// the async side, and on PostgreSQL it is a round trip, so the signed-in page is one
/// statement, [`head`]: campaign, session, numbers, and a page of rewards and one of leads
/// ([`list_columns`]). The entrance, with no session, reads the campaign alone
/// (BENCHMARKS, "Referrer portal page").
pub async fn view(
    state: &AppState,
    slug: &str,
    session: Option<&str>,
    pages: HomePages,
) -> Result<PortalPage, AppError> {
    let pages = HomePages {
        leads: pages.leads.max(1),
        rewards: pages.rewards.max(1),
    };
    let head = match session {
        Some(token) => head(&state.db, slug, token, Utc::now(), pages).await?,
        None => Head {
            campaign: campaigns::find_row(&state.db, slug).await?,
            referrer: None,
            counts: HomeCounts::default(),
            lists: HomeLists::default(),
        },
    };
    let home = match &head.referrer {
        Some(referrer) => Some(home(state, referrer, head.counts, &head.lists, pages)?),
        None => None,
    };
    Ok(PortalPage {
        view: PortalView {
            branding: branding(&head.campaign, &state.settings.public_url),
            home,
        },
        frame_policy: settings::frame_policy(&head.campaign),
        referrer: head.referrer,
    })
}

/// The campaign, the session's referrer if they belong to it, their numbers and lists.
struct Head {
    campaign: campaign::Model,
    referrer: Option<referrer::Model>,
    counts: HomeCounts,
    lists: HomeLists,
}

/// A referrer's numbers: clicks, leads and qualified read from the maintained
/// `referrer_totals`, clicks from paper counted from `ix_clicks_referrer_channel` (printed
/// material is clicked far less than links are shared). `referrers.id` is the row [`head`]
/// joins; without one they are 0.
const COUNTS: [(&str, &str); 4] = [
    (
        "clicks",
        "COALESCE((SELECT t.clicks FROM referrer_totals t WHERE t.referrer_id = referrers.id), 0)",
    ),
    (
        "paper_clicks",
        "(SELECT COUNT(*) FROM clicks WHERE clicks.referrer_id = referrers.id AND clicks.channel <> 'link')",
    ),
    (
        "leads",
        "COALESCE((SELECT t.leads FROM referrer_totals t WHERE t.referrer_id = referrers.id), 0)",
    ),
    (
        "qualified",
        "COALESCE((SELECT t.qualified FROM referrer_totals t WHERE t.referrer_id = referrers.id), 0)",
    ),
];

/// One statement: campaign `slug`, joined to the referrer of session `token` when the session
/// is live at `now` and the referrer belongs to this campaign, with the referrer's numbers and
/// the `pages` of their lists.
async fn head(
    db: &DatabaseConnection,
    slug: &str,
    token: &str,
    now: DateTime<Utc>,
    pages: HomePages,
) -> Result<Head, AppError> {
    // Here only: its `max` would shadow `Ord::max` for the whole module.
    use sea_orm::sea_query::ExprTrait;
    let err = |e| AppError::internal("portal::head", e);
    let mut query = campaign::Entity::find()
        .filter(campaigns::with_slug(slug))
        .select_also(referrer::Entity)
        .into_query();
    query.left_join(
        referrer::Entity,
        Condition::all()
            .add(
                Expr::col((referrer::Entity, referrer::Column::CampaignId))
                    .equals((campaign::Entity, campaign::Column::Id)),
            )
            .add(
                // `=`, not `IN`: a token hash is unique, and with `IN` SQLite chose to walk the
                // campaign's referrers instead of looking the one up by its id.
                Expr::col((referrer::Entity, referrer::Column::Id)).eq(Expr::SubQuery(
                    None,
                    Box::new(tokens::live_session(token, now).into()),
                )),
            ),
    );
    for (name, count) in COUNTS {
        query.expr_as(Expr::cust(count), name);
    }
    let window = |page: u32, per_page: u64| (per_page + 1, u64::from(page - 1) * per_page);
    for (name, list) in list_columns(
        db.get_database_backend(),
        window(pages.rewards, REWARDS_PER_PAGE),
        window(pages.leads, LEADS_PER_PAGE),
    ) {
        query.expr_as(Expr::cust(list), name);
    }
    let row = db
        .query_one(&query)
        .await
        .map_err(err)?
        .ok_or_else(|| AppError::not_found("Campaign"))?;
    let count = |name| row.try_get::<i64>("", name).map_err(err);
    // Without a referrer the lists are `[]`: no rows match `referrers.id` when it is NULL.
    let list = |name| row.try_get::<String>("", name).map_err(err);
    Ok(Head {
        campaign: campaign::Model::from_query_result(&row, SelectA.as_str()).map_err(err)?,
        referrer: Option::<referrer::Model>::from_query_result(&row, SelectB.as_str())
            .map_err(err)?,
        counts: HomeCounts {
            clicks: count("clicks")?,
            paper_clicks: count("paper_clicks")?,
            leads: count("leads")?,
            qualified: count("qualified")?,
        },
        lists: HomeLists {
            rewards: list("reward_list")?,
            leads: list("lead_list")?,
        },
    })
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
    // A referrer joining on their own is not an admin's change: no audit line.
    let (created, _) = referrers::create(
        state,
        None,
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

/// Why a reward waits or was cancelled, in words.
fn reward_note(
    status: &str,
    due_at: Option<DateTime<Utc>>,
    cancel_reason: Option<String>,
) -> Option<String> {
    match status.parse() {
        Ok(RewardStatus::Pending) => Some(match due_at {
            Some(at) => format!(
                "On hold until {} (the refund window).",
                at.format("%Y-%m-%d")
            ),
            None => "Waiting for approval.".to_owned(),
        }),
        Ok(RewardStatus::Cancelled) => {
            Some(cancel_reason.unwrap_or_else(|| "Cancelled.".to_owned()))
        }
        Ok(RewardStatus::Due | RewardStatus::Issued) | Err(()) => None,
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

/// A page of a referrer's rewards and one of their leads, as [`list_columns`] reads them: JSON
/// arrays of [`RewardItem`] and [`LeadItem`].
#[derive(Clone, Debug, Default)]
struct HomeLists {
    rewards: String,
    leads: String,
}

/// A referrer's numbers: clicks (and of those, from printed material), friends, qualified
/// friends.
#[derive(Clone, Copy, Debug, Default)]
struct HomeCounts {
    clicks: i64,
    paper_clicks: i64,
    leads: i64,
    qualified: i64,
}

/// A reward as [`list_columns`] reads it: amount in minor units, currency, description, status, due
/// date, why it was cancelled, when it was earned.
type RewardItem = (
    Option<i64>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
);

/// A lead as [`list_columns`] reads it: email, status, when it arrived.
type LeadItem = (String, String, String);

/// The columns [`head`] adds for [`home`]'s lists: one page of the referrer's rewards and one
/// of their leads, newest first, each read one row past the page (to know whether there is a
/// next one) and folded into one JSON array, named `reward_list` and `lead_list`.
///
/// Why JSON: on SQLite each row of an answer crosses from sqlx's worker thread to the async side
/// on its own (a channel send, often a thread wake-up), which made 32 rows cost more than the
/// statement; and as two columns of the head's one row they cost no statement of their own.
/// Each is a scalar subquery on the joined `referrers.id`. The page windows, `(limit, offset)`,
/// are numbers this function is given, written into the text.
fn list_columns(
    backend: DbBackend,
    rewards: (u64, u64),
    leads: (u64, u64),
) -> [(&'static str, String); 2] {
    let (rewards_limit, rewards_offset) = rewards;
    let (leads_limit, leads_offset) = leads;
    let reward_rows = format!(
        "SELECT id, amount_minor, currency, description, status, due_at, cancel_reason, created_at \
         FROM rewards WHERE rewards.referrer_id = referrers.id AND recipient = 'referrer' \
         ORDER BY id DESC LIMIT {rewards_limit} OFFSET {rewards_offset}"
    );
    let lead_rows = format!(
        "SELECT id, email, status, created_at FROM leads WHERE leads.referrer_id = referrers.id \
         ORDER BY id DESC LIMIT {leads_limit} OFFSET {leads_offset}"
    );
    let reward_fields = "r.amount_minor, r.currency, r.description, r.status, r.due_at, r.cancel_reason, r.created_at";
    let lead_fields = "l.email, l.status, l.created_at";
    let list = |fields: &str, rows: &str, alias: &str| match backend {
        DbBackend::Postgres => format!(
            "(SELECT COALESCE(json_agg(json_build_array({fields}) ORDER BY {alias}.id DESC), '[]')::text \
             FROM ({rows}) AS {alias})"
        ),
        _ => format!(
            "(SELECT json_group_array(json_array({fields}) ORDER BY {alias}.id DESC) \
             FROM ({rows}) AS {alias})"
        ),
    };
    [
        ("reward_list", list(reward_fields, &reward_rows, "r")),
        ("lead_list", list(lead_fields, &lead_rows, "l")),
    ]
}

/// A time as the lists' JSON carries it: RFC 3339 from both engines (`T` or a space between
/// date and time). A time without an offset (a row written by hand, or by SQL's
/// `CURRENT_TIMESTAMP`) is UTC, as sqlx reads such a column itself, so the page never fails on it.
fn list_time(text: &str) -> Result<DateTime<Utc>, AppError> {
    text.parse::<DateTime<Utc>>()
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
                .map(|naive| naive.and_utc())
        })
        .map_err(|e| AppError::internal("portal::home time", format!("{text:?}: {e}")))
}

/// The signed-in referrer's page, from what [`head`] read: their campaign, numbers and the
/// `pages` of their lists.
fn home(
    state: &AppState,
    referrer: &referrer::Model,
    counts: HomeCounts,
    lists: &HomeLists,
    pages: HomePages,
) -> Result<PortalHome, AppError> {
    let (rewards_page, page) = (pages.rewards, pages.leads);
    let reward_items: Vec<RewardItem> = serde_json::from_str(&lists.rewards)
        .map_err(|e| AppError::internal("portal::home rewards", e))?;
    let lead_items: Vec<LeadItem> = serde_json::from_str(&lists.leads)
        .map_err(|e| AppError::internal("portal::home leads", e))?;
    let mut rewards = Vec::with_capacity(reward_items.len());
    for (amount_minor, currency, description, status, due_at, cancel_reason, created_at) in
        reward_items
    {
        let due_at = due_at.as_deref().map(list_time).transpose()?;
        rewards.push(PortalReward {
            amount: match amount_minor {
                Some(minor) => format_amount(minor, currency.as_deref()),
                None => description,
            },
            note: reward_note(&status, due_at, cancel_reason),
            status,
            created_at: list_time(&created_at)?,
        });
    }
    let mut recent = Vec::with_capacity(lead_items.len());
    for (email, status, created_at) in lead_items {
        recent.push(PortalLead {
            masked_email: mask_email(&email),
            status,
            created_at: list_time(&created_at)?,
        });
    }
    let rewards_next_page = (rewards.len() as u64 > REWARDS_PER_PAGE).then_some(rewards_page + 1);
    rewards.truncate(REWARDS_PER_PAGE as usize);
    let next_page = (recent.len() as u64 > LEADS_PER_PAGE).then_some(page + 1);
    recent.truncate(LEADS_PER_PAGE as usize);
    Ok(PortalHome {
        name: referrer.name.clone(),
        link: referrers::link(&state.settings, &referrer.slug),
        link_slug: referrer.slug.clone(),
        code: referrer.code.clone(),
        clicks: counts.clicks,
        paper_clicks: counts.paper_clicks,
        leads: counts.leads,
        qualified: counts.qualified,
        rewards,
        rewards_page,
        rewards_next_page,
        recent_leads: recent,
        next_page,
        page,
        emails_on: !referrer.emails_opt_out,
        active: referrer.active,
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
    let ttl = tokens::requested_ttl(ttl_minutes, tokens::API_LINK_DEFAULT_TTL)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_times_are_read_in_each_form_a_database_gives_them() {
        let expected = chrono::NaiveDate::from_ymd_opt(2030, 1, 2)
            .and_then(|d| d.and_hms_micro_opt(12, 30, 5, 250_000))
            .map(|t| t.and_utc())
            .unwrap();
        for text in [
            "2030-01-02T12:30:05.250+00:00", // sqlx on SQLite
            "2030-01-02T12:30:05.25+00:00",  // PostgreSQL's json_agg
            "2030-01-02T14:30:05.250+02:00", // another offset
            "2030-01-02 12:30:05.250+00:00", // a space for the T
            "2030-01-02 12:30:05.25",        // no offset: UTC
            "2030-01-02T12:30:05.250000",    // no offset, with a T
        ] {
            assert_eq!(list_time(text).unwrap(), expected, "{text}");
        }
        assert!(list_time("yesterday").is_err());
        assert!(list_time("").is_err());
    }
}
