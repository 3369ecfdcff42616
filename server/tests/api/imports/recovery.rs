//! An import that is killed part way resumes without duplicates; one that fails counts only the
//! rows it committed, and tells each qualification once.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use app::ssr::entities::{email, import, import_digest, lead};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

use super::{Generated, assert_references_hold, csv_events, generate, setup};
use crate::{helpers::TestApp, on_both_databases};

fn handoff_cli(app: &TestApp, dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handoff"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HANDOFF_DATA_DIR", dir)
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn");
    command
}

/// Writes `file` as `orders.csv` into a new temporary directory (also the CLI's data directory);
/// returns both paths.
fn file_on_disk(file: &Generated) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "handoff-import-{}",
        app::ssr::services::secrets::random_token(6)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("orders.csv");
    std::fs::write(&path, &file.bytes).unwrap();
    (dir, path)
}

/// `handoff import conversions <path> --campaign spring`.
fn cli_import_args(path: &std::path::Path) -> [&str; 5] {
    [
        "import",
        "conversions",
        path.to_str().unwrap(),
        "--campaign",
        "spring",
    ]
}

async fn a_killed_import_resumes_without_duplicates(app: TestApp) {
    let codes = setup(&app).await;
    // Five transactions' worth of rows (10,000 each at most), so the kill lands after a commit
    // and before the end however fast the machine is.
    let file = generate(50_000, &codes);
    let (dir, path) = file_on_disk(&file);
    let args = cli_import_args(&path);

    let mut child = handoff_cli(&app, &dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as a chunk is committed: killed first and looked at after, since the
    // import can finish in the time a status read takes (it did, on an idle machine, when the
    // status was read before the kill).
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let progress = import::Entity::find().one(&app.db).await.unwrap();
        if progress.is_some_and(|p| p.imported > 0) {
            break;
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    let killed = import::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(killed.status, "running", "it never finished");
    let committed = csv_events(&app).await;
    assert!(committed < file.good, "killed before the end");
    assert!(
        committed >= u64::try_from(killed.imported).unwrap(),
        "every row counted as imported is there"
    );

    let output = handoff_cli(&app, &dir).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("{} new", file.good - committed)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{committed} duplicates")),
        "{stdout}"
    );
    assert_eq!(csv_events(&app).await, file.good);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 21 [Email]"), "{stderr}");
    assert_references_hold(&app).await;
    // The killed run never ended: its counts went out with the second run's, in one email.
    assert_every_qualification_told_once(&app, 3, 1).await;
    let _ = std::fs::remove_dir_all(&dir);
    crate::helpers::assert_counters_agree(&app).await;
}

/// Every referral the imports qualified is in exactly one summary email: `per_referrer` emails
/// to each of `referrers` (one per import that ended), whose counts add up to the qualified
/// leads, and no counts are left waiting.
async fn assert_every_qualification_told_once(
    app: &TestApp,
    referrers: usize,
    per_referrer: usize,
) {
    assert_eq!(
        import_digest::Entity::find().count(&app.db).await.unwrap(),
        0,
        "counts left waiting"
    );
    let told = email::Entity::find()
        .filter(email::Column::Kind.is_in(["referral_qualified", "referrals_qualified"]))
        .all(&app.db)
        .await
        .unwrap();
    let mut to: Vec<&str> = told.iter().map(|e| e.to_address.as_str()).collect();
    to.sort_unstable();
    to.dedup();
    assert_eq!(
        (told.len(), to.len()),
        (referrers * per_referrer, referrers),
        "emails per referrer"
    );
    let counted: u64 = told
        .iter()
        .map(|e| match e.kind.as_str() {
            "referral_qualified" => 1,
            _ => e
                .subject
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("the summary's subject starts with its count"),
        })
        .sum();
    let qualified = lead::Entity::find()
        .filter(lead::Column::Status.eq("qualified"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(counted, qualified, "every qualified referral is told, once");
}

/// A database error half way fails the import: its open transaction is rolled back, and the
/// stored counters count exactly the rows committed before. Here a trigger refuses the progress
/// update that would take the count past 50,000: it runs at the end of a transaction, after its
/// rows were counted, so counting them would show. No transaction holds more than 50,000 rows
/// (`imports::CommitPolicy`), so of 60,000 rows at least one transaction commits before the
/// refusal, however fast the machine.
async fn a_failed_import_counts_only_committed_rows(app: TestApp) {
    let codes = setup(&app).await;
    let file = generate(60_000, &codes);
    let trigger = match app.db.get_database_backend() {
        DbBackend::Sqlite => {
            "CREATE TRIGGER refuse_progress BEFORE UPDATE ON imports \
             WHEN NEW.imported > 50000 AND NEW.status = 'running' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        }
        _ => {
            "CREATE FUNCTION refuse_progress() RETURNS trigger AS $$ BEGIN \
             IF NEW.imported > 50000 AND NEW.status = 'running' THEN \
             RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_progress BEFORE UPDATE ON imports \
             FOR EACH ROW EXECUTE FUNCTION refuse_progress()"
        }
    };
    app.db.execute_unprepared(trigger).await.unwrap();
    let (dir, path) = file_on_disk(&file);
    let args = cli_import_args(&path);

    let output = handoff_cli(&app, &dir).args(args).output().unwrap();
    assert!(
        !output.status.success(),
        "the refused update fails the import"
    );
    let failed = import::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(failed.status, "failed");
    let committed = csv_events(&app).await;
    assert!(
        committed > 0 && committed <= 50_000,
        "{committed} rows committed"
    );
    let report: Value = serde_json::from_str(&failed.report).unwrap();
    assert_eq!(
        (
            u64::try_from(failed.imported).unwrap(),
            report["imported"].as_u64()
        ),
        (committed, Some(committed)),
        "the counters and the report count the committed rows, not the rolled-back ones"
    );

    // Once the cause is gone, running it again finishes it.
    let drop = match app.db.get_database_backend() {
        DbBackend::Sqlite => "DROP TRIGGER refuse_progress",
        _ => "DROP TRIGGER refuse_progress ON imports",
    };
    app.db.execute_unprepared(drop).await.unwrap();
    let output = handoff_cli(&app, &dir).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(csv_events(&app).await, file.good);
    // The failed run told what it had committed when it ended, the second run the rest.
    assert_every_qualification_told_once(&app, 3, 2).await;
    let _ = std::fs::remove_dir_all(&dir);
}

on_both_databases!(
    a_killed_import_resumes_without_duplicates,
    a_failed_import_counts_only_committed_rows,
);
