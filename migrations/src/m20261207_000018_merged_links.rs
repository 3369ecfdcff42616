//! Merged referrers: when two records of one person are merged, the one merged away leaves its
//! link slug here, so the links already shared and printed keep crediting the person (its code
//! goes to `replaced_codes` with no end, for the same reason).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MergedLinks {
    Table,
    Id,
    Slug,
    ReferrerId,
    MergedAt,
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
                    .table(MergedLinks::Table)
                    .col(big_pk_auto(MergedLinks::Id))
                    .col(string_len_uniq(MergedLinks::Slug, 64))
                    .col(big_integer(MergedLinks::ReferrerId))
                    .col(timestamp_with_time_zone(MergedLinks::MergedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(MergedLinks::Table, MergedLinks::ReferrerId)
                            .to(Referrers::Table, Referrers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MergedLinks::Table).to_owned())
            .await
    }
}
