//! Inbound webhooks: sources for Zapier, Make, n8n, HubSpot and Salesforce
//! (`POST /webhooks/in/{token}`), and Stripe (`POST /webhooks/stripe`).
//!
//! A request is authenticated first (the source's token, plus its Standard Webhooks signature
//! when it has a secret; Stripe's signature) and refused with nothing written when that fails.
//! An authenticated request is logged with its payload and outcome, so it can be inspected and
//! replayed, and its fields become a conversion event for `services::conversions`.

use std::{collections::HashMap, path::Path};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseTransaction, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::{
    domain::email::Email,
    error::AppError,
    ssr::{
        conversion_csv::parse_amount,
        db::{PreviewTxn, begin_write, is_unique_violation},
        entities::{
            campaign, inbound_delivery, inbound_source, promotion_code, referrer, replaced_code,
        },
        promotion_code_csv::{MappingHeaders, MappingOutcome, MappingRow, PromotionCodeCsvReader},
        services::{
            audit::{self, Actor, Change, Object},
            campaigns, codes,
            conversions::{self, source},
            referrers,
            secrets::{random_token, sha256_hex},
            settings,
            signatures::{self, SignatureError},
        },
        state::AppState,
    },
    types::{
        ConversionInput, ConversionResult, FieldMapping, ImportError, InboundDelivery,
        InboundSource, PromotionCodeImportReport, PromotionCodeMapping,
    },
};

/// The presets offered when creating a source.
pub const PRESETS: [&str; 7] = [
    "zapier",
    "make",
    "n8n",
    "hubspot",
    "hubspot_contact",
    "salesforce",
    "custom",
];

/// Payloads are logged up to this many bytes.
const MAX_LOGGED_PAYLOAD: usize = 64 * 1024;

fn pointer(p: &str) -> String {
    p.to_owned()
}

/// The field mapping and default event a preset starts with.
pub fn preset(name: &str) -> Option<(FieldMapping, &'static str)> {
    let flat = FieldMapping {
        event_id: pointer("/event_id"),
        email: pointer("/email"),
        referral_code: pointer("/referral_code"),
        promotion_code: pointer("/promotion_code"),
        amount: pointer("/amount"),
        amount_unit: "major".to_owned(),
        currency: pointer("/currency"),
        event: pointer("/event"),
        occurred_at: pointer("/occurred_at"),
    };
    Some(match name {
        // Zapier, Make and n8n post the fields the user maps, flat, under names they choose;
        // these are the names the setup guide suggests.
        "zapier" | "make" | "n8n" | "custom" => (flat, "purchase"),
        // A deal-based HubSpot workflow's webhook sends the deal with its properties, each as
        // `{"value": ...}` (server/tests/api/fixtures/inbound/hubspot_deal.json). A deal has no
        // email: the referral code (a custom deal property) names the referrer. `closedate` is
        // in milliseconds.
        "hubspot" => (
            FieldMapping {
                event_id: pointer("/objectId"),
                email: String::new(),
                referral_code: pointer("/properties/referral_code/value"),
                promotion_code: String::new(),
                amount: pointer("/properties/amount/value"),
                amount_unit: "major".to_owned(),
                currency: pointer("/properties/deal_currency_code/value"),
                event: String::new(),
                occurred_at: pointer("/properties/closedate/value"),
            },
            "qualified_lead",
        ),
        // A contact-based workflow sends the contact: its id is `vid`, and it has an email but
        // no amount (hubspot_contact.json).
        "hubspot_contact" => (
            FieldMapping {
                event_id: pointer("/vid"),
                email: pointer("/properties/email/value"),
                referral_code: pointer("/properties/referral_code/value"),
                promotion_code: String::new(),
                amount: String::new(),
                amount_unit: "major".to_owned(),
                currency: String::new(),
                event: String::new(),
                occurred_at: String::new(),
            },
            "qualified_lead",
        ),
        // A Salesforce flow's HTTP callout, with the record's API field names.
        "salesforce" => (
            FieldMapping {
                event_id: pointer("/Id"),
                email: pointer("/Email"),
                referral_code: pointer("/Referral_Code__c"),
                promotion_code: String::new(),
                amount: pointer("/Amount"),
                amount_unit: "major".to_owned(),
                currency: pointer("/CurrencyIsoCode"),
                event: String::new(),
                occurred_at: pointer("/CloseDate"),
            },
            "contract_signed",
        ),
        _ => return None,
    })
}

fn check_mapping(mapping: &FieldMapping) -> Result<(), AppError> {
    for (field, value) in [
        ("event_id", &mapping.event_id),
        ("email", &mapping.email),
        ("referral_code", &mapping.referral_code),
        ("promotion_code", &mapping.promotion_code),
        ("amount", &mapping.amount),
        ("currency", &mapping.currency),
        ("event", &mapping.event),
        ("occurred_at", &mapping.occurred_at),
    ] {
        if !value.is_empty() && (!value.starts_with('/') || value.len() > 200) {
            return Err(AppError::invalid(
                "invalid_mapping",
                field,
                "A field is found by a JSON pointer like /email or /properties/email/value.",
            ));
        }
    }
    if mapping.email.is_empty()
        && mapping.referral_code.is_empty()
        && mapping.promotion_code.is_empty()
    {
        return Err(AppError::invalid(
            "invalid_mapping",
            "email",
            "Map at least the email or the referral code.",
        ));
    }
    if !matches!(mapping.amount_unit.as_str(), "" | "major" | "minor") {
        return Err(AppError::invalid(
            "invalid_mapping",
            "amount_unit",
            "The amount unit is major (12.50) or minor (1250).",
        ));
    }
    Ok(())
}

fn to_wire(row: &inbound_source::Model, campaign_slug: &str) -> InboundSource {
    InboundSource {
        id: row.id,
        campaign: campaign_slug.to_owned(),
        name: row.name.clone(),
        preset: row.preset.clone(),
        token_prefix: row.token_prefix.clone(),
        signed: row.secret.is_some(),
        mapping: serde_json::from_str(&row.mapping).unwrap_or_default(),
        default_event: row.default_event.clone(),
        created_at: row.created_at,
    }
}

/// A new source, with its URL token and signing secret (shown once).
#[derive(Clone, Debug)]
pub struct CreatedSource {
    /// The source.
    pub source: InboundSource,
    /// The token in its URL: `POST /webhooks/in/{token}`.
    pub token: String,
    /// The Standard Webhooks secret, when signing was asked for.
    pub secret: Option<String>,
}

/// Creates a source for `campaign` from a preset.
pub async fn create_source(
    state: &AppState,
    actor: &Actor,
    campaign: &str,
    name: &str,
    preset_name: &str,
    signed: bool,
) -> Result<CreatedSource, AppError> {
    let campaign = campaigns::find_row(&state.db, campaign).await?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid(
            "invalid_name",
            "name",
            "Give the source a name of at most 200 characters.",
        ));
    }
    let (mapping, default_event) = preset(preset_name).ok_or_else(|| {
        AppError::invalid(
            "invalid_preset",
            "preset",
            "The preset is zapier, make, n8n, hubspot, hubspot_contact, salesforce or custom.",
        )
    })?;
    let token = format!("in_{}", random_token(24));
    let secret = signed.then(signatures::standard::generate_secret);
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("inbound::create_source begin", e))?;
    let row = inbound_source::ActiveModel {
        campaign_id: Set(campaign.id),
        name: Set(name.to_owned()),
        preset: Set(preset_name.to_owned()),
        token_prefix: Set(token.chars().take(10).collect()),
        token_hash: Set(sha256_hex(&token)),
        secret: Set(secret.clone()),
        mapping: Set(serde_json::to_string(&mapping)
            .map_err(|e| AppError::internal("inbound::create_source", e))?),
        default_event: Set(default_event.to_owned()),
        enabled: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::internal("inbound::create_source insert", e))?;
    audit::record(
        &txn,
        actor,
        Change {
            action: "inbound_source.created",
            campaign_id: Some(campaign.id),
            object: Object::InboundSource(row.id),
            summary: format!(
                "Added the inbound source “{}” ({preset_name}{}).",
                row.name,
                if signed { ", signed" } else { "" }
            ),
        },
    )
    .await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("inbound::create_source commit", e))?;
    Ok(CreatedSource {
        source: to_wire(&row, &campaign.slug),
        token,
        secret,
    })
}

/// Replaces a source's field mapping and default event.
pub async fn set_mapping(
    state: &AppState,
    actor: &Actor,
    id: i64,
    mapping: &FieldMapping,
    default_event: &str,
) -> Result<InboundSource, AppError> {
    check_mapping(mapping)?;
    let default_event =
        crate::domain::rules::normalize_event_name(default_event).ok_or_else(|| {
            AppError::invalid(
                "invalid_event",
                "default_event",
                "The default event is a name like purchase.",
            )
        })?;
    let row = find_source(state, id).await?;
    let campaign_slug = campaign_slug(state, row.campaign_id).await?;
    let mut active: inbound_source::ActiveModel = row.into();
    active.mapping = Set(serde_json::to_string(mapping)
        .map_err(|e| AppError::internal("inbound::set_mapping", e))?);
    active.default_event = Set(default_event);
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("inbound::set_mapping begin", e))?;
    let row = active
        .update(&txn)
        .await
        .map_err(|e| AppError::internal("inbound::set_mapping update", e))?;
    audit::record(
        &txn,
        actor,
        Change {
            action: "inbound_source.mapping_changed",
            campaign_id: Some(row.campaign_id),
            object: Object::InboundSource(row.id),
            summary: format!(
                "Changed the field mapping of the inbound source “{}” (default event {}).",
                row.name, row.default_event
            ),
        },
    )
    .await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("inbound::set_mapping commit", e))?;
    Ok(to_wire(&row, &campaign_slug))
}

/// Deletes a source (and its delivery log); its URL stops working at once.
pub async fn delete_source(state: &AppState, actor: &Actor, id: i64) -> Result<(), AppError> {
    audit::delete_logged::<inbound_source::Entity>(&state.db, actor, id, "Source", |row| Change {
        action: "inbound_source.deleted",
        campaign_id: Some(row.campaign_id),
        object: Object::InboundSource(row.id),
        summary: format!(
            "Deleted the inbound source “{}”; its URL stopped working.",
            row.name
        ),
    })
    .await
}

/// One source, as the admin sees it.
pub async fn source(state: &AppState, id: i64) -> Result<InboundSource, AppError> {
    let row = find_source(state, id).await?;
    let campaign_slug = campaign_slug(state, row.campaign_id).await?;
    Ok(to_wire(&row, &campaign_slug))
}

async fn find_source(state: &AppState, id: i64) -> Result<inbound_source::Model, AppError> {
    inbound_source::Entity::find_by_id(id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("inbound::find_source", e))?
        .ok_or_else(|| AppError::not_found("Source"))
}

async fn campaign_slug(state: &AppState, campaign_id: i64) -> Result<String, AppError> {
    campaign::Entity::find_by_id(campaign_id)
        .select_only()
        .column(campaign::Column::Slug)
        .into_tuple::<String>()
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("inbound::campaign_slug", e))?
        .ok_or_else(|| AppError::not_found("Campaign"))
}

/// Every source, newest first.
pub async fn list_sources(state: &AppState) -> Result<Vec<InboundSource>, AppError> {
    let rows = inbound_source::Entity::find()
        .order_by_desc(inbound_source::Column::Id)
        .all(&state.db)
        .await
        .map_err(|e| AppError::internal("inbound::list_sources", e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(to_wire(row, &campaign_slug(state, row.campaign_id).await?));
    }
    Ok(out)
}

/// The last 100 deliveries of a channel (`source` with its id, or `stripe`), newest first.
pub async fn deliveries(
    state: &AppState,
    channel: &str,
    source_id: Option<i64>,
) -> Result<Vec<InboundDelivery>, AppError> {
    let mut query =
        inbound_delivery::Entity::find().filter(inbound_delivery::Column::Channel.eq(channel));
    if let Some(id) = source_id {
        query = query.filter(inbound_delivery::Column::SourceId.eq(id));
    }
    Ok(query
        .order_by_desc(inbound_delivery::Column::Id)
        .limit(100)
        .all(&state.db)
        .await
        .map_err(|e| AppError::internal("inbound::deliveries", e))?
        .into_iter()
        .map(|d| InboundDelivery {
            id: d.id,
            channel: d.channel,
            source_id: d.source_id,
            message_id: d.message_id,
            payload: d.payload,
            outcome: d.outcome,
            message: d.message,
            created_at: d.created_at,
        })
        .collect())
}

/// Why an inbound request was refused before anything was written.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// No source has this token (or it is disabled).
    UnknownSource,
    /// The signature is missing or wrong, or the timestamp is stale.
    BadSignature(SignatureError),
    /// Stripe has no signing secret configured.
    NotConfigured,
}

/// A logged delivery and what processing it gave.
#[derive(Debug)]
pub struct Received {
    /// The delivery log row's id.
    pub delivery_id: i64,
    /// The conversion's result, or why it was not recorded (`None`: ignored by design).
    pub result: Option<Result<ConversionResult, AppError>>,
}

/// The Standard Webhooks headers of a request.
#[derive(Clone, Copy, Debug, Default)]
pub struct SignedHeaders<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp`.
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`.
    pub signature: Option<&'a str>,
}

/// Handles `POST /webhooks/in/{token}`.
pub async fn receive(
    state: &AppState,
    token: &str,
    headers: SignedHeaders<'_>,
    body: &[u8],
) -> Result<Received, Refused> {
    let source = inbound_source::Entity::find()
        .filter(inbound_source::Column::TokenHash.eq(sha256_hex(token)))
        .filter(inbound_source::Column::Enabled.eq(true))
        .one(&state.db)
        .await
        .ok()
        .flatten()
        .ok_or(Refused::UnknownSource)?;
    if let Some(secret) = &source.secret {
        signatures::standard::verify(
            secret,
            headers.id,
            headers.timestamp,
            headers.signature,
            body,
            Utc::now().timestamp(),
        )
        .map_err(Refused::BadSignature)?;
    }
    Ok(process_source(state, &source, headers.id, body, None).await)
}

/// Runs a logged delivery of a source again (after fixing its mapping, or once the lead exists).
pub async fn replay(state: &AppState, delivery_id: i64) -> Result<Received, AppError> {
    let delivery = inbound_delivery::Entity::find_by_id(delivery_id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("inbound::replay", e))?
        .ok_or_else(|| AppError::not_found("Delivery"))?;
    let note = Some(delivery_id);
    match (delivery.channel.as_str(), delivery.source_id) {
        ("source", Some(id)) => {
            let source = find_source(state, id).await?;
            Ok(process_source(
                state,
                &source,
                delivery.message_id.as_deref(),
                delivery.payload.as_bytes(),
                note,
            )
            .await)
        }
        ("stripe", _) => Ok(process_stripe(state, delivery.payload.as_bytes(), note).await),
        _ => Err(AppError::not_found("Delivery")),
    }
}

fn text_at(json: &Value, pointer: &str) -> Option<String> {
    if pointer.is_empty() {
        return None;
    }
    match json.pointer(pointer)? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// RFC 3339, a date (midnight UTC), or a unix time: in seconds, or in milliseconds when it is
/// at least 10^11 (as seconds that would be the year 5138; HubSpot sends milliseconds).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(number) = text.parse::<i64>() {
        return if number.abs() >= 100_000_000_000 {
            DateTime::from_timestamp_millis(number)
        } else {
            DateTime::from_timestamp(number, 0)
        };
    }
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        })
}

/// Turns a source's JSON payload into a conversion event.
fn map_payload(
    source: &inbound_source::Model,
    campaign_slug: &str,
    message_id: Option<&str>,
    body: &[u8],
) -> Result<ConversionInput, AppError> {
    let json: Value = serde_json::from_slice(body).map_err(|e| {
        AppError::invalid("invalid_json", "body", format!("The body is not JSON: {e}"))
    })?;
    let mapping: FieldMapping = serde_json::from_str(&source.mapping).unwrap_or_default();
    let currency = text_at(&json, &mapping.currency);
    let amount = match text_at(&json, &mapping.amount) {
        Some(text) => {
            let (minor, inline) =
                parse_amount(&text, currency.as_deref(), mapping.amount_unit == "minor")
                    .map_err(|reason| AppError::invalid("invalid_amount", "amount", reason))?;
            Some((minor, inline))
        }
        None => None,
    };
    let occurred_at = match text_at(&json, &mapping.occurred_at) {
        Some(text) => Some(parse_time(&text).ok_or_else(|| {
            AppError::invalid(
                "invalid_occurred_at",
                "occurred_at",
                format!("\"{text}\" is not a date (use RFC 3339 or unix seconds)."),
            )
        })?),
        None => None,
    };
    let event_id = text_at(&json, &mapping.event_id)
        .or_else(|| message_id.map(str::to_owned))
        .unwrap_or_else(|| format!("body:{}", sha256_hex(&String::from_utf8_lossy(body))));
    Ok(ConversionInput {
        campaign: campaign_slug.to_owned(),
        event_id,
        event: text_at(&json, &mapping.event).unwrap_or_else(|| source.default_event.clone()),
        referral_code: text_at(&json, &mapping.referral_code),
        promotion_code: text_at(&json, &mapping.promotion_code),
        email: text_at(&json, &mapping.email),
        currency: currency.or_else(|| amount.as_ref().and_then(|(_, inline)| inline.clone())),
        amount: amount.map(|(minor, _)| minor),
        occurred_at,
    })
}

async fn process_source(
    state: &AppState,
    source: &inbound_source::Model,
    message_id: Option<&str>,
    body: &[u8],
    replay_of: Option<i64>,
) -> Received {
    let result = match campaign_slug(state, source.campaign_id).await {
        Ok(slug) => match map_payload(source, &slug, message_id, body) {
            Ok(input) => conversions::record(state, &source::inbound(source.id), &input).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let delivery_id = log(
        state,
        "source",
        Some(source.id),
        message_id,
        body,
        &Some(&result),
        replay_of,
    )
    .await;
    Received {
        delivery_id,
        result: Some(result),
    }
}

fn outcome_of(result: &Option<&Result<ConversionResult, AppError>>) -> (&'static str, String) {
    match result {
        None => ("ignored", "Not an event Handoff acts on.".to_owned()),
        Some(Ok(r)) if r.duplicate => (
            "duplicate",
            format!("Seen before; lead #{} unchanged.", r.lead.id),
        ),
        Some(Ok(r)) => (
            "recorded",
            format!(
                "Lead #{} ({}): {}, {}.",
                r.lead.id,
                if r.lead.email.is_empty() {
                    "no email"
                } else {
                    &r.lead.email
                },
                r.outcome,
                crate::domain::words::counted(r.rewards.len() as u64, "reward", "rewards")
            ),
        ),
        Some(Err(AppError::Invalid { code, message, .. }))
            if matches!(
                code.as_str(),
                "unattributable"
                    | "unknown_referral_code"
                    | "inactive_referral_code"
                    | "unknown_promotion_code"
            ) =>
        {
            ("unattributable", message.clone())
        }
        Some(Err(AppError::Invalid { message, .. }))
        | Some(Err(AppError::Conflict { message, .. })) => ("invalid", message.clone()),
        Some(Err(AppError::NotFound { what })) => ("invalid", format!("{what} was not found.")),
        Some(Err(_)) => (
            "failed",
            "Failed on our side; see the server log.".to_owned(),
        ),
    }
}

async fn log(
    state: &AppState,
    channel: &str,
    source_id: Option<i64>,
    message_id: Option<&str>,
    body: &[u8],
    result: &Option<&Result<ConversionResult, AppError>>,
    replay_of: Option<i64>,
) -> i64 {
    let (outcome, mut message) = outcome_of(result);
    if let Some(original) = replay_of {
        message = format!("Replay of #{original}. {message}");
    }
    let end = body.len().min(MAX_LOGGED_PAYLOAD);
    let row = inbound_delivery::ActiveModel {
        channel: Set(channel.to_owned()),
        source_id: Set(source_id),
        message_id: Set(message_id.map(|m| m.chars().take(255).collect())),
        payload: Set(String::from_utf8_lossy(&body[..end]).into_owned()),
        outcome: Set(outcome.to_owned()),
        message: Set(message),
        conversion_event_id: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await;
    match row {
        Ok(row) => row.id,
        Err(e) => {
            // The conversion itself is committed; a lost log line must not fail the sender.
            tracing::error!(error = %e, "inbound::log");
            0
        }
    }
}

/// Handles `POST /webhooks/stripe`.
pub async fn receive_stripe(
    state: &AppState,
    signature: Option<&str>,
    body: &[u8],
) -> Result<Received, Refused> {
    let secret = match &state.settings.stripe_webhook_secret {
        Some(s) => Some(s.clone()),
        None => settings::get(&state.db, settings::STRIPE_WEBHOOK_SECRET)
            .await
            .ok()
            .flatten(),
    }
    .ok_or(Refused::NotConfigured)?;
    signatures::stripe::verify(body, signature, &secret, Utc::now().timestamp())
        .map_err(Refused::BadSignature)?;
    Ok(process_stripe(state, body, None).await)
}

/// A Stripe event turned into a conversion, or `None` for events Handoff ignores.
fn stripe_conversion(event: &Value, campaign: &str) -> Option<ConversionInput> {
    let kind = event.get("type")?.as_str()?;
    let object = event.pointer("/data/object")?;
    let text = |p: &str| text_at(object, p);
    let (name, amount_pointer, emails): (&str, &str, &[&str]) = match kind {
        "checkout.session.completed" => (
            "purchase",
            "/amount_total",
            &["/customer_details/email", "/customer_email"],
        ),
        "invoice.paid" => ("purchase", "/amount_paid", &["/customer_email"]),
        "charge.refunded" => (
            "refund",
            "/amount_refunded",
            &["/billing_details/email", "/receipt_email"],
        ),
        _ => return None,
    };
    let referral_code = text("/metadata/referral_code")
        .or_else(|| text("/subscription_details/metadata/referral_code"))
        .or_else(|| text("/client_reference_id"));
    let promotion_code = object
        .get("discounts")
        .and_then(Value::as_array)
        .and_then(|d| {
            d.iter().find_map(|x| match x {
                Value::String(s) => Some(s.clone()),
                other => text_at(other, "/promotion_code")
                    .or_else(|| text_at(other, "/discount/promotion_code")),
            })
        })
        .or_else(|| text("/discount/promotion_code"));
    Some(ConversionInput {
        campaign: campaign.to_owned(),
        event_id: text_at(event, "/id")?,
        event: name.to_owned(),
        referral_code,
        promotion_code,
        email: emails.iter().find_map(|p| text(p)),
        amount: object.pointer(amount_pointer).and_then(Value::as_i64),
        currency: text("/currency"),
        occurred_at: event
            .get("created")
            .and_then(Value::as_i64)
            .and_then(|s| DateTime::from_timestamp(s, 0)),
    })
}

/// The campaign a Stripe event's own referral or promotion code belongs to, when Handoff knows
/// the code: a code (or link slug) names one referrer, and so one campaign.
async fn campaign_of_codes(
    db: &impl ConnectionTrait,
    input: &ConversionInput,
) -> Result<Option<String>, AppError> {
    let campaign_slug = |id: i64| async move {
        campaign::Entity::find_by_id(id)
            .one(db)
            .await
            .map_err(|e| AppError::internal("inbound::campaign_of_codes campaign", e))
            .map(|c| c.map(|c| c.slug))
    };
    if let Some(code) = input.referral_code.as_deref().map(str::trim) {
        if crate::domain::slug::is_slug_shaped(code)
            && let Some(c) = referrers::campaign_of_slug(db, code).await?
        {
            return Ok(Some(c.slug));
        }
        if let Ok(key) = crate::domain::codes::normalize(code) {
            let owner = referrer::Entity::find()
                .filter(referrer::Column::CodeKey.eq(key.as_str()))
                .one(db)
                .await
                .map_err(|e| AppError::internal("inbound::campaign_of_codes code", e))?;
            if let Some(owner) = owner {
                return campaign_slug(owner.campaign_id).await;
            }
            // A replaced (or merged-away) code names its campaign too; whether it still
            // credits anyone is the engine's to say, with its own message.
            let replaced = replaced_code::Entity::find()
                .filter(replaced_code::Column::CodeKey.eq(key))
                .one(db)
                .await
                .map_err(|e| AppError::internal("inbound::campaign_of_codes replaced", e))?;
            if let Some(replaced) = replaced {
                return campaign_slug(replaced.campaign_id).await;
            }
        }
    }
    if let Some(promo) = input.promotion_code.as_deref().map(str::trim) {
        let mapped = promotion_code::Entity::find()
            .filter(
                Condition::any()
                    .add(promotion_code::Column::PromotionCodeId.eq(promo))
                    .add(
                        promotion_code::Column::CodeKey.eq(conversions::promotion_code_key(promo)),
                    ),
            )
            .one(db)
            .await
            .map_err(|e| AppError::internal("inbound::campaign_of_codes promotion", e))?;
        if let Some(mapped) = mapped {
            return campaign_slug(mapped.campaign_id).await;
        }
    }
    Ok(None)
}

/// The campaign a Stripe event counts for: the one its metadata names, else the one its referral
/// or promotion code belongs to, else the one chosen on the Integrations page (which is needed
/// only for events that name nothing but the customer's email).
async fn stripe_campaign(
    state: &AppState,
    event: &Value,
    input: &ConversionInput,
) -> Result<Option<String>, AppError> {
    if let Some(named) = text_at(event, "/data/object/metadata/campaign") {
        return Ok(Some(named));
    }
    if let Some(own) = campaign_of_codes(&state.db, input).await? {
        return Ok(Some(own));
    }
    Ok(settings::get(&state.db, settings::STRIPE_CAMPAIGN)
        .await
        .ok()
        .flatten())
}

async fn process_stripe(state: &AppState, body: &[u8], replay_of: Option<i64>) -> Received {
    let event: Option<Value> = serde_json::from_slice(body).ok();
    let event_id = event.as_ref().and_then(|e| text_at(e, "/id"));
    let result = match &event {
        None => Some(Err(AppError::invalid(
            "invalid_json",
            "body",
            "The body is not a Stripe event.",
        ))),
        Some(event) => match stripe_conversion(event, "") {
            None => None,
            Some(mut input) => match stripe_campaign(state, event, &input).await {
                Err(error) => Some(Err(error)),
                Ok(None) => Some(Err(AppError::invalid(
                    "no_campaign",
                    "campaign",
                    "This event names no referral or promotion code Handoff knows, and no campaign is set for such Stripe events: choose one on the Integrations page.",
                ))),
                Ok(Some(campaign)) => {
                    input.campaign = campaign;
                    Some(conversions::record(state, source::STRIPE, &input).await)
                }
            },
        },
    };
    let delivery_id = log(
        state,
        "stripe",
        None,
        event_id.as_deref(),
        body,
        &result.as_ref(),
        replay_of,
    )
    .await;
    Received {
        delivery_id,
        result,
    }
}

/// The largest promotion-code mapping file imported at once (some 400,000 rows).
pub const MAX_MAPPING_FILE_BYTES: u64 = 20 << 20;
pub use crate::api::integrations::MAX_REPORTED_MAPPING_ERRORS;
/// Rows of a mapping file per transaction.
const MAPPING_CHUNK_ROWS: usize = 500;
/// The error of a write that lost a race with another one mapping the same code (PostgreSQL; on
/// SQLite writers take turns). An import runs the chunk again.
const MAPPING_RACE: &str = "promotion_code_race";

/// What mapping a promotion code changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapped {
    /// A new mapping.
    Added,
    /// The referrer's mapping got the id or the code it lacked.
    Completed,
    /// It was mapped so already: nothing changed.
    Unchanged,
}

/// A promotion code as given: trimmed, empty as none, checked. Errors name the field at fault
/// (`promotion_code_id` or `code`).
fn check_promotion_code(
    id: Option<&str>,
    code: Option<&str>,
) -> Result<(Option<String>, Option<String>), AppError> {
    let id = id.map(str::trim).filter(|s| !s.is_empty());
    let code = code.map(str::trim).filter(|s| !s.is_empty());
    if id.is_none() && code.is_none() {
        return Err(AppError::invalid(
            "missing_promotion_code",
            "promotion_code_id",
            "Give the promotion code's id (promo_...) or the code customers type, or both.",
        ));
    }
    if id.is_some_and(|i| {
        !i.starts_with("promo_") || i.len() > 255 || i.contains(char::is_whitespace)
    }) {
        return Err(AppError::invalid(
            "invalid_promotion_code",
            "promotion_code_id",
            "Stripe promotion code ids start with promo_ (like promo_1MxYzAbC).",
        ));
    }
    if code.is_some_and(|c| c.len() > 255 || c.contains(char::is_control)) {
        return Err(AppError::invalid(
            "invalid_promotion_code",
            "code",
            "A code is at most 255 characters, on one line.",
        ));
    }
    Ok((id.map(str::to_owned), code.map(str::to_owned)))
}

/// What mapping a promotion code to a referrer takes, given the mappings holding its id or code.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// Every key given is mapped to this referrer already.
    Unchanged,
    /// Neither key is mapped: a new mapping.
    Insert,
    /// This referrer's mapping with this id lacks a code (or with this code, an id): fill it in.
    Complete(i64),
    /// The key of `field` is mapped to another referrer.
    Taken {
        field: &'static str,
        referrer_id: i64,
    },
    /// This referrer's mapping of one key has another value for the other (`mapped`), which
    /// `field` contradicts. Stripe gives each promotion code one id.
    Mismatch { field: &'static str, mapped: String },
}

fn plan(
    existing: &[promotion_code::Model],
    referrer_id: i64,
    id: Option<&str>,
    code_key: Option<&str>,
) -> Plan {
    let by_id = id.and_then(|i| {
        existing
            .iter()
            .find(|m| m.promotion_code_id.as_deref() == Some(i))
    });
    let by_code = code_key.and_then(|k| existing.iter().find(|m| m.code_key.as_deref() == Some(k)));
    for (found, field) in [(by_id, "promotion_code_id"), (by_code, "code")] {
        if let Some(m) = found
            && m.referrer_id != referrer_id
        {
            return Plan::Taken {
                field,
                referrer_id: m.referrer_id,
            };
        }
    }
    match (by_id, by_code) {
        (None, None) => Plan::Insert,
        (Some(_), Some(_)) => Plan::Unchanged,
        (Some(m), None) => match (code_key, &m.code) {
            (None, _) => Plan::Unchanged,
            (Some(_), None) => Plan::Complete(m.id),
            (Some(_), Some(mapped)) => Plan::Mismatch {
                field: "code",
                mapped: mapped.clone(),
            },
        },
        (None, Some(m)) => match (id, &m.promotion_code_id) {
            (None, _) => Plan::Unchanged,
            (Some(_), None) => Plan::Complete(m.id),
            (Some(_), Some(mapped)) => Plan::Mismatch {
                field: "promotion_code_id",
                mapped: mapped.clone(),
            },
        },
    }
}

/// The mappings holding any of these promotion code ids or code keys.
async fn mappings_holding(
    db: &impl ConnectionTrait,
    ids: &[String],
    keys: &[String],
) -> Result<Vec<promotion_code::Model>, AppError> {
    if ids.is_empty() && keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut any = Condition::any();
    if !ids.is_empty() {
        any = any.add(promotion_code::Column::PromotionCodeId.is_in(ids.iter().cloned()));
    }
    if !keys.is_empty() {
        any = any.add(promotion_code::Column::CodeKey.is_in(keys.iter().cloned()));
    }
    promotion_code::Entity::find()
        .filter(any)
        .all(db)
        .await
        .map_err(|e| AppError::internal("inbound::mappings_holding", e))
}

/// "Name <email>" of a referrer, for a message.
async fn referrer_label(db: &impl ConnectionTrait, id: i64) -> Result<String, AppError> {
    Ok(referrer::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(|e| AppError::internal("inbound::referrer_label", e))?
        .map_or_else(
            || format!("referrer {id}"),
            |r| format!("{} <{}>", r.name, r.email),
        ))
}

/// Maps the checked `id` and/or `code` to `referrer`, given `existing` (the mappings holding
/// either key), which gets the row written. The one rule of the form and the import: a key
/// mapped to somebody else is refused, never moved.
async fn apply_mapping(
    db: &impl ConnectionTrait,
    existing: &mut Vec<promotion_code::Model>,
    referrer: &referrer::Model,
    id: Option<&str>,
    code: Option<&str>,
) -> Result<Mapped, AppError> {
    let code_key = code.map(conversions::promotion_code_key);
    let (mapped, written) = match plan(existing, referrer.id, id, code_key.as_deref()) {
        Plan::Unchanged => return Ok(Mapped::Unchanged),
        Plan::Taken { field, referrer_id } => {
            let what = match field {
                "code" => format!("The code {}", code.unwrap_or_default()),
                _ => id.unwrap_or_default().to_owned(),
            };
            let owner = referrer_label(db, referrer_id).await?;
            return Err(AppError::invalid(
                "promotion_code_taken",
                field,
                format!(
                    "{what} is already mapped to {owner}. Delete that mapping first to map it to someone else."
                ),
            ));
        }
        Plan::Mismatch { field, mapped } => {
            let message = if field == "code" {
                format!(
                    "{} is mapped with the code {mapped}. Delete that mapping first to map it with another code.",
                    id.unwrap_or_default()
                )
            } else {
                format!(
                    "The code {} is mapped with {mapped}. Delete that mapping first to map it with another id.",
                    code.unwrap_or_default()
                )
            };
            return Err(AppError::invalid("promotion_code_mismatch", field, message));
        }
        Plan::Insert => (
            Mapped::Added,
            promotion_code::ActiveModel {
                campaign_id: Set(referrer.campaign_id),
                referrer_id: Set(referrer.id),
                promotion_code_id: Set(id.map(str::to_owned)),
                code_key: Set(code_key.clone()),
                code: Set(code.map(str::to_owned)),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(db)
            .await,
        ),
        Plan::Complete(row) => {
            let Some(model) = existing.iter().find(|m| m.id == row).cloned() else {
                return Err(AppError::internal(
                    "inbound::apply_mapping",
                    "planned row vanished",
                ));
            };
            let mut active = model.clone().into_active_model();
            if model.promotion_code_id.is_none() && id.is_some() {
                active.promotion_code_id = Set(id.map(str::to_owned));
            }
            if model.code_key.is_none() && code.is_some() {
                active.code_key = Set(code_key.clone());
                active.code = Set(code.map(str::to_owned));
            }
            (Mapped::Completed, active.update(db).await)
        }
    };
    let written = match written {
        Ok(row) => row,
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::conflict(
                MAPPING_RACE,
                "This promotion code was mapped by someone else at the same moment; try again.",
            ));
        }
        Err(e) => return Err(AppError::internal("inbound::apply_mapping write", e)),
    };
    existing.retain(|m| m.id != written.id);
    existing.push(written);
    Ok(mapped)
}

/// Maps a Stripe promotion code (its id `promo_...` and/or the code customers type) to a
/// referrer, so checkouts using it are credited to them. Mapping it again to the same referrer
/// changes nothing; a code mapped to somebody else is refused (delete that mapping first).
pub async fn map_promotion_code(
    state: &AppState,
    actor: &Actor,
    referrer_id: i64,
    promotion_code_id: Option<&str>,
    code: Option<&str>,
) -> Result<Mapped, AppError> {
    let (id, code) = check_promotion_code(promotion_code_id, code)?;
    let referrer = referrer::Entity::find_by_id(referrer_id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("inbound::map_promotion_code", e))?
        .ok_or_else(|| AppError::not_found("Referrer"))?;
    let keys: Vec<String> = code
        .as_deref()
        .map(conversions::promotion_code_key)
        .into_iter()
        .collect();
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("inbound::map_promotion_code begin", e))?;
    let mut existing = mappings_holding(&txn, id.as_slice(), &keys).await?;
    let mapped = apply_mapping(
        &txn,
        &mut existing,
        &referrer,
        id.as_deref(),
        code.as_deref(),
    )
    .await?;
    if let (false, Some(row)) = (matches!(mapped, Mapped::Unchanged), existing.last()) {
        audit::record(
            &txn,
            actor,
            Change {
                action: "promotion_code.mapped",
                campaign_id: Some(referrer.campaign_id),
                object: Object::PromotionCode(row.id),
                summary: format!(
                    "Mapped the Stripe promotion code {} to {}.",
                    [id.as_deref(), code.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" / "),
                    referrer.name
                ),
            },
        )
        .await?;
    }
    txn.commit()
        .await
        .map_err(|e| AppError::internal("inbound::map_promotion_code commit", e))?;
    Ok(mapped)
}

/// Deletes a promotion-code mapping: checkouts using the code are no longer credited by it.
pub async fn delete_promotion_code(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<(), AppError> {
    audit::delete_logged::<promotion_code::Entity>(
        &state.db,
        actor,
        id,
        "Promotion code mapping",
        |row| Change {
            action: "promotion_code.deleted",
            campaign_id: Some(row.campaign_id),
            object: Object::PromotionCode(row.id),
            summary: format!(
                "Deleted the mapping of the Stripe promotion code {}.",
                [row.promotion_code_id.as_deref(), row.code.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" / ")
            ),
        },
    )
    .await
}

/// Promotion-code mappings with their referrer's name, email and code, newest first: at most
/// `limit` of them, and how many there are in all. `search` keeps those whose promotion code id,
/// code or referrer's email starts with it. Three queries, whatever the number of rows.
pub async fn promotion_codes(
    state: &AppState,
    search: Option<&str>,
    limit: u64,
) -> Result<(Vec<PromotionCodeMapping>, u64), AppError> {
    let mut query = promotion_code::Entity::find();
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let by_email = referrer::Entity::find()
            .select_only()
            .column(referrer::Column::Id)
            .filter(referrer::Column::EmailNormalized.starts_with(search.to_lowercase()))
            .into_query();
        query = query.filter(
            Condition::any()
                .add(promotion_code::Column::PromotionCodeId.starts_with(search))
                .add(
                    promotion_code::Column::CodeKey
                        .starts_with(conversions::promotion_code_key(search)),
                )
                .add(promotion_code::Column::ReferrerId.in_subquery(by_email)),
        );
    }
    let total = query
        .clone()
        .count(&state.db)
        .await
        .map_err(|e| AppError::internal("inbound::promotion_codes count", e))?;
    let rows = query
        .order_by_desc(promotion_code::Column::Id)
        .limit(limit)
        .all(&state.db)
        .await
        .map_err(|e| AppError::internal("inbound::promotion_codes", e))?;
    let referrers: HashMap<i64, referrer::Model> = if rows.is_empty() {
        HashMap::new()
    } else {
        referrer::Entity::find()
            .filter(referrer::Column::Id.is_in(rows.iter().map(|p| p.referrer_id)))
            .all(&state.db)
            .await
            .map_err(|e| AppError::internal("inbound::promotion_codes referrers", e))?
            .into_iter()
            .map(|r| (r.id, r))
            .collect()
    };
    let slugs: HashMap<i64, String> = if rows.is_empty() {
        HashMap::new()
    } else {
        campaign::Entity::find()
            .filter(campaign::Column::Id.is_in(rows.iter().map(|p| p.campaign_id)))
            .all(&state.db)
            .await
            .map_err(|e| AppError::internal("inbound::promotion_codes campaigns", e))?
            .into_iter()
            .map(|c| (c.id, c.slug))
            .collect()
    };
    let items = rows
        .into_iter()
        .map(|p| {
            let referrer = referrers.get(&p.referrer_id);
            PromotionCodeMapping {
                id: p.id,
                campaign: slugs.get(&p.campaign_id).cloned().unwrap_or_default(),
                referrer_id: p.referrer_id,
                referrer_name: referrer.map(|r| r.name.clone()),
                referrer_email: referrer.map(|r| r.email.clone()),
                referrer_code: referrer.and_then(|r| r.code.clone()),
                promotion_code_id: p.promotion_code_id,
                code: p.code,
                created_at: p.created_at,
            }
        })
        .collect();
    Ok((items, total))
}

/// Imports promotion-code mappings for `campaign` from the CSV file at `path` (columns: see
/// `promotion_code_csv`). Each row is mapped as [`map_promotion_code`] maps, to the referrer of
/// the campaign its referral code or email names. A row that cannot be mapped is reported with its
/// line, column and reason, and nothing is written for it; importing the same file again changes
/// nothing. The file is read in constant memory and written in transactions of 500 rows.
///
/// With `dry_run` the very same work runs in one transaction that is rolled back (a
/// [`PreviewTxn`]: on a copy of a SQLite database for a large file): the report says what an
/// import would do (later rows see what earlier rows would have mapped) and nothing is written.
pub async fn import_promotion_codes(
    state: &AppState,
    campaign: &str,
    path: &Path,
    dry_run: bool,
) -> Result<PromotionCodeImportReport, AppError> {
    let campaign = campaigns::find_row(&state.db, campaign).await?;
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|e| AppError::internal("inbound::import_promotion_codes size", e))?
        .len();
    if size > MAX_MAPPING_FILE_BYTES {
        return Err(AppError::invalid(
            "file_too_large",
            "file",
            "A mapping file is at most 20 MB; split it into smaller files.",
        ));
    }
    let owned = path.to_owned();
    let reader = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&owned)
            .map_err(|e| AppError::internal("inbound::import_promotion_codes open", e))?;
        PromotionCodeCsvReader::new(std::io::BufReader::new(file))
            .map_err(|e| AppError::invalid("invalid_csv", "file", e.to_string()))
    })
    .await
    .map_err(|e| AppError::internal("inbound::import_promotion_codes join", e))??;
    let headers = reader.headers().clone();
    let (sender, mut chunks) = mpsc::channel::<Vec<MappingOutcome>>(2);
    let reader_thread = tokio::task::spawn_blocking(move || {
        let mut reader = reader;
        loop {
            let chunk: Vec<MappingOutcome> = reader.by_ref().take(MAPPING_CHUNK_ROWS).collect();
            if chunk.is_empty() || sender.blocking_send(chunk).is_err() {
                return;
            }
        }
    });
    let mut report = PromotionCodeImportReport {
        dry_run,
        ..Default::default()
    };
    let preview = if dry_run {
        Some(
            PreviewTxn::begin(
                &state.db,
                &state.settings.data_dir.join("imports"),
                size > state.settings.preview_copy_bytes,
            )
            .await
            .map_err(|e| AppError::internal("inbound::import_promotion_codes begin", e))?,
        )
    } else {
        None
    };
    let mut outcome = Ok(());
    while let Some(chunk) = chunks.recv().await {
        let mapped = match &preview {
            Some(preview) => map_chunk(preview.txn(), &campaign, &headers, &chunk)
                .await
                .map(|part| report.add(part)),
            None => import_mapping_chunk(state, &campaign, &headers, &chunk, &mut report).await,
        };
        if let Err(e) = mapped {
            outcome = Err(e);
            break;
        }
    }
    drop(chunks);
    let _ = reader_thread.await;
    let ended = match preview {
        Some(preview) => preview
            .end()
            .await
            .map_err(|e| AppError::internal("inbound::import_promotion_codes rollback", e)),
        None => Ok(()),
    };
    // The first failure is the one to report.
    outcome.and(ended).map(|()| report)
}

/// Maps one chunk of a file in one transaction and adds what it did to `report`; a chunk that
/// lost a race with another writer runs again.
async fn import_mapping_chunk(
    state: &AppState,
    campaign: &campaign::Model,
    headers: &MappingHeaders,
    rows: &[MappingOutcome],
    report: &mut PromotionCodeImportReport,
) -> Result<(), AppError> {
    let mut attempts = 0;
    let part = loop {
        attempts += 1;
        let txn = begin_write(&state.db)
            .await
            .map_err(|e| AppError::internal("inbound::map_chunk begin", e))?;
        match map_chunk(&txn, campaign, headers, rows).await {
            Ok(part) => {
                txn.commit()
                    .await
                    .map_err(|e| AppError::internal("inbound::map_chunk commit", e))?;
                break part;
            }
            Err(AppError::Conflict { code, .. }) if code == MAPPING_RACE && attempts < 3 => {}
            Err(e) => return Err(e),
        }
    };
    report.add(part);
    Ok(())
}

impl PromotionCodeImportReport {
    /// Adds what one chunk did.
    fn add(&mut self, part: PromotionCodeImportReport) {
        self.rows += part.rows;
        self.added += part.added;
        self.completed += part.completed;
        self.unchanged += part.unchanged;
        self.refused += part.refused;
        for error in part.errors {
            if self.errors.len() < MAX_REPORTED_MAPPING_ERRORS {
                self.errors.push(error);
            } else {
                self.errors_truncated = true;
            }
        }
    }
}

/// Maps one chunk inside `txn` (which the caller commits or rolls back) and says what it did.
async fn map_chunk(
    txn: &DatabaseTransaction,
    campaign: &campaign::Model,
    headers: &MappingHeaders,
    rows: &[MappingOutcome],
) -> Result<PromotionCodeImportReport, AppError> {
    // A refusal becomes a report line naming the column; anything else stops the import.
    let refuse = |row: &MappingRow, error: AppError| match error {
        AppError::Invalid { field, message, .. } => Ok(ImportError {
            line: row.line,
            column: headers.column(row, field.as_deref()),
            reason: message,
        }),
        other => Err(other),
    };
    let mut part = PromotionCodeImportReport::default();
    let mut errors = Vec::new();
    let mut ready = Vec::with_capacity(rows.len());
    for outcome in rows {
        part.rows += 1;
        match outcome {
            MappingOutcome::Invalid(error) => errors.push(error.clone()),
            MappingOutcome::Row(row) => {
                match check_promotion_code(row.promotion_code_id.as_deref(), row.code.as_deref()) {
                    Ok((id, code)) => ready.push((row, id, code)),
                    Err(e) => errors.push(refuse(row, e)?),
                }
            }
        }
    }
    let ids: Vec<String> = ready.iter().filter_map(|(_, id, _)| id.clone()).collect();
    let keys: Vec<String> = ready
        .iter()
        .filter_map(|(_, _, code)| code.as_deref().map(conversions::promotion_code_key))
        .collect();
    let mut existing = mappings_holding(txn, &ids, &keys).await?;
    // Several codes of one referrer are common: look each referrer up once.
    let mut found: HashMap<(Option<String>, Option<String>), referrer::Model> = HashMap::new();
    for (row, id, code) in ready {
        let key = (row.referral_code.clone(), row.email.clone());
        let referrer = match found.get(&key) {
            Some(referrer) => referrer.clone(),
            None => match mapping_referrer(txn, campaign, row).await {
                Ok(referrer) => found.entry(key).or_insert(referrer).clone(),
                Err(e) => {
                    errors.push(refuse(row, e)?);
                    continue;
                }
            },
        };
        match apply_mapping(
            txn,
            &mut existing,
            &referrer,
            id.as_deref(),
            code.as_deref(),
        )
        .await
        {
            Ok(Mapped::Added) => part.added += 1,
            Ok(Mapped::Completed) => part.completed += 1,
            Ok(Mapped::Unchanged) => part.unchanged += 1,
            Err(e) => errors.push(refuse(row, e)?),
        }
    }
    errors.sort_by_key(|e| e.line);
    part.refused = errors.len() as u64;
    part.errors = errors;
    Ok(part)
}

/// The referrer of `campaign` a mapping row names: by referral code (or link slug), else by
/// email. When both are given they must name the same person.
async fn mapping_referrer(
    db: &impl ConnectionTrait,
    campaign: &campaign::Model,
    row: &MappingRow,
) -> Result<referrer::Model, AppError> {
    let email = match &row.email {
        Some(text) => Some(
            Email::parse(text)
                .map_err(|e| AppError::invalid("invalid_email", "email", e.to_string()))?,
        ),
        None => None,
    };
    if let Some(code) = &row.referral_code {
        let referrer = codes::resolve_reference(db, campaign.id, code).await?;
        if let Some(email) = &email
            && referrer.email_normalized != email.normalized()
        {
            return Err(AppError::invalid(
                "referrer_mismatch",
                "email",
                format!(
                    "The referral code {code} belongs to {}, not to {}.",
                    referrer.email,
                    email.as_str()
                ),
            ));
        }
        return Ok(referrer);
    }
    let Some(email) = email else {
        return Err(AppError::invalid(
            "missing_referrer",
            "referral_code",
            "Needs the referrer's referral code or email.",
        ));
    };
    referrers::find_by_email(db, campaign.id, &email.normalized())
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "unknown_referrer",
                "email",
                format!(
                    "No referrer of {} has the email {}.",
                    campaign.name,
                    email.as_str()
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_seconds_milliseconds_dates_and_rfc_3339() {
        let expected = DateTime::parse_from_rfc3339("2025-03-14T15:09:26Z").unwrap();
        assert_eq!(parse_time("1741964966").unwrap(), expected);
        assert_eq!(parse_time("1741964966000").unwrap(), expected);
        assert_eq!(parse_time("2025-03-14T16:09:26+01:00").unwrap(), expected);
        assert_eq!(
            parse_time("2025-03-14").unwrap().to_rfc3339(),
            "2025-03-14T00:00:00+00:00"
        );
        assert!(parse_time("14/03/2025").is_none());
    }

    fn mapping(
        id: i64,
        referrer_id: i64,
        promo: Option<&str>,
        code: Option<&str>,
    ) -> promotion_code::Model {
        promotion_code::Model {
            id,
            campaign_id: 1,
            referrer_id,
            promotion_code_id: promo.map(str::to_owned),
            code_key: code.map(conversions::promotion_code_key),
            code: code.map(str::to_owned),
            created_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    #[test]
    fn a_promotion_code_is_mapped_once_and_never_moved() {
        let existing = [
            mapping(1, 7, Some("promo_a"), Some("ANN10")),
            mapping(2, 7, Some("promo_b"), None),
            mapping(3, 7, None, Some("CAT10")),
            mapping(4, 8, Some("promo_d"), Some("DAN10")),
        ];
        let key = |c: &str| Some(conversions::promotion_code_key(c));
        assert_eq!(plan(&existing, 7, Some("promo_new"), None), Plan::Insert);
        assert_eq!(plan(&[], 7, None, key("new").as_deref()), Plan::Insert);
        assert_eq!(
            plan(&existing, 7, Some("promo_a"), key(" ann10 ").as_deref()),
            Plan::Unchanged
        );
        assert_eq!(plan(&existing, 7, Some("promo_a"), None), Plan::Unchanged);
        assert_eq!(
            plan(&existing, 7, Some("promo_b"), key("BOB10").as_deref()),
            Plan::Complete(2)
        );
        assert_eq!(
            plan(&existing, 7, Some("promo_c"), key("CAT10").as_deref()),
            Plan::Complete(3)
        );
        assert_eq!(
            plan(&existing, 7, Some("promo_a"), key("OTHER").as_deref()),
            Plan::Mismatch {
                field: "code",
                mapped: "ANN10".into()
            }
        );
        assert_eq!(
            plan(&existing, 7, Some("promo_x"), key("ANN10").as_deref()),
            Plan::Mismatch {
                field: "promotion_code_id",
                mapped: "promo_a".into()
            }
        );
        assert_eq!(
            plan(&existing, 7, Some("promo_d"), None),
            Plan::Taken {
                field: "promotion_code_id",
                referrer_id: 8
            }
        );
        assert_eq!(
            plan(&existing, 7, Some("promo_new"), key("dan10").as_deref()),
            Plan::Taken {
                field: "code",
                referrer_id: 8
            }
        );
        // Both keys mapped to this referrer, in two mappings.
        assert_eq!(
            plan(&existing, 7, Some("promo_b"), key("CAT10").as_deref()),
            Plan::Unchanged
        );
    }

    #[test]
    fn promotion_codes_are_checked_and_trimmed() {
        assert_eq!(
            check_promotion_code(Some(" promo_1 "), Some(" ann10 ")),
            Ok((Some("promo_1".into()), Some("ann10".into())))
        );
        assert_eq!(
            check_promotion_code(Some(""), Some("ANN10")),
            Ok((None, Some("ANN10".into())))
        );
        for (id, code, field) in [
            (None, None, "promotion_code_id"),
            (Some(" "), Some(""), "promotion_code_id"),
            (Some("coupon_1"), None, "promotion_code_id"),
            (Some("promo_1 2"), None, "promotion_code_id"),
            (None, Some("A\nB"), "code"),
        ] {
            let err = check_promotion_code(id, code).unwrap_err();
            assert_eq!(err.field(), Some(field), "{id:?} {code:?}");
        }
        let long = "X".repeat(256);
        assert_eq!(
            check_promotion_code(None, Some(&long)).unwrap_err().field(),
            Some("code")
        );
    }
}
