//! An upload remembers the event name for its rows without one, chosen when it was staged, so the
//! preview and the import that follows it count those rows alike.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Imports {
    Table,
    DefaultEvent,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // NULL: the campaign's first qualifying event, as before this column existed.
        manager
            .alter_table(
                Table::alter()
                    .table(Imports::Table)
                    .add_column(text_null(Imports::DefaultEvent))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Imports::Table)
                    .drop_column(Imports::DefaultEvent)
                    .to_owned(),
            )
            .await
    }
}
