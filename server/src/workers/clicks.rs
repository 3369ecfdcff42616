//! Writes clicks in batches, so the referral link answers without waiting on the database and
//! the database sees one INSERT per batch instead of one per click.

use std::time::Duration;

use app::ssr::services::clicks::{self, NewClick};
use sea_orm::DatabaseConnection;
use tokio::{
    sync::mpsc::{self, error::TryRecvError},
    task::JoinHandle,
};

/// Queue length before the redirect hands clicks to waiting tasks.
pub const QUEUE_CAPACITY: usize = 65_536;

/// Most clicks written in one batch.
const MAX_BATCH: usize = 20_000;

/// Starts the writer. It flushes at least every `flush_every`, and drains what is left when every
/// sender is gone (shutdown), so a clean stop loses no click.
///
/// Between flushes it sleeps instead of waiting on the queue: a receiver that waits is woken by
/// every single click, which under load costs more than writing the clicks.
pub fn spawn(
    db: DatabaseConnection,
    mut queue: mpsc::Receiver<NewClick>,
    flush_every: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(1024);
        loop {
            // Sleep until there is at least one click, then give the batch time to fill.
            if queue.recv_many(&mut batch, MAX_BATCH).await == 0 {
                break;
            }
            tokio::time::sleep(flush_every).await;
            let mut open = true;
            while open && batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(click) => batch.push(click),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => open = false,
                }
            }
            write_with_retries(&db, &mut batch).await;
            if !open {
                break;
            }
        }
        write_with_retries(&db, &mut batch).await;
    })
}

/// Writes the batch, retrying with backoff (about half a minute in all) before giving up
/// loudly. The failure's detail is logged by the service where it happened.
async fn write_with_retries(db: &DatabaseConnection, batch: &mut Vec<NewClick>) {
    if batch.is_empty() {
        return;
    }
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=10 {
        match clicks::insert_batch(db, batch).await {
            Ok(()) => {
                batch.clear();
                return;
            }
            Err(_) if attempt < 10 => {
                tracing::warn!(
                    attempt,
                    clicks = batch.len(),
                    "click batch not written; retrying"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Err(_) => {}
        }
    }
    tracing::error!(
        clicks = batch.len(),
        "click batch could not be written; dropped"
    );
    batch.clear();
}
