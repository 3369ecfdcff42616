//! An admin's changes to a referrer: name, email and note (a taken email changes nothing), and
//! deactivating (their code refused everywhere, their link crediting nobody) and reactivating.

use app::{
    domain::roles::Role,
    ssr::entities::{lead, referrer},
};
use reqwest::{StatusCode, header};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, one_typo},
    on_both_databases,
};

async fn row(app: &TestApp, id: &Value) -> referrer::Model {
    referrer::Entity::find_by_id(id.as_i64().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

async fn an_admin_edits_a_referrer_and_bad_input_changes_nothing(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let omar = app.referrer("spring", "Omar", "omar@example.com").await;
    let id = jane["id"].to_string();
    app.log_in_as("admin@example.com", Role::Admin).await;

    let (status, saved) = app
        .rpc(
            "referrer_update",
            &[
                ("id", &id),
                ("name", " Jane Q. Doe "),
                ("email", "Jane.Doe@Example.com"),
                ("note", "Runs the Tuesday book club."),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["name"], "Jane Q. Doe");
    assert_eq!(saved["code"], jane["code"], "the code stays");
    assert_eq!(saved["link"], jane["link"], "the link stays");
    let stored = row(&app, &jane["id"]).await;
    assert_eq!(
        stored.email, "Jane.Doe@example.com",
        "the domain is kept lower case"
    );
    assert_eq!(stored.note.as_deref(), Some("Runs the Tuesday book club."));

    let long_note = "n".repeat(2001);
    for (fields, want) in [
        (
            vec![
                ("name", "Jane"),
                ("email", "OMAR@example.com"),
                ("note", ""),
            ],
            "email_taken",
        ),
        (
            vec![("name", " "), ("email", "j@example.com"), ("note", "")],
            "invalid_name",
        ),
        (
            vec![("name", "Jane"), ("email", "nope"), ("note", "")],
            "invalid_email",
        ),
        (
            vec![
                ("name", "Jane"),
                ("email", "j@example.com"),
                ("note", &long_note),
            ],
            "invalid_note",
        ),
    ] {
        let mut form = vec![("id", id.as_str())];
        form.extend(fields.iter().copied());
        let (status, error) = app.rpc("referrer_update", &form).await;
        assert!(status.is_client_error(), "{want}: {status}");
        assert!(error.to_string().contains(want), "{want}: {error}");
    }
    let (_, taken) = app
        .rpc(
            "referrer_update",
            &[
                ("id", &id),
                ("name", "Jane"),
                ("email", "omar@example.com"),
                ("note", ""),
            ],
        )
        .await;
    assert!(
        taken.to_string().contains("(Omar)"),
        "names whose email it is: {taken}"
    );
    assert_eq!(row(&app, &jane["id"]).await, stored, "nothing changed");
    assert_eq!(row(&app, &omar["id"]).await.email, "omar@example.com");
    let (status, _) = app
        .rpc(
            "referrer_update",
            &[
                ("id", "999999"),
                ("name", "X"),
                ("email", "x@example.com"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Nobody but owners and admins changes a referrer.
    for role in [Role::Viewer, Role::Marketer, Role::Sales] {
        app.log_in_as(&format!("{role}@example.com"), role).await;
        let (status, _) = app
            .rpc(
                "referrer_update",
                &[
                    ("id", &id),
                    ("name", "Mallory"),
                    ("email", "m@example.com"),
                    ("note", ""),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role} edits");
        let (status, _) = app
            .rpc("referrer_active", &[("id", &id), ("active", "false")])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role} deactivates");
    }
    let unchanged = row(&app, &jane["id"]).await;
    assert_eq!(unchanged, stored);
    assert!(unchanged.active);
}

async fn a_deactivated_referrer_credits_nobody_until_reactivated(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring", "landing_url": "https://shop.example/join?utm_source=card"}))
        .await;
    app.campaign(json!({"name": "Hosted", "slug": "hosted"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let hosted_jane = app.referrer("hosted", "Jane", "jane@example.com").await;
    let code = jane["code"].as_str().unwrap().to_owned();
    let id = jane["id"].to_string();
    app.log_in_as("admin@example.com", Role::Admin).await;
    for who in [&id, &hosted_jane["id"].to_string()] {
        let (status, off) = app
            .rpc("referrer_active", &[("id", who), ("active", "false")])
            .await;
        assert_eq!(status, StatusCode::OK, "{off}");
        assert_eq!(off["active"], false);
    }
    assert!(row(&app, &jane["id"]).await.deactivated_at.is_some());

    // The code is refused at every door, saying why.
    let refused = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": "spring", "email": "f1@example.com", "referral_code": code.to_lowercase()}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "inactive_referral_code");
    let conversion = app
        .post_api(
            "/api/v1/conversions",
            &json!({"campaign": "spring", "event_id": "o-1", "event": "purchase", "referral_code": code}),
        )
        .await;
    assert_eq!(conversion.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = conversion.json().await.unwrap();
    assert_eq!(body["error"]["code"], "inactive_referral_code");
    let form = app
        .hosted_sign_up(
            "/f/spring",
            &[("email", "f2@example.com"), ("referral_code", &code)],
        )
        .await;
    assert!(
        form.text()
            .await
            .unwrap()
            .contains("This referral code is no longer active."),
        "the friend form says so"
    );
    let (_, desk) = app
        .rpc(
            "sales_record",
            &[
                ("campaign", "spring"),
                ("code", &code),
                ("name", ""),
                ("email", "f3@example.com"),
                ("phone", ""),
                ("note", ""),
                ("order_id", ""),
                ("amount", ""),
                ("currency", ""),
            ],
        )
        .await;
    assert!(
        desk.to_string().contains("inactive_referral_code"),
        "{desk}"
    );
    // Nor is it offered as the "did you mean" of a near miss.
    let near = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": "spring", "email": "f4@example.com", "referral_code": one_typo(&code)}),
        )
        .await;
    let body: Value = near.json().await.unwrap();
    assert!(body["error"]["suggestion"].is_null(), "{body}");
    assert_eq!(lead::Entity::find().count(&app.db).await.unwrap(), 0);

    // The link still leads to the campaign, without the code.
    let link = jane["link"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.address);
    let click = app.get(link).await;
    assert_eq!(click.status(), StatusCode::FOUND);
    assert_eq!(
        click.headers()[header::LOCATION],
        "https://shop.example/join?utm_source=card"
    );
    // On the hosted page the friend is kept but credits nobody: flagged, and held for review
    // when they qualify.
    let hosted_link = hosted_jane["link"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.address);
    assert_eq!(app.get(hosted_link).await.status(), StatusCode::FOUND);
    let page = app.get("/f/hosted").await.text().await.unwrap();
    assert!(
        !page.contains(hosted_jane["code"].as_str().unwrap()),
        "no code prefilled"
    );
    assert!(!page.contains("Jane invited you"));
    let done = app
        .hosted_sign_up(
            "/f/hosted",
            &[("email", "f5@example.com"), ("referral_code", "")],
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let thanks = done.text().await.unwrap();
    assert!(thanks.contains("Thanks for signing up"));
    assert!(
        !thanks.contains("referral.</p>"),
        "nobody is thanked: {thanks}"
    );
    let leads: Value = app.get_json("/api/v1/leads?campaign=hosted").await;
    assert_eq!(
        leads["items"][0]["flags"],
        json!(["referrer_inactive"]),
        "{leads}"
    );
    let qualified = app
        .post_api(
            "/api/v1/conversions",
            &json!({"campaign": "hosted", "event_id": "o-2", "event": "purchase", "email": "f5@example.com"}),
        )
        .await;
    let qualified: Value = qualified.json().await.unwrap();
    assert_eq!(qualified["outcome"], "review", "{qualified}");
    assert_eq!(qualified["rewards"], json!([]));

    // Reactivated (here through the API): the code and the link work again at once.
    let on = app
        .client
        .patch(format!("{}/api/v1/referrers/{id}", app.address))
        .bearer_auth(&app.api_key)
        .json(&json!({"active": true, "note": "Back after the audit."}))
        .send()
        .await
        .unwrap();
    assert_eq!(on.status(), StatusCode::OK);
    let on: Value = on.json().await.unwrap();
    assert_eq!(on["active"], true);
    assert_eq!(on["name"], "Jane", "what the change leaves out stays");
    let back = row(&app, &jane["id"]).await;
    assert!(back.deactivated_at.is_none());
    assert_eq!(back.note.as_deref(), Some("Back after the audit."));
    let accepted = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": "spring", "email": "f1@example.com", "referral_code": code}),
        )
        .await;
    assert_eq!(accepted.status(), StatusCode::CREATED);
    let click = app.get(link).await;
    assert_eq!(
        click.headers()[header::LOCATION],
        format!("https://shop.example/join?utm_source=card&ref={code}").as_str()
    );
}

async fn a_replaced_code_keeps_working_for_its_grace_time_then_says_so(app: TestApp) {
    app.campaign(
        json!({"name": "Spring", "slug": "spring", "landing_url": "https://shop.example/join"}),
    )
    .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let id = jane["id"].to_string();
    let first = jane["code"].as_str().unwrap().to_owned();
    app.log_in_as("admin@example.com", Role::Admin).await;
    let lead = |email: &'static str, code: String| {
        let app = &app;
        async move {
            let response = app
                .post_api(
                    "/api/v1/leads",
                    &json!({"campaign": "spring", "email": email, "referral_code": code}),
                )
                .await;
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };

    let (status, replaced) = app
        .rpc(
            "referrer_replace_code",
            &[("id", &id), ("grace_days", "30")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    let second = replaced["code"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(replaced["link"], jane["link"], "the link stays");
    // Both the old code (within its 30 days) and the new one credit Jane.
    for (email, code) in [
        ("f1@example.com", first.clone()),
        ("f2@example.com", second.clone()),
    ] {
        let (status, made) = lead(email, code).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made["referrer_id"], jane["id"]);
    }
    // The link now carries the new code.
    let link = jane["link"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.address);
    assert_eq!(
        app.get(link).await.headers()[header::LOCATION],
        format!("https://shop.example/join?ref={second}").as_str()
    );

    // Replaced again with no grace: the second code is refused at once, saying why.
    let (_, again) = app
        .rpc("referrer_replace_code", &[("id", &id), ("grace_days", "0")])
        .await;
    let third = again["code"].as_str().unwrap().to_owned();
    let (status, refused) = lead("f3@example.com", second.to_lowercase()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["error"]["code"], "replaced_referral_code");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("was replaced")
    );
    let (status, _) = lead("f4@example.com", first.clone()).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the first keeps its own 30 days"
    );

    // Bad input changes nothing; only those who manage referrers may replace a code.
    for bad in ["-1", "366", "soon", ""] {
        let (status, error) = app
            .rpc("referrer_replace_code", &[("id", &id), ("grace_days", bad)])
            .await;
        assert!(status.is_client_error(), "{bad}: {status}");
        assert!(
            error.to_string().contains("invalid_grace_days"),
            "{bad}: {error}"
        );
    }
    app.log_in_as("marketer@example.com", Role::Marketer).await;
    let (status, _) = app
        .rpc("referrer_replace_code", &[("id", &id), ("grace_days", "1")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        row(&app, &jane["id"]).await.code.as_deref(),
        Some(third.as_str())
    );
}

async fn a_deactivated_referrer_is_left_out_of_print_runs_and_bulk_emails(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    app.referrer("spring", "Omar", "omar@example.com").await;
    app.log_in_as("admin@example.com", Role::Admin).await;
    let (status, _) = app
        .rpc(
            "referrer_active",
            &[("id", &jane["id"].to_string()), ("active", "false")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Everyone's mail-merge list (the print runs pick the same) has only Omar.
    let csv = app
        .get_api("/api/v1/campaigns/spring/print.csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("omar@example.com") && !csv.contains("jane@example.com"),
        "{csv}"
    );
    // Picked by id, Jane is printed as asked.
    let picked = app
        .get_api(&format!(
            "/api/v1/campaigns/spring/print.csv?referrer={}",
            jane["id"]
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(picked.contains("jane@example.com"), "{picked}");
    // The bulk link-and-code send writes to Omar only.
    let run = app::ssr::services::emails::send_missing_welcomes(&app.state, "spring")
        .await
        .unwrap();
    assert_eq!(run.written, 1);
}

on_both_databases!(
    a_deactivated_referrer_is_left_out_of_print_runs_and_bulk_emails,
    a_replaced_code_keeps_working_for_its_grace_time_then_says_so,
    an_admin_edits_a_referrer_and_bad_input_changes_nothing,
    a_deactivated_referrer_credits_nobody_until_reactivated,
);
