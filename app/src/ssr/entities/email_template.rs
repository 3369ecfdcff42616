//! The `email_templates` table.

use sea_orm::entity::prelude::*;

/// A campaign's own subject and body for one kind of email, and whether it is sent on its own.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_templates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    /// An `EmailKind`.
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub auto_send: bool,
    pub updated_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
