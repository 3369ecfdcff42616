//! HubSpot: contacts upserted by email with Handoff's properties, through HubSpot's CRM v3 API
//! (`POST /crm/v3/objects/contacts/batch/upsert`, 100 contacts a request) with a private app's
//! access token (scopes `crm.objects.contacts.write` and, for [`create_properties`],
//! `crm.schemas.contacts.write`).
//!
//! Only Handoff's own properties are sent: a contact's name, owner or lifecycle stage in
//! HubSpot are the business's, and an upsert never overwrites them.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};

use super::{Contact, DEFAULT_RETRY_AFTER, Http, Outcome, Reply, retry_wait};
use crate::{
    error::AppError,
    ssr::services::{
        audit::Actor,
        settings::{self, set_logged},
    },
};

/// The setting that holds the private app's access token.
pub const TOKEN: &str = "hubspot.token";
/// The setting that points the connection at another API host (tests, a proxy); unset means
/// [`DEFAULT_API_BASE`].
pub const API_BASE: &str = "hubspot.api_base";
/// HubSpot's API.
pub const DEFAULT_API_BASE: &str = "https://api.hubapi.com";
/// Contacts per batch request: HubSpot's limit for batch upserts.
pub const BATCH: usize = 100;

/// The referrer's referral link.
pub const LINK: &str = "handoff_referral_link";
/// The referrer's referral code.
pub const CODE: &str = "handoff_referral_code";
/// Where the referrer signs in to their portal.
pub const PORTAL: &str = "handoff_portal_url";
/// How many of the referrer's leads qualified.
pub const QUALIFIED: &str = "handoff_referrals_qualified";
/// How many of the referrer's rewards are due (earned, not yet issued).
pub const REWARDS_DUE: &str = "handoff_rewards_due";
/// For a lead: the email of the referrer who referred them.
pub const REFERRED_BY: &str = "handoff_referred_by";

/// One contact property Handoff writes: name, label, HubSpot type and field type.
pub type Property = (&'static str, &'static str, &'static str, &'static str);

/// Every property Handoff writes, as [`create_properties`] creates them.
pub const PROPERTIES: [Property; 6] = [
    (LINK, "Handoff referral link", "string", "text"),
    (CODE, "Handoff referral code", "string", "text"),
    (PORTAL, "Handoff portal URL", "string", "text"),
    (QUALIFIED, "Handoff referrals qualified", "number", "number"),
    (REWARDS_DUE, "Handoff rewards due", "number", "number"),
    (REFERRED_BY, "Handoff referred by", "string", "text"),
];

/// Where and as whom to call HubSpot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The API's base URL, without a trailing slash.
    pub base: String,
    /// The private app's access token.
    pub token: String,
}

/// The connection set up in Integrations, if any.
pub async fn connection(db: &impl ConnectionTrait) -> Result<Option<Connection>, AppError> {
    let Some(token) = settings::get(db, TOKEN).await? else {
        return Ok(None);
    };
    let base = settings::get(db, API_BASE)
        .await?
        .unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
    Ok(Some(Connection {
        base: base.trim_end_matches('/').to_owned(),
        token,
    }))
}

/// Checks a pasted access token: printable, no spaces, a plausible length.
pub fn check_token(token: &str) -> Result<String, AppError> {
    super::pasted_secret(token, 10).ok_or_else(|| {
        AppError::invalid(
            "invalid_token",
            "token",
            "Paste the private app's access token (HubSpot: Settings, Integrations, Private apps; it starts with pat-).",
        )
    })
}

/// Stores the access token (checked) and logs the change, never the token itself.
pub async fn set_token(
    db: &DatabaseConnection,
    actor: &Actor,
    token: &str,
) -> Result<(), AppError> {
    let token = check_token(token)?;
    set_logged(
        db,
        actor,
        &[(TOKEN, &token)],
        "hubspot.token_changed",
        "Set a new HubSpot access token.".to_owned(),
    )
    .await
}

/// Forgets the access token: nothing is sent any more (the queue and its log stay, and a new
/// token picks up where it left off).
pub async fn disconnect(db: &DatabaseConnection, actor: &Actor) -> Result<(), AppError> {
    set_logged(
        db,
        actor,
        &[(TOKEN, "")],
        "hubspot.disconnected",
        "Disconnected HubSpot.".to_owned(),
    )
    .await
}

/// What the properties' creation came to: a notice code of `api::crm::NOTICES` and a sentence
/// with HubSpot's own words where they help. A 207 is success: the properties HubSpot already
/// had are reported as errors and left as they are.
pub fn properties_outcome(reply: &Reply) -> (&'static str, String) {
    match reply.status {
        Some(200..=299) => (
            "properties_created",
            format!(
                "Handoff's {} properties are in HubSpot (group Contact information).",
                PROPERTIES.len()
            ),
        ),
        Some(status @ (401 | 403)) => (
            "properties_refused",
            format!(
                "HubSpot refused (HTTP {status}): check the token and that the private app has the crm.schemas.contacts.write scope."
            ),
        ),
        status => {
            tracing::warn!(?status, reply = %reply.body.chars().take(500).collect::<String>(), "HubSpot did not create the properties");
            (
                "properties_failed",
                match status {
                    Some(s) => format!(
                        "HubSpot answered HTTP {s}: {}",
                        reply.body.chars().take(300).collect::<String>()
                    ),
                    None => reply.body.chars().take(300).collect(),
                },
            )
        }
    }
}

/// The batch upsert's request body for `contacts` (by email).
pub fn upsert_body(contacts: &[Contact]) -> Value {
    json!({
        "inputs": contacts.iter().map(|c| json!({
            "idProperty": "email",
            "id": c.email,
            "properties": c.properties,
        })).collect::<Vec<_>>(),
    })
}

/// The properties' batch create request body.
pub fn properties_body() -> Value {
    json!({
        "inputs": PROPERTIES.iter().map(|(name, label, kind, field)| json!({
            "name": name,
            "label": label,
            "type": kind,
            "fieldType": field,
            "groupName": "contactinformation",
            "description": "Written by Handoff, the referral platform.",
        })).collect::<Vec<_>>(),
    })
}

/// Upserts `contacts` (at most [`BATCH`]) by email.
pub async fn upsert(http: &Http, connection: &Connection, contacts: &[Contact]) -> Reply {
    post(
        http,
        connection,
        "/crm/v3/objects/contacts/batch/upsert",
        &upsert_body(contacts),
    )
    .await
}

/// Creates Handoff's contact properties in HubSpot (those that exist already are reported by
/// HubSpot as errors in a 207 and left as they are).
pub async fn create_properties(http: &Http, connection: &Connection) -> Reply {
    post(
        http,
        connection,
        "/crm/v3/properties/contacts/batch/create",
        &properties_body(),
    )
    .await
}

async fn post(http: &Http, connection: &Connection, path: &str, body: &Value) -> Reply {
    let request = http
        .client
        .post(format!("{}{path}", connection.base))
        .bearer_auth(&connection.token)
        .json(body);
    super::send(http, request, "HubSpot").await
}

/// What each row of `contacts` became, given HubSpot's `reply` at `now`: a 2xx syncs them all
/// but those a 207's errors name (by email); a 429 waits `Retry-After` (capped); anything else
/// (4xx, 5xx, no answer) is a failed attempt, retried with the backoff.
pub fn outcomes(reply: &Reply, contacts: &[Contact], now: DateTime<Utc>) -> Vec<(i64, Outcome)> {
    let every = |outcome: Outcome| -> Vec<(i64, Outcome)> {
        contacts
            .iter()
            .flat_map(|c| c.rows.iter().map(move |row| (*row, outcome)))
            .collect()
    };
    match reply.status {
        Some(207) => {
            let errors = serde_json::from_str::<Value>(&reply.body)
                .ok()
                .and_then(|v| v.get("errors").map(Value::to_string))
                .unwrap_or_default()
                .to_lowercase();
            contacts
                .iter()
                .flat_map(|c| {
                    let failed = errors.contains(&c.email.to_lowercase());
                    let outcome = if failed {
                        Outcome::Failed
                    } else {
                        Outcome::Synced
                    };
                    c.rows.iter().map(move |row| (*row, outcome))
                })
                .collect()
        }
        Some(200..=299) => every(Outcome::Synced),
        Some(429) => every(Outcome::RateLimited(
            now + retry_wait(reply, DEFAULT_RETRY_AFTER),
        )),
        _ => every(Outcome::Failed),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Duration;

    use super::*;
    use crate::ssr::services::crm::MAX_RETRY_AFTER;

    fn contact(email: &str, rows: &[i64]) -> Contact {
        Contact {
            email: email.to_owned(),
            name: None,
            properties: BTreeMap::from([(CODE, "JANE-7".to_owned())]),
            rows: rows.to_vec(),
        }
    }

    fn reply(status: u16, body: &str, retry_after: Option<u64>) -> Reply {
        Reply {
            status: Some(status),
            body: body.to_owned(),
            retry_after,
        }
    }

    #[test]
    fn the_upsert_names_contacts_by_email_with_handoffs_properties_only() {
        let body = upsert_body(&[contact("jane@example.com", &[1])]);
        assert_eq!(
            body,
            json!({"inputs": [{"idProperty": "email", "id": "jane@example.com", "properties": {"handoff_referral_code": "JANE-7"}}]})
        );
    }

    #[test]
    fn answers_become_outcomes_per_row() {
        let now = Utc::now();
        let contacts = [
            contact("jane@example.com", &[1, 2]),
            contact("bo@example.com", &[3]),
        ];
        assert!(
            outcomes(&reply(200, "{}", None), &contacts, now)
                .iter()
                .all(|(_, o)| *o == Outcome::Synced)
        );
        assert_eq!(outcomes(&reply(200, "{}", None), &contacts, now).len(), 3);
        let partial = reply(
            207,
            r#"{"status":"COMPLETE","results":[],"errors":[{"status":"error","category":"VALIDATION_ERROR","message":"Property values were not valid","context":{"ids":["BO@example.com"]}}]}"#,
            None,
        );
        assert_eq!(
            outcomes(&partial, &contacts, now),
            vec![
                (1, Outcome::Synced),
                (2, Outcome::Synced),
                (3, Outcome::Failed)
            ]
        );
        assert_eq!(
            outcomes(&reply(429, "", Some(7)), &contacts[1..], now),
            vec![(3, Outcome::RateLimited(now + Duration::seconds(7)))]
        );
        assert_eq!(
            outcomes(&reply(429, "", Some(86_400)), &contacts[1..], now),
            vec![(3, Outcome::RateLimited(now + MAX_RETRY_AFTER))]
        );
        assert_eq!(
            outcomes(&reply(429, "", None), &contacts[1..], now),
            vec![(3, Outcome::RateLimited(now + DEFAULT_RETRY_AFTER))]
        );
        for status in [400, 401, 500, 503] {
            assert_eq!(
                outcomes(&reply(status, "", None), &contacts[1..], now),
                vec![(3, Outcome::Failed)]
            );
        }
        let silent = Reply {
            status: None,
            body: "refused".to_owned(),
            retry_after: None,
        };
        assert_eq!(
            outcomes(&silent, &contacts[1..], now),
            vec![(3, Outcome::Failed)]
        );
    }

    #[test]
    fn tokens_are_checked_before_they_are_stored() {
        assert!(check_token("pat-na1-0123456789abcdef").is_ok());
        assert_eq!(
            check_token("  pat-na1-0123456789  ").unwrap(),
            "pat-na1-0123456789"
        );
        assert!(check_token("short").is_err());
        assert!(check_token("pat na1 with spaces").is_err());
    }
}
