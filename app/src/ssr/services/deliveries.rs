//! Outbound webhooks: endpoints, and the database side of delivering the outbox to them.
//!
//! The HTTP side lives in the `server` crate's outbox worker, which loops over [`claim`] ->
//! POST -> [`record_attempt`]. A claim is a lease (`locked_until`): on PostgreSQL rows are picked
//! with `FOR UPDATE SKIP LOCKED`, so several server processes share the work and never hold the
//! same delivery at once; on SQLite the single writer serializes claims. If a process dies
//! holding a lease, the lease runs out and another process retries (receivers dedupe by the
//! stable `webhook-id`).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};

use crate::{
    error::AppError,
    ssr::{
        db::{begin_write, due_and_free, skip_locked},
        entities::{outbox_event, webhook_delivery, webhook_endpoint},
        services::{
            audit::{self, Actor, Change, Object},
            outbound_net,
            outbox::EVENT_TYPES,
            signatures,
        },
        state::AppState,
    },
    types::{DeliveryLine, Endpoint},
};

/// Wait before attempt N+1 after N failed attempts: about a day in all, then the delivery fails.
pub const BACKOFF_SECS: [i64; 8] = [5, 60, 300, 1800, 7200, 18000, 36000, 36000];
/// How long a claim lasts before another process may retry the delivery.
pub const LEASE_SECS: i64 = 60;
/// An endpoint that has failed without a single success for this long is disabled.
pub const DISABLE_AFTER_HOURS: i64 = 24;

fn to_wire(row: &webhook_endpoint::Model) -> Endpoint {
    Endpoint {
        id: row.id,
        url: row.url.clone(),
        description: row.description.clone(),
        events: row
            .events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        enabled: row.enabled,
        disabled_reason: row.disabled_reason.clone(),
        failing_since: row.failing_since,
    }
}

fn check_url(url: &str, allow_private: bool) -> Result<String, AppError> {
    let parsed = url::Url::parse(url.trim()).map_err(|_| {
        AppError::invalid(
            "invalid_url",
            "url",
            "Enter the endpoint's full URL, like https://example.com/hooks/handoff.",
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(AppError::invalid(
            "invalid_url",
            "url",
            "Endpoints are http or https URLs.",
        ));
    }
    if url.len() > 2048 {
        return Err(AppError::invalid(
            "invalid_url",
            "url",
            "That URL is too long.",
        ));
    }
    // A name is checked on every delivery, when it is resolved; an address can be refused now.
    outbound_net::check_url(&parsed, allow_private).map_err(|why| {
        AppError::invalid(
            "private_url",
            "url",
            format!("Webhooks go to public addresses only: {why}"),
        )
    })?;
    Ok(parsed.to_string())
}

fn check_events(events: &[String]) -> Result<String, AppError> {
    let mut chosen: Vec<&str> = Vec::new();
    for e in events.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        if e != "*" && !EVENT_TYPES.contains(&e) {
            return Err(AppError::invalid(
                "invalid_events",
                "events",
                format!(
                    "Unknown event \"{e}\"; choose from {}.",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
        if !chosen.contains(&e) {
            chosen.push(e);
        }
    }
    if chosen.is_empty() {
        return Err(AppError::invalid(
            "invalid_events",
            "events",
            "Choose at least one event to send.",
        ));
    }
    Ok(chosen.join(","))
}

/// Creates an endpoint; returns it with its signing secret (shown once).
pub async fn create_endpoint(
    state: &AppState,
    actor: &Actor,
    url: &str,
    description: &str,
    events: &[String],
) -> Result<(Endpoint, String), AppError> {
    let url = check_url(url, state.settings.allow_private_networks)?;
    let events = check_events(events)?;
    let description: String = description.trim().chars().take(200).collect();
    let secret = signatures::standard::generate_secret();
    let now = Utc::now();
    let err = |e| AppError::internal("deliveries::create_endpoint", e);
    let txn = begin_write(&state.db).await.map_err(err)?;
    let row = webhook_endpoint::ActiveModel {
        url: Set(url),
        description: Set(description),
        events: Set(events),
        secret: Set(secret.clone()),
        enabled: Set(true),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(err)?;
    audit::record(
        &txn,
        actor,
        Change {
            action: "webhook_endpoint.created",
            campaign_id: None,
            object: Object::WebhookEndpoint(row.id),
            summary: format!("Added the webhook endpoint {} ({}).", row.url, row.events),
        },
    )
    .await?;
    txn.commit().await.map_err(err)?;
    Ok((to_wire(&row), secret))
}

/// Every endpoint.
pub async fn endpoints(state: &AppState) -> Result<Vec<Endpoint>, AppError> {
    Ok(webhook_endpoint::Entity::find()
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(&state.db)
        .await
        .map_err(|e| AppError::internal("deliveries::endpoints", e))?
        .iter()
        .map(to_wire)
        .collect())
}

/// One endpoint.
pub async fn endpoint(state: &AppState, id: i64) -> Result<Endpoint, AppError> {
    webhook_endpoint::Entity::find_by_id(id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("deliveries::endpoint", e))?
        .map(|row| to_wire(&row))
        .ok_or_else(|| AppError::not_found("Endpoint"))
}

/// Enables or disables an endpoint. Enabling clears the failure notice.
pub async fn set_enabled(
    state: &AppState,
    actor: &Actor,
    id: i64,
    enabled: bool,
) -> Result<Endpoint, AppError> {
    let row = webhook_endpoint::Entity::find_by_id(id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("deliveries::set_enabled", e))?
        .ok_or_else(|| AppError::not_found("Endpoint"))?;
    let mut active: webhook_endpoint::ActiveModel = row.into();
    active.enabled = Set(enabled);
    if enabled {
        active.disabled_reason = Set(None);
        active.failing_since = Set(None);
    }
    active.updated_at = Set(Utc::now());
    let err = |e| AppError::internal("deliveries::set_enabled update", e);
    let txn = begin_write(&state.db).await.map_err(err)?;
    let row = active.update(&txn).await.map_err(err)?;
    audit::record(
        &txn,
        actor,
        Change {
            action: if enabled {
                "webhook_endpoint.enabled"
            } else {
                "webhook_endpoint.disabled"
            },
            campaign_id: None,
            object: Object::WebhookEndpoint(row.id),
            summary: format!(
                "{} the webhook endpoint {}.",
                if enabled { "Enabled" } else { "Disabled" },
                row.url
            ),
        },
    )
    .await?;
    txn.commit().await.map_err(err)?;
    Ok(to_wire(&row))
}

/// Deletes an endpoint and its delivery log.
pub async fn delete_endpoint(state: &AppState, actor: &Actor, id: i64) -> Result<(), AppError> {
    audit::delete_logged::<webhook_endpoint::Entity>(&state.db, actor, id, "Endpoint", |row| {
        Change {
            action: "webhook_endpoint.deleted",
            campaign_id: None,
            object: Object::WebhookEndpoint(row.id),
            summary: format!("Deleted the webhook endpoint {} and its log.", row.url),
        }
    })
    .await
}

/// The last 100 deliveries to an endpoint, newest first.
pub async fn log(state: &AppState, endpoint_id: i64) -> Result<Vec<DeliveryLine>, AppError> {
    let rows = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint_id))
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(100)
        .all(&state.db)
        .await
        .map_err(|e| AppError::internal("deliveries::log", e))?;
    let events: std::collections::HashMap<i64, (String, String)> = outbox_event::Entity::find()
        .filter(outbox_event::Column::Id.is_in(rows.iter().map(|r| r.outbox_id)))
        .all(&state.db)
        .await
        .map_err(|e| AppError::internal("deliveries::log events", e))?
        .into_iter()
        .map(|e| (e.id, (e.event_id, e.event_type)))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let (event_id, event_type) = events.get(&r.outbox_id).cloned().unwrap_or_default();
            DeliveryLine {
                id: r.id,
                event_id,
                event_type,
                status: r.status,
                attempts: r.attempts,
                last_status: r.last_status,
                last_error: r.last_error,
                next_attempt_at: r.next_attempt_at,
                delivered_at: r.delivered_at,
            }
        })
        .collect())
}

/// Sends a delivery again as soon as the worker gets to it (delivered or failed ones too).
pub async fn replay(state: &AppState, delivery_id: i64) -> Result<(), AppError> {
    let done = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value("pending"))
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(Utc::now()),
        )
        .col_expr(
            webhook_delivery::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(webhook_delivery::Column::Id.eq(delivery_id))
        .exec(&state.db)
        .await
        .map_err(|e| AppError::internal("deliveries::replay", e))?;
    if done.rows_affected == 0 {
        return Err(AppError::not_found("Delivery"));
    }
    Ok(())
}

/// A claimed delivery, with everything needed to send it.
#[derive(Clone, Debug)]
pub struct Claimed {
    /// Delivery id.
    pub id: i64,
    /// Attempts before this one.
    pub attempts: i32,
    /// Endpoint id.
    pub endpoint_id: i64,
    /// Where to POST.
    pub url: String,
    /// The endpoint's signing secret.
    pub secret: String,
    /// The stable event id (`webhook-id`).
    pub event_id: String,
    /// The JSON body.
    pub payload: String,
}

/// Claims up to `limit` due deliveries for this process (a lease of [`LEASE_SECS`]).
///
/// Only enabled endpoints' deliveries are claimed (a disabled endpoint's backlog waits, untouched,
/// until it is enabled again), and each endpoint gets a fair share of the round: up to
/// `limit / endpoints` of its own due deliveries, oldest first, then the room the others left to
/// those that have more. So a dead endpoint's backlog, however long, never delays a live one's
/// next event by more than a round.
pub async fn claim(db: &DatabaseConnection, limit: u64) -> Result<Vec<Claimed>, AppError> {
    let now = Utc::now();
    let lease = now + Duration::seconds(LEASE_SECS);
    // A plain read first: most polls find nothing, and they should not take SQLite's write lock.
    let any_due = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .filter(webhook_delivery::Column::Status.eq("pending"))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .into_tuple::<i64>()
        .one(db)
        .await
        .map_err(|e| AppError::internal("deliveries::claim peek", e))?;
    if any_due.is_none() {
        return Ok(Vec::new());
    }
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("deliveries::claim begin", e))?;
    let endpoints: Vec<i64> = webhook_endpoint::Entity::find()
        .select_only()
        .column(webhook_endpoint::Column::Id)
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .order_by_asc(webhook_endpoint::Column::Id)
        .into_tuple()
        .all(&txn)
        .await
        .map_err(|e| AppError::internal("deliveries::claim endpoints", e))?;
    let share = limit.div_ceil(endpoints.len().max(1) as u64);
    let mut ids: Vec<i64> = Vec::new();
    let mut hungry = Vec::new();
    for endpoint in &endpoints {
        let due = due_deliveries(&txn, *endpoint, now, share, &[]).await?;
        if due.len() as u64 == share {
            hungry.push(*endpoint);
        }
        ids.extend(due);
    }
    for endpoint in hungry {
        let room = limit.saturating_sub(ids.len() as u64);
        if room == 0 {
            break;
        }
        let more = due_deliveries(&txn, endpoint, now, room, &ids).await?;
        ids.extend(more);
    }
    ids.truncate(limit as usize);
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::LockedUntil, Expr::value(lease))
        .filter(webhook_delivery::Column::Id.is_in(ids.clone()))
        .exec(&txn)
        .await
        .map_err(|e| AppError::internal("deliveries::claim lease", e))?;
    let rows = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Id.is_in(ids))
        .all(&txn)
        .await
        .map_err(|e| AppError::internal("deliveries::claim rows", e))?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let endpoint = webhook_endpoint::Entity::find_by_id(row.endpoint_id)
            .one(&txn)
            .await
            .map_err(|e| AppError::internal("deliveries::claim endpoint", e))?;
        let event = outbox_event::Entity::find_by_id(row.outbox_id)
            .one(&txn)
            .await
            .map_err(|e| AppError::internal("deliveries::claim event", e))?;
        if let (Some(endpoint), Some(event)) = (endpoint, event) {
            if !endpoint.enabled {
                continue;
            }
            claimed.push(Claimed {
                id: row.id,
                attempts: row.attempts,
                endpoint_id: endpoint.id,
                url: endpoint.url,
                secret: endpoint.secret,
                event_id: event.event_id,
                payload: event.payload,
            });
        }
    }
    txn.commit()
        .await
        .map_err(|e| AppError::internal("deliveries::claim commit", e))?;
    Ok(claimed)
}

/// Up to `limit` ids of `endpoint`'s due deliveries, oldest first, leaving out `taken` (from the
/// index on `(endpoint_id, status, next_attempt_at)`). On PostgreSQL rows another process is
/// claiming right now are skipped, not waited for.
async fn due_deliveries(
    txn: &DatabaseTransaction,
    endpoint: i64,
    now: DateTime<Utc>,
    limit: u64,
    taken: &[i64],
) -> Result<Vec<i64>, AppError> {
    let mut query = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint))
        .filter(due_and_free(
            webhook_delivery::Column::Status,
            webhook_delivery::Column::NextAttemptAt,
            webhook_delivery::Column::LockedUntil,
            now,
        ))
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .order_by_asc(webhook_delivery::Column::Id)
        .limit(limit);
    if !taken.is_empty() {
        query = query.filter(webhook_delivery::Column::Id.is_not_in(taken.iter().copied()));
    }
    skip_locked(query, txn.get_database_backend())
        .into_tuple()
        .all(txn)
        .await
        .map_err(|e| AppError::internal("deliveries::claim select", e))
}

/// What one attempt gave.
#[derive(Clone, Debug)]
pub enum Attempt {
    /// The endpoint answered 2xx.
    Delivered,
    /// It answered something else, or could not be reached.
    Failed {
        /// The HTTP status, when there was a response.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
}

/// Records an attempt: delivered; or failed and rescheduled with backoff, failed for good after
/// the last retry; and the endpoint disabled after failing for [`DISABLE_AFTER_HOURS`].
pub async fn record_attempt(
    db: &DatabaseConnection,
    claimed: &Claimed,
    attempt: &Attempt,
) -> Result<(), AppError> {
    let now = Utc::now();
    let attempts = claimed.attempts + 1;
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("deliveries::record begin", e))?;
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(attempts))
        .col_expr(webhook_delivery::Column::LastAttemptAt, Expr::value(now))
        .col_expr(
            webhook_delivery::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    match attempt {
        Attempt::Delivered => {
            update = update
                .col_expr(webhook_delivery::Column::Status, Expr::value("delivered"))
                .col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(now))
                .col_expr(
                    webhook_delivery::Column::LastError,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(webhook_delivery::Column::LastStatus, Expr::value(200));
            webhook_endpoint::Entity::update_many()
                .col_expr(
                    webhook_endpoint::Column::FailingSince,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(webhook_endpoint::Column::Id.eq(claimed.endpoint_id))
                .exec(&txn)
                .await
                .map_err(|e| AppError::internal("deliveries::record endpoint ok", e))?;
        }
        Attempt::Failed { status, error } => {
            let retry = BACKOFF_SECS.get(usize::try_from(claimed.attempts).unwrap_or(usize::MAX));
            update = update
                .col_expr(
                    webhook_delivery::Column::LastStatus,
                    Expr::value(status.map(i32::from)),
                )
                .col_expr(
                    webhook_delivery::Column::LastError,
                    Expr::value(error.chars().take(500).collect::<String>()),
                );
            update = match retry {
                Some(wait) => update.col_expr(
                    webhook_delivery::Column::NextAttemptAt,
                    Expr::value(now + Duration::seconds(*wait)),
                ),
                None => update.col_expr(webhook_delivery::Column::Status, Expr::value("failed")),
            };
            let endpoint = webhook_endpoint::Entity::find_by_id(claimed.endpoint_id)
                .one(&txn)
                .await
                .map_err(|e| AppError::internal("deliveries::record endpoint", e))?;
            if let Some(endpoint) = endpoint {
                let since = endpoint.failing_since.unwrap_or(now);
                let mut active: webhook_endpoint::ActiveModel = endpoint.into();
                active.failing_since = Set(Some(since));
                if now - since >= Duration::hours(DISABLE_AFTER_HOURS) {
                    active.enabled = Set(false);
                    active.disabled_reason = Set(Some(format!(
                        "Disabled {}: every delivery failed for more than {DISABLE_AFTER_HOURS} hours (last: {error}). Fix the endpoint and enable it again; failed deliveries can be replayed.",
                        now.format("%Y-%m-%d %H:%M UTC")
                    )));
                }
                active
                    .update(&txn)
                    .await
                    .map_err(|e| AppError::internal("deliveries::record endpoint fail", e))?;
            }
        }
    }
    update
        .filter(webhook_delivery::Column::Id.eq(claimed.id))
        .exec(&txn)
        .await
        .map_err(|e| AppError::internal("deliveries::record", e))?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("deliveries::record commit", e))?;
    Ok(())
}
