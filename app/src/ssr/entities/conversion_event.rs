//! The `conversion_events` table.

use sea_orm::entity::prelude::*;

/// A conversion event as received, once per source and event id.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversion_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub source: String,
    pub event_id: String,
    pub name: String,
    pub lead_id: Option<i64>,
    pub referrer_id: Option<i64>,
    pub email: Option<String>,
    pub code: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub occurred_at: ChronoDateTimeUtc,
    pub outcome: String,
    #[sea_orm(column_type = "Text")]
    pub response: String,
    pub created_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
