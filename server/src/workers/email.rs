//! The email worker: sends the email outbox through SMTP, several messages at once over lettre's
//! connection pool, and records each round's results in one transaction. Failures that may pass
//! are retried with backoff (`services::emails::queue`); refusals are failed at once and shown
//! in the Emails log with the server's reply.

use std::{collections::HashMap, sync::Arc, time::Duration};

use app::{
    domain::emails::EmailKind,
    ssr::{
        entities::campaign,
        services::emails::{
            self,
            queue::{self, Claimed},
            sender::{self, Sender},
            smtp::{Mailer, SMTP_CONNECTIONS},
        },
        state::RuntimeSettings,
    },
};
use futures_util::StreamExt;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::task::JoinHandle;

/// Emails claimed per round.
const BATCH: u64 = 64;
/// Messages in flight at once: one per pooled SMTP connection.
const CONCURRENCY: usize = SMTP_CONNECTIONS as usize;

/// Starts the worker; it polls every `poll` until aborted.
pub fn spawn(
    db: DatabaseConnection,
    mailer: Mailer,
    settings: Arc<RuntimeSettings>,
    poll: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match run_once(&db, &mailer, &settings).await {
                Ok(n) if n as u64 == BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "email worker: a round failed"),
            }
            tokio::time::sleep(poll).await;
        }
    })
}

/// One round: claims due emails, sends them, records the results. Returns how many it claimed.
pub async fn run_once(
    db: &DatabaseConnection,
    mailer: &Mailer,
    settings: &RuntimeSettings,
) -> Result<usize, app::error::AppError> {
    let batch = queue::claim(db, BATCH).await?;
    if batch.is_empty() {
        return Ok(0);
    }
    let claimed = batch.len();
    // Read each round, so an admin's change reaches every server process within a round.
    let installation = sender::installation(db, mailer.configured()).await?;
    let campaign_ids: Vec<i64> = batch.iter().filter_map(|e| e.campaign_id).collect();
    let senders: HashMap<i64, Sender> = campaign::Entity::find()
        .filter(campaign::Column::Id.is_in(campaign_ids))
        .all(db)
        .await
        .map_err(|e| app::error::AppError::internal("email worker: campaigns", e))?
        .into_iter()
        .map(|c| (c.id, sender::for_campaign(&installation, &c)))
        .collect();
    let results: Vec<(Claimed, queue::SendResult)> = futures_util::stream::iter(batch)
        .map(|row| {
            let sender = row
                .campaign_id
                .and_then(|id| senders.get(&id))
                .unwrap_or(&installation)
                .clone();
            let unsubscribe = row
                .referrer_id
                .filter(|_| {
                    row.kind
                        .parse::<EmailKind>()
                        .is_ok_and(EmailKind::is_notification)
                })
                .map(|id| emails::unsubscribe_url(settings, id));
            async move {
                let result = mailer.send(&row, &sender, unsubscribe.as_deref()).await;
                if let queue::SendResult::Permanent(e) | queue::SendResult::Retry(e) = &result {
                    tracing::warn!(email = row.id, error = %e, "email worker: not sent");
                }
                (row, result)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    queue::record(db, &results).await?;
    Ok(claimed)
}
