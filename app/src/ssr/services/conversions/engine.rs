//! The set-based engine behind every conversion: a batch of operations (events, and admins'
//! decisions) is applied in one transaction with a fixed number of statements, whatever its size.
//!
//! 1. **Load** (`World::load`): one query per table reads everything the batch can touch: stored
//!    answers of its event ids, its leads (locked on PostgreSQL), their rewards and referrers, the
//!    referrers its codes name, and the counts milestone and cap rules need. Ids for the rows it
//!    may create are reserved up front (`db::reserve_ids`), so rows can name each other before any
//!    is written.
//! 2. **Decide** (`Pass`): the operations run in order, in memory, against that snapshot. This is
//!    plain code over `domain::rules`, and later operations see what earlier ones did.
//! 3. **Write** (`Pass::flush`): one multi-row statement per table. Unique indexes still hold
//!    exactly-once: every insert is `ON CONFLICT DO NOTHING` and its row count is checked. On
//!    SQLite nothing can conflict (the transaction holds the write lock from `BEGIN IMMEDIATE`),
//!    so the batch runs in the caller's transaction as it is; on PostgreSQL it runs in a
//!    savepoint, a concurrent transaction can win a race, and then the batch is rolled back to
//!    its savepoint and run again, which now sees the winner's rows.

use std::sync::Arc;

use chrono::{DateTime, Utc};
// Why foldhash: the batch's maps are hashed for every row, and std's SipHash was 2.6% of an
// import. foldhash is seeded per process, so keys from uploads cannot be chosen to collide.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend,
    DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use serde_json::json;

use super::{CheckedEvent, Decision, describe_event, promotion_code_key};
use crate::domain::rules::RewardStatus;
use crate::{
    domain::{
        codes::{self as code_rules, CodeError},
        email::Email,
        emails::EmailKind,
        rules::{
            self, EventFacts, LeadFacts, LeadStatus, NoReward, NotQualifying, RewardContext,
            Verdict,
        },
        slug::is_slug_shaped,
        words::counted,
    },
    error::AppError,
    ssr::{
        db::{self, OnConflict, is_retryable, reserve_ids},
        entities::{
            campaign, conversion_event, lead, lead_event, promotion_code, referrer, reward,
        },
        services::{
            codes as code_lookup,
            emails::{
                self,
                digest::Digests,
                notifications,
                queue::{self, Draft},
                templates::CampaignTemplates,
            },
            fraud, leads,
            outbox::Effects,
            rewards,
            rules::LoadedRules,
        },
        state::RuntimeSettings,
    },
    types::ConversionResult,
};

/// What one item of a batch does.
#[derive(Clone, Debug)]
pub enum Op {
    /// A conversion event from a door.
    Event(CheckedEvent),
    /// An admin qualifies or rejects a lead.
    Decide {
        /// The lead.
        lead_id: i64,
        /// Qualify or reject.
        decision: Decision,
        /// The reason for the timeline (checked by the caller).
        reason: String,
        /// Who decided.
        admin_email: String,
    },
}

/// One operation with its context.
#[derive(Clone, Debug)]
pub struct Item {
    /// The door (`api`, `csv`, `stripe`, `inbound:{id}`, `admin`).
    pub source: String,
    /// The campaign.
    pub campaign: Arc<campaign::Model>,
    /// Its rules.
    pub rules: Arc<LoadedRules>,
    /// What to do.
    pub op: Op,
    /// The settings notification emails are written with (their links and unsubscribe address),
    /// or `None` to write none (a preview, which is rolled back).
    pub mail: Option<Arc<RuntimeSettings>>,
    /// The import this item is a row of, when that import tells each referrer about their
    /// qualified referrals in one summary at its end (`emails::digest`) rather than an email per
    /// row.
    pub digest: Option<i64>,
}

/// The answer to one item.
pub type Outcome = Result<Reply, AppError>;

/// What one item did.
#[derive(Clone, Debug)]
pub enum Reply {
    /// The whole answer. Doors that answer a caller (API, webhooks, the admin) get it, and it is
    /// stored with the event so that a duplicate gets the same answer again.
    Full(Box<ConversionResult>),
    /// Only what happened. A CSV row's answer is counted in the import's report and never
    /// replayed, so it is neither built nor stored: the stored JSON was about 40% of the bytes an
    /// import wrote.
    Brief {
        /// The event id was seen before.
        duplicate: bool,
        /// As in [`ConversionResult::outcome`].
        outcome: String,
        /// As in [`ConversionResult::ambiguous`].
        ambiguous: bool,
    },
}

impl Reply {
    /// The event id was seen before.
    pub fn duplicate(&self) -> bool {
        match self {
            Reply::Full(result) => result.duplicate,
            Reply::Brief { duplicate, .. } => *duplicate,
        }
    }

    /// `qualified`, `review`, `recorded`, `already_qualified`, `lead_rejected` or `refunded`.
    pub fn outcome(&self) -> &str {
        match self {
            Reply::Full(result) => &result.outcome,
            Reply::Brief { outcome, .. } => outcome,
        }
    }

    /// The event's code names another referrer than the lead's.
    pub fn ambiguous(&self) -> bool {
        match self {
            Reply::Full(result) => result.ambiguous,
            Reply::Brief { ambiguous, .. } => *ambiguous,
        }
    }

    /// The whole answer; only doors whose source keeps answers get one.
    pub fn into_full(self) -> Result<ConversionResult, AppError> {
        match self {
            Reply::Full(result) => Ok(*result),
            Reply::Brief { .. } => Err(AppError::internal(
                "conversions::reply",
                "a brief answer where the whole answer was expected",
            )),
        }
    }

    fn mark_duplicate(&mut self) {
        match self {
            Reply::Full(result) => result.duplicate = true,
            Reply::Brief { duplicate, .. } => *duplicate = true,
        }
    }
}

/// Whether events from `source` keep their whole answer (see [`Reply`]).
fn keeps_answers(source: &str) -> bool {
    source != super::source::CSV
}

/// Why an attempt at a batch stopped.
enum Failure {
    /// A concurrent transaction won a race (or PostgreSQL chose this one in a deadlock): try again.
    Conflict,
    /// Anything else.
    App(AppError),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure::App(e)
    }
}

fn db_failure(context: &'static str) -> impl FnOnce(DbErr) -> Failure {
    move |e| {
        if is_retryable(&e) {
            Failure::Conflict
        } else {
            Failure::App(AppError::internal(context, e))
        }
    }
}

/// How often a batch is tried when concurrent transactions keep winning races.
const ATTEMPTS: usize = 5;
/// Values per `IN (...)` list.
const IN_CHUNK: usize = 5_000;

/// Applies `items` in order inside `txn` and answers each. `Err` only for failures that are not
/// about one item (the database); the caller's transaction is then unusable.
pub async fn run(txn: &DatabaseTransaction, items: &[Item]) -> Result<Vec<Outcome>, AppError> {
    if txn.get_database_backend() == DbBackend::Sqlite {
        // Every caller holds SQLite's one writer turn (`db::begin_write`), so no concurrent
        // transaction can win a race and there is nothing to retry. A savepoint would only cost:
        // SQLite copies each page a savepoint first changes into a statement journal.
        return attempt(txn, items).await.map_err(single_writer_error);
    }
    for _ in 0..ATTEMPTS {
        let savepoint = txn
            .begin()
            .await
            .map_err(|e| AppError::internal("conversions::run savepoint", e))?;
        match attempt(&savepoint, items).await {
            Ok(outcomes) => {
                savepoint
                    .commit()
                    .await
                    .map_err(|e| AppError::internal("conversions::run release", e))?;
                return Ok(outcomes);
            }
            Err(Failure::Conflict) => {
                savepoint
                    .rollback()
                    .await
                    .map_err(|e| AppError::internal("conversions::run rollback", e))?;
                tracing::debug!("conversion batch lost a race; running it again");
            }
            Err(Failure::App(e)) => return Err(e),
        }
    }
    Err(AppError::internal(
        "conversions::run",
        "concurrent transactions kept conflicting",
    ))
}

/// A failure on SQLite, where every batch runs inside the single writer's turn: a conflict there
/// is a bug, not a race to retry.
fn single_writer_error(failure: Failure) -> AppError {
    match failure {
        Failure::App(e) => e,
        Failure::Conflict => AppError::internal(
            "conversions::run",
            "a row was skipped on a unique key inside the writer's own transaction",
        ),
    }
}

async fn attempt(txn: &DatabaseTransaction, items: &[Item]) -> Result<Vec<Outcome>, Failure> {
    let now = Utc::now();
    let mut world = World::load(txn, items).await?;
    // Milestone rewards are keyed by referrer, not lead, so a key can exist that the snapshot did
    // not load. Such keys are looked up after a dry pass and the pass runs again knowing them.
    loop {
        let pass = Pass::run(&world, items, now);
        let milestone_keys: Vec<String> = pass
            .new_rewards()
            .filter(|r| r.milestone > 0 && !world.known_keys.contains(&r.dedupe_key))
            .map(|r| r.dedupe_key.clone())
            .collect();
        let existing = existing_keys(txn, milestone_keys).await?;
        if existing.is_empty() {
            return pass.flush(txn).await;
        }
        world.known_keys.extend(existing);
    }
}

// Pipelined batches (SQLite imports).
//
// An import's batches run one after the other in the import's transaction, and on their own they
// take turns with SQLite's worker thread: while SQLite writes batch N, nothing else happens, and
// while batch N+1 is loaded and decided, SQLite waits. In a pipeline, batch N+1 is loaded *before*
// batch N's writes run, then decided (and its statements built) on a blocking thread while they
// run, so the import keeps both cores busy.
//
// A snapshot loaded before batch N's writes equals the snapshot after them only when nothing N
// writes could be read by N+1's load. [`load_ahead`] checks that and answers `None` otherwise (the
// caller then writes N first and calls [`load`]). What a batch writes, and how a load reads it:
// - conversion events, read by `(source, event_id)`: N+1 may not claim an id N claimed;
// - leads, read by `(campaign, normalized email)`: N+1 may not name a lead N touched (created or
//   changed);
// - rewards, read by lead: only those of the leads loaded, so the leads' rule covers them;
// - counts per referrer, changed by every qualified lead: only rules without milestones or caps
//   are pipelined ([`pipelines`]);
// - ids, reserved past the largest in the table: N+1's start after N's.
// Batches write no referrers, promotion-code mappings or webhook endpoints, and only events are
// pipelined (an admin's decision reads its lead by id).

/// Whether batches for `rules` can be pipelined on `backend` (see above). PostgreSQL's batches
/// run in savepoints that a concurrent transaction can make retry, so they are not.
pub fn pipelines(backend: DbBackend, rules: &LoadedRules) -> bool {
    backend == DbBackend::Sqlite && !counts_per_referrer(rules)
}

/// A batch's snapshot, loaded by [`load`] or [`load_ahead`].
pub struct Loaded(World);

/// A decided batch, ready to [`write`].
pub struct Decided {
    built: Built,
    carry: Carry,
}

impl Decided {
    /// What the next batch may not touch while this one is unwritten.
    pub fn carry(&self) -> &Carry {
        &self.carry
    }
}

/// What a decided batch will write, as far as the next batch's load is concerned.
#[derive(Default)]
pub struct Carry {
    event_keys: HashSet<(String, String)>,
    lead_emails: HashSet<(i64, String)>,
    /// The largest lead, event and reward ids the batch uses (0 when none).
    last_ids: [i64; 3],
}

/// Loads the snapshot of `items` (a pipelined batch whose predecessor is written).
pub async fn load(txn: &DatabaseTransaction, items: &[Item]) -> Result<Loaded, AppError> {
    Ok(Loaded(
        World::load(txn, items).await.map_err(single_writer_error)?,
    ))
}

/// Loads the snapshot of `items` before the writes of the batch `pending` describes, or `None`
/// when that snapshot could differ from the one after them (see above).
pub async fn load_ahead(
    txn: &DatabaseTransaction,
    items: &[Item],
    pending: &Carry,
) -> Result<Option<Loaded>, AppError> {
    for item in items {
        let Op::Event(event) = &item.op else {
            return Ok(None);
        };
        if counts_per_referrer(&item.rules)
            || pending
                .event_keys
                .contains(&(item.source.clone(), event.event_id.clone()))
            || event.email_normalized.as_ref().is_some_and(|email| {
                pending
                    .lead_emails
                    .contains(&(item.campaign.id, email.clone()))
            })
        {
            return Ok(None);
        }
    }
    let mut world = World::load(txn, items).await.map_err(single_writer_error)?;
    for (ids, last) in [
        &mut world.ids.leads,
        &mut world.ids.events,
        &mut world.ids.rewards,
    ]
    .into_iter()
    .zip(pending.last_ids)
    {
        // The pending batch's ids are not in the table yet: continue after them.
        if let Some(&first) = ids.first()
            && first <= last
        {
            let shift = last + 1 - first;
            ids.iter_mut().for_each(|id| *id += shift);
        }
    }
    Ok(Some(Loaded(world)))
}

/// Decides a pipelined batch against its snapshot and builds its statements: plain CPU work,
/// meant for a blocking thread while the previous batch is written.
pub fn decide(loaded: Loaded, items: &[Item], now: DateTime<Utc>) -> Result<Decided, AppError> {
    let world = loaded.0;
    let pass = Pass::run(&world, items, now);
    if pass.new_rewards().any(|r| r.milestone > 0) {
        // `pipelines` keeps milestone rules out; their keys would need a lookup (`attempt`).
        return Err(AppError::internal(
            "conversions::decide",
            "a milestone reward in a pipelined batch",
        ));
    }
    let last = |ids: &[i64], used: usize| used.checked_sub(1).map_or(0, |i| ids[i]);
    let carry = Carry {
        event_keys: pass.claimed.keys().cloned().collect(),
        lead_emails: pass
            .leads
            .values()
            .map(|l| (l.row.campaign_id, l.row.email_normalized.clone()))
            .collect(),
        last_ids: [
            last(&world.ids.leads, pass.next_lead),
            last(&world.ids.events, pass.next_event),
            last(&world.ids.rewards, pass.next_reward),
        ],
    };
    let built = pass.build(DbBackend::Sqlite).map_err(single_writer_error)?;
    Ok(Decided { built, carry })
}

/// Writes a decided batch and hands back its answers, one per item.
pub async fn write(txn: &DatabaseTransaction, decided: Decided) -> Result<Vec<Outcome>, AppError> {
    decided.built.write(txn).await.map_err(single_writer_error)
}

async fn existing_keys(
    txn: &DatabaseTransaction,
    keys: Vec<String>,
) -> Result<Vec<String>, Failure> {
    let mut found = Vec::new();
    for part in keys.chunks(IN_CHUNK) {
        found.extend(
            reward::Entity::find()
                .select_only()
                .column(reward::Column::DedupeKey)
                .filter(reward::Column::DedupeKey.is_in(part.iter().cloned()))
                .into_tuple::<String>()
                .all(txn)
                .await
                .map_err(db_failure("conversions::existing_keys"))?,
        );
    }
    Ok(found)
}

/// Ids reserved for rows a batch may create.
struct Reserved {
    leads: Vec<i64>,
    events: Vec<i64>,
    rewards: Vec<i64>,
}

/// Everything a batch can read, loaded up front.
struct World {
    /// Event ids seen before: `(source, event_id)` -> their outcome and stored answer (JSON, or
    /// empty for sources that keep none).
    answers: HashMap<(String, String), (String, String)>,
    /// Existing leads the batch touches, by id.
    leads: HashMap<i64, lead::Model>,
    /// `(campaign, normalized email)` -> lead id, for those leads.
    lead_by_email: HashMap<(i64, String), i64>,
    /// Their rewards (every status), by lead id.
    rewards: HashMap<i64, Vec<reward::Model>>,
    /// Referrers of those leads and those the batch's codes name.
    referrers: HashMap<i64, referrer::Model>,
    /// `(campaign, code as given)` -> the referrer, or why not.
    codes: HashMap<(i64, String), Result<i64, AppError>>,
    /// `(campaign, promotion code as given)` -> the referrer, if known.
    promotions: HashMap<(i64, String), Option<i64>>,
    /// Qualified leads per referrer (loaded when a milestone rule needs them).
    qualified: HashMap<i64, u64>,
    /// Rewards not cancelled per `(referrer, rule)` (loaded when a cap needs them).
    earned: HashMap<(i64, i64), u64>,
    /// Dedupe keys known to exist.
    known_keys: HashSet<String>,
    /// Stored events that put leads in review (an approval uses their amount).
    events: HashMap<i64, conversion_event::Model>,
    ids: Reserved,
    /// Empty effects that know which event types have subscribers.
    effects: Effects,
    /// The email templates of the batch's campaigns (only when the batch sends notifications).
    templates: HashMap<i64, CampaignTemplates>,
}

/// Whether `rules` count per referrer (milestones, caps): then a batch reads counts that every
/// qualified lead of any batch changes.
fn counts_per_referrer(rules: &LoadedRules) -> bool {
    rules
        .rewards
        .iter()
        .any(|(_, r)| r.cadence == "milestone" || r.max_per_referrer.is_some())
}

/// The lookup key of a typed code, when it can name anyone (`codes::resolve` looks up the same).
fn code_key(code: &str) -> Option<String> {
    match code_rules::normalize(code) {
        Ok(key) if code_rules::has_valid_check(&key) => Some(key),
        Ok(_) | Err(CodeError::Empty) | Err(_) => None,
    }
}

impl World {
    async fn load(txn: &DatabaseTransaction, items: &[Item]) -> Result<Self, Failure> {
        let postgres = txn.get_database_backend() == DbBackend::Postgres;
        let events: Vec<(&Item, &CheckedEvent)> = items
            .iter()
            .filter_map(|item| match &item.op {
                Op::Event(e) => Some((item, e)),
                Op::Decide { .. } => None,
            })
            .collect();

        // Stored answers, per source.
        let mut answers = HashMap::new();
        let mut by_source: HashMap<&str, Vec<&str>> = HashMap::new();
        for (item, event) in &events {
            by_source
                .entry(item.source.as_str())
                .or_default()
                .push(event.event_id.as_str());
        }
        for (source, ids) in by_source {
            for part in ids.chunks(IN_CHUNK) {
                let rows: Vec<(String, String, String)> = conversion_event::Entity::find()
                    .select_only()
                    .column(conversion_event::Column::EventId)
                    .column(conversion_event::Column::Outcome)
                    .column(conversion_event::Column::Response)
                    .filter(conversion_event::Column::Source.eq(source))
                    .filter(conversion_event::Column::EventId.is_in(part.iter().copied()))
                    .into_tuple()
                    .all(txn)
                    .await
                    .map_err(db_failure("conversions::load answers"))?;
                for (event_id, outcome, response) in rows {
                    answers.insert((source.to_owned(), event_id), (outcome, response));
                }
            }
        }

        // Leads by email (and by id for decisions), locked on PostgreSQL in id order.
        let mut emails: HashMap<i64, HashSet<String>> = HashMap::new();
        for (item, event) in &events {
            if let Some(normalized) = &event.email_normalized {
                emails
                    .entry(item.campaign.id)
                    .or_default()
                    .insert(normalized.clone());
            }
        }
        let decided: Vec<i64> = items
            .iter()
            .filter_map(|item| match &item.op {
                Op::Decide { lead_id, .. } => Some(*lead_id),
                Op::Event(_) => None,
            })
            .collect();
        let mut lead_rows = Vec::new();
        let mut conditions: Vec<Condition> = Vec::new();
        for (campaign_id, set) in &emails {
            let list: Vec<&String> = set.iter().collect();
            for part in list.chunks(IN_CHUNK) {
                conditions.push(
                    Condition::all()
                        .add(lead::Column::CampaignId.eq(*campaign_id))
                        .add(lead::Column::EmailNormalized.is_in(part.iter().map(|s| s.as_str()))),
                );
            }
        }
        if !decided.is_empty() {
            conditions.push(Condition::all().add(lead::Column::Id.is_in(decided.clone())));
        }
        // On PostgreSQL one statement per few thousand leads, each locked in id order. On
        // SQLite one statement per list, unordered: the order is not needed there (the rows go
        // into maps, and its one writer locks nothing row by row), and both an `ORDER BY id` and
        // an `OR` of two lists of one campaign let SQLite walk every lead of the campaign through
        // an index that starts with `campaign_id` instead of looking the emails up in
        // `(campaign_id, email_normalized)`: an import slowed as its campaign grew (237 s for a
        // million rows, against 20 s).
        for group in conditions.chunks(if postgres { 4 } else { 1 }) {
            let mut any = Condition::any();
            for c in group {
                any = any.add(c.clone());
            }
            let mut query = lead::Entity::find().filter(any);
            if postgres {
                query = query.order_by_asc(lead::Column::Id).lock_exclusive();
            }
            lead_rows.extend(
                query
                    .all(txn)
                    .await
                    .map_err(db_failure("conversions::load leads"))?,
            );
        }
        let mut leads_by_id = HashMap::new();
        let mut lead_by_email = HashMap::new();
        for row in lead_rows {
            lead_by_email.insert((row.campaign_id, row.email_normalized.clone()), row.id);
            leads_by_id.insert(row.id, row);
        }

        // Their rewards.
        let lead_ids: Vec<i64> = leads_by_id.keys().copied().collect();
        let mut rewards_by_lead: HashMap<i64, Vec<reward::Model>> = HashMap::new();
        let mut known_keys = HashSet::new();
        for part in lead_ids.chunks(IN_CHUNK) {
            let rows = reward::Entity::find()
                .filter(reward::Column::LeadId.is_in(part.iter().copied()))
                .order_by_asc(reward::Column::Id)
                .all(txn)
                .await
                .map_err(db_failure("conversions::load rewards"))?;
            for row in rows {
                known_keys.insert(row.dedupe_key.clone());
                if let Some(lead_id) = row.lead_id {
                    rewards_by_lead.entry(lead_id).or_default().push(row);
                }
            }
        }

        // Codes, per campaign: referral codes by key or link slug, promotion codes by mapping.
        let mut referral: HashMap<i64, HashSet<&str>> = HashMap::new();
        let mut promos: HashMap<i64, HashSet<&str>> = HashMap::new();
        for (item, event) in &events {
            if let Some(code) = &event.referral_code {
                referral.entry(item.campaign.id).or_default().insert(code);
            }
            if let Some(promo) = &event.promotion_code {
                promos.entry(item.campaign.id).or_default().insert(promo);
            }
        }
        let mut referrers: HashMap<i64, referrer::Model> = HashMap::new();
        let mut by_key: HashMap<(i64, String), i64> = HashMap::new();
        let mut by_slug: HashMap<(i64, String), i64> = HashMap::new();
        let mut mapped: HashMap<(i64, String), i64> = HashMap::new();
        let campaign_ids: HashSet<i64> = referral.keys().chain(promos.keys()).copied().collect();
        for campaign_id in campaign_ids {
            let given: Vec<&str> = referral
                .get(&campaign_id)
                .into_iter()
                .flatten()
                .chain(promos.get(&campaign_id).into_iter().flatten())
                .copied()
                .collect();
            let keys: HashSet<String> = given.iter().filter_map(|c| code_key(c)).collect();
            let slugs: HashSet<&str> = referral
                .get(&campaign_id)
                .into_iter()
                .flatten()
                .map(|c| c.trim())
                .filter(|c| is_slug_shaped(c))
                .collect();
            let keys: Vec<String> = keys.into_iter().collect();
            let slugs: Vec<&str> = slugs.into_iter().collect();
            for part in keys.chunks(IN_CHUNK) {
                let rows = referrer::Entity::find()
                    .filter(referrer::Column::CampaignId.eq(campaign_id))
                    .filter(referrer::Column::CodeKey.is_in(part.iter().cloned()))
                    .all(txn)
                    .await
                    .map_err(db_failure("conversions::load codes"))?;
                for r in rows {
                    if let Some(key) = &r.code_key {
                        by_key.insert((campaign_id, key.clone()), r.id);
                    }
                    referrers.insert(r.id, r);
                }
            }
            for part in slugs.chunks(IN_CHUNK) {
                let rows = referrer::Entity::find()
                    .filter(referrer::Column::CampaignId.eq(campaign_id))
                    .filter(referrer::Column::Slug.is_in(part.iter().copied()))
                    .all(txn)
                    .await
                    .map_err(db_failure("conversions::load slugs"))?;
                for r in rows {
                    by_slug.insert((campaign_id, r.slug.clone()), r.id);
                    referrers.insert(r.id, r);
                }
            }
            let given_promos: Vec<&str> = promos
                .get(&campaign_id)
                .into_iter()
                .flatten()
                .copied()
                .collect();
            for part in given_promos.chunks(IN_CHUNK) {
                let rows = promotion_code::Entity::find()
                    .filter(promotion_code::Column::CampaignId.eq(campaign_id))
                    .filter(
                        Condition::any()
                            .add(
                                promotion_code::Column::PromotionCodeId
                                    .is_in(part.iter().map(|p| p.trim().to_owned())),
                            )
                            .add(
                                promotion_code::Column::CodeKey
                                    .is_in(part.iter().map(|p| promotion_code_key(p))),
                            ),
                    )
                    .all(txn)
                    .await
                    .map_err(db_failure("conversions::load promotion codes"))?;
                for m in rows {
                    if let Some(id) = &m.promotion_code_id {
                        mapped.insert((campaign_id, id.clone()), m.referrer_id);
                    }
                    if let Some(key) = &m.code_key {
                        mapped.insert((campaign_id, key.clone()), m.referrer_id);
                    }
                }
            }
        }

        // Referrers of the leads and of promotion-code mappings.
        let wanted: HashSet<i64> = leads_by_id
            .values()
            .filter_map(|l| l.referrer_id)
            .chain(mapped.values().copied())
            .filter(|id| !referrers.contains_key(id))
            .collect();
        let wanted: Vec<i64> = wanted.into_iter().collect();
        for part in wanted.chunks(IN_CHUNK) {
            for r in referrer::Entity::find()
                .filter(referrer::Column::Id.is_in(part.iter().copied()))
                .all(txn)
                .await
                .map_err(db_failure("conversions::load referrers"))?
            {
                referrers.insert(r.id, r);
            }
        }

        // Resolve each code as given, exactly as `codes::resolve_reference` would; a miss asks it
        // for the message (with its "did you mean").
        let mut codes = HashMap::new();
        for (campaign_id, given) in &referral {
            for code in given {
                let trimmed = code.trim();
                let hit = by_slug
                    .get(&(*campaign_id, trimmed.to_owned()))
                    .filter(|_| is_slug_shaped(trimmed))
                    .or_else(|| code_key(code).and_then(|k| by_key.get(&(*campaign_id, k))))
                    .copied();
                let resolved = match hit {
                    Some(id) => Ok(id),
                    None => match code_lookup::resolve_reference(txn, *campaign_id, code).await {
                        Ok(r) => {
                            let id = r.id;
                            referrers.insert(id, r);
                            Ok(id)
                        }
                        Err(e @ AppError::Invalid { .. }) => Err(e),
                        Err(e) => return Err(Failure::App(e)),
                    },
                };
                codes.insert((*campaign_id, (*code).to_owned()), resolved);
            }
        }
        let mut promotions = HashMap::new();
        for (campaign_id, given) in &promos {
            for promo in given {
                let hit = mapped
                    .get(&(*campaign_id, promo.trim().to_owned()))
                    .or_else(|| mapped.get(&(*campaign_id, promotion_code_key(promo))))
                    .or_else(|| code_key(promo).and_then(|k| by_key.get(&(*campaign_id, k))))
                    .copied();
                promotions.insert((*campaign_id, (*promo).to_owned()), hit);
            }
        }

        // Counts for milestone and cap rules, with the referrers locked on PostgreSQL so that
        // concurrent batches count one after the other.
        let needs_counts = items.iter().any(|i| counts_per_referrer(&i.rules));
        let mut qualified = HashMap::new();
        let mut earned = HashMap::new();
        if needs_counts {
            let mut involved: Vec<i64> = referrers.keys().copied().collect();
            involved.sort_unstable();
            for part in involved.chunks(IN_CHUNK) {
                if postgres {
                    referrer::Entity::find()
                        .select_only()
                        .column(referrer::Column::Id)
                        .filter(referrer::Column::Id.is_in(part.iter().copied()))
                        .order_by_asc(referrer::Column::Id)
                        .lock_exclusive()
                        .into_tuple::<i64>()
                        .all(txn)
                        .await
                        .map_err(db_failure("conversions::lock referrers"))?;
                }
                let rows: Vec<(Option<i64>, i64)> = lead::Entity::find()
                    .select_only()
                    .column(lead::Column::ReferrerId)
                    // `COUNT(*)`: `(referrer_id, status)` answers it alone on PostgreSQL too.
                    .column_as(sea_orm::sea_query::Expr::cust("COUNT(*)"), "n")
                    .filter(lead::Column::ReferrerId.is_in(part.iter().copied()))
                    .filter(lead::Column::Status.eq(LeadStatus::Qualified.as_str()))
                    .group_by(lead::Column::ReferrerId)
                    .into_tuple()
                    .all(txn)
                    .await
                    .map_err(db_failure("conversions::load qualified counts"))?;
                for (referrer_id, n) in rows {
                    if let Some(id) = referrer_id {
                        qualified.insert(id, u64::try_from(n).unwrap_or(0));
                    }
                }
                let rows: Vec<(Option<i64>, i64, i64)> = reward::Entity::find()
                    .select_only()
                    .column(reward::Column::ReferrerId)
                    .column(reward::Column::RuleId)
                    .column_as(reward::Column::Id.count(), "n")
                    .filter(reward::Column::ReferrerId.is_in(part.iter().copied()))
                    .filter(reward::Column::Status.ne(RewardStatus::Cancelled))
                    .group_by(reward::Column::ReferrerId)
                    .group_by(reward::Column::RuleId)
                    .into_tuple()
                    .all(txn)
                    .await
                    .map_err(db_failure("conversions::load earned counts"))?;
                for (referrer_id, rule_id, n) in rows {
                    if let Some(id) = referrer_id {
                        earned.insert((id, rule_id), u64::try_from(n).unwrap_or(0));
                    }
                }
            }
        }

        // The events that put leads in review, for approvals.
        let review_events: Vec<i64> = decided
            .iter()
            .filter_map(|id| leads_by_id.get(id))
            .filter(|l| l.status == LeadStatus::Review.as_str())
            .filter_map(|l| l.qualifying_event_id)
            .collect();
        let mut stored_events = HashMap::new();
        if !review_events.is_empty() {
            for e in conversion_event::Entity::find()
                .filter(conversion_event::Column::Id.is_in(review_events))
                .all(txn)
                .await
                .map_err(db_failure("conversions::load review events"))?
            {
                stored_events.insert(e.id, e);
            }
        }

        // Ids: a lead and an event row per event at most, and each reward rule once per item.
        let reward_slots: usize = items.iter().map(|i| i.rules.rewards.len()).sum();
        let ids = Reserved {
            leads: reserve_ids(txn, "leads", events.len())
                .await
                .map_err(db_failure("conversions::reserve lead ids"))?,
            events: reserve_ids(txn, "conversion_events", events.len())
                .await
                .map_err(db_failure("conversions::reserve event ids"))?,
            rewards: reserve_ids(txn, "rewards", reward_slots)
                .await
                .map_err(db_failure("conversions::reserve reward ids"))?,
        };
        let effects = Effects::for_subscribers(txn).await?;
        let mailing: HashSet<i64> = items
            .iter()
            .filter(|item| item.mail.is_some())
            .map(|item| item.campaign.id)
            .collect();
        let templates = CampaignTemplates::load_many(txn, mailing)
            .await?
            .into_iter()
            .collect();
        Ok(World {
            effects,
            templates,
            answers,
            leads: leads_by_id,
            lead_by_email,
            rewards: rewards_by_lead,
            referrers,
            codes,
            promotions,
            qualified,
            earned,
            known_keys,
            events: stored_events,
            ids,
        })
    }

    /// The referrer the event's codes name, else the error to give when nothing else credits it.
    /// The referrer the event's code or promotion code names, or why it names none. A
    /// deactivated referrer is named by nobody: their code is refused as inactive.
    fn referrer_for(
        &self,
        campaign_id: i64,
        event: &CheckedEvent,
    ) -> (Option<i64>, Option<AppError>) {
        match self.named_referrer(campaign_id, event) {
            (Some(id), _) if self.referrers.get(&id).is_some_and(|r| !r.active) => {
                (None, Some(code_lookup::inactive()))
            }
            named => named,
        }
    }

    fn named_referrer(
        &self,
        campaign_id: i64,
        event: &CheckedEvent,
    ) -> (Option<i64>, Option<AppError>) {
        let mut miss = None;
        if let Some(code) = &event.referral_code {
            match self.codes.get(&(campaign_id, code.clone())) {
                Some(Ok(id)) => return (Some(*id), None),
                Some(Err(e)) => miss = Some(e.clone()),
                None => {}
            }
        }
        if let Some(promo) = &event.promotion_code {
            if let Some(Some(id)) = self.promotions.get(&(campaign_id, promo.clone())) {
                return (Some(*id), None);
            }
            miss.get_or_insert_with(|| {
                AppError::invalid(
                    "unknown_promotion_code",
                    "promotion_code",
                    "That promotion code is not mapped to a referrer.",
                )
            });
        }
        (None, miss)
    }
}

/// A reward as the batch sees it.
#[derive(Clone)]
struct RewardState {
    row: reward::Model,
    is_new: bool,
    dirty: bool,
}

/// A lead as the batch sees it.
#[derive(Clone)]
struct LeadState {
    row: lead::Model,
    is_new: bool,
    dirty: bool,
    rewards: Vec<RewardState>,
}

/// A notification email the batch will write. Only what it is about is noted while the batch
/// decides; it is rendered when the batch is built (`Pass::drafts`), once, against the batch's
/// final rows.
struct Notice {
    kind: EmailKind,
    lead_id: i64,
    referrer_id: i64,
    /// The new rewards it tells about (none for a new referral).
    reward_ids: Vec<i64>,
    campaign: Arc<campaign::Model>,
    settings: Arc<RuntimeSettings>,
    /// The import whose summary tells about it (a "referral qualified" notice only).
    digest: Option<i64>,
}

/// The in-memory run of a batch over a `World`, and the rows it will write.
struct Pass<'w> {
    world: &'w World,
    now: DateTime<Utc>,
    leads: HashMap<i64, LeadState>,
    /// Order in which leads were first touched (writes follow it).
    lead_order: Vec<i64>,
    new_lead_by_email: HashMap<(i64, String), i64>,
    /// `(source, event_id)` claimed in this batch -> the item that claimed it.
    claimed: HashMap<(String, String), usize>,
    next_lead: usize,
    next_event: usize,
    next_reward: usize,
    qualified_delta: HashMap<i64, i64>,
    earned_delta: HashMap<(i64, i64), i64>,
    new_keys: HashSet<String>,
    events: Vec<conversion_event::Model>,
    timeline: Vec<(i64, &'static str, String)>,
    effects: Effects,
    notices: Vec<Notice>,
    outcomes: Vec<Outcome>,
}

/// What an item did to one lead, for its timeline and answer.
struct Journal(Vec<(&'static str, String)>);

impl Journal {
    fn push(&mut self, kind: &'static str, detail: String) {
        self.0.push((kind, detail));
    }

    /// Notes what the event `what` did (`verdict`, without a full stop). When the event has just
    /// created the lead, its `captured` entry already describes the event, so the verdict ends
    /// that entry instead of repeating the event on a line of its own (one timeline row less per
    /// imported row).
    fn verdict(&mut self, what: &str, verdict: &str) {
        if let Some(("captured", detail)) = self.0.last_mut() {
            if detail.ends_with('.') {
                detail.pop();
            }
            detail.push_str("; ");
            detail.push_str(verdict);
            detail.push('.');
        } else {
            self.push("conversion", format!("{what}; {verdict}."));
        }
    }

    /// Adds what followed from the last entry (a reward, or why there is none) to that entry, so
    /// one event or decision is one timeline row however many rewards it makes: a CSV import
    /// writes one row per imported row instead of two. Its callers always wrote that entry first
    /// (the event's verdict or the admin's approval); an empty journal gets a `reward` line.
    fn follow(&mut self, sentence: &str) {
        match self.0.last_mut() {
            Some((last, detail)) => {
                debug_assert!(
                    matches!(*last, "captured" | "conversion" | "approved"),
                    "a reward's sentence would follow a {last:?} line"
                );
                detail.push(' ');
                detail.push_str(sentence);
            }
            None => self.push("reward", sentence.to_owned()),
        }
    }
}

impl<'w> Pass<'w> {
    fn run(world: &'w World, items: &[Item], now: DateTime<Utc>) -> Self {
        let mut pass = Pass {
            world,
            now,
            // Sized for one new lead, event and timeline line per item, the common case of a CSV
            // import: growing them was a few percent of deciding (`perf`).
            leads: HashMap::with_capacity(items.len()),
            lead_order: Vec::with_capacity(items.len()),
            new_lead_by_email: HashMap::with_capacity(items.len()),
            claimed: HashMap::with_capacity(items.len()),
            next_lead: 0,
            next_event: 0,
            next_reward: 0,
            qualified_delta: HashMap::new(),
            earned_delta: HashMap::new(),
            new_keys: HashSet::new(),
            events: Vec::with_capacity(items.len()),
            timeline: Vec::with_capacity(items.len()),
            effects: world.effects.clone(),
            notices: Vec::new(),
            outcomes: Vec::with_capacity(items.len()),
        };
        for (index, item) in items.iter().enumerate() {
            let outcome = match &item.op {
                Op::Event(event) => pass.event(index, item, event),
                Op::Decide {
                    lead_id,
                    decision,
                    reason,
                    admin_email,
                } => pass.decide(item, *lead_id, *decision, reason, admin_email),
            };
            pass.outcomes.push(outcome);
        }
        pass
    }

    fn new_rewards(&self) -> impl Iterator<Item = &reward::Model> {
        self.leads
            .values()
            .flat_map(|l| l.rewards.iter())
            .filter(|r| r.is_new)
            .map(|r| &r.row)
    }

    /// The lead's state in this batch, copied from the snapshot on first touch.
    fn touch(&mut self, lead_id: i64) -> Option<&mut LeadState> {
        if !self.leads.contains_key(&lead_id) {
            let row = self.world.leads.get(&lead_id)?.clone();
            let rewards = self
                .world
                .rewards
                .get(&lead_id)
                .into_iter()
                .flatten()
                .map(|r| RewardState {
                    row: r.clone(),
                    is_new: false,
                    dirty: false,
                })
                .collect();
            self.leads.insert(
                lead_id,
                LeadState {
                    row,
                    is_new: false,
                    dirty: false,
                    rewards,
                },
            );
            self.lead_order.push(lead_id);
        }
        self.leads.get_mut(&lead_id)
    }

    fn lead(&self, lead_id: i64) -> &lead::Model {
        &self.leads[&lead_id].row
    }

    fn referrer(&self, id: Option<i64>) -> Option<&'w referrer::Model> {
        id.and_then(|id| self.world.referrers.get(&id))
    }

    fn take_id(ids: &[i64], next: &mut usize) -> i64 {
        let id = ids[*next];
        *next += 1;
        id
    }

    fn event(&mut self, index: usize, item: &Item, event: &CheckedEvent) -> Outcome {
        let key = (item.source.clone(), event.event_id.clone());
        if let Some((outcome, stored)) = self.world.answers.get(&key) {
            if !keeps_answers(&item.source) {
                return Ok(Reply::Brief {
                    duplicate: true,
                    outcome: outcome.clone(),
                    ambiguous: false,
                });
            }
            let mut result: ConversionResult = serde_json::from_str(stored)
                .map_err(|e| AppError::internal("conversions::stored answer", e))?;
            result.duplicate = true;
            return Ok(Reply::Full(Box::new(result)));
        }
        if let Some(first) = self.claimed.get(&key) {
            let mut reply = self.outcomes[*first].clone()?;
            reply.mark_duplicate();
            return Ok(reply);
        }
        let campaign = &item.campaign;
        // Every refusal happens before anything is recorded.
        let existing = event.email_normalized.as_ref().and_then(|normalized| {
            let k = (campaign.id, normalized.clone());
            self.new_lead_by_email
                .get(&k)
                .or_else(|| self.world.lead_by_email.get(&k))
                .copied()
        });
        let (named, miss) = self.world.referrer_for(campaign.id, event);
        if existing.is_none() && named.is_none() {
            return Err(miss.unwrap_or_else(|| {
                AppError::invalid(
                    "unattributable",
                    "referral_code",
                    "This event names no referral code and no email of a known lead, so it cannot be credited to a referrer.",
                )
            }));
        }
        let event_row_id = Self::take_id(&self.world.ids.events, &mut self.next_event);
        self.claimed.insert(key, index);
        let mut journal = Journal(Vec::new());
        let what = describe_event(event, &item.source);
        let (lead_id, created) = match existing {
            Some(id) => {
                self.touch(id);
                (id, false)
            }
            None => {
                let referrer_id = named.unwrap_or_default();
                (
                    self.create_lead(item, event, &what, referrer_id, &mut journal),
                    true,
                )
            }
        };
        // An existing lead keeps its referrer (first referrer wins); a code naming somebody else
        // is noted, and reported as ambiguous.
        let mut ambiguous = false;
        if !created
            && let Some(named) = named
            && self.lead(lead_id).referrer_id != Some(named)
        {
            ambiguous = true;
            let name = self
                .referrer(Some(named))
                .map(|r| r.name.clone())
                .unwrap_or_default();
            journal.push(
                "ambiguous",
                format!(
                    "Event {} names {name}'s code, but this lead was credited to another referrer first; the first referrer keeps it.",
                    event.event_id
                ),
            );
        }
        let rules = &item.rules;
        let lead_row = self.lead(lead_id).clone();
        let facts = LeadFacts {
            status: LeadStatus::parse(&lead_row.status).unwrap_or(LeadStatus::Pending),
            created_at: lead_row.created_at,
            flagged: !lead_row.flags.is_empty(),
        };
        let verdict = rules::judge(
            &rules.qualification,
            facts,
            EventFacts {
                name: &event.name,
                amount_minor: event.amount_minor,
                currency: event.currency.as_deref(),
                occurred_at: event.occurred_at,
            },
        );
        let mut created_rewards = Vec::new();
        let outcome = match verdict {
            Verdict::Qualifies => {
                journal.verdict(&what, "the lead qualifies");
                created_rewards = self.qualify(
                    item,
                    lead_id,
                    Some(event_row_id),
                    event.amount_minor,
                    event.currency.as_deref(),
                    &mut journal,
                );
                "qualified"
            }
            Verdict::NeedsReview => {
                let why = if lead_row.flags.is_empty() {
                    "the campaign asks an admin to approve each qualification"
                } else {
                    "the lead is flagged"
                };
                self.set_status(lead_id, LeadStatus::Review, Some(event_row_id), None);
                journal.push(
                    "review",
                    format!("{what}; it qualifies, but {why}: held for review."),
                );
                "review"
            }
            Verdict::Recorded(reason) => {
                let min = rules.qualification.min_amount_minor.unwrap_or(0);
                let min_currency = rules.qualification.min_amount_currency.as_deref();
                let why = match reason {
                    NotQualifying::OtherEvent => format!(
                        "not a qualifying event (the campaign counts {})",
                        rules.qualification.events.join(", ")
                    ),
                    NotQualifying::BelowMinimum => format!(
                        "below the campaign's minimum of {}",
                        rules::format_amount(min, min_currency.or(event.currency.as_deref()))
                    ),
                    NotQualifying::OtherCurrency => format!(
                        "the campaign's minimum of {} counts only amounts in {}",
                        rules::format_amount(min, min_currency),
                        min_currency.unwrap_or_default()
                    ),
                    NotQualifying::OutsideWindow => format!(
                        "after the {}-day qualification window",
                        rules.qualification.window_days.unwrap_or(0)
                    ),
                };
                journal.verdict(&what, &why);
                "recorded"
            }
            Verdict::AlreadyDone => {
                let state = if facts.status == LeadStatus::Review {
                    "is already waiting for review"
                } else {
                    "had already qualified"
                };
                journal.verdict(&what, &format!("the lead {state}, so nothing changes"));
                "already_qualified"
            }
            Verdict::LeadRejected => {
                journal.verdict(&what, "the lead was rejected, so nothing changes");
                "lead_rejected"
            }
            Verdict::Refund => {
                self.refund(rules, lead_id, &what, &mut journal);
                "refunded"
            }
        };
        self.append(lead_id, journal);
        let (reply, response) = if keeps_answers(&item.source) {
            let result = self.answer(item, lead_id, &created_rewards, outcome, ambiguous);
            let response = serde_json::to_string(&result)
                .map_err(|e| AppError::internal("conversions::encode answer", e))?;
            (Reply::Full(Box::new(result)), response)
        } else {
            let reply = Reply::Brief {
                duplicate: false,
                outcome: outcome.to_owned(),
                ambiguous,
            };
            (reply, String::new())
        };
        let lead_now = self.lead(lead_id);
        self.events.push(conversion_event::Model {
            id: event_row_id,
            campaign_id: campaign.id,
            source: item.source.clone(),
            event_id: event.event_id.clone(),
            name: event.name.clone(),
            lead_id: Some(lead_id),
            referrer_id: lead_now.referrer_id,
            email: event.email.as_ref().map(|e| e.as_str().to_owned()),
            code: event
                .referral_code
                .clone()
                .or_else(|| event.promotion_code.clone())
                .map(|c| c.chars().take(64).collect()),
            amount_minor: event.amount_minor,
            currency: event.currency.clone(),
            occurred_at: event.occurred_at,
            outcome: outcome.to_owned(),
            response,
            created_at: self.now,
        });
        Ok(reply)
    }

    fn answer(
        &self,
        item: &Item,
        lead_id: i64,
        created: &[reward::Model],
        outcome: &str,
        ambiguous: bool,
    ) -> ConversionResult {
        let lead_now = self.lead(lead_id);
        let referrer = self.referrer(lead_now.referrer_id);
        ConversionResult {
            lead: leads::to_wire(
                lead_now,
                &item.campaign.slug,
                referrer.map(|r| r.name.clone()),
            ),
            rewards: rewards::to_wire_known(
                created,
                &item.campaign.slug,
                referrer.map(|r| r.email.as_str()),
                lead_now,
            ),
            duplicate: false,
            outcome: outcome.to_owned(),
            ambiguous,
        }
    }

    fn append(&mut self, lead_id: i64, journal: Journal) {
        self.timeline.extend(
            journal
                .0
                .into_iter()
                .map(|(kind, detail)| (lead_id, kind, detail)),
        );
    }

    /// Creates the lead of a new friend credited to `referrer_id`; `what` describes the event
    /// (`describe_event`).
    fn create_lead(
        &mut self,
        item: &Item,
        event: &CheckedEvent,
        what: &str,
        referrer_id: i64,
        journal: &mut Journal,
    ) -> i64 {
        let referrer = &self.world.referrers[&referrer_id];
        let (email, normalized) = match (&event.email, &event.email_normalized) {
            (Some(e), Some(normalized)) => (e.as_str().to_owned(), normalized.clone()),
            // A code with no email still makes a lead; its key is the event, which is unique.
            _ => (
                String::new(),
                format!("~{}:{}", item.source, event.event_id),
            ),
        };
        journal.push(
            "captured",
            format!(
                "{what} with code {}; credited to {}.",
                event
                    .referral_code
                    .as_deref()
                    .or(event.promotion_code.as_deref())
                    .unwrap_or(""),
                referrer.name
            ),
        );
        let signals = fraud::signals(
            fraud::NewLead {
                campaign_id: item.campaign.id,
                referrer,
                email_normalized: &normalized,
                ip_hash: None,
                referrers_own_browser: false,
            },
            None,
        );
        let mut flags = Vec::new();
        for (flag, sentence) in signals {
            flags.push(flag);
            journal.push("flagged", sentence);
        }
        let id = Self::take_id(&self.world.ids.leads, &mut self.next_lead);
        let row = lead::Model {
            id,
            campaign_id: item.campaign.id,
            referrer_id: Some(referrer_id),
            name: None,
            email,
            email_normalized: normalized.clone(),
            source: "code".to_owned(),
            status: LeadStatus::Pending.as_str().to_owned(),
            flags: flags.join(","),
            ip_hash: None,
            qualified_at: None,
            status_reason: None,
            qualifying_event_id: None,
            phone: None,
            entered_by: None,
            name_key: None,
            amount_minor: 0,
            amount_currency: None,
            created_at: self.now,
            updated_at: self.now,
        };
        self.effects.push_with(
            "lead.created",
            || json!({"id": id, "campaign": item.campaign.slug, "referrer_id": referrer_id, "source": "code", "email": event.email.as_ref().map(Email::as_str)}),
        );
        if let Some(settings) = &item.mail
            && !referrer.emails_opt_out
        {
            self.notices.push(Notice {
                kind: EmailKind::NewReferral,
                lead_id: id,
                referrer_id,
                reward_ids: Vec::new(),
                campaign: item.campaign.clone(),
                settings: settings.clone(),
                digest: None,
            });
        }
        self.new_lead_by_email
            .insert((item.campaign.id, normalized), id);
        self.leads.insert(
            id,
            LeadState {
                row,
                is_new: true,
                dirty: false,
                rewards: Vec::new(),
            },
        );
        self.lead_order.push(id);
        id
    }

    fn set_status(
        &mut self,
        lead_id: i64,
        status: LeadStatus,
        qualifying_event: Option<i64>,
        reason: Option<String>,
    ) {
        let now = self.now;
        let state = self.leads.get_mut(&lead_id).expect("touched lead");
        let was_qualified = state.row.status == LeadStatus::Qualified.as_str();
        let is_qualified = status == LeadStatus::Qualified;
        state.row.status = status.as_str().to_owned();
        state.row.qualified_at = is_qualified.then_some(now);
        state.row.status_reason = reason;
        state.row.updated_at = now;
        if qualifying_event.is_some() {
            state.row.qualifying_event_id = qualifying_event;
        }
        state.dirty = true;
        if let Some(referrer_id) = state.row.referrer_id
            && was_qualified != is_qualified
        {
            *self.qualified_delta.entry(referrer_id).or_default() +=
                if is_qualified { 1 } else { -1 };
        }
    }

    fn qualified_count(&self, referrer_id: i64) -> u64 {
        let base = self.world.qualified.get(&referrer_id).copied().unwrap_or(0);
        let delta = self.qualified_delta.get(&referrer_id).copied().unwrap_or(0);
        u64::try_from(i64::try_from(base).unwrap_or(i64::MAX) + delta).unwrap_or(0)
    }

    fn earned_count(&self, referrer_id: i64, rule_id: i64) -> u64 {
        let k = (referrer_id, rule_id);
        let base = self.world.earned.get(&k).copied().unwrap_or(0);
        let delta = self.earned_delta.get(&k).copied().unwrap_or(0);
        u64::try_from(i64::try_from(base).unwrap_or(i64::MAX) + delta).unwrap_or(0)
    }

    /// Qualifies a lead and creates its rewards.
    fn qualify(
        &mut self,
        item: &Item,
        lead_id: i64,
        event_row: Option<i64>,
        amount_minor: Option<i64>,
        currency: Option<&str>,
        journal: &mut Journal,
    ) -> Vec<reward::Model> {
        let before = self.lead(lead_id).clone();
        self.set_status(lead_id, LeadStatus::Qualified, event_row, None);
        if let Some(state) = self.leads.get_mut(&lead_id) {
            // An approval (no amount of its own) keeps the amount the lead had.
            if let Some(amount) = amount_minor {
                state.row.amount_minor = amount;
                state.row.amount_currency = currency.map(str::to_owned);
            }
        }
        self.effects.push_with("lead.qualified", || {
            super::lead_event_data(&before, &item.campaign.slug, "qualified")
        });
        // The caller's line already says the lead qualifies (the event's verdict, or the admin's
        // approval), so only what follows from it is added to that line: rewards, or why there
        // are none.
        let Some(referrer_id) = before.referrer_id else {
            journal.follow("No rewards: no referrer is credited.");
            return Vec::new();
        };
        let rules = &item.rules;
        let qualified_count = self.qualified_count(referrer_id);
        let now = self.now;
        let mut created = Vec::new();
        let mut story = Vec::new();
        for (rule_id, rule) in &rules.rewards {
            let earned = self.earned_count(referrer_id, *rule_id);
            let draft = match rules::reward_for(
                rule,
                RewardContext {
                    qualified_count,
                    earned_by_referrer: earned,
                    amount_minor,
                    currency,
                },
            ) {
                Ok(d) => d,
                Err(NoReward::CapReached) => {
                    story.push(format!(
                        "No \"{}\": the referrer reached the cap of {}.",
                        rules::reward_label(rule),
                        rule.max_per_referrer.unwrap_or(0)
                    ));
                    continue;
                }
                Err(NoReward::NotAMilestone) => {
                    let every = u64::from(rule.milestone_every.unwrap_or(1));
                    story.push(format!(
                        "{} of {every} qualified referrals toward the next \"{}\".",
                        qualified_count % every,
                        rules::reward_label(rule)
                    ));
                    continue;
                }
                Err(NoReward::NoAmount) => {
                    story.push(format!(
                        "No \"{}\": a percentage reward needs the conversion's amount.",
                        rules::reward_label(rule)
                    ));
                    continue;
                }
            };
            let dedupe_key = rules::dedupe_key(
                *rule_id,
                &rule.recipient,
                lead_id,
                referrer_id,
                draft.milestone,
            );
            if self.world.known_keys.contains(&dedupe_key) || self.new_keys.contains(&dedupe_key) {
                // Earned before (re-qualification after a refund): exactly once means no second one.
                story.push(format!(
                    "\"{}\" was already earned for this lead.",
                    rules::reward_label(rule)
                ));
                continue;
            }
            let due_at = rules::due_at(now, rule.hold_days);
            let status = if rule.hold_days > 0 {
                RewardStatus::Pending
            } else if rules.qualification.auto_issue {
                RewardStatus::Issued
            } else {
                RewardStatus::Due
            };
            let row = reward::Model {
                id: Self::take_id(&self.world.ids.rewards, &mut self.next_reward),
                campaign_id: item.campaign.id,
                rule_id: *rule_id,
                lead_id: Some(lead_id),
                referrer_id: Some(referrer_id),
                recipient: rule.recipient.clone(),
                kind: rule.kind.clone(),
                amount_minor: draft.amount_minor,
                currency: draft.currency.clone(),
                description: rules::reward_label(rule),
                status,
                milestone: i32::try_from(draft.milestone).unwrap_or(i32::MAX),
                dedupe_key: dedupe_key.clone(),
                conversion_event_id: event_row,
                due_at: Some(due_at),
                issued_at: (status == RewardStatus::Issued).then_some(now),
                cancelled_at: None,
                cancel_reason: None,
                clawback: false,
                created_at: now,
                updated_at: now,
            };
            self.new_keys.insert(dedupe_key);
            *self
                .earned_delta
                .entry((referrer_id, *rule_id))
                .or_default() += 1;
            let amount = row
                .amount_minor
                .map(|a| format!(" ({})", rules::format_amount(a, row.currency.as_deref())))
                .unwrap_or_default();
            let when = match status {
                RewardStatus::Pending => format!(", due {}", due_at.format("%Y-%m-%d")),
                RewardStatus::Issued => ", issued automatically".to_owned(),
                RewardStatus::Due | RewardStatus::Cancelled => ", due now".to_owned(),
            };
            story.push(format!(
                "Reward for the {}: {}{amount}{when}.",
                row.recipient, row.description
            ));
            self.effects
                .push_with("reward.created", || rewards::event_data(&row));
            if status != RewardStatus::Pending {
                self.effects
                    .push_with("reward.due", || rewards::event_data(&row));
            }
            if status == RewardStatus::Issued {
                self.effects
                    .push_with("reward.issued", || rewards::event_data(&row));
            }
            created.push(row.clone());
            self.leads
                .get_mut(&lead_id)
                .expect("touched lead")
                .rewards
                .push(RewardState {
                    row,
                    is_new: true,
                    dirty: false,
                });
        }
        for sentence in story {
            journal.follow(&sentence);
        }
        if let Some(settings) = &item.mail {
            self.notice_rewards(item, settings, lead_id, referrer_id, &created);
        }
        created
    }

    /// Notes the emails the rewards a qualification `created` call for: to the referrer, "your
    /// referral qualified" for theirs and "your reward was issued" for each issued at once; to
    /// the friend, the welcome with theirs.
    fn notice_rewards(
        &mut self,
        item: &Item,
        settings: &Arc<RuntimeSettings>,
        lead_id: i64,
        referrer_id: i64,
        created: &[reward::Model],
    ) {
        let Some(referrer) = self.world.referrers.get(&referrer_id) else {
            return;
        };
        let notice = |kind, reward_ids| Notice {
            kind,
            lead_id,
            referrer_id,
            reward_ids,
            campaign: item.campaign.clone(),
            settings: settings.clone(),
            digest: None,
        };
        let (theirs, friends): (Vec<&reward::Model>, Vec<&reward::Model>) =
            created.iter().partition(|r| r.recipient != "friend");
        if !referrer.emails_opt_out && !theirs.is_empty() {
            self.notices.push(Notice {
                digest: item.digest,
                ..notice(
                    EmailKind::ReferralQualified,
                    theirs.iter().map(|r| r.id).collect(),
                )
            });
            for r in theirs.iter().filter(|r| r.status == RewardStatus::Issued) {
                self.notices
                    .push(notice(EmailKind::RewardIssued, vec![r.id]));
            }
        }
        if !friends.is_empty() && self.lead(lead_id).email.contains('@') {
            self.notices.push(notice(
                EmailKind::FriendWelcome,
                friends.iter().map(|r| r.id).collect(),
            ));
        }
    }

    /// The batch's notification emails, rendered against its final rows: a reward cancelled later
    /// in the batch (a refund in the same file) is not announced, and a new referral that also
    /// qualified in the batch gets only the "qualified" email, which names the friend too (two
    /// emails about one friend in the same second say nothing the second does not). A
    /// qualification in an import with a summary is noted for that summary instead.
    fn drafts(&self) -> Result<(Vec<Draft>, Digests), AppError> {
        let mut digests = Digests::default();
        if self.notices.is_empty() {
            return Ok((Vec::new(), digests));
        }
        let live = |notice: &Notice| -> Vec<reward::Model> {
            self.leads[&notice.lead_id]
                .rewards
                .iter()
                .filter(|r| {
                    notice.reward_ids.contains(&r.row.id) && r.row.status != RewardStatus::Cancelled
                })
                .map(|r| r.row.clone())
                .collect()
        };
        let mut qualified = HashSet::new();
        let mut drafts = Vec::with_capacity(self.notices.len());
        // Qualifications first, so that a new referral knows whether one covers it.
        for notice in self
            .notices
            .iter()
            .filter(|n| n.kind == EmailKind::ReferralQualified)
        {
            let rewards = live(notice);
            if rewards.is_empty() {
                continue;
            }
            let (lead, referrer) = self.notice_rows(notice);
            qualified.insert(notice.lead_id);
            if let Some(import_id) = notice.digest {
                if notifications::wanted(
                    EmailKind::ReferralQualified,
                    self.templates(notice),
                    referrer,
                ) {
                    let friend = notifications::friend_label(lead);
                    digests.note(import_id, referrer.id, friend, &rewards);
                }
                continue;
            }
            drafts.extend(notifications::referral_qualified(
                &notice.settings,
                self.templates(notice),
                &notice.campaign,
                referrer,
                lead,
                &rewards,
            )?);
        }
        for notice in self
            .notices
            .iter()
            .filter(|n| n.kind != EmailKind::ReferralQualified)
        {
            let (lead, referrer) = self.notice_rows(notice);
            let templates = self.templates(notice);
            let draft = match notice.kind {
                EmailKind::NewReferral if qualified.contains(&notice.lead_id) => None,
                EmailKind::NewReferral => notifications::new_referral(
                    &notice.settings,
                    templates,
                    &notice.campaign,
                    referrer,
                    lead,
                )?,
                EmailKind::RewardIssued => match live(notice).first() {
                    Some(reward) => notifications::reward_issued(
                        &notice.settings,
                        templates,
                        &notice.campaign,
                        referrer,
                        reward,
                    )?,
                    None => None,
                },
                EmailKind::FriendWelcome => notifications::friend_welcome(
                    templates,
                    &notice.campaign,
                    referrer,
                    lead,
                    &live(notice),
                )?,
                _ => None,
            };
            drafts.extend(draft);
        }
        Ok((drafts, digests))
    }

    /// The templates of the notice's campaign (loaded with the batch: every notice comes from an
    /// item with `mail`).
    fn templates(&self, notice: &Notice) -> &'w CampaignTemplates {
        static BUILT_IN: std::sync::OnceLock<CampaignTemplates> = std::sync::OnceLock::new();
        self.world
            .templates
            .get(&notice.campaign.id)
            .unwrap_or_else(|| BUILT_IN.get_or_init(CampaignTemplates::default))
    }

    fn notice_rows(&self, notice: &Notice) -> (&lead::Model, &'w referrer::Model) {
        (
            &self.leads[&notice.lead_id].row,
            &self.world.referrers[&notice.referrer_id],
        )
    }

    /// Cancels the lead's rewards not yet issued (with `reason`) and, for a refund, flags issued
    /// ones for clawback. Returns how many of each.
    fn cancel_rewards(&mut self, lead_id: i64, reason: &str) -> (usize, usize) {
        let now = self.now;
        let mut cancelled = Vec::new();
        let mut clawbacks = 0;
        let state = self.leads.get_mut(&lead_id).expect("touched lead");
        for r in &mut state.rewards {
            match r.row.status {
                RewardStatus::Cancelled => {}
                RewardStatus::Issued => {
                    if reason == "refund" && !r.row.clawback {
                        r.row.clawback = true;
                        r.row.updated_at = now;
                        r.dirty = true;
                        clawbacks += 1;
                    }
                }
                RewardStatus::Pending | RewardStatus::Due => {
                    r.row.status = RewardStatus::Cancelled;
                    r.row.cancel_reason = Some(reason.to_owned());
                    r.row.cancelled_at = Some(now);
                    r.row.updated_at = now;
                    r.dirty = true;
                    cancelled.push(r.row.clone());
                }
            }
        }
        for r in &cancelled {
            if let Some(referrer_id) = r.referrer_id {
                *self
                    .earned_delta
                    .entry((referrer_id, r.rule_id))
                    .or_default() -= 1;
            }
            self.effects
                .push_with("reward.cancelled", || rewards::event_data(r));
        }
        (cancelled.len(), clawbacks)
    }

    fn refund(&mut self, rules: &LoadedRules, lead_id: i64, what: &str, journal: &mut Journal) {
        let status = LeadStatus::parse(&self.lead(lead_id).status).unwrap_or(LeadStatus::Pending);
        let unqualify = rules.qualification.refund_unqualifies
            && matches!(status, LeadStatus::Qualified | LeadStatus::Review);
        if !unqualify {
            let why = if rules.qualification.refund_unqualifies {
                "the lead was not qualified, so nothing changes"
            } else {
                "the campaign keeps leads qualified after a refund"
            };
            journal.push("refund", format!("{what}; {why}."));
            return;
        }
        self.set_status(
            lead_id,
            LeadStatus::Pending,
            None,
            Some("refunded".to_owned()),
        );
        let (cancelled, clawback) = self.cancel_rewards(lead_id, "refund");
        let mut detail = format!("{what}; the lead is back to pending");
        if cancelled > 0 {
            detail.push_str(&format!(
                ", {} not yet issued {} cancelled",
                counted(cancelled as u64, "reward", "rewards"),
                if cancelled == 1 { "was" } else { "were" }
            ));
        }
        if clawback > 0 {
            detail.push_str(&format!(
                ", {} {} flagged for clawback",
                counted(clawback as u64, "issued reward", "issued rewards"),
                if clawback == 1 { "is" } else { "are" }
            ));
        }
        detail.push('.');
        journal.push("refund", detail);
    }

    fn decide(
        &mut self,
        item: &Item,
        lead_id: i64,
        decision: Decision,
        reason: &str,
        admin_email: &str,
    ) -> Outcome {
        let Some(state) = self.touch(lead_id) else {
            return Err(AppError::not_found("Lead"));
        };
        let lead_row = state.row.clone();
        let status = LeadStatus::parse(&lead_row.status).unwrap_or(LeadStatus::Pending);
        match (decision, status) {
            (Decision::Qualify, LeadStatus::Qualified) => {
                return Err(AppError::conflict(
                    "already_qualified",
                    "This lead is already qualified.",
                ));
            }
            (Decision::Reject, LeadStatus::Rejected) => {
                return Err(AppError::conflict(
                    "already_rejected",
                    "This lead is already rejected.",
                ));
            }
            _ => {}
        }
        let because = if reason.is_empty() {
            String::new()
        } else {
            format!(": {reason}")
        };
        let mut journal = Journal(Vec::new());
        let mut created = Vec::new();
        let outcome = if decision == Decision::Qualify {
            let source_event = match lead_row.qualifying_event_id {
                Some(id) if status == LeadStatus::Review => self
                    .events
                    .iter()
                    .find(|e| e.id == id)
                    .or_else(|| self.world.events.get(&id))
                    .map(|e| (e.id, e.amount_minor, e.currency.clone())),
                _ => None,
            };
            let verb = if status == LeadStatus::Review {
                "Approved"
            } else {
                "Qualified by hand"
            };
            journal.push("approved", format!("{verb} by {admin_email}{because}."));
            let (event_id, amount, currency) = match source_event {
                Some((id, amount, currency)) => (Some(id), amount, currency),
                None => (None, None, None),
            };
            created = self.qualify(
                item,
                lead_id,
                event_id,
                amount,
                currency.as_deref(),
                &mut journal,
            );
            "qualified"
        } else {
            self.set_status(lead_id, LeadStatus::Rejected, None, Some(reason.to_owned()));
            let cancel_reason = if lead_row.flags.is_empty() {
                "manual"
            } else {
                "fraud"
            };
            let (cancelled, _) = self.cancel_rewards(lead_id, cancel_reason);
            let tail = if cancelled > 0 {
                format!(
                    " {} not yet issued {} cancelled.",
                    counted(cancelled as u64, "reward", "rewards"),
                    if cancelled == 1 { "was" } else { "were" }
                )
            } else {
                String::new()
            };
            journal.push(
                "rejected",
                format!("Rejected by {admin_email}{because}.{tail}"),
            );
            "lead_rejected"
        };
        self.append(lead_id, journal);
        let answer = self.answer(item, lead_id, &created, outcome, false);
        Ok(Reply::Full(Box::new(answer)))
    }

    /// Writes the batch: one multi-row statement per table, all built first, then run in order.
    /// (Building is a small share, about 6% of a CSV import's write time, measured; a pipelined
    /// SQLite import builds the next batch while this one's statements run, see [`decide`].)
    async fn flush(self, txn: &DatabaseTransaction) -> Result<Vec<Outcome>, Failure> {
        let built = self.build(txn.get_database_backend())?;
        built.write(txn).await
    }

    /// The batch's writes, in the order they run, with its effects and answers.
    fn build(self, backend: DbBackend) -> Result<Built, Failure> {
        let (emails, digests) = self.drafts()?;
        let mail_domain = self
            .notices
            .first()
            .map(|n| emails::mail_domain(&n.settings))
            .unwrap_or_default();
        let mut writes = Vec::with_capacity(6);
        let mut new_leads = Vec::new();
        let mut changed_leads = Vec::new();
        let mut new_rewards = Vec::new();
        let mut changed_rewards = Vec::new();
        let mut leads = self.leads;
        for id in &self.lead_order {
            let Some(state) = leads.remove(id) else {
                continue;
            };
            for r in state.rewards {
                if r.is_new {
                    new_rewards.push(reward::ActiveModel::from(r.row));
                } else if r.dirty {
                    changed_rewards.push(reward::ActiveModel::from(r.row));
                }
            }
            if state.is_new {
                new_leads.push(lead::ActiveModel::from(state.row));
            } else if state.dirty {
                changed_leads.push(lead::ActiveModel::from(state.row));
            }
        }
        writes.push(Write::build(
            backend,
            "conversions::insert leads",
            new_leads,
            OnConflict::Skip(&["campaign_id", "email_normalized"]),
            true,
        )?);
        writes.push(Write::build(
            backend,
            "conversions::update leads",
            changed_leads,
            OnConflict::Update {
                key: &["id"],
                columns: &[
                    "status",
                    "qualified_at",
                    "status_reason",
                    "qualifying_event_id",
                    "amount_minor",
                    "amount_currency",
                    "updated_at",
                ],
            },
            false,
        )?);
        writes.push(Write::build(
            backend,
            "conversions::insert events",
            self.events
                .into_iter()
                .map(conversion_event::ActiveModel::from)
                .collect(),
            OnConflict::Skip(&["source", "event_id"]),
            true,
        )?);
        writes.push(Write::build(
            backend,
            "conversions::insert rewards",
            new_rewards,
            OnConflict::Skip(&["dedupe_key"]),
            true,
        )?);
        writes.push(Write::build(
            backend,
            "conversions::update rewards",
            changed_rewards,
            OnConflict::Update {
                key: &["id"],
                columns: &[
                    "status",
                    "cancel_reason",
                    "cancelled_at",
                    "clawback",
                    "updated_at",
                ],
            },
            false,
        )?);
        let now = self.now;
        writes.push(Write::build(
            backend,
            "conversions::insert timeline",
            self.timeline
                .into_iter()
                .map(|(lead_id, kind, detail)| {
                    lead_event::ActiveModel::from(lead_event::Model {
                        id: 0,
                        lead_id,
                        kind: kind.to_owned(),
                        detail,
                        created_at: now,
                    })
                    .reset_id()
                })
                .collect(),
            OnConflict::Fail,
            false,
        )?);
        Ok(Built {
            writes,
            effects: self.effects,
            emails,
            digests,
            mail_domain,
            now,
            outcomes: self.outcomes,
        })
    }
}

/// A decided batch: what it writes, in order, and what it answers.
struct Built {
    writes: Vec<Write>,
    effects: Effects,
    /// Its notification emails, rendered, and the domain their Message-IDs end in.
    emails: Vec<Draft>,
    /// What it adds to its import's summary emails.
    digests: Digests,
    mail_domain: String,
    now: DateTime<Utc>,
    outcomes: Vec<Outcome>,
}

impl Built {
    /// Runs the writes, then queues the effects and the emails (one multi-row insert, none
    /// when there are none), and hands back the answers.
    async fn write(self, txn: &DatabaseTransaction) -> Result<Vec<Outcome>, Failure> {
        for write in self.writes {
            write.run(txn).await?;
        }
        self.effects.write(txn).await?;
        if !self.emails.is_empty() {
            queue::enqueue(txn, self.emails, &self.mail_domain, self.now).await?;
        }
        self.digests.write(txn).await?;
        Ok(self.outcomes)
    }
}

/// One table's part of a batch: its statements, and whether each of its rows must be written (a
/// row skipped on a unique key means a concurrent transaction won a race).
struct Write {
    context: &'static str,
    statements: Vec<Statement>,
    rows: usize,
    every_row: bool,
}

impl Write {
    /// Runs the statements; a row skipped where every row must be written is a lost race.
    async fn run(self, txn: &DatabaseTransaction) -> Result<(), Failure> {
        let mut written = 0;
        for statement in self.statements {
            let result = txn
                .execute_raw(statement)
                .await
                .map_err(db_failure(self.context))?;
            written += usize::try_from(result.rows_affected()).unwrap_or(usize::MAX);
        }
        if self.every_row && written != self.rows {
            return Err(Failure::Conflict);
        }
        Ok(())
    }

    fn build<A: ActiveModelTrait>(
        backend: DbBackend,
        context: &'static str,
        rows: Vec<A>,
        on_conflict: OnConflict<'_>,
        every_row: bool,
    ) -> Result<Self, Failure> {
        let count = rows.len();
        Ok(Write {
            context,
            statements: db::insert_statements(backend, rows, on_conflict)
                .map_err(db_failure(context))?,
            rows: count,
            every_row,
        })
    }
}

/// Lets the database number a row built from a `Model` (whose id is a placeholder).
trait ResetId {
    fn reset_id(self) -> Self;
}

impl ResetId for lead_event::ActiveModel {
    fn reset_id(mut self) -> Self {
        self.id = sea_orm::ActiveValue::NotSet;
        self
    }
}
