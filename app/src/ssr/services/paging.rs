//! Keyset pagination, newest first, shared by every list in the admin and the REST API.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};

use crate::error::AppError;

/// Rows per page.
pub const PAGE_SIZE: u64 = 50;

/// One page of `query`: rows whose `id` is below `after`, newest first, and the cursor of the next
/// page (fetching one row more than a page tells whether there is one).
pub async fn newest_first<E: EntityTrait>(
    db: &impl ConnectionTrait,
    query: Select<E>,
    id: E::Column,
    after: Option<i64>,
    id_of: impl Fn(&E::Model) -> i64,
    context: &str,
) -> Result<(Vec<E::Model>, Option<i64>), AppError> {
    let query = match after {
        Some(after) => query.filter(id.lt(after)),
        None => query,
    };
    let mut rows = query
        .order_by_desc(id)
        .limit(PAGE_SIZE + 1)
        .all(db)
        .await
        .map_err(|e| AppError::internal(context, e))?;
    let next_cursor = if rows.len() as u64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(&id_of)
    } else {
        None
    };
    Ok((rows, next_cursor))
}
