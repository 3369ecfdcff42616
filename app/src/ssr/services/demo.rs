//! A realistic demo data set, so a newcomer sees a living dashboard.

use chrono::{Duration, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::{
    domain::email::Email,
    domain::rules::CampaignRules,
    error::AppError,
    ssr::{
        db::begin_write,
        entities::{click, lead, lead_event},
        services::{
            campaigns,
            conversions::{self, Decision},
            fraud::SELF_REFERRAL,
            referrers, rewards, rules,
            secrets::random_index,
        },
        state::AppState,
    },
    types::{CampaignInput, ConversionInput, RewardFilter},
};

const FIRST: [&str; 25] = [
    "Ava", "Noah", "Mia", "Liam", "Zoe", "Omar", "Priya", "Lucas", "Chloe", "Mateo", "Hana",
    "Ethan", "Lena", "Kofi", "Sofia", "Ivan", "Amara", "Jonas", "Yuki", "Ruth", "Diego", "Nora",
    "Felix", "Ines", "Tariq",
];
const LAST: [&str; 10] = [
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Rossi",
    "Haddad",
    "Novak",
    "Silva",
    "Brennan",
    "Kowalski",
];

/// What `create` made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoSummary {
    /// The demo campaign's slug.
    pub campaign: String,
    /// Referrers created.
    pub referrers: usize,
    /// Leads created.
    pub leads: usize,
}

/// Three in ten leads buy (through `conversions::record`, so they qualify and earn rewards as a
/// real purchase would; flagged ones wait for review), one in ten is rejected by an admin, and
/// the oldest due rewards are issued.
async fn qualify_some(state: &AppState, campaign: &str) -> Result<(), AppError> {
    let book: CampaignRules = serde_json::from_value(serde_json::json!({
        "qualification": {"events": ["purchase"]},
        "rewards": [
            {"recipient": "referrer", "kind": "fixed", "amount_minor": 2000, "currency": "USD",
             "description": "Store credit"},
            {"recipient": "friend", "kind": "percent", "percent_bp": 1000, "cap_minor": 1500,
             "description": "10% back", "hold_days": 14}
        ]
    }))
    .map_err(|e| AppError::internal("demo::qualify_some rules", e))?;
    rules::replace(
        state,
        &crate::ssr::services::audit::Actor::command_line(),
        campaign,
        book,
    )
    .await?;
    for i in 0..500usize {
        let email = format!("friend{i}@example.org");
        match i % 10 {
            6..=8 => {
                conversions::record(
                    state,
                    "demo",
                    &ConversionInput {
                        campaign: campaign.to_owned(),
                        event_id: format!("demo-order-{i}"),
                        event: "purchase".to_owned(),
                        email: Some(email),
                        amount: Some(i64::try_from(2900 + i * 37).unwrap_or(2900)),
                        currency: Some("USD".to_owned()),
                        ..Default::default()
                    },
                )
                .await?;
            }
            9 => {
                let id = lead::Entity::find()
                    .select_only()
                    .column(lead::Column::Id)
                    .filter(lead::Column::EmailNormalized.eq(email))
                    .into_tuple::<i64>()
                    .one(&state.db)
                    .await
                    .map_err(|e| AppError::internal("demo::qualify_some lead", e))?;
                if let Some(id) = id {
                    conversions::decide(
                        state,
                        id,
                        Decision::Reject,
                        "Demo: the same person signed up twice.",
                        &crate::ssr::services::audit::Actor::command_line(),
                    )
                    .await?;
                }
            }
            _ => {}
        }
    }
    let due = rewards::list(
        state,
        &RewardFilter {
            campaign: Some(campaign.to_owned()),
            status: Some(crate::domain::rules::RewardStatus::Due.as_str().to_owned()),
            after: None,
        },
    )
    .await?;
    let oldest: Vec<i64> = due.items.iter().rev().take(20).map(|r| r.id).collect();
    rewards::issue(
        state,
        &crate::ssr::services::audit::Actor::command_line(),
        &oldest,
    )
    .await?;
    Ok(())
}

/// Creates the demo campaign with 50 referrers and 500 leads in every status. Refuses to run
/// twice (the campaign slug is taken the second time).
pub async fn create(state: &AppState) -> Result<DemoSummary, AppError> {
    let campaign = campaigns::create(
        state,
        &crate::ssr::services::audit::Actor::command_line(),
        &CampaignInput {
            name: "Spring referrals (demo)".into(),
            slug: Some("demo-spring".into()),
            code_style: Some("name_based".into()),
            ..Default::default()
        },
    )
    .await?;
    let mut made = Vec::new();
    for i in 0..50 {
        let name = format!("{} {}", FIRST[i % FIRST.len()], LAST[i % LAST.len()]);
        let email = format!(
            "{}.{}{}@example.com",
            FIRST[i % FIRST.len()].to_lowercase(),
            LAST[i % LAST.len()].to_lowercase(),
            i
        );
        // Demo data is nobody's change: no audit lines.
        let (referrer, _) = referrers::create(
            state,
            None,
            &campaign.slug,
            &name,
            &email,
            referrers::Welcome::Quiet,
        )
        .await?;
        made.push(referrer);
    }
    let now = Utc::now();
    let txn = begin_write(&state.db)
        .await
        .map_err(|e| AppError::internal("demo::create begin", e))?;
    let mut clicks = Vec::new();
    let mut leads = Vec::new();
    for i in 0..500usize {
        let referrer = &made[(i * 7 + i / 50) % made.len()];
        let at = now - Duration::minutes((500 - i as i64) * 37);
        for _ in 0..(1 + random_index(3)) {
            clicks.push(click::ActiveModel {
                campaign_id: Set(campaign.id),
                referrer_id: Set(referrer.id),
                ip_hash: Set(format!("{:016x}", random_index(usize::MAX))),
                user_agent: Set("Mozilla/5.0 (demo)".into()),
                visitor_id: Set(format!("demo{i}")),
                created_at: Set(at - Duration::minutes(5)),
                // Some from printed cards and flyers, so the channel stats have something to show.
                channel: Set(["link", "link", "link", "card", "flyer"][i % 5].into()),
                ..Default::default()
            });
        }
        let friend = format!(
            "{} {}",
            FIRST[(i * 3) % FIRST.len()],
            LAST[(i / 3) % LAST.len()]
        );
        let email = Email::parse(&format!("friend{i}@example.org"))
            .map_err(|e| AppError::internal("demo::create email", e))?;
        leads.push(lead::ActiveModel {
            campaign_id: Set(campaign.id),
            referrer_id: Set(Some(referrer.id)),
            name_key: Set(Some(crate::domain::search::name_key(&friend))),
            name: Set(Some(friend)),
            email: Set(email.as_str().to_owned()),
            email_normalized: Set(email.normalized()),
            source: Set(if i % 3 == 0 { "code" } else { "link" }.to_owned()),
            // Qualified and rejected leads get there through the engine, below.
            status: Set("pending".to_owned()),
            flags: Set(if i % 47 == 0 { SELF_REFERRAL } else { "" }.to_owned()),
            ip_hash: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        });
    }
    for chunk in clicks.chunks(500) {
        click::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await
            .map_err(|e| AppError::internal("demo::create clicks", e))?;
    }
    for chunk in leads.chunks(500) {
        lead::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await
            .map_err(|e| AppError::internal("demo::create leads", e))?;
    }
    let created: Vec<(i64, String, chrono::DateTime<Utc>)> = lead::Entity::find()
        .select_only()
        .column(lead::Column::Id)
        .column(lead::Column::Source)
        .column(lead::Column::CreatedAt)
        .filter(lead::Column::CampaignId.eq(campaign.id))
        .into_tuple()
        .all(&txn)
        .await
        .map_err(|e| AppError::internal("demo::create lead ids", e))?;
    let events: Vec<lead_event::ActiveModel> = created
        .into_iter()
        .map(|(id, source, at)| lead_event::ActiveModel {
            lead_id: Set(id),
            kind: Set("captured".into()),
            detail: Set(format!("Demo data: signed up by {source}.")),
            created_at: Set(at),
            ..Default::default()
        })
        .collect();
    for chunk in events.chunks(500) {
        lead_event::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await
            .map_err(|e| AppError::internal("demo::create events", e))?;
    }
    txn.commit()
        .await
        .map_err(|e| AppError::internal("demo::create commit", e))?;
    qualify_some(state, &campaign.slug).await?;
    Ok(DemoSummary {
        campaign: campaign.slug,
        referrers: made.len(),
        leads: 500,
    })
}

/// Referrers in the data set [`create_at_scale`] builds.
const SCALE_REFERRERS: usize = 100;
/// Days its leads and clicks are spread over, ending today.
const SCALE_DAYS: i64 = 180;

/// Builds a data set at scale for trying the admin (and benchmarking it): campaign
/// `demo-scale` with 100 referrers and `leads` friends who each clicked a link and bought
/// (every row through the CSV import, as `handoff import conversions` runs it, so each is a
/// lead, a conversion event, a qualification and a reward), spread over the last 180 days.
/// `progress` hears what it is doing.
pub async fn create_at_scale(
    state: &AppState,
    leads: u64,
    progress: impl Fn(&str),
) -> Result<DemoSummary, AppError> {
    let actor = crate::ssr::services::audit::Actor::command_line();
    let campaign = campaigns::create(
        state,
        &actor,
        &CampaignInput {
            name: "At scale (demo)".into(),
            slug: Some("demo-scale".into()),
            ..Default::default()
        },
    )
    .await?;
    let book: CampaignRules = serde_json::from_value(serde_json::json!({
        "qualification": {"events": ["purchase"]},
        "rewards": [
            {"recipient": "referrer", "kind": "fixed", "amount_minor": 1000, "currency": "USD",
             "description": "Store credit"}
        ]
    }))
    .map_err(|e| AppError::internal("demo::create_at_scale rules", e))?;
    rules::replace(state, &actor, &campaign.slug, book).await?;
    let mut made = Vec::with_capacity(SCALE_REFERRERS);
    for i in 0..SCALE_REFERRERS {
        let name = format!("{} {} {i}", FIRST[i % FIRST.len()], LAST[i % LAST.len()]);
        let (referrer, _) = referrers::create(
            state,
            None,
            &campaign.slug,
            &name,
            &format!("referrer{i}@example.com"),
            referrers::Welcome::Quiet,
        )
        .await?;
        made.push(referrer);
    }
    progress(&format!("writing {leads} orders to a CSV file"));
    let path = std::env::temp_dir().join(format!(
        "handoff-demo-{}-{}.csv",
        std::process::id(),
        random_index(usize::MAX)
    ));
    let file = RemovedOnDrop(path.clone());
    {
        use std::io::Write as _;
        let write_err = |e| AppError::internal("demo::create_at_scale write", e);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(write_err)?);
        writeln!(out, "order_id,email,referral_code,amount,currency").map_err(write_err)?;
        for i in 0..leads {
            let referrer = &made[(i % SCALE_REFERRERS as u64) as usize];
            writeln!(
                out,
                "scale-{i},friend{i}@scale.example,{},{}.{:02},USD",
                referrer.code.as_deref().unwrap_or_default(),
                10 + i % 90,
                i % 100
            )
            .map_err(write_err)?;
        }
        out.flush().map_err(write_err)?;
    }
    progress("importing the orders");
    let report = crate::ssr::services::imports::run(
        state,
        &file.0,
        &crate::ssr::services::imports::ImportOptions {
            campaign: campaign.slug.clone(),
            filename: "demo-scale.csv".into(),
            dry_run: false,
            default_event: None,
        },
    )
    .await?;
    progress("spreading leads and clicks over 180 days");
    let ids: Vec<i64> = made.iter().map(|r| r.id).collect();
    spread_over_days(state, campaign.id, &ids).await?;
    Ok(DemoSummary {
        campaign: campaign.slug,
        referrers: made.len(),
        leads: usize::try_from(report.imported).unwrap_or(usize::MAX),
    })
}

/// Moves the imported leads (all made "now") onto the last [`SCALE_DAYS`] days, oldest ids
/// first, qualified a day after they came; and writes one click per lead on its day, through
/// the same batched writer as real clicks.
async fn spread_over_days(
    state: &AppState,
    campaign_id: i64,
    referrer_ids: &[i64],
) -> Result<(), AppError> {
    use sea_orm::{ConnectionTrait, Statement};
    let err = |e| AppError::internal("demo::spread_over_days", e);
    let ids: Option<(Option<i64>, Option<i64>)> = lead::Entity::find()
        .select_only()
        .column_as(lead::Column::Id.min(), "first")
        .column_as(lead::Column::Id.max(), "last")
        .filter(lead::Column::CampaignId.eq(campaign_id))
        .into_tuple()
        .one(&state.db)
        .await
        .map_err(err)?;
    let Some((Some(first), Some(last))) = ids else {
        return Ok(());
    };
    let backend = state.db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "UPDATE leads SET created_at = $1, qualified_at = CASE WHEN qualified_at IS NULL THEN NULL ELSE $2 END WHERE id >= $3 AND id < $4"
        }
        _ => {
            "UPDATE leads SET created_at = ?, qualified_at = CASE WHEN qualified_at IS NULL THEN NULL ELSE ? END WHERE id >= ? AND id < ?"
        }
    };
    let per_day = ((last - first + 1) / SCALE_DAYS).max(1);
    let today = Utc::now();
    let mut clicks = Vec::with_capacity(10_000);
    for day in 0..SCALE_DAYS {
        let from = first + day * per_day;
        let to = if day == SCALE_DAYS - 1 {
            last + 1
        } else {
            from + per_day
        };
        let at = today - Duration::days(SCALE_DAYS - 1 - day) - Duration::hours(1);
        let txn = begin_write(&state.db).await.map_err(err)?;
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                at.into(),
                (at + Duration::days(1)).min(today).into(),
                from.into(),
                to.into(),
            ],
        ))
        .await
        .map_err(err)?;
        txn.commit().await.map_err(err)?;
        for n in from..to {
            clicks.push(crate::ssr::services::clicks::NewClick {
                campaign_id,
                referrer_id: referrer_ids[usize::try_from(n).unwrap_or(0) % referrer_ids.len()],
                ip_hash: format!("{n:016x}"),
                user_agent: "Mozilla/5.0 (demo)".into(),
                visitor_id: format!("scale{n}"),
                at: at - Duration::minutes(10),
                channel: if n % 10 == 0 {
                    crate::domain::channel::Channel::Card
                } else {
                    crate::domain::channel::Channel::Link
                },
            });
            if clicks.len() == 10_000 {
                crate::ssr::services::clicks::insert_batch(&state.db, &clicks).await?;
                clicks.clear();
            }
        }
    }
    if !clicks.is_empty() {
        crate::ssr::services::clicks::insert_batch(&state.db, &clicks).await?;
    }
    Ok(())
}

/// A file removed when this goes out of scope, however the function that made it returns.
struct RemovedOnDrop(std::path::PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
