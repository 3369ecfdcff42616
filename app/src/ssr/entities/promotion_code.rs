//! The `promotion_codes` table.

use sea_orm::entity::prelude::*;

/// A Stripe promotion code known to belong to a referrer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promotion_codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub referrer_id: i64,
    #[sea_orm(unique)]
    pub promotion_code_id: Option<String>,
    #[sea_orm(unique)]
    pub code_key: Option<String>,
    pub code: Option<String>,
    pub created_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
