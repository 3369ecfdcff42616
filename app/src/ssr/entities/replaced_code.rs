//! The `replaced_codes` table.

use sea_orm::entity::prelude::*;

/// A referral code an admin replaced with a new one (a lost card, a leaked code). It keeps
/// crediting its referrer until `valid_until`; after that it is refused as replaced.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "replaced_codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub referrer_id: i64,
    pub campaign_id: i64,
    /// The old code as it was shown.
    pub code: String,
    /// Its lookup key.
    #[sea_orm(unique)]
    pub code_key: String,
    pub replaced_at: ChronoDateTimeUtc,
    pub valid_until: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
