//! Uploaded campaign logos: the image's bytes in the database (so every server process on one
//! PostgreSQL serves the same logo, and a backup of the database holds it), with its checked
//! content type and a tag that changes with the bytes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CampaignLogos {
    Table,
    CampaignId,
    ContentType,
    Bytes,
    Etag,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CampaignLogos::Table)
                    .col(big_integer(CampaignLogos::CampaignId).primary_key())
                    .col(string_len(CampaignLogos::ContentType, 40))
                    .col(blob(CampaignLogos::Bytes))
                    .col(string_len(CampaignLogos::Etag, 64))
                    .col(timestamp_with_time_zone(CampaignLogos::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CampaignLogos::Table, CampaignLogos::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CampaignLogos::Table).to_owned())
            .await
    }
}
