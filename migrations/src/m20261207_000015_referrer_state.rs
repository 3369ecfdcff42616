//! What an admin keeps on a referrer: a note, and whether the referrer is active (an inactive
//! referrer's code is refused and their link credits nobody, until they are reactivated); and
//! the codes an admin replaced, which keep working for a while before they are refused.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Referrers {
    Table,
    Id,
    Active,
    DeactivatedAt,
    Note,
}

#[derive(DeriveIden)]
enum ReplacedCodes {
    Table,
    Id,
    ReferrerId,
    CampaignId,
    Code,
    CodeKey,
    ReplacedAt,
    ValidUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A constant default: PostgreSQL adds the column without rewriting the table.
        manager
            .alter_table(
                Table::alter()
                    .table(Referrers::Table)
                    .add_column(boolean(Referrers::Active).default(true))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Referrers::Table)
                    .add_column(timestamp_with_time_zone_null(Referrers::DeactivatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Referrers::Table)
                    .add_column(text_null(Referrers::Note))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReplacedCodes::Table)
                    .col(big_pk_auto(ReplacedCodes::Id))
                    .col(big_integer(ReplacedCodes::ReferrerId))
                    .col(big_integer(ReplacedCodes::CampaignId))
                    .col(string_len(ReplacedCodes::Code, 64))
                    .col(string_len(ReplacedCodes::CodeKey, 64).unique_key())
                    .col(timestamp_with_time_zone(ReplacedCodes::ReplacedAt))
                    .col(timestamp_with_time_zone(ReplacedCodes::ValidUntil))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReplacedCodes::Table, ReplacedCodes::ReferrerId)
                            .to(Referrers::Table, Referrers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReplacedCodes::Table).to_owned())
            .await?;
        for column in [Referrers::Note, Referrers::DeactivatedAt, Referrers::Active] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Referrers::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
