//! Indexes the admin needs at a million leads (issue [5/7] §5, measured with
//! `scripts/bench-admin.sh`): a campaign's leads newest first, alone and by status (without
//! them SQLite read every lead of the campaign through its email index and sorted them: 700 ms
//! at 1,000,000), and a referrer's rewards counted by status from the index alone (the delete
//! form's "what goes with them": 50 ms for a referrer with 10,000 rewards).

use sea_orm_migration::prelude::*;

use crate::indexes::{self, Index};

/// The migration.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000020_admin_at_scale"
    }
}

const INDEXES: [Index; 3] = [
    ("ix_leads_campaign", "leads", "campaign_id, id"),
    (
        "ix_leads_campaign_status",
        "leads",
        "campaign_id, status, id",
    ),
    (
        "ix_rewards_referrer_status",
        "rewards",
        "referrer_id, recipient, status",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        indexes::create(manager, &INDEXES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        indexes::drop(manager, &INDEXES).await
    }
}
