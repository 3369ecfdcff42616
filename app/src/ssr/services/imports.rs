//! CSV imports of conversions: the admin upload, `handoff import conversions` and
//! `POST /api/v1/conversions/import` all call [`run`].
//!
//! The file is read on a blocking thread by [`ConversionCsvReader`] and handed over in chunks
//! through a bounded channel, so a file of any size is processed in constant memory. Each chunk
//! is one batch of the conversion engine, with source `csv` and the row's order id (or content
//! hash) as its event id: re-importing a file, or re-running one that was killed half way, adds
//! nothing twice. A real import commits every few chunks (with the import's counters in the same
//! transaction); a preview runs the same engine in one transaction that is rolled back. On SQLite
//! a real import pipelines its chunks (`conversions::pipeline`): the next chunk is loaded before
//! the previous one is written and decided while it is, which the engine allows only when the
//! next chunk cannot read what the previous one writes.

use std::{
    fs::File,
    io::{BufReader, Read},
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::{
    domain::rules::normalize_event_name,
    error::AppError,
    ssr::{
        conversion_csv::{ColumnMap, ConversionCsvReader, RowOutcome},
        db::{self, OwnWriter, PreviewTxn, begin_write, own_writer},
        entities::{campaign, import},
        services::{
            campaigns,
            conversions::{self, pipeline, source},
            emails::digest,
            rules::{self, LoadedRules},
        },
        state::{AppState, RuntimeSettings},
    },
    types::{ConversionInput, ImportError, ImportReport, ImportView},
};

/// Rows per chunk handed over by the reader thread, and per batch of the conversion engine.
pub const CHUNK_ROWS: usize = 1_000;
/// When a real import commits its transaction. Each commit writes every page the transaction
/// changed to the WAL, and the indexes that take rows at random places (amounts, emails) touch
/// nearly the same pages in every transaction, so fewer, bigger transactions do much less work:
/// the rows of 1,000,000 imported with the set-based floor took 65 s at 2,500 rows per
/// transaction, 40 s at 10,000 and 29 s at 50,000 (docs/BENCHMARKS.md). Against that, a
/// transaction holds the writer turn every other write of the instance waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CommitPolicy {
    /// Rows per transaction, at most.
    rows: u64,
    /// Age at which a transaction commits, whoever waits: it bounds how long writers that this
    /// process cannot see wait (another process on SQLite, any transaction on PostgreSQL).
    age: Duration,
    /// Age at which a transaction commits when another writer of this process waits for its
    /// turn (SQLite), so a request never waits much longer than this for an import.
    yield_age: Duration,
}

impl CommitPolicy {
    /// SQLite: big transactions unless someone waits. PostgreSQL: rows the import inserts lock
    /// the counters of the referrers they credit until the commit (see ARCHITECTURE), so its
    /// transactions stay short.
    fn for_backend(backend: DbBackend) -> Self {
        match backend {
            DbBackend::Sqlite => CommitPolicy {
                rows: 50_000,
                age: Duration::from_secs(2),
                yield_age: Duration::from_millis(250),
            },
            _ => CommitPolicy {
                rows: 10_000,
                age: Duration::from_millis(250),
                yield_age: Duration::from_millis(250),
            },
        }
    }

    /// Whether a transaction with `rows` rows, begun `age` ago, commits now.
    fn commits(self, rows: u64, age: Duration, writer_waiting: bool) -> bool {
        rows >= self.rows || age >= self.age || (writer_waiting && age >= self.yield_age)
    }
}

/// Failed rows listed in a report; the rest are counted.
pub const MAX_REPORTED_ERRORS: usize = 10_000;

/// What to import, and how.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Campaign slug.
    pub campaign: String,
    /// The file's name as uploaded (for the history).
    pub filename: String,
    /// Preview only: run everything, write nothing.
    pub dry_run: bool,
    /// The event name for rows without an event column; the campaign's first qualifying event
    /// when `None`.
    pub default_event: Option<String>,
}

/// The header text of each role's column, to name the column of a refused field.
#[derive(Clone, Debug, Default)]
struct ColumnNames {
    email: String,
    code: String,
    promo: String,
    amount: String,
    currency: String,
    event: String,
    date: String,
    id: String,
}

impl ColumnNames {
    fn new(headers: &[String], map: &ColumnMap) -> Self {
        let name = |i: Option<usize>| i.and_then(|i| headers.get(i)).cloned().unwrap_or_default();
        ColumnNames {
            email: name(map.email),
            code: name(map.code),
            promo: name(map.promo_code),
            amount: name(map.amount),
            currency: name(map.currency),
            event: name(map.event),
            date: name(map.date),
            id: name(map.external_id),
        }
    }

    /// The column behind a service field name.
    fn for_field(&self, field: Option<&str>) -> String {
        match field {
            Some("email") => self.email.clone(),
            Some("referral_code") => self.code.clone(),
            Some("promotion_code") => self.promo.clone(),
            Some("amount") => self.amount.clone(),
            Some("currency") => self.currency.clone(),
            Some("event") => self.event.clone(),
            Some("occurred_at") => self.date.clone(),
            Some("event_id") => self.id.clone(),
            _ => String::new(),
        }
    }
}

/// A chunk of rows, read and checked on the reader's thread (so that the import's own task only
/// runs them through the engine), and how far into the file the reader got.
struct Chunk {
    /// How many rows it holds, good and bad.
    rows: u64,
    /// The refused rows and the good ones' events (`check_chunk`), or what stopped the import.
    checked: Result<(CheckedChunk, Vec<conversions::CheckedEvent>), AppError>,
    bytes_read: u64,
}

impl Chunk {
    /// Checks `rows`, which the reader read up to `bytes_read`.
    fn check(context: &Context, rows: Vec<RowOutcome>, bytes_read: u64) -> Self {
        Chunk {
            rows: rows.len() as u64,
            checked: check_chunk(context, rows),
            bytes_read,
        }
    }

    /// Counts the chunk's rows in `report` and hands over its checked rows.
    fn take(
        self,
        report: &mut ImportReport,
    ) -> Result<(CheckedChunk, Vec<conversions::CheckedEvent>), AppError> {
        report.rows += self.rows;
        self.checked
    }
}

/// SHA-256 of a file, hex.
fn file_sha256(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = BufReader::new(File::open(path)?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hex::encode(hasher.finalize()), total))
}

fn open_reader(path: &Path) -> Result<ConversionCsvReader<BufReader<File>>, AppError> {
    let file = File::open(path).map_err(|e| AppError::internal("imports::open", e))?;
    ConversionCsvReader::new(BufReader::with_capacity(1 << 16, file))
        .map_err(|e| AppError::invalid("invalid_csv", "file", e.to_string()))
}

/// Imports (or previews) the conversions in the CSV file at `path`: the CLI's and the REST API's
/// entry. A real import is recorded in the upload history.
pub async fn run(
    state: &AppState,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportReport, AppError> {
    let campaign = campaigns::find_row(&state.db, &options.campaign).await?;
    let import_id = if options.dry_run {
        // Refuse a file that is not a conversions CSV before anything else.
        let owned = path.to_owned();
        tokio::task::spawn_blocking(move || open_reader(&owned).map(drop))
            .await
            .map_err(|e| AppError::internal("imports::open join", e))??;
        None
    } else {
        Some(
            create_row(
                state,
                &campaign,
                &options.filename,
                path,
                "running",
                options.default_event.as_deref(),
            )
            .await?,
        )
    };
    execute(state, path, options, &campaign, import_id).await
}

/// Adds an import to the history; the file must already be readable as a conversions CSV.
/// `default_event` is the event name for rows without one (`None`: the campaign's first
/// qualifying event).
async fn create_row(
    state: &AppState,
    campaign: &campaign::Model,
    filename: &str,
    path: &Path,
    status: &str,
    default_event: Option<&str>,
) -> Result<i64, AppError> {
    let owned = path.to_owned();
    let (sha, size) = tokio::task::spawn_blocking(move || {
        open_reader(&owned)?;
        file_sha256(&owned).map_err(|e| AppError::internal("imports::hash", e))
    })
    .await
    .map_err(|e| AppError::internal("imports::hash join", e))??;
    let row = import::ActiveModel {
        campaign_id: Set(campaign.id),
        filename: Set(filename.chars().take(255).collect()),
        file_sha256: Set(sha),
        status: Set(status.to_owned()),
        bytes_total: Set(i64::try_from(size).unwrap_or(i64::MAX)),
        bytes_done: Set(0),
        rows: Set(0),
        imported: Set(0),
        duplicates: Set(0),
        unmatched: Set(0),
        invalid: Set(0),
        error_report: Set(String::new()),
        report: Set(String::new()),
        created_at: Set(Utc::now()),
        finished_at: Set(None),
        default_event: Set(default_event
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)),
        ..Default::default()
    }
    .insert(&state.db)
    .await
    .map_err(|e| AppError::internal("imports::create", e))?;
    Ok(row.id)
}

/// Reads the file and records (or previews) every row; `import_id` is the history row to keep
/// current (for a preview, only its in-memory progress is kept).
async fn execute(
    state: &AppState,
    path: &Path,
    options: &ImportOptions,
    campaign: &campaign::Model,
    import_id: Option<i64>,
) -> Result<ImportReport, AppError> {
    let rules = rules::load(&state.db, campaign.id).await?;
    let default_event = match options.default_event.as_deref().map(str::trim) {
        Some(e) if !e.is_empty() => e.to_owned(),
        _ => rules
            .qualification
            .events
            .first()
            .cloned()
            .unwrap_or_else(|| "purchase".to_owned()),
    };
    let owned = path.to_owned();
    let reader = tokio::task::spawn_blocking(move || open_reader(&owned))
        .await
        .map_err(|e| AppError::internal("imports::open join", e))??;
    let columns = ColumnNames::new(reader.headers(), reader.columns());

    let context = Context {
        campaign: Arc::new(campaign.clone()),
        rules: Arc::new(rules),
        mail: (!options.dry_run).then(|| state.settings.clone()),
        digest: import_id.filter(|_| !options.dry_run),
        default_event: default_event.into(),
        columns: Arc::new(columns),
    };

    let (sender, mut chunks) = mpsc::channel::<Chunk>(4);
    let reader_context = context.clone();
    let reader_thread = tokio::task::spawn_blocking(move || {
        let mut reader = reader;
        let mut rows = Vec::with_capacity(CHUNK_ROWS);
        while let Some(outcome) = reader.next_row() {
            rows.push(outcome);
            if rows.len() == CHUNK_ROWS {
                let full = std::mem::replace(&mut rows, Vec::with_capacity(CHUNK_ROWS));
                let chunk = Chunk::check(&reader_context, full, reader.bytes_read());
                if sender.blocking_send(chunk).is_err() {
                    return;
                }
            }
        }
        let _ = sender.blocking_send(Chunk::check(&reader_context, rows, reader.bytes_read()));
    });

    let mut report = ImportReport {
        import_id,
        dry_run: options.dry_run,
        ..Default::default()
    };
    let outcome = if options.dry_run {
        let file_bytes = tokio::fs::metadata(path)
            .await
            .map_err(|e| AppError::internal("imports::preview size", e))?
            .len();
        preview(
            state,
            &context,
            &mut chunks,
            &mut report,
            import_id,
            file_bytes,
        )
        .await
    } else {
        commit_chunks(state, &context, &mut chunks, &mut report, import_id).await
    };
    drop(chunks);
    let _ = reader_thread.await;
    if let Some(id) = import_id {
        let status = match (&outcome, options.dry_run) {
            (Err(_), _) => "failed",
            (Ok(()), true) => "previewed",
            (Ok(()), false) => "done",
        };
        finish(state, id, campaign, &report, status).await?;
    }
    outcome.map(|()| report)
}

/// Bytes read by previews running in this process (a preview's counters cannot go to the
/// database: its transaction is rolled back).
fn progress_map() -> std::sync::MutexGuard<'static, std::collections::HashMap<i64, u64>> {
    static PROGRESS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<i64, u64>>> =
        std::sync::LazyLock::new(Default::default);
    PROGRESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn staged_path(state: &AppState, id: i64) -> std::path::PathBuf {
    state
        .settings
        .data_dir
        .join("imports")
        .join(format!("{id}.csv"))
}

/// Keeps an uploaded file for a preview and an import started from the admin. Returns the import's
/// id; its status is `uploaded`. `default_event` is the event name for rows without one, kept
/// with the upload so its preview and its import count them alike (`None` or empty: the
/// campaign's first qualifying event); a name that is not one is refused and nothing is staged.
pub async fn stage(
    state: &AppState,
    campaign: &str,
    filename: &str,
    upload: &Path,
    default_event: Option<&str>,
) -> Result<i64, AppError> {
    let default_event = match default_event.map(str::trim).filter(|e| !e.is_empty()) {
        Some(name) => Some(normalize_event_name(name).ok_or_else(|| {
            AppError::invalid(
                "invalid_event",
                "default_event",
                "An event name is letters, digits, spaces, _ . or -, at most 80 characters, like purchase.",
            )
        })?),
        None => None,
    };
    let campaign = campaigns::find_row(&state.db, campaign).await?;
    let id = create_row(
        state,
        &campaign,
        filename,
        upload,
        "uploaded",
        default_event.as_deref(),
    )
    .await?;
    let target = staged_path(state, id);
    let moved = async {
        tokio::fs::create_dir_all(target.parent().unwrap_or(Path::new("."))).await?;
        if tokio::fs::rename(upload, &target).await.is_err() {
            tokio::fs::copy(upload, &target).await?;
        }
        Ok::<_, std::io::Error>(())
    }
    .await;
    if let Err(e) = moved {
        import::Entity::delete_by_id(id).exec(&state.db).await.ok();
        return Err(AppError::internal("imports::stage", e));
    }
    Ok(id)
}

/// Starts a preview (`dry_run`) or the import of a staged file in the background. Refused while
/// one is running, and after the import is done.
pub async fn start(state: &AppState, id: i64, dry_run: bool) -> Result<(), AppError> {
    let row = get(state, id).await?;
    let next = if dry_run { "previewing" } else { "running" };
    // A run cut short by a restart stays `previewing`/`running`; when this process is not running
    // it, it may be started again. Runs are idempotent, so even a second process running the same
    // file at once writes nothing twice.
    {
        let mut running = progress_map();
        if running.contains_key(&id) {
            return Err(AppError::conflict(
                "import_busy",
                "This upload is being processed already.",
            ));
        }
        running.insert(id, 0);
    }
    let allowed: &[&str] = &["uploaded", "previewed", "failed", "previewing", "running"];
    let claimed = import::Entity::update_many()
        .col_expr(import::Column::Status, Expr::value(next))
        .col_expr(import::Column::BytesDone, Expr::value(0i64))
        .filter(import::Column::Id.eq(id))
        .filter(import::Column::Status.is_in(allowed.iter().copied()))
        .exec(&state.db)
        .await;
    let claimed = match claimed {
        Ok(c) => c,
        Err(e) => {
            progress_map().remove(&id);
            return Err(AppError::internal("imports::start", e));
        }
    };
    if claimed.rows_affected == 0 {
        progress_map().remove(&id);
        return Err(AppError::conflict(
            "import_busy",
            format!("This upload is {} and cannot be started now.", row.status),
        ));
    }
    let campaign = match campaign::Entity::find_by_id(row.campaign_id)
        .one(&state.db)
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => {
            progress_map().remove(&id);
            return Err(AppError::not_found("Campaign"));
        }
        Err(e) => {
            progress_map().remove(&id);
            return Err(AppError::internal("imports::start campaign", e));
        }
    };
    let path = staged_path(state, id);
    let options = ImportOptions {
        campaign: campaign.slug.clone(),
        filename: row.filename.clone(),
        dry_run,
        default_event: row.default_event.clone(),
    };
    let state = state.clone();
    let run = {
        let (state, path) = (state.clone(), path.clone());
        async move { execute(&state, &path, &options, &campaign, Some(id)).await }
    };
    run_detached(id, run, move |outcome| async move {
        match outcome {
            Some(Ok(_)) if !dry_run => {
                let _ = tokio::fs::remove_file(&path).await;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => tracing::warn!(import = id, error = %e, "import failed"),
            None => {
                // A bug, not the file: the upload is marked failed so it can be started again
                // (the run is idempotent), and the rest of the server goes on.
                let marked = import::Entity::update_many()
                    .col_expr(import::Column::Status, Expr::value("failed"))
                    .filter(import::Column::Id.eq(id))
                    .filter(import::Column::Status.is_in(["running", "previewing"]))
                    .exec(&state.db)
                    .await;
                if let Err(e) = marked {
                    tracing::error!(import = id, error = %e, "could not mark a panicked import failed");
                }
            }
        }
    });
    Ok(())
}

/// Runs upload `id`'s `run` in the background, then `finish` with its result (`None` when it
/// panicked). The upload leaves this process's running set whatever happens, so a run that
/// panics never keeps its file "being processed" until a restart.
fn run_detached<T, F, G>(id: i64, run: F, finish: impl FnOnce(Option<T>) -> G + Send + 'static)
where
    T: Send + 'static,
    F: std::future::Future<Output = T> + Send + 'static,
    G: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        // Its own task, so a panic in it is a `JoinError` here instead of ending this task
        // before the clean-up below.
        let outcome = tokio::spawn(run).await;
        progress_map().remove(&id);
        if let Err(e) = &outcome {
            tracing::error!(import = id, error = %e, "an import panicked");
        }
        finish(outcome.ok()).await;
    });
}

/// One upload as the admin sees it, with live progress.
pub async fn view(state: &AppState, id: i64) -> Result<ImportView, AppError> {
    let row = get(state, id).await?;
    to_view(state, &row).await
}

async fn to_view(state: &AppState, row: &import::Model) -> Result<ImportView, AppError> {
    let campaign = campaign::Entity::find_by_id(row.campaign_id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("imports::view campaign", e))?
        .map(|c| c.slug)
        .unwrap_or_default();
    let live = progress_map().get(&row.id).copied();
    Ok(ImportView {
        id: row.id,
        campaign,
        filename: row.filename.clone(),
        status: row.status.clone(),
        bytes_total: row.bytes_total,
        bytes_done: match (row.status.as_str(), live) {
            ("previewing", Some(done)) => i64::try_from(done).unwrap_or(i64::MAX),
            _ => row.bytes_done,
        },
        report: serde_json::from_str(&row.report).ok(),
        default_event: row.default_event.clone(),
        created_at: row.created_at,
        finished_at: row.finished_at,
    })
}

/// The upload history, newest first (the last 50).
pub async fn history(state: &AppState) -> Result<Vec<ImportView>, AppError> {
    let rows = import::Entity::find()
        .order_by_desc(import::Column::Id)
        .limit(50)
        .all(&state.db)
        .await
        .map_err(|e| AppError::internal("imports::history", e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(to_view(state, row).await?);
    }
    Ok(out)
}

/// The rows an import (or its last preview) refused, as CSV: `line,column,reason`.
pub async fn error_report(state: &AppState, id: i64) -> Result<String, AppError> {
    let row = get(state, id).await?;
    Ok(if row.error_report.is_empty() {
        ImportError::report_csv(&[])
    } else {
        row.error_report
    })
}

/// What one import's rows are checked and run against (the reader's thread has a copy).
#[derive(Clone)]
struct Context {
    campaign: Arc<campaign::Model>,
    rules: Arc<LoadedRules>,
    /// Notification emails' settings; `None` for a preview, whose writes are rolled back.
    mail: Option<Arc<RuntimeSettings>>,
    /// The import whose end sends each referrer one summary of their qualified referrals
    /// (`emails::digest`); `None` for a preview.
    digest: Option<i64>,
    default_event: Arc<str>,
    columns: Arc<ColumnNames>,
}

/// Runs the rows through the engine and rolls everything back, so the report says what an
/// import would do.
///
/// It is one transaction (later rows see what earlier rows would have done, exactly as in the real
/// import). On SQLite that transaction holds the database's only writer for as long as the
/// preview runs (about 30 s for 1,000,000 rows), so a file larger than `preview_copy_bytes` is
/// previewed on a copy of the database instead ([`PreviewTxn`]).
async fn preview(
    state: &AppState,
    context: &Context,
    chunks: &mut mpsc::Receiver<Chunk>,
    report: &mut ImportReport,
    import_id: Option<i64>,
    file_bytes: u64,
) -> Result<(), AppError> {
    let preview = PreviewTxn::begin(
        &state.db,
        &state.settings.data_dir.join("imports"),
        file_bytes > state.settings.preview_copy_bytes,
    )
    .await
    .map_err(|e| AppError::internal("imports::preview begin", e))?;
    let outcome = preview_in(preview.txn(), context, chunks, report, import_id).await;
    let ended = preview
        .end()
        .await
        .map_err(|e| AppError::internal("imports::preview rollback", e));
    outcome.and(ended)
}

/// Every chunk through the engine inside `txn` (which the caller rolls back).
async fn preview_in(
    txn: &DatabaseTransaction,
    context: &Context,
    chunks: &mut mpsc::Receiver<Chunk>,
    report: &mut ImportReport,
    import_id: Option<i64>,
) -> Result<(), AppError> {
    while let Some(chunk) = chunks.recv().await {
        let bytes_read = chunk.bytes_read;
        process_chunk(txn, context, chunk, report).await?;
        if let Some(id) = import_id {
            progress_map().insert(id, bytes_read);
        }
    }
    Ok(())
}

async fn commit_chunks(
    state: &AppState,
    context: &Context,
    chunks: &mut mpsc::Receiver<Chunk>,
    report: &mut ImportReport,
    import_id: Option<i64>,
) -> Result<(), AppError> {
    let own = own_writer(&state.db)
        .await
        .map_err(|e| AppError::internal("imports::connect", e))?;
    let outcome = match &own {
        Some(own) => commit_through(own.db(), Some(own), context, chunks, report, import_id).await,
        None => commit_through(&state.db, None, context, chunks, report, import_id).await,
    };
    if let Some(own) = own {
        own.close().await;
    }
    outcome
}

/// [`commit_chunks`] through `writer` (with its checkpoints, when it is an [`OwnWriter`]). When
/// it fails, `report` is put back as it was when the failed transaction began, so the counters
/// `finish` stores count only committed rows.
async fn commit_through(
    writer: &DatabaseConnection,
    own: Option<&OwnWriter>,
    context: &Context,
    chunks: &mut mpsc::Receiver<Chunk>,
    report: &mut ImportReport,
    import_id: Option<i64>,
) -> Result<(), AppError> {
    let mut next = chunks.recv().await;
    while let Some(chunk) = next.take() {
        let committed = report.clone();
        if let Err(e) = commit_transaction(writer, context, chunk, chunks, report, import_id).await
        {
            *report = committed;
            return Err(e);
        }
        if let Some(own) = own {
            own.after_commit().await;
        }
        next = chunks.recv().await;
    }
    Ok(())
}

/// Imports `chunk`, and the chunks after it until the transaction is big or old enough, in one
/// transaction with the import's counters.
async fn commit_transaction(
    writer: &DatabaseConnection,
    context: &Context,
    mut chunk: Chunk,
    chunks: &mut mpsc::Receiver<Chunk>,
    report: &mut ImportReport,
    import_id: Option<i64>,
) -> Result<(), AppError> {
    let txn = begin_write(writer)
        .await
        .map_err(|e| AppError::internal("imports::chunk begin", e))?;
    let started = Instant::now();
    let policy = CommitPolicy::for_backend(txn.get_database_backend());
    let bytes_read = if pipeline::pipelines(txn.get_database_backend(), &context.rules) {
        pipelined_chunks(&txn, context, policy, chunk, chunks, report, started).await?
    } else {
        let mut rows = 0;
        loop {
            rows += chunk.rows;
            let bytes_read = chunk.bytes_read;
            process_chunk(&txn, context, chunk, report).await?;
            match next_in_transaction(policy, rows, started, chunks).await {
                Some(more) => chunk = more,
                None => break bytes_read,
            }
        }
    };
    if let Some(id) = import_id {
        // The counters move with the rows they count: after a crash they match the data.
        import::Entity::update_many()
            .col_expr(
                import::Column::BytesDone,
                Expr::value(i64::try_from(bytes_read).unwrap_or(i64::MAX)),
            )
            .col_expr(import::Column::Rows, Expr::value(count(report.rows)))
            .col_expr(
                import::Column::Imported,
                Expr::value(count(report.imported)),
            )
            .col_expr(
                import::Column::Duplicates,
                Expr::value(count(report.duplicates)),
            )
            .col_expr(
                import::Column::Unmatched,
                Expr::value(count(report.unmatched)),
            )
            .col_expr(import::Column::Invalid, Expr::value(count(report.invalid)))
            .filter(import::Column::Id.eq(id))
            .exec(&txn)
            .await
            .map_err(|e| AppError::internal("imports::progress", e))?;
    }
    txn.commit()
        .await
        .map_err(|e| AppError::internal("imports::chunk commit", e))?;
    Ok(())
}

/// The chunks of one transaction as a pipeline (`conversions::pipeline`): each chunk is loaded
/// before the previous one's writes run, and decided on a blocking thread while they do. Returns
/// how far into the file the last chunk reached.
async fn pipelined_chunks(
    txn: &DatabaseTransaction,
    context: &Context,
    policy: CommitPolicy,
    mut chunk: Chunk,
    chunks: &mut mpsc::Receiver<Chunk>,
    report: &mut ImportReport,
    started: Instant,
) -> Result<u64, AppError> {
    let mut rows = 0;
    // The decided chunk whose writes have not run yet.
    let mut pending: Option<(pipeline::Decided, CheckedChunk)> = None;
    let bytes_read = loop {
        rows += chunk.rows;
        let bytes_read = chunk.bytes_read;
        let (checked, events) = chunk.take(report)?;
        let items = pipeline::items(
            source::CSV,
            &context.campaign,
            &context.rules,
            context.mail.as_ref(),
            context.digest,
            events,
        );
        let ahead = match &pending {
            Some((decided, _)) => pipeline::load_ahead(txn, &items, decided.carry()).await?,
            None => Some(pipeline::load(txn, &items).await?),
        };
        let decided = match ahead {
            Some(loaded) => {
                let (written, decided) = tokio::join!(
                    write_pending(txn, context, pending.take(), report),
                    decide_blocking(loaded, items),
                );
                written?;
                decided?
            }
            None => {
                // This chunk could read what the pending one writes: write that first.
                write_pending(txn, context, pending.take(), report).await?;
                let loaded = pipeline::load(txn, &items).await?;
                decide_blocking(loaded, items).await?
            }
        };
        pending = Some((decided, checked));
        match next_in_transaction(policy, rows, started, chunks).await {
            Some(more) => chunk = more,
            None => break bytes_read,
        }
    };
    write_pending(txn, context, pending, report).await?;
    Ok(bytes_read)
}

/// The transaction's next chunk, or `None` when it commits now (`CommitPolicy`) or the file has
/// ended.
async fn next_in_transaction(
    policy: CommitPolicy,
    rows: u64,
    started: Instant,
    chunks: &mut mpsc::Receiver<Chunk>,
) -> Option<Chunk> {
    if policy.commits(rows, started.elapsed(), db::sqlite_writers_waiting()) {
        return None;
    }
    chunks.recv().await
}

/// Writes a decided chunk, if any, and counts its rows in `report`.
async fn write_pending(
    txn: &DatabaseTransaction,
    context: &Context,
    pending: Option<(pipeline::Decided, CheckedChunk)>,
    report: &mut ImportReport,
) -> Result<(), AppError> {
    let Some((decided, checked)) = pending else {
        return Ok(());
    };
    let outcomes = pipeline::write(txn, decided).await?;
    checked.account(context, outcomes, report)
}

/// Decides a loaded chunk on a blocking thread (it is CPU work that runs while SQLite writes).
async fn decide_blocking(
    loaded: pipeline::Loaded,
    items: Vec<pipeline::Item>,
) -> Result<pipeline::Decided, AppError> {
    let now = Utc::now();
    tokio::task::spawn_blocking(move || pipeline::decide(loaded, &items, now))
        .await
        .map_err(|e| AppError::internal("imports::decide join", e))?
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn push_error(report: &mut ImportReport, error: ImportError) {
    if report.errors.len() < MAX_REPORTED_ERRORS {
        report.errors.push(error);
    } else {
        report.errors_truncated = true;
    }
}

async fn process_chunk(
    txn: &DatabaseTransaction,
    context: &Context,
    chunk: Chunk,
    report: &mut ImportReport,
) -> Result<(), AppError> {
    let (checked, events) = chunk.take(report)?;
    let outcomes = conversions::record_many(
        txn,
        source::CSV,
        &context.campaign,
        &context.rules,
        context.mail.as_ref(),
        context.digest,
        events,
    )
    .await?;
    checked.account(context, outcomes, report)
}

/// A chunk's rows after the checks: the lines of those that go to the engine, in order, and the
/// refused ones (`true` when unmatched rather than invalid).
struct CheckedChunk {
    lines: Vec<u64>,
    errors: Vec<(ImportError, bool)>,
}

/// Checks each of `rows`; the rows that pass come back as events for the engine.
fn check_chunk(
    context: &Context,
    rows: Vec<RowOutcome>,
) -> Result<(CheckedChunk, Vec<conversions::CheckedEvent>), AppError> {
    let mut errors: Vec<(ImportError, bool)> = Vec::new();
    let mut lines = Vec::with_capacity(rows.len());
    let mut events = Vec::with_capacity(rows.len());
    for outcome in rows {
        let row = match outcome {
            RowOutcome::Row(row) => row,
            RowOutcome::Invalid(e) => {
                errors.push((
                    ImportError {
                        line: e.line,
                        column: e.column,
                        reason: e.reason,
                    },
                    false,
                ));
                continue;
            }
        };
        let input = ConversionInput {
            campaign: context.campaign.slug.clone(),
            event_id: row.row_id,
            event: row
                .event
                .unwrap_or_else(|| context.default_event.to_string()),
            referral_code: row.code,
            promotion_code: row.promo_code,
            email: row.email,
            amount: row.amount_minor,
            currency: row.currency,
            occurred_at: row.occurred_at,
        };
        match conversions::check(&input) {
            Ok(event) => {
                lines.push(row.line);
                events.push(event);
            }
            Err(e) => errors.push(refusal(context, row.line, e)?),
        }
    }
    Ok((CheckedChunk { lines, errors }, events))
}

impl CheckedChunk {
    /// Adds the engine's answers (one per line) and the refused rows to `report`, errors in line
    /// order.
    fn account(
        self,
        context: &Context,
        outcomes: Vec<conversions::Outcome>,
        report: &mut ImportReport,
    ) -> Result<(), AppError> {
        let mut errors = self.errors;
        for (line, outcome) in self.lines.into_iter().zip(outcomes) {
            match outcome {
                Ok(reply) if reply.duplicate() => report.duplicates += 1,
                Ok(reply) => {
                    report.imported += 1;
                    match reply.outcome() {
                        "qualified" => report.qualified += 1,
                        "already_qualified" => report.already_qualified += 1,
                        "review" => report.review += 1,
                        _ => {}
                    }
                    if reply.ambiguous() {
                        report.ambiguous += 1;
                    }
                }
                Err(e) => errors.push(refusal(context, line, e)?),
            }
        }
        errors.sort_by_key(|(e, _)| e.line);
        for (error, unmatched) in errors {
            if unmatched {
                report.unmatched += 1;
            } else {
                report.invalid += 1;
            }
            push_error(report, error);
        }
        Ok(())
    }
}

/// A row the engine refused, as a report line; `true` when it is unmatched (names nobody known)
/// rather than invalid. Anything but a refusal is an error of the whole import.
fn refusal(context: &Context, line: u64, error: AppError) -> Result<(ImportError, bool), AppError> {
    match error {
        AppError::Invalid {
            code,
            field,
            message,
            ..
        } => {
            let unmatched = matches!(
                code.as_str(),
                "unattributable" | "unknown_referral_code" | "unknown_promotion_code"
            );
            Ok((
                ImportError {
                    line,
                    column: context.columns.for_field(field.as_deref()),
                    reason: message,
                },
                unmatched,
            ))
        }
        other => Err(other),
    }
}

/// Stores the import's end (`status` and its report) and, for a real run, writes its summary
/// emails, in one transaction: a referrer hears about what the import qualified exactly when the
/// history says it ended (also when it failed half way: what was committed qualified).
async fn finish(
    state: &AppState,
    id: i64,
    campaign: &campaign::Model,
    report: &ImportReport,
    status: &str,
) -> Result<(), AppError> {
    let json = serde_json::to_string(report)
        .map_err(|e| AppError::internal("imports::finish encode", e))?;
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("imports::finish begin", e))?;
    if !report.dry_run {
        let sent = digest::send(&txn, &state.settings, campaign).await?;
        if sent > 0 {
            tracing::info!(import = id, emails = sent, "import summary emails written");
        }
    }
    import::Entity::update_many()
        .col_expr(import::Column::Status, Expr::value(status))
        .col_expr(import::Column::Report, Expr::value(json))
        .col_expr(
            import::Column::ErrorReport,
            Expr::value(ImportError::report_csv(&report.errors)),
        )
        .col_expr(import::Column::FinishedAt, Expr::value(Utc::now()))
        .filter(import::Column::Id.eq(id))
        .exec(&*txn)
        .await
        .map_err(|e| AppError::internal("imports::finish", e))?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("imports::finish commit", e))?;
    Ok(())
}

/// One import's row (with its stored error report).
pub async fn get(state: &AppState, id: i64) -> Result<import::Model, AppError> {
    import::Entity::find()
        .filter(import::Column::Id.eq(id))
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("imports::get", e))?
        .ok_or_else(|| AppError::not_found("Import"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_run_that_panics_leaves_the_upload_free_to_start_again() {
        let id = -4242;
        progress_map().insert(id, 0);
        let (told, heard) = tokio::sync::oneshot::channel();
        run_detached(
            id,
            async { panic!("a bug in the import") },
            move |outcome: Option<()>| async move {
                let _ = told.send(outcome.is_none());
            },
        );
        assert!(heard.await.unwrap(), "the clean-up is told it panicked");
        assert!(
            !progress_map().contains_key(&id),
            "the upload is no longer being processed"
        );
    }

    #[test]
    fn sqlite_imports_commit_big_transactions_unless_a_writer_waits() {
        let policy = CommitPolicy::for_backend(DbBackend::Sqlite);
        let ms = Duration::from_millis;
        assert!(
            !policy.commits(10_000, ms(300), false),
            "nobody waits: go on"
        );
        assert!(
            policy.commits(10_000, ms(300), true),
            "a writer waits: commit"
        );
        assert!(
            !policy.commits(10_000, ms(100), true),
            "not before the yield age"
        );
        assert!(policy.commits(50_000, ms(10), false), "the row limit");
        assert!(
            policy.commits(1, Duration::from_secs(2), false),
            "the age limit"
        );
    }

    #[test]
    fn postgres_imports_keep_short_transactions() {
        let policy = CommitPolicy::for_backend(DbBackend::Postgres);
        let ms = Duration::from_millis;
        assert!(policy.commits(10_000, ms(1), false));
        assert!(policy.commits(10, ms(250), false));
        assert!(!policy.commits(9_999, ms(249), false));
    }
}
