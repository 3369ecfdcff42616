//! The SQLite import writer: previews on a copy, checkpoints beside the writer, loads ahead only
//! when it must, and is seen while it waits for its turn.

use std::time::Duration;

use app::ssr::{
    entities::{conversion_event, lead, reward},
    services::imports,
};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait};

use super::{assert_references_hold, csv_events, generate, setup};

/// A large file's preview on SQLite runs on a copy of the database: it finishes while another
/// writer holds the database (which the preview of the database itself would wait for), says
/// exactly what the import then does, writes nothing, and leaves no copy behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_preview_on_sqlite_runs_on_a_copy_and_holds_up_no_writer() {
    // Every file counts as large.
    let app = crate::helpers::spawn_sqlite_with(&[("HANDOFF_PREVIEW_COPY_MB", "0")]).await;
    let codes = setup(&app).await;
    let file = generate(300, &codes);
    let path = app.state.settings.data_dir.join("orders.csv");
    std::fs::write(&path, &file.bytes).unwrap();
    let options = |dry_run| imports::ImportOptions {
        campaign: "spring".to_owned(),
        filename: "orders.csv".to_owned(),
        dry_run,
        default_event: None,
    };

    let writer = app::ssr::db::begin_write(&app.db).await.unwrap();
    let preview = tokio::time::timeout(
        Duration::from_secs(120),
        imports::run(&app.state, &path, &options(true)),
    )
    .await
    .expect("the preview does not wait for the writer")
    .unwrap();
    writer.rollback().await.unwrap();
    assert!(preview.dry_run);
    assert_eq!(preview.imported, file.good);
    assert_eq!(csv_events(&app).await, 0, "a preview writes nothing");
    let left: Vec<String> = std::fs::read_dir(app.state.settings.data_dir.join("imports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("preview-"))
        .collect();
    assert!(left.is_empty(), "copies left behind: {left:?}");

    let report = imports::run(&app.state, &path, &options(false))
        .await
        .unwrap();
    assert_eq!(csv_events(&app).await, file.good);
    let mut previewed = preview.clone();
    previewed.dry_run = false;
    previewed.import_id = report.import_id;
    assert_eq!(previewed, report, "the preview said what the import did");

    // Without room for a copy (here: no directory for it), the preview runs on the database.
    let imports_dir = app.state.settings.data_dir.join("imports");
    std::fs::remove_dir_all(&imports_dir).unwrap();
    std::fs::write(&imports_dir, b"not a directory").unwrap();
    let again = imports::run(&app.state, &path, &options(true))
        .await
        .unwrap();
    assert_eq!(again.duplicates, file.good, "{again:?}");
    assert_eq!(csv_events(&app).await, file.good);
}

/// The integer `sql` answers on SQLite.
async fn sqlite_integer(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(sea_orm::Statement::from_string(DbBackend::Sqlite, sql))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{sql}: no row"))
        .try_get_by_index::<i64>(0)
        .unwrap()
}

/// An import's own writer never checkpoints itself; a second connection does it in the
/// background, and once the WAL has outgrown its limit the writer waits for one checkpoint between
/// two transactions, so that the WAL starts over instead of growing with the import. Nothing
/// committed is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_writer_checkpoints_beside_itself_and_keeps_the_wal_small() {
    use sea_orm::TransactionTrait;
    const LIMIT: u64 = 1024 * 1024;
    const TRANSACTIONS: u64 = 40;
    // About 400 KB of pages per transaction: 40 of them are 16 MB.
    const ROWS_PER_TRANSACTION: u64 = 100;
    let app = crate::helpers::spawn_sqlite_with(&[]).await;
    let own = app::ssr::db::OwnWriter::open(&app.db, LIMIT)
        .await
        .unwrap()
        .expect("an own writer on SQLite");
    let autocheckpoint = sqlite_integer(own.db(), "PRAGMA wal_autocheckpoint").await;
    assert_eq!(
        autocheckpoint, 0,
        "the writer leaves checkpoints to the other connection"
    );
    own.db()
        .execute_unprepared("CREATE TABLE scratch (id INTEGER PRIMARY KEY, payload BLOB)")
        .await
        .unwrap();
    for _ in 0..TRANSACTIONS {
        let txn = own.db().begin().await.unwrap();
        txn.execute_unprepared(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
             WHERE i < {ROWS_PER_TRANSACTION}) \
             INSERT INTO scratch (payload) SELECT randomblob(4000) FROM n"
        ))
        .await
        .unwrap();
        txn.commit().await.unwrap();
        own.after_commit().await;
    }
    own.close().await;

    let rows = sqlite_integer(&app.db, "SELECT count(*) FROM scratch").await;
    assert_eq!(
        rows,
        i64::try_from(TRANSACTIONS * ROWS_PER_TRANSACTION).unwrap()
    );
    // The file keeps its largest size: the limit, plus the transaction that crossed it and at
    // most two committed before the checkpoint that measured it (1.2 MB), plus slack.
    let wal = std::fs::metadata(app.state.settings.data_dir.join("handoff.db-wal"))
        .unwrap()
        .len();
    assert!(wal < 4 * LIMIT, "the WAL grew to {wal} bytes");
}

/// The pipeline's own rule, batch by batch: a batch is loaded ahead of the pending batch's writes
/// only when it cannot read them, and its ids start after the pending batch's (else writing it
/// would hit their primary keys).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_loaded_ahead_only_when_it_cannot_read_the_pending_one() {
    use app::ssr::services::{
        campaigns,
        conversions::{self, pipeline},
        rules,
    };
    let app = crate::helpers::spawn_sqlite_with(&[]).await;
    let codes = setup(&app).await;
    let campaign = std::sync::Arc::new(campaigns::find_row(&app.db, "spring").await.unwrap());
    let loaded_rules = rules::load(&app.db, campaign.id).await.unwrap();
    assert!(pipeline::pipelines(DbBackend::Sqlite, &loaded_rules));
    assert!(!pipeline::pipelines(DbBackend::Postgres, &loaded_rules));
    let mut capped = loaded_rules.clone();
    capped.rewards[0].1.max_per_referrer = Some(3);
    assert!(
        !pipeline::pipelines(DbBackend::Sqlite, &capped),
        "caps count per referrer"
    );
    let loaded_rules = std::sync::Arc::new(loaded_rules);
    let batch = |rows: &[(&str, &str)]| {
        let events = rows
            .iter()
            .enumerate()
            .map(|(n, (id, email))| {
                conversions::check(&app::types::ConversionInput {
                    campaign: "spring".to_owned(),
                    event_id: (*id).to_owned(),
                    event: "purchase".to_owned(),
                    referral_code: Some(codes[n % codes.len()].clone()),
                    promotion_code: None,
                    email: Some((*email).to_owned()),
                    amount: Some(1_000),
                    currency: Some("USD".to_owned()),
                    occurred_at: None,
                })
                .unwrap()
            })
            .collect();
        pipeline::items(
            "csv",
            &campaign,
            &loaded_rules,
            Some(&app.state.settings),
            None,
            events,
        )
    };
    let now = chrono::Utc::now();
    let txn = app::ssr::db::begin_write(&app.db).await.unwrap();
    let first = batch(&[("a1", "a1@x.com"), ("a2", "A2@x.com"), ("a3", "a3@x.com")]);
    let loaded = pipeline::load(&txn, &first).await.unwrap();
    let pending = pipeline::decide(loaded, &first, now).unwrap();

    let same_lead = batch(&[("b1", "b1@x.com"), ("b2", "a2@X.com")]);
    assert!(
        pipeline::load_ahead(&txn, &same_lead, pending.carry())
            .await
            .unwrap()
            .is_none(),
        "a lead the pending batch creates (emails compared normalized)"
    );
    let same_event = batch(&[("a1", "c1@x.com")]);
    assert!(
        pipeline::load_ahead(&txn, &same_event, pending.carry())
            .await
            .unwrap()
            .is_none(),
        "an event id the pending batch claims"
    );
    let apart = batch(&[("d1", "d1@x.com"), ("d2", "d2@x.com")]);
    let ahead = pipeline::load_ahead(&txn, &apart, pending.carry())
        .await
        .unwrap()
        .expect("a batch apart from the pending one is loaded ahead");
    let next = pipeline::decide(ahead, &apart, now).unwrap();
    let answers = pipeline::write(&txn, pending).await.unwrap();
    assert!(
        answers
            .iter()
            .all(|a| a.as_ref().unwrap().outcome() == "qualified")
    );
    let answers = pipeline::write(&txn, next).await.unwrap();
    assert!(
        answers
            .iter()
            .all(|a| a.as_ref().unwrap().outcome() == "qualified")
    );
    txn.commit().await.unwrap();
    assert_eq!(lead::Entity::find().count(&app.db).await.unwrap(), 5);
    assert_eq!(reward::Entity::find().count(&app.db).await.unwrap(), 5);
    assert_eq!(
        conversion_event::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        5
    );
    assert_references_hold(&app).await;
}

/// A writer waiting for SQLite's writer turn is seen (a running import commits sooner then, and
/// writes bigger transactions otherwise), and no longer once it has its turn or stops waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_waiting_for_its_turn_is_seen_until_it_has_it() {
    use app::ssr::db::{begin_write, sqlite_writers_waiting};
    let app = crate::helpers::spawn_sqlite_with(&[]).await;
    async fn until_seen() {
        for _ in 0..1000 {
            if sqlite_writers_waiting() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the waiting writer was never seen");
    }

    let first = begin_write(&app.db).await.unwrap();
    assert!(!sqlite_writers_waiting(), "nobody waits yet");
    let db = app.db.clone();
    let second = tokio::spawn(async move { begin_write(&db).await.map(drop) });
    until_seen().await;
    first.rollback().await.unwrap();
    second.await.unwrap().unwrap();
    assert!(!sqlite_writers_waiting(), "the second writer had its turn");

    // A wait given up (the request was cancelled) stops counting too.
    let first = begin_write(&app.db).await.unwrap();
    let db = app.db.clone();
    let gave_up = tokio::spawn(async move { begin_write(&db).await.map(drop) });
    until_seen().await;
    gave_up.abort();
    assert!(gave_up.await.unwrap_err().is_cancelled());
    assert!(!sqlite_writers_waiting(), "a cancelled wait is not counted");
    first.rollback().await.unwrap();
}
