//! Salesforce: referrers and leads upserted as Contacts or Leads by an external id field that
//! holds the person's email (`Handoff_Email__c` unless the admin names another), with the same
//! data HubSpot gets, through the REST API's sObject Collections upsert
//! (`PATCH /services/data/vNN.N/composite/sobjects/{Object}/{ExternalIdField}`, 200 records a
//! request, `allOrNone: false` so one refused record never holds back the others).
//!
//! Handoff signs in as a connected app with the OAuth 2.0 client credentials flow
//! (`POST {My Domain}/services/oauth2/token`), keeps the access token while it works and asks
//! for a new one when Salesforce answers 401.
//!
//! Only Handoff's own fields are sent to a record that exists: its name, owner and status are
//! the business's. Salesforce needs a name (and a Lead a company) to *create* a record, so the
//! records it refuses for a missing required field, the new ones, are sent once more with the
//! email, the name Handoff has, and `[not provided]` where it has none (Salesforce's own words
//! for Web-to-Lead).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Contact, DEFAULT_RETRY_AFTER, Http, Outcome, Reply, hubspot, retry_wait};
use crate::{
    error::AppError,
    ssr::services::{
        audit::Actor,
        settings::{self, set_logged},
    },
};

/// The setting with the org's My Domain URL (`https://acme.my.salesforce.com`).
pub const DOMAIN: &str = "salesforce.domain";
/// The setting with the connected app's consumer key.
pub const CLIENT_ID: &str = "salesforce.client_id";
/// The setting with the connected app's consumer secret (its presence means "connected").
pub const CLIENT_SECRET: &str = "salesforce.client_secret";
/// The setting with the object Handoff writes: `Contact` or `Lead`.
pub const OBJECT: &str = "salesforce.object";
/// The setting with the external id field records are matched by.
pub const EXTERNAL_ID: &str = "salesforce.external_id";
/// The external id field unless the admin names another.
pub const DEFAULT_EXTERNAL_ID: &str = "Handoff_Email__c";
/// The REST API version Handoff speaks (Winter '25).
pub const API_VERSION: &str = "v62.0";
/// Records per request: the sObject Collections limit.
pub const BATCH: usize = 200;
/// The wait after Salesforce's `REQUEST_LIMIT_EXCEEDED` (the org's API allowance is counted
/// over 24 hours, so asking again in seconds only wastes what is left).
pub const LIMIT_EXCEEDED_WAIT: Duration = Duration::minutes(15);
/// What Salesforce itself writes for a required value nobody gave.
pub const NOT_PROVIDED: &str = "[not provided]";

/// The object records are written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SObject {
    /// A Contact (customers the business has already).
    Contact,
    /// A Lead (prospects; Salesforce also needs a company to create one).
    Lead,
}

impl SObject {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            SObject::Contact => "Contact",
            SObject::Lead => "Lead",
        }
    }

    /// From the API name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Contact" => Some(SObject::Contact),
            "Lead" => Some(SObject::Lead),
            _ => None,
        }
    }
}

/// The Salesforce field a HubSpot property name becomes: `handoff_referral_link` is
/// `Handoff_Referral_Link__c`.
pub fn field_name(property: &str) -> String {
    let words: Vec<String> = property
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect();
    format!("{}__c", words.join("_"))
}

/// Every custom field Handoff writes besides the external id, with its Salesforce type (what an
/// admin creates under Setup, Object Manager, Fields & Relationships).
pub fn fields() -> Vec<(String, &'static str, &'static str)> {
    hubspot::PROPERTIES
        .iter()
        .map(|(name, label, kind, _)| {
            let salesforce_type = match (*name, *kind) {
                (_, "number") => "Number(18, 0)",
                (hubspot::LINK | hubspot::PORTAL, _) => "URL",
                (hubspot::REFERRED_BY, _) => "Email",
                _ => "Text(64)",
            };
            (field_name(name), *label, salesforce_type)
        })
        .collect()
}

/// Where and as whom to call Salesforce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The My Domain URL, without a trailing slash.
    pub domain: String,
    /// The connected app's consumer key.
    pub client_id: String,
    /// The connected app's consumer secret.
    pub client_secret: String,
    /// The object written.
    pub object: SObject,
    /// The external id field records are matched by.
    pub external_id: String,
}

/// The connection set up in Integrations, if any.
pub async fn connection(db: &impl ConnectionTrait) -> Result<Option<Connection>, AppError> {
    let Some(client_secret) = settings::get(db, CLIENT_SECRET).await? else {
        return Ok(None);
    };
    let (Some(domain), Some(client_id)) = (
        settings::get(db, DOMAIN).await?,
        settings::get(db, CLIENT_ID).await?,
    ) else {
        return Ok(None);
    };
    let object = settings::get(db, OBJECT)
        .await?
        .and_then(|o| SObject::parse(&o))
        .unwrap_or(SObject::Contact);
    let external_id = settings::get(db, EXTERNAL_ID)
        .await?
        .unwrap_or_else(|| DEFAULT_EXTERNAL_ID.to_owned());
    Ok(Some(Connection {
        domain: domain.trim_end_matches('/').to_owned(),
        client_id,
        client_secret,
        object,
        external_id,
    }))
}

/// What the admin typed in Integrations > Salesforce.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    /// The My Domain URL.
    pub domain: String,
    /// The consumer key.
    pub client_id: String,
    /// The consumer secret; empty keeps the stored one.
    pub client_secret: String,
    /// `Contact` or `Lead`.
    pub object: String,
    /// The external id field; empty means [`DEFAULT_EXTERNAL_ID`].
    pub external_id: String,
}

/// Checks a My Domain URL: `https://`, a host, nothing after it. Returns it without a trailing
/// slash.
pub fn check_domain(text: &str) -> Result<String, AppError> {
    let refuse = || {
        AppError::invalid(
            "invalid_domain",
            "domain",
            "Enter your org's My Domain URL, such as https://acme.my.salesforce.com (Setup, My Domain).",
        )
    };
    let url = reqwest::Url::parse(text.trim()).map_err(|_| refuse())?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if url.scheme() != "https" || url.host_str().is_none() || !url.username().is_empty() || !bare {
        return Err(refuse());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Checks a custom field's API name: a letter, then letters, digits and underscores, ending in
/// `__c`, at most 43 characters (Salesforce's 40 and the suffix).
pub fn check_field(text: &str) -> Result<String, AppError> {
    let name = text.trim();
    let stem = name.strip_suffix("__c").unwrap_or("");
    let valid = !stem.is_empty()
        && name.len() <= 43
        && stem.starts_with(|c: char| c.is_ascii_alphabetic())
        && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(AppError::invalid(
            "invalid_field",
            "external_id",
            "Enter the external id field's API name, such as Handoff_Email__c.",
        ));
    }
    Ok(name.to_owned())
}

/// Checks a consumer key or secret: printable, no spaces, a plausible length.
fn check_credential(text: &str, field: &'static str, what: &str) -> Result<String, AppError> {
    super::pasted_secret(text, 8).ok_or_else(|| {
        AppError::invalid(
            "invalid_credentials",
            field,
            format!(
                "Paste the connected app's {what} (Setup, App Manager, the app, View, Manage Consumer Details)."
            ),
        )
    })
}

/// Stores the connection (every field checked first; nothing stored if one is wrong) and logs
/// the change, never the secret.
pub async fn save(db: &DatabaseConnection, actor: &Actor, form: &Form) -> Result<(), AppError> {
    let domain = check_domain(&form.domain)?;
    let client_id = check_credential(&form.client_id, "client_id", "consumer key")?;
    let stored_secret = settings::get(db, CLIENT_SECRET).await?;
    let client_secret = match (form.client_secret.trim(), stored_secret) {
        ("", Some(stored)) => stored,
        (typed, _) => check_credential(typed, "client_secret", "consumer secret")?,
    };
    let object = SObject::parse(form.object.trim())
        .ok_or_else(|| AppError::invalid("invalid_object", "object", "Choose Contact or Lead."))?;
    let external_id = match form.external_id.trim() {
        "" => DEFAULT_EXTERNAL_ID.to_owned(),
        typed => check_field(typed)?,
    };
    set_logged(
        db,
        actor,
        &[
            (DOMAIN, &domain),
            (CLIENT_ID, &client_id),
            (CLIENT_SECRET, &client_secret),
            (OBJECT, object.as_str()),
            (EXTERNAL_ID, &external_id),
        ],
        "salesforce.connected",
        format!(
            "Connected Salesforce at {domain}: {} records by {external_id}.",
            object.as_str()
        ),
    )
    .await
}

/// Forgets the consumer secret: nothing is sent any more (the queue, its log and the other
/// settings stay, so reconnecting takes only the secret).
pub async fn disconnect(db: &DatabaseConnection, actor: &Actor) -> Result<(), AppError> {
    set_logged(
        db,
        actor,
        &[(CLIENT_SECRET, "")],
        "salesforce.disconnected",
        "Disconnected Salesforce.".to_owned(),
    )
    .await
}

/// A signed-in session: the access token and the org's API host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The OAuth access token.
    pub access_token: String,
    /// The org's instance URL, where the API is called.
    pub instance_url: String,
    /// The connection it was made with: a changed connection needs a new session.
    pub made_with: Connection,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    instance_url: String,
}

/// Signs in with the client credentials flow. `Err` carries Salesforce's answer (for the log).
pub async fn authenticate(http: &Http, connection: &Connection) -> Result<Session, Reply> {
    let request = http
        .client
        .post(format!("{}/services/oauth2/token", connection.domain))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", connection.client_id.as_str()),
            ("client_secret", connection.client_secret.as_str()),
        ]);
    let reply = super::send(http, request, "Salesforce").await;
    if reply.status != Some(200) {
        return Err(reply);
    }
    let answer: TokenAnswer = serde_json::from_str(&reply.body).map_err(|e| Reply {
        body: format!(
            "Salesforce's token answer was not understood ({e}): {}",
            reply.excerpt()
        ),
        ..reply.clone()
    })?;
    let instance = reqwest::Url::parse(&answer.instance_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some())
        .ok_or_else(|| Reply {
            body: format!(
                "Salesforce named no usable instance URL: {}",
                reply.excerpt()
            ),
            ..reply.clone()
        })?;
    Ok(Session {
        access_token: answer.access_token,
        instance_url: instance.as_str().trim_end_matches('/').to_owned(),
        made_with: connection.clone(),
    })
}

/// The upsert's URL.
fn upsert_url(session: &Session) -> String {
    let connection = &session.made_with;
    format!(
        "{}/services/data/{API_VERSION}/composite/sobjects/{}/{}",
        session.instance_url,
        connection.object.as_str(),
        connection.external_id
    )
}

/// The key records are matched by: the email, trimmed and lowercased, so the same person is
/// one record whatever the case they typed.
pub fn external_key(contact: &Contact) -> String {
    contact.email.trim().to_lowercase()
}

/// The name Salesforce stores: first name (40 characters at most) and last name (80), the last
/// word being the last name; [`NOT_PROVIDED`] without a name.
pub fn split_name(name: Option<&str>) -> (Option<String>, String) {
    let words: Vec<&str> = name.unwrap_or("").split_whitespace().collect();
    match words.split_last() {
        None => (None, NOT_PROVIDED.to_owned()),
        Some((last, [])) => (None, last.chars().take(80).collect()),
        Some((last, first)) => (
            Some(first.join(" ").chars().take(40).collect()),
            last.chars().take(80).collect(),
        ),
    }
}

/// One record of the upsert: the external key and Handoff's fields, and with `create` the
/// email, name and (for a Lead) company a new record needs.
pub fn record(connection: &Connection, contact: &Contact, create: bool) -> Value {
    let mut fields = Map::new();
    fields.insert(
        "attributes".to_owned(),
        json!({"type": connection.object.as_str()}),
    );
    fields.insert(
        connection.external_id.clone(),
        Value::String(external_key(contact)),
    );
    for (property, value) in &contact.properties {
        let value = match *property {
            // Number fields take numbers.
            hubspot::QUALIFIED | hubspot::REWARDS_DUE => {
                value.parse::<i64>().map(Value::from).unwrap_or(Value::Null)
            }
            _ if value.is_empty() => Value::Null,
            _ => Value::String(value.clone()),
        };
        fields.insert(field_name(property), value);
    }
    if create {
        let (first, last) = split_name(contact.name.as_deref());
        fields.insert("Email".to_owned(), Value::String(contact.email.clone()));
        fields.insert("LastName".to_owned(), Value::String(last));
        if let Some(first) = first {
            fields.insert("FirstName".to_owned(), Value::String(first));
        }
        if connection.object == SObject::Lead {
            fields.insert("Company".to_owned(), Value::String(NOT_PROVIDED.to_owned()));
        }
    }
    Value::Object(fields)
}

/// The upsert's request body.
pub fn upsert_body(connection: &Connection, contacts: &[&Contact], create: bool) -> Value {
    json!({
        "allOrNone": false,
        "records": contacts.iter().map(|c| record(connection, c, create)).collect::<Vec<_>>(),
    })
}

/// Salesforce's answer for one record of a collection.
#[derive(Clone, Debug, Deserialize)]
struct RecordResult {
    id: Option<String>,
    success: bool,
    #[serde(default)]
    created: bool,
    #[serde(default)]
    errors: Vec<RecordError>,
}

#[derive(Clone, Debug, Deserialize)]
struct RecordError {
    #[serde(rename = "statusCode", default)]
    status_code: String,
    #[serde(default)]
    message: String,
}

/// What one queue row came to: its row, outcome, the HTTP status and Salesforce's words.
pub type RowAnswer = (i64, Outcome, Option<u16>, String);

/// Sends `contacts` (at most [`BATCH`]) to Salesforce and says what became of each row, at
/// `now`. Signs in when `session` is missing or was made for another connection, and once
/// more when Salesforce answers 401 (the token expired or was revoked).
pub async fn sync(
    http: &Http,
    connection: &Connection,
    session: &mut Option<Session>,
    contacts: &[Contact],
    now: DateTime<Utc>,
) -> Vec<RowAnswer> {
    let every = |contacts: &[&Contact], outcome: Outcome, reply: &Reply| -> Vec<RowAnswer> {
        contacts
            .iter()
            .flat_map(|c| c.rows.iter())
            .map(|row| (*row, outcome, reply.status, reply.body.clone()))
            .collect()
    };
    let all: Vec<&Contact> = contacts.iter().collect();
    let reply = match upsert(http, connection, session, &all, false).await {
        Ok(reply) => reply,
        Err(refused) => return every(&all, Outcome::Failed, &refused),
    };
    let results = match whole_request(&reply, now) {
        Ok(results) => results,
        Err(outcome) => return every(&all, outcome, &reply),
    };
    let mut answers = Vec::new();
    let mut new: Vec<&Contact> = Vec::new();
    for (i, contact) in contacts.iter().enumerate() {
        match results.get(i) {
            Some(result) if !result.success && missing_required(result) => new.push(contact),
            result => answers.extend(row_answers(contact, result, reply.status)),
        }
    }
    if new.is_empty() {
        return answers;
    }
    // The records Salesforce does not have yet: again, with what creating one takes.
    let reply = match upsert(http, connection, session, &new, true).await {
        Ok(reply) => reply,
        Err(refused) => {
            answers.extend(every(&new, Outcome::Failed, &refused));
            return answers;
        }
    };
    match whole_request(&reply, now) {
        Ok(results) => {
            for (i, contact) in new.iter().enumerate() {
                answers.extend(row_answers(contact, results.get(i), reply.status));
            }
        }
        Err(outcome) => answers.extend(every(&new, outcome, &reply)),
    }
    answers
}

/// One upsert request, signing in first when needed and once more after a 401. `Err`: the
/// sign-in itself failed (its answer).
async fn upsert(
    http: &Http,
    connection: &Connection,
    session: &mut Option<Session>,
    contacts: &[&Contact],
    create: bool,
) -> Result<Reply, Reply> {
    let body = upsert_body(connection, contacts, create);
    let send = |session: &Session| {
        let request = http
            .client
            .patch(upsert_url(session))
            .bearer_auth(&session.access_token)
            .json(&body);
        super::send(http, request, "Salesforce")
    };
    let (mut current, reused) = match session.take() {
        Some(kept) if kept.made_with == *connection => (kept, true),
        _ => (authenticate(http, connection).await?, false),
    };
    let mut reply = send(&current).await;
    if reply.status == Some(401) && reused {
        tracing::info!("Salesforce: the session expired; signing in again");
        current = authenticate(http, connection).await?;
        reply = send(&current).await;
    }
    *session = Some(current);
    Ok(reply)
}

/// The per-record results of a 200, or what the whole request came to otherwise: a 429 or the
/// org's exhausted API allowance waits (not counted as a failure); anything else failed.
fn whole_request(reply: &Reply, now: DateTime<Utc>) -> Result<Vec<RecordResult>, Outcome> {
    match reply.status {
        Some(200) => serde_json::from_str(&reply.body).map_err(|_| Outcome::Failed),
        Some(429) => Err(Outcome::RateLimited(
            now + retry_wait(reply, DEFAULT_RETRY_AFTER),
        )),
        Some(403) if reply.body.contains("REQUEST_LIMIT_EXCEEDED") => Err(Outcome::RateLimited(
            now + retry_wait(reply, LIMIT_EXCEEDED_WAIT),
        )),
        _ => Err(Outcome::Failed),
    }
}

/// Whether Salesforce refused a record only because a field required to create one is missing
/// (so the record is new).
fn missing_required(result: &RecordResult) -> bool {
    !result.errors.is_empty()
        && result
            .errors
            .iter()
            .all(|e| e.status_code == "REQUIRED_FIELD_MISSING")
}

/// The answers for `contact`'s rows given Salesforce's `result` for it (none: Salesforce left
/// it out of its answer, a failure).
fn row_answers(
    contact: &Contact,
    result: Option<&RecordResult>,
    status: Option<u16>,
) -> Vec<RowAnswer> {
    let (outcome, words) = match result {
        Some(r) if r.success => (
            Outcome::Synced,
            format!(
                "{} {}",
                if r.created { "Created" } else { "Updated" },
                r.id.as_deref().unwrap_or("")
            ),
        ),
        Some(r) => (
            Outcome::Failed,
            r.errors
                .iter()
                .map(|e| format!("{}: {}", e.status_code, e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        None => (
            Outcome::Failed,
            "Salesforce's answer did not mention this record.".to_owned(),
        ),
    };
    contact
        .rows
        .iter()
        .map(|row| (*row, outcome, status, words.clone()))
        .collect()
}

/// What "Check the connection" found: a notice code of `api::crm::SALESFORCE_NOTICES` and a
/// sentence.
pub async fn check(http: &Http, connection: &Connection) -> (&'static str, String) {
    let session = match authenticate(http, connection).await {
        Ok(session) => session,
        Err(reply) => {
            tracing::warn!(status = ?reply.status, reply = %reply.excerpt(), "Salesforce refused to sign in");
            return (
                "signin_refused",
                format!(
                    "Salesforce refused to sign in{}: {}",
                    reply
                        .status
                        .map(|s| format!(" (HTTP {s})"))
                        .unwrap_or_default(),
                    reply.excerpt()
                ),
            );
        }
    };
    let request = http
        .client
        .get(format!(
            "{}/services/data/{API_VERSION}/sobjects/{}/describe",
            session.instance_url,
            connection.object.as_str()
        ))
        .bearer_auth(&session.access_token);
    let reply = super::send(http, request, "Salesforce").await;
    #[derive(Deserialize)]
    struct Describe {
        fields: Vec<Field>,
    }
    #[derive(Deserialize)]
    struct Field {
        name: String,
        #[serde(rename = "externalId", default)]
        external_id: bool,
    }
    let described = match (reply.status, serde_json::from_str::<Describe>(&reply.body)) {
        (Some(200), Ok(described)) => described,
        _ => {
            tracing::warn!(status = ?reply.status, reply = %reply.excerpt(), "Salesforce did not describe the object");
            return (
                "describe_failed",
                format!(
                    "Signed in, but Salesforce did not describe {}: {}",
                    connection.object.as_str(),
                    reply.excerpt()
                ),
            );
        }
    };
    let has = |name: &str| described.fields.iter().find(|f| f.name == name);
    let mut missing: Vec<String> = fields()
        .into_iter()
        .map(|(name, _, _)| name)
        .filter(|name| has(name).is_none())
        .collect();
    let key = has(&connection.external_id);
    if key.is_none() {
        missing.insert(0, connection.external_id.clone());
    }
    if !missing.is_empty() {
        return (
            "fields_missing",
            format!(
                "Signed in, but {} has no field {}: create them (see the list below) and give the connected app's user access.",
                connection.object.as_str(),
                missing.join(", ")
            ),
        );
    }
    if !key.is_some_and(|f| f.external_id) {
        return (
            "not_external_id",
            format!(
                "Signed in, but {} is not marked External ID in Salesforce: records cannot be matched by it.",
                connection.external_id
            ),
        );
    }
    (
        "ready",
        format!(
            "Connected to {}: {} has every field Handoff writes.",
            session.instance_url,
            connection.object.as_str()
        ),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn connection(object: SObject) -> Connection {
        Connection {
            domain: "https://acme.my.salesforce.com".to_owned(),
            client_id: "3MVG9-consumer-key".to_owned(),
            client_secret: "consumer-secret".to_owned(),
            object,
            external_id: DEFAULT_EXTERNAL_ID.to_owned(),
        }
    }

    fn jane() -> Contact {
        Contact {
            email: "Jane@Example.com".to_owned(),
            name: Some("Jane van Dijk".to_owned()),
            properties: BTreeMap::from([
                (hubspot::CODE, "JANE-7".to_owned()),
                (hubspot::QUALIFIED, "3".to_owned()),
                (hubspot::REFERRED_BY, String::new()),
            ]),
            rows: vec![1],
        }
    }

    #[test]
    fn field_names_follow_the_hubspot_names() {
        assert_eq!(
            field_name("handoff_referral_link"),
            "Handoff_Referral_Link__c"
        );
        assert_eq!(field_name("handoff_portal_url"), "Handoff_Portal_Url__c");
        assert_eq!(fields().len(), hubspot::PROPERTIES.len());
        assert!(
            fields()
                .iter()
                .all(|(name, _, _)| check_field(name).is_ok())
        );
    }

    #[test]
    fn an_update_sends_handoffs_fields_only_and_a_creation_adds_what_salesforce_needs() {
        let update = record(&connection(SObject::Contact), &jane(), false);
        assert_eq!(
            update,
            json!({
                "attributes": {"type": "Contact"},
                "Handoff_Email__c": "jane@example.com",
                "Handoff_Referral_Code__c": "JANE-7",
                "Handoff_Referrals_Qualified__c": 3,
                "Handoff_Referred_By__c": null,
            })
        );
        let create = record(&connection(SObject::Lead), &jane(), true);
        assert_eq!(create["Email"], "Jane@Example.com");
        assert_eq!(create["FirstName"], "Jane van");
        assert_eq!(create["LastName"], "Dijk");
        assert_eq!(create["Company"], NOT_PROVIDED);
        assert!(
            record(&connection(SObject::Contact), &jane(), true)
                .get("Company")
                .is_none()
        );
    }

    #[test]
    fn names_split_into_first_and_last() {
        assert_eq!(split_name(None), (None, NOT_PROVIDED.to_owned()));
        assert_eq!(split_name(Some("  ")), (None, NOT_PROVIDED.to_owned()));
        assert_eq!(split_name(Some("Cher")), (None, "Cher".to_owned()));
        assert_eq!(
            split_name(Some("Mary Ann  Smith")),
            (Some("Mary Ann".to_owned()), "Smith".to_owned())
        );
    }

    #[test]
    fn settings_are_checked_before_they_are_stored() {
        assert_eq!(
            check_domain(" https://acme.my.salesforce.com/ ").unwrap(),
            "https://acme.my.salesforce.com"
        );
        for bad in [
            "acme.my.salesforce.com",
            "http://acme.my.salesforce.com",
            "https://acme.my.salesforce.com/services",
            "https://user@acme.my.salesforce.com",
            "https://acme.my.salesforce.com?x=1",
            "javascript:alert(1)",
        ] {
            assert!(check_domain(bad).is_err(), "{bad}");
        }
        assert!(check_field("Handoff_Email__c").is_ok());
        assert!(check_field("ns__Handoff_Email__c").is_ok());
        for bad in ["Email", "__c", "1x__c", "Bad-Name__c", "Drop Table__c"] {
            assert!(check_field(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_become_outcomes() {
        let now = Utc::now();
        let reply = |status: u16, body: &str, retry_after: Option<u64>| Reply {
            status: Some(status),
            body: body.to_owned(),
            retry_after,
        };
        assert!(matches!(
            whole_request(&reply(429, "[]", Some(7)), now),
            Err(Outcome::RateLimited(at)) if at == now + Duration::seconds(7)
        ));
        assert!(matches!(
            whole_request(&reply(403, r#"[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"TotalRequests Limit exceeded."}]"#, None), now),
            Err(Outcome::RateLimited(at)) if at == now + LIMIT_EXCEEDED_WAIT
        ));
        assert_eq!(
            whole_request(
                &reply(403, r#"[{"errorCode":"INSUFFICIENT_ACCESS"}]"#, None),
                now
            )
            .unwrap_err(),
            Outcome::Failed
        );
        assert_eq!(
            whole_request(&reply(503, "", None), now).unwrap_err(),
            Outcome::Failed
        );
        let results = whole_request(
            &reply(
                200,
                r#"[{"id":"003A","success":true,"errors":[],"created":false},{"success":false,"errors":[{"statusCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [LastName]","fields":["LastName"]}]}]"#,
                None,
            ),
            now,
        )
        .unwrap();
        assert!(!missing_required(&results[0]));
        assert!(missing_required(&results[1]));
        assert_eq!(
            row_answers(&jane(), results.first(), Some(200)),
            vec![(1, Outcome::Synced, Some(200), "Updated 003A".to_owned())]
        );
        assert_eq!(row_answers(&jane(), None, Some(200))[0].1, Outcome::Failed);
    }
}
