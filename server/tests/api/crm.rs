//! CRM sync to a fake HubSpot on loopback that speaks HubSpot's CRM v3 HTTP and JSON: the exact
//! requests the worker sends (auth, batch upsert by email, properties), rate limits and server
//! errors honoured and retried, "sync all now" in batches of 100, and the admin's forms.

use std::time::Duration;

use app::{
    domain::roles::Role,
    ssr::{
        entities::crm_sync,
        services::{
            audit::Actor,
            crm::{self, hubspot},
            settings,
        },
    },
};
use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::post,
};
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    fake_crm::{Got, Traffic, rows, serve, wait_for, wait_for_rows},
    helpers::TestApp,
    on_both_databases,
};

const TOKEN: &str = "pat-na1-11111111-2222-3333-4444-555555555555";
/// A contact the fake HubSpot refuses.
const POISON: &str = "poison@example.com";

/// The fake HubSpot: every request it got, and the answers a test scripted for the next ones
/// (when none, HubSpot's 200).
#[derive(Clone, Default)]
pub(crate) struct Fake {
    pub(crate) traffic: Traffic,
}

impl Fake {
    pub(crate) fn upserts(&self) -> Vec<Got> {
        self.traffic.requests(UPSERT)
    }
}

const UPSERT: &str = "/crm/v3/objects/contacts/batch/upsert";
const PROPERTIES: &str = "/crm/v3/properties/contacts/batch/create";

async fn answer(
    State(fake): State<Fake>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let inputs = body["inputs"].as_array().cloned().unwrap_or_default();
    let authorization = fake.traffic.log(Method::POST, &uri, &headers, body);
    if authorization != format!("Bearer {TOKEN}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"status": "error", "category": "INVALID_AUTHENTICATION", "message": "Authentication credentials not found."})),
        )
            .into_response();
    }
    // HubSpot refuses a whole batch for one contact it will not take.
    if inputs.iter().any(|i| i["id"] == POISON) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"status": "error", "category": "VALIDATION_ERROR", "message": format!("Property values were not valid for {POISON}")})),
        )
            .into_response();
    }
    if let Some(response) = fake.traffic.scripted() {
        return response;
    }
    // HubSpot's answer to a batch upsert: each contact with an id and its properties.
    let results: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| json!({"id": (1000 + i).to_string(), "properties": input["properties"], "new": true}))
        .collect();
    (
        StatusCode::OK,
        Json(json!({"status": "COMPLETE", "results": results, "startedAt": Utc::now(), "completedAt": Utc::now()})),
    )
        .into_response()
}

/// Starts the fake HubSpot and points the app at it with a token.
pub(crate) async fn connect(app: &TestApp) -> Fake {
    let fake = fake_hubspot(app).await;
    hubspot::set_token(&app.db, &Actor::command_line(), TOKEN)
        .await
        .unwrap();
    fake
}

/// Starts the fake HubSpot and points the app at it (no token yet).
async fn fake_hubspot(app: &TestApp) -> Fake {
    let fake = Fake::default();
    let router = Router::new()
        .route(UPSERT, post(answer))
        .route(PROPERTIES, post(answer))
        .with_state(fake.clone());
    let base = serve(router).await;
    settings::set(&app.db, hubspot::API_BASE, &base)
        .await
        .unwrap();
    fake
}

/// The input of the newest upsert naming `email`.
pub(crate) fn latest_input(fake: &Fake, email: &str) -> Option<Value> {
    fake.upserts().iter().rev().find_map(|g| {
        g.body["inputs"]
            .as_array()?
            .iter()
            .find(|i| i["id"] == email)
            .cloned()
    })
}

async fn referrers_and_leads_reach_hubspot_as_contacts(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let fake = connect(&app).await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let code = jane["code"].as_str().unwrap().to_owned();
    let public = app.state.settings.public_url.clone();
    wait_for("Jane's contact", || {
        latest_input(&fake, "jane@example.com").is_some()
    })
    .await;
    let first = &fake.upserts()[0];
    assert_eq!(first.authorization, format!("Bearer {TOKEN}"));
    assert_eq!(
        first.body,
        json!({"inputs": [{
            "idProperty": "email",
            "id": "jane@example.com",
            "properties": {
                "handoff_portal_url": format!("{public}/p/spring"),
                "handoff_referral_code": code,
                "handoff_referral_link": jane["link"],
                "handoff_referrals_qualified": "0",
                "handoff_rewards_due": "0",
            },
        }]}),
        "the exact request HubSpot gets"
    );

    // A purchase: a new lead, qualified, and a reward due at once (the default rules). The
    // friend's email is kept as typed but for its domain, which email addresses ignore the
    // case of.
    let response = app
        .post_api(
            "/api/v1/conversions",
            &json!({"campaign": "spring", "event_id": "o-1", "event": "purchase", "referral_code": code, "email": "Friend@Example.org"}),
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    wait_for("Jane's numbers and the friend", || {
        latest_input(&fake, "jane@example.com").is_some_and(|i| {
            i["properties"]["handoff_referrals_qualified"] == "1"
                && i["properties"]["handoff_rewards_due"] == "1"
        }) && latest_input(&fake, "Friend@example.org").is_some()
    })
    .await;
    assert_eq!(
        latest_input(&fake, "Friend@example.org").unwrap(),
        json!({"idProperty": "email", "id": "Friend@example.org", "properties": {"handoff_referred_by": "jane@example.com"}})
    );
    // A lead without an email (a code conversion that named none) is no contact: skipped, said why.
    let response = app
        .post_api(
            "/api/v1/conversions",
            &json!({"campaign": "spring", "event_id": "o-2", "event": "purchase", "referral_code": code}),
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    wait_for_rows(&app, "the lead without email skipped", |rows| {
        rows.iter().any(|r| {
            r.status == "skipped"
                && r.last_reply
                    .as_deref()
                    .is_some_and(|t| t.starts_with("No email address"))
        })
    })
    .await;
    assert!(
        fake.upserts().iter().all(|g| g.body["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != "")),
        "no contact without an email is sent"
    );
    // A new code goes to HubSpot too.
    app.log_in_as("boss@example.com", Role::Admin).await;
    let (status, saved) = app
        .rpc(
            "referrer_replace_code",
            &[("id", &jane["id"].to_string()), ("grace_days", "0")],
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{saved}");
    let new_code = saved["code"].as_str().unwrap().to_owned();
    assert_ne!(new_code, code);
    wait_for("the new code", || {
        latest_input(&fake, "jane@example.com")
            .is_some_and(|i| i["properties"]["handoff_referral_code"] == new_code.as_str())
    })
    .await;
    wait_for_rows(&app, "every row synced", |rows| {
        rows.iter()
            .all(|r| r.status == "synced" || r.status == "skipped")
    })
    .await;
    let log: Vec<_> = rows(&app)
        .await
        .into_iter()
        .filter(|r| r.status != "skipped")
        .collect();
    assert_eq!(log.len(), 2, "one row per object: {log:?}");
    assert!(
        log.iter()
            .all(|r| r.last_status == Some(200) && r.attempts == 0)
    );
    // No upsert named one contact twice.
    for got in fake.upserts() {
        let mut ids: Vec<&str> = got.body["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}

async fn rate_limits_are_honoured_and_failures_retried(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let fake = connect(&app).await;
    fake.traffic.script.lock().unwrap().extend([
        (429, Some(1), json!({"status": "error", "category": "RATE_LIMITS", "message": "You have reached your secondly limit."})),
        (502, None, json!({"status": "error", "message": "Bad gateway"})),
    ]);
    app.referrer("spring", "Jane", "jane@example.com").await;
    wait_for("two attempts", || fake.upserts().len() >= 2).await;
    let got = fake.upserts();
    let waited = got[1].at - got[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 was honoured (waited {waited:?})"
    );
    // The 502 is a failed attempt: retried after the first backoff step, not at once.
    wait_for_rows(&app, "the failure recorded", |rows| {
        rows.first().is_some_and(|r| r.attempts == 1)
    })
    .await;
    let row = rows(&app).await.remove(0);
    assert_eq!(row.status, "pending");
    assert_eq!(row.last_status, Some(502));
    assert!(row.last_reply.as_deref().unwrap().contains("Bad gateway"));
    let wait = row.next_attempt_at - Utc::now();
    assert!(
        wait > chrono::Duration::seconds(2) && wait <= chrono::Duration::seconds(5),
        "next attempt in {wait}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.upserts().len(), 2, "nothing sent before the backoff");
    // Time passes.
    crm_sync::Entity::update_many()
        .col_expr(crm_sync::Column::NextAttemptAt, Expr::value(Utc::now()))
        .filter(crm_sync::Column::Id.eq(row.id))
        .exec(&app.db)
        .await
        .unwrap();
    wait_for_rows(&app, "the third attempt synced", |rows| {
        rows.first().is_some_and(|r| r.status == "synced")
    })
    .await;
    assert_eq!(fake.upserts().len(), 3);
    assert_eq!(fake.upserts()[2].body, fake.upserts()[0].body);
}

async fn admins_create_properties_and_sync_everyone_in_batches(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    // Referrers from before HubSpot was connected: only "sync all now" sends them.
    for i in 0..120 {
        app.referrer(
            "spring",
            &format!("Referrer {i}"),
            &format!("r{i}@example.com"),
        )
        .await;
    }
    app.log_in_as("viewer@example.com", Role::Viewer).await;
    let (status, _) = app.rpc("hubspot_token", &[("token", TOKEN)]).await;
    assert_eq!(
        status,
        reqwest::StatusCode::FORBIDDEN,
        "viewers change nothing"
    );
    assert!(
        settings::get(&app.db, hubspot::TOKEN)
            .await
            .unwrap()
            .is_none()
    );
    app.log_in_as("boss@example.com", Role::Admin).await;
    let (status, body) = app.rpc("hubspot_sync_all", &[]).await;
    assert_eq!(
        status,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "not connected: {body}"
    );
    let (status, body) = app.rpc("hubspot_token", &[("token", "not a token")]).await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.to_string().contains("access token"), "{body}");
    assert!(
        settings::get(&app.db, hubspot::TOKEN)
            .await
            .unwrap()
            .is_none()
    );

    let fake = fake_hubspot(&app).await;
    let (status, _) = app.rpc("hubspot_token", &[("token", TOKEN)]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(
        settings::get(&app.db, hubspot::TOKEN)
            .await
            .unwrap()
            .as_deref(),
        Some(TOKEN)
    );

    // Properties: exactly HubSpot's create shape, six of them.
    fake.traffic.script.lock().unwrap().push_back((
        207,
        None,
        json!({"status": "COMPLETE", "results": [], "errors": [{"status": "error", "category": "OBJECT_ALREADY_EXISTS", "message": "A property named 'handoff_referral_code' already exists."}]}),
    ));
    let (status, message) = app.rpc("hubspot_properties", &[]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(
        message.as_str().unwrap().contains("are in HubSpot"),
        "{message}"
    );
    let created = fake.traffic.requests(PROPERTIES);
    assert_eq!(created.len(), 1);
    let inputs = created[0].body["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 6);
    assert_eq!(
        inputs[3],
        json!({"name": "handoff_referrals_qualified", "label": "Handoff referrals qualified", "type": "number", "fieldType": "number", "groupName": "contactinformation", "description": "Written by Handoff, the referral platform."})
    );
    assert!(fake.upserts().is_empty(), "nothing queued before sync all");

    let (status, queued) = app.rpc("hubspot_sync_all", &[]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(queued, json!(120));
    wait_for("120 contacts", || {
        fake.upserts()
            .iter()
            .map(|g| g.body["inputs"].as_array().unwrap().len())
            .sum::<usize>()
            >= 120
    })
    .await;
    let sizes: Vec<usize> = fake
        .upserts()
        .iter()
        .map(|g| g.body["inputs"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![100, 20], "HubSpot's batch limit");
    wait_for_rows(&app, "all synced", |rows| {
        rows.len() == 120 && rows.iter().all(|r| r.status == "synced")
    })
    .await;
    let counts = crm::counts(&app.db, crm::HUBSPOT).await.unwrap();
    assert_eq!((counts.synced, counts.pending, counts.failed), (120, 0, 0));
    // The page shows the progress and the log.
    let page = app.get("/admin/integrations").await.text().await.unwrap();
    assert!(
        page.contains("120 synced, 0 waiting, 0 failed."),
        "progress on the page"
    );
    assert!(page.contains("HTTP 200"), "the log shows HubSpot's answer");

    // A refused token: every row fails its attempt and says why.
    settings::set(&app.db, hubspot::TOKEN, "pat-na1-revoked-token")
        .await
        .unwrap();
    let (status, _) = app.rpc("hubspot_sync_all", &[]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    wait_for_rows(&app, "the refusals recorded", |rows| {
        rows.iter()
            .all(|r| r.attempts == 1 && r.last_status == Some(401))
    })
    .await;
    assert!(
        rows(&app).await[0]
            .last_reply
            .as_deref()
            .unwrap()
            .contains("Authentication credentials not found")
    );

    // An empty token is refused, not taken for a disconnection; the button disconnects.
    let (status, _) = app.rpc("hubspot_token", &[("token", "")]).await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        settings::get(&app.db, hubspot::TOKEN)
            .await
            .unwrap()
            .is_some()
    );
    let (status, _) = app.rpc("hubspot_disconnect", &[]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(
        settings::get(&app.db, hubspot::TOKEN)
            .await
            .unwrap()
            .is_none()
    );
}

async fn one_contact_hubspot_refuses_does_not_hold_back_the_others(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    for (name, email) in [
        ("Jane", "jane@example.com"),
        ("Poison", POISON),
        ("Bo", "bo@example.com"),
    ] {
        app.referrer("spring", name, email).await;
    }
    let fake = connect(&app).await;
    // One batch of the three.
    crm::touch_all(&app.db, &Actor::command_line(), crm::HUBSPOT)
        .await
        .unwrap();
    wait_for_rows(&app, "the three answered", |rows| {
        rows.len() == 3
            && rows
                .iter()
                .all(|r| r.last_attempt_at.is_some() && r.locked_until.is_none())
    })
    .await;
    let sizes: Vec<usize> = fake
        .upserts()
        .iter()
        .map(|g| g.body["inputs"].as_array().unwrap().len())
        .collect();
    assert_eq!(
        sizes,
        vec![3, 1, 1, 1],
        "the batch, then each contact alone"
    );
    let rows = rows(&app).await;
    let synced = rows.iter().filter(|r| r.status == "synced").count();
    assert_eq!(synced, 2, "{rows:?}");
    let refused: Vec<_> = rows.iter().filter(|r| r.status == "pending").collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].attempts, 1);
    assert_eq!(refused[0].last_status, Some(400));
    assert!(refused[0].last_reply.as_deref().unwrap().contains(POISON));
}

on_both_databases!(
    referrers_and_leads_reach_hubspot_as_contacts,
    one_contact_hubspot_refuses_does_not_hold_back_the_others,
    rate_limits_are_honoured_and_failures_retried,
    admins_create_properties_and_sync_everyone_in_batches,
);
