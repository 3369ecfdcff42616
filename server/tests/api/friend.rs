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

async fn a_double_sided_campaign_tells_the_friend_what_they_get(app: TestApp) {
    let jane = setup(&app).await;
    let page = app.get("/f/spring").await.text().await.unwrap();
    assert!(!page.contains("You get"), "one-sided: no offer");
    let rules = app
        .client
        .put(format!("{}/api/v1/campaigns/spring/rules", app.address))
        .bearer_auth(&app.api_key)
        .json(&json!({
            "qualification": {"events": ["contract_signed"]},
            "rewards": [
                {"recipient": "referrer", "kind": "fixed", "amount_minor": 2000, "currency": "usd"},
                {"recipient": "friend", "kind": "fixed", "amount_minor": 1000, "currency": "usd"}
            ]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(rules.status(), StatusCode::OK);
    let page = app.get("/f/spring").await.text().await.unwrap();
    assert!(
        page.contains("You get USD 10.00 too, once you qualify (contract signed)."),
        "{page}"
    );
    let thanks = app
        .hosted_sign_up(
            "/f/spring",
            &[
                ("email", "friend@example.com"),
                ("referral_code", jane["code"].as_str().unwrap()),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(thanks.contains("Your own reward: USD 10.00, once you qualify (contract signed)."));
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

async fn an_email_already_in_the_campaign_keeps_its_referrer_and_the_page_does_not_tell(
    app: TestApp,
) {
    let jane = setup(&app).await;
    let omar = app.referrer("spring", "Omar", "omar@example.com").await;
    let omar_code = omar["code"].as_str().unwrap();
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
            &[("email", "F@Example.com"), ("referral_code", omar_code)],
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    let again = again.text().await.unwrap();
    // Somebody new with the same code sees exactly the same page: nothing tells the two apart.
    let fresh = app
        .hosted_sign_up(
            "/f/spring",
            &[("email", "new@example.com"), ("referral_code", omar_code)],
        )
        .await;
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(again, fresh.text().await.unwrap());
    assert!(
        again.contains("Omar&#39;s referral") || again.contains("Omar's referral"),
        "{again}"
    );
    assert!(!again.contains("already"), "{again}");
    // First referrer wins, as before.
    assert_eq!(
        lead_of(&app, "f@example.com").await["referrer_id"],
        jane["id"]
    );
    // A wrong code is refused alike, whether or not the email signed up before.
    let refused = |email: &'static str| {
        let app = &app;
        async move {
            let response = app
                .hosted_sign_up(
                    "/f/spring",
                    &[("email", email), ("referral_code", "ZZZZ-ZZZZ")],
                )
                .await;
            (
                response.status(),
                response.text().await.unwrap().replace(email, "EMAIL"),
            )
        }
    };
    let (known, known_page) = refused("f@example.com").await;
    let (unknown, unknown_page) = refused("other@example.com").await;
    assert_eq!(known, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!((known, known_page), (unknown, unknown_page));
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
    a_double_sided_campaign_tells_the_friend_what_they_get,
    a_friend_arriving_by_link_finds_the_code_prefilled_and_is_credited,
    a_typed_code_with_a_typo_shows_the_suggestion_and_creates_nothing,
    the_business_s_own_form_can_post_to_the_friend_endpoint,
    an_email_already_in_the_campaign_keeps_its_referrer_and_the_page_does_not_tell,
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

/// Posts the business's own sign-up form for `email` with Jane's `code`, as if a proxy on
/// loopback had forwarded it from `forwarded_for`.
async fn sign_up_forwarded(app: &TestApp, email: &str, code: &str, forwarded_for: &str) {
    let posted = reqwest::Client::new()
        .post(format!("{}/f/spring", app.address))
        .header("X-Forwarded-For", forwarded_for)
        .form(&[("email", email), ("referral_code", code)])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::OK, "sign-up of {email}");
}

/// `friend1@example.com` to `friend6@example.com` sign up in turn, each forwarded from an
/// address of its own (`198.51.100.1` to `.6`).
async fn six_friends_forwarded(app: &TestApp, code: &str) {
    for i in 1..=6 {
        sign_up_forwarded(
            app,
            &format!("friend{i}@example.com"),
            code,
            &format!("198.51.100.{i}"),
        )
        .await;
    }
}

/// Jane opens her portal from `forwarded_for` (a client without cookies, so that the portal's
/// own-browser cookie plays no part).
async fn portal_visit_forwarded(app: &TestApp, jane: &Value, forwarded_for: &str) {
    let session = crate::portal::session_for(app, jane["id"].as_i64().unwrap()).await;
    let portal = reqwest::Client::new()
        .get(jane["portal_url"].as_str().unwrap())
        .header("Cookie", format!("handoff_portal={session}"))
        .header("X-Forwarded-For", forwarded_for)
        .send()
        .await
        .unwrap();
    assert_eq!(portal.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_friend_is_seen_at_their_own_address() {
    let app = crate::helpers::spawn_sqlite_with(&[("HANDOFF_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let jane = setup(&app).await;
    let code = jane["code"].as_str().unwrap();
    portal_visit_forwarded(&app, &jane, "203.0.113.50").await;
    // Six friends through the same proxy: six addresses, so no burst from one address.
    six_friends_forwarded(&app, code).await;
    for i in 1..=6 {
        let lead = lead_of(&app, &format!("friend{i}@example.com")).await;
        assert_eq!(lead["flags"], json!([]), "friend {i}: {lead}");
    }
    // A friend at Jane's own address is noticed; an address the client wrote before the
    // proxy's entry is not believed.
    sign_up_forwarded(&app, "twin@example.com", code, "203.0.113.50").await;
    assert_eq!(
        lead_of(&app, "twin@example.com").await["flags"],
        json!(["same_ip"])
    );
    sign_up_forwarded(
        &app,
        "spoof@example.com",
        code,
        "203.0.113.50, 198.51.100.99",
    )
    .await;
    assert_eq!(lead_of(&app, "spoof@example.com").await["flags"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_trusted_proxies_a_forwarded_address_is_not_believed() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .expect("sqlite app");
    let jane = setup(&app).await;
    let code = jane["code"].as_str().unwrap();
    // Every request comes from loopback; the header claims six different addresses.
    six_friends_forwarded(&app, code).await;
    assert_eq!(
        lead_of(&app, "friend5@example.com").await["flags"],
        json!([])
    );
    assert_eq!(
        lead_of(&app, "friend6@example.com").await["flags"],
        json!(["ip_burst"]),
        "the sixth sign-up from one address in an hour is a burst"
    );
}
