//! API key server functions.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// An API key as listed (never the key itself).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    /// Database id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// First characters, to tell keys apart.
    pub prefix: String,
    /// Revoked keys no longer work.
    pub revoked: bool,
}

/// All API keys.
#[server(prefix = "/rpc", endpoint = "api_keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyRow>, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::api_keys},
    };
    auth::require(Permission::ManageApiKeys).await?;
    Ok(api_keys::list(&auth::state()?.db)
        .await?
        .into_iter()
        .map(|k| ApiKeyRow {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            revoked: k.revoked,
        })
        .collect())
}

/// Creates a key and returns it: the only time it is ever shown.
#[server(prefix = "/rpc", endpoint = "api_key_create")]
pub async fn create_api_key(name: String) -> Result<String, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::api_keys},
    };
    auth::require(Permission::ManageApiKeys).await?;
    api_keys::create(&auth::state()?.db, &name)
        .await
        .map(|(_, key)| key)
}

/// Revokes a key.
#[server(prefix = "/rpc", endpoint = "api_key_revoke")]
pub async fn revoke_api_key(id: i64) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::api_keys},
    };
    auth::require(Permission::ManageApiKeys).await?;
    api_keys::revoke(&auth::state()?.db, id).await
}
