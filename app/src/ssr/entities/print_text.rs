//! The `print_texts` table.

use sea_orm::entity::prelude::*;

/// The headline and body text a campaign prints on one template, replacing the portal's
/// headline and reward text there.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "print_texts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: i64,
    /// The template's name (`business-card`, `flyer`, ...).
    #[sea_orm(primary_key, auto_increment = false)]
    pub template: String,
    pub headline: Option<String>,
    pub body: Option<String>,
    pub updated_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
