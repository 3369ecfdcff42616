//! The email outbox: rows written in the transaction that caused them, claimed by the email
//! worker with a lease, and kept afterwards as the Emails log.
//!
//! Claims work like webhook deliveries (`services::deliveries`): on PostgreSQL `FOR UPDATE SKIP
//! LOCKED`, so several server processes never hold one email at once; on SQLite the single
//! writer serializes claims. A process that dies while sending leaves a lease that runs out, and
//! the email is tried again.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};

use crate::{
    domain::emails::{EmailKind, EmailStatus},
    error::AppError,
    ssr::{
        db::{OnConflict, begin_write, due_and_free, insert_all, skip_locked},
        entities::email,
        services::{emails::compose::Rendered, secrets::random_token},
    },
};

/// Waits before attempt N+1 after N failed attempts (about two days in all), then the email
/// fails for good and shows in the Emails log with a resend button.
pub const BACKOFF_SECS: [i64; 9] = [10, 60, 300, 900, 3600, 7200, 21600, 43200, 86400];
/// How long a claim lasts before another process may try the email again.
pub const LEASE_SECS: i64 = 120;

/// An email to write into the outbox.
#[derive(Clone, Debug)]
pub struct Draft {
    /// What kind it is.
    pub kind: EmailKind,
    /// The campaign it belongs to.
    pub campaign_id: Option<i64>,
    /// The referrer it is about (and usually to).
    pub referrer_id: Option<i64>,
    /// The recipient's address.
    pub to: String,
    /// Subject and both parts.
    pub rendered: Rendered,
    /// Set for emails that must go out at most once; a second draft with the same key is dropped.
    pub dedupe_key: Option<String>,
}

/// Writes emails into the outbox, in the caller's transaction. Returns how many were written
/// (drafts whose dedupe key is already there are skipped). `mail_domain` ends the Message-ID.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    drafts: Vec<Draft>,
    mail_domain: &str,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let rows: Vec<email::ActiveModel> = drafts
        .into_iter()
        .map(|d| email::ActiveModel {
            campaign_id: Set(d.campaign_id),
            referrer_id: Set(d.referrer_id),
            kind: Set(d.kind.as_str().to_owned()),
            to_address: Set(d.to),
            subject: Set(d.rendered.subject),
            html_body: Set(d.rendered.html),
            text_body: Set(d.rendered.text),
            message_id: Set(format!("<{}@{mail_domain}>", random_token(18))),
            dedupe_key: Set(d.dedupe_key),
            status: Set(EmailStatus::Pending.as_str().to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            locked_until: Set(None),
            last_error: Set(None),
            sent_at: Set(None),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    insert_all(db, rows, OnConflict::Skip(&["dedupe_key"]))
        .await
        .map_err(|e| AppError::internal("emails::enqueue", e))
}

/// A claimed email, ready to send.
pub type Claimed = email::Model;

/// Claims up to `limit` emails due now for this process (a lease of [`LEASE_SECS`]).
pub async fn claim(db: &DatabaseConnection, limit: u64) -> Result<Vec<Claimed>, AppError> {
    let now = Utc::now();
    let due = || {
        due_and_free(
            email::Column::Status,
            email::Column::NextAttemptAt,
            email::Column::LockedUntil,
            now,
        )
    };
    // A plain read first: most polls find nothing, and they should not take SQLite's write lock.
    let any_due = email::Entity::find()
        .select_only()
        .column(email::Column::Id)
        .filter(due())
        .into_tuple::<i64>()
        .one(db)
        .await
        .map_err(|e| AppError::internal("emails::claim peek", e))?;
    if any_due.is_none() {
        return Ok(Vec::new());
    }
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("emails::claim begin", e))?;
    let query = email::Entity::find()
        .select_only()
        .column(email::Column::Id)
        .filter(due())
        .order_by_asc(email::Column::NextAttemptAt)
        .limit(limit);
    let ids: Vec<i64> = skip_locked(query, txn.get_database_backend())
        .into_tuple()
        .all(&txn)
        .await
        .map_err(|e| AppError::internal("emails::claim select", e))?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    email::Entity::update_many()
        .col_expr(
            email::Column::LockedUntil,
            Expr::value(now + Duration::seconds(LEASE_SECS)),
        )
        .filter(email::Column::Id.is_in(ids.clone()))
        .exec(&txn)
        .await
        .map_err(|e| AppError::internal("emails::claim lease", e))?;
    let rows = email::Entity::find()
        .filter(email::Column::Id.is_in(ids))
        .order_by_asc(email::Column::Id)
        .all(&txn)
        .await
        .map_err(|e| AppError::internal("emails::claim rows", e))?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("emails::claim commit", e))?;
    Ok(rows)
}

/// What one try to send an email gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendResult {
    /// The SMTP server accepted the message.
    Sent,
    /// It failed in a way that may pass (connection refused, a 4xx reply): try again later.
    Retry(String),
    /// The server refused it for good (a 5xx reply, an address it will never take).
    Permanent(String),
}

/// Records the results of one round of sending, in one transaction.
pub async fn record(
    db: &DatabaseConnection,
    results: &[(Claimed, SendResult)],
) -> Result<(), AppError> {
    if results.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("emails::record begin", e))?;
    for (email_row, result) in results {
        let attempts = email_row.attempts + 1;
        let mut update = email::Entity::update_many()
            .col_expr(email::Column::Attempts, Expr::value(attempts))
            .col_expr(
                email::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            );
        update = match result {
            SendResult::Sent => update
                .col_expr(
                    email::Column::Status,
                    Expr::value(EmailStatus::Sent.as_str()),
                )
                .col_expr(email::Column::SentAt, Expr::value(now))
                .col_expr(
                    email::Column::LastError,
                    Expr::value(Option::<String>::None),
                ),
            SendResult::Retry(error) => {
                let error: String = error.chars().take(500).collect();
                match BACKOFF_SECS.get(usize::try_from(email_row.attempts).unwrap_or(usize::MAX)) {
                    Some(wait) => update
                        .col_expr(email::Column::LastError, Expr::value(error))
                        .col_expr(
                            email::Column::NextAttemptAt,
                            Expr::value(now + Duration::seconds(*wait)),
                        ),
                    None => update
                        .col_expr(email::Column::LastError, Expr::value(error))
                        .col_expr(
                            email::Column::Status,
                            Expr::value(EmailStatus::Failed.as_str()),
                        ),
                }
            }
            SendResult::Permanent(error) => update
                .col_expr(
                    email::Column::LastError,
                    Expr::value(error.chars().take(500).collect::<String>()),
                )
                .col_expr(
                    email::Column::Status,
                    Expr::value(EmailStatus::Failed.as_str()),
                ),
        };
        update
            .filter(email::Column::Id.eq(email_row.id))
            .exec(&txn)
            .await
            .map_err(|e| AppError::internal("emails::record", e))?;
    }
    txn.commit()
        .await
        .map_err(|e| AppError::internal("emails::record commit", e))
}

/// Sends an email again as soon as the worker gets to it (a failed one, or a sent one the
/// recipient lost). The same row: the log keeps one line per email.
pub async fn resend(db: &DatabaseConnection, id: i64) -> Result<(), AppError> {
    let done = email::Entity::update_many()
        .col_expr(
            email::Column::Status,
            Expr::value(EmailStatus::Pending.as_str()),
        )
        .col_expr(email::Column::NextAttemptAt, Expr::value(Utc::now()))
        .col_expr(email::Column::Attempts, Expr::value(0))
        .col_expr(
            email::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(email::Column::Id.eq(id))
        .exec(db)
        .await
        .map_err(|e| AppError::internal("emails::resend", e))?;
    if done.rows_affected == 0 {
        return Err(AppError::not_found("Email"));
    }
    Ok(())
}
