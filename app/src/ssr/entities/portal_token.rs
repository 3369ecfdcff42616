//! The `portal_tokens` table: single-use sign-in links to the referrer portal.

use sea_orm::entity::prelude::*;

/// A sign-in link's token, stored as a hash; usable once, until it expires.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portal_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub referrer_id: i64,
    /// Why it was made: `email` (asked for on the portal, or in a link-and-code email) or `api`
    /// (a business opening the portal from its own product).
    pub purpose: String,
    pub expires_at: ChronoDateTimeUtc,
    pub used_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
