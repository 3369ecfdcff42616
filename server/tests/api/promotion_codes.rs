//! Stripe promotion codes mapped to referrers, and the integrations page's single lookups, on
//! SQLite and PostgreSQL: deleting a mapping (and who may), the list with its referrers, importing
//! mappings from a CSV file (REST and the admin's plain form post), sources and endpoints by id.

use std::collections::BTreeMap;

use app::{
    domain::roles::Role,
    error::AppError,
    ssr::{
        entities::promotion_code,
        services::{deliveries, inbound},
    },
};
use reqwest::{Response, StatusCode};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_databases};

/// Spring with Jane, Omar and Li; Autumn with Zed. Returns the referrers by first name.
async fn setup(app: &TestApp) -> BTreeMap<&'static str, Value> {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.campaign(json!({"name": "Autumn", "slug": "autumn"}))
        .await;
    let mut people = BTreeMap::new();
    for name in ["Jane", "Omar", "Li"] {
        let email = format!("{}@example.org", name.to_lowercase());
        people.insert(name, app.referrer("spring", name, &email).await);
    }
    people.insert(
        "Zed",
        app.referrer("autumn", "Zed", "zed@example.org").await,
    );
    people
}

fn id(referrer: &Value) -> i64 {
    referrer["id"].as_i64().unwrap()
}

fn code(referrer: &Value) -> &str {
    referrer["code"].as_str().unwrap()
}

async fn mappings(app: &TestApp) -> u64 {
    promotion_code::Entity::find().count(&app.db).await.unwrap()
}

async fn import_api(app: &TestApp, campaign: &str, csv: &str) -> (StatusCode, Value) {
    import_api_query(app, &format!("campaign={campaign}"), csv).await
}

async fn import_api_query(app: &TestApp, query: &str, csv: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .post(format!(
            "{}/api/v1/promotion-codes/import?{query}",
            app.address
        ))
        .bearer_auth(&app.api_key)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.expect("json"))
}

fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// `(line, column)` of every refused row of a report.
fn refused(report: &Value) -> Vec<(u64, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The Delete button of a mapping on the integrations page, pressed without JavaScript.
async fn delete_from_the_page(app: &TestApp, mapping: &str) -> Response {
    app.client
        .post(format!("{}/rpc/stripe_promotion_code_delete", app.address))
        .header("Origin", &app.address)
        .header("Accept", "text/html")
        .header("Referer", format!("{}/admin/integrations", app.address))
        .form(&[("id", mapping)])
        .send()
        .await
        .expect("request")
}

async fn a_mapping_is_deleted_by_an_admin_and_not_by_a_viewer(app: TestApp) {
    let people = setup(&app).await;
    inbound::map_promotion_code(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        id(&people["Jane"]),
        Some("promo_JANE"),
        None,
    )
    .await
    .unwrap();
    let (rows, _) = inbound::promotion_codes(&app.state, None, 100)
        .await
        .unwrap();
    let mapping = rows[0].id.to_string();

    // Without a session, nothing happens.
    let anonymous = delete_from_the_page(&app, &mapping).await;
    assert!(!location(&anonymous).contains("deleted="), "{anonymous:?}");
    assert_eq!(mappings(&app).await, 1);
    // A viewer may look, not change.
    app.log_in_as("viewer@example.com", Role::Viewer).await;
    let viewer = delete_from_the_page(&app, &mapping).await;
    assert!(location(&viewer).contains("__err="), "{viewer:?}");
    assert_eq!(mappings(&app).await, 1, "still mapped");

    app.log_in_as("admin@example.com", Role::Admin).await;
    let deleted = delete_from_the_page(&app, &mapping).await;
    assert_eq!(deleted.status(), StatusCode::FOUND);
    assert!(
        location(&deleted).contains("deleted=promotion_code"),
        "{deleted:?}"
    );
    assert_eq!(mappings(&app).await, 0);
    let page = app.get("/admin/integrations").await.text().await.unwrap();
    assert!(!page.contains("promo_JANE"), "gone from the page");

    // Deleting it again: not found, said so.
    let again = delete_from_the_page(&app, &mapping).await;
    assert!(location(&again).contains("__err="));
    assert_eq!(
        inbound::delete_promotion_code(
            &app.state,
            &app::ssr::services::audit::Actor::command_line(),
            rows[0].id
        )
        .await,
        Err(AppError::not_found("Promotion code mapping"))
    );

    // Once deleted, the code can be mapped to somebody else.
    inbound::map_promotion_code(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        id(&people["Omar"]),
        Some("promo_JANE"),
        None,
    )
    .await
    .unwrap();
}

async fn mappings_are_listed_with_their_referrer_and_found_by_search(app: TestApp) {
    let people = setup(&app).await;
    for (who, promo, typed) in [
        ("Jane", Some("promo_JANE1"), Some("jane10")),
        ("Jane", None, Some("JANE20")),
        ("Omar", Some("promo_OMAR1"), None),
        ("Zed", Some("promo_ZED1"), Some("ZED10")),
    ] {
        inbound::map_promotion_code(
            &app.state,
            &app::ssr::services::audit::Actor::command_line(),
            id(&people[who]),
            promo,
            typed,
        )
        .await
        .unwrap();
    }
    let (rows, total) = inbound::promotion_codes(&app.state, None, 100)
        .await
        .unwrap();
    assert_eq!(total, 4);
    // Newest first, each with its referrer's name, email, code and campaign.
    assert_eq!(rows[0].promotion_code_id.as_deref(), Some("promo_ZED1"));
    assert_eq!(rows[0].campaign, "autumn");
    assert_eq!(rows[0].referrer_name.as_deref(), Some("Zed"));
    assert_eq!(rows[0].referrer_email.as_deref(), Some("zed@example.org"));
    assert_eq!(rows[0].referrer_code.as_deref(), Some(code(&people["Zed"])));
    let jane: Vec<_> = rows
        .iter()
        .filter(|r| r.referrer_id == id(&people["Jane"]))
        .collect();
    assert_eq!(jane.len(), 2);
    assert!(
        jane.iter()
            .all(|r| r.referrer_name.as_deref() == Some("Jane"))
    );
    assert_eq!(jane[1].code.as_deref(), Some("jane10"), "as typed");

    let (limited, total) = inbound::promotion_codes(&app.state, None, 2).await.unwrap();
    assert_eq!((limited.len(), total), (2, 4));
    let found = |search: &'static str| {
        let state = app.state.clone();
        async move {
            let (rows, total) = inbound::promotion_codes(&state, Some(search), 100)
                .await
                .unwrap();
            assert_eq!(rows.len() as u64, total);
            let mut ids: Vec<i64> = rows.iter().map(|r| r.referrer_id).collect();
            ids.sort_unstable();
            ids
        }
    };
    assert_eq!(found("promo_OMAR").await, [id(&people["Omar"])]);
    assert_eq!(found("jane").await.len(), 2, "codes found ignoring case");
    assert_eq!(found("zed@EXAMPLE").await, [id(&people["Zed"])], "by email");
    assert!(found("nothing-like-it").await.is_empty());

    // The page lists them with the referrer and a Delete button each.
    app.log_in_as("admin@example.com", Role::Admin).await;
    let page = app.get("/admin/integrations").await.text().await.unwrap();
    for text in [
        "promo_JANE1",
        "JANE20",
        "jane@example.org",
        "Delete promotion code promo_OMAR1",
        "Delete promotion code JANE20",
    ] {
        assert!(page.contains(text), "{text} on the page");
    }
    let searched = app
        .get("/admin/integrations?promo=promo_OMAR")
        .await
        .text()
        .await
        .unwrap();
    assert!(searched.contains("promo_OMAR1"));
    assert!(
        !searched.contains("promo_ZED1"),
        "only what was searched for"
    );
}

async fn a_mapping_file_maps_its_good_rows_and_reports_the_bad_ones(app: TestApp) {
    let people = setup(&app).await;
    // Zed (another campaign) holds a code already.
    inbound::map_promotion_code(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        id(&people["Zed"]),
        Some("promo_TAKEN"),
        None,
    )
    .await
    .unwrap();
    let (jane, omar, li) = (
        code(&people["Jane"]),
        code(&people["Omar"]),
        code(&people["Li"]),
    );
    let lines = [
        "Promotion Code ID,Code,Referral Code,Referrer Email".to_owned(),
        format!("promo_jane1,JANE10,{jane},"),        // 2: new
        "promo_omar1,,,OMAR@example.org".to_owned(),  // 3: new, by email
        format!(",li10,{li},li@example.org"),         // 4: new, code and email agree
        format!("coupon_1,X1,{jane},"),               // 5: not a promotion code id
        "promo_x2,,ZZZZ-ZZZZ,".to_owned(),            // 6: unknown referral code
        "promo_x3,,,nobody@example.org".to_owned(),   // 7: unknown email
        format!("promo_x4,,{jane},omar@example.org"), // 8: code and email disagree
        format!("promo_TAKEN,,{jane},"),              // 9: mapped to Zed
        format!(",,{jane},"),                         // 10: no promotion code
        format!("promo_x5,jane10,{omar},"),           // 11: the code is Jane's (line 2)
        format!("promo_jane1,,{jane},"),              // 12: mapped so on line 2
        "promo_x6,,,not-an-email".to_owned(),         // 13: not an email
        "promo_x7,X7".to_owned(),                     // 14: too few fields
        String::new(),                                // 15: blank, skipped
        format!("promo_omar1,OMAR10,{omar},"),        // 16: completes line 3's mapping
    ];
    let csv = lines.join("\r\n") + "\r\n";
    let expected_refused: Vec<(u64, String)> = [
        (5, "Promotion Code ID"),
        (6, "Referral Code"),
        (7, "Referrer Email"),
        (8, "Referrer Email"),
        (9, "Promotion Code ID"),
        (10, ""),
        (11, "Code"),
        (13, "Referrer Email"),
        (14, ""),
    ]
    .into_iter()
    .map(|(line, column)| (line, column.to_owned()))
    .collect();

    // A preview reports exactly what the import then does (rows seeing what earlier rows
    // would map: lines 11, 12 and 16), and writes nothing.
    let (status, preview) = import_api_query(&app, "campaign=spring&dry_run=true", &csv).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["dry_run"], true, "{preview}");
    assert_eq!(mappings(&app).await, 1, "a preview writes nothing");

    let (status, report) = import_api(&app, "spring", &csv).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["dry_run"], false, "{report}");
    let mut previewed = preview.clone();
    previewed["dry_run"] = false.into();
    assert_eq!(previewed, report, "the preview said what the import did");
    assert_eq!(report["rows"], 14, "{report}");
    assert_eq!(report["added"], 3, "{report}");
    assert_eq!(report["completed"], 1, "{report}");
    assert_eq!(report["unchanged"], 1, "{report}");
    assert_eq!(report["refused"], 9, "{report}");
    assert_eq!(refused(&report), expected_refused);
    let reason = |line: u64| {
        report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["line"] == line)
            .unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(reason(9).contains("Zed <zed@example.org>"), "{}", reason(9));
    assert!(reason(11).contains("Jane"), "{}", reason(11));
    assert!(reason(8).contains("omar@example.org"), "{}", reason(8));
    assert_eq!(
        mappings(&app).await,
        1 + 3,
        "nothing written for the bad rows"
    );

    let (rows, _) = inbound::promotion_codes(&app.state, Some("promo_omar1"), 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].code.as_deref(), Some("OMAR10"), "completed");
    assert_eq!(rows[0].referrer_id, id(&people["Omar"]));

    // The same file again changes nothing.
    let (status, again) = import_api(&app, "spring", &csv).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["added"], 0, "{again}");
    assert_eq!(again["completed"], 0, "{again}");
    assert_eq!(again["unchanged"], 5, "{again}");
    assert_eq!(refused(&again), expected_refused);
    assert_eq!(mappings(&app).await, 4);

    // An imported code credits its referrer.
    let response = app
        .post_api(
            "/api/v1/conversions",
            &json!({"campaign": "spring", "event_id": "order-li-1", "event": "purchase",
                    "promotion_code": "LI10", "email": "buyer@example.com"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["lead"]["referrer_id"], id(&people["Li"]));

    // Files that are not mapping files, and unknown campaigns, are refused whole.
    let (status, error) = import_api(&app, "spring", "name,phone\nJo,123\n").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["code"], "invalid_csv");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("No promotion code column"),
        "{error}"
    );
    let (status, _) = import_api(&app, "spring", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = import_api(&app, "nope", "code,email\nA,jane@example.org\n").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(mappings(&app).await, 4);

    // The API reference documents the door.
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["paths"]["/api/v1/promotion-codes/import"]["post"].is_object());
    assert!(doc["components"]["schemas"]["PromotionCodeImportReport"].is_object());
}

async fn a_big_mapping_file_is_imported_in_several_transactions(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let mut csv = String::from("promo id;referrer\n");
    let mut referrers = Vec::new();
    for i in 0..40 {
        let r = app
            .referrer("spring", &format!("R{i}"), &format!("r{i}@example.org"))
            .await;
        referrers.push(r);
    }
    // 1,200 rows: more than two chunks; every 100th row names nobody.
    for i in 0..1200 {
        if i % 100 == 99 {
            csv.push_str(&format!("promo_big{i};ghost{i}@example.org\n"));
        } else {
            let r = &referrers[i % referrers.len()];
            let who = if i % 2 == 0 {
                r["email"].as_str().unwrap().to_owned()
            } else {
                code(r).to_owned()
            };
            csv.push_str(&format!("promo_big{i};{who}\n"));
        }
    }
    let (status, report) = import_api(&app, "spring", &csv).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["rows"], 1200);
    assert_eq!(report["added"], 1188);
    let lines: Vec<u64> = refused(&report).into_iter().map(|(l, _)| l).collect();
    assert_eq!(lines, (1..=12).map(|k| k * 100 + 1).collect::<Vec<u64>>());
    assert!(refused(&report).iter().all(|(_, c)| c == "referrer"));
    assert_eq!(mappings(&app).await, 1188);
    let (_, again) = import_api(&app, "spring", &csv).await;
    assert_eq!(
        (again["added"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(1188))
    );
}

async fn the_admin_imports_a_mapping_file_without_javascript(app: TestApp) {
    let people = setup(&app).await;
    let csv = format!(
        "code,referrer\r\nJANE10,{}\r\nBOGUS,ZZZZ-ZZZZ\r\n",
        code(&people["Jane"])
    );
    let path = "/admin/integrations/promotion-codes/import";

    // Without a session: to the login page; a viewer: refused; nothing written either way.
    let anonymous = app
        .post_multipart(
            path,
            &[("campaign", "spring")],
            ("file", "codes.csv", csv.as_bytes()),
        )
        .await;
    assert_eq!(location(&anonymous), "/admin/login");
    app.log_in_as("viewer@example.com", Role::Viewer).await;
    let viewer = app
        .post_multipart(
            path,
            &[("campaign", "spring")],
            ("file", "codes.csv", csv.as_bytes()),
        )
        .await;
    assert_eq!(viewer.status(), StatusCode::FORBIDDEN);
    assert_eq!(mappings(&app).await, 0);

    app.log_in_as("admin@example.com", Role::Admin).await;
    // Preview: the page says what an import would do, offers the refused rows as a file, and
    // nothing is written.
    let previewed = app
        .post_multipart(
            path,
            &[("campaign", "spring"), ("dry_run", "true")],
            ("file", "codes.csv", csv.as_bytes()),
        )
        .await;
    assert!(previewed.status().is_redirection(), "{previewed:?}");
    assert_eq!(mappings(&app).await, 0, "a preview writes nothing");
    let page = app.get("/admin/integrations").await.text().await.unwrap();
    assert!(
        page.contains(
            "Preview of codes.csv (2 rows): 1 new, 0 already mapped, 1 refused. Nothing was written"
        ),
        "the preview's summary is shown"
    );
    assert!(
        page.contains(
            "href=\"data:text/csv;charset=utf-8,line%2Ccolumn%2Creason%0A3%2C%22referrer%22%2C%22"
        ),
        "the refused rows are offered as a CSV file"
    );
    assert!(page.contains("download=\"refused-promotion-codes.csv\""));

    let posted = app
        .post_multipart(
            path,
            &[("campaign", "spring")],
            ("file", "codes.csv", csv.as_bytes()),
        )
        .await;
    assert!(posted.status().is_redirection(), "{posted:?}");
    assert!(location(&posted).starts_with("/admin/integrations"));
    assert_eq!(mappings(&app).await, 1);

    // The page says what came of it, once.
    let page = app.get("/admin/integrations").await.text().await.unwrap();
    assert!(
        page.contains("Imported codes.csv (2 rows): 1 new, 0 already mapped, 1 refused."),
        "the summary is shown"
    );
    assert!(page.contains("Refused rows"));
    let again = app.get("/admin/integrations").await.text().await.unwrap();
    assert!(!again.contains("Imported codes.csv"), "shown once");

    // More refused rows than the page keeps: the page says the download holds only those, and
    // where to get them all.
    let mut many = "code,referrer\r\n".to_owned();
    for i in 0..250 {
        many.push_str(&format!("BAD{i},ZZZZ-ZZZZ\r\n"));
    }
    let previewed = app
        .post_multipart(
            path,
            &[("campaign", "spring"), ("dry_run", "true")],
            ("file", "many.csv", many.as_bytes()),
        )
        .await;
    assert!(previewed.status().is_redirection(), "{previewed:?}");
    let page = app.get("/admin/integrations").await.text().await.unwrap();
    assert!(
        page.contains("The first 200 of 250 refused rows."),
        "the page says it lists only some"
    );
    assert!(page.contains("Download these 200 refused rows (CSV)"));
    assert!(
        page.contains(
            "lists up to 10000 refused rows and writes nothing: <code>POST /api/v1/promotion-codes/import?campaign=spring&amp;dry_run=true</code>"
        ),
        "the page says where to get them all"
    );
    let download = page
        .split("href=\"data:text/csv;charset=utf-8,")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a download link");
    assert_eq!(
        download.matches("%0A").count(),
        201,
        "a header and the 200 rows the page keeps"
    );

    // A file that is not a mapping file is refused whole, and the page says why.
    let bad = app
        .post_multipart(
            path,
            &[("campaign", "spring")],
            ("file", "notes.csv", b"just,notes\n1,2\n".as_slice()),
        )
        .await;
    assert!(bad.status().is_redirection());
    let page = app.get("/admin/integrations").await.text().await.unwrap();
    assert!(page.contains("was not imported"), "the refusal is shown");
    assert!(page.contains("No promotion code column found"));
    assert_eq!(mappings(&app).await, 1);
}

async fn sources_and_endpoints_are_looked_up_one_by_one(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let first = inbound::create_source(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        "spring",
        "Zap one",
        "zapier",
        false,
    )
    .await
    .unwrap();
    let second = inbound::create_source(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        "spring",
        "Hub two",
        "hubspot",
        true,
    )
    .await
    .unwrap();
    let found = inbound::source(&app.state, first.source.id).await.unwrap();
    assert_eq!(
        (found.id, found.name.as_str(), found.preset.as_str()),
        (first.source.id, "Zap one", "zapier")
    );
    assert_eq!(found.token_prefix, first.source.token_prefix);
    assert_eq!(found.campaign, "spring");
    let found = inbound::source(&app.state, second.source.id).await.unwrap();
    assert_eq!((found.name.as_str(), found.signed), ("Hub two", true));
    assert_eq!(
        inbound::source(&app.state, 9_999).await,
        Err(AppError::not_found("Source"))
    );

    let (endpoint, _) = deliveries::create_endpoint(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        "https://example.com/hooks/one",
        "CRM",
        &["lead.created".to_owned()],
    )
    .await
    .unwrap();
    deliveries::create_endpoint(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        "https://example.com/hooks/two",
        "",
        &["*".to_owned()],
    )
    .await
    .unwrap();
    assert_eq!(
        deliveries::endpoint(&app.state, endpoint.id).await.unwrap(),
        endpoint
    );
    assert_eq!(
        deliveries::endpoint(&app.state, 9_999).await,
        Err(AppError::not_found("Endpoint"))
    );

    // Their pages, and a friendly answer for an id that does not exist.
    app.log_in_as("admin@example.com", Role::Admin).await;
    let page = app
        .get(&format!("/admin/integrations/sources/{}", second.source.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Hub two") && page.contains("HubSpot deal workflow"));
    let page = app
        .get(&format!("/admin/integrations/endpoints/{}", endpoint.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("https://example.com/hooks/one"));
    let missing = app
        .get("/admin/integrations/sources/9999")
        .await
        .text()
        .await
        .unwrap();
    assert!(missing.contains("Source was not found."));
}

on_both_databases!(
    a_mapping_is_deleted_by_an_admin_and_not_by_a_viewer,
    mappings_are_listed_with_their_referrer_and_found_by_search,
    a_mapping_file_maps_its_good_rows_and_reports_the_bad_ones,
    a_big_mapping_file_is_imported_in_several_transactions,
    the_admin_imports_a_mapping_file_without_javascript,
    sources_and_endpoints_are_looked_up_one_by_one,
);

/// A large mapping file's preview on SQLite runs on a copy of the database: it finishes while
/// another writer holds the database, and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_mapping_preview_on_sqlite_holds_up_no_writer() {
    let app = crate::helpers::spawn_sqlite_with(&[("HANDOFF_PREVIEW_COPY_MB", "0")]).await;
    let people = setup(&app).await;
    let path = app.state.settings.data_dir.join("codes.csv");
    std::fs::write(
        &path,
        format!(
            "code,referrer\nJANE10,{}\nOMAR10,omar@example.org\n",
            code(&people["Jane"])
        ),
    )
    .unwrap();
    let writer = app::ssr::db::begin_write(&app.db).await.unwrap();
    let report = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        inbound::import_promotion_codes(&app.state, "spring", &path, true),
    )
    .await
    .expect("the preview does not wait for the writer")
    .unwrap();
    writer.rollback().await.unwrap();
    assert!(report.dry_run);
    assert_eq!(
        (report.rows, report.added, report.refused),
        (2, 2, 0),
        "{report:?}"
    );
    assert_eq!(mappings(&app).await, 0, "a preview writes nothing");
}
