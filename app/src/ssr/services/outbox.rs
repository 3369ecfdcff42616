//! The outbox: side effects written in the same transaction as the change that caused them.
//!
//! A use case collects its events in [`Effects`] and calls [`Effects::write`] before it commits.
//! Each event becomes one `outbox` row plus one `webhook_deliveries` row per enabled endpoint
//! that subscribes to it; the delivery worker sends them later. If the transaction rolls back,
//! so do its effects; if the process dies after the commit, the rows are still there.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict,
};
use serde_json::{Value, json};

use crate::{
    error::AppError,
    ssr::{
        entities::{outbox_event, webhook_delivery, webhook_endpoint},
        services::secrets::random_token,
    },
};

/// Every event type an endpoint can subscribe to.
pub const EVENT_TYPES: [&str; 7] = [
    "referrer.created",
    "lead.created",
    "lead.qualified",
    "reward.created",
    "reward.due",
    "reward.issued",
    "reward.cancelled",
];

/// Side effects collected during one transaction.
#[derive(Debug, Default)]
pub struct Effects {
    events: Vec<(&'static str, Value)>,
}

impl Effects {
    /// Queues an event of `event_type` (one of [`EVENT_TYPES`]) with `data` as its payload.
    pub fn push(&mut self, event_type: &'static str, data: Value) {
        debug_assert!(EVENT_TYPES.contains(&event_type));
        self.events.push((event_type, data));
    }

    /// True when nothing was queued.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The queued event types, in order (for tests and logs).
    pub fn types(&self) -> Vec<&'static str> {
        self.events.iter().map(|(t, _)| *t).collect()
    }

    /// Writes the queued events into the outbox, in the caller's transaction. Events no enabled
    /// endpoint subscribes to are not stored: there is nobody to deliver them to.
    pub async fn write(self, db: &impl ConnectionTrait) -> Result<(), AppError> {
        if self.events.is_empty() {
            return Ok(());
        }
        let endpoints: Vec<(i64, String)> = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::Enabled.eq(true))
            .all(db)
            .await
            .map_err(|e| AppError::internal("outbox::write endpoints", e))?
            .into_iter()
            .map(|e| (e.id, e.events))
            .collect();
        if endpoints.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        for (event_type, data) in self.events {
            let subscribers: Vec<i64> = endpoints
                .iter()
                .filter(|(_, events)| subscribes(events, event_type))
                .map(|(id, _)| *id)
                .collect();
            if subscribers.is_empty() {
                continue;
            }
            let event_id = format!("msg_{}", random_token(18));
            let payload = json!({
                "type": event_type,
                "timestamp": now.to_rfc3339(),
                "data": data,
            });
            let row = outbox_event::Entity::insert(outbox_event::ActiveModel {
                event_id: Set(event_id),
                event_type: Set(event_type.to_owned()),
                payload: Set(payload.to_string()),
                created_at: Set(now),
                ..Default::default()
            })
            .exec(db)
            .await
            .map_err(|e| AppError::internal("outbox::write event", e))?;
            let deliveries =
                subscribers
                    .into_iter()
                    .map(|endpoint_id| webhook_delivery::ActiveModel {
                        outbox_id: Set(row.last_insert_id),
                        endpoint_id: Set(endpoint_id),
                        status: Set("pending".to_owned()),
                        attempts: Set(0),
                        next_attempt_at: Set(now),
                        created_at: Set(now),
                        ..Default::default()
                    });
            webhook_delivery::Entity::insert_many(deliveries)
                .on_conflict(
                    OnConflict::columns([
                        webhook_delivery::Column::OutboxId,
                        webhook_delivery::Column::EndpointId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(db)
                .await
                .map_err(|e| AppError::internal("outbox::write deliveries", e))?;
        }
        Ok(())
    }
}

/// Whether an endpoint's comma-separated event list includes `event_type` (`*` means all).
pub fn subscribes(events: &str, event_type: &str) -> bool {
    events
        .split(',')
        .map(str::trim)
        .any(|e| e == "*" || e == event_type)
}
