//! CSV imports of conversions: by API and by the CLI, on SQLite and PostgreSQL. A killed or failed
//! import is in `recovery.rs`, the SQLite writer's own behaviour in `sqlite_writer.rs`.

mod recovery;
mod sqlite_writer;

use std::{collections::BTreeMap, time::Duration};

use app::ssr::{
    entities::{conversion_event, import, lead, reward, webhook_delivery},
    services::{deliveries, imports, leads},
};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_databases};

/// A generated file: its bytes, how many rows are good, and the line of every bad row.
pub(super) struct Generated {
    pub(super) bytes: Vec<u8>,
    pub(super) good: u64,
    pub(super) bad_lines: BTreeMap<u64, &'static str>,
}

/// `rows` data rows; every 20th row is faulty, cycling through every kind of fault (so 5% in
/// all). Good rows alternate between identifying the friend by code and by the email of a lead
/// created a few rows earlier by code.
pub(super) fn generate(rows: u64, codes: &[String]) -> Generated {
    const FAULTS: [&str; 8] = [
        "email",
        "amount",
        "date",
        "currency",
        "unknown_code",
        "nothing",
        "utf8",
        "fields",
    ];
    let mut bytes = b"Order ID,Email,Referral Code,Amount,Currency,Date\r\n".to_vec();
    let mut good = 0;
    let mut bad_lines = BTreeMap::new();
    let mut fault = 0;
    for i in 1..=rows {
        let line = i + 1;
        let code = &codes[(i as usize) % codes.len()];
        if i % 20 == 0 {
            let kind = FAULTS[fault % FAULTS.len()];
            fault += 1;
            bad_lines.insert(line, kind);
            let row: Vec<u8> = match kind {
                "email" => {
                    format!("o{i},not-an-email,{code},10.00,USD,2026-01-02\r\n").into_bytes()
                }
                "amount" => {
                    format!("o{i},f{i}@example.com,{code},ten,USD,2026-01-02\r\n").into_bytes()
                }
                "date" => {
                    format!("o{i},f{i}@example.com,{code},10.00,USD,next tuesday\r\n").into_bytes()
                }
                "currency" => format!("o{i},f{i}@example.com,{code},10.00,dollars,2026-01-02\r\n")
                    .into_bytes(),
                "unknown_code" => {
                    format!("o{i},f{i}@example.com,ZZZZ-ZZZZ,10.00,USD,2026-01-02\r\n").into_bytes()
                }
                "nothing" => format!("o{i},,,10.00,USD,2026-01-02\r\n").into_bytes(),
                "utf8" => {
                    let mut r = format!("o{i},f{i}@example.com,").into_bytes();
                    r.extend_from_slice(b"\xff\xfe");
                    r.extend_from_slice(b",10.00,USD,2026-01-02\r\n");
                    r
                }
                _ => format!("o{i},f{i}@example.com\r\n").into_bytes(),
            };
            bytes.extend_from_slice(&row);
            continue;
        }
        good += 1;
        if i % 3 == 0 && (i - 1) % 20 != 0 {
            // By the email of the lead the previous row created with a code.
            bytes.extend_from_slice(
                format!(
                    "o{i},f{}@example.com,,\"1,234.50\",USD,2026-01-02\r\n",
                    i - 1
                )
                .as_bytes(),
            );
        } else {
            bytes.extend_from_slice(
                format!("o{i},f{i}@example.com,{code},12.00,USD,2026-01-02T10:00:00Z\r\n")
                    .as_bytes(),
            );
        }
    }
    Generated {
        bytes,
        good,
        bad_lines,
    }
}

pub(super) async fn setup(app: &TestApp) -> Vec<String> {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let mut codes = Vec::new();
    for name in ["Jane", "Omar", "Li"] {
        let r = app
            .referrer(
                "spring",
                name,
                &format!("{}@example.org", name.to_lowercase()),
            )
            .await;
        codes.push(r["code"].as_str().unwrap().to_owned());
    }
    codes
}

pub(super) async fn upload(app: &TestApp, query: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let response = app
        .client
        .post(format!("{}/api/v1/conversions/import?{query}", app.address))
        .bearer_auth(&app.api_key)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.expect("json"))
}

/// Every row refers to rows that exist. An import writes through a SQLite connection without
/// foreign-key checks (`db::own_writer`), so this is where its references are checked;
/// PostgreSQL checks them on every write.
pub(super) async fn assert_references_hold(app: &TestApp) {
    if app.db.get_database_backend() != DbBackend::Sqlite {
        return;
    }
    let broken = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA foreign_key_check",
        ))
        .await
        .unwrap();
    let described: Vec<String> = broken
        .iter()
        .map(|row| {
            format!(
                "{} row {:?} -> {}",
                row.try_get_by_index::<String>(0).unwrap_or_default(),
                row.try_get_by_index::<Option<i64>>(1).ok().flatten(),
                row.try_get_by_index::<String>(2).unwrap_or_default()
            )
        })
        .collect();
    assert!(described.is_empty(), "broken references: {described:?}");
}

pub(super) async fn csv_events(app: &TestApp) -> u64 {
    conversion_event::Entity::find()
        .filter(conversion_event::Column::Source.eq("csv"))
        .count(&app.db)
        .await
        .unwrap()
}

async fn a_file_with_faulty_rows_imports_exactly_the_good_ones(app: TestApp) {
    let codes = setup(&app).await;
    let file = generate(400, &codes);
    // An endpoint for every event, so that the import writes outbox deliveries too (which refer
    // to it) through its connection without foreign-key checks. Nothing listens on port 9.
    deliveries::create_endpoint(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        "http://127.0.0.1:9/hook",
        "",
        &["*".to_owned()],
    )
    .await
    .unwrap();

    let (status, preview) = upload(&app, "campaign=spring&dry_run=true", file.bytes.clone()).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["dry_run"], true);
    assert_eq!(preview["imported"], file.good);
    assert_eq!(csv_events(&app).await, 0, "a preview writes nothing");
    assert_eq!(reward::Entity::find().count(&app.db).await.unwrap(), 0);

    let (status, report) = upload(&app, "campaign=spring", file.bytes.clone()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["rows"], 400);
    assert_eq!(report["imported"], file.good);
    assert_eq!(report["imported"], preview["imported"]);
    assert_eq!(report["qualified"], preview["qualified"]);
    let unknown_codes = file
        .bad_lines
        .values()
        .filter(|k| **k == "unknown_code")
        .count();
    assert_eq!(report["unmatched"], unknown_codes, "the unknown-code rows");
    assert_eq!(report["invalid"], file.bad_lines.len() - unknown_codes);
    let errors = report["errors"].as_array().unwrap();
    let reported: BTreeMap<u64, String> = errors
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected_lines: Vec<u64> = file.bad_lines.keys().copied().collect();
    assert_eq!(reported.keys().copied().collect::<Vec<_>>(), expected_lines);
    for (line, kind) in &file.bad_lines {
        let column = &reported[line];
        let expected = match *kind {
            "email" => "Email",
            "amount" => "Amount",
            "date" => "Date",
            "currency" => "Currency",
            "unknown_code" | "utf8" => "Referral Code",
            _ => "",
        };
        assert_eq!(column, expected, "line {line} ({kind})");
    }
    assert_eq!(csv_events(&app).await, file.good);
    let rewards_after_first = reward::Entity::find().count(&app.db).await.unwrap();
    assert!(rewards_after_first > 0);
    let with_answer = conversion_event::Entity::find()
        .filter(conversion_event::Column::Source.eq("csv"))
        .filter(conversion_event::Column::Response.ne(""))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(with_answer, 0, "a CSV row's answer is counted, not stored");
    // The lead row 1 created: the event is told once, with what it did and the reward it made,
    // on the "captured" line.
    let first = lead::Entity::find()
        .filter(lead::Column::Email.eq("f1@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("row 1 created a lead");
    let timeline = leads::detail(&app.state, first.id).await.unwrap().timeline;
    let kinds: Vec<&str> = timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["captured"]);
    assert!(
        timeline[0]
            .detail
            .starts_with("Event \"purchase\" of USD 12.00 (id o1) arrived from csv with code ")
            && timeline[0]
                .detail
                .ends_with(
                    "; credited to Omar; the lead qualifies. Reward for the referrer: Thank-you reward, due now."
                ),
        "{}",
        timeline[0].detail
    );

    let (_, again) = upload(&app, "campaign=spring", file.bytes).await;
    assert_eq!(again["imported"], 0);
    assert_eq!(again["duplicates"], file.good);
    assert_eq!(csv_events(&app).await, file.good);
    assert_eq!(
        reward::Entity::find().count(&app.db).await.unwrap(),
        rewards_after_first
    );
    let deliveries = webhook_delivery::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert!(
        deliveries >= file.good,
        "the import queued deliveries for its events ({deliveries})"
    );
    assert_references_hold(&app).await;
    let history = import::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|h| h.status == "done"));
    assert!(history[0].error_report.lines().count() > 20);
    crate::helpers::assert_counters_agree(&app).await;
}

async fn awkward_files_are_read_and_bad_ones_refused(app: TestApp) {
    let codes = setup(&app).await;
    let file = format!(
        "\u{feff}Coupon Code;E-Mail;Total;Currency;Event\r\n{};\"a@x.com\";\"12,50\";EUR;Purchase\r\n{};\"multi\nline\"@x.com;1;EUR;purchase\r\n{};b@x.com;\"1.234,56\";EUR;signup\r\n",
        codes[0], codes[1], codes[2]
    );
    let (status, report) = upload(&app, "campaign=spring", file.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["rows"], 3);
    assert_eq!(report["imported"], 2);
    assert_eq!(report["qualified"], 1, "the signup row does not qualify");
    assert_eq!(report["errors"][0]["line"], 3);
    assert_eq!(report["errors"][0]["column"], "E-Mail");
    let events = conversion_event::Entity::find().all(&app.db).await.unwrap();
    let amounts: Vec<Option<i64>> = events.iter().map(|e| e.amount_minor).collect();
    assert!(amounts.contains(&Some(1250)) && amounts.contains(&Some(123_456)));

    let (status, error) = upload(&app, "campaign=spring", b"name,phone\nJo,123\n".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["code"], "invalid_csv");
    let (status, _) = upload(&app, "campaign=spring", Vec::new()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = upload(&app, "campaign=nope", b"email\na@x.com\n".to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(import::Entity::find().count(&app.db).await.unwrap(), 1);
}

pub(super) async fn wait_for(app: &TestApp, id: i64, status: &str) -> app::types::ImportView {
    for _ in 0..400 {
        let view = imports::view(&app.state, id).await.unwrap();
        if view.status == status {
            return view;
        }
        assert_ne!(view.status, "failed", "{view:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("import {id} never became {status}");
}

async fn an_upload_is_previewed_then_imported_in_the_background(app: TestApp) {
    let codes = setup(&app).await;
    let file = generate(200, &codes);
    let dir = std::env::temp_dir().join(format!(
        "handoff-stage-{}",
        app::ssr::services::secrets::random_token(6)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let upload = dir.join("upload.csv");
    std::fs::write(&upload, &file.bytes).unwrap();
    let id = imports::stage(&app.state, "spring", "orders.csv", &upload, None)
        .await
        .unwrap();
    assert!(
        !upload.exists(),
        "the upload was moved into the data directory"
    );
    assert_eq!(
        imports::view(&app.state, id).await.unwrap().status,
        "uploaded"
    );

    imports::start(&app.state, id, true).await.unwrap();
    let previewed = wait_for(&app, id, "previewed").await;
    let preview = previewed.report.unwrap();
    assert!(preview.dry_run);
    assert_eq!(preview.imported, file.good);
    assert_eq!(csv_events(&app).await, 0, "a preview writes nothing");
    assert!(
        imports::error_report(&app.state, id)
            .await
            .unwrap()
            .lines()
            .count()
            > 5
    );

    imports::start(&app.state, id, false).await.unwrap();
    let busy = imports::start(&app.state, id, false).await;
    let done = wait_for(&app, id, "done").await;
    assert_eq!(done.report.unwrap().imported, file.good);
    assert_eq!(done.bytes_done, done.bytes_total);
    assert_eq!(csv_events(&app).await, file.good);
    assert!(
        matches!(busy, Err(app::error::AppError::Conflict { .. })),
        "a running import is not started twice"
    );
    let again = imports::start(&app.state, id, false).await;
    assert!(again.is_err(), "a finished import is not started twice");
    let history = imports::history(&app.state).await.unwrap();
    assert_eq!(history[0].id, id);

    // A preview cut short by a restart (status left at `previewing`, nothing running here) can
    // be started again.
    let upload = dir.join("again.csv");
    std::fs::write(&upload, &file.bytes).unwrap();
    let stuck = imports::stage(&app.state, "spring", "again.csv", &upload, None)
        .await
        .unwrap();
    import::Entity::update_many()
        .col_expr(
            import::Column::Status,
            sea_orm::sea_query::Expr::value("previewing"),
        )
        .filter(import::Column::Id.eq(stuck))
        .exec(&app.db)
        .await
        .unwrap();
    imports::start(&app.state, stuck, true).await.unwrap();
    let resumed = wait_for(&app, stuck, "previewed").await;
    assert_eq!(resumed.report.unwrap().duplicates, file.good);

    let not_csv = dir.join("photo.csv");
    std::fs::write(&not_csv, b"name,phone\nJo,1\n").unwrap();
    let refused = imports::stage(&app.state, "spring", "photo.csv", &not_csv, None).await;
    assert!(matches!(refused, Err(app::error::AppError::Invalid { .. })));
    let _ = std::fs::remove_dir_all(&dir);
}

async fn a_staged_upload_keeps_its_event_for_rows_without_one(app: TestApp) {
    let codes = setup(&app).await;
    let dir = std::env::temp_dir().join(format!(
        "handoff-event-{}",
        app::ssr::services::secrets::random_token(6)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    // No event column: every row counts as the event chosen when the file was staged.
    let file = |name: &str, who: &str| {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(
                "email,referral code,amount,currency
{who}1@example.com,{},10.00,USD
{who}2@example.com,{},12.00,USD
",
                codes[0], codes[1]
            ),
        )
        .unwrap();
        path
    };

    let id = imports::stage(
        &app.state,
        "spring",
        "signups.csv",
        &file("signups.csv", "s"),
        Some(" Sign Up "),
    )
    .await
    .unwrap();
    let staged = imports::view(&app.state, id).await.unwrap();
    assert_eq!(
        staged.default_event.as_deref(),
        Some("sign_up"),
        "normalized"
    );
    imports::start(&app.state, id, true).await.unwrap();
    let preview = wait_for(&app, id, "previewed").await.report.unwrap();
    assert_eq!(preview.imported, 2);
    assert_eq!(
        preview.qualified, 0,
        "sign_up is not the campaign's qualifying event"
    );
    imports::start(&app.state, id, false).await.unwrap();
    let done = wait_for(&app, id, "done").await;
    assert_eq!(done.default_event.as_deref(), Some("sign_up"));
    assert_eq!(done.report.unwrap().qualified, 0);
    let events = conversion_event::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.name == "sign_up"), "{events:?}");

    // Without one: the campaign's first qualifying event, as before.
    let id = imports::stage(
        &app.state,
        "spring",
        "orders.csv",
        &file("orders.csv", "o"),
        Some("  "),
    )
    .await
    .unwrap();
    assert_eq!(
        imports::view(&app.state, id).await.unwrap().default_event,
        None
    );
    imports::start(&app.state, id, true).await.unwrap();
    assert_eq!(
        wait_for(&app, id, "previewed")
            .await
            .report
            .unwrap()
            .qualified,
        2
    );

    // A name that is no event name is refused and nothing is staged.
    let before = import::Entity::find().count(&app.db).await.unwrap();
    let bad = file("bad.csv", "b");
    let refused = imports::stage(&app.state, "spring", "bad.csv", &bad, Some("buy now!")).await;
    match refused {
        Err(app::error::AppError::Invalid { field, message, .. }) => {
            assert_eq!(field.as_deref(), Some("default_event"));
            assert!(message.contains("event name"), "{message}");
        }
        other => panic!("refused: {other:?}"),
    }
    assert_eq!(import::Entity::find().count(&app.db).await.unwrap(), before);
    assert!(bad.exists(), "the upload was left where it was");
    let _ = std::fs::remove_dir_all(&dir);
}

async fn the_upload_form_takes_the_event_for_rows_without_one(app: TestApp) {
    let codes = setup(&app).await;
    app.log_in_as("admin@example.com", app::domain::roles::Role::Admin)
        .await;
    let csv = format!(
        "email,referral code
f1@example.com,{}
",
        codes[0]
    );

    let posted = app
        .post_multipart(
            "/admin/imports/upload",
            &[("campaign", "spring"), ("default_event", "contract signed")],
            ("file", "deals.csv", csv.as_bytes()),
        )
        .await;
    let to = posted.headers()["location"].to_str().unwrap().to_owned();
    let id: i64 = to
        .strip_prefix("/admin/imports/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("to the upload's page, not {to}"));
    let view = wait_for(&app, id, "previewed").await;
    assert_eq!(view.default_event.as_deref(), Some("contract_signed"));
    let page = app.get(&to).await.text().await.unwrap();
    assert!(page.contains("Event for rows without one") && page.contains("contract_signed"));

    // A bad name: back to the form with what was typed, the reason shown once, nothing staged.
    let before = import::Entity::find().count(&app.db).await.unwrap();
    let refused = app
        .post_multipart(
            "/admin/imports/upload",
            &[("campaign", "spring"), ("default_event", "buy now!")],
            ("file", "deals.csv", csv.as_bytes()),
        )
        .await;
    let back = refused.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(back, "/admin/imports?campaign=spring&event=buy+now%21");
    let page = app.get(&back).await.text().await.unwrap();
    assert!(
        page.contains("An event name is letters"),
        "the reason is on the form"
    );
    assert!(
        page.contains("value=\"buy now!\""),
        "what was typed is kept"
    );
    assert_eq!(import::Entity::find().count(&app.db).await.unwrap(), before);
}

/// A file of several chunks whose rows refer to rows of earlier chunks, as a SQLite import's
/// pipeline sees them: a chunk is loaded before the previous chunk is written, except when it
/// could read what that chunk writes. Chunk 2 (rows 2001 to 3000) opens with three such rows:
/// the email of a lead chunk 1 created, chunk 1's order id again, and a lead of chunk 1 named with
/// another referrer's code. Chunk 3 refers to a lead of chunk 1, which is written by then; every
/// other row is a new friend. The counts are worked out from the file, and the preview (which
/// runs one chunk after the other) must say the same.
async fn a_pipelined_import_sees_every_earlier_chunk(app: TestApp) {
    let codes = setup(&app).await;
    let code = |i: u64| &codes[(i as usize) % codes.len()];
    let mut csv = String::from("order_id,email,referral_code,amount,currency\n");
    for i in 1..=3_500u64 {
        let row = match i {
            2001 => "o2001,p2000@example.com,,5.00,USD".to_owned(),
            2002 => format!("o1999,p1999@example.com,{},12.00,USD", code(1999)),
            2003 => format!("o2003,p1999@example.com,{},7.00,USD", code(2000)),
            3001 => "o3001,p1998@example.com,,5.00,USD".to_owned(),
            _ => format!("o{i},p{i}@example.com,{},12.00,USD", code(i)),
        };
        csv.push_str(&row);
        csv.push('\n');
    }
    let path = app.state.settings.data_dir.join("chunks.csv");
    std::fs::write(&path, csv).unwrap();
    let options = |dry_run| imports::ImportOptions {
        campaign: "spring".to_owned(),
        filename: "chunks.csv".to_owned(),
        dry_run,
        default_event: None,
    };
    let preview = imports::run(&app.state, &path, &options(true))
        .await
        .unwrap();
    let report = imports::run(&app.state, &path, &options(false))
        .await
        .unwrap();
    assert_eq!(report.rows, 3_500);
    assert_eq!(report.duplicates, 1, "row 2002 repeats order o1999");
    assert_eq!(report.imported, 3_499);
    assert_eq!(report.qualified, 3_496, "one new lead per other row");
    assert_eq!(report.already_qualified, 3, "rows 2001, 2003 and 3001");
    assert_eq!(report.ambiguous, 1, "row 2003 names another referrer");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let mut previewed = preview.clone();
    previewed.dry_run = false;
    previewed.import_id = report.import_id;
    assert_eq!(previewed, report, "the preview said what the import did");

    assert_eq!(lead::Entity::find().count(&app.db).await.unwrap(), 3_496);
    assert_eq!(csv_events(&app).await, 3_499);
    let rewards = reward::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rewards.len(), 3_496, "one reward per qualified lead");
    let rewarded: std::collections::HashSet<Option<i64>> =
        rewards.iter().map(|r| r.lead_id).collect();
    assert_eq!(rewarded.len(), 3_496, "no lead rewarded twice");
    // The lead of row 1999 got the events of rows 1999 and 2003, credited to its first referrer.
    let lead_1999 = lead::Entity::find()
        .filter(lead::Column::Email.eq("p1999@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let timeline = leads::detail(&app.state, lead_1999.id)
        .await
        .unwrap()
        .timeline;
    let kinds: Vec<&str> = timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["captured", "ambiguous", "conversion"]);
    assert_references_hold(&app).await;

    let again = imports::run(&app.state, &path, &options(false))
        .await
        .unwrap();
    assert_eq!(
        again.duplicates, 3_500,
        "every row's order id is on record now"
    );
    assert_eq!(again.imported, 0);
    assert_eq!(reward::Entity::find().count(&app.db).await.unwrap(), 3_496);
}

on_both_databases!(
    a_pipelined_import_sees_every_earlier_chunk,
    a_staged_upload_keeps_its_event_for_rows_without_one,
    the_upload_form_takes_the_event_for_rows_without_one,
    an_upload_is_previewed_then_imported_in_the_background,
    a_file_with_faulty_rows_imports_exactly_the_good_ones,
    awkward_files_are_read_and_bad_ones_refused,
);
