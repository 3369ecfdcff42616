//! The `emails` table: the email outbox and the Emails log in one.

use sea_orm::entity::prelude::*;

/// One rendered email: written in the transaction that caused it, sent later by the email worker.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "emails")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: Option<i64>,
    pub referrer_id: Option<i64>,
    /// An `EmailKind` (`link_and_code`, `sign_in`, ...).
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub to_address: String,
    #[sea_orm(column_type = "Text")]
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub html_body: String,
    #[sea_orm(column_type = "Text")]
    pub text_body: String,
    /// The `Message-ID`, fixed when the email is written, so a retry is the same message.
    pub message_id: String,
    /// Set on emails that must go out at most once (unique).
    pub dedupe_key: Option<String>,
    /// An `EmailStatus` (`pending`, `sent`, `failed`).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: ChronoDateTimeUtc,
    pub locked_until: Option<ChronoDateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub sent_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
}

/// Relations are spelled out in queries rather than derived.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
