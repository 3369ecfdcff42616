//! The admin's side of the referrer: the referrer page and its email buttons, the "never
//! emailed" filter, the bulk link-and-code send, the Emails log, and signed portal links
//! through the API.

use app::{
    domain::{api_access::ApiAccess, emails::EmailKind, roles::Role},
    ssr::{
        entities::email,
        services::{
            api_keys,
            emails::{self, templates},
        },
    },
};
use chrono::Utc;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, sea_query::Expr};
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_databases};

async fn count(app: &TestApp, kind: &str) -> u64 {
    email::Entity::find()
        .filter(email::Column::Kind.eq(kind))
        .count(&app.db)
        .await
        .unwrap()
}

async fn the_bulk_send_reaches_everyone_not_yet_emailed_once(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    // Referrers added quietly by the API; one of them was emailed on the way in.
    for i in 0..5 {
        app.referrer("spring", &format!("R{i}"), &format!("r{i}@example.com"))
            .await;
    }
    let emailed = app
        .post_api(
            "/api/v1/referrers",
            &json!({"campaign": "spring", "name": "E", "email": "e@example.com", "send_welcome_email": true}),
        )
        .await;
    assert_eq!(emailed.status(), StatusCode::CREATED);

    let never: Value = app
        .get_json("/api/v1/referrers?campaign=spring&never_emailed=true")
        .await;
    assert_eq!(never["items"].as_array().unwrap().len(), 5);

    let run = emails::send_missing_welcomes(&app.state, "spring")
        .await
        .unwrap();
    assert_eq!(run.written, 5);
    assert_eq!(count(&app, "link_and_code").await, 6);
    // Its progress counts its own five, not E's email from before; no SMTP here, so all wait.
    let progress = || emails::welcome_progress(&app.db, "spring", run.since, run.until);
    let waiting = progress().await.unwrap();
    assert_eq!((waiting.sent, waiting.pending, waiting.failed), (0, 5, 0));
    // As the worker would record them: three sent, one refused.
    let ids: Vec<i64> = email::Entity::find()
        .filter(email::Column::Id.gt(run.since))
        .order_by_asc(email::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    for (ids, status) in [(&ids[..3], "sent"), (&ids[3..4], "failed")] {
        email::Entity::update_many()
            .col_expr(email::Column::Status, Expr::value(status))
            .filter(email::Column::Id.is_in(ids.to_vec()))
            .exec(&app.db)
            .await
            .unwrap();
    }
    let later = progress().await.unwrap();
    assert_eq!((later.sent, later.pending, later.failed), (3, 1, 1));
    // Run again (or twice at once): nobody gets it twice.
    let (a, b) = tokio::join!(
        emails::send_missing_welcomes(&app.state, "spring"),
        emails::send_missing_welcomes(&app.state, "spring")
    );
    assert_eq!(a.unwrap().written + b.unwrap().written, 0);
    assert_eq!(count(&app, "link_and_code").await, 6);
    let never: Value = app
        .get_json("/api/v1/referrers?campaign=spring&never_emailed=true")
        .await;
    assert!(never["items"].as_array().unwrap().is_empty());
}

async fn a_signed_portal_link_from_the_api_signs_in_once(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let id = jane["id"].as_i64().unwrap();
    let response = app
        .post_api(&format!("/api/v1/referrers/{id}/portal-link"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let url = body["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/p/spring/login/", app.address)));
    let expires: chrono::DateTime<Utc> = body["expires_at"].as_str().unwrap().parse().unwrap();
    let minutes = (expires - Utc::now()).num_minutes();
    assert!(
        (14..=15).contains(&minutes),
        "15 minutes by default: {minutes}"
    );

    let path = url.trim_start_matches(&app.address).to_owned();
    let used = app
        .client
        .post(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(used.status(), StatusCode::SEE_OTHER);
    let again = app
        .client
        .post(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::GONE, "single use");

    for bad in [json!({"ttl_minutes": 0}), json!({"ttl_minutes": 1441})] {
        let response = app
            .post_api(&format!("/api/v1/referrers/{id}/portal-link"), &bad)
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], "ttl_minutes");
    }
    let long = app
        .post_api(
            &format!("/api/v1/referrers/{id}/portal-link"),
            &json!({"ttl_minutes": 1440}),
        )
        .await;
    assert_eq!(long.status(), StatusCode::CREATED);
    let missing = app
        .post_api("/api/v1/referrers/999999/portal-link", &json!({}))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // A read-only key cannot sign anybody in.
    let (_, read_key) = api_keys::create(
        &app.db,
        &app::ssr::services::audit::Actor::command_line(),
        "dashboard",
        ApiAccess::ReadOnly,
    )
    .await
    .unwrap();
    let refused = app
        .client
        .post(format!("{}/api/v1/referrers/{id}/portal-link", app.address))
        .bearer_auth(read_key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

on_both_databases!(
    the_bulk_send_reaches_everyone_not_yet_emailed_once,
    a_signed_portal_link_from_the_api_signs_in_once,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_referrer_page_sends_emails_and_the_log_shows_them_without_javascript() {
    let app = crate::helpers::spawn_sqlite_with(&[]).await;
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let jane = app
        .referrer("spring", "<i>Jane</i>", "jane@example.com")
        .await;
    let id = jane["id"].as_i64().unwrap();
    app.log_in_as("owner@example.com", Role::Owner).await;

    let page = app.get(&format!("/admin/referrers/{id}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(jane["code"].as_str().unwrap()));
    assert!(
        html.contains(&format!("{}/p/spring", app.address)),
        "portal address"
    );
    assert!(html.contains("<svg"), "the QR code");
    assert!(
        html.contains("&lt;i&gt;Jane&lt;/i&gt;"),
        "names are escaped"
    );
    assert!(html.contains("No email written to this referrer yet."));

    // The buttons are plain form posts: each answers with the page again.
    for kind in ["link_and_code", "sign_in"] {
        let response = app
            .client
            .post(format!("{}/rpc/referrer_email", app.address))
            .header("Origin", &app.address)
            .header("Accept", "text/html")
            .header("Referer", format!("{}/admin/referrers/{id}", app.address))
            .form(&[("id", id.to_string().as_str()), ("email", kind)])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        assert_eq!(
            response.headers()["location"].to_str().unwrap(),
            format!("/admin/referrers/{id}?sent={kind}")
        );
    }
    assert_eq!(count(&app, "link_and_code").await, 1);
    assert_eq!(count(&app, "sign_in").await, 1);

    let page = app
        .get(&format!("/admin/referrers/{id}?sent=sign_in"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Email written"));
    assert!(
        page.contains("Sign in to your Spring referral portal"),
        "history"
    );

    // The "never emailed" filter no longer lists her.
    let list = app
        .get("/admin/referrers?campaign=spring&never_emailed=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("No referrers match."));

    // The Emails log: mail is not being sent here (no SMTP), and each email opens with both
    // parts; its HTML is shown in a sandboxed frame, never run.
    let log = app.get("/admin/emails").await.text().await.unwrap();
    assert!(log.contains("Mail is not being sent"));
    assert!(log.contains("jane@example.com"));
    let row = email::Entity::find()
        .filter(email::Column::Kind.eq("link_and_code"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let detail = app
        .get(&format!("/admin/emails/{}", row.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(detail.contains("sandbox=\"\""));
    assert!(detail.contains("Your code:"), "the text part");
    assert!(!detail.contains("<i>Jane</i>"), "escaped in the page");

    // A viewer sees the log but cannot send.
    let viewer = crate::helpers::spawn_sqlite_with(&[]).await;
    viewer
        .campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let ann = viewer.referrer("spring", "Ann", "ann@example.com").await;
    viewer.log_in_as("viewer@example.com", Role::Viewer).await;
    let refused = viewer
        .client
        .post(format!("{}/rpc/referrer_email", viewer.address))
        .header("Origin", &viewer.address)
        .form(&[
            ("id", ann["id"].as_i64().unwrap().to_string().as_str()),
            ("email", "sign_in"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        email::Entity::find().count(&viewer.db).await.unwrap(),
        0,
        "nothing written"
    );
}

/// A form post to a server function from `page`, as a browser without JavaScript sends it.
async fn post_from_page(
    app: &TestApp,
    page: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(format!("{}/rpc/{endpoint}", app.address))
        .header("Origin", &app.address)
        .header("Accept", "text/html")
        .header("Referer", format!("{}{page}", app.address))
        .form(form)
        .send()
        .await
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_template_editor_saves_previews_tests_and_resets_without_javascript() {
    let app = crate::helpers::spawn_sqlite_with(&[]).await;
    let campaign = app
        .campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let campaign_id = campaign["id"].as_i64().unwrap();
    app.log_in_as("owner@example.com", Role::Owner).await;
    let page = "/admin/campaigns/spring/emails";

    let html = app.get(page).await.text().await.unwrap();
    for label in [
        "Link and code",
        "Sign-in link",
        "New referral",
        "Referral qualified",
        "Referrals qualified by an import",
        "Reward issued",
        "Friend welcome",
    ] {
        assert!(html.contains(label), "{label}");
    }
    assert_eq!(html.matches("built-in text</span>").count(), 7);
    // Each preview is rendered on the server with sample data, in a frame that runs nothing.
    assert_eq!(html.matches("sandbox=\"\"").count(), 7);
    assert!(
        html.contains("3 of your referrals qualified"),
        "the import summary's preview counts"
    );
    assert!(html.contains("Your referral link and code for Spring"));
    assert!(html.contains("Hi Jane,"), "sample data fills the body");

    // Saving: the page again, with the new text, its preview and a way back.
    let saved = post_from_page(
        &app,
        page,
        "email_template_save",
        &[
            ("slug", "spring"),
            ("kind", "new_referral"),
            ("subject", "{friend_name} joined <b>{campaign}</b>"),
            ("body", "Good news, {first_name}."),
        ],
    )
    .await;
    assert!(saved.status().is_redirection(), "{}", saved.status());
    assert_eq!(location(&saved), format!("{page}?saved=new_referral"));
    let html = app
        .get(&format!("{page}?saved=new_referral"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Saved."));
    assert_eq!(html.matches("built-in text</span>").count(), 6);
    assert!(
        html.contains("Sam joined &lt;b&gt;Spring&lt;/b&gt;"),
        "the preview's subject, escaped"
    );
    assert!(html.contains("Back to the built-in text"));
    let kept = templates::effective(&app.state.db, campaign_id, EmailKind::NewReferral)
        .await
        .unwrap();
    assert_eq!(kept.subject, "{friend_name} joined <b>{campaign}</b>");
    assert!(!kept.auto_send, "the box was not ticked");

    // A placeholder that does not exist is refused with the list, and nothing changes.
    let refused = post_from_page(
        &app,
        page,
        "email_template_save",
        &[
            ("slug", "spring"),
            ("kind", "new_referral"),
            ("subject", "Hello {frist_name}"),
            ("body", "x"),
            ("auto_send", "on"),
        ],
    )
    .await;
    let back = location(&refused);
    assert!(back.contains("__err="), "{back}");
    let html = app
        .get(back.trim_start_matches(&app.address))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("{frist_name} is not a placeholder"),
        "shown on the page"
    );
    let kept = templates::effective(&app.state.db, campaign_id, EmailKind::NewReferral)
        .await
        .unwrap();
    assert_eq!(kept.subject, "{friend_name} joined <b>{campaign}</b>");

    // The test send goes to the admin, marked as a test.
    let tested = post_from_page(
        &app,
        page,
        "email_template_test",
        &[
            ("slug", "spring"),
            ("kind", "new_referral"),
            ("subject", "Try {first_name}"),
            ("body", "Body"),
        ],
    )
    .await;
    assert_eq!(location(&tested), format!("{page}?tested=new_referral"));
    let test = email::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(test.to_address, "owner@example.com");
    assert_eq!(test.subject, "[Test] Try Jane");

    let reset = post_from_page(
        &app,
        page,
        "email_template_reset",
        &[("slug", "spring"), ("kind", "new_referral")],
    )
    .await;
    assert_eq!(location(&reset), format!("{page}?reset=new_referral"));
    let html = app.get(page).await.text().await.unwrap();
    assert_eq!(html.matches("built-in text</span>").count(), 7);

    // A viewer reads the page but saves nothing; an unknown kind is refused.
    let bad_kind = post_from_page(
        &app,
        page,
        "email_template_save",
        &[
            ("slug", "spring"),
            ("kind", "newsletter"),
            ("subject", "s"),
            ("body", "b"),
        ],
    )
    .await;
    assert!(location(&bad_kind).contains("__err="));
    app.log_in_as("viewer@example.com", Role::Viewer).await;
    assert_eq!(app.get(page).await.status(), StatusCode::OK);
    let viewer = post_from_page(
        &app,
        page,
        "email_template_save",
        &[
            ("slug", "spring"),
            ("kind", "new_referral"),
            ("subject", "s"),
            ("body", "b"),
        ],
    )
    .await;
    assert!(location(&viewer).contains("__err="));
    let kept = templates::effective(&app.state.db, campaign_id, EmailKind::NewReferral)
        .await
        .unwrap();
    assert!(!kept.custom, "still the built-in text");
}
