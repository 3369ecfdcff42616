//! Wire types shared by the browser, the server functions and the REST API. Never sea-orm rows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A campaign as shown to admins and API clients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Campaign {
    /// Database id.
    pub id: i64,
    /// URL-safe identifier, unique in the installation.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Where the referral link sends the friend; `None` means Handoff's hosted friend page.
    pub landing_url: Option<String>,
    /// Whether referrers get a referral code.
    pub codes_enabled: bool,
    /// `random` or `name_based`.
    pub code_style: String,
    /// Optional prefix in front of every code.
    pub code_prefix: Option<String>,
    /// Brand colour as `#rrggbb`.
    pub brand_color: String,
    /// Optional logo shown on friend pages.
    pub logo_url: Option<String>,
    /// `active` or `paused`.
    pub status: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// What an admin or API client sends to create or edit a campaign. Missing optional fields keep
/// their defaults (on create) or current values (on edit).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CampaignInput {
    /// Display name (required on create).
    #[serde(default)]
    pub name: String,
    /// URL-safe identifier; derived from the name when empty.
    #[serde(default)]
    pub slug: Option<String>,
    /// Absolute http(s) URL; empty for the hosted friend page.
    #[serde(default)]
    pub landing_url: Option<String>,
    /// Whether referrers get codes (default true).
    #[serde(default)]
    pub codes_enabled: Option<bool>,
    /// `random` (default) or `name_based`.
    #[serde(default)]
    pub code_style: Option<String>,
    /// Up to 8 letters or digits in front of every code.
    #[serde(default)]
    pub code_prefix: Option<String>,
    /// `#rrggbb`.
    #[serde(default)]
    pub brand_color: Option<String>,
    /// Absolute http(s) URL of a logo.
    #[serde(default)]
    pub logo_url: Option<String>,
}

/// A referrer with their link and code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Referrer {
    /// Database id.
    pub id: i64,
    /// The campaign's slug.
    pub campaign: String,
    /// Email as given.
    pub email: String,
    /// Display name.
    pub name: String,
    /// The referral code (when the campaign has codes on).
    pub code: Option<String>,
    /// Absolute referral link.
    pub link: String,
    /// Absolute URL of the referrer's own portal page.
    pub portal_url: String,
    /// When the referrer joined.
    pub created_at: DateTime<Utc>,
}

/// A referrer with the numbers shown in the Referrers tab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReferrerWithStats {
    /// The referrer.
    #[serde(flatten)]
    pub referrer: Referrer,
    /// Clicks on the referral link.
    pub clicks: i64,
    /// Leads attributed to the referrer.
    pub leads: i64,
    /// Of those, qualified.
    pub qualified: i64,
}

/// A referred person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Lead {
    /// Database id.
    pub id: i64,
    /// The campaign's slug.
    pub campaign: String,
    /// Name, when given.
    pub name: Option<String>,
    /// Email as given.
    pub email: String,
    /// The referrer credited with this lead.
    pub referrer_id: Option<i64>,
    /// The referrer's name.
    pub referrer_name: Option<String>,
    /// How the lead arrived: link, code, form, api, upload, manual.
    pub source: String,
    /// pending, qualified or rejected.
    pub status: String,
    /// Fraud signals, e.g. `self_referral`.
    pub flags: Vec<String>,
    /// When the lead was created.
    pub created_at: DateTime<Utc>,
}

/// One entry of a lead's timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LeadEvent {
    /// Machine-readable kind (`click`, `captured`, `flagged`, `duplicate_ignored`, ...).
    pub kind: String,
    /// A sentence explaining what happened and why.
    pub detail: String,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// A lead with the story of how it was credited.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadDetail {
    /// The lead.
    pub lead: Lead,
    /// The credited referrer's code, when they have one.
    pub referrer_code: Option<String>,
    /// Oldest first.
    pub timeline: Vec<LeadEvent>,
}

/// One page of a keyset-paginated list, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next_cursor: Option<i64>,
}

/// Filters for the Referrers tab and `GET /api/v1/referrers`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferrerFilter {
    /// Campaign slug.
    pub campaign: Option<String>,
    /// Exact email (normalized before comparing).
    pub email: Option<String>,
    /// Exact referral code (normalized before comparing).
    pub code: Option<String>,
    /// Free text: part of a name or email, or a code.
    pub search: Option<String>,
    /// Keyset cursor: only rows with a smaller id.
    pub after: Option<i64>,
}

/// Filters for the Leads tab and `GET /api/v1/leads`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadFilter {
    /// Campaign slug.
    pub campaign: Option<String>,
    /// pending, qualified or rejected.
    pub status: Option<String>,
    /// Credited referrer.
    pub referrer_id: Option<i64>,
    /// Keyset cursor: only rows with a smaller id.
    pub after: Option<i64>,
}

/// The signed-in admin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurrentAdmin {
    /// Database id.
    pub id: i64,
    /// Login email.
    pub email: String,
    /// owner, admin, marketer or viewer.
    pub role: crate::domain::roles::Role,
}

/// What the friend sees after submitting the friend form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaptureOutcome {
    /// The lead (new, or the one that already existed).
    pub lead: Lead,
    /// False when the email was already in the campaign and nothing was created.
    pub created: bool,
}
