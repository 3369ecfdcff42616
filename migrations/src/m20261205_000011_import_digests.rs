//! An import's summary emails: while a CSV import runs, the referrals it qualifies are counted
//! here per referrer (in each of its transactions, like the rows they count), and the
//! transaction that ends the import turns the counts into one email per referrer and deletes
//! them. A killed import keeps its counts until it is run again.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImportDigests {
    Table,
    ImportId,
    ReferrerId,
    Qualified,
    Friends,
    Rewards,
    FirstReward,
    AmountMinor,
    Currency,
    MixedCurrencies,
}

#[derive(DeriveIden)]
enum Imports {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Referrers {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ImportDigests::Table)
                    .col(big_integer(ImportDigests::ImportId))
                    .col(big_integer(ImportDigests::ReferrerId))
                    .col(big_integer(ImportDigests::Qualified))
                    // Up to three friends' names, one a line, for "Ana, Ben, Sam and 9 others".
                    .col(text(ImportDigests::Friends))
                    .col(big_integer(ImportDigests::Rewards))
                    // The first reward in words: the whole reward text when there is one.
                    .col(text(ImportDigests::FirstReward))
                    .col(big_integer(ImportDigests::AmountMinor))
                    .col(string_len(ImportDigests::Currency, 3))
                    .col(boolean(ImportDigests::MixedCurrencies))
                    .primary_key(
                        Index::create()
                            .col(ImportDigests::ImportId)
                            .col(ImportDigests::ReferrerId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ImportDigests::Table, ImportDigests::ImportId)
                            .to(Imports::Table, Imports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ImportDigests::Table, ImportDigests::ReferrerId)
                            .to(Referrers::Table, Referrers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ImportDigests::Table).to_owned())
            .await
    }
}
