//! The outbox: side effects written in the same transaction as the change that caused them.
//!
//! A use case collects its events in [`Effects`] and calls [`Effects::write`] before it commits.
//! Each event becomes one `outbox` row plus one `webhook_deliveries` row per enabled endpoint
//! that subscribes to it; the delivery worker sends them later. If the transaction rolls back,
//! so do its effects; if the process dies after the commit, the rows are still there.
//!
//! The same events tell the CRM sync which referrers and leads changed (`crm::touch`, in the
//! same transaction), so every path that raises an event keeps the CRM up to date.

use std::collections::HashSet;

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::{Value, json};

use crate::{
    error::AppError,
    ssr::{
        db::{OnConflict, insert_all, reserve_ids},
        entities::{outbox_event, webhook_delivery, webhook_endpoint},
        services::{crm, secrets::random_token},
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
#[derive(Clone, Debug, Default)]
pub struct Effects {
    events: Vec<(&'static str, Value)>,
    /// The event types some enabled endpoint subscribes to, when looked up beforehand
    /// ([`Effects::for_subscribers`]); `None` keeps every event until [`Effects::write`].
    wanted: Option<HashSet<&'static str>>,
}

impl Effects {
    /// Effects that keep only the event types some enabled endpoint subscribes to (all of them
    /// while a CRM is connected: its sync reads them), so a batch of thousands of events builds
    /// no payload nobody will receive.
    pub async fn for_subscribers(db: &impl ConnectionTrait) -> Result<Self, AppError> {
        let subscriptions: Vec<String> = webhook_endpoint::Entity::find()
            .select_only()
            .column(webhook_endpoint::Column::Events)
            .filter(webhook_endpoint::Column::Enabled.eq(true))
            .into_tuple()
            .all(db)
            .await
            .map_err(|e| AppError::internal("outbox::for_subscribers", e))?;
        let crm_connected = !crm::enabled(db).await?.is_empty();
        let wanted = EVENT_TYPES
            .into_iter()
            .filter(|t| crm_connected || subscriptions.iter().any(|events| subscribes(events, t)))
            .collect();
        Ok(Self {
            events: Vec::new(),
            wanted: Some(wanted),
        })
    }

    /// Queues an event of `event_type` (one of [`EVENT_TYPES`]) with `data` as its payload.
    pub fn push(&mut self, event_type: &'static str, data: Value) {
        self.push_with(event_type, || data);
    }

    /// Queues an event whose payload is built only if somebody subscribes to its type.
    pub fn push_with(&mut self, event_type: &'static str, data: impl FnOnce() -> Value) {
        debug_assert!(EVENT_TYPES.contains(&event_type));
        if self.wanted.as_ref().is_none_or(|w| w.contains(event_type)) {
            self.events.push((event_type, data()));
        }
    }

    /// True when nothing was queued.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The queued event types, in order (for tests and logs).
    pub fn types(&self) -> Vec<&'static str> {
        self.events.iter().map(|(t, _)| *t).collect()
    }

    /// Writes the queued events into the outbox, in the caller's transaction (a write
    /// transaction: ids are reserved with `db::reserve_ids`), and queues the referrers and leads
    /// they change for the CRM sync when a CRM is connected. Events no enabled endpoint
    /// subscribes to are not stored: there is nobody to deliver them to. Two statements in all,
    /// however many events.
    pub async fn write(self, db: &impl ConnectionTrait) -> Result<(), AppError> {
        if self.events.is_empty() {
            return Ok(());
        }
        crm::touch_events(db, self.events.iter().map(|(t, data)| (*t, data))).await?;
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
        let wanted: Vec<(&'static str, Value, Vec<i64>)> = self
            .events
            .into_iter()
            .filter_map(|(event_type, data)| {
                let subscribers: Vec<i64> = endpoints
                    .iter()
                    .filter(|(_, events)| subscribes(events, event_type))
                    .map(|(id, _)| *id)
                    .collect();
                (!subscribers.is_empty()).then_some((event_type, data, subscribers))
            })
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let ids = reserve_ids(db, "outbox", wanted.len())
            .await
            .map_err(|e| AppError::internal("outbox::write ids", e))?;
        let now = Utc::now();
        let mut events = Vec::with_capacity(wanted.len());
        let mut deliveries = Vec::new();
        for ((event_type, data, subscribers), id) in wanted.into_iter().zip(ids) {
            let payload = json!({
                "type": event_type,
                "timestamp": now.to_rfc3339(),
                "data": data,
            });
            events.push(outbox_event::ActiveModel {
                id: Set(id),
                event_id: Set(format!("msg_{}", random_token(18))),
                event_type: Set(event_type.to_owned()),
                payload: Set(payload.to_string()),
                created_at: Set(now),
            });
            deliveries.extend(subscribers.into_iter().map(|endpoint_id| {
                webhook_delivery::ActiveModel {
                    outbox_id: Set(id),
                    endpoint_id: Set(endpoint_id),
                    status: Set("pending".to_owned()),
                    attempts: Set(0),
                    next_attempt_at: Set(now),
                    created_at: Set(now),
                    ..Default::default()
                }
            }));
        }
        insert_all(db, events, OnConflict::Fail)
            .await
            .map_err(|e| AppError::internal("outbox::write events", e))?;
        insert_all(
            db,
            deliveries,
            OnConflict::Skip(&["outbox_id", "endpoint_id"]),
        )
        .await
        .map_err(|e| AppError::internal("outbox::write deliveries", e))?;
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
