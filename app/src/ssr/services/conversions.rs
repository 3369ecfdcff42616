//! Conversion events: the one function every door ends in (API, CSV, inbound webhooks, Stripe,
//! the admin's qualify/approve/reject buttons).
//!
//! Processing an event finds or creates the lead, asks the rule book (`domain::rules`) what the
//! event means, creates rewards, appends to the lead's timeline and queues outbound effects, all
//! in one transaction. Exactly-once is held by unique indexes, not by read-then-write checks:
//! `(source, event_id)` on conversion events, `dedupe_key` on rewards, `(campaign, email)` on
//! leads. On PostgreSQL the lead and referrer rows are locked (`FOR UPDATE`) while a lead changes
//! state, so concurrent events for one lead are judged one after the other.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;

use crate::{
    domain::{
        email::Email,
        rules::{
            self, EventFacts, LeadFacts, LeadStatus, NoReward, NotQualifying, Verdict,
            normalize_currency, normalize_event_name,
        },
    },
    error::AppError,
    ssr::{
        db::begin_write,
        entities::{
            campaign, conversion_event, lead, lead_event, promotion_code, referrer, reward,
        },
        services::{
            codes as code_lookup, fraud, leads,
            outbox::Effects,
            rewards,
            rules::{self as rule_store, LoadedRules},
        },
        state::AppState,
    },
    types::{ConversionInput, ConversionResult},
};

/// The door an event came through; part of its idempotency key.
pub mod source {
    /// `POST /api/v1/conversions`.
    pub const API: &str = "api";
    /// A CSV upload (admin, CLI or API).
    pub const CSV: &str = "csv";
    /// Stripe's webhook.
    pub const STRIPE: &str = "stripe";
    /// An admin's button in the Leads tab.
    pub const ADMIN: &str = "admin";

    /// An inbound webhook source.
    pub fn inbound(source_id: i64) -> String {
        format!("inbound:{source_id}")
    }
}

/// The longest event id accepted.
const MAX_EVENT_ID: usize = 255;
/// Events may be dated at most this far in the future (clock skew).
const FUTURE_SLACK_HOURS: i64 = 24;

/// A checked conversion event.
#[derive(Clone, Debug)]
pub struct CheckedEvent {
    /// Idempotency key within the source.
    pub event_id: String,
    /// Normalized event name.
    pub name: String,
    /// Referral code as given (trimmed), if any.
    pub referral_code: Option<String>,
    /// Promotion code as given (trimmed), if any.
    pub promotion_code: Option<String>,
    /// The friend's email, if any.
    pub email: Option<Email>,
    /// Minor units.
    pub amount_minor: Option<i64>,
    /// Uppercase ISO 4217.
    pub currency: Option<String>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

fn present(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Checks an incoming event. Nothing is written for an event that fails here.
pub fn check(input: &ConversionInput) -> Result<CheckedEvent, AppError> {
    let event_id = input.event_id.trim();
    if event_id.is_empty() || event_id.len() > MAX_EVENT_ID {
        return Err(AppError::invalid(
            "invalid_event_id",
            "event_id",
            format!(
                "event_id is required: your unique id for this event, at most {MAX_EVENT_ID} characters."
            ),
        ));
    }
    let name = normalize_event_name(&input.event).ok_or_else(|| {
        AppError::invalid(
            "invalid_event",
            "event",
            "event is required: a name like purchase, made of letters, digits, _ . or -.",
        )
    })?;
    let email = match present(input.email.as_deref()) {
        Some(e) => Some(
            Email::parse(&e)
                .map_err(|err| AppError::invalid("invalid_email", "email", err.to_string()))?,
        ),
        None => None,
    };
    let referral_code = present(input.referral_code.as_deref());
    if referral_code.as_ref().is_some_and(|c| c.len() > 64) {
        return Err(AppError::invalid(
            "unknown_referral_code",
            "referral_code",
            "That referral code is too long.",
        ));
    }
    let promotion_code = present(input.promotion_code.as_deref());
    if promotion_code.as_ref().is_some_and(|c| c.len() > 255) {
        return Err(AppError::invalid(
            "invalid_promotion_code",
            "promotion_code",
            "That promotion code is too long.",
        ));
    }
    let currency = match present(input.currency.as_deref()) {
        Some(c) => Some(normalize_currency(&c).ok_or_else(|| {
            AppError::invalid(
                "invalid_currency",
                "currency",
                "currency is a three-letter ISO code like USD.",
            )
        })?),
        None => None,
    };
    let now = Utc::now();
    let occurred_at = input.occurred_at.unwrap_or(now);
    if occurred_at > now + Duration::hours(FUTURE_SLACK_HOURS) {
        return Err(AppError::invalid(
            "invalid_occurred_at",
            "occurred_at",
            "occurred_at is in the future.",
        ));
    }
    Ok(CheckedEvent {
        event_id: event_id.to_owned(),
        name,
        referral_code,
        promotion_code,
        email,
        amount_minor: input.amount,
        currency,
        occurred_at,
    })
}

/// The stored answer for an event id seen before, marked as a duplicate: one indexed lookup.
async fn stored_result(
    db: &impl ConnectionTrait,
    source: &str,
    event_id: &str,
) -> Result<Option<ConversionResult>, AppError> {
    let row = conversion_event::Entity::find()
        .select_only()
        .column(conversion_event::Column::Response)
        .filter(conversion_event::Column::Source.eq(source))
        .filter(conversion_event::Column::EventId.eq(event_id))
        .into_tuple::<String>()
        .one(db)
        .await
        .map_err(|e| AppError::internal("conversions::stored_result", e))?;
    match row {
        None => Ok(None),
        Some(json) => {
            let mut result: ConversionResult = serde_json::from_str(&json)
                .map_err(|e| AppError::internal("conversions::stored_result decode", e))?;
            result.duplicate = true;
            Ok(Some(result))
        }
    }
}

/// Records one conversion event from `source` and applies the campaign's rules.
///
/// The same `(source, event_id)` again returns the first answer with `duplicate: true` and
/// changes nothing. An event naming neither a known referral/promotion code nor the email of a
/// lead is refused as `unattributable` (nothing written).
pub async fn record(
    state: &AppState,
    source: &str,
    input: &ConversionInput,
) -> Result<ConversionResult, AppError> {
    let event = check(input)?;
    if let Some(previous) = stored_result(&state.db, source, &event.event_id).await? {
        return Ok(previous);
    }
    let (campaign, rules) = state.rules_cache.get(&state.db, &input.campaign).await?;
    let campaign = &campaign;
    let rules = &rules;
    let event = &event;
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("conversions::record begin", e))?;
    match apply(&txn, source, campaign, rules, event).await? {
        Applied::Done(result) => {
            txn.commit()
                .await
                .map_err(|e| AppError::internal("conversions::record commit", e))?;
            Ok(*result)
        }
        Applied::Duplicate => {
            // Another request claimed this event id first; its answer is committed by now.
            drop(txn);
            stored_result(&state.db, source, &event.event_id)
                .await?
                .ok_or_else(|| AppError::internal("conversions::record", "claimed event vanished"))
        }
    }
}

/// Records one event inside the caller's transaction (a CSV import's batch, or a preview that is
/// rolled back). An event that is refused is refused before it writes anything (see `apply`), so
/// the transaction stays usable for the next one.
pub async fn record_in(
    txn: &DatabaseTransaction,
    source: &str,
    campaign: &campaign::Model,
    rules: &LoadedRules,
    event: &CheckedEvent,
) -> Result<ConversionResult, AppError> {
    if let Some(previous) = stored_result(txn, source, &event.event_id).await? {
        return Ok(previous);
    }
    match apply(txn, source, campaign, rules, event).await? {
        Applied::Done(result) => Ok(*result),
        Applied::Duplicate => stored_result(txn, source, &event.event_id)
            .await?
            .ok_or_else(|| AppError::internal("conversions::record_in", "claimed event vanished")),
    }
}

enum Applied {
    Done(Box<ConversionResult>),
    Duplicate,
}

fn is_postgres(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// Reads a lead, locking it on PostgreSQL so concurrent events for it queue up.
async fn lock_lead(db: &DatabaseTransaction, id: i64) -> Result<lead::Model, AppError> {
    let mut query = lead::Entity::find_by_id(id);
    if is_postgres(db) {
        query = query.lock_exclusive();
    }
    query
        .one(db)
        .await
        .map_err(|e| AppError::internal("conversions::lock_lead", e))?
        .ok_or_else(|| AppError::not_found("Lead"))
}

/// Locks a referrer on PostgreSQL, so milestone counts and caps see every earlier qualification.
async fn lock_referrer(db: &DatabaseTransaction, id: i64) -> Result<(), AppError> {
    if is_postgres(db) {
        referrer::Entity::find_by_id(id)
            .select_only()
            .column(referrer::Column::Id)
            .lock_exclusive()
            .into_tuple::<i64>()
            .one(db)
            .await
            .map_err(|e| AppError::internal("conversions::lock_referrer", e))?;
    }
    Ok(())
}

/// The referrer a code names: a referral code, a mapped promotion code, or a promotion code equal
/// to a referral code. Unknown codes are `Ok(None)` plus the "did you mean" error to use when
/// nothing else attributes the event.
async fn referrer_by_codes(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    event: &CheckedEvent,
) -> Result<(Option<referrer::Model>, Option<AppError>), AppError> {
    let mut miss = None;
    if let Some(code) = &event.referral_code {
        match code_lookup::resolve_reference(db, campaign_id, code).await {
            Ok(r) => return Ok((Some(r), None)),
            Err(e @ AppError::Invalid { .. }) => miss = Some(e),
            Err(e) => return Err(e),
        }
    }
    if let Some(promo) = &event.promotion_code {
        if let Some(r) = referrer_by_promotion_code(db, campaign_id, promo).await? {
            return Ok((Some(r), None));
        }
        if let Ok(r) = code_lookup::resolve(db, campaign_id, promo).await {
            return Ok((Some(r), None));
        }
        miss.get_or_insert_with(|| {
            AppError::invalid(
                "unknown_promotion_code",
                "promotion_code",
                "That promotion code is not mapped to a referrer.",
            )
        });
    }
    Ok((None, miss))
}

/// The normalized form of a promotion code string, as stored in `promotion_codes.code_key`.
pub fn promotion_code_key(code: &str) -> String {
    code.trim().to_uppercase()
}

/// The referrer a Stripe promotion code (id `promo_...` or the code customers type) belongs to.
pub async fn referrer_by_promotion_code(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    promo: &str,
) -> Result<Option<referrer::Model>, AppError> {
    let mapping = promotion_code::Entity::find()
        .filter(promotion_code::Column::CampaignId.eq(campaign_id))
        .filter(
            promotion_code::Column::PromotionCodeId
                .eq(promo.trim())
                .or(promotion_code::Column::CodeKey.eq(promotion_code_key(promo))),
        )
        .one(db)
        .await
        .map_err(|e| AppError::internal("conversions::promotion_code", e))?;
    match mapping {
        Some(m) => referrer::Entity::find_by_id(m.referrer_id)
            .one(db)
            .await
            .map_err(|e| AppError::internal("conversions::promotion_code referrer", e)),
        None => Ok(None),
    }
}

async fn append(
    db: &impl ConnectionTrait,
    lead_id: i64,
    entries: Vec<(&'static str, String)>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    if entries.is_empty() {
        return Ok(());
    }
    lead_event::Entity::insert_many(entries.into_iter().map(|(kind, detail)| {
        lead_event::ActiveModel {
            lead_id: Set(lead_id),
            kind: Set(kind.to_owned()),
            detail: Set(detail),
            created_at: Set(at),
            ..Default::default()
        }
    }))
    .exec_without_returning(db)
    .await
    .map_err(|e| AppError::internal("conversions::append", e))?;
    Ok(())
}

fn describe_event(event: &CheckedEvent, source: &str) -> String {
    let amount = match event.amount_minor {
        Some(a) => format!(" of {}", rules::format_amount(a, event.currency.as_deref())),
        None => String::new(),
    };
    format!(
        "Event \"{}\"{amount} (id {}) arrived from {source}",
        event.name, event.event_id
    )
}

/// Claims the event id; `None` when another request already holds it.
async fn claim(
    txn: &DatabaseTransaction,
    source: &str,
    campaign: &campaign::Model,
    event: &CheckedEvent,
    now: DateTime<Utc>,
) -> Result<Option<i64>, AppError> {
    let row = conversion_event::ActiveModel {
        campaign_id: Set(campaign.id),
        source: Set(source.to_owned()),
        event_id: Set(event.event_id.clone()),
        name: Set(event.name.clone()),
        lead_id: Set(None),
        referrer_id: Set(None),
        email: Set(event.email.as_ref().map(|e| e.as_str().to_owned())),
        code: Set(event
            .referral_code
            .clone()
            .or_else(|| event.promotion_code.clone())
            .map(|c| c.chars().take(64).collect())),
        amount_minor: Set(event.amount_minor),
        currency: Set(event.currency.clone()),
        occurred_at: Set(event.occurred_at),
        outcome: Set("processing".to_owned()),
        response: Set(String::new()),
        created_at: Set(now),
        ..Default::default()
    };
    let inserted = conversion_event::Entity::insert(row)
        .on_conflict_do_nothing_on([
            conversion_event::Column::Source,
            conversion_event::Column::EventId,
        ])
        .exec(txn)
        .await
        .map_err(|e| AppError::internal("conversions::claim", e))?;
    Ok(match inserted {
        sea_orm::TryInsertResult::Inserted(r) => Some(r.last_insert_id),
        _ => None,
    })
}

/// Who an event belongs to, found before anything is written.
enum Attribution {
    /// The lead with the event's email.
    Existing(i64),
    /// No lead yet: one is created for the referrer the code names.
    New(referrer::Model),
}

/// Finds the event's lead by email, else the referrer its code names. Read-only, so an event that
/// cannot be credited is refused before anything is written.
async fn attribute(
    txn: &DatabaseTransaction,
    campaign: &campaign::Model,
    event: &CheckedEvent,
) -> Result<Attribution, AppError> {
    if let Some(email) = &event.email {
        let existing = lead::Entity::find()
            .select_only()
            .column(lead::Column::Id)
            .filter(lead::Column::CampaignId.eq(campaign.id))
            .filter(lead::Column::EmailNormalized.eq(email.normalized()))
            .into_tuple::<i64>()
            .one(txn)
            .await
            .map_err(|e| AppError::internal("conversions::find lead", e))?;
        if let Some(id) = existing {
            return Ok(Attribution::Existing(id));
        }
    }
    let (referrer, miss) = referrer_by_codes(txn, campaign.id, event).await?;
    match referrer {
        Some(r) => Ok(Attribution::New(r)),
        None => Err(miss.unwrap_or_else(|| {
            AppError::invalid(
                "unattributable",
                "referral_code",
                "This event names no referral code and no email of a known lead, so it cannot be credited to a referrer.",
            )
        })),
    }
}

/// Creates the lead of a new friend credited to `referrer`. Returns the lead id and whether it was
/// created (false when a concurrent request created it first).
#[allow(clippy::too_many_arguments)]
async fn create_lead(
    txn: &DatabaseTransaction,
    source: &str,
    campaign: &campaign::Model,
    event: &CheckedEvent,
    referrer: &referrer::Model,
    effects: &mut Effects,
    journal: &mut Vec<(&'static str, String)>,
    now: DateTime<Utc>,
) -> Result<(lead::Model, bool), AppError> {
    let (email, normalized) = match &event.email {
        Some(e) => (e.as_str().to_owned(), e.normalized()),
        // A code with no email still makes a lead; its key is the event, which is unique.
        None => (String::new(), format!("~{source}:{}", event.event_id)),
    };
    let mut story = vec![(
        "captured",
        format!(
            "{} with code {}; credited to {}.",
            describe_event(event, source),
            event
                .referral_code
                .as_deref()
                .or(event.promotion_code.as_deref())
                .unwrap_or(""),
            referrer.name
        ),
    )];
    let signals = fraud::assess(
        txn,
        fraud::NewLead {
            campaign_id: campaign.id,
            referrer,
            email_normalized: &normalized,
            ip_hash: None,
            referrers_own_browser: false,
        },
    )
    .await?;
    let mut flags = Vec::new();
    for (flag, sentence) in signals {
        flags.push(flag);
        story.push(("flagged", sentence));
    }
    let model = lead::Model {
        id: 0,
        campaign_id: campaign.id,
        referrer_id: Some(referrer.id),
        name: None,
        email,
        email_normalized: normalized.clone(),
        source: "code".to_owned(),
        status: LeadStatus::Pending.as_str().to_owned(),
        flags: flags.join(","),
        ip_hash: None,
        qualified_at: None,
        status_reason: None,
        qualifying_event_id: None,
        created_at: now,
        updated_at: now,
    };
    let mut row: lead::ActiveModel = model.clone().into();
    row.id = sea_orm::ActiveValue::NotSet;
    let inserted = lead::Entity::insert(row)
        .on_conflict_do_nothing_on([lead::Column::CampaignId, lead::Column::EmailNormalized])
        .exec(txn)
        .await
        .map_err(|e| AppError::internal("conversions::create lead", e))?;
    match inserted {
        sea_orm::TryInsertResult::Inserted(r) => {
            let id = r.last_insert_id;
            journal.extend(story);
            effects.push(
                "lead.created",
                json!({"id": id, "campaign": campaign.slug, "referrer_id": referrer.id, "source": "code", "email": event.email.as_ref().map(Email::as_str)}),
            );
            Ok((lead::Model { id, ..model }, true))
        }
        _ => {
            // A concurrent request created the lead for this email first; use theirs.
            let id = lead::Entity::find()
                .select_only()
                .column(lead::Column::Id)
                .filter(lead::Column::CampaignId.eq(campaign.id))
                .filter(lead::Column::EmailNormalized.eq(normalized))
                .into_tuple::<i64>()
                .one(txn)
                .await
                .map_err(|e| AppError::internal("conversions::refind lead", e))?
                .ok_or_else(|| AppError::internal("conversions", "lead vanished"))?;
            Ok((lock_lead(txn, id).await?, false))
        }
    }
}

async fn apply(
    txn: &DatabaseTransaction,
    source: &str,
    campaign: &campaign::Model,
    rules: &LoadedRules,
    event: &CheckedEvent,
) -> Result<Applied, AppError> {
    let now = Utc::now();
    // Every refusal happens here, before the first write: a batch needs no savepoints.
    let attribution = attribute(txn, campaign, event).await?;
    let Some(event_row) = claim(txn, source, campaign, event, now).await? else {
        return Ok(Applied::Duplicate);
    };
    let mut effects = Effects::default();
    // Timeline entries are collected and written in one statement at the end.
    let mut journal: Vec<(&'static str, String)> = Vec::new();
    // The credited referrer, when this event found it (its name and email go into the answer).
    let mut known_referrer: Option<referrer::Model> = None;
    let (lead_row, created) = match attribution {
        Attribution::Existing(id) => (lock_lead(txn, id).await?, false),
        Attribution::New(referrer) => {
            let made = create_lead(
                txn,
                source,
                campaign,
                event,
                &referrer,
                &mut effects,
                &mut journal,
                now,
            )
            .await?;
            known_referrer = Some(referrer);
            made
        }
    };
    let lead_id = lead_row.id;
    // An existing lead keeps its referrer (first referrer wins); a code naming somebody else is
    // noted, and reported as ambiguous.
    let mut ambiguous = false;
    if !created && (event.referral_code.is_some() || event.promotion_code.is_some()) {
        let (named, _) = referrer_by_codes(txn, campaign.id, event).await?;
        if let Some(named) = named
            && lead_row.referrer_id != Some(named.id)
        {
            ambiguous = true;
            journal.push((
                    "ambiguous",
                    format!(
                        "Event {} names {}'s code, but this lead was credited to another referrer first; the first referrer keeps it.",
                        event.event_id, named.name
                    ),
                ));
        }
    }
    let facts = LeadFacts {
        status: LeadStatus::parse(&lead_row.status).unwrap_or(LeadStatus::Pending),
        created_at: lead_row.created_at,
        flagged: !lead_row.flags.is_empty(),
    };
    let verdict = rules::judge(
        &rules.qualification,
        facts,
        EventFacts {
            name: &event.name,
            amount_minor: event.amount_minor,
            occurred_at: event.occurred_at,
        },
    );
    let what = describe_event(event, source);
    let mut created = Vec::new();
    let outcome = match verdict {
        Verdict::Qualifies => {
            journal.push(("conversion", format!("{what}; the lead qualifies.")));
            created = qualify(
                txn,
                campaign,
                rules,
                &lead_row,
                Some(event_row),
                event.amount_minor,
                event.currency.as_deref(),
                &mut effects,
                &mut journal,
                now,
            )
            .await?;
            "qualified"
        }
        Verdict::NeedsReview => {
            let why = if lead_row.flags.is_empty() {
                "the campaign asks an admin to approve each qualification"
            } else {
                "the lead is flagged"
            };
            set_status(txn, lead_id, LeadStatus::Review, Some(event_row), None, now).await?;
            journal.push((
                "review",
                format!("{what}; it qualifies, but {why}: held for review."),
            ));
            "review"
        }
        Verdict::Recorded(reason) => {
            let why = match reason {
                NotQualifying::OtherEvent => format!(
                    "not a qualifying event (the campaign counts {})",
                    rules.qualification.events.join(", ")
                ),
                NotQualifying::BelowMinimum => format!(
                    "below the campaign's minimum of {}",
                    rules::format_amount(
                        rules.qualification.min_amount_minor.unwrap_or(0),
                        event.currency.as_deref()
                    )
                ),
                NotQualifying::OutsideWindow => format!(
                    "after the {}-day qualification window",
                    rules.qualification.window_days.unwrap_or(0)
                ),
            };
            journal.push(("conversion", format!("{what}; {why}.")));
            "recorded"
        }
        Verdict::AlreadyDone => {
            let state = if facts.status == LeadStatus::Review {
                "is already waiting for review"
            } else {
                "had already qualified"
            };
            journal.push((
                "conversion",
                format!("{what}; the lead {state}, so nothing changes."),
            ));
            "already_qualified"
        }
        Verdict::LeadRejected => {
            journal.push((
                "conversion",
                format!("{what}; the lead was rejected, so nothing changes."),
            ));
            "lead_rejected"
        }
        Verdict::Refund => {
            refund(
                txn,
                rules,
                &lead_row,
                &what,
                &mut effects,
                &mut journal,
                now,
            )
            .await?;
            "refunded"
        }
    };
    append(txn, lead_id, journal, now).await?;
    let lead_now = lock_lead(txn, lead_id).await?;
    let referrer_row = match (known_referrer, lead_now.referrer_id) {
        (Some(r), Some(id)) if r.id == id => Some(r),
        (_, Some(id)) => referrer::Entity::find_by_id(id)
            .one(txn)
            .await
            .map_err(|e| AppError::internal("conversions::apply referrer", e))?,
        (_, None) => None,
    };
    let result = ConversionResult {
        lead: leads::to_wire(
            &lead_now,
            &campaign.slug,
            referrer_row.as_ref().map(|r| r.name.clone()),
        ),
        rewards: rewards::to_wire_known(
            &created,
            &campaign.slug,
            referrer_row.as_ref().map(|r| r.email.as_str()),
            &lead_now.email,
        ),
        duplicate: false,
        outcome: outcome.to_owned(),
        ambiguous,
    };
    let response = serde_json::to_string(&result)
        .map_err(|e| AppError::internal("conversions::apply encode", e))?;
    conversion_event::Entity::update_many()
        .col_expr(conversion_event::Column::LeadId, Expr::value(lead_id))
        .col_expr(
            conversion_event::Column::ReferrerId,
            Expr::value(lead_now.referrer_id),
        )
        .col_expr(conversion_event::Column::Outcome, Expr::value(outcome))
        .col_expr(conversion_event::Column::Response, Expr::value(response))
        .filter(conversion_event::Column::Id.eq(event_row))
        .exec(txn)
        .await
        .map_err(|e| AppError::internal("conversions::apply finish", e))?;
    effects.write(txn).await?;
    Ok(Applied::Done(Box::new(result)))
}

async fn set_status(
    txn: &DatabaseTransaction,
    lead_id: i64,
    status: LeadStatus,
    qualifying_event: Option<i64>,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let qualified_at = (status == LeadStatus::Qualified).then_some(now);
    let mut update = lead::Entity::update_many()
        .col_expr(lead::Column::Status, Expr::value(status.as_str()))
        .col_expr(lead::Column::QualifiedAt, Expr::value(qualified_at))
        .col_expr(lead::Column::StatusReason, Expr::value(reason))
        .col_expr(lead::Column::UpdatedAt, Expr::value(now));
    if qualifying_event.is_some() {
        update = update.col_expr(
            lead::Column::QualifyingEventId,
            Expr::value(qualifying_event),
        );
    }
    update
        .filter(lead::Column::Id.eq(lead_id))
        .exec(txn)
        .await
        .map_err(|e| AppError::internal("conversions::set_status", e))?;
    Ok(())
}

fn lead_event_data(lead: &lead::Model, campaign_slug: &str, status: &str) -> serde_json::Value {
    json!({
        "id": lead.id,
        "campaign": campaign_slug,
        "referrer_id": lead.referrer_id,
        "email": lead.email,
        "status": status,
    })
}

/// Qualifies a lead and creates its rewards. The caller holds the lead's lock.
#[allow(clippy::too_many_arguments)]
async fn qualify(
    txn: &DatabaseTransaction,
    campaign: &campaign::Model,
    rules: &LoadedRules,
    lead_row: &lead::Model,
    event_row: Option<i64>,
    amount_minor: Option<i64>,
    currency: Option<&str>,
    effects: &mut Effects,
    journal: &mut Vec<(&'static str, String)>,
    now: DateTime<Utc>,
) -> Result<Vec<reward::Model>, AppError> {
    set_status(
        txn,
        lead_row.id,
        LeadStatus::Qualified,
        event_row,
        None,
        now,
    )
    .await?;
    effects.push(
        "lead.qualified",
        lead_event_data(lead_row, &campaign.slug, "qualified"),
    );
    let Some(referrer_id) = lead_row.referrer_id else {
        journal.push((
            "qualified",
            "Qualified; no referrer is credited, so no rewards.".to_owned(),
        ));
        return Ok(Vec::new());
    };
    lock_referrer(txn, referrer_id).await?;
    let counts_needed = rules.rewards.iter().any(|(_, r)| r.cadence == "milestone");
    let qualified_count = if !counts_needed {
        // Only milestone rewards read the count; skip the query when there are none.
        0
    } else {
        lead::Entity::find()
            .filter(lead::Column::ReferrerId.eq(referrer_id))
            .filter(lead::Column::CampaignId.eq(campaign.id))
            .filter(lead::Column::Status.eq(LeadStatus::Qualified.as_str()))
            .count(txn)
            .await
            .map_err(|e| AppError::internal("conversions::qualify count", e))?
    };
    let mut created = Vec::new();
    let mut story = vec![("qualified", "Qualified.".to_owned())];
    for (rule_id, rule) in &rules.rewards {
        let earned = if rule.max_per_referrer.is_some() {
            reward::Entity::find()
                .filter(reward::Column::RuleId.eq(*rule_id))
                .filter(reward::Column::ReferrerId.eq(referrer_id))
                .filter(reward::Column::Status.ne("cancelled"))
                .count(txn)
                .await
                .map_err(|e| AppError::internal("conversions::qualify earned", e))?
        } else {
            0
        };
        let draft = match rules::reward_for(
            rule,
            rules::RewardContext {
                qualified_count,
                earned_by_referrer: earned,
                amount_minor,
                currency,
            },
        ) {
            Ok(d) => d,
            Err(NoReward::CapReached) => {
                story.push((
                    "reward_skipped",
                    format!(
                        "No \"{}\": the referrer reached the cap of {}.",
                        label(rule),
                        rule.max_per_referrer.unwrap_or(0)
                    ),
                ));
                continue;
            }
            Err(NoReward::NotAMilestone) => {
                let every = u64::from(rule.milestone_every.unwrap_or(1));
                story.push((
                    "reward_progress",
                    format!(
                        "{} of {every} qualified referrals toward the next \"{}\".",
                        qualified_count % every,
                        label(rule)
                    ),
                ));
                continue;
            }
            Err(NoReward::NoAmount) => {
                story.push((
                    "reward_skipped",
                    format!(
                        "No \"{}\": a percentage reward needs the conversion's amount.",
                        label(rule)
                    ),
                ));
                continue;
            }
        };
        let due_at = rules::due_at(now, rule.hold_days);
        let status = if rule.hold_days > 0 {
            "pending"
        } else if rules.qualification.auto_issue {
            "issued"
        } else {
            "due"
        };
        let draft_row = reward::Model {
            id: 0,
            campaign_id: campaign.id,
            rule_id: *rule_id,
            lead_id: Some(lead_row.id),
            referrer_id: Some(referrer_id),
            recipient: rule.recipient.clone(),
            kind: rule.kind.clone(),
            amount_minor: draft.amount_minor,
            currency: draft.currency.clone(),
            description: label(rule),
            status: status.to_owned(),
            milestone: i32::try_from(draft.milestone).unwrap_or(i32::MAX),
            dedupe_key: rules::dedupe_key(
                *rule_id,
                &rule.recipient,
                lead_row.id,
                referrer_id,
                draft.milestone,
            ),
            conversion_event_id: event_row,
            due_at: Some(due_at),
            issued_at: (status == "issued").then_some(now),
            cancelled_at: None,
            cancel_reason: None,
            clawback: false,
            created_at: now,
            updated_at: now,
        };
        let mut row: reward::ActiveModel = draft_row.clone().into();
        row.id = sea_orm::ActiveValue::NotSet;
        // `exec` rather than `exec_with_returning`: on SQLite a conflict with RETURNING surfaces
        // as an error instead of `Conflicted`.
        let inserted = reward::Entity::insert(row)
            .on_conflict_do_nothing_on([reward::Column::DedupeKey])
            .exec(txn)
            .await
            .map_err(|e| AppError::internal("conversions::qualify reward", e))?;
        let sea_orm::TryInsertResult::Inserted(inserted) = inserted else {
            // Earned before (re-qualification after a refund): exactly once means no second one.
            story.push((
                "reward_skipped",
                format!("\"{}\" was already earned for this lead.", label(rule)),
            ));
            continue;
        };
        let row = reward::Model {
            id: inserted.last_insert_id,
            ..draft_row
        };
        let amount = row
            .amount_minor
            .map(|a| format!(" ({})", rules::format_amount(a, row.currency.as_deref())))
            .unwrap_or_default();
        let when = match status {
            "pending" => format!(", due {}", due_at.format("%Y-%m-%d")),
            "issued" => ", issued automatically".to_owned(),
            _ => ", due now".to_owned(),
        };
        story.push((
            "reward",
            format!(
                "Reward for the {}: {}{amount}{when}.",
                row.recipient, row.description
            ),
        ));
        effects.push("reward.created", rewards::event_data(&row));
        if status != "pending" {
            effects.push("reward.due", rewards::event_data(&row));
        }
        if status == "issued" {
            effects.push("reward.issued", rewards::event_data(&row));
        }
        created.push(row);
    }
    journal.extend(story);
    Ok(created)
}

fn label(rule: &rules::RewardRule) -> String {
    if !rule.description.is_empty() {
        return rule.description.clone();
    }
    match rule.kind.as_str() {
        "fixed" => rules::format_amount(rule.amount_minor.unwrap_or(0), rule.currency.as_deref()),
        "percent" => format!(
            "{}% of the purchase",
            f64::from(rule.percent_bp.unwrap_or(0)) / 100.0
        ),
        _ => "Reward".to_owned(),
    }
}

/// Cancels the lead's rewards not yet issued (with `reason`) and flags issued ones for clawback.
async fn cancel_rewards(
    txn: &DatabaseTransaction,
    lead_id: i64,
    reason: &str,
    effects: &mut Effects,
    now: DateTime<Utc>,
) -> Result<(usize, usize), AppError> {
    let rows = reward::Entity::find()
        .filter(reward::Column::LeadId.eq(lead_id))
        .filter(reward::Column::Status.ne("cancelled"))
        .all(txn)
        .await
        .map_err(|e| AppError::internal("conversions::cancel_rewards", e))?;
    let (issued, open): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.status == "issued");
    if !open.is_empty() {
        reward::Entity::update_many()
            .col_expr(reward::Column::Status, Expr::value("cancelled"))
            .col_expr(reward::Column::CancelReason, Expr::value(reason))
            .col_expr(reward::Column::CancelledAt, Expr::value(now))
            .col_expr(reward::Column::UpdatedAt, Expr::value(now))
            .filter(reward::Column::Id.is_in(open.iter().map(|r| r.id)))
            .exec(txn)
            .await
            .map_err(|e| AppError::internal("conversions::cancel_rewards update", e))?;
        for mut r in open.iter().cloned() {
            r.status = "cancelled".to_owned();
            r.cancel_reason = Some(reason.to_owned());
            effects.push("reward.cancelled", rewards::event_data(&r));
        }
    }
    let clawbacks: Vec<i64> = issued
        .iter()
        .filter(|r| !r.clawback)
        .map(|r| r.id)
        .collect();
    if reason == "refund" && !clawbacks.is_empty() {
        reward::Entity::update_many()
            .col_expr(reward::Column::Clawback, Expr::value(true))
            .col_expr(reward::Column::UpdatedAt, Expr::value(now))
            .filter(reward::Column::Id.is_in(clawbacks.clone()))
            .exec(txn)
            .await
            .map_err(|e| AppError::internal("conversions::cancel_rewards clawback", e))?;
    }
    Ok((
        open.len(),
        if reason == "refund" {
            clawbacks.len()
        } else {
            0
        },
    ))
}

async fn refund(
    txn: &DatabaseTransaction,
    rules: &LoadedRules,
    lead_row: &lead::Model,
    what: &str,
    effects: &mut Effects,
    journal: &mut Vec<(&'static str, String)>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let status = LeadStatus::parse(&lead_row.status).unwrap_or(LeadStatus::Pending);
    let unqualify = rules.qualification.refund_unqualifies
        && matches!(status, LeadStatus::Qualified | LeadStatus::Review);
    if !unqualify {
        let why = if rules.qualification.refund_unqualifies {
            "the lead was not qualified, so nothing changes"
        } else {
            "the campaign keeps leads qualified after a refund"
        };
        journal.push(("refund", format!("{what}; {why}.")));
        return Ok(());
    }
    set_status(
        txn,
        lead_row.id,
        LeadStatus::Pending,
        None,
        Some("refunded".to_owned()),
        now,
    )
    .await?;
    let (cancelled, clawback) = cancel_rewards(txn, lead_row.id, "refund", effects, now).await?;
    let mut detail = format!("{what}; the lead is back to pending");
    if cancelled > 0 {
        detail.push_str(&format!(
            ", {cancelled} reward(s) not yet issued were cancelled"
        ));
    }
    if clawback > 0 {
        detail.push_str(&format!(
            ", {clawback} issued reward(s) are flagged for clawback"
        ));
    }
    detail.push('.');
    journal.push(("refund", detail));
    Ok(())
}

/// An admin's decision on a lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Qualify it (approve a lead in review, or qualify a pending one by hand).
    Qualify,
    /// Reject it: its rewards not yet issued are cancelled.
    Reject,
}

/// Qualifies or rejects a lead by hand, with a reason for the timeline. Approving a lead in review
/// uses the amount of the event that put it there.
pub async fn decide(
    state: &AppState,
    lead_id: i64,
    decision: Decision,
    reason: &str,
    admin_email: &str,
) -> Result<ConversionResult, AppError> {
    let reason = reason.trim();
    if reason.chars().count() > 500 {
        return Err(AppError::invalid(
            "invalid_reason",
            "reason",
            "Reasons are at most 500 characters.",
        ));
    }
    if decision == Decision::Reject && reason.is_empty() {
        return Err(AppError::invalid(
            "missing_reason",
            "reason",
            "Say why the lead is rejected; it goes on the timeline.",
        ));
    }
    let campaign_id = lead::Entity::find_by_id(lead_id)
        .select_only()
        .column(lead::Column::CampaignId)
        .into_tuple::<i64>()
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("conversions::decide", e))?
        .ok_or_else(|| AppError::not_found("Lead"))?;
    let campaign = campaign::Entity::find_by_id(campaign_id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("conversions::decide campaign", e))?
        .ok_or_else(|| AppError::not_found("Campaign"))?;
    let rules = rule_store::load(&state.db, campaign.id).await?;
    let now = Utc::now();
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("conversions::decide begin", e))?;
    let lead_row = lock_lead(&txn, lead_id).await?;
    let status = LeadStatus::parse(&lead_row.status).unwrap_or(LeadStatus::Pending);
    let mut journal: Vec<(&'static str, String)> = Vec::new();
    let because = if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    };
    let mut effects = Effects::default();
    let mut created = Vec::new();
    let outcome = match (decision, status) {
        (Decision::Qualify, LeadStatus::Qualified) => {
            return Err(AppError::conflict(
                "already_qualified",
                "This lead is already qualified.",
            ));
        }
        (Decision::Reject, LeadStatus::Rejected) => {
            return Err(AppError::conflict(
                "already_rejected",
                "This lead is already rejected.",
            ));
        }
        (Decision::Qualify, _) => {
            let source_event = match lead_row.qualifying_event_id {
                Some(id) if status == LeadStatus::Review => {
                    conversion_event::Entity::find_by_id(id)
                        .one(&txn)
                        .await
                        .map_err(|e| AppError::internal("conversions::decide event", e))?
                }
                _ => None,
            };
            let verb = if status == LeadStatus::Review {
                "Approved"
            } else {
                "Qualified by hand"
            };
            journal.push(("approved", format!("{verb} by {admin_email}{because}.")));
            created = qualify(
                &txn,
                &campaign,
                &rules,
                &lead_row,
                source_event.as_ref().map(|e| e.id),
                source_event.as_ref().and_then(|e| e.amount_minor),
                source_event.as_ref().and_then(|e| e.currency.as_deref()),
                &mut effects,
                &mut journal,
                now,
            )
            .await?;
            "qualified"
        }
        (Decision::Reject, _) => {
            set_status(
                &txn,
                lead_id,
                LeadStatus::Rejected,
                None,
                Some(reason.to_owned()),
                now,
            )
            .await?;
            let cancel_reason = if lead_row.flags.is_empty() {
                "manual"
            } else {
                "fraud"
            };
            let (cancelled, _) =
                cancel_rewards(&txn, lead_id, cancel_reason, &mut effects, now).await?;
            let tail = if cancelled > 0 {
                format!(" {cancelled} reward(s) not yet issued were cancelled.")
            } else {
                String::new()
            };
            journal.push((
                "rejected",
                format!("Rejected by {admin_email}{because}.{tail}"),
            ));
            "lead_rejected"
        }
    };
    append(&txn, lead_id, journal, now).await?;
    let lead_now = lock_lead(&txn, lead_id).await?;
    let result = ConversionResult {
        lead: leads::wire_one(&txn, &lead_now, &campaign.slug).await?,
        rewards: rewards::to_wire_many(&txn, &created).await?,
        duplicate: false,
        outcome: outcome.to_owned(),
        ambiguous: false,
    };
    effects.write(&txn).await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("conversions::decide commit", e))?;
    Ok(result)
}
