//! The sales desk: a lead may be a phone number instead of an email, and remembers which admin
//! account recorded it by hand, so a sales rep can list their own entries.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Leads {
    Table,
    Id,
    Phone,
    EnteredBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Leads::Table)
                    .add_column(string_len_null(Leads::Phone, 40))
                    .to_owned(),
            )
            .await?;
        // The admin's id, without a foreign key: SQLite cannot add one to an existing table, and
        // a removed account's entries stay (the timeline names who entered them).
        manager
            .alter_table(
                Table::alter()
                    .table(Leads::Table)
                    .add_column(big_integer_null(Leads::EnteredBy))
                    .to_owned(),
            )
            .await?;
        // "Recorded by you", newest first, read from the index alone.
        manager
            .create_index(
                Index::create()
                    .name("ix_leads_entered_by")
                    .table(Leads::Table)
                    .col(Leads::EnteredBy)
                    .col(Leads::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_leads_entered_by")
                    .table(Leads::Table)
                    .to_owned(),
            )
            .await?;
        for column in [Leads::EnteredBy, Leads::Phone] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Leads::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
