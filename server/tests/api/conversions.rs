//! Conversion events, rules and rewards through the REST API, on SQLite and PostgreSQL.

use std::sync::Arc;

use app::ssr::{
    entities::{conversion_event, outbox_event, reward, webhook_delivery, webhook_endpoint},
    services::{audit::Actor, deliveries, leads, rewards},
};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_databases};

async fn setup(app: &TestApp) -> Value {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.referrer("spring", "Jane", "jane@example.com").await
}

async fn convert(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let response = app.post_api("/api/v1/conversions", &body).await;
    let status = response.status();
    (status, response.json().await.expect("json body"))
}

async fn put_rules(app: &TestApp, rules: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .put(format!("{}/api/v1/campaigns/spring/rules", app.address))
        .bearer_auth(&app.api_key)
        .json(&rules)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.expect("json"))
}

/// Checks that a timeline line ends as expected, showing the whole line when it does not.
fn assert_line_ends(line: &app::types::LeadEvent, end: &str) {
    assert!(line.detail.ends_with(end), "{}", line.detail);
}

async fn count_rewards(app: &TestApp) -> u64 {
    reward::Entity::find().count(&app.db).await.unwrap()
}

async fn a_new_campaign_rewards_a_purchase_once(app: TestApp) {
    let jane = setup(&app).await;
    let rules = app.get_json("/api/v1/campaigns/spring/rules").await;
    assert_eq!(rules["qualification"]["events"], json!(["purchase"]));
    assert_eq!(rules["rewards"][0]["description"], "Thank-you reward");
    assert_eq!(rules["rewards"][0]["recipient"], "referrer");

    let body = json!({"campaign": "spring", "event_id": "order-1", "event": "purchase",
        "referral_code": jane["code"], "amount": 4900, "currency": "usd"});
    let (status, first) = convert(&app, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["duplicate"], false);
    assert_eq!(first["outcome"], "qualified");
    assert_eq!(first["lead"]["status"], "qualified");
    assert_eq!(first["lead"]["referrer_id"], jane["id"]);
    assert_eq!(first["lead"]["source"], "code");
    assert_eq!(first["rewards"].as_array().unwrap().len(), 1);
    assert_eq!(first["rewards"][0]["status"], "due");
    assert_eq!(first["rewards"][0]["recipient_email"], "jane@example.com");

    let (status, again) = convert(&app, body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["lead"], first["lead"]);
    assert_eq!(again["rewards"], first["rewards"]);
    assert_eq!(count_rewards(&app).await, 1);

    // A second purchase by the same (code-only) friend is another event id and another lead:
    // without an email Handoff cannot tell two anonymous checkouts apart.
    let (_, other) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "order-2", "event": "purchase", "referral_code": jane["code"]}),
    )
    .await;
    assert_ne!(other["lead"]["id"], first["lead"]["id"]);
    assert_eq!(count_rewards(&app).await, 2);

    let detail = app
        .get_json("/api/v1/rewards?campaign=spring&status=due")
        .await;
    assert_eq!(detail["items"].as_array().unwrap().len(), 2);

    let payout = rewards::export_csv(
        &app.state,
        &app::types::RewardFilter {
            campaign: Some("spring".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let lines: Vec<&str> = payout.lines().collect();
    assert_eq!(lines.len(), 3, "header and the two due rewards: {payout}");
    assert!(lines[0].starts_with("reward_id,campaign,recipient,recipient_email"));
    assert!(lines[1].contains("\"jane@example.com\"") && lines[1].contains("\"Thank-you reward\""));
    crate::helpers::assert_counters_agree(&app).await;
}

async fn events_that_cannot_be_credited_change_nothing(app: TestApp) {
    let jane = setup(&app).await;
    let (status, body) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "e1", "event": "purchase", "email": "nobody@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "unattributable");

    let code = jane["code"].as_str().unwrap();
    let typo = crate::helpers::one_typo(code);
    let (status, body) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "e2", "event": "purchase", "referral_code": typo}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "unknown_referral_code");

    for (body, field) in [
        (
            json!({"campaign": "spring", "event_id": "", "event": "purchase", "referral_code": code}),
            "event_id",
        ),
        (
            json!({"campaign": "spring", "event_id": "x", "event": "bad name!", "referral_code": code}),
            "event",
        ),
        (
            json!({"campaign": "spring", "event_id": "x", "event": "purchase", "referral_code": code, "currency": "dollars"}),
            "currency",
        ),
        (
            json!({"campaign": "spring", "event_id": "x", "event": "purchase", "email": "not-an-email"}),
            "email",
        ),
    ] {
        let (status, answer) = convert(&app, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["error"]["field"], field);
    }
    let (status, _) = convert(
        &app,
        json!({"campaign": "nope", "event_id": "x", "event": "purchase", "referral_code": code}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let malformed = app
        .client
        .post(format!("{}/api/v1/conversions", app.address))
        .bearer_auth(&app.api_key)
        .header("content-type", "application/json")
        .body("{\"campaign\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);

    assert_eq!(
        conversion_event::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(count_rewards(&app).await, 0);
    // The event id of a refused event is free for a corrected retry.
    let (status, _) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "e1", "event": "purchase", "referral_code": code}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn an_email_finds_the_lead_the_friend_form_created(app: TestApp) {
    let jane = setup(&app).await;
    let lead = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": "spring", "email": "friend@example.com", "referral_code": jane["code"]}),
        )
        .await;
    let lead: Value = lead.json().await.unwrap();
    let (status, signup) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "s1", "event": "signup", "email": "Friend@Example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(signup["outcome"], "recorded", "signup does not qualify");
    assert_eq!(signup["lead"]["id"], lead["id"]);
    let (_, purchase) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "p1", "event": "purchase", "email": "friend@example.com"}),
    )
    .await;
    assert_eq!(purchase["outcome"], "qualified");
    assert_eq!(purchase["lead"]["id"], lead["id"]);
    let (_, again) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "p2", "event": "purchase", "email": "friend@example.com"}),
    )
    .await;
    assert_eq!(again["outcome"], "already_qualified");
    assert_eq!(again["rewards"], json!([]));
    assert_eq!(count_rewards(&app).await, 1);

    let detail = leads::detail(&app.state, lead["id"].as_i64().unwrap())
        .await
        .unwrap();
    let kinds: Vec<&str> = detail.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec!["captured", "conversion", "conversion", "conversion"]
    );
    assert!(detail.timeline[1].detail.contains("not a qualifying event"));
    // The qualifying event's line also tells the reward it made.
    assert_line_ends(
        &detail.timeline[2],
        "the lead qualifies. Reward for the referrer: Thank-you reward, due now.",
    );
}

async fn rules_decide_amounts_minimums_and_both_sides(app: TestApp) {
    let jane = setup(&app).await;
    let (status, rules) = put_rules(
        &app,
        json!({
            "qualification": {"events": ["Purchase", "contract signed"], "min_amount_minor": 5000},
            "rewards": [
                {"recipient": "referrer", "kind": "fixed", "amount_minor": 2000, "currency": "usd"},
                {"recipient": "friend", "kind": "percent", "percent_bp": 1000, "cap_minor": 1500, "description": "10% back"}
            ]
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rules}");
    assert_eq!(
        rules["qualification"]["events"],
        json!(["purchase", "contract_signed"])
    );
    assert!(rules["rewards"][0]["id"].is_i64());

    let (_, small) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "o1", "event": "purchase", "email": "f@example.com", "referral_code": jane["code"], "amount": 4999, "currency": "USD"}),
    )
    .await;
    assert_eq!(small["outcome"], "recorded");
    assert_eq!(small["lead"]["status"], "pending");
    let (_, big) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "o2", "event": "contract_signed", "email": "f@example.com", "amount": 30000, "currency": "USD"}),
    )
    .await;
    assert_eq!(big["outcome"], "qualified", "{big}");
    let rewards = big["rewards"].as_array().unwrap();
    assert_eq!(rewards.len(), 2);
    assert_eq!(rewards[0]["amount_minor"], 2000);
    assert_eq!(rewards[0]["currency"], "USD");
    assert_eq!(rewards[1]["recipient"], "friend");
    assert_eq!(rewards[1]["recipient_email"], "f@example.com");
    assert_eq!(
        rewards[1]["amount_minor"], 1500,
        "10% of 300.00 capped at 15.00"
    );

    // A rule that names its field when it is wrong, and changes nothing.
    let (status, error) = put_rules(
        &app,
        json!({"qualification": {"events": ["purchase"]}, "rewards": [{"recipient": "referrer", "kind": "fixed"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "rewards.0.amount_minor");
    let unchanged = app.get_json("/api/v1/campaigns/spring/rules").await;
    assert_eq!(unchanged["rewards"].as_array().unwrap().len(), 2);
    // Putting the same rules back keeps the reward rules' ids.
    let (_, same) = put_rules(&app, unchanged.clone()).await;
    assert_eq!(same["rewards"], unchanged["rewards"]);

    // A minimum in euros is not met by a larger number of dollar cents.
    let mut in_euros = unchanged.clone();
    in_euros["qualification"]["min_amount_currency"] = json!("eur");
    let (status, saved) = put_rules(&app, in_euros).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["qualification"]["min_amount_currency"], "EUR");
    let (_, dollars) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "o3", "event": "purchase", "email": "g@example.com", "referral_code": jane["code"], "amount": 90000, "currency": "USD"}),
    )
    .await;
    assert_eq!(dollars["outcome"], "recorded", "{dollars}");
    let detail = leads::detail(&app.state, dollars["lead"]["id"].as_i64().unwrap())
        .await
        .unwrap();
    assert_line_ends(
        &detail.timeline[0],
        "the campaign's minimum of EUR 50.00 counts only amounts in EUR.",
    );
    let (_, euros) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "o4", "event": "purchase", "email": "g@example.com", "amount": 5000, "currency": "EUR"}),
    )
    .await;
    assert_eq!(euros["outcome"], "qualified", "{euros}");
    let mut misspelt = unchanged.clone();
    misspelt["qualification"]["min_amount_currency"] = json!("euro");
    let (status, error) = put_rules(&app, misspelt).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "qualification.min_amount_currency");
}

async fn holds_make_rewards_pending_until_due_then_issued(app: TestApp) {
    let jane = setup(&app).await;
    put_rules(
        &app,
        json!({"qualification": {"events": ["purchase"]},
               "rewards": [{"recipient": "referrer", "kind": "custom", "description": "Gift card", "hold_days": 14}]}),
    )
    .await;
    let (_, result) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "o1", "event": "purchase", "referral_code": jane["code"]}),
    )
    .await;
    let reward = &result["rewards"][0];
    assert_eq!(reward["status"], "pending");
    let id = reward["id"].as_i64().unwrap();
    let early = app
        .post_api(&format!("/api/v1/rewards/{id}/issue"), &json!({}))
        .await;
    assert_eq!(early.status(), StatusCode::CONFLICT);

    assert_eq!(
        rewards::mature(&app.db, &app.state.settings, Utc::now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        rewards::mature(
            &app.db,
            &app.state.settings,
            Utc::now() + Duration::days(15)
        )
        .await
        .unwrap(),
        1
    );
    let issued = app
        .post_api(&format!("/api/v1/rewards/{id}/issue"), &json!({}))
        .await;
    assert_eq!(issued.status(), StatusCode::OK);
    let issued: Value = issued.json().await.unwrap();
    assert_eq!(issued["status"], "issued");
    assert!(issued["issued_at"].is_string());
    let twice = app
        .post_api(&format!("/api/v1/rewards/{id}/issue"), &json!({}))
        .await;
    assert_eq!(twice.status(), StatusCode::CONFLICT);
    let missing = app
        .post_api("/api/v1/rewards/999999/issue", &json!({}))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let bad_status = app.get_api("/api/v1/rewards?status=paid").await;
    assert_eq!(bad_status.status(), StatusCode::UNPROCESSABLE_ENTITY);
    crate::helpers::assert_counters_agree(&app).await;
}

/// Two admins (or two clicks) issuing the same rewards at the same moment: each reward is
/// issued once, with one `reward.issued` event. On PostgreSQL the two transactions really run
/// at once.
async fn two_issues_at_once_announce_a_reward_once(app: TestApp) {
    let jane = setup(&app).await;
    deliveries::create_endpoint(
        &app.state,
        &Actor::command_line(),
        "http://127.0.0.1:9/hook",
        "Payouts",
        &["reward.issued".to_owned()],
    )
    .await
    .unwrap();
    put_rules(
        &app,
        json!({"qualification": {"events": ["purchase"]},
               "rewards": [{"recipient": "referrer", "kind": "custom", "description": "Gift card"}]}),
    )
    .await;
    const REWARDS: usize = 20;
    let mut ids = Vec::new();
    for i in 0..REWARDS {
        let (_, result) = convert(
            &app,
            json!({"campaign": "spring", "event_id": format!("race-{i}"), "event": "purchase",
                   "email": format!("race{i}@example.com"), "referral_code": jane["code"]}),
        )
        .await;
        assert_eq!(result["rewards"][0]["status"], "due", "{result}");
        ids.push(result["rewards"][0]["id"].as_i64().unwrap());
    }
    let actor = Actor::command_line();
    let mut issued_by_someone = 0;
    for id in &ids {
        let one = [*id];
        let (a, b) = tokio::join!(
            rewards::issue(&app.state, &actor, &one),
            rewards::issue(&app.state, &actor, &one),
        );
        // One of the two issues it; the other finds it issued (409), or on PostgreSQL, having
        // waited for the first, issues nothing.
        let issued = [a, b]
            .into_iter()
            .filter_map(Result::ok)
            .map(|r| r.len())
            .sum::<usize>();
        assert_eq!(issued, 1, "reward {id} issued {issued} times");
        issued_by_someone += issued;
    }
    assert_eq!(issued_by_someone, REWARDS);
    let events = outbox_event::Entity::find()
        .filter(outbox_event::Column::EventType.eq("reward.issued"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(events as usize, REWARDS, "one reward.issued per reward");
}

async fn a_refund_cancels_what_is_not_issued_and_flags_what_is(app: TestApp) {
    let jane = setup(&app).await;
    put_rules(
        &app,
        json!({"qualification": {"events": ["purchase"]},
        "rewards": [
          {"recipient": "referrer", "kind": "custom", "description": "Now"},
          {"recipient": "referrer", "kind": "custom", "description": "Later", "hold_days": 30}
        ]}),
    )
    .await;
    let (_, bought) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "o1", "event": "purchase", "email": "f@example.com", "referral_code": jane["code"]}),
    )
    .await;
    let now_id = bought["rewards"][0]["id"].as_i64().unwrap();
    app.post_api(&format!("/api/v1/rewards/{now_id}/issue"), &json!({}))
        .await;
    let (status, refunded) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "r1", "event": "refund", "email": "f@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(refunded["outcome"], "refunded");
    assert_eq!(refunded["lead"]["status"], "pending");
    let all = app.get_json("/api/v1/rewards?campaign=spring").await;
    let by_desc = |d: &str| {
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["description"] == d)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_desc("Now")["status"], "issued");
    assert_eq!(by_desc("Now")["clawback"], true);
    assert_eq!(by_desc("Later")["status"], "cancelled");
    assert_eq!(by_desc("Later")["cancel_reason"], "refund");

    // Buying again re-qualifies the lead, but rewards already earned are not earned twice.
    let (_, again) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "o2", "event": "purchase", "email": "f@example.com"}),
    )
    .await;
    assert_eq!(again["outcome"], "qualified", "{again}");
    assert_eq!(again["rewards"], json!([]));
    assert_eq!(count_rewards(&app).await, 2);
    crate::helpers::assert_counters_agree(&app).await;
}

async fn approval_holds_qualification_for_an_admin(app: TestApp) {
    let jane = setup(&app).await;
    put_rules(
        &app,
        json!({"qualification": {"events": ["purchase"], "requires_approval": true},
               "rewards": [{"recipient": "referrer", "kind": "custom", "description": "Gift"}]}),
    )
    .await;
    let (_, first) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "o1", "event": "purchase", "email": "a@example.com", "referral_code": jane["code"]}),
    )
    .await;
    assert_eq!(first["outcome"], "review");
    assert_eq!(first["lead"]["status"], "review");
    assert_eq!(count_rewards(&app).await, 0);
    let lead_id = first["lead"]["id"].as_i64().unwrap();
    let approved = app
        .post_api(
            &format!("/api/v1/leads/{lead_id}/qualify"),
            &json!({"reason": "checked the order"}),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    let approved: Value = approved.json().await.unwrap();
    assert_eq!(approved["lead"]["status"], "qualified");
    assert_eq!(approved["rewards"].as_array().unwrap().len(), 1);
    // The approval's line also tells the reward it made.
    let timeline = leads::detail(&app.state, lead_id).await.unwrap().timeline;
    let approval = timeline.last().expect("the approval is on the timeline");
    assert_eq!(approval.kind, "approved");
    assert_line_ends(
        approval,
        ": checked the order. Reward for the referrer: Gift, due now.",
    );
    let twice = app
        .post_api(&format!("/api/v1/leads/{lead_id}/qualify"), &json!({}))
        .await;
    assert_eq!(twice.status(), StatusCode::CONFLICT);

    let no_reason = app
        .post_api(&format!("/api/v1/leads/{lead_id}/reject"), &json!({}))
        .await;
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let rejected = app
        .post_api(
            &format!("/api/v1/leads/{lead_id}/reject"),
            &json!({"reason": "fake order"}),
        )
        .await;
    assert_eq!(rejected.status(), StatusCode::OK);
    let rejected: Value = rejected.json().await.unwrap();
    assert_eq!(rejected["lead"]["status"], "rejected");
    let cancelled = app
        .get_json("/api/v1/rewards?campaign=spring&status=cancelled")
        .await;
    assert_eq!(cancelled["items"][0]["cancel_reason"], "manual");
    // A rejected lead stays rejected whatever arrives later.
    let (_, later) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "o2", "event": "purchase", "email": "a@example.com"}),
    )
    .await;
    assert_eq!(later["outcome"], "lead_rejected");
    crate::helpers::assert_counters_agree(&app).await;
}

async fn a_self_referral_waits_for_review(app: TestApp) {
    let jane = setup(&app).await;
    let (_, result) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "o1", "event": "purchase", "email": "jane@example.com", "referral_code": jane["code"]}),
    )
    .await;
    assert_eq!(result["outcome"], "review", "{result}");
    assert_eq!(result["lead"]["flags"], json!(["self_referral"]));
    let (_, throwaway) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "o2", "event": "purchase", "email": "x@mailinator.com", "referral_code": jane["code"]}),
    )
    .await;
    assert_eq!(throwaway["outcome"], "review");
    assert_eq!(throwaway["lead"]["flags"], json!(["disposable_email"]));
    assert_eq!(count_rewards(&app).await, 0);
}

async fn milestones_and_caps(app: TestApp) {
    let jane = setup(&app).await;
    put_rules(
        &app,
        json!({"qualification": {"events": ["purchase"]},
               "rewards": [
                 {"recipient": "referrer", "kind": "custom", "description": "Bonus", "cadence": "milestone", "milestone_every": 2},
                 {"recipient": "referrer", "kind": "fixed", "amount_minor": 500, "currency": "EUR", "max_per_referrer": 3}
               ]}),
    )
    .await;
    for i in 1..=5 {
        convert(
            &app,
            json!({"campaign": "spring", "event_id": format!("o{i}"), "event": "purchase", "email": format!("f{i}@example.com"), "referral_code": jane["code"]}),
        )
        .await;
    }
    let all = app.get_json("/api/v1/rewards?campaign=spring").await;
    let items = all["items"].as_array().unwrap();
    let bonuses: Vec<i64> = items
        .iter()
        .filter(|r| r["description"] == "Bonus")
        .map(|r| r["milestone"].as_i64().unwrap())
        .collect();
    assert_eq!(bonuses.len(), 2, "milestones at 2 and 4: {bonuses:?}");
    assert!(bonuses.contains(&1) && bonuses.contains(&2));
    let fixed = items.iter().filter(|r| r["kind"] == "fixed").count();
    assert_eq!(fixed, 3, "capped at 3 per referrer");
    crate::helpers::assert_counters_agree(&app).await;
}

async fn effects_go_to_the_outbox_in_the_same_transaction(app: TestApp) {
    let jane = setup(&app).await;
    let now = Utc::now();
    webhook_endpoint::ActiveModel {
        url: Set("http://127.0.0.1:9/hook".into()),
        description: Set("test".into()),
        events: Set("lead.qualified,reward.created".into()),
        secret: Set("whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=".into()),
        enabled: Set(true),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let (status, _) = convert(
        &app,
        json!({"campaign": "spring", "event_id": "nobody", "event": "purchase", "email": "x@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        outbox_event::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    convert(
        &app,
        json!({"campaign": "spring", "event_id": "o1", "event": "purchase", "referral_code": jane["code"]}),
    )
    .await;
    let types: Vec<String> = outbox_event::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(types, vec!["lead.qualified", "reward.created"]);
    assert_eq!(
        webhook_delivery::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        2
    );
}

/// Sends `n` requests at once and returns their statuses and bodies.
async fn burst(app: &TestApp, bodies: Vec<Value>) -> Vec<(StatusCode, Value)> {
    let client = Arc::new(app.client.clone());
    let mut set = tokio::task::JoinSet::new();
    for body in bodies {
        let client = client.clone();
        let url = format!("{}/api/v1/conversions", app.address);
        let key = app.api_key.clone();
        set.spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .expect("request");
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        });
    }
    let mut out = Vec::new();
    while let Some(result) = set.join_next().await {
        out.push(result.expect("task"));
    }
    out
}

async fn five_hundred_copies_of_one_event_make_one_reward(app: TestApp) {
    let jane = setup(&app).await;
    let body = json!({"campaign": "spring", "event_id": "same", "event": "purchase", "email": "f@example.com", "referral_code": jane["code"]});
    let results = burst(&app, vec![body; 500]).await;
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let duplicates = results
        .iter()
        .filter(|(s, b)| *s == StatusCode::OK && b["duplicate"] == true)
        .count();
    assert_eq!(created, 1, "exactly one first time");
    assert_eq!(
        duplicates, 499,
        "every other copy is a duplicate, none failed"
    );
    let lead_ids: std::collections::HashSet<String> = results
        .iter()
        .map(|(_, b)| b["lead"]["id"].to_string())
        .collect();
    assert_eq!(lead_ids.len(), 1);
    assert_eq!(count_rewards(&app).await, 1);
    assert_eq!(
        conversion_event::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
}

async fn five_hundred_qualifying_events_for_one_lead_make_one_reward(app: TestApp) {
    let jane = setup(&app).await;
    let bodies = (0..500)
        .map(|i| json!({"campaign": "spring", "event_id": format!("e{i}"), "event": "purchase", "email": "f@example.com", "referral_code": jane["code"]}))
        .collect();
    let results = burst(&app, bodies).await;
    assert!(
        results.iter().all(|(s, _)| *s == StatusCode::CREATED),
        "no failures: {:?}",
        results
            .iter()
            .filter(|(s, _)| *s != StatusCode::CREATED)
            .take(3)
            .collect::<Vec<_>>()
    );
    let qualified = results
        .iter()
        .filter(|(_, b)| b["outcome"] == "qualified")
        .count();
    assert_eq!(qualified, 1);
    assert_eq!(count_rewards(&app).await, 1);
    let leads = app.get_json("/api/v1/leads?campaign=spring").await;
    assert_eq!(leads["items"].as_array().unwrap().len(), 1);
}

on_both_databases!(
    a_new_campaign_rewards_a_purchase_once,
    events_that_cannot_be_credited_change_nothing,
    an_email_finds_the_lead_the_friend_form_created,
    rules_decide_amounts_minimums_and_both_sides,
    holds_make_rewards_pending_until_due_then_issued,
    two_issues_at_once_announce_a_reward_once,
    a_refund_cancels_what_is_not_issued_and_flags_what_is,
    approval_holds_qualification_for_an_admin,
    a_self_referral_waits_for_review,
    milestones_and_caps,
    effects_go_to_the_outbox_in_the_same_transaction,
    five_hundred_copies_of_one_event_make_one_reward,
    five_hundred_qualifying_events_for_one_lead_make_one_reward,
);
