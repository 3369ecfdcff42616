//! The referrer portal through real HTTP: joining, sign-in links (single use, expiry, other
//! campaigns, tampering), the rate limit, the signed-in page, and that one referrer never sees
//! another's data.

use app::ssr::{
    entities::{email, portal_token, referrer, reward},
    services::portal::tokens::{self, TokenPurpose},
};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, sea_query::Expr};
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_databases};

/// A portal session token for referrer `id`, as a signed-in browser would hold.
pub async fn session_for(app: &TestApp, id: i64) -> String {
    tokens::issue(
        &app.db,
        id,
        TokenPurpose::Session,
        tokens::SESSION_TTL,
        Utc::now(),
    )
    .await
    .expect("session")
}

/// A fresh sign-in link (path) for referrer `id`, as the API would make one.
async fn sign_in_link_for(app: &TestApp, id: i64) -> String {
    let campaign = referrer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .campaign_id;
    let slug = app::ssr::entities::campaign::Entity::find_by_id(campaign)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .slug;
    let token = tokens::issue(
        &app.db,
        id,
        TokenPurpose::ApiLink,
        Duration::minutes(15),
        Utc::now(),
    )
    .await
    .unwrap();
    format!("/p/{slug}/login/{token}")
}

/// The sign-in link in the newest email to `to`.
async fn sign_in_link(app: &TestApp, to: &str) -> String {
    let row = email::Entity::find()
        .filter(email::Column::ToAddress.eq(to))
        .order_by_desc(email::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("an email");
    let start = row.text_body.find("/p/").expect("a portal link");
    let rest = &row.text_body[start..];
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let path = &rest[..end];
    assert!(path.contains("/login/"), "{path}");
    path.to_owned()
}

async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.address))
        .header("Origin", &app.address)
        .header("Accept", "text/html")
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn a_referrer_joins_signs_in_by_email_and_sees_their_own_page(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let joined = post(
        &app,
        "/p/_rpc/join",
        &[
            ("slug", "spring"),
            ("name", "Jane Doe"),
            ("email", "jane@example.com"),
            ("consent", "on"),
        ],
    )
    .await;
    assert!(joined.status().is_redirection(), "{}", joined.status());
    assert_eq!(
        joined.headers()["location"].to_str().unwrap(),
        "/p/spring?notice=sent"
    );
    // Joining again with the same email signs in instead: still one referrer.
    post(
        &app,
        "/p/_rpc/join",
        &[
            ("slug", "spring"),
            ("name", "Jane"),
            ("email", "JANE@example.com"),
            ("consent", "on"),
        ],
    )
    .await;
    let referrers = referrer::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(referrers.len(), 1);
    let kinds: Vec<String> = email::Entity::find()
        .order_by_asc(email::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["link_and_code", "sign_in"]);

    let link = sign_in_link(&app, "jane@example.com").await;
    // Opening the link uses nothing (mail scanners open links); the button does.
    let shown = app.get(&link).await;
    assert_eq!(shown.status(), StatusCode::OK);
    assert!(shown.text().await.unwrap().contains("Jane Doe"));
    let used = post(&app, &link, &[]).await;
    assert_eq!(used.status(), StatusCode::SEE_OTHER);
    let cookie = used.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("handoff_portal="));
    assert!(cookie.contains("Path=/p") && cookie.contains("HttpOnly"));

    let page = app.get("/p/spring").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    let code = referrers[0].code.clone().unwrap();
    assert!(html.contains(&code), "the code");
    assert!(
        html.contains(&format!("/r/{}", referrers[0].slug)),
        "the link"
    );
    let qr = format!("<img src=\"/qr/{}.svg\"", referrers[0].slug);
    assert!(html.contains(&qr), "the QR code on the page: {qr}");
    assert!(html.contains("wa.me"), "share links");

    // Another site's form cannot use a link to sign its visitor in (login forgery).
    let forged_link = sign_in_link_for(&app, referrers[0].id).await;
    let forged = app
        .client
        .post(format!("{}{forged_link}", app.address))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.headers().get("set-cookie").is_none());

    // The link was used: a second use is refused and opens nothing.
    let again = post(&app, &link, &[]).await;
    assert_eq!(again.status(), StatusCode::GONE);
    assert!(again.headers().get("set-cookie").is_none());

    // Signing out ends the session in the database too.
    let out = post(&app, "/p/_rpc/sign_out", &[("slug", "spring")]).await;
    assert!(out.status().is_redirection());
    let live = portal_token::Entity::find()
        .filter(portal_token::Column::Purpose.eq("session"))
        .filter(portal_token::Column::UsedAt.is_null())
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(live, 0);
}

async fn expired_tampered_and_other_campaign_links_are_refused(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.campaign(json!({"name": "Autumn", "slug": "autumn"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let id = jane["id"].as_i64().unwrap();
    let token = tokens::issue(
        &app.db,
        id,
        TokenPurpose::EmailLink,
        tokens::SIGN_IN_TTL,
        Utc::now(),
    )
    .await
    .unwrap();
    // Another campaign's portal does not take Spring's link.
    let other = post(&app, &format!("/p/autumn/login/{token}"), &[]).await;
    assert_eq!(other.status(), StatusCode::GONE);
    // A changed character is another token.
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let forged = post(&app, &format!("/p/spring/login/{tampered}"), &[]).await;
    assert_eq!(forged.status(), StatusCode::GONE);
    // Expired.
    portal_token::Entity::update_many()
        .col_expr(
            portal_token::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::minutes(1)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let expired = post(&app, &format!("/p/spring/login/{token}"), &[]).await;
    assert_eq!(expired.status(), StatusCode::GONE);
    assert!(expired.headers().get("set-cookie").is_none());
    // None of these used the token up.
    let used = portal_token::Entity::find()
        .filter(portal_token::Column::UsedAt.is_not_null())
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(used, 0);
}

async fn a_referrer_sees_only_their_own_page(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.campaign(json!({"name": "Autumn", "slug": "autumn"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let john = app.referrer("spring", "John", "john@example.com").await;
    let anna = app.referrer("autumn", "Anna", "anna@example.com").await;
    let session = session_for(&app, jane["id"].as_i64().unwrap()).await;
    let as_jane = |path: &str| {
        app.client
            .get(format!("{}{path}", app.address))
            .header("Cookie", format!("handoff_portal={session}"))
            .send()
    };
    let html = as_jane("/p/spring").await.unwrap().text().await.unwrap();
    assert!(html.contains(jane["code"].as_str().unwrap()));
    assert!(!html.contains(john["code"].as_str().unwrap()));
    // Jane's session opens nothing in another campaign: its entrance, not Anna's page.
    let html = as_jane("/p/autumn").await.unwrap().text().await.unwrap();
    assert!(!html.contains(anna["code"].as_str().unwrap()));
    assert!(!html.contains(jane["code"].as_str().unwrap()));
    assert!(html.contains("Email me a sign-in link"));
    // The server function takes the referrer from the session, never from the body.
    let rpc = app
        .client
        .post(format!("{}/p/_rpc/home", app.address))
        .header("Origin", &app.address)
        .form(&[("slug", "autumn")])
        .send()
        .await
        .unwrap();
    let body: Value = rpc.json().await.unwrap();
    assert_eq!(body["branding"]["slug"], "autumn", "{body}");
    assert!(
        body["home"].is_null(),
        "nobody signed in: no referrer's page, {body}"
    );
}

async fn sign_in_requests_answer_the_same_and_are_rate_limited(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.referrer("spring", "Jane", "jane@example.com").await;
    let app = &app;
    let ask = |email: &'static str| async move {
        app.client
            .post(format!("{}/p/_rpc/sign_in", app.address))
            .header("Origin", &app.address)
            .form(&[("slug", "spring"), ("email", email)])
            .send()
            .await
            .unwrap()
    };
    let known = ask("jane@example.com").await;
    let unknown = ask("nobody@example.com").await;
    assert_eq!(known.status(), StatusCode::OK);
    assert_eq!(unknown.status(), StatusCode::OK);
    assert_eq!(
        known.text().await.unwrap(),
        unknown.text().await.unwrap(),
        "the same answer whether or not the email takes part"
    );
    // Five per email in a quarter of an hour, then refused.
    for _ in 0..4 {
        assert_eq!(ask("jane@example.com").await.status(), StatusCode::OK);
    }
    assert_eq!(
        ask("jane@example.com").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let sign_ins = email::Entity::find()
        .filter(email::Column::Kind.eq("sign_in"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(sign_ins, 5, "the refused request sent nothing");
}

/// The number after `<dt>{label}</dt>` on the referrer's page.
fn stat(html: &str, label: &str) -> i64 {
    let after = html
        .split_once(&format!("<dt>{label}</dt><dd>"))
        .unwrap_or_else(|| panic!("no {label} on the page"))
        .1;
    after[..after.find('<').unwrap()].parse().unwrap()
}

async fn the_referrers_page_counts_and_pages_friends_and_rewards(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let john = app.referrer("spring", "John", "john@example.com").await;
    let code = jane["code"].as_str().unwrap();
    // 12 purchases (qualified, a reward each) and 25 sign-ups (pending) through Jane's code,
    // and one of John's, which Jane never sees or counts.
    for i in 0..12 {
        let response = app
            .post_api(
                "/api/v1/conversions",
                &json!({"campaign": "spring", "event_id": format!("order-{i}"), "event": "purchase",
                    "referral_code": code, "email": format!("buyer{i}@example.org"),
                    "amount": 4900, "currency": "USD"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    for i in 0..25 {
        let response = app
            .post_api(
                "/api/v1/leads",
                &json!({"campaign": "spring", "email": format!("friend{i}@example.org"),
                    "referral_code": code}),
            )
            .await;
        assert!(response.status().is_success());
    }
    let response = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": "spring", "email": "other@example.org",
                "referral_code": john["code"]}),
        )
        .await;
    assert!(response.status().is_success());
    // Two clicks on Jane's link and one on John's, all written before the page is read.
    for link in [&jane["link"], &jane["link"], &john["link"]] {
        let path = link.as_str().unwrap().trim_start_matches(&app.address);
        assert_eq!(app.get(path).await.status(), StatusCode::FOUND);
    }
    assert_eq!(crate::helpers::clicks_in_db(&app, 3).await, 3);

    // The newest reward waits out a refund window, the one before was cancelled: the page
    // says why each is not paid yet.
    let newest: Vec<i64> = reward::Entity::find()
        .order_by_desc(reward::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .take(2)
        .collect();
    let due = chrono::NaiveDate::from_ymd_opt(2030, 1, 2)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc();
    for (id, status, due_at, reason) in [
        (newest[0], "pending", Some(due), None),
        (newest[1], "cancelled", None, Some("Refunded order")),
    ] {
        reward::Entity::update_many()
            .col_expr(reward::Column::Status, Expr::value(status))
            .col_expr(reward::Column::DueAt, Expr::value(due_at))
            .col_expr(reward::Column::CancelReason, Expr::value(reason))
            .filter(reward::Column::Id.eq(id))
            .exec(&app.db)
            .await
            .unwrap();
    }

    let session = session_for(&app, jane["id"].as_i64().unwrap()).await;
    let page = |path: String| {
        let request = app
            .client
            .get(format!("{}{path}", app.address))
            .header("Cookie", format!("handoff_portal={session}"))
            .send();
        async move { request.await.unwrap().text().await.unwrap() }
    };
    let first = page("/p/spring".to_owned()).await;
    assert_eq!(stat(&first, "Friends"), 37);
    assert_eq!(stat(&first, "Qualified"), 12);
    assert_eq!(stat(&first, "Clicks"), 2, "Jane's clicks, not John's");
    let reward_rows = |html: &str| {
        html.matches("<td data-label=\"Reward\">Thank-you reward</td>")
            .count()
    };
    let lead_rows = |html: &str| html.matches("***@example.org</td>").count();
    assert_eq!(reward_rows(&first), 10, "the newest 10 rewards");
    assert!(
        first.contains(
            "<td data-label=\"Status\">pending</td><td data-label=\"Note\">On hold until 2030-01-02 (the refund window).</td>"
        )
    );
    assert!(first.contains(
        "<td data-label=\"Status\">cancelled</td><td data-label=\"Note\">Refunded order</td>"
    ));
    assert_eq!(lead_rows(&first), 20, "the newest 20 friends");
    assert!(
        !first.contains("o***@example.org"),
        "John's friend is not Jane's"
    );
    // Each list pages on its own and keeps the other's page.
    let older_rewards = "/p/spring?page=1&amp;rewards=2#rewards-heading";
    let older_leads = "/p/spring?page=2&amp;rewards=1#stats-heading";
    assert!(first.contains(older_rewards), "an Older link for rewards");
    assert!(first.contains(older_leads), "an Older link for friends");
    let second = page("/p/spring?page=2&rewards=2".to_owned()).await;
    assert_eq!(reward_rows(&second), 2);
    assert_eq!(lead_rows(&second), 17);
    assert!(second.contains("/p/spring?page=1&amp;rewards=2#stats-heading"));
    assert!(second.contains("/p/spring?page=2&amp;rewards=1#rewards-heading"));
    assert!(!second.contains("rewards=3"), "no page after the last");
    // Past the end: empty lists, no error.
    let beyond = page("/p/spring?page=9&rewards=9".to_owned()).await;
    assert_eq!(reward_rows(&beyond), 0);
    assert_eq!(lead_rows(&beyond), 0);
}

on_both_databases!(
    a_referrer_joins_signs_in_by_email_and_sees_their_own_page,
    expired_tampered_and_other_campaign_links_are_refused,
    a_referrer_sees_only_their_own_page,
    sign_in_requests_answer_the_same_and_are_rate_limited,
    the_referrers_page_counts_and_pages_friends_and_rewards,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_portal_link_points_to_the_portal_entrance() {
    let app = crate::helpers::spawn_sqlite_with(&[]).await;
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let slug = jane["link"].as_str().unwrap().rsplit('/').next().unwrap();
    let old = app
        .get(&format!("/p/{slug}/0123456789abcdef01234567"))
        .await;
    assert_eq!(old.status(), StatusCode::GONE);
    let html = old.text().await.unwrap();
    assert!(html.contains(&format!("{}/p/spring", app.address)));
    assert!(!html.contains(jane["code"].as_str().unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_settings_brand_the_entrance_and_decide_who_may_frame_it() {
    let app = crate::helpers::spawn_sqlite_with(&[]).await;
    app.campaign(json!({"name": "Spring", "slug": "spring", "brand_color": "#fde047"}))
        .await;
    let entrance = app.get("/p/spring").await;
    assert_eq!(
        entrance.headers()["content-security-policy"],
        "frame-ancestors 'none'",
        "not framable by default"
    );
    app.log_in_as("owner@example.com", app::domain::roles::Role::Owner)
        .await;
    let save = |fields: Vec<(&'static str, &'static str)>| {
        let mut form = vec![("slug", "spring")];
        form.extend(fields);
        app.client
            .post(format!("{}/rpc/portal_settings_save", app.address))
            .header("Origin", &app.address)
            .form(&form)
            .send()
    };
    let refused = save(vec![
        ("settings[headline]", "Changed"),
        ("settings[frame_ancestors]", "https://shop.example.com/path"),
    ])
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = app.get("/p/spring").await.text().await.unwrap();
    assert!(!html.contains("Changed"), "a bad field changes nothing");

    let saved = save(vec![
        (
            "settings[headline]",
            "<script>alert(1)</script> Give $10, get $10",
        ),
        ("settings[reward_text]", "You both get $10."),
        ("settings[terms_url]", "https://shop.example.com/terms"),
        ("settings[frame_ancestors]", "https://shop.example.com"),
    ])
    .await
    .unwrap();
    assert!(saved.status().is_success(), "{}", saved.status());
    let entrance = app.get("/p/spring").await;
    assert_eq!(
        entrance.headers()["content-security-policy"],
        "frame-ancestors https://shop.example.com"
    );
    let html = entrance.text().await.unwrap();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; Give $10, get $10"));
    assert!(html.contains("You both get $10."));
    assert!(html.contains("https://shop.example.com/terms"));
    // The sign-up box was not ticked: the portal takes no new referrers, only sign-ins.
    assert!(!html.contains("Join and get my link"));
    let join = post(
        &app,
        "/p/_rpc/join",
        &[
            ("slug", "spring"),
            ("name", "J"),
            ("email", "j@example.com"),
            ("consent", "on"),
        ],
    )
    .await;
    assert!(!join.status().is_success());
    assert_eq!(referrer::Entity::find().count(&app.db).await.unwrap(), 0);
}

async fn with_the_link_and_code_email_off_a_new_referrer_gets_a_sign_in_link(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app::ssr::services::emails::templates::save(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        "spring",
        app::domain::emails::EmailKind::LinkAndCode,
        "Your link for {campaign}",
        "{referral_link}",
        false,
    )
    .await
    .unwrap();
    // Added by the API with the welcome asked for: the campaign's choice wins, nothing is sent.
    let added = app
        .post_api(
            "/api/v1/referrers",
            &json!({"campaign": "spring", "name": "Ann", "email": "ann@example.com",
                "send_welcome_email": true}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    assert_eq!(email::Entity::find().count(&app.db).await.unwrap(), 0);
    // Joining on the portal still lets the referrer in: a sign-in link, not the link and code.
    let joined = post(
        &app,
        "/p/_rpc/join",
        &[
            ("slug", "spring"),
            ("name", "Jane Doe"),
            ("email", "jane@example.com"),
            ("consent", "on"),
        ],
    )
    .await;
    assert_eq!(
        joined.headers()["location"].to_str().unwrap(),
        "/p/spring?notice=sent"
    );
    let kinds: Vec<String> = email::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["sign_in"]);
    assert!(
        sign_in_link(&app, "jane@example.com")
            .await
            .starts_with("/p/spring/login/")
    );
}

on_both_databases!(with_the_link_and_code_email_off_a_new_referrer_gets_a_sign_in_link);

/// A campaign that lets the business's own site frame its portal signs a referrer in inside the
/// frame: on https its session cookie is `SameSite=None; Secure; Partitioned` (a Lax cookie is
/// not sent in a cross-site frame), and the sign-in page may be framed like the portal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_framable_portal_signs_in_inside_the_frame() {
    use app::ssr::entities::campaign;
    let app =
        crate::helpers::spawn_sqlite_with(&[("HANDOFF_PUBLIC_URL", "https://refer.example.test")])
            .await;
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.campaign(json!({"name": "Autumn", "slug": "autumn"}))
        .await;
    campaign::Entity::update_many()
        .col_expr(
            campaign::Column::FrameAncestors,
            Expr::value("https://shop.example.com"),
        )
        .filter(campaign::Column::Slug.eq("spring"))
        .exec(&app.db)
        .await
        .unwrap();
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let anna = app.referrer("autumn", "Anna", "anna@example.com").await;

    for (slug, referrer, policy, scope) in [
        (
            "spring",
            &jane,
            "frame-ancestors https://shop.example.com",
            "SameSite=None; Secure; Partitioned",
        ),
        (
            "autumn",
            &anna,
            "frame-ancestors 'none'",
            "SameSite=Lax; Secure",
        ),
    ] {
        let token = tokens::issue(
            &app.db,
            referrer["id"].as_i64().unwrap(),
            TokenPurpose::ApiLink,
            Duration::minutes(15),
            Utc::now(),
        )
        .await
        .unwrap();
        let path = format!("/p/{slug}/login/{token}");
        let shown = app.get(&path).await;
        assert_eq!(shown.status(), StatusCode::OK);
        assert_eq!(shown.headers()["content-security-policy"], policy, "{slug}");
        let used = post(&app, &path, &[]).await;
        assert_eq!(used.status(), StatusCode::SEE_OTHER);
        assert_eq!(used.headers()["content-security-policy"], policy, "{slug}");
        let cookie = used.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.starts_with("handoff_portal="), "{cookie}");
        assert!(cookie.ends_with(scope), "{slug}: {cookie}");
        assert!(cookie.contains("Path=/p; HttpOnly"), "{cookie}");
    }

    // Signing out removes either kind.
    let out = post(&app, "/p/_rpc/sign_out", &[("slug", "spring")]).await;
    let removals: Vec<&str> = out
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with("handoff_portal=;"))
        .collect();
    assert_eq!(removals.len(), 2, "{removals:?}");
    assert!(removals.iter().all(|c| c.contains("Max-Age=0")));
    assert!(removals.iter().any(|c| c.ends_with("Partitioned")));
    assert!(removals.iter().any(|c| c.ends_with("SameSite=Lax; Secure")));
}

/// SQLite keeps one plan per statement (`SQLITE_ENABLE_QPSG`, set in `.cargo/config.toml`):
/// without it, every statement with a bound LIMIT is parsed and planned again on each run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_plans_each_statement_once() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let app = crate::helpers::spawn_sqlite_with(&[]).await;
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT sqlite_compileoption_used('ENABLE_QPSG')",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get_by_index::<i64>(0).unwrap(),
        1,
        "SQLite was built without SQLITE_ENABLE_QPSG (LIBSQLITE3_FLAGS in .cargo/config.toml)"
    );
}

/// A page that fails inside is a 500 with a generic message, never a 200 or the database's
/// words (here the rewards table is gone from under the server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_page_is_a_500_that_says_nothing_of_the_cause() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let app = crate::helpers::spawn_sqlite_with(&[]).await;
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let session = session_for(&app, jane["id"].as_i64().unwrap()).await;
    let page = || {
        app.client
            .get(format!("{}/p/spring", app.address))
            .header("Cookie", format!("handoff_portal={session}"))
            .send()
    };
    assert_eq!(page().await.unwrap().status(), StatusCode::OK);
    app.db
        .execute_raw(Statement::from_string(
            DbBackend::Sqlite,
            "ALTER TABLE rewards RENAME TO rewards_gone",
        ))
        .await
        .unwrap();
    let failed = page().await.unwrap();
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let html = failed.text().await.unwrap();
    assert!(!html.contains(jane["code"].as_str().unwrap()));
    assert!(!html.contains("rewards"), "no database detail: {html}");
    assert!(html.contains("went wrong"), "a generic message: {html}");
}
