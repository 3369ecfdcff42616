//! The `merged_links` table.

use sea_orm::entity::prelude::*;

/// The link slug of a referrer record merged into another: the link keeps working and credits
/// the record it was merged into.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "merged_links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    /// The referrer it now credits.
    pub referrer_id: i64,
    pub merged_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
