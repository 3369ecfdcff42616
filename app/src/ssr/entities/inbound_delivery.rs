//! The `inbound_deliveries` table.

use sea_orm::entity::prelude::*;

/// One received inbound webhook (Stripe or a source): payload and outcome.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inbound_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub channel: String,
    pub source_id: Option<i64>,
    pub message_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub outcome: String,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    pub conversion_event_id: Option<i64>,
    pub created_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
