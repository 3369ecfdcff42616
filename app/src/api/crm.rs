//! CRM sync server functions (Integrations > HubSpot and Salesforce): the connections, Handoff's
//! properties in HubSpot, the Salesforce connection check, "sync all now" with its progress, and
//! the sync logs with "send again".

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What a form posted without JavaScript is told, by the code its redirect carries
/// (`?hubspot=code`): never text from the query itself, which anyone can write into a link.
pub const NOTICES: [(&str, &str); 6] = [
    (
        "disconnected",
        "HubSpot is disconnected: nothing is sent any more.",
    ),
    ("properties_created", "Handoff's properties are in HubSpot."),
    (
        "properties_refused",
        "HubSpot refused to create the properties: check the token and that the private app has the crm.schemas.contacts.write scope.",
    ),
    (
        "properties_failed",
        "HubSpot did not create the properties; the server log has its answer.",
    ),
    (
        "queued",
        "Every referrer and lead is queued for HubSpot: the numbers below show the progress.",
    ),
    ("resent", "Queued again: it goes with the next batch."),
];

/// The text of a notice code of [`NOTICES`].
pub fn notice(code: &str) -> Option<&'static str> {
    NOTICES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, text)| *text)
}

/// Rows of the sync log shown.
pub const LOG_SHOWN: u64 = 50;

/// A CRM's queue: its progress and newest answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// Referrers and leads waiting to be sent (or retried).
    pub pending: i64,
    /// Sent, and the CRM has them.
    pub synced: i64,
    /// Given up after every retry: see the log.
    pub failed: i64,
    /// The newest attempts, newest first.
    pub log: Vec<SyncLine>,
}

/// HubSpot as set up, with the queue's progress and the newest answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubSpotOverview {
    /// The end of the stored access token (`…abcd`); `None` when HubSpot is not connected.
    pub token_hint: Option<String>,
    /// The queue.
    pub progress: SyncProgress,
}

/// Salesforce as set up, with the queue's progress and the newest answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesforceOverview {
    /// The My Domain URL, if set.
    pub domain: Option<String>,
    /// The consumer key, if set (not a secret: Salesforce shows it to every admin).
    pub client_id: Option<String>,
    /// The end of the stored consumer secret; `None` when Salesforce is not connected.
    pub secret_hint: Option<String>,
    /// `Contact` or `Lead`.
    pub object: String,
    /// The external id field records are matched by.
    pub external_id: String,
    /// The custom fields Handoff writes: API name, label, Salesforce type.
    pub fields: Vec<(String, String, String)>,
    /// The queue.
    pub progress: SyncProgress,
}

/// One row of the sync log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncLine {
    /// The queue row (for "send again").
    pub id: i64,
    /// `referrer` or `lead`.
    pub object_kind: String,
    /// The referrer's or lead's id.
    pub object_id: i64,
    /// `pending`, `synced`, `failed` or `skipped`.
    pub status: String,
    /// Failed attempts since the last change.
    pub attempts: i32,
    /// HubSpot's HTTP status (none: no answer).
    pub last_status: Option<i32>,
    /// The start of HubSpot's reply.
    pub reply: String,
    /// When the last attempt was made.
    pub at: Option<DateTime<Utc>>,
}

/// `crm`'s progress and newest log rows.
#[cfg(feature = "ssr")]
async fn progress(db: &sea_orm::DatabaseConnection, crm: &str) -> Result<SyncProgress, AppError> {
    use crate::ssr::services::crm as sync;
    let counts = sync::counts(db, crm).await?;
    let log = sync::log(db, crm, LOG_SHOWN)
        .await?
        .into_iter()
        .map(|row| SyncLine {
            id: row.id,
            object_kind: row.object_kind,
            object_id: row.object_id,
            status: row.status,
            attempts: row.attempts,
            last_status: row.last_status,
            reply: row
                .last_reply
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect(),
            at: row.last_attempt_at,
        })
        .collect();
    Ok(SyncProgress {
        pending: counts.pending,
        synced: counts.synced,
        failed: counts.failed,
        log,
    })
}

/// HubSpot's settings, progress and sync log.
#[server(prefix = "/rpc", endpoint = "hubspot")]
pub async fn get_hubspot() -> Result<HubSpotOverview, AppError> {
    use crate::{
        api::integrations::secret_hint,
        domain::roles::Permission,
        ssr::{
            auth,
            services::{crm, settings},
        },
    };
    auth::require(Permission::ViewData).await?;
    let state = auth::state()?;
    let token = settings::get(&state.db, crm::hubspot::TOKEN).await?;
    Ok(HubSpotOverview {
        token_hint: token.map(|t| secret_hint(&t)),
        progress: progress(&state.db, crm::HUBSPOT).await?,
    })
}

/// Stores HubSpot's private app access token; never shown back.
#[server(prefix = "/rpc", endpoint = "hubspot_token")]
pub async fn save_hubspot_token(token: String) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, crm::hubspot},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    hubspot::set_token(&auth::state()?.db, &Actor::admin(&admin), &token).await?;
    crate::api::redirect_back_with(&[("saved", "hubspot_token")]);
    Ok(())
}

/// Forgets HubSpot's access token: nothing is sent any more (the queue and its log stay).
#[server(prefix = "/rpc", endpoint = "hubspot_disconnect")]
pub async fn disconnect_hubspot() -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, crm::hubspot},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    hubspot::disconnect(&auth::state()?.db, &Actor::admin(&admin)).await?;
    crate::api::redirect_back_with(&[("hubspot", "disconnected")]);
    Ok(())
}

/// Creates Handoff's contact properties in HubSpot; says what HubSpot answered (a form posted
/// without JavaScript gets `?hubspot=` one of [`NOTICES`]' codes).
#[server(prefix = "/rpc", endpoint = "hubspot_properties")]
pub async fn create_hubspot_properties() -> Result<String, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::crm::hubspot},
    };
    auth::require(Permission::ManageIntegrations).await?;
    let state = auth::state()?;
    let connection = hubspot::connection(&state.db).await?.ok_or_else(|| {
        AppError::invalid(
            "not_connected",
            "token",
            "Save HubSpot's access token first.",
        )
    })?;
    let reply = hubspot::create_properties(
        &crate::ssr::services::crm::client(state.settings.allow_private_networks)?,
        &connection,
    )
    .await;
    let (notice, message) = hubspot::properties_outcome(&reply);
    crate::api::redirect_back_with(&[("hubspot", notice)]);
    Ok(message)
}

/// Queues every referrer and lead for HubSpot; returns how many.
#[server(prefix = "/rpc", endpoint = "hubspot_sync_all")]
pub async fn sync_hubspot_now() -> Result<u64, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{
                audit::Actor,
                crm::{self, hubspot},
            },
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    let state = auth::state()?;
    if hubspot::connection(&state.db).await?.is_none() {
        return Err(AppError::invalid(
            "not_connected",
            "token",
            "Save HubSpot's access token first.",
        ));
    }
    let queued = crm::touch_all(&state.db, &Actor::admin(&admin), crm::HUBSPOT).await?;
    crate::api::redirect_back_with(&[("hubspot", "queued")]);
    Ok(queued)
}

/// Sends one sync log row again (to the CRM the row is for).
#[server(prefix = "/rpc", endpoint = "crm_resend")]
pub async fn resend_crm_row(id: i64) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::crm},
    };
    auth::require(Permission::ManageIntegrations).await?;
    let crm = crm::resend(&auth::state()?.db, id).await?;
    crate::api::redirect_back_with(&[(crm, "resent")]);
    Ok(())
}

/// What a Salesforce form posted without JavaScript is told, by the code its redirect carries
/// (`?salesforce=code`).
pub const SALESFORCE_NOTICES: [(&str, &str); 8] = [
    (
        "disconnected",
        "Salesforce is disconnected: nothing is sent any more.",
    ),
    (
        "ready",
        "Connected: the object has every field Handoff writes.",
    ),
    (
        "signin_refused",
        "Salesforce refused to sign in: check the My Domain URL, the consumer key and secret, and that the connected app allows the client credentials flow with a Run As user.",
    ),
    (
        "describe_failed",
        "Signed in, but Salesforce did not describe the object; the server log has its answer.",
    ),
    (
        "fields_missing",
        "Signed in, but some of Handoff's fields are missing: create them (see the list below).",
    ),
    (
        "not_external_id",
        "Signed in, but the external id field is not marked External ID in Salesforce.",
    ),
    (
        "queued",
        "Every referrer and lead is queued for Salesforce: the numbers below show the progress.",
    ),
    ("resent", "Queued again: it goes with the next batch."),
];

/// The text of a notice code of [`SALESFORCE_NOTICES`].
pub fn salesforce_notice(code: &str) -> Option<&'static str> {
    SALESFORCE_NOTICES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, text)| *text)
}

/// Salesforce's settings, progress and sync log.
#[server(prefix = "/rpc", endpoint = "salesforce")]
pub async fn get_salesforce() -> Result<SalesforceOverview, AppError> {
    use crate::{
        api::integrations::secret_hint,
        domain::roles::Permission,
        ssr::{
            auth,
            services::{crm, crm::salesforce, settings},
        },
    };
    auth::require(Permission::ViewData).await?;
    let state = auth::state()?;
    let db = &state.db;
    Ok(SalesforceOverview {
        domain: settings::get(db, salesforce::DOMAIN).await?,
        client_id: settings::get(db, salesforce::CLIENT_ID).await?,
        secret_hint: settings::get(db, salesforce::CLIENT_SECRET)
            .await?
            .map(|s| secret_hint(&s)),
        object: settings::get(db, salesforce::OBJECT)
            .await?
            .unwrap_or_else(|| salesforce::SObject::Contact.as_str().to_owned()),
        external_id: settings::get(db, salesforce::EXTERNAL_ID)
            .await?
            .unwrap_or_else(|| salesforce::DEFAULT_EXTERNAL_ID.to_owned()),
        fields: salesforce::fields()
            .into_iter()
            .map(|(name, label, kind)| (name, label.to_owned(), kind.to_owned()))
            .collect(),
        progress: progress(db, crm::SALESFORCE).await?,
    })
}

/// Stores Salesforce's connection; an empty secret keeps the stored one. Never shows the secret
/// back.
#[server(prefix = "/rpc", endpoint = "salesforce_save")]
pub async fn save_salesforce(
    domain: String,
    client_id: String,
    #[server(default)] client_secret: String,
    object: String,
    #[server(default)] external_id: String,
) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, crm::salesforce},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    let form = salesforce::Form {
        domain,
        client_id,
        client_secret,
        object,
        external_id,
    };
    salesforce::save(&auth::state()?.db, &Actor::admin(&admin), &form).await?;
    crate::api::redirect_back_with(&[("saved", "salesforce")]);
    Ok(())
}

/// Forgets Salesforce's consumer secret: nothing is sent any more.
#[server(prefix = "/rpc", endpoint = "salesforce_disconnect")]
pub async fn disconnect_salesforce() -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, crm::salesforce},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    salesforce::disconnect(&auth::state()?.db, &Actor::admin(&admin)).await?;
    crate::api::redirect_back_with(&[("salesforce", "disconnected")]);
    Ok(())
}

/// The connection as Salesforce sees it: Handoff signs in and reads the object's fields. Says
/// what it found (a form posted without JavaScript gets `?salesforce=` one of
/// [`SALESFORCE_NOTICES`]' codes).
#[server(prefix = "/rpc", endpoint = "salesforce_check")]
pub async fn check_salesforce() -> Result<String, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{crm, crm::salesforce},
        },
    };
    auth::require(Permission::ManageIntegrations).await?;
    let state = auth::state()?;
    let connection = salesforce::connection(&state.db)
        .await?
        .ok_or_else(salesforce_not_connected)?;
    let (notice, message) = salesforce::check(
        &crm::client(state.settings.allow_private_networks)?,
        &connection,
    )
    .await;
    crate::api::redirect_back_with(&[("salesforce", notice)]);
    Ok(message)
}

/// Queues every referrer and lead for Salesforce; returns how many.
#[server(prefix = "/rpc", endpoint = "salesforce_sync_all")]
pub async fn sync_salesforce_now() -> Result<u64, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, crm, crm::salesforce},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    let state = auth::state()?;
    if salesforce::connection(&state.db).await?.is_none() {
        return Err(salesforce_not_connected());
    }
    let queued = crm::touch_all(&state.db, &Actor::admin(&admin), crm::SALESFORCE).await?;
    crate::api::redirect_back_with(&[("salesforce", "queued")]);
    Ok(queued)
}

#[cfg(feature = "ssr")]
fn salesforce_not_connected() -> AppError {
    AppError::invalid(
        "not_connected",
        "client_secret",
        "Save Salesforce's connection first.",
    )
}
