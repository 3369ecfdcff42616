//! Inbound webhooks from Stripe and from integration tools (Standard Webhooks), on SQLite and
//! PostgreSQL: signatures, tolerance, rotation, replays, attribution, refunds.

use app::ssr::{
    entities::{conversion_event, inbound_delivery, reward},
    services::{
        inbound,
        settings::{self, STRIPE_CAMPAIGN, STRIPE_WEBHOOK_SECRET},
        signatures::{standard, stripe},
    },
};
use chrono::Utc;
use reqwest::StatusCode;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_databases};

const STRIPE_SECRET: &str = "whsec_stripe_test_secret";

async fn setup(app: &TestApp) -> Value {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.referrer("spring", "Jane", "jane@example.com").await
}

async fn counts(app: &TestApp) -> (u64, u64, u64) {
    (
        conversion_event::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        reward::Entity::find().count(&app.db).await.unwrap(),
        inbound_delivery::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
    )
}

async fn post_stripe(app: &TestApp, body: &str, signature: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .post(format!("{}/webhooks/stripe", app.address))
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn send(app: &TestApp, now: i64, body: String) -> (StatusCode, Value) {
    let signature = stripe::sign(body.as_bytes(), STRIPE_SECRET, now);
    post_stripe(app, &body, &signature).await
}

fn checkout(id: &str, object: Value) -> String {
    json!({"id": id, "type": "checkout.session.completed", "created": Utc::now().timestamp(),
           "data": {"object": object}})
    .to_string()
}

async fn stripe_signatures_guard_the_door(app: TestApp) {
    let jane = setup(&app).await;
    settings::set(&app.db, STRIPE_WEBHOOK_SECRET, STRIPE_SECRET)
        .await
        .unwrap();
    settings::set(&app.db, STRIPE_CAMPAIGN, "spring")
        .await
        .unwrap();
    let body = checkout(
        "evt_1",
        json!({"id": "cs_1", "amount_total": 4900, "currency": "usd",
               "customer_details": {"email": "buyer@example.com"},
               "metadata": {"referral_code": jane["code"]}}),
    );
    let now = Utc::now().timestamp();

    let tampered = body.replace("4900", "9900");
    let (status, _) = post_stripe(
        &app,
        &tampered,
        &stripe::sign(body.as_bytes(), STRIPE_SECRET, now),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "tampered body");
    let (status, _) = post_stripe(
        &app,
        &body,
        &stripe::sign(body.as_bytes(), STRIPE_SECRET, now - 301),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "old timestamp");
    let (status, _) = post_stripe(
        &app,
        &body,
        &stripe::sign(body.as_bytes(), "whsec_wrong", now),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "wrong secret");
    let (status, _) = post_stripe(&app, &body, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no signature");
    assert_eq!(counts(&app).await, (0, 0, 0), "nothing written");

    // During a secret roll Stripe signs with both secrets.
    let old = stripe::sign(body.as_bytes(), "whsec_old_secret", now);
    let current = stripe::sign(body.as_bytes(), STRIPE_SECRET, now);
    let both = format!("{old},{}", current.split(',').nth(1).unwrap());
    let (status, answer) = post_stripe(&app, &body, &both).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["outcome"], "qualified");
    assert_eq!(counts(&app).await, (1, 1, 1));

    // Stripe re-sends an event (same id) with a fresh signature: acknowledged, nothing new.
    let (status, answer) = post_stripe(
        &app,
        &body,
        &stripe::sign(body.as_bytes(), STRIPE_SECRET, now + 5),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["duplicate"], true);
    assert_eq!(counts(&app).await.1, 1);

    let unknown =
        json!({"id": "evt_2", "type": "customer.created", "data": {"object": {}}}).to_string();
    let (status, answer) = post_stripe(
        &app,
        &unknown,
        &stripe::sign(unknown.as_bytes(), STRIPE_SECRET, now),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["outcome"], "ignored");
}

async fn stripe_needs_no_campaign_setting_when_the_code_names_the_referrer(app: TestApp) {
    let jane = setup(&app).await;
    app.campaign(json!({"name": "Autumn", "slug": "autumn"}))
        .await;
    let omar = app.referrer("autumn", "Omar", "omar@example.com").await;
    settings::set(&app.db, STRIPE_WEBHOOK_SECRET, STRIPE_SECRET)
        .await
        .unwrap();
    inbound::map_promotion_code(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        omar["id"].as_i64().unwrap(),
        Some("promo_OMAR"),
        None,
    )
    .await
    .unwrap();
    let now = Utc::now().timestamp();
    // No campaign chosen on the Integrations page: the code names Jane, and so Spring.
    let (status, a) = send(&app, now, checkout(
        "evt_code",
        json!({"metadata": {"referral_code": jane["code"].as_str().unwrap().to_lowercase()}, "customer_details": {"email": "a@example.com"}, "amount_total": 1000, "currency": "eur"}),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["outcome"], "qualified", "{a}");
    let lead_campaign = |id: &Value| {
        let id = id.as_i64().unwrap();
        let app = &app;
        async move {
            let lead: Value = app
                .get_json(&format!("/api/v1/leads?after={}", id + 1))
                .await;
            (
                lead["items"][0]["campaign"].as_str().unwrap().to_owned(),
                lead["items"][0]["referrer_id"].clone(),
            )
        }
    };
    assert_eq!(
        lead_campaign(&a["lead"]).await,
        ("spring".to_owned(), jane["id"].clone())
    );
    // A mapped promotion code names Omar, and so Autumn.
    let (_, b) = send(&app, now, checkout(
        "evt_promo",
        json!({"discounts": [{"promotion_code": "promo_OMAR"}], "customer_details": {"email": "b@example.com"}, "amount_total": 1000, "currency": "eur"}),
    ))
    .await;
    assert_eq!(b["outcome"], "qualified", "{b}");
    assert_eq!(
        lead_campaign(&b["lead"]).await,
        ("autumn".to_owned(), omar["id"].clone())
    );
    // Only an event with nothing but an email needs the setting, and says so.
    let (status, c) = send(&app, now, checkout(
        "evt_email",
        json!({"customer_details": {"email": "a@example.com"}, "amount_total": 1000, "currency": "eur"}),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(c["outcome"], "not_recorded", "{c}");
    let log = inbound::deliveries(&app.state, "stripe", None)
        .await
        .unwrap();
    assert_eq!(log[0].outcome, "invalid");
    assert!(
        log[0].message.contains("no campaign is set"),
        "{}",
        log[0].message
    );
    let (_, _, logged) = counts(&app).await;
    assert_eq!(logged, 3);
    let events = conversion_event::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(events, 2, "the email-only event is not recorded");

    // A replaced code still names its campaign while it credits its referrer.
    let old_code = omar["code"].as_str().unwrap().to_owned();
    app::ssr::services::referrer_changes::replace_code(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        omar["id"].as_i64().unwrap(),
        30,
    )
    .await
    .unwrap();
    let (_, d) = send(&app, now, checkout(
        "evt_replaced",
        json!({"metadata": {"referral_code": old_code}, "customer_details": {"email": "d@example.com"}, "amount_total": 1000, "currency": "eur"}),
    ))
    .await;
    assert_eq!(d["outcome"], "qualified", "{d}");
    assert_eq!(
        lead_campaign(&d["lead"]).await,
        ("autumn".to_owned(), omar["id"].clone())
    );
}

async fn stripe_attributes_by_code_promotion_code_and_email_and_refunds(app: TestApp) {
    let jane = setup(&app).await;
    let omar = app.referrer("spring", "Omar", "omar@example.com").await;
    settings::set(&app.db, STRIPE_WEBHOOK_SECRET, STRIPE_SECRET)
        .await
        .unwrap();
    settings::set(&app.db, STRIPE_CAMPAIGN, "spring")
        .await
        .unwrap();
    inbound::map_promotion_code(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        omar["id"].as_i64().unwrap(),
        Some("promo_OMAR"),
        Some("omar10"),
    )
    .await
    .unwrap();
    let now = Utc::now().timestamp();

    // client_reference_id carries the code.
    let (_, a) = send(&app, now, checkout(
        "evt_a",
        json!({"client_reference_id": jane["code"], "customer_details": {"email": "a@example.com"}, "amount_total": 1000, "currency": "eur"}),
    ))
    .await;
    assert_eq!(a["outcome"], "qualified", "{a}");
    // A mapped promotion code credits Omar.
    let (_, b) = send(&app, now, checkout(
        "evt_b",
        json!({"discounts": [{"promotion_code": "promo_OMAR"}], "customer_details": {"email": "b@example.com"}, "amount_total": 1000, "currency": "eur"}),
    ))
    .await;
    assert_eq!(b["outcome"], "qualified", "{b}");
    let leads = app.get_json("/api/v1/leads?campaign=spring").await;
    let by_email = |e: &str| {
        leads["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["email"] == e)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_email("a@example.com")["referrer_id"], jane["id"]);
    assert_eq!(by_email("b@example.com")["referrer_id"], omar["id"]);

    // An invoice for a known customer's email finds the lead; it is already qualified.
    let invoice = json!({"id": "evt_c", "type": "invoice.paid", "created": now,
        "data": {"object": {"customer_email": "a@example.com", "amount_paid": 2000, "currency": "eur"}}})
    .to_string();
    let (_, c) = send(&app, now, invoice).await;
    assert_eq!(c["outcome"], "already_qualified");

    // A refund un-qualifies the lead and cancels its reward (not issued yet).
    let refund = json!({"id": "evt_d", "type": "charge.refunded", "created": now,
        "data": {"object": {"billing_details": {"email": "b@example.com"}, "amount_refunded": 1000, "currency": "eur"}}})
    .to_string();
    let (status, d) = send(&app, now, refund).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["outcome"], "refunded");
    let cancelled = app
        .get_json("/api/v1/rewards?campaign=spring&status=cancelled")
        .await;
    assert_eq!(cancelled["items"].as_array().unwrap().len(), 1);
    assert_eq!(cancelled["items"][0]["referrer_id"], omar["id"]);

    // A checkout nobody can be credited for is acknowledged and logged, not retried forever.
    let (status, e) = send(&app, now, checkout(
        "evt_e",
        json!({"customer_details": {"email": "stranger@example.com"}, "amount_total": 1000, "currency": "eur"}),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(e["outcome"], "not_recorded");
    let log = inbound::deliveries(&app.state, "stripe", None)
        .await
        .unwrap();
    assert_eq!(log[0].outcome, "unattributable");
    assert_eq!(log.len(), 5);
}

pub(crate) async fn post_source(
    app: &TestApp,
    token: &str,
    headers: &[(&str, String)],
    body: &str,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(format!("{}/webhooks/in/{token}", app.address))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (k, v) in headers {
        request = request.header(*k, v);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn signed(secret: &str, id: &str, at: i64, body: &str) -> Vec<(&'static str, String)> {
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", at.to_string()),
        (
            "webhook-signature",
            standard::sign(secret, id, at, body.as_bytes()).unwrap(),
        ),
    ]
}

async fn standard_webhook_sources_verify_map_and_replay(app: TestApp) {
    let jane = setup(&app).await;
    let created = inbound::create_source(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        "spring",
        "Zapier: Shopify orders",
        "zapier",
        true,
    )
    .await
    .unwrap();
    let secret = created.secret.clone().unwrap();
    let token = created.token.clone();
    let body =
        json!({"event_id": "order-1", "email": "f@example.com", "referral_code": jane["code"],
                      "amount": "49.90", "currency": "usd"})
        .to_string();
    let now = Utc::now().timestamp();

    let (status, _) = post_source(
        &app,
        &token,
        &signed(&secret, "msg_1", now, &body),
        &body.replace("49.90", "99.90"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "tampered body");
    let (status, _) = post_source(
        &app,
        &token,
        &signed(&secret, "msg_1", now - 400, &body),
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "old timestamp");
    let other = standard::generate_secret();
    let (status, _) = post_source(&app, &token, &signed(&other, "msg_1", now, &body), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "wrong secret");
    let (status, _) = post_source(&app, &token, &[], &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "unsigned");
    let (status, _) = post_source(
        &app,
        "in_nope",
        &signed(&secret, "msg_1", now, &body),
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "unknown token");
    assert_eq!(counts(&app).await, (0, 0, 0), "nothing written");

    // Two signatures while the secret rotates: either may match.
    let mut rotating = signed(&secret, "msg_1", now, &body);
    let old_sig = standard::sign(&other, "msg_1", now, body.as_bytes()).unwrap();
    rotating[2].1 = format!("{old_sig} {}", rotating[2].1);
    let (status, first) = post_source(&app, &token, &rotating, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["outcome"], "qualified");
    assert_eq!(first["lead"]["referrer_id"], jane["id"]);
    let stored = conversion_event::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.amount_minor, Some(4990));
    assert_eq!(stored.currency.as_deref(), Some("USD"));

    // The tool retries the same message: a duplicate, nothing new.
    let (status, again) = post_source(
        &app,
        &token,
        &signed(&secret, "msg_1", now + 10, &body),
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["duplicate"], true);
    assert_eq!(counts(&app).await.1, 1);

    // A payload naming nobody is logged; replayed once the lead exists, it is recorded.
    let orphan =
        json!({"event_id": "order-2", "email": "late@example.com", "amount": 10}).to_string();
    let (status, refused) = post_source(
        &app,
        &token,
        &signed(&secret, "msg_2", now, &orphan),
        &orphan,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["error"]["code"], "unattributable");
    let log = inbound::deliveries(&app.state, "source", Some(created.source.id))
        .await
        .unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].outcome, "unattributable");
    assert!(log[0].payload.contains("late@example.com"));
    app.post_api(
        "/api/v1/leads",
        &json!({"campaign": "spring", "email": "late@example.com", "referral_code": jane["code"]}),
    )
    .await;
    let replayed = inbound::replay(&app.state, log[0].id).await.unwrap();
    let result = replayed.result.unwrap().unwrap();
    assert_eq!(result.outcome, "qualified");
    assert_eq!(counts(&app).await.1, 2);
}

async fn hubspot_preset_maps_nested_properties_without_a_secret(app: TestApp) {
    let jane = setup(&app).await;
    let created = inbound::create_source(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        "spring",
        "HubSpot deals",
        "hubspot",
        false,
    )
    .await
    .unwrap();
    assert!(created.secret.is_none());
    let body = json!({"objectId": 991, "properties": {
        "email": {"value": "lead@example.com"},
        "referral_code": {"value": jane["code"]},
        "amount": {"value": "1200"}}})
    .to_string();
    let (status, answer) = post_source(&app, &created.token, &[], &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(
        answer["outcome"], "recorded",
        "qualified_lead is not in the default rule"
    );
    let stored = conversion_event::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.event_id, "991");
    assert_eq!(stored.name, "qualified_lead");
    assert_eq!(stored.amount_minor, Some(120_000));
    let (status, bad) = post_source(&app, &created.token, &[], "not json").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"]["code"], "invalid_json");
}

on_both_databases!(
    stripe_signatures_guard_the_door,
    stripe_attributes_by_code_promotion_code_and_email_and_refunds,
    stripe_needs_no_campaign_setting_when_the_code_names_the_referrer,
    standard_webhook_sources_verify_map_and_replay,
    hubspot_preset_maps_nested_properties_without_a_secret,
);
