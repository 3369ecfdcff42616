//! The `inbound_sources` table.

use sea_orm::entity::prelude::*;

/// An inbound webhook source (Zapier, Make, n8n, HubSpot, Salesforce, custom).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inbound_sources")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub name: String,
    pub preset: String,
    pub token_prefix: String,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub secret: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub mapping: String,
    pub default_event: String,
    pub enabled: bool,
    pub created_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
