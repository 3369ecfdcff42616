//! CRM sync server functions (Integrations > HubSpot): the connection, Handoff's properties in
//! HubSpot, "sync all now" with its progress, and the sync log with "send again".

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

/// HubSpot as set up, with the queue's progress and the newest answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubSpotOverview {
    /// The end of the stored access token (`…abcd`); `None` when HubSpot is not connected.
    pub token_hint: Option<String>,
    /// Referrers and leads waiting to be sent (or retried).
    pub pending: i64,
    /// Sent, and HubSpot has them.
    pub synced: i64,
    /// Given up after every retry: see the log.
    pub failed: i64,
    /// The newest attempts, newest first.
    pub log: Vec<SyncLine>,
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
    let counts = crm::counts(&state.db, crm::HUBSPOT).await?;
    let log = crm::log(&state.db, crm::HUBSPOT, LOG_SHOWN)
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
    Ok(HubSpotOverview {
        token_hint: token.map(|t| secret_hint(&t)),
        pending: counts.pending,
        synced: counts.synced,
        failed: counts.failed,
        log,
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
    let reply = hubspot::create_properties(&hubspot::client()?, &connection).await;
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

/// Sends one sync log row again.
#[server(prefix = "/rpc", endpoint = "hubspot_resend")]
pub async fn resend_hubspot(id: i64) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::crm},
    };
    auth::require(Permission::ManageIntegrations).await?;
    crm::resend(&auth::state()?.db, id).await?;
    crate::api::redirect_back_with(&[("hubspot", "resent")]);
    Ok(())
}
