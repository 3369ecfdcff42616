//! Conversion events: the one path every door ends in (API, CSV, inbound webhooks, Stripe, the
//! admin's qualify/approve/reject buttons).
//!
//! Processing an event finds or creates the lead, asks the rule book (`domain::rules`) what the
//! event means, creates rewards, appends to the lead's timeline and queues outbound effects, all
//! in one transaction. Exactly-once is held by unique indexes, not by read-then-write checks:
//! `(source, event_id)` on conversion events, `dedupe_key` on rewards, `(campaign, email)` on
//! leads. On PostgreSQL the lead and referrer rows are locked (`FOR UPDATE`) while a batch
//! decides, so concurrent events for one lead are judged one after the other.
//!
//! Events are applied in batches by [`engine`]: a CSV chunk is one batch, and events arriving one
//! by one (API, webhooks) are grouped by [`queue::ConversionQueue`] while the previous batch
//! writes. A batch of one is the same code.

mod engine;
mod queue;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::json;

pub use engine::{Outcome, Reply};
pub use queue::ConversionQueue;

use crate::{
    domain::{
        email::Email,
        rules::{self, normalize_currency, normalize_event_name},
    },
    error::AppError,
    ssr::{
        db::begin_write,
        entities::{campaign, conversion_event, lead},
        services::{
            audit::{self, Actor, Change, Object},
            rules::{self as rule_store, LoadedRules},
        },
        state::{AppState, RuntimeSettings},
    },
    types::{ConversionInput, ConversionResult},
};
use engine::{Item, Op};

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
    /// An order recorded with its lead at the admin's sales desk.
    pub const SALES: &str = "sales";

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
    /// That email normalized ([`Email::normalized`]), worked out once here: the engine looks
    /// leads up by it when it loads a batch and again when it decides each event.
    pub email_normalized: Option<String>,
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
        email_normalized: email.as_ref().map(Email::normalized),
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

/// The normalized form of a promotion code string, as stored in `promotion_codes.code_key`.
pub fn promotion_code_key(code: &str) -> String {
    code.trim().to_uppercase()
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

fn lead_event_data(lead: &lead::Model, campaign_slug: &str, status: &str) -> serde_json::Value {
    json!({
        "id": lead.id,
        "campaign": campaign_slug,
        "referrer_id": lead.referrer_id,
        "email": lead.email,
        "status": status,
    })
}

/// Records one conversion event from `source` and applies the campaign's rules.
///
/// The same `(source, event_id)` again returns the first answer with `duplicate: true` and
/// changes nothing; that costs one indexed lookup, outside the writer's queue. An event naming
/// neither a known referral/promotion code nor the email of a lead is refused as
/// `unattributable` (nothing written).
pub async fn record(
    state: &AppState,
    source: &str,
    input: &ConversionInput,
) -> Result<ConversionResult, AppError> {
    record_checked(state, source, &input.campaign, check(input)?).await
}

/// [`record`] for an event already checked, in campaign `campaign_slug`: the sales desk and
/// `POST /api/v1/leads` check an order before they record its lead, then point the event at
/// that lead by its key (`email_normalized`), which may be a phone number's.
pub async fn record_checked(
    state: &AppState,
    source: &str,
    campaign_slug: &str,
    event: CheckedEvent,
) -> Result<ConversionResult, AppError> {
    if let Some(previous) = stored_result(&state.db, source, &event.event_id).await? {
        return Ok(previous);
    }
    let (campaign, rules) = state.rules_cache.get(&state.db, campaign_slug).await?;
    state
        .conversion_queue
        .submit(
            &state.db,
            Item {
                source: source.to_owned(),
                campaign: Arc::new(campaign),
                rules: Arc::new(rules),
                op: Op::Event(event),
                mail: Some(state.settings.clone()),
                digest: None,
            },
        )
        .await?
        .into_full()
}

/// Records checked events of one campaign, in order, inside the caller's transaction (a CSV
/// import's chunk, or a preview that is rolled back): one answer per event. A refused event
/// writes nothing, so the transaction stays usable for the next one. Notification emails are
/// written with `mail`'s settings (`None`: none, as for a preview); `digest` names the import
/// whose summary email tells referrers about qualified referrals instead of one email each.
pub async fn record_many(
    txn: &DatabaseTransaction,
    source: &str,
    campaign: &Arc<campaign::Model>,
    rules: &Arc<LoadedRules>,
    mail: Option<&Arc<RuntimeSettings>>,
    digest: Option<i64>,
    events: Vec<CheckedEvent>,
) -> Result<Vec<Outcome>, AppError> {
    engine::run(
        txn,
        &event_items(source, campaign, rules, mail, digest, events),
    )
    .await
}

/// The engine's items for checked events of one campaign.
fn event_items(
    source: &str,
    campaign: &Arc<campaign::Model>,
    rules: &Arc<LoadedRules>,
    mail: Option<&Arc<RuntimeSettings>>,
    digest: Option<i64>,
    events: Vec<CheckedEvent>,
) -> Vec<Item> {
    events
        .into_iter()
        .map(|event| Item {
            source: source.to_owned(),
            campaign: campaign.clone(),
            rules: rules.clone(),
            op: Op::Event(event),
            mail: mail.cloned(),
            digest,
        })
        .collect()
}

/// A SQLite import's batches as a pipeline: each batch is loaded before the previous one's
/// writes run and decided while they do (the engine's "Pipelined batches" says when that is
/// sound). [`record_many`] is the same work one batch at a time.
pub mod pipeline {
    use std::sync::Arc;

    pub use super::engine::{
        Carry, Decided, Item, Loaded, decide, load, load_ahead, pipelines, write,
    };
    use super::{CheckedEvent, LoadedRules, RuntimeSettings, campaign};

    /// The items of one batch of checked events (as [`super::record_many`] makes them).
    pub fn items(
        source: &str,
        campaign: &Arc<campaign::Model>,
        rules: &Arc<LoadedRules>,
        mail: Option<&Arc<RuntimeSettings>>,
        digest: Option<i64>,
        events: Vec<CheckedEvent>,
    ) -> Vec<Item> {
        super::event_items(source, campaign, rules, mail, digest, events)
    }
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
    actor: &Actor,
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
    let item = Item {
        source: source::ADMIN.to_owned(),
        campaign: Arc::new(campaign),
        rules: Arc::new(rules),
        op: Op::Decide {
            lead_id,
            decision,
            reason: reason.to_owned(),
            admin_email: actor.name.clone(),
        },
        mail: Some(state.settings.clone()),
        digest: None,
    };
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("conversions::decide begin", e))?;
    let outcome = engine::run(&txn, std::slice::from_ref(&item))
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("conversions::decide", "no answer"))?;
    let result = outcome?.into_full()?;
    let (action, verb) = match decision {
        Decision::Qualify => ("lead.qualified", "Qualified"),
        Decision::Reject => ("lead.rejected", "Rejected"),
    };
    let who = result
        .lead
        .name
        .clone()
        .unwrap_or_else(|| result.lead.contact().to_owned());
    let why = if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    };
    audit::record(
        &txn,
        actor,
        Change {
            action,
            campaign_id: Some(campaign_id),
            object: Object::Lead(lead_id),
            summary: format!("{verb} {who}{why}"),
        },
    )
    .await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("conversions::decide commit", e))?;
    Ok(result)
}
