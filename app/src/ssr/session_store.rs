//! A tower-sessions store on sea-orm, so sessions live in the application's own database and
//! several server processes share them. (The published sqlx store is on another sqlx version.)
//!
//! Rows are keyed by the SHA-256 of the session id, so a copy of the database (a backup, a read
//! through another hole) gives nobody a session to ride: the id exists only in the browser's
//! cookie. A session ends after a week unused, and [`ABSOLUTE_LIFETIME`] after it began however
//! much it is used, so a stolen cookie does not live forever.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::{ExprTrait, OnConflict},
};
use tower_sessions::{
    ExpiredDeletion, SessionStore,
    session::{Id, Record},
    session_store,
};

use crate::ssr::{db::is_unique_violation, entities::session, services::secrets::sha256_hex};

/// How long a session lasts at most from its sign-in, used or not.
pub const ABSOLUTE_LIFETIME: chrono::Duration = chrono::Duration::days(14);

/// The key a session's row is stored under: the SHA-256 of its id.
pub fn row_key(id: &Id) -> String {
    sha256_hex(&id.to_string())
}

/// Sessions stored in the `sessions` table.
#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

impl DbSessionStore {
    /// A store on the given pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn backend(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

fn to_chrono(t: time::OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_else(Utc::now)
}

fn active_model(record: &Record) -> session_store::Result<session::ActiveModel> {
    let data = serde_json::to_string(&record.data)
        .map_err(|e| session_store::Error::Encode(e.to_string()))?;
    Ok(session::ActiveModel {
        id: Set(row_key(&record.id)),
        data: Set(data),
        expires_at: Set(to_chrono(record.expiry_date)),
        // Kept as first written: `save` does not update it.
        created_at: Set(Utc::now()),
    })
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh id can collide with an existing one; pick another rather than overwrite it.
        loop {
            match session::Entity::insert(active_model(record)?)
                .exec(&self.db)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if is_unique_violation(&e) => record.id = Id::default(),
                Err(e) => return Err(backend(e)),
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        session::Entity::insert(active_model(record)?)
            .on_conflict(
                OnConflict::column(session::Column::Id)
                    .update_columns([session::Column::Data, session::Column::ExpiresAt])
                    .to_owned(),
            )
            .exec(&self.db)
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = Utc::now();
        let Some(row) = session::Entity::find_by_id(row_key(id))
            .filter(session::Column::ExpiresAt.gt(now))
            .filter(session::Column::CreatedAt.gt(now - ABSOLUTE_LIFETIME))
            .one(&self.db)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(row.expires_at.timestamp())
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        session::Entity::delete_by_id(row_key(id))
            .exec(&self.db)
            .await
            .map(|_| ())
            .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let now = Utc::now();
        session::Entity::delete_many()
            .filter(
                session::Column::ExpiresAt
                    .lte(now)
                    .or(session::Column::CreatedAt.lte(now - ABSOLUTE_LIFETIME)),
            )
            .exec(&self.db)
            .await
            .map(|_| ())
            .map_err(backend)
    }
}
