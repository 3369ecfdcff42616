//! The `referrer_totals` table: a referrer's numbers, kept by triggers (see the counters
//! migration). A referrer with nothing counted yet has no row.

use sea_orm::entity::prelude::*;

/// One referrer's clicks, leads and qualified leads.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referrer_totals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub referrer_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: i64,
    pub clicks: i64,
    pub leads: i64,
    pub qualified: i64,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
