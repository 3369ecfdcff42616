use app::domain::codes::ReferralCode;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_databases};

async fn a_referrer_gets_an_absolute_link_a_portal_and_a_valid_code(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let response = app
        .post_api(
            "/api/v1/referrers",
            &json!({"campaign": "spring", "name": "Jane Doe", "email": "Jane@Example.com"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let jane: Value = response.json().await.unwrap();
    assert!(
        jane["link"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/r/", app.address))
    );
    assert!(
        jane["portal_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/p/", app.address))
    );
    let code = jane["code"].as_str().unwrap();
    assert_eq!(
        ReferralCode::parse(code).unwrap().key(),
        ReferralCode::parse(&code.to_lowercase()).unwrap().key()
    );

    // The portal address is the campaign's entrance: it opens nothing by itself.
    assert_eq!(
        jane["portal_url"].as_str().unwrap(),
        format!("{}/p/spring", app.address)
    );
    let entrance = app.get("/p/spring").await;
    assert_eq!(entrance.status(), StatusCode::OK);
    let html = entrance.text().await.unwrap();
    assert!(html.contains("Email me a sign-in link"));
    assert!(!html.contains(code), "the entrance shows nobody's code");
}

async fn the_same_email_again_returns_the_existing_referrer(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let first = app.referrer("spring", "Jane", "jane.doe@gmail.com").await;
    let again = app
        .post_api(
            "/api/v1/referrers",
            &json!({"campaign": "spring", "name": "Jane D", "email": "JaneDoe+x@gmail.com"}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["code"], first["code"]);
}

async fn bad_referrer_input_is_rejected(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let bad_email = app
        .post_api(
            "/api/v1/referrers",
            &json!({"campaign": "spring", "name": "J", "email": "nope"}),
        )
        .await;
    assert_eq!(bad_email.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = bad_email.json().await.unwrap();
    assert_eq!(body["error"]["field"], "email");
    let no_campaign = app
        .post_api(
            "/api/v1/referrers",
            &json!({"campaign": "nope", "name": "J", "email": "j@example.com"}),
        )
        .await;
    assert_eq!(no_campaign.status(), StatusCode::NOT_FOUND);
    let missing_field = app
        .post_api("/api/v1/referrers", &json!({"campaign": "spring"}))
        .await;
    assert_eq!(missing_field.status(), StatusCode::BAD_REQUEST);
}

async fn referrers_are_found_by_email_and_code_and_paged_newest_first(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let mut last = Value::Null;
    for i in 0..55 {
        last = app
            .referrer(
                "spring",
                &format!("Person {i}"),
                &format!("p{i}@example.com"),
            )
            .await;
    }
    let page1: Value = app.get_json("/api/v1/referrers?campaign=spring").await;
    let items = page1["items"].as_array().unwrap();
    assert_eq!(items.len(), 50);
    assert_eq!(items[0]["id"], last["id"], "newest first");
    let cursor = page1["next_cursor"].as_i64().expect("a next page");
    let page2: Value = app
        .get_json(&format!("/api/v1/referrers?campaign=spring&after={cursor}"))
        .await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 5);
    assert!(page2["next_cursor"].is_null());

    let by_email: Value = app
        .get_json("/api/v1/referrers?email=P54@example.com")
        .await;
    assert_eq!(by_email["items"][0]["id"], last["id"]);
    let code = last["code"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .replace('-', " ");
    let by_code: Value = app
        .get_api(&format!("/api/v1/referrers?code={}", urlencode(&code)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_code["items"].as_array().unwrap().len(), 1);
    assert_eq!(by_code["items"][0]["id"], last["id"]);

    let one: Value = app
        .get_json(&format!("/api/v1/referrers/{}", last["id"]))
        .await;
    assert_eq!(one["clicks"], 0);
    assert_eq!(one["leads"], 0);
    assert_eq!(one["qualified"], 0);
}

async fn switching_codes_on_later_generates_codes_for_everyone_without_one(app: TestApp) {
    app.campaign(json!({"name": "Quiet", "slug": "quiet", "codes_enabled": false}))
        .await;
    let ann = app.referrer("quiet", "Ann", "ann@example.com").await;
    assert!(ann["code"].is_null());
    app::ssr::services::campaigns::update(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        "quiet",
        &app::types::CampaignInput {
            codes_enabled: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let made = app::ssr::services::referrers::generate_missing_codes(&app.state, "quiet")
        .await
        .unwrap();
    assert_eq!(made, 1);
    let ann: Value = app
        .get_json(&format!("/api/v1/referrers/{}", ann["id"]))
        .await;
    assert!(ReferralCode::parse(ann["code"].as_str().unwrap()).is_ok());
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

on_both_databases!(
    a_referrer_gets_an_absolute_link_a_portal_and_a_valid_code,
    the_same_email_again_returns_the_existing_referrer,
    bad_referrer_input_is_rejected,
    referrers_are_found_by_email_and_code_and_paged_newest_first,
    switching_codes_on_later_generates_codes_for_everyone_without_one,
);
