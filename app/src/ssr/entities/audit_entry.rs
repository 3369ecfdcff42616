//! The `audit_log` table.

use sea_orm::entity::prelude::*;

/// One change made by an admin or an API key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub created_at: ChronoDateTimeUtc,
    /// The admin account, when an admin made the change.
    pub admin_id: Option<i64>,
    /// Who, as shown: the admin's email or the API key's name.
    pub actor: String,
    /// What happened, like `referrer.deactivated`.
    pub action: String,
    pub campaign_id: Option<i64>,
    /// What was changed: `campaign`, `referrer`, `lead`, `reward` or `api_key`.
    pub object_kind: String,
    pub object_id: Option<i64>,
    /// One sentence for a person.
    #[sea_orm(column_type = "Text")]
    pub summary: String,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
