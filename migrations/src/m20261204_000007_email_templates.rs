//! Per-campaign email templates: the subject and body an admin wrote for each kind of email,
//! and whether it goes out on its own. A campaign without a row uses the built-in text.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum EmailTemplates {
    Table,
    Id,
    CampaignId,
    Kind,
    Subject,
    Body,
    AutoSend,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EmailTemplates::Table)
                    .col(big_pk_auto(EmailTemplates::Id))
                    .col(big_integer(EmailTemplates::CampaignId))
                    .col(string_len(EmailTemplates::Kind, 40))
                    .col(text(EmailTemplates::Subject))
                    .col(text(EmailTemplates::Body))
                    .col(boolean(EmailTemplates::AutoSend).default(true))
                    .col(timestamp_with_time_zone(EmailTemplates::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EmailTemplates::Table, EmailTemplates::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_email_templates_campaign_kind")
                    .table(EmailTemplates::Table)
                    .col(EmailTemplates::CampaignId)
                    .col(EmailTemplates::Kind)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailTemplates::Table).to_owned())
            .await
    }
}
