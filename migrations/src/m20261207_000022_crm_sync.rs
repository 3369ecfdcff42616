//! The CRM sync queue: which referrers and leads a CRM (HubSpot) still has to be told about.
//!
//! One row per CRM and object, written in the same transaction as the change that makes the
//! CRM's copy stale (the outbox pattern, coalesced: ten changes to one referrer before the
//! worker runs are one upsert of its state at send time). The row stays after a sync as the
//! sync log: the CRM's last answer, when, and how many attempts it took.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CrmSync {
    Table,
    Id,
    Crm,
    ObjectKind,
    ObjectId,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    Version,
    LastStatus,
    LastReply,
    LastAttemptAt,
    SyncedAt,
    ChangedAt,
}

const BY_OBJECT: &str = "ux_crm_sync_object";
const DUE: &str = "ix_crm_sync_due";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CrmSync::Table)
                    .col(big_pk_auto(CrmSync::Id))
                    .col(string_len(CrmSync::Crm, 20))
                    .col(string_len(CrmSync::ObjectKind, 20))
                    .col(big_integer(CrmSync::ObjectId))
                    .col(string_len(CrmSync::Status, 20))
                    .col(integer(CrmSync::Attempts).default(0))
                    .col(timestamp_with_time_zone(CrmSync::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(CrmSync::LockedUntil))
                    .col(big_integer(CrmSync::Version).default(0))
                    .col(integer_null(CrmSync::LastStatus))
                    .col(text_null(CrmSync::LastReply))
                    .col(timestamp_with_time_zone_null(CrmSync::LastAttemptAt))
                    .col(timestamp_with_time_zone_null(CrmSync::SyncedAt))
                    .col(timestamp_with_time_zone(CrmSync::ChangedAt))
                    .to_owned(),
            )
            .await?;
        // A change upserts the object's one row (`ON CONFLICT` on this key).
        manager
            .create_index(
                Index::create()
                    .name(BY_OBJECT)
                    .table(CrmSync::Table)
                    .col(CrmSync::Crm)
                    .col(CrmSync::ObjectKind)
                    .col(CrmSync::ObjectId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The worker's claim: pending rows whose time has come, oldest first.
        manager
            .create_index(
                Index::create()
                    .name(DUE)
                    .table(CrmSync::Table)
                    .col(CrmSync::Status)
                    .col(CrmSync::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CrmSync::Table).to_owned())
            .await
    }
}
