//! Qualification and rewards: rules per campaign, conversion events, rewards, the outbox and
//! outbound webhooks, inbound sources and their delivery log, Stripe settings, CSV imports.

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
    LastIpHash,
}

#[derive(DeriveIden)]
enum Leads {
    Table,
    Id,
    QualifiedAt,
    StatusReason,
    QualifyingEventId,
}

#[derive(DeriveIden)]
enum QualificationRules {
    Table,
    CampaignId,
    Events,
    MinAmountMinor,
    WindowDays,
    RequiresApproval,
    RefundUnqualifies,
    AutoIssue,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RewardRules {
    Table,
    Id,
    CampaignId,
    Position,
    Recipient,
    Kind,
    AmountMinor,
    Currency,
    PercentBp,
    CapMinor,
    Description,
    Cadence,
    MilestoneEvery,
    MaxPerReferrer,
    HoldDays,
    RetiredAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ConversionEvents {
    Table,
    Id,
    CampaignId,
    Source,
    EventId,
    Name,
    LeadId,
    ReferrerId,
    Email,
    Code,
    AmountMinor,
    Currency,
    OccurredAt,
    Outcome,
    Response,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Rewards {
    Table,
    Id,
    CampaignId,
    RuleId,
    LeadId,
    ReferrerId,
    Recipient,
    Kind,
    AmountMinor,
    Currency,
    Description,
    Status,
    Milestone,
    DedupeKey,
    ConversionEventId,
    DueAt,
    IssuedAt,
    CancelledAt,
    CancelReason,
    Clawback,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    EventId,
    EventType,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    Url,
    Description,
    Events,
    Secret,
    Enabled,
    DisabledReason,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    OutboxId,
    EndpointId,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastStatus,
    LastError,
    LastAttemptAt,
    DeliveredAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum InboundSources {
    Table,
    Id,
    CampaignId,
    Name,
    Preset,
    TokenPrefix,
    TokenHash,
    Secret,
    Mapping,
    DefaultEvent,
    Enabled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum InboundDeliveries {
    Table,
    Id,
    Channel,
    SourceId,
    MessageId,
    Payload,
    Outcome,
    Message,
    ConversionEventId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    Key,
    Value,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PromotionCodes {
    Table,
    Id,
    CampaignId,
    ReferrerId,
    PromotionCodeId,
    CodeKey,
    Code,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Imports {
    Table,
    Id,
    CampaignId,
    Filename,
    FileSha256,
    Status,
    BytesTotal,
    BytesDone,
    Rows,
    Imported,
    Duplicates,
    Unmatched,
    Invalid,
    ErrorReport,
    Report,
    CreatedAt,
    FinishedAt,
}

fn fk(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    action: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(action)
        .to_owned()
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    if unique {
        stmt.unique();
    }
    manager.create_index(stmt.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for col in [
            timestamp_with_time_zone_null(Leads::QualifiedAt),
            text_null(Leads::StatusReason),
            big_integer_null(Leads::QualifyingEventId),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Leads::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Referrers::Table)
                    .add_column(string_len_null(Referrers::LastIpHash, 64))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(QualificationRules::Table)
                    .col(big_integer(QualificationRules::CampaignId).primary_key())
                    .col(string_len(QualificationRules::Events, 1000))
                    .col(big_integer_null(QualificationRules::MinAmountMinor))
                    .col(integer_null(QualificationRules::WindowDays))
                    .col(boolean(QualificationRules::RequiresApproval).default(false))
                    .col(boolean(QualificationRules::RefundUnqualifies).default(true))
                    .col(boolean(QualificationRules::AutoIssue).default(false))
                    .col(timestamp_with_time_zone(QualificationRules::UpdatedAt))
                    .foreign_key(&mut fk(
                        (QualificationRules::Table, QualificationRules::CampaignId),
                        (Campaigns::Table, Campaigns::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RewardRules::Table)
                    .col(big_pk_auto(RewardRules::Id))
                    .col(big_integer(RewardRules::CampaignId))
                    .col(integer(RewardRules::Position))
                    .col(string_len(RewardRules::Recipient, 20))
                    .col(string_len(RewardRules::Kind, 20))
                    .col(big_integer_null(RewardRules::AmountMinor))
                    .col(string_len_null(RewardRules::Currency, 3))
                    .col(integer_null(RewardRules::PercentBp))
                    .col(big_integer_null(RewardRules::CapMinor))
                    .col(string_len(RewardRules::Description, 200))
                    .col(string_len(RewardRules::Cadence, 20))
                    .col(integer_null(RewardRules::MilestoneEvery))
                    .col(integer_null(RewardRules::MaxPerReferrer))
                    .col(integer(RewardRules::HoldDays).default(0))
                    .col(timestamp_with_time_zone_null(RewardRules::RetiredAt))
                    .col(timestamp_with_time_zone(RewardRules::CreatedAt))
                    .foreign_key(&mut fk(
                        (RewardRules::Table, RewardRules::CampaignId),
                        (Campaigns::Table, Campaigns::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_reward_rules_campaign",
            RewardRules::Table,
            &["campaign_id", "position"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ConversionEvents::Table)
                    .col(big_pk_auto(ConversionEvents::Id))
                    .col(big_integer(ConversionEvents::CampaignId))
                    .col(string_len(ConversionEvents::Source, 80))
                    .col(string_len(ConversionEvents::EventId, 255))
                    .col(string_len(ConversionEvents::Name, 80))
                    .col(big_integer_null(ConversionEvents::LeadId))
                    .col(big_integer_null(ConversionEvents::ReferrerId))
                    .col(string_len_null(ConversionEvents::Email, 254))
                    .col(string_len_null(ConversionEvents::Code, 64))
                    .col(big_integer_null(ConversionEvents::AmountMinor))
                    .col(string_len_null(ConversionEvents::Currency, 3))
                    .col(timestamp_with_time_zone(ConversionEvents::OccurredAt))
                    .col(string_len(ConversionEvents::Outcome, 40))
                    // The answer given the first time, returned as is for a duplicate.
                    .col(text(ConversionEvents::Response))
                    .col(timestamp_with_time_zone(ConversionEvents::CreatedAt))
                    .foreign_key(&mut fk(
                        (ConversionEvents::Table, ConversionEvents::CampaignId),
                        (Campaigns::Table, Campaigns::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        (ConversionEvents::Table, ConversionEvents::LeadId),
                        (Leads::Table, Leads::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        // The idempotency key: one event per id per source, held by the database.
        index(
            manager,
            "ux_conversion_events_source_event",
            ConversionEvents::Table,
            &["source", "event_id"],
            true,
        )
        .await?;
        index(
            manager,
            "ix_conversion_events_lead",
            ConversionEvents::Table,
            &["lead_id"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Rewards::Table)
                    .col(big_pk_auto(Rewards::Id))
                    .col(big_integer(Rewards::CampaignId))
                    .col(big_integer(Rewards::RuleId))
                    .col(big_integer_null(Rewards::LeadId))
                    .col(big_integer_null(Rewards::ReferrerId))
                    .col(string_len(Rewards::Recipient, 20))
                    .col(string_len(Rewards::Kind, 20))
                    .col(big_integer_null(Rewards::AmountMinor))
                    .col(string_len_null(Rewards::Currency, 3))
                    .col(string_len(Rewards::Description, 200))
                    .col(string_len(Rewards::Status, 20))
                    .col(integer(Rewards::Milestone).default(0))
                    .col(string_len(Rewards::DedupeKey, 120))
                    .col(big_integer_null(Rewards::ConversionEventId))
                    .col(timestamp_with_time_zone_null(Rewards::DueAt))
                    .col(timestamp_with_time_zone_null(Rewards::IssuedAt))
                    .col(timestamp_with_time_zone_null(Rewards::CancelledAt))
                    .col(string_len_null(Rewards::CancelReason, 40))
                    .col(boolean(Rewards::Clawback).default(false))
                    .col(timestamp_with_time_zone(Rewards::CreatedAt))
                    .col(timestamp_with_time_zone(Rewards::UpdatedAt))
                    .foreign_key(&mut fk(
                        (Rewards::Table, Rewards::CampaignId),
                        (Campaigns::Table, Campaigns::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        (Rewards::Table, Rewards::RuleId),
                        (RewardRules::Table, RewardRules::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        (Rewards::Table, Rewards::LeadId),
                        (Leads::Table, Leads::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        (Rewards::Table, Rewards::ReferrerId),
                        (Referrers::Table, Referrers::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        // Exactly once: one reward per rule, lead (or referrer milestone) and recipient.
        index(
            manager,
            "ux_rewards_dedupe",
            Rewards::Table,
            &["dedupe_key"],
            true,
        )
        .await?;
        index(
            manager,
            "ix_rewards_status",
            Rewards::Table,
            &["status", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_rewards_lead",
            Rewards::Table,
            &["lead_id"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_rewards_referrer",
            Rewards::Table,
            &["referrer_id", "rule_id"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(big_pk_auto(Outbox::Id))
                    .col(string_len_uniq(Outbox::EventId, 64))
                    .col(string_len(Outbox::EventType, 40))
                    .col(text(Outbox::Payload))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(big_pk_auto(WebhookEndpoints::Id))
                    .col(string_len(WebhookEndpoints::Url, 2048))
                    .col(string_len(WebhookEndpoints::Description, 200))
                    .col(string_len(WebhookEndpoints::Events, 500))
                    .col(string_len(WebhookEndpoints::Secret, 100))
                    .col(boolean(WebhookEndpoints::Enabled).default(true))
                    .col(text_null(WebhookEndpoints::DisabledReason))
                    .col(timestamp_with_time_zone_null(
                        WebhookEndpoints::FailingSince,
                    ))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(big_pk_auto(WebhookDeliveries::Id))
                    .col(big_integer(WebhookDeliveries::OutboxId))
                    .col(big_integer(WebhookDeliveries::EndpointId))
                    .col(string_len(WebhookDeliveries::Status, 20))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::LockedUntil,
                    ))
                    .col(integer_null(WebhookDeliveries::LastStatus))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::LastAttemptAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::DeliveredAt,
                    ))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .foreign_key(&mut fk(
                        (WebhookDeliveries::Table, WebhookDeliveries::OutboxId),
                        (Outbox::Table, Outbox::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        (WebhookDeliveries::Table, WebhookDeliveries::EndpointId),
                        (WebhookEndpoints::Table, WebhookEndpoints::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ux_webhook_deliveries_event_endpoint",
            WebhookDeliveries::Table,
            &["outbox_id", "endpoint_id"],
            true,
        )
        .await?;
        index(
            manager,
            "ix_webhook_deliveries_due",
            WebhookDeliveries::Table,
            &["status", "next_attempt_at"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_webhook_deliveries_endpoint",
            WebhookDeliveries::Table,
            &["endpoint_id", "id"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(InboundSources::Table)
                    .col(big_pk_auto(InboundSources::Id))
                    .col(big_integer(InboundSources::CampaignId))
                    .col(string_len(InboundSources::Name, 200))
                    .col(string_len(InboundSources::Preset, 20))
                    .col(string_len(InboundSources::TokenPrefix, 16))
                    .col(string_len_uniq(InboundSources::TokenHash, 64))
                    .col(string_len_null(InboundSources::Secret, 100))
                    .col(text(InboundSources::Mapping))
                    .col(string_len(InboundSources::DefaultEvent, 80))
                    .col(boolean(InboundSources::Enabled).default(true))
                    .col(timestamp_with_time_zone(InboundSources::CreatedAt))
                    .foreign_key(&mut fk(
                        (InboundSources::Table, InboundSources::CampaignId),
                        (Campaigns::Table, Campaigns::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(InboundDeliveries::Table)
                    .col(big_pk_auto(InboundDeliveries::Id))
                    .col(string_len(InboundDeliveries::Channel, 20))
                    .col(big_integer_null(InboundDeliveries::SourceId))
                    .col(string_len_null(InboundDeliveries::MessageId, 255))
                    .col(text(InboundDeliveries::Payload))
                    .col(string_len(InboundDeliveries::Outcome, 40))
                    .col(text(InboundDeliveries::Message))
                    .col(big_integer_null(InboundDeliveries::ConversionEventId))
                    .col(timestamp_with_time_zone(InboundDeliveries::CreatedAt))
                    .foreign_key(&mut fk(
                        (InboundDeliveries::Table, InboundDeliveries::SourceId),
                        (InboundSources::Table, InboundSources::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_inbound_deliveries_source",
            InboundDeliveries::Table,
            &["channel", "source_id", "id"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Settings::Table)
                    .col(string_len(Settings::Key, 64).primary_key())
                    .col(text(Settings::Value))
                    .col(timestamp_with_time_zone(Settings::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PromotionCodes::Table)
                    .col(big_pk_auto(PromotionCodes::Id))
                    .col(big_integer(PromotionCodes::CampaignId))
                    .col(big_integer(PromotionCodes::ReferrerId))
                    .col(string_len_null(PromotionCodes::PromotionCodeId, 255).unique_key())
                    .col(string_len_null(PromotionCodes::CodeKey, 255).unique_key())
                    .col(string_len_null(PromotionCodes::Code, 255))
                    .col(timestamp_with_time_zone(PromotionCodes::CreatedAt))
                    .foreign_key(&mut fk(
                        (PromotionCodes::Table, PromotionCodes::CampaignId),
                        (Campaigns::Table, Campaigns::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        (PromotionCodes::Table, PromotionCodes::ReferrerId),
                        (Referrers::Table, Referrers::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Imports::Table)
                    .col(big_pk_auto(Imports::Id))
                    .col(big_integer(Imports::CampaignId))
                    .col(string_len(Imports::Filename, 255))
                    .col(string_len(Imports::FileSha256, 64))
                    .col(string_len(Imports::Status, 20))
                    .col(big_integer(Imports::BytesTotal).default(0))
                    .col(big_integer(Imports::BytesDone).default(0))
                    .col(big_integer(Imports::Rows).default(0))
                    .col(big_integer(Imports::Imported).default(0))
                    .col(big_integer(Imports::Duplicates).default(0))
                    .col(big_integer(Imports::Unmatched).default(0))
                    .col(big_integer(Imports::Invalid).default(0))
                    .col(text(Imports::ErrorReport))
                    // The last preview's or import's report (JSON), for the admin.
                    .col(text(Imports::Report).default(""))
                    .col(timestamp_with_time_zone(Imports::CreatedAt))
                    .col(timestamp_with_time_zone_null(Imports::FinishedAt))
                    .foreign_key(&mut fk(
                        (Imports::Table, Imports::CampaignId),
                        (Campaigns::Table, Campaigns::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        // Campaigns made before rules existed get the default rule book a new campaign gets.
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO qualification_rules (campaign_id, events, requires_approval, \
             refund_unqualifies, auto_issue, updated_at) \
             SELECT id, 'purchase', false, true, false, created_at FROM campaigns",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO reward_rules (campaign_id, position, recipient, kind, description, \
             cadence, hold_days, created_at) \
             SELECT id, 0, 'referrer', 'custom', 'Thank-you reward', 'per_lead', 0, created_at \
             FROM campaigns",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Imports::Table.into_iden(),
            PromotionCodes::Table.into_iden(),
            Settings::Table.into_iden(),
            InboundDeliveries::Table.into_iden(),
            InboundSources::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
            Outbox::Table.into_iden(),
            Rewards::Table.into_iden(),
            ConversionEvents::Table.into_iden(),
            RewardRules::Table.into_iden(),
            QualificationRules::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for col in [
            Leads::QualifyingEventId.into_iden(),
            Leads::StatusReason.into_iden(),
            Leads::QualifiedAt.into_iden(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Leads::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Referrers::Table)
                    .drop_column(Referrers::LastIpHash)
                    .to_owned(),
            )
            .await
    }
}
