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
    /// What the key may do, for people ("Read only").
    pub access: String,
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
            access: k.access.label().to_owned(),
        })
        .collect())
}

/// Session key holding a just-created API key until the page has shown it once.
#[cfg(feature = "ssr")]
const NEW_KEY: &str = "new_api_key";

/// Creates a key and returns it: the only time it is ever shown. It is also parked in the
/// session, so that a form posted without JavaScript (answered by a redirect) can show it once.
/// `access` is `full` (when not given), `conversions` or `read` (`ApiAccess::as_str`).
#[server(prefix = "/rpc", endpoint = "api_key_create")]
pub async fn create_api_key(name: String, access: Option<String>) -> Result<String, AppError> {
    use crate::{
        domain::{api_access::ApiAccess, roles::Permission},
        ssr::{
            auth,
            services::{api_keys, audit::Actor},
        },
    };
    let admin = auth::require(Permission::ManageApiKeys).await?;
    let access = ApiAccess::parse(access.as_deref().unwrap_or("full")).ok_or_else(|| {
        AppError::invalid(
            "invalid_access",
            "access",
            "Choose the key's access from the list.",
        )
    })?;
    let (_, key) =
        api_keys::create(&auth::state()?.db, &Actor::admin(&admin), &name, access).await?;
    auth::session()
        .await?
        .insert(NEW_KEY, key.clone())
        .await
        .map_err(|e| AppError::internal("create_api_key session", e))?;
    Ok(key)
}

/// The key created last in this session, once: reading it forgets it.
#[server(prefix = "/rpc", endpoint = "api_key_take_new")]
pub async fn take_new_api_key() -> Result<Option<String>, AppError> {
    use crate::{domain::roles::Permission, ssr::auth};
    auth::require(Permission::ManageApiKeys).await?;
    auth::session()
        .await?
        .remove::<String>(NEW_KEY)
        .await
        .map_err(|e| AppError::internal("take_new_api_key session", e))
}

/// Revokes a key.
#[server(prefix = "/rpc", endpoint = "api_key_revoke")]
pub async fn revoke_api_key(id: i64) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{api_keys, audit::Actor},
        },
    };
    let admin = auth::require(Permission::ManageApiKeys).await?;
    api_keys::revoke(&auth::state()?.db, &Actor::admin(&admin), id).await
}
