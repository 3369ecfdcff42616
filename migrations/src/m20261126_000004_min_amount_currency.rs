//! A qualification rule's minimum amount can name its currency, so that an event in another
//! currency is not compared with it as if the minor units were the same money.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum QualificationRules {
    Table,
    MinAmountCurrency,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // NULL: the minimum applies to the amount in any currency, as before this column existed.
        manager
            .alter_table(
                Table::alter()
                    .table(QualificationRules::Table)
                    .add_column(string_len_null(QualificationRules::MinAmountCurrency, 3))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(QualificationRules::Table)
                    .drop_column(QualificationRules::MinAmountCurrency)
                    .to_owned(),
            )
            .await
    }
}
