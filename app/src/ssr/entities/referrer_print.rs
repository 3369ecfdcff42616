//! The `referrer_prints` table.

use sea_orm::entity::prelude::*;

/// When a referrer's material was printed (a PDF, the print page or the mail-merge file that
/// held them), so the studio can pick those never printed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referrer_prints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub referrer_id: i64,
    pub campaign_id: i64,
    pub first_printed_at: ChronoDateTimeUtc,
    pub last_printed_at: ChronoDateTimeUtc,
    /// How many print runs held them.
    pub times: i32,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
