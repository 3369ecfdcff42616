//! API keys: shown once at creation, stored as SHA-256 hashes, revocable.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};

use crate::{
    domain::api_access::ApiAccess,
    error::AppError,
    ssr::{
        entities::api_key,
        services::secrets::{random_token, sha256_hex},
    },
};

/// Every key starts with this, so leaked keys are easy to recognise and scan for.
pub const KEY_PREFIX: &str = "hk_";

/// A key as listed to admins (never the key itself).
#[derive(Clone, Debug)]
pub struct ApiKeyInfo {
    /// Database id.
    pub id: i64,
    /// A name to recognise it by.
    pub name: String,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    /// Whether the key was revoked.
    pub revoked: bool,
    /// What the key may do.
    pub access: ApiAccess,
}

/// Creates a key named `name` with `access` and returns `(id, key)`. The key is never
/// retrievable again.
pub async fn create(
    db: &DatabaseConnection,
    name: &str,
    access: ApiAccess,
) -> Result<(i64, String), AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid(
            "invalid_name",
            "name",
            "Give the key a name of 1 to 200 characters.",
        ));
    }
    let key = format!("{KEY_PREFIX}{}", random_token(30));
    let row = api_key::ActiveModel {
        name: Set(name.to_owned()),
        prefix: Set(key.chars().take(10).collect()),
        key_hash: Set(sha256_hex(&key)),
        access: Set(access.as_str().to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| AppError::internal("api_keys::create", e))?;
    Ok((row.id, key))
}

/// The key's id and access when `key` is a live (unrevoked) key.
pub async fn authenticate(
    db: &DatabaseConnection,
    key: &str,
) -> Result<Option<(i64, ApiAccess)>, AppError> {
    if !key.starts_with(KEY_PREFIX) {
        return Ok(None);
    }
    let Some(row) = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(sha256_hex(key)))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await
        .map_err(|e| AppError::internal("api_keys::authenticate", e))?
    else {
        return Ok(None);
    };
    // Record use at most once a minute, so a busy integration does not write on every call.
    let stale = row
        .last_used_at
        .is_none_or(|at| Utc::now() - at > Duration::minutes(1));
    let id = row.id;
    let access = stored_access(&row);
    if stale {
        let mut active: api_key::ActiveModel = row.into();
        active.last_used_at = Set(Some(Utc::now()));
        if let Err(e) = active.update(db).await {
            tracing::warn!(error = %e, "could not record API key use");
        }
    }
    Ok(Some((id, access)))
}

/// A stored key's access. A value this version does not know allows only reading: a key is never
/// given more than was meant.
fn stored_access(row: &api_key::Model) -> ApiAccess {
    ApiAccess::parse(&row.access).unwrap_or_else(|| {
        tracing::warn!(key = row.id, access = %row.access, "unknown API key access; read only");
        ApiAccess::ReadOnly
    })
}

/// Revokes a key; revoking twice is harmless.
pub async fn revoke(db: &DatabaseConnection, id: i64) -> Result<(), AppError> {
    let row = api_key::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(|e| AppError::internal("api_keys::revoke find", e))?
        .ok_or_else(|| AppError::not_found("API key"))?;
    if row.revoked_at.is_some() {
        return Ok(());
    }
    let mut active: api_key::ActiveModel = row.into();
    active.revoked_at = Set(Some(Utc::now()));
    active
        .update(db)
        .await
        .map_err(|e| AppError::internal("api_keys::revoke", e))?;
    Ok(())
}

/// All keys, newest first.
pub async fn list(db: &DatabaseConnection) -> Result<Vec<ApiKeyInfo>, AppError> {
    Ok(api_key::Entity::find()
        .order_by_desc(api_key::Column::Id)
        .all(db)
        .await
        .map_err(|e| AppError::internal("api_keys::list", e))?
        .into_iter()
        .map(|k| ApiKeyInfo {
            id: k.id,
            access: stored_access(&k),
            name: k.name,
            prefix: k.prefix,
            revoked: k.revoked_at.is_some(),
        })
        .collect())
}
