//! The `import_digests` table.

use sea_orm::entity::prelude::*;

/// What one running import has qualified so far for one referrer: the makings of the summary
/// email the import sends them when it ends (`services::emails::digest`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_digests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub import_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub referrer_id: i64,
    /// Referrals qualified.
    pub qualified: i64,
    /// Up to three friends' names (as the emails name them), one a line.
    #[sea_orm(column_type = "Text")]
    pub friends: String,
    /// The referrer's rewards they earned.
    pub rewards: i64,
    /// The first of those rewards in words.
    #[sea_orm(column_type = "Text")]
    pub first_reward: String,
    /// The rewards' amounts added up, in `currency` (meaningless when `mixed_currencies`).
    pub amount_minor: i64,
    /// The currency of the first reward with an amount ("" when none had one).
    pub currency: String,
    /// Rewards in more than one currency, or some with an amount and some without.
    pub mixed_currencies: bool,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
