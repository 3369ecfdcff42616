//! Leads by referrer and status: the referrer's portal page counts a referrer's friends and
//! qualified friends on every view, and with this index it reads only the index, not each
//! lead's row (BENCHMARKS, "Referrer portal page").

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Leads {
    Table,
    ReferrerId,
    Status,
}

const NAME: &str = "ix_leads_referrer_status";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Leads::Table)
                    .col(Leads::ReferrerId)
                    .col(Leads::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table(Leads::Table).to_owned())
            .await
    }
}
