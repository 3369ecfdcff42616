//! The `campaign_rewards` table: a campaign's rewards per status and currency, kept by triggers
//! (see the counters migration).

use sea_orm::entity::prelude::*;

/// How many rewards of one campaign are in one status, in one currency (`""` for rewards
/// without an amount), and their sum in minor units.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaign_rewards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub status: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub currency: String,
    pub rewards: i64,
    pub amount_minor: i64,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
