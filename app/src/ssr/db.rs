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
                    .pragma("mmap_size", "268435456")
                    .pragma("cache_size", "-16000")
            });
    } else {
        options.max_connections(20).min_connections(1);
    }
    Database::connect(options).await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// SQLite allows one writer at a time. Writers of this process queue here, in order, instead of
/// in SQLite's busy handler, which sleeps 1, 2, 5, 10... ms between retries: under concurrent
/// writes the sleeping, not the writing, would set the pace.
static SQLITE_WRITER: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(1)));

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
        let turn = SQLITE_WRITER
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| DbErr::Custom(format!("writer queue closed: {e}")))?;
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
