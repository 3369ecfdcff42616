//! The outbox worker: delivers outbound webhooks from the outbox, signed with the Standard
//! Webhooks scheme, with retries and backoff (see `services::deliveries`), and moves rewards
//! whose hold has passed to `due`.

use std::{sync::Arc, time::Duration};

use app::ssr::{
    services::{
        deliveries::{self, Attempt, Claimed},
        outbound_net, rewards, signatures,
    },
    state::RuntimeSettings,
};
use chrono::Utc;
use futures_util::StreamExt;
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;

/// Deliveries claimed per round.
const BATCH: u64 = 32;
/// Deliveries in flight at once.
const CONCURRENCY: usize = 8;
/// How long an endpoint has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How often held rewards are checked.
const MATURE_EVERY: Duration = Duration::from_secs(60);

/// Starts the worker; it polls every `poll` until aborted. `settings` word the "reward issued"
/// emails of rewards it issues when their hold passes.
pub fn spawn(
    db: DatabaseConnection,
    settings: Arc<RuntimeSettings>,
    poll: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let allow_private = settings.allow_private_networks;
        let client = match outbound_net::client_builder(allow_private)
            .timeout(TIMEOUT)
            .user_agent(concat!("Handoff-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "outbox worker: no HTTP client; webhooks are not sent");
                return;
            }
        };
        let mut last_mature = tokio::time::Instant::now() - MATURE_EVERY;
        loop {
            if last_mature.elapsed() >= MATURE_EVERY {
                last_mature = tokio::time::Instant::now();
                if let Err(e) = rewards::mature(&db, &settings, Utc::now()).await {
                    tracing::warn!(error = %e, "outbox worker: maturing rewards failed");
                }
            }
            match deliveries::claim(&db, BATCH).await {
                Ok(batch) if !batch.is_empty() => {
                    let full = batch.len() as u64 == BATCH;
                    futures_util::stream::iter(batch)
                        .for_each_concurrent(CONCURRENCY, |claimed| {
                            let client = client.clone();
                            let db = db.clone();
                            async move {
                                let attempt = send(&client, &claimed, allow_private).await;
                                if let Err(e) =
                                    deliveries::record_attempt(&db, &claimed, &attempt).await
                                {
                                    tracing::warn!(error = %e, delivery = claimed.id, "outbox worker: could not record an attempt");
                                }
                            }
                        })
                        .await;
                    if full {
                        // More are waiting: go again without sleeping.
                        continue;
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox worker: claim failed"),
            }
            tokio::time::sleep(poll).await;
        }
    })
}

/// POSTs one delivery.
async fn send(client: &reqwest::Client, claimed: &Claimed, allow_private: bool) -> Attempt {
    // Saved before the address check existed, or with private networks allowed then.
    let refused = match reqwest::Url::parse(&claimed.url) {
        Ok(url) => outbound_net::check_url(&url, allow_private).err(),
        Err(_) => Some("the endpoint's URL does not parse"),
    };
    if let Some(why) = refused {
        return Attempt::Failed {
            status: None,
            error: why.to_owned(),
        };
    }
    let timestamp = Utc::now().timestamp();
    let signature = match signatures::standard::sign(
        &claimed.secret,
        &claimed.event_id,
        timestamp,
        claimed.payload.as_bytes(),
    ) {
        Ok(s) => s,
        Err(e) => {
            return Attempt::Failed {
                status: None,
                error: e.to_string(),
            };
        }
    };
    let response = client
        .post(&claimed.url)
        .header("content-type", "application/json")
        .header("webhook-id", &claimed.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(claimed.payload.clone())
        .send()
        .await;
    match response {
        Ok(r) if r.status().is_success() => Attempt::Delivered,
        Ok(r) => Attempt::Failed {
            status: Some(r.status().as_u16()),
            error: format!("HTTP {}", r.status()),
        },
        Err(e) => Attempt::Failed {
            status: None,
            error: if e.is_timeout() {
                "timed out".to_owned()
            } else if let Some(why) = outbound_net::refusal(&e) {
                why
            } else if e.is_connect() {
                "could not connect".to_owned()
            } else {
                e.to_string()
            },
        },
    }
}
