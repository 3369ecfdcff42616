//! Rewards after they are created: listing, becoming due, issuing, exporting for a payout run.
//!
//! Rewards are created only by `services::conversions` (when a lead qualifies); this module moves
//! them along `pending -> due -> issued`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use serde_json::json;

use crate::domain::rules::RewardStatus;
use crate::{
    domain::words::counted,
    error::AppError,
    ssr::{
        db::begin_write,
        entities::{lead, qualification_rule, referrer, reward},
        services::{
            audit::{self, Actor, Change, Object},
            campaigns,
            emails::notifications,
            outbox::Effects,
            paging,
        },
        state::{AppState, RuntimeSettings},
    },
    types::{Page, Reward, RewardFilter},
};

/// The most rewards one bulk action or export handles.
pub const BULK_LIMIT: u64 = 10_000;

/// The wire form of reward rows, with campaign slugs and recipient emails looked up in two queries.
pub async fn to_wire_many(
    db: &impl ConnectionTrait,
    rows: &[reward::Model],
) -> Result<Vec<Reward>, AppError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let slugs = campaigns::slugs_of(db, rows.iter().map(|r| r.campaign_id)).await?;
    let referrer_ids: Vec<i64> = rows
        .iter()
        .filter(|r| r.recipient == "referrer")
        .filter_map(|r| r.referrer_id)
        .collect();
    let referrer_emails: HashMap<i64, String> = referrer::Entity::find()
        .select_only()
        .column(referrer::Column::Id)
        .column(referrer::Column::Email)
        .filter(referrer::Column::Id.is_in(referrer_ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await
        .map_err(|e| AppError::internal("rewards::to_wire referrers", e))?
        .into_iter()
        .collect();
    let lead_ids: Vec<i64> = rows.iter().filter_map(|r| r.lead_id).collect();
    let friends: HashMap<i64, (Option<String>, String, Option<String>)> = lead::Entity::find()
        .select_only()
        .column(lead::Column::Id)
        .column(lead::Column::Name)
        .column(lead::Column::Email)
        .column(lead::Column::Phone)
        .filter(lead::Column::Id.is_in(lead_ids))
        .into_tuple::<(i64, Option<String>, String, Option<String>)>()
        .all(db)
        .await
        .map_err(|e| AppError::internal("rewards::to_wire leads", e))?
        .into_iter()
        .map(|(id, name, email, phone)| (id, (name, email, phone)))
        .collect();
    let friend = |r: &reward::Model| r.lead_id.and_then(|id| friends.get(&id));
    Ok(rows
        .iter()
        .map(|r| {
            let recipient_email = if r.recipient == "friend" {
                friend(r).map(|(_, email, _)| email.clone())
            } else {
                r.referrer_id
                    .and_then(|id| referrer_emails.get(&id).cloned())
            }
            .filter(|e| !e.is_empty());
            Reward {
                id: r.id,
                campaign: slugs.get(&r.campaign_id).cloned().unwrap_or_default(),
                lead_id: r.lead_id,
                lead_name: friend(r).and_then(|(name, email, phone)| {
                    friend_label(name.as_deref(), email, phone.as_deref())
                }),
                referrer_id: r.referrer_id,
                recipient: r.recipient.clone(),
                recipient_email,
                kind: r.kind.clone(),
                amount_minor: r.amount_minor,
                currency: r.currency.clone(),
                description: r.description.clone(),
                status: r.status.as_str().to_owned(),
                milestone: r.milestone,
                due_at: r.due_at,
                issued_at: r.issued_at,
                cancel_reason: r.cancel_reason.clone(),
                clawback: r.clawback,
                created_at: r.created_at,
            }
        })
        .collect())
}

/// How the admin's lists name a lead's friend: their name, else their email, else their phone.
fn friend_label(name: Option<&str>, email: &str, phone: Option<&str>) -> Option<String> {
    [name, Some(email), phone]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The wire form of rewards just created for one lead, when the recipients' emails are known: no
/// queries.
pub fn to_wire_known(
    rows: &[reward::Model],
    campaign_slug: &str,
    referrer_email: Option<&str>,
    lead: &lead::Model,
) -> Vec<Reward> {
    rows.iter()
        .map(|r| Reward {
            id: r.id,
            campaign: campaign_slug.to_owned(),
            lead_id: r.lead_id,
            lead_name: friend_label(lead.name.as_deref(), &lead.email, lead.phone.as_deref()),
            referrer_id: r.referrer_id,
            recipient: r.recipient.clone(),
            recipient_email: if r.recipient == "friend" {
                Some(lead.email.clone())
            } else {
                referrer_email.map(str::to_owned)
            }
            .filter(|e| !e.is_empty()),
            kind: r.kind.clone(),
            amount_minor: r.amount_minor,
            currency: r.currency.clone(),
            description: r.description.clone(),
            status: r.status.as_str().to_owned(),
            milestone: r.milestone,
            due_at: r.due_at,
            issued_at: r.issued_at,
            cancel_reason: r.cancel_reason.clone(),
            clawback: r.clawback,
            created_at: r.created_at,
        })
        .collect()
}

/// The JSON an outbound webhook carries for a reward.
pub fn event_data(row: &reward::Model) -> serde_json::Value {
    json!({
        "id": row.id,
        "lead_id": row.lead_id,
        "referrer_id": row.referrer_id,
        "recipient": row.recipient,
        "kind": row.kind,
        "amount_minor": row.amount_minor,
        "currency": row.currency,
        "description": row.description,
        "status": row.status,
        "milestone": row.milestone,
        "cancel_reason": row.cancel_reason,
        "clawback": row.clawback,
    })
}

fn check_status(status: &str) -> Result<RewardStatus, AppError> {
    status.parse().map_err(|()| {
        AppError::invalid(
            "invalid_status",
            "status",
            "Status is pending, due, issued or cancelled.",
        )
    })
}

/// One page of rewards matching `filter`, newest first.
pub async fn list(state: &AppState, filter: &RewardFilter) -> Result<Page<Reward>, AppError> {
    let mut query = reward::Entity::find();
    if let Some(slug) = filter.campaign.as_deref().filter(|s| !s.trim().is_empty()) {
        let campaign = campaigns::find_row(&state.db, slug).await?;
        query = query.filter(reward::Column::CampaignId.eq(campaign.id));
    }
    if let Some(status) = filter.status.as_deref().filter(|s| !s.trim().is_empty()) {
        query = query.filter(reward::Column::Status.eq(check_status(status)?));
    }
    let (rows, next_cursor) = paging::newest_first(
        &state.db,
        query,
        reward::Column::Id,
        filter.after,
        |r| r.id,
        "rewards::list",
    )
    .await?;
    Ok(Page {
        items: to_wire_many(&state.db, &rows).await?,
        next_cursor,
    })
}

/// Marks due rewards as issued. Rewards that are not due are refused (one) or skipped (bulk).
/// Their referrers' "reward issued" emails are written in the same transaction. Returns the
/// rewards issued.
pub async fn issue(state: &AppState, actor: &Actor, ids: &[i64]) -> Result<Vec<Reward>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    if ids.len() as u64 > BULK_LIMIT {
        return Err(AppError::invalid(
            "too_many",
            "ids",
            format!("Issue at most {BULK_LIMIT} rewards at a time."),
        ));
    }
    let now = Utc::now();
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("rewards::issue begin", e))?;
    let rows = reward::Entity::find()
        .filter(reward::Column::Id.is_in(ids.to_vec()))
        .all(&txn)
        .await
        .map_err(|e| AppError::internal("rewards::issue find", e))?;
    if ids.len() == 1 {
        let Some(row) = rows.first() else {
            return Err(AppError::not_found("Reward"));
        };
        if row.status != RewardStatus::Due {
            return Err(AppError::conflict(
                "reward_not_due",
                format!(
                    "Only due rewards can be issued; this one is {}.",
                    row.status
                ),
            ));
        }
    }
    let due: Vec<i64> = rows
        .iter()
        .filter(|r| r.status == RewardStatus::Due)
        .map(|r| r.id)
        .collect();
    let issued = mark_issued(&txn, &due, now).await?;
    notifications::rewards_issued(&txn, &state.settings, &issued, now).await?;
    audit_issued(&txn, actor, &issued).await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("rewards::issue commit", e))?;
    to_wire_many(&state.db, &issued).await
}

/// The audit log's lines for rewards just issued: the reward itself when it is one, else one
/// line per campaign with how many.
async fn audit_issued(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    issued: &[reward::Model],
) -> Result<(), AppError> {
    if let [one] = issued {
        let amount = one
            .amount_minor
            .map(|a| {
                format!(
                    " ({} {})",
                    crate::domain::rules::format_decimal(a, one.currency.as_deref()),
                    one.currency.as_deref().unwrap_or_default()
                )
            })
            .unwrap_or_default();
        return audit::record(
            txn,
            actor,
            Change {
                action: "reward.issued",
                campaign_id: Some(one.campaign_id),
                object: Object::Reward(one.id),
                summary: format!("Issued reward #{}: {}{amount}.", one.id, one.description),
            },
        )
        .await;
    }
    let mut per_campaign: std::collections::BTreeMap<i64, usize> = Default::default();
    for row in issued {
        *per_campaign.entry(row.campaign_id).or_default() += 1;
    }
    for (campaign_id, count) in per_campaign {
        audit::record(
            txn,
            actor,
            Change {
                action: "reward.issued",
                campaign_id: Some(campaign_id),
                object: Object::Campaign(campaign_id),
                summary: format!(
                    "Issued {}.",
                    counted(count as i64, "due reward", "due rewards")
                ),
            },
        )
        .await?;
    }
    Ok(())
}

/// Issues every due reward (of one campaign, or all), up to [`BULK_LIMIT`].
pub async fn issue_all_due(
    state: &AppState,
    actor: &Actor,
    campaign: Option<&str>,
) -> Result<usize, AppError> {
    let mut query = reward::Entity::find()
        .select_only()
        .column(reward::Column::Id)
        .filter(reward::Column::Status.eq(RewardStatus::Due));
    if let Some(slug) = campaign.filter(|s| !s.trim().is_empty()) {
        let campaign = campaigns::find_row(&state.db, slug).await?;
        query = query.filter(reward::Column::CampaignId.eq(campaign.id));
    }
    let ids: Vec<i64> = query
        .order_by_asc(reward::Column::Id)
        .limit(BULK_LIMIT)
        .into_tuple()
        .all(&state.db)
        .await
        .map_err(|e| AppError::internal("rewards::issue_all_due", e))?;
    Ok(issue(state, actor, &ids).await?.len())
}

/// Sets `due` rewards among `ids` to issued, with their `reward.issued` events.
async fn mark_issued(
    txn: &impl ConnectionTrait,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<Vec<reward::Model>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Which of them are still due, locked on PostgreSQL: a second "issue" of the same reward
    // (two clicks, two admins) waits here for the first to commit, then finds it issued and
    // announces nothing. Without the lock it would skip the update but re-read the first one's
    // committed row below and send `reward.issued` (and the email) twice. SQLite's single writer
    // already runs the two one after the other.
    let mut due = reward::Entity::find()
        .select_only()
        .column(reward::Column::Id)
        .filter(reward::Column::Id.is_in(ids.to_vec()))
        .filter(reward::Column::Status.eq(RewardStatus::Due))
        .order_by_asc(reward::Column::Id);
    if txn.get_database_backend() == DbBackend::Postgres {
        due = due.lock_exclusive();
    }
    let due: Vec<i64> = due
        .into_tuple()
        .all(txn)
        .await
        .map_err(|e| AppError::internal("rewards::mark_issued lock", e))?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    reward::Entity::update_many()
        .col_expr(
            reward::Column::Status,
            Expr::value(RewardStatus::Issued.as_str()),
        )
        .col_expr(reward::Column::IssuedAt, Expr::value(now))
        .col_expr(reward::Column::UpdatedAt, Expr::value(now))
        .filter(reward::Column::Id.is_in(due.clone()))
        .exec(txn)
        .await
        .map_err(|e| AppError::internal("rewards::mark_issued", e))?;
    let rows = reward::Entity::find()
        .filter(reward::Column::Id.is_in(due))
        .filter(reward::Column::Status.eq(RewardStatus::Issued))
        .all(txn)
        .await
        .map_err(|e| AppError::internal("rewards::mark_issued reread", e))?;
    let mut effects = Effects::default();
    for row in &rows {
        effects.push("reward.issued", event_data(row));
    }
    effects.write(txn).await?;
    Ok(rows)
}

/// Moves pending rewards whose hold has passed to `due` (and on to `issued` where the campaign
/// issues automatically, with the referrers' "reward issued" emails). Run periodically by the
/// worker; returns how many became due.
pub async fn mature(
    db: &DatabaseConnection,
    settings: &RuntimeSettings,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("rewards::mature begin", e))?;
    let ready = reward::Entity::find()
        .filter(reward::Column::Status.eq(RewardStatus::Pending))
        .filter(reward::Column::DueAt.lte(now))
        .order_by_asc(reward::Column::Id)
        .limit(BULK_LIMIT)
        .all(&txn)
        .await
        .map_err(|e| AppError::internal("rewards::mature find", e))?;
    if ready.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = ready.iter().map(|r| r.id).collect();
    reward::Entity::update_many()
        .col_expr(
            reward::Column::Status,
            Expr::value(RewardStatus::Due.as_str()),
        )
        .col_expr(reward::Column::UpdatedAt, Expr::value(now))
        .filter(reward::Column::Id.is_in(ids))
        .filter(reward::Column::Status.eq(RewardStatus::Pending))
        .exec(&txn)
        .await
        .map_err(|e| AppError::internal("rewards::mature update", e))?;
    let mut effects = Effects::default();
    let mut auto: Vec<i64> = Vec::new();
    let campaign_ids: Vec<i64> = ready.iter().map(|r| r.campaign_id).collect();
    let auto_campaigns: Vec<i64> = qualification_rule::Entity::find()
        .select_only()
        .column(qualification_rule::Column::CampaignId)
        .filter(qualification_rule::Column::CampaignId.is_in(campaign_ids))
        .filter(qualification_rule::Column::AutoIssue.eq(true))
        .into_tuple()
        .all(&txn)
        .await
        .map_err(|e| AppError::internal("rewards::mature rules", e))?;
    for mut row in ready {
        row.status = RewardStatus::Due;
        effects.push("reward.due", event_data(&row));
        if auto_campaigns.contains(&row.campaign_id) {
            auto.push(row.id);
        }
    }
    let count = effects.types().len();
    effects.write(&txn).await?;
    let issued = mark_issued(&txn, &auto, now).await?;
    notifications::rewards_issued(&txn, settings, &issued, now).await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("rewards::mature commit", e))?;
    Ok(count)
}

/// Due rewards (or those of `status`) as CSV for a payout run, oldest first.
pub async fn export_csv(state: &AppState, filter: &RewardFilter) -> Result<String, AppError> {
    let mut query = reward::Entity::find();
    let status = filter
        .status
        .as_deref()
        .unwrap_or(RewardStatus::Due.as_str());
    query = query.filter(reward::Column::Status.eq(check_status(status)?));
    if let Some(slug) = filter.campaign.as_deref().filter(|s| !s.trim().is_empty()) {
        let campaign = campaigns::find_row(&state.db, slug).await?;
        query = query.filter(reward::Column::CampaignId.eq(campaign.id));
    }
    let rows = query
        .order_by_asc(reward::Column::Id)
        .limit(BULK_LIMIT)
        .all(&state.db)
        .await
        .map_err(|e| AppError::internal("rewards::export_csv", e))?;
    let wire = to_wire_many(&state.db, &rows).await?;
    let mut out = String::from(
        "reward_id,campaign,recipient,recipient_email,kind,amount,currency,description,status,lead_id,referrer_id,due_at\n",
    );
    for r in wire {
        let amount = r
            .amount_minor
            .map(|a| crate::domain::rules::format_decimal(a, r.currency.as_deref()))
            .unwrap_or_default();
        let fields = [
            r.id.to_string(),
            r.campaign,
            r.recipient,
            r.recipient_email.unwrap_or_default(),
            r.kind,
            amount,
            r.currency.unwrap_or_default(),
            r.description,
            r.status,
            r.lead_id.map(|v| v.to_string()).unwrap_or_default(),
            r.referrer_id.map(|v| v.to_string()).unwrap_or_default(),
            r.due_at.map(|d| d.to_rfc3339()).unwrap_or_default(),
        ];
        out.push_str(&crate::domain::csv::line(&fields));
    }
    Ok(out)
}
