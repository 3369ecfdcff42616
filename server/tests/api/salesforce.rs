//! CRM sync to a fake Salesforce on loopback that speaks Salesforce's HTTP and JSON: the OAuth
//! client credentials flow, sObject Collections upserts by an external id field (records it has
//! are updated, a record it has not is refused for its missing `LastName` unless the request
//! creates it), the object's describe, expired sessions (401), 429 and `REQUEST_LIMIT_EXCEEDED`,
//! server errors; the exact requests Handoff sends; and the admin's forms.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use app::{
    domain::roles::Role,
    ssr::{
        entities::crm_sync,
        services::{
            audit::Actor,
            crm::{self, salesforce},
            settings,
        },
    },
};
use axum::{
    Form, Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, patch, post},
};
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Map, Value, json};

use crate::{
    crm::latest_input,
    fake_crm::{Got, Traffic, rows, serve, wait_for, wait_for_rows},
    helpers::TestApp,
    on_both_databases,
};

const CLIENT_ID: &str = "3MVG9handoff.consumer.key";
const CLIENT_SECRET: &str = "C0NSUMER-SECRET-0123456789";
const UPSERT_CONTACT: &str = "/services/data/v62.0/composite/sobjects/Contact/Handoff_Email__c";
const UPSERT_LEAD: &str = "/services/data/v62.0/composite/sobjects/Lead/Handoff_Email__c";
/// A record the fake Salesforce refuses (a validation rule of the business's).
const POISON: &str = "poison@example.com";

#[derive(Clone, Default)]
struct Fake {
    base: String,
    traffic: Traffic,
    /// Access tokens Salesforce accepts; emptied to expire every session.
    valid_tokens: Arc<Mutex<HashSet<String>>>,
    /// Records by external key: the fields last written.
    records: Arc<Mutex<HashMap<String, Map<String, Value>>>>,
    /// The fields the describe lists: (name, externalId).
    described: Arc<Mutex<Vec<(String, bool)>>>,
}

impl Fake {
    fn requests(&self, path: &str) -> Vec<Got> {
        self.traffic.requests(path)
    }

    fn token_requests(&self) -> Vec<Got> {
        self.requests("/services/oauth2/token")
    }

    fn record(&self, key: &str) -> Option<Map<String, Value>> {
        self.records.lock().unwrap().get(key).cloned()
    }

    fn signed_in(&self, authorization: &str) -> bool {
        authorization
            .strip_prefix("Bearer ")
            .is_some_and(|t| self.valid_tokens.lock().unwrap().contains(t))
    }
}

fn session_expired() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])),
    )
        .into_response()
}

async fn token(
    State(fake): State<Fake>,
    uri: Uri,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    fake.traffic.log(Method::POST, &uri, &headers, json!(form));
    let field = |k: &str| form.get(k).map(String::as_str);
    if field("grant_type") != Some("client_credentials")
        || field("client_id") != Some(CLIENT_ID)
        || field("client_secret") != Some(CLIENT_SECRET)
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_client", "error_description": "invalid client credentials"})),
        )
            .into_response();
    }
    let instance = format!("http://{}", headers["host"].to_str().unwrap());
    let mut tokens = fake.valid_tokens.lock().unwrap();
    let access_token = format!("00DHANDOFF!token{}", fake.token_requests().len());
    tokens.insert(access_token.clone());
    Json(json!({
        "access_token": access_token,
        "signature": "c2lnbmF0dXJl",
        "scope": "api",
        "instance_url": instance,
        "id": format!("{instance}/id/00D000000000001/005000000000001"),
        "token_type": "Bearer",
        "issued_at": Utc::now().timestamp_millis().to_string(),
    }))
    .into_response()
}

async fn upsert(
    State(fake): State<Fake>,
    Path((object, field)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap();
    let authorization = fake
        .traffic
        .log(Method::PATCH, &uri, &headers, body.clone());
    if !fake.signed_in(&authorization) {
        return session_expired();
    }
    // Scripted answers stand in for the upserts only.
    if let Some(response) = fake.traffic.scripted() {
        return response;
    }
    assert_eq!(body["allOrNone"], false);
    let mut records = fake.records.lock().unwrap();
    let results: Vec<Value> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| {
            assert_eq!(record["attributes"]["type"], object.as_str());
            let key = record[&field].as_str().unwrap().to_owned();
            let fields = record.as_object().unwrap().clone();
            if key == POISON {
                return json!({"success": false, "errors": [{"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "Partners are not referrers.", "fields": []}]});
            }
            let number = records.len();
            if let Some(existing) = records.get_mut(&key) {
                existing.extend(fields);
                return json!({"id": existing["Id"], "success": true, "errors": [], "created": false});
            }
            let mut missing: Vec<&str> = vec!["LastName"];
            if object == "Lead" {
                missing.push("Company");
            }
            missing.retain(|f| record.get(*f).is_none_or(Value::is_null));
            if !missing.is_empty() {
                return json!({"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": format!("Required fields are missing: [{}]", missing.join(", ")), "fields": missing}]});
            }
            let id = format!("003HANDOFF{number:08}");
            let mut created = fields;
            created.insert("Id".to_owned(), json!(id));
            records.insert(key, created);
            json!({"id": id, "success": true, "errors": [], "created": true})
        })
        .collect();
    Json(Value::Array(results)).into_response()
}

async fn describe(
    State(fake): State<Fake>,
    Path(object): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let authorization = fake.traffic.log(Method::GET, &uri, &headers, Value::Null);
    if !fake.signed_in(&authorization) {
        return session_expired();
    }
    let mut fields: Vec<Value> = ["Id", "Email", "LastName", "FirstName"]
        .iter()
        .map(|name| json!({"name": name, "externalId": false, "type": "string"}))
        .collect();
    fields.extend(
        fake.described
            .lock()
            .unwrap()
            .iter()
            .map(|(name, external)| json!({"name": name, "externalId": external})),
    );
    Json(json!({"name": object, "fields": fields})).into_response()
}

/// Starts the fake Salesforce and points the app at it with `object` and the right credentials.
async fn connect(app: &TestApp, object: &str) -> Fake {
    let fake = fake_salesforce().await;
    point_at(app, &fake).await;
    for (key, value) in [
        (salesforce::CLIENT_ID, CLIENT_ID),
        (salesforce::CLIENT_SECRET, CLIENT_SECRET),
        (salesforce::OBJECT, object),
    ] {
        settings::set(&app.db, key, value).await.unwrap();
    }
    fake
}

/// The fake's address as the My Domain URL: set directly, since the admin's form takes only
/// `https://` and the fake speaks plain HTTP on loopback.
async fn point_at(app: &TestApp, fake: &Fake) {
    settings::set(&app.db, salesforce::DOMAIN, &fake.base)
        .await
        .unwrap();
}

async fn fake_salesforce() -> Fake {
    let mut fake = Fake::default();
    let router = Router::new()
        .route("/services/oauth2/token", post(token))
        .route(
            "/services/data/v62.0/composite/sobjects/{object}/{field}",
            patch(upsert),
        )
        .route(
            "/services/data/v62.0/sobjects/{object}/describe",
            get(describe),
        )
        .with_state(fake.clone());
    // The token answer's instance URL comes from the request's Host, so the router's copy of
    // the state needs no base.
    fake.base = serve(router).await;
    fake
}

fn upserts(fake: &Fake, path: &str) -> Vec<Got> {
    fake.requests(path)
}

/// The records of every upsert to `path`, in order, as (external key, record).
fn sent(fake: &Fake, path: &str) -> Vec<Vec<Value>> {
    upserts(fake, path)
        .iter()
        .map(|g| g.body["records"].as_array().unwrap().clone())
        .collect()
}

async fn referrers_and_leads_reach_salesforce_as_contacts(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let fake = connect(&app, "Contact").await;
    let jane = app
        .referrer("spring", "Jane van Dijk", "Jane@Example.com")
        .await;
    let code = jane["code"].as_str().unwrap().to_owned();
    let public = app.state.settings.public_url.clone();
    wait_for("Jane's record", || {
        fake.record("jane@example.com").is_some()
    })
    .await;

    // Signing in: the client credentials flow, exactly.
    let tokens = fake.token_requests();
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        tokens[0].body,
        json!({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    );
    // First Handoff's fields alone (an existing record would keep its name); Salesforce refuses
    // it for the missing LastName, so it is new: sent again with what creating one takes.
    let got = upserts(&fake, UPSERT_CONTACT);
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|g| g.method == Method::PATCH && g.authorization == "Bearer 00DHANDOFF!token1")
    );
    let fields = json!({
        "attributes": {"type": "Contact"},
        "Handoff_Email__c": "jane@example.com",
        "Handoff_Portal_Url__c": format!("{public}/p/spring"),
        "Handoff_Referral_Code__c": code,
        "Handoff_Referral_Link__c": jane["link"],
        "Handoff_Referrals_Qualified__c": 0,
        "Handoff_Rewards_Due__c": 0,
    });
    assert_eq!(
        got[0].body,
        json!({"allOrNone": false, "records": [fields]}),
        "the exact update"
    );
    let mut create = fields.clone();
    create["Email"] = jane["email"].clone();
    create["FirstName"] = json!("Jane van");
    create["LastName"] = json!("Dijk");
    assert_eq!(
        got[1].body,
        json!({"allOrNone": false, "records": [create]}),
        "the exact creation"
    );
    wait_for_rows(&app, "Jane's row synced", |rows| {
        rows.len() == 1 && rows[0].status == "synced"
    })
    .await;
    let row = rows(&app).await.remove(0);
    assert_eq!(row.crm, crm::SALESFORCE);
    assert_eq!(row.last_status, Some(200));
    assert_eq!(
        row.last_reply.as_deref(),
        Some("Created 003HANDOFF00000000")
    );

    // The business renames her in Salesforce; a purchase changes her numbers and brings a
    // friend. Her update carries Handoff's fields only: the name stays the business's.
    fake.records
        .lock()
        .unwrap()
        .get_mut("jane@example.com")
        .unwrap()
        .insert("LastName".to_owned(), json!("van Dijk-Smit"));
    let response = app
        .post_api(
            "/api/v1/conversions",
            &json!({"campaign": "spring", "event_id": "o-1", "event": "purchase", "referral_code": code, "email": "Friend@Example.org"}),
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    wait_for("Jane's numbers and the friend", || {
        fake.record("jane@example.com").is_some_and(|r| {
            r["Handoff_Referrals_Qualified__c"] == 1 && r["Handoff_Rewards_Due__c"] == 1
        }) && fake.record("friend@example.org").is_some()
    })
    .await;
    let jane_record = fake.record("jane@example.com").unwrap();
    assert_eq!(
        jane_record["LastName"], "van Dijk-Smit",
        "her name untouched"
    );
    let updates: Vec<Value> = sent(&fake, UPSERT_CONTACT)
        .into_iter()
        .flatten()
        .filter(|r| r["Handoff_Email__c"] == "jane@example.com")
        .collect();
    assert!(
        updates[2..].iter().all(|r| r.get("LastName").is_none()),
        "an update never sends a name: {updates:?}"
    );
    // The friend has no name: Salesforce's own words for a value nobody gave.
    let friend = fake.record("friend@example.org").unwrap();
    assert_eq!(friend["LastName"], salesforce::NOT_PROVIDED);
    assert_eq!(friend["Email"], "Friend@example.org");
    assert_eq!(friend["Handoff_Referred_By__c"], "Jane@example.com");
    assert_eq!(
        fake.token_requests().len(),
        1,
        "one sign-in serves every request"
    );
    wait_for_rows(&app, "every row synced", |rows| {
        rows.iter().all(|r| r.status == "synced")
    })
    .await;
    let replies: Vec<String> = rows(&app)
        .await
        .into_iter()
        .map(|r| r.last_reply.unwrap())
        .collect();
    assert!(
        replies.iter().any(|r| r.starts_with("Updated 003HANDOFF")),
        "{replies:?}"
    );
}

async fn expired_sessions_sign_in_again_and_limits_are_honoured(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let fake = connect(&app, "Contact").await;
    app.referrer("spring", "Jane", "jane@example.com").await;
    wait_for_rows(&app, "Jane synced", |rows| {
        rows.first().is_some_and(|r| r.status == "synced")
    })
    .await;

    // The session expires: Handoff signs in again once and sends the same request.
    fake.valid_tokens.lock().unwrap().clear();
    app.referrer("spring", "Bo", "bo@example.com").await;
    wait_for("Bo's record", || fake.record("bo@example.com").is_some()).await;
    assert_eq!(fake.token_requests().len(), 2);
    let got = upserts(&fake, UPSERT_CONTACT);
    let n = got.len();
    assert_eq!(got[n - 3].authorization, "Bearer 00DHANDOFF!token1");
    assert_eq!(got[n - 2].authorization, "Bearer 00DHANDOFF!token2");
    assert_eq!(got[n - 3].body, got[n - 2].body, "the same request again");

    // A 429 waits its Retry-After; a 503 is a failed attempt, retried after the backoff.
    fake.traffic.script.lock().unwrap().extend([
        (429, Some(1), json!([{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "ConcurrentPerOrgLongTxn Limit exceeded."}])),
        (503, None, json!([{"errorCode": "SERVER_UNAVAILABLE", "message": "Server temporarily unavailable."}])),
    ]);
    let cy = app.referrer("spring", "Cy", "cy@example.com").await;
    wait_for("two more attempts", || {
        upserts(&fake, UPSERT_CONTACT).len() >= n + 2
    })
    .await;
    let got = upserts(&fake, UPSERT_CONTACT);
    let waited = got[n + 1].at - got[n].at;
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 was honoured (waited {waited:?})"
    );
    let cy_row = |rows: &[crm_sync::Model]| {
        rows.iter()
            .find(|r| r.object_kind == "referrer" && r.object_id == cy["id"].as_i64().unwrap())
            .cloned()
    };
    wait_for_rows(&app, "the 503 recorded", |rows| {
        cy_row(rows).is_some_and(|r| r.attempts == 1)
    })
    .await;
    let row = cy_row(&rows(&app).await).unwrap();
    assert_eq!(
        (row.status.as_str(), row.last_status),
        ("pending", Some(503))
    );
    assert!(row.last_reply.unwrap().contains("SERVER_UNAVAILABLE"));
    assert!(row.next_attempt_at - Utc::now() > chrono::Duration::seconds(2));

    // Time passes; the org's daily allowance is spent: Salesforce says so with a 403, and the
    // row waits a quarter of an hour without a failure counted.
    fake.traffic.script.lock().unwrap().push_back((
        403,
        None,
        json!([{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}]),
    ));
    crm_sync::Entity::update_many()
        .col_expr(crm_sync::Column::NextAttemptAt, Expr::value(Utc::now()))
        .filter(crm_sync::Column::Id.eq(row.id))
        .exec(&app.db)
        .await
        .unwrap();
    wait_for_rows(&app, "the 403 recorded", |rows| {
        cy_row(rows).is_some_and(|r| r.last_status == Some(403))
    })
    .await;
    let row = cy_row(&rows(&app).await).unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    let wait = row.next_attempt_at - Utc::now();
    assert!(
        wait > chrono::Duration::minutes(14) && wait <= chrono::Duration::minutes(15),
        "next attempt in {wait}"
    );
}

async fn wrong_credentials_fail_every_row_with_salesforces_answer(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let fake = connect(&app, "Contact").await;
    settings::set(&app.db, salesforce::CLIENT_SECRET, "a-revoked-secret-000")
        .await
        .unwrap();
    app.referrer("spring", "Jane", "jane@example.com").await;
    wait_for_rows(&app, "the refusal recorded", |rows| {
        rows.first().is_some_and(|r| r.attempts == 1)
    })
    .await;
    let row = rows(&app).await.remove(0);
    assert_eq!(
        (row.status.as_str(), row.last_status),
        ("pending", Some(400))
    );
    assert!(
        row.last_reply
            .unwrap()
            .contains("invalid client credentials")
    );
    assert!(
        upserts(&fake, UPSERT_CONTACT).is_empty(),
        "nothing sent without a session"
    );
}

async fn one_record_salesforce_refuses_does_not_hold_back_the_others(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    for (name, email) in [
        ("Jane", "jane@example.com"),
        ("Poison", POISON),
        ("Bo", "bo@example.com"),
    ] {
        app.referrer("spring", name, email).await;
    }
    let fake = connect(&app, "Lead").await;
    crm::touch_all(&app.db, &Actor::command_line(), crm::SALESFORCE)
        .await
        .unwrap();
    wait_for_rows(&app, "the three answered", |rows| {
        rows.len() == 3 && rows.iter().all(|r| r.last_attempt_at.is_some())
    })
    .await;
    let sizes: Vec<usize> = sent(&fake, UPSERT_LEAD).iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        vec![3, 2],
        "one batch, then the two new ones with their names"
    );
    let created = &sent(&fake, UPSERT_LEAD)[1];
    assert!(
        created
            .iter()
            .all(|r| r["Company"] == salesforce::NOT_PROVIDED && r["attributes"]["type"] == "Lead")
    );
    let rows = rows(&app).await;
    assert_eq!(rows.iter().filter(|r| r.status == "synced").count(), 2);
    let refused: Vec<_> = rows.iter().filter(|r| r.status == "pending").collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].attempts, 1);
    assert_eq!(
        refused[0].last_reply.as_deref(),
        Some("FIELD_CUSTOM_VALIDATION_EXCEPTION: Partners are not referrers.")
    );
}

async fn hubspot_and_salesforce_sync_side_by_side_and_one_waiting_never_holds_the_other(
    app: TestApp,
) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let salesforce = connect(&app, "Contact").await;
    let hubspot = crate::crm::connect(&app).await;
    // HubSpot asks to wait an hour.
    hubspot.traffic.script.lock().unwrap().push_back((
        429,
        Some(3600),
        json!({"status": "error", "category": "RATE_LIMITS"}),
    ));
    app.referrer("spring", "Jane", "jane@example.com").await;
    wait_for("Jane in both", || {
        salesforce.record("jane@example.com").is_some() && !hubspot.upserts().is_empty()
    })
    .await;
    app.referrer("spring", "Bo", "bo@example.com").await;
    wait_for("Bo in Salesforce", || {
        salesforce.record("bo@example.com").is_some()
    })
    .await;
    assert_eq!(hubspot.upserts().len(), 1, "HubSpot waits its hour");
    assert!(latest_input(&hubspot, "bo@example.com").is_none());
    let rows = rows(&app).await;
    assert_eq!(rows.len(), 4, "a row per CRM and referrer: {rows:?}");
    assert_eq!(
        rows.iter()
            .filter(|r| r.crm == crm::HUBSPOT && r.status == "pending")
            .count(),
        2
    );
}

async fn admins_connect_check_and_sync_everyone_in_batches(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    for i in 0..250 {
        app.referrer(
            "spring",
            &format!("Referrer {i}"),
            &format!("r{i}@example.com"),
        )
        .await;
    }
    let form = [
        ("domain", "https://acme.my.salesforce.com"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("object", "Contact"),
        ("external_id", ""),
    ];
    app.log_in_as("viewer@example.com", Role::Viewer).await;
    let (status, _) = app.rpc("salesforce_save", &form).await;
    assert_eq!(
        status,
        reqwest::StatusCode::FORBIDDEN,
        "viewers change nothing"
    );
    app.log_in_as("boss@example.com", Role::Admin).await;
    let (status, body) = app.rpc("salesforce_sync_all", &[]).await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Each wrong field is named, and nothing is stored.
    for (field, value, words) in [
        ("domain", "http://acme.my.salesforce.com", "My Domain URL"),
        ("client_id", "x", "consumer key"),
        ("client_secret", "", "consumer secret"),
        ("object", "Account", "Contact or Lead"),
        ("external_id", "Email", "external id field"),
    ] {
        let bad: Vec<(&str, &str)> = form
            .iter()
            .map(|(k, v)| (*k, if *k == field { value } else { *v }))
            .collect();
        let (status, body) = app.rpc("salesforce_save", &bad).await;
        assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(body.to_string().contains(words), "{field}: {body}");
        assert!(
            settings::get(&app.db, salesforce::DOMAIN)
                .await
                .unwrap()
                .is_none(),
            "{field}"
        );
    }
    let (status, body) = app.rpc("salesforce_save", &form).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(
        settings::get(&app.db, salesforce::EXTERNAL_ID)
            .await
            .unwrap()
            .as_deref(),
        Some(salesforce::DEFAULT_EXTERNAL_ID)
    );
    // Saving again without the secret keeps it.
    let (status, _) = app
        .rpc(
            "salesforce_save",
            &[
                ("domain", "https://acme.my.salesforce.com"),
                ("client_id", CLIENT_ID),
                ("client_secret", ""),
                ("object", "Contact"),
                ("external_id", "Handoff_Email__c"),
            ],
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(
        settings::get(&app.db, salesforce::CLIENT_SECRET)
            .await
            .unwrap()
            .as_deref(),
        Some(CLIENT_SECRET)
    );
    let page = app.get("/admin/integrations").await.text().await.unwrap();
    assert!(page.contains(
        "Connected to https://acme.my.salesforce.com: Contact records by Handoff_Email__c"
    ));
    assert!(!page.contains(CLIENT_SECRET), "the secret is never shown");
    let fake = fake_salesforce().await;
    point_at(&app, &fake).await;

    // The check names what is missing, then what is wrong, then says it is ready.
    let (status, message) = app.rpc("salesforce_check", &[]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("has no field Handoff_Email__c, Handoff_Referral_Link__c"),
        "{message}"
    );
    let fields: Vec<(String, bool)> = salesforce::fields()
        .into_iter()
        .map(|(name, _, _)| (name, false))
        .chain([("Handoff_Email__c".to_owned(), false)])
        .collect();
    *fake.described.lock().unwrap() = fields.clone();
    let (_, message) = app.rpc("salesforce_check", &[]).await;
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("is not marked External ID"),
        "{message}"
    );
    fake.described.lock().unwrap().last_mut().unwrap().1 = true;
    let (_, message) = app.rpc("salesforce_check", &[]).await;
    assert_eq!(
        message,
        json!(format!(
            "Connected to {}: Contact has every field Handoff writes.",
            fake.base
        ))
    );
    assert!(
        upserts(&fake, UPSERT_CONTACT).is_empty(),
        "nothing queued before sync all"
    );

    let (status, queued) = app.rpc("salesforce_sync_all", &[]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(queued, json!(250));
    wait_for_rows(&app, "all synced", |rows| {
        rows.len() == 250 && rows.iter().all(|r| r.status == "synced")
    })
    .await;
    let sizes: Vec<usize> = sent(&fake, UPSERT_CONTACT).iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        vec![200, 200, 50, 50],
        "Salesforce's batch limit: each batch, then its new records"
    );
    let page = app.get("/admin/integrations").await.text().await.unwrap();
    assert!(
        page.contains("250 synced, 0 waiting, 0 failed."),
        "progress on the page"
    );
    assert!(
        page.contains("HTTP 200 Created 003HANDOFF"),
        "the log shows Salesforce's answer"
    );

    // "Send again" goes to the row's own CRM.
    let row = rows(&app).await.remove(0);
    let (status, _) = app.rpc("crm_resend", &[("id", &row.id.to_string())]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    wait_for("the record sent again", || {
        sent(&fake, UPSERT_CONTACT).len() == 5
    })
    .await;

    let (status, _) = app.rpc("salesforce_disconnect", &[]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(
        settings::get(&app.db, salesforce::CLIENT_SECRET)
            .await
            .unwrap()
            .is_none()
    );
    let page = app.get("/admin/integrations").await.text().await.unwrap();
    assert!(page.contains("Not connected: nothing is sent to Salesforce."));
}

on_both_databases!(
    referrers_and_leads_reach_salesforce_as_contacts,
    expired_sessions_sign_in_again_and_limits_are_honoured,
    wrong_credentials_fail_every_row_with_salesforces_answer,
    one_record_salesforce_refuses_does_not_hold_back_the_others,
    hubspot_and_salesforce_sync_side_by_side_and_one_waiting_never_holds_the_other,
    admins_connect_check_and_sync_everyone_in_batches,
);
