//! The `clicks` table.

use sea_orm::entity::prelude::*;

/// One recorded visit of a referral link.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clicks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub referrer_id: i64,
    pub ip_hash: String,
    pub user_agent: String,
    pub visitor_id: String,
    /// Where the link was followed from: `link` (shared or typed), or the channel a printed QR
    /// code carries (`card`, `flyer`, ...), or `other` for a channel Handoff does not know.
    pub channel: String,
    pub created_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
