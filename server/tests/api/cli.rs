//! The `handoff` binary's subcommands, run as a user would.

use std::{
    io::Write,
    process::{Command, Stdio},
};

fn handoff(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handoff"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HANDOFF_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn");
    command
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("handoff-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn api_key_create_prints_the_key_alone_on_stdout() {
    let dir = temp_dir("key");
    let output = handoff(&dir)
        .args(["api-key", "create", "--name", "checkout"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("hk_") && lines[0].len() > 30);
    let listed = handoff(&dir).args(["api-key", "list"]).output().unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(listed.contains("checkout\thk_"), "{listed}");
    assert!(listed.contains("\tfull\tactive"), "{listed}");

    // A key with less access; a level that does not exist is refused, and no key is made.
    let read = handoff(&dir)
        .args([
            "api-key",
            "create",
            "--name",
            "dashboard",
            "--access",
            "read",
        ])
        .output()
        .unwrap();
    assert!(read.status.success());
    let bad = handoff(&dir)
        .args(["api-key", "create", "--name", "root", "--access", "admin"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("not full, conversions or read"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let listed = handoff(&dir).args(["api-key", "list"]).output().unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(listed.contains("dashboard\thk_"), "{listed}");
    assert!(listed.contains("\tread\tactive"), "{listed}");
    assert!(!listed.contains("root"), "{listed}");
}

#[test]
fn admin_create_reads_the_password_from_stdin() {
    let dir = temp_dir("admin");
    let mut child = handoff(&dir)
        .args([
            "admin",
            "create",
            "--email",
            "boss@example.com",
            "--role",
            "admin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("Created boss@example.com (admin)"));

    let mut short = handoff(&dir)
        .args(["admin", "create", "--email", "other@example.com"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    short.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let output = short.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least 10 characters"));
}

#[test]
fn a_bad_setting_is_one_clear_line_and_a_non_zero_exit() {
    let dir = temp_dir("bad");
    let output = handoff(&dir)
        .env("HANDOFF_ADDR", "not-an-address")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("HANDOFF_ADDR") && !stderr.contains("panicked"));
}

#[test]
fn demo_loads_a_living_data_set_once() {
    let dir = temp_dir("demo");
    let output = handoff(&dir).arg("demo").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("50 referrers and 500 leads"));
    // Purchases went through the engine: qualified leads have rewards, some of them issued.
    let url = format!("sqlite://{}", dir.join("handoff.db").display());
    let count = |sql: &'static str| {
        let url = url.clone();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                use sea_orm::ConnectionTrait;
                let db = sea_orm::Database::connect(&url).await.unwrap();
                let row = db
                    .query_one_raw(sea_orm::Statement::from_string(
                        sea_orm::DbBackend::Sqlite,
                        sql,
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                row.try_get_by_index::<i64>(0).unwrap()
            })
    };
    assert_eq!(
        count("select count(*) from leads where status = 'rejected'"),
        50
    );
    assert!(count("select count(*) from rewards") > 200);
    assert_eq!(
        count("select count(*) from rewards where status = 'issued'"),
        20
    );
    let again = handoff(&dir).arg("demo").output().unwrap();
    assert!(
        !again.status.success(),
        "a second demo load is refused, not duplicated"
    );
}

/// `demo --leads N` imports N friends who clicked and bought, spread over 180 days, and the
/// counters it leaves are the ones `recount` arrives at.
#[test]
fn demo_at_scale_imports_every_friend_and_recount_agrees() {
    let dir = temp_dir("demo-scale");
    let output = handoff(&dir)
        .args(["demo", "--leads", "900"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("100 referrers and 900 leads"), "{stderr}");
    let url = format!("sqlite://{}", dir.join("handoff.db").display());
    let rows = |sql: &'static str| {
        let url = url.clone();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                use sea_orm::ConnectionTrait;
                let db = sea_orm::Database::connect(&url).await.unwrap();
                db.query_all_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Sqlite,
                    sql,
                ))
                .await
                .unwrap()
                .iter()
                .map(|row| {
                    (0..4)
                        .map_while(|i| row.try_get_by_index::<i64>(i).ok())
                        .collect::<Vec<i64>>()
                })
                .collect::<Vec<_>>()
            })
    };
    assert_eq!(
        rows("select count(*), sum(status = 'qualified') from leads"),
        vec![vec![900, 900]]
    );
    assert_eq!(
        rows("select sum(clicks), sum(leads), sum(qualified) from campaign_days"),
        vec![vec![900, 900, 900]]
    );
    assert_eq!(
        rows("select count(*) from campaign_days where leads > 0"),
        vec![vec![180]],
        "spread over 180 days"
    );
    let before =
        rows("select referrer_id, clicks, leads, qualified from referrer_totals order by 1");
    assert_eq!(before.len(), 100);
    let recount = handoff(&dir).arg("recount").output().unwrap();
    assert!(
        recount.status.success(),
        "{}",
        String::from_utf8_lossy(&recount.stderr)
    );
    assert_eq!(
        rows("select referrer_id, clicks, leads, qualified from referrer_totals order by 1"),
        before
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_subcommand_has_help() {
    let dir = temp_dir("help");
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["admin", "create", "--help"],
        vec!["api-key", "create", "--help"],
        vec!["demo", "--help"],
        vec!["recount", "--help"],
        vec!["migrate", "--help"],
    ] {
        let output = handoff(&dir).args(&args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        assert!(
            String::from_utf8(output.stdout).unwrap().contains("Usage"),
            "{args:?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn the_data_directory_and_its_files_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let parent = temp_dir("private");
    // A data directory that does not exist yet, two levels down: Handoff creates both.
    let dir = parent.join("new").join("data");
    let output = handoff(&dir)
        .args(["api-key", "create", "--name", "modes"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "the data directory");
    assert_eq!(mode(&parent.join("new")), 0o700, "a parent Handoff created");
    assert_eq!(mode(&dir.join("handoff.db")), 0o600, "the database");
    assert_eq!(mode(&dir.join("secret")), 0o600, "the server secret");
    for side in ["handoff.db-wal", "handoff.db-shm"] {
        let path = dir.join(side);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{side}");
        }
    }
    // A directory the administrator made keeps its permissions.
    let own = temp_dir("own");
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o750)).unwrap();
    let output = handoff(&own).args(["api-key", "list"]).output().unwrap();
    assert!(output.status.success());
    assert_eq!(mode(&own), 0o750);
    assert_eq!(mode(&own.join("handoff.db")), 0o600);
    let _ = std::fs::remove_dir_all(&parent);
    let _ = std::fs::remove_dir_all(&own);
}
