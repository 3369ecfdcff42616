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
        db::begin_write,
        entities::api_key,
        services::{
            audit::{self, Actor, Change, Object},
            secrets::{random_token, sha256_hex},
        },
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
    actor: &Actor,
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
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("api_keys::create begin", e))?;
    let row = api_key::ActiveModel {
        name: Set(name.to_owned()),
        prefix: Set(key.chars().take(10).collect()),
        key_hash: Set(sha256_hex(&key)),
        access: Set(access.as_str().to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::internal("api_keys::create", e))?;
    audit::record(
        &txn,
        actor,
        Change {
            action: "api_key.created",
            campaign_id: None,
            object: Object::ApiKey(row.id),
            summary: format!(
                "Created the API key “{}” ({} access).",
                row.name,
                access.as_str()
            ),
        },
    )
    .await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("api_keys::create commit", e))?;
    Ok((row.id, key))
}

/// The key's id and access when `key` is a live (unrevoked) key.
pub async fn authenticate(
    db: &DatabaseConnection,
    key: &str,
) -> Result<Option<KeyIdentity>, AppError> {
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
    let identity = KeyIdentity {
        id: row.id,
        name: row.name.clone(),
        access: stored_access(&row),
    };
    if stale {
        let mut active: api_key::ActiveModel = row.into();
        active.last_used_at = Set(Some(Utc::now()));
        if let Err(e) = active.update(db).await {
            tracing::warn!(error = %e, "could not record API key use");
        }
    }
    Ok(Some(identity))
}

/// A live key that a request presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyIdentity {
    /// Its id.
    pub id: i64,
    /// Its name, as the audit log shows who made a change.
    pub name: String,
    /// What it may do.
    pub access: ApiAccess,
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
pub async fn revoke(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<(), AppError> {
    let row = api_key::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(|e| AppError::internal("api_keys::revoke find", e))?
        .ok_or_else(|| AppError::not_found("API key"))?;
    if row.revoked_at.is_some() {
        return Ok(());
    }
    let summary = format!("Revoked the API key “{}”.", row.name);
    let mut active: api_key::ActiveModel = row.into();
    active.revoked_at = Set(Some(Utc::now()));
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("api_keys::revoke begin", e))?;
    active
        .update(&txn)
        .await
        .map_err(|e| AppError::internal("api_keys::revoke", e))?;
    audit::record(
        &txn,
        actor,
        Change {
            action: "api_key.revoked",
            campaign_id: None,
            object: Object::ApiKey(id),
            summary,
        },
    )
    .await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("api_keys::revoke commit", e))
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
