//! Referrers: each gets a link slug and, when the campaign has codes on, a referral code.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect,
    sea_query::{Expr, ExprTrait, Func},
};

use crate::{
    domain::{
        codes,
        email::Email,
        emails::EmailKind,
        slug::{self},
    },
    error::AppError,
    ssr::{
        db::{begin_write, is_unique_violation},
        entities::{campaign, campaign_logo, referrer, referrer_total},
        services::{
            audit::{self, Actor, Change, Object},
            campaigns,
            codes::{MAX_CODE_ATTEMPTS, new_code},
            emails::{self, Occasion, queue},
            outbox::Effects,
            portal, qr,
            secrets::random_index,
        },
        state::{AppState, RuntimeSettings},
    },
    types::{Page, Referrer, ReferrerDetail, ReferrerFilter, ReferrerWithStats},
};

/// The absolute referral link of a referrer slug.
pub fn link(settings: &RuntimeSettings, slug: &str) -> String {
    format!("{}/r/{slug}", settings.public_url)
}

/// The wire form of a referrer row.
pub fn to_wire(settings: &RuntimeSettings, row: &referrer::Model, campaign_slug: &str) -> Referrer {
    Referrer {
        id: row.id,
        campaign: campaign_slug.to_owned(),
        email: row.email.clone(),
        name: row.name.clone(),
        code: row.code.clone(),
        link: link(settings, &row.slug),
        portal_url: portal::entrance_url(settings, campaign_slug),
        active: row.active,
        created_at: row.created_at,
    }
}

/// A referrer's name, trimmed: 1 to 200 characters.
pub(crate) fn parse_name(value: &str) -> Result<String, AppError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 200 {
        return Err(AppError::invalid(
            "invalid_name",
            "name",
            "Enter the referrer's name (1 to 200 characters).",
        ));
    }
    Ok(v.to_owned())
}

/// The referrer of `campaign_id` with this normalized email (`Email::normalized`), if any.
pub async fn find_by_email(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    normalized: &str,
) -> Result<Option<referrer::Model>, AppError> {
    referrer::Entity::find()
        .filter(referrer::Column::CampaignId.eq(campaign_id))
        .filter(referrer::Column::EmailNormalized.eq(normalized))
        .one(db)
        .await
        .map_err(|e| AppError::internal("referrers::find_by_email", e))
}

/// What happens around a new referrer besides the row itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Welcome {
    /// Write the link-and-code email (at most once per referrer, whichever path asks).
    SendEmail,
    /// No email (the API without `send_welcome_email`, the demo data).
    Quiet,
}

/// The `referrer.created` webhook payload.
pub(crate) fn created_event(
    settings: &RuntimeSettings,
    row: &referrer::Model,
    campaign_slug: &str,
) -> serde_json::Value {
    serde_json::json!({
        "id": row.id,
        "campaign": campaign_slug,
        "name": row.name,
        "email": row.email,
        "code": row.code,
        "link": link(settings, &row.slug),
        "created_at": row.created_at.to_rfc3339(),
    })
}

/// Writes the link-and-code email of `row` in `txn` when `welcome` asks for it.
pub(crate) async fn welcome_email(
    txn: &impl ConnectionTrait,
    settings: &RuntimeSettings,
    campaign: &campaign::Model,
    row: &referrer::Model,
    welcome: Welcome,
) -> Result<(), AppError> {
    if welcome == Welcome::Quiet
        || !emails::templates::effective(txn, campaign.id, EmailKind::LinkAndCode)
            .await?
            .auto_send
    {
        return Ok(());
    }
    let now = Utc::now();
    let draft = emails::link_and_code(txn, settings, campaign, row, Occasion::First, now).await?;
    queue::enqueue(txn, vec![draft], &emails::mail_domain(settings), now).await?;
    Ok(())
}

/// Adds a referrer to a campaign, or returns the existing one with the same (normalized) email.
/// The boolean is true when a new referrer was created. The row, its `referrer.created` webhook,
/// (with [`Welcome::SendEmail`]) its link-and-code email and (when an admin or an API key
/// `added_by` them) the audit log's line are written in one transaction.
pub async fn create(
    state: &AppState,
    added_by: Option<&Actor>,
    campaign_slug: &str,
    name: &str,
    email: &str,
    welcome: Welcome,
) -> Result<(Referrer, bool), AppError> {
    let campaign = campaigns::find_row(&state.db, campaign_slug).await?;
    let name = parse_name(name)?;
    let email = Email::parse(email)
        .map_err(|e| AppError::invalid("invalid_email", "email", e.to_string()))?;
    let normalized = email.normalized();
    let campaign = &campaign;
    let existing = |row: referrer::Model| async move {
        // An existing referrer who never had their link-and-code email gets it now; one who
        // did is not sent it twice (the email's dedupe key).
        let txn = begin_write(&state.db)
            .await
            .map_err(|e| AppError::internal("referrers::create existing begin", e))?;
        welcome_email(&txn, &state.settings, campaign, &row, welcome).await?;
        txn.commit()
            .await
            .map_err(|e| AppError::internal("referrers::create existing commit", e))?;
        Ok::<_, AppError>((to_wire(&state.settings, &row, &campaign.slug), false))
    };
    if let Some(row) = find_by_email(&state.db, campaign.id, &normalized).await? {
        return existing(row).await;
    }
    // Slugs and codes are random: on a unique collision draw again. A collision on the email
    // means a concurrent request created this referrer first; return theirs.
    for attempt in 0..MAX_CODE_ATTEMPTS {
        let code = campaign
            .codes_enabled
            .then(|| new_code(campaign, &name, attempt));
        let row = referrer::ActiveModel {
            campaign_id: Set(campaign.id),
            name: Set(name.clone()),
            email: Set(email.as_str().to_owned()),
            email_normalized: Set(normalized.clone()),
            slug: Set(slug::link_slug(&name, &mut random_index)
                .as_str()
                .to_owned()),
            code: Set(code.as_ref().map(|c| c.display().to_owned())),
            code_key: Set(code.as_ref().map(|c| c.key().to_owned())),
            created_at: Set(Utc::now()),
            ..Default::default()
        };
        let txn = begin_write(&state.db)
            .await
            .map_err(|e| AppError::internal("referrers::create begin", e))?;
        match row.insert(&txn).await {
            Ok(model) => {
                let mut effects = Effects::default();
                effects.push(
                    "referrer.created",
                    created_event(&state.settings, &model, &campaign.slug),
                );
                effects.write(&txn).await?;
                welcome_email(&txn, &state.settings, campaign, &model, welcome).await?;
                if let Some(actor) = added_by {
                    audit::record(
                        &txn,
                        actor,
                        Change {
                            action: "referrer.added",
                            campaign_id: Some(campaign.id),
                            object: Object::Referrer(model.id),
                            summary: format!(
                                "Added {} <{}> to {}.",
                                model.name, model.email, campaign.name
                            ),
                        },
                    )
                    .await?;
                }
                txn.commit()
                    .await
                    .map_err(|e| AppError::internal("referrers::create commit", e))?;
                return Ok((to_wire(&state.settings, &model, &campaign.slug), true));
            }
            Err(e) if is_unique_violation(&e) => {
                // PostgreSQL has given up on this transaction; look again outside it.
                let _ = txn.rollback().await;
                if let Some(row) = find_by_email(&state.db, campaign.id, &normalized).await? {
                    return existing(row).await;
                }
            }
            Err(e) => return Err(AppError::internal("referrers::create", e)),
        }
    }
    Err(AppError::internal(
        "referrers::create",
        "no free slug/code after many attempts",
    ))
}

/// Gives every referrer of the campaign who lacks a code one. Returns how many got a code.
pub async fn generate_missing_codes(
    state: &AppState,
    campaign_slug: &str,
) -> Result<u64, AppError> {
    let campaign = campaigns::find_row(&state.db, campaign_slug).await?;
    if !campaign.codes_enabled {
        return Err(AppError::conflict(
            "codes_disabled",
            "Switch referral codes on for this campaign first.",
        ));
    }
    let lacking = referrer::Entity::find()
        .filter(referrer::Column::CampaignId.eq(campaign.id))
        .filter(referrer::Column::CodeKey.is_null())
        .all(&state.db)
        .await
        .map_err(|e| AppError::internal("referrers::generate_missing_codes", e))?;
    let mut done = 0;
    for row in lacking {
        for attempt in 0..MAX_CODE_ATTEMPTS {
            let code = new_code(&campaign, &row.name, attempt);
            let mut active: referrer::ActiveModel = row.clone().into();
            active.code = Set(Some(code.display().to_owned()));
            active.code_key = Set(Some(code.key().to_owned()));
            match active.update(&state.db).await {
                Ok(_) => {
                    done += 1;
                    break;
                }
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(AppError::internal("referrers::generate_missing_codes", e)),
            }
        }
    }
    state.links.invalidate_all();
    Ok(done)
}

/// The maintained numbers (`referrer_totals`) of one page of referrers, by referrer id: one
/// primary-key lookup each, however many clicks and leads they have.
async fn counts(
    db: &DatabaseConnection,
    ids: &[i64],
) -> Result<HashMap<i64, referrer_total::Model>, AppError> {
    let rows = referrer_total::Entity::find()
        .filter(referrer_total::Column::ReferrerId.is_in(ids.to_vec()))
        .all(db)
        .await
        .map_err(|e| AppError::internal("referrers::counts", e))?;
    Ok(rows.into_iter().map(|row| (row.referrer_id, row)).collect())
}

async fn with_stats(
    state: &AppState,
    rows: Vec<referrer::Model>,
) -> Result<Vec<ReferrerWithStats>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let slugs = campaigns::slugs_of(&state.db, rows.iter().map(|r| r.campaign_id)).await?;
    let totals = counts(&state.db, &ids).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let total = totals.get(&row.id);
            ReferrerWithStats {
                referrer: to_wire(
                    &state.settings,
                    row,
                    slugs.get(&row.campaign_id).map_or("", String::as_str),
                ),
                clicks: total.map_or(0, |t| t.clicks),
                leads: total.map_or(0, |t| t.leads),
                qualified: total.map_or(0, |t| t.qualified),
            }
        })
        .collect())
}

/// One page of referrers matching `filter`, newest first, with their numbers.
pub async fn list(
    state: &AppState,
    filter: &ReferrerFilter,
) -> Result<Page<ReferrerWithStats>, AppError> {
    let mut query = referrer::Entity::find();
    if let Some(slug) = filter.campaign.as_deref().filter(|s| !s.trim().is_empty()) {
        let campaign = campaigns::find_row(&state.db, slug).await?;
        query = query.filter(referrer::Column::CampaignId.eq(campaign.id));
    }
    if let Some(email) = filter.email.as_deref().filter(|s| !s.trim().is_empty()) {
        let normalized = Email::parse(email)
            .map(|e| e.normalized())
            .unwrap_or_else(|_| email.trim().to_lowercase());
        query = query.filter(referrer::Column::EmailNormalized.eq(normalized));
    }
    if filter.never_emailed {
        query = query.filter(emails::never_emailed_condition());
    }
    if let Some(code) = filter.code.as_deref().filter(|s| !s.trim().is_empty()) {
        let key = codes::normalize(code).unwrap_or_default();
        query = query.filter(referrer::Column::CodeKey.eq(key));
    }
    if let Some(any) = filter.search.as_deref().and_then(search_condition) {
        query = query.filter(any);
    }
    let (rows, next_cursor) = super::paging::newest_first(
        &state.db,
        query,
        referrer::Column::Id,
        filter.after,
        |r| r.id,
        "referrers::list",
    )
    .await?;
    Ok(Page {
        items: with_stats(state, rows).await?,
        next_cursor,
    })
}

/// The referrers a search box's `text` finds: part of the name (any case) or of the email, or
/// the code (normalized as codes are). `None` for blank text, which finds everyone. Shared by
/// the Referrers tab and the print studio.
pub fn search_condition(text: &str) -> Option<Condition> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let pattern = format!("%{}%", text.to_lowercase().replace(['%', '_'], ""));
    let mut any = Condition::any()
        .add(Expr::expr(Func::lower(Expr::col(referrer::Column::Name))).like(pattern.clone()))
        .add(referrer::Column::EmailNormalized.like(pattern));
    if let Ok(key) = codes::normalize(text) {
        any = any.add(referrer::Column::CodeKey.eq(key));
    }
    Some(any)
}

/// One referrer with their numbers.
pub async fn get(state: &AppState, id: i64) -> Result<ReferrerWithStats, AppError> {
    let row = referrer::Entity::find_by_id(id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("referrers::get", e))?
        .ok_or_else(|| AppError::not_found("Referrer"))?;
    with_stats(state, vec![row])
        .await?
        .pop()
        .ok_or(AppError::Internal)
}

/// The referrer with `id` if they belong to `campaign_id` (an attribution cookie from another
/// campaign credits nobody here).
pub async fn find_in_campaign(
    db: &impl ConnectionTrait,
    id: i64,
    campaign_id: i64,
) -> Result<Option<referrer::Model>, AppError> {
    referrer::Entity::find_by_id(id)
        .filter(referrer::Column::CampaignId.eq(campaign_id))
        .one(db)
        .await
        .map_err(|e| AppError::internal("referrers::find_in_campaign", e))
}

/// The campaign of the referrer whose link slug is `slug`, if there is one.
pub async fn campaign_of_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<campaign::Model>, AppError> {
    let Some(row) = referrer::Entity::find()
        .filter(referrer::Column::Slug.eq(slug.to_ascii_lowercase()))
        .one(db)
        .await
        .map_err(|e| AppError::internal("referrers::campaign_of_slug", e))?
    else {
        return Ok(None);
    };
    campaign::Entity::find_by_id(row.campaign_id)
        .one(db)
        .await
        .map_err(|e| AppError::internal("referrers::campaign_of_slug campaign", e))
}

/// A referrer's admin page: numbers, QR, and every email written to them.
pub async fn detail(state: &AppState, id: i64) -> Result<ReferrerDetail, AppError> {
    let row = referrer::Entity::find_by_id(id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("referrers::detail", e))?
        .ok_or_else(|| AppError::not_found("Referrer"))?;
    let qr_svg = qr::default_svg(&link(&state.settings, &row.slug))?;
    let emails = emails::log(&state.db, Some(row.id), None, None).await?;
    let (link_slug, emails_opt_out) = (row.slug.clone(), row.emails_opt_out);
    let (note, deactivated_at) = (row.note.clone(), row.deactivated_at);
    let qr_logo = campaign_logo::Entity::find_by_id(row.campaign_id)
        .select_only()
        .column(campaign_logo::Column::CampaignId)
        .into_tuple::<i64>()
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("referrers::detail logo", e))?
        .is_some();
    let channels = super::clicks::by_channel(&state.db, row.id).await?;
    let referrer = with_stats(state, vec![row])
        .await?
        .pop()
        .ok_or(AppError::Internal)?;
    Ok(ReferrerDetail {
        referrer,
        qr_svg,
        link_slug,
        qr_logo,
        emails_opt_out,
        emails,
        channels,
        note,
        deactivated_at,
    })
}
