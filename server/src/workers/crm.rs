//! The CRM worker: sends the CRM sync queue (`services::crm`) to HubSpot, 100 contacts a
//! request, and records HubSpot's answer for each row: synced, retried with backoff, or held
//! back until a 429's `Retry-After` has passed (the whole worker waits then, since the limit is
//! the account's, not the contact's).

use std::{sync::Arc, time::Duration};

use app::{
    error::AppError,
    ssr::{
        services::crm::{self, Claimed, Outcome, hubspot},
        state::RuntimeSettings,
    },
};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Queue rows claimed.
    pub claimed: usize,
    /// HubSpot asked to wait until then.
    pub wait_until: Option<DateTime<Utc>>,
}

/// Starts the worker; it polls every `poll` until aborted.
pub fn spawn(
    db: DatabaseConnection,
    settings: Arc<RuntimeSettings>,
    poll: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let client = match hubspot::client() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "CRM worker: no HTTP client; nothing is synced");
                return;
            }
        };
        loop {
            match run_once(&db, &client, &settings).await {
                Ok(Round {
                    wait_until: Some(until),
                    ..
                }) => {
                    let wait = (until - Utc::now()).to_std().unwrap_or(poll);
                    tracing::info!(
                        seconds = wait.as_secs(),
                        "CRM worker: HubSpot asked to slow down"
                    );
                    tokio::time::sleep(wait.max(poll)).await;
                    continue;
                }
                Ok(round) if round.claimed == hubspot::BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "CRM worker: a round failed"),
            }
            tokio::time::sleep(poll).await;
        }
    })
}

/// One round: claims up to a batch of due rows, sends their contacts as they are now, records
/// the answer. Does nothing while HubSpot is not connected.
pub async fn run_once(
    db: &DatabaseConnection,
    client: &reqwest::Client,
    settings: &RuntimeSettings,
) -> Result<Round, AppError> {
    // Read each round, so a token saved in the admin reaches every server process.
    let Some(connection) = hubspot::connection(db).await? else {
        return Ok(Round::default());
    };
    let claimed = crm::claim(db, crm::HUBSPOT, hubspot::BATCH as u64).await?;
    if claimed.is_empty() {
        return Ok(Round::default());
    }
    let round = Round {
        claimed: claimed.len(),
        wait_until: None,
    };
    let batch = crm::contacts(db, settings, &claimed).await?;
    let by_row = |row: i64| claimed.iter().find(|c| c.id == row).cloned();
    for (rows, why) in [
        (&batch.gone, "Not in Handoff any more: nothing sent."),
        (
            &batch.without_email,
            "No email address: HubSpot contacts are matched by email, so nothing was sent.",
        ),
    ] {
        let skipped: Vec<(Claimed, Outcome)> = rows
            .iter()
            .filter_map(|row| Some((by_row(*row)?, Outcome::Skipped)))
            .collect();
        crm::record(db, &skipped, None, why).await?;
    }
    if batch.contacts.is_empty() {
        return Ok(round);
    }
    let reply = hubspot::upsert(client, &connection, &batch.contacts).await;
    if reply.status == Some(400) && batch.contacts.len() > 1 {
        // HubSpot refuses a whole batch for one contact it will not take: send each alone, so
        // only that one fails and the others are not held back with it.
        tracing::warn!(reply = %reply.body.chars().take(300).collect::<String>(), "CRM worker: HubSpot refused a batch; sending its contacts one by one");
        for (i, contact) in batch.contacts.iter().enumerate() {
            let reply = hubspot::upsert(client, &connection, std::slice::from_ref(contact)).await;
            let wait_until = send_result(db, &reply, &batch.contacts[i..i + 1], &by_row).await?;
            if let Some(until) = wait_until {
                // Rate limited: the rest wait as well, without an attempt counted.
                let rest: Vec<(Claimed, Outcome)> = batch.contacts[i + 1..]
                    .iter()
                    .flat_map(|c| c.rows.iter())
                    .filter_map(|row| Some((by_row(*row)?, Outcome::RateLimited(until))))
                    .collect();
                crm::record(db, &rest, reply.status, &reply.body).await?;
                return Ok(Round {
                    wait_until: Some(until),
                    ..round
                });
            }
        }
        return Ok(round);
    }
    let wait_until = send_result(db, &reply, &batch.contacts, &by_row).await?;
    Ok(Round {
        wait_until,
        ..round
    })
}

/// Records HubSpot's `reply` to an upsert of `contacts`; returns when to send again if it was a
/// 429.
async fn send_result(
    db: &DatabaseConnection,
    reply: &hubspot::Reply,
    contacts: &[crm::Contact],
    by_row: &impl Fn(i64) -> Option<Claimed>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let results: Vec<(Claimed, Outcome)> = hubspot::outcomes(reply, contacts, Utc::now())
        .into_iter()
        .filter_map(|(row, outcome)| Some((by_row(row)?, outcome)))
        .collect();
    if reply.status.is_none_or(|s| s >= 400) {
        tracing::warn!(status = ?reply.status, reply = %reply.body.chars().take(300).collect::<String>(), "CRM worker: HubSpot refused an upsert");
    }
    crm::record(db, &results, reply.status, &reply.body).await?;
    Ok(results.iter().find_map(|(_, o)| match o {
        Outcome::RateLimited(at) => Some(*at),
        _ => None,
    }))
}
