//! The `crm_sync` table.

use sea_orm::entity::prelude::*;

/// One referrer or lead a CRM has to be told about, and the CRM's last answer about it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "crm_sync")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Which CRM (`hubspot`).
    pub crm: String,
    /// `referrer` or `lead`.
    pub object_kind: String,
    pub object_id: i64,
    /// `pending`, `synced`, `failed` (gave up after every retry) or `skipped` (gone from Handoff).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: ChronoDateTimeUtc,
    pub locked_until: Option<ChronoDateTimeUtc>,
    /// Bumped by every change, so a sync that raced a change does not mark the row synced.
    pub version: i64,
    pub last_status: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_reply: Option<String>,
    pub last_attempt_at: Option<ChronoDateTimeUtc>,
    pub synced_at: Option<ChronoDateTimeUtc>,
    pub changed_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
