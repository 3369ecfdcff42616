//! Emails over a real socket: the app sends through its SMTP worker to the loopback server in
//! `smtp.rs`, and the tests read what arrived (headers, both parts, links), what happens when
//! the server is down or refuses, and that two workers racing send each email once.

use std::time::Duration;

use app::ssr::{
    entities::{email, outbox_event},
    services::{
        deliveries,
        emails::{queue, smtp::Mailer},
    },
};
use chrono::Utc;
use mail_parser::MimeHeaders;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, spawn_app_with},
    smtp::SmtpServer,
};

/// An app whose email worker sends to `smtp_url`, polling often.
async fn app_with_smtp(backend: Backend, smtp_url: &str) -> Option<TestApp> {
    spawn_app_with(
        backend,
        &[
            ("HANDOFF_SMTP_URL", smtp_url),
            ("HANDOFF_SMTP_FROM", "Referrals <refer@shop.test>"),
            ("HANDOFF_OUTBOX_POLL_MS", "50"),
        ],
    )
    .await
}

async fn add_referrer(app: &TestApp, name: &str, email: &str, welcome: bool) -> Value {
    let response = app
        .post_api(
            "/api/v1/referrers",
            &json!({"campaign": "spring", "name": name, "email": email, "send_welcome_email": welcome}),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

async fn rows(app: &TestApp) -> Vec<email::Model> {
    email::Entity::find()
        .order_by_asc(email::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

/// Waits until the only email row satisfies `done`.
async fn wait_for_row(
    app: &TestApp,
    what: &str,
    done: impl Fn(&email::Model) -> bool,
) -> email::Model {
    for _ in 0..200 {
        if let Some(row) = rows(app).await.pop()
            && done(&row)
        {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}: {:?}", rows(app).await);
}

async fn the_link_and_code_email_arrives_with_both_parts_escaped(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let Some(app) = app_with_smtp(backend, &smtp.url()).await else {
        return;
    };
    app.campaign(json!({"name": "Spring <Sale>", "slug": "spring"}))
        .await;
    let hostile = "<b>Jane</b>{portal_link} Doe";
    let jane = add_referrer(&app, hostile, "jane@example.com", true).await;
    let got = smtp.wait_for(1, 10).await;
    assert_eq!(got.len(), 1, "one email");
    let received = &got[0];
    assert_eq!(received.mail_from, "refer@shop.test");
    assert_eq!(received.rcpt_to, vec!["jane@example.com".to_owned()]);

    let message = received.parsed();
    assert_eq!(
        message.subject(),
        Some("Your referral link and code for Spring <Sale>")
    );
    let from = message.from().and_then(|f| f.first()).expect("From");
    assert_eq!(from.address(), Some("refer@shop.test"));
    assert_eq!(
        from.name(),
        Some("Spring <Sale>"),
        "the campaign is the sender's name"
    );
    let message_id = message.message_id().unwrap_or_default();
    assert!(message_id.ends_with("@127.0.0.1"), "{message_id}");
    assert!(
        message
            .content_type()
            .is_some_and(|ct| ct.ctype() == "multipart" && ct.subtype() == Some("alternative")),
        "text and HTML alternatives"
    );

    let link = jane["link"].as_str().unwrap();
    let code = jane["code"].as_str().unwrap();
    let text = message.body_text(0).expect("a text part").into_owned();
    let html = message.body_html(0).expect("an HTML part").into_owned();
    for part in [&text, &html] {
        assert!(part.contains(link), "the link is in both parts");
        assert!(part.contains(code), "the code is in both parts");
        assert!(
            part.contains(&format!("{}/p/spring/login/", app.address)),
            "a sign-in link is in both parts"
        );
    }
    assert!(text.contains("Hi <b>Jane</b>{portal_link},"), "{text}");
    assert!(
        html.contains("Hi &lt;b&gt;Jane&lt;/b&gt;{portal_link},"),
        "the name is escaped and its braces are not a placeholder"
    );
    assert!(!html.contains("<b>Jane"));
    assert!(
        html.contains(&format!("{}/qr/", app.address)),
        "the QR image"
    );
    assert!(
        message.header("List-Unsubscribe").is_none(),
        "the link-and-code email is not a notification"
    );

    // The row is the Emails log's line: sent, one attempt.
    let row = wait_for_row(&app, "the email marked sent", |r| r.status == "sent").await;
    assert_eq!(row.attempts, 1);
    assert!(row.sent_at.is_some());

    // Asking again (the same email, through the API) sends nothing twice.
    add_referrer(&app, "Jane", "JANE@example.com", true).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(smtp.messages().len(), 1, "never twice to one person");
    assert_eq!(rows(&app).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_and_code_email_arrives_with_both_parts_escaped_on_sqlite() {
    the_link_and_code_email_arrives_with_both_parts_escaped(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_and_code_email_arrives_with_both_parts_escaped_on_postgres() {
    the_link_and_code_email_arrives_with_both_parts_escaped(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_send_welcome_email_the_api_writes_no_email() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(Backend::Sqlite, &smtp.url()).await.unwrap();
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    add_referrer(&app, "Jane", "jane@example.com", false).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rows(&app).await.is_empty());
    assert!(smtp.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_smtp_server_configured_emails_are_kept_unsent() {
    let app = spawn_app_with(Backend::Sqlite, &[("HANDOFF_OUTBOX_POLL_MS", "50")])
        .await
        .unwrap();
    assert!(!app.state.settings.email_sending);
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    add_referrer(&app, "Jane", "jane@example.com", true).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let kept = rows(&app).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].status, "pending");
    assert_eq!(kept[0].attempts, 0);
    assert!(
        kept[0].text_body.contains("Your code:"),
        "rendered and readable"
    );
}

async fn smtp_down_is_retried_and_sent_once_it_is_back(backend: Backend) {
    // A port nobody listens on yet.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let url = format!("smtp://127.0.0.1:{port}?tls=none");
    let Some(app) = app_with_smtp(backend, &url).await else {
        return;
    };
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    add_referrer(&app, "Jane", "jane@example.com", true).await;
    let row = wait_for_row(&app, "a failed first attempt", |r| r.attempts >= 1).await;
    assert_eq!(row.status, "pending", "kept for a retry");
    assert!(row.last_error.is_some());
    assert!(
        row.next_attempt_at > Utc::now(),
        "retried later, with backoff"
    );

    // The server comes back; the retry is due (as it would be after the backoff).
    let smtp = SmtpServer::start_on(port).await;
    email::Entity::update_many()
        .col_expr(email::Column::NextAttemptAt, Expr::value(Utc::now()))
        .exec(&app.db)
        .await
        .unwrap();
    let got = smtp.wait_for(1, 10).await;
    assert_eq!(got.len(), 1);
    let row = wait_for_row(&app, "the email marked sent", |r| r.status == "sent").await;
    assert_eq!(row.attempts, 2);
    assert_eq!(row.last_error, None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 1, "sent once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_is_retried_and_sent_once_it_is_back_on_sqlite() {
    smtp_down_is_retried_and_sent_once_it_is_back(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_is_retried_and_sent_once_it_is_back_on_postgres() {
    smtp_down_is_retried_and_sent_once_it_is_back(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recipient_fails_the_email_with_the_servers_reply_and_resend_sends_it() {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(Backend::Sqlite, &smtp.url()).await.unwrap();
    smtp.refuse_recipients();
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    add_referrer(&app, "Jane", "jane@example.com", true).await;
    let row = wait_for_row(&app, "a failed email", |r| r.status == "failed").await;
    assert_eq!(row.attempts, 1, "a permanent refusal is not retried");
    let error = row.last_error.clone().unwrap_or_default();
    assert!(error.contains("No such mailbox"), "{error}");
    assert!(smtp.messages().is_empty());

    // Fixed on the server's side; the admin's resend sends the same email.
    let smtp2 = SmtpServer::start().await;
    drop(smtp);
    let mailer = Mailer::new(
        &app::ssr::services::emails::smtp::SmtpUrl::parse(&smtp2.url()).unwrap(),
        "refer@shop.test".parse().unwrap(),
        None,
    )
    .unwrap();
    queue::resend(&app.db, row.id).await.unwrap();
    server::workers::email::run_once(&app.db, &mailer, &app.state.settings)
        .await
        .unwrap();
    let got = smtp2.wait_for(1, 5).await;
    assert_eq!(got.len(), 1);
    let row = rows(&app).await.pop().unwrap();
    assert_eq!(row.status, "sent");
    assert_eq!(
        got[0].parsed().message_id().map(str::to_owned),
        Some(row.message_id.trim_matches(['<', '>']).to_owned()),
        "the same message"
    );
}

async fn two_workers_racing_send_each_email_once(backend: Backend) {
    // No SMTP in the app itself: the two workers below are the only senders.
    let Some(app) = spawn_app_with(backend, &[]).await else {
        return;
    };
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    const N: usize = 60;
    for i in 0..N {
        add_referrer(&app, &format!("R{i}"), &format!("r{i}@example.com"), true).await;
    }
    let smtp = SmtpServer::start().await;
    let url = app::ssr::services::emails::smtp::SmtpUrl::parse(&smtp.url()).unwrap();
    let worker = |mailer: Mailer| {
        let db = app.db.clone();
        let settings = app.state.settings.clone();
        tokio::spawn(async move {
            loop {
                let n = server::workers::email::run_once(&db, &mailer, &settings)
                    .await
                    .unwrap();
                if n == 0 {
                    break;
                }
            }
        })
    };
    let a = worker(Mailer::new(&url, "a@shop.test".parse().unwrap(), None).unwrap());
    let b = worker(Mailer::new(&url, "b@shop.test".parse().unwrap(), None).unwrap());
    a.await.unwrap();
    b.await.unwrap();
    let got = smtp.wait_for(N, 5).await;
    assert_eq!(got.len(), N, "every email once");
    let mut ids: Vec<String> = got
        .iter()
        .map(|m| m.parsed().message_id().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N, "no email twice");
    let sent = email::Entity::find()
        .filter(email::Column::Status.eq("sent"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(sent, N as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_racing_send_each_email_once_on_sqlite() {
    two_workers_racing_send_each_email_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_racing_send_each_email_once_on_postgres() {
    two_workers_racing_send_each_email_once(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_referrer_fires_the_referrer_created_webhook_once() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await.unwrap();
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    deliveries::create_endpoint(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        "http://127.0.0.1:9/hook",
        "CRM",
        &["referrer.created".to_owned()],
    )
    .await
    .unwrap();
    let jane = add_referrer(&app, "Jane", "jane@example.com", false).await;
    // The same person again: no second event.
    add_referrer(&app, "Jane", "jane@example.com", false).await;
    let events = outbox_event::Entity::find()
        .filter(outbox_event::Column::EventType.eq("referrer.created"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let payload: Value = serde_json::from_str(&events[0].payload).unwrap();
    assert_eq!(payload["data"]["id"], jane["id"]);
    assert_eq!(payload["data"]["code"], jane["code"]);
    assert_eq!(payload["data"]["campaign"], "spring");
}

/// Posts an admin server function's form, as the admin's browser would.
async fn post_rpc(app: &TestApp, endpoint: &str, form: &[(&str, &str)]) -> reqwest::StatusCode {
    app.client
        .post(format!("{}/rpc/{endpoint}", app.address))
        .header("Origin", &app.address)
        .form(form)
        .send()
        .await
        .unwrap()
        .status()
}

/// From and Reply-To of the `n`th message (1-based) to arrive.
async fn sender_of(smtp: &SmtpServer, n: usize) -> (String, String, Option<String>) {
    let got = smtp.wait_for(n, 10).await;
    assert_eq!(got.len(), n, "{n} messages");
    let message = got[n - 1].parsed();
    let from = message.from().and_then(|f| f.first()).expect("From");
    let reply_to = message
        .reply_to()
        .and_then(|r| r.first())
        .and_then(|r| r.address())
        .map(str::to_owned);
    (
        from.name().unwrap_or_default().to_owned(),
        from.address().unwrap_or_default().to_owned(),
        reply_to,
    )
}

async fn the_admin_chooses_who_emails_come_from_and_where_replies_go(backend: Backend) {
    use app::domain::roles::Role;
    let smtp = SmtpServer::start().await;
    let Some(app) = app_with_smtp(backend, &smtp.url()).await else {
        return;
    };
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;

    // A viewer sees the form's values but cannot change them.
    app.log_in_as("viewer@example.com", Role::Viewer).await;
    let form = [("from", "Shop <hello@shop.test>"), ("reply_to", "")];
    assert_eq!(
        post_rpc(&app, "email_sender_save", &form).await,
        reqwest::StatusCode::FORBIDDEN
    );
    app.log_in_as("owner@example.com", Role::Owner).await;
    // A bad address is refused with the field named, and nothing changes.
    for (from, reply_to) in [("not an address", ""), ("", "x\r\nBcc: y@evil.test")] {
        let status = post_rpc(
            &app,
            "email_sender_save",
            &[("from", from), ("reply_to", reply_to)],
        )
        .await;
        assert_eq!(
            status,
            reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            "{from:?} {reply_to:?}"
        );
    }
    add_referrer(&app, "Ann", "ann@example.com", true).await;
    assert_eq!(
        sender_of(&smtp, 1).await,
        ("Spring".to_owned(), "refer@shop.test".to_owned(), None),
        "the configured sender, with the campaign's name"
    );

    // The installation's sender and reply-to, set in the admin.
    let form = [
        ("from", "Shop <hello@shop.test>"),
        ("reply_to", "help@shop.test"),
    ];
    assert!(
        post_rpc(&app, "email_sender_save", &form)
            .await
            .is_success()
    );
    let page = app.get("/admin/emails").await.text().await.unwrap();
    assert!(
        page.contains("Shop &lt;hello@shop.test&gt;"),
        "the form shows it"
    );
    add_referrer(&app, "Jane", "jane@example.com", true).await;
    assert_eq!(
        sender_of(&smtp, 2).await,
        (
            "Spring".to_owned(),
            "hello@shop.test".to_owned(),
            Some("help@shop.test".to_owned())
        )
    );
    assert_eq!(
        smtp.messages()[1].mail_from,
        "hello@shop.test",
        "the envelope too"
    );

    // The campaign's own sender name and reply-to (its portal settings); a bad one changes
    // nothing.
    let campaign_form = |name: &'static str, reply_to: &'static str| {
        [
            ("slug", "spring"),
            ("settings[email_sender_name]", name),
            ("settings[email_reply_to]", reply_to),
        ]
    };
    for (name, reply_to) in [("Spring Rewards", "nope"), ("Two\nlines", "")] {
        assert_eq!(
            post_rpc(&app, "portal_settings_save", &campaign_form(name, reply_to)).await,
            reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?} {reply_to:?}"
        );
    }
    let form = campaign_form("Spring Rewards", "spring@shop.test");
    assert!(
        post_rpc(&app, "portal_settings_save", &form)
            .await
            .is_success()
    );
    add_referrer(&app, "John", "john@example.com", true).await;
    assert_eq!(
        sender_of(&smtp, 3).await,
        (
            "Spring Rewards".to_owned(),
            "hello@shop.test".to_owned(),
            Some("spring@shop.test".to_owned())
        )
    );

    // Emptied in the admin: the configured sender again; the campaign keeps its own.
    let form = [("from", ""), ("reply_to", "")];
    assert!(
        post_rpc(&app, "email_sender_save", &form)
            .await
            .is_success()
    );
    add_referrer(&app, "Kim", "kim@example.com", true).await;
    assert_eq!(
        sender_of(&smtp, 4).await,
        (
            "Spring Rewards".to_owned(),
            "refer@shop.test".to_owned(),
            Some("spring@shop.test".to_owned())
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_chooses_who_emails_come_from_and_where_replies_go_on_sqlite() {
    the_admin_chooses_who_emails_come_from_and_where_replies_go(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_chooses_who_emails_come_from_and_where_replies_go_on_postgres() {
    the_admin_chooses_who_emails_come_from_and_where_replies_go(Backend::Postgres).await;
}
