//! The `referrers` table.

use sea_orm::entity::prelude::*;

/// A person who refers, with one link and (when codes are on) one code per campaign.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referrers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub name: String,
    pub email: String,
    pub email_normalized: String,
    #[sea_orm(unique)]
    pub slug: String,
    pub code: Option<String>,
    #[sea_orm(unique)]
    pub code_key: Option<String>,
    pub created_at: ChronoDateTimeUtc,
    pub last_ip_hash: Option<String>,
    /// The referrer turned notification emails off.
    pub emails_opt_out: bool,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
