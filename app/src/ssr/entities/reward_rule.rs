//! The `reward_rules` table.

use sea_orm::entity::prelude::*;

/// One reward a campaign gives on qualification (retired rules stay for history).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reward_rules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub position: i32,
    pub recipient: String,
    pub kind: String,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub percent_bp: Option<i32>,
    pub cap_minor: Option<i64>,
    pub description: String,
    pub cadence: String,
    pub milestone_every: Option<i32>,
    pub max_per_referrer: Option<i32>,
    pub hold_days: i32,
    pub retired_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
