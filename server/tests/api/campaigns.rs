use app::domain::api_access::ApiAccess;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_databases};

async fn health_answers_when_the_database_does(app: TestApp) {
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
}

async fn the_api_refuses_missing_wrong_and_revoked_keys(app: TestApp) {
    let url = format!("{}/api/v1/campaigns", app.address);
    let none = app.client.get(&url).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");

    let wrong = app
        .client
        .get(&url)
        .bearer_auth("hk_not-a-key")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let (id, key) = app::ssr::services::api_keys::create(
        &app.db,
        &app::ssr::services::audit::Actor::command_line(),
        "temporary",
        ApiAccess::Full,
    )
    .await
    .unwrap();
    let ok = app.client.get(&url).bearer_auth(&key).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    app::ssr::services::api_keys::revoke(
        &app.db,
        &app::ssr::services::audit::Actor::command_line(),
        id,
    )
    .await
    .unwrap();
    let revoked = app.client.get(&url).bearer_auth(&key).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);

    // A key with less access may make only its calls; the others are refused and change nothing.
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let referrer = app.referrer("spring", "Ann", "ann@example.com").await;
    let db = &app.db;
    let key_with = |access| async move {
        app::ssr::services::api_keys::create(
            db,
            &app::ssr::services::audit::Actor::command_line(),
            "limited",
            access,
        )
        .await
        .unwrap()
        .1
    };
    let call = |method: reqwest::Method, path: &str, key: &str, body: Value| {
        app.client
            .request(method, format!("{}{path}", app.address))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    let conversion = |event: &str| {
        json!({"campaign": "spring", "event_id": event, "event": "purchase",
               "referral_code": referrer["code"], "email": format!("{event}@example.com")})
    };
    let new_campaign = json!({"name": "Autumn"});

    let recorder = key_with(ApiAccess::Conversions).await;
    let recorded = call(
        reqwest::Method::POST,
        "/api/v1/conversions",
        &recorder,
        conversion("c1"),
    )
    .await
    .unwrap();
    assert_eq!(recorded.status(), StatusCode::CREATED);
    let refused = call(
        reqwest::Method::POST,
        "/api/v1/campaigns",
        &recorder,
        new_campaign.clone(),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("API key's access")
    );
    let reading = call(
        reqwest::Method::GET,
        "/api/v1/campaigns",
        &recorder,
        Value::Null,
    )
    .await
    .unwrap();
    assert_eq!(reading.status(), StatusCode::FORBIDDEN);

    let reader = key_with(ApiAccess::ReadOnly).await;
    let read = call(
        reqwest::Method::GET,
        "/api/v1/campaigns",
        &reader,
        Value::Null,
    )
    .await
    .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    for (method, path, body) in [
        (
            reqwest::Method::POST,
            "/api/v1/conversions",
            conversion("c2"),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/campaigns",
            new_campaign.clone(),
        ),
    ] {
        let refused = call(method, path, &reader, body).await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let campaigns: Value = app.get_json("/api/v1/campaigns").await;
    assert_eq!(
        campaigns["items"].as_array().unwrap().len(),
        1,
        "no campaign was made by a limited key"
    );
    let listed = app::ssr::services::api_keys::list(&app.db).await.unwrap();
    assert_eq!(listed[0].access, ApiAccess::ReadOnly);
    assert_eq!(listed[1].access, ApiAccess::Conversions);
}

async fn campaigns_are_created_listed_and_fetched(app: TestApp) {
    let created = app
        .campaign(json!({"name": "Spring Promo", "landing_url": "https://shop.example/join", "code_style": "name_based", "code_prefix": "acme"}))
        .await;
    assert_eq!(created["slug"], "spring-promo");
    assert_eq!(created["code_style"], "name_based");
    assert_eq!(created["code_prefix"], "ACME");
    assert_eq!(created["codes_enabled"], true);
    assert_eq!(created["status"], "active");

    let again = app.campaign(json!({"name": "Spring Promo"})).await;
    assert_eq!(
        again["slug"], "spring-promo-2",
        "a derived slug finds a free variant"
    );

    let list: Value = app.get_json("/api/v1/campaigns").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let one = app.get_api("/api/v1/campaigns/spring-promo").await;
    assert_eq!(one.status(), StatusCode::OK);
    let missing = app.get_api("/api/v1/campaigns/nope").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

async fn bad_campaign_input_is_rejected_with_the_field_and_changes_nothing(app: TestApp) {
    let cases = [
        (json!({"name": ""}), "name"),
        (
            json!({"name": "X", "landing_url": "javascript:alert(1)"}),
            "landing_url",
        ),
        (
            json!({"name": "X", "landing_url": "/relative"}),
            "landing_url",
        ),
        (json!({"name": "X", "slug": "Bad Slug!"}), "slug"),
        (json!({"name": "X", "brand_color": "red"}), "brand_color"),
        (json!({"name": "X", "code_style": "emoji"}), "code_style"),
        (
            json!({"name": "X", "code_prefix": "TOO-LONG-PREFIX"}),
            "code_prefix",
        ),
    ];
    for (body, field) in cases {
        let response = app.post_api("/api/v1/campaigns", &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{body}");
        assert!(!error["error"]["message"].as_str().unwrap().is_empty());
    }
    app.campaign(json!({"name": "Taken", "slug": "taken"}))
        .await;
    let clash = app
        .post_api(
            "/api/v1/campaigns",
            &json!({"name": "Other", "slug": "taken"}),
        )
        .await;
    assert_eq!(clash.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = clash.json().await.unwrap();
    assert_eq!(error["error"]["code"], "slug_taken");

    let not_json = app
        .client
        .post(format!("{}/api/v1/campaigns", app.address))
        .bearer_auth(&app.api_key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let error: Value = not_json.json().await.unwrap();
    assert_eq!(error["error"]["code"], "invalid_body");

    let list: Value = app.get_json("/api/v1/campaigns").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "only the one good campaign exists"
    );
}

async fn the_openapi_document_describes_every_route(app: TestApp) {
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/campaigns",
        "/api/v1/campaigns/{slug}",
        "/api/v1/referrers",
        "/api/v1/referrers/{id}",
        "/api/v1/leads",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    assert!(doc["components"]["schemas"]["Campaign"].is_object());
    assert!(
        doc["paths"]["/api/v1/referrers/{id}"]["patch"].is_object(),
        "changing a referrer is documented"
    );
    // The print files share one list of options; each documents all of it.
    for file in ["print.pdf", "print.html", "print.csv"] {
        let path = format!("/api/v1/campaigns/{{slug}}/{file}");
        let names: Vec<&str> = doc["paths"][&path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has parameters"))
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for name in [
            "slug",
            "template",
            "paper",
            "marks",
            "referrer",
            "search",
            "never_printed",
        ] {
            assert!(names.contains(&name), "{file} documents {name}: {names:?}");
        }
    }
    let page = app.get("/api/v1/docs").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("/api/v1/leads") && html.contains("Record a lead"));
}

on_both_databases!(
    health_answers_when_the_database_does,
    the_api_refuses_missing_wrong_and_revoked_keys,
    campaigns_are_created_listed_and_fetched,
    bad_campaign_input_is_rejected_with_the_field_and_changes_nothing,
    the_openapi_document_describes_every_route,
);
