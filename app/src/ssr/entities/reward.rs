//! The `rewards` table.

use sea_orm::entity::prelude::*;

pub use crate::domain::rules::RewardStatus;

/// A reward earned by a referrer or a friend.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rewards")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub rule_id: i64,
    pub lead_id: Option<i64>,
    pub referrer_id: Option<i64>,
    pub recipient: String,
    pub kind: String,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub description: String,
    pub status: RewardStatus,
    pub milestone: i32,
    #[sea_orm(unique)]
    pub dedupe_key: String,
    pub conversion_event_id: Option<i64>,
    pub due_at: Option<ChronoDateTimeUtc>,
    pub issued_at: Option<ChronoDateTimeUtc>,
    pub cancelled_at: Option<ChronoDateTimeUtc>,
    pub cancel_reason: Option<String>,
    pub clawback: bool,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
