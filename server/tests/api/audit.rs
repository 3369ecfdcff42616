//! The audit log: every change names who made it (an admin's email or an API key's name), is
//! written with the change or not at all, and only owners and admins read it.

use app::{domain::roles::Role, ssr::entities::audit_entry};
use reqwest::StatusCode;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_databases};

async fn entries_in_db(app: &TestApp) -> u64 {
    audit_entry::Entity::find().count(&app.db).await.unwrap()
}

/// The log as the page reads it, newest first.
async fn log(app: &TestApp, form: &[(&str, &str)]) -> Vec<Value> {
    let (status, page) = app.rpc("audit_log", form).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

async fn each_change_is_logged_with_who_made_it(app: TestApp) {
    // Through the API: the key's name is who.
    let created = app
        .post_api(
            "/api/v1/campaigns",
            &json!({"name": "Spring", "slug": "spring"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    app.campaign(json!({"name": "Autumn", "slug": "autumn"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    // Omar holds the email the refused edit below tries to take.
    app.referrer("spring", "Omar", "omar@example.com").await;
    let id = jane["id"].to_string();
    let code = jane["code"].as_str().unwrap().to_owned();
    let response = app
        .client
        .patch(format!("{}/api/v1/referrers/{id}", app.address))
        .bearer_auth(&app.api_key)
        .json(&json!({"name": "Janet"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // In the admin: the admin's email is who.
    app.log_in_as("boss@example.com", Role::Admin).await;
    let (status, _) = app
        .rpc(
            "referrer_active",
            &[("id", id.as_str()), ("active", "false")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Refused changes write nothing: an email another referrer has.
    let before = entries_in_db(&app).await;
    let (status, _) = app
        .rpc(
            "referrer_update",
            &[
                ("id", id.as_str()),
                ("name", "Janet"),
                ("email", "omar@example.com"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Saving the form unchanged writes nothing either.
    let (status, _) = app
        .rpc(
            "referrer_update",
            &[
                ("id", id.as_str()),
                ("name", "Janet"),
                ("email", "jane@example.com"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(entries_in_db(&app).await, before);

    let entries = log(&app, &[]).await;
    let seen: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor"].as_str().unwrap(),
                e["summary"].as_str().unwrap(),
            )
        })
        .collect();
    let by_key = "API key “tests”";
    assert_eq!(
        seen,
        [
            (
                "referrer.deactivated",
                "boss@example.com",
                format!("Deactivated Janet ({code}).").as_str()
            ),
            ("referrer.updated", by_key, "Changed Jane's name to Janet."),
            (
                "referrer.added",
                by_key,
                "Added Omar <omar@example.com> to Spring."
            ),
            (
                "referrer.added",
                by_key,
                "Added Jane <jane@example.com> to Spring."
            ),
            (
                "campaign.created",
                by_key,
                "Created the campaign Autumn (autumn)."
            ),
            (
                "campaign.created",
                by_key,
                "Created the campaign Spring (spring)."
            ),
            // The test harness's own key, made as `handoff api-key create` makes one.
            (
                "api_key.created",
                "command line",
                "Created the API key “tests” (full access)."
            ),
        ]
    );
    assert_eq!(entries[0]["campaign"], "spring");
    assert_eq!(entries[0]["object_kind"], "referrer");
    assert_eq!(entries[0]["object_id"], jane["id"]);

    // One campaign's entries.
    let autumn = log(&app, &[("campaign", "autumn")]).await;
    assert_eq!(autumn.len(), 1);
    assert_eq!(
        autumn[0]["summary"],
        "Created the campaign Autumn (autumn)."
    );

    // The page links what each entry names.
    let page = app.get("/admin/audit").await.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "<a href=\"/admin/referrers/{id}\">Deactivated Janet"
        )),
        "{page}"
    );
}

async fn a_lead_decision_is_logged_with_its_reason(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let lead: Value = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": "spring", "name": "Ann", "email": "ann@example.com",
                    "referral_code": jane["code"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    app.log_in_as("boss@example.com", Role::Owner).await;
    let lead_id = lead["id"].to_string();
    let (status, body) = app
        .rpc(
            "lead_reject",
            &[("id", lead_id.as_str()), ("reason", "Duplicate sign-up")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entries = log(&app, &[]).await;
    assert_eq!(entries[0]["action"], "lead.rejected");
    assert_eq!(entries[0]["summary"], "Rejected Ann: Duplicate sign-up");
    assert_eq!(entries[0]["object_id"], lead["id"]);
}

async fn only_owners_and_admins_read_the_log(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    for role in [Role::Viewer, Role::Marketer, Role::Sales] {
        app.log_in_as(&format!("{role}@example.com"), role).await;
        let (status, _) = app.rpc("audit_log", &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
    }
    app.log_in_as("owner@example.com", Role::Owner).await;
    let entries = log(&app, &[]).await;
    assert_eq!(
        entries[0]["summary"],
        "Created the campaign Spring (spring)."
    );
}

/// Integrations, Stripe, the email sender, email templates and the portal: each change is in
/// the log with who made it, linked to its page; a refused one writes nothing; no secret is ever
/// written into it.
async fn integration_and_settings_changes_are_logged(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.log_in_as("boss@example.com", Role::Admin).await;
    let ok = |(status, body): (StatusCode, Value)| {
        assert!(
            status.is_success() || status.is_redirection(),
            "{status} {body}"
        );
        body
    };
    let source = ok(app
        .rpc(
            "inbound_source_create",
            &[
                ("campaign", "spring"),
                ("name", "Zap"),
                ("preset", "zapier"),
                ("signed", "on"),
            ],
        )
        .await);
    let source_id = source["id"].to_string();
    ok(app
        .rpc("inbound_source_delete", &[("id", source_id.as_str())])
        .await);
    let before = entries_in_db(&app).await;
    let (status, _) = app
        .rpc("stripe_secret", &[("secret", "not-a-secret")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        entries_in_db(&app).await,
        before,
        "a refused change writes nothing"
    );
    ok(app
        .rpc("stripe_secret", &[("secret", "whsec_abcdefghijklmnop")])
        .await);
    ok(app.rpc("stripe_campaign", &[("campaign", "spring")]).await);
    let endpoint = ok(app
        .rpc(
            "webhook_endpoint_create",
            &[
                ("url", "https://hooks.example.com/handoff"),
                ("description", "CRM"),
                ("lead_created", "on"),
            ],
        )
        .await);
    let endpoint_id = endpoint["id"].to_string();
    ok(app
        .rpc(
            "webhook_endpoint_enable",
            &[("id", endpoint_id.as_str()), ("enabled", "false")],
        )
        .await);
    ok(app
        .rpc("webhook_endpoint_delete", &[("id", endpoint_id.as_str())])
        .await);
    ok(app
        .rpc(
            "email_sender_save",
            &[("from", "Shop <shop@example.com>"), ("reply_to", "")],
        )
        .await);
    ok(app
        .rpc(
            "email_template_save",
            &[
                ("slug", "spring"),
                ("kind", "new_referral"),
                ("subject", "{friend_name} joined"),
                ("body", "Good news, {first_name}."),
            ],
        )
        .await);
    ok(app
        .rpc(
            "email_template_reset",
            &[("slug", "spring"), ("kind", "new_referral")],
        )
        .await);
    ok(app
        .rpc(
            "portal_settings_save",
            &[("slug", "spring"), ("settings[headline]", "Share the love")],
        )
        .await);

    let entries = log(&app, &[]).await;
    let actions: Vec<&str> = entries
        .iter()
        .take(11)
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "campaign.portal_changed",
            "email_template.reset",
            "email_template.changed",
            "email_sender.changed",
            "webhook_endpoint.deleted",
            "webhook_endpoint.disabled",
            "webhook_endpoint.created",
            "stripe.campaign_changed",
            "stripe.secret_changed",
            "inbound_source.deleted",
            "inbound_source.created",
        ]
    );
    assert!(
        entries
            .iter()
            .take(11)
            .all(|e| e["actor"] == "boss@example.com")
    );
    let all = serde_json::to_string(&entries).unwrap();
    assert!(!all.contains("whsec_"), "no secret in the log");
    assert_eq!(
        entries[3]["summary"],
        "Emails now come from Shop <shop@example.com> with replies to the configured one."
    );
    assert_eq!(
        entries[10]["summary"],
        "Added the inbound source “Zap” (zapier, signed)."
    );
    assert_eq!(entries[10]["campaign"], "spring");
    // Each entry links to its page: the source's own for what was done to it, the
    // integrations page once it is gone.
    let page = app.get("/admin/audit").await.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "<a href=\"/admin/integrations/sources/{source_id}\">Added the inbound source"
        )),
        "{page}"
    );
    assert!(
        page.contains("<a href=\"/admin/integrations\">Deleted the inbound source"),
        "{page}"
    );
    assert!(
        page.contains("<a href=\"/admin/emails\">Emails now come from"),
        "{page}"
    );
}

on_both_databases!(
    integration_and_settings_changes_are_logged,
    each_change_is_logged_with_who_made_it,
    a_lead_decision_is_logged_with_its_reason,
    only_owners_and_admins_read_the_log,
);
