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
    keyset(
        db,
        query,
        id,
        after,
        Order::NewestFirst,
        PAGE_SIZE,
        id_of,
        context,
    )
    .await
}

/// Which end of a list comes first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Highest id first (the default of every list).
    #[default]
    NewestFirst,
    /// Lowest id first.
    OldestFirst,
}

/// `size` rows of `query` past the cursor `after` in `order`, and the cursor of the next page.
#[allow(clippy::too_many_arguments)] // each is one part of the page asked for; a struct would only rename them
pub async fn keyset<E: EntityTrait>(
    db: &impl ConnectionTrait,
    query: Select<E>,
    id: E::Column,
    after: Option<i64>,
    order: Order,
    size: u64,
    id_of: impl Fn(&E::Model) -> i64,
    context: &str,
) -> Result<(Vec<E::Model>, Option<i64>), AppError> {
    let query = match (after, order) {
        (Some(after), Order::NewestFirst) => query.filter(id.lt(after)).order_by_desc(id),
        (Some(after), Order::OldestFirst) => query.filter(id.gt(after)).order_by_asc(id),
        (None, Order::NewestFirst) => query.order_by_desc(id),
        (None, Order::OldestFirst) => query.order_by_asc(id),
    };
    let mut rows = query
        .limit(size + 1)
        .all(db)
        .await
        .map_err(|e| AppError::internal(context, e))?;
    let next_cursor = if rows.len() as u64 > size {
        rows.truncate(size as usize);
        rows.last().map(&id_of)
    } else {
        None
    };
    Ok((rows, next_cursor))
}
