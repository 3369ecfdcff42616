//! Qualification rules and rewards: when a referral counts, and what it earns.
//!
//! Every door a conversion comes through (API, CSV, inbound webhooks, Stripe, the admin's
//! "qualify" button) ends in `services::conversions`, which asks [`judge`] whether the event
//! qualifies the lead and [`reward_for`] what each reward rule gives. Those two functions are the
//! whole rule book; the service only stores their answers.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Event names that mean "the money went back".
pub const REFUND_EVENTS: [&str; 3] = ["refund", "refunded", "chargeback"];

/// The most events one rule may list, and reward rules one campaign may have.
const MAX_EVENTS: usize = 20;
const MAX_REWARD_RULES: usize = 10;
/// Longest hold or window, in days (ten years).
const MAX_DAYS: u32 = 3650;

/// When a lead counts as a qualified referral.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QualificationRule {
    /// Event names that qualify (`purchase`, `converted`, `qualified_lead`, `contract_signed`...).
    pub events: Vec<String>,
    /// The smallest qualifying amount, in minor units (cents); `None` for any amount.
    #[serde(default)]
    pub min_amount_minor: Option<i64>,
    /// The minimum's currency (ISO 4217): an event in another currency, or in none, does not
    /// meet it. `None` compares the amount whatever its currency.
    #[serde(default)]
    pub min_amount_currency: Option<String>,
    /// The event must happen within this many days of the lead's creation; `None` for any time.
    #[serde(default)]
    pub window_days: Option<u32>,
    /// An admin approves each qualification before rewards are created.
    #[serde(default)]
    pub requires_approval: bool,
    /// A refund puts the lead back to pending and cancels rewards not yet issued.
    #[serde(default = "yes")]
    pub refund_unqualifies: bool,
    /// Rewards skip the manual "issue" step: they are issued as soon as they are due.
    #[serde(default)]
    pub auto_issue: bool,
}

fn yes() -> bool {
    true
}

/// Who receives a reward.
pub const RECIPIENTS: [&str; 2] = ["referrer", "friend"];
/// What a reward is: a fixed amount, a percentage of the conversion, or something described.
pub const KINDS: [&str; 3] = ["fixed", "percent", "custom"];
/// How often a reward is given: for every qualified lead, or every N qualified leads.
pub const CADENCES: [&str; 2] = ["per_lead", "milestone"];

/// One reward a campaign gives when a lead qualifies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RewardRule {
    /// Set by the server; ignored on input.
    #[serde(default)]
    pub id: Option<i64>,
    /// `referrer` or `friend` (double-sided).
    pub recipient: String,
    /// `fixed`, `percent` or `custom`.
    pub kind: String,
    /// For `fixed`: the amount in minor units.
    #[serde(default)]
    pub amount_minor: Option<i64>,
    /// For `fixed`: ISO 4217 currency.
    #[serde(default)]
    pub currency: Option<String>,
    /// For `percent`: basis points of the conversion amount (1000 = 10%).
    #[serde(default)]
    pub percent_bp: Option<u32>,
    /// For `percent`: the most one reward may be, in minor units.
    #[serde(default)]
    pub cap_minor: Option<i64>,
    /// What the reward is, in words ("One month free"); required for `custom`.
    #[serde(default)]
    pub description: String,
    /// `per_lead` or `milestone`.
    #[serde(default = "per_lead")]
    pub cadence: String,
    /// For `milestone`: a reward every this many qualified referrals.
    #[serde(default)]
    pub milestone_every: Option<u32>,
    /// The most rewards of this rule one referrer may earn.
    #[serde(default)]
    pub max_per_referrer: Option<u32>,
    /// Days a reward stays pending before it becomes due (refund window).
    #[serde(default)]
    pub hold_days: u32,
}

fn per_lead() -> String {
    "per_lead".to_owned()
}

/// A campaign's whole rule book, as read and replaced by `GET`/`PUT /api/v1/campaigns/{slug}/rules`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CampaignRules {
    /// When a lead qualifies.
    pub qualification: QualificationRule,
    /// What qualification earns, and for whom.
    pub rewards: Vec<RewardRule>,
}

impl Default for CampaignRules {
    /// A working start: `purchase` qualifies, and the referrer earns one "Thank-you reward" per
    /// qualified lead, due at once.
    fn default() -> Self {
        CampaignRules {
            qualification: QualificationRule {
                events: vec!["purchase".to_owned()],
                min_amount_minor: None,
                min_amount_currency: None,
                window_days: None,
                requires_approval: false,
                refund_unqualifies: true,
                auto_issue: false,
            },
            rewards: vec![RewardRule {
                id: None,
                recipient: "referrer".to_owned(),
                kind: "custom".to_owned(),
                amount_minor: None,
                currency: None,
                percent_bp: None,
                cap_minor: None,
                description: "Thank-you reward".to_owned(),
                cadence: per_lead(),
                milestone_every: None,
                max_per_referrer: None,
                hold_days: 0,
            }],
        }
    }
}

/// Why a rule book was refused: the field (a JSON-pointer-like path) and a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// `qualification.events`, `rewards.0.amount_minor`...
    pub field: String,
    /// A sentence for a person.
    pub message: String,
}

fn rule_error(field: impl Into<String>, message: impl Into<String>) -> RuleError {
    RuleError {
        field: field.into(),
        message: message.into(),
    }
}

/// Lowercases and checks an event name: 1-80 of `a-z 0-9 _ . -`, each run of whitespace
/// becoming one `_` ("Qualified  Lead" is `qualified_lead`).
pub fn normalize_event_name(name: &str) -> Option<String> {
    let name = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("_")
        .to_lowercase();
    let ok = !name.is_empty()
        && name.len() <= 80
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    ok.then_some(name)
}

/// Checks an ISO 4217-shaped currency (three letters) and uppercases it.
pub fn normalize_currency(currency: &str) -> Option<String> {
    let c = currency.trim();
    (c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic())).then(|| c.to_ascii_uppercase())
}

impl CampaignRules {
    /// Checks and tidies a rule book: event names lowercased and deduplicated, currencies
    /// uppercased, fields that do not apply to a kind cleared.
    pub fn validated(mut self) -> Result<CampaignRules, RuleError> {
        let q = &mut self.qualification;
        let mut events = Vec::new();
        for (i, e) in q.events.iter().enumerate() {
            let name = normalize_event_name(e).ok_or_else(|| {
                rule_error(
                    format!("qualification.events.{i}"),
                    "Event names are letters, digits, _ . or -, at most 80 characters.",
                )
            })?;
            if !events.contains(&name) {
                events.push(name);
            }
        }
        if events.is_empty() {
            return Err(rule_error(
                "qualification.events",
                "Name at least one event that qualifies a referral, like purchase.",
            ));
        }
        if events.len() > MAX_EVENTS {
            return Err(rule_error(
                "qualification.events",
                format!("At most {MAX_EVENTS} qualifying events."),
            ));
        }
        if let Some(e) = events.iter().find(|e| REFUND_EVENTS.contains(&e.as_str())) {
            return Err(rule_error(
                "qualification.events",
                format!("\"{e}\" means a refund; it cannot qualify a referral."),
            ));
        }
        q.events = events;
        if q.min_amount_minor.is_some_and(|m| m < 0) {
            return Err(rule_error(
                "qualification.min_amount_minor",
                "The minimum amount cannot be negative.",
            ));
        }
        q.min_amount_currency = match q.min_amount_currency.take() {
            None => None,
            Some(c) if c.trim().is_empty() => None,
            Some(c) => Some(normalize_currency(&c).ok_or_else(|| {
                rule_error(
                    "qualification.min_amount_currency",
                    "The minimum's currency is three letters like USD, or empty for any currency.",
                )
            })?),
        };
        if q.min_amount_minor.is_none() {
            // A currency alone would be a condition nobody asked for.
            q.min_amount_currency = None;
        }
        if q.window_days.is_some_and(|d| d == 0 || d > MAX_DAYS) {
            return Err(rule_error(
                "qualification.window_days",
                format!("The window is 1 to {MAX_DAYS} days, or empty for no limit."),
            ));
        }
        if self.rewards.len() > MAX_REWARD_RULES {
            return Err(rule_error(
                "rewards",
                format!("At most {MAX_REWARD_RULES} rewards per campaign."),
            ));
        }
        for (i, r) in self.rewards.iter_mut().enumerate() {
            validate_reward(i, r)?;
        }
        Ok(self)
    }
}

fn validate_reward(i: usize, r: &mut RewardRule) -> Result<(), RuleError> {
    let at = |field: &str| format!("rewards.{i}.{field}");
    r.id = None;
    r.description = r.description.trim().to_owned();
    if r.description.chars().count() > 200 {
        return Err(rule_error(
            at("description"),
            "Descriptions are at most 200 characters.",
        ));
    }
    if !RECIPIENTS.contains(&r.recipient.as_str()) {
        return Err(rule_error(
            at("recipient"),
            "The recipient is referrer or friend.",
        ));
    }
    match r.kind.as_str() {
        "fixed" => {
            if r.amount_minor.is_none_or(|a| a <= 0) {
                return Err(rule_error(
                    at("amount_minor"),
                    "A fixed reward needs a positive amount in minor units (cents).",
                ));
            }
            r.currency = Some(
                r.currency
                    .as_deref()
                    .and_then(normalize_currency)
                    .ok_or_else(|| {
                        rule_error(
                            at("currency"),
                            "A fixed reward needs a three-letter currency like USD.",
                        )
                    })?,
            );
            r.percent_bp = None;
            r.cap_minor = None;
        }
        "percent" => {
            if !r.percent_bp.is_some_and(|p| (1..=10_000).contains(&p)) {
                return Err(rule_error(
                    at("percent_bp"),
                    "A percentage reward needs 1 to 10000 basis points (0.01% to 100%).",
                ));
            }
            if r.cap_minor.is_some_and(|c| c <= 0) {
                return Err(rule_error(
                    at("cap_minor"),
                    "The cap must be positive, or empty for none.",
                ));
            }
            r.amount_minor = None;
            r.currency = None;
        }
        "custom" => {
            if r.description.is_empty() {
                return Err(rule_error(
                    at("description"),
                    "Describe a custom reward, like \"One month free\".",
                ));
            }
            r.amount_minor = None;
            r.currency = None;
            r.percent_bp = None;
            r.cap_minor = None;
        }
        _ => {
            return Err(rule_error(
                at("kind"),
                "The kind is fixed, percent or custom.",
            ));
        }
    }
    match r.cadence.as_str() {
        "per_lead" => r.milestone_every = None,
        "milestone" => {
            if r.recipient != "referrer" {
                return Err(rule_error(
                    at("cadence"),
                    "Milestone rewards go to the referrer.",
                ));
            }
            if !r.milestone_every.is_some_and(|n| (1..=10_000).contains(&n)) {
                return Err(rule_error(
                    at("milestone_every"),
                    "A milestone reward needs \"every N referrals\" between 1 and 10000.",
                ));
            }
        }
        _ => {
            return Err(rule_error(
                at("cadence"),
                "The cadence is per_lead or milestone.",
            ));
        }
    }
    if r.max_per_referrer == Some(0) {
        return Err(rule_error(
            at("max_per_referrer"),
            "The cap per referrer must be at least 1, or empty for none.",
        ));
    }
    if r.hold_days > MAX_DAYS {
        return Err(rule_error(
            at("hold_days"),
            format!("The hold is at most {MAX_DAYS} days."),
        ));
    }
    Ok(())
}

/// Where a lead stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadStatus {
    /// Not (yet) qualified.
    Pending,
    /// A qualifying event arrived; an admin must approve it (approval rule or fraud flag).
    Review,
    /// Qualified: rewards were created.
    Qualified,
    /// Rejected by an admin; nothing more happens.
    Rejected,
}

impl LeadStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::Pending => "pending",
            LeadStatus::Review => "review",
            LeadStatus::Qualified => "qualified",
            LeadStatus::Rejected => "rejected",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<LeadStatus> {
        Some(match s {
            "pending" => LeadStatus::Pending,
            "review" => LeadStatus::Review,
            "qualified" => LeadStatus::Qualified,
            "rejected" => LeadStatus::Rejected,
            _ => return None,
        })
    }
}

/// Where a reward stands. Stored as its lowercase name (`rewards.status`); on the server the
/// `rewards` entity's column has this type, so a misspelt status does not compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(
    feature = "ssr",
    derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter),
    sea_orm(rs_type = "String", db_type = "Text")
)]
pub enum RewardStatus {
    /// In its hold: due once the hold ends, unless the lead is refunded first.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "pending"))]
    Pending,
    /// Ready to be issued.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "due"))]
    Due,
    /// Paid out (or sent).
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "issued"))]
    Issued,
    /// Will not be issued (refund, rejection, removal).
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "cancelled"))]
    Cancelled,
}

impl RewardStatus {
    /// Every status, in the order a reward goes through them.
    pub const ALL: [RewardStatus; 4] = [
        RewardStatus::Pending,
        RewardStatus::Due,
        RewardStatus::Issued,
        RewardStatus::Cancelled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RewardStatus::Pending => "pending",
            RewardStatus::Due => "due",
            RewardStatus::Issued => "issued",
            RewardStatus::Cancelled => "cancelled",
        }
    }
}

impl std::str::FromStr for RewardStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        RewardStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or(())
    }
}

impl std::fmt::Display for RewardStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the rule book needs to know about a lead.
#[derive(Clone, Copy, Debug)]
pub struct LeadFacts {
    /// Its status.
    pub status: LeadStatus,
    /// When it was created (the window counts from here).
    pub created_at: DateTime<Utc>,
    /// Whether a fraud signal flagged it.
    pub flagged: bool,
}

/// What the rule book needs to know about an event.
#[derive(Clone, Copy, Debug)]
pub struct EventFacts<'a> {
    /// Normalized event name.
    pub name: &'a str,
    /// Amount in minor units, if any.
    pub amount_minor: Option<i64>,
    /// The amount's currency (uppercase), if any.
    pub currency: Option<&'a str>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

/// Why a qualifying-looking event did not qualify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotQualifying {
    /// The event is not one the rule names.
    OtherEvent,
    /// The amount is missing or below the minimum.
    BelowMinimum,
    /// The minimum names a currency and the amount is in another one (or in none).
    OtherCurrency,
    /// The event came after the window closed.
    OutsideWindow,
}

/// The rule book's answer for one event on one lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The lead qualifies now: create its rewards.
    Qualifies,
    /// The lead would qualify but waits for an admin (approval rule, or flagged).
    NeedsReview,
    /// Recorded on the timeline; nothing else changes.
    Recorded(NotQualifying),
    /// The lead already qualified (or waits in review): nothing changes.
    AlreadyDone,
    /// The lead was rejected: nothing changes.
    LeadRejected,
    /// The money went back: un-qualify if the rule says so, cancel what is not yet issued.
    Refund,
}

/// Judges one event against the rule for one lead.
pub fn judge(rule: &QualificationRule, lead: LeadFacts, event: EventFacts<'_>) -> Verdict {
    if REFUND_EVENTS.contains(&event.name) {
        return Verdict::Refund;
    }
    match lead.status {
        LeadStatus::Rejected => return Verdict::LeadRejected,
        LeadStatus::Qualified | LeadStatus::Review => return Verdict::AlreadyDone,
        LeadStatus::Pending => {}
    }
    if !rule.events.iter().any(|e| e == event.name) {
        return Verdict::Recorded(NotQualifying::OtherEvent);
    }
    if let Some(min) = rule.min_amount_minor {
        if let Some(currency) = &rule.min_amount_currency
            && event.amount_minor.is_some()
            && event.currency != Some(currency.as_str())
        {
            return Verdict::Recorded(NotQualifying::OtherCurrency);
        }
        if event.amount_minor.is_none_or(|a| a < min) {
            return Verdict::Recorded(NotQualifying::BelowMinimum);
        }
    }
    if let Some(days) = rule.window_days
        && event.occurred_at > lead.created_at + Duration::days(i64::from(days))
    {
        return Verdict::Recorded(NotQualifying::OutsideWindow);
    }
    if rule.requires_approval || lead.flagged {
        Verdict::NeedsReview
    } else {
        Verdict::Qualifies
    }
}

/// What the rule book needs to know to size one reward.
#[derive(Clone, Copy, Debug)]
pub struct RewardContext<'a> {
    /// The referrer's qualified leads in the campaign, counting this one.
    pub qualified_count: u64,
    /// Rewards of this rule already earned by the referrer (not cancelled).
    pub earned_by_referrer: u64,
    /// The qualifying conversion's amount, if any.
    pub amount_minor: Option<i64>,
    /// Its currency, if any.
    pub currency: Option<&'a str>,
}

/// A reward to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewardDraft {
    /// Amount in minor units, for `fixed` and `percent`.
    pub amount_minor: Option<i64>,
    /// Currency, for `fixed` and `percent`.
    pub currency: Option<String>,
    /// The milestone reached (1, 2, ...) for milestone rewards; 0 otherwise.
    pub milestone: u32,
}

/// Why a rule gave nothing this time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoReward {
    /// The referrer reached the rule's cap.
    CapReached,
    /// Not a multiple of the milestone.
    NotAMilestone,
    /// A percentage of nothing: the conversion had no (positive) amount.
    NoAmount,
}

/// What one reward rule gives for one qualification.
pub fn reward_for(rule: &RewardRule, ctx: RewardContext<'_>) -> Result<RewardDraft, NoReward> {
    if rule
        .max_per_referrer
        .is_some_and(|cap| ctx.earned_by_referrer >= u64::from(cap))
    {
        return Err(NoReward::CapReached);
    }
    let milestone = match (rule.cadence.as_str(), rule.milestone_every) {
        ("milestone", Some(every)) if every > 0 => {
            let every = u64::from(every);
            if ctx.qualified_count == 0 || !ctx.qualified_count.is_multiple_of(every) {
                return Err(NoReward::NotAMilestone);
            }
            u32::try_from(ctx.qualified_count / every).unwrap_or(u32::MAX)
        }
        _ => 0,
    };
    let (amount_minor, currency) = match rule.kind.as_str() {
        "fixed" => (rule.amount_minor, rule.currency.clone()),
        "percent" => {
            let amount = ctx
                .amount_minor
                .filter(|a| *a > 0)
                .ok_or(NoReward::NoAmount)?;
            let share = i128::from(amount) * i128::from(rule.percent_bp.unwrap_or(0)) / 10_000;
            let mut share = i64::try_from(share).unwrap_or(i64::MAX);
            if let Some(cap) = rule.cap_minor {
                share = share.min(cap);
            }
            (Some(share), ctx.currency.map(str::to_owned))
        }
        _ => (None, None),
    };
    Ok(RewardDraft {
        amount_minor,
        currency,
        milestone,
    })
}

/// The key that makes a reward exist at most once: per rule, lead and recipient, or per rule,
/// referrer and milestone. A unique index on it settles concurrent duplicates.
pub fn dedupe_key(
    rule_id: i64,
    recipient: &str,
    lead_id: i64,
    referrer_id: i64,
    milestone: u32,
) -> String {
    if milestone > 0 {
        format!("r{rule_id}:referrer{referrer_id}:m{milestone}")
    } else {
        format!("r{rule_id}:lead{lead_id}:{recipient}")
    }
}

/// When a reward created at `now` with `hold_days` becomes due.
pub fn due_at(now: DateTime<Utc>, hold_days: u32) -> DateTime<Utc> {
    now + Duration::days(i64::from(hold_days))
}

/// What a reward gives, in words: its own description, else "10.00 USD" or "5% of the purchase".
pub fn reward_label(rule: &RewardRule) -> String {
    if !rule.description.is_empty() {
        return rule.description.clone();
    }
    match rule.kind.as_str() {
        "fixed" => format_amount(rule.amount_minor.unwrap_or(0), rule.currency.as_deref()),
        "percent" => format!(
            "{}% of the purchase",
            f64::from(rule.percent_bp.unwrap_or(0)) / 100.0
        ),
        _ => "Reward".to_owned(),
    }
}

/// What a referred friend gets in a double-sided campaign, in words ("10.00 USD", or "10.00 USD
/// and Free shipping"), and the event that earns it ("purchase"); `None` when only referrers
/// are rewarded.
pub fn friend_reward(rules: &CampaignRules) -> Option<(String, String)> {
    let labels: Vec<String> = rules
        .rewards
        .iter()
        .filter(|r| r.recipient == "friend")
        .map(reward_label)
        .collect();
    if labels.is_empty() {
        return None;
    }
    let event = rules
        .qualification
        .events
        .first()
        .map_or_else(|| "purchase".to_owned(), |e| e.replace('_', " "));
    Some((labels.join(" and "), event))
}

/// Formats minor units for people: `USD 12.50`, `JPY 1200`.
pub fn format_amount(amount_minor: i64, currency: Option<&str>) -> String {
    let body = format_decimal(amount_minor, currency);
    match currency {
        Some(cur) if !cur.is_empty() => format!("{cur} {body}"),
        _ => body,
    }
}

/// Minor units as a plain decimal in the currency's major unit: `12.50`, `-0.05`, `1200` (JPY).
pub fn format_decimal(amount_minor: i64, currency: Option<&str>) -> String {
    let exponent = currency_exponent(currency.unwrap_or(""));
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    let body = if exponent == 0 {
        abs.to_string()
    } else {
        let unit = 10u64.pow(exponent);
        format!(
            "{}.{:0width$}",
            abs / unit,
            abs % unit,
            width = exponent as usize
        )
    };
    format!("{sign}{body}")
}

/// Digits after the decimal point in a currency's minor unit (ISO 4217); 2 when unknown.
pub fn currency_exponent(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "ISK" | "CLP" | "VND" | "UGX" | "XAF" | "XOF" | "PYG" | "RWF" | "BIF"
        | "DJF" | "GNF" | "KMF" | "VUV" | "XPF" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "LYD" | "IQD" => 3,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + day * 86_400, 0).expect("valid")
    }

    fn lead(status: LeadStatus) -> LeadFacts {
        LeadFacts {
            status,
            created_at: at(0),
            flagged: false,
        }
    }

    fn event(name: &str, amount: Option<i64>, day: i64) -> EventFacts<'_> {
        EventFacts {
            name,
            amount_minor: amount,
            currency: Some("USD"),
            occurred_at: at(day),
        }
    }

    #[test]
    fn default_rules_validate_and_qualify_purchases() {
        let rules = CampaignRules::default()
            .validated()
            .expect("default is valid");
        let q = &rules.qualification;
        assert_eq!(
            judge(q, lead(LeadStatus::Pending), event("purchase", None, 1)),
            Verdict::Qualifies
        );
        assert_eq!(
            judge(q, lead(LeadStatus::Pending), event("signup", None, 1)),
            Verdict::Recorded(NotQualifying::OtherEvent)
        );
        assert_eq!(
            judge(q, lead(LeadStatus::Qualified), event("purchase", None, 1)),
            Verdict::AlreadyDone
        );
        assert_eq!(
            judge(q, lead(LeadStatus::Rejected), event("purchase", None, 1)),
            Verdict::LeadRejected
        );
        assert_eq!(
            judge(q, lead(LeadStatus::Qualified), event("refund", None, 1)),
            Verdict::Refund
        );
    }

    #[test]
    fn minimum_window_approval_and_flags() {
        let mut q = CampaignRules::default().qualification;
        q.min_amount_minor = Some(5000);
        q.window_days = Some(30);
        let pending = lead(LeadStatus::Pending);
        assert_eq!(
            judge(&q, pending, event("purchase", Some(4999), 1)),
            Verdict::Recorded(NotQualifying::BelowMinimum)
        );
        assert_eq!(
            judge(&q, pending, event("purchase", None, 1)),
            Verdict::Recorded(NotQualifying::BelowMinimum)
        );
        assert_eq!(
            judge(&q, pending, event("purchase", Some(5000), 31)),
            Verdict::Recorded(NotQualifying::OutsideWindow)
        );
        assert_eq!(
            judge(&q, pending, event("purchase", Some(5000), 30)),
            Verdict::Qualifies
        );
        let flagged = LeadFacts {
            flagged: true,
            ..pending
        };
        assert_eq!(
            judge(&q, flagged, event("purchase", Some(5000), 2)),
            Verdict::NeedsReview
        );
        q.requires_approval = true;
        assert_eq!(
            judge(&q, pending, event("purchase", Some(5000), 2)),
            Verdict::NeedsReview
        );
    }

    #[test]
    fn a_minimum_with_a_currency_counts_only_amounts_in_it() {
        let mut rules = CampaignRules::default();
        rules.qualification.min_amount_minor = Some(5000);
        rules.qualification.min_amount_currency = Some(" eur ".into());
        let rules = rules.validated().expect("valid");
        let q = &rules.qualification;
        assert_eq!(q.min_amount_currency.as_deref(), Some("EUR"));
        let pending = lead(LeadStatus::Pending);
        let in_currency = |amount, currency| EventFacts {
            currency,
            ..event("purchase", Some(amount), 1)
        };
        // 9,000 US cents are not 50 euros, however large the number.
        assert_eq!(
            judge(q, pending, in_currency(9000, Some("USD"))),
            Verdict::Recorded(NotQualifying::OtherCurrency)
        );
        assert_eq!(
            judge(q, pending, in_currency(9000, None)),
            Verdict::Recorded(NotQualifying::OtherCurrency)
        );
        assert_eq!(
            judge(q, pending, in_currency(4999, Some("EUR"))),
            Verdict::Recorded(NotQualifying::BelowMinimum)
        );
        assert_eq!(
            judge(q, pending, in_currency(5000, Some("EUR"))),
            Verdict::Qualifies
        );

        let mut bad = CampaignRules::default();
        bad.qualification.min_amount_minor = Some(5000);
        bad.qualification.min_amount_currency = Some("euros".into());
        assert_eq!(
            bad.validated().unwrap_err().field,
            "qualification.min_amount_currency"
        );
        // Without a minimum, a currency means nothing and is dropped.
        let mut alone = CampaignRules::default();
        alone.qualification.min_amount_currency = Some("EUR".into());
        assert_eq!(
            alone.validated().unwrap().qualification.min_amount_currency,
            None
        );
    }

    fn rule(kind: &str) -> RewardRule {
        let mut r = CampaignRules::default().rewards.remove(0);
        r.kind = kind.to_owned();
        r
    }

    fn ctx(count: u64, earned: u64, amount: Option<i64>) -> RewardContext<'static> {
        RewardContext {
            qualified_count: count,
            earned_by_referrer: earned,
            amount_minor: amount,
            currency: Some("EUR"),
        }
    }

    #[test]
    fn reward_kinds_milestones_and_caps() {
        let mut fixed = rule("fixed");
        fixed.amount_minor = Some(1000);
        fixed.currency = Some("usd".into());
        let fixed = CampaignRules {
            qualification: CampaignRules::default().qualification,
            rewards: vec![fixed],
        }
        .validated()
        .expect("valid")
        .rewards
        .remove(0);
        assert_eq!(fixed.currency.as_deref(), Some("USD"));
        assert_eq!(
            reward_for(&fixed, ctx(1, 0, None)),
            Ok(RewardDraft {
                amount_minor: Some(1000),
                currency: Some("USD".into()),
                milestone: 0
            })
        );

        let mut pct = rule("percent");
        pct.percent_bp = Some(1000);
        pct.cap_minor = Some(2500);
        assert_eq!(
            reward_for(&pct, ctx(1, 0, Some(12_345))).map(|d| d.amount_minor),
            Ok(Some(1234))
        );
        assert_eq!(
            reward_for(&pct, ctx(1, 0, Some(1_000_000))).map(|d| d.amount_minor),
            Ok(Some(2500))
        );
        assert_eq!(reward_for(&pct, ctx(1, 0, None)), Err(NoReward::NoAmount));
        assert_eq!(
            reward_for(&pct, ctx(1, 0, Some(-500))),
            Err(NoReward::NoAmount)
        );

        let mut milestone = rule("custom");
        milestone.cadence = "milestone".into();
        milestone.milestone_every = Some(3);
        assert_eq!(
            reward_for(&milestone, ctx(2, 0, None)),
            Err(NoReward::NotAMilestone)
        );
        assert_eq!(
            reward_for(&milestone, ctx(6, 1, None)).map(|d| d.milestone),
            Ok(2)
        );
        let mut capped = rule("custom");
        capped.max_per_referrer = Some(2);
        assert!(reward_for(&capped, ctx(2, 1, None)).is_ok());
        assert_eq!(
            reward_for(&capped, ctx(3, 2, None)),
            Err(NoReward::CapReached)
        );
    }

    #[test]
    fn bad_rules_name_their_field() {
        let mut rules = CampaignRules::default();
        rules.qualification.events = vec![];
        assert_eq!(rules.validated().unwrap_err().field, "qualification.events");
        let mut rules = CampaignRules::default();
        rules.qualification.events = vec!["refund".into()];
        assert!(rules.validated().is_err());
        let mut rules = CampaignRules::default();
        rules.rewards[0].kind = "fixed".into();
        assert_eq!(
            rules.validated().unwrap_err().field,
            "rewards.0.amount_minor"
        );
        let mut rules = CampaignRules::default();
        rules.rewards[0].recipient = "friend".into();
        rules.rewards[0].cadence = "milestone".into();
        rules.rewards[0].milestone_every = Some(5);
        assert_eq!(rules.validated().unwrap_err().field, "rewards.0.cadence");
        let mut rules = CampaignRules::default();
        rules.qualification.events = vec!["Contract Signed".into(), "purchase".into()];
        assert_eq!(
            rules.validated().expect("valid").qualification.events,
            vec!["contract_signed", "purchase"]
        );
    }

    #[test]
    fn dedupe_keys_and_amounts() {
        assert_eq!(dedupe_key(3, "friend", 9, 2, 0), "r3:lead9:friend");
        assert_eq!(dedupe_key(3, "referrer", 9, 2, 4), "r3:referrer2:m4");
        assert_eq!(format_amount(1250, Some("USD")), "USD 12.50");
        assert_eq!(format_amount(-5, Some("EUR")), "EUR -0.05");
        assert_eq!(format_amount(1200, Some("JPY")), "JPY 1200");
        assert_eq!(format_amount(1234, Some("KWD")), "KWD 1.234");
        assert_eq!(format_decimal(-1250, Some("USD")), "-12.50");
        assert_eq!(format_decimal(5, None), "0.05");
    }
}
