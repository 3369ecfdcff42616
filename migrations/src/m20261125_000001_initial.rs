//! The foundation: campaigns, referrers, clicks, leads and their timeline, admins, sessions, API keys.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    Slug,
    Name,
    LandingUrl,
    CodesEnabled,
    CodeStyle,
    CodePrefix,
    BrandColor,
    LogoUrl,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Referrers {
    Table,
    Id,
    CampaignId,
    Name,
    Email,
    EmailNormalized,
    Slug,
    Code,
    CodeKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Clicks {
    Table,
    Id,
    CampaignId,
    ReferrerId,
    IpHash,
    UserAgent,
    VisitorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Leads {
    Table,
    Id,
    CampaignId,
    ReferrerId,
    Name,
    Email,
    EmailNormalized,
    Source,
    Status,
    Flags,
    IpHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LeadEvents {
    Table,
    Id,
    LeadId,
    Kind,
    Detail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Admins {
    Table,
    Id,
    Email,
    PasswordHash,
    Role,
    CreatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    Data,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Prefix,
    KeyHash,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum SetupTokens {
    Table,
    Id,
    TokenHash,
    ExpiresAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Campaigns::Table)
                    .col(big_pk_auto(Campaigns::Id))
                    .col(string_len_uniq(Campaigns::Slug, 64))
                    .col(string_len(Campaigns::Name, 200))
                    .col(string_len_null(Campaigns::LandingUrl, 2048))
                    .col(boolean(Campaigns::CodesEnabled).default(true))
                    .col(string_len(Campaigns::CodeStyle, 20))
                    .col(string_len_null(Campaigns::CodePrefix, 8))
                    .col(string_len(Campaigns::BrandColor, 7))
                    .col(string_len_null(Campaigns::LogoUrl, 2048))
                    .col(string_len(Campaigns::Status, 20))
                    .col(timestamp_with_time_zone(Campaigns::CreatedAt))
                    .col(timestamp_with_time_zone(Campaigns::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Referrers::Table)
                    .col(big_pk_auto(Referrers::Id))
                    .col(big_integer(Referrers::CampaignId))
                    .col(string_len(Referrers::Name, 200))
                    .col(string_len(Referrers::Email, 254))
                    .col(string_len(Referrers::EmailNormalized, 254))
                    .col(string_len_uniq(Referrers::Slug, 64))
                    .col(string_len_null(Referrers::Code, 64))
                    // A code identifies its referrer across the whole installation.
                    .col(string_len_null(Referrers::CodeKey, 64).unique_key())
                    .col(timestamp_with_time_zone(Referrers::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Referrers::Table, Referrers::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_referrers_campaign_email")
                    .table(Referrers::Table)
                    .col(Referrers::CampaignId)
                    .col(Referrers::EmailNormalized)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Clicks::Table)
                    .col(big_pk_auto(Clicks::Id))
                    .col(big_integer(Clicks::CampaignId))
                    .col(big_integer(Clicks::ReferrerId))
                    .col(string_len(Clicks::IpHash, 64))
                    .col(string_len(Clicks::UserAgent, 512))
                    .col(string_len(Clicks::VisitorId, 64))
                    .col(timestamp_with_time_zone(Clicks::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Clicks::Table, Clicks::ReferrerId)
                            .to(Referrers::Table, Referrers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
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
            .create_table(
                Table::create()
                    .table(Leads::Table)
                    .col(big_pk_auto(Leads::Id))
                    .col(big_integer(Leads::CampaignId))
                    .col(big_integer_null(Leads::ReferrerId))
                    .col(string_len_null(Leads::Name, 200))
                    .col(string_len(Leads::Email, 254))
                    .col(string_len(Leads::EmailNormalized, 254))
                    .col(string_len(Leads::Source, 20))
                    .col(string_len(Leads::Status, 20))
                    .col(string_len(Leads::Flags, 200).default(""))
                    .col(string_len_null(Leads::IpHash, 64))
                    .col(timestamp_with_time_zone(Leads::CreatedAt))
                    .col(timestamp_with_time_zone(Leads::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Leads::Table, Leads::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Leads::Table, Leads::ReferrerId)
                            .to(Referrers::Table, Referrers::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // First referrer wins: one lead per normalized email per campaign, held by the database.
        manager
            .create_index(
                Index::create()
                    .name("ux_leads_campaign_email")
                    .table(Leads::Table)
                    .col(Leads::CampaignId)
                    .col(Leads::EmailNormalized)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_leads_referrer")
                    .table(Leads::Table)
                    .col(Leads::ReferrerId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_leads_status")
                    .table(Leads::Table)
                    .col(Leads::Status)
                    .col(Leads::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LeadEvents::Table)
                    .col(big_pk_auto(LeadEvents::Id))
                    .col(big_integer(LeadEvents::LeadId))
                    .col(string_len(LeadEvents::Kind, 40))
                    .col(text(LeadEvents::Detail))
                    .col(timestamp_with_time_zone(LeadEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LeadEvents::Table, LeadEvents::LeadId)
                            .to(Leads::Table, Leads::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_lead_events_lead")
                    .table(LeadEvents::Table)
                    .col(LeadEvents::LeadId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Admins::Table)
                    .col(big_pk_auto(Admins::Id))
                    .col(string_len_uniq(Admins::Email, 254))
                    .col(string_len(Admins::PasswordHash, 255))
                    .col(string_len(Admins::Role, 20))
                    .col(timestamp_with_time_zone(Admins::CreatedAt))
                    .col(timestamp_with_time_zone_null(Admins::LastLoginAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(string_len(Sessions::Id, 64).primary_key())
                    .col(text(Sessions::Data))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sessions_expires")
                    .table(Sessions::Table)
                    .col(Sessions::ExpiresAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(big_pk_auto(ApiKeys::Id))
                    .col(string_len(ApiKeys::Name, 200))
                    .col(string_len(ApiKeys::Prefix, 16))
                    .col(string_len_uniq(ApiKeys::KeyHash, 64))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SetupTokens::Table)
                    .col(big_pk_auto(SetupTokens::Id))
                    .col(string_len_uniq(SetupTokens::TokenHash, 64))
                    .col(timestamp_with_time_zone(SetupTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(SetupTokens::UsedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SetupTokens::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Sessions::Table.into_iden(),
            Admins::Table.into_iden(),
            LeadEvents::Table.into_iden(),
            Leads::Table.into_iden(),
            Clicks::Table.into_iden(),
            Referrers::Table.into_iden(),
            Campaigns::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
