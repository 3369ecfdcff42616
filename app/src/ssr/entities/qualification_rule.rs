//! The `qualification_rules` table.

use sea_orm::entity::prelude::*;

/// A campaign's qualification rule: which events count, and the conditions.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "qualification_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: i64,
    pub events: String,
    pub min_amount_minor: Option<i64>,
    pub min_amount_currency: Option<String>,
    pub window_days: Option<i32>,
    pub requires_approval: bool,
    pub refund_unqualifies: bool,
    pub auto_issue: bool,
    pub updated_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
