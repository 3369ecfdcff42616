//! Notification emails over the loopback SMTP server: a referrer hears when somebody they referred
//! arrives, when a referral qualifies and earns them a reward, and when a reward is issued; a
//! friend in a double-sided campaign is welcomed with their reward. Each notification carries
//! `List-Unsubscribe` and a footer link to `/p/unsubscribe/{token}`, which works in one click.

use std::time::Duration;

use app::{
    domain::emails::EmailKind,
    ssr::{
        entities::{email, import_digest, referrer, reward},
        services::{emails::templates, portal, rewards},
    },
};
use chrono::{Duration as ChronoDuration, Utc};
use mail_parser::Message;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, spawn_app_with},
    smtp::{Received, SmtpServer},
};

/// An app whose email worker sends to `smtp`, polling often.
async fn app_with_smtp(backend: Backend, smtp: &SmtpServer) -> Option<TestApp> {
    spawn_app_with(
        backend,
        &[
            ("HANDOFF_SMTP_URL", &smtp.url()),
            ("HANDOFF_SMTP_FROM", "Referrals <refer@shop.test>"),
            ("HANDOFF_OUTBOX_POLL_MS", "50"),
        ],
    )
    .await
}

/// Campaign "Spring" with the referrer Jane Doe (no link-and-code email, so every email the
/// tests see is a notification).
async fn setup(app: &TestApp) -> Value {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let response = app
        .post_api(
            "/api/v1/referrers",
            &json!({"campaign": "spring", "name": "Jane Doe", "email": "jane@example.com",
                "send_welcome_email": false}),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

/// A friend signs up on the hosted friend page with Jane's code.
async fn friend_signs_up(app: &TestApp, jane: &Value, name: &str, email: &str) {
    let response = app
        .hosted_sign_up(
            "/f/spring",
            &[
                ("name", name),
                ("email", email),
                ("referral_code", jane["code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn convert(app: &TestApp, body: Value) -> Value {
    let response = app.post_api("/api/v1/conversions", &body).await;
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

async fn emails(app: &TestApp) -> Vec<email::Model> {
    email::Entity::find()
        .order_by_asc(email::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

async fn kinds(app: &TestApp) -> Vec<String> {
    emails(app).await.into_iter().map(|e| e.kind).collect()
}

/// Waits for the `n`th message (1-based) and returns it.
async fn nth_message(smtp: &SmtpServer, n: usize) -> Received {
    let got = smtp.wait_for(n, 10).await;
    assert!(
        got.len() >= n,
        "waited for message {n}, got {}: {:?}",
        got.len(),
        got.iter()
            .map(|m| m.parsed().subject().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    );
    got[n - 1].clone()
}

/// Gives the app time to write (and the worker to send) anything it was going to.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(400)).await;
}

fn text_of(message: &Message<'_>) -> String {
    message.body_text(0).expect("a text part").into_owned()
}

fn html_of(message: &Message<'_>) -> String {
    message.body_html(0).expect("an HTML part").into_owned()
}

/// A header of the message as sent (unfolded), read from the raw text so that the test sees
/// exactly what a mail client sees.
fn raw_header(received: &Received, name: &str) -> Option<String> {
    let head = received.data.split("\r\n\r\n").next()?;
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.split("\r\n").find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// The unsubscribe address in a message's `List-Unsubscribe` header.
fn list_unsubscribe(received: &Received) -> String {
    raw_header(received, "List-Unsubscribe")
        .expect("List-Unsubscribe")
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// Posts `csv` to the campaign's import endpoint (`query` adds e.g. `&dry_run=true`).
async fn import_csv(app: &TestApp, query: &str, csv: String) {
    let response = app
        .client
        .post(format!(
            "{}/api/v1/conversions/import?campaign=spring{query}",
            app.address
        ))
        .bearer_auth(&app.api_key)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn opted_out(app: &TestApp, id: i64) -> bool {
    referrer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .emails_opt_out
}

async fn a_friend_arriving_by_code_emails_the_referrer_with_a_one_click_unsubscribe(
    backend: Backend,
) {
    let smtp = SmtpServer::start().await;
    let Some(app) = app_with_smtp(backend, &smtp).await else {
        return;
    };
    let jane = setup(&app).await;
    friend_signs_up(&app, &jane, "Sam Lee", "sam@example.com").await;

    let received = nth_message(&smtp, 1).await;
    assert_eq!(received.rcpt_to, vec!["jane@example.com".to_owned()]);
    let message = received.parsed();
    assert_eq!(
        message.subject(),
        Some("Somebody you referred just arrived")
    );
    let text = text_of(&message);
    let html = html_of(&message);
    assert!(text.starts_with("Hi Jane,"), "{text}");
    assert!(
        text.contains("Sam arrived through your referral for Spring"),
        "the friend's first name: {text}"
    );
    let unsubscribe = list_unsubscribe(&received);
    assert!(
        unsubscribe.starts_with(&format!("{}/p/unsubscribe/{}-", app.address, jane["id"])),
        "{unsubscribe}"
    );
    assert_eq!(
        raw_header(&received, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(
        text.contains(&format!("Stop these notification emails: {unsubscribe}")),
        "the footer link in the text part: {text}"
    );
    assert!(
        html.contains(&format!("href=\"{unsubscribe}\"")),
        "the footer link in the HTML part"
    );
    assert!(
        text.contains(&format!("{}/p/spring", app.address)),
        "the portal entrance"
    );

    // A mail client's one-click unsubscribe: a bare POST, no cookies, no CSRF token.
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = bare
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("You will get no more notification emails"),
        "{page}"
    );
    assert!(page.contains(&format!("href=\"{}/p/spring\"", app.address)));
    assert!(opted_out(&app, jane["id"].as_i64().unwrap()).await);

    // Nothing more reaches Jane.
    friend_signs_up(&app, &jane, "Ola", "ola@example.com").await;
    convert(
        &app,
        json!({"campaign": "spring", "event_id": "o-1", "event": "purchase",
            "email": "sam@example.com", "amount": 5000, "currency": "USD"}),
    )
    .await;
    settle().await;
    assert_eq!(kinds(&app).await, ["new_referral"]);
    assert_eq!(smtp.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_friend_arriving_by_code_emails_the_referrer_with_a_one_click_unsubscribe_on_sqlite() {
    a_friend_arriving_by_code_emails_the_referrer_with_a_one_click_unsubscribe(Backend::Sqlite)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_friend_arriving_by_code_emails_the_referrer_with_a_one_click_unsubscribe_on_postgres() {
    a_friend_arriving_by_code_emails_the_referrer_with_a_one_click_unsubscribe(Backend::Postgres)
        .await;
}

async fn a_qualifying_purchase_tells_what_was_earned_and_issuing_it_tells_again(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let Some(app) = app_with_smtp(backend, &smtp).await else {
        return;
    };
    let jane = setup(&app).await;
    friend_signs_up(&app, &jane, "Sam Lee", "sam@example.com").await;
    nth_message(&smtp, 1).await;

    let body = json!({"campaign": "spring", "event_id": "order-1", "event": "purchase",
        "email": "sam@example.com", "amount": 5000, "currency": "USD"});
    let result = convert(&app, body.clone()).await;
    assert_eq!(result["outcome"], "qualified");
    let qualified = nth_message(&smtp, 2).await;
    assert_eq!(qualified.rcpt_to, vec!["jane@example.com".to_owned()]);
    let message = qualified.parsed();
    assert_eq!(message.subject(), Some("Your referral qualified"));
    let text = text_of(&message);
    assert!(
        text.contains("Sam's referral qualified, and you earned: Thank-you reward."),
        "{text}"
    );
    assert!(raw_header(&qualified, "List-Unsubscribe").is_some());
    assert!(text.contains("/p/unsubscribe/"), "the footer link");

    // The same conversion again: a duplicate, and no second email.
    let again = convert(&app, body).await;
    assert_eq!(again["duplicate"], true);

    let reward_id = result["rewards"][0]["id"].as_i64().unwrap();
    let response = app
        .post_api(&format!("/api/v1/rewards/{reward_id}/issue"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let received = nth_message(&smtp, 3).await;
    let issued = received.parsed();
    assert_eq!(issued.subject(), Some("Your reward was issued"));
    let text = text_of(&issued);
    assert!(
        text.contains("Your reward was issued: Thank-you reward."),
        "{text}"
    );
    assert!(raw_header(&received, "List-Unsubscribe").is_some());
    assert!(text.contains("/p/unsubscribe/"), "the footer link");

    settle().await;
    assert_eq!(
        kinds(&app).await,
        ["new_referral", "referral_qualified", "reward_issued"],
        "one email per event"
    );
    assert_eq!(smtp.messages().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qualifying_purchase_tells_what_was_earned_and_issuing_it_tells_again_on_sqlite() {
    a_qualifying_purchase_tells_what_was_earned_and_issuing_it_tells_again(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qualifying_purchase_tells_what_was_earned_and_issuing_it_tells_again_on_postgres() {
    a_qualifying_purchase_tells_what_was_earned_and_issuing_it_tells_again(Backend::Postgres).await;
}

/// Rules with a reward for both sides.
async fn double_sided(app: &TestApp) {
    let response = app
        .client
        .put(format!("{}/api/v1/campaigns/spring/rules", app.address))
        .bearer_auth(&app.api_key)
        .json(&json!({
            "qualification": {"events": ["purchase"]},
            "rewards": [
                {"recipient": "referrer", "kind": "fixed", "amount_minor": 2000, "currency": "USD",
                 "description": "Store credit"},
                {"recipient": "friend", "kind": "percent", "percent_bp": 1000, "cap_minor": 1500,
                 "description": "10% back"}
            ]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn a_double_sided_campaign_welcomes_the_friend_with_their_reward(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let Some(app) = app_with_smtp(backend, &smtp).await else {
        return;
    };
    let jane = setup(&app).await;
    double_sided(&app).await;
    // A purchase with Jane's code by a friend never seen before: the lead is created and
    // qualifies at once.
    convert(
        &app,
        json!({"campaign": "spring", "event_id": "order-1", "event": "purchase",
            "referral_code": jane["code"], "email": "kim@example.com",
            "amount": 30000, "currency": "USD"}),
    )
    .await;
    smtp.wait_for(2, 10).await;
    settle().await;
    let got = smtp.messages();
    assert_eq!(got.len(), 2, "the friend's welcome and Jane's news");
    let to = |address: &str| {
        got.iter()
            .find(|m| m.rcpt_to == vec![address.to_owned()])
            .unwrap_or_else(|| panic!("an email to {address}"))
            .parsed()
            .into_owned()
    };
    let welcome = to("kim@example.com");
    assert_eq!(welcome.subject(), Some("Welcome to Spring"));
    let text = text_of(&welcome);
    assert!(
        text.contains("Jane Doe referred you to Spring. Your reward: 10% back (USD 15.00)."),
        "{text}"
    );
    assert!(
        welcome.header("List-Unsubscribe").is_none(),
        "the friend's welcome is not a notification"
    );
    assert!(!text.contains("/p/unsubscribe/"));

    let news = to("jane@example.com");
    assert_eq!(
        news.subject(),
        Some("Your referral qualified"),
        "arriving and qualifying at once is one email, the one that says both"
    );
    let text = text_of(&news);
    assert!(
        text.contains(
            "k***@example.com's referral qualified, and you earned: Store credit (USD 20.00)."
        ),
        "a friend without a name is named by their masked address: {text}"
    );
    let mut stored = kinds(&app).await;
    stored.sort();
    assert_eq!(stored, ["friend_welcome", "referral_qualified"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_sided_campaign_welcomes_the_friend_with_their_reward_on_sqlite() {
    a_double_sided_campaign_welcomes_the_friend_with_their_reward(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_sided_campaign_welcomes_the_friend_with_their_reward_on_postgres() {
    a_double_sided_campaign_welcomes_the_friend_with_their_reward(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opted_out_referrer_gets_no_notifications_and_the_friend_is_still_welcomed() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(Backend::Sqlite, &smtp).await.unwrap();
    let jane = setup(&app).await;
    double_sided(&app).await;
    portal::set_emails(&app.state, jane["id"].as_i64().unwrap(), false)
        .await
        .unwrap();

    friend_signs_up(&app, &jane, "Sam Lee", "sam@example.com").await;
    let result = convert(
        &app,
        json!({"campaign": "spring", "event_id": "order-1", "event": "purchase",
            "email": "sam@example.com", "amount": 30000, "currency": "USD"}),
    )
    .await;
    assert_eq!(result["outcome"], "qualified");
    let theirs = result["rewards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["recipient"] == "referrer")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let response = app
        .post_api(&format!("/api/v1/rewards/{theirs}/issue"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let welcome = nth_message(&smtp, 1).await;
    assert_eq!(welcome.rcpt_to, vec!["sam@example.com".to_owned()]);
    assert!(text_of(&welcome.parsed()).starts_with("Hi Sam,"));
    settle().await;
    assert_eq!(kinds(&app).await, ["friend_welcome"], "nothing to Jane");
    assert_eq!(smtp.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_the_unsubscribe_link_only_asks_and_its_button_unsubscribes() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(Backend::Sqlite, &smtp).await.unwrap();
    let jane = setup(&app).await;
    let id = jane["id"].as_i64().unwrap();
    let url = app::ssr::services::emails::unsubscribe_url(&app.state.settings, id);
    let path = url.trim_start_matches(&app.address).to_owned();

    let page = app.get(&path).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        page.headers()["referrer-policy"],
        "no-referrer",
        "the token never leaves in a Referer"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("Stop notification emails?"), "{html}");
    assert!(html.contains("j***@example.com"), "whose emails, masked");
    assert!(html.contains("<form method=\"post\">"));
    assert!(
        !opted_out(&app, id).await,
        "a link scanner opening the address unsubscribes nobody"
    );

    // The page's button: a form post from the page itself.
    let done = app.post_form(&path, &[]).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(
        done.text()
            .await
            .unwrap()
            .contains("You will get no more notification emails")
    );
    assert!(opted_out(&app, id).await);
    // Again: still unsubscribed, and the page says so.
    assert_eq!(app.post_form(&path, &[]).await.status(), StatusCode::OK);
    let again = app.get(&path).await.text().await.unwrap();
    assert!(again.contains("You are unsubscribed"), "{again}");

    friend_signs_up(&app, &jane, "Sam Lee", "sam@example.com").await;
    settle().await;
    assert!(emails(&app).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_unsubscribe_token_is_not_found() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(Backend::Sqlite, &smtp).await.unwrap();
    let jane = setup(&app).await;
    let id = jane["id"].as_i64().unwrap();
    let real = app::ssr::services::emails::unsubscribe_url(&app.state.settings, id);
    let digest = real.rsplit_once('-').unwrap().1;
    let other_id = format!("/p/unsubscribe/{}-{digest}", id + 1);
    let forged = format!("/p/unsubscribe/{id}-{}", "A".repeat(digest.len()));
    for path in [
        forged.as_str(),
        other_id.as_str(),
        "/p/unsubscribe/nonsense",
        "/p/unsubscribe/-",
    ] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
        let bare = reqwest::Client::new()
            .post(format!("{}{path}", app.address))
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(bare.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert!(!opted_out(&app, id).await);

    friend_signs_up(&app, &jane, "Sam Lee", "sam@example.com").await;
    assert_eq!(
        nth_message(&smtp, 1).await.parsed().subject(),
        Some("Somebody you referred just arrived"),
        "still subscribed"
    );
}

async fn the_same_conversions_imported_twice_send_one_email_each(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let Some(app) = app_with_smtp(backend, &smtp).await else {
        return;
    };
    let jane = setup(&app).await;
    let code = jane["code"].as_str().unwrap();
    let file = format!(
        "order_id,email,referral_code,amount,currency\n\
         o-1,ana@example.com,{code},50.00,USD\n\
         o-2,ben@example.com,{code},60.00,USD\n\
         o-3,ana@example.com,{code},70.00,USD\n"
    );
    for _ in 0..2 {
        import_csv(&app, "", file.clone()).await;
    }
    smtp.wait_for(1, 10).await;
    settle().await;
    let rows = emails(&app).await;
    let kinds: Vec<&str> = rows.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["referrals_qualified"],
        "one summary for the two friends who qualified (o-3 is Ana again), none for the \
         file's second run"
    );
    assert_eq!(rows[0].subject, "2 of your referrals qualified");
    assert!(
        rows[0].text_body.contains(
            "2 of your referrals qualified (a***@example.com and b***@example.com), and you \
             earned: 2 rewards."
        ),
        "{}",
        rows[0].text_body
    );
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(
        import_digest::Entity::find().count(&app.db).await.unwrap(),
        0,
        "the import's end took its counts"
    );

    // The API with an event id the file used is another source: it counts on its own, but the
    // lead is qualified already, so nothing new is earned and nobody is told.
    convert(
        &app,
        json!({"campaign": "spring", "event_id": "o-1", "event": "purchase",
            "email": "ana@example.com", "amount": 5000, "currency": "USD"}),
    )
    .await;
    settle().await;
    assert_eq!(emails(&app).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_conversions_imported_twice_send_one_email_each_on_sqlite() {
    the_same_conversions_imported_twice_send_one_email_each(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_conversions_imported_twice_send_one_email_each_on_postgres() {
    the_same_conversions_imported_twice_send_one_email_each(Backend::Postgres).await;
}

/// Adds referrer `name` to campaign "spring" and returns their code.
async fn add_referrer(app: &TestApp, name: &str, email: &str) -> String {
    let response = app
        .post_api(
            "/api/v1/referrers",
            &json!({"campaign": "spring", "name": name, "email": email,
                "send_welcome_email": false}),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let body: Value = response.json().await.unwrap();
    body["code"].as_str().unwrap().to_owned()
}

async fn an_import_sends_each_referrer_one_summary(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let Some(app) = app_with_smtp(backend, &smtp).await else {
        return;
    };
    let jane = setup(&app).await;
    double_sided(&app).await;
    let jane_code = jane["code"].as_str().unwrap();
    let joe_code = add_referrer(&app, "Joe Roe", "joe@example.com").await;
    let quiet_code = add_referrer(&app, "Quiet Kim", "kim@example.com").await;
    let quiet_id = referrer::Entity::find()
        .filter(referrer::Column::Email.eq("kim@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    referrer::Entity::update_many()
        .col_expr(referrer::Column::EmailsOptOut, Expr::value(true))
        .filter(referrer::Column::Id.eq(quiet_id))
        .exec(&app.db)
        .await
        .unwrap();

    // Two of Jane's friends signed up on the friend page first (with names, one of them
    // hostile); a file has no names, so the others are named by their masked address.
    friend_signs_up(&app, &jane, "Ana Lee", "f0@example.com").await;
    friend_signs_up(&app, &jane, "<b>Ben</b>", "f1@example.com").await;
    smtp.wait_for(2, 10).await;

    // Jane: five friends; Joe: one; Kim turned emails off.
    let mut file = String::from("order_id,email,referral_code,amount,currency\n");
    for n in 0..5 {
        file.push_str(&format!("j-{n},f{n}@example.com,{jane_code},50.00,USD\n"));
    }
    file.push_str(&format!("o-1,sol@example.com,{joe_code},50.00,USD\n"));
    file.push_str(&format!("k-1,tia@example.com,{quiet_code},50.00,USD\n"));
    import_csv(&app, "", file).await;

    // Two summaries for the referrers, and each friend's own welcome (double-sided).
    smtp.wait_for(11, 10).await;
    settle().await;
    let rows = emails(&app).await;
    let to_referrers: Vec<(&str, &str)> = rows
        .iter()
        .filter(|e| !matches!(e.kind.as_str(), "friend_welcome" | "new_referral"))
        .map(|e| (e.to_address.as_str(), e.kind.as_str()))
        .collect();
    let mut sorted = to_referrers.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            ("jane@example.com", "referrals_qualified"),
            ("joe@example.com", "referral_qualified"),
        ],
        "one email per referrer, none for the one who turned them off"
    );
    assert_eq!(
        rows.iter().filter(|e| e.kind == "friend_welcome").count(),
        7,
        "friends are welcomed one by one: each is a different person"
    );

    let messages = smtp.messages();
    let jane_mail = messages
        .iter()
        .find(|m| {
            m.rcpt_to == ["jane@example.com".to_owned()]
                && m.parsed().subject() != Some("Somebody you referred just arrived")
        })
        .expect("Jane's summary was sent");
    let parsed = jane_mail.parsed();
    assert_eq!(parsed.subject(), Some("5 of your referrals qualified"));
    let text = text_of(&parsed);
    assert!(
        text.contains(
            "5 of your referrals qualified (Ana, <b>Ben</b>, f***@example.com and 2 others), \
             and you earned: 5 rewards, USD 100.00 in all."
        ),
        "{text}"
    );
    let html = html_of(&parsed);
    assert!(html.contains("&lt;b&gt;Ben&lt;/b&gt;"), "escaped in HTML");
    assert!(!html.contains("<b>Ben"));
    assert!(raw_header(jane_mail, "List-Unsubscribe").is_some());

    let joe_mail = messages
        .iter()
        .find(|m| m.rcpt_to == ["joe@example.com".to_owned()])
        .expect("Joe's email was sent");
    let parsed = joe_mail.parsed();
    assert_eq!(parsed.subject(), Some("Your referral qualified"));
    assert!(
        text_of(&parsed).contains(
            "s***@example.com's referral qualified, and you earned: Store credit (USD 20.00)."
        ),
        "one referral reads as the ordinary email: {}",
        text_of(&parsed)
    );
    assert_eq!(
        import_digest::Entity::find().count(&app.db).await.unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_sends_each_referrer_one_summary_on_sqlite() {
    an_import_sends_each_referrer_one_summary(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_sends_each_referrer_one_summary_on_postgres() {
    an_import_sends_each_referrer_one_summary(Backend::Postgres).await;
}

/// The summary has its own template: a campaign words it, or turns it off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imports_summary_follows_its_own_template() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(Backend::Sqlite, &smtp).await.unwrap();
    let jane = setup(&app).await;
    let code = jane["code"].as_str().unwrap();
    save_template(
        &app,
        EmailKind::ReferralsQualified,
        "{count} new customers thanks to you",
        "{friend_name}: {count} in all.",
        true,
    )
    .await;
    import_csv(
        &app,
        "",
        format!(
            "order_id,email,referral_code,amount,currency\n\
             a-1,ana@example.com,{code},50.00,USD\n\
             a-2,ben@example.com,{code},50.00,USD\n"
        ),
    )
    .await;
    let message = nth_message(&smtp, 1).await;
    let parsed = message.parsed();
    assert_eq!(parsed.subject(), Some("2 new customers thanks to you"));
    assert!(
        text_of(&parsed).contains("a***@example.com and b***@example.com: 2 in all."),
        "{}",
        text_of(&parsed)
    );

    save_template(
        &app,
        EmailKind::ReferralsQualified,
        "{count} new customers thanks to you",
        "{friend_name}: {count} in all.",
        false,
    )
    .await;
    import_csv(
        &app,
        "",
        format!(
            "order_id,email,referral_code,amount,currency\n\
             b-1,cy@example.com,{code},50.00,USD\n\
             b-2,dee@example.com,{code},50.00,USD\n"
        ),
    )
    .await;
    settle().await;
    assert_eq!(emails(&app).await.len(), 1, "the summary is turned off");
    assert_eq!(
        import_digest::Entity::find().count(&app.db).await.unwrap(),
        0,
        "and its counts are not left behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_of_an_import_writes_no_email() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(Backend::Sqlite, &smtp).await.unwrap();
    let jane = setup(&app).await;
    let code = jane["code"].as_str().unwrap();
    import_csv(
        &app,
        "&dry_run=true",
        format!(
            "order_id,email,referral_code,amount,currency\no-1,ana@example.com,{code},50.00,USD\n"
        ),
    )
    .await;
    settle().await;
    assert!(emails(&app).await.is_empty());
    assert!(smtp.messages().is_empty());
}

/// Saves campaign "spring"'s template for `kind`.
async fn save_template(app: &TestApp, kind: EmailKind, subject: &str, body: &str, auto: bool) {
    templates::save(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        "spring",
        kind,
        subject,
        body,
        auto,
    )
    .await
    .unwrap();
}

async fn a_campaigns_own_templates_word_the_notifications_and_can_hold_them_back(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let Some(app) = app_with_smtp(backend, &smtp).await else {
        return;
    };
    let jane = setup(&app).await;
    save_template(
        &app,
        EmailKind::NewReferral,
        "{first_name}, {friend_name} is in",
        "{friend_name} joined {campaign} with your code.",
        true,
    )
    .await;
    save_template(
        &app,
        EmailKind::ReferralQualified,
        "Qualified",
        "{friend_name} qualified.",
        false,
    )
    .await;

    friend_signs_up(&app, &jane, "Sam Lee", "sam@example.com").await;
    let arrived = nth_message(&smtp, 1).await;
    let message = arrived.parsed();
    assert_eq!(message.subject(), Some("Jane, Sam is in"));
    let text = text_of(&message);
    assert!(text.contains("Sam joined Spring with your code."), "{text}");
    assert!(text.contains("/p/unsubscribe/"), "the footer stays");

    // The qualified email is switched off in this campaign, through the API and through an
    // imported file alike.
    let result = convert(
        &app,
        json!({"campaign": "spring", "event_id": "order-1", "event": "purchase",
            "email": "sam@example.com", "amount": 5000, "currency": "USD"}),
    )
    .await;
    assert_eq!(result["outcome"], "qualified");
    let code = jane["code"].as_str().unwrap();
    import_csv(
        &app,
        "",
        format!(
            "order_id,email,referral_code,amount,currency\no-9,ana@example.com,{code},50.00,USD\n"
        ),
    )
    .await;
    settle().await;
    assert_eq!(kinds(&app).await, ["new_referral"]);

    // Back to the built-in text: it goes out again.
    templates::reset(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        "spring",
        EmailKind::ReferralQualified,
    )
    .await
    .unwrap();
    convert(
        &app,
        json!({"campaign": "spring", "event_id": "order-2", "event": "purchase",
            "referral_code": code, "email": "kim@example.com", "amount": 5000, "currency": "USD"}),
    )
    .await;
    let qualified = nth_message(&smtp, 2).await;
    assert_eq!(
        qualified.parsed().subject(),
        Some("Your referral qualified")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaigns_own_templates_word_the_notifications_and_can_hold_them_back_on_sqlite() {
    a_campaigns_own_templates_word_the_notifications_and_can_hold_them_back(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaigns_own_templates_word_the_notifications_and_can_hold_them_back_on_postgres() {
    a_campaigns_own_templates_word_the_notifications_and_can_hold_them_back(Backend::Postgres)
        .await;
}

async fn a_reward_issued_on_its_own_after_its_hold_is_announced(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let Some(app) = app_with_smtp(backend, &smtp).await else {
        return;
    };
    let jane = setup(&app).await;
    let response = app
        .client
        .put(format!("{}/api/v1/campaigns/spring/rules", app.address))
        .bearer_auth(&app.api_key)
        .json(&json!({
            "qualification": {"events": ["purchase"], "auto_issue": true},
            "rewards": [{"recipient": "referrer", "kind": "custom", "description": "Gift card",
                "hold_days": 14}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let result = convert(
        &app,
        json!({"campaign": "spring", "event_id": "o1", "event": "purchase",
            "referral_code": jane["code"], "email": "sam@example.com"}),
    )
    .await;
    assert_eq!(result["rewards"][0]["status"], "pending");
    // A friend who arrives with a purchase qualifies at once: one email, not two.
    nth_message(&smtp, 1).await;

    assert_eq!(
        rewards::mature(&app.db, &app.state.settings, Utc::now())
            .await
            .unwrap(),
        0,
        "held"
    );
    // Two weeks pass: the hold ends now (the worker matures with the real clock, and the email
    // it writes is due at that clock).
    let id = result["rewards"][0]["id"].as_i64().unwrap();
    reward::Entity::update_many()
        .col_expr(
            reward::Column::DueAt,
            Expr::value(Utc::now() - ChronoDuration::minutes(1)),
        )
        .filter(reward::Column::Id.eq(id))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(
        rewards::mature(&app.db, &app.state.settings, Utc::now())
            .await
            .unwrap(),
        1
    );
    let issued = nth_message(&smtp, 2).await;
    assert_eq!(issued.rcpt_to, vec!["jane@example.com".to_owned()]);
    assert_eq!(issued.parsed().subject(), Some("Your reward was issued"));
    let text = text_of(&issued.parsed());
    assert!(text.contains("Gift card"), "{text}");
    // Maturing again finds nothing and tells nobody twice.
    assert_eq!(
        rewards::mature(&app.db, &app.state.settings, Utc::now())
            .await
            .unwrap(),
        0
    );
    settle().await;
    assert_eq!(kinds(&app).await, ["referral_qualified", "reward_issued"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reward_issued_on_its_own_after_its_hold_is_announced_on_sqlite() {
    a_reward_issued_on_its_own_after_its_hold_is_announced(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reward_issued_on_its_own_after_its_hold_is_announced_on_postgres() {
    a_reward_issued_on_its_own_after_its_hold_is_announced(Backend::Postgres).await;
}
