//! Connecting to SQLite or PostgreSQL and bringing the schema up to date.

use std::{
    sync::{Arc, LazyLock},
    time::Duration,
};

use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, ExecResult, QueryResult, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
    sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Opens a pool for `url` (`sqlite://...` or `postgres://...`).
///
/// SQLite gets WAL, a busy timeout and foreign keys, so that concurrent writers wait instead of
/// failing and readers never block the writer.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if url.starts_with("sqlite:") {
        options
            .max_connections(8)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|opts: SqliteConnectOptions| {
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    // Pages are read through a memory map instead of a read() call each, and
                    // each connection keeps 16 MB of them.
                    .pragma("mmap_size", "67108864")
                    .pragma("cache_size", "-16000")
            });
    } else {
        options.max_connections(20).min_connections(1);
    }
    Database::connect(options).await
}

/// A connection of its own for one long writer (a CSV import) on SQLite, with its own
/// checkpoints: see [`OwnWriter`].
pub async fn own_writer(db: &DatabaseConnection) -> Result<Option<OwnWriter>, DbErr> {
    OwnWriter::open(db, WAL_LIMIT_BYTES).await
}

/// How far an import lets the WAL grow before it waits for a checkpoint (see [`OwnWriter`]).
pub const WAL_LIMIT_BYTES: u64 = 128 * 1024 * 1024;

/// One long writer's connection (a CSV import's) on SQLite: a new pool of one connection to the
/// same database, without foreign-key checks and without automatic checkpoints, and a second
/// connection that checkpoints for it in the background. Closed with [`OwnWriter::close`].
///
/// Why a connection of its own: each SQLite connection keeps its own page cache (up to 16 MB) and
/// memory map, and the pool hands its idle connections out in turn, so a long import through the
/// shared pool filled the caches of several connections, not one.
///
/// Why without foreign-key checks: they were about a sixth of the import's time (two to five
/// B-tree lookups for each row written, and multi-row statements that may abort half way get a
/// statement journal), and on this connection they cannot find anything. The importer's rows
/// refer to campaigns, reward rules and referrers (the campaign and its rules are loaded once
/// when the import starts), and to leads and conversion events it read or wrote itself. None of
/// those tables ever has a row deleted, and that is what this rests on: reward rules are retired,
/// never deleted (`rules::replace`), and campaigns, referrers, leads and events have no delete
/// path. A change that deletes rows of one of them must turn these checks back on. The outbox's
/// deliveries refer to webhook endpoints, which can be deleted, but those are read in the same
/// write transaction (SQLite's one writer: nobody deletes one meanwhile). The import tests check
/// every reference after importing (`PRAGMA foreign_key_check`), with a webhook endpoint
/// subscribed.
///
/// Why checkpoints in the background: SQLite's automatic checkpoint runs inside the commit that
/// takes the WAL past 1,000 pages, on the writer's connection, so the writer waited while pages
/// were copied into the database file and the file synced: about 80 ms of each 10,000-row
/// import transaction, a third of a 1,000,000-row import (measured, docs/BENCHMARKS.md). Here a
/// second connection copies them while the writer goes on with its next transaction.
///
/// A checkpoint beside a busy writer never quite catches up: SQLite starts the WAL over from its
/// beginning only when a write transaction begins with every frame copied. So once the WAL holds
/// more than `wal_limit` bytes, [`OwnWriter::after_commit`] waits for one checkpoint before the
/// next transaction begins, which keeps the WAL under about `wal_limit` plus three transactions.
pub struct OwnWriter {
    db: DatabaseConnection,
    checkpoints: tokio::sync::mpsc::Sender<Option<CheckpointDone>>,
    checkpointer: tokio::task::JoinHandle<()>,
    /// Bytes in the WAL at the last checkpoint (its frames times the page size), or 0 once a
    /// checkpoint the writer waited for copied them all (its next transaction starts the WAL
    /// over).
    wal_bytes: Arc<std::sync::atomic::AtomicU64>,
    wal_limit: u64,
}

impl OwnWriter {
    /// Opens the writer's and the checkpointer's connections; `None` unless `db` is SQLite.
    pub async fn open(db: &DatabaseConnection, wal_limit: u64) -> Result<Option<Self>, DbErr> {
        if db.get_database_backend() != DbBackend::Sqlite {
            return Ok(None);
        }
        let shared = (*db.get_sqlite_connection_pool().connect_options()).clone();
        let writer = single_connection(
            shared
                .clone()
                .foreign_keys(false)
                .pragma("wal_autocheckpoint", "0"),
        )
        .await?;
        let checkpointer = match single_connection(shared).await {
            Ok(c) => c,
            Err(e) => {
                writer.close().await.ok();
                return Err(e);
            }
        };
        let page_size = match query_i64(&checkpointer, "PRAGMA page_size").await {
            Ok(size) => u64::try_from(size).unwrap_or(4096),
            Err(e) => {
                writer.close().await.ok();
                checkpointer.close().await.ok();
                return Err(e);
            }
        };
        let (checkpoints, requests) = tokio::sync::mpsc::channel(1);
        let wal_bytes = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let task = tokio::spawn(run_checkpoints(
            checkpointer,
            requests,
            Arc::clone(&wal_bytes),
            page_size,
        ));
        Ok(Some(Self {
            db: writer,
            checkpoints,
            checkpointer: task,
            wal_bytes,
            wal_limit,
        }))
    }

    /// The writer's connection.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Call after each commit, before the next transaction begins: asks for a checkpoint, and
    /// waits for it when the WAL has outgrown its limit.
    ///
    /// One request waits behind the running checkpoint at most, and a writer that would add a
    /// second waits for the running one (its commits outpace the checkpoints: the machine is
    /// busy). So the WAL's size known here is never more than two commits old.
    pub async fn after_commit(&self) {
        use std::sync::atomic::Ordering;
        if self.wal_bytes.load(Ordering::Relaxed) < self.wal_limit {
            let _ = self.checkpoints.send(None).await;
            return;
        }
        let (done, copied) = tokio::sync::oneshot::channel();
        if self.checkpoints.send(Some(done)).await.is_ok() && copied.await == Ok(true) {
            self.wal_bytes.store(0, Ordering::Relaxed);
        }
    }

    /// Waits for the last checkpoint and closes both connections (failures are logged: the
    /// data is committed, and any connection's next checkpoint copies what is left).
    pub async fn close(self) {
        drop(self.checkpoints);
        if let Err(e) = self.checkpointer.await {
            tracing::warn!(error = %e, "the import's checkpointer failed");
        }
        if let Err(e) = self.db.close().await {
            tracing::warn!(error = %e, "closing the import's connection failed");
        }
    }
}

/// Told when a checkpoint the writer waits for is over: `true` when it copied the whole WAL.
type CheckpointDone = tokio::sync::oneshot::Sender<bool>;

/// The checkpointer's loop: one passive checkpoint (it never blocks the writer or readers) per
/// request, then the WAL's size for [`OwnWriter::after_commit`].
async fn run_checkpoints(
    db: DatabaseConnection,
    mut requests: tokio::sync::mpsc::Receiver<Option<CheckpointDone>>,
    wal_bytes: Arc<std::sync::atomic::AtomicU64>,
    page_size: u64,
) {
    while let Some(done) = requests.recv().await {
        let checkpoint = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA wal_checkpoint(PASSIVE)",
            ))
            .await;
        let copied_all = match checkpoint {
            Ok(row) => {
                // Its row: busy, frames in the WAL, frames copied (-1 when not in WAL mode).
                let column = |index| {
                    row.as_ref()
                        .and_then(|r| r.try_get_by_index::<i64>(index).ok())
                        .unwrap_or(0)
                };
                let (in_wal, copied) = (column(1), column(2));
                let bytes = u64::try_from(in_wal).unwrap_or(0) * (page_size + 24);
                wal_bytes.store(bytes, std::sync::atomic::Ordering::Relaxed);
                copied == in_wal
            }
            // The writer goes on (its data is committed) with the WAL's last known size, and
            // waits for the next checkpoint if that is over the limit.
            Err(e) => {
                tracing::warn!(error = %e, "an import's checkpoint failed");
                false
            }
        };
        if let Some(done) = done {
            let _ = done.send(copied_all);
        }
    }
    if let Err(e) = db.close().await {
        tracing::warn!(error = %e, "closing the import's checkpointer failed");
    }
}

/// The first column of the first row of `sql`, an integer.
async fn query_i64(db: &DatabaseConnection, sql: &str) -> Result<i64, DbErr> {
    db.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await?
        .ok_or_else(|| DbErr::Custom(format!("{sql}: no row")))?
        .try_get_by_index::<i64>(0)
}

/// A pool of one SQLite connection with `options` (those of the shared pool, maybe for another
/// file).
async fn single_connection(options: SqliteConnectOptions) -> Result<DatabaseConnection, DbErr> {
    let pool = sea_orm::sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await
        .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(Arc::new(e))))?;
    Ok(sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
}

/// A throwaway copy of a SQLite database (a preview that must not hold the writer works on it),
/// removed by [`SqliteCopy::remove`].
pub struct SqliteCopy {
    db: DatabaseConnection,
    path: std::path::PathBuf,
}

impl SqliteCopy {
    /// Copies the SQLite database of `db` into a new file in `dir` with `VACUUM INTO`, which
    /// reads one consistent snapshot while other connections go on writing, and connects to the
    /// copy with the same options. Copies left by a process that was killed (older than a day)
    /// are removed first.
    pub async fn create(db: &DatabaseConnection, dir: &std::path::Path) -> Result<Self, DbErr> {
        let io = |e: std::io::Error| DbErr::Custom(format!("{}: {e}", dir.display()));
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
        remove_stale_copies(dir).await;
        let path = dir.join(format!(
            "preview-{}-{}.db",
            std::process::id(),
            crate::ssr::services::secrets::random_token(8)
        ));
        let target = path
            .to_str()
            .ok_or_else(|| DbErr::Custom(format!("{} is not UTF-8", path.display())))?;
        if let Err(e) = db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "VACUUM INTO ?",
                [target.into()],
            ))
            .await
        {
            // A copy cut short (the disk filled up, say) goes too.
            remove_copy_files(&path).await;
            return Err(e);
        }
        let options = (*db.get_sqlite_connection_pool().connect_options())
            .clone()
            .filename(&path)
            .create_if_missing(false);
        match single_connection(options).await {
            Ok(db) => Ok(Self { db, path }),
            Err(e) => {
                remove_copy_files(&path).await;
                Err(e)
            }
        }
    }

    /// The copy.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Closes the copy and deletes its files (a failure is logged: it is only disk space).
    pub async fn remove(self) {
        if let Err(e) = self.db.close().await {
            tracing::warn!(error = %e, "closing a database copy failed");
        }
        remove_copy_files(&self.path).await;
    }
}

/// The transaction of a preview: everything runs in it and it is rolled back, never committed.
///
/// On SQLite such a transaction holds the database's only writer for as long as the preview runs,
/// so a large preview runs on a [`SqliteCopy`] instead (or, when no copy can be made, on the
/// database after all).
pub struct PreviewTxn {
    // Field order matters: the transaction ends before its copy goes.
    txn: PreviewInner,
    copy: Option<SqliteCopy>,
}

enum PreviewInner {
    /// On the database, holding the writer turn.
    Held(WriteTxn),
    /// On a copy.
    OnCopy(DatabaseTransaction),
}

impl PreviewTxn {
    /// Begins a preview of `db`; `large` asks for a copy (in `copy_dir`) on SQLite.
    pub async fn begin(
        db: &DatabaseConnection,
        copy_dir: &std::path::Path,
        large: bool,
    ) -> Result<Self, DbErr> {
        if large && db.get_database_backend() == DbBackend::Sqlite {
            match SqliteCopy::create(db, copy_dir).await {
                Ok(copy) => match copy.db().begin().await {
                    Ok(txn) => {
                        return Ok(Self {
                            txn: PreviewInner::OnCopy(txn),
                            copy: Some(copy),
                        });
                    }
                    Err(e) => {
                        copy.remove().await;
                        return Err(e);
                    }
                },
                // No room for a copy, say: the preview still runs, on the database itself.
                Err(e) => tracing::warn!(error = %e, "no copy of the database for a preview"),
            }
        }
        Ok(Self {
            txn: PreviewInner::Held(begin_write(db).await?),
            copy: None,
        })
    }

    /// The transaction to run the preview in.
    pub fn txn(&self) -> &DatabaseTransaction {
        match &self.txn {
            PreviewInner::Held(txn) => txn,
            PreviewInner::OnCopy(txn) => txn,
        }
    }

    /// Rolls the preview back and removes its copy.
    pub async fn end(self) -> Result<(), DbErr> {
        let rolled_back = match self.txn {
            PreviewInner::Held(txn) => txn.rollback().await,
            PreviewInner::OnCopy(txn) => txn.rollback().await,
        };
        if let Some(copy) = self.copy {
            copy.remove().await;
        }
        rolled_back
    }
}

/// Deletes a copy's database file and its WAL and shared-memory files.
async fn remove_copy_files(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match tokio::fs::remove_file(&name).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, file = ?name, "removing a database copy failed"),
        }
    }
}

/// Deletes the files of copies in `dir` older than a day (left by a process that was killed).
async fn remove_stale_copies(dir: &std::path::Path) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return;
    };
    let day_ago = std::time::SystemTime::now() - Duration::from_secs(24 * 3600);
    while let Ok(Some(entry)) = entries.next_entry().await {
        let stale = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with("preview-"))
            && entry
                .metadata()
                .await
                .and_then(|m| m.modified())
                .is_ok_and(|modified| modified < day_ago);
        if stale && let Err(e) = tokio::fs::remove_file(entry.path()).await {
            tracing::warn!(error = %e, file = ?entry.path(), "removing an old database copy failed");
        }
    }
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Sets every maintained counter (the overview's, the Referrers tab's) from scratch, in one
/// transaction so no reader sees them empty: `handoff recount`, and the tests' check that the
/// triggers kept them right.
pub async fn rebuild_counters(db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = begin_write(db).await?;
    migrations::rebuild_counters(&*txn).await?;
    txn.commit().await
}

/// SQLite allows one writer at a time. Writers of this process queue here, in order, instead of
/// in SQLite's busy handler, which sleeps 1, 2, 5, 10... ms between retries: under concurrent
/// writes the sleeping, not the writing, would set the pace.
static SQLITE_WRITER: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(1)));

/// Writers of this process waiting for their turn (`begin_write` on SQLite).
static SQLITE_WRITERS_WAITING: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// Whether another writer of this process waits for SQLite's writer turn: a long writer (a CSV
/// import) commits sooner then, and otherwise writes bigger transactions.
pub fn sqlite_writers_waiting() -> bool {
    SQLITE_WRITERS_WAITING.load(std::sync::atomic::Ordering::Relaxed) > 0
}

/// Counts a writer in [`SQLITE_WRITERS_WAITING`] while it exists (also when its wait is
/// cancelled).
struct WaitingWriter;

impl WaitingWriter {
    fn enter() -> Self {
        SQLITE_WRITERS_WAITING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        WaitingWriter
    }
}

impl Drop for WaitingWriter {
    fn drop(&mut self) {
        SQLITE_WRITERS_WAITING.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A transaction that writes. Derefs to the `DatabaseTransaction`; on SQLite it also holds this
/// process's writer turn until it is committed, rolled back or dropped.
pub struct WriteTxn {
    // Field order matters: the transaction ends before the writer turn is handed on.
    txn: DatabaseTransaction,
    _turn: Option<OwnedSemaphorePermit>,
}

impl WriteTxn {
    /// Commits.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

/// Begins a transaction that will write. On SQLite it waits for this process's writer turn, then
/// runs `BEGIN IMMEDIATE`, because a deferred transaction that later upgrades to a write fails
/// with SQLITE_BUSY at once instead of waiting.
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        let waiting = WaitingWriter::enter();
        let turn = SQLITE_WRITER
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| DbErr::Custom(format!("writer queue closed: {e}")))?;
        drop(waiting);
        let txn = db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?;
        Ok(WriteTxn {
            txn,
            _turn: Some(turn),
        })
    } else {
        Ok(WriteTxn {
            txn: db.begin().await?,
            _turn: None,
        })
    }
}

/// True when `err` is a unique-constraint violation (the database said "already exists").
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// True when PostgreSQL gave up on the statement because of another transaction (deadlock or
/// serialization failure): running the whole transaction again is the documented remedy.
pub fn is_retryable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    if let DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) = err
        && let sea_orm::sqlx::Error::Database(e) = e.as_ref()
    {
        return matches!(e.code().as_deref(), Some("40P01" | "40001"));
    }
    false
}

/// Reserves `n` fresh ids for rows of `table` (whose key is `id`), so a batch can write rows
/// that name each other in any order.
///
/// PostgreSQL takes them from the table's sequence (unused ones leave gaps, as a rolled-back
/// insert would). SQLite continues after the largest id ever used (`sqlite_sequence` remembers
/// deleted ones, so no id is handed out twice); this is safe only inside a write transaction
/// (`begin_write`), which keeps every other writer out until the ids are used.
pub async fn reserve_ids(
    db: &impl ConnectionTrait,
    table: &'static str,
    n: usize,
) -> Result<Vec<i64>, DbErr> {
    // The name is written into the SQL; only code constants are passed, never input.
    debug_assert!(table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    if n == 0 {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let count = i64::try_from(n).map_err(|e| DbErr::Custom(e.to_string()))?;
    if backend == DbBackend::Postgres {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                "SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id FROM generate_series(1, $2)",
                [table.into(), count.into()],
            ))
            .await?;
        rows.iter().map(|r| r.try_get::<i64>("", "id")).collect()
    } else {
        let row = db
            .query_one_raw(Statement::from_string(
                backend,
                format!(
                    "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0), \
                     COALESCE((SELECT MAX(id) FROM \"{table}\"), 0)) AS id"
                ),
            ))
            .await?
            .ok_or_else(|| DbErr::Custom(format!("no largest id for {table}")))?;
        let last: i64 = row.try_get("", "id")?;
        Ok((last + 1..=last + count).collect())
    }
}

/// Bound parameters per statement (SQLite allows 32,766; PostgreSQL 65,535).
const MAX_PARAMS: usize = 30_000;

/// What a bulk insert does with a row whose unique key exists already.
#[derive(Clone, Copy, Debug)]
pub enum OnConflict<'a> {
    /// Nothing special: the statement fails.
    Fail,
    /// `ON CONFLICT (key) DO NOTHING`: the row is skipped (and not counted).
    Skip(&'a [&'a str]),
    /// `ON CONFLICT (key) DO UPDATE SET column = excluded.column` for each of `columns`.
    Update {
        /// The unique key.
        key: &'a [&'a str],
        /// The columns to overwrite.
        columns: &'a [&'a str],
    },
}

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

impl OnConflict<'_> {
    fn sql(&self) -> String {
        match self {
            OnConflict::Fail => String::new(),
            OnConflict::Skip(key) => format!(" ON CONFLICT ({}) DO NOTHING", quoted_list(key)),
            OnConflict::Update { key, columns } => format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                quoted_list(key),
                columns
                    .iter()
                    .map(|c| format!("\"{c}\" = excluded.\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Inserts `rows` (all with the same columns set) with as few multi-row statements as the
/// parameter limit allows, and returns how many rows were written (skipped conflicts are not
/// counted).
///
/// On SQLite the statements are `INSERT OR FAIL` (see [`insert_statements`]): a statement that
/// fails keeps the rows before the failing one. Call it inside a transaction and give that up
/// on an error; outside one, those rows would stay.
pub async fn insert_all<A>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    on_conflict: OnConflict<'_>,
) -> Result<usize, DbErr>
where
    A: sea_orm::ActiveModelTrait + Send,
{
    let mut written = 0;
    for statement in insert_statements(db.get_database_backend(), rows, on_conflict)? {
        let result = db.execute_raw(statement).await?;
        written += usize::try_from(result.rows_affected()).unwrap_or(usize::MAX);
    }
    Ok(written)
}

/// The statements [`insert_all`] runs: multi-row `INSERT`s of `rows` (all with the same columns
/// set), as few as the parameter limit allows; none for no rows. Built apart from running them so
/// that a caller can build the next write while the database runs this one.
///
/// The statement text is written here rather than by the query builder: for a batch of thousands
/// of rows the builder's per-value work was a fifth of a CSV import's time (`perf`).
///
/// On SQLite a column that has one value in every row (the campaign, a timestamp, a status) is
/// bound once, not once per row: `INSERT ... SELECT ?, column1, ... FROM (VALUES (?), ...)`.
/// Each bound value is copied by sea-orm, converted by sqlx and copied again by SQLite, and in a
/// CSV import about half of the values are such repeats. (PostgreSQL would need a type for each
/// parameter of that form, so it keeps plain `VALUES`.)
pub fn insert_statements<A>(
    backend: DbBackend,
    rows: Vec<A>,
    on_conflict: OnConflict<'_>,
) -> Result<Vec<Statement>, DbErr>
where
    A: sea_orm::ActiveModelTrait,
{
    use sea_orm::{EntityName, EntityTrait, IdenStatic, Iterable};
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns: Vec<<A::Entity as EntityTrait>::Column> =
        <<A::Entity as EntityTrait>::Column as Iterable>::iter()
            .filter(|c| !first.get(*c).is_not_set())
            .collect();
    let table = rows
        .into_iter()
        .map(|mut row| {
            columns
                .iter()
                .map(|column| {
                    row.take(*column).into_value().ok_or_else(|| {
                        DbErr::Custom(format!(
                            "insert_all: rows of {} set different columns",
                            column.as_str()
                        ))
                    })
                })
                .collect::<Result<Vec<_>, DbErr>>()
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    let shared = shared_columns(backend, &table);
    // `OR FAIL` on SQLite: a statement that may abort half way (any `NOT NULL` or unique check
    // does, with the default `OR ABORT`) gets a statement journal, written to a temporary file,
    // so that it can undo its own earlier rows. A failed statement keeps them instead, which is
    // harmless because every caller gives up its whole transaction on an error (the conversion
    // engine on SQLite, the outbox). PostgreSQL has no such clause and needs none.
    let verb = match backend {
        DbBackend::Sqlite => "INSERT OR FAIL INTO",
        _ => "INSERT INTO",
    };
    let head = format!(
        "{verb} \"{}\" ({}) ",
        <A::Entity as Default>::default().table_name(),
        quoted_list(&columns.iter().map(|c| c.as_str()).collect::<Vec<_>>())
    );
    Ok(multi_row_inserts(
        backend,
        &head,
        table,
        &shared,
        &on_conflict.sql(),
    ))
}

/// Which columns of `table` to bind once for all rows: on SQLite, those with one value in every
/// row, unless that is every column; none elsewhere.
fn shared_columns(backend: DbBackend, table: &[Vec<sea_orm::Value>]) -> Vec<bool> {
    let width = table.first().map_or(0, Vec::len);
    if backend != DbBackend::Sqlite || table.len() < 2 {
        return vec![false; width];
    }
    let shared: Vec<bool> = (0..width)
        .map(|j| table.iter().all(|row| row[j] == table[0][j]))
        .collect();
    if shared.iter().all(|s| *s) {
        vec![false; width]
    } else {
        shared
    }
}

/// `head` (`INSERT INTO t (columns) `) followed by the rows of `table`, as few statements as the
/// parameter limit allows. Columns marked in `shared` are bound once per statement, the others
/// once per row.
fn multi_row_inserts(
    backend: DbBackend,
    head: &str,
    table: Vec<Vec<sea_orm::Value>>,
    shared: &[bool],
    tail: &str,
) -> Vec<Statement> {
    let any_shared = shared.iter().any(|s| *s);
    let varying = shared.iter().filter(|s| !**s).count().max(1);
    let per_statement = (MAX_PARAMS / varying).max(1);
    // With shared columns: `SELECT ?, column1, ... FROM (VALUES ...) WHERE true`, the `WHERE`
    // being how SQLite tells a following `ON CONFLICT` from a join's `ON`.
    let (select, rows_tail) = if any_shared {
        let mut next_varying = 0;
        let list: Vec<String> = shared
            .iter()
            .map(|s| {
                if *s {
                    "?".to_owned()
                } else {
                    next_varying += 1;
                    format!("column{next_varying}")
                }
            })
            .collect();
        (
            format!("SELECT {} FROM (VALUES ", list.join(", ")),
            ") WHERE true",
        )
    } else {
        ("VALUES ".to_owned(), "")
    };
    let shared_values: Vec<sea_orm::Value> = match table.first() {
        Some(first) if any_shared => first
            .iter()
            .zip(shared)
            .filter(|(_, s)| **s)
            .map(|(v, _)| v.clone())
            .collect(),
        _ => Vec::new(),
    };
    let mut statements = Vec::with_capacity(table.len().div_ceil(per_statement));
    let mut rows = table.into_iter().peekable();
    while rows.peek().is_some() {
        let mut sql = String::with_capacity(
            head.len() + select.len() + per_statement * varying * 5 + tail.len() + 16,
        );
        sql.push_str(head);
        sql.push_str(&select);
        let mut values = shared_values.clone();
        values.reserve(per_statement * varying);
        for (i, row) in rows.by_ref().take(per_statement).enumerate() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            let mut first_in_row = true;
            for (value, is_shared) in row.into_iter().zip(shared) {
                if *is_shared {
                    continue;
                }
                if !first_in_row {
                    sql.push_str(", ");
                }
                first_in_row = false;
                values.push(value);
                if backend == DbBackend::Postgres {
                    sql.push('$');
                    sql.push_str(&values.len().to_string());
                } else {
                    sql.push('?');
                }
            }
            sql.push(')');
        }
        sql.push_str(rows_tail);
        sql.push_str(tail);
        statements.push(Statement::from_sql_and_values(backend, sql, values));
    }
    statements
}

/// The rows of a leased work queue (webhook deliveries, emails, CRM sync) that a worker may
/// claim at `now`: `pending`, due, and not leased to another worker (or its lease ran out).
pub fn due_and_free<C: sea_orm::ColumnTrait>(
    status: C,
    next_attempt_at: C,
    locked_until: C,
    now: chrono::DateTime<chrono::Utc>,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::ExprTrait;
    status
        .eq("pending")
        .and(next_attempt_at.lte(now))
        .and(locked_until.is_null().or(locked_until.lt(now)))
}

/// `query` with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several server processes claiming
/// from one queue skip each other's rows instead of waiting for them; as it is on SQLite, whose
/// single writer already serializes claims.
pub fn skip_locked<Q: sea_orm::QuerySelect>(query: Q, backend: DbBackend) -> Q {
    if backend == DbBackend::Postgres {
        query.lock_with_behavior(
            sea_orm::sea_query::LockType::Update,
            sea_orm::sea_query::LockBehavior::SkipLocked,
        )
    } else {
        query
    }
}
