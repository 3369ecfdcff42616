//! Starts the real application on port 0 against a fresh database: a SQLite file in a temp
//! directory, or a PostgreSQL database created (and dropped) on the server in
//! `TEST_DATABASE_URL`.

use std::collections::BTreeMap;

use app::ssr::{services::api_keys, state::AppState};
use reqwest::{Client, Response, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use server::{
    config::{Settings, Sources},
    startup::Application,
};

/// Which database engine a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running application and a cookie-keeping client that does not follow redirects.
pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub db: DatabaseConnection,
    pub client: Client,
    pub api_key: String,
    /// The database the app uses (for running the CLI against the same data).
    pub database_url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
    _pg: Option<PgDatabase>,
    /// Last, so it goes after the app is told to stop.
    _data_dir: DataDir,
}

/// A test's data directory under the system's temporary directory, removed when the test ends
/// (an open SQLite file may be unlinked on Unix; the app is stopping by then).
struct DataDir(std::path::PathBuf);

impl DataDir {
    fn create() -> DataDir {
        let path = std::env::temp_dir().join(format!("handoff-test-{}", unique_suffix()));
        std::fs::create_dir_all(&path).expect("temp dir");
        DataDir(path)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A per-test PostgreSQL database, dropped when the test ends.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; use a thread with its own runtime to finish the job.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async move {
                    if let Ok(db) = Database::connect(&admin_url).await {
                        let _ = db
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            }
        })
        .join();
    }
}

fn unique_suffix() -> String {
    format!(
        "{}_{}",
        std::process::id(),
        app::ssr::services::secrets::random_token(6)
            .to_lowercase()
            .replace(['-', '_'], "x")
    )
}

fn pg_url_with_database(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Settings of a test server: its own data directory, a free port, fast workers.
/// `extra` adds (or overrides) environment variables.
fn test_settings(
    data_dir: &std::path::Path,
    database_url: &str,
    extra: &[(&str, &str)],
) -> Settings {
    let env: BTreeMap<String, String> = [
        ("HANDOFF_DATA_DIR", data_dir.display().to_string()),
        ("HANDOFF_ADDR", "127.0.0.1:0".to_owned()),
        ("DATABASE_URL", database_url.to_owned()),
        ("HANDOFF_CLICK_FLUSH_MS", "20".to_owned()),
        ("HANDOFF_OUTBOX_POLL_MS", "50".to_owned()),
        // Tests' webhook receivers and fake CRMs listen on loopback; the refusal of private
        // addresses is tested with this set back to false (outbound.rs).
        ("HANDOFF_ALLOW_PRIVATE_NETWORKS", "true".to_owned()),
        // Every test client is one address sending far more than a person would; the limits
        // are tested with them set (rate_limits.rs).
        (
            "HANDOFF_RATE_LIMITS",
            "redirects=0 friend_form=0 webhooks=0 api=0".to_owned(),
        ),
        // Likewise hundreds of connections at once from one address (slow_clients.rs sets it).
        ("HANDOFF_MAX_CONNECTIONS_PER_CLIENT", "0".to_owned()),
    ]
    .into_iter()
    .chain(extra.iter().map(|(k, v)| (*k, (*v).to_owned())))
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Settings::load(&Sources {
        env,
        config_file: None,
    })
    .expect("test settings")
}

/// Starts the app. On PostgreSQL without `TEST_DATABASE_URL` the test is skipped with a loud
/// message, except in CI, where that is a failure.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, &[]).await
}

/// [`spawn_app`] with more environment variables for the app's settings.
pub async fn spawn_app_with(backend: Backend, env: &[(&str, &str)]) -> Option<TestApp> {
    let dir = DataDir::create();
    let data_dir = dir.0.clone();
    let (database_url, pg) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}/handoff.db?mode=rwc", data_dir.display()),
            None,
        ),
        Backend::Postgres => {
            let Some(admin_url) = std::env::var("TEST_DATABASE_URL")
                .ok()
                .filter(|u| !u.is_empty())
            else {
                assert!(
                    std::env::var("CI").is_err(),
                    "CI must run the PostgreSQL tests, but TEST_DATABASE_URL is not set"
                );
                // Written straight to stderr: `eprintln!` output of a passing test is captured
                // and never shown, and a skip must be seen. (scripts/test.sh warns as well.)
                use std::io::Write;
                let _ = std::io::stderr().write_all(
                    b"\n!!! SKIPPED: a PostgreSQL test (set TEST_DATABASE_URL, or run scripts/test.sh) !!!\n",
                );
                return None;
            };
            let name = format!("handoff_test_{}", unique_suffix());
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            (
                pg_url_with_database(&admin_url, &name),
                Some(PgDatabase { admin_url, name }),
            )
        }
    };
    let settings = test_settings(&data_dir, &database_url, env);
    let application = Application::build(settings).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let state = application.state().clone();
    let db = state.db.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(application.run_until(async move {
        let _ = stopped.await;
    }));
    let (_, api_key) = api_keys::create(
        &db,
        &app::ssr::services::audit::Actor::command_line(),
        "tests",
        app::domain::api_access::ApiAccess::Full,
    )
    .await
    .expect("api key");
    let client = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Some(TestApp {
        address,
        state,
        db,
        client,
        api_key,
        database_url,
        _stop: stop,
        _pg: pg,
        _data_dir: dir,
    })
}

/// An app on SQLite with `env` in its configuration (for a test of one setting).
pub async fn spawn_sqlite_with(env: &[(&str, &str)]) -> TestApp {
    spawn_app_with(Backend::Sqlite, env)
        .await
        .expect("sqlite app")
}

/// A second server process on the same database as `app` (several processes sharing one
/// database). Returns its address and a handle that stops it when dropped.
pub async fn spawn_sibling(app: &TestApp) -> (String, tokio::sync::oneshot::Sender<()>) {
    let data_dir = std::env::temp_dir().join(format!("handoff-test-{}", unique_suffix()));
    std::fs::create_dir_all(&data_dir).expect("temp dir");
    let settings = test_settings(&data_dir, &app.database_url, &[]);
    let application = Application::build(settings).await.expect("sibling builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(application.run_until(async move {
        let _ = stopped.await;
    }));
    (address, stop)
}

impl TestApp {
    /// `POST` JSON to the API with the test's key.
    pub async fn post_api(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(format!("{}{path}", self.address))
            .bearer_auth(&self.api_key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// `GET` from the API with the test's key.
    pub async fn get_api(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.address))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .expect("request")
    }

    /// `GET` JSON from the API with the test's key.
    pub async fn get_json(&self, path: &str) -> Value {
        self.get_api(path).await.json().await.expect("json body")
    }

    /// Submits Handoff's own friend form at `path` with `fields`.
    pub async fn hosted_sign_up(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut form = vec![("_hosted", "1")];
        form.extend_from_slice(fields);
        self.post_form(path, &form).await
    }

    /// Creates a campaign through the API and returns its JSON.
    pub async fn campaign(&self, body: Value) -> Value {
        let response = self.post_api("/api/v1/campaigns", &body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "campaign create");
        response.json().await.expect("json")
    }

    /// Creates a referrer through the API and returns its JSON.
    pub async fn referrer(&self, campaign: &str, name: &str, email: &str) -> Value {
        let response = self
            .post_api(
                "/api/v1/referrers",
                &json!({"campaign": campaign, "name": name, "email": email}),
            )
            .await;
        assert!(
            response.status().is_success(),
            "referrer create: {}",
            response.status()
        );
        response.json().await.expect("json")
    }

    /// A browser-like form post (with the app's own Origin).
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.address))
            .header("Origin", &self.address)
            .header("Accept", "text/html")
            .header("Referer", format!("{}{path}", self.address))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// A browser's `multipart/form-data` post of `fields` and one file (`field`, file name, bytes),
    /// with the app's own Origin, as a plain form with a file input sends it.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Response {
        const BOUNDARY: &str = "----handoff-test-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        let (field, filename, bytes) = file;
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        self.client
            .post(format!("{}{path}", self.address))
            .header("Origin", &self.address)
            .header("Accept", "text/html")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
            .await
            .expect("request")
    }

    /// Creates an admin account with `role` and logs this client in with it.
    pub async fn log_in_as(&self, email: &str, role: app::domain::roles::Role) {
        const PASSWORD: &str = "correct horse battery staple";
        app::ssr::services::admins::create(&self.db, email, PASSWORD, role)
            .await
            .expect("admin account");
        let response = self
            .post_form("/rpc/login", &[("email", email), ("password", PASSWORD)])
            .await;
        assert!(
            response.status().is_redirection() || response.status().is_success(),
            "login: {}",
            response.status()
        );
    }

    /// A server function called as the hydrated page calls it (a form body, a JSON answer):
    /// the status and the body, as JSON when it is.
    pub async fn rpc(&self, endpoint: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/rpc/{endpoint}", self.address))
            .header("Origin", &self.address)
            .form(form)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `GET` a page, as a browser navigation does.
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.address))
            .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
            .await
            .expect("request")
    }
}

/// A code with one symbol changed (not the first), still in the code alphabet.
pub fn one_typo(code: &str) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    let i = chars.len() - 2;
    chars[i] = if chars[i] == '7' { '8' } else { '7' };
    chars.into_iter().collect()
}

/// Runs each scenario on SQLite only, for what does not touch the database engine.
#[macro_export]
macro_rules! on_sqlite {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    super::$scenario($crate::helpers::spawn_sqlite_with(&[]).await).await;
                }
            }
        )*
    };
}

/// Runs a scenario `async fn(TestApp)` as two tests, one on SQLite and one on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite)
                        .await
                        .expect("sqlite app");
                    super::$scenario(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_postgres() {
                    if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await {
                        super::$scenario(app).await;
                    }
                }
            }
        )*
    };
}

/// The number of clicks in the database once it reaches `want`, or after 2 s. The click writer
/// batches (every 20 ms in tests), so this polls briefly rather than sleeping a fixed time.
pub async fn clicks_in_db(app: &TestApp, want: u64) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let mut n = 0;
    for _ in 0..100 {
        n = app::ssr::entities::click::Entity::find()
            .count(&app.db)
            .await
            .unwrap();
        if n >= want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    n
}

/// Checks that the maintained counters (kept by triggers on every write) equal what a count
/// from scratch gives: snapshots them, rebuilds them, and compares. Rows that went back to zero
/// are left out (a trigger keeps them, a rebuild does not make them).
pub async fn assert_counters_agree(app: &TestApp) {
    let kept = counter_rows(&app.db).await;
    app::ssr::db::rebuild_counters(&app.db).await.unwrap();
    let counted = counter_rows(&app.db).await;
    assert_eq!(kept, counted, "maintained counters differ from a recount");
}

async fn counter_rows(db: &DatabaseConnection) -> Vec<String> {
    use app::ssr::entities::{campaign_channel, campaign_day, campaign_reward, referrer_total};
    use sea_orm::EntityTrait;
    let mut rows = Vec::new();
    for r in referrer_total::Entity::find().all(db).await.unwrap() {
        if (r.clicks, r.leads, r.qualified) != (0, 0, 0) {
            rows.push(format!("{r:?}"));
        }
    }
    for r in campaign_day::Entity::find().all(db).await.unwrap() {
        if (r.clicks, r.leads, r.qualified) != (0, 0, 0) {
            rows.push(format!("{r:?}"));
        }
    }
    for r in campaign_channel::Entity::find().all(db).await.unwrap() {
        if r.clicks != 0 {
            rows.push(format!("{r:?}"));
        }
    }
    for r in campaign_reward::Entity::find().all(db).await.unwrap() {
        if (r.rewards, r.amount_minor) != (0, 0) {
            rows.push(format!("{r:?}"));
        }
    }
    rows.sort();
    rows
}
