//! Sessions keyed by the SHA-256 of their id, with the time they began (for an absolute lifetime
//! besides the idle one). The old rows are keyed by the plain id, which a copy of the database
//! would hand to anyone who reads it; they cannot be rekeyed without it being a secret, so they
//! go: everyone signs in once more after this upgrade.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM sessions")
            .await?;
        // The table stays: rebuilding it (drop, create, index) failed now and then on SQLite with
        // "index ix_sessions_expires already exists" when many tests migrated at once. The
        // default is never used, since every row is written with its time.
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(
                        timestamp_with_time_zone(Sessions::CreatedAt)
                            .default("1970-01-01T00:00:00Z"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .drop_column(Sessions::CreatedAt)
                    .to_owned(),
            )
            .await
    }
}
