//! The CRM worker: sends the CRM sync queue (`services::crm`) to each connected CRM (HubSpot,
//! 100 contacts a request; Salesforce, 200 records a request), and records the CRM's answer for
//! each row: synced, retried with backoff, or held back until a rate limit has passed (that CRM
//! alone waits then, since the limit is the account's, not the contact's; the other goes on).

use std::{collections::HashMap, sync::Arc, time::Duration};

use app::{
    error::AppError,
    ssr::{
        services::crm::{self, Claimed, Outcome, Recorded, hubspot, salesforce},
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
    /// Whether the batch was full (more may be waiting: no pause before the next round).
    pub full: bool,
    /// The CRM asked to wait until then.
    pub wait_until: Option<DateTime<Utc>>,
}

/// What the worker keeps between rounds: Salesforce's session (signing in for every batch
/// would spend the org's API allowance) and when each CRM may be called again.
#[derive(Default)]
pub struct Worker {
    salesforce_session: Option<salesforce::Session>,
    paused_until: HashMap<&'static str, DateTime<Utc>>,
}

/// Starts the worker; it polls every `poll` until aborted.
pub fn spawn(
    db: DatabaseConnection,
    settings: Arc<RuntimeSettings>,
    poll: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let client = match crm::client(settings.allow_private_networks) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "CRM worker: no HTTP client; nothing is synced");
                return;
            }
        };
        let mut worker = Worker::default();
        loop {
            let busy = worker.run_once(&db, &client, &settings).await;
            if !busy {
                tokio::time::sleep(poll).await;
            }
        }
    })
}

impl Worker {
    /// One round for every CRM not asked to wait; true when a batch was full (go again at
    /// once).
    pub async fn run_once(
        &mut self,
        db: &DatabaseConnection,
        client: &crm::Http,
        settings: &RuntimeSettings,
    ) -> bool {
        let mut busy = false;
        for name in crm::ALL {
            let now = Utc::now();
            if self
                .paused_until
                .get(name)
                .is_some_and(|until| *until > now)
            {
                continue;
            }
            let round = match name {
                crm::SALESFORCE => {
                    salesforce_round(db, client, settings, &mut self.salesforce_session).await
                }
                _ => hubspot_round(db, client, settings).await,
            };
            match round {
                Ok(Round {
                    wait_until: Some(until),
                    ..
                }) => {
                    tracing::info!(
                        crm = name,
                        seconds = (until - now).num_seconds(),
                        "CRM worker: asked to slow down"
                    );
                    self.paused_until.insert(name, until);
                }
                Ok(round) => busy |= round.full,
                Err(e) => tracing::warn!(crm = name, error = %e, "CRM worker: a round failed"),
            }
        }
        busy
    }
}

/// Claims up to `batch` due rows of `crm` and turns them into contacts; records the rows with
/// nothing to send (gone, or no email) as skipped. `None`: nothing was due.
async fn begin_round(
    db: &DatabaseConnection,
    settings: &RuntimeSettings,
    name: &'static str,
    shown_name: &str,
    batch: usize,
) -> Result<Option<(Vec<Claimed>, crm::Batch)>, AppError> {
    let claimed = crm::claim(db, name, batch as u64).await?;
    if claimed.is_empty() {
        return Ok(None);
    }
    let contacts = crm::contacts(db, settings, &claimed).await?;
    let without_email = format!(
        "No email address: {shown_name} records are matched by email, so nothing was sent."
    );
    for (rows, why) in [
        (&contacts.gone, "Not in Handoff any more: nothing sent."),
        (&contacts.without_email, without_email.as_str()),
    ] {
        let skipped: Vec<(Claimed, Outcome)> = rows
            .iter()
            .filter_map(|row| Some((find(&claimed, *row)?, Outcome::Skipped)))
            .collect();
        crm::record(db, &skipped, None, why).await?;
    }
    Ok(Some((claimed, contacts)))
}

fn find(claimed: &[Claimed], row: i64) -> Option<Claimed> {
    claimed.iter().find(|c| c.id == row).cloned()
}

/// One Salesforce round: claims up to 200 due rows and sends them (signing in when needed),
/// records each record's answer. Does nothing while Salesforce is not connected.
pub async fn salesforce_round(
    db: &DatabaseConnection,
    client: &crm::Http,
    settings: &RuntimeSettings,
    session: &mut Option<salesforce::Session>,
) -> Result<Round, AppError> {
    let Some(connection) = salesforce::connection(db).await? else {
        *session = None;
        return Ok(Round::default());
    };
    let Some((claimed, batch)) = begin_round(
        db,
        settings,
        crm::SALESFORCE,
        "Salesforce",
        salesforce::BATCH,
    )
    .await?
    else {
        return Ok(Round::default());
    };
    let mut round = Round {
        claimed: claimed.len(),
        full: claimed.len() == salesforce::BATCH,
        wait_until: None,
    };
    if batch.contacts.is_empty() {
        return Ok(round);
    }
    let answers = salesforce::sync(client, &connection, session, &batch.contacts, Utc::now()).await;
    let results: Vec<Recorded> = answers
        .into_iter()
        .filter_map(|(row, outcome, status, reply)| {
            Some(Recorded {
                row: find(&claimed, row)?,
                outcome,
                status,
                reply,
            })
        })
        .collect();
    if let Some(failed) = results.iter().find(|r| r.outcome == Outcome::Failed) {
        tracing::warn!(status = ?failed.status, reply = %failed.reply.chars().take(300).collect::<String>(), "CRM worker: Salesforce refused records");
    }
    round.wait_until = results.iter().find_map(|r| match r.outcome {
        Outcome::RateLimited(at) => Some(at),
        _ => None,
    });
    crm::record_each(db, &results).await?;
    Ok(round)
}

/// One HubSpot round: claims up to a batch of due rows, sends their contacts as they are now,
/// records the answer. Does nothing while HubSpot is not connected.
pub async fn hubspot_round(
    db: &DatabaseConnection,
    client: &crm::Http,
    settings: &RuntimeSettings,
) -> Result<Round, AppError> {
    // Read each round, so a token saved in the admin reaches every server process.
    let Some(connection) = hubspot::connection(db).await? else {
        return Ok(Round::default());
    };
    let Some((claimed, batch)) =
        begin_round(db, settings, crm::HUBSPOT, "HubSpot", hubspot::BATCH).await?
    else {
        return Ok(Round::default());
    };
    let round = Round {
        claimed: claimed.len(),
        full: claimed.len() == hubspot::BATCH,
        wait_until: None,
    };
    let by_row = |row: i64| find(&claimed, row);
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
    reply: &crm::Reply,
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
