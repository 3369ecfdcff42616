use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, clicks_in_db},
    on_both_databases,
};

fn path_of(link: &Value, app: &TestApp) -> String {
    link.as_str()
        .unwrap()
        .trim_start_matches(&app.address)
        .to_owned()
}

async fn the_link_redirects_to_the_landing_url_with_the_code_and_records_the_click(app: TestApp) {
    app.campaign(
        json!({"name": "Shop", "slug": "shop", "landing_url": "https://shop.example/join?utm=x"}),
    )
    .await;
    let jane = app.referrer("shop", "Jane", "jane@example.com").await;
    let response = app.get(&path_of(&jane["link"], &app)).await;
    assert_eq!(response.status(), StatusCode::FOUND, "302, never 301");
    let location = response.headers()["location"].to_str().unwrap();
    let code = jane["code"].as_str().unwrap();
    assert_eq!(
        location,
        format!("https://shop.example/join?utm=x&ref={code}")
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("handoff_ref=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
    );
    assert_eq!(clicks_in_db(&app, 1).await, 1);
    let stats: Value = app
        .get_json(&format!("/api/v1/referrers/{}", jane["id"]))
        .await;
    assert_eq!(stats["clicks"], 1);
}

async fn without_a_landing_url_the_link_goes_to_the_hosted_friend_page(app: TestApp) {
    app.campaign(json!({"name": "Hosted", "slug": "hosted"}))
        .await;
    let jane = app.referrer("hosted", "Jane", "jane@example.com").await;
    let response = app.get(&path_of(&jane["link"], &app)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        response.headers()["location"],
        format!("{}/f/hosted", app.address).as_str()
    );
}

async fn unknown_and_paused_links_get_a_friendly_404(app: TestApp) {
    app.campaign(json!({"name": "Hosted", "slug": "hosted"}))
        .await;
    let jane = app.referrer("hosted", "Jane", "jane@example.com").await;
    let unknown = app.get("/r/no-such-link").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.text().await.unwrap().contains("referral link"));
    let weird = app.get("/r/..%2F..%2Fetc").await;
    assert_eq!(weird.status(), StatusCode::NOT_FOUND);
    app::ssr::services::campaigns::set_paused(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        "hosted",
        true,
    )
    .await
    .unwrap();
    let paused = app.get(&path_of(&jane["link"], &app)).await;
    assert_eq!(paused.status(), StatusCode::NOT_FOUND);
    assert!(paused.text().await.unwrap().contains("paused"));
    assert_eq!(
        clicks_in_db(&app, 0).await,
        0,
        "no click is recorded for a paused link"
    );
}

async fn many_clicks_all_reach_the_database(app: TestApp) {
    app.campaign(json!({"name": "Hosted", "slug": "hosted"}))
        .await;
    let jane = app.referrer("hosted", "Jane", "jane@example.com").await;
    let path = path_of(&jane["link"], &app);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let client = app.client.clone();
        let url = format!("{}{path}", app.address);
        tasks.push(tokio::spawn(async move {
            client.get(url).send().await.unwrap().status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::FOUND);
    }
    assert_eq!(clicks_in_db(&app, 200).await, 200);
    crate::helpers::assert_counters_agree(&app).await;
}

on_both_databases!(
    the_link_redirects_to_the_landing_url_with_the_code_and_records_the_click,
    without_a_landing_url_the_link_goes_to_the_hosted_friend_page,
    unknown_and_paused_links_get_a_friendly_404,
    many_clicks_all_reach_the_database,
);
