//! CRM sync: referrers and leads copied into the business's CRM as contacts, so sales, support
//! and lifecycle messages can use a customer's referral link and code.
//!
//! The queue is `crm_sync`, one row per CRM and object, written in the same transaction as the
//! change that makes the CRM's copy stale ([`touch`], called by `outbox::Effects::write` for
//! every event and by the referrer edits that raise none). Ten changes before the worker runs
//! are one upsert: the worker ([`claim`] -> [`contacts`] -> the CRM -> [`record`]) sends each
//! object's state as it is at send time. The row stays afterwards as the sync log (the CRM's
//! last answer). A failing CRM costs the referral path one small insert, never a wait.
//!
//! Two CRMs: HubSpot ([`hubspot`], contacts by email) and Salesforce ([`salesforce`], Contacts or
//! Leads by an external id field). Each has its own rows in the queue (the `crm` column), so one
//! CRM's outage or rate limit never holds back the other.

pub mod hubspot;
pub mod salesforce;

use std::time::Duration as StdDuration;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, SelectGetableTuple, Selector, Statement, TryGetableMany,
    Value as DbValue,
    sea_query::{Expr, ExprTrait},
};
use serde_json::Value;

use crate::{
    error::AppError,
    ssr::{
        db::{begin_write, due_and_free, skip_locked},
        entities::{campaign, crm_sync, lead, referrer, referrer_total, reward},
        services::{
            audit::{self, Actor, Change, Object},
            deliveries::BACKOFF_SECS,
            outbound_net, portal, referrers, settings,
        },
        state::RuntimeSettings,
    },
};

/// The `crm` of HubSpot's rows.
pub const HUBSPOT: &str = "hubspot";
/// The `crm` of Salesforce's rows.
pub const SALESFORCE: &str = "salesforce";
/// Every CRM Handoff syncs to, in the order the worker serves them.
pub const ALL: [&str; 2] = [HUBSPOT, SALESFORCE];
/// How long a CRM has to answer.
pub const TIMEOUT: StdDuration = StdDuration::from_secs(15);
/// The wait after a 429 that names none.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::seconds(10);
/// The longest wait a `Retry-After` is believed for.
pub const MAX_RETRY_AFTER: Duration = Duration::hours(1);
/// How long a claim lasts before another process may send the same rows.
pub const LEASE_SECS: i64 = 120;
/// Rows a [`touch`] statement writes at most (5 values each, under every parameter limit).
const TOUCH_CHUNK: usize = 500;

/// What a queue row names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// A referrer (their link, code, portal and numbers).
    Referrer,
    /// A lead (who referred them).
    Lead,
}

impl ObjectKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Referrer => "referrer",
            ObjectKind::Lead => "lead",
        }
    }

    /// From the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "referrer" => Some(ObjectKind::Referrer),
            "lead" => Some(ObjectKind::Lead),
            _ => None,
        }
    }
}

/// The CRMs with a connection set up (HubSpot with a token, Salesforce with a client secret),
/// in one settings read.
pub async fn enabled(db: &impl ConnectionTrait) -> Result<Vec<&'static str>, AppError> {
    let set = settings::present(db, &[hubspot::TOKEN, salesforce::CLIENT_SECRET]).await?;
    Ok([
        (hubspot::TOKEN, HUBSPOT),
        (salesforce::CLIENT_SECRET, SALESFORCE),
    ]
    .into_iter()
    .filter(|(key, _)| set.iter().any(|k| k == key))
    .map(|(_, crm)| crm)
    .collect())
}

/// How Handoff calls CRMs: the HTTP client and whether private addresses may be called.
#[derive(Clone, Debug)]
pub struct Http {
    /// A client with a timeout, no redirects (a redirect would carry the credentials
    /// elsewhere) and, unless private networks are allowed, public addresses only.
    pub client: reqwest::Client,
    /// `HANDOFF_ALLOW_PRIVATE_NETWORKS`.
    pub allow_private: bool,
}

/// The CRM client ([`Http`]).
pub fn client(allow_private: bool) -> Result<Http, AppError> {
    let client = outbound_net::client_builder(allow_private)
        .timeout(TIMEOUT)
        .user_agent(concat!("Handoff/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AppError::internal("crm::client", e))?;
    Ok(Http {
        client,
        allow_private,
    })
}

/// A CRM's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status; `None` when no answer came (connection refused, timeout).
    pub status: Option<u16>,
    /// The body, or what went wrong on the way.
    pub body: String,
    /// The `Retry-After` header, in seconds.
    pub retry_after: Option<u64>,
}

impl Reply {
    /// The start of the body, for logs.
    pub fn excerpt(&self) -> String {
        self.body.chars().take(300).collect()
    }
}

/// A key, token or secret pasted from a CRM's settings, trimmed: `None` unless it is printable
/// ASCII without spaces and between `min_len` and 512 characters. Each caller says where the
/// right value is found, which differs per CRM.
pub fn pasted_secret(text: &str, min_len: usize) -> Option<String> {
    let text = text.trim();
    let plausible =
        (min_len..=512).contains(&text.len()) && text.chars().all(|c| c.is_ascii_graphic());
    plausible.then(|| text.to_owned())
}

/// Sends `request` to the CRM called `who` and reads its answer whatever it is: the worker
/// records failures, it does not stop on them. A request to an address that is not public is
/// refused before it leaves (unless private networks are allowed).
pub async fn send(http: &Http, request: reqwest::RequestBuilder, who: &str) -> Reply {
    let refused = |why: String| Reply {
        status: None,
        body: format!("Not sent to {who}: {why}"),
        retry_after: None,
    };
    let request = match request.build() {
        Ok(request) => request,
        Err(e) => return refused(e.to_string()),
    };
    if let Err(why) = outbound_net::check_url(request.url(), http.allow_private) {
        return refused(why.to_owned());
    }
    match http.client.execute(request).await {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let body = response
                .text()
                .await
                .unwrap_or_else(|e| format!("(the body could not be read: {e})"));
            Reply {
                status: Some(status),
                body,
                retry_after,
            }
        }
        Err(e) => match outbound_net::refusal(&e) {
            Some(why) => refused(why),
            None => Reply {
                status: None,
                body: format!("No answer from {who}: {e}"),
                retry_after: None,
            },
        },
    }
}

/// How long to wait after a 429: its `Retry-After`, or `default`, at most [`MAX_RETRY_AFTER`].
pub fn retry_wait(reply: &Reply, default: Duration) -> Duration {
    reply
        .retry_after
        .and_then(|s| i64::try_from(s).ok())
        .map(Duration::seconds)
        .unwrap_or(default)
        .min(MAX_RETRY_AFTER)
}

/// The referrers and leads an outbox event of `event_type` with payload `data` changes in a
/// CRM's eyes: a new referrer; a new or qualified lead (and its referrer's qualified count); a
/// reward's referrer (rewards due).
pub fn stale_objects(event_type: &str, data: &Value) -> Vec<(ObjectKind, i64)> {
    let id = |key: &str| data.get(key).and_then(Value::as_i64);
    let mut objects = Vec::with_capacity(2);
    match event_type {
        "referrer.created" => objects.extend(id("id").map(|i| (ObjectKind::Referrer, i))),
        "lead.created" => objects.extend(id("id").map(|i| (ObjectKind::Lead, i))),
        "lead.qualified" => {
            objects.extend(id("id").map(|i| (ObjectKind::Lead, i)));
            objects.extend(id("referrer_id").map(|i| (ObjectKind::Referrer, i)));
        }
        t if t.starts_with("reward.") => {
            objects.extend(id("referrer_id").map(|i| (ObjectKind::Referrer, i)))
        }
        _ => {}
    }
    objects
}

/// Queues `objects` for every CRM set up, in the caller's transaction: a row per CRM and object,
/// made pending again (attempts reset, due now, version bumped) when it already exists.
pub async fn touch(
    db: &impl ConnectionTrait,
    objects: &[(ObjectKind, i64)],
) -> Result<(), AppError> {
    if objects.is_empty() {
        return Ok(());
    }
    queue(db, &enabled(db).await?, objects).await
}

/// [`touch`] for the objects outbox `events` (type, payload) change ([`stale_objects`]); with no
/// CRM set up it costs one settings read, whatever the number of events.
pub async fn touch_events<'a>(
    db: &impl ConnectionTrait,
    events: impl Iterator<Item = (&'a str, &'a Value)>,
) -> Result<(), AppError> {
    let crms = enabled(db).await?;
    if crms.is_empty() {
        return Ok(());
    }
    let objects: Vec<(ObjectKind, i64)> = events
        .flat_map(|(event_type, data)| stale_objects(event_type, data))
        .collect();
    queue(db, &crms, &objects).await
}

async fn queue(
    db: &impl ConnectionTrait,
    crms: &[&'static str],
    objects: &[(ObjectKind, i64)],
) -> Result<(), AppError> {
    if crms.is_empty() || objects.is_empty() {
        return Ok(());
    }
    let unique: Vec<(ObjectKind, i64)> = objects
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let backend = db.get_database_backend();
    let now = Utc::now();
    for crm in crms.iter().copied() {
        for chunk in unique.chunks(TOUCH_CHUNK) {
            let mut values: Vec<DbValue> = Vec::with_capacity(chunk.len() * 5);
            let mut rows = Vec::with_capacity(chunk.len());
            for (kind, id) in chunk {
                let n = values.len();
                rows.push(format!(
                    "({}, {}, {}, 'pending', 0, {}, 0, {})",
                    placeholder(backend, n + 1),
                    placeholder(backend, n + 2),
                    placeholder(backend, n + 3),
                    placeholder(backend, n + 4),
                    placeholder(backend, n + 5),
                ));
                values.extend([
                    crm.into(),
                    kind.as_str().into(),
                    (*id).into(),
                    now.into(),
                    now.into(),
                ]);
            }
            let sql = format!(
                "INSERT INTO crm_sync (crm, object_kind, object_id, status, attempts, next_attempt_at, version, changed_at) \
                 VALUES {} {UPSERT}",
                rows.join(", ")
            );
            db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await
                .map_err(|e| AppError::internal("crm::touch", e))?;
        }
    }
    Ok(())
}

/// What a change does to an object's existing row: pending again, from scratch.
const UPSERT: &str = "ON CONFLICT (crm, object_kind, object_id) DO UPDATE SET \
    status = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at, \
    changed_at = excluded.changed_at, version = crm_sync.version + 1";

fn placeholder(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// Queues every referrer and lead for `crm` ("sync all now", by `actor`, logged): one statement
/// per kind. Returns how many objects are queued.
pub async fn touch_all(db: &DatabaseConnection, actor: &Actor, crm: &str) -> Result<u64, AppError> {
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("crm::touch_all begin", e))?;
    let backend = txn.get_database_backend();
    let now = Utc::now();
    let mut queued = 0;
    for (table, kind) in [
        ("referrers", ObjectKind::Referrer),
        ("leads", ObjectKind::Lead),
    ] {
        // `WHERE true`: SQLite reads `ON CONFLICT` after a bare `SELECT ... FROM t` as a join.
        let sql = format!(
            "INSERT INTO crm_sync (crm, object_kind, object_id, status, attempts, next_attempt_at, version, changed_at) \
             SELECT {}, '{}', id, 'pending', 0, {}, 0, {} FROM {table} WHERE true {UPSERT}",
            placeholder(backend, 1),
            kind.as_str(),
            placeholder(backend, 2),
            placeholder(backend, 3),
        );
        let result = txn
            .execute_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [crm.into(), now.into(), now.into()],
            ))
            .await
            .map_err(|e| AppError::internal("crm::touch_all", e))?;
        queued += result.rows_affected();
    }
    audit::record(
        &txn,
        actor,
        Change {
            action: "crm.sync_all",
            campaign_id: None,
            object: Object::Setting,
            summary: format!("Queued every referrer and lead for {crm} ({queued})."),
        },
    )
    .await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("crm::touch_all commit", e))?;
    Ok(queued)
}

/// Queues one row again for its own CRM (the sync log's "Send again"); returns that CRM.
pub async fn resend(db: &DatabaseConnection, row_id: i64) -> Result<&'static str, AppError> {
    let row = crm_sync::Entity::find_by_id(row_id)
        .one(db)
        .await
        .map_err(|e| AppError::internal("crm::resend find", e))?
        .ok_or_else(|| AppError::not_found("sync entry"))?;
    let kind = ObjectKind::parse(&row.object_kind)
        .ok_or_else(|| AppError::internal("crm::resend kind", row.object_kind.clone()))?;
    let crm = ALL
        .into_iter()
        .find(|c| *c == row.crm)
        .ok_or_else(|| AppError::internal("crm::resend crm", row.crm.clone()))?;
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("crm::resend begin", e))?;
    queue(&txn, &[crm], &[(kind, row.object_id)]).await?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("crm::resend commit", e))?;
    Ok(crm)
}

/// A claimed queue row: the worker sends its object and then [`record`]s the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    /// The queue row.
    pub id: i64,
    /// What it names.
    pub kind: ObjectKind,
    /// The referrer's or lead's id.
    pub object_id: i64,
    /// Failed attempts so far.
    pub attempts: i32,
    /// The row's version when claimed: a change since then keeps it pending.
    pub version: i64,
}

/// Leases up to `limit` pending rows of `crm` whose time has come. On PostgreSQL rows another
/// process holds are skipped (`FOR UPDATE SKIP LOCKED`); SQLite's single writer serializes claims.
pub async fn claim(
    db: &DatabaseConnection,
    crm: &str,
    limit: u64,
) -> Result<Vec<Claimed>, AppError> {
    let now = Utc::now();
    let due = || {
        crm_sync::Column::Crm.eq(crm).and(due_and_free(
            crm_sync::Column::Status,
            crm_sync::Column::NextAttemptAt,
            crm_sync::Column::LockedUntil,
            now,
        ))
    };
    // A plain read first: most polls find nothing and should not take SQLite's write lock.
    let any = crm_sync::Entity::find()
        .select_only()
        .column(crm_sync::Column::Id)
        .filter(due())
        .into_tuple::<i64>()
        .one(db)
        .await
        .map_err(|e| AppError::internal("crm::claim peek", e))?;
    if any.is_none() {
        return Ok(Vec::new());
    }
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("crm::claim begin", e))?;
    let query = crm_sync::Entity::find()
        .filter(due())
        .order_by_asc(crm_sync::Column::NextAttemptAt)
        .order_by_asc(crm_sync::Column::Id)
        .limit(limit);
    let rows = skip_locked(query, txn.get_database_backend())
        .all(&txn)
        .await
        .map_err(|e| AppError::internal("crm::claim select", e))?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    crm_sync::Entity::update_many()
        .col_expr(
            crm_sync::Column::LockedUntil,
            Expr::value(now + Duration::seconds(LEASE_SECS)),
        )
        .filter(crm_sync::Column::Id.is_in(rows.iter().map(|r| r.id)))
        .exec(&txn)
        .await
        .map_err(|e| AppError::internal("crm::claim lease", e))?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("crm::claim commit", e))?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Claimed {
                id: r.id,
                kind: ObjectKind::parse(&r.object_kind)?,
                object_id: r.object_id,
                attempts: r.attempts,
                version: r.version,
            })
        })
        .collect())
}

/// One CRM contact as Handoff describes it: the email that identifies it and Handoff's
/// properties (see [`hubspot::PROPERTIES`]), with the queue rows it answers for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// The contact's email, as the referrer or lead gave it.
    pub email: String,
    /// The person's name as Handoff has it (the referrer's over a lead's), for a CRM that needs
    /// one to create a record (Salesforce); never sent to update one.
    pub name: Option<String>,
    /// Property name -> value, in name order (a stable request body).
    pub properties: BTreeMap<&'static str, String>,
    /// The queue rows this contact carries.
    pub rows: Vec<i64>,
}

/// What a round of claimed rows comes to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// The contacts to send.
    pub contacts: Vec<Contact>,
    /// Rows whose referrer or lead is gone from Handoff.
    pub gone: Vec<i64>,
    /// Rows of leads without an email (recorded by phone, or a code conversion that named
    /// none): a CRM contact is matched by email, so there is nothing to send.
    pub without_email: Vec<i64>,
}

/// The contacts for `claimed` rows, as the objects are now. One person can be several objects
/// (a referrer in two campaigns, a referrer who was also referred): they become one contact, its
/// properties merged in id order (the newest referrer's link wins), because a CRM batch may not
/// name one contact twice.
pub async fn contacts(
    db: &impl ConnectionTrait,
    settings: &RuntimeSettings,
    claimed: &[Claimed],
) -> Result<Batch, AppError> {
    let ids = |kind: ObjectKind| -> Vec<i64> {
        claimed
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.object_id)
            .collect()
    };
    let referrer_ids = ids(ObjectKind::Referrer);
    let lead_ids = ids(ObjectKind::Lead);
    let referrers: Vec<referrer::Model> = if referrer_ids.is_empty() {
        Vec::new()
    } else {
        referrer::Entity::find()
            .filter(referrer::Column::Id.is_in(referrer_ids.clone()))
            .order_by_asc(referrer::Column::Id)
            .all(db)
            .await
            .map_err(|e| AppError::internal("crm::contacts referrers", e))?
    };
    let leads: Vec<lead::Model> = if lead_ids.is_empty() {
        Vec::new()
    } else {
        lead::Entity::find()
            .filter(lead::Column::Id.is_in(lead_ids))
            .order_by_asc(lead::Column::Id)
            .all(db)
            .await
            .map_err(|e| AppError::internal("crm::contacts leads", e))?
    };
    let qualified = id_map(db, referrer_ids.clone(), "totals", |ids| {
        referrer_total::Entity::find()
            .select_only()
            .column(referrer_total::Column::ReferrerId)
            .column(referrer_total::Column::Qualified)
            .filter(referrer_total::Column::ReferrerId.is_in(ids))
            .into_tuple::<(i64, i64)>()
    })
    .await?;
    let due = id_map(db, referrer_ids, "rewards", |ids| {
        reward::Entity::find()
            .select_only()
            .column(reward::Column::ReferrerId)
            .column_as(reward::Column::Id.count(), "due")
            .filter(reward::Column::ReferrerId.is_in(ids))
            .filter(reward::Column::Recipient.eq("referrer"))
            .filter(reward::Column::Status.eq(crate::domain::rules::RewardStatus::Due))
            .group_by(reward::Column::ReferrerId)
            .into_tuple::<(i64, i64)>()
    })
    .await?;
    // The campaigns' slugs (links and portal URLs) and the leads' referrers' emails.
    let campaign_ids = referrers.iter().map(|r| r.campaign_id).collect();
    let slugs = id_map(db, campaign_ids, "campaigns", |ids| {
        campaign::Entity::find()
            .select_only()
            .column(campaign::Column::Id)
            .column(campaign::Column::Slug)
            .filter(campaign::Column::Id.is_in(ids))
            .into_tuple::<(i64, String)>()
    })
    .await?;
    let referred_by_ids = leads.iter().filter_map(|l| l.referrer_id).collect();
    let referred_by = id_map(db, referred_by_ids, "referred by", |ids| {
        referrer::Entity::find()
            .select_only()
            .column(referrer::Column::Id)
            .column(referrer::Column::Email)
            .filter(referrer::Column::Id.is_in(ids))
            .into_tuple::<(i64, String)>()
    })
    .await?;

    let row_of = |kind: ObjectKind, id: i64| -> Vec<i64> {
        claimed
            .iter()
            .filter(|c| c.kind == kind && c.object_id == id)
            .map(|c| c.id)
            .collect()
    };
    // Leads first, so a person who is also a referrer ends with the referrer's properties on top.
    let mut by_email: BTreeMap<String, Contact> = BTreeMap::new();
    let mut found: HashSet<(ObjectKind, i64)> = HashSet::new();
    let mut add = |email: &str,
                   name: Option<&str>,
                   rows: Vec<i64>,
                   properties: Vec<(&'static str, String)>| {
        let contact = by_email
            .entry(email.trim().to_lowercase())
            .or_insert_with(|| Contact {
                email: email.trim().to_owned(),
                name: None,
                properties: BTreeMap::new(),
                rows: Vec::new(),
            });
        if let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) {
            contact.name = Some(name.to_owned());
        }
        contact.rows.extend(rows);
        contact.properties.extend(properties);
    };
    let mut without_email = Vec::new();
    for l in &leads {
        found.insert((ObjectKind::Lead, l.id));
        if l.email.trim().is_empty() {
            without_email.extend(row_of(ObjectKind::Lead, l.id));
            continue;
        }
        let by = l
            .referrer_id
            .and_then(|id| referred_by.get(&id).cloned())
            .unwrap_or_default();
        add(
            &l.email,
            l.name.as_deref(),
            row_of(ObjectKind::Lead, l.id),
            vec![(hubspot::REFERRED_BY, by)],
        );
    }
    for r in &referrers {
        found.insert((ObjectKind::Referrer, r.id));
        let slug = slugs.get(&r.campaign_id).cloned().unwrap_or_default();
        add(
            &r.email,
            Some(&r.name),
            row_of(ObjectKind::Referrer, r.id),
            vec![
                (hubspot::LINK, referrers::link(settings, &r.slug)),
                (hubspot::CODE, r.code.clone().unwrap_or_default()),
                (hubspot::PORTAL, portal::entrance_url(settings, &slug)),
                (
                    hubspot::QUALIFIED,
                    qualified.get(&r.id).copied().unwrap_or(0).to_string(),
                ),
                (
                    hubspot::REWARDS_DUE,
                    due.get(&r.id).copied().unwrap_or(0).to_string(),
                ),
            ],
        );
    }
    let gone = claimed
        .iter()
        .filter(|c| !found.contains(&(c.kind, c.object_id)))
        .map(|c| c.id)
        .collect();
    Ok(Batch {
        contacts: by_email.into_values().collect(),
        gone,
        without_email,
    })
}

/// The `(id, value)` rows `query` selects for `ids` (deduplicated), as a map; no statement for
/// no ids. `what` names the query in errors.
async fn id_map<V>(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
    what: &str,
    query: impl FnOnce(Vec<i64>) -> Selector<SelectGetableTuple<(i64, V)>>,
) -> Result<HashMap<i64, V>, AppError>
where
    (i64, V): TryGetableMany,
{
    let ids: Vec<i64> = ids
        .into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(query(ids)
        .all(db)
        .await
        .map_err(|e| AppError::internal(&format!("crm::contacts {what}"), e))?
        .into_iter()
        .collect())
}

/// What became of one claimed row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The CRM has it.
    Synced,
    /// The object is gone from Handoff: nothing to send.
    Skipped,
    /// The CRM refused or did not answer: try again after the backoff (or give up).
    Failed,
    /// The CRM asked Handoff to slow down: try again at this time, not counted as a failure.
    RateLimited(DateTime<Utc>),
}

/// Records the CRM's answer (`status`, `reply`, shortened) for each claimed row. A row changed
/// since it was claimed stays pending (its new state still has to go) whatever the answer was.
pub async fn record(
    db: &DatabaseConnection,
    results: &[(Claimed, Outcome)],
    status: Option<u16>,
    reply: &str,
) -> Result<(), AppError> {
    let each: Vec<Recorded> = results
        .iter()
        .map(|(row, outcome)| Recorded {
            row: row.clone(),
            outcome: *outcome,
            status,
            reply: reply.to_owned(),
        })
        .collect();
    record_each(db, &each).await
}

/// One row's answer, when a CRM answers each record of a batch on its own (Salesforce).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The claimed row.
    pub row: Claimed,
    /// What became of it.
    pub outcome: Outcome,
    /// The HTTP status of the request that carried it; `None`: no answer.
    pub status: Option<u16>,
    /// The CRM's words about this row.
    pub reply: String,
}

/// [`record`] with an answer of its own for each row, in one transaction.
pub async fn record_each(db: &DatabaseConnection, results: &[Recorded]) -> Result<(), AppError> {
    if results.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let txn = begin_write(db)
        .await
        .map_err(|e| AppError::internal("crm::record begin", e))?;
    for Recorded {
        row,
        outcome,
        status,
        reply,
    } in results
    {
        let reply: String = reply.chars().take(2000).collect();
        let status = *status;
        let attempts = match outcome {
            Outcome::Failed => row.attempts + 1,
            _ => row.attempts,
        };
        let (state, next) = match outcome {
            Outcome::Synced => ("synced", now),
            Outcome::Skipped => ("skipped", now),
            Outcome::RateLimited(at) => ("pending", *at),
            Outcome::Failed => match BACKOFF_SECS.get(row.attempts as usize) {
                Some(wait) => ("pending", now + Duration::seconds(*wait)),
                None => ("failed", now),
            },
        };
        let mut update = crm_sync::Entity::update_many()
            .col_expr(crm_sync::Column::Status, Expr::value(state))
            .col_expr(crm_sync::Column::Attempts, Expr::value(attempts))
            .col_expr(crm_sync::Column::NextAttemptAt, Expr::value(next))
            .col_expr(
                crm_sync::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                crm_sync::Column::LastStatus,
                Expr::value(status.map(i32::from)),
            )
            .col_expr(crm_sync::Column::LastReply, Expr::value(reply.clone()))
            .col_expr(crm_sync::Column::LastAttemptAt, Expr::value(now));
        if *outcome == Outcome::Synced {
            update = update.col_expr(crm_sync::Column::SyncedAt, Expr::value(now));
        }
        let written = update
            .filter(crm_sync::Column::Id.eq(row.id))
            .filter(crm_sync::Column::Version.eq(row.version))
            .exec(&txn)
            .await
            .map_err(|e| AppError::internal("crm::record", e))?;
        if written.rows_affected == 0 {
            // Changed while it was being sent: keep it pending, due now, and free the lease.
            crm_sync::Entity::update_many()
                .col_expr(
                    crm_sync::Column::LockedUntil,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .col_expr(
                    crm_sync::Column::LastStatus,
                    Expr::value(status.map(i32::from)),
                )
                .col_expr(crm_sync::Column::LastReply, Expr::value(reply.clone()))
                .col_expr(crm_sync::Column::LastAttemptAt, Expr::value(now))
                .filter(crm_sync::Column::Id.eq(row.id))
                .exec(&txn)
                .await
                .map_err(|e| AppError::internal("crm::record changed", e))?;
        }
    }
    txn.commit()
        .await
        .map_err(|e| AppError::internal("crm::record commit", e))
}

/// How many of `crm`'s rows are in each state (the admin's progress line).
pub async fn counts(db: &impl ConnectionTrait, crm: &str) -> Result<SyncCounts, AppError> {
    let rows: Vec<(String, i64)> = crm_sync::Entity::find()
        .select_only()
        .column(crm_sync::Column::Status)
        .column_as(crm_sync::Column::Id.count(), "n")
        .filter(crm_sync::Column::Crm.eq(crm))
        .group_by(crm_sync::Column::Status)
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| AppError::internal("crm::counts", e))?;
    let mut counts = SyncCounts::default();
    for (status, n) in rows {
        match status.as_str() {
            "pending" => counts.pending = n,
            "synced" => counts.synced = n,
            "failed" => counts.failed = n,
            _ => counts.skipped += n,
        }
    }
    Ok(counts)
}

/// Rows of the sync queue by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncCounts {
    /// Waiting to be sent (or retried).
    pub pending: i64,
    /// The CRM has them.
    pub synced: i64,
    /// Given up after every retry.
    pub failed: i64,
    /// Gone from Handoff before they were sent.
    pub skipped: i64,
}

/// The sync log: `crm`'s most recently attempted rows, newest first.
pub async fn log(
    db: &impl ConnectionTrait,
    crm: &str,
    limit: u64,
) -> Result<Vec<crm_sync::Model>, AppError> {
    crm_sync::Entity::find()
        .filter(crm_sync::Column::Crm.eq(crm))
        .filter(crm_sync::Column::LastAttemptAt.is_not_null())
        .order_by_desc(crm_sync::Column::LastAttemptAt)
        .order_by_desc(crm_sync::Column::Id)
        .limit(limit)
        .all(db)
        .await
        .map_err(|e| AppError::internal("crm::log", e))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn events_name_the_objects_a_crm_shows() {
        assert_eq!(
            stale_objects("referrer.created", &json!({"id": 7})),
            vec![(ObjectKind::Referrer, 7)]
        );
        assert_eq!(
            stale_objects("lead.qualified", &json!({"id": 3, "referrer_id": 7})),
            vec![(ObjectKind::Lead, 3), (ObjectKind::Referrer, 7)]
        );
        assert_eq!(
            stale_objects("reward.due", &json!({"id": 1, "referrer_id": 7})),
            vec![(ObjectKind::Referrer, 7)]
        );
        // A friend's reward names no referrer: nothing the CRM shows changes.
        assert!(stale_objects("reward.due", &json!({"id": 1, "referrer_id": null})).is_empty());
        assert!(stale_objects("something.else", &json!({"id": 1})).is_empty());
    }
}
