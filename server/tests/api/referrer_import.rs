//! Adding referrers from a CSV file through the Referrers tab's upload: the preview writes
//! nothing, the import adds the good rows with their kept codes, and every bad row is refused
//! with its line, column and reason.

use app::{
    domain::roles::Role,
    ssr::entities::{audit_entry, referrer},
};
use reqwest::{StatusCode, header};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_databases};

const FILE: &str = "\
Full Name;E-mail;Referral code
Jane Doe;jane@example.com;CARD-0042
Ann Lee;ann@example.com;
Omar;omar@example.com;card 0042
;nobody@example.com;
Bob;not-an-email;
Jane Again;JANE@example.com;
Cleo;cleo@example.com;TAKEN-1
Dan;dan@example.com;x!
Eve;existing@example.com;
";

/// Uploads `file` as the form does and returns what the Referrers tab then shows once.
async fn upload(app: &TestApp, dry_run: bool, file: &str) -> Value {
    let mut fields = vec![("campaign", "spring")];
    if dry_run {
        fields.push(("dry_run", "true"));
    }
    let response = app
        .post_multipart(
            "/admin/referrers/import",
            &fields,
            ("file", "people.csv", file.as_bytes()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/admin/referrers#bulk-add-heading"
    );
    let (status, outcome) = app.rpc("referrer_import_take", &[]).await;
    assert_eq!(status, StatusCode::OK);
    outcome
}

async fn in_campaign(app: &TestApp) -> u64 {
    referrer::Entity::find().count(&app.db).await.unwrap()
}

async fn a_file_is_previewed_then_added_with_each_bad_row_refused(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.campaign(json!({"name": "Other", "slug": "other"}))
        .await;
    app.referrer("spring", "Eve", "existing@example.com").await;
    // A code another campaign's referrer has: codes are unique everywhere.
    let taken = app.referrer("other", "Taken", "taken@example.com").await;
    let taken_code = taken["code"].as_str().unwrap().to_owned();
    let file = FILE.replace("TAKEN-1", &taken_code);
    app.log_in_as("boss@example.com", Role::Admin).await;
    let before = in_campaign(&app).await;

    let preview = upload(&app, true, &file).await;
    let report = &preview["result"]["Ok"];
    assert_eq!(report["dry_run"], true, "{preview}");
    assert_eq!(report["rows"], 9);
    assert_eq!(report["added"], 2, "{report}");
    assert_eq!(report["existing"], 1);
    assert_eq!(report["refused"], 6);
    assert_eq!(in_campaign(&app).await, before, "a preview writes nothing");
    let refused: Vec<(u64, String, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let lines: Vec<(u64, &str)> = refused.iter().map(|(l, c, _)| (*l, c.as_str())).collect();
    assert_eq!(
        lines,
        [
            (4, "Referral code"),
            (5, "Full Name"),
            (6, "E-mail"),
            (7, "E-mail"),
            (9, "Referral code"),
            (8, "Referral code"),
        ],
        "{refused:?}"
    );
    assert!(
        refused[0].2.contains("line 2"),
        "a repeated code names its first line"
    );
    assert!(
        refused[3].2.contains("line 2"),
        "a repeated email names its first line"
    );
    assert!(refused[5].2.contains("Taken's code"), "{}", refused[5].2);

    let done = upload(&app, false, &file).await;
    let report = &done["result"]["Ok"];
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["added"], 2, "{report}");
    assert_eq!(in_campaign(&app).await, before + 2);
    // The kept code works as printed, however it is typed.
    let jane = referrer::Entity::find()
        .filter(referrer::Column::EmailNormalized.eq("jane@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(jane.code.as_deref(), Some("CARD-0042"));
    let lead = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": "spring", "email": "f@example.com", "referral_code": "card0042"}),
        )
        .await;
    assert_eq!(lead.status(), StatusCode::CREATED);
    let lead: Value = lead.json().await.unwrap();
    assert_eq!(lead["referrer_id"], jane.id);
    // Ann got a code of the campaign's own kind.
    let ann = referrer::Entity::find()
        .filter(referrer::Column::EmailNormalized.eq("ann@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(ann.code.is_some());
    let logged = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("referrer.imported"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the import is in the audit log");
    assert_eq!(
        logged.summary,
        "Added 2 referrers from people.csv (1 already there, 6 refused)."
    );

    // The same file again adds nobody.
    let again = upload(&app, false, &file).await;
    assert_eq!(again["result"]["Ok"]["added"], 0);
    assert_eq!(again["result"]["Ok"]["existing"], 3);
}

async fn a_file_that_cannot_be_read_is_refused_whole(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.log_in_as("boss@example.com", Role::Admin).await;
    for (file, code) in [
        ("name,code\nJane,X\n", "No email column"),
        ("name,email\n", "no referrers"),
        ("", "empty"),
    ] {
        let outcome = upload(&app, false, file).await;
        let error = outcome["result"]["Err"].to_string();
        assert!(error.contains(code), "{file:?}: {error}");
    }
    assert_eq!(in_campaign(&app).await, 0);

    // Only roles that manage referrers may.
    app.log_in_as("viewer@example.com", Role::Viewer).await;
    let response = app
        .post_multipart(
            "/admin/referrers/import",
            &[("campaign", "spring")],
            ("file", "people.csv", b"name,email\nJane,jane@example.com\n"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(in_campaign(&app).await, 0);
}

on_both_databases!(
    a_file_is_previewed_then_added_with_each_bad_row_refused,
    a_file_that_cannot_be_read_is_refused_whole,
);
