use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, one_typo},
    on_both_databases,
};

async fn setup(app: &TestApp) -> (Value, Value) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let omar = app.referrer("spring", "Omar", "omar@example.com").await;
    (jane, omar)
}

async fn a_lead_with_a_code_is_credited_to_its_referrer(app: TestApp) {
    let (jane, _) = setup(&app).await;
    let code = jane["code"].as_str().unwrap().to_lowercase();
    let response = app
        .post_api("/api/v1/leads", &json!({"campaign": "spring", "email": "friend@example.com", "name": "Friend", "referral_code": code}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let lead: Value = response.json().await.unwrap();
    assert_eq!(lead["referrer_id"], jane["id"]);
    assert_eq!(lead["status"], "pending");
    assert_eq!(lead["source"], "api");

    let listed: Value = app
        .get_json(&format!(
            "/api/v1/leads?campaign=spring&status=pending&referrer_id={}",
            jane["id"]
        ))
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let stats: Value = app
        .get_json(&format!("/api/v1/referrers/{}", jane["id"]))
        .await;
    assert_eq!(stats["leads"], 1);
}

async fn the_first_referrer_wins_when_the_same_email_comes_again(app: TestApp) {
    let (jane, omar) = setup(&app).await;
    let first = app
        .post_api("/api/v1/leads", &json!({"campaign": "spring", "email": "f.riend@gmail.com", "referral_code": jane["code"]}))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let second = app
        .post_api("/api/v1/leads", &json!({"campaign": "spring", "email": "Friend+promo@GMAIL.com", "referral_code": omar["code"]}))
        .await;
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["referrer_id"], jane["id"], "attribution unchanged");
}

async fn a_one_character_typo_is_rejected_with_a_suggestion(app: TestApp) {
    let (jane, _) = setup(&app).await;
    let code = jane["code"].as_str().unwrap();
    let response = app
        .post_api("/api/v1/leads", &json!({"campaign": "spring", "email": "friend@example.com", "referral_code": one_typo(code)}))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unknown_referral_code");
    assert_eq!(error["error"]["field"], "referral_code");
    assert_eq!(error["error"]["suggestion"], code);

    let nothing_like_it = app
        .post_api("/api/v1/leads", &json!({"campaign": "spring", "email": "friend@example.com", "referral_code": "ZZZZ-ZZZZ-ZZZZ"}))
        .await;
    assert_eq!(nothing_like_it.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = nothing_like_it.json().await.unwrap();
    assert!(error["error"]["suggestion"].is_null());
    let leads: Value = app.get_json("/api/v1/leads").await;
    assert_eq!(
        leads["items"].as_array().unwrap().len(),
        0,
        "nothing was created"
    );
}

async fn a_friend_using_their_own_code_is_recorded_and_flagged(app: TestApp) {
    let (jane, _) = setup(&app).await;
    let response = app
        .post_api("/api/v1/leads", &json!({"campaign": "spring", "email": "Jane+again@example.com", "referral_code": jane["code"]}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let lead: Value = response.json().await.unwrap();
    assert_eq!(lead["flags"], json!(["self_referral"]));
}

async fn concurrent_sign_ups_with_one_email_make_exactly_one_lead(app: TestApp) {
    let (jane, _) = setup(&app).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let client = app.client.clone();
        let url = format!("{}/api/v1/leads", app.address);
        let key = app.api_key.clone();
        let code = jane["code"].clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(key)
                .json(&json!({"campaign": "spring", "email": "race@example.com", "referral_code": code}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut created = 0;
    for task in tasks {
        let status = task.await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}"
        );
        created += usize::from(status == StatusCode::CREATED);
    }
    assert_eq!(created, 1);
    let leads: Value = app.get_json("/api/v1/leads?campaign=spring").await;
    assert_eq!(leads["items"].as_array().unwrap().len(), 1);
}

async fn bad_lead_input_and_filters_are_rejected(app: TestApp) {
    setup(&app).await;
    let no_code = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": "spring", "email": "f@example.com"}),
        )
        .await;
    assert_eq!(no_code.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = no_code.json().await.unwrap();
    assert_eq!(error["error"]["code"], "missing_referral_code");
    let bad_email = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": "spring", "email": "f@", "referral_code": "X"}),
        )
        .await;
    assert_eq!(bad_email.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_status = app.get_api("/api/v1/leads?status=won").await;
    assert_eq!(bad_status.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_cursor = app.get_api("/api/v1/leads?after=abc").await;
    assert_eq!(bad_cursor.status(), StatusCode::BAD_REQUEST);
}

async fn a_paused_campaign_takes_no_leads(app: TestApp) {
    let (jane, _) = setup(&app).await;
    app::ssr::services::campaigns::set_paused(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        "spring",
        true,
    )
    .await
    .unwrap();
    let response = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": "spring", "email": "f@example.com", "referral_code": jane["code"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "campaign_paused");
}

async fn the_lead_pages_name_and_link_what_they_show(app: TestApp) {
    let (jane, _) = setup(&app).await;
    let lead: Value = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": "spring", "email": "f@example.com", "referral_code": jane["code"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    app.log_in_as("viewer@example.com", app::domain::roles::Role::Viewer)
        .await;
    let page = app
        .get(&format!("/admin/leads/{}", lead["id"]))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<a href=\"/admin/campaigns/spring\">Spring</a>"),
        "the campaign by name, linked"
    );
    assert!(
        page.contains(&format!(
            "<a href=\"/admin/referrers/{}\">Jane</a>",
            jane["id"]
        )),
        "the referrer, linked"
    );
    // A filter set by a link is said on the page, with a way to clear it.
    let filtered = app
        .get(&format!(
            "/admin/leads?status=pending&referrer_id={}",
            jane["id"]
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        filtered.contains("Only the leads of"),
        "the filter is shown"
    );
    assert!(
        filtered.contains("href=\"/admin/leads?status=pending\""),
        "and can be cleared"
    );
    let all = app.get("/admin/leads").await.text().await.unwrap();
    assert!(!all.contains("Only the leads of"));
}

on_both_databases!(
    the_lead_pages_name_and_link_what_they_show,
    a_lead_with_a_code_is_credited_to_its_referrer,
    the_first_referrer_wins_when_the_same_email_comes_again,
    a_one_character_typo_is_rejected_with_a_suggestion,
    a_friend_using_their_own_code_is_recorded_and_flagged,
    concurrent_sign_ups_with_one_email_make_exactly_one_lead,
    bad_lead_input_and_filters_are_rejected,
    a_paused_campaign_takes_no_leads,
);
