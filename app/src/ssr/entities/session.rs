//! The `sessions` table.

use sea_orm::entity::prelude::*;

/// A browser session, stored in the database so several server processes share it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    /// The SHA-256 (hex) of the session id the cookie carries, never the id itself.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub data: String,
    /// When it ends if unused (the idle lifetime, pushed on with use).
    pub expires_at: ChronoDateTimeUtc,
    /// When it began: it ends an absolute lifetime later however much it is used.
    pub created_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
