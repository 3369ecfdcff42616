//! A campaign's rule book in the database: read it, replace it, start a campaign with the default.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, sea_query::OnConflict,
};

use crate::{
    domain::rules::{CampaignRules, QualificationRule, RewardRule},
    error::AppError,
    ssr::{
        db::begin_write,
        entities::{campaign, qualification_rule, reward_rule},
        services::{
            audit::{self, Actor, Change, Object},
            campaigns,
        },
        state::AppState,
    },
};

/// How long a process keeps a campaign's row and rules before reading them again. Changes made
/// through this process are seen at once (it clears its entry); other processes see them within
/// this time.
pub const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// Campaign rows and rule books by slug, for the conversion path (three queries saved per event).
#[derive(Debug, Default)]
pub struct RulesCache {
    entries: std::sync::Mutex<
        std::collections::HashMap<String, (std::time::Instant, campaign::Model, LoadedRules)>,
    >,
}

impl RulesCache {
    /// The campaign with `slug` and its rules, from the cache when fresh.
    pub async fn get(
        &self,
        db: &sea_orm::DatabaseConnection,
        slug: &str,
    ) -> Result<(campaign::Model, LoadedRules), AppError> {
        if let Some((at, campaign, rules)) = self.lock().get(slug)
            && at.elapsed() < CACHE_TTL
        {
            return Ok((campaign.clone(), rules.clone()));
        }
        let campaign = campaigns::find_row(db, slug).await?;
        let rules = load(db, campaign.id).await?;
        self.lock().insert(
            slug.to_owned(),
            (std::time::Instant::now(), campaign.clone(), rules.clone()),
        );
        Ok((campaign, rules))
    }

    /// Forgets every entry (after a campaign or its rules changed).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<String, (std::time::Instant, campaign::Model, LoadedRules)>,
    > {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A campaign's rules with the ids of the live reward rules.
#[derive(Clone, Debug)]
pub struct LoadedRules {
    /// When a lead qualifies.
    pub qualification: QualificationRule,
    /// The live reward rules and their ids, in order.
    pub rewards: Vec<(i64, RewardRule)>,
}

impl LoadedRules {
    /// The wire form, ids included.
    pub fn to_wire(&self) -> CampaignRules {
        CampaignRules {
            qualification: self.qualification.clone(),
            rewards: self
                .rewards
                .iter()
                .map(|(id, r)| RewardRule {
                    id: Some(*id),
                    ..r.clone()
                })
                .collect(),
        }
    }
}

fn join_events(events: &[String]) -> String {
    events.join(",")
}

fn qualification_from_row(row: &qualification_rule::Model) -> QualificationRule {
    QualificationRule {
        events: row
            .events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        min_amount_minor: row.min_amount_minor,
        min_amount_currency: row.min_amount_currency.clone(),
        window_days: row.window_days.and_then(|d| u32::try_from(d).ok()),
        requires_approval: row.requires_approval,
        refund_unqualifies: row.refund_unqualifies,
        auto_issue: row.auto_issue,
    }
}

fn reward_from_row(row: &reward_rule::Model) -> RewardRule {
    let unsigned = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
    RewardRule {
        id: None,
        recipient: row.recipient.clone(),
        kind: row.kind.clone(),
        amount_minor: row.amount_minor,
        currency: row.currency.clone(),
        percent_bp: unsigned(row.percent_bp),
        cap_minor: row.cap_minor,
        description: row.description.clone(),
        cadence: row.cadence.clone(),
        milestone_every: unsigned(row.milestone_every),
        max_per_referrer: unsigned(row.max_per_referrer),
        hold_days: u32::try_from(row.hold_days).unwrap_or(0),
    }
}

fn signed(v: Option<u32>) -> Option<i32> {
    v.map(|v| i32::try_from(v).unwrap_or(i32::MAX))
}

/// Loads the live rules of a campaign.
pub async fn load(db: &impl ConnectionTrait, campaign_id: i64) -> Result<LoadedRules, AppError> {
    let q = qualification_rule::Entity::find_by_id(campaign_id)
        .one(db)
        .await
        .map_err(|e| AppError::internal("rules::load", e))?;
    let qualification = match q {
        Some(row) => qualification_from_row(&row),
        // Only reachable for a campaign created outside the service; it behaves as the default.
        None => CampaignRules::default().qualification,
    };
    let rewards = reward_rule::Entity::find()
        .filter(reward_rule::Column::CampaignId.eq(campaign_id))
        .filter(reward_rule::Column::RetiredAt.is_null())
        .order_by_asc(reward_rule::Column::Position)
        .order_by_asc(reward_rule::Column::Id)
        .all(db)
        .await
        .map_err(|e| AppError::internal("rules::load rewards", e))?
        .iter()
        .map(|r| (r.id, reward_from_row(r)))
        .collect();
    Ok(LoadedRules {
        qualification,
        rewards,
    })
}

/// The rule book of the campaign with `slug`.
pub async fn get(state: &AppState, slug: &str) -> Result<CampaignRules, AppError> {
    let campaign = campaigns::find_row(&state.db, slug).await?;
    Ok(load(&state.db, campaign.id).await?.to_wire())
}

async fn write_qualification(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    q: &QualificationRule,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let row = qualification_rule::ActiveModel {
        campaign_id: Set(campaign_id),
        events: Set(join_events(&q.events)),
        min_amount_minor: Set(q.min_amount_minor),
        min_amount_currency: Set(q.min_amount_currency.clone()),
        window_days: Set(signed(q.window_days)),
        requires_approval: Set(q.requires_approval),
        refund_unqualifies: Set(q.refund_unqualifies),
        auto_issue: Set(q.auto_issue),
        updated_at: Set(now),
    };
    qualification_rule::Entity::insert(row)
        .on_conflict(
            OnConflict::column(qualification_rule::Column::CampaignId)
                .update_columns([
                    qualification_rule::Column::Events,
                    qualification_rule::Column::MinAmountMinor,
                    qualification_rule::Column::MinAmountCurrency,
                    qualification_rule::Column::WindowDays,
                    qualification_rule::Column::RequiresApproval,
                    qualification_rule::Column::RefundUnqualifies,
                    qualification_rule::Column::AutoIssue,
                    qualification_rule::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map_err(|e| AppError::internal("rules::write_qualification", e))?;
    Ok(())
}

async fn insert_reward_rule(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    position: usize,
    r: &RewardRule,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    reward_rule::ActiveModel {
        campaign_id: Set(campaign_id),
        position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
        recipient: Set(r.recipient.clone()),
        kind: Set(r.kind.clone()),
        amount_minor: Set(r.amount_minor),
        currency: Set(r.currency.clone()),
        percent_bp: Set(signed(r.percent_bp)),
        cap_minor: Set(r.cap_minor),
        description: Set(r.description.clone()),
        cadence: Set(r.cadence.clone()),
        milestone_every: Set(signed(r.milestone_every)),
        max_per_referrer: Set(signed(r.max_per_referrer)),
        hold_days: Set(i32::try_from(r.hold_days).unwrap_or(i32::MAX)),
        retired_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| AppError::internal("rules::insert_reward_rule", e))?;
    Ok(())
}

/// Gives a new campaign the default rule book, inside the transaction that creates it.
pub async fn insert_defaults(db: &impl ConnectionTrait, campaign_id: i64) -> Result<(), AppError> {
    let now = Utc::now();
    let rules = CampaignRules::default();
    write_qualification(db, campaign_id, &rules.qualification, now).await?;
    for (i, r) in rules.rewards.iter().enumerate() {
        insert_reward_rule(db, campaign_id, i, r, now).await?;
    }
    Ok(())
}

/// Replaces a campaign's rule book. Reward rules that did not change keep their ids (so rewards
/// already earned under them still count against caps and milestones); changed or removed ones
/// are retired, never deleted, because rewards point at them (and because a CSV import writes
/// rewards pointing at them without foreign-key checks: see `db::own_writer`).
pub async fn replace(
    state: &AppState,
    actor: &Actor,
    slug: &str,
    rules: CampaignRules,
) -> Result<CampaignRules, AppError> {
    let rules = rules
        .validated()
        .map_err(|e| AppError::invalid("invalid_rules", &e.field, e.message))?;
    let campaign = campaigns::find_row(&state.db, slug).await?;
    let now = Utc::now();
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("rules::replace begin", e))?;
    write_qualification(&txn, campaign.id, &rules.qualification, now).await?;
    let current = load(&txn, campaign.id).await?;
    let mut kept: Vec<i64> = Vec::new();
    for (position, wanted) in rules.rewards.iter().enumerate() {
        let same = current
            .rewards
            .iter()
            .find(|(id, r)| r == wanted && !kept.contains(id))
            .map(|(id, _)| *id);
        match same {
            Some(id) => {
                kept.push(id);
                reward_rule::ActiveModel {
                    id: Set(id),
                    position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
                    ..Default::default()
                }
                .update(&txn)
                .await
                .map_err(|e| AppError::internal("rules::replace reorder", e))?;
            }
            None => insert_reward_rule(&txn, campaign.id, position, wanted, now).await?,
        }
    }
    let retired: Vec<i64> = current
        .rewards
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !kept.contains(id))
        .collect();
    if !retired.is_empty() {
        reward_rule::Entity::update_many()
            .col_expr(
                reward_rule::Column::RetiredAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(reward_rule::Column::Id.is_in(retired))
            .exec(&txn)
            .await
            .map_err(|e| AppError::internal("rules::replace retire", e))?;
    }
    let result = load(&txn, campaign.id).await?.to_wire();
    audit::record(
        &txn,
        actor,
        Change {
            action: "campaign.rules_changed",
            campaign_id: Some(campaign.id),
            object: Object::Campaign(campaign.id),
            summary: format!("Changed the rules of {}.", campaign.name),
        },
    )
    .await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("rules::replace commit", e))?;
    state.rules_cache.clear();
    Ok(result)
}
