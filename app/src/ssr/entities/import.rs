//! The `imports` table.

use sea_orm::entity::prelude::*;

/// One CSV upload and its counts.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "imports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub filename: String,
    pub file_sha256: String,
    pub status: String,
    pub bytes_total: i64,
    pub bytes_done: i64,
    pub rows: i64,
    pub imported: i64,
    pub duplicates: i64,
    pub unmatched: i64,
    pub invalid: i64,
    #[sea_orm(column_type = "Text")]
    pub error_report: String,
    #[sea_orm(column_type = "Text")]
    pub report: String,
    pub created_at: ChronoDateTimeUtc,
    pub finished_at: Option<ChronoDateTimeUtc>,
    /// The event name for rows without one; `None`: the campaign's first qualifying event.
    #[sea_orm(column_type = "Text", nullable)]
    pub default_event: Option<String>,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
