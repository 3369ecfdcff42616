//! Wire types shared by the browser, the server functions and the REST API. Never sea-orm rows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod overview;
pub use overview::{Overview, Period, RewardSum, Tally, TallyPoint, TopReferrer};

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
    /// False when an admin deactivated the referrer: their code is refused and their link
    /// credits nobody until they are reactivated.
    #[serde(default = "active_by_default")]
    pub active: bool,
    /// When the referrer joined.
    pub created_at: DateTime<Utc>,
}

fn active_by_default() -> bool {
    true
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
    /// Email as given; empty when only a phone number or a code is known.
    pub email: String,
    /// Phone number as given, when one was recorded (the sales desk, the API).
    #[serde(default)]
    pub phone: Option<String>,
    /// The referrer credited with this lead.
    pub referrer_id: Option<i64>,
    /// The referrer's name.
    pub referrer_name: Option<String>,
    /// How the lead arrived: link, code, form, api, sales (the sales desk), upload, manual.
    pub source: String,
    /// pending, review (waits for an admin), qualified or rejected.
    pub status: String,
    /// Fraud signals: `self_referral`, `same_ip`, `disposable_email`, `ip_burst`; and
    /// `referrer_inactive` for a friend a deactivated referrer's link brought.
    pub flags: Vec<String>,
    /// The amount of the conversion it qualified with, in minor units (0 without one).
    #[serde(default)]
    pub amount_minor: i64,
    /// That conversion's currency.
    #[serde(default)]
    pub amount_currency: Option<String>,
    /// When the lead was created.
    pub created_at: DateTime<Utc>,
}

impl Lead {
    /// How to reach the friend: the email, else the phone number, else empty (a code-only
    /// conversion knows neither).
    pub fn contact(&self) -> &str {
        if self.email.is_empty() {
            self.phone.as_deref().unwrap_or("")
        } else {
            &self.email
        }
    }
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
    /// Its campaign's name.
    #[serde(default)]
    pub campaign_name: String,
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
    /// Only referrers who never had a link-and-code email.
    #[serde(default)]
    pub never_emailed: bool,
}

/// Lead statuses, in the order a lead moves through them (`review`: waiting for an admin).
pub const LEAD_STATUSES: [&str; 4] = ["pending", "review", "qualified", "rejected"];

/// Filters for the Leads tab and `GET /api/v1/leads`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadFilter {
    /// Campaign slug.
    pub campaign: Option<String>,
    /// pending, review, qualified or rejected.
    pub status: Option<String>,
    /// Credited referrer.
    pub referrer_id: Option<i64>,
    /// Recorded at the sales desk by this admin account.
    #[serde(default)]
    pub entered_by: Option<i64>,
    /// One search box: the friend's email, phone, the start of their name or email, an order
    /// id, or a referral code.
    #[serde(default)]
    pub search: Option<String>,
    /// Created on or after this day (UTC), `YYYY-MM-DD`.
    #[serde(default)]
    pub from: Option<String>,
    /// Created on or before this day (UTC), `YYYY-MM-DD`.
    #[serde(default)]
    pub to: Option<String>,
    /// `newest` (the default) or `oldest` first, or `amount`: largest qualifying amount first.
    #[serde(default)]
    pub sort: Option<String>,
    /// Keyset cursor: only rows past this id in the chosen order.
    pub after: Option<i64>,
}

impl LeadFilter {
    /// The filter as URL query pairs (the page's address without its cursor): the Leads tab
    /// reads them back with [`LeadFilter::from_query`], and the export takes the same ones.
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let text = [
            ("campaign", &self.campaign),
            ("status", &self.status),
            ("q", &self.search),
            ("from", &self.from),
            ("to", &self.to),
            ("sort", &self.sort),
        ];
        let mut pairs: Vec<(&'static str, String)> = text
            .into_iter()
            .filter_map(|(key, value)| Some((key, value.clone().filter(|v| !v.is_empty())?)))
            .collect();
        if let Some(id) = self.referrer_id {
            pairs.push(("referrer_id", id.to_string()));
        }
        pairs
    }

    /// The filter in a page's query (`get` reads one parameter); blank values are no filter.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> LeadFilter {
        let text = |key: &str| get(key).filter(|v| !v.trim().is_empty());
        LeadFilter {
            campaign: text("campaign"),
            status: text("status"),
            referrer_id: text("referrer_id").and_then(|v| v.parse().ok()),
            entered_by: None,
            search: text("q"),
            from: text("from"),
            to: text("to"),
            sort: text("sort"),
            after: text("after").and_then(|v| v.parse().ok()),
        }
    }
}

/// One page of the Leads tab, and how its search text was understood.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadsView {
    /// The page.
    pub page: Page<Lead>,
    /// "Leads whose order id is ORD-1001": what the search box matched, when it was used.
    pub search_note: Option<String>,
}

/// The signed-in admin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurrentAdmin {
    /// Database id.
    pub id: i64,
    /// Login email.
    pub email: String,
    /// owner, admin, marketer, viewer or sales.
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

/// A conversion event as sent to `POST /api/v1/conversions` (and built by every other door).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConversionInput {
    /// Campaign slug.
    pub campaign: String,
    /// Your id for this event; the same id again is recognised as a duplicate.
    pub event_id: String,
    /// Event name, e.g. `purchase`, `converted`, `qualified_lead`, `refund`.
    pub event: String,
    /// The referral code the friend used, if known.
    #[serde(default)]
    pub referral_code: Option<String>,
    /// A promotion or coupon code mapped to a referrer, if known.
    #[serde(default)]
    pub promotion_code: Option<String>,
    /// The friend's email, if known.
    #[serde(default)]
    pub email: Option<String>,
    /// Amount in minor units (cents).
    #[serde(default)]
    pub amount: Option<i64>,
    /// ISO 4217 currency of the amount.
    #[serde(default)]
    pub currency: Option<String>,
    /// When it happened; now when absent.
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
}

/// A reward earned by a referrer or a friend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Reward {
    /// Database id.
    pub id: i64,
    /// The campaign's slug.
    pub campaign: String,
    /// The qualified lead it is for (the one that reached the milestone, for milestones).
    pub lead_id: Option<i64>,
    /// That lead's friend, as the admin knows them: their name, else their email or phone.
    #[serde(default)]
    pub lead_name: Option<String>,
    /// The referrer of that lead.
    pub referrer_id: Option<i64>,
    /// `referrer` or `friend`.
    pub recipient: String,
    /// Who receives it: the referrer's or the friend's email.
    pub recipient_email: Option<String>,
    /// `fixed`, `percent` or `custom`.
    pub kind: String,
    /// Amount in minor units, for `fixed` and `percent`.
    pub amount_minor: Option<i64>,
    /// Currency of the amount.
    pub currency: Option<String>,
    /// The reward in words.
    pub description: String,
    /// `pending` (in hold), `due`, `issued` or `cancelled`.
    pub status: String,
    /// For milestone rewards, which milestone (1, 2, ...); 0 otherwise.
    pub milestone: i32,
    /// When it becomes (or became) due.
    pub due_at: Option<DateTime<Utc>>,
    /// When it was issued.
    pub issued_at: Option<DateTime<Utc>>,
    /// `refund`, `fraud` or `manual`, when cancelled.
    pub cancel_reason: Option<String>,
    /// Issued, then refunded: the business may want it back.
    pub clawback: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// What processing a conversion event did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConversionResult {
    /// The lead the event was attributed to (found or created).
    pub lead: Lead,
    /// Rewards this event created.
    pub rewards: Vec<Reward>,
    /// True when this event id was seen before; the result is the one from the first time.
    pub duplicate: bool,
    /// `qualified`, `review`, `recorded`, `already_qualified`, `lead_rejected` or `refunded`.
    pub outcome: String,
    /// The event's code names a different referrer than the one the lead was credited to first.
    #[serde(default)]
    pub ambiguous: bool,
}

/// Filters for the Rewards tab and `GET /api/v1/rewards`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RewardFilter {
    /// Campaign slug.
    pub campaign: Option<String>,
    /// pending, due, issued or cancelled.
    pub status: Option<String>,
    /// Keyset cursor: only rows with a smaller id.
    pub after: Option<i64>,
}

/// One CSV row that was not imported: where, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportError {
    /// 1-based line in the file where the row starts (the header is line 1).
    pub line: u64,
    /// The column's header as written in the file; empty when the row as a whole is wrong.
    pub column: String,
    /// A sentence for a person.
    pub reason: String,
}

impl ImportError {
    /// `errors` as a CSV file (`line,column,reason`), the download of refused rows.
    pub fn report_csv(errors: &[ImportError]) -> String {
        let mut out = String::from("line,column,reason\n");
        for e in errors {
            // The line number is a number; only the text fields need quoting and defusing.
            out.push_str(&format!("{},", e.line));
            out.push_str(&crate::domain::csv::line(&[&e.column, &e.reason]));
        }
        out
    }
}

/// What a CSV import did (or, for a preview, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportReport {
    /// The import's id in the upload history; `None` for a preview.
    pub import_id: Option<i64>,
    /// True for a preview: nothing was written.
    pub dry_run: bool,
    /// Data rows read (blank lines not counted).
    pub rows: u64,
    /// Rows recorded as new conversion events.
    pub imported: u64,
    /// Of those, rows that qualified their lead.
    pub qualified: u64,
    /// Of those, rows whose lead had already qualified.
    pub already_qualified: u64,
    /// Of those, rows that put their lead in the review queue.
    pub review: u64,
    /// Of those, rows whose code names another referrer than the one the lead was credited to.
    pub ambiguous: u64,
    /// Rows already imported before (same order id, or the same row content).
    pub duplicates: u64,
    /// Rows naming no known referral code and no known lead email.
    pub unmatched: u64,
    /// Rows with a value that could not be read.
    pub invalid: u64,
    /// Unmatched and invalid rows with their line, column and reason (the first 10,000).
    pub errors: Vec<ImportError>,
    /// True when more rows failed than `errors` lists.
    pub errors_truncated: bool,
}

/// Where an inbound webhook source finds each field in the JSON it receives: JSON pointers
/// (`/email`, `/properties/email/value`); empty means "not sent".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldMapping {
    /// The event's unique id (else the `webhook-id` header, else a hash of the body).
    #[serde(default)]
    pub event_id: String,
    /// The friend's email.
    #[serde(default)]
    pub email: String,
    /// The referral code.
    #[serde(default)]
    pub referral_code: String,
    /// A promotion/coupon code mapped to a referrer.
    #[serde(default)]
    pub promotion_code: String,
    /// The amount.
    #[serde(default)]
    pub amount: String,
    /// `major` (12.50) or `minor` (1250).
    #[serde(default)]
    pub amount_unit: String,
    /// The currency.
    #[serde(default)]
    pub currency: String,
    /// The event name (else the source's default event).
    #[serde(default)]
    pub event: String,
    /// When it happened (RFC 3339 or unix seconds).
    #[serde(default)]
    pub occurred_at: String,
}

/// A Stripe promotion code mapped to a referrer: checkouts using it are credited to them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionCodeMapping {
    /// Mapping id.
    pub id: i64,
    /// The slug of the referrer's campaign.
    pub campaign: String,
    /// The referrer it credits.
    pub referrer_id: i64,
    /// The referrer's name (`None` if the referrer is gone).
    pub referrer_name: Option<String>,
    /// The referrer's email.
    pub referrer_email: Option<String>,
    /// The referrer's referral code, when the campaign uses codes.
    pub referrer_code: Option<String>,
    /// Stripe's promotion code id (`promo_...`).
    pub promotion_code_id: Option<String>,
    /// The code customers type.
    pub code: Option<String>,
    /// When it was mapped.
    pub created_at: DateTime<Utc>,
}

/// What importing a file of promotion-code mappings did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PromotionCodeImportReport {
    /// Data rows read (blank lines not counted).
    pub rows: u64,
    /// New mappings.
    pub added: u64,
    /// Mappings of the same referrer that got the id or the code they lacked.
    pub completed: u64,
    /// Rows mapped exactly so already: nothing changed.
    pub unchanged: u64,
    /// Rows not imported (listed in `errors`).
    pub refused: u64,
    /// Refused rows with their line, column and reason (the first 10,000).
    pub errors: Vec<ImportError>,
    /// True when more rows were refused than `errors` lists.
    pub errors_truncated: bool,
    /// True for a preview (`dry_run`): the counts say what an import would do; nothing was
    /// written.
    #[serde(default)]
    pub dry_run: bool,
}

/// An inbound webhook source as the admin sees it (never its token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundSource {
    /// Database id.
    pub id: i64,
    /// The campaign it feeds.
    pub campaign: String,
    /// A name to recognise it by.
    pub name: String,
    /// zapier, make, n8n, hubspot, salesforce or custom.
    pub preset: String,
    /// The first characters of the URL token, to recognise it.
    pub token_prefix: String,
    /// Whether requests must carry a Standard Webhooks signature.
    pub signed: bool,
    /// The field mapping.
    pub mapping: FieldMapping,
    /// Event name when the payload has none.
    pub default_event: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// One received inbound webhook (a source's or Stripe's) and what came of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundDelivery {
    /// Database id.
    pub id: i64,
    /// `source` or `stripe`.
    pub channel: String,
    /// The source, for `source`.
    pub source_id: Option<i64>,
    /// The sender's message or event id.
    pub message_id: Option<String>,
    /// The body as received (cut at 64 KiB).
    pub payload: String,
    /// recorded, duplicate, unattributable, invalid, ignored or failed.
    pub outcome: String,
    /// What happened, in a sentence.
    pub message: String,
    /// When it arrived.
    pub created_at: DateTime<Utc>,
}

/// An upload in the admin's history, with its progress and last report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportView {
    /// Database id.
    pub id: i64,
    /// The campaign's slug.
    pub campaign: String,
    /// The file's name as uploaded.
    pub filename: String,
    /// uploaded, previewing, previewed, running, done or failed.
    pub status: String,
    /// The file's size.
    pub bytes_total: i64,
    /// How far the running preview or import got.
    pub bytes_done: i64,
    /// The last preview's or import's report.
    pub report: Option<ImportReport>,
    /// The event name for rows without one; `None`: the campaign's first qualifying event.
    pub default_event: Option<String>,
    /// When it was uploaded.
    pub created_at: DateTime<Utc>,
    /// When the last run ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// An outbound endpoint as the admin sees it (its secret only when created).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Database id.
    pub id: i64,
    /// Where events are POSTed.
    pub url: String,
    /// What it is for.
    pub description: String,
    /// The event types it receives.
    pub events: Vec<String>,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Why it was disabled, when Handoff disabled it.
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed, if they do.
    pub failing_since: Option<DateTime<Utc>>,
}

impl Endpoint {
    /// The endpoint as a viewer sees it: where it goes (scheme and host) but not the rest of
    /// its URL, which for Zapier, Make or Slack hooks is itself the credential.
    pub fn for_viewer(mut self) -> Self {
        self.url = masked_url(&self.url);
        self
    }
}

/// `https://hooks.example.com/…` for `https://hooks.example.com/catch/123/secret`: the origin
/// only (and `…` when there was more). Text that is not a URL becomes `…`.
pub fn masked_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) if parsed.has_host() => {
            let origin = parsed.origin().ascii_serialization();
            let more =
                parsed.path() != "/" || parsed.query().is_some() || !parsed.username().is_empty();
            if more {
                format!("{origin}/…")
            } else {
                origin
            }
        }
        _ => "…".to_owned(),
    }
}

/// One delivery in an endpoint's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryLine {
    /// Delivery id.
    pub id: i64,
    /// The event's stable id (`webhook-id`).
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// pending, delivered or failed.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// The last HTTP status, if a response came.
    pub last_status: Option<i32>,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending ones).
    pub next_attempt_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// One email in the Emails log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailLine {
    /// Email id.
    pub id: i64,
    /// Its kind (`link_and_code`, `sign_in`, ...).
    pub kind: String,
    /// The recipient.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// pending, sent or failed.
    pub status: String,
    /// Tries so far.
    pub attempts: i32,
    /// The SMTP server's last answer when it failed.
    pub last_error: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When the server accepted it.
    pub sent_at: Option<DateTime<Utc>>,
    /// The referrer it is about.
    pub referrer_id: Option<i64>,
}

/// One email with both of its parts, as it was (or will be) sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailDetail {
    /// The log line.
    pub line: EmailLine,
    /// The HTML part.
    pub html: String,
    /// The plain-text part.
    pub text: String,
}

/// What a campaign's portal shows before anyone signs in: its branding and whether people may join.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalBranding {
    /// The campaign's slug.
    pub slug: String,
    /// The campaign's name.
    pub name: String,
    /// Brand colour, `#rrggbb`.
    pub brand_color: String,
    /// Text colour that reads on the brand colour.
    pub brand_text_color: String,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// Headline ("Give $10, get $10").
    pub headline: String,
    /// A paragraph under the headline.
    pub intro: Option<String>,
    /// What referrers (and friends) earn, in the campaign's words.
    pub reward_text: Option<String>,
    /// The programme's terms.
    pub terms_url: Option<String>,
    /// The footer line.
    pub footer: Option<String>,
    /// Whether people may join on the portal.
    pub signup_open: bool,
    /// Whether the campaign has an uploaded logo, which its QR codes can carry (`?logo=1`).
    pub qr_logo: bool,
}

/// A reward as its referrer sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalReward {
    /// What it is ("10.00 USD").
    pub amount: String,
    /// pending, due, issued or cancelled.
    pub status: String,
    /// Why it waits or was cancelled, in words.
    pub note: Option<String>,
    /// When it was earned.
    pub created_at: DateTime<Utc>,
}

/// A lead as its referrer sees it: never the friend's full email.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalLead {
    /// `j***@example.com`.
    pub masked_email: String,
    /// pending, qualified or rejected.
    pub status: String,
    /// When the friend arrived.
    pub created_at: DateTime<Utc>,
}

/// What `/p/{campaign}` shows: the campaign's branding, and the referrer's page when the
/// visitor is signed in to this campaign (the entrance otherwise).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalView {
    /// The campaign's branding.
    pub branding: PortalBranding,
    /// The signed-in referrer's page; `None` shows the entrance.
    pub home: Option<PortalHome>,
}

/// The signed-in referrer's page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalHome {
    /// The referrer's name.
    pub name: String,
    /// Their referral link.
    pub link: String,
    /// The link's slug, for the QR code's address (`/qr/{slug}.svg`).
    pub link_slug: String,
    /// Their referral code, when the campaign has codes.
    pub code: Option<String>,
    /// Clicks on the link.
    pub clicks: i64,
    /// Of those, from the QR codes of printed cards, flyers, posters and table tents.
    pub paper_clicks: i64,
    /// Friends who arrived.
    pub leads: i64,
    /// Of those, qualified.
    pub qualified: i64,
    /// One page of their rewards, newest first.
    pub rewards: Vec<PortalReward>,
    /// This rewards page's number (`?rewards=`, 1-based).
    pub rewards_page: u32,
    /// The rewards page after this one, when there is one.
    pub rewards_next_page: Option<u32>,
    /// One page of their leads, newest first.
    pub recent_leads: Vec<PortalLead>,
    /// The lead page after this one (`?page=`), when there is one.
    pub next_page: Option<u32>,
    /// This page's number (1-based).
    pub page: u32,
    /// Whether notification emails are on.
    pub emails_on: bool,
    /// False when the business deactivated them: their link and code credit nobody for now.
    #[serde(default = "active_by_default")]
    pub active: bool,
}

/// A referrer's admin page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferrerDetail {
    /// The referrer with their numbers.
    pub referrer: ReferrerWithStats,
    /// The QR code of their link, as inline SVG markup (made on the server from the link only).
    pub qr_svg: String,
    /// Their link's slug (for the QR download addresses).
    pub link_slug: String,
    /// Whether their campaign has an uploaded logo, which the QR code can carry (`?logo=1`).
    pub qr_logo: bool,
    /// Whether they turned notification emails off.
    pub emails_opt_out: bool,
    /// Every email written to them, newest first.
    pub emails: Vec<EmailLine>,
    /// Their clicks per channel (shared link, business cards, flyers, ...).
    pub channels: crate::domain::channel::ChannelCounts,
    /// The admins' note on them.
    pub note: Option<String>,
    /// When they were deactivated, while they are inactive.
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// What an admin sets for a campaign's portal (the campaign page's "Portal" form).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSettingsInput {
    /// The big line on the portal ("Give $10, get $10"); empty for "Refer a friend to {name}".
    #[serde(default)]
    pub headline: String,
    /// A paragraph under it.
    #[serde(default)]
    pub intro: String,
    /// What referrers (and friends) earn, in the campaign's words.
    #[serde(default)]
    pub reward_text: String,
    /// The programme's terms (http or https).
    #[serde(default)]
    pub terms_url: String,
    /// The footer line.
    #[serde(default)]
    pub footer: String,
    /// `on` (a ticked checkbox) lets people join on the portal.
    #[serde(default)]
    pub signup_open: Option<String>,
    /// The business's own sites that may show the portal in a frame, separated by spaces:
    /// `https://shop.example.com https://app.example.com`. Empty: no site may.
    #[serde(default)]
    pub frame_ancestors: String,
    /// The name the campaign's emails come from; empty for the campaign's name.
    #[serde(default)]
    pub email_sender_name: String,
    /// Where replies to the campaign's emails go; empty for the installation's reply-to.
    #[serde(default)]
    pub email_reply_to: String,
}

/// What one "send to everyone not yet emailed" wrote: how many emails, and the range of email
/// ids they are in (after `since`, up to `until`), which its progress reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WelcomeRun {
    /// Emails written.
    pub written: usize,
    /// The newest email id before the run.
    pub since: i64,
    /// The newest email id after it.
    pub until: i64,
}

/// How far a set of emails has gone out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailProgress {
    /// Sent.
    pub sent: u64,
    /// Waiting to be sent (or retried).
    pub pending: u64,
    /// Refused for good (see the Emails log).
    pub failed: u64,
}

/// The Emails page's "Sender" form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSenderSettings {
    /// The admin's sender address; empty uses the configured one.
    pub from: String,
    /// The admin's reply-to address; empty uses the configured one.
    pub reply_to: String,
    /// `HANDOFF_SMTP_FROM` (or its default).
    pub configured_from: String,
    /// `HANDOFF_SMTP_REPLY_TO`, empty when not set.
    pub configured_reply_to: String,
}

/// One kind of email as a campaign's template editor shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailTemplateView {
    /// The kind (`link_and_code`, ...).
    pub kind: String,
    /// What the admin calls it.
    pub label: String,
    /// The subject template.
    pub subject: String,
    /// The body template.
    pub body: String,
    /// Whether it goes out on its own.
    pub auto_send: bool,
    /// Whether the campaign wrote its own (false: the built-in text).
    pub custom: bool,
    /// Whether it can be turned off (a sign-in link cannot).
    pub can_turn_off: bool,
    /// The saved template rendered with sample data.
    pub preview: EmailPreview,
}

/// An email rendered with sample data, for the template editor's preview.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailPreview {
    /// The subject line.
    pub subject: String,
    /// The HTML part.
    pub html: String,
    /// The text part.
    pub text: String,
}

/// A choice in one of the print studio's lists (a template, a paper).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintOption {
    /// The name in URLs (`business-card`, `a4`).
    pub name: String,
    /// What people call it.
    pub label: String,
}

/// What the print studio shows for one campaign and template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudioView {
    /// Every campaign, `(slug, name)`.
    pub campaigns: Vec<(String, String)>,
    /// The campaign shown (the one asked for, else the first); `None` when there is none.
    pub campaign: Option<String>,
    /// The templates.
    pub templates: Vec<PrintOption>,
    /// The papers.
    pub papers: Vec<PrintOption>,
    /// The template shown.
    pub template: String,
    /// The headline saved for this campaign and template; empty: the default prints.
    pub headline: String,
    /// The body text saved; empty: the default prints.
    pub body: String,
    /// The portal's headline, printed when none is saved.
    pub default_headline: String,
    /// The portal's reward text, printed when no body text is saved.
    pub default_body: String,
    /// The referrer picked by id (`?referrer=`), `(id, name)`, when printing one.
    pub referrer: Option<(i64, String)>,
}

/// What a sales rep typed at the sales desk, as typed. Kept in the session when a plain form post
/// (no JavaScript) needs the page to come back filled in: after a refusal or a "did you mean".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeskEntry {
    /// Campaign slug.
    pub campaign: String,
    /// The code the customer said.
    pub code: String,
    /// The friend's name.
    pub name: String,
    /// The friend's email (this or `phone`).
    pub email: String,
    /// The friend's phone number.
    pub phone: String,
    /// A note for the lead's timeline.
    pub note: String,
    /// An order to qualify the lead at once: its id (the same id again is not counted twice).
    pub order_id: String,
    /// The order's amount as people write it (`49.90`, `€49,90`).
    pub amount: String,
    /// The amount's currency (ISO 4217), when not written in the amount.
    pub currency: String,
}

/// The sales desk's answer to an entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DeskReply {
    /// The lead was recorded (or already existed: `created` is false and nothing changed).
    Recorded {
        /// The lead as it stands now (boxed: it is much the larger variant).
        lead: Box<Lead>,
        /// A new lead, or the friend was already referred in this campaign.
        created: bool,
        /// What the order did (`qualified`, `review`, `recorded`, ...), when one was given.
        order_outcome: Option<String>,
        /// The order id had been recorded before; nothing changed.
        order_duplicate: bool,
    },
    /// The code was not found as said, but one code is a near miss: whose it is, to confirm.
    Confirm {
        /// The code that was probably meant.
        code: String,
        /// Its referrer's name.
        referrer_name: String,
    },
}

/// The sales desk's form: the campaigns taking referrals, and what a plain form post left to
/// show again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeskView {
    /// Active campaigns as (slug, name).
    pub campaigns: Vec<(String, String)>,
    /// The entry to fill the form with again, after a plain form post that recorded nothing.
    pub draft: Option<DeskEntry>,
    /// The "did you mean" of that post.
    pub confirm: Option<(String, String)>,
    /// The admin may open lead pages (the sales role may not).
    pub can_view_leads: bool,
}

/// What the admin header's search box found: a few of each kind, with a way to all of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// The text searched for, trimmed.
    pub text: String,
    /// Campaigns whose name or slug holds the text.
    pub campaigns: Vec<Campaign>,
    /// Referrers by part of their name or email, or their code (newest first).
    pub referrers: Vec<Referrer>,
    /// More referrers match than are listed.
    pub more_referrers: bool,
    /// Leads as the Leads tab's search finds them (newest first).
    pub leads: Vec<Lead>,
    /// More leads match than are listed.
    pub more_leads: bool,
    /// How the leads search read the text.
    pub lead_note: Option<String>,
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Database id.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who: an admin's email, an API key's name, or "command line".
    pub actor: String,
    /// What happened, like `referrer.deactivated`.
    pub action: String,
    /// The campaign's slug, when the change belongs to one that still exists.
    pub campaign: Option<String>,
    /// `campaign`, `referrer`, `lead`, `reward` or `api_key`.
    pub object_kind: String,
    /// The object's id.
    pub object_id: Option<i64>,
    /// One sentence for a person.
    pub summary: String,
}

impl AuditEntry {
    /// The admin page of what the entry names, while there is one to link to.
    pub fn object_href(&self) -> Option<String> {
        let deleted = self.action.ends_with(".deleted");
        match self.object_kind.as_str() {
            "setting" if self.action.starts_with("email") => {
                return Some("/admin/emails".to_owned());
            }
            "setting" | "promotion_code" => return Some("/admin/integrations".to_owned()),
            _ => {}
        }
        let id = self.object_id?;
        match self.object_kind.as_str() {
            "inbound_source" if !deleted => Some(format!("/admin/integrations/sources/{id}")),
            "webhook_endpoint" if !deleted => Some(format!("/admin/integrations/endpoints/{id}")),
            "inbound_source" | "webhook_endpoint" => Some("/admin/integrations".to_owned()),
            "referrer" if !deleted => Some(format!("/admin/referrers/{id}")),
            "lead" => Some(format!("/admin/leads/{id}")),
            "campaign" => self
                .campaign
                .as_ref()
                .map(|slug| format!("/admin/campaigns/{slug}")),
            "api_key" => Some("/admin/api-keys".to_owned()),
            "reward" => Some("/admin/rewards".to_owned()),
            _ => None,
        }
    }
}

/// Filters for the audit log.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Campaign slug.
    pub campaign: Option<String>,
    /// Keyset cursor.
    pub after: Option<i64>,
}

/// What goes with a referrer if they are deleted, counted for the owner before they confirm.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferrerFootprint {
    /// Clicks on their link (deleted).
    pub clicks: u64,
    /// Leads they brought (kept, credited to nobody).
    pub leads: u64,
    /// Their pending, due or cancelled rewards (deleted).
    pub unpaid_rewards: u64,
    /// Their issued rewards (kept without a name).
    pub issued_rewards: u64,
    /// Emails written to them (deleted).
    pub emails: u64,
}

impl ReferrerFootprint {
    /// "12 clicks, 3 emails and 1 unpaid reward go; 4 leads stay, credited to nobody".
    pub fn sentence(&self) -> String {
        let going = [
            crate::domain::words::counted(self.clicks as i64, "click", "clicks"),
            crate::domain::words::counted(self.emails as i64, "email", "emails"),
            crate::domain::words::counted(
                self.unpaid_rewards as i64,
                "unpaid reward",
                "unpaid rewards",
            ),
        ];
        let mut out = format!("{}, {} and {} go", going[0], going[1], going[2]);
        out.push_str(&format!(
            "; {} {} credited to nobody",
            crate::domain::words::counted(self.leads as i64, "lead", "leads"),
            if self.leads == 1 { "stays," } else { "stay," },
        ));
        if self.issued_rewards > 0 {
            out.push_str(&format!(
                "; {} {} in the books without a name",
                crate::domain::words::counted(
                    self.issued_rewards as i64,
                    "issued reward",
                    "issued rewards"
                ),
                if self.issued_rewards == 1 {
                    "stays"
                } else {
                    "stay"
                },
            ));
        }
        out
    }
}

/// What a merge of two referrer records did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferrerMerged {
    /// The record kept.
    pub kept: i64,
    /// The record merged into it, now gone.
    pub merged: i64,
    /// One sentence: who was merged into whom and what moved.
    pub summary: String,
}

/// What adding referrers from a CSV file did (or, for a preview, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferrerImportReport {
    /// A preview: nothing was written.
    pub dry_run: bool,
    /// Rows in the file (blank rows not counted).
    pub rows: u64,
    /// Referrers added.
    pub added: u64,
    /// Rows whose email the campaign already has (left as they are).
    pub existing: u64,
    /// Rows refused.
    pub refused: u64,
    /// The refused rows, the first ones.
    pub errors: Vec<ImportError>,
    /// More rows were refused than are listed.
    pub errors_truncated: bool,
}

/// What the last bulk add of referrers came to, kept in the session until the Referrers tab has
/// shown it once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferrerImport {
    /// The file's name as uploaded.
    pub filename: String,
    /// The campaign chosen.
    pub campaign: String,
    /// What happened, or why the file was refused as a whole.
    pub result: Result<ReferrerImportReport, crate::error::AppError>,
}

/// The admin's share widget page of one campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetAdmin {
    /// The campaign's slug (the script tag's `data-campaign`).
    pub slug: String,
    /// The campaign's name.
    pub name: String,
    /// The saved settings, as the form shows them.
    pub settings: crate::domain::widget::WidgetSettingsInput,
    /// The script's versioned address: `https://handoff.example/embed.js?v=…`.
    pub script_url: String,
    /// Handoff's public origin, for the host site's Content-Security-Policy.
    pub origin: String,
    /// Whether the campaign lets the token request make new referrers.
    pub signup_open: bool,
}
