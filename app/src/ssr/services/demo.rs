//! A realistic demo data set, so a newcomer sees a living dashboard.

use chrono::{Duration, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::{
    domain::email::Email,
    error::AppError,
    ssr::{
        db::begin_write,
        entities::{click, lead, lead_event},
        services::{campaigns, fraud::SELF_REFERRAL, referrers, secrets::random_index},
        state::AppState,
    },
    types::CampaignInput,
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

/// Creates the demo campaign with 50 referrers and 500 leads in every status. Refuses to run
/// twice (the campaign slug is taken the second time).
pub async fn create(state: &AppState) -> Result<DemoSummary, AppError> {
    let campaign = campaigns::create(
        state,
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
        let (referrer, _) = referrers::create(state, &campaign.slug, &name, &email).await?;
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
                ..Default::default()
            });
        }
        let status = match i % 10 {
            0..=5 => "pending",
            6..=8 => "qualified",
            _ => "rejected",
        };
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
            name: Set(Some(friend)),
            email: Set(email.as_str().to_owned()),
            email_normalized: Set(email.normalized()),
            source: Set(if i % 3 == 0 { "code" } else { "link" }.to_owned()),
            status: Set(status.to_owned()),
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
    Ok(DemoSummary {
        campaign: campaign.slug,
        referrers: made.len(),
        leads: 500,
    })
}
