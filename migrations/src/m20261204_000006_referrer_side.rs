//! The referrer's side: the email outbox, single-use portal sign-in tokens, a referrer's email
//! preference, and what a campaign's portal says (headline, intro, reward text, terms, footer,
//! whether anyone may join, which sites may embed it).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    PortalHeadline,
    PortalIntro,
    RewardText,
    TermsUrl,
    PortalFooter,
    SignupOpen,
    FrameAncestors,
}

#[derive(DeriveIden)]
enum Referrers {
    Table,
    Id,
    EmailsOptOut,
}

#[derive(DeriveIden)]
enum Emails {
    Table,
    Id,
    CampaignId,
    ReferrerId,
    Kind,
    ToAddress,
    Subject,
    HtmlBody,
    TextBody,
    MessageId,
    DedupeKey,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastError,
    SentAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PortalTokens {
    Table,
    Id,
    TokenHash,
    ReferrerId,
    Purpose,
    ExpiresAt,
    UsedAt,
    CreatedAt,
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
            text_null(Campaigns::PortalHeadline),
            text_null(Campaigns::PortalIntro),
            text_null(Campaigns::RewardText),
            text_null(Campaigns::TermsUrl),
            text_null(Campaigns::PortalFooter),
            // Campaigns made before the portal existed let people join, as new ones do.
            boolean(Campaigns::SignupOpen).default(true).to_owned(),
            text_null(Campaigns::FrameAncestors),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Campaigns::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Referrers::Table)
                    .add_column(boolean(Referrers::EmailsOptOut).default(false))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Emails::Table)
                    .col(big_pk_auto(Emails::Id))
                    .col(big_integer_null(Emails::CampaignId))
                    .col(big_integer_null(Emails::ReferrerId))
                    .col(string_len(Emails::Kind, 40))
                    .col(text(Emails::ToAddress))
                    .col(text(Emails::Subject))
                    .col(text(Emails::HtmlBody))
                    .col(text(Emails::TextBody))
                    .col(string_len(Emails::MessageId, 200))
                    .col(string_len_null(Emails::DedupeKey, 200))
                    .col(string_len(Emails::Status, 20))
                    .col(integer(Emails::Attempts).default(0))
                    .col(timestamp_with_time_zone(Emails::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(Emails::LockedUntil))
                    .col(text_null(Emails::LastError))
                    .col(timestamp_with_time_zone_null(Emails::SentAt))
                    .col(timestamp_with_time_zone(Emails::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Emails::Table, Emails::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Emails::Table, Emails::ReferrerId)
                            .to(Referrers::Table, Referrers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // "Never twice": an email that must go out once (a referrer's first link-and-code email)
        // carries a key; several NULLs are allowed on both databases.
        index(
            manager,
            "ux_emails_dedupe",
            Emails::Table,
            &["dedupe_key"],
            true,
        )
        .await?;
        index(
            manager,
            "ix_emails_due",
            Emails::Table,
            &["status", "next_attempt_at"],
            false,
        )
        .await?;
        index(
            manager,
            "ix_emails_referrer",
            Emails::Table,
            &["referrer_id", "kind"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(PortalTokens::Table)
                    .col(big_pk_auto(PortalTokens::Id))
                    .col(string_len(PortalTokens::TokenHash, 64))
                    .col(big_integer(PortalTokens::ReferrerId))
                    .col(string_len(PortalTokens::Purpose, 20))
                    .col(timestamp_with_time_zone(PortalTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(PortalTokens::UsedAt))
                    .col(timestamp_with_time_zone(PortalTokens::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PortalTokens::Table, PortalTokens::ReferrerId)
                            .to(Referrers::Table, Referrers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ux_portal_tokens_hash",
            PortalTokens::Table,
            &["token_hash"],
            true,
        )
        .await?;
        index(
            manager,
            "ix_portal_tokens_referrer",
            PortalTokens::Table,
            &["referrer_id", "created_at"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PortalTokens::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Emails::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Referrers::Table)
                    .drop_column(Referrers::EmailsOptOut)
                    .to_owned(),
            )
            .await?;
        for col in [
            Campaigns::PortalHeadline,
            Campaigns::PortalIntro,
            Campaigns::RewardText,
            Campaigns::TermsUrl,
            Campaigns::PortalFooter,
            Campaigns::SignupOpen,
            Campaigns::FrameAncestors,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Campaigns::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
