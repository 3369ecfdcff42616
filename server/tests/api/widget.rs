//! The share widget through real HTTP: the business's backend asks for a token (making the
//! customer a referrer when the campaign allows it), the widget reads its customer with it from
//! another origin, and forged, expired, foreign or stale tokens show nothing. Also `embed.js`
//! itself (size, caching) and the admin's settings and preview.

use std::io::Write;

use app::{
    domain::roles::Role,
    ssr::{
        entities::{campaign, outbox_event, referrer},
        services::{audit::Actor, deliveries, widget},
    },
};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_databases};

on_both_databases!(
    a_backend_gets_a_token_and_the_widget_shows_its_customer,
    a_forged_expired_or_foreign_token_shows_nothing,
    token_requests_are_checked_and_change_nothing_when_refused,
    widget_settings_are_checked_saved_and_previewed,
);

async fn token_for(app: &TestApp, body: Value) -> reqwest::Response {
    app.post_api("/api/v1/referrers/widget-token", &body).await
}

async fn widget_json(app: &TestApp, slug: &str, token: &str) -> reqwest::Response {
    app.client
        .get(format!("{}/embed/{slug}/widget.json", app.address))
        .query(&[("token", token)])
        // The host page's origin: the widget runs on the business's site.
        .header("Origin", "https://shop.example.com")
        .send()
        .await
        .expect("request")
}

async fn set_mode(app: &TestApp, slug: &str, mode: &str) -> (StatusCode, Value) {
    app.rpc(
        "widget_settings_save",
        &[
            ("slug", slug),
            ("settings[mode]", mode),
            ("settings[paths]", "/account/*\n/thanks"),
            ("settings[delay_seconds]", "2"),
            ("settings[min_page_views]", "1"),
            ("settings[frequency]", "until_dismissed"),
        ],
    )
    .await
}

async fn referrer_created_events(app: &TestApp) -> Vec<Value> {
    outbox_event::Entity::find()
        .filter(outbox_event::Column::EventType.eq("referrer.created"))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .collect()
}

async fn a_backend_gets_a_token_and_the_widget_shows_its_customer(app: TestApp) {
    app.campaign(json!({"name": "Shop", "slug": "shop"})).await;
    deliveries::create_endpoint(
        &app.state,
        &Actor::command_line(),
        "http://127.0.0.1:9/hook",
        "CRM",
        &["referrer.created".to_owned()],
    )
    .await
    .unwrap();

    let response = token_for(
        &app,
        json!({"campaign": "shop", "email": "Ann@Example.com", "name": "Ann"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let first: Value = response.json().await.unwrap();
    assert_eq!(first["created"], true);
    assert_eq!(first["referrer"]["name"], "Ann");
    let token = first["token"].as_str().unwrap().to_owned();
    let events = referrer_created_events(&app).await;
    assert_eq!(events.len(), 1, "referrer.created fired once");
    assert_eq!(events[0]["data"]["id"], first["referrer"]["id"]);

    // The same customer again (another spelling of the address): the same referrer, no event.
    let again = token_for(
        &app,
        json!({"campaign": "shop", "email": "ann@example.com"}),
    )
    .await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["created"], false);
    assert_eq!(again["referrer"]["id"], first["referrer"]["id"]);
    assert_eq!(referrer_created_events(&app).await.len(), 1);

    // Off (the default): nothing to show, and nobody's data in the answer.
    let off = widget_json(&app, "shop", &token).await;
    assert_eq!(off.status(), StatusCode::OK);
    let off: Value = off.json().await.unwrap();
    assert_eq!(off["settings"]["mode"], "off");
    assert!(off["referrer"].is_null(), "{off}");

    app.log_in_as("owner@example.com", Role::Owner).await;
    let (status, body) = set_mode(&app, "shop", "popup").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let response = widget_json(&app, "shop", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "*",
        "readable from the business's own site"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let view: Value = response.json().await.unwrap();
    assert_eq!(view["settings"]["mode"], "popup");
    assert_eq!(view["settings"]["paths"], json!(["/account/*", "/thanks"]));
    assert_eq!(view["settings"]["delay_seconds"], 2);
    assert_eq!(view["referrer"]["link"], first["referrer"]["link"]);
    assert_eq!(view["referrer"]["code"], first["referrer"]["code"]);
    assert_eq!(view["referrer"]["name"], "Ann");
    assert_eq!(view["branding"]["name"], "Shop");
    let qr = view["qr_svg"].as_str().unwrap();
    assert!(qr.starts_with("<svg") && !qr.contains("<script"), "{qr}");
    let share = view["share"].as_array().unwrap();
    assert_eq!(share.len(), 6);
    let link = first["referrer"]["link"].as_str().unwrap();
    let encoded: String = url::form_urlencoded::byte_serialize(link.as_bytes()).collect();
    assert!(
        share
            .iter()
            .all(|s| s["href"].as_str().unwrap().contains(&encoded)),
        "{share:?}"
    );
}

async fn a_forged_expired_or_foreign_token_shows_nothing(app: TestApp) {
    app.campaign(json!({"name": "Shop", "slug": "shop"})).await;
    app.campaign(json!({"name": "Other", "slug": "other"}))
        .await;
    app.log_in_as("owner@example.com", Role::Owner).await;
    for slug in ["shop", "other"] {
        assert_eq!(set_mode(&app, slug, "bar").await.0, StatusCode::OK);
    }
    let issued: Value = token_for(
        &app,
        json!({"campaign": "shop", "email": "bo@example.com", "name": "Bo"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let token = issued["token"].as_str().unwrap().to_owned();
    let id = issued["referrer"]["id"].as_i64().unwrap();
    assert_eq!(
        widget_json(&app, "shop", &token).await.status(),
        StatusCode::OK
    );

    let shop = campaign::Entity::find()
        .filter(campaign::Column::Slug.eq("shop"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let secret = &app.state.settings.secret;
    let expired = widget::sign(secret, shop.id, id, Utc::now() - Duration::seconds(1));
    let someone_else = token.replacen(&format!(".{id}."), &format!(".{}.", id + 1), 1);
    let other_installation = widget::sign(
        b"another secret",
        shop.id,
        id,
        Utc::now() + Duration::hours(1),
    );
    for (what, slug, bad) in [
        ("another campaign's page", "other", token.as_str()),
        ("expired", "shop", expired.as_str()),
        ("another referrer's id", "shop", someone_else.as_str()),
        (
            "another installation's secret",
            "shop",
            other_installation.as_str(),
        ),
        ("no token", "shop", ""),
        ("junk", "shop", "<script>"),
    ] {
        let response = widget_json(&app, slug, bad).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "*",
            "{what}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"error": "invalid_token"}), "{what}");
    }

    // A referrer deactivated after the token was made: their widget goes quiet at once.
    let response = app
        .client
        .patch(format!("{}/api/v1/referrers/{id}", app.address))
        .bearer_auth(&app.api_key)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        widget_json(&app, "shop", &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // And gets no new token.
    let refused = token_for(&app, json!({"campaign": "shop", "email": "bo@example.com"})).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "referrer_inactive");
}

async fn token_requests_are_checked_and_change_nothing_when_refused(app: TestApp) {
    app.campaign(json!({"name": "Closed", "slug": "closed"}))
        .await;
    app.campaign(json!({"name": "Open", "slug": "open"})).await;
    campaign::Entity::update_many()
        .col_expr(campaign::Column::SignupOpen, Expr::value(false))
        .filter(campaign::Column::Slug.eq("closed"))
        .exec(&app.db)
        .await
        .unwrap();
    let cases = [
        (
            json!({"campaign": "closed", "email": "new@example.com", "name": "New"}),
            StatusCode::CONFLICT,
            "signup_closed",
        ),
        (
            json!({"campaign": "open", "email": "new@example.com"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name_required",
        ),
        (
            json!({"campaign": "open", "email": "new@example.com", "name": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name_required",
        ),
        (
            json!({"campaign": "open", "email": "not an address", "name": "New"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_email",
        ),
        (
            json!({"campaign": "open", "email": "new@example.com", "name": "New", "ttl_minutes": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_ttl",
        ),
        (
            json!({"campaign": "open", "email": "new@example.com", "name": "New", "ttl_minutes": 1441}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_ttl",
        ),
        (
            json!({"campaign": "nope", "email": "new@example.com", "name": "New"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (body, status, code) in cases {
        let response = token_for(&app, body.clone()).await;
        assert_eq!(response.status(), status, "{body}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], code, "{body}: {answer}");
    }
    assert_eq!(
        referrer::Entity::find().count(&app.db).await.unwrap(),
        0,
        "nothing was made"
    );

    // An existing referrer of a closed campaign still gets their token.
    app.referrer("closed", "Cy", "cy@example.com").await;
    let response = token_for(
        &app,
        json!({"campaign": "closed", "email": "cy@example.com", "ttl_minutes": 5}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let expires: chrono::DateTime<Utc> =
        serde_json::from_value(body["expires_at"].clone()).unwrap();
    let left = expires - Utc::now();
    assert!(
        left > Duration::minutes(4) && left <= Duration::minutes(5),
        "{left}"
    );

    // Without an API key: no token.
    let anonymous = app
        .client
        .post(format!("{}/api/v1/referrers/widget-token", app.address))
        .json(&json!({"campaign": "open", "email": "x@example.com", "name": "X"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

async fn widget_settings_are_checked_saved_and_previewed(app: TestApp) {
    app.campaign(json!({"name": "Shop", "slug": "shop"})).await;
    app.log_in_as("viewer@example.com", Role::Viewer).await;
    let (status, _) = set_mode(&app, "shop", "popup").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer may not change it");

    app.log_in_as("owner@example.com", Role::Owner).await;
    let (status, body) = app
        .rpc(
            "widget_settings_save",
            &[
                ("slug", "shop"),
                ("settings[mode]", "popup"),
                ("settings[paths]", "/account"),
                ("settings[delay_seconds]", "9999"),
                ("settings[min_page_views]", "1"),
                ("settings[frequency]", "once_per_day"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.to_string().contains("delay_seconds"), "{body}");
    let (_, loaded) = app.rpc("widget_settings", &[("slug", "shop")]).await;
    assert_eq!(
        loaded["settings"]["mode"], "off",
        "a refused form changes nothing: {loaded}"
    );

    assert_eq!(set_mode(&app, "shop", "inline").await.0, StatusCode::OK);
    let (_, loaded) = app.rpc("widget_settings", &[("slug", "shop")]).await;
    assert_eq!(loaded["settings"]["mode"], "inline");
    assert_eq!(loaded["settings"]["paths"], "/account/*\n/thanks");
    assert_eq!(loaded["settings"]["delay_seconds"], "2");
    let script_url = loaded["script_url"].as_str().unwrap();
    assert_eq!(
        script_url,
        format!("{}/embed.js?v={}", app.address, widget::embed_version())
    );
    let audit = app::ssr::entities::audit_entry::Entity::find()
        .filter(app::ssr::entities::audit_entry::Column::Action.eq("campaign.widget_changed"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(audit, 1, "one saved change, one audit line");

    // The preview: a sample customer whatever the mode, under a strict policy, framable by
    // Handoff's own pages only.
    let page = app.get("/embed/shop/preview?mode=bar").await;
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-frame-options"], "SAMEORIGIN");
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"data-mode="bar""#) && html.contains(r#"data-preview="1""#),
        "{html}"
    );
    let sample: Value = app.get_json("/embed/shop/preview.json").await;
    assert_eq!(sample["preview"], true);
    assert_eq!(sample["referrer"]["name"], "Sam Sample");
    assert_eq!(
        app.get("/embed/nope/preview").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embed_js_is_small_and_cached_by_version() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(widget::EMBED_JS.as_bytes()).unwrap();
    let gzipped = gz.finish().unwrap().len();
    assert!(
        gzipped < 15 * 1024,
        "embed.js is {gzipped} bytes gzipped, over the 15 kB budget"
    );

    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let url = format!("{}/embed.js", app.address);
    let plain = app.client.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(
        plain.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(plain.headers()["cache-control"], "public, max-age=3600");
    let etag = plain.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", widget::embed_version()));
    assert_eq!(plain.text().await.unwrap(), widget::EMBED_JS);

    let revalidated = app
        .client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    assert!(revalidated.bytes().await.unwrap().is_empty());

    let versioned = app
        .client
        .get(format!("{url}?v={}", widget::embed_version()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        versioned.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    // An old page's version gets today's script, but not for a year.
    let stale = app
        .client
        .get(format!("{url}?v=0000"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.headers()["cache-control"], "public, max-age=3600");
}
