use app::ssr::services::leads;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, one_typo},
    on_both_databases,
};

async fn setup(app: &TestApp) -> Value {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.referrer("spring", "Jane Doe", "jane@example.com").await
}

async fn lead_of(app: &TestApp, email: &str) -> Value {
    let leads: Value = app.get_json("/api/v1/leads?campaign=spring").await;
    leads["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["email"] == email)
        .cloned()
        .unwrap_or(Value::Null)
}

async fn a_friend_arriving_by_link_finds_the_code_prefilled_and_is_credited(app: TestApp) {
    let jane = setup(&app).await;
    let code = jane["code"].as_str().unwrap();
    let link = jane["link"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.address)
        .to_owned();
    assert_eq!(app.get(&link).await.status(), StatusCode::FOUND);
    let page = app.get("/f/spring").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("value=\"{code}\"")),
        "code prefilled"
    );
    assert!(html.contains("Jane Doe invited you"));

    let done = app
        .hosted_sign_up(
            "/f/spring",
            &[
                ("name", "Friend"),
                ("email", "friend@example.com"),
                ("referral_code", code),
            ],
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("Thanks for signing up"));
    let lead = lead_of(&app, "friend@example.com").await;
    assert_eq!(lead["source"], "link");
    assert_eq!(lead["referrer_id"], jane["id"]);

    let detail = leads::detail(&app.state, lead["id"].as_i64().unwrap())
        .await
        .unwrap();
    let kinds: Vec<&str> = detail.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["click", "captured"],
        "the timeline explains the credit"
    );
}

async fn a_typed_code_with_a_typo_shows_the_suggestion_and_creates_nothing(app: TestApp) {
    let jane = setup(&app).await;
    let code = jane["code"].as_str().unwrap();
    let wrong = one_typo(code);
    let response = app
        .hosted_sign_up(
            "/f/spring",
            &[
                ("name", "Friend"),
                ("email", "friend@example.com"),
                ("referral_code", &wrong),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains(&format!("Did you mean {code}?")), "{html}");
    assert!(
        html.contains("value=\"friend@example.com\""),
        "what the friend typed is kept"
    );
    assert!(lead_of(&app, "friend@example.com").await.is_null());

    let fixed = app
        .hosted_sign_up(
            "/f/spring",
            &[
                ("name", "Friend"),
                ("email", "friend@example.com"),
                ("referral_code", code),
            ],
        )
        .await;
    assert_eq!(fixed.status(), StatusCode::OK);
    assert_eq!(lead_of(&app, "friend@example.com").await["source"], "code");
}

async fn the_business_s_own_form_can_post_to_the_friend_endpoint(app: TestApp) {
    let jane = setup(&app).await;
    let response = app
        .client
        .post(format!("{}/f/spring", app.address))
        .header("Origin", "https://shop.example")
        .form(&[
            ("email", "buyer@example.com"),
            ("name", "Buyer"),
            ("referral_code", jane["code"].as_str().unwrap()),
            ("utm_source", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(lead_of(&app, "buyer@example.com").await["source"], "form");
}

async fn an_email_already_in_the_campaign_keeps_its_referrer_and_gets_a_polite_message(
    app: TestApp,
) {
    let jane = setup(&app).await;
    let omar = app.referrer("spring", "Omar", "omar@example.com").await;
    app.hosted_sign_up(
        "/f/spring",
        &[
            ("email", "f@example.com"),
            ("referral_code", jane["code"].as_str().unwrap()),
        ],
    )
    .await;
    let again = app
        .hosted_sign_up(
            "/f/spring",
            &[
                ("email", "F@Example.com"),
                ("referral_code", omar["code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.text().await.unwrap().contains("already signed up"));
    assert_eq!(
        lead_of(&app, "f@example.com").await["referrer_id"],
        jane["id"]
    );
}

async fn bad_friend_input_is_shown_next_to_the_field(app: TestApp) {
    let jane = setup(&app).await;
    let response = app
        .hosted_sign_up(
            "/f/spring",
            &[
                ("email", "not-an-email"),
                ("referral_code", jane["code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"email-error\""));
    let script = app
        .hosted_sign_up(
            "/f/spring",
            &[
                ("name", "<script>alert(1)</script>"),
                ("email", "x@"),
                ("referral_code", ""),
            ],
        )
        .await;
    let html = script.text().await.unwrap();
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "input is escaped"
    );
    assert_eq!(
        app.get("/f/no-such-campaign").await.status(),
        StatusCode::NOT_FOUND
    );
}

on_both_databases!(
    a_friend_arriving_by_link_finds_the_code_prefilled_and_is_credited,
    a_typed_code_with_a_typo_shows_the_suggestion_and_creates_nothing,
    the_business_s_own_form_can_post_to_the_friend_endpoint,
    an_email_already_in_the_campaign_keeps_its_referrer_and_gets_a_polite_message,
    bad_friend_input_is_shown_next_to_the_field,
);

async fn with_codes_off_the_link_slug_in_ref_credits_the_referrer(app: TestApp) {
    app.campaign(json!({"name": "No codes", "slug": "nocodes", "codes_enabled": false, "landing_url": "https://shop.example/"})).await;
    let ann = app.referrer("nocodes", "Ann", "ann@example.com").await;
    let link = ann["link"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.address)
        .to_owned();
    let location = app.get(&link).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let slug = link.trim_start_matches("/r/");
    assert_eq!(location, format!("https://shop.example/?ref={slug}"));
    // The business's own site posts from its origin: no Handoff cookie comes along.
    let posted = reqwest::Client::new()
        .post(format!("{}/f/nocodes", app.address))
        .form(&[("email", "buyer@example.com"), ("ref", slug)])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::OK);
    let leads: Value = app.get_json("/api/v1/leads?campaign=nocodes").await;
    assert_eq!(leads["items"][0]["referrer_id"], ann["id"]);
    assert_eq!(leads["items"][0]["source"], "form");
}

on_both_databases!(with_codes_off_the_link_slug_in_ref_credits_the_referrer);
