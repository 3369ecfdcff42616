//! The amount a lead qualified with (its qualifying conversion's amount and currency), kept on
//! the lead so the Leads tab sorts by it with keyset paging, and indexes for that order.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DatabaseBackend},
};

use crate::indexes::{self, Index};

/// The migration.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000021_lead_amount"
    }
}

#[derive(DeriveIden)]
enum Leads {
    Table,
    AmountMinor,
    AmountCurrency,
}

/// Largest first within a campaign, and across campaigns.
const INDEXES: [Index; 2] = [
    (
        "ix_leads_campaign_amount",
        "leads",
        "campaign_id, amount_minor, id",
    ),
    ("ix_leads_amount", "leads", "amount_minor, id"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Leads::Table)
                    .add_column(big_integer(Leads::AmountMinor).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Leads::Table)
                    .add_column(string_len_null(Leads::AmountCurrency, 8))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // Only qualified leads have a qualifying event; one statement either way.
        let backfill = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "UPDATE leads SET amount_minor = COALESCE(e.amount_minor, 0), amount_currency = e.currency \
                 FROM conversion_events e WHERE e.id = leads.qualifying_event_id"
            }
            _ => {
                "UPDATE leads SET (amount_minor, amount_currency) = \
                 (SELECT COALESCE(e.amount_minor, 0), e.currency FROM conversion_events e WHERE e.id = leads.qualifying_event_id) \
                 WHERE qualifying_event_id IS NOT NULL"
            }
        };
        db.execute_unprepared(backfill).await?;
        indexes::create(manager, &INDEXES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        indexes::drop(manager, &INDEXES).await?;
        for column in [Leads::AmountCurrency, Leads::AmountMinor] {
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
