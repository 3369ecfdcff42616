use app::{
    domain::roles::Role,
    ssr::{
        entities::session,
        services::{admins, secrets::sha256_hex},
        session_store::ABSOLUTE_LIFETIME,
    },
};
use chrono::Utc;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};

use crate::{helpers::TestApp, on_both_databases};

const PASSWORD: &str = "correct horse battery staple";

async fn log_in(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_form("/rpc/login", &[("email", email), ("password", PASSWORD)])
        .await
}

async fn the_one_time_setup_link_creates_the_owner_once(app: TestApp) {
    // Application::build issued a token and logged it; issue a fresh one to know its value.
    let token = admins::issue_setup_token(&app.db)
        .await
        .unwrap()
        .expect("no admin yet");
    let page = app
        .get(&format!("/admin/setup?token={token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Create owner account"));
    let done = app
        .post_form(
            "/rpc/setup",
            &[
                ("token", &token),
                ("email", "owner@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status(), StatusCode::FOUND);
    assert_eq!(done.headers()["location"], "/admin");
    let dashboard = app.get("/admin").await.text().await.unwrap();
    assert!(dashboard.contains("owner@example.com (owner)"));

    let reuse = app
        .get(&format!("/admin/setup?token={token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(reuse.contains("invalid, expired or already used"));
    assert!(
        admins::issue_setup_token(&app.db).await.unwrap().is_none(),
        "no setup once an admin exists"
    );
}

async fn login_cycles_the_session_and_keeps_it_in_the_database(app: TestApp) {
    admins::create(&app.db, "admin@example.com", PASSWORD, Role::Admin)
        .await
        .unwrap();
    let anonymous = app.get("/admin/campaigns").await;
    assert_eq!(anonymous.status(), StatusCode::FOUND, "redirected to login");
    assert_eq!(anonymous.headers()["location"], "/admin/login");

    let wrong = app
        .post_form(
            "/rpc/login",
            &[
                ("email", "admin@example.com"),
                ("password", "wrong password!"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FOUND);
    assert!(
        wrong.headers()["location"]
            .to_str()
            .unwrap()
            .contains("__err="),
        "error travels back to the form"
    );

    let ok = log_in(&app, "admin@example.com").await;
    assert_eq!(ok.headers()["location"], "/admin");
    let cookie = ok.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "plain http public URL");
    assert!(
        session::Entity::find().count(&app.db).await.unwrap() >= 1,
        "session stored in the database"
    );
    assert_eq!(app.get("/admin/campaigns").await.status(), StatusCode::OK);
    // Stored under the id's hash: the database holds no id a reader could put in a cookie.
    let id = cookie
        .strip_prefix("handoff_session=")
        .and_then(|rest| rest.split(';').next())
        .expect("the session cookie")
        .to_owned();
    assert!(
        session::Entity::find_by_id(id.clone())
            .one(&app.db)
            .await
            .unwrap()
            .is_none(),
        "no row under the plain id"
    );
    let row = session::Entity::find_by_id(sha256_hex(&id))
        .one(&app.db)
        .await
        .unwrap()
        .expect("a row under the id's hash");
    // However much it is used, a session ends its absolute lifetime after it began.
    session::Entity::update_many()
        .col_expr(
            session::Column::CreatedAt,
            Expr::value(Utc::now() - ABSOLUTE_LIFETIME - chrono::Duration::minutes(1)),
        )
        .filter(session::Column::Id.eq(row.id))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(
        app.get("/admin/campaigns").await.status(),
        StatusCode::FOUND,
        "signed out after the absolute lifetime"
    );
    log_in(&app, "admin@example.com").await;
    assert_eq!(app.get("/admin/campaigns").await.status(), StatusCode::OK);

    let out = app.post_form("/rpc/logout", &[]).await;
    assert_eq!(out.headers()["location"], "/admin/login");
    assert_eq!(
        app.get("/admin/campaigns").await.status(),
        StatusCode::FOUND
    );
}

async fn cross_site_posts_to_the_admin_are_refused(app: TestApp) {
    admins::create(&app.db, "admin@example.com", PASSWORD, Role::Admin)
        .await
        .unwrap();
    log_in(&app, "admin@example.com").await;
    let forged = app
        .client
        .post(format!("{}/rpc/campaign_create", app.address))
        .header("Origin", "https://evil.example")
        .header("Accept", "text/html")
        .form(&[("name", "Forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // The server's own address under another scheme is another origin too.
    let other_scheme = app.address.replacen("http://", "https://", 1);
    let forged = app
        .client
        .post(format!("{}/rpc/campaign_create", app.address))
        .header("Origin", other_scheme)
        .header("Accept", "text/html")
        .form(&[("name", "Forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "scheme compared");
    let list = app::ssr::services::campaigns::list(&app.db).await.unwrap();
    assert!(list.is_empty());
    let same_site = app
        .post_form("/rpc/campaign_create", &[("name", "Real")])
        .await;
    assert_eq!(same_site.status(), StatusCode::FOUND);
    assert_eq!(
        app::ssr::services::campaigns::list(&app.db)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn a_viewer_can_read_but_not_change_anything(app: TestApp) {
    admins::create(&app.db, "viewer@example.com", PASSWORD, Role::Viewer)
        .await
        .unwrap();
    log_in(&app, "viewer@example.com").await;
    assert_eq!(app.get("/admin/leads").await.status(), StatusCode::OK);
    let attempt = app
        .post_form("/rpc/campaign_create", &[("name", "Nope")])
        .await;
    // Without JavaScript a failed post goes back to its page with the error, as before.
    assert_eq!(attempt.status(), StatusCode::FOUND);
    assert!(
        attempt.headers()["location"]
            .to_str()
            .unwrap()
            .contains("__err=")
    );
    assert!(
        app::ssr::services::campaigns::list(&app.db)
            .await
            .unwrap()
            .is_empty()
    );
    let keys = app
        .client
        .post(format!("{}/rpc/api_key_create", app.address))
        .header("Origin", &app.address)
        .form(&[("name", "sneaky")])
        .send()
        .await
        .unwrap();
    // A server function's error answers with the status it deserves, not 500 (`rpc_status`).
    assert_eq!(keys.status(), StatusCode::FORBIDDEN);
    let body = keys.text().await.unwrap();
    assert!(body.contains("\"forbidden\""), "{body}");
    assert!(
        app::ssr::services::api_keys::list(&app.db)
            .await
            .unwrap()
            .iter()
            .all(|k| k.name != "sneaky")
    );
}

async fn an_admin_creates_a_key_with_the_access_chosen(app: TestApp) {
    app.log_in_as("admin@example.com", Role::Admin).await;
    let created = app
        .post_form(
            "/rpc/api_key_create",
            &[("name", "Dashboard"), ("access", "read")],
        )
        .await;
    assert_eq!(created.status(), StatusCode::FOUND);
    let refused = app
        .client
        .post(format!("{}/rpc/api_key_create", app.address))
        .header("Origin", &app.address)
        .form(&[("name", "Root"), ("access", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.unwrap();
    assert!(body.contains("invalid_access"), "{body}");
    let keys = app::ssr::services::api_keys::list(&app.db).await.unwrap();
    let names: Vec<(&str, app::domain::api_access::ApiAccess)> =
        keys.iter().map(|k| (k.name.as_str(), k.access)).collect();
    assert!(
        names.contains(&("Dashboard", app::domain::api_access::ApiAccess::ReadOnly)),
        "{names:?}"
    );
    assert!(names.iter().all(|(n, _)| *n != "Root"), "{names:?}");
    let page = app.get("/admin/api-keys").await.text().await.unwrap();
    assert!(
        page.contains("<td data-label=\"Access\">Read only</td>"),
        "the list shows the access"
    );
    assert!(
        page.contains("Record conversions only"),
        "the form offers the levels"
    );
}

async fn the_admin_tabs_show_referrers_and_leads_with_their_attribution(app: TestApp) {
    admins::create(&app.db, "admin@example.com", PASSWORD, Role::Admin)
        .await
        .unwrap();
    log_in(&app, "admin@example.com").await;
    // Posted from the page, as a browser without JavaScript posts the form.
    let from_page = |path: &str, page: &str, form: &[(&str, &str)]| {
        app.client
            .post(format!("{}{path}", app.address))
            .header("Origin", &app.address)
            .header("Accept", "text/html")
            .header("Referer", format!("{}{page}", app.address))
            .form(form)
            .send()
    };
    let created = from_page(
        "/rpc/campaign_create",
        "/admin/campaigns",
        &[
            ("name", "Spring"),
            ("codes_enabled", "on"),
            ("code_style", "name_based"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::FOUND);
    let back = created.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        back, "/admin/campaigns?created=spring",
        "back with what was made"
    );
    let campaigns = app.get(&back).await.text().await.unwrap();
    assert!(campaigns.contains("href=\"/admin/campaigns/spring\""));
    assert!(
        campaigns.contains("Created <a"),
        "the page says what was created"
    );
    let added = from_page(
        "/rpc/referrer_add",
        "/admin/referrers?campaign=spring",
        &[
            ("campaign", "spring"),
            ("name", "Jane Doe"),
            ("email", "jane@example.com"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(added.status(), StatusCode::FOUND);
    let back = added.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        back.starts_with("/admin/referrers?campaign=spring&added="),
        "{back}"
    );
    let page = app.get(&back).await.text().await.unwrap();
    assert!(
        page.contains("Added <a href=\"/admin/referrers/"),
        "the page says who was added"
    );
    let referrers = app
        .get("/admin/referrers?campaign=spring")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        referrers.contains("Jane Doe") && referrers.contains(&format!("{}/r/jane-", app.address))
    );
    let jane = app::ssr::services::referrers::list(&app.state, &Default::default())
        .await
        .unwrap()
        .items
        .remove(0);
    let code = jane.referrer.code.clone().unwrap();
    assert!(code.starts_with("JANE-"));
    app.hosted_sign_up(
        "/f/spring",
        &[
            ("name", "Friend"),
            ("email", "friend@example.com"),
            ("referral_code", &code),
        ],
    )
    .await;
    let leads = app
        .get("/admin/leads?status=pending")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        leads.contains("friend@example.com")
            && leads.contains("Jane Doe")
            && leads.contains(">code<")
    );
    let searched = app
        .get(&format!("/admin/referrers?q={}", code.to_lowercase()))
        .await
        .text()
        .await
        .unwrap();
    assert!(searched.contains("Jane Doe"));
    let none = app
        .get("/admin/referrers?q=nobody-matches")
        .await
        .text()
        .await
        .unwrap();
    assert!(none.contains("No referrers match."));
}

async fn a_setup_token_makes_one_owner_however_many_use_it_at_once(app: TestApp) {
    let token = admins::issue_setup_token(&app.db)
        .await
        .unwrap()
        .expect("no admin yet");
    // A wrong token is refused without waiting for the writer (held here by another write).
    {
        let _writer = app::ssr::db::begin_write(&app.db).await.unwrap();
        let refused = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            admins::complete_setup(&app.db, "not-the-token", "x@example.com", PASSWORD),
        )
        .await
        .expect("refused without the write lock");
        assert!(refused.is_err());
    }
    let attempts = (0..6).map(|i| {
        let db = app.db.clone();
        let token = token.clone();
        tokio::spawn(async move {
            admins::complete_setup(&db, &token, &format!("owner{i}@example.com"), PASSWORD).await
        })
    });
    let results = futures_util::future::join_all(attempts).await;
    let made = results
        .iter()
        .filter(|r| r.as_ref().unwrap().is_ok())
        .count();
    assert_eq!(made, 1, "{results:?}");
    assert_eq!(
        app::ssr::entities::admin::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
}

on_both_databases!(
    a_setup_token_makes_one_owner_however_many_use_it_at_once,
    the_one_time_setup_link_creates_the_owner_once,
    login_cycles_the_session_and_keeps_it_in_the_database,
    cross_site_posts_to_the_admin_are_refused,
    a_viewer_can_read_but_not_change_anything,
    an_admin_creates_a_key_with_the_access_chosen,
    the_admin_tabs_show_referrers_and_leads_with_their_attribution,
);

async fn repeated_wrong_passwords_are_throttled(app: TestApp) {
    admins::create(&app.db, "admin@example.com", PASSWORD, Role::Admin)
        .await
        .unwrap();
    for _ in 0..app::ssr::services::throttle::MAX_FAILURES {
        app.post_form(
            "/rpc/login",
            &[
                ("email", "admin@example.com"),
                ("password", "wrong password!"),
            ],
        )
        .await;
    }
    let right_but_throttled = log_in(&app, "admin@example.com").await;
    let location = right_but_throttled.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(location.contains("__err="), "{location}");
    assert_eq!(
        app.get("/admin/campaigns").await.status(),
        StatusCode::FOUND,
        "still logged out"
    );
}

on_both_databases!(repeated_wrong_passwords_are_throttled);

/// A post to a server function as the app's own script sends it (it asks for JSON).
async fn post_as_script(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.address))
        .header("Origin", &app.address)
        .header("Accept", "application/json")
        .form(form)
        .send()
        .await
        .expect("request")
}

async fn a_script_gets_each_server_function_error_with_its_status(app: TestApp) {
    let anonymous = post_as_script(&app, "/rpc/campaign_create", &[("name", "Spring")]).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body = anonymous.text().await.unwrap();
    assert!(body.contains("\"unauthenticated\""), "{body}");

    // A request the server function layer cannot read (no password at all) is the caller's
    // fault too.
    let unreadable = post_as_script(&app, "/rpc/login", &[("email", "a@example.com")]).await;
    assert_eq!(unreadable.status(), StatusCode::BAD_REQUEST);
    let body = unreadable.text().await.unwrap();
    assert!(body.contains("\"transport\""), "{body}");

    admins::create(&app.db, "admin@example.com", PASSWORD, Role::Admin)
        .await
        .unwrap();
    let wrong = [
        ("email", "admin@example.com"),
        ("password", "wrong password!"),
    ];
    let refused = post_as_script(&app, "/rpc/login", &wrong).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.unwrap();
    assert!(body.contains("wrong_credentials"), "{body}");
    for _ in 1..app::ssr::services::throttle::MAX_FAILURES {
        post_as_script(&app, "/rpc/login", &wrong).await;
    }
    let throttled = post_as_script(
        &app,
        "/rpc/login",
        &[("email", "admin@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = throttled.text().await.unwrap();
    assert!(body.contains("\"rate_limited\""), "{body}");
}

on_both_databases!(a_script_gets_each_server_function_error_with_its_status);

async fn without_javascript_a_new_api_key_is_shown_once_after_the_redirect(app: TestApp) {
    admins::create(&app.db, "admin@example.com", PASSWORD, Role::Admin)
        .await
        .unwrap();
    log_in(&app, "admin@example.com").await;
    let created = app
        .post_form("/rpc/api_key_create", &[("name", "Checkout")])
        .await;
    assert_eq!(created.status(), StatusCode::FOUND);
    let page = app.get("/admin/api-keys").await.text().await.unwrap();
    let shown = page
        .split("<code>")
        .nth(1)
        .map(|rest| rest.split('<').next().unwrap_or_default().to_owned());
    let key = shown
        .filter(|k| k.starts_with("hk_"))
        .expect("the new key is on the page");
    let works = app
        .client
        .get(format!("{}/api/v1/campaigns", app.address))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        works.status(),
        StatusCode::OK,
        "the key shown is the key that works"
    );
    let again = app.get("/admin/api-keys").await.text().await.unwrap();
    assert!(!again.contains(&key), "shown once only");
}

on_both_databases!(without_javascript_a_new_api_key_is_shown_once_after_the_redirect);

/// Many clients at once, each with a wrong password: past the hashing slots and their short
/// queue the answer is an immediate 429 with `Retry-After`, never a 5xx, and the server goes on.
/// One client guessing on its own is stopped by its own limit first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_is_refused_with_429_and_retry_after() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Backend::Sqlite,
        &[("HANDOFF_TRUSTED_PROXIES", "127.0.0.1")],
    )
    .await
    .unwrap();
    admins::create(&app.db, "owner@example.com", PASSWORD, Role::Owner)
        .await
        .unwrap();
    let url = format!("{}/rpc/login", app.address);
    let origin = app.address.clone();
    let attempts = (0..120).map(|i| {
        let (client, url, origin) = (app.client.clone(), url.clone(), origin.clone());
        async move {
            let response = client
                .post(&url)
                .header("Origin", origin)
                .header("Accept", "application/json")
                // A different address each: only the hashing gate can refuse them.
                .header(
                    "X-Forwarded-For",
                    format!("10.1.{}.{}", i / 200, i % 200 + 1),
                )
                .form(&[
                    ("email", format!("nobody{i}@example.com")),
                    ("password", "wrong password!".to_owned()),
                ])
                .send()
                .await
                .unwrap();
            let retry = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (response.status(), retry)
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let refused: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(
        !refused.is_empty(),
        "some of 120 at once are refused: {answers:?}"
    );
    assert!(
        refused
            .iter()
            .all(|(_, retry)| retry.as_deref() == Some("60")),
        "{refused:?}"
    );
    assert!(
        answers
            .iter()
            .all(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS
                || *status == StatusCode::UNPROCESSABLE_ENTITY),
        "only 422 and 429: {answers:?}"
    );
    // The owner still gets in once the burst is over.
    let owner = app
        .post_form(
            "/rpc/login",
            &[("email", "owner@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert!(
        owner.status().is_redirection() || owner.status().is_success(),
        "{}",
        owner.status()
    );

    // One client guessing many emails: its own limit, not the emails', stops it.
    let guess = |i: u32| {
        let (client, url, origin) = (app.client.clone(), url.clone(), origin.clone());
        async move {
            client
                .post(&url)
                .header("Origin", origin)
                .header("Accept", "application/json")
                .header("X-Forwarded-For", "10.9.9.9")
                .form(&[
                    ("email", format!("guess{i}@example.com")),
                    ("password", "wrong password!".to_owned()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for i in 0..app::ssr::state::LOGINS_PER_CLIENT {
        assert_eq!(
            guess(i).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "guess {i}"
        );
    }
    assert_eq!(guess(1000).await, StatusCode::TOO_MANY_REQUESTS);
}

/// The sources a Content-Security-Policy lists for one directive (empty when it is absent).
fn directive<'a>(policy: &'a str, name: &str) -> Vec<&'a str> {
    policy
        .split(';')
        .map(|part| part.split_whitespace().collect::<Vec<_>>())
        .find(|words| words.first() == Some(&name))
        .map(|words| words[1..].to_vec())
        .unwrap_or_default()
}

/// Every HTML page says what may run on it: the Leptos pages allow inline scripts only with
/// this response's nonce (and every inline script carries it), the plain pages allow none; none
/// is stored by a cache; HSTS is sent only when Handoff is served over HTTPS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_pages_carry_a_content_policy_with_their_nonce_and_are_not_cached() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    app.campaign(serde_json::json!({"name": "Spring", "slug": "spring"}))
        .await;
    let page = app.get("/admin/login").await;
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.headers().get("strict-transport-security").is_none());
    let scripts_allowed = directive(&csp, "script-src");
    let nonce = scripts_allowed
        .iter()
        .find_map(|source| source.strip_prefix("'nonce-")?.strip_suffix('\''))
        .expect("a nonce in script-src")
        .to_owned();
    assert!(
        !scripts_allowed.contains(&"'unsafe-inline'"),
        "inline scripts only with the nonce: {csp}"
    );
    assert_eq!(directive(&csp, "frame-ancestors"), ["'none'"]);
    assert_eq!(directive(&csp, "object-src"), ["'none'"]);
    let html = page.text().await.unwrap();
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "the hydration script");
    for script in scripts {
        let tag = script.split('>').next().unwrap();
        assert!(
            tag.contains(&format!("nonce=\"{nonce}\"")),
            "every inline script carries the nonce: <script{tag}>"
        );
    }
    // Another render, another nonce.
    let again = app.get("/admin/login").await;
    assert_ne!(
        again.headers()["content-security-policy"].to_str().unwrap(),
        csp
    );
    // A plain server page: no script at all.
    let friend = app.get("/f/spring").await;
    assert_eq!(friend.status(), StatusCode::OK);
    let policy = friend.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert_eq!(directive(policy, "script-src"), ["'self'"], "{policy}");
    assert_eq!(friend.headers()["cache-control"], "no-store");

    let https =
        crate::helpers::spawn_sqlite_with(&[("HANDOFF_PUBLIC_URL", "https://refer.example.com")])
            .await;
    let page = https.get("/healthz").await;
    assert_eq!(
        page.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}
