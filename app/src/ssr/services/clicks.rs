//! Clicks on referral links, written in batches off the request path.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

use crate::{
    error::AppError,
    ssr::{db::begin_write, entities::click},
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
}

/// Rows per INSERT statement: well under SQLite's bound-parameter limit.
const ROWS_PER_STATEMENT: usize = 500;

/// Writes a batch of clicks in one transaction, so a retry after a failure never writes part of
/// the batch twice.
pub async fn insert_batch(db: &DatabaseConnection, clicks: &[NewClick]) -> Result<(), AppError> {
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("clicks::insert_batch begin", e))?;
    for chunk in clicks.chunks(ROWS_PER_STATEMENT) {
        let rows = chunk.iter().map(|c| click::ActiveModel {
            campaign_id: Set(c.campaign_id),
            referrer_id: Set(c.referrer_id),
            ip_hash: Set(c.ip_hash.clone()),
            user_agent: Set(c.user_agent.chars().take(512).collect()),
            visitor_id: Set(c.visitor_id.clone()),
            created_at: Set(c.at),
            ..Default::default()
        });
        click::Entity::insert_many(rows)
            .exec(&txn)
            .await
            .map_err(|e| AppError::internal("clicks::insert_batch", e))?;
    }
    txn.commit()
        .await
        .map_err(|e| AppError::internal("clicks::insert_batch commit", e))
}
