//! The print studio's state: headline and body text per campaign and template, which referrers
//! have had their material printed (for "never printed"), and the channel a click came through
//! (`?ch=card` on a printed QR code), so paper's clicks are counted apart from shared links.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Referrers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Clicks {
    Table,
    CampaignId,
    ReferrerId,
    Channel,
}

#[derive(DeriveIden)]
enum PrintTexts {
    Table,
    CampaignId,
    Template,
    Headline,
    Body,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReferrerPrints {
    Table,
    ReferrerId,
    CampaignId,
    FirstPrintedAt,
    LastPrintedAt,
    Times,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PrintTexts::Table)
                    .col(big_integer(PrintTexts::CampaignId))
                    .col(string_len(PrintTexts::Template, 32))
                    .col(string_len_null(PrintTexts::Headline, 200))
                    .col(text_null(PrintTexts::Body))
                    .col(timestamp_with_time_zone(PrintTexts::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(PrintTexts::CampaignId)
                            .col(PrintTexts::Template),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PrintTexts::Table, PrintTexts::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReferrerPrints::Table)
                    .col(big_integer(ReferrerPrints::ReferrerId).primary_key())
                    .col(big_integer(ReferrerPrints::CampaignId))
                    .col(timestamp_with_time_zone(ReferrerPrints::FirstPrintedAt))
                    .col(timestamp_with_time_zone(ReferrerPrints::LastPrintedAt))
                    .col(integer(ReferrerPrints::Times))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReferrerPrints::Table, ReferrerPrints::ReferrerId)
                            .to(Referrers::Table, Referrers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A constant default: PostgreSQL adds the column without rewriting the table.
        manager
            .alter_table(
                Table::alter()
                    .table(Clicks::Table)
                    .add_column(string_len(Clicks::Channel, 16).default("link"))
                    .to_owned(),
            )
            .await?;
        // Clicks per channel of one referrer or one campaign, counted from an index alone. The
        // referrer's index replaces the one on `referrer_id` (it is its prefix), so the hottest
        // insert in the system carries one more index, not two.
        manager
            .drop_index(
                Index::drop()
                    .name("ix_clicks_referrer")
                    .table(Clicks::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_clicks_referrer_channel")
                    .table(Clicks::Table)
                    .col(Clicks::ReferrerId)
                    .col(Clicks::Channel)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_clicks_campaign_channel")
                    .table(Clicks::Table)
                    .col(Clicks::CampaignId)
                    .col(Clicks::Channel)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["ix_clicks_referrer_channel", "ix_clicks_campaign_channel"] {
            manager
                .drop_index(Index::drop().name(name).table(Clicks::Table).to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_clicks_referrer")
                    .table(Clicks::Table)
                    .col(Clicks::ReferrerId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Clicks::Table)
                    .drop_column(Clicks::Channel)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ReferrerPrints::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PrintTexts::Table).to_owned())
            .await
    }
}
