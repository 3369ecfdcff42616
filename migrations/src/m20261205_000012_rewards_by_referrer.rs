//! A referrer's own rewards, newest first: the referrer's portal page shows a page of them on
//! every view. The older index on rewards (referrer, rule) finds them but not in order, so each
//! view sorted all of the referrer's rewards in a temporary b-tree; with this one the page reads
//! its 11 rows in order and stops (BENCHMARKS, "Referrer portal page").

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Rewards {
    Table,
    ReferrerId,
    Recipient,
    Id,
}

const NAME: &str = "ix_rewards_referrer_recipient";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Rewards::Table)
                    .col(Rewards::ReferrerId)
                    .col(Rewards::Recipient)
                    .col(Rewards::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table(Rewards::Table).to_owned())
            .await
    }
}
