//! Finding a lead: by the start of the friend's name or email, and by an order id.
//!
//! `leads.name_key` is the name folded for search (trimmed, lower case in every script, runs of
//! white space as one space), so a prefix of it is one index range on both engines. PostgreSQL
//! builds the prefix indexes with the "C" collation: a range `>= 'jo' AND < 'jp'` then holds
//! exactly the keys that start with "jo" whatever the database's locale (a locale's collation
//! orders by letters first and can put "jo-x" outside that range).

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{DatabaseBackend, Statement},
};

use crate::indexes::{self, Index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Leads {
    Table,
    NameKey,
}

/// The indexes, by name, table and columns; `collated` columns are prefix-searched.
const INDEXES: [Index; 3] = [
    ("ix_leads_name_key", "leads", "name_key {C}, id"),
    ("ix_leads_email_key", "leads", "email_normalized {C}, id"),
    (
        "ix_conversion_events_event_id",
        "conversion_events",
        "event_id",
    ),
];

/// The search key of a name. The same folding as `app::domain::search::name_key`, frozen here
/// as it was when the column was added (a migration must not change with the app).
fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Rows folded per round trip of the backfill.
const BATCH: u64 = 1000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Leads::Table)
                    .add_column(string_len_null(Leads::NameKey, 200))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        // Folded in Rust, not with SQL's lower(): SQLite's lower() knows only ASCII letters.
        let mut after = 0i64;
        loop {
            let rows = db
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    match backend {
                        DatabaseBackend::Postgres => {
                            "SELECT id, name FROM leads WHERE id > $1 AND name IS NOT NULL ORDER BY id LIMIT $2"
                        }
                        _ => "SELECT id, name FROM leads WHERE id > ? AND name IS NOT NULL ORDER BY id LIMIT ?",
                    },
                    [after.into(), (BATCH as i64).into()],
                ))
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get::<i64>("", "id")?;
            for row in &rows {
                let id: i64 = row.try_get("", "id")?;
                let name: String = row.try_get("", "name")?;
                db.execute_raw(Statement::from_sql_and_values(
                    backend,
                    match backend {
                        DatabaseBackend::Postgres => "UPDATE leads SET name_key = $1 WHERE id = $2",
                        _ => "UPDATE leads SET name_key = ? WHERE id = ?",
                    },
                    [name_key(&name).into(), id.into()],
                ))
                .await?;
            }
        }
        indexes::create(manager, &INDEXES).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        indexes::drop(manager, &INDEXES).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Leads::Table)
                    .drop_column(Leads::NameKey)
                    .to_owned(),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::name_key;

    #[test]
    fn a_name_is_folded_for_search() {
        assert_eq!(name_key("  Élodie   DUPONT "), "élodie dupont");
        assert_eq!(name_key("Ann\tLee"), "ann lee");
    }
}
