//! The `campaign_days` table: a campaign's clicks, leads and qualified leads per UTC day, kept by
//! triggers (see the counters migration). A lead counts on the day it came in, and as
//! qualified on the day it qualified.

use sea_orm::entity::prelude::*;

/// One campaign's numbers on one day.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaign_days")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: i64,
    /// `YYYY-MM-DD`, UTC.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: String,
    pub clicks: i64,
    pub leads: i64,
    pub qualified: i64,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
