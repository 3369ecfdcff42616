//! Group commit for events that arrive one at a time (API, inbound webhooks, Stripe).
//!
//! A request puts its event in the queue and then either receives its answer or becomes the
//! leader: the leader takes everything queued (up to [`MAX_BATCH`]) and writes it as one batch,
//! in one transaction, while the next requests queue up behind it. Under load a batch holds many
//! events and each costs a small share of the statements; when idle a batch holds one event and
//! nothing waits for a timer.

use std::sync::{Arc, Mutex, MutexGuard};

use sea_orm::DatabaseConnection;
use tokio::sync::oneshot;

use super::engine::{self, Item, Outcome};
use crate::{error::AppError, ssr::db::begin_write};

/// Most events written in one batch.
const MAX_BATCH: usize = 512;

struct Waiting {
    item: Item,
    reply: oneshot::Sender<Outcome>,
}

/// The queue of events waiting to be written. One per process.
#[derive(Default)]
pub struct ConversionQueue {
    waiting: Mutex<Vec<Waiting>>,
    leader: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for ConversionQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConversionQueue").finish_non_exhaustive()
    }
}

impl ConversionQueue {
    fn waiting(&self) -> MutexGuard<'_, Vec<Waiting>> {
        // A panic while holding this lock cannot leave the vector half-changed (push and drain
        // only), so a poisoned lock is still usable.
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes `item` (in a batch with whatever else is waiting) and returns its answer.
    pub(super) async fn submit(&self, db: &DatabaseConnection, item: Item) -> Outcome {
        let (reply, mut answer) = oneshot::channel();
        self.waiting().push(Waiting { item, reply });
        loop {
            tokio::select! {
                biased;
                outcome = &mut answer => {
                    return outcome.unwrap_or_else(|_| {
                        Err(AppError::internal("conversions::queue", "the batch writing this event stopped"))
                    });
                }
                turn = self.leader.clone().lock_owned() => {
                    let batch: Vec<Waiting> = {
                        let mut waiting = self.waiting();
                        let n = waiting.len().min(MAX_BATCH);
                        waiting.drain(..n).collect()
                    };
                    if batch.is_empty() {
                        // A batch that took this event is answering it right now.
                        drop(turn);
                        tokio::task::yield_now().await;
                        continue;
                    }
                    let db = db.clone();
                    // The batch runs in its own task and keeps the leader's turn until it has
                    // answered everyone, so a cancelled request cannot strand the others.
                    tokio::spawn(async move {
                        write(&db, batch).await;
                        drop(turn);
                    });
                }
            }
        }
    }
}

/// Writes one batch and answers each waiting request. When the batch as a whole fails, each
/// event is tried alone, so one bad event cannot fail its neighbours.
async fn write(db: &DatabaseConnection, batch: Vec<Waiting>) {
    let (items, replies): (Vec<Item>, Vec<oneshot::Sender<Outcome>>) =
        batch.into_iter().map(|w| (w.item, w.reply)).unzip();
    let outcomes = match apply(db, &items).await {
        Ok(outcomes) => outcomes,
        Err(error) if items.len() > 1 => {
            tracing::warn!(%error, size = items.len(), "conversion batch failed; writing its events one by one");
            let mut outcomes = Vec::with_capacity(items.len());
            for item in &items {
                outcomes.push(match apply(db, std::slice::from_ref(item)).await {
                    Ok(mut one) => one.pop().unwrap_or_else(|| {
                        Err(AppError::internal("conversions::queue", "no answer"))
                    }),
                    Err(e) => Err(e),
                });
            }
            outcomes
        }
        Err(error) => vec![Err(error)],
    };
    for (reply, outcome) in replies.into_iter().zip(outcomes) {
        // The request may have gone away; its event is written all the same.
        let _ = reply.send(outcome);
    }
}

async fn apply(db: &DatabaseConnection, items: &[Item]) -> Result<Vec<Outcome>, AppError> {
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("conversions::queue begin", e))?;
    let outcomes = engine::run(&txn, items).await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("conversions::queue commit", e))?;
    Ok(outcomes)
}
