//! The audit log: who changed what in the admin or through the API, and when.
//!
//! No foreign keys: an entry outlives what it names (a deleted referrer's deletion is exactly
//! what the log must keep), and it names the object by kind and id.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    CreatedAt,
    AdminId,
    Actor,
    Action,
    CampaignId,
    ObjectKind,
    ObjectId,
    Summary,
}

const BY_CAMPAIGN: &str = "ix_audit_log_campaign";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                    .col(big_integer_null(AuditLog::AdminId))
                    .col(string_len(AuditLog::Actor, 300))
                    .col(string_len(AuditLog::Action, 60))
                    .col(big_integer_null(AuditLog::CampaignId))
                    .col(string_len(AuditLog::ObjectKind, 20))
                    .col(big_integer_null(AuditLog::ObjectId))
                    .col(text(AuditLog::Summary))
                    .to_owned(),
            )
            .await?;
        // One campaign's entries, newest first, from the index.
        manager
            .create_index(
                Index::create()
                    .name(BY_CAMPAIGN)
                    .table(AuditLog::Table)
                    .col(AuditLog::CampaignId)
                    .col(AuditLog::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }
}
