//! Clicks on referral links, written in batches off the request path.

use chrono::{DateTime, Utc};
use std::sync::OnceLock;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};

use crate::{
    domain::channel::{Channel, ChannelCounts},
    error::AppError,
    ssr::db::begin_write,
};

/// A click waiting to be written.
#[derive(Clone, Debug)]
pub struct NewClick {
    /// The campaign of the link.
    pub campaign_id: i64,
    /// The referrer whose link was clicked.
    pub referrer_id: i64,
    /// Keyed hash of the client IP (never the IP itself).
    pub ip_hash: String,
    /// The browser's user agent, cut to 512 characters.
    pub user_agent: String,
    /// The random id of the visitor's attribution cookie.
    pub visitor_id: String,
    /// When the click happened.
    pub at: DateTime<Utc>,
    /// The channel its link carried (`?ch=`).
    pub channel: Channel,
}

/// Rows per INSERT statement: well under SQLite's bound-parameter limit.
const ROWS_PER_STATEMENT: usize = 500;

/// The columns written, in order.
const COLUMNS: &str =
    "campaign_id, referrer_id, ip_hash, user_agent, visitor_id, created_at, channel";
const VALUES_PER_ROW: usize = 7;

/// `INSERT INTO clicks (...) VALUES (...), (...)` for `rows` rows in the backend's placeholder
/// style. Written by hand because this is the hottest write in the system: building the same
/// statement through the query builder for every batch cost more than executing it, and a fixed
/// text lets the driver reuse its prepared statement.
fn insert_sql(backend: DbBackend, rows: usize) -> String {
    let mut sql = format!("INSERT INTO clicks ({COLUMNS}) VALUES ");
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..VALUES_PER_ROW {
            if col > 0 {
                sql.push_str(", ");
            }
            match backend {
                DbBackend::Postgres => {
                    sql.push('$');
                    sql.push_str(&(row * VALUES_PER_ROW + col + 1).to_string());
                }
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

/// Writes a batch of clicks in one transaction, so a retry after a failure never writes part of
/// the batch twice.
pub async fn insert_batch(db: &DatabaseConnection, clicks: &[NewClick]) -> Result<(), AppError> {
    static FULL_SQLITE: OnceLock<String> = OnceLock::new();
    static FULL_POSTGRES: OnceLock<String> = OnceLock::new();
    let backend = db.get_database_backend();
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("clicks::insert_batch begin", e))?;
    for chunk in clicks.chunks(ROWS_PER_STATEMENT) {
        let sql = if chunk.len() == ROWS_PER_STATEMENT {
            let cell = if backend == DbBackend::Postgres {
                &FULL_POSTGRES
            } else {
                &FULL_SQLITE
            };
            cell.get_or_init(|| insert_sql(backend, ROWS_PER_STATEMENT))
                .clone()
        } else {
            insert_sql(backend, chunk.len())
        };
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * VALUES_PER_ROW);
        for c in chunk {
            values.push(c.campaign_id.into());
            values.push(c.referrer_id.into());
            values.push(c.ip_hash.clone().into());
            values.push(c.user_agent.clone().into());
            values.push(c.visitor_id.clone().into());
            values.push(c.at.into());
            values.push(c.channel.as_str().into());
        }
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .map_err(|e| AppError::internal("clicks::insert_batch", e))?;
    }
    txn.commit()
        .await
        .map_err(|e| AppError::internal("clicks::insert_batch commit", e))
}

/// Clicks per channel of referrer `referrer_id`, counted from its `(referrer_id, channel)` index
/// alone.
/// (A campaign's are maintained: `services::overview`.)
pub async fn by_channel(
    db: &DatabaseConnection,
    referrer_id: i64,
) -> Result<ChannelCounts, AppError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

    use crate::ssr::entities::click;
    let rows: Vec<(String, i64)> = click::Entity::find()
        .select_only()
        .column(click::Column::Channel)
        // `COUNT(*)`, not `COUNT(id)`: the index alone answers it (with `id`, PostgreSQL read
        // every click's row: 53 ms for 10,000 clicks).
        .column_as(sea_orm::sea_query::Expr::cust("COUNT(*)"), "clicks")
        .group_by(click::Column::Channel)
        .filter(click::Column::ReferrerId.eq(referrer_id))
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| AppError::internal("clicks::by_channel", e))?;
    Ok(ChannelCounts::from_rows(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_insert_statement_numbers_postgres_placeholders_row_by_row() {
        assert_eq!(
            insert_sql(DbBackend::Postgres, 2),
            "INSERT INTO clicks (campaign_id, referrer_id, ip_hash, user_agent, visitor_id, created_at, channel) VALUES ($1, $2, $3, $4, $5, $6, $7), ($8, $9, $10, $11, $12, $13, $14)"
        );
        assert!(insert_sql(DbBackend::Sqlite, 1).ends_with("VALUES (?, ?, ?, ?, ?, ?, ?)"));
    }
}
