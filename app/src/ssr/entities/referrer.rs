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
    /// False once an admin deactivated the referrer: their code is refused and their link
    /// credits nobody (a lead it brings is held for review).
    pub active: bool,
    /// When they were deactivated (kept while inactive).
    pub deactivated_at: Option<ChronoDateTimeUtc>,
    /// The admin's note on the referrer.
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
