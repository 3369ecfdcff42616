//! An index for claiming each webhook endpoint's due deliveries on their own (a fair share per
//! endpoint, see `deliveries::claim`): one endpoint's pending rows whose time has come, oldest
//! first, without reading another endpoint's backlog.

use sea_orm_migration::prelude::*;

use crate::indexes::{self, Index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [Index; 1] = [(
    "ix_webhook_deliveries_endpoint_due",
    "webhook_deliveries",
    "endpoint_id, status, next_attempt_at",
)];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        indexes::create(manager, &INDEXES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        indexes::drop(manager, &INDEXES).await
    }
}
