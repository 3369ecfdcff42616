//! The referrer portal through real HTTP: joining, sign-in links (single use, expiry, other
//! campaigns, tampering), the rate limit, the signed-in page, and that one referrer never sees
//! another's data.

use app::ssr::{
    entities::{email, portal_token, referrer},
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
    assert!(html.contains("<svg"), "the QR code inline");
    assert!(html.contains("wa.me"), "share links");

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
    let body: Value = rpc.json().await.unwrap_or(Value::Null);
    assert!(body.is_null(), "nobody signed in: nothing, {body}");
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

on_both_databases!(
    a_referrer_joins_signs_in_by_email_and_sees_their_own_page,
    expired_tampered_and_other_campaign_links_are_refused,
    a_referrer_sees_only_their_own_page,
    sign_in_requests_answer_the_same_and_are_rate_limited,
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
