//! Recording a referral by hand: the admin's sales desk (a code heard on a call or at a visit)
//! and `POST /api/v1/leads` (a business's own CRM).
//!
//! Both end in the same two paths as every other door: the lead is captured by
//! [`leads::capture`] (one lead per friend and campaign, first referrer wins) and an order given
//! with it is a conversion event for that lead through [`conversions::record_checked`] (one
//! answer per order id, so one reward per conversion). Everything typed is checked before either
//! writes, so bad input changes nothing.

use crate::{
    domain::email::Email,
    error::AppError,
    ssr::{
        conversion_csv::parse_amount,
        entities::{lead, referrer},
        services::{
            campaigns, codes,
            conversions::{self, source},
            lead_lists,
            leads::{self, CaptureRequest, Channel, EnteredBy},
            rules::LoadedRules,
        },
        state::AppState,
    },
    types::{
        ConversionInput, ConversionResult, CurrentAdmin, DeskEntry, DeskReply, Lead, LeadFilter,
        Page,
    },
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// An order given with a hand-recorded lead, to qualify it at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Order {
    /// The business's order id; the same id again is recognised and changes nothing.
    pub order_id: String,
    /// Amount in minor units (cents).
    pub amount_minor: Option<i64>,
    /// ISO 4217 currency of the amount.
    pub currency: Option<String>,
}

/// What recording a lead by hand did.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The lead as it stands after the order, if any.
    pub lead: Lead,
    /// False when the friend was already a lead of the campaign (that lead is kept as it was).
    pub created: bool,
    /// The order's answer, when an order was given.
    pub order: Option<ConversionResult>,
}

/// Checks `order` as the conversion event it becomes: the campaign's first qualifying event
/// (so the order qualifies the lead whatever the campaign calls a conversion), with the order id
/// as the event id.
fn order_event(
    campaign_slug: &str,
    rules: &LoadedRules,
    order: &Order,
) -> Result<conversions::CheckedEvent, AppError> {
    let event = rules
        .qualification
        .events
        .first()
        .cloned()
        .unwrap_or_else(|| "purchase".to_owned());
    conversions::check(&ConversionInput {
        campaign: campaign_slug.to_owned(),
        event_id: order.order_id.clone(),
        event,
        referral_code: None,
        promotion_code: None,
        email: None,
        amount: order.amount_minor,
        currency: order.currency.clone(),
        occurred_at: None,
    })
    .map_err(|error| match error {
        // The event id is the order id here; say so in the order's words.
        AppError::Invalid { field, .. } if field.as_deref() == Some("event_id") => {
            AppError::invalid(
                "invalid_order_id",
                "order_id",
                "The order id is at most 255 characters.",
            )
        }
        other => other,
    })
}

/// Records a lead by hand and, with an `order`, applies the order to that lead as a conversion
/// from `source` (`sales` for the desk, `api` for the API, sharing the API's order ids with
/// `POST /api/v1/conversions`).
pub async fn record(
    state: &AppState,
    request: &CaptureRequest,
    order: Option<&Order>,
    source: &str,
) -> Result<Recorded, AppError> {
    let (campaign, rules) = state.rules_cache.get(&state.db, &request.campaign).await?;
    let event = order
        .map(|order| order_event(&campaign.slug, &rules, order))
        .transpose()?;
    let captured = leads::capture(state, request).await?;
    let Some(mut event) = event else {
        return Ok(Recorded {
            lead: captured.lead,
            created: captured.created,
            order: None,
        });
    };
    let row = lead::Entity::find_by_id(captured.lead.id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("sales::record lead", e))?
        .ok_or_else(|| AppError::internal("sales::record", "lead vanished after capture"))?;
    // The event names the lead by its key, which for a phone-only lead is the phone's.
    event.email = Email::parse(&row.email).ok();
    event.email_normalized = Some(row.email_normalized);
    let result = conversions::record_checked(state, source, &campaign.slug, event).await?;
    // A repeated order id answers with the first order's lead, which may be another one.
    let lead = if result.lead.id == captured.lead.id {
        result.lead.clone()
    } else {
        captured.lead
    };
    Ok(Recorded {
        lead,
        created: captured.created,
        order: Some(result),
    })
}

/// The order typed at the desk, if any: an amount needs an order id to go with it.
fn desk_order(entry: &DeskEntry) -> Result<Option<Order>, AppError> {
    let order_id = entry.order_id.trim();
    let amount = entry.amount.trim();
    let currency = Some(entry.currency.trim()).filter(|c| !c.is_empty());
    if order_id.is_empty() {
        if !amount.is_empty() || currency.is_some() {
            return Err(AppError::invalid(
                "missing_order_id",
                "order_id",
                "Enter the order id with the amount: it is how one order is never counted twice.",
            ));
        }
        return Ok(None);
    }
    let (amount_minor, inline_currency) = if amount.is_empty() {
        (None, None)
    } else {
        let (minor, inline) = parse_amount(amount, currency, false)
            .map_err(|reason| AppError::invalid("invalid_amount", "amount", reason))?;
        (Some(minor), inline)
    };
    Ok(Some(Order {
        order_id: order_id.to_owned(),
        amount_minor,
        currency: inline_currency.or_else(|| currency.map(str::to_owned)),
    }))
}

/// Records what a sales rep typed at the desk, credited to the referrer whose code the customer
/// said. A code that is not found as said but is one edit from exactly one code of the campaign
/// answers [`DeskReply::Confirm`] with that referrer's name, and records nothing.
pub async fn desk_record(
    state: &AppState,
    by: &CurrentAdmin,
    entry: &DeskEntry,
) -> Result<DeskReply, AppError> {
    let campaign = campaigns::find_row(&state.db, entry.campaign.trim()).await?;
    let order = desk_order(entry)?;
    let referrer = match codes::resolve(&state.db, campaign.id, &entry.code).await {
        Ok(referrer) => referrer,
        Err(error) => {
            if let AppError::Invalid {
                suggestion: Some(code),
                ..
            } = &error
                && let Some(meant) = referrer::Entity::find()
                    .filter(referrer::Column::CampaignId.eq(campaign.id))
                    .filter(referrer::Column::Code.eq(code.as_str()))
                    .one(&state.db)
                    .await
                    .map_err(|e| AppError::internal("sales::desk_record suggestion", e))?
            {
                return Ok(DeskReply::Confirm {
                    code: code.clone(),
                    referrer_name: meant.name,
                });
            }
            return Err(error);
        }
    };
    let request = CaptureRequest {
        campaign: campaign.slug.clone(),
        name: Some(entry.name.clone()),
        email: entry.email.clone(),
        phone: Some(entry.phone.clone()),
        note: Some(entry.note.clone()),
        entered_by: Some(EnteredBy {
            admin_id: by.id,
            email: by.email.clone(),
        }),
        // The referrer's own code: the one resolved above, however it was said.
        referral_code: Some(referrer.code.clone().unwrap_or(referrer.slug.clone())),
        attribution: None,
        channel: Channel::SalesDesk,
        ip_hash: None,
        referrer_cookie: None,
    };
    let recorded = record(state, &request, order.as_ref(), source::SALES).await?;
    Ok(DeskReply::Recorded {
        lead: Box::new(recorded.lead),
        created: recorded.created,
        order_outcome: recorded.order.as_ref().map(|o| o.outcome.clone()),
        order_duplicate: recorded.order.as_ref().is_some_and(|o| o.duplicate),
    })
}

/// The active campaigns a desk may record for, as (slug, name).
pub async fn desk_campaigns(state: &AppState) -> Result<Vec<(String, String)>, AppError> {
    Ok(campaigns::list(&state.db)
        .await?
        .into_iter()
        .filter(|c| c.status == campaigns::ACTIVE)
        .map(|c| (c.slug, c.name))
        .collect())
}

/// One page of the leads `by` recorded at the desk, newest first.
pub async fn entries_of(
    state: &AppState,
    by: &CurrentAdmin,
    after: Option<i64>,
) -> Result<Page<Lead>, AppError> {
    lead_lists::list(
        state,
        &LeadFilter {
            entered_by: Some(by.id),
            after,
            ..LeadFilter::default()
        },
    )
    .await
}
