//! Merging two records of one person, and deleting a referrer: what moves, what stays, what
//! goes, who may, and that what is already out in the world (a shared link, a printed code)
//! keeps crediting the person after a merge.

use app::{
    domain::roles::Role,
    ssr::entities::{click, lead, referrer},
};
use reqwest::{StatusCode, header};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, clicks_in_db},
    on_both_databases,
};

/// A campaign with a landing page (so a link's redirect shows the code it credits), Jane, her
/// duplicate record "Jane D.", and Omar in another campaign.
async fn setup(app: &TestApp) -> (Value, Value, Value) {
    app.campaign(
        json!({"name": "Shop", "slug": "shop", "landing_url": "https://shop.example/join"}),
    )
    .await;
    app.campaign(json!({"name": "Other", "slug": "other"}))
        .await;
    let jane = app.referrer("shop", "Jane", "jane@example.com").await;
    let duplicate = app.referrer("shop", "Jane D.", "jane.d@example.com").await;
    let omar = app.referrer("other", "Omar", "omar@example.com").await;
    (jane, duplicate, omar)
}

fn link_path(referrer: &Value) -> String {
    let link = referrer["link"].as_str().unwrap();
    url::Url::parse(link).unwrap().path().to_owned()
}

async fn lead_by_code(app: &TestApp, email: &str, code: &Value) -> Value {
    let response = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": "shop", "email": email, "referral_code": code}),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

async fn merging_moves_everything_and_the_old_link_and_code_keep_crediting(app: TestApp) {
    let (jane, duplicate, omar) = setup(&app).await;
    let old_lead = lead_by_code(&app, "friend@example.com", &duplicate["code"]).await;
    let response = app.get(&link_path(&duplicate)).await;
    assert!(response.status().is_redirection());
    assert_eq!(clicks_in_db(&app, 1).await, 1);

    app.log_in_as("boss@example.com", Role::Admin).await;
    let keep = jane["id"].to_string();
    // Refused, changing nothing: no confirmation; a record of another campaign; itself.
    for (other, confirm, code) in [
        ("jane.d@example.com", None, "confirmation_required"),
        ("omar@example.com", Some("yes"), "merge_not_found"),
        (
            omar["code"].as_str().unwrap(),
            Some("yes"),
            "merge_not_found",
        ),
        ("jane@example.com", Some("yes"), "merge_not_found"),
        ("", Some("yes"), "merge_not_found"),
    ] {
        let mut form = vec![("id", keep.as_str()), ("other", other)];
        if let Some(confirm) = confirm {
            form.push(("confirm", confirm));
        }
        let (status, body) = app.rpc("referrer_merge", &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{other}: {body}");
        assert!(body.to_string().contains(code), "{other}: {body}");
    }
    assert_eq!(referrer::Entity::find().count(&app.db).await.unwrap(), 3);

    // By the duplicate's code, typed as a person would.
    let typed = duplicate["code"].as_str().unwrap().to_lowercase();
    let (status, merged) = app
        .rpc(
            "referrer_merge",
            &[
                ("id", keep.as_str()),
                ("other", typed.as_str()),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["kept"], jane["id"]);
    assert_eq!(merged["merged"], duplicate["id"]);
    let summary = merged["summary"].as_str().unwrap();
    assert!(
        summary.contains("1 lead, 1 click and 0 rewards moved"),
        "{summary}"
    );

    // The duplicate is gone; its lead and click are Jane's.
    let gone = app
        .get_api(&format!("/api/v1/referrers/{}", duplicate["id"]))
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let moved = lead::Entity::find_by_id(old_lead["id"].as_i64().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Some(moved.referrer_id), Some(jane["id"].as_i64()));
    let jane_clicks = click::Entity::find()
        .filter(click::Column::ReferrerId.eq(jane["id"].as_i64().unwrap()))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(jane_clicks, 1);

    // Its printed code and shared link go on crediting Jane.
    let later = lead_by_code(&app, "later@example.com", &duplicate["code"]).await;
    assert_eq!(later["referrer_id"], jane["id"]);
    // As does its link slug where a `ref=` value is taken back (a business's own form).
    let old_slug = link_path(&duplicate).trim_start_matches("/r/").to_owned();
    let by_slug = app
        .post_form(
            "/f/shop",
            &[
                ("name", "Sam"),
                ("email", "sam@example.com"),
                ("ref", old_slug.as_str()),
            ],
        )
        .await;
    assert!(by_slug.status().is_success() || by_slug.status().is_redirection());
    let sam = lead::Entity::find()
        .filter(lead::Column::EmailNormalized.eq("sam@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the friend form took the old slug");
    assert_eq!(Some(sam.referrer_id), Some(jane["id"].as_i64()));
    let response = app.get(&link_path(&duplicate)).await;
    assert!(response.status().is_redirection());
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    let jane_code = jane["code"].as_str().unwrap();
    assert_eq!(
        location,
        format!("https://shop.example/join?ref={jane_code}")
    );

    let (_, log) = app.rpc("audit_log", &[]).await;
    assert_eq!(log["items"][0]["action"], "referrer.merged");
    assert_eq!(log["items"][0]["summary"], summary);

    // The other record may be named by its number too.
    let third = app.referrer("shop", "J. Doe", "j.doe@example.com").await;
    let number = format!("#{}", third["id"]);
    let (status, merged) = app
        .rpc(
            "referrer_merge",
            &[
                ("id", keep.as_str()),
                ("other", number.as_str()),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["merged"], third["id"]);

    app.log_in_as("viewer@example.com", Role::Viewer).await;
    let (status, _) = app
        .rpc(
            "referrer_merge",
            &[
                ("id", keep.as_str()),
                ("other", "omar@example.com"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    crate::helpers::assert_counters_agree(&app).await;
}

async fn only_an_owner_deletes_and_only_with_their_email_typed(app: TestApp) {
    let (jane, _, _) = setup(&app).await;
    let friend = lead_by_code(&app, "friend@example.com", &jane["code"]).await;
    app.get(&link_path(&jane)).await;
    assert_eq!(clicks_in_db(&app, 1).await, 1);
    let id = jane["id"].to_string();

    app.log_in_as("boss@example.com", Role::Admin).await;
    for endpoint in ["referrer_footprint", "referrer_delete"] {
        let (status, _) = app
            .rpc(
                endpoint,
                &[("id", id.as_str()), ("confirm_email", "jane@example.com")],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{endpoint}: admins may not");
    }

    app.log_in_as("owner@example.com", Role::Owner).await;
    let (status, counts) = app.rpc("referrer_footprint", &[("id", id.as_str())]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        counts,
        // The email: her link-and-code email, written when she was added.
        json!({"clicks": 1, "leads": 1, "unpaid_rewards": 0, "issued_rewards": 0, "emails": 1})
    );
    // Their data, to keep.
    let csv = app
        .get(&format!("/admin/referrers/{id}/export.csv"))
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("record,id,name,email,code"));
    assert!(lines[1].starts_with(&format!(
        "\"referrer\",\"{id}\",\"Jane\",\"jane@example.com\""
    )));
    assert!(lines[2].starts_with(&format!("\"lead\",\"{}\"", friend["id"])));

    let (status, body) = app
        .rpc(
            "referrer_delete",
            &[("id", id.as_str()), ("confirm_email", "jane.d@example.com")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("confirmation_mismatch"));
    assert_eq!(referrer::Entity::find().count(&app.db).await.unwrap(), 3);

    let (status, _) = app
        .rpc(
            "referrer_delete",
            &[("id", id.as_str()), ("confirm_email", " JANE@example.com ")],
        )
        .await;
    assert!(status.is_success() || status.is_redirection(), "{status}");
    assert!(
        referrer::Entity::find_by_id(jane["id"].as_i64().unwrap())
            .one(&app.db)
            .await
            .unwrap()
            .is_none()
    );
    // The friend stays, credited to nobody; the click went with Jane.
    let kept = lead::Entity::find_by_id(friend["id"].as_i64().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .expect("the lead stays");
    assert_eq!(kept.referrer_id, None);
    assert_eq!(click::Entity::find().count(&app.db).await.unwrap(), 0);
    let (_, log) = app.rpc("audit_log", &[]).await;
    assert_eq!(log["items"][0]["action"], "referrer.deleted");
    let summary = log["items"][0]["summary"].as_str().unwrap();
    assert!(
        summary
            .contains("1 click, 1 email and 0 unpaid rewards go; 1 lead stays, credited to nobody"),
        "{summary}"
    );
    // The page says who was deleted.
    let page = app
        .get("/admin/referrers?deleted=Jane")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Deleted Jane."));
    crate::helpers::assert_counters_agree(&app).await;
}

on_both_databases!(
    merging_moves_everything_and_the_old_link_and_code_keep_crediting,
    only_an_owner_deletes_and_only_with_their_email_typed,
);
