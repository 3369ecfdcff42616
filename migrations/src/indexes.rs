//! Creating and dropping plain indexes given as `(name, table, columns)`, for migrations that
//! add a few at once.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

/// One index: its name, its table and its columns as SQL (`"campaign_id, id"`). In `columns`,
/// `{C}` stands for `COLLATE "C"` on PostgreSQL (byte order, so `LIKE 'x%'` and `=` on text can
/// use the index) and for nothing on SQLite (whose default collation is already byte order).
pub type Index = (&'static str, &'static str, &'static str);

/// Creates each of `indexes`.
pub async fn create(manager: &SchemaManager<'_>, indexes: &[Index]) -> Result<(), DbErr> {
    let collate = match manager.get_database_backend() {
        DatabaseBackend::Postgres => "COLLATE \"C\"",
        _ => "",
    };
    let db = manager.get_connection();
    for (name, table, columns) in indexes {
        let columns = columns.replace("{C}", collate);
        db.execute_unprepared(&format!("CREATE INDEX {name} ON {table} ({columns})"))
            .await?;
    }
    Ok(())
}

/// Drops each of `indexes`.
pub async fn drop(manager: &SchemaManager<'_>, indexes: &[Index]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for (name, _, _) in indexes {
        db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
    }
    Ok(())
}
