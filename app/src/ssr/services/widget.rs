//! The share widget: a customer of the business sees their referral link, code, QR and share
//! links on the business's own site (`embed.js`), in the campaign's branding.
//!
//! Who the customer is never comes from the browser. The business's backend asks for a
//! short-lived **widget token** ([`issue`], `POST /api/v1/referrers/widget-token`) and puts it
//! on its page; the widget sends it back with [`view`]. A token is signed with the server's
//! secret (no row per token: the widget's read is one campaign and one referrer), names its
//! campaign and referrer and when it ends, and is refused (and logged) when forged, expired, for
//! another campaign, or for a referrer who is gone or deactivated.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde::Serialize;

use crate::{
    domain::{
        email::Email,
        share,
        widget::{WidgetMode, WidgetSettings, WidgetSettingsInput},
    },
    error::AppError,
    ssr::{
        entities::{campaign, referrer},
        services::{
            audit::{self, Actor, Change, Object},
            campaigns, portal, qr,
            referrers::{self, Welcome},
            secrets,
        },
        state::AppState,
    },
    types::{PortalBranding, Referrer},
};

/// The widget's code, built into the binary.
pub const EMBED_JS: &str = include_str!("embed.js");

/// A short hash of [`EMBED_JS`]: its `ETag`, and the `v=` of the versioned address the admin
/// hands out (`/embed.js?v=…`), which may be cached for a year because a new build has a new `v`.
pub fn embed_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        let mut hash = secrets::sha256_hex(EMBED_JS);
        hash.truncate(16);
        hash
    })
}

/// How long a token works when the business does not say.
pub const DEFAULT_TTL: Duration = Duration::minutes(60);
/// The version prefix of a token, so the format can change without mistaking old tokens.
const TOKEN_VERSION: &str = "w1";
/// The HMAC label that keeps widget signatures apart from every other use of the secret.
const TOKEN_LABEL: &str = "widget-token";
/// Hex characters of the signature kept (128 bits).
const SIGNATURE_HEX: usize = 32;

/// What a token says, once its signature and time are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WidgetClaims {
    /// The campaign it was made for.
    pub campaign_id: i64,
    /// The customer, as a referrer of that campaign.
    pub referrer_id: i64,
    /// When it stops working.
    pub expires_at: i64,
}

/// Why a token was refused: logged, never told to the browser (it shows nothing either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Not a token of this shape.
    Malformed,
    /// The signature does not match (forged, or signed by another installation).
    Forged,
    /// Its time is over.
    Expired,
    /// Made for another campaign than the page's `data-campaign`.
    OtherCampaign,
    /// Its referrer is gone or deactivated.
    ReferrerUnavailable,
}

impl TokenRefusal {
    /// The word in the log line.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRefusal::Malformed => "malformed",
            TokenRefusal::Forged => "forged",
            TokenRefusal::Expired => "expired",
            TokenRefusal::OtherCampaign => "other_campaign",
            TokenRefusal::ReferrerUnavailable => "referrer_unavailable",
        }
    }
}

fn signature(secret: &[u8], body: &str) -> String {
    secrets::keyed_digest(secret, TOKEN_LABEL, body, SIGNATURE_HEX)
}

/// Signs a token for `referrer_id` of `campaign_id` that works until `expires_at`:
/// `w1.{campaign}.{referrer}.{unix expiry}.{signature}`.
pub fn sign(
    secret: &[u8],
    campaign_id: i64,
    referrer_id: i64,
    expires_at: DateTime<Utc>,
) -> String {
    let body = format!(
        "{TOKEN_VERSION}.{campaign_id}.{referrer_id}.{}",
        expires_at.timestamp()
    );
    let signature = signature(secret, &body);
    format!("{body}.{signature}")
}

/// Checks a token's shape, signature (in constant time) and time at `now`.
pub fn verify(
    secret: &[u8],
    token: &str,
    now: DateTime<Utc>,
) -> Result<WidgetClaims, TokenRefusal> {
    let (body, given) = token.rsplit_once('.').ok_or(TokenRefusal::Malformed)?;
    let mut parts = body.split('.');
    let (Some(TOKEN_VERSION), Some(campaign), Some(referrer), Some(expires), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(TokenRefusal::Malformed);
    };
    let number = |s: &str| s.parse::<i64>().map_err(|_| TokenRefusal::Malformed);
    let claims = WidgetClaims {
        campaign_id: number(campaign)?,
        referrer_id: number(referrer)?,
        expires_at: number(expires)?,
    };
    if !secrets::constant_time_eq(signature(secret, body).as_bytes(), given.as_bytes()) {
        return Err(TokenRefusal::Forged);
    }
    if claims.expires_at <= now.timestamp() {
        return Err(TokenRefusal::Expired);
    }
    Ok(claims)
}

/// The business's request for a widget token.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// The campaign's slug.
    pub campaign: String,
    /// The customer's email (as the business knows it).
    pub email: String,
    /// Their name; needed only when they are new to the programme.
    pub name: Option<String>,
    /// Minutes the token works: 1 to 1440, 60 when left out.
    pub ttl_minutes: Option<i64>,
    /// Send a new referrer the link-and-code email.
    pub send_welcome_email: bool,
}

/// A widget token, when it ends, and whose it is.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// Put it on the page: `data-token` of the script tag.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The customer as a referrer.
    pub referrer: Referrer,
    /// Whether this request made them a referrer (and fired `referrer.created`).
    pub created: bool,
}

/// Makes a widget token for the customer with `request.email`: their referrer record in the
/// campaign, made now when they have none and the campaign takes new referrers (as its portal's
/// "Anyone may join" says). A deactivated referrer gets no token.
pub async fn issue(
    state: &AppState,
    actor: &Actor,
    request: &TokenRequest,
) -> Result<IssuedToken, AppError> {
    let ttl = portal::tokens::requested_ttl(request.ttl_minutes, DEFAULT_TTL)?;
    let campaign = campaigns::find_row(&state.db, &request.campaign).await?;
    let email = Email::parse(&request.email)
        .map_err(|e| AppError::invalid("invalid_email", "email", e.to_string()))?;
    let (row, created) = match referrers::find_by_email(&state.db, campaign.id, &email.normalized())
        .await?
    {
        Some(row) => (row, false),
        None => {
            if !campaign.signup_open {
                return Err(AppError::conflict(
                    "signup_closed",
                    "This customer is not a referrer yet, and the campaign does not take new referrers on its own (turn on \"Anyone may join on the portal\", or add them first).",
                ));
            }
            let name = request
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    AppError::invalid(
                        "name_required",
                        "name",
                        "Give the customer's name: they are new to the programme.",
                    )
                })?;
            let welcome = if request.send_welcome_email {
                Welcome::SendEmail
            } else {
                Welcome::Quiet
            };
            let (made, created) = referrers::create(
                state,
                Some(actor),
                &campaign.slug,
                name,
                &request.email,
                welcome,
            )
            .await?;
            let row = referrer::Entity::find_by_id(made.id)
                .one(&state.db)
                .await
                .map_err(|e| AppError::internal("widget::issue referrer", e))?
                .ok_or_else(|| AppError::not_found("Referrer"))?;
            (row, created)
        }
    };
    if !row.active {
        return Err(AppError::conflict(
            "referrer_inactive",
            "This referrer is deactivated: their link credits nobody, so the widget would show nothing.",
        ));
    }
    let expires_at = Utc::now() + ttl;
    Ok(IssuedToken {
        token: sign(&state.settings.secret, campaign.id, row.id, expires_at),
        expires_at,
        referrer: referrers::to_wire(&state.settings, &row, &campaign.slug),
        created,
    })
}

/// The campaign's widget settings; settings that no longer read (never expected) count as off
/// and are logged.
pub fn settings_of(row: &campaign::Model) -> WidgetSettings {
    match row.widget_settings.as_deref() {
        None => WidgetSettings::default(),
        Some(json) => serde_json::from_str(json).unwrap_or_else(|e| {
            tracing::error!(campaign = %row.slug, error = %e, "unreadable widget settings; the widget is off");
            WidgetSettings::default()
        }),
    }
}

/// Saves the widget settings of campaign `slug`; nothing changes when one field is wrong.
pub async fn save(
    state: &AppState,
    actor: &Actor,
    slug: &str,
    input: &WidgetSettingsInput,
) -> Result<WidgetSettings, AppError> {
    let settings = WidgetSettings::parse(input)?;
    let row = campaigns::find_row(&state.db, slug).await?;
    let json =
        serde_json::to_string(&settings).map_err(|e| AppError::internal("widget::save json", e))?;
    let err = |e| AppError::internal("widget::save", e);
    let (id, name) = (row.id, row.name.clone());
    let mut active: campaign::ActiveModel = row.into();
    active.widget_settings = Set(Some(json));
    active.updated_at = Set(Utc::now());
    let txn = crate::ssr::db::begin_write(&state.db).await.map_err(err)?;
    active.update(&txn).await.map_err(err)?;
    audit::record(
        &txn,
        actor,
        Change {
            action: "campaign.widget_changed",
            campaign_id: Some(id),
            object: Object::Campaign(id),
            summary: format!(
                "Changed the share widget of {name} ({}).",
                settings.mode.label().to_lowercase()
            ),
        },
    )
    .await?;
    txn.commit().await.map_err(err)?;
    Ok(settings)
}

/// A share target as the widget shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ShareTarget {
    /// "Email", "WhatsApp", ….
    pub label: &'static str,
    /// A plain link (mailto:, sms:, or the service's own share page).
    pub href: String,
}

/// The customer as the widget shows them.
#[derive(Clone, Debug, Serialize)]
pub struct WidgetReferrer {
    /// Their name.
    pub name: String,
    /// Their referral link.
    pub link: String,
    /// Their referral code, when the campaign gives codes.
    pub code: Option<String>,
    /// The portal entrance, for stats and rewards.
    pub portal_url: String,
}

/// What `embed.js` shows: the settings, the branding, the customer, the QR of their link and
/// the share links. The JSON contract between the server and the widget.
#[derive(Clone, Debug, Serialize)]
pub struct WidgetView {
    /// How and when it shows.
    pub settings: WidgetSettings,
    /// The campaign's branding (colours, headline, reward text, logo).
    pub branding: PortalBranding,
    /// The customer; absent when the widget is off.
    pub referrer: Option<WidgetReferrer>,
    /// The QR code of the link, as SVG markup (no scripts, no styles: shapes only).
    pub qr_svg: Option<String>,
    /// The share links.
    pub share: Vec<ShareTarget>,
    /// The line a share sheet (Web Share API) says before the link.
    pub share_text: Option<String>,
    /// Whether this is the admin's preview (sample customer, rules not applied).
    pub preview: bool,
}

fn view_for(
    state: &AppState,
    campaign: &campaign::Model,
    who: Option<WidgetReferrer>,
    preview: bool,
) -> Result<WidgetView, AppError> {
    let settings = settings_of(campaign);
    let branding = portal::branding(campaign, &state.settings.public_url);
    let who = who.filter(|_| preview || settings.mode != WidgetMode::Off);
    let (qr_svg, share, share_text) = match &who {
        Some(w) => (
            Some(qr::default_svg(&w.link)?),
            share::share_links(&branding.name, &w.link, w.code.as_deref())
                .into_iter()
                .map(|(label, href)| ShareTarget { label, href })
                .collect(),
            Some(share::share_message(&branding.name, w.code.as_deref())),
        ),
        None => (None, Vec::new(), None),
    };
    Ok(WidgetView {
        settings,
        branding,
        referrer: who,
        qr_svg,
        share,
        share_text,
        preview,
    })
}

/// What the widget on campaign `slug`'s host page shows for `token`. A refusal is returned
/// for the caller to log; the browser is told only that there is nothing to show.
pub async fn view(
    state: &AppState,
    slug: &str,
    token: &str,
) -> Result<Result<WidgetView, TokenRefusal>, AppError> {
    let claims = match verify(&state.settings.secret, token, Utc::now()) {
        Ok(claims) => claims,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let campaign = campaigns::find_row(&state.db, slug).await?;
    if claims.campaign_id != campaign.id {
        return Ok(Err(TokenRefusal::OtherCampaign));
    }
    let row = referrer::Entity::find_by_id(claims.referrer_id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("widget::view referrer", e))?;
    let Some(row) = row.filter(|r| r.active && r.campaign_id == campaign.id) else {
        return Ok(Err(TokenRefusal::ReferrerUnavailable));
    };
    let who = WidgetReferrer {
        name: row.name.clone(),
        link: referrers::link(&state.settings, &row.slug),
        code: row.code.clone(),
        portal_url: portal::entrance_url(&state.settings, &campaign.slug),
    };
    view_for(state, &campaign, Some(who), false).map(Ok)
}

/// The admin's preview of campaign `slug`'s widget: its branding and a sample customer whose
/// link goes nowhere real.
pub async fn preview(state: &AppState, slug: &str) -> Result<WidgetView, AppError> {
    let campaign = campaigns::find_row(&state.db, slug).await?;
    let sample = WidgetReferrer {
        name: "Sam Sample".to_owned(),
        link: referrers::link(&state.settings, "sample-preview"),
        code: campaign.codes_enabled.then(|| "SAMPLE-7".to_owned()),
        portal_url: portal::entrance_url(&state.settings, &campaign.slug),
    };
    view_for(state, &campaign, Some(sample), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a server secret of some length";

    #[test]
    fn a_signed_token_reads_back_until_it_expires() {
        let now = Utc::now();
        let token = sign(SECRET, 3, 41, now + Duration::minutes(5));
        let claims = verify(SECRET, &token, now).unwrap();
        assert_eq!((claims.campaign_id, claims.referrer_id), (3, 41));
        assert_eq!(
            verify(SECRET, &token, now + Duration::minutes(6)),
            Err(TokenRefusal::Expired)
        );
    }

    #[test]
    fn a_changed_or_foreign_token_is_refused() {
        let now = Utc::now();
        let token = sign(SECRET, 3, 41, now + Duration::minutes(5));
        // Another referrer's id with the same signature.
        let other = token.replacen(".41.", ".42.", 1);
        assert_eq!(verify(SECRET, &other, now), Err(TokenRefusal::Forged));
        assert_eq!(
            verify(b"another installation", &token, now),
            Err(TokenRefusal::Forged)
        );
        for junk in [
            "",
            "w1",
            "w1.3.41.9.",
            "w2.3.41.99999999999.abc",
            "w1.x.41.9.abc",
            "w1.3.41.9.9.abc",
        ] {
            assert!(verify(SECRET, junk, now).is_err(), "{junk:?}");
        }
    }
}
